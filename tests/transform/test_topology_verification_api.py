"""Topology staleness: ``transform.checkins.selectors.team_verification_list`` and
GET /api/v1/orgs/<slug>/topology-verification/ (transform/checkins/apis.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from teams.models import Organization, Person, Role, Team
from tests.factories import (
    CheckInFactory,
    CheckinSettingsFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    PersonFactory,
    TeamFactory,
    TeamVerificationFactory,
    UserFactory,
)
from transform.checkins.selectors import team_verification_list
from transform.models import CheckIn, CheckInKind, CheckinSettings, TeamVerification
from transform.rhythm.links import link_nonce_new

pytestmark = pytest.mark.django_db

URL = "/api/v1/orgs/acme/topology-verification/"


def ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def verify(
    team: Team, by: Person, *, days_ago: int, confirmed: bool = True, note: str = ""
) -> None:
    TeamVerificationFactory(
        team=team, verified_by=by, verified_at=ago(days_ago), confirmed=confirmed, corrections=note
    )


def open_checkin(team: Team, *, expires_in_days: int = 3, answered: bool = False) -> CheckIn:
    assert team.manager is not None
    checkin: Any = CheckInFactory(
        organization=team.organization,
        kind=CheckInKind.TOPOLOGY_VERIFICATION,
        recipient=team.manager,
        subject=f"team:{team.pk}",
        period=f"p{expires_in_days}{answered}",
        period_start=timezone.localdate(),
        team=team,
        instruments=[["topology-verification", 1]],
        link_nonce=link_nonce_new(),
        created_at=ago(1),
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days),
        answered_at=ago(0) if answered else None,
    )
    return checkin


@pytest.fixture
def acme(db: Any) -> dict[str, Any]:
    """acme with 30-day verification: payments confirmed 10 days ago, search confirmed 40 days
    ago, dba never verified, web confirmed 60 days ago then corrected 5 days ago."""
    org: Any = OrganizationFactory(slug="acme", name="Acme")
    CheckinSettingsFactory(organization=org, topology_verify_every_days=30)
    em: Any = PersonFactory(organization=org, email="em@acme.test", name="Em")
    teams: dict[str, Any] = {
        slug: TeamFactory(organization=org, slug=slug, manager=em)
        for slug in ("payments", "search", "dba", "web")
    }
    verify(teams["payments"], em, days_ago=40)
    verify(teams["payments"], em, days_ago=10)
    verify(teams["search"], em, days_ago=40)
    verify(teams["web"], em, days_ago=60)
    verify(teams["web"], em, days_ago=5, confirmed=False, note="Bob moved to search")
    return {"org": org, "em": em, "teams": teams}


def client_for(org: Organization, role: str | None) -> APIClient:
    user: Any = UserFactory()
    if role is not None:
        OrganizationRoleFactory(organization=org, user=user, role=role)
    client = APIClient()
    client.force_login(user)
    return client


def test_each_team_shows_its_last_verification_and_whether_it_is_stale(
    acme: dict[str, Any],
) -> None:
    response = client_for(acme["org"], Role.MEMBER).get(URL)

    assert response.status_code == 200, response.content
    rows = {row["team"]["slug"]: row for row in response.json()["results"]}
    assert list(rows) == ["dba", "payments", "search", "web"]
    assert {slug: row["stale"] for slug, row in rows.items()} == {
        "dba": True,
        "payments": False,
        "search": True,
        "web": True,
    }
    assert rows["dba"]["last_verification"] is None
    assert rows["dba"]["last_confirmed_at"] is None
    web = rows["web"]
    assert web["last_verification"]["confirmed"] is False
    assert web["last_verification"]["corrections"] == "Bob moved to search"
    assert web["last_verification"]["verified_by"] == {
        "id": acme["em"].pk,
        "email": "em@acme.test",
        "name": "Em",
    }
    assert web["last_confirmed_at"] is not None
    assert rows["payments"]["last_verification"]["confirmed"] is True
    assert rows["payments"]["manager"]["email"] == "em@acme.test"
    assert rows["payments"]["team"]["type"] == "stream_aligned"


def test_an_open_verification_checkin_shows_as_pending(acme: dict[str, Any]) -> None:
    teams = acme["teams"]
    open_checkin(teams["search"])
    open_checkin(teams["dba"], expires_in_days=-1)  # expired
    open_checkin(teams["web"], answered=True)

    rows = client_for(acme["org"], Role.MEMBER).get(URL).json()["results"]

    assert {row["team"]["slug"]: row["pending_checkin"] for row in rows} == {
        "dba": False,
        "payments": False,
        "search": True,
        "web": False,
    }


@pytest.mark.parametrize(
    ("value", "slugs"), [("true", ["dba", "search", "web"]), ("false", ["payments"])]
)
def test_the_list_filters_stale_teams(acme: dict[str, Any], value: str, slugs: list[str]) -> None:
    response = client_for(acme["org"], Role.LEADER).get(URL, {"stale": value})

    assert [row["team"]["slug"] for row in response.json()["results"]] == slugs


def test_a_bad_stale_filter_is_a_400_naming_the_field(acme: dict[str, Any]) -> None:
    response = client_for(acme["org"], Role.MEMBER).get(URL, {"stale": "perhaps"})

    assert response.status_code == 400
    assert "stale" in response.json()["extra"]["fields"]


def test_the_cadence_setting_decides_what_is_stale(acme: dict[str, Any]) -> None:
    CheckinSettings.objects.filter(organization=acme["org"]).update(topology_verify_every_days=90)

    rows: list[Any] = list(team_verification_list(organization=acme["org"], at=timezone.now()))

    assert {team.slug: team.stale for team in rows} == {
        "dba": True,
        "payments": False,
        "search": False,
        "web": False,
    }


def test_the_selector_reads_the_record_as_it_was_at_a_past_moment(acme: dict[str, Any]) -> None:
    rows: dict[str, Any] = {
        team.slug: team for team in team_verification_list(organization=acme["org"], at=ago(20))
    }

    older = TeamVerification.objects.get(team=acme["teams"]["payments"], verified_at__lt=ago(20))
    # 20 days ago, payments' latest confirmation was 20 days old: fresh within 30 days.
    assert rows["payments"].last_verified_at == older.verified_at
    assert rows["payments"].stale is False
    # web's correction came later; its confirmation was then 40 days old: stale.
    assert rows["web"].last_confirmed is True
    assert rows["web"].stale is True


@pytest.mark.parametrize(("role", "status"), [(None, 404), ("anonymous", 401)])
def test_callers_without_a_role_in_the_organisation_get_404_and_anonymous_401(
    acme: dict[str, Any], role: str | None, status: int
) -> None:
    client = APIClient() if role == "anonymous" else client_for(acme["org"], None)

    response = client.get(URL)

    assert response.status_code == status
    assert set(response.json()) == {"message", "extra"}


def test_other_organisations_teams_are_not_listed(acme: dict[str, Any]) -> None:
    globex = OrganizationFactory(slug="globex")
    TeamFactory(organization=globex, slug="globex-team")

    rows = client_for(acme["org"], Role.MEMBER).get(URL).json()["results"]

    assert "globex-team" not in {row["team"]["slug"] for row in rows}


def test_the_list_runs_as_many_queries_for_30_teams_as_for_3(
    db: Any, django_assert_num_queries: Any
) -> None:
    counts = {}
    for size in (3, 30):
        org: Any = OrganizationFactory(slug=f"org-{size}")
        em: Any = PersonFactory(organization=org)
        for index in range(size):
            team: Any = TeamFactory(organization=org, slug=f"t{index}", manager=em)
            verify(team, em, days_ago=index)
            open_checkin(team)
        client = client_for(org, Role.MEMBER)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/orgs/org-{size}/topology-verification/")
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)

    assert counts[3] == counts[30]
    with django_assert_num_queries(counts[3]):
        client.get("/api/v1/orgs/org-30/topology-verification/")
