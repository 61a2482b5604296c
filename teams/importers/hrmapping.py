"""The column mapping of an HR export (docs/import-hr.md): which column holds which field, which
job titles give which role, and hints for the teams the export names.

A mapping comes from a small YAML or JSON file (validated by the pydantic models below, errors
naming the file, line and field), from ``--column FIELD=HEADER`` options, or both (the options
win). Every field left unmapped is looked for under its usual header names (``DEFAULT_HEADERS``),
compared case-insensitively with ``_``, ``-`` and runs of spaces read as one space.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core.files.origin import ImportFailure
from core.files.validation import FileFormatError, document_validate, single_document
from core.files.yamlio import read_text
from teams.models import MembershipRole, TeamType

# The fields an HR export can give, in the order the documentation lists them.
FIELDS = (
    "email",
    "name",
    "first_name",
    "last_name",
    "team",
    "manager_email",
    "title",
    "role",
    "allocation",
    "start_date",
    "end_date",
)

# Header names each field is found under when the mapping does not name its column, compared by
# ``header_key`` (so "E-mail", "e_mail" and "E Mail" are one name).
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "work email", "mail"),
    "name": ("name", "full name", "display name", "employee name"),
    "first_name": ("first name", "firstname", "given name"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "team": ("team", "team name", "squad"),
    "manager_email": (
        "manager email",
        "manager e-mail",
        "line manager email",
        "manager email address",
        "reports to email",
    ),
    "title": ("title", "job title", "position"),
    "role": ("role",),
    "allocation": ("allocation", "allocation percent", "allocation %", "allocation (%)"),
    "start_date": ("start date", "hire date", "joined", "joined on", "date joined"),
    "end_date": ("end date", "left on", "leaving date", "termination date", "last day"),
}


class TitleRole(enum.StrEnum):
    """What a job title gives: a membership role in the person's team, or ``manager``: the
    person becomes the manager (``Team.manager``) of the team of their row."""

    MEMBER = MembershipRole.MEMBER.value
    LEAD = MembershipRole.LEAD.value
    DEVOPS_BUDDY = MembershipRole.DEVOPS_BUDDY.value
    PRODUCT_OWNER = MembershipRole.PRODUCT_OWNER.value
    MANAGER = "manager"


MAX_PATTERN_CHARS = 200


def _regex(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}); got {value!r}") from None
    return value


def _slug(value: str) -> str:
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", value):
        raise ValueError(
            f"expected a slug (letters, digits, hyphens and underscores); got {value!r}"
        )
    return value


def _delimiter(value: str) -> str:
    if len(value) != 1 or value in '"\r\n':
        raise ValueError(f"expected one character such as ',' ';' or a tab; got {value!r}")
    return value


def _header(value: str) -> str:
    if not value.strip():
        raise ValueError("expected the column's header as written in the file; got an empty text")
    return value


Header = Annotated[str, Field(max_length=200), AfterValidator(_header)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsIn(_Strict):
    """The header of the column holding each field; ``null`` reads no column for that field
    (not even one of its usual names)."""

    email: Header | None = None
    name: Header | None = None
    first_name: Header | None = None
    last_name: Header | None = None
    team: Header | None = None
    manager_email: Header | None = None
    title: Header | None = None
    role: Header | None = None
    allocation: Header | None = None
    start_date: Header | None = None
    end_date: Header | None = None


class TitlePatternIn(_Strict):
    """A job title matching ``pattern`` (a regular expression searched anywhere in the title,
    case-insensitively: a plain word matches as a substring) gives ``role``."""

    pattern: Annotated[
        str, Field(min_length=1, max_length=MAX_PATTERN_CHARS), AfterValidator(_regex)
    ]
    role: TitleRole


class TeamHintIn(_Strict):
    """What the mapping says about a team the export names: the slug to use (an existing team's,
    or the new team's) and its type."""

    slug: Annotated[str, Field(max_length=100), AfterValidator(_slug)] | None = None
    type: TeamType | None = None


DEFAULT_TITLE_PATTERNS = (
    TitlePatternIn(pattern=r"product owner|product manager", role=TitleRole.PRODUCT_OWNER),
    TitlePatternIn(pattern=r"engineering manager", role=TitleRole.MANAGER),
    TitlePatternIn(pattern=r"devops", role=TitleRole.DEVOPS_BUDDY),
    TitlePatternIn(pattern=r"\b(tech|technical|team) lead\b", role=TitleRole.LEAD),
)


class HrMapping(_Strict):
    """A mapping file: every key may be left out."""

    columns: ColumnsIn = ColumnsIn()
    # None: the default patterns; a list (even empty) replaces them.
    titles: list[TitlePatternIn] | None = None
    teams: dict[Annotated[str, Field(min_length=1, max_length=200)], TeamHintIn] = Field(
        default_factory=dict
    )
    default_team_type: TeamType = TeamType.UNCLASSIFIED
    date_format: Annotated[str, Field(min_length=2, max_length=50)] = "%Y-%m-%d"
    delimiter: Annotated[str, AfterValidator(_delimiter)] | None = None

    def title_patterns(self) -> tuple[TitlePatternIn, ...]:
        return DEFAULT_TITLE_PATTERNS if self.titles is None else tuple(self.titles)

    def title_role(self, title: str) -> TitleRole | None:
        """The role of the first pattern ``title`` matches, None when none does."""
        if not title:
            return None
        for item in self.title_patterns():
            if re.search(item.pattern, title, re.IGNORECASE):
                return item.role
        return None

    def team_hint(self, written: str) -> TeamHintIn | None:
        """The hint for a team written ``written`` in the export (compared by ``name_key``)."""
        key = name_key(written)
        for name, hint in self.teams.items():
            if name_key(name) == key:
                return hint
        return None


class MappingFileError(FileFormatError):
    """A mapping file is invalid; nothing was imported."""


def header_key(value: str) -> str:
    """A header as compared: case-folded, ``_`` and ``-`` read as spaces, spaces collapsed."""
    return " ".join(re.sub(r"[_\-]+", " ", value).casefold().split())


def name_key(value: str) -> str:
    """A team name as compared: case-folded, runs of white space read as one space."""
    return " ".join(value.casefold().split())


def hr_mapping_load(path: Path) -> HrMapping:
    """The mapping in the YAML or JSON file at ``path``; MappingFileError naming the file, line
    and field of every problem (ImportFailure for a missing or unreadable file)."""
    text = read_text(path)
    document = single_document(str(path), text, what="column mapping", error=MappingFileError)
    return document_validate(document, HrMapping, error=MappingFileError)


def hr_mapping_with_columns(mapping: HrMapping, options: Sequence[str]) -> HrMapping:
    """``mapping`` with ``--column FIELD=HEADER`` options on top (an empty header unmaps the
    field); ImportFailure naming the option for an unknown field or a malformed option."""
    given: dict[str, Any] = {}
    for option in options:
        field, equals, header = option.partition("=")
        field = field.strip()
        if not equals or field not in FIELDS:
            raise ImportFailure(
                "--column",
                f"expected FIELD=HEADER with FIELD one of {', '.join(FIELDS)}; got {option!r}",
            )
        given[field] = header.strip() or None
    if not given:
        return mapping
    columns = mapping.columns.model_dump(exclude_unset=True) | given
    return mapping.model_copy(update={"columns": ColumnsIn(**columns)})


def hr_mapping_json_schema() -> dict[str, Any]:
    """The JSON Schema of a mapping file (what ``docs/schemas/hr-mapping.schema.json`` holds)."""
    schema = HrMapping.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def columns_resolve(mapping: HrMapping, header: Iterable[str]) -> dict[str, int | str]:
    """For each field, the index of its column in ``header``, or a problem (a text) when a
    mapped column is missing or two columns could hold the field. Fields found nowhere are left
    out."""
    keys = [header_key(cell) for cell in header]
    explicit = mapping.columns.model_dump(exclude_unset=True)
    found: dict[str, int | str] = {}
    taken = {
        key for wanted in explicit.values() if wanted is not None for key in [header_key(wanted)]
    }
    for field in FIELDS:
        if field in explicit:
            wanted = explicit[field]
            if wanted is None:
                continue
            matches = [i for i, key in enumerate(keys) if key == header_key(wanted)]
            if not matches:
                found[field] = f"the mapped column {wanted!r} is not in the header"
            elif len(matches) > 1:
                found[field] = f"the mapped column {wanted!r} appears {len(matches)} times"
            else:
                found[field] = matches[0]
            continue
        names = {header_key(name) for name in DEFAULT_HEADERS[field]}
        # A column the mapping gives to one field is not also read as another.
        matches = [i for i, key in enumerate(keys) if key in names and key not in taken]
        if len(matches) == 1:
            found[field] = matches[0]
        elif len(matches) > 1:
            shown = ", ".join(repr(list(header)[i]) for i in matches)
            found[field] = f"the columns {shown} could each hold it; map one with --column"
    return found
