"""The plan page's progress burn-up through Django's test client: a line per graph exit
criterion (aliases once), the same numbers in a table, signal thresholds listed without a line,
a point that follows an enacted topology change, and one query for the section once cached."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from teams.models import Team, TeamType
from teams.zones import organization_today
from tests.builders import WebDemo, build_web_demo, client_for, fresh, module_world
from transform.plans.progress import LEAD_IN_DAYS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, build_web_demo)


@pytest.fixture
def demo(demo_built: WebDemo, db: None) -> WebDemo:
    cache.clear()
    return fresh(demo_built)


def plan_url(demo: WebDemo) -> str:
    return reverse(
        "web:plan", kwargs={"org_slug": demo.slug, "transformation_id": demo.transformation.pk}
    )


def progress_section(html: str) -> str:
    return html.split('id="progress"', 1)[1].split("</section>", 1)[0]


def chart_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="burnup-data" type="application/json">(.*?)</script>', html)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


@pytest.mark.parametrize("username", ["agent", "manager", "leader", "member"])
def test_the_plan_page_shows_a_line_per_graph_criterion_to_every_role(
    demo: WebDemo, username: str
) -> None:
    html = client_for(username).get(plan_url(demo)).content.decode()

    data = chart_data(html)
    labels = [line["label"] for line in data["lines"]]
    # unify-ops-silos: the ticket check (as its alias), ops silos merged, a product owner.
    assert labels == [
        "Teams that are not ops silos",
        "Platform teams with a product owner",
        "Teams whose work reaches no gatekeeper through tickets",
    ]
    # Weekly from two weeks before the start (three weeks ago) to today.
    assert data["labels"][-1] == organization_today(demo.organization).isoformat()
    assert (
        data["labels"][0]
        == (demo.transformation.start_date - dt.timedelta(days=LEAD_IN_DAYS)).isoformat()
    )
    assert len(data["labels"]) == 6
    assert all(len(line["points"]) == len(data["labels"]) for line in data["lines"])
    section = progress_section(html)
    assert '<canvas id="burnup-canvas" role="img"' in section
    assert "Teams that are not ops silos:" in section  # the canvas's text summary


def test_the_table_holds_the_same_numbers_as_the_chart(demo: WebDemo) -> None:
    html = client_for("leader").get(plan_url(demo)).content.decode()

    data = chart_data(html)
    table = progress_section(html).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr><th scope=\"row\">([\d-]+)</th>(.*?)</tr>", table, flags=re.S)
    assert [day for day, _ in rows] == data["labels"]
    for index, (_, cells) in enumerate(rows):
        shown = re.findall(r"<td>(.*?)</td>", cells)
        for line, text in zip(data["lines"], shown, strict=True):
            point = line["points"][index]
            if point is None:
                assert text == "no teams yet"
            else:
                assert text.endswith(f"({point:g}%)"), (text, point)


def test_signal_thresholds_are_listed_as_judged_from_signals(demo: WebDemo) -> None:
    section = progress_section(client_for("agent").get(plan_url(demo)).content.decode())

    signals = section.split("Judged from signals, not teams", 1)[1]
    assert "Blocked developer hours" in signals
    assert "ADKAR awareness" in signals
    assert "blocked_developer_hours" not in section


def test_today_s_point_follows_a_topology_change(demo: WebDemo) -> None:
    client = client_for("agent")
    before = chart_data(client.get(plan_url(demo)).content.decode())
    # Saved through the model, as a service saves it: a history row and a new topology version.
    for team in Team.objects.filter(organization=demo.organization, type=TeamType.OPS_SILO):
        team.type = TeamType.PLATFORM
        team.specialty = ""
        team.save()

    after = chart_data(client.get(plan_url(demo)).content.decode())

    silos_before = before["lines"][0]["points"]
    silos_after = after["lines"][0]["points"]
    assert silos_before[-1] is not None
    assert silos_before[-1] < 100
    assert silos_after[-1] == 100
    assert silos_after[:-1] == silos_before[:-1]


def test_the_section_costs_one_query_once_its_points_are_cached(demo: WebDemo) -> None:
    client = client_for("leader")
    client.get(plan_url(demo))
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        client.get(plan_url(demo))
    with CaptureQueriesContext(connection) as warm:
        client.get(plan_url(demo))

    history = [q["sql"] for q in cold.captured_queries if "_historical" in q["sql"]]
    assert len(history) >= 7
    assert not [q["sql"] for q in warm.captured_queries if "_historical" in q["sql"]]
