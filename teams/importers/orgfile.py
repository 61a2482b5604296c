"""The project's own organisation format (``format: transform.org/v1``), in YAML or JSON.

The pydantic models below are the format's single definition: the reader validates with them,
``docs/schemas/org.schema.json`` is generated from them (``org_json_schema``) and a test keeps the
committed schema equal to the generated one. Every model forbids unknown fields and every choice
is one of the values of the matching ``TextChoices`` in ``teams.models``.

Members, served-by links and interactions are normally written under the team they belong to
(that is how people describe a team); the top-level ``memberships``, ``serves`` and
``interactions`` lists exist for files that add links to teams defined elsewhere (e.g. by a
Backstage catalog imported in the same run or earlier).

Validation errors name the file, the document, the line, the field path and what was expected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml.comments import CommentedMap

from core import identifiers
from core.files.origin import ImportFailure, Origin
from core.files.validation import explain_error, field_path
from core.files.yamlio import YamlDocument, line_of, to_plain
from core.identifiers import email_is_valid
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    PersonNode,
    ServesEdge,
    ServiceNode,
    TeamNode,
    UnitNode,
)
from teams.importers.bundle import ImportBundle
from teams.models import (
    InteractionMode,
    MembershipRole,
    ServiceKind,
    Severity,
    Specialty,
    TeamType,
)

ORG_FORMAT = "transform.org/v1"
ORG_FORMAT_PREFIX = "transform.org/"
# More errors than this in one file are summarised: the first ones are what the author fixes.
MAX_ERRORS_SHOWN = 20


def _email(value: str) -> str:
    normalised = value.strip().lower()
    if not email_is_valid(normalised):
        raise ValueError(f"expected an e-mail address; got {value!r}")
    return normalised


Slug = Annotated[
    identifiers.Slug,
    Field(description="Letters, digits, hyphens and underscores (Django slug rules)."),
]
Email = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}, description="Stored lower-case."),
    AfterValidator(_email),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(max_length=200)]
Percent = Annotated[int, Field(ge=1, le=100, strict=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitIn(_Model):
    """An organisational unit (department, product area, ...) that holds teams."""

    slug: Slug
    name: Name
    kind: Annotated[str, Field(min_length=1, max_length=50)] = "department"
    parent: Slug | None = Field(default=None, description="Slug of the parent unit.")


class PersonIn(_Model):
    """Someone in the organisation, identified by e-mail."""

    email: Email
    name: Name
    left_on: dt.date | None = Field(
        default=None,
        description="The day the person left the organisation (YYYY-MM-DD, not after the day "
        "of the import): imported as a leaver, with no memberships.",
    )


class MemberIn(_Model):
    """A membership written under its team."""

    person: Email
    role: MembershipRole = MembershipRole.MEMBER
    allocation_percent: Percent = 100


class ServedByIn(_Model):
    """A person who serves the team without being a member, written under the team."""

    person: Email
    note: Note = ""


class TeamInteractionIn(_Model):
    """An interaction written under its source team: this team works with ``target``."""

    target: Slug
    mode: InteractionMode
    since: dt.date | None = None
    expected_end: dt.date | None = None
    severity: Severity | None = Field(default=None, description="Ticket dependencies only.")
    note: Note = ""


class ServiceIn(_Model):
    """A service the team owns (a Backstage Component, System, API or Domain); the slug is unique per
    kind in the organisation."""

    slug: Slug
    kind: ServiceKind = ServiceKind.COMPONENT
    name: Annotated[str, Field(max_length=200)] = ""


class TeamIn(_Model):
    """A team, typed by Team Topologies, with its members, served-by links, interactions and
    the services it owns."""

    slug: Slug
    name: Name
    type: TeamType
    specialty: Specialty | None = Field(default=None, description="ops_silo teams only.")
    unit: Slug | None = Field(default=None, description="Slug of the unit holding the team.")
    manager: Email | None = Field(default=None, description="E-mail of the engineering manager.")
    description: str = ""
    members: list[MemberIn] = Field(default_factory=list)
    served_by: list[ServedByIn] = Field(default_factory=list)
    interactions: list[TeamInteractionIn] = Field(default_factory=list)
    services: list[ServiceIn] = Field(default_factory=list)


class MembershipIn(_Model):
    """A membership written apart from its team (top-level ``memberships``)."""

    person: Email
    team: Slug
    role: MembershipRole = MembershipRole.MEMBER
    allocation_percent: Percent = 100


class ServesIn(_Model):
    """A served-by link written apart from its team (top-level ``serves``)."""

    person: Email
    team: Slug
    note: Note = ""


class InteractionIn(_Model):
    """An interaction written apart from its teams (top-level ``interactions``)."""

    source: Slug
    target: Slug
    mode: InteractionMode
    since: dt.date | None = None
    expected_end: dt.date | None = None
    severity: Severity | None = Field(default=None, description="Ticket dependencies only.")
    note: Note = ""


class OrgFile(_Model):
    """An organisation file: units, people and teams, and links between them."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Transform organisation file",
        json_schema_extra={"$id": "https://transform.example/schemas/org.schema.json"},
    )

    format: Literal["transform.org/v1"] = Field(
        description="Format marker and version; always 'transform.org/v1'."
    )
    units: list[UnitIn] = Field(default_factory=list)
    people: list[PersonIn] = Field(default_factory=list)
    teams: list[TeamIn] = Field(default_factory=list)
    memberships: list[MembershipIn] = Field(default_factory=list)
    serves: list[ServesIn] = Field(default_factory=list)
    interactions: list[InteractionIn] = Field(default_factory=list)


