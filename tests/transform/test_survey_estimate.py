"""A survey's message says how long it takes from its own questions (issue 17: the e-mail said
"about two minutes" whatever the survey asked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import CheckInFactory, CheckinSettingsFactory, InstrumentFactory
from transform.instruments.estimates import answer_minutes, answer_time_text, question_count
from transform.instruments.format import builtin_instruments
from transform.models import CheckInKind
from transform.outbox.messages import checkin_message


@pytest.mark.parametrize(
    ("questions", "minutes"), [(0, 1), (1, 1), (6, 1), (12, 2), (13, 2), (21, 4), (60, 10)]
)
def test_about_ten_seconds_a_question_in_whole_minutes_at_least_one(
    questions: int, minutes: int
) -> None:
    assert answer_minutes(questions) == minutes


def test_the_time_reads_as_words() -> None:
    assert answer_time_text(1) == "about a minute"
    assert answer_time_text(3) == "about 3 minutes"


def _pairs(*keys: str) -> list[list[Any]]:
    library = builtin_instruments()
    return [[key, library[key].version] for key in keys]


def _body(checkin: Any) -> str:
    settings_row: Any = CheckinSettingsFactory(organization=checkin.organization)
    return checkin_message(
        checkin, reminder=False, at=timezone.now(), settings_row=settings_row
    ).body


@pytest.mark.django_db
def test_the_pulse_e_mail_counts_the_questions_of_its_instruments() -> None:
    pairs = _pairs("westrum", "adkar")
    asked = sum(len(builtin_instruments()[key].questions) for key, _version in pairs)
    checkin = CheckInFactory(kind=CheckInKind.PULSE_SURVEY, instruments=pairs)

    body = _body(checkin)

    assert f"Its {asked} questions take {answer_time_text(answer_minutes(asked))}." in body
    assert "three minutes" not in body


@pytest.mark.django_db
def test_a_short_event_survey_says_about_a_minute() -> None:
    checkin = CheckInFactory(
        kind=CheckInKind.EVENT_SURVEY, instruments=_pairs("platform-satisfaction")
    )
    asked = len(builtin_instruments()["platform-satisfaction"].questions)

    body = _body(checkin)

    assert f"{asked} questions, about a minute," in body
    assert "two minutes" not in body


@pytest.mark.django_db
def test_an_organisations_own_instrument_is_counted_too(django_assert_num_queries: Any) -> None:
    own: Any = InstrumentFactory(key="team-mood", version=3)
    checkin: Any = CheckInFactory(
        organization=own.organization,
        kind=CheckInKind.EVENT_SURVEY,
        instruments=[["team-mood", 3], *_pairs("westrum")],
    )
    westrum = len(builtin_instruments()["westrum"].questions)

    # The built-in is counted from the library; only the organisation's own is read.
    with django_assert_num_queries(1):
        count = question_count(organization=own.organization, instruments=checkin.instruments)

    assert count == 1 + westrum
    assert "about a minute" in _body(checkin)


@pytest.mark.django_db
def test_a_check_in_without_known_instruments_still_says_a_time() -> None:
    checkin = CheckInFactory(
        kind=CheckInKind.EVENT_SURVEY,
        instruments=[["gone", 1]],
        expires_at=timezone.now() + dt.timedelta(days=3),
    )

    assert "A few questions, about a minute," in _body(checkin)
