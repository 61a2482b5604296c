"""Every page and endpoint of the performance table (docs/performance.md) has a query budget that
does not grow with the organisation: pinned here on the demo and on the demo grown by 40 teams
with their people, buddies, ticket dependencies, services, survey answers and delivery events.

A budget is a ceiling, so a change that saves a query passes; one that adds a query per team,
per person or per answer fails on the grown organisation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from teams.models import InteractionMode, MembershipRole, Organization, Service, Team, TeamType
from tests.builders import WebDemo, survey, westrum
from tests.factories import InteractionFactory, MembershipFactory, SignalEventFactory, TeamFactory
from transform.models import CheckinSettings
from transform.readiness.report import local_day
from transform.rhythm.periods import survey_period

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(web_demo_plain: WebDemo) -> WebDemo:
    return web_demo_plain


def grow(organization: Organization, *, teams: int) -> None:
    """``teams`` more squads of 5 (one a DevOps buddy), each filing a ticket to a new silo,
    owning a service, with 5 survey answers this period and two deploys."""
    silo = TeamFactory(organization=organization, slug="grown-silo", type=TeamType.OPS_SILO)
    period = survey_period(
        local_day(timezone.now()), settings=CheckinSettings(organization=organization)
    )
    now = timezone.now()
    for index in range(teams):
        team = cast(Team, TeamFactory(organization=organization, slug=f"grown-{index}"))
        for _ in range(4):
            MembershipFactory(team=team, organization=organization)
        MembershipFactory(team=team, organization=organization, role=MembershipRole.DEVOPS_BUDDY)
        InteractionFactory(
            organization=organization,
            source=team,
            target=silo,
            mode=InteractionMode.TICKET_DEPENDENCY,
        )
        Service.objects.create(organization=organization, team=team, slug=f"grown-svc-{index}")
        survey(team, westrum(5, 6, 5, 6, 5), period=period)
        for number in range(2):
            SignalEventFactory(
                organization=organization,
                kind="deploy",
                external_id=f"grown-{index}-{number}",
                team=team,
                occurred_at=now - dt.timedelta(hours=number + 1),
                data={"commit_times": [], "caused_failure": False, "is_rework": False},
            )


# (name, path template, budget). Budgets include the session and user reads of the login.
PAGES: list[tuple[str, str, int]] = [
    ("graph page", "/o/demo/graph/", 13),
    ("graph data", "/o/demo/graph/data.json?people=on", 13),
    # +1: the running plans covering findings; +1: the titles of the playbooks to start.
    ("findings page", "/o/demo/findings/", 14),
    ("scorecard grid", "/o/demo/scorecard/", 14),  # cold: the analysis is computed again
    ("scenario page", "/o/demo/scenario/", 27),
    # +18 cold: the progress burn-up reads the topology version, the seven history tables and the
    # lineage once for its past weeks (whatever their number), and today's point from the live
    # graph (six) and its former silos (three), as the exit-criteria verdicts read them, so the
    # two agree; warm, only the topology version (docs/web-plan.md, "Progress burn-up").
    ("plan timeline page", "/o/demo/plans/{plan}/", 52),
    ("board page", "/o/demo/plans/{plan}/board/", 34),
    # Zoom, arrows and drag attributes are drawn from the same plan report: no query more.
    ("plan timeline zoomed to weeks", "/o/demo/plans/{plan}/?zoom=week", 52),  # +18: burn-up
    ("leadership page", "/o/demo/leadership/", 73),
    ("printable report", "/o/demo/leadership/report/", 64),
    ("analysis API", "/api/v1/orgs/demo/analysis/", 10),
    ("readiness API", "/api/v1/orgs/demo/readiness/", 19),
    ("plan API", "/api/v1/transformations/{plan}/plan/", 33),
    ("DORA API", "/api/v1/orgs/demo/dora/?by=unit", 11),
    ("team list, 1,000 rows", "/api/v1/orgs/demo/teams/?page_size=1000", 5),
    ("people list, 1,000 rows", "/api/v1/orgs/demo/people/?page_size=1000", 5),
]


def _admin_client(organization: Organization) -> Client:
    from teams.models import OrganizationRole, Role

    user, _ = get_user_model().objects.get_or_create(username="budget-admin")
    OrganizationRole.objects.get_or_create(organization=organization, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def _queries(client: Client, path: str) -> int:
    # Cold: what the analysis and readiness caches hold is computed again, as after a change.
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured)


@pytest.mark.parametrize(("name", "template", "budget"), PAGES, ids=[page[0] for page in PAGES])
def test_the_query_count_stays_within_budget_on_the_demo_and_a_grown_demo(
    demo: WebDemo, name: str, template: str, budget: int
) -> None:
    client = _admin_client(demo.organization)
    path = template.format(plan=demo.transformation.pk)
    client.get(path)  # warm what is cached per process (content types, sessions)

    small = _queries(client, path)
    grow(demo.organization, teams=40)
    # The first read after answers were bulk-loaded brings the survey rollups up to date (the
    # answer service keeps them current as each answer is stored): a one-off, not a cost of size.
    client.get(path)
    large = _queries(client, path)

    assert small <= budget, f"{name}: {small} queries on the demo, budget {budget}"
    assert large <= small, f"{name}: {small} queries on the demo, {large} on the grown demo"


def test_the_grown_demo_is_bigger_in_every_dimension_the_budgets_guard(demo: WebDemo) -> None:
    from teams.models import Membership, Team
    from transform.models import Response, SignalEvent

    before: dict[str, Any] = {
        "teams": Team.objects.filter(organization=demo.organization).count(),
        "memberships": Membership.objects.filter(team__organization=demo.organization).count(),
        "answers": Response.objects.filter(organization=demo.organization).count(),
        "events": SignalEvent.objects.filter(organization=demo.organization).count(),
    }

    grow(demo.organization, teams=40)

    assert Team.objects.filter(organization=demo.organization).count() == before["teams"] + 41
    assert (
        Membership.objects.filter(team__organization=demo.organization).count()
        == before["memberships"] + 200
    )
    assert (
        Response.objects.filter(organization=demo.organization).count() == before["answers"] + 200
    )
    assert (
        SignalEvent.objects.filter(organization=demo.organization).count() == before["events"] + 80
    )
