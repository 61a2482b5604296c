"""The team and people lists read rows, not model instances (issue 14): the JSON must stay what
the documented serializers (``TeamOutputSerializer``, ``PersonOutputSerializer``) give, byte for
byte, with every filter and page, and the queries must stay three whatever the page size.

The reference is the list as it was before: the same view answering with model instances
through the documented serializer (``OrgScopedViewSet.list``), on a generated organisation
(units, ops silos, shared DevOps engineers in several squads, services, leavers) with history:
renamed, changed, merged and retired teams, a manager who left, logins, text DRF escapes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from teams import lifecycle, services
from teams.apis import OrgScopedViewSet, PersonViewSet, TeamViewSet
from teams.models import LineageKind, Membership, Person, Role, Service, Team, TeamType
from teams.synthetic import org_generate
from tests.builders import fresh, module_world
from tests.factories import OrganizationRoleFactory, PersonFactory, UserFactory

SLUG = "rows"


@dataclass
class RowsWorld:
    admin: Any
    unit: str
    squad: str
    search: str


def build_rows_world() -> RowsWorld:
    generated = org_generate(slug=SLUG, teams=24, people=120, seed=7)
    organization = generated.organization
    admin: Any = UserFactory()
    OrganizationRoleFactory(organization=organization, user=admin, role=Role.ADMIN)
    teams = list(Team.all_objects.filter(organization=organization).order_by("slug"))
    squads = [team for team in teams if team.type == TeamType.STREAM_ALIGNED]
    renamed, changed, merged, retired, target = squads[:5]
    services.team_update(
        team=renamed, data={"slug": f"{renamed.slug}-renamed"}, source="api", actor=admin
    )
    # Text DRF's renderer treats specially: non-ASCII, quotes, a line separator.
    services.team_update(
        team=changed,
        data={
            "name": "Zürich “Ops” \u2013 ✓",
            "description": 'Line one\u2028line two "quoted" \\ /',
            "unit": None,
        },
        source="api",
        actor=admin,
    )
    lifecycle.team_retire(
        team=merged, source="api", actor=admin, kind=LineageKind.MERGED, successors=[target]
    )
    lifecycle.team_retire(team=retired, source="api", actor=admin, reason="wound down")
    # A moment without microseconds renders without a fraction.
    Team.all_objects.filter(pk=target.pk).update(
        created_at=dt.datetime(2024, 2, 29, 23, 0, tzinfo=dt.UTC)
    )
    manager = Person.objects.filter(organization=organization, managed_teams__isnull=False).first()
    assert manager is not None, "the generator gives teams managers"
    lifecycle.person_leave(person=manager, source="api", actor=admin)
    PersonFactory(organization=organization, user=UserFactory(), name="Ünïcode Login")
    assert Service.objects.filter(organization=organization).exists()
    shared = (
        Membership.objects.filter(organization=organization)
        .values_list("person_id", flat=True)
        .order_by("person_id")
    )
    assert len(shared) > len(set(shared)), "some people are members of several teams"
    silo = Team.objects.filter(organization=organization, type=TeamType.OPS_SILO).first()
    assert silo is not None
    assert silo.specialty
    unit = Team.objects.filter(organization=organization, unit__isnull=False).first()
    assert unit is not None
    assert unit.unit is not None
    return RowsWorld(
        admin=admin, unit=unit.unit.slug, squad=target.slug, search=manager.name.split()[0]
    )


@pytest.fixture(scope="module")
def rows_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[RowsWorld]:
    yield from module_world(django_db_blocker, build_rows_world)


@pytest.fixture
def rows_world(rows_world_built: RowsWorld, db: None) -> RowsWorld:
    return fresh(rows_world_built)


class InstanceTeamViewSet(TeamViewSet):
    """The team list as it was: model instances through ``TeamOutputSerializer``."""

    list = OrgScopedViewSet.list


class InstancePersonViewSet(PersonViewSet):
    """The people list as it was: model instances through ``PersonOutputSerializer``."""

    list = OrgScopedViewSet.list


def _reference(viewset: type[OrgScopedViewSet], url: str, user: Any) -> bytes:
    request = APIRequestFactory().get(url)
    force_authenticate(request, user)
    response = viewset.as_view({"get": "list"})(request, org_slug=SLUG)
    assert response.status_code == 200, response.data
    response.render()
    return bytes(response.content)


TEAM_QUERIES = [
    "page_size=1000&status=all",
    "",
    "status=retired",
    "type=ops_silo",
    "type=stream_aligned&page_size=3&page=2",
    "unit={unit}",
    "page_size=7&page=last&status=all",
]
PEOPLE_QUERIES = [
    "page_size=1000",
    "leaver=true",
    "leaver=false&page_size=9&page=4",
    "team={squad}",
    "search={search}",
    "email=NOBODY@example.test",
]


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Paris"])
@pytest.mark.parametrize("query", TEAM_QUERIES)
def test_the_team_list_gives_the_documented_serializers_bytes(
    rows_world: RowsWorld, settings: Any, time_zone: str, query: str
) -> None:
    settings.TIME_ZONE = time_zone
    url = f"/api/v1/orgs/{SLUG}/teams/?{query.format(**vars(rows_world))}"
    client = APIClient()
    client.force_authenticate(rows_world.admin)

    response = client.get(url)

    assert response.status_code == 200, response.content
    assert response.json()["results"] or query == "status=retired"
    assert response.content == _reference(InstanceTeamViewSet, url, rows_world.admin)


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Paris"])
@pytest.mark.parametrize("query", PEOPLE_QUERIES)
def test_the_people_list_gives_the_documented_serializers_bytes(
    rows_world: RowsWorld, settings: Any, time_zone: str, query: str
) -> None:
    settings.TIME_ZONE = time_zone
    url = f"/api/v1/orgs/{SLUG}/people/?{query.format(**vars(rows_world))}"
    client = APIClient()
    client.force_authenticate(rows_world.admin)

    response = client.get(url)

    assert response.status_code == 200, response.content
    assert response.content == _reference(InstancePersonViewSet, url, rows_world.admin)


def test_the_reference_lists_show_what_the_comparison_relies_on(rows_world: RowsWorld) -> None:
    client = APIClient()
    client.force_authenticate(rows_world.admin)

    teams = client.get(f"/api/v1/orgs/{SLUG}/teams/?page_size=1000&status=all").json()["results"]
    people = client.get(f"/api/v1/orgs/{SLUG}/people/?page_size=1000").json()["results"]

    assert {team["retired_at"] is None for team in teams} == {True, False}
    assert {team["unit"] is None for team in teams} == {True, False}
    assert {team["manager"] is None for team in teams} == {True, False}
    assert any(team["created_at"] == "2024-02-29T23:00:00Z" for team in teams)
    assert any(team["specialty"] for team in teams)
    assert {person["user"] is None for person in people} == {True, False}
    assert {person["left_on"] is None for person in people} == {True, False}


@pytest.mark.parametrize(
    "query", ["page_size=1", "page_size=1000&status=all", "unit={unit}&type=stream_aligned"]
)
def test_the_team_list_runs_three_queries_whatever_the_page(
    rows_world: RowsWorld, query: str
) -> None:
    client = APIClient()
    client.force_authenticate(rows_world.admin)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/orgs/{SLUG}/teams/?{query.format(**vars(rows_world))}")

    assert response.status_code == 200
    # The caller's access, the count, the page.
    assert len(queries) == 3


@pytest.mark.parametrize("query", ["page_size=1", "page_size=1000", "team={squad}&leaver=false"])
def test_the_people_list_runs_three_queries_whatever_the_page(
    rows_world: RowsWorld, query: str
) -> None:
    client = APIClient()
    client.force_authenticate(rows_world.admin)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/orgs/{SLUG}/people/?{query.format(**vars(rows_world))}")

    assert response.status_code == 200
    assert len(queries) == 3
