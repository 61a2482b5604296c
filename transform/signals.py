"""Ingested signal events: their record format, ingest (API and CSV), and readings from them.

- **The record format** (docs/signal-events-format.md): one pydantic model per event kind is the
  single definition; ``docs/schemas/signal-event.schema.json`` is generated from it
  (``signal_event_json_schema``) and a test keeps the two equal.
- **Ingest** (``signal_events_ingest``): every record is validated first (format, teams and
  people of the organisation, deploy references, impossible orders checked by building
  ``transform.metrics``' events, so ingest and computation agree); any problem stores nothing and
  raises one ``SignalEventsInvalid`` listing every problem. Valid records are upserted by
  (organisation, kind, id) in one transaction, and the created ones may trigger event surveys.
- **CSV** (``signal_events_csv_parse``): the same records as a spreadsheet, for
  ``manage.py ingest_signals``.
- **Readings** (``ingested_readings``): the ingested signal kinds per team and for the
  organisation, computed by ``transform.metrics`` from stored events in a fixed number of queries.

The mapping from events to readings is documented in docs/signals.md; keep the two in step.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Now
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from rest_framework.exceptions import PermissionDenied

from playbooks.criteria import SignalReading
from teams.importers.bundle import ImportFailure, Origin
from teams.importers.orgfile import email_is_valid
from teams.importers.validation import explain_error
from teams.models import Membership, Organization, Person, Role, Team, TeamType
from teams.selectors import OrgAccess
from transform import metrics
from transform.errors import ApplicationError, ConflictError
from transform.models import SignalEvent, SignalEventKind

# One call ingests at most this many records: a request or file beyond it is refused whole (split
# it), so one transaction, its validation and its response stay bounded.
MAX_RECORDS_PER_INGEST = 10_000
# More problems than this are counted, not spelled out, in the error's message (the API's
# ``extra.fields`` still lists every one): the first ones are what the author fixes.
MAX_PROBLEMS_SHOWN = 100
# Bounds that keep one record small; real deploys and tickets stay far below them.
MAX_COMMITS_PER_DEPLOY = 10_000
MAX_DEVELOPERS_WAITING = 10_000
# ``__in`` lookups are split into chunks of this size (SQLite limits bound parameters).
_CHUNK = 500

SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
_SLUG = re.compile(SLUG_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

KINDS: tuple[str, ...] = tuple(SignalEventKind.values)


# --- the record format ---------------------------------------------------------------------------


def moment_parse(value: object) -> dt.datetime:
    """An ISO 8601 date-time with an offset (or an aware ``datetime``), as UTC; ``ValueError``
    saying what was expected otherwise (a naive date-time is refused, never guessed)."""
    expected = "expected an ISO 8601 date-time with a time zone offset, e.g. 2026-03-02T14:30:00Z"
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{expected}; got {value!r}") from None
    else:
        raise ValueError(f"{expected}; got {type(value).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        shown = value if isinstance(value, str) else moment.isoformat()
        raise ValueError(
            f"expected a timezone-aware date-time (add an offset such as Z or +01:00); "
            f"got {shown!r} without one"
        )
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"the date-time {value!r} is out of range") from None


def _utf8(value: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); no database driver can store them.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("expected valid Unicode text") from None
    return value


def _plain_text(value: str) -> str:
    _utf8(value)
    if not value.strip():
        raise ValueError("expected a non-empty text")
    if value != value.strip():
        raise ValueError(f"expected no leading or trailing spaces; got {value!r}")
    if _CONTROL.search(value):
        raise ValueError(f"expected no control characters; got {value!r}")
    return value


def _subject(value: str) -> str:
    _utf8(value)
    if "@" in value:
        email = value.strip().lower()
        if not email_is_valid(email):
            raise ValueError(f"expected a person's e-mail address or a team slug; got {value!r}")
        return email
    if not _SLUG.fullmatch(value) or len(value) > 100:
        raise ValueError(f"expected a person's e-mail address or a team slug; got {value!r}")
    return value


Moment = Annotated[
    dt.datetime,
    BeforeValidator(moment_parse),
    Field(description="ISO 8601 date-time with a time zone offset, e.g. 2026-03-02T14:30:00Z."),
]
SourceId = Annotated[
    str,
    Field(min_length=1, max_length=200, description="The event's id in its source system."),
    AfterValidator(_plain_text),
]
TeamSlug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=SLUG_PATTERN,
        description="Slug of a team of the organisation.",
    ),
]
Capability = Annotated[
    str,
    Field(min_length=1, max_length=100, description="The platform capability, e.g. ci, logging."),
    AfterValidator(_plain_text),
]
Subject = Annotated[
    str,
    Field(
        min_length=1,
        max_length=254,
        description="E-mail of a person, or slug of a team, of the organisation.",
    ),
    AfterValidator(_subject),
]


class _Record(BaseModel):
    # Strict: "true" is not a boolean and "2" not a number in JSON; the CSV reader converts its
    # cells to the right types before validation. Date-times are parsed by ``moment_parse``.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DeployRecord(_Record):
    """A deployment to production; occurred_at is when it reached production."""

    kind: Literal["deploy"]
    id: SourceId
    team: TeamSlug = Field(description="The team that deployed.")
    occurred_at: Moment
    commit_times: list[Moment] = Field(
        default_factory=list,
        max_length=MAX_COMMITS_PER_DEPLOY,
        description="Commit times of the changes the deploy shipped (none for a redeploy).",
    )
    caused_failure: bool = Field(
        default=False, description="The deploy needed immediate intervention (rollback, hotfix)."
    )
    is_rework: bool = Field(
        default=False, description="An unplanned deploy made to fix a problem in production."
    )


class IncidentRecord(_Record):
    """A production incident; occurred_at is when it started."""

    kind: Literal["incident"]
    id: SourceId
    team: TeamSlug | None = Field(default=None, description="The team that recorded it.")
    occurred_at: Moment
    resolved_at: Moment | None = Field(default=None, description="Empty while it is open.")
    caused_by_deploy: SourceId | None = Field(
        default=None,
        description="The id of the deploy that caused it: in the same batch or already stored.",
    )


class TicketRecord(_Record):
    """A ticket a team filed into another team's queue; occurred_at is when it was opened."""

    kind: Literal["ticket"]
    id: SourceId
    team: TeamSlug = Field(description="The team that filed the ticket and waits for it.")
    occurred_at: Moment
    closed_at: Moment | None = Field(default=None, description="Empty while it is open.")
    waiting_on: TeamSlug | None = Field(
        default=None, description="The team whose queue the ticket sits in."
    )
    developers_waiting: int = Field(
        default=1,
        ge=1,
        le=MAX_DEVELOPERS_WAITING,
        description="How many developers the ticket blocks.",
    )


