"""``signal_events_ingest``: the record format, all-or-nothing validation, upserts, references."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import jsonschema
import pytest

from core.errors import ApplicationError, ConflictError
from teams.models import Organization, TeamType
from tests.builders import REPO_ROOT
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PersonFactory,
    SignalEventFactory,
    TeamFactory,
)
from transform.evidence import records as record_format
from transform.evidence import services as signals
from transform.evidence.records import signal_event_json_schema
from transform.evidence.services import SignalEventsInvalid, signal_events_ingest
from transform.models import SignalEvent

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)

DEPLOY = {
    "kind": "deploy",
    "id": "d1",
    "team": "web",
    "occurred_at": "2026-03-02T10:00:00Z",
    "commit_times": ["2026-03-02T08:00:00Z", "2026-03-01T10:00:00+01:00"],
    "caused_failure": False,
    "is_rework": True,
}
INCIDENT = {
    "kind": "incident",
    "id": "i1",
    "team": "ops",
    "occurred_at": "2026-03-02T11:00:00Z",
    "resolved_at": "2026-03-02T13:30:00Z",
    "caused_by_deploy": "d1",
}
TICKET = {
    "kind": "ticket",
    "id": "t1",
    "team": "web",
    "occurred_at": "2026-03-01T09:00:00Z",
    "waiting_on": "ops",
    "developers_waiting": 3,
}
ADOPTION = {
    "kind": "adoption",
    "id": "a1",
    "team": "web",
    "occurred_at": "2026-03-03T09:00:00Z",
    "capability": "ci",
    "mandated": False,
}
FIRST_DEPLOY = {
    "kind": "first_deploy",
    "id": "f1",
    "occurred_at": "2026-03-04T09:00:00Z",
    "subject": "Ana@Acme.test",
    "joined_at": "2026-03-01T09:00:00Z",
}
EVERY_KIND = [DEPLOY, INCIDENT, TICKET, ADOPTION, FIRST_DEPLOY]


@pytest.fixture
def acme(organization: Organization) -> Organization:
    web = TeamFactory(organization=organization, slug="web")
    TeamFactory(organization=organization, slug="ops", type=TeamType.OPS_SILO)
    TeamFactory(organization=organization, slug="plat", type=TeamType.PLATFORM)
    MembershipFactory(
        team=web, person=PersonFactory(organization=organization, email="ana@acme.test")
    )
    return organization


def ingest(organization: Organization, *records: Any) -> signals.IngestResult:
    return signal_events_ingest(
        organization=organization, records=list(records), source="the test", at=AT
    )


def problems(organization: Organization, *records: Any) -> list[tuple[str, str]]:
    with pytest.raises(SignalEventsInvalid) as caught:
        signal_events_ingest(
            organization=organization, records=list(records), source="the test", at=AT
        )
    assert not SignalEvent.objects.filter(organization=organization).exists()
    return [(problem.path, problem.message) for problem in caught.value.problems]


def changed(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``record`` with ``fields`` replaced; a value of ``...`` removes the field."""
    result = copy.deepcopy(record)
    for name, value in fields.items():
        if value is ...:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def test_every_kind_is_stored_with_its_fields_normalised(acme: Organization) -> None:
    result = ingest(acme, *EVERY_KIND)

    assert result.as_dict() == {"created": 5, "updated": 0, "unchanged": 0, "surveys_triggered": 0}
    rows: dict[str, Any] = {e.kind: e for e in SignalEvent.objects.select_related("team")}
    deploy = rows["deploy"]
    assert (deploy.external_id, deploy.team.slug) == ("d1", "web")
    assert deploy.occurred_at == dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    assert deploy.data == {
        "commit_times": ["2026-03-02T08:00:00+00:00", "2026-03-01T09:00:00+00:00"],
        "caused_failure": False,
        "is_rework": True,
    }
    assert rows["incident"].data == {
        "resolved_at": "2026-03-02T13:30:00+00:00",
        "caused_by_deploy": "d1",
    }
    assert rows["ticket"].data == {
        "closed_at": None,
        "waiting_on": "ops",
        "developers_waiting": 3,
    }
    assert rows["adoption"].data == {"capability": "ci", "mandated": False}
    assert rows["first_deploy"].team is None
    assert rows["first_deploy"].data == {
        "subject": "ana@acme.test",
        "joined_at": "2026-03-01T09:00:00+00:00",
    }


