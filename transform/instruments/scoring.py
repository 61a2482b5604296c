"""Answers to an instrument: validating them against the exact version asked, scoring them into
signal readings, and aggregating a group's scores (docs/instruments.md#scoring). Pure: no Django."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from playbooks.criteria import SignalReading
from transform.instruments.format import (
    ADKAR_BARRIER_MAX,
    ADKAR_ELEMENTS,
    ADKAR_NO_BARRIER,
    ChoiceQuestion,
    FreeTextQuestion,
    InstrumentSpec,
    ScaleQuestion,
    is_whole_number_text,
)


class AnswerError(Exception):
    """Answers to an instrument are invalid; ``errors`` maps each offending question key to what
    was expected (the ``extra`` of a 400 response)."""

    def __init__(self, instrument: str, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        count = len(self.errors)
        self.message = (
            f"{count} answer{'s are' if count != 1 else ' is'} invalid for instrument {instrument}."
        )
        details = "; ".join(f"{key}: {message}" for key, message in self.errors.items())
        super().__init__(f"{self.message} {details}")


@dataclass(frozen=True, slots=True)
class ValidatedAnswers:
    """Answers checked against one instrument version: question key -> int (scale), option value
    (choice) or trimmed text (free text). Unanswered optional questions are absent."""

    instrument: str
    version: int
    values: dict[str, int | str] = field(default_factory=dict)


def answers_validate(instrument: InstrumentSpec, answers: Mapping[str, Any]) -> ValidatedAnswers:
    """``answers`` (question key -> value, e.g. a JSON body or form data) checked and normalised.

    A scale takes a whole number within its range (an int, or a text of digits as HTML forms
    send; never a bool or a fraction); a choice takes one option value; free text takes a text,
    trimmed, of at most ``max_length`` characters. None, an empty text and a missing key all mean
    "not answered". Raises AnswerError listing every problem by question key: unknown question,
    required question not answered, wrong type, out of range, unknown option, text too long.
    """
    errors: dict[str, str] = {}
    questions = {question.key: question for question in instrument.questions}
    for key in answers:
        if key not in questions:
            errors[str(key)] = f"unknown question; expected one of {', '.join(questions)}"
    values: dict[str, int | str] = {}
    for key, question in questions.items():
        raw = answers.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if question.required:
                errors[key] = "an answer is required"
            continue
        value, problem = _check_answer(question, raw)
        if problem is not None:
            errors[key] = problem
        elif value is not None:
            values[key] = value
    if errors:
        raise AnswerError(instrument.key, errors)
    return ValidatedAnswers(instrument=instrument.key, version=instrument.version, values=values)


def _check_answer(
    question: ScaleQuestion | ChoiceQuestion | FreeTextQuestion, raw: Any
) -> tuple[int | str | None, str | None]:
    if isinstance(question, ScaleQuestion):
        expected = f"a whole number from {question.min} to {question.max}"
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            return None, f"expected {expected}; got {_shown(raw)}"
        if isinstance(raw, str):
            if not is_whole_number_text(raw.strip()):
                return None, f"expected {expected}; got {raw!r}"
            raw = int(raw.strip())
        if not question.min <= raw <= question.max:
            return None, f"out of range: expected {expected}; got {raw}"
        return raw, None
    if not isinstance(raw, str):
        wanted = (
            "one of " + ", ".join(question.values())
            if isinstance(question, ChoiceQuestion)
            else "a text"
        )
        return None, f"expected {wanted}; got {_shown(raw)}"
    if isinstance(question, ChoiceQuestion):
        if raw not in question.values():
            return None, f"unknown option {raw!r}; expected one of {', '.join(question.values())}"
        return raw, None
    text = raw.strip()
    if len(text) > question.max_length:
        return None, f"too long: at most {question.max_length} characters; got {len(text)}"
    return text, None


def _shown(value: Any) -> str:
    if isinstance(value, int | float | bool):
        return repr(value)
    return type(value).__name__


def score_response(
    instrument: InstrumentSpec, answers: ValidatedAnswers | Mapping[str, Any]
) -> dict[str, float]:
    """The signal values one response gives: for each signal kind the instrument feeds, the mean
    of the answered scale questions feeding it (``westrum_score`` is the mean of the six
    statements; each ``adkar_<element>``, ``platform_satisfaction`` and ``checkin_confidence`` is
    its one item). Kinds with no answered question are absent.

    Raw answers are validated first (AnswerError); ValidatedAnswers must belong to ``instrument``
    (ValueError otherwise).
    """
    if isinstance(answers, ValidatedAnswers):
        if (answers.instrument, answers.version) != (instrument.key, instrument.version):
            raise ValueError(
                f"answers to {answers.instrument} v{answers.version} cannot be scored with "
                f"{instrument.key} v{instrument.version}"
            )
        validated = answers
    else:
        validated = answers_validate(instrument, answers)
    points: dict[str, list[int]] = {}
    for question in instrument.questions:
        if isinstance(question, ScaleQuestion) and question.signal is not None:
            value = validated.values.get(question.key)
            if isinstance(value, int):
                points.setdefault(question.signal, []).append(value)
    return {kind: sum(values) / len(values) for kind, values in points.items()}


def adkar_barrier(scores: Mapping[str, float]) -> str | None:
    """The ADKAR barrier point: the first element, in the order awareness, desire, knowledge,
    ability, reinforcement, whose ``adkar_<element>`` score is 3 or lower (Prosci).

    None when every element scores above 3. Scores are checked in order and the walk stops at an
    element without a (finite) score: an unknown earlier element may itself be the barrier, so a
    later low element is not reported, and None then means "no barrier found", not "none exists".
    """
    for element in ADKAR_ELEMENTS:
        score = scores.get(f"adkar_{element}")
        if score is None or not math.isfinite(score):
            return None
        if score <= ADKAR_BARRIER_MAX:
            return element
    return None


def adkar_barrier_value(scores: Mapping[str, float]) -> float | None:
    """The barrier as the number the ``adkar_barrier`` signal carries: the barrier element's
    position (awareness 1 ... reinforcement 5), 6 when all five score above 3, None when the
    scores cannot tell (an element before any low one has no score)."""
    element = adkar_barrier(scores)
    if element is not None:
        return float(ADKAR_ELEMENTS.index(element) + 1)
    known = [scores.get(f"adkar_{e}") for e in ADKAR_ELEMENTS]
    if all(value is not None and math.isfinite(value) for value in known):
        return ADKAR_NO_BARRIER
    return None


def aggregate(
    responses: Sequence[Mapping[str, float]], *, as_of: dt.datetime | None = None
) -> dict[str, SignalReading]:
    """Group readings from individual responses' scores (as ``score_response`` returns them).

    Each signal kind's reading is the mean over the responses that have it, with ``respondents``
    the number of those responses. When the group has ADKAR scores, ``adkar_barrier`` is computed
    on the group means (not by counting individual barriers) and encoded as
    ``adkar_barrier_value`` does, with the fewest respondents of the five elements. Anonymity
    thresholds are not applied here: suppression is the caller's job.
    """
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for response in responses:
        for kind, value in response.items():
            if not math.isfinite(value):
                continue
            sums[kind] = sums.get(kind, 0.0) + value
            counts[kind] = counts.get(kind, 0) + 1
    readings = {
        kind: SignalReading(value=sums[kind] / counts[kind], respondents=counts[kind], as_of=as_of)
        for kind in sums
    }
    barrier = adkar_barrier_value({kind: reading.value for kind, reading in readings.items()})
    if barrier is not None:
        # Only the elements up to the barrier decide it; later ones may have fewer answers, or
        # none at all (a group that answered awareness low and skipped desire has a barrier).
        deciding = ADKAR_ELEMENTS if barrier == ADKAR_NO_BARRIER else ADKAR_ELEMENTS[: int(barrier)]
        respondents = min(counts[f"adkar_{element}"] for element in deciding)
        readings["adkar_barrier"] = SignalReading(
            value=barrier, respondents=respondents, as_of=as_of
        )
    return readings