class AdoptionRecord(_Record):
    """A team started using a platform capability; occurred_at is when."""

    kind: Literal["adoption"]
    id: SourceId
    team: TeamSlug = Field(description="The team that adopted the capability.")
    occurred_at: Moment
    capability: Capability
    mandated: bool = Field(
        description="true when the team was told to use it; false when it chose to."
    )


class FirstDeployRecord(_Record):
    """A newcomer's first production deploy; occurred_at is the first deploy."""

    kind: Literal["first_deploy"]
    id: SourceId
    occurred_at: Moment
    subject: Subject
    joined_at: Moment = Field(description="When the person joined or the team was formed.")


AnyRecord = DeployRecord | IncidentRecord | TicketRecord | AdoptionRecord | FirstDeployRecord
RECORD_MODELS: dict[str, type[_Record]] = {
    "deploy": DeployRecord,
    "incident": IncidentRecord,
    "ticket": TicketRecord,
    "adoption": AdoptionRecord,
    "first_deploy": FirstDeployRecord,
}
assert set(RECORD_MODELS) == set(KINDS), "one record model per SignalEventKind"
_RECORD: TypeAdapter[AnyRecord] = TypeAdapter(Annotated[AnyRecord, Field(discriminator="kind")])
# The fields every record has; the others go to SignalEvent.data.
COMMON_FIELDS = ("kind", "id", "team", "occurred_at")
# Each kind's fields in data, in the order the format lists them.
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name in model.model_fields if name not in COMMON_FIELDS)
    for kind, model in RECORD_MODELS.items()
}
# Every field of the format: the common ones, then each kind's in the order of the kinds.
RECORD_FIELDS: tuple[str, ...] = COMMON_FIELDS + tuple(
    dict.fromkeys(name for kind in KINDS for name in DATA_FIELDS[kind])
)


