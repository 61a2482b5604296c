"""The check-in response form at /c/<token>/ (transform/answers/pages.py): no login, GET never
consumes the link, POST answers once, CSRF stays on, errors re-render the form."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.builders import WESTRUM_KEYS, CheckinRig, pulse_answers, reloaded
from tests.factories import CheckinSettingsFactory, SignalEventFactory
from transform.models import (
    CheckIn,
    CheckInKind,
    MilestoneEvent,
    MilestoneStatus,
    Response,
    SignalEventKind,
)
from transform.plans.services import milestone_transition
from transform.rhythm import links

pytestmark = pytest.mark.django_db


@pytest.fixture
def rig(checkin_rig: CheckinRig) -> CheckinRig:
    return checkin_rig


def _open(rig: CheckinRig, kind: str) -> CheckIn:
    """A check-in open now (the view uses the real clock)."""
    return rig.checkin(kind, created=timezone.now() - dt.timedelta(hours=1))


def _url(checkin: CheckIn) -> str:
    return f"/c/{links.checkin_token(checkin)}/"


def _form_data(answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        f"{instrument}.{question}": str(value)
        for instrument, values in answers.items()
        for question, value in values.items()
    }


class _Page(HTMLParser):
    """The elements the tests look at: inputs, labels' targets, legends, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.label_targets: set[str] = set()
        self.legends = 0
        self.fieldsets = 0
        self.scripts = 0
        self.textareas: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input":
            self.inputs.append(found)
        elif tag == "label" and found.get("for"):
            self.label_targets.add(str(found["for"]))
        elif tag == "legend":
            self.legends += 1
        elif tag == "fieldset":
            self.fieldsets += 1
        elif tag == "script":
            self.scripts += 1
        elif tag == "textarea":
            self.textareas.append(found)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _text(response: Any) -> str:
    return str(response.content.decode())


# --- GET -----------------------------------------------------------------------------------------


