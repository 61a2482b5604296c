"""The team page in a real browser: a leader opens it from the graph's team panel and reads it
on a phone without sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from tests.builders import WebDemo, build_web_demo
from tests.web.browser import committed_world, log_in, screenshot
from transform.readiness.services import readiness_nightly

pytestmark = pytest.mark.browser


def build_team_demo() -> WebDemo:
    built = build_web_demo()
    readiness_nightly(at=timezone.now())
    return built


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from committed_world(django_db_blocker, build_team_demo)


def test_the_graph_panel_opens_the_team_page(page: Any, demo: WebDemo) -> None:
    log_in(page, "leader")
    page.goto("/o/demo/graph/?team=search")
    with page.expect_navigation():
        page.locator('a[href="/o/demo/teams/search/"]').first.click()

    assert page.url.endswith("/o/demo/teams/search/")
    assert page.get_by_role("heading", name="People", level=2).is_visible()
    assert page.locator(".team-scorecard li").count() == 5
    assert page.get_by_role("table", name="Readiness of").is_visible()


def test_the_team_page_fits_a_phone(phone: Any, demo: WebDemo) -> None:
    log_in(phone, "leader")
    phone.goto("/o/demo/teams/search/")

    assert phone.get_by_role("heading", name="Scorecard", level=2).is_visible()
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375
    screenshot(phone, "team-page-phone")
