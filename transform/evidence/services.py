"""Ingesting signal events (``signal_events_ingest``), from the API or a CSV file.

Every record is validated first (the record format of ``transform.evidence.records``, teams and
people of the organisation, deploy references, impossible orders checked by building
``transform.evidence.metrics``' events, so ingest and computation agree); any problem stores
nothing and raises one ``SignalEventsInvalid`` listing every problem. Valid records are upserted
by (organisation, kind, id) in one transaction, and the created ones may trigger event surveys
(``transform.checkins.services.event_surveys_trigger``). docs/signal-events-format.md is the
reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Now
from pydantic import (
    ValidationError,
)

from core.errors import ApplicationError, ConflictError
from teams.models import Organization, Person, Team
from teams.selectors import team_attribution
from transform.checkins.services import event_surveys_trigger
from transform.evidence.records import (
    KINDS,
    RECORD_ADAPTER,
    RECORD_MODELS,
    AdoptionRecord,
    AnyRecord,
    DeployRecord,
    FirstDeployRecord,
    IncidentRecord,
    RecordProblem,
    SignalEventsInvalid,
    TicketRecord,
    format_problems,
    iso_utc,
    metrics_check,
    problem_order,
)
from transform.evidence.selectors import CHUNK_SIZE, chunks
from transform.models import SignalEvent, SignalEventKind

# One call ingests at most this many records: a request or file beyond it is refused whole (split
# it), so one transaction, its validation and its response stay bounded.
MAX_RECORDS_PER_INGEST = 10_000


# --- the record format ---------------------------------------------------------------------------


assert set(RECORD_MODELS) == set(KINDS), "one record model per SignalEventKind"


# --- ingest --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What an ingest did: rows created, updated (changed) and unchanged, and the event surveys
    the created events triggered (check-ins created)."""

    created: int
    updated: int
    unchanged: int
    surveys_triggered: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "surveys_triggered": self.surveys_triggered,
        }


@dataclass(slots=True)
class _Row:
    """A valid record, resolved against the organisation: what a SignalEvent row will hold."""

    kind: str
    external_id: str
    team: Team | None
    occurred_at: dt.datetime
    data: dict[str, Any]


def _data_of(record: AnyRecord) -> dict[str, Any]:
    """The kind's fields as stored in ``SignalEvent.data`` (defaults filled in, times UTC)."""
    if isinstance(record, DeployRecord):
        return {
            "commit_times": [iso_utc(moment) for moment in record.commit_times],
            "caused_failure": record.caused_failure,
            "is_rework": record.is_rework,
        }
    if isinstance(record, IncidentRecord):
        return {
            "resolved_at": iso_utc(record.resolved_at) if record.resolved_at else None,
            "caused_by_deploy": record.caused_by_deploy,
        }
    if isinstance(record, TicketRecord):
        return {
            "closed_at": iso_utc(record.closed_at) if record.closed_at else None,
            "waiting_on": record.waiting_on,
            "developers_waiting": record.developers_waiting,
        }
    if isinstance(record, AdoptionRecord):
        return {"capability": record.capability, "mandated": record.mandated}
    return {"subject": record.subject, "joined_at": iso_utc(record.joined_at)}


@dataclass(slots=True)
class _Checked:
    """Records after the checks that need no database: the valid ones, what every record names
    in the organisation (also records with other problems, so that one pass reports all), the
    deploy ids these records give, and the problems found so far."""

    records: dict[int, AnyRecord]
    references: dict[int, list[tuple[str, str, str]]]
    deploy_ids: set[str]
    problems: list[RecordProblem]


