"""The plan, a milestone and "My team" in a real browser: a change agent changes a milestone's
status through the page and sees it move on the board; a manager's page on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import WebDemo
from tests.web.browser import log_in, screenshot

pytestmark = pytest.mark.browser


def test_an_agent_changes_a_milestones_status_and_the_board_shows_it(page: Any, web_demo: WebDemo):
    log_in(page, "agent")
    page.goto(f"/o/demo/plans/{web_demo.transformation.pk}/")
    page.get_by_role("link", name=web_demo.started.title).first.click()

    page.get_by_label("New status").select_option("at_risk")
    page.get_by_label("Reason").first.fill("The DBA team is on a freeze until Friday.")
    page.get_by_role("button", name="Change status").click()

    assert page.get_by_role("status").get_by_text("is now at risk").is_visible()
    assert page.locator("#milestone-status").inner_text() == "At risk"
    page.get_by_role("link", name="Board").first.click()
    column = page.locator('[data-status="at_risk"]')
    assert column.get_by_role("link", name=web_demo.started.title).is_visible()
    assert page.locator('[data-status="in_progress"]').get_by_text("None.").is_visible()


def test_the_plan_timeline_shows_bars_critical_milestones_and_today(page: Any, web_demo: WebDemo):
    log_in(page, "leader")
    page.goto(f"/o/demo/plans/{web_demo.transformation.pk}/")

    rows = page.locator(".gantt-row")
    assert rows.count() == 13
    assert page.locator(".gantt-row.is-critical").first.get_by_text("critical").is_visible()
    assert page.locator(".bar-planned").count() == 13
    assert page.locator(".bar-forecast").count() == 13
    box = page.locator(".gantt-row .bar-forecast").first.bounding_box()
    assert box is not None
    assert box["width"] > 2
    assert page.get_by_role("button", name="Change status").count() == 0
    screenshot(page, "plan-timeline")


def test_a_manager_uses_my_team_on_a_phone(phone: Any, web_demo: WebDemo):
    log_in(phone, "manager")

    assert phone.url.endswith("/o/demo/my-team/")
    assert phone.get_by_role("heading", name="My team", exact=True).is_visible()
    catalog = phone.locator("#team-catalog")
    assert catalog.get_by_text("Suppressed (fewer than").is_visible()
    search = phone.locator("#team-search")
    email = search.get_by_label("Person's e-mail").first
    email.fill("dana.kowalski@democorp.example")
    search.get_by_role("button", name="Add member").click()
    assert phone.get_by_role("status").get_by_text("joined").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    screenshot(phone, "my-team-phone")
