"""The milestone page's topology-change forms on a phone (375 px): a refused merge shows its
problem next to the field and in view, nothing scrolls sideways, and axe-core finds no serious
or critical WCAG 2.1 AA violation with a form open."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import WebDemo
from tests.web.browser import assert_accessible, log_in, screenshot
from transform.models import MilestoneChange

pytestmark = pytest.mark.browser

SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def test_a_refused_merge_reads_next_to_its_field_on_a_phone(phone: Any, web_demo: WebDemo):
    log_in(phone, "agent")
    phone.goto(f"/o/demo/milestones/{web_demo.started.pk}/")
    merge = phone.locator("#change-kind-merge_teams")
    merge.locator("summary").click()
    merge.get_by_label("First team").fill("Database Admin")
    merge.get_by_label("Second team").fill("Networking")
    merge.get_by_label("Into: one of them, or a new team's name").fill("Infra")
    with phone.expect_navigation():
        merge.get_by_role("button", name="Attach “Merge teams”").click()

    problem = phone.locator("#change-merge_teams-team_1-error")
    assert problem.is_visible()
    assert "No team called 'Database Admin'" in problem.inner_text()
    assert phone.locator("#change-error").is_visible()
    assert phone.evaluate("document.activeElement.id") == "change-error"
    assert merge.get_by_label("First team").input_value() == "Database Admin"
    assert not phone.evaluate(SIDEWAYS)
    assert MilestoneChange.objects.filter(milestone=web_demo.started).count() == 0
    screenshot(phone, "change-form-phone-refused")
    assert_accessible(phone, where="milestone page, merge form refused, 375 px")

    phone.locator("#change-kind-split_team summary").click()
    assert not phone.evaluate(SIDEWAYS)
    assert_accessible(phone, where="milestone page, split form open, 375 px")
