"""The signal event record format (docs/signal-events-format.md): one pydantic model per event
kind is the single definition; docs/schemas/signal-event.schema.json is generated from it
(signal_event_json_schema) and a test keeps the two equal. Also the problems a record can
have, said by record and field, and the checks that transform.evidence.metrics would make,
so ingest and computation agree."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from core.errors import ApplicationError
from core.files.validation import explain_error
from core.identifiers import Slug, email_is_valid, slug_is_valid
from core.moments import moment_parse
from transform.evidence import metrics
from transform.models import SignalEventKind

# More problems than this are counted, not spelled out, in the error's message (the API's
# ``extra.fields`` still lists every one): the first ones are what the author fixes.
MAX_PROBLEMS_SHOWN = 100


# Bounds that keep one record small; real deploys and tickets stay far below them.
MAX_COMMITS_PER_DEPLOY = 10_000


MAX_DEVELOPERS_WAITING = 10_000


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


KINDS: tuple[str, ...] = tuple(SignalEventKind.values)


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
    if not slug_is_valid(value):
        raise ValueError(f"expected a person's e-mail address or a team slug; got {value!r}")
    return value


Moment = Annotated[
    dt.datetime,
    BeforeValidator(functools.partial(moment_parse, naive="refuse")),
    Field(description="ISO 8601 date-time with a time zone offset, e.g. 2026-03-02T14:30:00Z."),
]


SourceId = Annotated[
    str,
    Field(min_length=1, max_length=200, description="The event's id in its source system."),
    AfterValidator(_plain_text),
]


TeamSlug = Annotated[Slug, Field(description="Slug of a team of the organisation.")]


# The Backstage entity kinds a team owns (teams.models.ServiceKind), in the order a bare name is
# reported when it is ambiguous.
SERVICE_KINDS: tuple[str, ...] = ("component", "system", "api")


def service_ref_parse(value: str) -> tuple[str | None, str]:
    """``(kind, slug)`` of a service reference; ``kind`` is None when the reference gives none.

    Backstage's ``[kind:][namespace/]name`` (case does not matter): the namespace is accepted and
    left out, as the catalog importer does (a service is one per kind and slug), and so is a
    repository's owner (GitHub ``org/repo``, GitLab ``group/subgroup/repo``): a repository maps to
    the service of the same slug. Dots in a name become ``-`` (the importer's rule). Raises
    ``ValueError`` saying what was expected."""
    expected = "expected a service slug or reference ([kind:][namespace/]name)"
    kind_part, colon, rest = value.partition(":")
    kind: str | None = None
    if colon:
        kind = kind_part.strip().lower()
        if kind not in SERVICE_KINDS:
            raise ValueError(
                f"expected the kind of a service ({', '.join(SERVICE_KINDS)}) before ':'; "
                f"got {value!r}"
            )
    else:
        rest = value
    *owners, name = rest.split("/")
    slug = name.strip().lower().replace(".", "-")
    if any(not owner.strip() for owner in owners) or not slug_is_valid(slug):
        raise ValueError(f"{expected}; got {value!r}")
    return kind, slug


def _service_ref(value: str) -> str:
    """A reference in its short form: ``kind:slug``, or ``slug`` when no kind was given."""
    _plain_text(value)
    kind, slug = service_ref_parse(value)
    return f"{kind}:{slug}" if kind else slug


def _not_null(value: Any) -> Any:
    # team and service may be left out, but null is not a slug: said as for any other non-text.
    if value is None:
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


ServiceRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description=(
            "A service of the organisation, whose owning team the event is for: its slug, a "
            "Backstage reference [kind:][namespace/]name (kind component, system or api), or a "
            "repository (org/repo is the component of the same slug)."
        ),
    ),
    AfterValidator(_service_ref),
]


NamedTeam = Annotated[TeamSlug | None, BeforeValidator(_not_null)]


NamedService = Annotated[ServiceRef | None, BeforeValidator(_not_null)]


# The fields that name the team an event is for: exactly one of each pair (an incident: at most
# one), so a record never names two teams that may disagree.
NAMING_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "deploy": (("team", "service"),),
    "incident": (("team", "service"),),
    "ticket": (("team", "service"), ("waiting_on", "waiting_on_service")),
    "adoption": (("team", "service"),),
}


# The pairs of which one must be given (the others: at most one).
_REQUIRED_PAIRS = {("deploy", "team"), ("ticket", "team"), ("adoption", "team")}


# Fields that may be null, meaning not given (an incident recorded by no team); elsewhere null is
# an error of the format.
_NULLABLE = {("incident", "team"), ("ticket", "waiting_on")}


def naming_problems(kind: object, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) when a record names both a team and a service for the same role, or
    neither where one is required. A null field counts as given where null is refused anyway
    (the format check says it is not a text), so the record gets one message, not two."""
    found: list[tuple[str, str]] = []
    if not isinstance(kind, str):
        return found

    def given(name: str) -> bool:
        return name in values and (values[name] is not None or (kind, name) not in _NULLABLE)

    for team_field, service_field in NAMING_FIELDS.get(kind, ()):
        if given(team_field) and given(service_field):
            team, service = values[team_field], values[service_field]
            found.append(
                (
                    service_field,
                    f"give either {team_field} or {service_field}, not both; got {team_field} "
                    f"{team!r} and {service_field} {service!r}",
                )
            )
        elif (kind, team_field) in _REQUIRED_PAIRS and not (
            given(team_field) or given(service_field)
        ):
            found.append((team_field, "required field is missing"))
    return found


def _naming_schema(kind: str) -> Callable[[dict[str, Any]], None]:
    """The JSON Schema rule of ``naming_problems`` for ``kind``: exactly one of a required pair,
    at most one of the others; fields that may not be null lose the ``null`` that pydantic's
    ``X | None`` writes."""

    def extra(schema: dict[str, Any]) -> None:
        properties = schema["properties"]
        rules: list[dict[str, Any]] = []
        for pair in NAMING_FIELDS[kind]:
            for name in pair:
                if (kind, name) not in _NULLABLE and "anyOf" in properties[name]:
                    options = [o for o in properties[name].pop("anyOf") if o != {"type": "null"}]
                    properties[name].pop("default", None)
                    properties[name] = {**options[0], **properties[name]}
            given: list[dict[str, Any]] = [
                {"required": [name], "properties": {name: {"type": "string"}}} for name in pair
            ]
            if (kind, pair[0]) in _REQUIRED_PAIRS:
                rules.append({"oneOf": given})
            else:
                rules.append({"not": {"allOf": given}})
        schema["allOf"] = rules

    return extra


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

    model_config = ConfigDict(json_schema_extra=_naming_schema("deploy"))

    kind: Literal["deploy"]
    id: SourceId
    team: NamedTeam = Field(default=None, description="The team that deployed.")
    service: NamedService = Field(
        default=None, description="Instead of team: the service deployed; its owner deployed."
    )
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

    model_config = ConfigDict(json_schema_extra=_naming_schema("incident"))

    kind: Literal["incident"]
    id: SourceId
    team: TeamSlug | None = Field(default=None, description="The team that recorded it.")
    service: NamedService = Field(
        default=None,
        description="Instead of team: the service it happened to; its owner recorded it.",
    )
    occurred_at: Moment
    resolved_at: Moment | None = Field(default=None, description="Empty while it is open.")
    caused_by_deploy: SourceId | None = Field(
        default=None,
        description="The id of the deploy that caused it: in the same batch or already stored.",
    )


class TicketRecord(_Record):
    """A ticket a team filed into another team's queue; occurred_at is when it was opened."""

    model_config = ConfigDict(json_schema_extra=_naming_schema("ticket"))

    kind: Literal["ticket"]
    id: SourceId
    team: NamedTeam = Field(
        default=None, description="The team that filed the ticket and waits for it."
    )
    service: NamedService = Field(
        default=None,
        description="Instead of team: a service whose owner filed the ticket and waits for it.",
    )
    occurred_at: Moment
    closed_at: Moment | None = Field(default=None, description="Empty while it is open.")
    waiting_on: TeamSlug | None = Field(
        default=None, description="The team whose queue the ticket sits in."
    )
    waiting_on_service: NamedService = Field(
        default=None,
        description="Instead of waiting_on: the service the ticket waits on; its owner's queue.",
    )
    developers_waiting: int = Field(
        default=1,
        ge=1,
        le=MAX_DEVELOPERS_WAITING,
        description="How many developers the ticket blocks.",
    )


class AdoptionRecord(_Record):
    """A team started using a platform capability; occurred_at is when."""

    model_config = ConfigDict(json_schema_extra=_naming_schema("adoption"))

    kind: Literal["adoption"]
    id: SourceId
    team: NamedTeam = Field(default=None, description="The team that adopted the capability.")
    service: NamedService = Field(
        default=None, description="Instead of team: a service whose owner adopted it."
    )
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


RECORD_ADAPTER: TypeAdapter[AnyRecord] = TypeAdapter(
    Annotated[AnyRecord, Field(discriminator="kind")]
)


# The fields every record has; the others go to SignalEvent.data.
COMMON_FIELDS = ("kind", "id", "team", "occurred_at")


# The fields that name a service instead of a team (stored in SignalEvent.data as the service's
# ``kind:slug``, next to the team resolved from its owner).
SERVICE_FIELDS = ("service", "waiting_on_service")


# Each kind's fields in data, in the order the format lists them.
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name in model.model_fields if name not in COMMON_FIELDS)
    for kind, model in RECORD_MODELS.items()
}


