"""The Backstage catalog reader: groups, users, ownership-derived dependencies, Locations, errors."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.files.origin import ImportFailure
from core.files.yamlio import load_documents, read_text
from teams.graph import InteractionEdge, MembershipEdge, PersonNode, TeamNode, UnitNode
from teams.importers.backstage import is_backstage_document, read_backstage_catalog
from teams.importers.bundle import NO_ROLE, ImportBundle
from teams.models import Interaction, Membership, Organization, OrgUnit, Person, Team
from tests.builders import REALWORLD_DIR

DATA = Path(__file__).resolve().parent.parent / "data" / "backstage"
CATALOG = DATA / "catalog"
BROKEN = DATA / "broken"
ACME = REALWORLD_DIR / "backstage-acme"


def read(*paths: Path) -> ImportBundle:
    """Call the reader the way teams.importers.reader does: resolved paths, all of them seen."""
    resolved = [path.resolve() for path in paths]
    files = [(path, load_documents(str(path), read_text(path))) for path in resolved]
    return read_backstage_catalog(files, seen=set(resolved))


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def failure(*paths: Path) -> ImportFailure:
    with pytest.raises(ImportFailure) as caught:
        read(*paths)
    return caught.value


GROUP = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: {name}
spec:
  type: {type}
{extra}"""


def group(name: str, type: str = "team", extra: str = "") -> str:
    return GROUP.format(name=name, type=type, extra=extra)


def test_it_recognises_backstage_documents_by_api_version():
    documents = load_documents(
        "x.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Group\n---\n"
        "format: transform.org/v1\n---\ninfo: {name: A}\n---\n- a list\n",
    )

    assert [is_backstage_document(doc) for doc in documents] == [True, False, False, False]


def test_it_turns_groups_into_units_and_typed_teams():
    bundle = read(CATALOG / "all.yaml")

    assert {slug: entry.value for slug, entry in bundle.units.items()} == {
        "company": UnitNode(
            slug="company", name="Example Company", kind="organization", parent=None
        ),
        "payments-dept": UnitNode(
            slug="payments-dept", name="Payments", kind="department", parent="company"
        ),
    }
    assert bundle.teams["checkout"].value == TeamNode(
        slug="checkout",
        name="Checkout Squad",
        type="stream_aligned",
        unit="payments-dept",
        description="Checkout squad",
    )
    types = {slug: entry.value.type for slug, entry in bundle.teams.items()}
    assert types == {
        "checkout": "stream_aligned",
        "payments-platform": "platform",
        "dba": "ops_silo",
        "netops": "ops_silo",
        "guild": "unclassified",
    }


def test_it_takes_the_hierarchy_from_parent_and_children_alike():
    bundle = read(CATALOG / "all.yaml")

    # payments-dept lists no children; its teams name it (once in another case) as their parent.
    units = {slug: entry.value.unit for slug, entry in bundle.teams.items()}
    assert units == {
        "checkout": "payments-dept",
        "payments-platform": "payments-dept",
        "dba": "payments-dept",
        "netops": "payments-dept",
        "guild": "company",
    }
    assert bundle.units["payments-dept"].value.parent == "company"


def test_it_reads_the_ops_silo_specialty_annotation_and_defaults_to_other():
    bundle = read(CATALOG / "all.yaml")

    assert bundle.teams["dba"].value.specialty == "database"
    assert bundle.teams["netops"].value.specialty == "other"
    assert bundle.teams["checkout"].value.specialty == ""


def test_it_refuses_an_unknown_specialty(tmp_path):
    extra = "  children: []\n"
    text = group("dba", "ops-silo", extra).replace(
        "  name: dba\n", "  name: dba\n  annotations:\n    transform.dev/specialty: plumbing\n"
    )

    error = failure(write(tmp_path, "dba.yaml", text))

    assert "line 6" in str(error)
    assert "'plumbing' is not a specialty" in error.message
    assert "database, networking, backend_ops, security, other" in error.message


