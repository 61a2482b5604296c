"""The pulse survey in short steps (transform/answers/pages.py): a progress indicator, Next and
Back, answers kept between steps in a signed field (never stored before the last step), each
step checked on its own, one response stored by the final step, the link still single-use."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.builders import WESTRUM_KEYS, CheckinRig, pulse_answers, reloaded
from transform.answers.pages import STEP_MAX_QUESTIONS, survey_steps
from transform.answers.selectors import checkin_instruments
from transform.instruments.estimates import answer_minutes
from transform.models import CheckIn, CheckInKind, Response
from transform.rhythm import links

pytestmark = pytest.mark.django_db


def _open(rig: CheckinRig, kind: str = CheckInKind.PULSE_SURVEY) -> CheckIn:
    return rig.checkin(kind, created=timezone.now() - dt.timedelta(hours=1))


def _url(checkin: CheckIn) -> str:
    return f"/c/{links.checkin_token(checkin)}/"


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no hidden {name}"
    return found.group(1)


def _names(html: str) -> list[str]:
    """The answer fields the page asks, in order, once each."""
    seen: list[str] = []
    for name in re.findall(r'name="([^"_][^"]*\.[^"]+)"', html):
        if name not in seen:
            seen.append(name)
    return seen


class _Walker:
    """Steps through the survey like a browser without JavaScript: each POST carries the page's
    hidden fields and the answers of the questions the page shows."""

    def __init__(self, checkin: CheckIn) -> None:
        self.client = Client()
        self.url = _url(checkin)
        self.answers = {
            f"{instrument}.{question}": str(value)
            for instrument, values in pulse_answers().items()
            for question, value in values.items()
        }
        response = self.client.get(self.url)
        assert response.status_code == 200
        self.html = response.content.decode()

    def post(self, action: str, **override: str) -> Any:
        data = {
            "_step": _hidden(self.html, "_step"),
            "_answers": _hidden(self.html, "_answers"),
            "_action": action,
        }
        for name in _names(self.html):
            value = override.get(name.replace(".", "__").replace("-", "_"), self.answers[name])
            if value != "":
                data[name] = value
        response = self.client.post(self.url, data)
        self.html = response.content.decode()
        return response


def test_the_pulse_is_split_into_short_steps_of_one_instrument_each(
    checkin_rig: CheckinRig,
) -> None:
    checkin = _open(checkin_rig)
    steps = survey_steps(checkin_instruments(checkin=checkin))

    assert [len(step.names) for step in steps] == [2, 2, 2, 3, 2, 2]
    assert all(len(step.names) <= STEP_MAX_QUESTIONS for step in steps)
    # no step asks more than about STEP_MAX_ROWS radio buttons: it fits a phone screen
    assert max(len(step.names) * (7 if step.instrument == "westrum" else 5) for step in steps) <= 16
    assert all(name.startswith(step.instrument + ".") for step in steps for name in step.names)
    total = sum(len(step.names) for step in steps)
    assert total <= 13
    assert answer_minutes(total) <= 3


def test_the_first_step_shows_progress_and_only_its_questions(checkin_rig: CheckinRig) -> None:
    walker = _Walker(_open(checkin_rig))

    assert "Step 1 of 6" in walker.html
    assert '<progress class="steps" max="6" value="1"' in walker.html
    assert "13 questions, about 2 minutes in all" in walker.html
    assert _names(walker.html) == [f"westrum.{key}" for key in WESTRUM_KEYS[:2]]
    assert 'value="next">Next</button>' in walker.html
    assert 'value="back"' not in walker.html
    assert "Your answers are anonymous." in walker.html
    assert "<script" not in walker.html


def test_next_and_back_keep_the_answers(checkin_rig: CheckinRig) -> None:
    walker = _Walker(_open(checkin_rig))

    assert walker.post("next").status_code == 200
    assert "Step 2 of 6" in walker.html
    assert _names(walker.html) == [f"westrum.{key}" for key in WESTRUM_KEYS[2:4]]
    assert walker.post("next", westrum__collaboration_rewarded="1").status_code == 200
    assert "Step 3 of 6" in walker.html
    walker.post("back")
    assert "Step 2 of 6" in walker.html
    assert re.search(r'name="westrum.collaboration_rewarded" value="1" checked', walker.html)
    walker.post("back")
    assert "Step 1 of 6" in walker.html
    assert re.search(r'name="westrum.information_sought" value="7" checked', walker.html)
    assert re.search(r'name="westrum.messengers_not_punished" value="6" checked', walker.html)
    assert Response.objects.count() == 0


def test_back_needs_no_answer_on_the_current_step(checkin_rig: CheckinRig) -> None:
    walker = _Walker(_open(checkin_rig))
    walker.post("next")

    response = walker.post("back", westrum__responsibilities_shared="")

    assert response.status_code == 200
    assert "Step 1 of 6" in walker.html
    assert "formnovalidate" not in walker.html  # the first step has no Back button


def test_next_checks_only_the_current_step(checkin_rig: CheckinRig) -> None:
    walker = _Walker(_open(checkin_rig))

    response = walker.post("next", westrum__messengers_not_punished="")

    assert response.status_code == 400
    assert "Step 1 of 6" in walker.html
    fieldset = re.search(
        r'<fieldset id="q-westrum-messengers_not_punished".*?</fieldset>', walker.html, re.DOTALL
    )
    assert fieldset is not None
    assert "an answer is required" in fieldset.group(0)
    # later steps, not answered yet, are not reported
    assert "adkar" not in walker.html.split("Please check your answers")[1].split("</div>")[0]
    assert re.search(r'name="westrum.information_sought" value="7" checked', walker.html)


def test_the_last_step_stores_exactly_one_response_and_uses_up_the_link(
    checkin_rig: CheckinRig,
) -> None:
    checkin = _open(checkin_rig)
    walker = _Walker(checkin)
    for number in range(2, 7):
        assert walker.post("next").status_code == 200
        assert f"Step {number} of 6" in walker.html
        assert Response.objects.count() == 0
    assert 'value="send">Send my answers</button>' in walker.html

    response = walker.post("send")

    assert response.status_code == 200
    assert Response.objects.count() == 1
    stored = Response.objects.get()
    assert stored.answers["westrum"]["information_sought"] == 7
    assert stored.answers["adkar"]["ability"] == 2
    assert reloaded(checkin).answered_at is not None
    # the link is single-use: stepping again or sending again is refused, nothing more stored
    assert walker.client.get(walker.url).status_code == 410
    again = walker.client.post(walker.url, {"_step": "5", "_answers": "", "_action": "send"})
    assert again.status_code == 410
    assert Response.objects.count() == 1


def test_a_tampered_state_is_dropped_and_the_step_asks_again(checkin_rig: CheckinRig) -> None:
    checkin = _open(checkin_rig)
    walker = _Walker(checkin)
    for _ in range(5):
        walker.post("next")
    data = {
        "_step": "5",
        "_answers": _hidden(walker.html, "_answers") + "x",
        "_action": "send",
        "platform-satisfaction.satisfaction": "4",
    }

    response = walker.client.post(walker.url, data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Step 1 of 6" in html
    # only this step's questions are reported, next to them, not the code names of later ones
    summary = html.split("Please check your answers", 2)[-1].split("</div>", 1)[0]
    assert "adkar." not in summary
    assert summary.count("an answer is required") == 2
    assert Response.objects.count() == 0
    assert reloaded(checkin).answered_at is None


def test_a_status_check_in_stays_on_one_page(checkin_rig: CheckinRig) -> None:
    html = Client().get(_url(_open(checkin_rig, CheckInKind.MILESTONE_STATUS))).content.decode()

    assert "Step 1 of" not in html
    assert 'name="_step"' not in html
    assert "Send my answers" in html