# Every field of the format: the common ones, then each kind's in the order of the kinds.
RECORD_FIELDS: tuple[str, ...] = COMMON_FIELDS + tuple(
    dict.fromkeys(
        name for kind in KINDS for name in DATA_FIELDS[kind] if name not in SERVICE_FIELDS
    )
)
RECORD_FIELDS = RECORD_FIELDS + SERVICE_FIELDS  # added later: the older columns keep their order


def signal_event_json_schema() -> dict[str, Any]:
    """The JSON Schema of one record (what ``docs/schemas/signal-event.schema.json`` holds)."""
    schema = RECORD_ADAPTER.json_schema()
    schema["title"] = "Signal event record"
    schema["description"] = (
        "One ingested signal event (deploy, incident, ticket, adoption or first_deploy); "
        "see docs/signal-events-format.md."
    )
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


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


def format_problems(index: int, exc: ValidationError) -> list[RecordProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        kind = str(loc.pop(0)) if loc and loc[0] in RECORD_MODELS else None
        if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
            loc = ["kind"]
        problems.append(RecordProblem(index, _field_path(loc), _explain(error, kind)))
    return problems


# Where an impossible order shows up in a record, and the names transform.evidence.metrics gives the
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


def metrics_check(record: AnyRecord) -> tuple[str, str] | None:
    """(field, message) when the record's transform.evidence.metrics event cannot be built: it refuses
    impossible orders (a commit after its deploy, resolved before started, closed before opened,
    a first deploy before joining). None when it can."""
    try:
        if isinstance(record, DeployRecord):
            metrics.DeployEvent(
                id=record.id,
                team=record.team or "",
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
                team=record.team or "",
                opened_at=record.occurred_at,
                closed_at=record.closed_at,
                developers_waiting=record.developers_waiting,
            )
        elif isinstance(record, AdoptionRecord):
            metrics.AdoptionEvent(
                team=record.team or "",
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


def iso_utc(moment: dt.datetime) -> str:
    """How date-times are stored in ``SignalEvent.data`` and shown: UTC, ``+00:00``. One format
    for all, so stored texts order like the instants they name (the ticket query relies on it)."""
    return moment.astimezone(dt.UTC).isoformat()


def moment_of(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _problem_field_order() -> dict[str, int]:
    # The format's fields, a service next to the team it stands for.
    order: list[str] = []
    for name in RECORD_FIELDS:
        if name not in SERVICE_FIELDS:
            order.append(name)
        if name in {"team", "waiting_on"}:
            order.append("service" if name == "team" else "waiting_on_service")
    return {name: position for position, name in enumerate(order)}


# Problems of one record are listed in that order.
_FIELD_ORDER = _problem_field_order()


def problem_order(problem: RecordProblem) -> tuple[int, int]:
    return problem.index, _FIELD_ORDER.get(problem.column, len(_FIELD_ORDER))
