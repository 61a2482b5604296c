"""How long a check-in's questions take to answer, as its message says it ("about 2 minutes").

The estimate follows the instruments the check-in asks, so a shorter or longer survey never goes
out promising the time of another one: about ``SECONDS_PER_QUESTION`` per question (a scale or a
choice is one tap), rounded to whole minutes, at least one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.errors import ApplicationError
from teams.models import Organization
from transform.instruments.format import builtin_instruments
from transform.instruments.selectors import instrument_get

SECONDS_PER_QUESTION = 10


def answer_minutes(questions: int) -> int:
    """Whole minutes to answer ``questions`` questions: at least 1."""
    return max(1, round(questions * SECONDS_PER_QUESTION / 60))


def answer_time_text(minutes: int) -> str:
    """ "about a minute", "about 2 minutes"."""
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


def question_count(*, organization: Organization, instruments: Iterable[Sequence[object]]) -> int:
    """How many questions the ``[key, version]`` pairs of a check-in ask.

    A built-in instrument at its library version is counted without a query (a key@version never
    changes, and an organisation cannot store a built-in's key@version as its own); another is
    read once per pair. An instrument that cannot be found counts as none."""
    library = builtin_instruments()
    count = 0
    for pair in instruments:
        if len(pair) != 2:
            continue
        key, version = str(pair[0]), pair[1]
        builtin = library.get(key)
        if builtin is not None and builtin.version == version:
            count += len(builtin.questions)
            continue
        try:
            spec = instrument_get(
                organization=organization,
                key=key,
                version=version if isinstance(version, int) else None,
            )
        except ApplicationError:
            continue
        count += len(spec.questions)
    return count
