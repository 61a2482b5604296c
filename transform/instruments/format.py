"""Survey instruments as data: the file format, parsed into pydantic models.

An instrument is a versioned YAML definition (``key`` plus ``version`` name one content forever)
of the questions a check-in or pulse survey asks, and of the signal each scored question feeds.
The built-in library lives in ``transform/instruments/library/``; organisations can add their own
in the same format. ``docs/instruments.md`` documents the format, the built-ins and the scoring
(``transform.instruments.scoring``); keep the two in step.

Everything here is pure (no Django), so the check-in services, the response form and the API all
share one definition of an instrument.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)

from core.files.origin import Origin
from core.files.validation import (
    FileFormatError,
    document_validate,
    field_path,
    problems_error,
    single_document,
)
from core.files.yamlio import YamlDocument, read_text
from core.identifiers import Slug

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
# Django's slug rule, as for playbook keys: keys appear in URLs and database rows.
# Longest free text an instrument may allow: a note, not an essay, and bounded storage per answer.
FREE_TEXT_LIMIT = 10_000

InstrumentKind = Literal["milestone_status", "survey"]
INSTRUMENT_KINDS: tuple[str, ...] = ("milestone_status", "survey")

ADKAR_ELEMENTS: tuple[str, ...] = ("awareness", "desire", "knowledge", "ability", "reinforcement")
# Prosci: an element scored 3 or lower (on 1-5) is a barrier point.
ADKAR_BARRIER_MAX = 3.0
# The numeric ``adkar_barrier`` reading when all five elements score above 3 (positions are 1-5).
ADKAR_NO_BARRIER = 6.0

# The signal kinds a scored question may feed: the survey-derived part of the closed vocabulary.
# ``adkar_barrier`` is derived from the five element means, never answered directly.
QUESTION_SIGNALS: tuple[str, ...] = (
    "westrum_score",
    *(f"adkar_{element}" for element in ADKAR_ELEMENTS),
    "platform_satisfaction",
    "checkin_confidence",
)

# A milestone status check-in answer updates the milestone, so its ``status`` question must offer
# exactly the milestone states a check-in can report.
MILESTONE_STATUS_QUESTION = "status"
MILESTONE_STATUSES: tuple[str, ...] = ("on_track", "at_risk", "blocked")

_TAGS = {"scale": "scale question", "choice": "choice question", "free_text": "free_text question"}


class InstrumentError(FileFormatError):
    """An instrument file is invalid.

    ``str()`` reads ``file, document 1, line 12: questions[2].max: ...``; ``field`` is the path of
    the first offending field (None for file-level errors) and ``problems`` lists every error
    found as (origin, field path, message).
    """


def _text(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("expected a non-empty text")
    return stripped


def _question_signal(value: str) -> str:
    if value not in QUESTION_SIGNALS:
        raise ValueError(
            f"unknown signal {value!r}; a question can feed one of {', '.join(QUESTION_SIGNALS)}"
        )
    return value


Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_text)]
Text = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_text)]
QuestionSignal = Annotated[
    str, AfterValidator(_question_signal), Field(json_schema_extra={"enum": list(QUESTION_SIGNALS)})
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ScaleQuestion(_Model):
    """A whole number from ``min`` to ``max``; the only type that can feed a signal."""

    key: Slug
    text: Text
    type: Literal["scale"]
    required: bool = True
    min: int
    max: int
    # YAML mapping keys arrive as text ("1"), so labels are keyed by text; `_check_questions`
    # checks each is a point of the scale.
    labels: dict[str, Title] = Field(default_factory=dict)
    signal: QuestionSignal | None = None

    def label_map(self) -> dict[int, str]:
        """The labels by scale point, lowest first."""
        return dict(sorted((int(point), label) for point, label in self.labels.items()))


class ChoiceOption(_Model):
    value: Slug
    label: Title


class ChoiceQuestion(_Model):
    """One of ``options``, answered by the option's ``value``."""

    key: Slug
    text: Text
    type: Literal["choice"]
    required: bool = True
    options: list[ChoiceOption] = Field(min_length=2)

    def values(self) -> list[str]:
        return [option.value for option in self.options]


class FreeTextQuestion(_Model):
    """A text of at most ``max_length`` characters (after trimming spaces)."""

    key: Slug
    text: Text
    type: Literal["free_text"]
    required: bool = False
    max_length: Annotated[int, Field(ge=1, le=FREE_TEXT_LIMIT)] = 2000