def org_json_schema() -> dict[str, Any]:
    """The JSON Schema of the org format (what ``docs/schemas/org.schema.json`` holds)."""
    schema = OrgFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def is_org_document(doc: YamlDocument) -> bool:
    """Whether ``doc`` claims to be an org file (any version: a wrong one is reported later)."""
    if not isinstance(doc.data, dict):
        return False
    marker = doc.data.get("format")
    return isinstance(marker, str) and marker.startswith(ORG_FORMAT_PREFIX)


def read_org_document(doc: YamlDocument) -> ImportBundle:
    """The bundle described by one org document; ImportFailure with file/line/field otherwise."""
    lines_known = isinstance(doc.data, CommentedMap)
    try:
        # Data read by the JSON parser is plain already; only the YAML loader's needs copying.
        org = OrgFile.model_validate(to_plain(doc.data) if lines_known else doc.data)
    except ValidationError as exc:
        raise _failure(doc, exc) from None

    bundle = ImportBundle()
    # Without line numbers every entry's origin is the document's: one Origin for all of them
    # (looking up the line of 100,000 entries that have none took a second).
    whole = doc.origin()
    origin: Callable[..., Origin] = doc.origin if lines_known else lambda *keys: whole
    for i, unit in enumerate(org.units):
        bundle.add_unit(
            UnitNode(slug=unit.slug, name=unit.name, kind=unit.kind, parent=unit.parent),
            origin("units", i),
        )
    for i, person in enumerate(org.people):
        bundle.add_person(PersonNode(email=person.email, name=person.name), origin("people", i))
        if person.left_on is not None:
            bundle.add_leaver(person.email, person.left_on, origin("people", i, "left_on"))
    for i, team in enumerate(org.teams):
        bundle.add_team(
            TeamNode(
                slug=team.slug,
                name=team.name,
                type=str(team.type),
                specialty=str(team.specialty or ""),
                unit=team.unit,
                manager=team.manager,
                description=team.description,
            ),
            origin("teams", i),
        )
        for j, member in enumerate(team.members):
            bundle.add_membership(
                MembershipEdge(
                    person=member.person,
                    team=team.slug,
                    role=str(member.role),
                    allocation_percent=member.allocation_percent,
                ),
                origin("teams", i, "members", j),
            )
        for j, served in enumerate(team.served_by):
            bundle.add_serves(
                ServesEdge(person=served.person, team=team.slug, note=served.note),
                origin("teams", i, "served_by", j),
            )
        for j, link in enumerate(team.interactions):
            bundle.add_interaction(
                _interaction(team.slug, link), origin("teams", i, "interactions", j)
            )
        for j, service in enumerate(team.services):
            bundle.add_service(
                ServiceNode(
                    kind=str(service.kind), slug=service.slug, owner=team.slug, name=service.name
                ),
                origin("teams", i, "services", j),
            )
    for i, membership in enumerate(org.memberships):
        bundle.add_membership(
            MembershipEdge(
                person=membership.person,
                team=membership.team,
                role=str(membership.role),
                allocation_percent=membership.allocation_percent,
            ),
            origin("memberships", i),
        )
    for i, serves in enumerate(org.serves):
        bundle.add_serves(
            ServesEdge(person=serves.person, team=serves.team, note=serves.note),
            origin("serves", i),
        )
    for i, interaction in enumerate(org.interactions):
        bundle.add_interaction(
            _interaction(interaction.source, interaction), origin("interactions", i)
        )
    return bundle


def _interaction(source: str, link: TeamInteractionIn | InteractionIn) -> InteractionEdge:
    return InteractionEdge(
        source=source,
        target=link.target,
        mode=str(link.mode),
        since=link.since,
        expected_end=link.expected_end,
        severity=str(link.severity or ""),
        note=link.note,
    )


def _failure(doc: YamlDocument, exc: ValidationError) -> ImportFailure:
    errors = exc.errors(include_url=False)
    lines = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        loc = tuple(error["loc"])
        origin = doc.origin(*loc) if line_of(doc.data, *loc) is not None else doc.origin()
        lines.append((origin, f"{field_path(loc)}: {explain_error(error, root=OrgFile)}"))
    first_origin, first_message = lines[0]
    rest = [f"{origin}: {message}" for origin, message in lines[1:]]
    if len(errors) > MAX_ERRORS_SHOWN:
        rest.append(f"... and {len(errors) - MAX_ERRORS_SHOWN} more errors")
    message = first_message
    if rest:
        message += "\n" + "\n".join(rest)
    return ImportFailure(first_origin, message)
