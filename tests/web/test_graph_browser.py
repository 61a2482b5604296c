"""The graph and findings pages in a real browser: the drawing, the team panel, the as-of date
and the findings on a phone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.builders import WebDemo
from tests.web.browser import log_in, screenshot

pytestmark = pytest.mark.browser


def wait_for_drawing(page: Any) -> None:
    page.wait_for_selector("#org-graph[data-state='ready']")


def test_the_graph_is_drawn_with_a_list_of_teams(page: Any, web_demo: WebDemo) -> None:
    log_in(page, "member")
    page.goto("/o/demo/graph/")
    wait_for_drawing(page)

    assert page.locator("#org-graph canvas").count() >= 1
    assert page.get_by_role("link", name="Search Squad").is_visible()
    assert page.evaluate("window.transformGraph.nodes('.team').length") == 12
    assert page.evaluate("window.transformGraph.edges('.on-silo').length") == 16
    screenshot(page, "graph")


def test_clicking_a_team_opens_its_panel(page: Any, web_demo: WebDemo) -> None:
    log_in(page, "member")
    page.goto("/o/demo/graph/")
    wait_for_drawing(page)

    page.get_by_role("link", name="Database Administration").click()

    panel = page.locator("#team-panel")
    panel.get_by_role("heading", name="Database Administration").wait_for()
    assert panel.get_by_text("Engineering manager").is_visible()
    assert panel.get_by_role("heading", name="Findings", exact=False).count() == 1
    assert page.url.endswith("/o/demo/graph/")  # htmx swapped the panel in; no page load

    # The drawing's own nodes open the panel too.
    # A function returning nothing: returning the Cytoscape element would make Playwright
    # serialise its whole graph of objects (seconds).
    page.evaluate("() => { window.transformGraph.getElementById('team:search').emit('tap'); }")
    panel.get_by_role("heading", name="Search Squad").wait_for()


def test_the_as_of_date_and_the_filters_change_the_data(page: Any, web_demo: WebDemo) -> None:
    log_in(page, "member")
    page.goto("/o/demo/graph/")
    wait_for_drawing(page)
    long_ago = (timezone.now() - dt.timedelta(days=400)).date().isoformat()

    page.get_by_label("As of").fill(long_ago)

    page.locator("#graph-empty").wait_for(state="visible")
    assert page.evaluate("window.transformGraph.nodes().length") == 0
    assert f"as_of={long_ago}" in page.url

    page.get_by_label("As of").fill("")
    page.get_by_label("Team type").select_option("ops_silo")
    page.wait_for_function("window.transformGraph.nodes('.team').length === 3")
    # The table is redrawn from the same data right after the drawing: wait for it too.
    expect(page.locator("#team-rows tr")).to_have_count(3)
    expect(page.locator("#graph-empty")).to_be_hidden()


def test_the_findings_read_well_on_a_phone(phone: Any, web_demo: WebDemo) -> None:
    log_in(phone, "agent")
    phone.goto("/o/demo/findings/")

    assert phone.get_by_role("heading", name="Findings", level=1).is_visible()
    assert phone.locator(".finding").count() == 10
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways ({width}px wide)"
    phone.locator("details.start-playbook summary").first.click()
    assert phone.get_by_label("Lead change agent (e-mail)").first.is_visible()
    screenshot(phone, "findings-phone")