def test_defaults_are_filled_in_and_an_incident_may_have_no_team(acme: Organization) -> None:
    ingest(
        acme,
        {"kind": "deploy", "id": "d", "team": "web", "occurred_at": "2026-03-02T10:00:00Z"},
        {"kind": "incident", "id": "i", "occurred_at": "2026-03-02T10:00:00Z"},
        {"kind": "ticket", "id": "t", "team": "web", "occurred_at": "2026-03-02T10:00:00Z"},
    )

    data = {e.kind: (e.team_id, e.data) for e in SignalEvent.objects.all()}
    assert data["deploy"][1] == {"commit_times": [], "caused_failure": False, "is_rework": False}
    assert data["incident"] == (None, {"resolved_at": None, "caused_by_deploy": None})
    assert data["ticket"][1] == {"closed_at": None, "waiting_on": None, "developers_waiting": 1}


def test_a_team_subjects_first_deploy_is_listed_under_that_team(acme: Organization) -> None:
    ingest(acme, changed(FIRST_DEPLOY, subject="plat"))

    event: Any = SignalEvent.objects.select_related("team").get()
    assert event.team.slug == "plat"
    assert event.data["subject"] == "plat"


NAIVE = "expected a timezone-aware date-time (add an offset such as Z or +01:00)"


