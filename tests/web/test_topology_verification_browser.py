"""The topology verification round trip in a real browser (issue 12): the manager opens the
check-in link, sees the team's record, proposes a correction, accepts it on "My team", and the
graph shows the change, recorded in the history with the manager as its author."""

from __future__ import annotations

from typing import Any

import pytest

from teams import models
from tests.builders import WebDemo
from tests.web.browser import log_in, screenshot
from transform.models import CheckIn, CheckInKind
from transform.rhythm.links import checkin_token

pytestmark = pytest.mark.browser

LEAVING = "fatima.zahra@democorp.example"


def test_a_manager_proposes_a_correction_and_accepts_it_on_my_team(
    page: Any, web_demo: WebDemo
) -> None:
    checkin = CheckIn.objects.filter(
        organization=web_demo.organization,
        kind=CheckInKind.TOPOLOGY_VERIFICATION,
        team__slug="search",
        answered_at__isnull=True,
    ).first()
    assert checkin is not None

    page.goto(f"/c/{checkin_token(checkin)}/")
    record = page.locator("#record")
    assert record.get_by_text("On record for Search Squad").is_visible()
    assert record.locator("tr", has_text="Fatima Zahra").is_visible()
    assert record.get_by_text("DevOps buddy: Amara Nwosu").is_visible()
    page.get_by_label("No, something has changed").check()
    page.locator("#corrections tr", has_text="Fatima Zahra").locator("input[type=checkbox]").check()
    screenshot(page, "topology-verification-form")
    page.get_by_role("button", name="Send my answers").click()
    assert page.get_by_role("heading").first.is_visible()
    assert page.locator("#record").count() == 0  # the thank-you page

    log_in(page, "manager")
    page.goto("/o/demo/my-team/")
    section = page.locator("#team-search")
    assert section.get_by_text("changes proposed", exact=True).is_visible()
    assert section.locator(".proposal").get_by_text(f"Remove {LEAVING}").is_visible()
    section.get_by_role("button", name="Accept and apply").click()
    assert page.get_by_text("The proposed changes to Search Squad are applied.").is_visible()

    page.goto("/o/demo/graph/?team=search")
    panel = page.locator("#team-panel")
    assert panel.get_by_text("Jonas Weber").first.is_visible()
    assert panel.get_by_text(LEAVING).count() == 0
    screenshot(page, "topology-verification-accepted")
    # The demo was loaded today, so the graph "as of" an earlier day has no search squad yet:
    # its history is read from the history tables instead.
    removed = models.Membership.history.filter(person__email=LEAVING, history_type="-").get()
    assert removed.history_user is not None
    assert removed.history_user.username == "manager"
