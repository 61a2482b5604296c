"""The pulse survey in steps on a phone (375 px): each step fits the width (no sideways scroll),
Next and Back keep the answers, the last step sends them; a screenshot per step."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import WebDemo
from tests.web.browser import screenshot
from transform.models import CheckIn, CheckInKind, Response
from transform.rhythm.links import checkin_token

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide"


def test_the_pulse_survey_steps_on_a_phone(phone: Any, web_demo: WebDemo) -> None:
    checkin = CheckIn.objects.filter(
        organization=web_demo.organization,
        kind=CheckInKind.PULSE_SURVEY,
        answered_at__isnull=True,
    ).first()
    assert checkin is not None
    before = Response.objects.count()

    phone.goto(f"/c/{checkin_token(checkin)}/")
    step_count = int(phone.locator("progress.steps").get_attribute("max"))
    assert step_count >= 3
    for number in range(1, step_count + 1):
        assert (
            phone.locator("#step-progress")
            .get_by_text(f"Step {number} of {step_count}")
            .is_visible()
        )
        _no_sideways_scroll(phone)
        screenshot(phone, f"survey-step-{number}-375")
        if number == 2:
            # Back and forth keeps what was chosen on this step
            phone.locator("fieldset").first.locator("input[type=radio]").nth(1).check()
            with phone.expect_navigation():
                phone.get_by_role("button", name="Back").click()
            assert (
                phone.locator("#step-progress").get_by_text(f"Step 1 of {step_count}").is_visible()
            )
            with phone.expect_navigation():
                phone.get_by_role("button", name="Next").click()
            assert phone.locator("fieldset").first.locator("input[type=radio]").nth(1).is_checked()
        for fieldset in phone.locator("fieldset").all():
            fieldset.locator("input[type=radio]").last.check()
        # Each button posts the form: wait for the next page before looking at it.
        if number < step_count:
            with phone.expect_navigation():
                phone.get_by_role("button", name="Next").click()
        else:
            assert Response.objects.count() == before
            with phone.expect_navigation():
                phone.get_by_role("button", name="Send my answers").click()
    assert phone.get_by_role("heading").first.is_visible()
    assert Response.objects.count() == before + 1
    _no_sideways_scroll(phone)
