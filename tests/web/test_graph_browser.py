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


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, f"the page scrolls sideways ({width}px wide in {inner}px)"


def test_the_drawing_fills_the_width_with_stable_positions_and_zoom_controls(
    page: Any, web_demo: WebDemo
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "member")
    page.goto("/o/demo/graph/")
    wait_for_drawing(page)

    canvas = page.locator("#org-graph").bounding_box()
    content = page.locator("main").bounding_box() if page.locator("main").count() else None
    assert canvas["width"] > 900  # no more 640 px box: the content's width
    assert canvas["height"] >= 420
    if content is not None:
        assert canvas["width"] >= content["width"] * 0.85
    script = "JSON.stringify(window.transformGraph.nodes('.team').map(n => [n.id(), n.position()]))"
    first = page.evaluate(script)
    page.reload()
    wait_for_drawing(page)
    assert page.evaluate(script) == first  # the same topology is drawn the same every time

    zoom = page.evaluate("window.transformGraph.zoom()")
    page.get_by_role("button", name="Zoom in").click()
    zoomed_in = page.evaluate("window.transformGraph.zoom()")
    assert zoomed_in > zoom
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    assert page.evaluate("window.transformGraph.zoom()") < zoomed_in
    page.get_by_role("button", name="Fit", exact=True).click()
    assert abs(page.evaluate("window.transformGraph.zoom()") - zoom) < 0.01
    _no_sideways_scroll(page)
    screenshot(page, "graph-1366")


def test_focus_mode_shows_one_team_with_its_neighbours_and_show_all_returns(
    page: Any, web_demo: WebDemo
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "member")
    page.goto("/o/demo/graph/")
    wait_for_drawing(page)
    assert page.get_by_role("button", name="Focus").is_disabled()

    page.evaluate("() => { window.transformGraph.getElementById('team:dba').emit('tap'); }")
    page.get_by_role("button", name="Focus on Database Administration").click()

    expect(page.locator("#org-graph")).to_have_attribute("data-focus", "dba")
    neighbours = page.evaluate(
        "window.transformGraph.getElementById('team:dba').neighborhood('node.team').length"
    )
    shown = page.evaluate("window.transformGraph.nodes('.team').not('.faded').length")
    faded = page.evaluate("window.transformGraph.nodes('.team.faded').length")
    assert shown == neighbours + 1
    assert faded == 12 - shown
    assert faded > 0
    expect(page.locator("#graph-focus-status")).to_contain_text("Database Administration")
    screenshot(page, "graph-focus")

    page.get_by_role("button", name="Show all").click()
    assert page.evaluate("window.transformGraph.elements('.faded').length") == 0
    expect(page.locator("#org-graph")).not_to_have_attribute("data-focus", "dba")


def test_show_people_puts_counts_on_the_teams(page: Any, web_demo: WebDemo) -> None:
    log_in(page, "member")
    page.goto("/o/demo/graph/")
    wait_for_drawing(page)

    page.get_by_label("Show people").check()

    page.wait_for_function(
        "window.transformGraph.getElementById('team:search').data('label').startsWith('Search Squad · ')"
    )
    assert page.evaluate("window.transformGraph.nodes('.person').length") == 0


def test_the_graph_page_does_not_scroll_sideways_on_a_phone(phone: Any, web_demo: WebDemo) -> None:
    log_in(phone, "member")
    phone.goto("/o/demo/graph/")
    phone.wait_for_selector("#org-graph[data-state='ready']")

    _no_sideways_scroll(phone)
    canvas = phone.locator("#org-graph").bounding_box()
    assert canvas["width"] >= 375 - 48  # the full width, less the page's margins
    assert phone.get_by_role("button", name="Zoom in").is_visible()
    assert phone.get_by_role("button", name="Show all").is_visible()
    screenshot(phone, "graph-phone")


def test_a_page_opened_with_a_teams_panel_can_focus_on_it(page: Any, web_demo: WebDemo) -> None:
    log_in(page, "member")
    page.goto("/o/demo/graph/?team=search")
    wait_for_drawing(page)

    page.get_by_role("button", name="Focus on Search Squad").click()

    expect(page.locator("#org-graph")).to_have_attribute("data-focus", "search")
    assert (
        page.evaluate("window.transformGraph.getElementById('team:search').hasClass('faded')")
        is False
    )
