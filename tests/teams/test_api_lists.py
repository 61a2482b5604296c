"""List endpoints: filters, pagination, and a query count that does not grow with the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from teams.models import InteractionMode, MembershipRole, Person, Role, Severity
from tests.builders import World
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    OrgUnitFactory,
    PersonFactory,
    ServesLinkFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(api_world: World) -> World:
    return api_world


def _rows(client: APIClient, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_teams_filter_by_type_specialty_and_unit(world: World) -> None:
    client = world.client("member")

    by_type = _rows(client, "/api/v1/orgs/acme/teams/?type=ops_silo")
    by_specialty = _rows(client, "/api/v1/orgs/acme/teams/?specialty=database")
    by_unit = _rows(client, "/api/v1/orgs/acme/teams/?unit=acme-eng")

    assert [team["slug"] for team in by_type] == ["acme-dba"]
    assert [team["slug"] for team in by_specialty] == ["acme-dba"]
    assert [team["slug"] for team in by_unit] == ["acme-payments"]


def test_an_unknown_filter_value_is_a_field_error(world: World) -> None:
    response = world.client("member").get("/api/v1/orgs/acme/teams/?type=squad")

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["type"]


def test_people_filter_by_team_email_and_name(world: World) -> None:
    client = world.client("member")

    by_team = _rows(client, "/api/v1/orgs/acme/people/?team=acme-payments")
    by_email = _rows(client, "/api/v1/orgs/acme/people/?email=ALICE@acme.test")
    by_name = _rows(client, "/api/v1/orgs/acme/people/?search=archer")

    assert [p["email"] for p in by_team] == ["alice@acme.test"]
    assert [p["email"] for p in by_email] == ["alice@acme.test"]
    assert [p["email"] for p in by_name] == ["alice@acme.test"]


def test_memberships_filter_by_team_person_and_role(world: World) -> None:
    client = world.client("member")
    MembershipFactory(team=world.acme.other_team, role=MembershipRole.DEVOPS_BUDDY)
    person_id = world.acme.person.pk

    by_team = _rows(client, "/api/v1/orgs/acme/memberships/?team=acme-search")
    by_person = _rows(client, f"/api/v1/orgs/acme/memberships/?person={person_id}")
    by_role = _rows(client, "/api/v1/orgs/acme/memberships/?role=devops_buddy")
    bad_person = client.get("/api/v1/orgs/acme/memberships/?person=alice")

    assert [m["team"] for m in by_team] == ["acme-search"]
    assert [m["person"] for m in by_person] == [person_id]
    assert [m["role"] for m in by_role] == ["devops_buddy"]
    assert bad_person.status_code == 400


def test_interactions_filter_by_mode_source_target_and_severity(world: World) -> None:
    client = world.client("member")
    InteractionFactory(
        source=world.acme.other_team, target=world.acme.team, mode=InteractionMode.COLLABORATION
    )

    by_mode = _rows(client, "/api/v1/orgs/acme/interactions/?mode=collaboration")
    by_source = _rows(client, "/api/v1/orgs/acme/interactions/?source=acme-payments")
    by_target = _rows(client, "/api/v1/orgs/acme/interactions/?target=acme-payments")
    by_severity = _rows(client, "/api/v1/orgs/acme/interactions/?severity=blocking")

    assert [(i["source"], i["target"]) for i in by_mode] == [("acme-search", "acme-payments")]
    assert [i["target"] for i in by_source] == ["acme-dba"]
    assert [i["source"] for i in by_target] == ["acme-search"]
    assert [i["mode"] for i in by_severity] == ["ticket_dependency"]


def test_lists_hold_only_the_organisations_own_rows(world: World) -> None:
    client = world.client("admin")

    teams = _rows(client, "/api/v1/orgs/acme/teams/")
    people = _rows(client, "/api/v1/orgs/acme/people/")

    assert all(team["slug"].startswith("acme-") for team in teams)
    assert all(person["email"].endswith("@acme.test") for person in people)


def test_pages_follow_page_and_page_size(world: World) -> None:
    client = world.client("member")

    first = client.get("/api/v1/orgs/acme/teams/?page_size=2").json()
    second = client.get("/api/v1/orgs/acme/teams/?page_size=2&page=2").json()

    assert first["count"] == 3
    assert [t["slug"] for t in first["results"]] == ["acme-dba", "acme-payments"]
    assert first["next"].endswith("page=2&page_size=2")
    assert [t["slug"] for t in second["results"]] == ["acme-search"]
    assert second["next"] is None


def test_a_page_size_up_to_1000_is_honoured_and_beyond_it_refused(world: World) -> None:
    Person.objects.bulk_create(
        Person(organization=world.acme.org, email=f"p{n}@acme.test", name=f"P {n}")
        for n in range(1005)
    )
    client = world.client("member")

    page = client.get("/api/v1/orgs/acme/people/?page_size=1000").json()
    refused = client.get("/api/v1/orgs/acme/people/?page_size=1001")

    assert len(page["results"]) == 1000
    assert page["count"] == 1008
    assert refused.status_code == 400
    assert refused.json()["extra"]["fields"]["page_size"] == [
        "Expected a whole number of rows from 1 to 1000; got '1001'. Ask for the next page for more."
    ]


def test_a_page_past_the_end_is_a_404_in_the_error_shape(world: World) -> None:
    response = world.client("member").get("/api/v1/orgs/acme/teams/?page=9")

    assert response.status_code == 404
    assert set(response.json()) == {"message", "extra"}


# Each maker adds ``n`` rows to the list behind the URL, with every relation the output shows.
def _make_units(org: Any, n: int) -> None:
    parent = OrgUnitFactory(organization=org)
    OrgUnitFactory.create_batch(n, organization=org, parent=parent)


def _make_teams(org: Any, n: int) -> None:
    unit = OrgUnitFactory(organization=org)
    for _ in range(n):
        TeamFactory(organization=org, unit=unit, manager=PersonFactory(organization=org))


def _make_people(org: Any, n: int) -> None:
    for _ in range(n):
        PersonFactory(organization=org, user=UserFactory())


def _make_memberships(org: Any, n: int) -> None:
    MembershipFactory.create_batch(n, team=TeamFactory(organization=org))


def _make_serves_links(org: Any, n: int) -> None:
    ServesLinkFactory.create_batch(n, team=TeamFactory(organization=org))


def _make_interactions(org: Any, n: int) -> None:
    source = TeamFactory(organization=org)
    for _ in range(n):
        InteractionFactory(
            source=source, mode=InteractionMode.TICKET_DEPENDENCY, severity=Severity.SLOWING
        )


def _make_roles(org: Any, n: int) -> None:
    OrganizationRoleFactory.create_batch(n, organization=org, role=Role.MEMBER)


def _make_organizations(org: Any, n: int) -> None:
    viewer = org.roles.get(role=Role.ADMIN).user
    for _ in range(n):
        OrganizationRoleFactory(organization=OrganizationFactory(), user=viewer, role=Role.LEADER)


LIST_ENDPOINTS: list[tuple[str, Callable[[Any, int], None]]] = [
    ("/api/v1/orgs/", _make_organizations),
    ("/api/v1/orgs/qc/units/", _make_units),
    ("/api/v1/orgs/qc/teams/", _make_teams),
    ("/api/v1/orgs/qc/people/", _make_people),
    ("/api/v1/orgs/qc/memberships/", _make_memberships),
    ("/api/v1/orgs/qc/serves-links/", _make_serves_links),
    ("/api/v1/orgs/qc/interactions/", _make_interactions),
    ("/api/v1/orgs/qc/roles/", _make_roles),
]


def _count_queries(client: APIClient, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize(("url", "make"), LIST_ENDPOINTS, ids=[url for url, _ in LIST_ENDPOINTS])
def test_a_list_runs_the_same_queries_for_2_rows_as_for_30(
    db: Any,
    settings: Any,
    django_assert_num_queries: Any,
    url: str,
    make: Callable[[Any, int], None],
) -> None:
    org = OrganizationFactory(slug="qc")
    admin: Any = UserFactory()
    OrganizationRoleFactory(organization=org, user=admin, role=Role.ADMIN)
    client = APIClient()
    client.force_authenticate(admin)
    make(org, 2)
    small, small_rows = _count_queries(client, url)

    make(org, 28)

    assert small_rows < 10
    with django_assert_num_queries(small):
        response = client.get(url)
    assert len(response.json()["results"]) >= 30
    # Nested lists: access check, count, page. Organisations: count, page, the caller's roles.
    assert small == 3


@pytest.mark.parametrize(
    "url", ["/api/v1/orgs/qc/analysis/", "/api/v1/orgs/qc/export/?format=json"]
)
def test_analysis_and_export_run_the_same_queries_for_a_small_and_a_larger_graph(
    db: Any, django_assert_num_queries: Any, url: str
) -> None:
    org = OrganizationFactory(slug="qc")
    admin: Any = UserFactory()
    OrganizationRoleFactory(organization=org, user=admin, role=Role.ADMIN)
    client = APIClient()
    client.force_authenticate(admin)
    _make_teams(org, 2)
    _make_memberships(org, 2)
    _make_interactions(org, 2)
    small, _ = _count_queries_of(client, url)

    _make_teams(org, 20)
    _make_memberships(org, 20)
    _make_interactions(org, 20)

    with django_assert_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200


def _count_queries_of(client: APIClient, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response