def test_it_reads_users_as_people_keyed_by_lower_case_email():
    bundle = read(CATALOG / "all.yaml")

    assert {email: entry.value for email, entry in bundle.people.items()} == {
        "ann.smith@example.com": PersonNode(email="ann.smith@example.com", name="Ann Smith"),
        "bob@default.backstage.invalid": PersonNode(
            email="bob@default.backstage.invalid", name="bob"
        ),
        "carol@example.com": PersonNode(email="carol@example.com", name="Carol Jones"),
        "dave@example.com": PersonNode(email="dave@example.com", name="dave"),
    }


def test_it_uses_a_user_name_that_is_an_email_as_the_email(tmp_path):
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n"
        "  name: Erin@Example.com\nspec:\n  memberOf: []\n"
    )

    bundle = read(write(tmp_path, "erin.yaml", text))

    assert list(bundle.people) == ["erin@example.com"]


def test_it_refuses_an_email_that_is_not_one(tmp_path):
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: erin\n"
        "spec:\n  profile:\n    email: not an address\n"
    )

    error = failure(write(tmp_path, "erin.yaml", text))

    assert "line 7" in str(error)
    assert "'not an address' is not a valid e-mail address" in error.message


def test_it_makes_memberships_from_members_and_member_of_but_not_in_units():
    bundle = read(CATALOG / "all.yaml")

    assert set(bundle.memberships) == {
        ("ann.smith@example.com", "checkout"),
        ("bob@default.backstage.invalid", "checkout"),
        ("bob@default.backstage.invalid", "payments-platform"),
        ("carol@example.com", "dba"),
        ("carol@example.com", "netops"),
    }
    assert bundle.memberships[("carol@example.com", "dba")].value == MembershipEdge(
        person="carol@example.com", team="dba", role=NO_ROLE, allocation_percent=100
    )


def test_it_derives_team_dependencies_from_what_components_depend_on():
    bundle = read(CATALOG / "all.yaml")

    assert {key: entry.value for key, entry in bundle.interactions.items()} == {
        ("checkout", "dba", "ticket_dependency"): InteractionEdge(
            source="checkout", target="dba", mode="ticket_dependency", severity="slowing"
        ),
        ("checkout", "payments-platform", "x_as_a_service"): InteractionEdge(
            source="checkout", target="payments-platform", mode="x_as_a_service"
        ),
        ("payments-platform", "dba", "ticket_dependency"): InteractionEdge(
            source="payments-platform", target="dba", mode="ticket_dependency", severity="slowing"
        ),
    }
    origin = bundle.interactions[("checkout", "dba", "ticket_dependency")].origin
    assert origin.path.endswith("components.yaml")
    assert origin.line == 10


def test_it_follows_each_location_file_once_and_ends_location_cycles():
    seen = {(DATA / "loop" / "first.yaml").resolve()}
    first = (DATA / "loop" / "first.yaml").resolve()

    bundle = read_backstage_catalog(
        [(first, load_documents(str(first), read_text(first)))], seen=seen
    )

    assert set(bundle.teams) == {"first-team", "second-team"}
    assert bundle.teams["second-team"].value.type == "complicated_subsystem"
    assert seen == {first, (DATA / "loop" / "second.yaml").resolve()}


def test_a_file_named_and_also_reached_through_a_location_is_read_once():
    bundle = read(CATALOG / "all.yaml", CATALOG / "org.yaml", CATALOG / "people.yaml")

    assert len(bundle.teams) == 5
    assert len(bundle.people) == 4


def test_a_location_target_that_cannot_be_read_names_the_location_line():
    error = failure(BROKEN / "missing-target.yaml")

    assert error.origin is not None
    assert str(error).startswith(
        f"{(BROKEN / 'missing-target.yaml').resolve()}, document 2, line 16"
    )
    assert "does-not-exist.yaml" in error.message
    assert "file not found" in error.message