def signal_event_json_schema() -> dict[str, Any]:
    """The JSON Schema of one record (what ``docs/schemas/signal-event.schema.json`` holds)."""
    schema = _RECORD.json_schema()
    schema["title"] = "Signal event record"
    schema["description"] = (
        "One ingested signal event (deploy, incident, ticket, adoption or first_deploy); "
        "see docs/signal-events-format.md."
    )
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


# --- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """What is wrong with one record: its position, the field ('' for the whole record), why."""

    index: int
    field: str
    message: str

    @property
    def path(self) -> str:
        """``records[3].team`` (``records[3]`` for the whole record)."""
        separator = "" if self.field.startswith("[") or not self.field else "."
        return f"records[{self.index}]{separator}{self.field}"

    @property
    def column(self) -> str:
        """The top-level field (the CSV column): ``commit_times`` for ``commit_times[1]``."""
        return re.split(r"[.\[]", self.field, maxsplit=1)[0]


def problems_text(problems: Sequence[RecordProblem], where: Callable[[RecordProblem], str]) -> str:
    """One line per problem, ``<where>: <message>``; beyond MAX_PROBLEMS_SHOWN only a count."""
    lines = [f"{where(problem)}: {problem.message}" for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems")
    return "\n".join(lines)


class SignalEventsInvalid(ApplicationError):
    """Some records are invalid; nothing was stored (400).

    ``problems`` lists every problem in record order; ``extra["fields"]`` maps each path
    (``records[3].team``) to its messages, and the message lists them one a line.
    """

    def __init__(self, problems: Sequence[RecordProblem], *, source: str) -> None:
        self.problems = list(problems)
        fields: dict[str, list[str]] = {}
        for problem in self.problems:
            fields.setdefault(problem.path, []).append(problem.message)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        message = (
            f"Nothing was stored: {count} {noun} in the signal events from {source}.\n"
            + problems_text(self.problems, lambda problem: problem.path)
        )
        super().__init__(message, extra={"fields": fields})


def _field_path(loc: Iterable[str | int]) -> str:
    """A pydantic location as ``commit_times[1]``; odd keys (spaces, any unicode) are quoted, so
    a path is always printable and safe to send back in JSON."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_]+", part):
            path += f".{part}" if path else part
        else:
            path += f"[{part!a}]"
    return path


def _explain(item: Any, kind: str | None) -> str:
    error_type = item["type"]
    if error_type == "union_tag_not_found":
        return f"required field is missing; expected one of {', '.join(KINDS)}"
    if error_type == "union_tag_invalid":
        got = item["input"].get("kind") if isinstance(item["input"], dict) else None
        return f"expected one of {', '.join(KINDS)}; got {got!r}"
    if error_type in {"model_attributes_type", "model_type", "dict_type"}:
        return f"expected an object of fields; got {type(item['input']).__name__}"
    if error_type == "bool_type":
        return f"expected true or false; got {item['input']!r}"
    if error_type == "extra_forbidden" and kind is not None:
        fields = ", ".join(RECORD_MODELS[kind].model_fields)
        return f"not a field of a {kind} event; its fields are {fields}"
    root = RECORD_MODELS[kind] if kind is not None else DeployRecord
    return explain_error(item, root=root)


def _format_problems(index: int, exc: ValidationError) -> list[RecordProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        kind = str(loc.pop(0)) if loc and loc[0] in RECORD_MODELS else None
        if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
            loc = ["kind"]
        problems.append(RecordProblem(index, _field_path(loc), _explain(error, kind)))
    return problems


# --- metrics events: the same checks and computations for ingest and readings ----------------------

# Where an impossible order shows up in a record, and the names transform.metrics gives the
# record's ``occurred_at`` (so its messages can speak the record's terms).
_ORDER_FIELD = {
    "deploy": "commit_times",
    "incident": "resolved_at",
    "ticket": "closed_at",
    "first_deploy": "joined_at",
}
_METRICS_NAME_OF_OCCURRED_AT = {
    "deploy": "deployed_at",
    "incident": "started_at",
    "ticket": "opened_at",
    "adoption": "adopted_at",
    "first_deploy": "first_deploy_at",
}


def _metrics_check(record: AnyRecord) -> tuple[str, str] | None:
    """(field, message) when the record's transform.metrics event cannot be built: it refuses
    impossible orders (a commit after its deploy, resolved before started, closed before opened,
    a first deploy before joining). None when it can."""
    try:
        if isinstance(record, DeployRecord):
            metrics.DeployEvent(
                id=record.id,
                team=record.team,
                deployed_at=record.occurred_at,
                commit_times=tuple(record.commit_times),
            )
        elif isinstance(record, IncidentRecord):
            metrics.IncidentEvent(
                id=record.id,
                team=record.team or "",
                started_at=record.occurred_at,
                resolved_at=record.resolved_at,
            )
        elif isinstance(record, TicketRecord):
            metrics.TicketEvent(
                id=record.id,
                team=record.team,
                opened_at=record.occurred_at,
                closed_at=record.closed_at,
                developers_waiting=record.developers_waiting,
            )
        elif isinstance(record, AdoptionRecord):
            metrics.AdoptionEvent(
                team=record.team,
                capability=record.capability,
                adopted_at=record.occurred_at,
                mandated=record.mandated,
            )
        else:
            metrics.FirstDeployEvent(
                subject=record.subject,
                joined_at=record.joined_at,
                first_deploy_at=record.occurred_at,
            )
    except ValueError as exc:
        message = str(exc).replace(_METRICS_NAME_OF_OCCURRED_AT[record.kind], "occurred_at")
        return _ORDER_FIELD.get(record.kind, "occurred_at"), message
    return None


def _iso(moment: dt.datetime) -> str:
    """How date-times are stored in ``SignalEvent.data`` and shown: UTC, ``+00:00``. One format
    for all, so stored texts order like the instants they name (the ticket query relies on it)."""
    return moment.astimezone(dt.UTC).isoformat()


def _moment_of(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


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


T = TypeVar("T")
E = TypeVar("E")


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _data_of(record: AnyRecord) -> dict[str, Any]:
    """The kind's fields as stored in ``SignalEvent.data`` (defaults filled in, times UTC)."""
    if isinstance(record, DeployRecord):
        return {
            "commit_times": [_iso(moment) for moment in record.commit_times],
            "caused_failure": record.caused_failure,
            "is_rework": record.is_rework,
        }
    if isinstance(record, IncidentRecord):
        return {
            "resolved_at": _iso(record.resolved_at) if record.resolved_at else None,
            "caused_by_deploy": record.caused_by_deploy,
        }
    if isinstance(record, TicketRecord):
        return {
            "closed_at": _iso(record.closed_at) if record.closed_at else None,
            "waiting_on": record.waiting_on,
            "developers_waiting": record.developers_waiting,
        }
    if isinstance(record, AdoptionRecord):
        return {"capability": record.capability, "mandated": record.mandated}
    return {"subject": record.subject, "joined_at": _iso(record.joined_at)}


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
            record = _RECORD.validate_python(dict(item))
        except ValidationError as exc:
            found = _format_problems(index, exc)
            checked.problems += found
            skip = {problem.column for problem in found}
            checked.references[index] = _references(kind, item, skip=skip)
            continue
        checked.references[index] = _references(kind, record.model_dump(), skip=set())
        order = _metrics_check(record)
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
    (a deploy may also be one of these records); returns the organisation's teams by slug.
    A fixed number of queries, plus one per 500 people or deploys named."""
    org = organization.slug
    teams = {team.slug: team for team in Team.objects.filter(organization=organization)}
    named: dict[str, set[str]] = {"person": set(), "deploy": set()}
    for references in checked.references.values():
        for _field, what, value in references:
            if what in named:
                named[what].add(value)
    people: set[str] = set()
    for chunk in _chunks(sorted(named["person"])):
        people.update(
            Person.objects.filter(organization=organization, email__in=chunk).values_list(
                "email", flat=True
            )
        )
    deploys = set(checked.deploy_ids)
    for chunk in _chunks(sorted(named["deploy"] - deploys)):
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


# Problems of one record are listed in the order of the format's fields.
_FIELD_ORDER = {name: position for position, name in enumerate(RECORD_FIELDS)}


def _problem_order(problem: RecordProblem) -> tuple[int, int]:
    return problem.index, _FIELD_ORDER.get(problem.column, len(_FIELD_ORDER))


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
    ``transform.metrics`` event). Then rows are upserted by (organisation, kind, id): new ones are
    created, changed ones updated, identical ones left alone. Inside the same transaction the
    created events go to ``transform.checkins.event_surveys_trigger``.

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
        raise SignalEventsInvalid(sorted(checked.problems, key=_problem_order), source=source)
    rows = {index: _row_of(record, teams) for index, record in checked.records.items()}

    existing: dict[tuple[str, str], SignalEvent] = {}
    for kind in KINDS:
        ids = sorted({row.external_id for row in rows.values() if row.kind == kind})
        for chunk in _chunks(ids):
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
            created = SignalEvent.objects.bulk_create(new, batch_size=_CHUNK)
    except IntegrityError:
        raise ConflictError(
            "Another ingest stored some of these events at the same moment; nothing was stored. "
            "Send the records again: the events already stored are then updated."
        ) from None
    SignalEvent.objects.bulk_update(
        changed, ["team", "occurred_at", "data", "ingested_at"], batch_size=_CHUNK
    )
    surveys = 0
    if created:
        # Imported here: check-in planning sits above ingest (it reads events, not vice versa).
        from transform.checkins import event_surveys_trigger

        surveys = event_surveys_trigger(events=created, at=at)
    return IngestResult(
        created=len(created), updated=len(changed), unchanged=unchanged, surveys_triggered=surveys
    )


# --- CSV -----------------------------------------------------------------------------------------

CSV_REQUIRED_COLUMNS: tuple[str, ...] = COMMON_FIELDS
# Every kind's own fields, in the order of the kinds and their fields.
CSV_OPTIONAL_COLUMNS: tuple[str, ...] = RECORD_FIELDS[len(COMMON_FIELDS) :]
CSV_COLUMNS = RECORD_FIELDS
_LIST_COLUMNS = {"commit_times"}
_BOOLEAN_COLUMNS = {"caused_failure", "is_rework", "mandated"}
_INTEGER_COLUMNS = {"developers_waiting"}


@dataclass(frozen=True, slots=True)
class CsvRecords:
    """Records read from a CSV file, with the line each started on (for error messages)."""

    path: str
    records: list[dict[str, Any]]
    lines: list[int]

    def where(self, problem: RecordProblem) -> str:
        """``file.csv, line 5, column team`` for a problem of ``records[problem.index]``."""
        place = f"{self.path}, line {self.lines[problem.index]}"
        return place + (f", column {problem.column}" if problem.column else "")

    def problems_text(self, problems: Sequence[RecordProblem]) -> str:
        return problems_text(problems, self.where)


def _cell_value(column: str, cell: str) -> Any:
    if column in _LIST_COLUMNS:
        return [part.strip() for part in cell.split(";") if part.strip()]
    if column in _BOOLEAN_COLUMNS and cell.lower() in {"true", "false"}:
        return cell.lower() == "true"
    if column in _INTEGER_COLUMNS and re.fullmatch(r"[0-9]{1,9}", cell):
        return int(cell)
    return cell  # left as text, so validation says what was expected


def signal_events_csv_parse(path: str, text: str) -> CsvRecords:
    """The records of a CSV file (docs/signal-events-format.md): a header row naming the columns
    (``kind,id,team,occurred_at`` and any kind columns, in any order), then one event a row. An
    empty cell is a field not given; ``commit_times`` are separated by ``;``; booleans are
    ``true`` / ``false``.

    Raises ``ImportFailure`` naming the file and line for a missing or bad header, a row with the
    wrong number of cells, or broken CSV quoting; the values are checked by the ingest.
    """
    # Spreadsheets often save a byte-order mark; it is not part of the first column's name.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFailure(
                Origin(path, line=1),
                f"empty file; expected a header row with {','.join(CSV_REQUIRED_COLUMNS)} "
                "and the kind columns you use",
            )
        columns = _csv_columns(path, header)
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise ImportFailure(
                    Origin(path, line=start),
                    f"expected {len(columns)} cells ({','.join(columns)}); got {len(row)}",
                )
            records.append(
                {
                    column: _cell_value(column, cell.strip())
                    for column, cell in zip(columns, row, strict=True)
                    if cell.strip()
                }
            )
            lines.append(start)
    except csv.Error as exc:
        raise ImportFailure(Origin(path, line=reader.line_num), f"CSV error: {exc}") from None
    return CsvRecords(path=path, records=records, lines=lines)


def _csv_columns(path: str, header: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    origin = Origin(path, line=1)
    expected = (
        f"expected the columns {','.join(CSV_REQUIRED_COLUMNS)} and any of "
        f"{','.join(CSV_OPTIONAL_COLUMNS)}"
    )
    unknown = [column for column in columns if column not in CSV_COLUMNS]
    if unknown:
        raise ImportFailure(
            origin, f"unknown column {', '.join(ascii(c) for c in unknown)}; {expected}"
        )
    missing = [column for column in CSV_REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ImportFailure(origin, f"missing column {', '.join(map(repr, missing))}; {expected}")
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise ImportFailure(origin, f"column {', '.join(map(repr, repeated))} appears twice")
    return columns


# --- reading stored events -----------------------------------------------------------------------

SIGNAL_EVENT_READER_ROLES = frozenset({Role.ADMIN, Role.CHANGE_AGENT, Role.LEADER})


def signal_events_read_access_check(*, access: OrgAccess) -> None:
    """Raises ``PermissionDenied`` unless the caller is an admin, change agent or leader."""
    if not access.roles & SIGNAL_EVENT_READER_ROLES:
        raise PermissionDenied(
            f"Only admins, change agents and leaders of '{access.organization.slug}' may read "
            "its signal events."
        )


def signal_event_list(
    *,
    organization: Organization,
    kind: str | None = None,
    team: Team | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[SignalEvent]:
    """The organisation's events, oldest first: of ``kind``, listed under ``team`` (a first
    deploy is listed under its subject team), with ``since <= occurred_at < until``."""
    events = SignalEvent.objects.filter(organization=organization).select_related("team")
    if kind is not None:
        events = events.filter(kind=kind)
    if team is not None:
        events = events.filter(team=team)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events.order_by("occurred_at", "id")


def signal_event_record(event: SignalEvent) -> dict[str, Any]:
    """A stored event in the record format (``team`` slug, times in UTC)."""
    record: dict[str, Any] = {"kind": event.kind, "id": event.external_id}
    if event.kind != SignalEventKind.FIRST_DEPLOY:
        record["team"] = event.team.slug if event.team is not None else None
    record["occurred_at"] = _iso(event.occurred_at)
    record.update(event.data)
    return record


# --- readings ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Events:
    """The organisation's events as transform.metrics events, loaded once."""

    deploys: list[metrics.DeployEvent]
    incidents: list[metrics.IncidentEvent]
    tickets: list[metrics.TicketEvent]
    adoptions: list[metrics.AdoptionEvent]
    first_deploys: list[metrics.FirstDeployEvent]
    # Kinds with at least one event at or before the window's end (the kind is ingested), and
    # the teams with a deploy by then (their deploys are tracked).
    ingested: set[str]
    deploying_teams: set[str]