def _references(
    kind: object, values: Mapping[str, Any], *, skip: set[str]
) -> list[tuple[str, str, str]]:
    """(field, "team" | "person" | "deploy", value) for each row of the organisation a record
    names; fields in ``skip`` (already wrong) and values that are not texts are left out."""
    wanted: list[tuple[str, str]] = []
    if kind != "first_deploy":
        wanted.append(("team", "team"))
    if kind == "ticket":
        wanted.append(("waiting_on", "team"))
    elif kind == "incident":
        wanted.append(("caused_by_deploy", "deploy"))
    elif kind == "first_deploy":
        subject = values.get("subject")
        wanted.append(
            ("subject", "person" if isinstance(subject, str) and "@" in subject else "team")
        )
    references = []
    for field, what in wanted:
        value = values.get(field)
        if field in skip or not isinstance(value, str) or not value:
            continue
        references.append((field, what, value.strip().lower() if what == "person" else value))
    return references


def _records_check(records: Sequence[Any]) -> _Checked:
    checked = _Checked({}, {}, set(), [])
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(records):
        if not isinstance(item, Mapping):
            checked.problems.append(
                RecordProblem(index, "", f"expected an object of fields; got {type(item).__name__}")
            )
            continue
        kind = item.get("kind")
        if kind == "deploy" and isinstance(item.get("id"), str):
            checked.deploy_ids.add(item["id"])
        try:
            record = RECORD_ADAPTER.validate_python(dict(item))
        except ValidationError as exc:
            found = format_problems(index, exc)
            checked.problems += found
            skip = {problem.column for problem in found}
            checked.references[index] = _references(kind, item, skip=skip)
            continue
        checked.references[index] = _references(kind, record.model_dump(), skip=set())
        order = metrics_check(record)
        if order is not None:
            checked.problems.append(RecordProblem(index, *order))
        key = (record.kind, record.id)
        if key in seen:
            message = f"{record.kind} {record.id!r} is given twice in these records"
            checked.problems.append(RecordProblem(index, "id", message))
        seen.add(key)
        checked.records[index] = record
    return checked


def _references_check(*, organization: Organization, checked: _Checked) -> dict[str, Team]:
    """Adds a problem for every team, person or deploy named but not found in the organisation
    (a deploy may also be one of these records); returns the organisation's teams by slug,
    retired teams and the former slugs of renamed ones included.
    A fixed number of queries, plus one per 500 people or deploys named."""
    org = organization.slug
    # Retired and renamed teams are known too: evidence naming them keeps its attribution
    # (teams.selectors.TeamAttribution); only a slug the organisation never knew is an error.
    attribution = team_attribution(organization=organization)
    by_id = {team.pk: team for team in Team.all_objects.filter(organization=organization)}
    teams = {slug: by_id[team_id] for slug, team_id in attribution.id_of.items()}
    named: dict[str, set[str]] = {"person": set(), "deploy": set()}
    for references in checked.references.values():
        for _field, what, value in references:
            if what in named:
                named[what].add(value)
    people: set[str] = set()
    for chunk in chunks(sorted(named["person"])):
        people.update(
            Person.objects.filter(organization=organization, email__in=chunk).values_list(
                "email", flat=True
            )
        )
    deploys = set(checked.deploy_ids)
    for chunk in chunks(sorted(named["deploy"] - deploys)):
        deploys.update(
            SignalEvent.objects.filter(
                organization=organization, kind=SignalEventKind.DEPLOY, external_id__in=chunk
            ).values_list("external_id", flat=True)
        )
    for index, references in checked.references.items():
        for field, what, value in references:
            if what == "team" and value not in teams:
                message = f"no team {value!r} in organisation {org!r}"
            elif what == "person" and value not in people:
                message = f"no person with e-mail {value!r} in organisation {org!r}"
            elif what == "deploy" and value not in deploys:
                message = (
                    f"no deploy {value!r} in these records or already stored in "
                    f"organisation {org!r}"
                )
            else:
                continue
            checked.problems.append(RecordProblem(index, field, message))
    return teams


def _row_of(record: AnyRecord, teams: Mapping[str, Team]) -> _Row:
    slug = getattr(record, "team", None)
    if isinstance(record, FirstDeployRecord) and "@" not in record.subject:
        # A new team's first deploy is listed under that team (for ?team= and event surveys).
        slug = record.subject
    return _Row(
        kind=record.kind,
        external_id=record.id,
        team=teams[slug] if slug is not None else None,
        occurred_at=record.occurred_at,
        data=_data_of(record),
    )


