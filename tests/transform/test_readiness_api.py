"""The readiness API: who may read, the shapes, filters, comments thresholds, history, queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from teams.models import Organization, Role, Team
from tests.builders import make_team, survey, westrum
from tests.factories import (
    OrganizationFactory,
    OrganizationRoleFactory,
    PersonFactory,
    ReadinessSnapshotFactory,
    UserFactory,
)
from transform.models import CheckinSettings
from transform.readiness.report import local_day
from transform.readiness.services import readiness_nightly
from transform.rhythm.periods import Period, survey_period

pytestmark = pytest.mark.django_db


def current_period(organization: Organization) -> Period:
    return survey_period(
        local_day(timezone.now()), settings=CheckinSettings(organization=organization)
    )


def client_for(organization: Organization, role: str | None) -> APIClient:
    user: Any = UserFactory()
    if role is not None:
        OrganizationRoleFactory(organization=organization, user=user, role=role)
    else:
        OrganizationRoleFactory(organization=OrganizationFactory(), user=user, role=Role.ADMIN)
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def web(organization: Organization) -> Team:
    return make_team(organization, "web", name="Web")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CHANGE_AGENT, Role.LEADER])
def test_admins_change_agents_and_leaders_read_every_teams_readiness(
    organization: Organization, web: Team, role: str
) -> None:
    make_team(organization, "api")
    survey(web, westrum(7, 7, 7, 7, 7), period=current_period(organization))
    client = client_for(organization, role)

    for path in ("", "comments/", "history/", "?team=api", "comments/?team=api"):
        response = client.get(f"/api/v1/orgs/acme/readiness/{path}")
        assert response.status_code == 200, (path, response.content)
    body = client.get("/api/v1/orgs/acme/readiness/").json()
    assert [row["team"] for row in body["teams"]] == ["api", "web"]
    assert body["teams"][1]["score"] == 100.0
    assert body["min_group_size"] == 5
    assert body["period"] == current_period(organization).as_dict()
    assert body["organization"]["organization"] == "acme"


def test_an_engineering_manager_reads_only_the_teams_they_manage(
    organization: Organization, web: Team
) -> None:
    make_team(organization, "api")
    survey(web, westrum(7, 7, 7, 7, 7), period=current_period(organization))
    readiness_nightly(at=timezone.now())
    client = client_for(organization, Role.ENGINEERING_MANAGER)
    manager: Any = PersonFactory(organization=organization, email="em@acme.test", name="EM")
    manager.user = User.objects.get(organization_roles__organization=organization)
    manager.save()
    Team.objects.filter(pk=web.pk).update(manager=manager)

    report = client.get("/api/v1/orgs/acme/readiness/").json()
    comments = client.get("/api/v1/orgs/acme/readiness/comments/").json()
    history = client.get("/api/v1/orgs/acme/readiness/history/").json()
    refused = [
        client.get(f"/api/v1/orgs/acme/readiness/{path}?team=api")
        for path in ("", "comments/", "history/")
    ]

    assert [row["team"] for row in report["teams"]] == ["web"]
    assert report["teams"][0]["score"] == 100.0
    assert report["organization"]["organization"] == "acme"
    assert [row["team"] for row in comments["teams"]] == ["web"]
    assert {row["team"] for row in history["results"]} == {None, "web"}
    assert [response.status_code for response in refused] == [403, 403, 403]
    assert "teams they manage" in refused[0].json()["message"]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ENGINEERING_MANAGER])
def test_members_and_managers_of_no_team_read_no_teams_readiness(
    organization: Organization, web: Team, role: str
) -> None:
    survey(web, westrum(7, 7, 7, 7, 7), period=current_period(organization))
    client = client_for(organization, role)

    responses = [
        client.get(f"/api/v1/orgs/acme/readiness/{path}") for path in ("", "comments/", "history/")
    ]

    if role == Role.MEMBER:
        assert [response.status_code for response in responses] == [403, 403, 403]
        assert "Only admins, change agents and leaders" in responses[0].json()["message"]
    else:
        assert [response.status_code for response in responses] == [200, 200, 200]
        assert responses[0].json()["teams"] == []
        assert responses[1].json()["teams"] == []


def test_someone_without_a_role_in_the_organisation_gets_404(
    organization: Organization, web: Team
) -> None:
    client = client_for(organization, None)

    for path in ("", "comments/", "history/"):
        response = client.get(f"/api/v1/orgs/acme/readiness/{path}")
        assert response.status_code == 404
    assert APIClient().get("/api/v1/orgs/acme/readiness/").status_code == 401


def test_a_bad_period_is_a_400_naming_the_format(organization: Organization, web: Team) -> None:
    client = client_for(organization, Role.LEADER)

    for path in ("", "comments/"):
        response = client.get(f"/api/v1/orgs/acme/readiness/{path}?period=2027-13-01")
        assert response.status_code == 400
        body = response.json()
        assert "YYYY-MM-DD" in body["message"]
        assert list(body["extra"]["fields"]) == ["period"]


def test_an_unknown_team_is_a_400_naming_the_team(organization: Organization, web: Team) -> None:
    client = client_for(organization, Role.LEADER)

    for path in ("", "comments/", "history/"):
        response = client.get(f"/api/v1/orgs/acme/readiness/{path}?team=nope")
        assert response.status_code == 400
        assert "nope" in response.json()["message"]
        assert list(response.json()["extra"]["fields"]) == ["team"]


def test_the_period_and_team_filters_pick_the_rows(organization: Organization, web: Team) -> None:
    make_team(organization, "api")
    period = current_period(organization)
    survey(web, westrum(7, 7, 7, 7, 7), period=period.previous())
    client = client_for(organization, Role.LEADER)
    day = (period.previous().start + dt.timedelta(days=3)).isoformat()

    body = client.get(f"/api/v1/orgs/acme/readiness/?period={day}&team=web").json()

    assert body["period"] == period.previous().as_dict()
    assert [row["team"] for row in body["teams"]] == ["web"]
    assert body["teams"][0]["score"] == 100.0
    # api had no answers (0 uncovered): web is not hidden for it.
    assert body["teams"][0]["respondents"] == 5


def test_a_suppressed_team_reads_suppressed_without_numbers(
    organization: Organization, web: Team
) -> None:
    survey(web, westrum(1, 2, 3, 4), period=current_period(organization))
    client = client_for(organization, Role.LEADER)

    row = client.get("/api/v1/orgs/acme/readiness/?team=web").json()["teams"][0]

    assert row["suppressed"] is True
    assert row["score"] is None
    assert row["respondents"] is None
    assert row["trend"] is None
    assert row["barrier"] is None
    assert row["signals"] == {}


def _count(client: APIClient, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


def _grow(organization: Organization, *, teams: int, answers: int) -> None:
    period = current_period(organization)
    for index in range(teams):
        team = make_team(organization, f"grown-{teams}-{index}")
        survey(
            team,
            [{"westrum_score": 5, "platform_satisfaction": 4}] * answers,
            period=period,
            answers=[{"platform-satisfaction": {"satisfaction": 4, "slows_you_down": "CI"}}]
            * answers,
        )
        survey(team, westrum(*([6] * answers)), period=period.previous())


@pytest.mark.parametrize("path", ["", "comments/", "history/"])
def test_the_readiness_endpoints_run_a_fixed_number_of_queries(
    organization: Organization, web: Team, path: str, django_assert_num_queries: Any
) -> None:
    from transform.readiness.services import readiness_nightly

    client = client_for(organization, Role.LEADER)
    _grow(organization, teams=2, answers=5)
    readiness_nightly(at=timezone.now())
    few = _count(client, f"/api/v1/orgs/acme/readiness/{path}")
    _grow(organization, teams=6, answers=12)
    readiness_nightly(at=timezone.now())

    with django_assert_num_queries(few):
        response = client.get(f"/api/v1/orgs/acme/readiness/{path}")

    body = response.json()
    if path == "":
        assert len(body["teams"]) == 9
    elif path == "history/":
        assert body["count"] == 2 * 10


def test_comments_are_shown_from_ten_respondents_without_identity(
    organization: Organization, web: Team
) -> None:
    api = make_team(organization, "api")
    period = current_period(organization)

    def texts(*values: str) -> list[dict[str, Any]]:
        return [{"platform-satisfaction": {"satisfaction": 3, "slows_you_down": v}} for v in values]

    web_texts = [f"web reason {n}" for n in range(10)]
    survey(web, [{"platform_satisfaction": 3}] * 10, period=period, answers=texts(*web_texts))
    survey(api, [{"platform_satisfaction": 3}] * 9, period=period, answers=texts(*["api"] * 9))
    client = client_for(organization, Role.LEADER)

    body = client.get("/api/v1/orgs/acme/readiness/comments/").json()

    rows = {row["team"]: row for row in body["teams"]}
    assert body["min_free_text_group_size"] == 10
    # api has 9 (< 10): hidden, and its texts are in no list, the organisation's included, so
    # the organisation's list minus web's is empty rather than api's nine.
    assert rows["api"] == {"team": "api", "team_name": api.name, "suppressed": True}
    assert rows["web"]["suppressed"] is False
    [question] = body["organization"]["comments"]
    assert question["instrument"] == "platform-satisfaction"
    assert question["question"] == "slows_you_down"
    assert question["text"] == "What slows you down?"
    assert question["answers"] == sorted(web_texts)
    assert rows["web"]["comments"] == body["organization"]["comments"]

    survey(api, [{"platform_satisfaction": 3}], period=period, answers=texts("tenth"))
    shown = client.get("/api/v1/orgs/acme/readiness/comments/").json()

    # api's tenth answer completes a batch: its ten texts appear together, nobody's alone.
    rows = {row["team"]: row for row in shown["teams"]}
    assert rows["web"]["comments"][0]["answers"] == sorted(web_texts)
    assert rows["api"]["comments"][0]["answers"] == sorted(["api"] * 9 + ["tenth"])
    assert shown["organization"]["comments"][0]["answers"] == sorted(
        [*web_texts, *["api"] * 9, "tenth"]
    )


def test_comments_of_a_nine_person_organisation_stay_hidden(
    organization: Organization, web: Team
) -> None:
    period = current_period(organization)
    answers = [{"platform-satisfaction": {"satisfaction": 3, "slows_you_down": "x"}}] * 9
    survey(web, [{"platform_satisfaction": 3}] * 9, period=period, answers=answers)
    client = client_for(organization, Role.LEADER)

    body = client.get("/api/v1/orgs/acme/readiness/comments/").json()

    assert body["organization"]["suppressed"] is True
    assert "comments" not in body["organization"]
    assert body["teams"][0]["suppressed"] is True
    # The scores of the same nine are shown: the free-text threshold is the higher one.
    readiness = client.get("/api/v1/orgs/acme/readiness/").json()
    assert readiness["teams"][0]["suppressed"] is False


def test_history_lists_stored_snapshots_newest_first_and_hides_suppressed_counts(
    organization: Organization, web: Team
) -> None:
    period = Period(start=dt.date(2027, 1, 11), end=dt.date(2027, 1, 25))
    now = timezone.now()
    ReadinessSnapshotFactory(
        organization=organization,
        team=web,
        period_start=period.previous().start,
        period_end=period.previous().end,
        respondents=6,
        score=70.0,
        trend="",
        computed_at=now,
    )
    ReadinessSnapshotFactory(
        organization=organization,
        team=web,
        period_start=period.start,
        period_end=period.end,
        respondents=0,
        suppressed=True,
        computed_at=now,
    )
    ReadinessSnapshotFactory(
        organization=organization,
        team=None,
        period_start=period.start,
        period_end=period.end,
        respondents=12,
        score=55.5,
        trend="down",
        delta=-4.5,
        barrier="ability",
        computed_at=now,
    )
    client = client_for(organization, Role.LEADER)

    body = client.get("/api/v1/orgs/acme/readiness/history/").json()
    only_web = client.get("/api/v1/orgs/acme/readiness/history/?team=web").json()
    only_org = client.get("/api/v1/orgs/acme/readiness/history/?scope=organization").json()

    assert [(row["team"], row["period"]["start"]) for row in body["results"]] == [
        (None, "2027-01-11"),
        ("web", "2027-01-11"),
        ("web", "2026-12-28"),
    ]
    organization_row, suppressed, shown = body["results"]
    assert organization_row["score"] == 55.5
    assert organization_row["trend"] == "down"
    assert organization_row["barrier"] == "ability"
    assert suppressed["suppressed"] is True
    assert suppressed["respondents"] is None
    assert suppressed["score"] is None
    assert shown["respondents"] == 6
    assert shown["trend"] is None
    assert only_web["count"] == 2
    assert [row["team"] for row in only_org["results"]] == [None]


def test_the_response_is_what_the_documented_serializer_gives_byte_for_byte(
    organization: Organization, web: Team
) -> None:
    """``readiness_output`` builds the response directly (measured: DRF's field-by-field
    rendering was 100 ms at 1,000 teams); it must be what the documented serializer renders, for
    shown and suppressed teams, trends, components and signals alike."""
    from rest_framework.renderers import JSONRenderer

    from transform.evidence.services import signal_events_ingest
    from transform.readiness.apis import OrgReadinessOutputSerializer, readiness_output
    from transform.readiness.selectors import readiness_report_get

    api = make_team(organization, "api", name="API")
    make_team(organization, "ops", name="Ops")
    current = current_period(organization)
    adkar = {f"adkar_{e}": 3.0 for e in ("awareness", "desire", "knowledge", "ability")}
    for period, value in ((current.previous(), 4.0), (current, 6.5)):
        survey(
            web, [{"westrum_score": value, **adkar, "adkar_reinforcement": 2.0}] * 6, period=period
        )
        survey(api, westrum(5, 6), period=period)
    deployed = dt.datetime.combine(current.start, dt.time(9), tzinfo=dt.UTC).isoformat()
    signal_events_ingest(
        organization=organization,
        records=[
            {
                "kind": "deploy",
                "id": "d1",
                "team": "web",
                "occurred_at": deployed,
                "commit_times": [deployed],
            }
        ],
        source="test",
        at=timezone.now(),
    )

    report = readiness_report_get(organization=organization, period=None, at=timezone.now())
    data = report.as_dict()
    documented = JSONRenderer().render(OrgReadinessOutputSerializer(data).data)

    assert JSONRenderer().render(readiness_output(data)) == documented
    by_slug = {team["team"]: team for team in data["teams"]}
    assert by_slug["web"]["components"]
    assert by_slug["web"]["trend"] is not None
    assert by_slug["api"]["suppressed"]


def test_the_response_converts_as_the_serializer_does() -> None:
    from rest_framework.renderers import JSONRenderer

    from transform.readiness.apis import OrgReadinessOutputSerializer, readiness_output

    group = {
        "period": {"start": "2026-11-30", "end": "2026-12-14"},
        "respondents": 7,
        "suppressed": False,
        "score": 61,  # an integer where a float is documented
        "trend": None,
        "delta": 2,
        "barrier": "ability",
        "components": {"westrum": {"value": 5, "normalised": 0.8, "weight": 1, "respondents": 7}},
        "signals": {"open_tickets": {"value": 3, "respondents": None}},
    }
    data = {
        "organization": {**group, "organization": "acme", "organization_name": "Acme"},
        "teams": [{**group, "team": "web", "team_name": "Web"}],
        "period": {"start": "2026-11-30", "end": "2026-12-14"},
        "min_group_size": 5,
    }

    rendered = JSONRenderer().render(readiness_output(data))

    assert rendered == JSONRenderer().render(OrgReadinessOutputSerializer(data).data)
    assert b'"score":61.0' in rendered
