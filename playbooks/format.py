"""The playbook file format: one YAML document describing phases of milestones.

The pydantic models below are the format's single definition: ``playbook_parse`` validates with
them, ``docs/schemas/playbook.schema.json`` is generated from them (``playbook_json_schema``) and
a test keeps the committed schema equal to the generated one. Every model forbids unknown fields
and types are strict: ``duration_days: "14"`` is an error, not 14.

What a schema cannot say is checked after it, before anything is stored: phase and milestone keys
are unique, ``depends_on`` names milestones of the same playbook (not itself), and the
dependencies form no cycle. Every error names the file, the line and the field path.

This module is pure (no Django), so it can be used and tested without a database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from core import identifiers
from core.files.origin import Origin
from core.files.validation import (
    FileFormatError,
    document_validate,
    field_path,
    problems_error,
    single_document,
)
from core.files.yamlio import YamlDocument
from playbooks.criteria import GRAPH_CHECKS, SIGNAL_KINDS, unfailable_reason
from playbooks.planning import cycle_text, find_cycle

# Django's slug rule (SlugField), so keys are valid in URLs and in the database.
# More errors than this in one file are summarised: the first ones are what the author fixes.
OwnerRole = Literal["change_agent", "engineering_manager", "leader", "platform_product_owner"]
# The roles a milestone owner may hold, for code that assigns owners.
OWNER_ROLES: tuple[str, ...] = get_args(OwnerRole)

# Tags of the two kinds of exit criterion. pydantic puts the tag into error locations; these
# names are never field names, so they can be dropped again to get the path in the file.
_GRAPH_TAG = "graph criterion"
_SIGNAL_TAG = "signal criterion"


class PlaybookError(FileFormatError):
    """A playbook file is invalid; nothing has been stored.

    ``str()`` reads ``file, document 1, line 12: phases[0].milestones[1].duration_days: ...``.
    ``field`` is the path of the first offending field (None for file-level errors) and
    ``problems`` lists every error found as (origin, field path, message).
    """


def _text(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("expected a non-empty text")
    return stripped


def _paragraph(value: str) -> str:
    if "\n\n" in value.replace("\r\n", "\n"):
        raise ValueError("expected one paragraph (no blank lines)")
    return value


def _graph_check(value: str) -> str:
    if value not in GRAPH_CHECKS:
        raise ValueError(
            f"unknown graph check {value!r}; expected one of {', '.join(GRAPH_CHECKS)}"
        )
    return value


def _signal_kind(value: str) -> str:
    if value not in SIGNAL_KINDS:
        raise ValueError(f"unknown signal {value!r}; expected one of {', '.join(SIGNAL_KINDS)}")
    return value


Slug = Annotated[identifiers.Slug, Field(description="Letters, digits, hyphens and underscores.")]
Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_text)]
Text = Annotated[str, Field(min_length=1), AfterValidator(_text)]
Paragraph = Annotated[str, Field(min_length=1), AfterValidator(_text), AfterValidator(_paragraph)]
Days = Annotated[int, Field(ge=1, description="Calendar days.")]
GraphCheckName = Annotated[
    str,
    AfterValidator(_graph_check),
    Field(json_schema_extra={"enum": list(GRAPH_CHECKS)}),
]
SignalKindName = Annotated[
    str,
    AfterValidator(_signal_kind),
    Field(json_schema_extra={"enum": list(SIGNAL_KINDS)}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class GraphCriterion(_Model):
    """A named check on the live organisation graph (see docs/exit-criteria.md)."""

    graph: GraphCheckName


class SignalCriterion(_Model):
    """A threshold on the latest organisation-level value of a signal."""

    signal: SignalKindName
    op: Literal[">=", ">", "<=", "<", "==", "measured"]
    value: float | None = Field(
        default=None,
        description="The threshold; required, and able to fail, unless op is measured.",
    )
    min_respondents: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Fewer answers than this make the criterion unknown, never pass.",
    )

    @model_validator(mode="after")
    def _can_fail(self) -> SignalCriterion:
        # A threshold every possible reading meets is no exit criterion (issue 13).
        if self.op == "measured":
            if self.value is not None:
                raise ValueError("op measured takes no value")
            return self
        if self.value is None:
            raise ValueError(f"op {self.op} needs a value")
        reason = unfailable_reason(self.signal, self.op, self.value)
        if reason:
            raise ValueError(f"{self.signal} {reason}")
        return self


def _criterion_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "graph" in value:
            return _GRAPH_TAG
        if "signal" in value:
            return _SIGNAL_TAG
        return None
    if isinstance(value, GraphCriterion):
        return _GRAPH_TAG
    if isinstance(value, SignalCriterion):
        return _SIGNAL_TAG
    return None


Criterion = Annotated[
    Annotated[GraphCriterion, Tag(_GRAPH_TAG)] | Annotated[SignalCriterion, Tag(_SIGNAL_TAG)],
    Discriminator(
        _criterion_kind,
        custom_error_type="criterion_kind",
        custom_error_message=(
            "expected a graph check ({graph: NAME}) or a signal threshold "
            "({signal: KIND, op, value, min_respondents})"
        ),
    ),
]


class MilestoneSpec(_Model):
    """One step of the plan, owned by one person holding ``owner_role``."""

    key: Slug = Field(description="Unique across the whole playbook.")
    title: Title
    # Encouraged, not required: an organisation's first draft of its own playbook loads without
    # them (its milestone pages then ask for them); the built-in library always has both, which
    # tests/playbooks/test_playbook_library.py enforces.
    why: Paragraph | None = Field(
        default=None, description="One paragraph: why this milestone matters (recommended)."
    )
    how: Text | None = Field(default=None, description="How to do it (recommended).")
    duration_days: Days
    depends_on: list[Slug] = Field(
        default_factory=list, description="Keys of milestones of this playbook, in any phase."
    )
    owner_role: OwnerRole
    checkin_every_days: Days = 7
    exit_criteria: list[Criterion] = Field(
        default_factory=list, description="All must pass before the milestone is done."
    )


class PhaseSpec(_Model):
    """A named group of milestones (phases organise the plan; dependencies order it)."""

    key: Slug
    title: Title
    milestones: list[MilestoneSpec] = Field(min_length=1)


class PlaybookSpec(_Model):
    """A playbook: ``key`` and ``version`` together name one content forever."""

    key: Slug
    version: Annotated[int, Field(ge=1)]
    title: Title
    summary: Text
    phases: list[PhaseSpec] = Field(min_length=1)

    def milestones(self) -> list[tuple[PhaseSpec, MilestoneSpec]]:
        """Every milestone with its phase, in file order."""
        return [(phase, milestone) for phase in self.phases for milestone in phase.milestones]


def playbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of the playbook format (what ``docs/schemas/playbook.schema.json`` holds)."""
    schema = PlaybookSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def playbook_parse(path: str, text: str) -> PlaybookSpec:
    """The playbook in ``text`` (read from ``path``), fully validated.

    Raises PlaybookError (naming file, line and field) for YAML errors, duplicate YAML keys, more
    or fewer than one document, schema errors, duplicate phase or milestone keys, unknown or
    self references in ``depends_on`` and dependency cycles.
    """
    doc = single_document(path, text, what="playbook", error=PlaybookError)
    spec = document_validate(doc, PlaybookSpec, error=PlaybookError, union_tags=_UNION_TAGS)
    _check_keys(doc, spec)
    _check_dependencies(doc, spec)
    return spec


