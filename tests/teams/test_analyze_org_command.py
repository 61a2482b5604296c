"""``analyze_org`` and ``org_analysis_get`` against the database, including history (as of)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.moments import moment_parse
from teams import models
from teams.analysis import InvalidThresholdsError
from teams.selectors import org_analysis_get
from tests.factories import (
    InteractionFactory,
    MembershipFactory,
    PersonFactory,
    ServesLinkFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

HISTORY_MODELS = (
    models.Organization,
    models.Team,
    models.Person,
    models.Membership,
    models.ServesLink,
    models.Interaction,
    models.OrgUnit,
)


def build_org(organization: models.Organization, *, squads: int = 3) -> dict[str, Any]:
    """Squads waiting on a database silo through tickets, one DevOps engineer serving them all."""
    silo = TeamFactory(
        organization=organization,
        slug="dba",
        name="Database Administration",
        type=models.TeamType.OPS_SILO,
        specialty=models.Specialty.DATABASE,
    )
    devops = PersonFactory(organization=organization, email="ops@example.com", name="Olga Ops")
    teams = []
    for i in range(squads):
        team = TeamFactory(organization=organization, slug=f"squad-{i}")
        MembershipFactory(team=team, organization=organization)
        MembershipFactory(team=team, organization=organization)
        ServesLinkFactory(team=team, organization=organization, person=devops)
        InteractionFactory(
            organization=organization,
            source=team,
            target=silo,
            mode=models.InteractionMode.TICKET_DEPENDENCY,
            severity=models.Severity.BLOCKING,
        )
        teams.append(team)
    return {"silo": silo, "teams": teams, "devops": devops}


def run(*args: str) -> str:
    out = StringIO()
    call_command("analyze_org", *args, stdout=out)
    return out.getvalue()


def kinds(report: dict[str, Any]) -> set[str]:
    return {finding["kind"] for finding in report["findings"]}


def backdate_history(moment: dt.datetime) -> None:
    for model in HISTORY_MODELS:
        model.history.update(history_date=moment)


def test_json_output_is_the_report(organization: models.Organization) -> None:
    build_org(organization)

    report = json.loads(run("acme", "--format", "json"))

    assert report["organization"] == "acme"
    assert report["as_of"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert report["metrics"]["teams"] == 4
    assert report["metrics"]["people"] == 7
    assert {"ops_silo", "team_bottleneck", "person_bottleneck", "missing_devops_buddy"} <= kinds(
        report
    )
    [silo] = [f for f in report["findings"] if f["kind"] == "ops_silo"]
    assert silo["subjects"][0] == {"type": "team", "slug": "dba"}
    assert silo["severity"] == "high"


def test_text_output_shows_metrics_then_findings_with_playbooks(
    organization: models.Organization,
) -> None:
    build_org(organization)

    text = run("acme")

    assert text.startswith("Analysis of acme as of ")
    assert text.index("Metrics") < text.index("Findings")
    assert "Flow score: " in text
    assert "stream-aligned teams have a DevOps buddy" in text  # words, not "..._share 0.0"
    assert "stream_aligned_with_buddy_share" not in text
    assert "[HIGH] Ops silo" in text
    assert (
        "Subjects: team Database Administration (dba), team Squad-0 (squad-0), "
        "team Squad-1 (squad-1), team Squad-2 (squad-2)"
    ) in text
    assert "Suggested playbook: unify-ops-silos" in text
    assert "person Olga Ops <ops@example.com>" in text


def test_text_output_says_so_when_nothing_is_wrong(organization: models.Organization) -> None:
    assert "None: the graph shows no known anti-pattern." in run("acme")


def test_as_of_shows_the_topology_before_a_change(organization: models.Organization) -> None:
    built = build_org(organization)
    backdate_history(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    # The transformation lands: the squads get the database work as a service, and the silo
    # becomes a platform team.
    for interaction in models.Interaction.objects.filter(organization=organization):
        interaction.mode = models.InteractionMode.X_AS_A_SERVICE
        interaction.severity = ""
        interaction.save()
    silo = built["silo"]
    silo.type = models.TeamType.PLATFORM
    silo.specialty = ""
    silo.save()

    before = json.loads(run("acme", "--format", "json", "--as-of", "2025-03-01"))
    now = json.loads(run("acme", "--format", "json"))

    assert before["as_of"] == "2025-03-01"
    assert "ops_silo" in kinds(before)
    assert before["metrics"]["teams_by_type"]["ops_silo"] == 1
    assert before["metrics"]["interactions_by_mode"]["ticket_dependency"] == 3
    assert before["metrics"]["flow_score"] > 0
    assert "ops_silo" not in kinds(now)
    assert now["metrics"]["teams_by_type"]["platform"] == 1
    assert now["metrics"]["interactions_by_mode"]["ticket_dependency"] == 0
    assert now["metrics"]["flow_score"] == 0


def test_as_of_before_anything_existed_is_an_empty_organisation(
    organization: models.Organization,
) -> None:
    build_org(organization)
    backdate_history(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    report = json.loads(run("acme", "--format", "json", "--as-of", "2024-12-31T23:00:00Z"))

    assert report["metrics"]["teams"] == 0
    assert report["findings"] == []


def test_unknown_organisation_is_a_clear_error(db: None) -> None:
    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        run("nope")


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "2025-02-30", "31/01/2025"])
def test_a_bad_as_of_is_a_clear_error(organization: models.Organization, value: str) -> None:
    with pytest.raises(CommandError, match=rf"--as-of: expected a date YYYY-MM-DD .*'{value}'"):
        run("acme", "--as-of", value)


def test_a_date_means_the_end_of_that_day_in_utc() -> None:
    assert moment_parse("2025-03-01", naive="utc", day_end=True) == dt.datetime(
        2025, 3, 1, 23, 59, 59, 999999, tzinfo=dt.UTC
    )
    assert moment_parse("2025-03-01T08:30:00", naive="utc", day_end=True) == dt.datetime(
        2025, 3, 1, 8, 30, tzinfo=dt.UTC
    )
    assert moment_parse("2025-03-01T08:30:00+02:00", naive="utc", day_end=True) == dt.datetime(
        2025, 3, 1, 6, 30, tzinfo=dt.UTC
    )


def test_invalid_thresholds_of_the_organisation_are_a_clear_error(db: None) -> None:
    organization = models.Organization.objects.create(
        slug="strict", name="Strict", analysis_thresholds={"typo_key": 1}
    )

    with pytest.raises(CommandError, match=r"'strict': analysis_thresholds\.typo_key: unknown key"):
        run("strict")
    with pytest.raises(InvalidThresholdsError):
        org_analysis_get(organization=organization)


def test_the_organisations_thresholds_change_the_analysis(
    organization: models.Organization,
) -> None:
    build_org(organization, squads=2)
    assert "team_bottleneck" not in kinds(org_analysis_get(organization=organization))

    organization.analysis_thresholds = {"team_bottleneck_min_dependents": 2}
    organization.save()

    assert "team_bottleneck" in kinds(org_analysis_get(organization=organization))


def test_it_analyses_only_the_given_organisation(organization: models.Organization) -> None:
    build_org(organization)
    other = models.Organization.objects.create(slug="other", name="Other")
    build_org(other, squads=5)

    report = org_analysis_get(organization=organization)

    assert report["metrics"]["teams"] == 4


@pytest.mark.parametrize("squads", [1, 3, 20])
def test_org_analysis_get_runs_a_constant_number_of_queries(
    organization: models.Organization, django_assert_num_queries: Any, squads: int
) -> None:
    build_org(organization, squads=squads)

    with django_assert_num_queries(7):
        report = org_analysis_get(organization=organization)
    assert report["metrics"]["teams"] == squads + 1

    # 7 as of a moment: the replay of teams.history reads each of the seven history tables once
    # (memberships and serves links apart, where the live read joins them in one query).
    with django_assert_num_queries(7):
        org_analysis_get(organization=organization, as_of=dt.datetime.now(dt.UTC))