def test_an_optional_location_target_may_be_missing(tmp_path):
    location = write(
        tmp_path,
        "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\n"
        "spec:\n  presence: optional\n  targets: [./absent.yaml, ./team.yaml]\n",
    )
    write(tmp_path, "team.yaml", group("present", extra="  children: []\n"))

    bundle = read(location)

    assert list(bundle.teams) == ["present"]


def test_a_url_location_is_not_fetched_but_named_in_a_warning():
    bundle = read(BROKEN / "url-target.yaml")

    assert bundle.is_empty()
    [warning] = bundle.warnings
    assert "url-target.yaml, document 1, line 7: Location location:default/remote" in warning
    assert "1 target not read (URLs are not fetched)" in warning
    assert "'https://github.com/example/catalog/blob/main/all.yaml'" in warning


def test_a_glob_target_that_matches_nothing_is_an_error(tmp_path):
    location = write(
        tmp_path,
        "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\n"
        "spec:\n  target: ./teams/*.yaml\n",
    )

    error = failure(location)

    assert "line 6" in str(error)
    assert "'./teams/*.yaml' matches no file" in error.message


def test_an_unknown_parent_group_is_an_error_naming_file_line_and_reference():
    error = failure(BROKEN / "unknown-parent.yaml")

    assert str(error.origin).endswith("unknown-parent.yaml, document 1, line 7")
    assert "spec.parent: 'nowhere' refers to group:default/nowhere" in error.message
    assert "not in the imported catalog" in error.message


def test_an_unknown_member_user_is_an_error(tmp_path):
    text = group("squad", extra="  children: []\n  members: [ghost]\n")

    error = failure(write(tmp_path, "squad.yaml", text))

    assert "line 8" in str(error)
    assert "spec.members[0]: 'ghost' refers to user:default/ghost" in error.message


def test_member_of_must_name_a_group(tmp_path):
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: erin\n"
        "spec:\n  memberOf: [component:web]\n"
    )

    error = failure(write(tmp_path, "erin.yaml", text))

    assert "spec.memberOf[0]: 'component:web' refers to a component, expected a group" in (
        error.message
    )


def test_a_field_of_the_wrong_type_names_the_field_and_what_was_expected():
    error = failure(BROKEN / "children-not-a-list.yaml")

    assert str(error.origin).endswith("children-not-a-list.yaml, document 1, line 7")
    assert error.message == "spec.children: expected a list of strings, found int 5"


def test_a_group_without_a_type_is_refused():
    error = failure(BROKEN / "group-without-type.yaml")

    assert "spec.type: expected a non-empty string, but it is missing" in error.message
    assert "document 1" in str(error)


def test_an_entity_without_a_name_is_refused(tmp_path):
    text = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  title: Nameless\n"

    error = failure(write(tmp_path, "nameless.yaml", text))

    assert "line 3" in str(error)
    assert error.message == "metadata.name: expected a non-empty string, but it is missing"


def test_two_entities_with_the_same_kind_namespace_and_name_are_refused_naming_both():
    error = failure(BROKEN / "duplicate-entity.yaml")

    assert "document 2, line 12" in str(error.origin)
    assert "entity group:default/twice is defined twice" in error.message
    assert "document 1, line 4" in error.message


def test_the_same_name_in_another_namespace_is_another_entity(tmp_path):
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: guest\n"
        "spec:\n  profile: {email: guest@example.com}\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: guest\n"
        "  namespace: development\nspec:\n  profile: {email: guest@example.com}\n"
    )

    bundle = read(write(tmp_path, "guests.yaml", text))

    assert list(bundle.people) == ["guest@example.com"]


def test_a_location_target_that_holds_no_backstage_entity_is_ignored_with_a_warning(tmp_path):
    location = write(
        tmp_path,
        "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\n"
        "spec:\n  target: ./other.yaml\n---\n" + group("squad", extra="  children: []\n"),
    )
    write(tmp_path, "other.yaml", "teams: []\n")

    bundle = read(location)

    assert list(bundle.teams) == ["squad"]
    [warning] = bundle.warnings
    assert warning.startswith(f"{(tmp_path / 'other.yaml').resolve()}, document 1, line 1: ")
    assert "ignored 1 document without a kind: not Backstage entities" in warning


