"""Service ownership: the services a team owns, in the graph snapshot, imports and exports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from teams.models import Organization, Service, ServiceKind, Team, TeamType
from teams.selectors import org_snapshot_get

pytestmark = pytest.mark.django_db


def test_the_snapshot_carries_each_teams_services_as_sorted_refs(
    organization: Organization,
) -> None:
    team = Team.objects.create(organization=organization, slug="checkout", name="Checkout")
    Team.objects.create(organization=organization, slug="idle", name="Idle")
    Service.objects.create(
        organization=organization, team=team, slug="orders", kind=ServiceKind.API
    )
    Service.objects.create(organization=organization, team=team, slug="cart")
    Service.objects.create(organization=organization, team=None, slug="orphan")

    teams = {node.slug: node for node in org_snapshot_get(organization=organization).teams}

    assert teams["checkout"].services == ("api:orders", "component:cart")
    assert teams["idle"].services == ()


def test_the_as_of_snapshot_shows_the_services_owned_then(organization: Organization) -> None:
    team = Team.objects.create(
        organization=organization, slug="checkout", name="Checkout", type=TeamType.STREAM_ALIGNED
    )
    before = timezone.now()
    Service.objects.create(organization=organization, team=team, slug="cart")
    after = timezone.now() + dt.timedelta(seconds=1)

    then = org_snapshot_get(organization=organization, as_of=before)
    now = org_snapshot_get(organization=organization, as_of=after)

    assert then.teams[0].services == ()
    assert now.teams[0].services == ("component:cart",)
