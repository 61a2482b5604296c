"""The organisation's scorecard grid through Django's test client: who sees it, the per-check
totals over the teams a check applies to, n/a cells, names not slugs, the unit and type filters,
and a query count that does not grow with the number of teams."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from teams.models import InteractionMode, MembershipRole, Organization, Role, TeamType
from teams.scorecard import CHECK_KINDS, Check, CheckTotal, scorecard_totals
from tests.builders import make_organization, role_client
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    OrgUnitFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


def scorecard_url(organization: Organization) -> str:
    return reverse("web:scorecard", kwargs={"org_slug": organization.slug})


def build_org(slug: str = "acme", *, extra_stream_teams: int = 0) -> Organization:
    """Three stream-aligned teams (two with a DevOps buddy; one waits on the silo through
    tickets), a platform team without a product owner, an ops silo; ``extra_stream_teams`` more
    stream-aligned teams with a buddy."""
    organization = make_organization(slug)
    web = OrgUnitFactory(organization=organization, slug="web-unit", name="Web Unit")
    core = OrgUnitFactory(organization=organization, slug="core-unit", name="Core Unit")
    silo = TeamFactory(
        organization=organization, slug="dba", name="Database Admins", type=TeamType.OPS_SILO
    )
    platform = TeamFactory(
        organization=organization,
        slug="plat",
        name="Platform Crew",
        type=TeamType.PLATFORM,
        unit=core,
    )
    for _ in range(4):
        MembershipFactory(team=platform)
    names = [("pay", "Payments Squad", True), ("srch", "Search Squad", True)]
    names += [("chk", "Checkout Squad", False)]
    names += [(f"more{n}", f"More Squad {n}", True) for n in range(extra_stream_teams)]
    for slug_, name, buddy in names:
        team = TeamFactory(
            organization=organization,
            slug=slug_,
            name=name,
            type=TeamType.STREAM_ALIGNED,
            unit=web,
        )
        for _ in range(3):
            MembershipFactory(team=team)
        if buddy:
            MembershipFactory(team=team, role=MembershipRole.DEVOPS_BUDDY)
    InteractionFactory(
        source=organization.teams.get(slug="chk"),
        target=silo,
        mode=InteractionMode.TICKET_DEPENDENCY,
    )
    return organization


def text_of(html: str) -> str:
    """The page's visible words (tags and attributes dropped)."""
    body = html.split("<main", 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def grid_row(html: str, team_name: str) -> str:
    rows = re.findall(r"<tr data-team=.*?</tr>", html, flags=re.S)
    found = [row for row in rows if f">{team_name}</a>" in row]
    assert found, f"no row for {team_name}"
    return found[0]


def cell(row: str, key: str) -> str:
    found = re.search(rf'class="cell cell-(\w+)" data-check="{key}"', row)
    assert found is not None, key
    return found.group(1)


@pytest.mark.parametrize(
    "role",
    [Role.ADMIN, Role.CHANGE_AGENT, Role.ENGINEERING_MANAGER, Role.LEADER, Role.MEMBER],
)
def test_every_role_sees_the_grid_and_its_navigation_entry(role: str) -> None:
    organization = build_org()
    client = role_client(organization, role)

    response = client.get(scorecard_url(organization))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert f'href="{scorecard_url(organization)}"' in html.split("<main", 1)[0]
    assert "Payments Squad" in html


def test_another_organisations_people_get_a_404_and_strangers_the_login() -> None:
    organization = build_org()
    outsider = role_client(make_organization("globex"), Role.ADMIN)

    assert outsider.get(scorecard_url(organization)).status_code == 404
    anonymous = Client().get(scorecard_url(organization))
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_the_totals_count_only_the_teams_a_check_applies_to() -> None:
    organization = build_org()

    html = role_client(organization, Role.MEMBER).get(scorecard_url(organization)).content
    words = text_of(html.decode())

    assert "2 of 3 stream-aligned teams have a DevOps buddy" in words
    assert "0 of 1 platform team has a product owner" in words
    # The silo's own row is not judged on tickets it receives; Checkout waits on it.
    assert "4 of 5 teams send no tickets into an ops silo" in words


def test_cells_pass_fail_or_do_not_apply_and_rows_link_team_pages_by_name() -> None:
    organization = build_org()

    html = role_client(organization, Role.MEMBER).get(scorecard_url(organization)).content.decode()

    checkout = grid_row(html, "Checkout Squad")
    assert cell(checkout, "devops_buddy") == "fail"
    assert cell(checkout, "product_owner") == "na"
    assert cell(checkout, "no_tickets_into_silos") == "fail"
    assert "Waits on Database Admins through tickets." in checkout
    payments = grid_row(html, "Payments Squad")
    assert cell(payments, "devops_buddy") == "pass"
    assert cell(grid_row(html, "Platform Crew"), "product_owner") == "fail"
    assert cell(grid_row(html, "Database Admins"), "team_size") == "na"
    team_url = reverse("web:team", kwargs={"org_slug": organization.slug, "team_slug": "chk"})
    assert f'<a href="{team_url}">Checkout Squad</a>' in checkout
    # Names and labels, never slugs or codes.
    words = text_of(html)
    for code in ("chk", "plat", "stream_aligned", "ops_silo", "web-unit", "devops_buddy"):
        assert re.search(rf"\b{re.escape(code)}\b", words) is None, code
    assert "Stream-aligned · Web Unit" in words


def test_the_filters_narrow_the_rows_and_the_totals() -> None:
    organization = build_org()
    client = role_client(organization, Role.MEMBER)

    by_type = client.get(scorecard_url(organization), {"type": TeamType.PLATFORM}).content
    by_unit = client.get(scorecard_url(organization), {"unit": "web-unit"}).content

    assert re.findall(r'<tr data-team="(\w+)"', by_type.decode()) == ["plat"]
    assert "No stream-aligned team to check" in text_of(by_type.decode())
    assert sorted(re.findall(r'<tr data-team="(\w+)"', by_unit.decode())) == ["chk", "pay", "srch"]
    assert "2 of 3 stream-aligned teams have a DevOps buddy" in text_of(by_unit.decode())


# Session, user and roles (org_page), units, teams, memberships, interactions, the cached
# analysis's key. Pinned so that a query per team or per check shows up here.
SCORECARD_QUERIES = 8


@pytest.mark.parametrize("extra_stream_teams", [0, 12])
def test_the_grid_runs_a_fixed_number_of_queries_whatever_the_team_count(
    extra_stream_teams: int, django_assert_num_queries: Any
) -> None:
    organization = build_org(extra_stream_teams=extra_stream_teams)
    client = role_client(organization, Role.LEADER)
    client.get(scorecard_url(organization))  # the analysis is cached for an unchanged topology

    with django_assert_num_queries(SCORECARD_QUERIES):
        response = client.get(scorecard_url(organization))

    assert response.status_code == 200
    assert response.content.decode().count("<tr data-team=") == 5 + extra_stream_teams


def test_totals_skip_checks_that_do_not_apply() -> None:
    cards = [
        [Check("devops_buddy", "", True, ""), Check("product_owner", "", None, "")],
        [Check("devops_buddy", "", False, ""), Check("product_owner", "", None, "")],
        [Check("devops_buddy", "", None, ""), Check("product_owner", "", True, "")],
    ]

    totals = {total.kind.key: total for total in scorecard_totals(cards)}

    assert (totals["devops_buddy"].passed, totals["devops_buddy"].judged) == (1, 2)
    assert totals["devops_buddy"].sentence == "1 of 2 stream-aligned teams has a DevOps buddy"
    assert totals["product_owner"].sentence == "1 of 1 platform team has a product owner"
    assert totals["team_size"].sentence == "No team judged to check"
    assert CheckTotal(CHECK_KINDS[0], 4, 6).sentence == (
        "4 of 6 stream-aligned teams have a DevOps buddy"
    )


def test_a_team_page_links_to_the_grid() -> None:
    organization = build_org()
    team_url = reverse("web:team", kwargs={"org_slug": organization.slug, "team_slug": "pay"})

    html = role_client(organization, Role.MEMBER).get(team_url).content.decode()

    assert f'<a href="{scorecard_url(organization)}">Compare with every team' in html
