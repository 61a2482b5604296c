"""The CSV of people: columns, roles, team references and the line of every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.files.origin import ImportFailure
from teams.graph import MembershipEdge, PersonNode
from teams.importers.apply import org_import_apply
from teams.importers.bundle import NO_ROLE
from teams.importers.reader import read_import_files
from teams.models import Membership, Person
from tests.builders import FIXTURES_DIR
from tests.factories import TeamFactory


def write(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def failure(path: Path) -> str:
    with pytest.raises(ImportFailure) as caught:
        read_import_files([path])
    return str(caught.value)


def test_it_reads_people_and_their_memberships_leaving_an_empty_role_unspecified(tmp_path):
    path = write(
        tmp_path,
        "email,name,team,role\n"
        "Ana@Example.com,Ana Lima,checkout,lead\n"
        "bo@example.com,Bo Berg,checkout,\n"
        "ana@example.com,Ana Lima,search,devops_buddy\n",
    )

    bundle = read_import_files([path])

    assert [entry.value for entry in bundle.people.values()] == [
        PersonNode("ana@example.com", "Ana Lima"),
        PersonNode("bo@example.com", "Bo Berg"),
    ]
    assert [entry.value for entry in bundle.memberships.values()] == [
        MembershipEdge("ana@example.com", "checkout", "lead", 100),
        MembershipEdge("bo@example.com", "checkout", NO_ROLE, 100),  # member when created
        MembershipEdge("ana@example.com", "search", "devops_buddy", 100),
    ]
    assert set(bundle.team_references) == {"checkout", "search"}
    assert bundle.memberships[("bo@example.com", "checkout")].origin.line == 3


def test_columns_may_come_in_any_order_and_role_may_be_left_out(tmp_path):
    path = write(tmp_path, "\ufeffteam,Email,name\ncheckout,ana@example.com,Ana\n")

    bundle = read_import_files([path])

    assert list(bundle.memberships) == [("ana@example.com", "checkout")]
    assert bundle.memberships[("ana@example.com", "checkout")].value.role == NO_ROLE


def test_the_example_people_file_reads():
    bundle = read_import_files([FIXTURES_DIR / "example-people.csv"])

    assert len(bundle.people) == 5
    assert bundle.memberships[("julia.santos@example.com", "delivery-platform")].value.role == (
        "product_owner"
    )


def test_an_unknown_column_is_an_error_on_the_header_line(tmp_path):
    path = write(tmp_path, "email,name,team,role,phone\nana@example.com,Ana,checkout,,123\n")

    assert failure(path) == (
        f"{path}, line 1: unknown column 'phone'; expected the columns "
        "email,name,team,role,left_on (role and left_on may be left out)"
    )


def test_a_missing_column_is_an_error_on_the_header_line(tmp_path):
    path = write(tmp_path, "email,team\nana@example.com,checkout\n")

    assert failure(path).startswith(f"{path}, line 1: missing column 'name';")


def test_a_file_without_a_header_is_refused(tmp_path):
    path = write(tmp_path, "")

    assert failure(path).startswith(f"{path}, line 1: empty file; expected a header row")


def test_an_unknown_role_names_the_line_and_the_roles_expected(tmp_path):
    path = write(
        tmp_path, "email,name,team,role\nana@example.com,Ana,checkout,\nbo@example.com,Bo,x,boss\n"
    )

    assert failure(path) == (
        f"{path}, line 3: role: expected one of member, lead, devops_buddy, product_owner or "
        "empty; got 'boss'"
    )


def test_a_row_with_too_few_values_names_its_line(tmp_path):
    path = write(tmp_path, "email,name,team,role\nana@example.com,Ana\n")

    assert failure(path) == f"{path}, line 2: expected 4 values (email,name,team,role); got 2"


def test_an_invalid_email_and_an_empty_name_name_their_lines(tmp_path):
    bad_email = write(tmp_path, "email,name,team\nana-at-example,Ana,checkout\n", "a.csv")
    no_name = write(tmp_path, "email,name,team\nana@example.com,,checkout\n", "b.csv")

    assert failure(bad_email) == (
        f"{bad_email}, line 2: email: expected an e-mail address; got 'ana-at-example'"
    )
    assert (
        failure(no_name)
        == f"{no_name}, line 2: name: expected the person's name; got an empty value"
    )


def test_one_person_with_two_names_is_a_conflict_naming_both_lines(tmp_path):
    path = write(tmp_path, "email,name,team\nana@example.com,Ana,a\nana@example.com,Anna,b\n")

    assert failure(path) == (
        f"{path}, line 3: person 'ana@example.com' is defined differently at {path}, line 2"
    )


@pytest.mark.django_db
def test_a_team_that_exists_nowhere_is_reported_at_its_line_and_nothing_is_written(
    tmp_path, organization
):
    TeamFactory(organization=organization, slug="checkout")
    path = write(
        tmp_path, "email,name,team\nana@example.com,Ana,checkout\nbo@example.com,Bo,ghosts\n"
    )
    bundle = read_import_files([path])

    with pytest.raises(ImportFailure) as caught:
        org_import_apply(organization=organization, bundle=bundle)

    assert str(caught.value) == (
        f"{path}, line 3: membership of 'bo@example.com' in 'ghosts': unknown team 'ghosts' "
        "(neither in the imported files nor in organisation 'acme')"
    )
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_teams_already_in_the_organisation_satisfy_the_csv(tmp_path, organization):
    TeamFactory(organization=organization, slug="checkout")
    path = write(tmp_path, "email,name,team,role\nana@example.com,Ana,checkout,lead\n")

    result = org_import_apply(organization=organization, bundle=read_import_files([path]))

    membership = Membership.objects.get()
    assert (membership.person.email, membership.team.slug, membership.role) == (
        "ana@example.com",
        "checkout",
        "lead",
    )
    assert result.counts["people"].created == 1
    assert result.counts["memberships"].created == 1
