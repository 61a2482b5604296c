"""``import_people``: a realistic HR export as it comes, through a mapping file, into an
organisation created empty; then ``analyze_org`` finds the product owners from their titles."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from teams.models import Membership, Organization, Person, Team, TeamType
from teams.services import organization_create
from tests.builders import REPO_ROOT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HR = REPO_ROOT / "tests" / "data" / "hr"
EXPORT = HR / "hr-export-300.csv"
MAPPING = HR / "hr-mapping.yaml"


def new_org(slug: str = "acme") -> Organization:
    creator: Any = UserFactory(username="ana")
    return organization_create(slug=slug, name="Acme", creator=creator)


def import_people(*args: str | Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_people", *[str(arg) for arg in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failure(*args: str | Path) -> str:
    with pytest.raises(CommandError) as caught:
        import_people(*args)
    return str(caught.value)


def analysis(slug: str) -> dict[str, Any]:
    out = StringIO()
    call_command("analyze_org", slug, "--format", "json", stdout=out)
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


def findings(report: dict[str, Any], kind: str) -> set[str]:
    return {
        subject["slug"]
        for finding in report["findings"]
        if finding["kind"] == kind
        for subject in finding["subjects"]
    }


def state() -> dict[str, Any]:
    return {
        "teams": sorted(Team.all_objects.values_list("slug", "name", "type", "manager__email")),
        "people": sorted(Person.objects.values_list("email", "name", "left_on")),
        "memberships": sorted(
            Membership.objects.values_list("person__email", "team__slug", "role")
        ),
    }


def test_the_realistic_export_imports_with_the_mapping_and_the_product_owners_are_found() -> None:
    new_org()
    # The export is as spreadsheets write it: a byte-order mark and Windows line endings.
    raw = EXPORT.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 301

    out, err = import_people("acme", EXPORT, "--mapping", MAPPING)

    assert Person.objects.count() == 300
    assert Team.objects.count() == 21
    # The export's extra columns are reported once, as ignored.
    assert err.count("ignored columns") == 1
    assert "'Employee ID', 'Cost Center', 'Location'" in err
    assert "people:       300 created" in out
    # Display names became teams with deterministic slugs; accents and case kept or folded.
    search = Team.objects.get(slug="search-discovery")
    assert search.name == "Search & Discovery"
    assert Team.objects.get(slug="identity-access").name == "Identity & Access"
    assert Team.objects.get(slug="data-platform").type == TeamType.PLATFORM
    assert Team.objects.get(slug="checkout").type == TeamType.UNCLASSIFIED
    # Capitalised e-mails are stored lower-case; accented names as written.
    assert Person.objects.get(email="helena.vogt@example.com").name == "Helena Vogt"
    assert Person.objects.get(email="zoe.celik@example.com").name == "Zoë Çelik"
    assert Person.objects.get(email="jose.nunez@example.com").name == "José Núñez"
    # Executives with an empty team are people without memberships.
    assert not Membership.objects.filter(person__email="helena.vogt@example.com").exists()
    # Product owners by title, on both platform teams.
    owners = Membership.objects.filter(role="product_owner")
    assert owners.filter(team__slug="data-platform").count() == 2
    assert owners.filter(team__slug="cloud-platform").count() == 3
    # Every team has a manager: the Engineering Manager by title, or for Notifications (no such
    # title) the person most of its people name as their manager.
    assert not Team.objects.filter(manager__isnull=True).exists()
    notifications = Team.objects.get(slug="notifications")
    assert notifications.manager is not None
    assert notifications.manager.memberships.filter(team=notifications).exists()
    checkout = Team.objects.get(slug="checkout")
    assert checkout.manager is not None
    # The manager by title manages the team rather than belonging to it.
    assert not Membership.objects.filter(person=checkout.manager, team=checkout).exists()

    report = analysis("acme")

    missing = findings(report, "missing_product_owner")
    assert "data-platform" not in missing
    assert "cloud-platform" not in missing
    # The check does run: the platform team without a product owner is reported.
    assert missing == {"observability"}


def test_without_the_title_patterns_the_platforms_lack_product_owners(tmp_path: Path) -> None:
    new_org()
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING.read_text(encoding="utf-8").split("titles:")[0] + "titles: []\n")

    import_people("acme", EXPORT, "--mapping", mapping)

    assert findings(analysis("acme"), "missing_product_owner") == {
        "data-platform",
        "cloud-platform",
        "observability",
    }


def test_a_re_import_changes_nothing() -> None:
    new_org()
    import_people("acme", EXPORT, "--mapping", MAPPING)
    before = state()
    history = Person.history.count() + Team.history.count() + Membership.history.count()

    out, _ = import_people("acme", EXPORT, "--mapping", MAPPING)

    assert state() == before
    assert Person.history.count() + Team.history.count() + Membership.history.count() == history
    assert "total:        0 created, 0 updated" in out
    assert "Teams: 0 created, 21 matched" in out


def test_a_dry_run_reports_and_writes_nothing() -> None:
    new_org()

    out, _ = import_people("acme", EXPORT, "--mapping", MAPPING, "--dry-run")

    assert "people:       300 created" in out
    assert out.rstrip().endswith("Dry run: nothing was written.")
    assert Person.objects.count() == 0
    assert Team.all_objects.count() == 0


def test_columns_on_the_command_line_need_no_mapping_file(tmp_path: Path) -> None:
    new_org()
    export = tmp_path / "export.csv"
    export.write_text(
        "Mitarbeiter,E-Mail-Adresse,Abteilung,Titel\n"
        "Jürgen Groß,Juergen.Gross@Example.com,Plattform Team,Product Owner\n",
        encoding="utf-8",
    )

    import_people(
        "acme",
        export,
        "--column",
        "name=Mitarbeiter",
        "--column",
        "email=E-Mail-Adresse",
        "--column",
        "team=abteilung",
        "--column",
        "title=Titel",
    )

    membership = Membership.objects.get()
    assert (membership.person.email, membership.person.name) == (
        "juergen.gross@example.com",
        "Jürgen Groß",
    )
    assert (membership.team.slug, membership.role) == ("plattform-team", "product_owner")


def test_an_unknown_organisation_is_a_clear_error() -> None:
    assert "No organisation with slug 'ghost'" in failure("ghost", EXPORT)


def test_the_people_csv_of_import_org_imports_too(tmp_path: Path) -> None:
    organization = new_org()
    Team.objects.create(organization=organization, slug="checkout", name="Checkout Squad")
    export = tmp_path / "people.csv"
    export.write_text(
        "email,name,team,role,left_on\n"
        "tom.becker@example.com,Tom Becker,checkout,lead,\n"
        "paul.weber@example.com,Paul Weber,,,2026-05-31\n",
        encoding="utf-8",
    )

    import_people("acme", export)

    membership = Membership.objects.get()
    assert (membership.team.slug, membership.role) == ("checkout", "lead")
    assert Team.all_objects.count() == 1  # matched by slug, not created
    left = Person.objects.get(email="paul.weber@example.com")
    assert left.left_on == dt.date(2026, 5, 31)


def test_the_query_count_does_not_grow_with_the_export(
    tmp_path: Path, django_assert_max_num_queries: Any
) -> None:
    new_org()
    creator: Any = UserFactory(username="bo")
    organization_create(slug="big", name="Big", creator=creator)
    small = tmp_path / "small.csv"
    lines = EXPORT.read_text(encoding="utf-8-sig").splitlines()
    small.write_text("\n".join(lines[:31]) + "\n", encoding="utf-8")

    # 30 people in 3 teams, then 300 people in 21 teams: one query per model to read, bulk
    # writes. The ten more for 300 rows are SQLite's INSERT batches (999 variables each);
    # a query per row would be hundreds.
    with django_assert_max_num_queries(21):
        import_people("acme", small, "--mapping", MAPPING)
    with django_assert_max_num_queries(31):
        import_people("big", EXPORT, "--mapping", MAPPING)