def test_a_group_with_child_groups_is_a_unit_whatever_its_type(tmp_path):
    text = "\n---\n".join(
        [
            group("tribe", "stream-aligned", "  children: [squad]\n"),
            group("squad", "stream-aligned", "  children: []\n"),
        ]
    )

    bundle = read(write(tmp_path, "tribe.yaml", text))

    assert bundle.units["tribe"].value == UnitNode(
        slug="tribe", name="tribe", kind="stream-aligned", parent=None
    )
    assert bundle.teams["squad"].value.unit == "tribe"
    assert "tribe" not in bundle.teams


def test_a_group_with_two_different_parents_is_refused(tmp_path):
    text = "\n---\n".join(
        [
            group("east", "division", "  children: [squad]\n"),
            group("west", "division", "  children: []\n"),
            group("squad", "team", "  parent: west\n  children: []\n"),
        ]
    )

    error = failure(write(tmp_path, "org.yaml", text))

    assert "second parent" in error.message
    assert "group:default/east" in error.message
    assert "group:default/west" in error.message


def test_a_cycle_of_parents_is_refused(tmp_path):
    text = "\n---\n".join(
        [
            group("a", "division", "  parent: b\n  children: []\n"),
            group("b", "division", "  parent: a\n  children: []\n"),
        ]
    )

    error = failure(write(tmp_path, "org.yaml", text))

    assert "cycle of parents" in error.message


def test_a_malformed_reference_is_refused(tmp_path):
    text = group("squad", extra="  parent: 'group:'\n  children: []\n")

    error = failure(write(tmp_path, "squad.yaml", text))

    assert "spec.parent: 'group:' is not an entity reference" in error.message


def test_an_unknown_dependency_target_and_unknown_fields_are_ignored(tmp_path):
    text = "\n---\n".join(
        [
            group("squad", "stream-aligned", "  children: []\n  favouriteColour: blue\n"),
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\n"
            "spec:\n  owner: squad\n  dependsOn: [component:elsewhere, resource:nope]\n"
            "  consumesApis: [external-api]\n",
            "apiVersion: backstage.io/v1alpha1\nkind: Template\nmetadata:\n  name: t\n"
            "spec:\n  steps: []\n",
        ]
    )

    bundle = read(write(tmp_path, "squad.yaml", text))

    assert list(bundle.teams) == ["squad"]
    assert bundle.interactions == {}


def test_the_acme_example_org_file_alone_gives_four_teams_their_units_and_sixteen_people():
    bundle = read(ACME / "org.yaml")

    assert sorted(bundle.teams) == ["team-a", "team-b", "team-c", "team-d"]
    assert {entry.value.type for entry in bundle.teams.values()} == {"unclassified"}
    assert {slug: entry.value.unit for slug, entry in bundle.teams.items()} == {
        "team-a": "backstage",
        "team-b": "backstage",
        "team-c": "boxoffice",
        "team-d": "boxoffice",
    }
    assert {
        slug: (entry.value.kind, entry.value.parent) for slug, entry in bundle.units.items()
    } == {
        "acme-corp": ("organization", None),
        "infrastructure": ("department", "acme-corp"),
        "backstage": ("sub-department", "infrastructure"),
        "boxoffice": ("sub-department", "infrastructure"),
    }
    assert len(bundle.people) == 16
    assert bundle.people["guest@example.com"].value.name == "Guest User"
    assert bundle.people["breanna-davison@example.com"].value.name == "breanna.davison"
    assert bundle.teams["team-b"].value.name == "Team B"
    assert bundle.teams["team-a"].value.name == "team-a"


