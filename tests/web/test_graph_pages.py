"""The graph, findings and scenario pages through Django's test client: who sees what, filters,
the as-of date, starting a playbook, and query counts that do not grow with the organisation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

import pytest
from django.test import Client
from django.utils import timezone

from teams import models
from tests.builders import AGENT, WebDemo, client_for
from tests.factories import InteractionFactory, MembershipFactory, TeamFactory
from transform.demo import MERGE_SILOS
from transform.models import Transformation
from transform.plans.changes import milestone_change_add

pytestmark = pytest.mark.django_db

HISTORY_MODELS = (
    models.OrgUnit,
    models.Team,
    models.Person,
    models.Membership,
    models.ServesLink,
    models.Interaction,
)


@pytest.fixture
def demo(web_demo_plain: WebDemo) -> WebDemo:
    return web_demo_plain


def grow(organization: models.Organization, *, squads: int) -> None:
    """More teams, people and ticket dependencies on the demo's database silo."""
    dba = models.Team.objects.get(organization=organization, slug="dba")
    for number in range(squads):
        team = TeamFactory(organization=organization, slug=f"extra-{number}")
        MembershipFactory(team=team, organization=organization)
        MembershipFactory(
            team=team, organization=organization, role=models.MembershipRole.DEVOPS_BUDDY
        )
        InteractionFactory(
            organization=organization,
            source=team,
            target=dba,
            mode=models.InteractionMode.TICKET_DEPENDENCY,
            severity=models.Severity.BLOCKING,
        )
        models.Service.objects.create(
            organization=organization, team=cast(models.Team, team), slug=f"svc-{number}"
        )
        models.Service.objects.create(
            organization=organization, team=dba, slug=f"db-{number}", kind=models.ServiceKind.API
        )


# --- Organisation graph ---------------------------------------------------------------------