def _events_load(
    *, organization: Organization, start: dt.datetime, end: dt.datetime, slug_of: Mapping[int, str]
) -> _Events:
    """Three or four queries, whatever the number of teams and events."""
    K = SignalEventKind
    window = Q(kind__in=[K.DEPLOY, K.INCIDENT, K.FIRST_DEPLOY], occurred_at__gte=start) & Q(
        occurred_at__lt=end
    )
    # Adoption counts cumulatively; tickets matter while open during the window or at its end.
    adoptions = Q(kind=K.ADOPTION, occurred_at__lte=end)
    # closed_at is compared as text: stored times share one UTC format, so texts order like
    # instants (the Cast makes it a plain text comparison on every database).
    tickets = Q(kind=K.TICKET, occurred_at__lte=end) & (
        Q(closed__isnull=True) | Q(closed__gt=_iso(start))
    )
    rows = list(
        SignalEvent.objects.filter(organization=organization)
        .annotate(closed=Cast(KT("data__closed_at"), output_field=TextField()))
        .filter(window | adoptions | tickets)
        .order_by("occurred_at", "id")
        .values_list("kind", "external_id", "team_id", "occurred_at", "data")
    )
    seen = set(
        SignalEvent.objects.filter(organization=organization, occurred_at__lte=end)
        .order_by()
        .values_list("kind", "team_id")
        .distinct()
    )
    events = _Events([], [], [], [], [], {kind for kind, _ in seen}, set())
    events.deploying_teams = {
        slug_of[team_id] for kind, team_id in seen if kind == K.DEPLOY and team_id in slug_of
    }
    for kind, external_id, team_id, occurred_at, data in rows:
        team = slug_of.get(team_id, "") if team_id is not None else ""
        if kind == K.DEPLOY:
            events.deploys.append(
                metrics.DeployEvent(
                    id=external_id,
                    team=team,
                    deployed_at=occurred_at,
                    commit_times=tuple(dt.datetime.fromisoformat(t) for t in data["commit_times"]),
                    caused_failure=data["caused_failure"],
                    is_rework=data["is_rework"],
                )
            )
        elif kind == K.INCIDENT:
            events.incidents.append(
                metrics.IncidentEvent(
                    id=external_id,
                    team=team,
                    started_at=occurred_at,
                    resolved_at=_moment_of(data["resolved_at"]),
                    caused_by_deploy=data["caused_by_deploy"],
                )
            )
        elif kind == K.TICKET:
            events.tickets.append(
                metrics.TicketEvent(
                    id=external_id,
                    team=team,
                    opened_at=occurred_at,
                    closed_at=_moment_of(data["closed_at"]),
                    waiting_on=data["waiting_on"],
                    developers_waiting=data["developers_waiting"],
                )
            )
        elif kind == K.ADOPTION:
            events.adoptions.append(
                metrics.AdoptionEvent(
                    team=team,
                    capability=data["capability"],
                    adopted_at=occurred_at,
                    mandated=data["mandated"],
                )
            )
        elif kind == K.FIRST_DEPLOY:
            events.first_deploys.append(
                metrics.FirstDeployEvent(
                    subject=data["subject"],
                    joined_at=dt.datetime.fromisoformat(data["joined_at"]),
                    first_deploy_at=occurred_at,
                )
            )

    # A deploy-caused incident belongs to the deploying team, also when the deploy was made
    # before the window: load those deploys too (only for the attribution; out of the window
    # they count for nothing else).
    loaded = {deploy.id for deploy in events.deploys}
    missing = sorted({i.caused_by_deploy for i in events.incidents if i.caused_by_deploy} - loaded)
    for chunk in _chunks(missing):
        for external_id, team_id, occurred_at in SignalEvent.objects.filter(
            organization=organization, kind=K.DEPLOY, external_id__in=chunk
        ).values_list("external_id", "team_id", "occurred_at"):
            events.deploys.append(
                metrics.DeployEvent(
                    id=external_id, team=slug_of.get(team_id, ""), deployed_at=occurred_at
                )
            )
    return events