def _check_keys(doc: YamlDocument, spec: PlaybookSpec) -> None:
    problems: list[tuple[Origin, str, str]] = []
    phases: dict[str, str] = {}
    milestones: dict[str, str] = {}
    for i, phase in enumerate(spec.phases):
        where = f"phases[{i}]"
        if phase.key in phases:
            problems.append(
                (
                    doc.origin("phases", i, "key"),
                    f"{where}.key",
                    f"phase key {phase.key!r} is already used by {phases[phase.key]}",
                )
            )
        phases.setdefault(phase.key, where)
        for j, milestone in enumerate(phase.milestones):
            where = f"phases[{i}].milestones[{j}]"
            if milestone.key in milestones:
                first = milestones[milestone.key]
                problems.append(
                    (
                        doc.origin("phases", i, "milestones", j, "key"),
                        f"{where}.key",
                        f"milestone key {milestone.key!r} is already used by {first}; "
                        "milestone keys must be unique across all phases",
                    )
                )
            milestones.setdefault(milestone.key, where)
    if problems:
        raise problems_error(problems, error=PlaybookError)


def _check_dependencies(doc: YamlDocument, spec: PlaybookSpec) -> None:
    keys = {milestone.key for _, milestone in spec.milestones()}
    problems: list[tuple[Origin, str, str]] = []
    for i, phase in enumerate(spec.phases):
        for j, milestone in enumerate(phase.milestones):
            seen: set[str] = set()
            for k, dependency in enumerate(milestone.depends_on):
                loc = ("phases", i, "milestones", j, "depends_on", k)
                if dependency == milestone.key:
                    message = f"milestone {milestone.key!r} cannot depend on itself"
                elif dependency not in keys:
                    message = (
                        f"unknown milestone {dependency!r}; expected the key of a milestone "
                        "of this playbook"
                    )
                elif dependency in seen:
                    message = f"{dependency!r} is listed twice"
                else:
                    seen.add(dependency)
                    continue
                problems.append((doc.origin(*loc), field_path(loc), message))
    if problems:
        raise problems_error(problems, error=PlaybookError)

    cycle = find_cycle(
        (milestone.key, dependency)
        for _, milestone in spec.milestones()
        for dependency in milestone.depends_on
    )
    if cycle is not None:
        position = {
            milestone.key: (i, j)
            for i, phase in enumerate(spec.phases)
            for j, milestone in enumerate(phase.milestones)
        }
        i, j = position[cycle[0]]
        cycle_loc = ("phases", i, "milestones", j, "depends_on")
        raise problems_error(
            [
                (
                    doc.origin(*cycle_loc),
                    field_path(cycle_loc),
                    f"dependency cycle {cycle_text(cycle)} (each milestone depends on the next)",
                )
            ],
            error=PlaybookError,
        )


_UNION_TAGS: dict[str, type[BaseModel]] = {_GRAPH_TAG: GraphCriterion, _SIGNAL_TAG: SignalCriterion}
