"""The live analysis is cached per topology version (docs/analysis.md, "Cost and caching"):
every write to the topology changes the key, an unchanged topology is served from the cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from teams import lifecycle, selectors, services
from teams.erasure import person_erase
from teams.importers.apply import org_import_apply
from teams.importers.reader import read_import_files
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    Role,
    ServesLink,
    Service,
    Team,
    TeamType,
)
from teams.selectors import org_analysis_get, org_analysis_key_get
from tests.builders import FIXTURES_DIR, World, build_org_rows
from tests.factories import MembershipFactory, PersonFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db: None) -> Any:
    return build_org_rows("acme")


def key_of(organization: Organization) -> str:
    return org_analysis_key_get(organization=organization).at(timezone.now().date())


def spy() -> Any:
    return mock.patch.object(selectors, "analyze_snapshot", side_effect=selectors.analyze_snapshot)


def test_an_unchanged_topology_is_served_from_the_cache_in_one_query_without_analysis(
    acme: Any, django_assert_num_queries: Any
) -> None:
    first = org_analysis_get(organization=acme.org)

    with spy() as analyze, django_assert_num_queries(1):
        again = org_analysis_get(organization=acme.org)

    assert analyze.call_count == 0
    assert again == first


def test_the_first_analysis_after_a_write_runs_it_again_and_shows_the_write(acme: Any) -> None:
    before = org_analysis_get(organization=acme.org)
    TeamFactory(organization=acme.org, slug="new-squad")

    with spy() as analyze:
        after = org_analysis_get(organization=acme.org)

    assert analyze.call_count == 1
    assert after["metrics"]["teams"] == before["metrics"]["teams"] + 1


def test_a_past_moment_is_never_cached(acme: Any) -> None:
    now = timezone.now()
    org_analysis_get(organization=acme.org, as_of=now)

    with spy() as analyze:
        org_analysis_get(organization=acme.org, as_of=now)

    assert analyze.call_count == 1


def test_the_key_changes_with_the_thresholds_and_the_day(acme: Any) -> None:
    key = org_analysis_key_get(organization=acme.org)
    today = timezone.now().date()

    acme.org.analysis_thresholds = {"team_size_max": 12}
    acme.org.save()

    assert org_analysis_key_get(organization=acme.org).at(today) != key.at(today)
    assert key.at(today + dt.timedelta(days=1)) != key.at(today)


def test_saving_an_organisation_loaded_before_a_write_keeps_the_new_version(acme: Any) -> None:
    stale = Organization.objects.get(pk=acme.org.pk)
    before = key_of(acme.org)
    TeamFactory(organization=acme.org, slug="new-squad")
    after = key_of(acme.org)

    stale.name = "Acme Corp"
    stale.save()

    assert after != before
    assert key_of(acme.org) == after


def test_another_organisations_write_leaves_the_key_alone(acme: Any) -> None:
    other = build_org_rows("globex")
    before = key_of(acme.org)

    TeamFactory(organization=other.org, slug="globex-new")

    assert key_of(acme.org) == before


def _unit_create(rows: Any) -> None:
    services.org_unit_create(organization=rows.org, slug="ops", name="Ops")


def _team_create(rows: Any) -> None:
    services.team_create(organization=rows.org, slug="new", name="New", type=TeamType.ENABLING)


def _person_create(rows: Any) -> None:
    services.person_create(organization=rows.org, email="bob@acme.test", name="Bob")


def _membership_create(rows: Any) -> None:
    services.membership_create(organization=rows.org, person=rows.person, team=rows.other_team)


def _serves_create(rows: Any) -> None:
    services.serves_link_create(organization=rows.org, person=rows.person, team=rows.other_team)


def _interaction_create(rows: Any) -> None:
    services.interaction_create(
        organization=rows.org,
        source=rows.other_team,
        target=rows.silo,
        mode=InteractionMode.TICKET_DEPENDENCY,
    )


WRITES: dict[str, Callable[[Any], Any]] = {
    "unit create": _unit_create,
    "unit update": lambda rows: services.org_unit_update(unit=rows.unit, data={"name": "R&D"}),
    "unit delete": lambda rows: services.org_unit_delete(
        unit=OrgUnit.objects.create(organization=rows.org, slug="spare", name="Spare")
    ),
    "team create": _team_create,
    "team update": lambda rows: services.team_update(team=rows.team, data={"name": "Pay"}),
    "person create": _person_create,
    "person update": lambda rows: services.person_update(person=rows.person, data={"name": "A"}),
    "membership create": _membership_create,
    "membership update": lambda rows: services.membership_update(
        membership=rows.membership, data={"allocation_percent": 50}
    ),
    "membership delete": lambda rows: services.membership_delete(membership=rows.membership),
    "serves link create": _serves_create,
    "serves link update": lambda rows: services.serves_link_update(
        serves_link=rows.serves_link, data={"note": "on call"}
    ),
    "serves link delete": lambda rows: services.serves_link_delete(serves_link=rows.serves_link),
    "interaction create": _interaction_create,
    "interaction update": lambda rows: services.interaction_update(
        interaction=rows.interaction, data={"severity": "ok"}
    ),
    "interaction delete": lambda rows: services.interaction_delete(interaction=rows.interaction),
    "service owned": lambda rows: Service.objects.create(
        organization=rows.org, team=rows.team, slug="checkout"
    ),
    "thresholds": lambda rows: services.organization_update(
        organization=rows.org, data={"analysis_thresholds": {"team_size_max": 12}}
    ),
    "team retire": lambda rows: lifecycle.team_retire(team=rows.other_team, source="api"),
    "team delete": lambda rows: lifecycle.team_delete(
        team=Team.objects.create(organization=rows.org, slug="mistake", name="Mistake")
    ),
    "person leave": lambda rows: lifecycle.person_leave(person=rows.person),
    "person delete": lambda rows: lifecycle.person_delete(person=rows.person),
    "lineage record": lambda rows: lifecycle.lineage_record(
        team=rows.team, kind="renamed", at=timezone.now(), source="api", old_slug="payments-old"
    ),
    "import": lambda rows: org_import_apply(
        organization=rows.org,
        bundle=read_import_files(
            [FIXTURES_DIR / "example-org.yaml", FIXTURES_DIR / "example-people.csv"]
        ),
    ),
    "erasure": lambda rows: person_erase(person=rows.person),
    "queryset delete": lambda rows: Membership.objects.filter(organization=rows.org).delete(),
}


@pytest.mark.parametrize("write", list(WRITES.values()), ids=list(WRITES))
def test_every_write_to_the_topology_changes_the_key(
    acme: Any, write: Callable[[Any], Any]
) -> None:
    org_analysis_get(organization=acme.org)
    before = key_of(acme.org)

    write(acme)

    acme.org.refresh_from_db()
    assert key_of(acme.org) != before
    with spy() as analyze:
        org_analysis_get(organization=acme.org)
    assert analyze.call_count == 1


def test_a_person_returning_changes_the_key(acme: Any) -> None:
    lifecycle.person_leave(person=acme.person, on=timezone.now().date() - dt.timedelta(days=1))
    before = key_of(acme.org)

    lifecycle.person_return(person=acme.person)

    assert key_of(acme.org) != before


def test_merging_teams_changes_the_key(acme: Any) -> None:
    before = key_of(acme.org)

    lifecycle.team_retire(team=acme.other_team, source="api", kind="merged", successors=[acme.team])

    assert key_of(acme.org) != before


def test_every_topology_model_is_watched() -> None:
    from teams.models import TOPOLOGY_MODELS

    read_by_the_snapshot = {Team, Person, Membership, ServesLink, Interaction, Service}

    assert read_by_the_snapshot <= set(TOPOLOGY_MODELS)


API_WRITES: list[tuple[str, str, Callable[[Any], dict[str, Any]]]] = [
    ("post", "teams/", lambda rows: {"slug": "new", "name": "New", "type": "enabling"}),
    ("patch", "teams/{team}/", lambda rows: {"type": "platform"}),
    ("post", "people/", lambda rows: {"email": "bob@acme.test", "name": "Bob"}),
    (
        "post",
        "memberships/",
        lambda rows: {"person": rows.person.pk, "team": rows.other_team.slug},
    ),
    ("delete", "memberships/{membership}/", lambda rows: {}),
    ("delete", "serves-links/{serves_link}/", lambda rows: {}),
    ("delete", "interactions/{interaction}/", lambda rows: {}),
    ("post", "units/", lambda rows: {"slug": "ops", "name": "Ops"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), API_WRITES, ids=[f"{m} {p}" for m, p, _ in API_WRITES]
)
def test_every_write_through_the_api_changes_the_key(
    api_world: World, method: str, path: str, body: Callable[[Any], dict[str, Any]]
) -> None:
    rows = api_world.acme
    client: APIClient = api_world.client("admin")
    client.get("/api/v1/orgs/acme/analysis/")
    before = key_of(rows.org)
    url = "/api/v1/orgs/acme/" + path.format(
        team=rows.team.slug,
        membership=rows.membership.pk,
        serves_link=rows.serves_link.pk,
        interaction=rows.interaction.pk,
    )

    response = getattr(client, method)(url, body(rows), format="json")

    assert response.status_code in (200, 201, 204), response.content
    assert key_of(rows.org) != before
    with spy() as analyze:
        client.get("/api/v1/orgs/acme/analysis/")
    assert analyze.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_write_outside_a_transaction_changes_the_key_after_the_row(db: None) -> None:
    organization = Organization.objects.create(slug="auto", name="Auto")
    team = Team.objects.create(organization=organization, slug="a", name="A")
    before = key_of(organization)

    Interaction.objects.create(
        organization=organization,
        source=team,
        target=Team.objects.create(organization=organization, slug="b", name="B"),
        mode=InteractionMode.COLLABORATION,
    )

    assert key_of(organization) != before


def test_the_graph_and_findings_pages_use_the_cached_report(acme: Any) -> None:
    user = get_user_model().objects.create_user(username="viewer", password="x")
    OrganizationRole.objects.create(organization=acme.org, user=user, role=Role.MEMBER)
    client = APIClient()
    client.force_login(user)
    assert client.get("/o/acme/findings/").status_code == 200

    with spy() as analyze:
        assert client.get("/o/acme/findings/").status_code == 200
        assert client.get("/o/acme/graph/").status_code == 200
        MembershipFactory(
            organization=acme.org, team=acme.team, person=PersonFactory(organization=acme.org)
        )
        assert client.get("/o/acme/findings/").status_code == 200

    assert analyze.call_count == 1
