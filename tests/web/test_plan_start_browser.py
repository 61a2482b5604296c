"""A change agent starts a playbook from a finding in a real browser: the preview shows the
milestones with owners by role, one owner is changed, and confirming lands on the new plan."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.builders import AGENT, LEADER, MANAGER, WebDemo
from tests.web.browser import log_in, screenshot
from transform.models import Transformation

pytestmark = pytest.mark.browser


def test_a_change_agent_starts_a_playbook_from_a_finding_with_owners_by_role(
    page: Any, web_demo: WebDemo
) -> None:
    log_in(page, "agent")
    page.goto("/o/demo/findings/?kind=missing_devops_buddy")
    start = page.locator("details.start-playbook").first
    start.locator("summary").click()
    start.get_by_role("button", name="Start playbook").click()

    assert page.get_by_role("heading", name=re.compile("Preview: 13 milestones")).is_visible()
    first_owner = page.get_by_label("Owner of “Map who does the infrastructure work for each squad")
    assert first_owner.input_value() == AGENT
    manager_owned = page.locator('select[name="owner_1"]')
    assert manager_owned.input_value() == MANAGER
    assert page.locator('select[name="owner_3"]').input_value() == LEADER
    manager_owned.select_option(AGENT)
    screenshot(page, "plan-start-preview")
    page.get_by_role("button", name="Start playbook").click()

    page.wait_for_url(re.compile(r"/o/demo/plans/\d+/$"))
    started = Transformation.objects.latest("id")
    assert page.url.endswith(f"/o/demo/plans/{started.pk}/")
    assert page.get_by_role("heading", name=started.title).first.is_visible()
    owners = {m.position: m.owner.email for m in started.milestones.select_related("owner")}
    assert owners[0] == AGENT
    assert owners[1] == AGENT  # changed in the preview
    assert owners[2] == MANAGER
    assert owners[3] == LEADER
