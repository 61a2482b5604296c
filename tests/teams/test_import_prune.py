"""Re-imports, ``import_org --prune`` and the ``left_on`` field: nothing is ever deleted; teams
the files leave out are retired and people they leave out become leavers only when asked, all or
nothing (docs/import.md, "Re-imports, pruning and leavers")."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from teams.models import (
    Interaction,
    LineageKind,
    LineageSource,
    Membership,
    Organization,
    Person,
    Team,
    TeamLineageEvent,
)
from tests.builders import pilot_playbook
from transform.plans.services import transformation_start

pytestmark = pytest.mark.django_db

PEOPLE = {"ana@acme.test": "Ana", "bo@acme.test": "Bo", "cy@acme.test": "Cy"}
TEAMS = {"checkout": ["ana@acme.test"], "payments": ["bo@acme.test", "cy@acme.test"]}
LEFT = dt.date(2026, 5, 31)


def org_file(
    path: Path,
    *,
    people: dict[str, str] = PEOPLE,
    teams: dict[str, list[str]] = TEAMS,
    left_on: dict[str, str] | None = None,
) -> Path:
    """An org file with ``people`` and ``teams`` (slug -> member e-mails); checkout, when
    listed, uses payments as a service."""
    lines = ["format: transform.org/v1", "people:"]
    for email, name in people.items():
        lines += [f"  - email: {email}", f"    name: {name}"]
        if left_on and email in left_on:
            lines.append(f"    left_on: {left_on[email]}")
    lines.append("teams:")
    for slug, members in teams.items():
        lines += [f"  - slug: {slug}", f"    name: {slug.title()}", "    type: stream_aligned"]
        lines += ["    members:", *[f"      - person: {email}" for email in members]]
        if slug == "checkout" and "payments" in teams:
            lines += [
                "    interactions:",
                "      - target: payments",
                "        mode: x_as_a_service",
            ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_org(*args: str | Path) -> str:
    out = StringIO()
    call_command("import_org", "--org", "acme", *[str(arg) for arg in args], stdout=out)
    return out.getvalue()


def failure(*args: str | Path) -> str:
    with pytest.raises(CommandError) as caught:
        import_org(*args)
    return str(caught.value)


def state() -> dict[str, Any]:
    """Everything an import could change, to compare before and after a refused one."""
    return {
        "teams": sorted(Team.all_objects.values_list("slug", "name", "retired_at")),
        "people": sorted(Person.objects.values_list("email", "name", "left_on")),
        "memberships": sorted(Membership.objects.values_list("person__email", "team__slug")),
        "interactions": Interaction.objects.count(),
        "lineage": TeamLineageEvent.objects.count(),
        "people history": Person.history.count(),
        "team history": Team.history.count(),
    }


def test_a_re_import_that_leaves_out_a_team_and_a_person_deletes_nothing(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    before = state()

    output = import_org(
        org_file(
            tmp_path / "partial.yaml",
            people={"ana@acme.test": "Ana", "bo@acme.test": "Bo"},
            teams={"checkout": ["ana@acme.test"]},
        )
    )

    assert state() == before
    assert Team.objects.filter(slug="payments").exists()  # live
    assert Person.objects.get(email="cy@acme.test").left_on is None
    assert "Retired" not in output
    assert "leaver" not in output


def test_prune_retires_the_teams_and_marks_as_leavers_the_people_the_file_leaves_out(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    partial = org_file(
        tmp_path / "partial.yaml",
        people={"ana@acme.test": "Ana", "bo@acme.test": "Bo"},
        teams={"checkout": ["ana@acme.test", "bo@acme.test"]},
    )

    output = import_org("--prune", partial)

    payments = Team.all_objects.get(slug="payments")
    assert payments.retired_at is not None
    assert not Team.objects.filter(slug="payments").exists()
    assert not Membership.objects.filter(team=payments).exists()
    assert not Interaction.objects.exists()  # checkout -> payments ended with the retirement
    event = TeamLineageEvent.objects.get(team=payments)
    assert event.kind == LineageKind.RETIRED
    assert event.source == LineageSource.IMPORT
    assert event.reason == f"Not in {partial} (import --prune)"
    cy = Person.objects.get(email="cy@acme.test")
    assert cy.left_on == timezone.localdate()
    assert not Membership.objects.filter(person=cy).exists()
    assert Membership.objects.filter(person__email="bo@acme.test", team__slug="checkout").exists()
    assert f"Retired 1 team not in {partial}: payments" in output
    assert f"Marked 1 person as leavers, not in {partial}: cy@acme.test" in output


def test_prune_leaves_retired_teams_and_leavers_as_they_are(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    partial = org_file(
        tmp_path / "partial.yaml",
        people={"ana@acme.test": "Ana"},
        teams={"checkout": ["ana@acme.test"]},
    )
    import_org("--prune", partial)
    Person.objects.filter(email="cy@acme.test").update(left_on=LEFT)
    before = state()

    output = import_org("--prune", partial)

    assert state() == before
    assert TeamLineageEvent.objects.filter(kind=LineageKind.RETIRED).count() == 1
    assert Person.objects.get(email="cy@acme.test").left_on == LEFT  # kept, not today
    assert "Retired" not in output
    assert "Marked" not in output


def test_prune_changes_nothing_when_someone_left_out_owns_open_milestones(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    organization = Organization.objects.get(slug="acme")
    pilot_playbook(organization)
    transformation = transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email="cy@acme.test",
        today=dt.date(2027, 1, 4),
    )
    before = state()
    partial = org_file(
        tmp_path / "partial.yaml",
        # Renamed, to show that the rest of the import is not written either.
        people={"ana@acme.test": "Ana Renamed", "bo@acme.test": "Bo"},
        teams={"checkout": ["ana@acme.test"]},
    )

    message = failure("--prune", partial)

    assert state() == before
    assert message.startswith(
        f"Import failed, nothing was written.\n{partial}: person 'cy@acme.test' is not in the "
        "imported files, so --prune would mark them as a leaver, but they still have open "
        "milestones (4): kickoff "
    )
    for key in ("kickoff", "buddies", "side-quest", "wrap-up"):
        assert f"{key} " in message
    assert f"in transformation {transformation.title!r} (id {transformation.pk})" in message
    assert f"still have transformations led (1): {transformation.title!r}" in message
    assert "Reassign them first" in message


def test_prune_refuses_files_that_define_no_teams(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    people = tmp_path / "people.csv"
    people.write_text("email,name,team\nana@acme.test,Ana,checkout\n", encoding="utf-8")
    before = state()

    message = failure("--prune", people)

    assert state() == before
    assert message == (
        f"Import failed, nothing was written.\n{people}: --prune takes the files as the whole "
        "organisation, but they define no teams: every one of the organisation's teams would "
        "be retired or leave. Import them together with the files that define the teams (the "
        "org file, a Backstage catalog), or leave out --prune"
    )


def test_with_prune_links_must_name_teams_and_people_of_the_files(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    partial = org_file(
        tmp_path / "partial.yaml",
        people={"ana@acme.test": "Ana"},
        teams={"checkout": ["ana@acme.test", "bo@acme.test"]},
    )

    message = failure("--prune", partial)

    assert (
        f"{partial}, document 1, line 11: membership of 'bo@acme.test' in 'checkout': person "
        "'bo@acme.test' is not in the imported files, which --prune takes as the whole "
        "organisation"
    ) in message
    assert Person.objects.get(email="bo@acme.test").left_on is None


def test_left_on_in_the_org_file_creates_and_marks_leavers_and_is_kept_on_re_import(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    people = {**PEOPLE, "dee@acme.test": "Dee"}
    left = org_file(
        tmp_path / "left.yaml",
        people=people,
        teams={"checkout": ["ana@acme.test"], "payments": ["bo@acme.test"]},
        left_on={"cy@acme.test": "2026-05-31", "dee@acme.test": "2026-04-30"},
    )

    output = import_org(left)

    cy = Person.objects.get(email="cy@acme.test")
    assert cy.left_on == LEFT
    assert not Membership.objects.filter(person=cy).exists()
    assert Person.objects.get(email="dee@acme.test").left_on == dt.date(2026, 4, 30)
    assert "Recorded 2 leavers from left_on: cy@acme.test, dee@acme.test" in output
    before = state()

    again = import_org(left)

    assert state() == before
    assert "people:       0 created, 0 updated, 4 unchanged" in again
    assert "Recorded" not in again


def test_left_on_in_the_people_csv_marks_a_leaver(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    people = tmp_path / "people.csv"
    people.write_text(
        "email,name,team,role,left_on\n"
        "ana@acme.test,Ana,checkout,lead,\n"
        "cy@acme.test,Cy,,,2026-05-31\n",
        encoding="utf-8",
    )

    output = import_org(people)

    assert Person.objects.get(email="cy@acme.test").left_on == LEFT
    assert not Membership.objects.filter(person__email="cy@acme.test").exists()
    assert Membership.objects.get(person__email="ana@acme.test").role == "lead"
    assert "Recorded 1 leaver from left_on: cy@acme.test" in output


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        (
            "format: transform.org/v1\npeople:\n  - email: cy@acme.test\n    name: Cy\n"
            "    left_on: 31/05/2026\n",
            "document 1, line 5",
            "people[0].left_on: ",
        ),
        (
            "format: transform.org/v1\npeople:\n  - email: cy@acme.test\n    name: Cy\n"
            "    left_on: 2999-01-01\n",
            "document 1, line 5",
            "person 'cy@acme.test' left_on: expected a day not after today (",
        ),
    ],
    ids=["not-a-date", "in-the-future"],
)
def test_a_bad_left_on_in_the_org_file_names_its_line_and_changes_nothing(
    tmp_path, text, where, expected
):
    import_org(org_file(tmp_path / "full.yaml"))
    before = state()
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")

    message = failure(path)

    assert message.startswith(f"Import failed, nothing was written.\n{path}, {where}: {expected}")
    assert state() == before


def test_a_bad_left_on_in_the_csv_names_its_line_and_changes_nothing(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    before = state()
    people = tmp_path / "people.csv"
    people.write_text(
        "email,name,team,left_on\nana@acme.test,Ana,checkout,\ncy@acme.test,Cy,,2026-02-30\n",
        encoding="utf-8",
    )

    assert failure(people) == (
        f"Import failed, nothing was written.\n{people}, line 3: left_on: expected the day the "
        "person left as YYYY-MM-DD, or empty; got '2026-02-30'"
    )
    assert state() == before


def test_a_leaver_in_the_csv_cannot_keep_a_team(tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("email,name,team,left_on\ncy@acme.test,Cy,checkout,2026-05-31\n")

    assert failure(people) == (
        f"Import failed, nothing was written.\n{people}, line 2: team: a leaver (left_on "
        "2026-05-31) has no memberships; leave team and role empty; got team 'checkout' and "
        "role ''"
    )


def test_a_leaver_listed_without_left_on_stays_a_leaver_and_gets_no_membership(tmp_path):
    full = org_file(tmp_path / "full.yaml")
    import_org(full)
    Membership.objects.filter(person__email="cy@acme.test").delete()
    Person.objects.filter(email="cy@acme.test").update(left_on=LEFT)
    before = state()

    message = failure(full)

    assert message == (
        f"Import failed, nothing was written.\n{full}, document 1, line 23: membership of "
        "'cy@acme.test' in 'payments': 'cy@acme.test' left the organisation on 2026-05-31 and "
        "a leaver has no memberships, served-by links or teams to manage; remove the entry from "
        "the file"
    )
    assert state() == before

    import_org(org_file(tmp_path / "without.yaml", teams={**TEAMS, "payments": ["bo@acme.test"]}))

    assert Person.objects.get(email="cy@acme.test").left_on == LEFT


def test_links_to_a_retired_team_are_refused(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    import_org("--prune", org_file(tmp_path / "no-payments.yaml", teams={"checkout": list(PEOPLE)}))
    before = state()

    message = failure(org_file(tmp_path / "full-again.yaml"))

    assert (
        "membership of 'bo@acme.test' in 'payments': team 'payments' was retired on "
        f"{timezone.localdate()}"
    ) in message
    assert "interaction 'checkout' -> 'payments': team 'payments' was retired" in message
    assert state() == before


def test_someone_given_left_on_who_owns_open_milestones_is_refused(tmp_path):
    import_org(org_file(tmp_path / "full.yaml"))
    organization = Organization.objects.get(slug="acme")
    pilot_playbook(organization)
    transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email="cy@acme.test",
        today=dt.date(2027, 1, 4),
    )
    before = state()
    left = org_file(
        tmp_path / "left.yaml",
        teams={"checkout": ["ana@acme.test"], "payments": ["bo@acme.test"]},
        left_on={"cy@acme.test": "2026-05-31"},
    )

    message = failure(left)

    assert message.startswith(
        f"Import failed, nothing was written.\n{left}, document 1, line 9: person "
        "'cy@acme.test' has left_on 2026-05-31 in the file but they still have open "
        "milestones (4): "
    )
    assert state() == before
