"""Logging in, each role's starting page, and what an outsider cannot see, in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.builders import WebDemo
from tests.web.browser import log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("demo", "/o/demo/findings/"),
        ("agent", "/o/demo/findings/"),
        ("manager", "/o/demo/my-team/"),
        ("leader", "/o/demo/leadership/"),
        ("member", "/o/demo/graph/"),
    ],
)
def test_each_role_lands_on_its_own_page(page: Any, web_demo: WebDemo, username, landing):
    log_in(page, username)

    assert page.url.endswith(landing)
    assert page.get_by_role("navigation", name="Main").is_visible()


def test_a_wrong_password_says_so_and_logs_nobody_in(page: Any, web_demo: WebDemo):
    log_in(page, "agent", password="not-it")

    assert "/accounts/login/" in page.url
    assert page.get_by_role("alert").is_visible()


def test_an_outsider_gets_not_found_for_another_organisations_pages(page: Any, web_demo):
    log_in(page, "outsider")

    response = page.goto("/o/demo/graph/")

    assert response.status == 404
    page.goto("/")
    assert page.url.endswith("/o/globex/findings/")


def test_pages_ask_for_a_login_first(page: Any, web_demo: WebDemo):
    page.goto("/o/demo/graph/")

    assert re.search(r"/accounts/login/\?next=/o/demo/graph/$", page.url)
    screenshot(page, "login")
