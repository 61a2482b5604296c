"""``generate_org``: a synthetic organisation of the asked size, the same for the same seed, with
the ops silos, answers and signals the analysis, the readiness API and the plan read."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    Organization,
    OrgUnit,
    Person,
    Role,
    Team,
    TeamType,
)
from teams.selectors import org_analysis_get
from tests.factories import OrganizationFactory, OrganizationRoleFactory, UserFactory
from transform.models import Milestone, Response, SignalEvent, Transformation

pytestmark = pytest.mark.django_db

TEAMS, PEOPLE, ANSWERS = 30, 300, 2_000


def generate(slug: str, *, seed: int = 7, answers: int = ANSWERS, **options: Any) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "generate_org",
        org=slug,
        teams=TEAMS,
        people=PEOPLE,
        answers=answers,
        seed=seed,
        stdout=out,
        stderr=err,
        **options,
    )
    return out.getvalue()


def shape(slug: str) -> dict[str, Any]:
    """What must not depend on anything but the seed: slugs, memberships and answers, with the
    organisation's slug (part of every e-mail) left out."""
    organization = Organization.objects.get(slug=slug)
    return {
        "teams": list(
            Team.all_objects.filter(organization=organization)
            .order_by("slug")
            .values_list("slug", "type", "specialty", "unit__slug", "manager__name")
        ),
        "memberships": sorted(
            (email.split("@")[0], team, role, percent)
            for email, team, role, percent in Membership.objects.filter(
                organization=organization
            ).values_list("person__email", "team__slug", "role", "allocation_percent")
        ),
        "interactions": sorted(
            Interaction.objects.filter(organization=organization).values_list(
                "source__slug", "target__slug", "mode", "severity", "since", "expected_end"
            )
        ),
        "answers": list(
            Response.objects.filter(organization=organization)
            .order_by("id")
            .values_list("team__slug", "period_start", "submitted_on", "answers", "scores")
        ),
        "events": list(
            SignalEvent.objects.filter(organization=organization)
            .order_by("kind", "external_id")
            .values_list("kind", "external_id", "team__slug", "occurred_at", "data")
        ),
    }


def test_it_builds_an_organisation_of_the_asked_size_with_every_kind_of_team() -> None:
    assert generate("synth") == "synth\n"

    organization = Organization.objects.get(slug="synth")
    teams = Team.objects.filter(organization=organization)
    assert teams.count() == TEAMS
    assert Person.objects.filter(organization=organization).count() == PEOPLE
    assert Response.objects.filter(organization=organization, kind="survey").count() == ANSWERS
    types = set(teams.values_list("type", flat=True))
    assert types == {
        TeamType.STREAM_ALIGNED,
        TeamType.PLATFORM,
        TeamType.ENABLING,
        TeamType.COMPLICATED_SUBSYSTEM,
        TeamType.OPS_SILO,
    }
    assert OrgUnit.objects.filter(organization=organization, parent__isnull=False).count() >= 3
    modes = set(
        Interaction.objects.filter(organization=organization).values_list("mode", flat=True)
    )
    assert modes == set(InteractionMode.values)
    collaboration = Interaction.objects.filter(
        organization=organization, mode=InteractionMode.COLLABORATION
    ).first()
    assert collaboration is not None
    assert collaboration.since is not None
    assert collaboration.expected_end is not None
    # Every row has its creation history, as imported rows do.
    assert Team.history.filter(organization=organization).count() == TEAMS
    kinds = set(
        SignalEvent.objects.filter(organization=organization).values_list("kind", flat=True)
    )
    assert {"deploy", "incident", "ticket", "adoption"} <= kinds
    assert not Transformation.objects.filter(organization=organization).exists()


def test_the_same_seed_gives_the_same_organisation_and_another_seed_another() -> None:
    generate("first", seed=11)
    generate("second", seed=11)
    generate("third", seed=12)

    assert shape("first") == shape("second")
    third = shape("third")
    assert third["memberships"] != shape("first")["memberships"]
    assert third["answers"] != shape("first")["answers"]


def test_the_analysis_finds_the_planted_ops_silo_ticket_dependencies() -> None:
    generate("silos", answers=0)
    organization = Organization.objects.get(slug="silos")
    planted: dict[str, set[str]] = defaultdict(set)
    for source, target in Interaction.objects.filter(
        organization=organization,
        mode=InteractionMode.TICKET_DEPENDENCY,
        target__type=TeamType.OPS_SILO,
    ).values_list("source__slug", "target__slug"):
        planted[target].add(source)
    assert len(planted) >= 3
    assert sum(len(sources) for sources in planted.values()) >= TEAMS

    report = org_analysis_get(organization=organization)

    found: dict[str, set[str]] = {}
    for finding in report["findings"]:
        if finding["kind"] != "ops_silo":
            continue
        slugs = [subject["slug"] for subject in finding["subjects"]]
        silos = [slug for slug in slugs if slug in planted]
        for silo in silos:
            found[silo] = set(slugs) - set(silos)
    assert found.keys() == planted.keys()
    for silo, sources in planted.items():
        assert sources <= found[silo], silo
    kinds = {finding["kind"] for finding in report["findings"]}
    assert {"person_bottleneck", "missing_devops_buddy"} <= kinds


def test_the_answers_are_read_by_the_readiness_api() -> None:
    generate("ready")
    user: Any = UserFactory()
    OrganizationRoleFactory(
        organization=Organization.objects.get(slug="ready"), user=user, role=Role.ADMIN
    )
    client = APIClient()
    client.force_login(user)

    body = client.get("/api/v1/orgs/ready/readiness/").json()

    assert body["organization"]["respondents"] >= 5
    assert body["organization"]["score"] is not None
    scored = [row for row in body["teams"] if row["score"] is not None]
    assert scored, body["teams"]


def test_a_transformation_gets_a_few_hundred_dated_milestones() -> None:
    generate("planned", answers=0, transformation=True)

    transformation = Transformation.objects.get(organization__slug="planned")
    milestones = Milestone.objects.filter(transformation=transformation)
    assert milestones.count() == 300
    assert not milestones.filter(planned_due__isnull=True).exists()
    assert transformation.planned_end is not None
    assert transformation.critical_path
    rollout = milestones.filter(phase_key="rollout")
    assert rollout.count() > 200
    assert not rollout.filter(depends_on__isnull=True).exists()


def test_an_existing_slug_is_refused_and_nothing_is_written() -> None:
    OrganizationFactory(slug="taken")

    with pytest.raises(CommandError, match="'taken' already exists"):
        generate("taken")

    assert not Team.all_objects.filter(organization__slug="taken").exists()
    assert not Person.objects.filter(organization__slug="taken").exists()


def test_a_failure_half_way_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr("transform.management.commands.generate_org.answers_generate", broken)

    with pytest.raises(RuntimeError, match="disk full"):
        generate("halfway")

    assert not Organization.objects.filter(slug="halfway").exists()
    assert not Person.objects.filter(organization__slug="halfway").exists()


def test_too_few_people_for_the_teams_are_refused() -> None:
    with pytest.raises(CommandError, match="people must be between"):
        call_command("generate_org", org="tiny", teams=30, people=40, stdout=io.StringIO())

    assert not Organization.objects.filter(slug="tiny").exists()
