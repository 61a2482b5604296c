"""The scorecard grid and the plan page's progress burn-up in a real browser, at 1366 px and at
375 px: reached from the navigation, no sideways scrolling on a phone (the grid becomes a stack
of cards), the burn-up's canvas drawn, and no serious or critical axe-core violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders import WebDemo, build_web_demo
from tests.web.browser import assert_accessible, committed_world, log_in, screenshot

pytestmark = pytest.mark.browser

# Non-transparent pixels of the burn-up canvas: above zero once Chart.js has drawn on it.
DRAWN_PIXELS = """() => {
  const canvas = document.getElementById("burnup-canvas");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) count += 1; }
  return count;
}"""
SCROLL_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from committed_world(django_db_blocker, build_web_demo)


def plan_path(demo: WebDemo) -> str:
    return f"/o/demo/plans/{demo.transformation.pk}/"


def test_a_change_agent_opens_the_grid_from_the_navigation_and_a_team_from_it(
    page: Any, demo: WebDemo
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "agent")
    page.goto("/o/demo/findings/")
    with page.expect_navigation():
        page.get_by_role("link", name="Scorecard", exact=True).click()

    assert page.url.endswith("/o/demo/scorecard/")
    grid = page.locator("table.scorecard-grid")
    assert grid.is_visible()
    assert page.locator(".scorecard-grid tbody tr").count() >= 6
    assert "stream-aligned teams" in page.locator(".scorecard-totals").inner_text()
    assert page.evaluate(SCROLL_WIDTH) <= 1366
    assert_accessible(page, where="scorecard grid at 1366 px")
    screenshot(page, "scorecard-grid")
    first = page.locator(".scorecard-grid tbody th a").first
    name = first.inner_text()
    with page.expect_navigation():
        first.click()
    assert "/o/demo/teams/" in page.url
    assert page.get_by_role("heading", name=name, level=1).is_visible()


def test_the_grid_is_a_readable_stack_on_a_phone(phone: Any, demo: WebDemo) -> None:
    log_in(phone, "member")
    phone.goto("/o/demo/scorecard/")

    assert phone.evaluate(SCROLL_WIDTH) <= 375
    first_cell = phone.locator(".scorecard-grid tbody td.cell").first
    assert first_cell.evaluate("cell => getComputedStyle(cell).display") == "block"
    # Each cell names its check, as the hidden header row would.
    assert first_cell.evaluate("cell => getComputedStyle(cell, '::before').content").startswith(
        '"Has a DevOps buddy'
    )
    assert_accessible(phone, where="scorecard grid at 375 px")
    screenshot(phone, "scorecard-grid-phone")


def test_the_plan_page_draws_the_burn_up_on_a_wide_screen(page: Any, demo: WebDemo) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "leader")
    page.goto(plan_path(demo))

    page.wait_for_selector('#burnup-canvas[data-drawn="true"]')
    assert page.evaluate(DRAWN_PIXELS) > 0
    assert page.evaluate(SCROLL_WIDTH) <= 1366
    page.get_by_text("The numbers").click()
    assert page.locator(".burnup-table tbody tr").count() >= 4
    screenshot(page, "plan-burn-up")


def test_the_plan_page_burn_up_fits_a_phone(phone: Any, demo: WebDemo) -> None:
    log_in(phone, "agent")
    phone.goto(plan_path(demo))

    phone.wait_for_selector('#burnup-canvas[data-drawn="true"]')
    assert phone.evaluate(DRAWN_PIXELS) > 0
    assert phone.locator("#burnup-canvas").bounding_box()["width"] <= 375
    phone.get_by_text("The numbers").click()
    assert phone.evaluate(SCROLL_WIDTH) <= 375
    screenshot(phone, "plan-burn-up-phone")
