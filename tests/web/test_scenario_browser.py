"""The scenario page in a real browser: current and target drawn with the same positions, the
legend's highlights on the drawn elements, and no sideways scroll on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import WebDemo
from tests.web.browser import SCREENSHOTS, log_in, screenshot
from transform.demo import MERGE_SILOS
from transform.plans.changes import milestone_change_add

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def merge_demo(web_demo: WebDemo, django_db_blocker: Any) -> WebDemo:
    """The web demo with the silos' merge attached to its started milestone."""
    with django_db_blocker.unblock():
        milestone_change_add(milestone=web_demo.started, change=MERGE_SILOS, actor=None)
    return web_demo


def _open(page: Any) -> None:
    log_in(page, "member")
    page.goto("/o/demo/scenario/")
    page.wait_for_selector("#scenario-after[data-state='ready']")


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, f"the page scrolls sideways ({width}px wide in {inner}px)"


def test_current_and_target_share_positions_and_show_the_legends_highlights(
    page: Any, merge_demo: WebDemo
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    _open(page)

    same = page.evaluate(
        """() => {
          const s = window.transformScenario;
          const kept = s.target.nodes('.team').filter(n => s.current.getElementById(n.id()).length);
          return kept.length > 0 && kept.every(n => {
            const p = s.current.getElementById(n.id()).position(), q = n.position();
            return p.x === q.x && p.y === q.y;
          });
        }"""
    )
    assert same
    count = "(sel) => window.transformScenario.{}.elements(sel).length"
    assert page.evaluate(count.format("target"), "node.added") == 1
    assert page.evaluate(count.format("current"), "node.removed") == 3
    assert page.evaluate(count.format("current"), "node.affected") == 3
    assert page.evaluate(count.format("target"), "node.affected") == 1
    assert page.evaluate(count.format("current"), "edge.removed") > 0
    assert page.evaluate(count.format("target"), "edge.added") > 0
    # Both drawings are shown at the same zoom and pan, so they compare by eye.
    assert page.evaluate(
        "window.transformScenario.current.zoom() === window.transformScenario.target.zoom()"
    )
    for mark in ("added", "removed", "changed", "affected"):
        assert page.locator(f".scenario-legend [data-mark='{mark}']").count() >= 1
    assert page.locator("#scenario-affected").is_visible()
    _no_sideways_scroll(page)
    screenshot(page, "scenario-1366")
    page.locator(".scenario-pair").screenshot(path=str(SCREENSHOTS / "scenario-1366-drawings.png"))


def test_zooming_one_drawing_zooms_both(page: Any, merge_demo: WebDemo) -> None:
    _open(page)
    zoom = page.evaluate("window.transformScenario.target.zoom()")

    page.get_by_role("button", name="Zoom in").click()

    assert page.evaluate("window.transformScenario.current.zoom()") > zoom
    assert page.evaluate("window.transformScenario.target.zoom()") > zoom


def test_the_scenario_page_does_not_scroll_sideways_on_a_phone(
    phone: Any, merge_demo: WebDemo
) -> None:
    _open(phone)

    _no_sideways_scroll(phone)
    assert phone.get_by_label("Transformation").is_visible()
    assert phone.get_by_role("button", name="Show").is_visible()
    box = phone.locator("#scenario-after").bounding_box()
    assert box["width"] >= 375 - 48
    screenshot(phone, "scenario-phone")
