"""The leadership report prints on one A4 page (issue 17): Chromium prints it to PDF with
Playwright's ``page.pdf(format="A4")`` and the PDF has exactly one page; the progress bars, the
heat map and the KPI sparklines (server-drawn SVG, no JavaScript needed) are in the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from tests.builders import WebDemo, build_web_demo
from tests.web.browser import SCREENSHOTS, committed_world, log_in, screenshot
from transform.readiness.services import readiness_nightly

pytestmark = pytest.mark.browser

# A page object of a PDF, not the page tree ("/Type /Pages").
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def build_report_demo() -> WebDemo:
    """The web demo with tonight's readiness snapshots stored."""
    built = build_web_demo()
    readiness_nightly(at=timezone.now())
    return built


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from committed_world(django_db_blocker, build_report_demo)


def test_the_report_prints_on_one_a4_page_with_charts_and_heat_map(
    page: Any, demo: WebDemo
) -> None:
    log_in(page, "leader")
    page.goto("/o/demo/leadership/report/")

    assert page.locator("#lead-print").is_visible()
    assert page.locator(".lead-bar span").count() >= 1  # the progress bar
    heat = page.locator("#report-heat-map")
    assert heat.is_visible()
    assert heat.locator("tbody tr").count() >= 2
    assert heat.locator("td.lead-cell-score").count() >= 1
    sparks = page.locator("svg.report-spark")
    assert sparks.count() == 9
    assert page.locator("svg.report-spark polyline").count() >= 1
    assert page.locator("canvas").count() == 0
    screenshot(page, "leadership-report-screen")

    page.emulate_media(media="print")
    page.set_viewport_size({"width": 718, "height": 1047})  # A4 less 1 cm margins, at 96 dpi
    screenshot(page, "leadership-report-a4")
    pdf = page.pdf(format="A4", print_background=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "leadership-report-a4.pdf").write_bytes(pdf)

    assert pdf.startswith(b"%PDF")
    assert len(PAGE_OBJECT.findall(pdf)) == 1
    # printing hides the site's navigation and the Print button
    assert not page.locator("#lead-print").is_visible()
