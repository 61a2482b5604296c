"""Service ownership: the services a team owns, in the graph snapshot, imports and exports."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
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


CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: checkout
spec:
  type: stream-aligned
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: payments
spec:
  type: platform
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ana
spec:
  profile:
    email: ana@example.com
  memberOf: [checkout]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
spec:
  type: service
  lifecycle: production
  owner: checkout
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: group:default/checkout
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments-api
spec:
  type: openapi
  lifecycle: production
  owner: payments
  definition: "openapi: 3.0.0"
---
apiVersion: backstage.io/v1alpha1
kind: Domain
metadata:
  name: money
spec:
  owner: payments
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: side-project
spec:
  type: website
  owner: user:ana
"""


def services_of(organization: Organization) -> dict[str, tuple[str, ...]]:
    return {team.slug: team.services for team in org_snapshot_get(organization=organization).teams}


def test_service_ownership_survives_a_backstage_round_trip(db: None, tmp_path: Path) -> None:
    source = tmp_path / "catalog.yaml"
    source.write_text(CATALOG, encoding="utf-8")
    call_command("import_org", "--org", "first", str(source), stdout=StringIO())
    first = Organization.objects.get(slug="first")
    expected = {
        "checkout": ("component:cart", "system:shop"),
        "payments": ("api:payments-api", "domain:money"),
    }
    assert services_of(first) == expected

    exported = tmp_path / "export.yaml"
    call_command("export_org", "first", "--format", "backstage", "--output", str(exported))
    call_command("import_org", "--org", "second", str(exported), stdout=StringIO())
    second = Organization.objects.get(slug="second")

    assert services_of(second) == expected
    again = tmp_path / "again.yaml"
    call_command("export_org", "second", "--format", "backstage", "--output", str(again))
    assert again.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")


def test_importing_the_same_catalog_twice_changes_no_service(db: None, tmp_path: Path) -> None:
    source = tmp_path / "catalog.yaml"
    source.write_text(CATALOG, encoding="utf-8")
    call_command("import_org", "--org", "first", str(source), stdout=StringIO())
    organization = Organization.objects.get(slug="first")
    history = Service.history.count()

    call_command("import_org", "--org", "first", str(source), stdout=StringIO())

    assert Service.history.count() == history
    assert Service.objects.filter(organization=organization).count() == 4


def test_a_service_owned_by_no_team_of_the_organisation_is_refused_by_file_and_line(
    db: None, tmp_path: Path
) -> None:
    source = tmp_path / "catalog.yaml"
    source.write_text(CATALOG.replace("owner: payments\n", "owner: group:billing\n"))

    with pytest.raises(CommandError) as info:
        call_command("import_org", "--org", "first", str(source), stdout=StringIO())

    message = str(info.value)
    assert "catalog.yaml" in message
    assert "document 6, line 49" in message, message
    assert "owner of service 'api:payments-api'" in message
    assert "unknown team 'billing'" in message
    assert not Service.objects.exists()


ORG_FILE = """\
format: transform.org/v1
teams:
  - slug: checkout
    name: Checkout
    type: stream_aligned
    services:
      - slug: cart
        name: Cart
      - slug: orders
        kind: api
  - slug: payments
    name: Payments
    type: platform
    services:
      - {slug: ledger, kind: system}
"""


def test_service_ownership_survives_the_org_format_and_a_backstage_export(
    db: None, tmp_path: Path
) -> None:
    source = tmp_path / "org.yaml"
    source.write_text(ORG_FILE, encoding="utf-8")
    call_command("import_org", "--org", "first", str(source), stdout=StringIO())
    first = Organization.objects.get(slug="first")
    expected = {"checkout": ("api:orders", "component:cart"), "payments": ("system:ledger",)}
    assert services_of(first) == expected
    assert Service.objects.get(slug="cart").name == "Cart"

    exported = tmp_path / "export.yaml"
    call_command("export_org", "first", "--format", "backstage", "--output", str(exported))
    call_command("import_org", "--org", "second", str(exported), stdout=StringIO())

    assert services_of(Organization.objects.get(slug="second")) == expected


def test_naming_a_service_under_another_team_moves_it(db: None, tmp_path: Path) -> None:
    source = tmp_path / "org.yaml"
    source.write_text(ORG_FILE, encoding="utf-8")
    call_command("import_org", "--org", "first", str(source), stdout=StringIO())
    moved = ORG_FILE.replace("      - {slug: ledger, kind: system}\n", "      - slug: cart\n")
    moved = moved.replace("      - slug: cart\n        name: Cart\n", "", 1)
    source.write_text(moved, encoding="utf-8")

    call_command("import_org", "--org", "first", str(source), stdout=StringIO())

    first = Organization.objects.get(slug="first")
    assert services_of(first) == {
        "checkout": ("api:orders",),
        "payments": ("component:cart", "system:ledger"),
    }


def test_teamapi_services_are_owned_by_the_documents_team(db: None, tmp_path: Path) -> None:
    source = tmp_path / "search.yaml"
    source.write_text(
        "info:\n  name: Search\n  type: stream-aligned\nservices:\n  - Search UI\n"
        "  - name: Query API\n    kind: api\n",
        encoding="utf-8",
    )

    call_command("import_org", "--org", "first", str(source), stdout=StringIO())

    assert services_of(Organization.objects.get(slug="first")) == {
        "search": ("api:query-api", "component:search-ui")
    }
