"""The audit trail page in a real browser: a leader filters it, and it fits a phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from teams.services import history_user_set
from tests.builders import WebDemo, build_web_demo
from tests.web.browser import committed_world, log_in, screenshot
from transform.models import CheckinSettings

pytestmark = pytest.mark.browser


def build_audit_demo() -> WebDemo:
    """The web demo with its check-in settings changed by the agent (min_group_size 5 -> 7)."""
    built = build_web_demo(answers=False)
    row = CheckinSettings.objects.create(organization=built.organization)
    row.min_group_size = 7
    row.webhook_url = "https://hooks.example.com/services/a-very-long-secret-path-" + "x" * 80
    history_user_set(row, get_user_model().objects.get(username="agent"))
    row.save()
    return built


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from committed_world(django_db_blocker, build_audit_demo)


def test_a_leader_filters_the_trail_down_to_the_checkin_settings(page: Any, demo: WebDemo):
    log_in(page, "leader")
    page.goto("/o/demo/audit/")
    assert page.get_by_role("heading", name="Audit trail", level=1).is_visible()
    page.get_by_label("What").select_option("checkin_settings")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert "object_type=checkin_settings" in page.url
    rows = page.locator(".audit-table tbody tr")
    assert rows.count() == 2  # created, then changed
    changed = rows.filter(has_text="changed")
    assert "Min group size: 5 → 7" in " ".join(changed.inner_text().split())
    assert "a-very-long-secret-path" not in page.content()
    assert page.get_by_role("link", name="Download CSV").get_attribute("href") == (
        "/api/v1/orgs/demo/audit.csv?object_type=checkin_settings"
    )


def test_the_trail_fits_a_phone(phone: Any, demo: WebDemo):
    log_in(phone, "leader")
    phone.goto("/o/demo/audit/")
    assert phone.locator(".audit-table tbody tr").count() > 5
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 380
    # Stacked: each entry is a card of its cells, one under the other.
    display = phone.evaluate(
        "() => getComputedStyle(document.querySelector('.audit-table tbody td')).display"
    )
    assert display == "block"
    screenshot(phone, "audit-phone")