def test_the_whole_acme_example_adds_team_e_under_boxoffice():
    bundle = read(*sorted(ACME.glob("*.yaml")))

    assert sorted(bundle.teams) == ["team-a", "team-b", "team-c", "team-d", "team-e"]
    assert bundle.teams["team-e"].value.unit == "boxoffice"
    assert bundle.teams["team-e"].value.name == "Team E With A Very Very Very Very Big Name Size"
    assert len(bundle.people) == 16
    assert len(bundle.units) == 4


def import_org(*paths: Path) -> str:
    out = StringIO()
    call_command("import_org", "--org", "acme", *[str(path) for path in paths], stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_importing_the_acme_org_file_writes_its_teams_units_and_people():
    import_org(ACME / "org.yaml")

    teams = Team.objects.filter(organization__slug="acme")
    assert {team.slug: (team.type, team.unit.slug if team.unit else None) for team in teams} == {
        "team-a": ("unclassified", "backstage"),
        "team-b": ("unclassified", "backstage"),
        "team-c": ("unclassified", "boxoffice"),
        "team-d": ("unclassified", "boxoffice"),
    }
    units = OrgUnit.objects.filter(organization__slug="acme")
    assert {unit.slug: unit.parent.slug if unit.parent else None for unit in units} == {
        "acme-corp": None,
        "infrastructure": "acme-corp",
        "backstage": "infrastructure",
        "boxoffice": "infrastructure",
    }
    assert Person.objects.filter(organization__slug="acme").count() == 16
    assert Membership.objects.filter(organization__slug="acme", team__slug="team-a").count() == 4


@pytest.mark.django_db
def test_importing_every_acme_file_adds_team_e_under_boxoffice_and_changes_nothing_twice():
    paths = sorted(ACME.glob("*.yaml"))
    import_org(*paths)
    history = Team.history.count() + Person.history.count() + OrgUnit.history.count()

    second = import_org(*paths)

    team_e = Team.objects.get(organization__slug="acme", slug="team-e")
    assert team_e.unit is not None
    assert team_e.unit.slug == "boxoffice"
    assert Team.objects.filter(organization__slug="acme").count() == 5
    assert Person.objects.filter(organization__slug="acme").count() == 16
    assert Team.history.count() + Person.history.count() + OrgUnit.history.count() == history
    assert " 0 created, 0 updated" in second.splitlines()[-1]


@pytest.mark.django_db
def test_importing_a_catalog_writes_the_dependencies_derived_from_ownership():
    import_org(CATALOG / "all.yaml")

    interactions = Interaction.objects.filter(organization__slug="acme")
    assert {(i.source.slug, i.target.slug, i.mode, i.severity) for i in interactions} == {
        ("checkout", "dba", "ticket_dependency", "slowing"),
        ("payments-platform", "dba", "ticket_dependency", "slowing"),
        ("checkout", "payments-platform", "x_as_a_service", ""),
    }
    dba = Team.objects.get(organization__slug="acme", slug="dba")
    assert (dba.type, dba.specialty) == ("ops_silo", "database")


@pytest.mark.django_db
def test_a_broken_catalog_writes_nothing_and_says_where_it_broke():
    with pytest.raises(CommandError) as caught:
        import_org(ACME / "org.yaml", BROKEN / "unknown-parent.yaml")

    assert "unknown-parent.yaml, document 1, line 7" in str(caught.value)
    assert not Organization.objects.filter(slug="acme").exists()
    assert not Team.objects.exists()


def test_a_reference_without_namespace_falls_back_to_the_default_namespace(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: Group\n"
        "metadata: {name: payments}\n"
        "spec: {type: stream-aligned, children: []}\n"
        "---\n"
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: User\n"
        "metadata: {name: ada, namespace: contractors}\n"
        "spec: {profile: {email: ada@example.com}, memberOf: [payments]}\n"
    )
    bundle = read_backstage_catalog(
        [(catalog, load_documents(str(catalog), catalog.read_text()))], seen={catalog}
    )

    assert set(bundle.memberships) == {("ada@example.com", "payments")}
