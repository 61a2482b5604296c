"""Reader for Team Topologies' TeamAPI-as-Code documents (YAML or JSON); see docs/import-teamapi.md.

One document describes one team (``info``), the teams it interacts with (``interactions``) and the
teams it depends on (``dependencies``). The other teams are only named, so they are recorded as
references that must be defined by another import file or already exist in the organisation.
The ``x-transform`` extension adds what TeamAPI has no field for (slugs, specialty, unit, manager,
members, serves links, a dependency's dates): ``export_org --format teamapi`` writes it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any, TypeVar

from django.utils.text import slugify
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.files.origin import ImportFailure
from core.files.validation import explain_error
from core.files.yamlio import YamlDocument, to_plain
from teams.graph import InteractionEdge, MembershipEdge, ServesEdge, ServiceNode, TeamNode
from teams.importers.bundle import ImportBundle
from teams.importers.orgfile import Email, MemberIn, ServedByIn, Slug
from teams.models import InteractionMode, ServiceKind, Severity, Specialty, TeamType

NOTE_LENGTH = 200  # teams.models.Interaction.note

# Values compared after lower-casing and turning "_" and spaces into "-".
TEAM_TYPES = {
    "stream-aligned": TeamType.STREAM_ALIGNED,
    "platform": TeamType.PLATFORM,
    "enabling": TeamType.ENABLING,
    "complicated-subsystem": TeamType.COMPLICATED_SUBSYSTEM,
    "ops-silo": TeamType.OPS_SILO,
    "unclassified": TeamType.UNCLASSIFIED,
}
INTERACTION_MODES = {
    "collaboration": InteractionMode.COLLABORATION,
    "x-as-a-service": InteractionMode.X_AS_A_SERVICE,
    "xaas": InteractionMode.X_AS_A_SERVICE,
    "facilitating": InteractionMode.FACILITATING,
    "facilitation": InteractionMode.FACILITATING,
}
DEPENDENCY_TYPES = {
    "blocking": Severity.BLOCKING,
    "slowing": Severity.SLOWING,
    "ok": Severity.OK,
}
SERVICE_KINDS = {kind.value: kind for kind in ServiceKind}
UNKNOWN_DATES = frozenset({"unknown", "n/a", "tbd"})
_DURATION_UNITS = {"day": "D", "week": "W", "month": "M", "year": "Y"}
_WORDS = re.compile(r"^(\d+)\s*(day|week|month|year)s?$")
_ISO = re.compile(r"^P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# Top-level keys that mark other formats (OpenAPI/AsyncAPI also have an `info` object).
_OTHER_FORMATS = frozenset({"apiVersion", "kind", "format", "openapi", "swagger", "asyncapi"})
# The specification extension (``x-`` prefix) holding what Transform records and TeamAPI has no
# field for; ``export_org --format teamapi`` writes it so that a re-import gives the same graph.
EXTENSION = "x-transform"


class _Extension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamExtension(_Extension):
    """``x-transform`` of the document: the team's own slug and what TeamAPI cannot say."""

    slug: Slug | None = Field(default=None, description="The team's slug, instead of the name's.")
    specialty: Specialty | None = None
    unit: Slug | None = None
    manager: Email | None = None
    members: list[MemberIn] = Field(default_factory=list)
    served_by: list[ServedByIn] = Field(default_factory=list)


class LinkExtension(_Extension):
    """``x-transform`` of an interaction or a dependency: the other team's slug (instead of the
    one its name gives) and exact dates (a dependency has none in TeamAPI)."""

    team: Slug | None = None
    since: dt.date | None = None
    expected_end: dt.date | None = None


class ServiceExtension(_Extension):
    """``x-transform`` of a service: its slug, instead of the one its name gives."""

    slug: Slug | None = None


def is_teamapi_document(doc: YamlDocument) -> bool:
    """True for a TeamAPI document: a ``teamapi`` version or an ``info`` mapping with a ``name``,
    and none of the keys that mark Backstage, the org format (``format``) or API specifications."""
    data = doc.data
    if not isinstance(data, dict) or _OTHER_FORMATS & set(data):
        return False
    info = data.get("info")
    return "teamapi" in data or (isinstance(info, dict) and "name" in info)