@pytest.mark.parametrize(
    ("record", "path", "message"),
    [
        (changed(DEPLOY, kind=...), "records[0].kind", "required field is missing; expected one of deploy, incident, ticket, adoption, first_deploy"),
        (changed(DEPLOY, kind="release"), "records[0].kind", "expected one of deploy, incident, ticket, adoption, first_deploy; got 'release'"),
        (changed(DEPLOY, id=...), "records[0].id", "required field is missing"),
        (changed(DEPLOY, id=""), "records[0].id", "expected a non-empty text"),
        (changed(DEPLOY, id="x" * 201), "records[0].id", "expected at most 200 characters"),
        (changed(DEPLOY, id=" d1"), "records[0].id", "expected no leading or trailing spaces; got ' d1'"),
        (changed(DEPLOY, id="d\x001"), "records[0].id", "expected no control characters; got 'd\\x001'"),
        (changed(DEPLOY, id=7), "records[0].id", "expected a text; got 7"),
        (changed(DEPLOY, team=...), "records[0].team", "required field is missing"),
        (changed(DEPLOY, team="Web Team"), "records[0].team", "expected a slug (letters, digits, hyphens and underscores); got 'Web Team'"),
        (changed(DEPLOY, team="x"), "records[0].team", "no team 'x' in organisation 'acme'"),
        (changed(DEPLOY, occurred_at=...), "records[0].occurred_at", "required field is missing"),
        (changed(DEPLOY, occurred_at="2026-03-02T10:00:00"), "records[0].occurred_at", f"{NAIVE}; got '2026-03-02T10:00:00' without one"),
        (changed(DEPLOY, occurred_at="2026-03-02"), "records[0].occurred_at", f"{NAIVE}; got '2026-03-02' without one"),
        (changed(DEPLOY, occurred_at="yesterday"), "records[0].occurred_at", "expected an ISO 8601 date-time with a time zone offset, e.g. 2026-03-02T14:30:00Z; got 'yesterday'"),
        (changed(DEPLOY, occurred_at=1767225600), "records[0].occurred_at", "expected an ISO 8601 date-time with a time zone offset, e.g. 2026-03-02T14:30:00Z; got int"),
        (changed(DEPLOY, commit_times="2026-03-02T08:00:00Z"), "records[0].commit_times", "expected a list; got '2026-03-02T08:00:00Z'"),
        (changed(DEPLOY, commit_times=["2026-03-02T08:00:00Z", "2026-03-02T08:00:00"]), "records[0].commit_times[1]", f"{NAIVE}; got '2026-03-02T08:00:00' without one"),
        (changed(DEPLOY, commit_times=["2026-03-02T11:00:00Z"]), "records[0].commit_times", "deploy 'd1': commit_times[0] (2026-03-02T11:00:00+00:00) is after occurred_at (2026-03-02T10:00:00+00:00); a change cannot ship before it is committed"),
        (changed(DEPLOY, caused_failure="yes"), "records[0].caused_failure", "expected true or false; got 'yes'"),
        (changed(DEPLOY, is_rework=1), "records[0].is_rework", "expected true or false; got 1"),
        (changed(DEPLOY, colour="red"), "records[0].colour", "not a field of a deploy event; its fields are kind, id, team, service, occurred_at, commit_times, caused_failure, is_rework"),
        (changed(INCIDENT, resolved_at="2026-03-02T10:00:00Z", caused_by_deploy=...), "records[0].resolved_at", "incident 'i1': resolved_at (2026-03-02T10:00:00+00:00) is before occurred_at (2026-03-02T11:00:00+00:00)"),
        (changed(INCIDENT, resolved_at="2026-03-02T13:30:00", caused_by_deploy=...), "records[0].resolved_at", f"{NAIVE}; got '2026-03-02T13:30:00' without one"),
        (changed(INCIDENT, caused_by_deploy="d9"), "records[0].caused_by_deploy", "no deploy 'd9' in these records or already stored in organisation 'acme'"),
        (changed(INCIDENT, team="nope", caused_by_deploy=...), "records[0].team", "no team 'nope' in organisation 'acme'"),
        (changed(TICKET, closed_at="2026-03-01T08:59:59Z"), "records[0].closed_at", "ticket 't1': closed_at (2026-03-01T08:59:59+00:00) is before occurred_at (2026-03-01T09:00:00+00:00)"),
        (changed(TICKET, waiting_on="dba"), "records[0].waiting_on", "no team 'dba' in organisation 'acme'"),
        (changed(TICKET, developers_waiting=0), "records[0].developers_waiting", "expected a number of at least 1; got 0"),
        (changed(TICKET, developers_waiting="2"), "records[0].developers_waiting", "expected a whole number; got '2'"),
        (changed(TICKET, developers_waiting=2.0), "records[0].developers_waiting", "expected a whole number; got 2.0"),
        (changed(TICKET, resolved_at="2026-03-02T10:00:00Z"), "records[0].resolved_at", "not a field of a ticket event; its fields are kind, id, team, service, occurred_at, closed_at, waiting_on, waiting_on_service, developers_waiting"),
        (changed(ADOPTION, mandated=...), "records[0].mandated", "required field is missing"),
        (changed(ADOPTION, mandated="false"), "records[0].mandated", "expected true or false; got 'false'"),
        (changed(ADOPTION, capability=""), "records[0].capability", "expected a non-empty text"),
        (changed(ADOPTION, team=None), "records[0].team", "expected a text; got NoneType"),
        (changed(FIRST_DEPLOY, subject="bo@acme.test"), "records[0].subject", "no person with e-mail 'bo@acme.test' in organisation 'acme'"),
        (changed(FIRST_DEPLOY, subject="mobile"), "records[0].subject", "no team 'mobile' in organisation 'acme'"),
        (changed(FIRST_DEPLOY, subject="not an address@"), "records[0].subject", "expected a person's e-mail address or a team slug; got 'not an address@'"),
        (changed(FIRST_DEPLOY, joined_at="2026-03-05T09:00:00Z"), "records[0].joined_at", "first deploy of 'ana@acme.test': occurred_at (2026-03-04T09:00:00+00:00) is before joined_at (2026-03-05T09:00:00+00:00)"),
        (changed(FIRST_DEPLOY, team="web"), "records[0].team", "not a field of a first_deploy event; its fields are kind, id, occurred_at, subject, joined_at"),
        (changed(FIRST_DEPLOY, **{"we ird": 1}), "records[0]['we ird']", "not a field of a first_deploy event; its fields are kind, id, occurred_at, subject, joined_at"),
        (["deploy"], "records[0]", "expected an object of fields; got list"),
    ],
)  # fmt: skip
def test_each_field_is_checked_with_a_message_naming_its_path(
    acme: Organization, record: Any, path: str, message: str
) -> None:
    assert problems(acme, record) == [(path, message)]


