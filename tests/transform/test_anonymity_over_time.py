"""Anonymity over time, end to end: the attacks found on the readiness API (issue 10) replayed
through the real services and endpoints. Deleting, merging, retiring a team or moving a person
leaves every figure as it was; one more answer changes no figure unless it completes a batch; the
comments never grow by one text. ``docs/anonymity.md`` ("Anonymity over time") has the rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from teams.lifecycle import team_delete, team_retire, topology_changes_enact
from teams.models import Organization, Person, Role, Team
from teams.scenarios import change_parse
from tests.builders import make_organization, make_person, make_team, survey, westrum
from tests.factories import MembershipFactory, OrganizationRoleFactory, ResponseFactory, UserFactory
from transform.models import CheckinSettings
from transform.readiness.report import local_day
from transform.rhythm.periods import Period, survey_period

pytestmark = pytest.mark.django_db

ADKAR = ("awareness", "desire", "knowledge", "ability", "reinforcement")


def running_period(organization: Organization) -> Period:
    return survey_period(
        local_day(timezone.now()), settings=CheckinSettings(organization=organization)
    )


def leader(organization: Organization) -> APIClient:
    user: Any = UserFactory()
    OrganizationRoleFactory(organization=organization, user=user, role=Role.LEADER)
    client = APIClient()
    client.force_login(user)
    return client


def read(client: APIClient, organization: Organization, period: Period, path: str = "") -> Any:
    response = client.get(
        f"/api/v1/orgs/{organization.slug}/readiness/{path}?period={period.start.isoformat()}"
    )
    assert response.status_code == 200, response.content
    return response.json()


def recovered(before: dict[str, Any], after: dict[str, Any], kind: str) -> float | None:
    """What the attack computes: n_after x mean_after - n_before x mean_before (None: nothing
    to subtract, a figure is hidden)."""
    old = before["signals"].get(kind)
    new = after["signals"].get(kind)
    if old is None or new is None:
        return None
    return round(new["respondents"] * new["value"] - old["respondents"] * old["value"], 4)


# --- boundary changes -------------------------------------------------------------------------------


def member(organization: Organization, team: Team, email: str) -> Person:
    person = make_person(organization, email=email)
    MembershipFactory(team=team, person=person)
    return person


@pytest.fixture
def attacked(organization: Organization) -> dict[str, Team]:
    """Teams of 6, 4, 12 and 3 (the issue's example): 25 answers with a Westrum mean of 4.6133,
    4.6133 x 25 - 3 = 5.1061 x 22, where the three of ``d`` answered 1."""
    teams = {slug: make_team(organization, slug) for slug in ("a", "b", "c", "d")}
    for slug, size in {"a": 6, "b": 4, "c": 12, "d": 3}.items():
        for index in range(size):
            member(organization, teams[slug], f"{slug}{index}@acme.test")
    return teams


def answer_the_issue_example(teams: dict[str, Team], period: Period) -> None:
    survey(teams["a"], westrum(*[5.5] * 6), period=period)
    survey(teams["b"], westrum(*[4.0] * 4), period=period)
    survey(teams["c"], westrum(*[5.5] * 8, *[29 / 6] * 4), period=period)
    survey(teams["d"], westrum(1, 1, 1), period=period)


def delete(organization: Organization, teams: dict[str, Team]) -> None:
    removal = team_delete(team=teams["d"], source="api")
    assert removal.outcome == "retired"


def merge(organization: Organization, teams: dict[str, Team]) -> None:
    change = change_parse({"kind": "merge_teams", "teams": ["c", "d"], "into": "c"})
    topology_changes_enact(organization=organization, changes=[change], user=None)


def move(organization: Organization, teams: dict[str, Team]) -> None:
    change = change_parse(
        {"kind": "move_person", "person": "d0@acme.test", "from_team": "d", "to_team": "a"}
    )
    topology_changes_enact(organization=organization, changes=[change], user=None)


def retire(organization: Organization, teams: dict[str, Team]) -> None:
    team_retire(team=teams["d"], source="api")


@pytest.mark.parametrize("change", [delete, merge, move, retire])
@pytest.mark.parametrize("which", ["running", "closed"])
def test_a_boundary_change_leaves_every_figure_as_it_was(
    organization: Organization,
    attacked: dict[str, Team],
    change: Callable[[Organization, dict[str, Team]], None],
    which: str,
) -> None:
    period = running_period(organization)
    if which == "closed":
        period = period.previous()
    answer_the_issue_example(attacked, period)
    client = leader(organization)
    before = read(client, organization, period)
    comments_before = read(client, organization, period, "comments/")

    change(organization, attacked)
    after = read(client, organization, period)

    assert after == before
    assert read(client, organization, period, "comments/") == comments_before
    assert recovered(before["organization"], after["organization"], "westrum_score") == 0
    # d keeps its row (it has answers in the period), still without a figure.
    assert [row["team"] for row in after["teams"]] == ["a", "b", "c", "d"]
    assert [row["suppressed"] for row in after["teams"]] == [False, True, False, True]
    org = after["organization"]
    if which == "running":
        # While the period runs the organisation covers whole team batches: a's first five and
        # c's first ten (8 x 5.5 + 2 x 29/6), not one of b's or d's answers.
        assert org["respondents"] == 15
        assert org["signals"]["westrum_score"]["value"] == pytest.approx(81.1667 / 15, abs=1e-4)
    else:
        # Closed, the 10 left over (a 1, b 4, c 2, d 3) pool into two batches: all 25 answers.
        assert org["respondents"] == 25
        assert org["signals"]["westrum_score"]["value"] == pytest.approx(4.6133, abs=1e-4)


def test_answers_given_after_a_merge_count_for_the_team_the_survey_was_sent_for(
    organization: Organization, attacked: dict[str, Team]
) -> None:
    period = running_period(organization)
    answer_the_issue_example(attacked, period)
    client = leader(organization)
    merge(organization, attacked)

    # d's three people now answer for c: c's 15 answers make a third batch.
    survey(attacked["c"], westrum(1, 1, 1), period=period)
    after = read(client, organization, period)

    rows = {row["team"]: row for row in after["teams"]}
    assert rows["c"]["respondents"] == 15
    assert rows["d"]["suppressed"] is True
    assert after["organization"]["respondents"] == 20


# --- answers arriving -------------------------------------------------------------------------------


def pulse(westrum_score: float, adkar: Sequence[int], satisfaction: int) -> dict[str, float]:
    return {
        "westrum_score": westrum_score,
        **{f"adkar_{element}": value for element, value in zip(ADKAR, adkar, strict=True)},
        "platform_satisfaction": satisfaction,
    }


def texts(*values: str) -> list[dict[str, Any]]:
    return [{"platform-satisfaction": {"satisfaction": 3, "slows_you_down": v}} for v in values]


@pytest.fixture
def gamma() -> dict[str, Team]:
    organization = make_organization("gamma")
    return {slug: make_team(organization, slug) for slug in ("a", "b", "c")}


def answer_fifteen(teams: dict[str, Team], period: Period, sizes: dict[str, int]) -> None:
    for slug, size in sizes.items():
        scores = [pulse(4 + index % 3, (3, 3, 4, 3, 2), 3) for index in range(size)]
        words = [f"{slug} reason {index}" for index in range(size)]
        survey(teams[slug], scores, period=period, answers=texts(*words))


SIXTEENTH = pulse(6.5, (5, 4, 4, 4, 4), 5)


@pytest.mark.parametrize(
    ("sizes", "who"),
    [
        ({"a": 8, "b": 7}, "c"),  # the issue's example: the one-person team answers last
        ({"a": 8, "b": 6, "c": 1}, "b"),
        ({"a": 7, "b": 7, "c": 1}, "a"),
    ],
)
def test_one_more_answer_changes_no_figure_while_the_period_runs(
    gamma: dict[str, Team], sizes: dict[str, int], who: str
) -> None:
    organization = gamma["a"].organization
    period = running_period(organization)
    answer_fifteen(gamma, period, sizes)
    client = leader(organization)
    before = read(client, organization, period)
    comments_before = read(client, organization, period, "comments/")

    survey(gamma[who], [SIXTEENTH], period=period, answers=texts("the sixteenth's own words"))
    after = read(client, organization, period)
    comments_after = read(client, organization, period, "comments/")

    assert after == before
    assert comments_after == comments_before
    assert before["organization"]["respondents"] == 10
    for kind in ("westrum_score", "adkar_awareness", "adkar_desire", "platform_satisfaction"):
        assert recovered(before["organization"], after["organization"], kind) == 0
    assert "the sixteenth's own words" not in str(comments_after)


def test_one_late_answer_changes_no_figure_of_a_closed_period(gamma: dict[str, Team]) -> None:
    organization = gamma["a"].organization
    period = running_period(organization).previous()
    answer_fifteen(gamma, period, {"a": 8, "b": 7})
    client = leader(organization)
    before = read(client, organization, period)
    comments_before = read(client, organization, period, "comments/")

    ResponseFactory(
        organization=organization,
        team=gamma["c"],
        period_start=period.start,
        submitted_on=period.end,
        instruments=[["platform-satisfaction", 1]],
        answers=texts("the sixteenth's own words")[0],
        scores=SIXTEENTH,
    )
    after = read(client, organization, period)
    comments_after = read(client, organization, period, "comments/")

    assert after == before
    assert comments_after == comments_before
    # Closed: a's 5, b's 5 and one pooled batch of the 5 left over.
    assert before["organization"]["respondents"] == 15
    [question] = comments_after["organization"]["comments"]
    assert len(question["answers"]) == 10
    assert "the sixteenth's own words" not in question["answers"]


def test_the_answer_that_completes_a_batch_moves_the_figures_by_a_whole_batch(
    gamma: dict[str, Team],
) -> None:
    organization = gamma["a"].organization
    period = running_period(organization)
    answer_fifteen(gamma, period, {"a": 8, "b": 7})
    client = leader(organization)
    seen = [read(client, organization, period)]

    for _ in range(3):
        survey(gamma["b"], [SIXTEENTH], period=period)
        seen.append(read(client, organization, period))

    counts = [body["organization"]["respondents"] for body in seen]
    b_counts = [body["teams"][1]["respondents"] for body in seen]
    assert counts == [10, 10, 10, 15]
    assert b_counts == [5, 5, 5, 10]
    assert seen[0] == seen[1] == seen[2]
    # Subtraction yields the sum of b's answers 6 to 10 (6, 4 and three of 6.5): five people.
    difference = recovered(seen[2]["organization"], seen[3]["organization"], "westrum_score")
    assert difference == pytest.approx(29.5, abs=1e-3)
