"""Dragging on the plan in a real browser (transform/static/web/plan.js): a change agent drags a
timeline bar and the milestone is rescheduled, drags a board card onto a column the workflow
forbids and is told why, then onto an allowed one and its status changes; the plan, board and
milestone pages fit a 375 px phone without scrolling sideways."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.builders import WebDemo
from tests.web.browser import assert_accessible, log_in, screenshot
from transform.models import EventKind, Milestone, MilestoneStatus
from transform.plans.workflow import ALLOWED_TRANSITIONS
from transform.web.timeline import ZOOMS

pytestmark = pytest.mark.browser


def plan_path(demo: WebDemo, *, board: bool = False, query: str = "") -> str:
    return f"/o/demo/plans/{demo.transformation.pk}/{'board/' if board else ''}{query}"


def drag(page: Any, source: Any, target: Any) -> None:
    """Press on ``source``, move to ``target`` in small steps, release: as a hand would."""
    start, end = source.bounding_box(), target.bounding_box()
    assert start is not None
    assert end is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 40, steps=8)
    page.mouse.up()


def give_reason(page: Any, reason: str) -> None:
    """Answer the page's "why?" dialog (plan.js askReason)."""
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox").fill(reason)
    dialog.get_by_role("button", name="Save").click()


def test_an_agent_drags_a_timeline_bar_and_the_milestone_is_rescheduled(
    page: Any, web_demo: WebDemo
):
    from playwright.sync_api import expect

    milestone = Milestone.objects.get(pk=web_demo.started.pk)
    assert milestone.forecast_due is not None
    log_in(page, "agent")
    page.goto(plan_path(web_demo, query="?zoom=month"))
    bar = page.locator(f'.gantt-row[data-id="{milestone.pk}"] .bar-forecast')
    box = bar.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 3.5 * ZOOMS["month"], y, steps=4)
    page.mouse.move(x + 7 * ZOOMS["month"], y, steps=4)
    new_due = (milestone.forecast_due + dt.timedelta(days=7)).isoformat()
    expect(page.locator(".drag-label")).to_contain_text(f"→ {new_due} (+7 d)")
    page.mouse.up()
    give_reason(page, "The DBA freeze lasts a week longer.")

    expect(page.locator("#gantt-status")).to_contain_text(
        f"is now forecast to be done on {new_due}"
    )
    moved = Milestone.objects.get(pk=milestone.pk)
    assert moved.forecast_due is not None
    assert moved.forecast_due.isoformat() == new_due
    event = moved.events.filter(kind=EventKind.RESCHEDULED).order_by("-id").first()
    assert event is not None
    assert event.reason == "The DBA freeze lasts a week longer."
    # The rows were reloaded from the server: the bar now carries the new due date.
    expect(page.locator(f'.gantt-row[data-id="{milestone.pk}"] .bar-forecast')).to_have_attribute(
        "data-due", new_due
    )
    screenshot(page, "plan-timeline-dragged")
    assert_accessible(page, where="plan timeline")


def test_an_agent_drags_a_board_card_between_status_columns(page: Any, web_demo: WebDemo):
    from playwright.sync_api import expect

    log_in(page, "agent")
    page.goto(plan_path(web_demo, board=True))
    card = page.locator(f'.board-card[data-id="{web_demo.started.pk}"]')

    drag(page, card, page.locator('.board-column[data-status="planned"]'))

    expect(page.locator("#board-status")).to_contain_text("cannot go from in progress to planned")
    assert Milestone.objects.get(pk=web_demo.started.pk).status == MilestoneStatus.IN_PROGRESS

    drag(page, card, page.locator('.board-column[data-status="at_risk"]'))
    give_reason(page, "Two people are on leave.")

    expect(page.locator("#board-status")).to_contain_text("is now at risk")
    at_risk = page.locator('.board-column[data-status="at_risk"]')
    expect(at_risk.get_by_role("link", name=web_demo.started.title)).to_be_visible()
    moved = Milestone.objects.get(pk=web_demo.started.pk)
    assert moved.status == MilestoneStatus.AT_RISK
    assert moved.status_reason == "Two people are on leave."
    screenshot(page, "plan-board-dragged")
    assert_accessible(page, where="plan board")


def test_a_drop_after_the_session_expired_is_not_taken_for_success(page: Any, web_demo: WebDemo):
    from playwright.sync_api import expect

    # Whatever the other tests of this module left it at: a column the workflow allows.
    status = Milestone.objects.get(pk=web_demo.started.pk).status
    target = ALLOWED_TRANSITIONS[status][-1]
    log_in(page, "agent")
    page.goto(plan_path(web_demo, board=True))
    card = page.locator(f'.board-card[data-id="{web_demo.started.pk}"]')
    # The session ends behind the page's back (its CSRF cookie stays): the move is redirected
    # to the sign-in page, which answers 200.
    kept = [cookie for cookie in page.context.cookies() if cookie["name"] != "sessionid"]
    page.context.clear_cookies()
    page.context.add_cookies(kept)

    drag(page, card, page.locator(f'.board-column[data-status="{target}"]'))
    if target in {MilestoneStatus.AT_RISK, MilestoneStatus.BLOCKED}:
        give_reason(page, "Two people are on leave.")

    expect(page.locator("#board-status")).to_contain_text("your session has expired")
    before = page.locator(f'.board-column[data-status="{status}"]')
    expect(before.get_by_role("link", name=web_demo.started.title)).to_be_visible()
    after = page.locator(f'.board-column[data-status="{target}"]')
    expect(after.get_by_role("link", name=web_demo.started.title)).to_have_count(0)
    assert Milestone.objects.get(pk=web_demo.started.pk).status == status


@pytest.mark.parametrize("which", ["plan", "board", "milestone"])
def test_the_plan_pages_do_not_scroll_sideways_on_a_phone(
    phone: Any, web_demo: WebDemo, which: str
):
    log_in(phone, "agent")
    paths = {
        "plan": plan_path(web_demo, query="?zoom=week"),
        "board": plan_path(web_demo, board=True),
        "milestone": f"/o/demo/milestones/{web_demo.started.pk}/",
    }
    phone.goto(paths[which])

    assert phone.locator("h1").count() == 1
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{which}: {width} px wide"
    if which == "plan":
        # The chart scrolls inside its own box instead.
        inner = phone.evaluate("document.getElementById('timeline-chart').scrollWidth")
        assert inner > 375
    screenshot(phone, f"plan-{which}-phone")


def test_a_cancelled_reason_moves_nothing_and_says_why(page: Any, web_demo: WebDemo):
    from playwright.sync_api import expect

    # In progress whatever the other tests of this module left: at risk then asks why.
    status, target = MilestoneStatus.IN_PROGRESS, MilestoneStatus.AT_RISK
    Milestone.objects.filter(pk=web_demo.started.pk).update(status=status)
    log_in(page, "agent")
    page.goto(plan_path(web_demo, board=True))
    card = page.locator(f'.board-card[data-id="{web_demo.started.pk}"]')

    drag(page, card, page.locator(f'.board-column[data-status="{target}"]'))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("textbox")).to_be_focused()
    screenshot(page, "plan-board-reason-dialog")
    assert_accessible(page, where="plan board reason dialog")
    page.keyboard.press("Escape")

    expect(page.locator("#board-status")).to_contain_text("Not moved: say why")
    expect(dialog).to_be_hidden()
    assert Milestone.objects.get(pk=web_demo.started.pk).status == status