def test_the_error_lists_every_problem_of_every_record_and_stores_nothing(
    acme: Organization,
) -> None:
    records = [changed(DEPLOY, id=f"d{n}") for n in range(100)]
    records[3] = changed(records[3], team="x")
    records[70] = changed(records[70], occurred_at="2026-03-02T10:00:00", caused_failure="no")

    with pytest.raises(SignalEventsInvalid) as caught:
        ingest(acme, *records)

    error = caught.value
    assert error.message.splitlines() == [
        "Nothing was stored: 3 problems in the signal events from the test.",
        "records[3].team: no team 'x' in organisation 'acme'",
        f"records[70].occurred_at: {NAIVE}; got '2026-03-02T10:00:00' without one",
        "records[70].caused_failure: expected true or false; got 'no'",
    ]
    assert error.extra == {
        "fields": {
            "records[3].team": ["no team 'x' in organisation 'acme'"],
            "records[70].occurred_at": [f"{NAIVE}; got '2026-03-02T10:00:00' without one"],
            "records[70].caused_failure": ["expected true or false; got 'no'"],
        }
    }
    assert not SignalEvent.objects.exists()


def test_a_long_list_of_problems_is_cut_in_the_message_but_complete_in_the_fields(
    acme: Organization,
) -> None:
    records = [changed(DEPLOY, id=f"d{n}", team="x") for n in range(150)]

    with pytest.raises(SignalEventsInvalid) as caught:
        ingest(acme, *records)

    lines = caught.value.message.splitlines()
    assert len(lines) == 1 + record_format.MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == "... and 50 more problems"
    assert len(caught.value.extra["fields"]) == 150


def test_the_same_kind_and_id_twice_in_one_call_is_refused(acme: Organization) -> None:
    assert problems(acme, DEPLOY, changed(DEPLOY, is_rework=False)) == [
        ("records[1].id", "deploy 'd1' is given twice in these records")
    ]


def test_the_same_id_under_two_kinds_is_two_events(acme: Organization) -> None:
    ingest(acme, DEPLOY, changed(TICKET, id="d1"))

    assert SignalEvent.objects.count() == 2


def test_ingesting_the_same_records_again_changes_nothing(acme: Organization) -> None:
    ingest(acme, *EVERY_KIND)
    before = list(SignalEvent.objects.values_list("id", "ingested_at"))

    result = ingest(acme, *EVERY_KIND)

    assert result.as_dict() == {"created": 0, "updated": 0, "unchanged": 5, "surveys_triggered": 0}
    assert list(SignalEvent.objects.values_list("id", "ingested_at")) == before


def test_the_same_instant_written_with_another_offset_is_unchanged(acme: Organization) -> None:
    ingest(acme, DEPLOY)

    result = ingest(
        acme,
        changed(
            DEPLOY,
            occurred_at="2026-03-02T11:00:00+01:00",
            commit_times=["2026-03-02T08:00:00+00:00", "2026-03-01T09:00:00Z"],
        ),
    )

    assert (result.updated, result.unchanged) == (0, 1)


def test_a_changed_record_updates_its_row_and_others_stay(acme: Organization) -> None:
    ingest(acme, DEPLOY, TICKET)
    deploy_id = SignalEvent.objects.get(kind="deploy").pk

    result = ingest(
        acme, DEPLOY, changed(TICKET, closed_at="2026-03-05T09:00:00Z"), changed(DEPLOY, id="d2")
    )

    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    ticket = SignalEvent.objects.get(kind="ticket")
    assert ticket.data["closed_at"] == "2026-03-05T09:00:00+00:00"
    assert SignalEvent.objects.get(kind="deploy", external_id="d1").pk == deploy_id
    assert SignalEvent.objects.count() == 3


def test_an_update_can_move_an_event_to_another_team(acme: Organization) -> None:
    ingest(acme, DEPLOY)

    ingest(acme, changed(DEPLOY, team="ops"))

    event: Any = SignalEvent.objects.select_related("team").get()
    assert event.team.slug == "ops"


def test_an_incident_references_a_deploy_of_the_same_batch_or_one_stored_before(
    acme: Organization,
) -> None:
    ingest(acme, DEPLOY, INCIDENT)
    result = ingest(acme, changed(INCIDENT, id="i2"))

    assert result.created == 1
    assert set(SignalEvent.objects.values_list("data__caused_by_deploy", flat=True)) >= {"d1"}


def test_a_deploy_of_another_organisation_is_not_a_reference(acme: Organization) -> None:
    globex: Any = OrganizationFactory(slug="globex")
    TeamFactory(organization=globex, slug="web")
    ingest(globex, DEPLOY)

    assert problems(acme, INCIDENT) == [
        (
            "records[0].caused_by_deploy",
            "no deploy 'd1' in these records or already stored in organisation 'acme'",
        )
    ]


