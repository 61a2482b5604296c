"""Ingesting signal events (``signal_events_ingest``), from the API or a CSV file.

Every record is validated first (the record format of ``transform.evidence.records``, teams,
services (resolved to their owning team) and people of the organisation, deploy references, impossible orders checked by building
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
from teams.models import Organization, Person, Service, Team
from teams.selectors import team_attribution
from transform.checkins.services import event_surveys_trigger
from transform.evidence.records import (
    KINDS,
    RECORD_ADAPTER,
    RECORD_MODELS,
    SERVICE_KINDS,
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
    naming_problems,
    problem_order,
    service_ref_parse,
)
from transform.evidence.selectors import CHUNK_SIZE, chunks
from transform.models import SignalEvent, SignalEventKind, signal_events_changed

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


def _data_of(record: AnyRecord, services: Mapping[str, _Owned]) -> dict[str, Any]:
    """The kind's fields as stored in ``SignalEvent.data`` (defaults filled in, times UTC).

    A named service is kept as its ``kind:slug`` (``service``, ``waiting_on_service``); a ticket
    waiting on a service also gets its owner's slug in ``waiting_on``, so everything that reads
    tickets sees the team waited on. The keys appear only when a service is named: events
    stored before services could be named stay unchanged when sent again."""
    data: dict[str, Any]
    if isinstance(record, DeployRecord):
        data = {
            "commit_times": [iso_utc(moment) for moment in record.commit_times],
            "caused_failure": record.caused_failure,
            "is_rework": record.is_rework,
        }
    elif isinstance(record, IncidentRecord):
        data = {
            "resolved_at": iso_utc(record.resolved_at) if record.resolved_at else None,
            "caused_by_deploy": record.caused_by_deploy,
        }
    elif isinstance(record, TicketRecord):
        waiting_on = record.waiting_on
        if record.waiting_on_service is not None:
            waiting_on = services[record.waiting_on_service].team.slug
        data = {
            "closed_at": iso_utc(record.closed_at) if record.closed_at else None,
            "waiting_on": waiting_on,
            "developers_waiting": record.developers_waiting,
        }
        if record.waiting_on_service is not None:
            data["waiting_on_service"] = services[record.waiting_on_service].ref
    elif isinstance(record, AdoptionRecord):
        data = {"capability": record.capability, "mandated": record.mandated}
    else:
        return {"subject": record.subject, "joined_at": iso_utc(record.joined_at)}
    if record.service is not None:
        data["service"] = services[record.service].ref
    return data


@dataclass(frozen=True, slots=True)
class _Owned:
    """A service named by a record, resolved: its ``kind:slug`` and its owning team."""

    ref: str
    team: Team


@dataclass(slots=True)
class _Resolved:
    """What the records name, found in the organisation: teams by slug (retired teams and former
    slugs included) and services by the reference as written in the records (short form)."""

    teams: dict[str, Team]
    services: dict[str, _Owned]


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
    """(field, "team" | "service" | "person" | "deploy", value) for each row of the organisation a
    record names; fields in ``skip`` (already wrong) and values that are not texts are left
    out."""
    wanted: list[tuple[str, str]] = []
    if kind != "first_deploy":
        wanted += [("team", "team"), ("service", "service")]
    if kind == "ticket":
        wanted += [("waiting_on", "team"), ("waiting_on_service", "service")]
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
        if what == "person":
            value = value.strip().lower()
        elif what == "service":
            try:
                service_kind, slug = service_ref_parse(value)
            except ValueError:
                continue  # the format check says why
            value = f"{service_kind}:{slug}" if service_kind else slug
        references.append((field, what, value))
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
        naming = [RecordProblem(index, *found) for found in naming_problems(kind, item)]
        checked.problems += naming
        try:
            record = RECORD_ADAPTER.validate_python(dict(item))
        except ValidationError as exc:
            found = format_problems(index, exc)
            checked.problems += found
            skip = {problem.column for problem in [*found, *naming]}
            checked.references[index] = _references(kind, item, skip=skip)
            continue
        skip = {problem.column for problem in naming}
        checked.references[index] = _references(kind, record.model_dump(), skip=skip)
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


def _services_resolve(
    *, organization: Organization, named: set[str], by_id: Mapping[int, Team]
) -> tuple[dict[str, _Owned], dict[str, str]]:
    """The services ``named`` (short references: ``kind:slug`` or a bare ``slug``) with their
    owners, and a message for each that cannot give a team: unknown, owned by no team, or a bare
    slug that more than one kind of service has. One query per 500 slugs named."""
    org = organization.slug
    found: dict[str, list[tuple[str, int | None]]] = {}  # slug -> [(kind, owner id)]
    slugs = sorted({reference.rpartition(":")[2] for reference in named})
    for chunk in chunks(slugs):
        for kind, slug, team_id in Service.objects.filter(
            organization=organization, slug__in=chunk
        ).values_list("kind", "slug", "team_id"):
            found.setdefault(slug, []).append((kind, team_id))
    owned: dict[str, _Owned] = {}
    problems: dict[str, str] = {}
    for reference in sorted(named):
        kind, _, slug = reference.rpartition(":")
        candidates = sorted(
            (
                (service_kind, team_id)
                for service_kind, team_id in found.get(slug, [])
                if not kind or service_kind == kind
            ),
            key=lambda candidate: SERVICE_KINDS.index(candidate[0]),
        )
        if not candidates:
            problems[reference] = f"no service {reference!r} in organisation {org!r}"
        elif len(candidates) > 1:
            refs = " and ".join(f"'{service_kind}:{slug}'" for service_kind, _ in candidates)
            problems[reference] = (
                f"service {reference!r} is ambiguous in organisation {org!r}: {refs}; "
                f"give the kind, e.g. '{candidates[0][0]}:{slug}'"
            )
        else:
            service_kind, owner_id = candidates[0]
            ref = f"{service_kind}:{slug}"
            if owner_id is None or owner_id not in by_id:
                problems[reference] = (
                    f"service {ref!r} has no owning team in organisation {org!r}; "
                    "name the team instead, or give the service an owner"
                )
            else:
                owned[reference] = _Owned(ref=ref, team=by_id[owner_id])
    return owned, problems


def _references_check(*, organization: Organization, checked: _Checked) -> _Resolved:
    """Adds a problem for every team, service, person or deploy named but not found in the
    organisation (a deploy may also be one of these records), and for a service no team owns or
    that a bare slug names ambiguously; returns the organisation's teams by slug, retired teams
    and the former slugs of renamed ones included, and the services named with their owners.
    A fixed number of queries, plus one per 500 services, people or deploys named."""
    org = organization.slug
    # Retired and renamed teams are known too: evidence naming them keeps its attribution
    # (teams.selectors.TeamAttribution); only a slug the organisation never knew is an error.
    attribution = team_attribution(organization=organization)
    by_id = {team.pk: team for team in Team.all_objects.filter(organization=organization)}
    teams = {slug: by_id[team_id] for slug, team_id in attribution.id_of.items()}
    named: dict[str, set[str]] = {"person": set(), "deploy": set(), "service": set()}
    for references in checked.references.values():
        for _field, what, value in references:
            if what in named:
                named[what].add(value)
    services, service_problems = _services_resolve(
        organization=organization, named=named["service"], by_id=by_id
    )
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
            elif what == "service" and value in service_problems:
                message = service_problems[value]
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
    return _Resolved(teams=teams, services=services)


def _row_of(record: AnyRecord, resolved: _Resolved) -> _Row:
    team: Team | None = None
    if isinstance(record, FirstDeployRecord):
        if "@" not in record.subject:
            # A new team's first deploy is listed under that team (for ?team= and event surveys).
            team = resolved.teams[record.subject]
    elif record.service is not None:
        team = resolved.services[record.service].team
    elif record.team is not None:
        team = resolved.teams[record.team]
    return _Row(
        kind=record.kind,
        external_id=record.id,
        team=team,
        occurred_at=record.occurred_at,
        data=_data_of(record, resolved.services),
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
    the organisation, services named instead of teams (resolved to their owner at ingest; all in
    one query per 500 slugs), ``caused_by_deploy`` naming a deploy of the same records or one already
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
    resolved = _references_check(organization=organization, checked=checked)
    if checked.problems:
        raise SignalEventsInvalid(sorted(checked.problems, key=problem_order), source=source)
    rows = {index: _row_of(record, resolved) for index, record in checked.records.items()}

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
    if new or changed:
        # Bulk writes send no model signals: the cached readings' key changes here.
        signal_events_changed(organization_id=organization.pk)
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
