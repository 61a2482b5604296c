"""The audit trail page (transform/web/audit_pages.py): what admins, change agents and leaders
read, the filters, pagination and the CSV link; nobody else opens it (docs/audit.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.builders import PlanWorld, build_plan_world, fresh, module_world, survey
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

PAGE = "/o/acme/audit/"
WEBHOOK = "https://hooks.example.com/services/T000/B000/very-secret-path"


@pytest.fixture(scope="module")
def plan_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[PlanWorld]:
    yield from module_world(django_db_blocker, build_plan_world)


@pytest.fixture
def world(plan_world_built: PlanWorld, db: None) -> PlanWorld:
    return fresh(plan_world_built)


def _browser(world: PlanWorld, kind: str) -> Client:
    client = Client()
    client.force_login(world.world.users[kind])
    return client


def _changes(world: PlanWorld) -> None:
    """As acme's admin: a milestone status change, a role grant and a check-in settings change."""
    admin = world.client("admin")
    kickoff = world.milestones["kickoff"]
    assert (
        admin.post(
            f"/api/v1/milestones/{kickoff.pk}/transition/", {"to": "in_progress"}, format="json"
        ).status_code
        == 200
    )
    assert (
        admin.post(
            "/api/v1/orgs/acme/roles/", {"user": "member", "role": "leader"}, format="json"
        ).status_code
        == 201
    )
    assert (
        admin.patch(
            "/api/v1/orgs/acme/checkin-settings/",
            {"min_group_size": 7, "channel": "webhook", "webhook_url": WEBHOOK},
            format="json",
        ).status_code
        == 200
    )


def _text(response: Any) -> str:
    """The page's text, tags removed and white space collapsed."""
    html = response.content.decode()
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _rows(response: Any) -> list[str]:
    html = response.content.decode()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    # Cells are separated by " | "; other tags are removed without a space.
    return [
        re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", row.replace("</td>", " | "))))
        for row in body.split("<tr>")[1:]
    ]


def test_it_lists_a_milestone_status_change_a_role_grant_and_a_settings_change(
    world: PlanWorld,
) -> None:
    _changes(world)
    response = _browser(world, "leader").get(PAGE)
    assert response.status_code == 200
    rows = _rows(response)
    status = next(row for row in rows if "Milestone" in row and "status" in row)
    assert "kickoff" in status
    # Fields and choices in words on the page (the API and the CSV keep the codes).
    assert "Status: Planned → In progress" in status
    assert "in_progress" not in status
    assert "Admin" in status

    grant = next(row for row in rows if "member as leader" in row)
    assert "created" in grant
    assert "Role: Leader" in grant

    settings = next(row for row in rows if "check-in settings" in row and "changed" in row)
    assert "Min group size: 5 → 7" in settings
    assert "Webhook url: (empty) → https://hooks.example.com/…" in settings
    assert "min_group_size" not in settings
    assert "very-secret-path" not in response.content.decode()


@pytest.mark.parametrize(
    ("kind", "status"),
    [("admin", 200), ("change_agent", 200), ("leader", 200), ("em", 403), ("member", 403)],
)
def test_admins_change_agents_and_leaders_open_it_others_get_403(
    world: PlanWorld, kind: str, status: int
) -> None:
    assert _browser(world, kind).get(PAGE).status_code == status


def test_people_without_a_role_get_404_and_anonymous_visitors_the_login_page(
    world: PlanWorld,
) -> None:
    assert _browser(world, "no_role").get(PAGE).status_code == 404
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_navigation_links_it_for_those_who_may_read_it(world: PlanWorld) -> None:
    assert (
        'href="/o/acme/audit/"' in _browser(world, "leader").get("/o/acme/plans/").content.decode()
    )
    assert (
        'href="/o/acme/audit/"'
        not in _browser(world, "member").get("/o/acme/plans/").content.decode()
    )


def test_it_filters_by_what_who_and_days(world: PlanWorld) -> None:
    _changes(world)
    leader = _browser(world, "leader")
    settings_only = _rows(leader.get(PAGE + "?object_type=checkin_settings"))
    assert settings_only
    assert all("check-in settings" in row for row in settings_only)

    team = world.world.acme.team
    team.description = "by the system"
    team.save()
    by_admin = _rows(leader.get(PAGE + "?actor=admin"))
    assert by_admin
    assert all("(admin)" in row or "Admin" in row for row in by_admin)
    assert not any("by the system" in row for row in by_admin)
    assert any("by the system" in row for row in _rows(leader.get(PAGE + "?object_type=team")))

    assert _rows(leader.get(PAGE + "?since=2999-01-01")) == []
    assert "Nothing matches these filters" in _text(leader.get(PAGE + "?since=2999-01-01"))


def test_an_invalid_filter_shows_the_error_with_400(world: PlanWorld) -> None:
    leader = _browser(world, "leader")
    response = leader.get(PAGE + "?since=2026-03-10&until=2026-03-01")
    assert response.status_code == 400
    assert "Must not be before the first day." in _text(response)
    assert _rows(response) == []
    assert leader.get(PAGE + "?object_type=bogus").status_code == 400
    assert leader.get(PAGE + "?page=abc").status_code == 400


def test_pages_and_the_csv_link_keep_the_filters(world: PlanWorld) -> None:
    org = world.world.acme.org
    for index in range(30):
        team: Any = TeamFactory(organization=org, slug=f"grown-{index}")
        team.name = f"Grown {index}"
        team.save()
    leader = _browser(world, "leader")
    first = leader.get(PAGE + "?object_type=team")
    html = first.content.decode()
    assert len(_rows(first)) == 50
    assert 'href="?object_type=team&amp;page=2" rel="next"' in html
    assert 'href="/api/v1/orgs/acme/audit.csv?object_type=team"' in html
    second = leader.get(PAGE + "?object_type=team&page=2")
    assert 'rel="prev"' in second.content.decode()
    assert not set(_rows(first)) & set(_rows(second))
    csv_response = leader.get("/api/v1/orgs/acme/audit.csv?object_type=team")
    assert csv_response.status_code == 200


def test_survey_answers_never_appear(world: PlanWorld) -> None:
    _changes(world)
    survey(
        world.world.acme.team,
        [{"platform_satisfaction": 4.25}],
        answers=[{"platform-satisfaction": {"slows_you_down": "ZEBRA-ANSWER-TEXT"}}],
    )
    html = _browser(world, "leader").get(PAGE).content.decode()
    assert "ZEBRA-ANSWER-TEXT" not in html
    assert "slows_you_down" not in html


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_history(world: PlanWorld) -> None:
    _changes(world)
    leader = _browser(world, "leader")
    few = _queries(leader, PAGE)
    org = world.world.acme.org
    for index in range(80):
        team: Any = TeamFactory(organization=org, slug=f"grown-{index}")
        team.name = f"Grown {index}"
        team.save()
    many = _queries(leader, PAGE)
    assert many <= few <= 40


@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=99999",
        "page=999999999999999999999999",
        "since=9999-12-31",
        "until=8999-12-31",
        "since=1900-01-01",
        "object_type=team&object_id=99999999999999999999",
        "object_type=<script>",
        "actor=%00",
        "actor=" + "é" * 200,
    ],
)
def test_odd_query_strings_are_a_page_or_a_400_never_a_500(world: PlanWorld, query: str) -> None:
    response = _browser(world, "leader").get(f"{PAGE}?{query}")
    assert response.status_code in (200, 400)
    assert "<script>" not in response.content.decode().split("<main", 1)[1].replace(
        "&lt;script&gt;", ""
    )
