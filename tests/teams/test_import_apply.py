"""Writing a bundle: upserts with history, all-or-nothing checks, and flat query counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.files.origin import ImportFailure, Origin
from teams.graph import InteractionEdge, MembershipEdge, PersonNode, ServesEdge, TeamNode, UnitNode
from teams.importers.apply import org_import_apply
from teams.importers.bundle import NO_ROLE, ImportBundle
from teams.importers.reader import read_import_files
from teams.models import Interaction, Membership, Organization, OrgUnit, Person, ServesLink, Team
from tests.builders import FIXTURES_DIR
from tests.factories import OrganizationFactory, OrgUnitFactory, PersonFactory, TeamFactory

pytestmark = pytest.mark.django_db

HISTORY_MODELS = (OrgUnit, Team, Person, Membership, ServesLink, Interaction)


def at(line: int) -> Origin:
    return Origin("org.yaml", 1, line)


def history_rows() -> int:
    return sum(model.history.count() for model in HISTORY_MODELS)


def example_bundle() -> ImportBundle:
    return read_import_files(
        [FIXTURES_DIR / "example-org.yaml", FIXTURES_DIR / "example-people.csv"]
    )


def failure(organization, bundle: ImportBundle) -> str:
    with pytest.raises(ImportFailure) as caught:
        org_import_apply(organization=organization, bundle=bundle)
    return str(caught.value)


def generated_bundle(teams: int) -> ImportBundle:
    bundle = ImportBundle()
    bundle.add_unit(UnitNode("eng", "Engineering", "department", None), at(1))
    bundle.add_unit(UnitNode("area", "Area", "product_area", "eng"), at(1))
    bundle.add_team(TeamNode("dba", "DBA", "ops_silo", specialty="database", unit="eng"), at(1))
    for n in range(teams):
        email = f"p{n}@example.com"
        bundle.add_person(PersonNode(email, f"P {n}"), at(2))
        bundle.add_team(
            TeamNode(f"t{n}", f"T {n}", "stream_aligned", unit="area", manager=email), at(3)
        )
        bundle.add_membership(MembershipEdge(email, f"t{n}", "lead"), at(4))
        bundle.add_serves(ServesEdge(email, "dba"), at(5))
        bundle.add_interaction(
            InteractionEdge(f"t{n}", "dba", "ticket_dependency", severity="blocking"), at(6)
        )
    return bundle


def test_it_creates_every_row_of_the_example_and_counts_them(organization):
    result = org_import_apply(organization=organization, bundle=example_bundle())

    assert {kind: counts.created for kind, counts in result.counts.items()} == {
        "units": 2,
        "teams": 4,
        "people": 9,
        "memberships": 8,
        "serves": 2,
        "interactions": 4,
        "services": 0,
    }
    checkout = Team.objects.get(organization=organization, slug="checkout")
    assert checkout.unit is not None
    assert checkout.unit.slug == "checkout-area"
    assert checkout.unit.parent is not None
    assert checkout.unit.parent.slug == "engineering"
    assert checkout.manager is not None
    assert checkout.manager.email == "maria.lopez@example.com"
    dependency = Interaction.objects.get(source=checkout, target__slug="dba")
    assert (dependency.mode, dependency.severity, dependency.since) == (
        "ticket_dependency",
        "blocking",
        dt.date(2023, 9, 1),
    )
    assert (
        Membership.objects.get(
            team=checkout, person__email="aiko.tanaka@example.com"
        ).allocation_percent
        == 50
    )
    # One history row per created row, with the change reason.
    assert history_rows() == result.created
    assert set(Team.history.values_list("history_change_reason", flat=True)) == {"import"}
    assert "teams:        4 created, 0 updated, 0 unchanged" in result.summary()


def test_importing_the_same_bundle_twice_changes_nothing_and_adds_no_history(organization):
    org_import_apply(organization=organization, bundle=example_bundle())
    rows_before = history_rows()

    again = org_import_apply(organization=organization, bundle=example_bundle())

    assert again.created == 0
    assert again.updated == 0
    assert again.unchanged == 29
    assert history_rows() == rows_before


def test_changing_a_team_type_is_an_update_recorded_in_history(organization, tmp_path: Path):
    org_import_apply(organization=organization, bundle=example_bundle())
    changed = tmp_path / "org.yaml"
    changed.write_text(
        (FIXTURES_DIR / "example-org.yaml").read_text().replace("type: enabling", "type: platform"),
        encoding="utf-8",
    )

    result = org_import_apply(
        organization=organization,
        bundle=read_import_files([changed]),
        change_reason="retyped",
    )

    assert result.counts["teams"].updated == 1
    assert result.counts["teams"].unchanged == 3
    assert result.updated == 1
    team = Team.objects.get(slug="sre-coaching")
    assert team.type == "platform"
    latest = team.history.latest()
    assert (latest.history_type, latest.type, latest.history_change_reason) == (
        "~",
        "platform",
        "retyped",
    )
    assert team.history.count() == 2


def test_it_updates_links_and_moves_units_and_never_deletes_or_erases(organization):
    org_import_apply(organization=organization, bundle=example_bundle())
    bundle = ImportBundle()
    bundle.add_unit(UnitNode("checkout-area", "Checkout", "product_area", None), at(1))
    bundle.add_membership(
        MembershipEdge("aiko.tanaka@example.com", "checkout", "devops_buddy", 80), at(2)
    )
    bundle.add_interaction(
        InteractionEdge("checkout", "dba", "ticket_dependency", severity="ok"), at(3)
    )

    result = org_import_apply(organization=organization, bundle=bundle)

    assert (result.counts["units"].updated, result.counts["memberships"].updated) == (1, 1)
    assert result.counts["interactions"].updated == 1
    assert OrgUnit.objects.get(slug="checkout-area").parent is None
    assert (
        Membership.objects.get(
            person__email="aiko.tanaka@example.com", team__slug="checkout"
        ).allocation_percent
        == 80
    )
    dependency = Interaction.objects.get(source__slug="checkout", target__slug="dba")
    # The file gives no start date: the stored one stays (an import never erases a value).
    assert (dependency.severity, dependency.since, dependency.note) == (
        "ok",
        dt.date(2023, 9, 1),
        "",
    )
    assert Team.objects.filter(organization=organization).count() == 4


def test_new_units_get_their_parent_in_one_history_row_each(organization):
    bundle = ImportBundle()
    bundle.add_unit(UnitNode("c", "C", "team_of_teams", "b"), at(3))
    bundle.add_unit(UnitNode("b", "B", "division", "a"), at(2))
    bundle.add_unit(UnitNode("a", "A", "company", None), at(1))

    org_import_apply(organization=organization, bundle=bundle)

    c = OrgUnit.objects.get(slug="c")
    assert c.parent is not None
    assert c.parent.parent is not None
    assert c.parent.parent.slug == "a"
    assert OrgUnit.history.count() == 3
    assert OrgUnit.history.get(slug="c").parent_id == c.parent_id


def test_an_unknown_person_is_reported_at_its_origin_and_nothing_is_written(organization):
    bundle = example_bundle()
    bundle.add_membership(MembershipEdge("ghost@example.com", "checkout", "member"), at(99))

    message = failure(organization, bundle)

    assert message == (
        "org.yaml, document 1, line 99: membership of 'ghost@example.com' in 'checkout': "
        "unknown person 'ghost@example.com' (neither in the imported files nor in organisation "
        "'acme')"
    )
    assert history_rows() == 0
    assert not Team.objects.exists()


def test_every_unknown_reference_is_reported_together(organization):
    bundle = ImportBundle()
    bundle.add_unit(UnitNode("a", "A", "department", "nowhere"), at(1))
    bundle.add_team(TeamNode("t", "T", "platform", unit="lost", manager="boss@example.com"), at(2))
    bundle.add_interaction(InteractionEdge("t", "ghost", "x_as_a_service"), at(3))
    bundle.add_serves(ServesEdge("nobody@example.com", "t"), at(4))

    message = failure(organization, bundle)

    assert message.splitlines() == [
        "org.yaml, document 1, line 1: unit 'a': unknown parent unit 'nowhere' (neither in the imported files nor in organisation 'acme')",
        "org.yaml, document 1, line 2: team 't': unknown unit 'lost' (neither in the imported files nor in organisation 'acme')",
        "org.yaml, document 1, line 2: team 't' manager: unknown person 'boss@example.com' (neither in the imported files nor in organisation 'acme')",
        "org.yaml, document 1, line 4: serves link of 'nobody@example.com' to 't': unknown person 'nobody@example.com' (neither in the imported files nor in organisation 'acme')",
        "org.yaml, document 1, line 3: interaction 't' -> 'ghost': unknown team 'ghost' (neither in the imported files nor in organisation 'acme')",
    ]


def test_references_resolve_against_the_organisation_but_never_another_one(organization):
    other = OrganizationFactory(slug="other")
    TeamFactory(organization=other, slug="elsewhere")
    PersonFactory(organization=organization, email="ana@example.com")
    OrgUnitFactory(organization=organization, slug="eng")
    TeamFactory(organization=organization, slug="dba", type="ops_silo", specialty="database")
    bundle = ImportBundle()
    bundle.add_team(
        TeamNode("t", "T", "stream_aligned", unit="eng", manager="ana@example.com"), at(1)
    )
    bundle.add_interaction(InteractionEdge("t", "dba", "ticket_dependency"), at(2))

    org_import_apply(organization=organization, bundle=bundle)

    bundle.add_interaction(InteractionEdge("t", "elsewhere", "x_as_a_service"), at(3))
    assert "unknown team 'elsewhere'" in failure(organization, bundle)
    assert Interaction.objects.filter(source__slug="t", target__slug="dba").exists()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            TeamNode("t", "T", "stream_aligned", specialty="database"),
            "team 't': only ops_silo teams have a specialty; this one is stream_aligned with specialty 'database'",
        ),
        (TeamNode("t", "T", "squad"), "team 't' type: expected one of stream_aligned,"),
        (TeamNode("t x", "T", "platform"), "team 't x': expected a slug"),
        (TeamNode("t", "", "platform"), "team 't' name: expected a non-empty text"),
        (
            InteractionEdge("t", "u", "collaboration", severity="blocking"),
            "interaction 't' -> 'u': only ticket_dependency interactions have a severity; this one is collaboration",
        ),
        (
            InteractionEdge("t", "t", "x_as_a_service"),
            "interaction 't' -> 't': an interaction needs two different teams",
        ),
        (
            InteractionEdge(
                "t",
                "u",
                "collaboration",
                since=dt.date(2024, 5, 1),
                expected_end=dt.date(2024, 1, 1),
            ),
            "interaction 't' -> 'u': expected_end 2024-01-01 is before since 2024-05-01",
        ),
        (
            MembershipEdge("a@example.com", "t", "member", 0),
            "membership of 'a@example.com' in 't': allocation_percent: expected 1 to 100; got 0",
        ),
        (
            MembershipEdge("a@example.com", "t", "boss"),
            "membership of 'a@example.com' in 't': role: expected one of member, lead,",
        ),
        (UnitNode("u", "U", "department", "u"), "unit 'u': a unit cannot be its own parent"),
        (PersonNode("not-an-email", "X"), "person: expected an e-mail address; got 'not-an-email'"),
    ],
)
def test_single_row_rules_are_checked_before_anything_is_written(organization, entry, expected):
    bundle = ImportBundle()
    bundle.add_team(TeamNode("u", "U", "platform"), at(1))
    bundle.add_person(PersonNode("a@example.com", "A"), at(1))
    adders: dict[type, Callable[[Any, Origin], None]] = {
        TeamNode: bundle.add_team,
        InteractionEdge: bundle.add_interaction,
        MembershipEdge: bundle.add_membership,
        UnitNode: bundle.add_unit,
        PersonNode: bundle.add_person,
    }
    adders[type(entry)](entry, at(42))

    message = failure(organization, bundle)

    assert message.startswith(f"org.yaml, document 1, line 42: {expected}")
    assert history_rows() == 0


def test_a_cycle_through_existing_units_is_refused(organization):
    top = OrgUnitFactory(organization=organization, slug="top")
    OrgUnitFactory(organization=organization, slug="middle", parent=top)
    bundle = ImportBundle()
    bundle.add_unit(UnitNode("top", "Top", "department", "middle"), at(7))

    message = failure(organization, bundle)

    assert message == (
        "org.yaml, document 1, line 7: unit 'top': the unit hierarchy has a cycle: "
        "top -> middle -> top"
    )
    assert OrgUnit.objects.get(slug="top").parent is None


def test_the_number_of_queries_does_not_grow_with_the_size_of_the_bundle(organization):
    small_org = Organization.objects.create(slug="small", name="Small")

    with CaptureQueriesContext(connection) as small:
        org_import_apply(organization=small_org, bundle=generated_bundle(5))
    with CaptureQueriesContext(connection) as large:
        org_import_apply(organization=organization, bundle=generated_bundle(50))
    with CaptureQueriesContext(connection) as unchanged:
        org_import_apply(organization=organization, bundle=generated_bundle(50))

    assert Team.objects.filter(organization=organization).count() == 51
    assert len(large.captured_queries) == len(small.captured_queries)
    # Reading the organisation's rows: one query per model, plus the savepoint around it.
    assert len(unchanged.captured_queries) <= 9


def test_a_source_without_roles_creates_members_and_keeps_the_roles_already_set(organization):
    org_import_apply(organization=organization, bundle=example_bundle())
    stored = Membership.objects.get(person__email="aiko.tanaka@example.com", team__slug="checkout")
    assert stored.role != "member"
    bundle = ImportBundle()
    bundle.add_membership(MembershipEdge("aiko.tanaka@example.com", "checkout", NO_ROLE), at(1))
    bundle.add_membership(MembershipEdge("aiko.tanaka@example.com", "dba", NO_ROLE), at(2))

    org_import_apply(organization=organization, bundle=bundle)

    stored.refresh_from_db()
    assert stored.role != "member"
    added = Membership.objects.get(person__email="aiko.tanaka@example.com", team__slug="dba")
    assert added.role == "member"


def test_a_team_read_without_unit_manager_or_description_keeps_the_stored_ones(organization):
    org_import_apply(organization=organization, bundle=example_bundle())
    before = Team.objects.get(organization=organization, slug="checkout")
    assert before.unit_id is not None
    assert before.manager_id is not None
    assert before.description
    bundle = ImportBundle()
    bundle.add_team(TeamNode("checkout", "Checkout squad", "stream_aligned"), at(1))

    result = org_import_apply(organization=organization, bundle=bundle)

    after = Team.objects.get(pk=before.pk)
    assert after.name == "Checkout squad"
    assert (after.unit_id, after.manager_id, after.description) == (
        before.unit_id,
        before.manager_id,
        before.description,
    )
    assert result.counts["teams"].updated == 1


def test_a_team_leaving_the_ops_silos_loses_its_specialty(organization):
    org_import_apply(organization=organization, bundle=example_bundle())
    silo = Team.objects.get(organization=organization, type="ops_silo")
    bundle = ImportBundle()
    bundle.add_team(TeamNode(silo.slug, silo.name, "platform"), at(1))

    org_import_apply(organization=organization, bundle=bundle)

    silo.refresh_from_db()
    assert (silo.type, silo.specialty) == ("platform", "")


def test_a_role_given_by_one_file_wins_over_a_file_that_gives_none():
    bundle = ImportBundle()
    bundle.add_membership(MembershipEdge("a@example.com", "t", NO_ROLE), at(1))
    bundle.add_membership(MembershipEdge("a@example.com", "t", "devops_buddy"), at(2))
    bundle.add_membership(MembershipEdge("a@example.com", "t", NO_ROLE), at(3))

    entry = bundle.memberships[("a@example.com", "t")]
    assert (entry.value.role, entry.origin) == ("devops_buddy", at(2))
    with pytest.raises(ImportFailure, match="defined differently"):
        bundle.add_membership(MembershipEdge("a@example.com", "t", "lead"), at(4))
