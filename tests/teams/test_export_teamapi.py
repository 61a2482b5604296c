"""``export_org --format teamapi``: one TeamAPI file per team, and ``import_org`` on them gives
the same graph (a rich organisation, the demo organisation, generated ones)."""

from __future__ import annotations

import datetime as dt
import itertools
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from teams import exporters, models
from teams.graph import OrgSnapshot
from teams.selectors import org_snapshot_get
from tests.builders import make_team
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    OrgUnitFactory,
    PersonFactory,
    ServesLinkFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE_NAME = "Ops: \"the gate\"\n# not a comment\n'quoted' — Straße 東京 {x: [1]} &a *b NO"


def build_rich_org(organization: models.Organization) -> None:
    """Every team type and interaction mode, ops silos with specialties, people in several
    teams with roles and allocations, managers, units, services of every kind, hostile text."""
    eng = OrgUnitFactory(organization=organization, slug="eng", name="Engineering")
    web = OrgUnitFactory(
        organization=organization, slug="web", name="Web: shop", kind="product_area", parent=eng
    )
    OrgUnitFactory(organization=organization, slug="empty", name="Empty unit", kind="division")
    people = {
        key: PersonFactory(organization=organization, email=f"{key}@example.com", name=name)
        for key, name in [
            ("alice", "Alice"),
            ("bob", "Bob: the builder"),
            ("carol", 'Carol "CJ" O\'Neil'),
            ("dana", "Dana Kowalski"),
            ("erin", "Érin 東京"),
            ("frank", "NO"),
            ("gus", "12:30"),
            ("loner", "Nobody's member"),
        ]
    }
    checkout = make_team(
        organization,
        "checkout",
        name="Checkout Squad",  # a slug that is not slugify(name)
        type=models.TeamType.STREAM_ALIGNED,
        unit=web,
        manager=people["alice"],
        description="Customers pay.\nWithout friction: ever.",
    )
    dba = make_team(
        organization,
        "dba",
        name=HOSTILE_NAME,
        type=models.TeamType.OPS_SILO,
        specialty=models.Specialty.DATABASE,
        unit=eng,
        manager=people["bob"],
    )
    network = make_team(
        organization,
        "net_ops",
        name="Network operations",
        type=models.TeamType.OPS_SILO,
        specialty=models.Specialty.NETWORKING,
    )
    platform = make_team(
        organization,
        "platform",
        name="Platform",
        type=models.TeamType.PLATFORM,
        unit=eng,
    )
    coaches = make_team(
        organization,
        "coaches",
        name="???",  # no usable slug from the name at all
        type=models.TeamType.ENABLING,
    )
    video = make_team(
        organization,
        "video",
        name="Video codecs",
        type=models.TeamType.COMPLICATED_SUBSYSTEM,
        unit=web,
    )
    misc = make_team(organization, "misc", name="Misc", type=models.TeamType.UNCLASSIFIED)
    TeamFactory(
        organization=organization,
        slug="retired",
        name="Retired",
        retired_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    role = models.MembershipRole
    for team, person, member_role, allocation in [
        (checkout, "alice", role.LEAD, 100),
        (checkout, "dana", role.DEVOPS_BUDDY, 20),
        (checkout, "erin", role.PRODUCT_OWNER, 50),
        (checkout, "frank", role.MEMBER, 100),
        (dba, "dana", role.MEMBER, 40),
        (dba, "bob", role.LEAD, 100),
        (network, "gus", role.MEMBER, 100),
        (platform, "dana", role.DEVOPS_BUDDY, 40),
        (platform, "erin", role.PRODUCT_OWNER, 50),
        (coaches, "carol", role.LEAD, 100),
        (video, "frank", role.MEMBER, 1),
    ]:
        MembershipFactory(
            organization=organization,
            team=team,
            person=people[person],
            role=member_role,
            allocation_percent=allocation,
        )
    ServesLinkFactory(organization=organization, team=checkout, person=people["gus"])
    ServesLinkFactory(
        organization=organization, team=misc, person=people["carol"], note="On call: nights"
    )
    mode, severity = models.InteractionMode, models.Severity
    links: list[tuple[models.Team, models.Team, dict[str, Any]]] = [
        (checkout, dba, {"mode": mode.TICKET_DEPENDENCY, "severity": severity.BLOCKING}),
        (
            checkout,
            network,
            {
                "mode": mode.TICKET_DEPENDENCY,
                "severity": severity.SLOWING,
                "since": dt.date(2024, 2, 29),
                "expected_end": dt.date(2025, 1, 31),
                "note": "Firewall: tickets",
            },
        ),
        (video, dba, {"mode": mode.TICKET_DEPENDENCY, "severity": severity.OK}),
        (
            checkout,
            platform,
            {
                "mode": mode.X_AS_A_SERVICE,
                "since": dt.date(2024, 1, 31),
                "expected_end": dt.date(2024, 2, 29),
                "note": "Pays through: the platform",
            },
        ),
        (
            checkout,
            platform,
            {"mode": mode.COLLABORATION, "since": dt.date(2025, 1, 6)},
        ),
        (coaches, checkout, {"mode": mode.FACILITATING, "expected_end": dt.date(2025, 6, 30)}),
        (
            platform,
            video,
            {
                "mode": mode.COLLABORATION,
                "since": dt.date(2025, 3, 1),
                "expected_end": dt.date(2025, 3, 1),
            },
        ),
    ]
    for source, target, fields in links:
        InteractionFactory(organization=organization, source=source, target=target, **fields)
    for team, kind, slug, name in [
        (checkout, models.ServiceKind.COMPONENT, "checkout-web", "Checkout web"),
        (checkout, models.ServiceKind.API, "orders", "Orders API: v2"),
        (platform, models.ServiceKind.SYSTEM, "payments", ""),
        (platform, models.ServiceKind.DOMAIN, "money", "Money"),
        (dba, models.ServiceKind.COMPONENT, "schemas", "???"),
    ]:
        models.Service.objects.create(
            organization=organization, team=team, kind=kind, slug=slug, name=name
        )


def export(slug: str, directory: Path, *extra: str) -> str:
    out = StringIO()
    call_command(
        "export_org", slug, "--format", "teamapi", "--output", str(directory), *extra, stdout=out
    )
    return out.getvalue()


def import_copy(slug: str, directory: Path) -> None:
    call_command(
        "import_org", "--org", slug, *sorted(map(str, directory.glob("*.yaml"))), stdout=StringIO()
    )


def graph_of(snapshot: OrgSnapshot) -> dict[str, Any]:
    """The snapshot without what names the organisation or the moment, every list sorted."""
    return {
        "units": sorted(snapshot.units, key=repr),
        "teams": sorted(snapshot.teams, key=repr),
        "people": sorted(snapshot.people, key=repr),
        "memberships": sorted(snapshot.memberships, key=repr),
        "serves": sorted(snapshot.serves, key=repr),
        "interactions": sorted(snapshot.interactions, key=repr),
    }


def graph(slug: str) -> dict[str, Any]:
    return graph_of(org_snapshot_get(organization=models.Organization.objects.get(slug=slug)))


def service_names(slug: str) -> dict[tuple[str, str], str]:
    return {
        (kind, service_slug): name
        for kind, service_slug, name in models.Service.objects.filter(
            organization__slug=slug
        ).values_list("kind", "slug", "name")
    }


def read_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_it_writes_one_teamapi_file_per_live_team_and_the_org_file(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)

    message = export("acme", tmp_path)

    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [
        "checkout.yaml",
        "coaches.yaml",
        "dba.yaml",
        "misc.yaml",
        "net_ops.yaml",
        "organisation.org.yaml",
        "platform.yaml",
        "video.yaml",
    ]
    assert "7 team files" in message
    checkout = read_yaml(tmp_path / "checkout.yaml")
    assert checkout["teamapi"] == exporters.TEAMAPI_VERSION
    assert checkout["info"] == {
        "name": "Checkout Squad",
        "type": "stream-aligned",
        "focus": "Customers pay.\nWithout friction: ever.",
    }
    assert checkout["x-transform"]["slug"] == "checkout"
    assert checkout["x-transform"]["unit"] == "web"
    assert checkout["x-transform"]["manager"] == "alice@example.com"
    assert {"person": "dana@example.com", "role": "devops_buddy", "allocation_percent": 20} in (
        checkout["x-transform"]["members"]
    )
    assert checkout["interactions"][0] == {
        "teamName": "Platform",
        "mode": "collaboration",
        "startDate": dt.date(2025, 1, 6),
        "x-transform": {"team": "platform"},
    }
    assert checkout["interactions"][1]["expectedDuration"] == "P29D"
    assert checkout["dependencies"][0] == {
        "teamName": HOSTILE_NAME,
        "type": "Blocking",
        "x-transform": {"team": "dba"},
    }
    assert {"name": "Orders API: v2", "kind": "api", "x-transform": {"slug": "orders"}} in (
        checkout["services"]
    )
    dba = read_yaml(tmp_path / "dba.yaml")
    assert dba["info"]["name"] == HOSTILE_NAME
    assert dba["info"]["type"] == "ops-silo"
    assert dba["x-transform"]["specialty"] == "database"
    org = read_yaml(tmp_path / "organisation.org.yaml")
    assert org["format"] == "transform.org/v1"
    assert {"email": "loner@example.com", "name": "Nobody's member"} in org["people"]
    assert {"slug": "empty", "name": "Empty unit", "kind": "division"} in org["units"]


def test_a_rich_organisation_comes_back_as_the_same_graph(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)
    export("acme", tmp_path / "first")

    import_copy("acme-copy", tmp_path / "first")

    assert graph("acme-copy") == graph("acme")
    assert service_names("acme-copy") == {
        **service_names("acme"),
        ("system", "payments"): "payments",  # a service without a name is named by its slug
    }
    # The copy exports to the same bytes: nothing was lost or reordered on the way.
    export("acme-copy", tmp_path / "second")
    for path in sorted((tmp_path / "first").iterdir()):
        assert (tmp_path / "second" / path.name).read_bytes() == path.read_bytes(), path.name


def test_importing_the_export_into_the_same_organisation_changes_nothing(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)
    export("acme", tmp_path)
    before = graph("acme")
    history = models.Team.history.count() + models.Membership.history.count()

    import_copy("acme", tmp_path)

    assert graph("acme") == before
    assert models.Team.history.count() + models.Membership.history.count() == history


def test_the_demo_organisation_comes_back_as_the_same_graph(tmp_path: Path, db: None) -> None:
    call_command("load_demo", "--password", "demo-password-1", stdout=StringIO())
    export("demo", tmp_path)

    import_copy("demo-copy", tmp_path)

    demo = graph("demo")
    assert len(demo["teams"]) >= 10
    assert demo["interactions"]
    assert demo["memberships"]
    assert demo["serves"]
    assert graph("demo-copy") == demo


def test_the_export_is_the_same_bytes_each_time(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)

    export("acme", tmp_path / "a")
    export("acme", tmp_path / "b")

    first = {path.name: path.read_bytes() for path in (tmp_path / "a").iterdir()}
    assert first == {path.name: path.read_bytes() for path in (tmp_path / "b").iterdir()}


def test_exporting_again_into_the_same_directory_replaces_the_files(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)
    export("acme", tmp_path)
    models.Team.objects.filter(slug="misc").update(name="Miscellaneous")

    export("acme", tmp_path)

    assert read_yaml(tmp_path / "misc.yaml")["info"]["name"] == "Miscellaneous"


def test_a_directory_holding_other_files_is_refused_and_left_alone(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)
    (tmp_path / "gone-team.yaml").write_text("teamapi: 0.1.0\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"holds files this export does not write \(gone-team"):
        export("acme", tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["gone-team.yaml"]


def test_without_output_it_says_to_give_a_directory(organization: models.Organization) -> None:
    with pytest.raises(CommandError, match="--format teamapi writes one file per team"):
        call_command("export_org", "acme", "--format", "teamapi", stdout=StringIO())


def test_as_of_exports_the_teams_as_they_were(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)
    for model in (models.OrgUnit, models.Team, models.Person, models.Service):
        model.history.update(history_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    models.Service.objects.filter(slug="orders").update(name="Renamed")
    team = models.Team.objects.get(slug="misc")
    team.name = "Renamed"
    team.save()

    export("acme", tmp_path, "--as-of", "2025-02-01")

    assert read_yaml(tmp_path / "misc.yaml")["info"]["name"] == "Misc"
    services = read_yaml(tmp_path / "checkout.yaml")["services"]
    assert {"name": "Orders API: v2", "kind": "api", "x-transform": {"slug": "orders"}} in services


def add_teams(organization: models.Organization, count: int, start: int) -> None:
    person = PersonFactory(organization=organization)
    previous = None
    for number in range(start, start + count):
        team = make_team(organization, f"bulk-{number}")
        MembershipFactory(organization=organization, team=team, person=person)
        models.Service.objects.create(organization=organization, team=team, slug=f"svc-{number}")
        if previous is not None:
            InteractionFactory(organization=organization, source=team, target=previous)
        previous = team


def test_the_number_of_queries_does_not_grow_with_the_number_of_teams(
    organization: models.Organization, tmp_path: Path
) -> None:
    add_teams(organization, 3, 0)
    with CaptureQueriesContext(connection) as small:
        export("acme", tmp_path / "small")
    add_teams(organization, 30, 100)

    with CaptureQueriesContext(connection) as large:
        export("acme", tmp_path / "large")

    assert len(list((tmp_path / "large").iterdir())) == 34
    assert len(large.captured_queries) == len(small.captured_queries) <= 10


def test_the_export_writes_nothing_to_the_database(
    organization: models.Organization, tmp_path: Path
) -> None:
    build_rich_org(organization)
    with CaptureQueriesContext(connection) as queries:
        export("acme", tmp_path)

    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip("( ").upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert len(queries.captured_queries) >= 6  # the snapshot's reads were captured
    assert writes == []


# --- Generated organisations -----------------------------------------------------------------

_TYPES = [value for value, _label in models.TeamType.choices]
_ROLES = [value for value, _label in models.MembershipRole.choices]
_MODES = [value for value, _label in models.InteractionMode.choices]
_SEVERITIES = [value for value, _label in models.Severity.choices]
_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"
    ),
    min_size=1,
    max_size=20,
).filter(lambda text: text.strip() == text and text != "")
_DAY = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


@st.composite
def small_orgs(draw: st.DrawFn) -> dict[str, Any]:
    team_count = draw(st.integers(min_value=1, max_value=4))
    teams = [
        {
            "type": draw(st.sampled_from(_TYPES)),
            "name": draw(_TEXT),
            "specialty": draw(st.sampled_from([value for value, _ in models.Specialty.choices])),
            "description": draw(st.one_of(st.just(""), _TEXT)),
        }
        for _ in range(team_count)
    ]
    people = draw(st.integers(min_value=0, max_value=3))
    names = [draw(_TEXT) for _ in range(people)]
    memberships = draw(
        st.lists(
            st.tuples(
                st.integers(0, max(people - 1, 0)),
                st.integers(0, team_count - 1),
                st.sampled_from(_ROLES),
                st.integers(1, 100),
            ),
            max_size=6 if people else 0,
            unique_by=lambda item: (item[0], item[1]),
        )
    )
    pairs = [(a, b) for a, b in itertools.permutations(range(team_count), 2)]
    interactions = []
    if pairs:
        for source, target in draw(st.lists(st.sampled_from(pairs), max_size=4, unique=True)):
            mode = draw(st.sampled_from(_MODES))
            since = draw(st.one_of(st.none(), _DAY))
            end = draw(st.one_of(st.none(), _DAY))
            if since is not None and end is not None and end < since:
                since, end = end, since
            interactions.append(
                {
                    "source": source,
                    "target": target,
                    "mode": mode,
                    "since": since,
                    "expected_end": end,
                    "severity": draw(st.sampled_from(_SEVERITIES))
                    if mode == models.InteractionMode.TICKET_DEPENDENCY
                    else "",
                    "note": draw(st.one_of(st.just(""), _TEXT)),
                }
            )
    return {
        "teams": teams,
        "names": names,
        "memberships": memberships,
        "interactions": interactions,
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(org=small_orgs())
def test_any_small_organisation_comes_back_as_the_same_graph(
    tmp_path_factory: pytest.TempPathFactory, org: dict[str, Any]
) -> None:
    source = models.Organization.objects.create(slug="gen", name="Gen")
    try:
        teams = [
            TeamFactory(
                organization=source,
                slug=f"t{index}",
                name=team["name"],
                type=team["type"],
                specialty=team["specialty"] if team["type"] == models.TeamType.OPS_SILO else "",
                description=team["description"],
            )
            for index, team in enumerate(org["teams"])
        ]
        people = [
            PersonFactory(organization=source, email=f"p{index}@example.com", name=name)
            for index, name in enumerate(org["names"])
        ]
        for person, team, member_role, allocation in org["memberships"]:
            MembershipFactory(
                organization=source,
                team=teams[team],
                person=people[person],
                role=member_role,
                allocation_percent=allocation,
            )
        for link in org["interactions"]:
            InteractionFactory(
                organization=source,
                **{**link, "source": teams[link["source"]], "target": teams[link["target"]]},
            )
        directory = tmp_path_factory.mktemp("teamapi")
        export("gen", directory)

        import_copy("gen-copy", directory)

        assert graph("gen-copy") == graph("gen")
    finally:
        models.Organization.objects.filter(slug__in=["gen", "gen-copy"]).delete()