def _incident_team(incident: metrics.IncidentEvent, deploy_team: Mapping[str, str]) -> str:
    # The rule of metrics.dora_metrics_by_team: a deploy-caused incident is the deploying team's.
    return deploy_team.get(incident.caused_by_deploy or "", incident.team)


def ingested_readings(
    *, organization: Organization, start: dt.datetime, end: dt.datetime
) -> dict[int | None, dict[str, SignalReading]]:
    """The ingested signal kinds for every team (by team id) and the organisation (key None),
    computed by transform.metrics from the stored events as of ``end`` (docs/signals.md,
    "Readings from stored events").

    Every team of the organisation has a key, possibly with no readings. Windowed kinds (DORA,
    ``incidents``, ``blocked_developer_hours``, ``time_to_first_deploy``) cover
    ``[start, end)``; ``open_tickets`` and ``platform_adoption`` are the state at ``end``. A kind
    without data has no reading, never a made-up 0. Runs a fixed number of queries, whatever the
    number of teams. Raises ``ValueError`` for naive or reversed ``start``/``end``.
    """
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    K = SignalEventKind
    teams = list(Team.objects.filter(organization=organization).values_list("id", "slug", "type"))
    slug_of = {team_id: slug for team_id, slug, _ in teams}
    events = _events_load(organization=organization, start=start, end=end, slug_of=slug_of)
    tickets_ingested = K.TICKET in events.ingested
    incidents_ingested = K.INCIDENT in events.ingested
    adoption_ingested = K.ADOPTION in events.ingested

    # Organisation.
    platform_teams = {slug for _, slug, kind in teams if kind == TeamType.PLATFORM}
    readings: dict[int | None, dict[str, SignalReading]] = {}
    readings[None] = metrics.signal_readings(
        as_of=end,
        dora=metrics.dora_metrics(
            events.deploys,
            events.incidents,
            deploys_tracked=bool(events.deploying_teams),
            window_start=start,
            window_end=end,
        ),
        backlog=metrics.ticket_backlog(events.tickets, at=end) if tickets_ingested else None,
        blocked_hours=(
            metrics.blocked_developer_hours(events.tickets, window_start=start, window_end=end)
            if tickets_ingested
            else None
        ),
        adoption=(
            metrics.voluntary_adoption(
                [a for a in events.adoptions if a.team not in platform_teams],
                teams_total=len(teams) - len(platform_teams),
                at=end,
            )
            if adoption_ingested
            else None
        ),
        first_deploy_days=metrics.time_to_first_deploy(
            events.first_deploys, window_start=start, window_end=end
        ),
        incidents=metrics.incident_count(events.incidents, window_start=start, window_end=end)
        if incidents_ingested
        else None,
    )

    # Teams.
    dora_tracked = metrics.dora_metrics_by_team(
        events.deploys, events.incidents, deploys_tracked=True, window_start=start, window_end=end
    )
    dora_untracked = metrics.dora_metrics_by_team(
        events.deploys, events.incidents, deploys_tracked=False, window_start=start, window_end=end
    )
    # Each event's team(s), grouped once: no pass over all events per team.
    deploy_team = {deploy.id: deploy.team for deploy in events.deploys}
    tickets_of = _grouped(events.tickets, lambda ticket: [ticket.team])
    adoptions_of = _grouped(events.adoptions, lambda adoption: [adoption.team])
    incidents_of = _grouped(
        events.incidents, lambda incident: [_incident_team(incident, deploy_team)]
    )
    slugs_of_person = _teams_of_people(organization=organization, events=events, slug_of=slug_of)
    first_deploys_of = _grouped(
        events.first_deploys,
        lambda event: [event.subject, *slugs_of_person.get(event.subject, ())],
    )
    for team_id, slug, team_type in teams:
        dora: metrics.DoraMetrics | None
        if slug in events.deploying_teams:
            dora = dora_tracked.get(slug) or metrics.dora_metrics(
                [], [], deploys_tracked=True, window_start=start, window_end=end
            )
        else:
            dora = dora_untracked.get(slug)
        tickets = tickets_of.get(slug, [])
        adoption = None
        if adoption_ingested and team_type != TeamType.PLATFORM:
            # One team: 1.0 voluntary, 0.0 not adopted, None (no reading) when only mandated.
            adoption = metrics.voluntary_adoption(adoptions_of.get(slug, []), teams_total=1, at=end)
        first_deploys = first_deploys_of.get(slug, [])
        incidents = incidents_of.get(slug, [])
        readings[team_id] = metrics.signal_readings(
            as_of=end,
            dora=dora,
            backlog=metrics.ticket_backlog(tickets, at=end) if tickets_ingested else None,
            blocked_hours=(
                metrics.blocked_developer_hours(tickets, window_start=start, window_end=end)
                if tickets_ingested
                else None
            ),
            adoption=adoption,
            first_deploy_days=metrics.time_to_first_deploy(
                first_deploys, window_start=start, window_end=end
            ),
            incidents=metrics.incident_count(incidents, window_start=start, window_end=end)
            if incidents_ingested
            else None,
        )
    return readings


def _grouped(items: Iterable[E], slugs: Callable[[E], Iterable[str]]) -> dict[str, list[E]]:
    """``items`` by the team slugs each belongs to."""
    groups: dict[str, list[E]] = {}
    for item in items:
        for slug in dict.fromkeys(slugs(item)):
            groups.setdefault(slug, []).append(item)
    return groups


def _teams_of_people(
    *, organization: Organization, events: _Events, slug_of: Mapping[int, str]
) -> dict[str, list[str]]:
    """E-mail -> slugs of the person's teams today, for the people with a first deploy (one
    query, none without them)."""
    if not any("@" in event.subject for event in events.first_deploys):
        return {}
    teams: dict[str, list[str]] = {}
    for email, team_id in Membership.objects.filter(organization=organization).values_list(
        "person__email", "team_id"
    ):
        teams.setdefault(email, []).append(slug_of[team_id])
    return teams
