"""``export_org`` against the database: output, errors, history (as of), and the Backstage round trip."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from io import StringIO
from pathlib import Path

import networkx as nx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from teams import exporters, models
from teams.graph import OrgSnapshot
from teams.importers import backstage
from teams.selectors import org_snapshot_get
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    OrgUnitFactory,
    PersonFactory,
    ServesLinkFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


def build_org(organization: models.Organization) -> None:
    """Every team type, a unit hierarchy, tricky names and two people with one local part."""
    eng = OrgUnitFactory(organization=organization, slug="eng", name="Engineering")
    web = OrgUnitFactory(
        organization=organization, slug="web", name="Web", kind="sub-department", parent=eng
    )
    alice = PersonFactory(organization=organization, email="alice@example.com", name="Alice")
    john_a = PersonFactory(organization=organization, email="john@a.example", name="NO")
    john_b = PersonFactory(organization=organization, email="john@b.example", name="John B")
    PersonFactory(organization=organization, email="loner@example.com", name="12:30")
    checkout = TeamFactory(
        organization=organization,
        slug="checkout",
        name="Checkout",
        type=models.TeamType.STREAM_ALIGNED,
        unit=web,
        manager=alice,
    )
    dba = TeamFactory(
        organization=organization,
        slug="dba",
        name='DBA "the gate" [ops] <db>',
        type=models.TeamType.OPS_SILO,
        specialty=models.Specialty.DATABASE,
        unit=eng,
        description="Owns every schema change.",
    )
    platform = TeamFactory(
        organization=organization, slug="platform", name="Platform", type=models.TeamType.PLATFORM
    )
    TeamFactory(
        organization=organization,
        slug="coaches",
        name="Coaches",
        type=models.TeamType.ENABLING,
        unit=eng,
    )
    TeamFactory(
        organization=organization,
        slug="video",
        name="Video codecs",
        type=models.TeamType.COMPLICATED_SUBSYSTEM,
        unit=web,
    )
    TeamFactory(
        organization=organization,
        slug="misc",
        name="Misc",
        type=models.TeamType.UNCLASSIFIED,
        unit=eng,
    )
    MembershipFactory(organization=organization, team=checkout, person=alice)
    MembershipFactory(
        organization=organization,
        team=checkout,
        person=john_a,
        role=models.MembershipRole.DEVOPS_BUDDY,
        allocation_percent=50,
    )
    MembershipFactory(organization=organization, team=dba, person=john_a)
    MembershipFactory(organization=organization, team=platform, person=john_b)
    ServesLinkFactory(organization=organization, team=checkout, person=john_b)
    InteractionFactory(
        organization=organization,
        source=checkout,
        target=dba,
        mode=models.InteractionMode.TICKET_DEPENDENCY,
        severity=models.Severity.BLOCKING,
    )
    InteractionFactory(
        organization=organization,
        source=checkout,
        target=platform,
        mode=models.InteractionMode.COLLABORATION,
        since=dt.date(2025, 1, 6),
        expected_end=dt.date(2025, 4, 6),
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command("export_org", *args, stdout=out)
    return out.getvalue()


def test_it_writes_node_link_json_to_stdout(organization: models.Organization) -> None:
    build_org(organization)

    graph = nx.node_link_graph(json.loads(run("acme", "--format", "json")), edges="edges")

    assert graph.graph["organization"] == "acme"
    assert graph.nodes["team:dba"]["specialty"] == "database"
    assert graph.nodes["team:checkout"]["manager"] == "alice@example.com"
    assert graph.nodes["unit:web"]["parent"] == "eng"
    assert graph.edges["person:john@a.example", "team:checkout", "member"] == {
        "kind": "member",
        "role": "devops_buddy",
        "allocation_percent": 50,
    }
    assert graph.has_edge("person:john@b.example", "team:checkout", key="serves")
    assert graph.edges["team:checkout", "team:platform", "collaboration"]["since"] == "2025-01-06"


@pytest.mark.parametrize("fmt", exporters.EXPORT_FORMATS)
def test_it_writes_the_same_text_to_output_as_to_stdout(
    organization: models.Organization, tmp_path: Path, fmt: str
) -> None:
    build_org(organization)
    target = tmp_path / f"acme.{fmt}"
    # The same moment for both runs: live exports name the moment they were taken.
    moment = dt.datetime.now(dt.UTC).isoformat()

    message = run("acme", "--format", fmt, "--output", str(target), "--as-of", moment)

    assert target.read_text(encoding="utf-8") == run("acme", "--format", fmt, "--as-of", moment)
    assert f"Wrote the {fmt} export of 'acme' to {target}" in message


def test_an_unwritable_output_is_a_clear_error(
    organization: models.Organization, tmp_path: Path
) -> None:
    target = tmp_path / "missing-dir" / "acme.json"
    with pytest.raises(CommandError, match=r"--output: cannot write '.*missing-dir/acme\.json'"):
        run("acme", "--format", "json", "--output", str(target))


def test_an_unknown_organisation_is_a_clear_error(db: None) -> None:
    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        run("nope", "--format", "json")


def test_an_unknown_format_is_a_clear_error_naming_the_valid_ones(
    organization: models.Organization,
) -> None:
    with pytest.raises(
        CommandError, match="--format: unknown format 'pdf'; expected one of"
    ) as info:
        run("acme", "--format", "pdf")
    assert "json, graphml, mermaid, dot, backstage" in str(info.value)


def test_a_bad_as_of_is_a_clear_error(organization: models.Organization) -> None:
    with pytest.raises(CommandError, match="--as-of: expected a date YYYY-MM-DD"):
        run("acme", "--format", "json", "--as-of", "last tuesday")


def test_as_of_exports_the_topology_as_it_was(organization: models.Organization) -> None:
    build_org(organization)
    for model in (
        models.Organization,
        models.OrgUnit,
        models.Team,
        models.Person,
        models.Membership,
        models.ServesLink,
        models.Interaction,
    ):
        model.history.update(history_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    dba = models.Team.objects.get(organization=organization, slug="dba")
    dba.type = models.TeamType.PLATFORM
    dba.specialty = ""
    dba.save()
    models.Team.objects.get(organization=organization, slug="misc").delete()

    before = run("acme", "--format", "mermaid", "--as-of", "2025-03-01")
    now = run("acme", "--format", "mermaid")
    empty = run("acme", "--format", "json", "--as-of", "2024-12-31")

    assert "ops silo (database)" in before
    assert "t_misc[" in before
    assert "ops silo" not in now
    assert "t_misc[" not in now
    assert json.loads(empty)["nodes"] == []


def test_the_specialty_annotation_is_the_one_the_backstage_importer_reads() -> None:
    assert exporters.SPECIALTY_ANNOTATION == backstage.SPECIALTY_ANNOTATION


def comparable(snapshot: OrgSnapshot) -> dict[str, object]:
    """What a Backstage round trip keeps: units, teams (without managers), people, and who
    belongs to which team (Backstage memberships carry no role or allocation)."""
    return {
        "units": snapshot.units,
        "teams": [dataclasses.replace(team, manager=None) for team in snapshot.teams],
        "people": snapshot.people,
        "memberships": sorted((edge.person, edge.team) for edge in snapshot.memberships),
    }


def test_a_backstage_export_imports_back_to_the_same_teams_and_people(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_org(organization)
    path = tmp_path / "catalog.yaml"
    run("acme", "--format", "backstage", "--output", str(path))

    call_command("import_org", "--org", "acme-copy", str(path), stdout=StringIO())

    copy = models.Organization.objects.get(slug="acme-copy")
    original = org_snapshot_get(organization=organization)
    imported = org_snapshot_get(organization=copy)
    assert comparable(imported) == comparable(original)
    assert {team.slug: team.type for team in imported.teams} == {
        "checkout": "stream_aligned",
        "coaches": "enabling",
        "dba": "ops_silo",
        "misc": "unclassified",
        "platform": "platform",
        "video": "complicated_subsystem",
    }
    # What Backstage Group/User entities cannot hold is not invented on the way back.
    assert imported.interactions == []
    assert imported.serves == []


def test_importing_a_backstage_export_twice_changes_nothing(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_org(organization)
    path = tmp_path / "catalog.yaml"
    run("acme", "--format", "backstage", "--output", str(path))
    call_command("import_org", "--org", "acme-copy", str(path), stdout=StringIO())
    copy = models.Organization.objects.get(slug="acme-copy")
    first = org_snapshot_get(organization=copy)

    call_command("import_org", "--org", "acme-copy", str(path), stdout=StringIO())

    assert comparable(org_snapshot_get(organization=copy)) == comparable(first)


def test_the_imported_copy_exports_to_the_same_catalog(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_org(organization)
    path = tmp_path / "catalog.yaml"
    run("acme", "--format", "backstage", "--output", str(path))
    call_command("import_org", "--org", "acme-copy", str(path), stdout=StringIO())

    copy_path = tmp_path / "copy.yaml"
    run("acme-copy", "--format", "backstage", "--output", str(copy_path))
    assert copy_path.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
