"""Issue 17's "done when" for the change agent, in a real browser: find the ops-silo finding,
start the matching playbook with owners by role, attach a merge with the milestone's form (team
pickers), preview it in the scenario, enact it, and see the new team's page and its scorecard
change. Screenshots of each step go to var/test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from teams.models import Team
from tests.builders import AGENT, MANAGER, WebDemo, build_web_demo
from tests.web.browser import committed_world, log_in, screenshot
from transform.models import MilestoneChange, Transformation

pytestmark = pytest.mark.browser

MERGE_TITLE = "Merge the silos into one platform team"


def _demo_without_a_plan() -> WebDemo:
    """The web demo before any transformation: the agent starts the first one."""
    demo = build_web_demo(answers=False)
    Transformation.objects.all().delete()
    return demo


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from committed_world(django_db_blocker, _demo_without_a_plan)


def _scorecard(page: Any) -> tuple[int, int]:
    heading = page.locator("#scorecard-heading").inner_text()
    found = re.search(r"(\d+) of (\d+) checks passed", heading)
    assert found, heading
    return int(found.group(1)), int(found.group(2))


def test_a_change_agent_goes_from_a_finding_to_an_enacted_merge(page: Any, world: WebDemo):
    log_in(page, "agent")

    # The finding: Database Administration is an ops silo that squads file tickets into.
    page.goto("/o/demo/findings/?kind=ops_silo")
    finding = (
        page.locator("li")
        .filter(has=page.locator("details.start-playbook"))
        .filter(has_text="Database Administration")
        .first
    )
    assert "unify-ops-silos" in finding.inner_text()
    with page.expect_navigation():
        finding.locator(".team-links").get_by_role("link", name="Database Administration").click()
    assert page.get_by_role("heading", name="Database Administration", level=1).is_visible()
    silo_passed, silo_judged = _scorecard(page)
    # An ops silo is not asked for a product owner; the merged platform team will be.
    assert page.locator('#scorecard li.check-na[data-check="product_owner"]').count() == 1
    assert page.locator("#scorecard h3", has_text="Ops silo").count() == 1
    screenshot(page, "journey-1-silo-team-page")
    page.go_back()

    # Start the matching playbook: the preview gives each milestone its owner by role.
    finding.locator("summary").click()
    with page.expect_navigation():
        finding.get_by_role("button", name="Start playbook").click()
    assert page.get_by_role("heading", name=re.compile("Preview: 13 milestones")).is_visible()
    assert page.locator('select[name="owner_0"]').input_value() == AGENT
    assert page.locator('select[name="owner_2"]').input_value() == MANAGER
    screenshot(page, "journey-2-start-preview")
    with page.expect_navigation():
        page.get_by_role("button", name="Start playbook").click()
    plan = Transformation.objects.get()
    assert page.url.endswith(f"/o/demo/plans/{plan.pk}/")

    # The merge milestone: attach the merge with the form, teams picked by name.
    with page.expect_navigation():
        page.get_by_role("link", name=MERGE_TITLE).first.click()
    merge = page.locator("#change-kind-merge_teams")
    merge.locator("summary").click()
    assert merge.get_by_label("First team").get_attribute("list") == "change-team-names"
    merge.get_by_label("First team").fill("Database Administration")
    merge.get_by_label("Second team").fill("Networking")
    merge.get_by_label("Third team (optional)").fill("Backend Operations")
    merge.get_by_label("Into: one of them, or a new team's name").fill("Infrastructure Platform")
    merge.get_by_label("Type of the merged team").select_option("platform")
    screenshot(page, "journey-3-merge-form")
    with page.expect_navigation():
        merge.get_by_role("button", name="Attach “Merge teams”").click()
    sentence = (
        "Merge Database Administration, Networking and Backend Operations into "
        "Infrastructure Platform (platform)"
    )
    changes = page.locator("section.changes")
    assert changes.get_by_text(sentence).is_visible()
    assert changes.get_by_text("Pending").first.is_visible()
    stored = MilestoneChange.objects.get()
    assert stored.change["teams"] == ["dba", "networking", "backend-ops"]
    assert stored.enacted_at is None
    milestone_url = page.url.split("#")[0]

    # Preview in scenario: the target has the new team, and the silo findings are resolved.
    with page.expect_navigation():
        page.get_by_role("link", name="Preview in scenario").click()
    assert f"transformation={plan.pk}" in page.url
    assert f"milestone={stored.milestone_id}" in page.url
    page.locator("#scenario-after canvas").first.wait_for()
    assert page.locator("#scenario-affected").get_by_text("Infrastructure Platform").is_visible()
    resolved = page.locator("#resolved-heading")
    found = re.search(r"Findings resolved \((\d+)\)", resolved.inner_text())
    assert found
    assert int(found.group(1)) >= 3
    screenshot(page, "journey-4-scenario-preview")
    page.go_back()
    assert page.url.split("#")[0] == milestone_url

    # Enact: the graph changes, the change reads as enacted by the agent.
    with page.expect_navigation():
        page.get_by_role("button", name="Enact 1 change").click()
    assert page.get_by_text("Enacted 1 change on the organisation graph").is_visible()
    assert page.locator("section.changes").get_by_text(re.compile("by Amara Nwosu")).is_visible()
    assert Team.objects.filter(slug="infrastructure-platform").exists()
    assert not Team.objects.filter(slug="dba").exists()
    assert page.get_by_text("No ops silo teams are left.").is_visible()  # an exit criterion met
    screenshot(page, "journey-5-enacted")

    # The new team's page: its people came from the silos, and its scorecard is another one.
    with page.expect_navigation():
        page.locator("section.changes").get_by_role("link", name="Infrastructure Platform").click()
    assert page.url.endswith("/o/demo/teams/infrastructure-platform/")
    assert page.get_by_role("heading", name="Infrastructure Platform", level=1).is_visible()
    assert page.get_by_text("Viktor Horvat").first.is_visible()
    screenshot(page, "journey-6-merged-team-page")
    passed, judged = _scorecard(page)
    assert (passed, judged) != (silo_passed, silo_judged)
    assert judged > silo_judged
    assert page.locator('#scorecard li.check-fail[data-check="product_owner"]').count() == 1
    assert page.locator("#scorecard").get_by_text("Missing product owner").is_visible()
    # The silo's own finding is gone with the silo; the plan's next milestones take it on.
    assert page.locator("#scorecard").get_by_text("ops silo (Database Administration)").count() == 0
    milestones = page.locator("#milestones-heading").locator("xpath=..")
    assert milestones.get_by_role("link", name=MERGE_TITLE).is_visible()
