"""A survey's message says how long it takes from its own questions (issue 17: the e-mail said
"about two minutes" whatever the survey asked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    CheckInFactory,
    CheckinSettingsFactory,
    DeliveryFactory,
    InstrumentFactory,
    PersonFactory,
)
from transform.instruments.estimates import (
    QuestionCounter,
    answer_minutes,
    answer_time_text,
    question_count,
)
from transform.instruments.format import builtin_instruments
from transform.models import CheckInKind, DeliveryKind
from transform.outbox.messages import checkin_message
from transform.outbox.services import deliver_batch
from transform.rhythm import links


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


@pytest.mark.django_db
def test_a_counter_reads_each_stored_instrument_once(django_assert_num_queries: Any) -> None:
    own: Any = InstrumentFactory(key="team-mood", version=3)
    pairs = [["team-mood", 3], *_pairs("westrum")]
    counter = QuestionCounter()

    with django_assert_num_queries(1):
        counts = {
            counter.count(organization=own.organization, instruments=pairs) for _ in range(20)
        }

    assert counts == {1 + len(builtin_instruments()["westrum"].questions)}


@pytest.mark.django_db
def test_a_batch_of_survey_messages_reads_their_own_instrument_once(mailoutbox: Any) -> None:
    own: Any = InstrumentFactory(key="team-mood", version=3)
    at = timezone.now()
    rows: list[Any] = []
    for number in range(12):
        person: Any = PersonFactory(organization=own.organization, email=f"p{number}@acme.test")
        checkin: Any = CheckInFactory(
            organization=own.organization,
            recipient=person,
            kind=CheckInKind.EVENT_SURVEY,
            instruments=[["team-mood", 3]],
            link_nonce=links.link_nonce_new(),
            expires_at=at + dt.timedelta(days=3),
        )
        rows.append(
            DeliveryFactory(
                organization=own.organization,
                kind=DeliveryKind.CHECKIN,
                dedupe_key=f"checkin:{checkin.pk}",
                recipient=person,
                checkin=checkin,
                channel="email",
                next_attempt_at=at,
                created_at=at,
            )
        )

    with CaptureQueriesContext(connection) as queries:
        result = deliver_batch(delivery_ids=[row.pk for row in rows], at=at, claimed_by="t")

    assert result.sent == {"checkin": 12}
    assert all("1 question, about a minute" in message.body for message in mailoutbox)
    instrument_reads = [q for q in queries.captured_queries if "transform_instrument" in q["sql"]]
    assert len(instrument_reads) == 1
