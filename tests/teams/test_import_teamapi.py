"""The TeamAPI-as-Code reader: the team, its interactions and dependencies, dates and durations."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.files.origin import ImportFailure
from core.files.yamlio import YamlDocument, load_documents, read_text
from teams.graph import InteractionEdge, TeamNode
from teams.importers.bundle import ImportBundle
from teams.importers.teamapi import is_teamapi_document, read_teamapi
from teams.models import Interaction, Team
from tests.factories import TeamFactory

DATA = Path(__file__).resolve().parent.parent / "data" / "teamapi"


def document(path: Path) -> YamlDocument:
    return load_documents(str(path), read_text(path))[0]


def read_text_document(text: str) -> ImportBundle:
    return read_teamapi(load_documents("team.yaml", text)[0])


def failure(text: str) -> ImportFailure:
    with pytest.raises(ImportFailure) as caught:
        read_text_document(text)
    return caught.value


def interaction(**fields: str) -> str:
    lines = "".join(f"    {key}: {value}\n" for key, value in fields.items())
    return f"info:\n  name: Search\ninteractions:\n  - teamName: Payments Platform\n{lines}"


def only_interaction(bundle: ImportBundle) -> InteractionEdge:
    (entry,) = bundle.interactions.values()
    return entry.value


def test_it_recognises_teamapi_documents_but_not_backstage_org_or_openapi_ones():
    texts = {
        "teamapi: 0.1.0\ninfo: {name: A}\n": True,
        "info: {name: A, type: platform}\n": True,
        "apiVersion: backstage.io/v1alpha1\nkind: Group\ninfo: {name: A}\n": False,
        "format: transform.org/v1\ninfo: {name: A}\nteams: []\n": False,
        "openapi: 3.0.0\ninfo: {name: A, title: Pets, version: '1'}\n": False,
        "info: {title: no name}\n": False,
        "- a\n- list\n": False,
    }

    found = {text: is_teamapi_document(load_documents("x", text)[0]) for text in texts}

    assert found == texts


def test_it_reads_the_team_from_info():
    bundle = read_teamapi(document(DATA / "checkout.yaml"))

    assert {slug: entry.value for slug, entry in bundle.teams.items()} == {
        "checkout-squad": TeamNode(
            slug="checkout-squad",
            name="Checkout Squad",
            type="stream_aligned",
            description="Customers pay without friction",
        )
    }
    assert bundle.teams["checkout-squad"].origin.line == 4


def test_it_reads_interactions_with_their_dates_and_expected_ends():
    bundle = read_teamapi(document(DATA / "checkout.yaml"))

    interactions = {key: entry.value for key, entry in bundle.interactions.items()}
    assert interactions[("checkout-squad", "payments-platform", "x_as_a_service")] == (
        InteractionEdge(
            source="checkout-squad",
            target="payments-platform",
            mode="x_as_a_service",
            since=dt.date(2024, 1, 31),
            expected_end=dt.date(2024, 2, 29),
            note="Take payments through the platform",
        )
    )
    assert interactions[("checkout-squad", "test-automation-enablers", "facilitating")] == (
        InteractionEdge(
            source="checkout-squad",
            target="test-automation-enablers",
            mode="facilitating",
            note="Introduce automated tests",
        )
    )
    collaboration = interactions[("checkout-squad", "fraud-detection", "collaboration")]
    assert (collaboration.since, collaboration.expected_end) == (
        dt.date(2024, 2, 13),
        dt.date(2024, 3, 26),
    )


def test_it_reads_dependencies_as_ticket_dependencies_with_their_severity():
    bundle = read_teamapi(document(DATA / "checkout.yaml"))

    severities = {
        key[1]: entry.value.severity
        for key, entry in bundle.interactions.items()
        if key[2] == "ticket_dependency"
    }
    assert severities == {
        "dba": "blocking",
        "payments-platform": "ok",
        "network-operations": "slowing",
    }
    dba = bundle.interactions[("checkout-squad", "dba", "ticket_dependency")].value
    assert dba.note == "Schema changes go through the DBA ticket queue."


def test_it_refers_to_the_other_teams_by_slug_with_their_lines():
    bundle = read_teamapi(document(DATA / "checkout.yaml"))

    lines = {slug: origin.line for slug, origin in bundle.team_references.items()}
    assert lines == {
        "payments-platform": 25,
        "test-automation-enablers": 31,
        "fraud-detection": 35,
        "dba": 40,
        "network-operations": 46,
    }


def test_it_reads_json_documents_and_iso_durations():
    bundle = read_teamapi(document(DATA / "platform.json"))

    assert bundle.teams["payments-platform"].value.type == "platform"
    edge = only_interaction(bundle)
    assert (edge.target, edge.mode, edge.since, edge.expected_end) == (
        "checkout-squad",
        "collaboration",
        dt.date(2024, 3, 1),
        dt.date(2024, 6, 1),
    )


@pytest.mark.parametrize(
    ("duration", "expected_end"),
    [
        ("14 days", dt.date(2024, 1, 15)),
        ("1 day", dt.date(2024, 1, 2)),
        ("6 weeks", dt.date(2024, 2, 12)),
        ("3 Months", dt.date(2024, 4, 1)),
        ("1 year", dt.date(2025, 1, 1)),
        ("P2W", dt.date(2024, 1, 15)),
        ("P1Y2M3D", dt.date(2025, 3, 4)),
        ("'10'\n    expectedDurationUnit: Days", dt.date(2024, 1, 11)),
        ("2\n    expectedDurationUnit: week", dt.date(2024, 1, 15)),
    ],
)
def test_it_accepts_durations_in_words_numbers_with_units_and_iso_periods(duration, expected_end):
    bundle = read_text_document(
        interaction(mode="collaboration", startDate="2024-01-01", expectedDuration=duration)
    )

    assert only_interaction(bundle).expected_end == expected_end


@pytest.mark.parametrize(
    ("start", "since"),
    [
        ("2024-05-06", dt.date(2024, 5, 6)),
        ("'2024-05-06'", dt.date(2024, 5, 6)),
        ("2024-05-06T10:30:00", dt.date(2024, 5, 6)),
        ("25/12/2024", dt.date(2024, 12, 25)),
        ("12/25/2024", dt.date(2024, 12, 25)),
        ("01/01/2022", dt.date(2022, 1, 1)),
        ("unknown", None),
    ],
)
def test_it_accepts_iso_and_unambiguous_dates(start, since):
    bundle = read_text_document(interaction(mode="collaboration", startDate=start))

    assert only_interaction(bundle).since == since


def test_a_duration_without_a_start_date_gives_no_expected_end():
    bundle = read_text_document(interaction(mode="collaboration", expectedDuration="'3 months'"))

    assert only_interaction(bundle).expected_end is None


def test_an_unknown_interaction_mode_is_refused_with_the_accepted_values():
    with pytest.raises(ImportFailure) as caught:
        read_teamapi(document(DATA / "unknown-mode.yaml"))

    error = caught.value
    assert str(error.origin).endswith("unknown-mode.yaml, document 1, line 7")
    assert error.message.startswith("interactions[0].mode: 'enabling' is not accepted")
    assert "collaboration, x-as-a-service, xaas, facilitating, facilitation" in error.message


def test_an_unreadable_duration_is_refused_with_its_line():
    with pytest.raises(ImportFailure) as caught:
        read_teamapi(document(DATA / "bad-duration.yaml"))

    error = caught.value
    assert str(error.origin).endswith("bad-duration.yaml, document 1, line 8")
    assert "interactions[0].expectedDuration: 'a while' is not a duration" in error.message
    assert "'6 weeks'" in error.message


def test_a_number_without_a_unit_is_refused():
    error = failure(interaction(mode="collaboration", expectedDuration="3"))

    assert "line 6" in str(error)
    assert "3 has no unit" in error.message


def test_an_unknown_duration_unit_is_refused():
    error = failure(
        interaction(mode="collaboration", expectedDuration="3", expectedDurationUnit="sprints")
    )

    assert "interactions[0].expectedDurationUnit: 'sprints' is not accepted" in error.message


def test_an_ambiguous_date_is_refused():
    error = failure(interaction(mode="collaboration", startDate="03/04/2024"))

    assert "line 6" in str(error)
    assert "interactions[0].startDate: '03/04/2024' is not a date" in error.message
    assert "YYYY-MM-DD" in error.message


def test_an_unknown_dependency_type_is_refused():
    error = failure("info:\n  name: Search\ndependencies:\n  - teamName: DBA\n    type: Annoying\n")

    assert "line 5" in str(error)
    assert (
        "dependencies[0].type: 'Annoying' is not accepted; expected one of blocking, slowing, ok"
        in (error.message)
    )


def test_an_unknown_team_type_is_refused():
    error = failure("info:\n  name: Search\n  type: squad\n")

    assert "line 3" in str(error)
    assert "info.type: 'squad' is not accepted" in error.message


def test_a_team_without_a_type_is_unclassified():
    bundle = read_text_document("info:\n  name: Search\n")

    assert bundle.teams["search"].value.type == "unclassified"


def test_a_team_without_a_name_is_refused():
    error = failure("teamapi: 0.1.0\ninfo:\n  type: platform\n")

    assert error.message == "info.name: expected a non-empty string, but it is missing"


def test_an_interaction_without_a_team_name_is_refused():
    error = failure("info:\n  name: Search\ninteractions:\n  - mode: collaboration\n")

    assert "line 4" in str(error)
    assert "interactions[0].teamName: is missing" in error.message


def test_an_interaction_with_the_documents_own_team_is_refused():
    error = failure(
        "info:\n  name: Search\ninteractions:\n  - teamName: search\n    mode: collaboration\n"
    )

    assert "is this document's own team" in error.message


def test_interactions_that_are_not_a_list_are_refused():
    error = failure("info:\n  name: Search\ninteractions: collaboration\n")

    assert error.message == "interactions: expected a list, found 'collaboration'"


@pytest.mark.django_db
def test_importing_team_apis_writes_the_teams_and_their_interactions(organization):
    for slug in ("test-automation-enablers", "fraud-detection", "dba", "network-operations"):
        TeamFactory(organization=organization, slug=slug)

    call_command(
        "import_org",
        "--org",
        "acme",
        str(DATA / "checkout.yaml"),
        str(DATA / "platform.json"),
        stdout=StringIO(),
    )

    checkout = Team.objects.get(organization=organization, slug="checkout-squad")
    assert (checkout.name, checkout.type) == ("Checkout Squad", "stream_aligned")
    rows = Interaction.objects.filter(organization=organization)
    found = {(row.source.slug, row.target.slug, row.mode): row for row in rows}
    assert set(found) == {
        ("checkout-squad", "payments-platform", "x_as_a_service"),
        ("checkout-squad", "test-automation-enablers", "facilitating"),
        ("checkout-squad", "fraud-detection", "collaboration"),
        ("checkout-squad", "dba", "ticket_dependency"),
        ("checkout-squad", "payments-platform", "ticket_dependency"),
        ("checkout-squad", "network-operations", "ticket_dependency"),
        ("payments-platform", "checkout-squad", "collaboration"),
    }
    blocking = found[("checkout-squad", "dba", "ticket_dependency")]
    assert blocking.severity == "blocking"
    collaboration = found[("payments-platform", "checkout-squad", "collaboration")]
    assert collaboration.expected_end == dt.date(2024, 6, 1)


@pytest.mark.django_db
def test_a_team_api_naming_an_unknown_team_writes_nothing(organization):
    with pytest.raises(CommandError) as caught:
        call_command("import_org", "--org", "acme", str(DATA / "checkout.yaml"), stdout=StringIO())

    assert "checkout.yaml" in str(caught.value)
    assert not Team.objects.filter(organization=organization).exists()