def test_the_form_shows_every_question_with_labelled_radio_buttons(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    # every question on one page: ?all=1 (by default a survey is asked in steps)
    response = Client().get(_url(checkin) + "?all=1")

    assert response.status_code == 200
    html = _text(response)
    page = _parse(html)
    radios = [i for i in page.inputs if i.get("type") == "radio"]
    # 6 Westrum statements x 7 points, 5 ADKAR x 5, satisfaction x 5
    assert len(radios) == 6 * 7 + 5 * 5 + 5
    assert all(radio["id"] in page.label_targets for radio in radios)
    assert page.fieldsets == page.legends == 6 + 5 + 1
    assert {radio["name"] for radio in radios} >= {f"westrum.{key}" for key in WESTRUM_KEYS}
    assert page.textareas[0]["name"] == "platform-satisfaction.slows_you_down"
    assert page.textareas[0]["id"] in page.label_targets
    assert "Strongly disagree" in html
    assert "On my team, information is actively sought." in html
    assert page.scripts == 0
    assert '<meta name="viewport"' in html
    assert '<html lang="en">' in html


def test_the_form_says_who_it_is_for_what_it_is_about_and_until_when(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    html = _text(Client().get(_url(checkin)))

    assert "Hello Ada," in html
    assert "Lovelace" not in html
    assert "Payments" in html
    assert checkin.expires_at.strftime("%d %B %Y").lstrip("0") in html


def test_a_survey_form_says_answers_are_anonymous_and_the_groups_minimum(rig: CheckinRig) -> None:
    CheckinSettingsFactory(organization=rig.org, min_group_size=7, min_free_text_group_size=12)
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    html = _text(Client().get(_url(checkin)))

    assert "Your answers are anonymous." in html
    assert "at least 7 people" in html
    assert "at least 12 people" in html


def test_an_event_survey_form_names_the_event_that_triggered_it(rig: CheckinRig) -> None:
    event: Any = SignalEventFactory(
        organization=rig.org,
        kind=SignalEventKind.FIRST_DEPLOY,
        external_id="d-1",
        team=rig.team,
        occurred_at=timezone.now(),
    )
    checkin = _open(rig, CheckInKind.EVENT_SURVEY)
    checkin.subject = checkin.period = f"event:{event.pk}"
    checkin.save()

    html = _text(Client().get(_url(checkin)))

    assert "after its recent event: first deploy" in html
    assert "Platform satisfaction" in html


def test_a_status_form_names_the_milestone_and_is_not_called_anonymous(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.MILESTONE_STATUS)

    html = _text(Client().get(_url(checkin)))

    assert "Kick off the pilot" in html
    assert "not anonymous" in html
    assert "Your answers are anonymous." not in html
    assert "On track" in html
    assert "Needed when the milestone is at risk or blocked." in html


def test_opening_the_link_any_number_of_times_consumes_nothing(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    scanner = Client()

    for _ in range(3):
        assert scanner.get(_url(checkin)).status_code == 200
    assert scanner.head(_url(checkin)).status_code == 200

    assert reloaded(checkin).answered_at is None
    assert Response.objects.count() == 0
    answered = Client().post(_url(checkin), _form_data(pulse_answers()))
    assert answered.status_code == 200


def test_the_page_is_not_cached_and_does_not_leak_the_link_as_referrer(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    response = Client().get(_url(checkin))

    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"


def test_other_methods_are_refused(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    response = Client().put(_url(checkin), "x")

    assert response.status_code == 405
    assert reloaded(checkin).answered_at is None


# --- POST ----------------------------------------------------------------------------------------


def test_valid_answers_thank_the_person_and_store_one_response(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    response = Client().post(_url(checkin), _form_data(pulse_answers()))

    assert response.status_code == 200
    assert "Thank you, Ada" in _text(response)
    stored = Response.objects.get()
    assert stored.answers["westrum"]["information_sought"] == 7
    assert stored.checkin_id is None
    assert reloaded(checkin).answered_at is not None


def test_a_second_post_gets_410_and_stores_nothing_more(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    client = Client()
    client.post(_url(checkin), _form_data(pulse_answers()))

    again = client.post(_url(checkin), _form_data(pulse_answers()))

    assert again.status_code == 410
    assert "Already answered" in _text(again)
    assert Response.objects.count() == 1


def test_after_answering_the_link_shows_it_was_used(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    Client().post(_url(checkin), _form_data(pulse_answers()))

    response = Client().get(_url(checkin))

    assert response.status_code == 410
    assert "already been answered" in _text(response)
    assert "<form" not in _text(response)


def test_invalid_answers_show_the_form_again_with_errors_and_the_given_values(
    rig: CheckinRig,
) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    data = _form_data(pulse_answers())
    data["westrum.information_sought"] = "9"
    del data["adkar.desire"]
    data["platform-satisfaction.slows_you_down"] = "The <b>build</b> queue"

    response = Client().post(_url(checkin), data)

    assert response.status_code == 400
    html = _text(response)
    assert "Please check your answers" in html
    # the error sits inside the question's fieldset, tied to it for screen readers
    fieldset = re.search(
        r'<fieldset id="q-westrum-information_sought".*?</fieldset>', html, re.DOTALL
    )
    assert fieldset is not None
    assert "out of range" in fieldset.group(0)
    assert 'aria-describedby="q-westrum-information_sought-error"' in fieldset.group(0)
    desire = re.search(r'<fieldset id="q-adkar-desire".*?</fieldset>', html, re.DOTALL)
    assert desire is not None
    assert "an answer is required" in desire.group(0)
    page = _parse(html)
    checked = {i["name"]: i["value"] for i in page.inputs if "checked" in i}
    assert checked["westrum.messengers_not_punished"] == "6"
    assert checked["adkar.awareness"] == "4"
    assert "westrum.information_sought" not in checked
    assert "The &lt;b&gt;build&lt;/b&gt; queue</textarea>" in html
    assert Response.objects.count() == 0
    assert reloaded(checkin).answered_at is None


def test_a_crafted_field_is_reported_at_the_top_of_the_form(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.EVENT_SURVEY)
    data = {"platform-satisfaction.satisfaction": "4", "hack.me": "1"}

    response = Client().post(_url(checkin), data)

    assert response.status_code == 400
    assert "hack: unknown instrument" in _text(response)


def test_a_radio_sent_twice_is_refused_rather_than_guessed(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.EVENT_SURVEY)

    response = Client().post(_url(checkin), {"platform-satisfaction.satisfaction": ["2", "5"]})

    assert response.status_code == 400
    assert Response.objects.count() == 0


def test_a_status_answer_through_the_form_moves_the_milestone(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.MILESTONE_STATUS)

    response = Client().post(
        _url(checkin),
        {
            "milestone-status.status": "blocked",
            "milestone-status.confidence": "2",
            "milestone-status.note": "No room for the kick-off",
        },
    )

    assert response.status_code == 200
    assert "is now <strong>blocked</strong>" in _text(response)
    milestone = rig.milestone()
    assert milestone.status == MilestoneStatus.BLOCKED
    assert milestone.status_reason == "No room for the kick-off"
    assert MilestoneEvent.objects.filter(milestone=milestone, to_status="blocked").exists()


def test_at_risk_without_a_note_shows_the_error_on_the_note(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.MILESTONE_STATUS)

    response = Client().post(
        _url(checkin), {"milestone-status.status": "at_risk", "milestone-status.confidence": "3"}
    )

    assert response.status_code == 400
    html = _text(response)
    note = re.search(r'<div class="question invalid">.*?</div>', html, re.DOTALL)
    assert note is not None
    assert "note is required" in note.group(0)
    assert rig.milestone().status == MilestoneStatus.PLANNED


def test_a_workflow_conflict_shows_the_workflows_message_with_409(rig: CheckinRig) -> None:
    milestone_transition(milestone=rig.milestone(), to_status="in_progress", actor=None)
    milestone_transition(milestone=rig.milestone(), to_status="done", actor=None, reason="ok")
    checkin = _open(rig, CheckInKind.MILESTONE_STATUS)

    response = Client().post(
        _url(checkin), {"milestone-status.status": "on_track", "milestone-status.confidence": "5"}
    )

    assert response.status_code == 409
    assert "cannot go from done to in progress" in _text(response)  # words, not codes
    assert reloaded(checkin).answered_at is None
    assert Response.objects.count() == 0


# --- broken links --------------------------------------------------------------------------------


def test_an_invalid_link_shows_a_404_page(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    token = links.checkin_token(CheckIn(pk=checkin.pk, link_nonce="guessed"))

    for response in (
        Client().get(f"/c/{token}/"),
        Client().post(f"/c/{token}/", _form_data(pulse_answers())),
        Client().get("/c/nonsense/"),
    ):
        assert response.status_code == 404
        assert "This link is not valid" in _text(response)
    assert reloaded(checkin).answered_at is None


def test_an_expired_link_shows_a_410_page(rig: CheckinRig) -> None:
    checkin = rig.checkin(
        CheckInKind.PULSE_SURVEY, created=timezone.now() - dt.timedelta(days=8), valid_days=7
    )

    get = Client().get(_url(checkin))
    post = Client().post(_url(checkin), _form_data(pulse_answers()))

    assert get.status_code == post.status_code == 410
    assert "This link has expired" in _text(get)
    assert Response.objects.count() == 0


# --- CSRF ------------------------------------------------------------------------------------


def test_csrf_protection_stays_on_and_the_form_carries_the_token(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    client = Client(enforce_csrf_checks=True)

    refused = client.post(_url(checkin), _form_data(pulse_answers()))
    assert refused.status_code == 403
    assert Response.objects.count() == 0

    page = _parse(_text(client.get(_url(checkin))))
    token = next(i["value"] for i in page.inputs if i.get("name") == "csrfmiddlewaretoken")
    accepted = client.post(
        _url(checkin), {**_form_data(pulse_answers()), "csrfmiddlewaretoken": token}
    )

    assert accepted.status_code == 200
    assert Response.objects.count() == 1
