"""The team page through Django's test client: every section with its data, suppression as on the
leadership heat map, who sees which part, 404s, a query count that does not grow with the team,
and the links to it from the graph, the findings, the milestone page and the heat map."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from teams.models import InteractionMode, MembershipRole, Organization, Team, TeamType
from tests.builders import WebDemo, build_web_demo, client_for, fresh, module_world
from tests.factories import InteractionFactory, MembershipFactory, PersonFactory, TeamFactory
from transform.models import MilestoneChange
from transform.readiness.services import readiness_nightly

pytestmark = pytest.mark.django_db

SEARCH = "/o/demo/teams/search/"
# The page's queries for the leader, cold (no cached analysis or readings): pinned so that a
# query added per member or per milestone shows up here.
TEAM_PAGE_MAX_QUERIES = 50


def build_team_demo() -> WebDemo:
    built = build_web_demo()
    readiness_nightly(at=timezone.now())
    return built


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, build_team_demo)


@pytest.fixture
def demo(demo_built: WebDemo, db: None) -> WebDemo:
    return fresh(demo_built)


def section(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def team_row(html: str, name: str) -> str:
    """The team's row of the readiness table."""
    table = html.split('<table class="lead-heat">', 1)[1].split("</table>", 1)[0]
    rows = [row for row in re.findall(r"<tr[^>]*>.*?</tr>", table, flags=re.S) if name in row]
    assert rows, f"no readiness row for {name}"
    return rows[0]


def small_team(organization: Organization) -> Team:
    """A stream-aligned team of one plain member that waits on the DBA silo through tickets."""
    team = cast(
        Team,
        TeamFactory(
            organization=organization,
            slug="lonely",
            name="Lonely Squad",
            type=TeamType.STREAM_ALIGNED,
        ),
    )
    MembershipFactory(team=team, role=MembershipRole.MEMBER)
    dba = Team.objects.get(organization=organization, slug="dba")
    InteractionFactory(source=team, target=dba, mode=InteractionMode.TICKET_DEPENDENCY)
    return team


def test_a_leader_sees_every_section_of_a_team(demo: WebDemo) -> None:
    team = Team.objects.get(organization=demo.organization, slug="search")
    response = client_for("leader").get(SEARCH)

    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{team.name}</h1>" in html
    assert "Stream-aligned" in html
    people = section(html, "people")
    member = team.memberships.select_related("person").first()
    assert member is not None
    assert (member.person.name or member.person.email) in people
    assert "DevOps buddy" in people or "None" in people
    assert f"Members ({team.memberships.count()} · " in people
    assert 'id="interactions-heading"' in html
    scorecard = section(html, "scorecard")
    assert scorecard.count('class="check check-') == 5
    assert re.search(r"Scorecard: \d of \d checks passed", scorecard)
    readiness = section(html, "readiness")
    assert "<caption>Readiness of" in readiness
    assert "Whole organisation" in readiness
    for label in (
        "Deploy frequency",
        "Lead time for changes",
        "Change failure rate",
        "Time to restore",
        "Blocked developer hours",
    ):
        assert f"<dt>{label}</dt>" in readiness
    # The demo's search team answered this period's pulse: its live cell is a score.
    assert re.search(r'lead-cell-score[^"]*">\d+(\.\d+)? <span', team_row(html, team.name))
    assert "open check-in" in section(html, "milestones")


def test_the_scorecard_fails_what_a_small_team_lacks(demo: WebDemo) -> None:
    small_team(demo.organization)

    html = client_for("agent").get("/o/demo/teams/lonely/").content.decode()
    scorecard = section(html, "scorecard")

    def verdict(key: str) -> str:
        found = re.search(rf'class="check check-(\w+)" data-check="{key}"', scorecard)
        assert found is not None, key
        return found.group(1)

    assert verdict("devops_buddy") == "fail"
    assert verdict("product_owner") == "na"
    assert verdict("no_tickets_into_silos") == "fail"
    assert verdict("team_size") == "fail"
    assert "1 member, outside 3 to 9 people" in scorecard
    dba = Team.objects.get(organization=demo.organization, slug="dba")
    assert f"Waits on {dba.name} through tickets." in scorecard
    # Its findings, from the cached analysis, name it.
    assert "Missing DevOps buddy" in scorecard


def test_a_team_without_answers_is_suppressed_never_a_score(demo: WebDemo) -> None:
    small_team(demo.organization)

    html = client_for("leader").get("/o/demo/teams/lonely/").content.decode()
    row = team_row(html, "Lonely Squad")

    cells = re.findall(r'<td class="lead-cell ([^"]*)">(.*?)</td>', row)
    assert cells[-1] == ("lead-cell-suppressed", "suppressed")
    assert "lead-cell-score" not in row
    assert "lead-band" not in row


def test_an_overrunning_collaboration_says_so(demo: WebDemo) -> None:
    team = Team.objects.get(organization=demo.organization, slug="search")
    partner = TeamFactory(organization=demo.organization, slug="partner", name="Partner Team")
    InteractionFactory(
        source=team,
        target=partner,
        mode=InteractionMode.COLLABORATION,
        since=timezone.localdate() - dt.timedelta(days=90),
        expected_end=timezone.localdate() - dt.timedelta(days=3),
    )

    html = client_for("member").get(SEARCH).content.decode()
    item = next(line for line in section(html, "services").splitlines() if "Partner Team" in line)

    assert "Collaboration with" in item
    assert 'href="/o/demo/teams/partner/"' in item
    assert "overrunning" in item
    assert "this team → Partner Team" in item
    partner_page = client_for("member").get("/o/demo/teams/partner/").content.decode()
    assert "Search" in section(partner_page, "services")
    assert "→ this team" in section(partner_page, "services")


