"""Concurrent answers of one team and period: each is counted once, in id order, so the rollups
match the answers exactly: on PostgreSQL the row lock decides, on SQLite the serialised writers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from tests.builders import SURVEY_AT, SURVEY_PERIOD, make_organization, make_team
from tests.factories import CheckInFactory, CheckinSettingsFactory, PersonFactory
from transform.answers.services import checkin_answer
from transform.models import CheckInKind, CheckinSettings, Response, SurveyRollup
from transform.readiness.report import readiness_rollups_check

ROUNDS = 12


@pytest.mark.django_db(transaction=True)
def test_two_answers_stored_at_once_for_one_team_are_both_counted_in_id_order() -> None:
    organization = make_organization("racing")
    CheckinSettingsFactory(organization=organization, min_group_size=5)
    team = make_team(organization, "web")
    checkins: list[Any] = [
        CheckInFactory(
            organization=organization,
            kind=CheckInKind.PULSE_SURVEY,
            team=team,
            recipient=PersonFactory(organization=organization),
            period_start=SURVEY_PERIOD.start,
            instruments=[["platform-satisfaction", 1]],
        )
        for _ in range(2 * ROUNDS)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    now = timezone.now()

    def answer(mine: list[Any], value: int) -> None:
        try:
            for checkin in mine:
                barrier.wait(timeout=30)
                checkin_answer(
                    checkin=checkin,
                    answers={"platform-satisfaction": {"satisfaction": value}},
                    at=now,
                )
        except BaseException as exc:  # a deadlock, or the other thread's broken barrier
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=answer, args=(checkins[:ROUNDS], 2)),
        threading.Thread(target=answer, args=(checkins[ROUNDS:], 5)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    ids = list(Response.objects.filter(organization=organization).order_by("id"))
    row = SurveyRollup.objects.get(organization=organization, team=team)
    assert row.received == len(ids) == 2 * ROUNDS
    assert row.published == row.platform_satisfaction_count == 20
    # The batches are the answers in id order: no answer lost, none counted twice, and the four
    # still waiting are the last four stored.
    first = ids[:20]
    assert row.platform_satisfaction_sum == sum(r.scores["platform_satisfaction"] for r in first)
    assert row.pending["answers"] == [r.pk for r in ids[20:]]
    settings = CheckinSettings.objects.get(organization=organization)
    problems = readiness_rollups_check(organization=organization, settings=settings, at=SURVEY_AT)
    assert problems == []