def test_events_of_two_organisations_with_the_same_ids_are_apart(acme: Organization) -> None:
    globex: Any = OrganizationFactory(slug="globex")
    TeamFactory(organization=globex, slug="web")
    ingest(acme, DEPLOY)

    result = ingest(globex, DEPLOY)

    assert result.created == 1
    assert SignalEvent.objects.filter(organization=acme).count() == 1


def test_more_records_than_the_limit_are_refused_before_any_is_read(
    acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "MAX_RECORDS_PER_INGEST", 3)

    with pytest.raises(ApplicationError) as caught:
        ingest(acme, *[changed(DEPLOY, id=f"d{n}") for n in range(4)])

    assert caught.value.message == (
        "At most 3 records can be ingested at once; got 4. Split them into several batches."
    )
    assert caught.value.status_code == 400
    assert not SignalEvent.objects.exists()


def test_the_default_limit_is_ten_thousand_records(acme: Organization) -> None:
    records = [changed(DEPLOY, id=f"d{n}") for n in range(10_001)]

    with pytest.raises(ApplicationError, match="At most 10000 records"):
        ingest(acme, *records)


def test_a_naive_moment_is_a_programming_error(acme: Organization) -> None:
    with pytest.raises(ValueError, match="at must be a timezone-aware"):
        signal_events_ingest(
            organization=acme, records=[DEPLOY], source="x", at=dt.datetime(2026, 3, 1)
        )


def test_only_created_events_go_to_the_event_survey_trigger_in_the_transaction(
    acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transform.evidence import services as ingest_services

    calls: list[tuple[list[str], dt.datetime]] = []

    def trigger(*, events: Any, at: dt.datetime) -> int:
        assert all(event.pk for event in events)
        calls.append(([event.external_id for event in events], at))
        return 7

    ingest(acme, DEPLOY)
    monkeypatch.setattr(ingest_services, "event_surveys_trigger", trigger)

    result = ingest(acme, DEPLOY, changed(DEPLOY, id="d2"), ADOPTION)
    again = ingest(acme, DEPLOY, changed(DEPLOY, id="d2"), ADOPTION)

    assert calls == [(["d2", "a1"], AT)]
    assert result.surveys_triggered == 7
    assert again.surveys_triggered == 0


def test_a_failing_survey_trigger_rolls_the_ingest_back(
    acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transform.evidence import services as ingest_services

    def trigger(*, events: Any, at: dt.datetime) -> int:
        raise RuntimeError("planner broke")

    monkeypatch.setattr(ingest_services, "event_surveys_trigger", trigger)

    with pytest.raises(RuntimeError):
        ingest(acme, DEPLOY)

    assert not SignalEvent.objects.exists()


def test_the_committed_json_schema_is_the_one_generated_from_the_models() -> None:
    committed = json.loads((REPO_ROOT / "docs/schemas/signal-event.schema.json").read_text())

    assert committed == json.loads(json.dumps(signal_event_json_schema()))


def test_the_json_schema_accepts_every_kind_and_rejects_what_ingest_rejects() -> None:
    schema = signal_event_json_schema()
    for record in EVERY_KIND:
        jsonschema.validate(record, schema)

    for bad in (
        changed(DEPLOY, colour="red"),
        changed(ADOPTION, mandated=...),
        changed(FIRST_DEPLOY, team="web"),
        changed(DEPLOY, kind="release"),
        changed(TICKET, developers_waiting=0),
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_an_event_stored_by_a_concurrent_ingest_is_a_conflict_and_nothing_is_stored(
    acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = SignalEvent.objects.bulk_create

    def meanwhile(rows: Any, **kwargs: Any) -> Any:
        # Another ingest commits the same deploy after this one looked for stored events.
        SignalEventFactory(
            organization=acme, kind="deploy", external_id="d1", occurred_at=AT, data={}
        )
        return insert(rows, **kwargs)

    monkeypatch.setattr(SignalEvent.objects, "bulk_create", meanwhile)

    with pytest.raises(ConflictError, match="Send the records again"):
        ingest(acme, DEPLOY, TICKET)

    assert not SignalEvent.objects.exists()
