"""``manage.py import_org``: output, atomicity (not even the organisation) and the organisation's name."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from teams.models import Organization, Person, Team
from tests.builders import FIXTURES_DIR
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

EXAMPLE = FIXTURES_DIR / "example-org.yaml"
PEOPLE = FIXTURES_DIR / "example-people.csv"


def import_org(*args: str | Path) -> str:
    out = StringIO()
    call_command("import_org", *[str(arg) for arg in args], stdout=out)
    return out.getvalue()


def test_it_creates_the_organisation_and_prints_what_it_created():
    output = import_org("--org", "example", "--name", "Example Ltd", EXAMPLE, PEOPLE)

    organization = Organization.objects.get(slug="example")
    assert organization.name == "Example Ltd"
    assert Team.objects.filter(organization=organization).count() == 4
    assert Person.objects.filter(organization=organization).count() == 9
    assert "Imported into organisation 'example':" in output
    assert "people:       9 created, 0 updated, 0 unchanged" in output
    assert "total:        29 created, 0 updated, 0 unchanged" in output


def test_the_organisation_is_named_after_its_slug_unless_a_name_is_given():
    import_org("--org", "example", EXAMPLE)

    assert Organization.objects.get(slug="example").name == "example"


def test_name_renames_an_existing_organisation_and_its_absence_keeps_the_name():
    OrganizationFactory(slug="example", name="Old Name")

    import_org("--org", "example", EXAMPLE)
    assert Organization.objects.get(slug="example").name == "Old Name"

    import_org("--org", "example", "--name", "New Name", EXAMPLE)
    assert Organization.objects.get(slug="example").name == "New Name"


def test_a_second_run_reports_everything_unchanged():
    import_org("--org", "example", EXAMPLE, PEOPLE)

    output = import_org("--org", "example", EXAMPLE, PEOPLE)

    assert "total:        0 created, 0 updated, 29 unchanged" in output


def test_a_good_file_with_a_bad_one_writes_nothing_not_even_the_organisation(tmp_path):
    bad = tmp_path / "people.csv"
    bad.write_text("email,name,team,role\nana@example.com,Ana,nowhere,member\n", encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        import_org("--org", "example", EXAMPLE, bad)

    assert str(caught.value) == (
        "Import failed, nothing was written.\n"
        f"{bad}, line 2: membership of 'ana@example.com' in 'nowhere': unknown team 'nowhere' "
        "(neither in the imported files nor in organisation 'example')"
    )
    assert not Organization.objects.exists()
    assert not Team.objects.exists()
    assert not Person.objects.exists()
    assert not Organization.history.exists()


def test_a_conflict_between_two_files_names_both(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(
        "format: transform.org/v1\n"
        "teams:\n"
        "  - {slug: dba, name: Database Administration, type: ops_silo, specialty: networking}\n",
        encoding="utf-8",
    )

    with pytest.raises(CommandError) as caught:
        import_org("--org", "example", EXAMPLE, other)

    message = str(caught.value)
    assert f"{other}, document 1, line 3: team 'dba' is defined differently at {EXAMPLE}" in message
    assert not Organization.objects.exists()


def test_a_missing_file_fails_before_anything_is_written(tmp_path):
    with pytest.raises(CommandError, match=r"nowhere\.yaml: file not found"):
        import_org("--org", "example", EXAMPLE, tmp_path / "nowhere.yaml")

    assert not Organization.objects.exists()


def test_an_invalid_organisation_slug_is_refused():
    with pytest.raises(CommandError, match="organisation slug 'not a slug' is not valid"):
        import_org("--org", "not a slug", EXAMPLE)

    assert not Organization.objects.exists()


def test_a_json_file_read_by_the_fast_parser_still_reports_the_line_of_its_error(tmp_path):
    path = tmp_path / "org.json"
    path.write_text(
        '{\n  "format": "transform.org/v1",\n  "teams": [\n'
        '    {"slug": "a", "name": "A", "type": "platform"},\n'
        '    {"slug": "b", "name": "B", "type": "squad"}\n  ]\n}\n',
        encoding="utf-8",
    )

    with pytest.raises(CommandError) as caught:
        import_org("--org", "example", path)

    assert f"{path}, document 1, line 5: teams[1].type: expected one of" in str(caught.value)
    assert not Organization.objects.exists()


def test_a_json_file_with_a_duplicate_key_is_refused_with_its_line(tmp_path):
    path = tmp_path / "org.json"
    path.write_text(
        '{\n  "format": "transform.org/v1",\n  "teams": [],\n  "teams": []\n}\n', encoding="utf-8"
    )

    with pytest.raises(CommandError) as caught:
        import_org("--org", "example", path)

    assert f"{path}, document 1, line 4: YAML error: duplicate key" in str(caught.value)


def test_a_valid_json_file_imports_through_the_fast_parser(tmp_path):
    path = tmp_path / "org.json"
    path.write_text(
        '{"format": "transform.org/v1", "people": [{"email": "A@example.com", "name": "A"}],'
        ' "teams": [{"slug": "a", "name": "A", "type": "platform",'
        ' "members": [{"person": "a@example.com", "role": "product_owner"}]}]}',
        encoding="utf-8",
    )

    output = import_org("--org", "example", path)

    assert "memberships:  1 created" in output
    assert Person.objects.get().email == "a@example.com"
