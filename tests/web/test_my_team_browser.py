""" "My team" on a phone (issue 17): Remove asks for confirmation, Undo brings the member back,
and My check-ins is in the navigation; no page scrolls sideways at 375 px."""

from __future__ import annotations

from typing import Any

import pytest

from teams.models import Membership
from tests.builders import WebDemo
from tests.web.browser import log_in, screenshot

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width} px wide"


def test_a_manager_removes_a_member_after_confirming_and_undoes_it(
    phone: Any, web_demo: WebDemo
) -> None:
    log_in(phone, "manager")
    phone.goto("/o/demo/my-team/")
    _no_sideways_scroll(phone)
    section = phone.locator("#team-search")
    row = section.locator("table.members tbody tr").first
    name = row.locator("th").inner_text().splitlines()[0].strip()
    before = Membership.objects.filter(team__slug="search", team__organization__slug="demo").count()

    with phone.expect_navigation():
        row.get_by_role("link", name="Remove…").click()
    assert phone.get_by_role("heading", name=f"Remove {name} from Search Squad?").is_visible()
    _no_sideways_scroll(phone)
    screenshot(phone, "my-team-confirm-375")
    count = Membership.objects.filter(team__slug="search", team__organization__slug="demo").count()
    assert count == before

    with phone.expect_navigation():
        phone.get_by_role("button", name="Yes, remove").click()
    assert phone.get_by_text(f"{name} left Search Squad.").first.is_visible()
    screenshot(phone, "my-team-undo-375")
    count = Membership.objects.filter(team__slug="search", team__organization__slug="demo").count()
    assert count == before - 1

    with phone.expect_navigation():
        phone.get_by_role("button", name="Undo").click()
    assert phone.get_by_text(f"Undone: {name} is back in Search Squad.").is_visible()
    count = Membership.objects.filter(team__slug="search", team__organization__slug="demo").count()
    assert count == before

    phone.goto("/o/demo/my-checkins/")
    assert phone.get_by_role("heading", name="My check-ins", level=1).is_visible()
    _no_sideways_scroll(phone)
    screenshot(phone, "my-checkins-375")
