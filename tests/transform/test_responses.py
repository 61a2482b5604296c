"""Answering check-ins (transform/answers/, the link check in transform/access.py): the link's
errors, single use, validation and what each kind of answer stores."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection

from core.errors import ApplicationError, ConflictError
from tests.builders import (
    CHECKIN_AT,
    CHECKIN_CREATED,
    CheckinRig,
    build_checkin_rig,
    pulse_answers,
    reloaded,
)
from tests.factories import CheckinSettingsFactory, UserFactory
from transform.access import CheckinAlreadyAnswered, CheckinLinkExpired, CheckinLinkInvalid
from transform.access import checkin_get_by_link as checkin_by_token
from transform.answers.services import checkin_answer
from transform.models import (
    CheckIn,
    CheckInKind,
    EventKind,
    MilestoneEvent,
    MilestoneStatus,
    Response,
    ResponseKind,
    TeamVerification,
)
from transform.plans.services import milestone_transition
from transform.rhythm import links
from transform.rhythm.periods import period_containing

pytestmark = pytest.mark.django_db

AT = CHECKIN_AT
CREATED = CHECKIN_CREATED


@pytest.fixture
def rig(checkin_rig: CheckinRig) -> CheckinRig:
    return checkin_rig


def token_for(checkin_id: int, nonce: str) -> str:
    """A correctly signed token for any id and nonce (to prove the row check, not the signature,
    refuses them)."""
    return links.checkin_token(CheckIn(pk=checkin_id, link_nonce=nonce))


# --- the link -------------------------------------------------------------------------------


def test_a_valid_token_finds_its_open_checkin(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)

    found = checkin_by_token(token=links.checkin_token(checkin), at=AT)

    assert found.pk == checkin.pk
    assert reloaded(checkin).answered_at is None


def _invalid_tokens(checkin: CheckIn) -> dict[str, str]:
    token = links.checkin_token(checkin)
    value, _sep, signature = token.rpartition(":")
    return {
        "bad signature": f"{value}:{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}",
        "tampered id": f"{checkin.pk + 1}.{checkin.link_nonce}:{signature}",
        "unknown id": token_for(checkin.pk + 1000, checkin.link_nonce),
        "tampered nonce": token_for(checkin.pk, checkin.link_nonce[:-1] + "x"),
        "garbage": "not-a-token",
        "empty": "",
        "huge id": token_for(10**30, checkin.link_nonce),
        "very long": "a" * 5000,
    }


@pytest.mark.parametrize(
    "case",
    [
        "bad signature",
        "tampered id",
        "unknown id",
        "tampered nonce",
        "garbage",
        "empty",
        "huge id",
        "very long",
    ],
)
def test_an_invalid_link_is_refused_with_the_same_404_message_whatever_is_wrong(
    rig: CheckinRig, case: str
) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)
    reference = CheckinLinkInvalid()

    with pytest.raises(CheckinLinkInvalid) as excinfo:
        checkin_by_token(token=_invalid_tokens(checkin)[case], at=AT)

    assert excinfo.value.status_code == 404
    assert excinfo.value.message == reference.message
    assert excinfo.value.extra == {"state": "invalid"}


def test_an_expired_link_is_refused_with_410(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY, valid_days=1)

    with pytest.raises(CheckinLinkExpired) as excinfo:
        checkin_by_token(token=links.checkin_token(checkin), at=CREATED + dt.timedelta(days=1))

    assert excinfo.value.status_code == 410
    assert excinfo.value.extra == {"state": "expired"}
    assert "expired on" in excinfo.value.message


def test_an_answered_link_is_refused_with_410(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)
    checkin_answer(checkin=checkin, answers=pulse_answers(), at=AT)

    with pytest.raises(CheckinAlreadyAnswered) as excinfo:
        checkin_by_token(token=links.checkin_token(checkin), at=AT)

    assert excinfo.value.status_code == 410
    assert excinfo.value.extra == {"state": "answered"}


# --- surveys --------------------------------------------------------------------------------


def test_a_pulse_answer_stores_an_anonymous_scored_response_and_consumes_the_link(
    rig: CheckinRig,
) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)

    response = checkin_answer(checkin=checkin, answers=pulse_answers(), at=AT)

    response.refresh_from_db()
    assert response.kind == ResponseKind.SURVEY
    assert response.checkin_id is None
    assert response.team_id == rig.team.pk
    assert response.period_start == checkin.period_start
    assert response.submitted_on == AT.date()
    assert response.instruments == [["westrum", 1], ["adkar", 1], ["platform-satisfaction", 1]]
    assert response.answers["platform-satisfaction"] == {
        "satisfaction": 4,
        "slows_you_down": "Slow CI",
    }
    assert response.scores == {
        "westrum_score": 4.5,
        "adkar_awareness": 4.0,
        "adkar_desire": 5.0,
        "adkar_knowledge": 3.0,
        "adkar_ability": 2.0,
        "adkar_reinforcement": 4.0,
        "platform_satisfaction": 4.0,
    }
    assert reloaded(checkin).answered_at == AT


def test_a_survey_response_names_no_person_and_no_checkin(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.EVENT_SURVEY)

    response = checkin_answer(
        checkin=checkin,
        answers={"platform-satisfaction": {"satisfaction": "5"}},
        at=AT,
        user=rig.user,
    )

    stored = Response.objects.values().get(pk=response.pk)
    assert stored["checkin_id"] is None
    assert rig.person.email not in str(stored)
    assert "ada" not in str(stored).lower()
    assert stored["scores"] == {"platform_satisfaction": 5.0}


def test_a_second_answer_is_refused_and_stores_nothing(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)
    checkin_answer(checkin=checkin, answers=pulse_answers(), at=AT)

    with pytest.raises(CheckinAlreadyAnswered):
        checkin_answer(checkin=reloaded(checkin), answers=pulse_answers(), at=AT)

    assert Response.objects.count() == 1


def test_the_database_refuses_an_answer_that_lost_a_race_even_with_a_stale_row(
    rig: CheckinRig,
) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)
    first, second = reloaded(checkin), reloaded(checkin)  # both read before either answered
    checkin_answer(checkin=first, answers=pulse_answers(), at=AT)

    assert second.answered_at is None
    with pytest.raises(CheckinAlreadyAnswered):
        checkin_answer(checkin=second, answers=pulse_answers(), at=AT + dt.timedelta(seconds=1))

    assert Response.objects.count() == 1
    assert reloaded(checkin).answered_at == AT


def test_an_answer_after_expiry_is_refused_and_stores_nothing(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY, valid_days=1)

    with pytest.raises(CheckinLinkExpired):
        checkin_answer(checkin=checkin, answers=pulse_answers(), at=CREATED + dt.timedelta(days=2))

    assert Response.objects.count() == 0
    assert reloaded(checkin).answered_at is None


def test_invalid_answers_are_all_reported_by_instrument_and_question(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)
    answers = pulse_answers()
    answers["westrum"]["information_sought"] = 8
    del answers["adkar"]["desire"]
    answers["platform-satisfaction"]["satisfaction"] = True
    answers["platform-satisfaction"]["mood"] = "fine"
    answers["unknown-instrument"] = {"q": 1}

    with pytest.raises(ApplicationError) as excinfo:
        checkin_answer(checkin=checkin, answers=answers, at=AT)

    assert excinfo.value.status_code == 400
    fields = excinfo.value.extra["fields"]
    assert set(fields) == {
        "westrum.information_sought",
        "adkar.desire",
        "platform-satisfaction.satisfaction",
        "platform-satisfaction.mood",
        "unknown-instrument",
    }
    assert "out of range" in fields["westrum.information_sought"][0]
    assert fields["adkar.desire"] == ["an answer is required"]
    assert Response.objects.count() == 0
    assert reloaded(checkin).answered_at is None


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        (["westrum"], "answers"),
        ("westrum", "answers"),
        (None, "answers"),
        ({"westrum": [1, 2, 3]}, "westrum"),
        ({"westrum": "7"}, "westrum"),
    ],
)
def test_answers_of_the_wrong_shape_are_a_400_naming_where(
    rig: CheckinRig, answers: Any, field: str
) -> None:
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)

    with pytest.raises(ApplicationError) as excinfo:
        checkin_answer(checkin=checkin, answers=answers, at=AT)

    assert field in excinfo.value.extra["fields"]
    assert reloaded(checkin).answered_at is None


def test_answers_are_checked_against_the_checkins_own_instrument_version(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.EVENT_SURVEY)
    checkin.instruments = [["platform-satisfaction", 7]]
    checkin.save()

    with pytest.raises(ApplicationError) as excinfo:
        checkin_answer(
            checkin=checkin, answers={"platform-satisfaction": {"satisfaction": 4}}, at=AT
        )

    assert "platform-satisfaction@7" in excinfo.value.message
    assert reloaded(checkin).answered_at is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_answers_store_one_response() -> None:
    rig = build_checkin_rig("race")
    checkin = rig.checkin(CheckInKind.PULSE_SURVEY)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def answer() -> None:
        mine = reloaded(checkin)
        barrier.wait()
        try:
            checkin_answer(checkin=mine, answers=pulse_answers(), at=AT)
            outcomes.append("answered")
        except CheckinAlreadyAnswered:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["answered", "refused"]
    assert Response.objects.count() == 1


# --- milestone status --------------------------------------------------------------------------


def _status(status: str, note: str = "", confidence: int = 4) -> dict[str, Any]:
    answers: dict[str, Any] = {"status": status, "confidence": confidence}
    if note:
        answers["note"] = note
    return {"milestone-status": answers}


def test_on_track_moves_a_planned_milestone_to_in_progress_with_an_event(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    response = checkin_answer(checkin=checkin, answers=_status("on_track", "Going well"), at=AT)

    milestone = rig.milestone()
    assert milestone.status == MilestoneStatus.IN_PROGRESS
    assert milestone.started_on == AT.date()
    assert checkin.milestone is not None
    assert checkin.milestone.status == MilestoneStatus.IN_PROGRESS
    event = MilestoneEvent.objects.get(milestone=milestone, kind=EventKind.STATUS)
    assert (event.from_status, event.to_status) == ("planned", "in_progress")
    assert event.actor == rig.user  # the recipient's login
    assert response.kind == ResponseKind.MILESTONE_STATUS
    assert response.checkin_id == checkin.pk
    assert response.team_id is None
    assert response.scores == {"checkin_confidence": 4.0}
    assert response.period_start == period_containing(AT.date(), every_days=14).start


def test_the_status_response_counts_for_the_survey_period_of_the_answer_day(
    rig: CheckinRig,
) -> None:
    CheckinSettingsFactory(organization=rig.org, survey_every_days=7)
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    response = checkin_answer(checkin=checkin, answers=_status("on_track"), at=AT)

    assert response.period_start == period_containing(AT.date(), every_days=7).start


def test_on_track_for_an_in_progress_milestone_records_no_transition(rig: CheckinRig) -> None:
    milestone_transition(milestone=rig.milestone(), to_status="in_progress", actor=None)
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    response = checkin_answer(checkin=checkin, answers=_status("on_track"), at=AT)

    assert rig.milestone().status == MilestoneStatus.IN_PROGRESS
    assert MilestoneEvent.objects.filter(kind=EventKind.STATUS).count() == 1
    assert Response.objects.filter(pk=response.pk).exists()


@pytest.mark.parametrize("status", ["at_risk", "blocked"])
def test_at_risk_or_blocked_moves_the_milestone_with_the_note_as_reason(
    rig: CheckinRig, status: str
) -> None:
    milestone_transition(milestone=rig.milestone(), to_status="in_progress", actor=None)
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    checkin_answer(
        checkin=checkin, answers=_status(status, "Waiting for the DBA team"), at=AT, user=None
    )

    milestone = rig.milestone()
    assert milestone.status == status
    assert milestone.status_reason == "Waiting for the DBA team"
    event = MilestoneEvent.objects.filter(kind=EventKind.STATUS).last()
    assert event is not None
    assert event.to_status == status
    assert event.reason == "Waiting for the DBA team"


@pytest.mark.parametrize("status", ["at_risk", "blocked"])
def test_at_risk_or_blocked_without_a_note_is_a_400_on_the_note(
    rig: CheckinRig, status: str
) -> None:
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    with pytest.raises(ApplicationError) as excinfo:
        checkin_answer(checkin=checkin, answers=_status(status, "   "), at=AT)

    assert list(excinfo.value.extra["fields"]) == ["milestone-status.note"]
    assert rig.milestone().status == MilestoneStatus.PLANNED
    assert Response.objects.count() == 0
    assert reloaded(checkin).answered_at is None


def test_a_given_user_is_the_actor_of_the_milestone_event(rig: CheckinRig) -> None:
    other: Any = UserFactory(username="someone")
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    checkin_answer(checkin=checkin, answers=_status("on_track"), at=AT, user=other)

    assert MilestoneEvent.objects.get(kind=EventKind.STATUS).actor == other


def test_a_recipient_without_a_login_reports_without_an_actor(rig: CheckinRig) -> None:
    rig.person.user = None
    rig.person.save()
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    checkin_answer(checkin=checkin, answers=_status("on_track"), at=AT)

    assert MilestoneEvent.objects.get(kind=EventKind.STATUS).actor is None


def test_a_workflow_conflict_is_a_409_that_stores_nothing_and_keeps_the_link(
    rig: CheckinRig,
) -> None:
    milestone_transition(milestone=rig.milestone(), to_status="in_progress", actor=None)
    milestone_transition(milestone=rig.milestone(), to_status="done", actor=None, reason="ok")
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)
    events_before = MilestoneEvent.objects.count()

    with pytest.raises(ConflictError) as excinfo:
        checkin_answer(checkin=checkin, answers=_status("on_track"), at=AT)

    assert excinfo.value.status_code == 409
    assert "cannot go from done to in progress" in excinfo.value.message
    assert Response.objects.count() == 0
    assert MilestoneEvent.objects.count() == events_before
    assert reloaded(checkin).answered_at is None
    assert checkin_by_token(token=links.checkin_token(checkin), at=AT).pk == checkin.pk


def test_after_a_conflict_the_same_link_takes_an_answer_the_workflow_allows(
    rig: CheckinRig,
) -> None:
    milestone_transition(
        milestone=rig.milestone(), to_status="at_risk", actor=None, reason="Late start"
    )
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)
    with pytest.raises(ConflictError):
        checkin_answer(checkin=checkin, answers=_status("blocked", "No budget"), at=AT)

    checkin_answer(checkin=reloaded(checkin), answers=_status("on_track"), at=AT)

    assert rig.milestone().status == MilestoneStatus.IN_PROGRESS
    assert Response.objects.count() == 1


def test_reporting_the_status_a_milestone_already_has_changes_nothing(rig: CheckinRig) -> None:
    milestone_transition(
        milestone=rig.milestone(), to_status="at_risk", actor=None, reason="Late start"
    )
    checkin = rig.checkin(CheckInKind.MILESTONE_STATUS)

    checkin_answer(checkin=checkin, answers=_status("at_risk", "Still late"), at=AT)

    assert rig.milestone().status_reason == "Late start"
    assert MilestoneEvent.objects.filter(kind=EventKind.STATUS).count() == 1
    assert Response.objects.get().answers["milestone-status"]["note"] == "Still late"


# --- topology verification ---------------------------------------------------------------------


def test_a_confirmed_topology_stores_a_verification(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.TOPOLOGY_VERIFICATION)

    response = checkin_answer(
        checkin=checkin, answers={"topology-verification": {"topology": "confirmed"}}, at=AT
    )

    verification = TeamVerification.objects.get()
    assert verification.team_id == rig.team.pk
    assert verification.verified_by_id == rig.person.pk
    assert verification.verified_at == AT
    assert verification.confirmed is True
    assert response.kind == ResponseKind.TOPOLOGY_VERIFICATION
    assert response.checkin_id == checkin.pk
    assert response.team_id == rig.team.pk


def test_a_topology_that_needs_changes_stores_the_corrections(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.TOPOLOGY_VERIFICATION)

    checkin_answer(
        checkin=checkin,
        answers={
            "topology-verification": {
                "topology": "needs_changes",
                "corrections": "Bo left; Cy is our DevOps buddy now.",
            }
        },
        at=AT,
    )

    verification = TeamVerification.objects.get()
    assert verification.confirmed is False
    assert verification.corrections == "Bo left; Cy is our DevOps buddy now."


def test_a_topology_that_needs_changes_without_corrections_is_a_400(rig: CheckinRig) -> None:
    checkin = rig.checkin(CheckInKind.TOPOLOGY_VERIFICATION)

    with pytest.raises(ApplicationError) as excinfo:
        checkin_answer(
            checkin=checkin,
            answers={"topology-verification": {"topology": "needs_changes"}},
            at=AT,
        )

    assert list(excinfo.value.extra["fields"]) == ["topology-verification.corrections"]
    assert not TeamVerification.objects.exists()
    assert reloaded(checkin).answered_at is None
