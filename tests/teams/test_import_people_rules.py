"""``import_people`` rules on small exports: every problem with its line and column, all or
nothing, ignored columns, team matching and slug collisions, the manager rule, leavers."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from teams.lifecycle import team_retire
from teams.models import Membership, Organization, Person, Team
from tests.builders import make_organization, make_person, make_team, pilot_playbook
from transform.plans.services import transformation_start

pytestmark = pytest.mark.django_db

HEADER = "name,email,team,manager_email,title"


def write(tmp_path: Path, *lines: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str | Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_people", "acme", *[str(arg) for arg in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failure(*args: str | Path) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    return str(caught.value)


def state() -> dict[str, Any]:
    return {
        "teams": sorted(Team.all_objects.values_list("slug", "name", "manager__email")),
        "people": sorted(Person.objects.values_list("email", "name", "left_on")),
        "memberships": sorted(
            Membership.objects.values_list("person__email", "team__slug", "role")
        ),
    }


@pytest.fixture
def acme() -> Organization:
    return make_organization("acme")


def test_every_problem_is_reported_with_line_and_column_up_to_twenty(
    tmp_path: Path, acme: Organization
) -> None:
    rows = [f"P{n},person{n}-at-example.com,Checkout,," for n in range(25)]
    path = write(tmp_path, HEADER, *rows)

    message = failure(path)

    assert message.startswith("Import failed, nothing was written.\n")
    assert f"{path}, line 2: column 'email' (email): expected an e-mail address; got " in message
    assert f"{path}, line 21: column 'email' (email)" in message
    assert f"{path}, line 22:" not in message
    assert message.rstrip().endswith("... and 5 more errors")


def test_problems_of_different_columns_are_all_reported(tmp_path: Path, acme: Organization) -> None:
    path = write(
        tmp_path,
        "Full Name,Work Email,Team,FTE,Start,Role",
        "Ana,ana@example.com,Checkout,150,2024-01-01,member",
        ",bo@example.com,Checkout,50%,31/12/2024,boss",
        "Cy,cy@example.com,Checkout,50,2024-02-30,",
        "Dee,dee@example.com,Checkout,,,",
        "Dee Lima,dee@example.com,checkout,,,",
    )

    message = failure(
        path,
        "--column",
        "name=Full Name",
        "--column",
        "allocation=FTE",
        "--column",
        "start_date=Start",
    )

    assert f"{path}, line 2: column 'FTE' (allocation): expected a whole percentage" in message
    assert f"{path}, line 3: column 'Full Name' (name): expected the person's name" in message
    assert f"{path}, line 3: column 'Start' (start_date): expected a date YYYY-MM-DD" in message
    assert f"{path}, line 3: column 'Role' (role): expected one of member, lead" in message
    assert f"{path}, line 4: column 'Start' (start_date)" in message
    assert (
        f"{path}, line 6: column 'Full Name' (name): dee@example.com is named 'Dee Lima' here "
        "and 'Dee' on line 5; a person has one name"
    ) in message
    assert (
        f"{path}, line 6: column 'Team' (team): dee@example.com is already in team 'checkout' "
        "on line 5; list a person once per team"
    ) in message


def test_a_failed_import_changes_nothing(tmp_path: Path, acme: Organization) -> None:
    run(write(tmp_path, HEADER, "Ana,ana@example.com,Checkout,,"))
    before = state()
    path = write(
        tmp_path,
        HEADER,
        "Ana Lima,ana@example.com,Payments,,Product Owner",
        "Bo,bo@example.com,Search & Discovery,ana@example.com,",
        "Cy,not-an-email,Checkout,,",
        name="second.csv",
    )

    assert "line 4: column 'email'" in failure(path)

    assert state() == before


def test_a_problem_found_against_the_organisation_changes_nothing_either(
    tmp_path: Path, acme: Organization
) -> None:
    make_person(acme, email="cy@example.com", name="Cy", left_on=dt.date(2026, 1, 5))
    before = state()
    path = write(tmp_path, HEADER, "Ana,ana@example.com,Checkout,,", "Cy,cy@example.com,Checkout,,")

    message = failure(path)

    assert f"{path}, line 3: membership of 'cy@example.com' in 'checkout'" in message
    assert "left the organisation on 2026-01-05" in message
    assert state() == before


def test_unmapped_columns_are_reported_once_as_ignored(tmp_path: Path, acme: Organization) -> None:
    # A trailing empty header cell (a spreadsheet's extra comma) is not a column worth naming.
    rows = [f"P{n},p{n}@example.com,Checkout,,Engineer,E{n},CC-1," for n in range(30)]
    path = write(tmp_path, HEADER + ",Employee ID,Cost Center,", *rows)

    _, err = run(path)

    assert err.splitlines() == [
        f"Warning: {path}, line 1: ignored columns (not mapped): 'Employee ID', 'Cost Center'"
    ]
    assert Person.objects.count() == 30


def test_teams_are_matched_by_slug_or_name_ignoring_case_and_spaces(
    tmp_path: Path, acme: Organization
) -> None:
    payments = make_team(acme, "payments", name="Payments Team")
    checkout = make_team(acme, "checkout", name="Checkout Squad")
    path = write(
        tmp_path,
        HEADER,
        "Ana,ana@example.com,  payments   TEAM ,,",
        "Bo,bo@example.com,CHECKOUT,,",
    )

    out, _ = run(path)

    assert Membership.objects.get(person__email="ana@example.com").team == payments
    assert Membership.objects.get(person__email="bo@example.com").team == checkout
    assert Team.all_objects.count() == 2
    assert "Teams: 0 created, 2 matched" in out


def test_new_slugs_are_deterministic_and_never_collide(tmp_path: Path, acme: Organization) -> None:
    make_team(acme, "search-discovery", name="Search and Discovery")
    retired = make_team(acme, "checkout", name="Old Checkout")
    team_retire(team=retired, source="import")
    path = write(
        tmp_path,
        HEADER,
        "Ana,ana@example.com,Search + Discovery,,",
        "Bo,bo@example.com,Search & Discovery,,",
        "Cy,cy@example.com,Checkout,,",
        "Dee,dee@example.com,Qualität & Søk,,",
    )

    run(path)

    slugs = dict(Team.objects.values_list("name", "slug"))
    # Sorted by slug then name: "search & discovery" comes before "search + discovery".
    assert slugs["Search & Discovery"] == "search-discovery-2"
    assert slugs["Search + Discovery"] == "search-discovery-3"
    # A retired team's slug is never reused, and a retired team is not matched by name.
    assert slugs["Checkout"] == "checkout-2"
    assert slugs["Qualität & Søk"] == "qualitat-sok"


def test_the_mapping_can_name_the_slug_and_type_of_a_team(
    tmp_path: Path, acme: Organization
) -> None:
    make_team(acme, "search", name="Search")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        '{"teams": {"Search & Discovery": {"slug": "search"}, '
        '"Runtime": {"slug": "rt", "type": "platform"}}, "default_team_type": "stream_aligned"}'
    )
    path = write(
        tmp_path,
        HEADER,
        "Ana,ana@example.com,search & discovery,,",
        "Bo,bo@example.com,Runtime,,",
        "Cy,cy@example.com,Checkout,,",
    )

    run(path, "--mapping", mapping)

    types = dict(Team.objects.values_list("slug", "type"))
    # A matched team keeps its type unless the mapping gives one.
    assert types == {"search": "stream_aligned", "rt": "platform", "checkout": "stream_aligned"}
    assert Membership.objects.get(person__email="ana@example.com").team.slug == "search"


def test_the_manager_is_whom_most_of_the_team_name_and_gets_no_membership(
    tmp_path: Path, acme: Organization
) -> None:
    path = write(
        tmp_path,
        HEADER,
        "Boss,boss@example.com,,,Director",
        "Mia,mia@example.com,Growth,boss@example.com,Staff Engineer",
        "Ana,ana@example.com,Growth,mia@example.com,Engineer",
        "Bo,bo@example.com,Growth,mia@example.com,Engineer",
        "Cy,cy@example.com,Growth,mia@example.com,Engineer",
        # A tie between zed and abe: the first e-mail alphabetically.
        "Zed,zed@example.com,Ops,,Engineer",
        "Abe,abe@example.com,Ops,,Engineer",
        "Ed,ed@example.com,Ops,zed@example.com,Engineer",
        "Flo,flo@example.com,Ops,abe@example.com,Engineer",
    )

    run(path)

    assert dict(Team.objects.values_list("slug", "manager__email")) == {
        "growth": "mia@example.com",
        "ops": "abe@example.com",
    }
    # Mia keeps her own membership; the director gets none.
    assert Membership.objects.filter(person__email="mia@example.com").count() == 1
    assert not Membership.objects.filter(person__email="boss@example.com").exists()


def test_titles_set_roles_and_an_engineering_manager_manages_their_team(
    tmp_path: Path, acme: Organization
) -> None:
    path = write(
        tmp_path,
        HEADER,
        "Em,em@example.com,Platform,vp@example.com,Senior Engineering Manager",
        "Po,po@example.com,Platform,cpo@example.com,Product Manager",
        "Dev,dev@example.com,Platform,em@example.com,DevOps Engineer",
        "Tl,tl@example.com,Platform,em@example.com,Tech Lead",
        "Eng,eng@example.com,Platform,em@example.com,Engineer",
    )

    out, err = run(path)

    roles = dict(Membership.objects.values_list("person__email", "role"))
    assert roles == {
        "po@example.com": "product_owner",
        "dev@example.com": "devops_buddy",
        "tl@example.com": "lead",
        "eng@example.com": "member",
    }
    assert Team.objects.get().manager == Person.objects.get(email="em@example.com")
    # Managers named by nobody in the file or the organisation are a warning, once each.
    assert err.count("vp@example.com") == 1
    assert err.count("cpo@example.com") == 1
    assert "Roles from titles and the role column: devops_buddy 1, lead 1, product_owner 1" in out


def test_an_end_date_is_judged_against_the_organisations_own_day(
    tmp_path: Path, acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20:00 UTC on 7 December is already 8 December in Kiritimati (UTC+14).
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 7, 20, tzinfo=dt.UTC))
    acme.time_zone = "Pacific/Kiritimati"
    acme.save()
    path = write(
        tmp_path,
        "name,email,team,end_date",
        "Ana,ana@example.com,Checkout,2026-12-08",
        "Bo,bo@example.com,Checkout,2026-12-09",
    )

    run(path)

    people = dict(Person.objects.values_list("email", "left_on"))
    assert people == {"ana@example.com": dt.date(2026, 12, 8), "bo@example.com": None}


def test_a_left_on_of_the_organisations_today_is_accepted_by_import_org(
    tmp_path: Path, acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 7, 20, tzinfo=dt.UTC))
    acme.time_zone = "Pacific/Kiritimati"
    acme.save()
    path = write(
        tmp_path,
        "email,name,team,left_on",
        "ana@example.com,Ana,,2026-12-08",
        name="people.csv",
    )

    call_command("import_org", "--org", "acme", str(path), stdout=StringIO(), stderr=StringIO())

    assert Person.objects.get(email="ana@example.com").left_on == dt.date(2026, 12, 8)


def test_end_dates_make_leavers_and_future_starters_wait(
    tmp_path: Path, acme: Organization
) -> None:
    today = timezone.localdate()
    path = write(
        tmp_path,
        "name,email,team,start_date,end_date",
        f"Ana,ana@example.com,Checkout,2020-01-01,{today - dt.timedelta(days=3)}",
        f"Bo,bo@example.com,Checkout,{today + dt.timedelta(days=30)},",
        f"Cy,cy@example.com,Checkout,2020-01-01,{today + dt.timedelta(days=30)}",
    )

    out, _ = run(path)

    people = dict(Person.objects.values_list("email", "left_on"))
    assert people == {"ana@example.com": today - dt.timedelta(days=3), "cy@example.com": None}
    assert list(Membership.objects.values_list("person__email", flat=True)) == ["cy@example.com"]
    assert "Not imported, start date after today: 1: bo@example.com" in out


def test_prune_leavers_marks_the_absent_as_leavers_and_keeps_their_history(
    tmp_path: Path, acme: Organization
) -> None:
    run(write(tmp_path, HEADER, "Ana,ana@example.com,Checkout,,", "Bo,bo@example.com,Checkout,,"))
    path = write(tmp_path, HEADER, "Ana,ana@example.com,Checkout,,", name="later.csv")

    out, _ = run(path, "--prune-leavers")

    bo = Person.objects.get(email="bo@example.com")
    assert bo.left_on == timezone.localdate()
    assert not Membership.objects.filter(person=bo).exists()
    # Nothing deleted: the membership's history keeps its creation and its end.
    assert [row.history_type for row in Membership.history.filter(person_id=bo.pk)] == ["-", "+"]
    assert f"Marked 1 people as leavers, not in {path}: bo@example.com" in out
    assert Person.objects.get(email="ana@example.com").left_on is None


def test_prune_leavers_is_refused_for_someone_who_owns_milestones(
    tmp_path: Path, acme: Organization
) -> None:
    run(write(tmp_path, HEADER, "Ana,ana@example.com,Checkout,,", "Cy,cy@example.com,Checkout,,"))
    pilot_playbook(acme)
    transformation_start(
        organization=acme,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email="cy@example.com",
        today=dt.date(2027, 1, 4),
    )
    before = state()
    path = write(tmp_path, HEADER, "Ana Lima,ana@example.com,Payments,,", name="later.csv")

    message = failure(path, "--prune-leavers")

    assert f"person 'cy@example.com' is not in {path}, so --prune-leavers would mark" in message
    assert "Reassign them first" in message
    assert state() == before


def test_without_prune_leavers_the_absent_stay(tmp_path: Path, acme: Organization) -> None:
    run(write(tmp_path, HEADER, "Ana,ana@example.com,Checkout,,", "Bo,bo@example.com,Checkout,,"))

    run(write(tmp_path, HEADER, "Ana,ana@example.com,Checkout,,", name="later.csv"))

    assert Membership.objects.filter(person__email="bo@example.com").exists()


def test_semicolons_and_a_day_first_date_format_are_read(
    tmp_path: Path, acme: Organization
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('date_format: "%d.%m.%Y"\n')
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffName;E-Mail;Team;End Date\r\nZoë Çelik;Zoe.Celik@Example.COM;Qualität;01.02.2025\r\n".encode()
    )

    run(path, "--mapping", mapping)

    assert Person.objects.get().left_on == dt.date(2025, 2, 1)
    assert Person.objects.get().name == "Zoë Çelik"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
        (b"name,email\nAna,\x00ana@example.com\n", "a NUL character (byte 0) is not allowed"),
        (b"", "empty file; expected a header row"),
        (b'name,email\n"Ana,ana@example.com\n', "CSV error"),
        (
            b"name,email,team\nAna," + b"a" * 200_000 + b",x\n",
            "line 2: row: CSV error: field larger",
        ),
        (b"name,email,team\nAna,ana@example.com," + b"T" * 5000 + b"\n", "longer than 1,000"),
    ],
)
def test_hostile_files_get_a_clean_error(
    tmp_path: Path, acme: Organization, content: bytes, expected: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)

    assert expected in failure(path)
    assert not Person.objects.exists()


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path, acme: Organization) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(33 * 1024 * 1024)

    assert "the file is larger than 33,554,432 bytes" in failure(path)


def test_a_missing_column_and_an_unknown_column_option_are_explained(
    tmp_path: Path, acme: Organization
) -> None:
    path = write(tmp_path, "Full Name,Team", "Ana,Checkout")

    message = failure(path, "--column", "name=Full Name")
    assert "line 1: header (email): no column holds the email" in message

    message = failure(path, "--column", "mail=Work Email")
    assert "--column: expected FIELD=HEADER with FIELD one of email, name" in message

    message = failure(path, "--column", "email=Work Email")
    assert "header (email): the mapped column 'Work Email' is not in the header" in message


def test_first_and_last_names_allocations_and_tabs_are_read(
    tmp_path: Path, acme: Organization
) -> None:
    path = write(
        tmp_path,
        "Given Name\tSurname\tE-mail\tSquad\tAllocation (%)",
        "Renée\tGauß\tRenee.Gauss@example.com\tCheckout\t50%",
        "Bo\tBerg\tbo@example.com\tCheckout\t",
    )

    run(path)

    rows = sorted(
        Membership.objects.values_list("person__name", "team__slug", "allocation_percent")
    )
    assert rows == [("Bo Berg", "checkout", 100), ("Renée Gauß", "checkout", 50)]
