"""Catalog shapes from public Backstage repositories that Backstage reads and the importer once
refused: templates reached through Locations, generated catalogs repeating an entity, plugin
kinds, owners written every way Backstage allows, and files with many errors at once.

Each shape is a trimmed copy written for the tests under tests/data/backstage/<shape>/; each is
read through ``read_import_files`` (what ``import_org`` reads with) or the command itself.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.files.origin import ImportFailure
from teams.importers.bundle import ImportBundle
from teams.importers.reader import read_import_files
from teams.models import Interaction, Organization, Service, Team

DATA = Path(__file__).resolve().parent.parent / "data" / "backstage"


def read(*paths: Path) -> ImportBundle:
    return read_import_files(list(paths))


def failure(*paths: Path) -> ImportFailure:
    with pytest.raises(ImportFailure) as caught:
        read(*paths)
    return caught.value


def import_org(*paths: Path) -> str:
    out = StringIO()
    call_command("import_org", "--org", "acme", *[str(path) for path in paths], stdout=out)
    return out.getvalue()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def services(bundle: ImportBundle) -> dict[tuple[str, str], str]:
    return {key: entry.value.owner for key, entry in bundle.services.items()}


# A Location reaching software templates (scaffolder.backstage.io/v1beta3, backstage.io/v1beta2)


@pytest.mark.django_db
def test_a_location_reaching_software_templates_imports_and_names_the_urls_it_did_not_fetch() -> (
    None
):
    output = import_org(DATA / "template-location" / "catalog-info.yaml")

    teams = Team.objects.filter(organization__slug="acme")
    assert {team.slug: team.type for team in teams} == {
        "platform-team": "platform",
        "checkout": "stream_aligned",
    }
    service = Service.objects.get(organization__slug="acme", slug="golden-path-docs")
    assert service.team is not None
    assert (service.kind, service.team.slug) == ("component", "platform-team")
    warnings = [line for line in output.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1
    location = (
        "all-templates.yaml, document 1, line 13: Location location:default/example-templates"
    )
    assert location in warnings[0]
    assert "2 targets not read (URLs are not fetched)" in warnings[0]
    assert "react-ssr-template/template.yaml" in warnings[0]


def test_templates_are_read_for_their_owner_and_make_no_team_or_service() -> None:
    bundle = read(DATA / "template-location" / "templates" / "all-templates.yaml")

    # Both templates were read (a v1beta3 and a v1beta2 one), neither is a service.
    assert bundle.services == {}
    assert bundle.teams == {}
    assert [line for line in bundle.warnings if "ignored" in line] == []


def test_a_template_file_named_on_the_command_line_is_read_as_a_backstage_catalog() -> None:
    bundle = read(DATA / "template-location" / "templates" / "create-service" / "template.yaml")

    assert bundle.is_empty()
    assert bundle.warnings == []


def test_a_template_with_a_malformed_owner_is_an_error_naming_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "template.yaml",
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n"
        "  name: broken\nspec:\n  owner: 'group:'\n  type: service\n  steps: []\n",
    )

    error = failure(path)

    assert str(error.origin).endswith("template.yaml, document 1, line 6")
    assert "spec.owner: 'group:' is not an entity reference" in error.message


# A generated catalog with the same Group twice, byte for byte


@pytest.mark.django_db
def test_a_generated_catalog_with_a_group_twice_alike_takes_it_once_with_a_warning() -> None:
    path = DATA / "generated-duplicate" / "catalog.yaml"

    output = import_org(path)

    teams = Team.objects.filter(organization__slug="acme").select_related("unit")
    assert {team.slug: team.unit.slug if team.unit else None for team in teams} == {
        "payments": "engineering",
        "search": "engineering",
    }
    [warning] = [line for line in output.splitlines() if line.startswith("Warning: ")]
    assert f"{path}, document 4, line 32: entity group:default/engineering" in warning
    assert f"same content as at {path}, document 1, line 6; it is read once" in warning


def test_an_entity_repeated_alike_in_another_file_is_also_taken_once(tmp_path: Path) -> None:
    source = (DATA / "generated-duplicate" / "catalog.yaml").read_text(encoding="utf-8")
    first = write(tmp_path, "a.yaml", source)
    second = write(tmp_path, "b.yaml", source)

    bundle = read(first, second)

    assert sorted(bundle.teams) == ["payments", "search"]
    # The copy in a.yaml (document 4), then each of b.yaml's six entities.
    assert len(bundle.warnings) == 7
    assert f"{second}, document 1, line 6: entity group:default/engineering" in bundle.warnings[1]


# Differing duplicates stay an error naming both places


@pytest.mark.django_db
def test_an_entity_defined_twice_differently_is_an_error_naming_both_places() -> None:
    payments = DATA / "differing-duplicate" / "payments.yaml"
    platform = DATA / "differing-duplicate" / "platform.yaml"

    with pytest.raises(CommandError) as caught:
        import_org(payments, platform)

    message = str(caught.value)
    place = f"{platform}, document 2, line 13: metadata.name: entity group:default/payments"
    assert f"{place} is defined twice with different content" in message
    assert f"already defined at {payments}, document 1, line 4" in message
    assert not Organization.objects.filter(slug="acme").exists()
    assert not Team.objects.exists()


# Unknown kinds: one warning line per kind


def test_unknown_kinds_are_ignored_with_one_warning_line_per_kind() -> None:
    path = DATA / "unknown-kinds" / "catalog-info.yaml"

    bundle = read(path)

    assert bundle.warnings == [
        f"{path}, document 5, line 42: ignored 3 documents of kind 'FeatureFlag' (Transform has "
        "no place for this kind; the first is here)",
        f"{path}, document 8, line 61: ignored 1 document of kind 'Deployment' with apiVersion "
        "'apps/v1': not Backstage entities (Transform has no place for this kind; the first is "
        "here)",
    ]
    # The owner written through an anchor; the Resource is read for its owner, not a service.
    assert services(bundle) == {
        ("component", "storefront-web"): "storefront",
        ("system", "storefront"): "storefront",
    }


def test_a_resource_is_read_for_its_owner_so_depending_on_it_links_the_teams(
    tmp_path: Path,
) -> None:
    entity = "apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n"
    text = "---\n".join(
        [
            entity.format(kind="Group", name="shop") + "  type: stream-aligned\n  children: []\n",
            entity.format(kind="Group", name="dba") + "  type: ops-silo\n  children: []\n",
            entity.format(kind="Resource", name="orders-db") + "  type: database\n  owner: dba\n",
            entity.format(kind="Component", name="web")
            + "  owner: shop\n  dependsOn: [resource:orders-db]\n",
        ]
    )

    bundle = read(write(tmp_path, "catalog.yaml", text))

    assert list(bundle.interactions) == [("shop", "dba", "ticket_dependency")]
    assert ("resource", "orders-db") not in bundle.services


def test_a_location_of_another_type_is_not_followed_and_is_named_in_a_warning(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: discovered\n"
        "spec:\n  type: github-discovery\n"
        "  target: https://github.com/example/*/blob/main/catalog-info.yaml\n",
    )

    [warning] = read(path).warnings

    assert "line 7: Location location:default/discovered: 1 target not read" in warning
    assert "Location type 'github-discovery' is not followed" in warning


# All errors, up to the limit, each with its place and field


def test_every_error_of_a_catalog_is_reported_with_file_line_and_field() -> None:
    catalog = DATA / "many-errors" / "catalog.yaml"
    more = (DATA / "many-errors" / "more.yaml").resolve()

    error = failure(catalog)

    assert str(error).splitlines() == [
        f"{catalog}, document 1, line 5: spec.type: expected a non-empty string, but it is missing",
        f"{catalog}, document 2, line 14: spec.profile.email: 'erin at example.com' is not a "
        "valid e-mail address",
        f"{catalog}, document 3, line 23: spec.owner: 'group:' is not an entity reference; "
        "expected [kind:][namespace/]name",
        f"{catalog}, document 4, line 30: spec.memberOf[0]: 'ghosts' refers to "
        "group:default/ghosts, which is not in the imported catalog (name its file, or a "
        "Location that reaches it)",
        f"{catalog}, document 5, line 39: spec.targets[1]: Location target "
        f"'{more.parent / 'gone.yaml'}' cannot be read: file not found",
        f"{more}, document 1, line 3: metadata.name: expected a non-empty string, but it is "
        "missing",
    ]


@pytest.mark.django_db
def test_more_than_twenty_errors_show_the_first_twenty_and_count_the_rest() -> None:
    path = DATA / "over-the-limit" / "groups.yaml"

    with pytest.raises(CommandError) as caught:
        import_org(path)

    lines = str(caught.value).splitlines()
    assert lines[0] == "Import failed, nothing was written."
    assert lines[1] == (
        f"{path}, document 1, line 6: spec.type: expected a non-empty string, but it is missing"
    )
    assert lines[20] == (
        f"{path}, document 20, line 139: spec.type: expected a non-empty string, but it is missing"
    )
    assert lines[21:] == ["... and 5 more errors"]
    assert not Organization.objects.filter(slug="acme").exists()


# Owners in every form Backstage accepts


def test_owners_are_read_in_every_reference_form_and_user_owners_are_named_in_a_warning() -> None:
    components = DATA / "owner-refs" / "components.yaml"

    bundle = read(DATA / "owner-refs" / "org.yaml", components)

    assert services(bundle) == {
        ("component", "full-ref"): "team-a",  # group:default/team-a
        ("component", "kind-and-name"): "team-a",  # group:team-a
        ("component", "name-only"): "team-b",  # team-b
        ("component", "other-case"): "team-b",  # Group:Default/Team-B
        ("api", "namespaced"): "team-a",  # team-a from namespace payments: default's
    }
    assert bundle.warnings == [
        "2 entities owned by a person (a User), not a team, so no team owns them: "
        f"component:default/owned-by-guest (owner 'user:guest', {components}, document 6, "
        "line 41); component:default/owned-by-drifter (owner 'user:default/drifter', "
        f"{components}, document 7, line 47); give them a Group as spec.owner to count them in a "
        "team's load"
    ]


@pytest.mark.django_db
def test_importing_owners_in_every_form_writes_each_service_to_its_team() -> None:
    import_org(DATA / "owner-refs" / "org.yaml", DATA / "owner-refs" / "components.yaml")

    owned = Service.objects.filter(organization__slug="acme").select_related("team")
    assert {(service.slug, service.team.slug if service.team else None) for service in owned} == {
        ("full-ref", "team-a"),
        ("kind-and-name", "team-a"),
        ("name-only", "team-b"),
        ("other-case", "team-b"),
        ("namespaced", "team-a"),
    }
    assert not Interaction.objects.exists()


def test_an_entity_repeated_with_the_default_namespace_written_out_is_the_same_entity(
    tmp_path: Path,
) -> None:
    group = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: squad\n{namespace}"
    text = "---\n".join(
        [
            group.format(namespace="spec:\n  type: team\n"),
            group.format(namespace="  namespace: Default\nspec:\n  type: team\n"),
        ]
    )

    bundle = read(write(tmp_path, "catalog.yaml", text))

    assert list(bundle.teams) == ["squad"]
    assert len(bundle.warnings) == 1
    assert "defined again with the same content" in bundle.warnings[0]


def test_a_backstage_entity_without_a_kind_is_an_error_not_an_unknown_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path, "catalog.yaml", "apiVersion: backstage.io/v1alpha1\nmetadata:\n  name: what\n"
    )

    error = failure(path)

    assert error.message == "kind: expected a non-empty string, but it is missing"


def test_a_location_glob_with_two_stars_reaches_catalog_files_in_every_folder(
    tmp_path: Path,
) -> None:
    entity = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\n"
    write(
        tmp_path, "services/a/catalog-info.yaml", entity.format(name="a") + "spec: {type: team}\n"
    )
    write(
        tmp_path, "services/b/c/catalog-info.yaml", entity.format(name="c") + "spec: {type: team}\n"
    )
    root = write(
        tmp_path,
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\n"
        "spec:\n  type: url\n  target: ./services/**/catalog-info.yaml\n",
    )

    bundle = read(root)

    assert sorted(bundle.teams) == ["a", "c"]