def test_a_member_sees_the_graph_with_its_teams_legend_and_exports(demo: WebDemo) -> None:
    response = client_for("member").get("/o/demo/graph/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Search Squad" in html
    assert 'hx-get="/o/demo/graph/teams/search/"' in html
    assert "Ticket dependency on an ops silo" in html  # the legend names each style in text
    assert "Ops silo" in html
    assert "/api/v1/orgs/demo/export/?format=graphml" in html
    assert 'id="graph-data"' in html


@pytest.mark.parametrize(
    "url",
    [
        "/o/demo/graph/",
        "/o/demo/graph/data.json",
        "/o/demo/graph/teams/search/",
        "/o/demo/findings/",
        "/o/demo/findings/start/",
        "/o/demo/scenario/",
    ],
)
def test_an_outsider_gets_not_found_on_every_page(demo: WebDemo, url: str) -> None:
    assert client_for("outsider").get(url).status_code == 404


def test_pages_need_a_login(demo: WebDemo) -> None:
    response = Client().get("/o/demo/findings/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_graph_data_holds_every_team_and_marks_ticket_dependencies_on_silos(
    demo: WebDemo,
) -> None:
    data = client_for("member").get("/o/demo/graph/data.json").json()

    assert data["total_teams"] == 12
    assert len(data["teams"]) == 12
    on_silo = [e for e in data["elements"] if "on-silo" in e.get("classes", "")]
    assert len(on_silo) == 16
    assert all(e["data"]["mode"] == "ticket_dependency" for e in on_silo)
    assert not [e for e in data["elements"] if e["data"].get("kind") == "person"]


def test_graph_data_filters_by_type_and_specialty(demo: WebDemo) -> None:
    client = client_for("member")

    silos = client.get("/o/demo/graph/data.json?type=ops_silo").json()
    database = client.get("/o/demo/graph/data.json?specialty=database").json()

    assert {team["slug"] for team in silos["teams"]} == {"dba", "networking", "backend-ops"}
    kept = {f"team:{team['slug']}" for team in silos["teams"]}
    edges = [e for e in silos["elements"] if e["group"] == "edges"]
    assert all(e["data"]["source"] in kept and e["data"]["target"] in kept for e in edges)
    assert [team["slug"] for team in database["teams"]] == ["dba"]
    assert silos["total_teams"] == 12


def test_graph_data_shows_people_as_counts_on_their_teams_on_request(demo: WebDemo) -> None:
    client = client_for("member")
    plain = client.get("/o/demo/graph/data.json?type=stream_aligned").json()
    data = client.get("/o/demo/graph/data.json?people=on&type=stream_aligned").json()

    # No name nodes that nobody can read: each team's label carries its member count.
    assert not [e for e in data["elements"] if e["data"].get("kind") == "person"]
    teams = {
        e["data"]["slug"]: e["data"] for e in data["elements"] if e["data"].get("kind") == "team"
    }
    rows = {row["slug"]: row for row in data["teams"]}
    assert teams["search"]["label"] == f"Search Squad · {rows['search']['members']}"
    assert rows["search"]["members"] > 0
    assert data["people_shown"] > 0
    plain_labels = {
        e["data"]["label"] for e in plain["elements"] if e["data"].get("kind") == "team"
    }
    assert "Search Squad" in plain_labels
    # The positions do not move when people are shown.
    assert {e["data"]["id"]: e.get("position") for e in plain["elements"]} == {
        e["data"]["id"]: e.get("position")
        for e in data["elements"]
        if e["data"]["id"] in {x["data"]["id"] for x in plain["elements"]}
    }


def _team_positions(data: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {
        e["data"]["slug"]: e["position"]
        for e in data["elements"]
        if e["data"].get("kind") == "team"
    }


def test_every_team_comes_with_a_stable_position_inside_its_unit(demo: WebDemo) -> None:
    from django.core.cache import cache

    from teams.layout import boxes_overlap

    client = client_for("member")
    first = client.get("/o/demo/graph/data.json").json()
    cache.clear()  # computed again from scratch: the same positions
    again = client.get("/o/demo/graph/data.json").json()
    silos = client.get("/o/demo/graph/data.json?type=ops_silo").json()

    positions = _team_positions(first)
    assert first["layout"] == "preset"
    assert len(positions) == 12
    assert positions == _team_positions(again)
    assert not boxes_overlap(positions)
    # A filter hides teams but moves none.
    assert _team_positions(silos) == {slug: positions[slug] for slug in _team_positions(silos)}
    units = [e for e in first["elements"] if e["data"].get("kind") == "unit"]
    parents = {
        e["data"].get("parent") for e in first["elements"] if e["data"].get("kind") == "team"
    }
    assert {f"unit:{u['data']['id'].split(':', 1)[1]}" for u in units} == parents - {None}
    shapes = {
        e["data"]["type"]: e["data"]["shape"] for e in first["elements"] if "shape" in e["data"]
    }
    assert shapes["ops_silo"] == "octagon"
    assert shapes["stream_aligned"] == "round-rectangle"


def test_the_layout_is_computed_once_per_topology_version(
    demo: WebDemo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from transform.web import graph_pages

    cache.clear()
    laid_out: list[int] = []
    real = graph_pages.team_positions

    def counting(snapshot: Any) -> Any:
        laid_out.append(len(snapshot.teams))
        return real(snapshot)

    # A pass-through spy: the real layout is made; only how often is recorded.
    monkeypatch.setattr(graph_pages, "team_positions", counting)
    client = client_for("member")

    client.get("/o/demo/graph/data.json")
    client.get("/o/demo/graph/data.json?type=ops_silo")  # another filter: the same layout
    client.get("/o/demo/graph/data.json?people=on")
    assert laid_out == [12]

    TeamFactory(organization=demo.organization, slug="newcomers")
    grown = client.get("/o/demo/graph/data.json").json()

    assert laid_out == [12, 13]
    assert "newcomers" in _team_positions(grown)


def test_the_as_of_date_shows_the_topology_of_that_day(demo: WebDemo) -> None:
    month_ago = timezone.now() - dt.timedelta(days=30)
    for model in HISTORY_MODELS:
        model.history.update(history_date=month_ago)
    TeamFactory(organization=demo.organization, slug="newcomers", name="Newcomers")
    client = client_for("member")
    yesterday = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    long_ago = (timezone.now() - dt.timedelta(days=60)).date().isoformat()

    now = client.get("/o/demo/graph/data.json").json()
    then = client.get(f"/o/demo/graph/data.json?as_of={yesterday}").json()
    before = client.get(f"/o/demo/graph/?as_of={long_ago}")

    assert "newcomers" in {team["slug"] for team in now["teams"]}
    assert "newcomers" not in {team["slug"] for team in then["teams"]}
    assert then["total_teams"] == 12
    assert then["as_of"] == yesterday
    assert f"as_of={yesterday}" in then["teams"][0]["panel_url"]
    assert "This organisation has no teams as of" in before.content.decode()
    assert 'id="graph-empty" class="empty" hidden' not in before.content.decode()


@pytest.mark.parametrize(
    ("query", "field"), [("as_of=2024-02-30", "as_of"), ("type=guild", "type")]
)
def test_bad_filters_are_400s_that_name_the_field(demo: WebDemo, query: str, field: str) -> None:
    client = client_for("member")

    data = client.get(f"/o/demo/graph/data.json?{query}")
    page = client.get(f"/o/demo/graph/?{query}")

    assert data.status_code == 400
    assert field in data.json()["extra"]["fields"]
    assert page.status_code == 400
    assert "errorlist" in page.content.decode()


def test_the_team_panel_shows_members_roles_buddy_owner_manager_and_findings(
    demo: WebDemo,
) -> None:
    response = client_for("member").get("/o/demo/graph/teams/search/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Search Squad" in html
    for text in ("Engineering manager", "DevOps buddy", "Product owner", "Members (", "Findings"):
        assert text in html
    assert "Marcus Reed" in html  # the manager
    assert "<html" not in html  # a fragment for htmx


def test_the_team_panel_lists_the_services_the_team_owns(demo: WebDemo) -> None:
    search = models.Team.objects.get(organization=demo.organization, slug="search")
    for slug, kind in (("search-ui", models.ServiceKind.COMPONENT), ("query", "api")):
        models.Service.objects.create(
            organization=demo.organization, team=search, slug=slug, kind=kind
        )

    response = client_for("member").get("/o/demo/graph/teams/search/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "Services owned (2)" in html
    assert '<code>query</code> <span class="muted">(API)</span>' in html
    assert '<code>search-ui</code> <span class="muted">(Component)</span>' in html


def test_the_team_panel_without_htmx_opens_the_graph_page_with_the_panel(demo: WebDemo) -> None:
    client = client_for("member")

    redirect = client.get("/o/demo/graph/teams/dba/?as_of=2030-01-01")
    page = client.get(redirect["Location"])

    assert redirect.status_code == 302
    assert redirect["Location"] == "/o/demo/graph/?as_of=2030-01-01&team=dba"
    assert 'id="panel-heading"' in page.content.decode()
    assert "Database Administration" in page.content.decode()


def test_an_unknown_team_panel_is_not_found(demo: WebDemo) -> None:
    response = client_for("member").get("/o/demo/graph/teams/nope/", HTTP_HX_REQUEST="true")

    assert response.status_code == 404


def test_an_organisation_without_teams_shows_an_empty_state(demo: WebDemo) -> None:
    client = client_for("outsider")  # admin of globex, which has no teams

    graph = client.get("/o/globex/graph/").content.decode()
    listing = client.get("/o/globex/findings/").content.decode()

    assert "This organisation has no teams" in graph
    assert "no teams yet, so there is nothing to analyse" in listing


@pytest.mark.parametrize(
    "url",
    ["/o/demo/graph/", "/o/demo/graph/data.json?people=on", "/o/demo/findings/"],
)
def test_query_counts_do_not_grow_with_the_organisation(
    demo: WebDemo, django_assert_max_num_queries: Any, url: str
) -> None:
    client = client_for("agent")
    # 14: the graph's two reads of topology marks (verifications, open proposals) and the
    # findings' playbook titles included.
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200

    grow(demo.organization, squads=25)

    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200


def test_the_team_panel_runs_a_constant_number_of_queries(
    demo: WebDemo, django_assert_max_num_queries: Any
) -> None:
    client = client_for("member")
    grow(demo.organization, squads=25)

    # 12: the team and whether the caller manages it, for its topology proposals, included; the
    # services come with the snapshot (one query, whatever their number).
    with django_assert_max_num_queries(12):
        response = client.get("/o/demo/graph/teams/dba/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200


# --- Findings -------------------------------------------------------------------------------


def test_a_member_sees_findings_without_the_start_playbook_action(demo: WebDemo) -> None:
    response = client_for("member").get("/o/demo/findings/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ops silo" in html
    assert "unify-ops-silos" in html
    assert 'href="/o/demo/graph/?team=dba#team-panel"' in html
    assert "Start playbook" not in html


@pytest.mark.parametrize("username", ["agent", "demo"])
def test_change_agents_and_admins_get_a_start_playbook_form(demo: WebDemo, username: str) -> None:
    html = client_for(username).get("/o/demo/findings/").content.decode()

    assert 'action="/o/demo/findings/start/"' in html
    assert '<button type="submit">Start playbook</button>' in html


def test_the_start_form_defaults_to_the_callers_own_email(demo: WebDemo) -> None:
    html = client_for("agent").get("/o/demo/findings/").content.decode()

    assert f'value="{AGENT}"' in html
    assert f'value="{timezone.localdate().isoformat()}"' in html


def test_findings_filter_by_kind_and_severity(demo: WebDemo) -> None:
    client = client_for("member")

    silos = client.get("/o/demo/findings/?kind=ops_silo").content.decode()
    low = client.get("/o/demo/findings/?severity=low").content.decode()

    assert silos.count('class="finding finding-') == 3
    assert "Missing DevOps buddy</h3>" not in silos
    assert "No finding matches these filters." in low


def test_findings_are_paginated(demo: WebDemo) -> None:
    client = client_for("member")

    first = client.get("/o/demo/findings/").content.decode()
    second = client.get("/o/demo/findings/?page=2").content.decode()

    assert first.count('class="finding finding-') == 10
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert second.count('class="finding finding-') == 7
    assert 'start="11"' in second


def test_a_finding_concerning_many_teams_links_the_first_twelve_and_counts_the_rest(
    demo: WebDemo,
) -> None:
    grow(demo.organization, squads=25)

    html = client_for("member").get("/o/demo/findings/?kind=ops_silo").content.decode()

    [silo] = [
        article for article in html.split("<article")[1:] if "database work sits in" in article
    ]
    concerns = silo.split('class="subjects"')[1].split("</p>")[0]
    assert concerns.count("<a href=") == 12
    assert re.search(r"and \d+ more", concerns)


def _start(client: Client, **overrides: str) -> Any:
    data = {
        "playbook": "devops-buddy-programme",
        "start_date": "2030-03-02",
        "owner": AGENT,
        "sponsor": "",
        **overrides,
    }
    return client.post("/o/demo/findings/start/", data)


def test_a_change_agent_starts_the_suggested_playbook_and_lands_on_the_plans(
    demo: WebDemo,
) -> None:
    count = Transformation.objects.count()

    response = _start(client_for("agent"), sponsor="helen.park@democorp.example", step="confirm")

    assert response.status_code == 302
    assert Transformation.objects.count() == count + 1
    started = Transformation.objects.latest("id")
    assert response["Location"] == f"/o/demo/plans/{started.pk}/"
    assert started.start_date == dt.date(2030, 3, 2)
    assert started.lead_change_agent.email == AGENT
    assert started.sponsor is not None
    assert started.created_by is not None
    assert started.created_by.username == "agent"
    assert [p.key for p in started.playbooks.all()] == ["devops-buddy-programme"]


@pytest.mark.parametrize("username", ["member", "leader", "manager"])
def test_other_roles_cannot_start_a_playbook(demo: WebDemo, username: str) -> None:
    count = Transformation.objects.count()
    client = client_for(username)

    assert _start(client).status_code == 403
    assert client.get("/o/demo/findings/start/?playbook=unify-ops-silos").status_code == 403
    assert Transformation.objects.count() == count


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"owner": "nobody@democorp.example"}, "No person with e-mail"),
        ({"sponsor": "ghost@democorp.example"}, "No person with e-mail"),
        ({"playbook": "no-such-playbook"}, "No playbook"),
        ({"start_date": "not-a-date"}, "Enter a valid date."),
        ({"owner": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_bad_start_input_shows_the_error_next_to_the_form(
    demo: WebDemo, overrides: dict[str, str], message: str
) -> None:
    count = Transformation.objects.count()

    response = _start(client_for("agent"), **overrides)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert '<button type="submit">Start playbook</button>' in html
    assert Transformation.objects.count() == count


def test_the_start_page_offers_the_form_for_a_playbook(demo: WebDemo) -> None:
    response = client_for("agent").get("/o/demo/findings/start/?playbook=unify-ops-silos")

    assert response.status_code == 200
    assert 'value="unify-ops-silos"' in response.content.decode()


# --- Scenario -------------------------------------------------------------------------------


def test_the_scenario_page_says_when_there_is_no_transformation(demo: WebDemo) -> None:
    Transformation.objects.all().delete()

    html = client_for("member").get("/o/demo/scenario/").content.decode()

    assert "No transformation yet" in html


def test_the_scenario_page_says_when_there_is_no_pending_change(demo: WebDemo) -> None:
    html = client_for("member").get("/o/demo/scenario/").content.decode()

    assert "has no pending topology change" in html
    assert demo.transformation.title in html


def test_the_scenario_shows_the_target_next_to_the_current_topology_with_deltas(
    demo: WebDemo,
) -> None:
    milestone_change_add(milestone=demo.started, change=MERGE_SILOS, actor=None)

    response = client_for("member").get("/o/demo/scenario/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="scenario-before"' in html
    assert 'id="scenario-after"' in html
    assert 'id="scenario-after-data"' in html
    assert "infrastructure-platform" in html
    assert "Findings resolved" in html
    assert "flow score" in html.lower()
    assert "merge teams" in html
    after = response.context["after_elements"]
    before = response.context["before_elements"]

    def marked(elements: list[dict[str, Any]], mark: str) -> list[str]:
        return sorted(
            e["data"]["slug"]
            for e in elements
            if e["data"].get("kind") == "team" and mark in e.get("classes", "").split()
        )

    assert marked(after, "added") == ["infrastructure-platform"]
    assert marked(before, "removed") == ["backend-ops", "dba", "networking"]
    # The teams the attached change names are highlighted, as the legend says.
    assert marked(before, "affected") == ["backend-ops", "dba", "networking"]
    assert marked(after, "affected") == ["infrastructure-platform"]
    assert len(response.context["affected"]) == 4
    assert "Infrastructure Platform" in response.context["affected"]
    assert 'id="scenario-affected"' in html
    # Links to the silos go away (red, dashed) and links to the merged team come (green).
    assert [e for e in before if e["group"] == "edges" and "removed" in e["classes"].split()]
    assert [e for e in after if e["group"] == "edges" and "added" in e["classes"].split()]
    assert 'data-mark="affected"' in html
    assert response.context["resolved"]


def test_the_scenario_target_keeps_the_current_positions_and_overlaps_nothing(
    demo: WebDemo,
) -> None:
    from teams.layout import boxes_overlap

    milestone_change_add(milestone=demo.started, change=MERGE_SILOS, actor=None)
    client = client_for("member")

    response = client.get("/o/demo/scenario/")
    graph = client.get("/o/demo/graph/data.json").json()

    def positions(elements: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
        return {
            e["data"]["slug"]: e["position"] for e in elements if e["data"].get("kind") == "team"
        }

    current = positions(response.context["before_elements"])
    target = positions(response.context["after_elements"])
    # The current drawing is the graph page's, and every team that stays keeps its place.
    assert current == _team_positions(graph)
    staying = set(current) & set(target)
    assert len(staying) == 9
    assert all(target[slug] == current[slug] for slug in staying)
    assert not boxes_overlap(current)
    assert not boxes_overlap(target)
    assert "infrastructure-platform" in target


def test_the_scenario_drawings_are_made_once_until_the_graph_or_the_changes_change(
    demo: WebDemo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from transform.web import scenario_pages

    cache.clear()
    drawn: list[str] = []
    real = scenario_pages._scenario_elements

    def counting(*args: Any, **kwargs: Any) -> Any:
        drawn.append(args[0].organization)
        return real(*args, **kwargs)

    # A pass-through spy: the real drawings are made; only how often is recorded.
    monkeypatch.setattr(scenario_pages, "_scenario_elements", counting)
    milestone_change_add(milestone=demo.started, change=MERGE_SILOS, actor=None)
    client = client_for("member")

    first = client.get("/o/demo/scenario/")
    again = client.get("/o/demo/scenario/")
    assert drawn == ["demo", "demo"]  # current and target
    assert again.context["after_elements"] == first.context["after_elements"]

    TeamFactory(organization=demo.organization, slug="newcomers")
    grown = client.get("/o/demo/scenario/")

    assert len(drawn) == 4
    slugs = {e["data"].get("slug") for e in grown.context["before_elements"]}
    assert "newcomers" in slugs


def test_the_scenario_can_stop_at_a_milestone(demo: WebDemo) -> None:
    milestone_change_add(milestone=demo.started, change=MERGE_SILOS, actor=None)
    later = demo.transformation.milestones.order_by("position").last()
    assert later is not None
    client = client_for("member")

    upto = client.get(f"/o/demo/scenario/?milestone={demo.started.pk}")
    bad = client.get("/o/demo/scenario/?milestone=999999")

    assert upto.status_code == 200
    assert upto.context["up_to"] == demo.started
    assert bad.status_code == 400
    assert "No milestone" in bad.content.decode()
    assert client.get(f"/o/demo/scenario/?milestone={later.pk}").status_code == 200


def test_another_organisations_transformation_is_not_found(demo: WebDemo) -> None:
    other = client_for("outsider")

    response = other.get(f"/o/globex/scenario/?transformation={demo.transformation.pk}")

    assert response.status_code == 200  # globex has none: the empty state, not demo's plan
    assert demo.transformation.title not in response.content.decode()
    missing = client_for("member").get("/o/demo/scenario/?transformation=424242")
    assert missing.status_code == 404


def test_the_scenario_runs_a_constant_number_of_queries(
    demo: WebDemo, django_assert_max_num_queries: Any
) -> None:
    milestone_change_add(milestone=demo.started, change=MERGE_SILOS, actor=None)
    client = client_for("member")
    with django_assert_max_num_queries(27):
        assert client.get("/o/demo/scenario/").status_code == 200

    grow(demo.organization, squads=25)

    with django_assert_max_num_queries(27):
        assert client.get("/o/demo/scenario/").status_code == 200


def test_todays_drawing_is_made_once_per_topology_version_and_filter(
    demo: WebDemo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from transform.web import graph_pages

    cache.clear()
    made: list[dict[str, Any]] = []
    real = graph_pages.graph_data

    def counting(**kwargs: Any) -> Any:
        made.append(kwargs["filters"])
        return real(**kwargs)

    # A pass-through spy: the real drawing is made; only how often is recorded.
    monkeypatch.setattr(graph_pages, "graph_data", counting)
    client = client_for("member")

    first = client.get("/o/demo/graph/data.json").json()
    assert client.get("/o/demo/graph/data.json").json() == first
    assert client.get("/o/demo/graph/").status_code == 200  # the page draws the same
    silos = client.get("/o/demo/graph/data.json?type=ops_silo").json()
    assert len(made) == 2
    assert len(silos["teams"]) < len(first["teams"])

    TeamFactory(organization=demo.organization, slug="newcomers")
    grown = client.get("/o/demo/graph/data.json").json()

    assert len(made) == 3
    assert "newcomers" in {team["slug"] for team in grown["teams"]}


@pytest.mark.parametrize(
    ("change", "affected"),
    [
        (MERGE_SILOS, {"dba", "networking", "backend-ops", "infrastructure-platform"}),
        ({"kind": "add_devops_buddy", "team": "search", "person": "a@x.test"}, {"search"}),
        (
            {"kind": "move_person", "person": "a@x.test", "from_team": "dba", "to_team": "search"},
            {"dba", "search"},
        ),
        (
            {"kind": "split_team", "team": "dba", "into": [{"slug": "db-a"}, {"slug": "db-b"}]},
            {"dba", "db-a", "db-b"},
        ),
        (
            {"kind": "change_interaction_mode", "source": "search", "target": "dba"},
            {"search", "dba"},
        ),
    ],
)
def test_the_teams_a_change_names_are_the_ones_it_affects(
    change: dict[str, Any], affected: set[str]
) -> None:
    from transform.web.scenario_pages import affected_teams

    known = {
        "dba",
        "networking",
        "backend-ops",
        "infrastructure-platform",
        "search",
        "db-a",
        "db-b",
    }

    assert affected_teams([change], known) == affected
    assert affected_teams([change], {"search"}) == affected & {"search"}