def test_a_milestone_naming_the_team_is_listed_with_its_status(demo: WebDemo) -> None:
    MilestoneChange.objects.create(
        milestone=demo.started,
        position=90,
        change={"kind": "add_devops_buddy", "team": "catalog", "person": "x@democorp.example"},
    )

    html = client_for("member").get("/o/demo/teams/catalog/").content.decode()
    milestones = section(html, "milestones")

    assert f'href="/o/demo/milestones/{demo.started.pk}/"' in milestones
    assert demo.started.title in milestones
    assert "In progress" in milestones
    other = client_for("member").get("/o/demo/teams/returns/").content.decode()
    assert f"/o/demo/milestones/{demo.started.pk}/" not in section(other, "milestones")


@pytest.mark.parametrize(
    ("username", "team", "sees_figures"),
    [
        ("demo", "search", True),  # admin
        ("agent", "search", True),
        ("leader", "search", True),
        ("manager", "search", True),  # manages search
        ("manager", "payments", False),  # does not manage payments
        ("member", "search", False),
    ],
)
def test_figures_and_checkins_only_for_those_who_may_see_them(
    demo: WebDemo, username: str, team: str, sees_figures: bool
) -> None:
    response = client_for(username).get(f"/o/demo/teams/{team}/")

    assert response.status_code == 200
    html = response.content.decode()
    # The topology and the scorecard are everyone's.
    assert 'id="people-heading"' in html
    assert 'id="scorecard-heading"' in html
    assert ('<table class="lead-heat">' in html) is sees_figures
    assert ("<dt>Deploy frequency</dt>" in html) is sees_figures
    assert ("about this team or for its people" in html) is sees_figures
    if not sees_figures:
        assert "lead-cell" not in html
        assert "shown to admins, change agents, leaders and this team" in html


@pytest.mark.parametrize("path", ["/o/demo/teams/no-such-team/", "/o/demo/teams/globex-team/"])
def test_an_unknown_team_or_another_organisations_is_not_found(demo: WebDemo, path: str) -> None:
    globex = Organization.objects.get(slug="globex")
    TeamFactory(organization=globex, slug="globex-team")

    response = client_for("leader").get(path)

    assert response.status_code == 404
    # The styled page of the other 404s (the base template), no team's data.
    assert b"web/app.css" in response.content
    assert b'id="scorecard-heading"' not in response.content


def test_an_outsider_gets_404_and_a_visitor_the_login(demo: WebDemo) -> None:
    assert client_for("outsider").get(SEARCH).status_code == 404
    response = Client().get(SEARCH)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def _count(client: Client, path: str) -> int:
    # Cold, as after a change: the cached analysis and readings would hide what a miss costs.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_the_page_runs_as_many_queries_for_a_bigger_team(demo: WebDemo) -> None:
    client = client_for("leader")
    client.get(SEARCH)
    small = _count(client, SEARCH)
    team = Team.objects.get(organization=demo.organization, slug="search")
    for index in range(12):
        person = PersonFactory(organization=demo.organization, name=f"New Hire {index}")
        MembershipFactory(team=team, person=person, role=MembershipRole.MEMBER)
    readiness_nightly(at=timezone.now())

    big = _count(client, SEARCH)

    assert big == small
    assert small <= TEAM_PAGE_MAX_QUERIES
    assert "New Hire 11" in client.get(SEARCH).content.decode()


def test_a_warm_page_builds_no_graph(
    demo: WebDemo, django_assert_max_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for("member")
    client.get(SEARCH)

    def no_graph(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the team page built a graph although the analysis was cached")

    monkeypatch.setattr("teams.selectors.analyze_snapshot", no_graph)
    monkeypatch.setattr("teams.selectors.org_snapshot_get", no_graph)
    # The member sees no figures: the team (six), the cached analysis (one), milestones (two),
    # and what every page reads (the session, the user, the roles, the zone).
    with django_assert_max_num_queries(16):
        assert client.get(SEARCH).status_code == 200


def test_the_four_pages_link_to_the_team_page(demo: WebDemo) -> None:
    client = client_for("leader")
    graph = client.get("/o/demo/graph/", {"team": "search"}).content.decode()
    assert 'href="/o/demo/teams/search/"' in graph
    findings = client.get("/o/demo/findings/").content.decode()
    assert re.search(r'href="/o/demo/teams/[-a-z0-9]+/"', findings)
    # The team links read as the teams' names, not their slugs.
    payments = Team.objects.get(organization=demo.organization, slug="payments")
    assert f'href="/o/demo/teams/payments/">{payments.name}</a>' in findings
    leadership = client.get("/o/demo/leadership/").content.decode()
    assert 'href="/o/demo/teams/search/"' in leadership
    MilestoneChange.objects.create(
        milestone=demo.started,
        position=91,
        change={"kind": "add_devops_buddy", "team": "catalog", "person": "x@democorp.example"},
    )
    milestone = client.get(f"/o/demo/milestones/{demo.started.pk}/").content.decode()
    assert 'href="/o/demo/teams/catalog/"' in milestone
