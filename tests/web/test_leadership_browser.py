"""The leadership dashboard and its printable report in a real browser: a leader opens them,
the charts render, the heat map shows, and the dashboard works at phone width."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from tests.builders import WebDemo, build_web_demo
from tests.web.browser import committed_world, log_in, screenshot
from transform.readiness.services import readiness_nightly

pytestmark = pytest.mark.browser


def build_dashboard_demo() -> WebDemo:
    """The web demo with tonight's readiness snapshots stored."""
    built = build_web_demo()
    readiness_nightly(at=timezone.now())
    return built


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from committed_world(django_db_blocker, build_dashboard_demo)


def test_a_leader_sees_charts_the_heat_map_and_the_business_case(page: Any, demo: WebDemo):
    log_in(page, "leader")
    assert page.url.endswith("/o/demo/leadership/")

    assert page.get_by_role("heading", name="Leadership dashboard", level=1).is_visible()
    heat_map = page.get_by_role("table", name="Readiness by team and survey period")
    assert heat_map.is_visible()
    search = heat_map.get_by_role("row").filter(has_text="Search Squad")
    assert heat_map.get_by_text("(search)").count() == 0  # names, not slugs
    assert search.locator("td.lead-cell-score").count() == 1
    assert page.locator("canvas[data-kpi]").count() == 9
    # Chart.js drew into the canvas (it sets the drawing size on the element it renders).
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-kpi]')]"
        ".every(c => window.Chart && window.Chart.getChart(c))"
    )
    assert page.get_by_text("Placeholder assumptions.").is_visible()


def test_changing_an_assumption_recomputes_the_business_case(page: Any, demo: WebDemo):
    log_in(page, "leader")

    page.get_by_label("Engineer cost per hour").fill("80")
    page.get_by_label("Currency").fill("USD")
    with page.expect_navigation():
        page.get_by_role("button", name="Recompute").click()

    assert "engineer_cost_per_hour=80" in page.url
    assert page.get_by_text("Placeholder assumptions.").count() == 0
    assert page.locator(".lead-figures dd").filter(has_text="USD").count() >= 1


def test_the_printable_report_has_a_print_button_and_no_charts(page: Any, demo: WebDemo):
    log_in(page, "leader")
    with page.expect_navigation():
        page.get_by_role("link", name="Printable report").click()

    assert page.url.endswith("/o/demo/leadership/report/")
    page.evaluate(
        "() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }"
    )
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("() => window.__printed") == 1
    assert page.locator("canvas").count() == 0
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.get_by_role("heading", name="Business case").is_visible()
    screenshot(page, "leadership-report-print")


def test_the_dashboard_fits_a_phone(phone: Any, demo: WebDemo):
    log_in(phone, "leader")

    assert phone.get_by_role("heading", name="Leadership dashboard").is_visible()
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 380
    # The heat map opens on its newest periods (where the live readings are), not on the oldest
    # columns, and the team column stays in view beside them.
    heat_map = phone.get_by_role("table", name="Readiness by team and survey period")
    newest = heat_map.get_by_role("columnheader").last
    team = heat_map.get_by_role("rowheader").first
    assert newest.evaluate("(cell) => cell.getBoundingClientRect().right") <= 375
    assert team.evaluate("(cell) => cell.getBoundingClientRect().left") >= 0
    phone.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-kpi]')]"
        ".every(c => window.Chart && window.Chart.getChart(c))"
    )
    screenshot(phone, "leadership-phone")