def _question_type(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return _TAGS.get(kind) if isinstance(kind, str) else None


Question = Annotated[
    Annotated[ScaleQuestion, Tag(_TAGS["scale"])]
    | Annotated[ChoiceQuestion, Tag(_TAGS["choice"])]
    | Annotated[FreeTextQuestion, Tag(_TAGS["free_text"])],
    Discriminator(
        _question_type,
        custom_error_type="question_type",
        custom_error_message="expected a question with type scale, choice or free_text",
    ),
]


class InstrumentSpec(_Model):
    """One version of an instrument: what it asks and which signals its answers feed."""

    key: Slug
    version: Annotated[int, Field(ge=1)]
    title: Title
    kind: InstrumentKind
    description: Text | None = None
    questions: list[Question] = Field(min_length=1)

    def question(self, key: str) -> ScaleQuestion | ChoiceQuestion | FreeTextQuestion | None:
        return next((q for q in self.questions if q.key == key), None)

    def signals(self) -> list[str]:
        """The signal kinds this instrument feeds, in question order, without repeats."""
        kinds: list[str] = []
        for question in self.questions:
            signal = question.signal if isinstance(question, ScaleQuestion) else None
            if signal is not None and signal not in kinds:
                kinds.append(signal)
        return kinds


_UNION_TAGS: dict[str, type[BaseModel]] = {
    _TAGS["scale"]: ScaleQuestion,
    _TAGS["choice"]: ChoiceQuestion,
    _TAGS["free_text"]: FreeTextQuestion,
}


def instrument_parse(path: str, text: str) -> InstrumentSpec:
    """The instrument in ``text`` (read from ``path``), fully validated.

    Raises InstrumentError (naming file, line and field) for YAML errors and duplicate YAML keys,
    anything but exactly one document, schema errors, repeated question keys, and a
    ``milestone_status`` instrument without a required ``status`` choice offering exactly
    on_track, at_risk and blocked.
    """
    doc = single_document(path, text, what="instrument", error=InstrumentError)
    spec = document_validate(doc, InstrumentSpec, error=InstrumentError, union_tags=_UNION_TAGS)
    _check_questions(doc, spec)
    if spec.kind == "milestone_status":
        _check_status_question(doc, spec)
    return spec


@functools.cache
def builtin_instruments() -> dict[str, InstrumentSpec]:
    """The built-in instruments of ``transform/instruments/library/`` by key, parsed once.

    Raises InstrumentError if a library file is invalid (a test keeps them valid) or two files
    share a key.
    """
    instruments: dict[str, InstrumentSpec] = {}
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        spec = instrument_parse(str(path), read_text(path))
        if spec.key in instruments:
            raise InstrumentError(
                Origin(str(path)), f"instrument key {spec.key!r} is used by two library files"
            )
        instruments[spec.key] = spec
    return instruments


def _check_questions(doc: YamlDocument, spec: InstrumentSpec) -> None:
    """What the schema cannot say: unique question keys, scale ranges and their labels, unique
    option values. Every problem found is reported, each at its own line."""
    seen: dict[str, int] = {}
    problems: list[tuple[Origin, str, str]] = []

    def problem(message: str, *loc: str | int) -> None:
        full = ("questions", *loc)
        problems.append((doc.origin(*full), field_path(full), message))

    for i, question in enumerate(spec.questions):
        if question.key in seen:
            problem(
                f"question key {question.key!r} is already used by questions[{seen[question.key]}]",
                i,
                "key",
            )
        seen.setdefault(question.key, i)
        if isinstance(question, ScaleQuestion):
            if question.min >= question.max:
                problem(
                    f"expected a number greater than min ({question.min}); got {question.max}",
                    i,
                    "max",
                )
                continue
            for point in question.labels:
                if (
                    not is_whole_number_text(point)
                    or not question.min <= int(point) <= question.max
                ):
                    # YAML keys are numbers in the file but text here, so the line is the mapping's.
                    problems.append(
                        (
                            doc.origin("questions", i, "labels"),
                            f"questions[{i}].labels.{point}",
                            f"not a point of the scale; expected whole numbers from "
                            f"{question.min} to {question.max}",
                        )
                    )
        elif isinstance(question, ChoiceQuestion):
            values: set[str] = set()
            for j, option in enumerate(question.options):
                if option.value in values:
                    problem(
                        f"option value {option.value!r} is listed twice", i, "options", j, "value"
                    )
                values.add(option.value)
    if problems:
        raise problems_error(problems, error=InstrumentError)


def _check_status_question(doc: YamlDocument, spec: InstrumentSpec) -> None:
    expected = ", ".join(MILESTONE_STATUSES)
    for i, question in enumerate(spec.questions):
        if question.key != MILESTONE_STATUS_QUESTION:
            continue
        loc: tuple[str | int, ...] = ("questions", i)
        if not isinstance(question, ChoiceQuestion) or not question.required:
            problem = (
                f"a milestone_status instrument's status must be a required choice of {expected}"
            )
        elif sorted(question.values()) != sorted(MILESTONE_STATUSES):
            loc = (*loc, "options")
            problem = (
                f"status options must be exactly {expected}; got {', '.join(question.values())}"
            )
        else:
            return
        raise problems_error([(doc.origin(*loc), field_path(loc), problem)], error=InstrumentError)
    raise problems_error(
        [
            (
                doc.origin("questions"),
                "questions",
                f"a milestone_status instrument needs a question with key "
                f"{MILESTONE_STATUS_QUESTION!r} (a required choice of {expected})",
            )
        ],
        error=InstrumentError,
    )


def is_whole_number_text(text: str) -> bool:
    digits = text[1:] if text[:1] in {"-", "+"} else text
    return digits.isascii() and digits.isdigit()


@functools.lru_cache(maxsize=256)
def instrument_from_source(key: str, version: int, source: str) -> InstrumentSpec:
    # Stored versions never change, so a parsed source can be reused for the process's life.
    return instrument_parse(f"instrument {key}@{version}", source)