@transaction.atomic
def signal_events_ingest(
    *,
    organization: Organization,
    records: Sequence[Mapping[str, Any]],
    source: str,
    at: dt.datetime,
) -> IngestResult:
    """Validates every record, then stores them all, or none.

    ``records`` are plain mappings in the record format (docs/signal-events-format.md), as parsed
    from JSON or read by ``signal_events_csv_parse``; ``source`` names where they came from in
    messages ("the API", a file name); ``at`` is the moment event surveys are triggered at.

    Validation covers every record before anything is written: the format, teams and people of
    the organisation, ``caused_by_deploy`` naming a deploy of the same records or one already
    stored, the same (kind, id) twice, and impossible orders (checked by building the
    ``transform.evidence.metrics`` event). Then rows are upserted by (organisation, kind, id): new ones are
    created, changed ones updated, identical ones left alone. Inside the same transaction the
    created events go to ``transform.checkins.services.event_surveys_trigger``.

    Raises ``ApplicationError`` (400) for more than MAX_RECORDS_PER_INGEST records,
    ``SignalEventsInvalid`` (400) listing every problem, ``ConflictError`` (409) when a
    concurrent ingest created one of the same events first (retrying then updates it), and
    ``ValueError`` for a naive ``at``.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    if len(records) > MAX_RECORDS_PER_INGEST:
        message = (
            f"At most {MAX_RECORDS_PER_INGEST} records can be ingested at once; got "
            f"{len(records)}. Split them into several batches."
        )
        raise ApplicationError(message, extra={"fields": {"records": [message]}})
    checked = _records_check(records)
    teams = _references_check(organization=organization, checked=checked)
    if checked.problems:
        raise SignalEventsInvalid(sorted(checked.problems, key=problem_order), source=source)
    rows = {index: _row_of(record, teams) for index, record in checked.records.items()}

    existing: dict[tuple[str, str], SignalEvent] = {}
    for kind in KINDS:
        ids = sorted({row.external_id for row in rows.values() if row.kind == kind})
        for chunk in chunks(ids):
            for event in SignalEvent.objects.select_for_update().filter(
                organization=organization, kind=kind, external_id__in=chunk
            ):
                existing[(event.kind, event.external_id)] = event

    new: list[SignalEvent] = []
    changed: list[SignalEvent] = []
    unchanged = 0
    for row in rows.values():
        stored = existing.get((row.kind, row.external_id))
        team_id = row.team.pk if row.team is not None else None
        if stored is None:
            new.append(
                SignalEvent(
                    organization=organization,
                    kind=row.kind,
                    external_id=row.external_id,
                    team=row.team,
                    occurred_at=row.occurred_at,
                    data=row.data,
                )
            )
        elif (stored.team_id, stored.occurred_at, stored.data) == (
            team_id,
            row.occurred_at,
            row.data,
        ):
            unchanged += 1
        else:
            stored.team = row.team
            stored.occurred_at = row.occurred_at
            stored.data = row.data
            stored.ingested_at = Now()  # bulk_update does not apply auto_now
            changed.append(stored)
    try:
        with transaction.atomic():
            created = SignalEvent.objects.bulk_create(new, batch_size=CHUNK_SIZE)
    except IntegrityError:
        raise ConflictError(
            "Another ingest stored some of these events at the same moment; nothing was stored. "
            "Send the records again: the events already stored are then updated."
        ) from None
    SignalEvent.objects.bulk_update(
        changed, ["team", "occurred_at", "data", "ingested_at"], batch_size=CHUNK_SIZE
    )
    surveys = 0
    if created:
        surveys = event_surveys_trigger(events=created, at=at)
    return IngestResult(
        created=len(created), updated=len(changed), unchanged=unchanged, surveys_triggered=surveys
    )
