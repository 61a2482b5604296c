"""Rescheduling and moving milestones from the web (transform/web/schedule_pages.py): the
milestone page's reschedule form, the timeline's drag endpoint and the board's drop endpoint,
who may use them, what they write, how a refusal reads; the timeline's arrows, zoom and links;
and the drawing's geometry without a database."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse

from teams.zones import organization_today
from tests.builders import WebDemo, client_for
from transform.models import EventKind, Milestone, MilestoneStatus
from transform.plans.services import milestone_transition
from transform.web.timeline import (
    MAX_TICKS,
    MAX_TRACK_PX,
    MIN_PX_PER_DAY,
    ROW_PX,
    ZOOM_LABELS,
    ZOOMS,
    gantt_build,
    zoom_parse,
)


def url(name: str, milestone: Milestone) -> str:
    return reverse(f"web:{name}", kwargs={"org_slug": "demo", "milestone_id": milestone.pk})


def plan_url(demo: WebDemo, *, board: bool = False, query: str = "") -> str:
    name = "web:plan-board" if board else "web:plan"
    path = reverse(name, kwargs={"org_slug": "demo", "transformation_id": demo.transformation.pk})
    return path + query


def text(response: Any) -> str:
    return response.content.decode()


def dependant_of(milestone: Milestone) -> Milestone:
    found = milestone.dependents.order_by("position").first()
    assert found is not None
    return found


def reschedules(milestone: Milestone) -> int:
    return milestone.events.filter(kind=EventKind.RESCHEDULED).count()


# --- the milestone page's form -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_change_agent_reschedules_from_the_milestone_page_and_the_dependants_move(
    web_demo_plain: WebDemo,
):
    milestone = web_demo_plain.started
    dependant = dependant_of(milestone)
    before_due, dependant_before = milestone.forecast_due, dependant.forecast_due
    assert before_due is not None
    assert dependant_before is not None
    new_due = before_due + dt.timedelta(days=10)
    agent = client_for("agent")

    form_page = text(agent.get(url("milestone", milestone)))
    response = agent.post(
        url("milestone-reschedule", milestone),
        {"forecast_due": new_due.isoformat(), "reschedule_reason": "The DBA freeze lasts longer."},
    )

    assert 'id="reschedule-form"' in form_page
    assert response.status_code == 302
    milestone.refresh_from_db()
    dependant.refresh_from_db()
    assert milestone.forecast_due == new_due
    assert dependant.forecast_due == dependant_before + dt.timedelta(days=10)
    event = milestone.events.get(kind=EventKind.RESCHEDULED)
    assert event.reason == "The DBA freeze lasts longer."
    assert event.actor is not None
    assert event.actor.username == "agent"
    assert event.data == {"from": before_due.isoformat(), "to": new_due.isoformat()}
    page = text(agent.get(response["Location"]))
    assert f"is now forecast to be done on {new_due.isoformat()}" in page
    assert f"was {before_due.isoformat()}" in page
    assert f"&#x27;{dependant.title}&#x27; to {dependant.forecast_due.isoformat()}" in page


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["member", "manager", "leader"])
def test_who_neither_owns_nor_edits_the_plan_sees_no_form_and_is_refused(
    web_demo_plain: WebDemo, username: str
):
    milestone = web_demo_plain.started
    before = milestone.forecast_due
    assert before is not None
    client = client_for(username)

    page = text(client.get(url("milestone", milestone)))
    response = client.post(
        url("milestone-reschedule", milestone),
        {
            "forecast_due": (before + dt.timedelta(days=3)).isoformat(),
            "reschedule_reason": "Because.",
        },
    )

    assert 'id="reschedule-form"' not in page
    assert response.status_code == 403
    milestone.refresh_from_db()
    assert milestone.forecast_due == before
    assert reschedules(milestone) == 0


@pytest.mark.django_db
def test_a_due_date_before_the_start_is_shown_next_to_the_date_field(web_demo_plain: WebDemo):
    milestone = web_demo_plain.started
    assert milestone.forecast_start is not None
    too_early = milestone.forecast_start - dt.timedelta(days=1)

    response = client_for("agent").post(
        url("milestone-reschedule", milestone),
        {"forecast_due": too_early.isoformat(), "reschedule_reason": "Finished early."},
    )

    body = text(response)
    assert response.status_code == 400
    field_error = re.search(r'<p class="field-error" id="forecast_due-error">([^<]*)</p>', body)
    assert field_error is not None
    assert "is before the milestone&#x27;s start" in field_error.group(1)
    assert 'aria-invalid="true"' in body
    assert "Not rescheduled: see the field marked below." in body  # the summary, focused
    assert "Finished early." in body  # the reason is kept
    assert reschedules(milestone) == 0


@pytest.mark.django_db
def test_a_missing_reason_and_a_date_that_is_not_one_are_shown_next_to_their_fields(
    web_demo_plain: WebDemo,
):
    milestone = web_demo_plain.started
    agent = client_for("agent")
    assert milestone.forecast_due is not None

    no_reason = agent.post(
        url("milestone-reschedule", milestone),
        {"forecast_due": milestone.forecast_due.isoformat(), "reschedule_reason": ""},
    )
    no_date = agent.post(
        url("milestone-reschedule", milestone),
        {"forecast_due": "next tuesday", "reschedule_reason": "Slipping."},
    )

    assert no_reason.status_code == 400
    assert 'id="reschedule_reason-error"' in text(no_reason)
    assert no_date.status_code == 400
    assert 'id="forecast_due-error">Enter a valid date.' in text(no_date)
    assert reschedules(milestone) == 0


@pytest.mark.django_db
def test_a_done_milestone_offers_no_form_and_cannot_be_rescheduled(web_demo_plain: WebDemo):
    milestone = milestone_transition(
        milestone=web_demo_plain.started,
        to_status=MilestoneStatus.DONE,
        reason="Done by the board.",
        override=True,
        actor=None,
    )
    agent = client_for("agent")
    assert milestone.forecast_due is not None

    page = text(agent.get(url("milestone", milestone)))
    response = agent.post(
        url("milestone-reschedule", milestone),
        # A day the form accepts (within five years): the refusal is the service's.
        {
            "forecast_due": (milestone.forecast_due + dt.timedelta(days=30)).isoformat(),
            "reschedule_reason": "Late.",
        },
    )

    assert 'id="reschedule-form"' not in page
    assert response.status_code == 409
    assert "a done milestone cannot be rescheduled" in text(response)


@pytest.mark.django_db
def test_depends_on_links_to_each_dependency_by_its_title(web_demo_plain: WebDemo):
    dependant = dependant_of(web_demo_plain.started)

    body = text(client_for("member").get(url("milestone", dependant)))

    facts = body.split("<dt>Depends on</dt>", 1)[1].split("</dd>", 1)[0]
    started = web_demo_plain.started
    assert f'<a href="{url("milestone", started)}">{started.title}</a>' in facts
    assert started.key not in facts


@pytest.mark.django_db
def test_a_due_date_more_than_five_years_ahead_or_before_the_plan_starts_is_refused(
    web_demo_plain: WebDemo,
):
    milestone = web_demo_plain.started
    transformation = web_demo_plain.transformation
    today = organization_today(transformation.organization)
    agent = client_for("agent")
    latest = today.replace(year=today.year + 5) if (today.month, today.day) != (2, 29) else None
    assert latest is not None

    too_far = agent.post(
        url("milestone-reschedule", milestone),
        {
            "forecast_due": (latest + dt.timedelta(days=1)).isoformat(),
            "reschedule_reason": "Typed the wrong year.",
        },
    )
    too_early = agent.post(
        url("milestone-reschedule", milestone),
        {
            "forecast_due": (transformation.start_date - dt.timedelta(days=1)).isoformat(),
            "reschedule_reason": "Finished before we began.",
        },
    )
    dragged = agent.post(
        url("milestone-reschedule-json", milestone),
        {"forecast_due": "8999-12-31", "reason": "Dragged too far."},
    )

    assert too_far.status_code == 400
    far_error = re.search(
        r'<p class="field-error" id="forecast_due-error">([^<]*)</p>', text(too_far)
    )
    assert far_error is not None
    assert f"more than 5 years away: choose a day up to {latest.isoformat()}" in far_error.group(1)
    assert too_early.status_code == 400
    early_error = re.search(
        r'<p class="field-error" id="forecast_due-error">([^<]*)</p>', text(too_early)
    )
    assert early_error is not None
    assert f"before the plan starts ({transformation.start_date.isoformat()})" in (
        early_error.group(1)
    )
    assert dragged.status_code == 400
    assert "more than 5 years away" in dragged.json()["extra"]["fields"]["forecast_due"][0]
    assert reschedules(milestone) == 0
    at_the_bound = agent.post(
        url("milestone-reschedule-json", milestone),
        {"forecast_due": latest.isoformat(), "reason": "A long freeze."},
    )
    assert at_the_bound.status_code == 200


@pytest.mark.django_db
def test_the_success_message_names_only_dependants_not_an_unrelated_overdue_milestone(
    web_demo_plain: WebDemo,
):
    milestone = web_demo_plain.started
    dependant = dependant_of(milestone)
    # Waits on nothing the rescheduled one leads to; its stored forecast is stale (computed on an
    # earlier day, now overdue), so the recomputation moves it too.
    unrelated = web_demo_plain.transformation.milestones.get(key="interview-ops-specialists")
    assert milestone.key not in unrelated.depends_on.values_list("key", flat=True)
    today = organization_today(web_demo_plain.organization)
    Milestone.objects.filter(pk=unrelated.pk).update(forecast_due=today - dt.timedelta(days=9))
    assert milestone.forecast_due is not None
    new_due = milestone.forecast_due + dt.timedelta(days=4)

    response = client_for("agent").post(
        url("milestone-reschedule-json", milestone),
        {"forecast_due": new_due.isoformat(), "reason": "Four more days."},
    )

    assert response.status_code == 200
    answer = response.json()
    unrelated.refresh_from_db()
    assert unrelated.forecast_due != today - dt.timedelta(days=9)  # it did move
    moved = [row["id"] for row in answer["moved"]]
    assert dependant.pk in moved
    assert unrelated.pk not in moved
    assert unrelated.title not in answer["message"]
    assert dependant.title in answer["message"]


# --- the timeline's drag endpoint ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_drag_endpoint_reschedules_and_answers_what_moved(web_demo_plain: WebDemo):
    milestone = web_demo_plain.started
    dependant = dependant_of(milestone)
    assert milestone.forecast_due is not None
    new_due = milestone.forecast_due + dt.timedelta(days=7)

    response = client_for("agent").post(
        url("milestone-reschedule-json", milestone),
        {"forecast_due": new_due.isoformat(), "reason": "Dragged on the timeline."},
    )

    assert response.status_code == 200
    answer = response.json()
    milestone.refresh_from_db()
    assert milestone.forecast_due == new_due
    assert answer["milestone"]["forecast_due"] == new_due.isoformat()
    assert dependant.pk in [row["id"] for row in answer["moved"]]
    assert "Its dependants' forecasts moved" in answer["message"]
    assert milestone.events.get(kind=EventKind.RESCHEDULED).reason == "Dragged on the timeline."


@pytest.mark.django_db
def test_the_drag_endpoint_refuses_as_the_api_does(web_demo_plain: WebDemo):
    milestone = web_demo_plain.started
    assert milestone.forecast_start is not None
    endpoint = url("milestone-reschedule-json", milestone)
    assert milestone.forecast_due is not None
    later = (milestone.forecast_due + dt.timedelta(days=30)).isoformat()

    refused = client_for("member").post(endpoint, {"forecast_due": later, "reason": "x"})
    early = client_for("agent").post(
        endpoint,
        {
            "forecast_due": (milestone.forecast_start - dt.timedelta(days=2)).isoformat(),
            "reason": "Early.",
        },
    )
    no_reason = client_for("agent").post(endpoint, {"forecast_due": later, "reason": ""})
    outsider = client_for("outsider").post(endpoint, {"forecast_due": later, "reason": "x"})

    assert refused.status_code == 403
    assert "Only the owner" in refused.json()["message"]
    assert early.status_code == 400
    assert "forecast_due" in early.json()["extra"]["fields"]
    assert no_reason.status_code == 400
    assert "reschedule_reason" in no_reason.json()["extra"]["fields"]
    assert outsider.status_code == 404
    assert reschedules(milestone) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["milestone-reschedule-json", "milestone-move-json"])
def test_the_json_endpoints_answer_not_found_and_refused_in_the_apis_error_shape(
    web_demo_plain: WebDemo, endpoint: str
):
    milestone = web_demo_plain.started
    unknown = reverse(f"web:{endpoint}", kwargs={"org_slug": "demo", "milestone_id": 987654})
    fields = {"forecast_due": "2027-01-01", "reason": "x", "to_status": "at_risk"}

    missing = client_for("agent").post(unknown, fields)
    refused = client_for("member").post(url(endpoint, milestone), fields)
    outsider = client_for("outsider").post(url(endpoint, milestone), fields)

    for response, status in ((missing, 404), (refused, 403), (outsider, 404)):
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        answer = response.json()
        assert set(answer) == {"message", "extra"}
        assert answer["message"]
    assert "Only the owner" in refused.json()["message"]
    assert "_" not in refused.json()["message"]  # plain words, no codes


# --- the board's drop endpoint -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_card_dropped_on_an_allowed_column_changes_status_with_its_reason(
    web_demo_plain: WebDemo,
):
    milestone = web_demo_plain.started

    response = client_for("agent").post(
        url("milestone-move-json", milestone),
        {"to_status": "at_risk", "reason": "Two people are on leave."},
    )

    assert response.status_code == 200
    assert response.json()["message"] == f"'{milestone.title}' is now at risk."
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.AT_RISK
    event = milestone.events.filter(kind=EventKind.STATUS).order_by("-id").first()
    assert event is not None
    assert (event.to_status, event.reason) == (MilestoneStatus.AT_RISK, "Two people are on leave.")


@pytest.mark.django_db
def test_a_drop_the_workflow_forbids_is_refused_in_words(web_demo_plain: WebDemo):
    milestone = web_demo_plain.started

    response = client_for("agent").post(
        url("milestone-move-json", milestone), {"to_status": "planned"}
    )

    assert response.status_code == 409
    message = response.json()["message"]
    assert "cannot go from in progress to planned" in message
    assert "in_progress" not in message
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.IN_PROGRESS


@pytest.mark.django_db
def test_a_drop_on_blocked_without_a_reason_asks_for_one(web_demo_plain: WebDemo):
    milestone = web_demo_plain.started

    response = client_for("agent").post(
        url("milestone-move-json", milestone), {"to_status": "blocked", "reason": " "}
    )

    assert response.status_code == 400
    assert "a reason is required" in response.json()["message"]
    assert "reason" in response.json()["extra"]["fields"]
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.IN_PROGRESS


@pytest.mark.django_db
def test_a_reader_cannot_move_a_card(web_demo_plain: WebDemo):
    milestone = web_demo_plain.started

    response = client_for("member").post(
        url("milestone-move-json", milestone), {"to_status": "at_risk", "reason": "No."}
    )

    assert response.status_code == 403
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.IN_PROGRESS


# --- the plan page: arrows, zoom, links, what may be dragged -------------------------------------


@pytest.mark.django_db
def test_the_timeline_draws_one_arrow_per_dependency_and_links_them_by_title(
    web_demo_plain: WebDemo,
):
    edges = Milestone.depends_on.through.objects.filter(
        from_milestone__transformation=web_demo_plain.transformation
    ).count()
    dependant = dependant_of(web_demo_plain.started)

    body = text(client_for("member").get(plan_url(web_demo_plain)))

    assert edges > 0
    assert body.count('<path class="gantt-arrow') == edges
    assert f'data-from="{web_demo_plain.started.key}" data-to="{dependant.key}"' in body
    table = body.split('id="timeline-table"', 1)[1]
    started = web_demo_plain.started
    assert f'<a href="{url("milestone", started)}">{started.title}</a>' in table
    # A reader drags nothing.
    assert "data-reschedule=" not in body
    assert "data-move-url=" not in body


@pytest.mark.django_db
def test_the_critical_path_and_the_board_cards_read_as_titles_not_keys(web_demo_plain: WebDemo):
    milestones = {m.key: m for m in web_demo_plain.transformation.milestones.all()}
    path = web_demo_plain.transformation.critical_path

    body = text(client_for("member").get(plan_url(web_demo_plain)))

    critical = body.split('<p class="critical-path">', 1)[1].split("</p>", 1)[0]
    assert len(path) > 1
    for key in path:
        assert milestones[key].title in critical
        assert f">{key}<" not in critical
    board = body.split('id="board-columns"', 1)[1]
    assert f'<div class="muted small">{web_demo_plain.started.key}</div>' not in board
    assert f'<div class="muted small">{web_demo_plain.started.phase_title}</div>' in board


@pytest.mark.django_db
def test_zoom_changes_the_scale_and_an_unknown_zoom_shows_the_whole_plan(web_demo_plain: WebDemo):
    client = client_for("member")

    week = text(client.get(plan_url(web_demo_plain, query="?zoom=week")))
    whole = text(client.get(plan_url(web_demo_plain, query="?zoom=nonsense")))

    assert f'data-px-per-day="{ZOOMS["week"]:g}"' in week
    assert '<a href="?zoom=week#timeline" aria-current="true">Weeks</a>' in week
    assert '<a href="?zoom=fit#timeline" aria-current="true">Whole plan</a>' in whole

    def width(body: str) -> int:
        found = re.search(r"--track: (\d+)px", body)
        assert found is not None
        return int(found.group(1))

    assert width(week) > 2 * width(whole)


@pytest.mark.django_db
def test_the_agent_may_drag_bars_and_cards_and_each_card_knows_its_allowed_columns(
    web_demo_plain: WebDemo,
):
    started = web_demo_plain.started

    body = text(client_for("agent").get(plan_url(web_demo_plain, board=True)))
    plan = text(client_for("agent").get(plan_url(web_demo_plain)))

    card = re.search(rf'<li class="board-card[^>]*data-id="{started.pk}"[^>]*>', body)
    assert card is not None
    assert 'data-moves="done at_risk blocked"' in card.group(0)
    assert url("milestone-move-json", started) in card.group(0)
    assert 'data-needs-reason="at_risk blocked"' in body
    assert url("milestone-reschedule-json", started) in plan
    assert "web/plan.js" in plan


@pytest.mark.django_db
def test_a_milestone_due_far_in_the_future_keeps_the_plan_page_small_at_every_zoom(
    web_demo_plain: WebDemo,
):
    client = client_for("agent")
    normal = len(client.get(plan_url(web_demo_plain, query="?zoom=week")).content)
    # Stored before rescheduling had a bound (older data, imports): the page stays readable.
    far = dt.date(8999, 12, 31)
    Milestone.objects.filter(pk=web_demo_plain.started.pk).update(
        reported_due=far, forecast_due=far
    )

    for zoom in ZOOM_LABELS:
        response = client.get(plan_url(web_demo_plain, query=f"?zoom={zoom}"))
        body = text(response)
        assert response.status_code == 200
        assert body.count('class="gantt-tick"') <= MAX_TICKS, zoom
        track = re.search(r"--track: (\d+)px", body)
        assert track is not None
        assert int(track.group(1)) <= MAX_TRACK_PX, zoom
        per_day = re.search(r'data-px-per-day="([0-9.e+-]+)"', body)
        assert per_day is not None
        assert float(per_day.group(1)) >= MIN_PX_PER_DAY, zoom
        assert len(response.content) < normal + 60_000, zoom


# --- the drawing, without a database -------------------------------------------------------------


def _milestone(key: str, start: str, due: str, *, depends_on: tuple[str, ...] = ()) -> dict:
    return {
        "id": len(key),
        "key": key,
        "title": key.title(),
        "playbook": "p",
        "phase": "one",
        "phase_title": "One",
        "status": "planned",
        "planned_start": start,
        "planned_due": due,
        "forecast_start": start,
        "forecast_due": due,
        "started_on": None,
        "slack_days": 0,
        "critical": True,
        "depends_on": list(depends_on),
    }


PLAN = {
    "start_date": "2027-01-04",
    "planned_end": "2027-01-20",
    "forecast_end": "2027-01-20",
    "milestones": [
        _milestone("a", "2027-01-04", "2027-01-10"),
        _milestone("bb", "2027-01-10", "2027-01-20", depends_on=("a",)),
    ],
}


def test_an_arrow_runs_from_the_dependencys_end_to_the_dependants_start():
    gantt = gantt_build(PLAN, today=dt.date(2027, 1, 5), zoom="month")

    first, second = (row for row in gantt.rows if row.milestone is not None)
    assert first.forecast is not None
    assert second.forecast is not None
    (arrow,) = gantt.arrows
    x1 = first.forecast.x + first.forecast.width
    x2 = second.forecast.x
    assert arrow["path"].startswith(f"M{x1:g},{first.middle}")
    assert arrow["path"].endswith(f"V{second.middle} H{x2:g}")
    assert arrow["critical"] is True
    assert second.dependencies == [{"id": 1, "key": "a", "title": "A"}]
    assert gantt.height == 3 * ROW_PX  # a phase heading and two rows


def test_the_zoom_sets_pixels_per_day_and_the_ticks():
    weeks = gantt_build(PLAN, today=dt.date(2027, 1, 5), zoom="week")
    whole = gantt_build(PLAN, today=dt.date(2027, 1, 5), zoom=None)

    assert weeks.px_per_day == ZOOMS["week"]
    assert weeks.width == weeks.days * ZOOMS["week"]
    assert [tick["label"] for tick in weeks.ticks][:3] == ["4 Jan", "11 Jan", "18 Jan"]
    assert 800 <= whole.width <= 900
    assert zoom_parse("<script>") == "fit"


def test_the_drawing_stays_bounded_for_a_date_thousands_of_years_away():
    far = {
        **PLAN,
        "forecast_end": "8999-12-31",
        "milestones": [
            PLAN["milestones"][0],
            _milestone("bb", "2027-01-10", "8999-12-31", depends_on=("a",)),
        ],
    }

    for zoom in ZOOM_LABELS:
        gantt = gantt_build(far, today=dt.date(2027, 1, 5), zoom=zoom)

        assert gantt.px_per_day >= MIN_PX_PER_DAY
        assert gantt.width <= MAX_TRACK_PX
        assert 0 < len(gantt.ticks) <= MAX_TICKS
        assert all(0 <= tick["x"] <= gantt.width for tick in gantt.ticks)
        bars = [row.forecast for row in gantt.rows if row.forecast is not None]
        assert all(bar.x >= 0 and bar.x + bar.width <= gantt.width + 0.1 for bar in bars)
        assert gantt.today_x is not None
    normal = gantt_build(PLAN, today=dt.date(2027, 1, 5), zoom="week")
    assert normal.px_per_day == ZOOMS["week"]  # a real plan draws as before