def read_teamapi(doc: YamlDocument) -> ImportBundle:
    """The team a TeamAPI document describes, with its interactions and dependencies.

    Teams named in ``interactions``/``dependencies`` become references (``bundle.team_references``)
    keyed by ``slugify(teamName)``. Raises ImportFailure, naming file, document, line and field,
    for a missing team name, an unknown team type, interaction mode or dependency type, or a date
    or duration that cannot be read.
    """
    reader = _Reader(doc)
    return reader.read()


_ExtensionT = TypeVar("_ExtensionT", bound=_Extension)


class _Reader:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.bundle = ImportBundle()

    def fail(self, keys: tuple[str | int, ...], message: str) -> ImportFailure:
        return ImportFailure(self.doc.origin(*keys), f"{_dotted(keys)}: {message}")

    def read(self) -> ImportBundle:
        if not isinstance(self.doc.data, dict):
            raise ImportFailure(self.doc.origin(), "expected a TeamAPI document (a mapping)")
        info = self.doc.data.get("info")
        if not isinstance(info, dict):
            raise self.fail(("info",), f"expected a mapping with the team's name, {_found(info)}")
        name = self.text(("info", "name"), info.get("name"), required=True)
        extension = self.extension((), self.doc.data, TeamExtension)
        slug = extension.slug or self.slug(("info", "name"), name)
        raw_type = info.get("type")
        team_type = TeamType.UNCLASSIFIED
        if raw_type is not None:
            team_type = self.choice(("info", "type"), raw_type, TEAM_TYPES)
        focus = self.text(("info", "focus"), info.get("focus")) or ""
        self.bundle.add_team(
            TeamNode(
                slug=slug,
                name=name,
                type=str(team_type),
                specialty=str(extension.specialty or ""),
                unit=extension.unit,
                manager=extension.manager,
                description=focus,
            ),
            self.doc.origin("info", "name"),
        )
        for index, member in enumerate(extension.members):
            self.bundle.add_membership(
                MembershipEdge(
                    person=member.person,
                    team=slug,
                    role=str(member.role),
                    allocation_percent=member.allocation_percent,
                ),
                self.doc.origin(EXTENSION, "members", index),
            )
        for index, served in enumerate(extension.served_by):
            self.bundle.add_serves(
                ServesEdge(person=served.person, team=slug, note=served.note),
                self.doc.origin(EXTENSION, "served_by", index),
            )
        for index, item in self.items("interactions"):
            self.interaction(slug, index, item)
        for index, item in self.items("dependencies"):
            self.dependency(slug, index, item)
        self.services(slug)
        return self.bundle

    def services(self, owner: str) -> None:
        """``services``: the team's services, each a name or a mapping with ``name`` and an
        optional ``kind`` (component, the default, system or api)."""
        value = self.doc.data.get("services")
        if value is None:
            return
        if not isinstance(value, list):
            raise self.fail(("services",), f"expected a list, {_found(value)}")
        for index, item in enumerate(value):
            keys: tuple[str | int, ...] = ("services", index)
            kind: Any = ServiceKind.COMPONENT
            service_slug = None
            if isinstance(item, dict):
                name = self.text((*keys, "name"), item.get("name"), required=True)
                name_keys: tuple[str | int, ...] = (*keys, "name")
                if item.get("kind") is not None:
                    kind = self.choice((*keys, "kind"), item["kind"], SERVICE_KINDS)
                service_slug = self.extension(keys, item, ServiceExtension).slug
            else:
                name = self.text(keys, item, required=True)
                name_keys = keys
            self.bundle.add_service(
                ServiceNode(
                    kind=str(kind),
                    slug=service_slug or self.slug(name_keys, name),
                    owner=owner,
                    name=name[:200],
                ),
                self.doc.origin(*keys),
            )

    def interaction(self, source: str, index: int, item: dict[str, Any]) -> None:
        keys: tuple[str | int, ...] = ("interactions", index)
        extension = self.extension(keys, item, LinkExtension)
        target = self.other_team(source, keys, item, extension)
        mode_key = "interactionMode" if "interactionMode" in item else "mode"
        if item.get(mode_key) is None:
            raise self.fail(
                (*keys, mode_key), f"is missing; expected one of {', '.join(INTERACTION_MODES)}"
            )
        mode = self.choice((*keys, mode_key), item[mode_key], INTERACTION_MODES)
        since = self.date((*keys, "startDate"), item.get("startDate"))
        expected_end = None
        duration = self.duration(keys, item)
        if duration is not None and since is not None:
            expected_end = _add_duration(since, duration)
        since, expected_end = self.exact_dates(keys, extension, since, expected_end)
        note = self.text((*keys, "purpose"), item.get("purpose")) or ""
        self.bundle.add_interaction(
            InteractionEdge(
                source=source,
                target=target,
                mode=str(mode),
                since=since,
                expected_end=expected_end,
                note=_shorten(note),
            ),
            self.doc.origin(*keys),
        )

    def dependency(self, source: str, index: int, item: dict[str, Any]) -> None:
        keys: tuple[str | int, ...] = ("dependencies", index)
        extension = self.extension(keys, item, LinkExtension)
        target = self.other_team(source, keys, item, extension)
        since, expected_end = self.exact_dates(keys, extension, None, None)
        severity = Severity.SLOWING  # a dependency whose type is not given
        if item.get("type") is not None:
            severity = self.choice((*keys, "type"), item["type"], DEPENDENCY_TYPES)
        note = self.text((*keys, "description"), item.get("description")) or ""
        self.bundle.add_interaction(
            InteractionEdge(
                source=source,
                target=target,
                mode=str(InteractionMode.TICKET_DEPENDENCY),
                since=since,
                expected_end=expected_end,
                severity=str(severity),
                note=_shorten(note),
            ),
            self.doc.origin(*keys),
        )

    def items(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        value = self.doc.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail((key,), f"expected a list, {_found(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail((key, index), f"expected a mapping, {_found(item)}")
        return list(enumerate(value))

    def extension(
        self, keys: tuple[str | int, ...], item: dict[str, Any], model: type[_ExtensionT]
    ) -> _ExtensionT:
        """``item``'s ``x-transform`` read as ``model`` (all fields absent when there is none)."""
        value = item.get(EXTENSION)
        if value is None:
            return model()
        if not isinstance(value, dict):
            raise self.fail((*keys, EXTENSION), f"expected a mapping, {_found(value)}")
        try:
            return model.model_validate(to_plain(value))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            raise self.fail(
                (*keys, EXTENSION, *error["loc"]), explain_error(error, root=model)
            ) from None

    def exact_dates(
        self,
        keys: tuple[str | int, ...],
        extension: LinkExtension,
        since: dt.date | None,
        expected_end: dt.date | None,
    ) -> tuple[dt.date | None, dt.date | None]:
        """The dates the extension gives, instead of those read from the TeamAPI fields."""
        fields = extension.model_fields_set
        since = extension.since if "since" in fields else since
        expected_end = extension.expected_end if "expected_end" in fields else expected_end
        if since is not None and expected_end is not None and expected_end < since:
            raise self.fail(
                (*keys, EXTENSION, "expected_end"), f"{expected_end} is before the start {since}"
            )
        return since, expected_end

    def other_team(
        self,
        source: str,
        keys: tuple[str | int, ...],
        item: dict[str, Any],
        extension: LinkExtension,
    ) -> str:
        # The specification's own examples spell the field both ways.
        names = {key: item[key] for key in ("teamName", "team-name") if item.get(key) is not None}
        if not names:
            raise self.fail((*keys, "teamName"), "is missing; expected the other team's name")
        if len(names) == 2 and names["teamName"] != names["team-name"]:
            raise self.fail(
                (*keys, "team-name"), "teamName and team-name name different teams; give one"
            )
        key, value = next(iter(names.items()))
        name = self.text((*keys, key), value, required=True)
        slug = extension.team or self.slug((*keys, key), name)
        if slug == source:
            raise self.fail((*keys, key), f"{name!r} is this document's own team")
        self.bundle.refer_to_team(slug, self.doc.origin(*keys, key))
        return slug

    def text(self, keys: tuple[str | int, ...], value: Any, *, required: bool = False) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(keys, f"expected a non-empty string, {_found(value)}")
        return value.strip()

    def slug(self, keys: tuple[str | int, ...], name: str) -> str:
        slug = slugify(name)
        if not slug or len(slug) > 100:
            raise self.fail(
                keys,
                f"{name!r} gives no usable team slug; expected a name with letters or digits "
                "that makes a slug of at most 100 characters",
            )
        return slug

    def choice(self, keys: tuple[str | int, ...], value: Any, accepted: dict[str, Any]) -> Any:
        if isinstance(value, str):
            normal = re.sub(r"[\s_]+", "-", value.strip().lower())
            if normal in accepted:
                return accepted[normal]
        raise self.fail(keys, f"{value!r} is not accepted; expected one of {', '.join(accepted)}")

    def date(self, keys: tuple[str | int, ...], value: Any) -> dt.date | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            text = value.strip()
            if not text or text.lower() in UNKNOWN_DATES:
                return None
            parsed = _parse_date(text)
            if parsed is not None:
                return parsed
        raise self.fail(
            keys,
            f"{value!r} is not a date; expected YYYY-MM-DD (or DD/MM/YYYY or MM/DD/YYYY when "
            "only one reading is possible), or 'unknown'",
        )

    def duration(self, keys: tuple[str | int, ...], item: dict[str, Any]) -> tuple[int, int] | None:
        """``expectedDuration`` (with ``expectedDurationUnit`` for a bare number) as (months, days)."""
        value = item.get("expectedDuration")
        unit = item.get("expectedDurationUnit")
        if value is None:
            if unit is not None:
                raise self.fail(
                    (*keys, "expectedDurationUnit"), "is given without expectedDuration"
                )
            return None
        expected = (
            "expected a number with expectedDurationUnit (days, weeks, months, years), "
            "or a text such as '6 weeks', '3 months', '14 days' or an ISO 8601 period ('P3M')"
        )
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail((*keys, "expectedDuration"), f"{value!r} is not a duration; {expected}")
        if isinstance(value, int):
            if value < 0:
                raise self.fail((*keys, "expectedDuration"), f"{value!r} is negative")
            if unit is None:
                raise self.fail((*keys, "expectedDuration"), f"{value!r} has no unit; {expected}")
            normal = unit.strip().lower() if isinstance(unit, str) else ""
            normal = normal[:-1] if normal.endswith("s") else normal
            if normal not in _DURATION_UNITS:
                raise self.fail(
                    (*keys, "expectedDurationUnit"),
                    f"{unit!r} is not accepted; expected one of days, weeks, months, years",
                )
            value = f"{value} {normal}"
        elif unit is not None:
            raise self.fail(
                (*keys, "expectedDurationUnit"),
                "is only used with a numeric expectedDuration; the text already has its unit",
            )
        parsed = _parse_duration(value)
        if parsed is None:
            raise self.fail((*keys, "expectedDuration"), f"{value!r} is not a duration; {expected}")
        return parsed


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        pass
    match = _SLASHED.match(text)
    if match is None:
        return None
    first, second, year = (int(part) for part in match.groups())
    if first == second or first > 12:
        day, month = first, second
    elif second > 12:
        month, day = first, second
    else:
        return None  # 03/04/2024 is March or April depending on the writer's country
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _parse_duration(text: str) -> tuple[int, int] | None:
    """'3 months', '6 weeks', '14 days', '1 year' or ISO 8601 'P1Y2M3W4D' as (months, days)."""
    normal = text.strip()
    words = _WORDS.match(normal.lower())
    if words is not None:
        amount, unit = int(words.group(1)), _DURATION_UNITS[words.group(2)]
        parts = {"Y": 0, "M": 0, "W": 0, "D": 0} | {unit: amount}
        years, months, weeks, days = parts["Y"], parts["M"], parts["W"], parts["D"]
    else:
        iso = _ISO.match(normal.upper())
        if iso is None:
            return None
        years, months, weeks, days = (int(part or 0) for part in iso.groups())
    return years * 12 + months, weeks * 7 + days


def _add_duration(start: dt.date, duration: tuple[int, int]) -> dt.date:
    months, days = duration
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    month = month_index + 1
    # 31 January + 1 month is the last day of February, as calendars (and people) count.
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=days)


def _shorten(text: str) -> str:
    return text if len(text) <= NOTE_LENGTH else text[: NOTE_LENGTH - 1] + "…"


def _found(value: object) -> str:
    if value is None:
        return "but it is missing"
    if isinstance(value, dict):
        return "found a mapping"
    if isinstance(value, list):
        return "found a list"
    return f"found {value!r}"


def _dotted(keys: tuple[str | int, ...]) -> str:
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in keys).lstrip(".")
