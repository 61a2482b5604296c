"""``/api/v1/orgs/{slug}/signal-events/``: ingest one record or a batch, list, roles, queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from teams.models import Organization, Role, TeamType
from tests.factories import OrganizationFactory, OrganizationRoleFactory, TeamFactory, UserFactory
from transform.evidence import services as signals
from transform.evidence.apis import BATCH_EXAMPLE, DEPLOY_EXAMPLE
from transform.evidence.services import signal_events_ingest
from transform.models import SignalEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/orgs/acme/signal-events/"
ROLES = ["admin", "change_agent", "engineering_manager", "leader", "member"]


def deploy(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "deploy",
        "id": f"d{n}",
        "team": "web",
        "occurred_at": f"2026-03-{n % 27 + 1:02d}T10:00:00Z",
        **fields,
    }


@pytest.fixture
def acme(organization: Organization) -> Organization:
    TeamFactory(organization=organization, slug="web")
    TeamFactory(organization=organization, slug="ops", type=TeamType.OPS_SILO)
    return organization


def client_for(organization: Organization, role: str | None) -> APIClient:
    user: Any = UserFactory(username=f"{role or 'outsider'}-{organization.slug}")
    if role is None:
        OrganizationRoleFactory(
            organization=OrganizationFactory(slug="globex"), user=user, role=Role.ADMIN
        )
    else:
        OrganizationRoleFactory(organization=organization, user=user, role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admin(acme: Organization) -> APIClient:
    return client_for(acme, Role.ADMIN)


def post(client: APIClient, body: Any) -> Any:
    return client.post(URL, body, format="json")


def test_one_record_is_created_then_unchanged(admin: APIClient) -> None:
    first = post(admin, deploy(1))
    second = post(admin, deploy(1))

    assert first.status_code == 201
    assert first.json() == {"created": 1, "updated": 0, "unchanged": 0, "surveys_triggered": 0}
    assert second.status_code == 200
    assert second.json() == {"created": 0, "updated": 0, "unchanged": 1, "surveys_triggered": 0}
    assert SignalEvent.objects.get().external_id == "d1"


def test_a_batch_reports_its_counts(admin: APIClient) -> None:
    post(admin, {"records": [deploy(1), deploy(2)]})

    response = post(admin, {"records": [deploy(1), deploy(2, is_rework=True), deploy(3)]})

    assert response.status_code == 201
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 1, "surveys_triggered": 0}


def test_an_empty_batch_is_answered_with_zero_counts(admin: APIClient) -> None:
    response = post(admin, {"records": []})

    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 0, "surveys_triggered": 0}


def test_a_batch_with_an_invalid_record_stores_nothing_and_names_every_field(
    admin: APIClient,
) -> None:
    records = [deploy(n) for n in range(5)]
    records[2]["occurred_at"] = "2026-03-02T10:00:00"
    records[4]["team"] = "nowhere"

    response = post(admin, {"records": records})

    assert response.status_code == 400
    body = response.json()
    assert body["extra"]["fields"] == {
        "records[2].occurred_at": [
            "expected a timezone-aware date-time (add an offset such as Z or +01:00); "
            "got '2026-03-02T10:00:00' without one"
        ],
        "records[4].team": ["no team 'nowhere' in organisation 'acme'"],
    }
    assert body["message"].startswith("Nothing was stored: 2 problems in the signal events")
    assert not SignalEvent.objects.exists()


def test_a_single_invalid_record_names_its_fields_without_a_position(admin: APIClient) -> None:
    response = post(admin, {"kind": "adoption", "id": "a1", "team": "web", "capability": "ci"})

    assert response.status_code == 400
    assert response.json()["extra"]["fields"] == {
        "occurred_at": ["required field is missing"],
        "mandated": ["required field is missing"],
    }
    assert response.json()["message"] == (
        "Nothing was stored: the signal event is invalid.\n"
        "occurred_at: required field is missing\n"
        "mandated: required field is missing"
    )


def test_a_batch_over_the_limit_is_a_400(admin: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signals, "MAX_RECORDS_PER_INGEST", 2)

    response = post(admin, {"records": [deploy(1), deploy(2), deploy(3)]})

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["records"] == [
        "At most 2 records can be ingested at once; got 3. Split them into several batches."
    ]
    assert not SignalEvent.objects.exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", 201),
        ("change_agent", 201),
        ("engineering_manager", 403),
        ("leader", 403),
        ("member", 403),
        (None, 404),
    ],
)
def test_only_admins_and_change_agents_ingest(
    acme: Organization, role: str | None, expected: int
) -> None:
    response = post(client_for(acme, role), deploy(1))

    assert response.status_code == expected, response.content
    assert SignalEvent.objects.exists() == (expected == 201)


def test_an_anonymous_caller_is_refused(acme: Organization) -> None:
    assert APIClient().post(URL, deploy(1), format="json").status_code == 401
    assert APIClient().get(URL).status_code == 401


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"deploy"',
        b"42",
        b"null",
        b"{}",
        b'{"records": "d1"}',
        b'{"records": null}',
        b'{"records": [1, "a", null, [], {}]}',
        b'{"records": [], "kind": "deploy"}',
        b'{"records": [{"kind": {"nested": true}}]}',
        b'{"kind": "deploy", "id": "\\ud800", "team": "web", "occurred_at": "2026-03-02T10:00:00Z"}',
        b'{"kind": "deploy", "id": "d1", "team": "web", "occurred_at": "2026-03-02T10:00:00Z", "\\udfff": 1}',
        b'{"kind": "deploy", "id": "d\\u0000", "team": "web", "occurred_at": "2026-03-02T10:00:00\\u0000Z"}',
        b'{"kind": "ticket", "id": "t", "team": "web", "occurred_at": "2026-03-02T10:00:00Z", "developers_waiting": 1e999}',
        b'{"kind": "ticket", "id": "t", "team": "web", "occurred_at": "2026-03-02T10:00:00Z", "developers_waiting": 99999999999999999999999}',
        b'{"kind": "ticket", "id": "t", "team": "web", "occurred_at": "2026-03-02T10:00:00Z", "developers_waiting": NaN}',
        b'{"kind": "deploy", "id": "d", "team": "web", "occurred_at": "0001-01-01T00:00:00+01:00"}',
        b'{"kind": "deploy", "id": "d", "team": "web", "occurred_at": "9999-12-31T23:59:59-01:00"}',
        b'{"kind": "deploy", "id": "d", "team": "web", "occurred_at": "2026-03-02T10:00:00Z", "commit_times": [[["x"]]]}',
        b'{"kind": "first_deploy", "id": "f", "occurred_at": "2026-03-02T10:00:00Z", "subject": "\\ud800@x.example", "joined_at": "2026-03-01T10:00:00Z"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"kind": ',
        b"\xff\xfe not utf-8",
    ],
)
def test_no_body_makes_the_server_fail(admin: APIClient, raw: bytes) -> None:
    response = admin.post(URL, raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert set(response.json()) == {"message", "extra"}
    assert not SignalEvent.objects.exists()


def test_a_form_encoded_body_is_an_unsupported_media_type(admin: APIClient) -> None:
    response = admin.post(URL, {"kind": "deploy"})

    assert response.status_code == 415


# --- the list --------------------------------------------------------------------------------------


def _ingest(organization: Organization, records: list[dict[str, Any]]) -> None:
    signal_events_ingest(
        organization=organization,
        records=records,
        source="test",
        at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
    )


@pytest.fixture
def stored(acme: Organization) -> Organization:
    _ingest(
        acme,
        [
            deploy(1, commit_times=["2026-03-01T09:00:00+01:00"]),
            deploy(5, team="ops"),
            {
                "kind": "incident",
                "id": "i1",
                "occurred_at": "2026-03-03T12:00:00+02:00",
                "caused_by_deploy": "d1",
            },
        ],
    )
    return acme


def test_the_list_shows_events_in_the_record_format_oldest_first(
    stored: Organization, admin: APIClient
) -> None:
    response = admin.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    results = body["results"]
    assert [r["id"] for r in results] == ["d1", "i1", "d5"]
    ingested_at = results[0].pop("ingested_at")
    assert dt.datetime.fromisoformat(ingested_at).tzinfo is not None
    assert results[0] == {
        "kind": "deploy",
        "id": "d1",
        "team": "web",
        "occurred_at": "2026-03-02T10:00:00+00:00",
        "commit_times": ["2026-03-01T08:00:00+00:00"],
        "caused_failure": False,
        "is_rework": False,
    }
    assert results[1]["team"] is None
    assert results[1]["occurred_at"] == "2026-03-03T10:00:00+00:00"


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("kind=incident", ["i1"]),
        ("team=ops", ["d5"]),
        ("since=2026-03-03T10:00:00Z", ["i1", "d5"]),
        ("until=2026-03-03T10:00:00Z", ["d1"]),
        ("kind=deploy&since=2026-03-02T11:00:00%2B01:00&until=2026-03-06T10:00:00Z", ["d1"]),
    ],
)
def test_the_list_filters_by_kind_team_and_time(
    stored: Organization, admin: APIClient, query: str, ids: list[str]
) -> None:
    response = admin.get(f"{URL}?{query}")

    assert response.status_code == 200, response.content
    assert [r["id"] for r in response.json()["results"]] == ids


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=release", "kind"),
        ("team=nowhere", "team"),
        ("team=not%20a%20slug", "team"),
        ("since=2026-03-03T10:00:00", "since"),
        ("until=tomorrow", "until"),
    ],
)
def test_bad_filters_are_400s(
    stored: Organization, admin: APIClient, query: str, field: str
) -> None:
    response = admin.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", 200),
        ("change_agent", 200),
        ("leader", 200),
        ("engineering_manager", 403),
        ("member", 403),
        (None, 404),
    ],
)
def test_admins_change_agents_and_leaders_read_the_list(
    stored: Organization, role: str | None, expected: int
) -> None:
    assert client_for(stored, role).get(URL).status_code == expected


def test_another_organisations_events_are_not_listed(stored: Organization) -> None:
    globex: Any = OrganizationFactory(slug="globex")
    TeamFactory(organization=globex, slug="web")
    _ingest(globex, [deploy(9)])
    client = client_for(stored, Role.ADMIN)

    assert [r["id"] for r in client.get(URL).json()["results"]] == ["d1", "i1", "d5"]


def _count(client: APIClient, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("query", ["", "?team=web&kind=deploy"])
def test_the_list_runs_as_many_queries_for_40_events_as_for_4(
    acme: Organization, admin: APIClient, query: str, django_assert_num_queries: Any
) -> None:
    _ingest(acme, [deploy(n) for n in range(4)])
    few = _count(admin, URL + query)
    _ingest(acme, [deploy(n) for n in range(4, 40)])

    with django_assert_num_queries(few):
        response = admin.get(URL + query)
    assert response.json()["count"] == 40


def test_the_request_examples_of_the_schema_ingest(stored: Organization, admin: APIClient) -> None:
    # They are what people copy first; on Demo Corp's teams, which acme gets here.
    for slug in ("checkout", "backend-ops"):
        TeamFactory(organization=stored, slug=slug)

    assert post(admin, DEPLOY_EXAMPLE).status_code == 201
    response = post(admin, {"records": BATCH_EXAMPLE})
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 1, "surveys_triggered": 0}
