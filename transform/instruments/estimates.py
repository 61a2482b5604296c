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
    """How many questions the ``[key, version]`` pairs of a check-in ask (``QuestionCounter``
    for one check-in)."""
    return QuestionCounter().count(organization=organization, instruments=instruments)


class QuestionCounter:
    """Counts the questions of check-ins, reading each stored instrument once.

    A built-in instrument at its library version is counted without a query (a key@version never
    changes, and an organisation cannot store a built-in's key@version as its own); a stored one
    is read once per counter, so a batch of survey messages sharing one counter costs a query per
    distinct instrument, not one per message. An instrument that cannot be found counts as none.
    """

    def __init__(self) -> None:
        self._stored: dict[tuple[int, str, int | None], int] = {}

    def count(self, *, organization: Organization, instruments: Iterable[Sequence[object]]) -> int:
        library = builtin_instruments()
        total = 0
        for pair in instruments:
            if len(pair) != 2:
                continue
            key, version = str(pair[0]), pair[1]
            builtin = library.get(key)
            if builtin is not None and builtin.version == version:
                total += len(builtin.questions)
                continue
            wanted = version if isinstance(version, int) and not isinstance(version, bool) else None
            memo = (organization.pk, key, wanted)
            if memo not in self._stored:
                self._stored[memo] = self._read(organization=organization, key=key, version=wanted)
            total += self._stored[memo]
        return total

    @staticmethod
    def _read(*, organization: Organization, key: str, version: int | None) -> int:
        try:
            return len(
                instrument_get(organization=organization, key=key, version=version).questions
            )
        except ApplicationError:
            return 0
