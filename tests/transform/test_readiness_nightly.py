"""The nightly readiness job: snapshots of two periods, idempotent, and drop alerts."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from teams.models import Organization, Person, Team
from tests.builders import (
    SURVEY_AT as AT,
)
from tests.builders import (
    SURVEY_PERIOD as PERIOD,
)
from tests.builders import (
    SURVEY_PREVIOUS as PREVIOUS,
)
from tests.builders import (
    chain_transformation,
    make_organization,
    make_person,
    make_team,
    survey,
    westrum,
)
from tests.factories import CheckinSettingsFactory
from transform.models import (
    Delivery,
    DeliveryKind,
    MilestoneStatus,
    ReadinessSnapshot,
    Transformation,
)
from transform.outbox.messages import delivery_message
from transform.readiness.services import readiness_nightly
from transform.rhythm.selectors import checkin_settings_get

pytestmark = pytest.mark.django_db

SNAPSHOT_VALUES = (
    "team_id",
    "period_start",
    "period_end",
    "respondents",
    "suppressed",
    "score",
    "barrier",
    "trend",
    "delta",
    "components",
    "signals",
)


@pytest.fixture
def web(organization: Organization) -> Team:
    return make_team(organization, "web", name="Web")


@pytest.fixture
def transformation(organization: Organization) -> Transformation:
    make_person(organization, email="lead@acme.test", name="Lea Lead")
    return chain_transformation(organization, count=2, owner="lead@acme.test")


@pytest.fixture
def other_agent(organization: Organization, transformation: Transformation) -> Person:
    agent: Person = make_person(organization, email="agent@acme.test")
    transformation.change_agents.add(agent)
    return agent


def snapshots(organization: Organization) -> list[tuple[Any, ...]]:
    return list(
        ReadinessSnapshot.objects.filter(organization=organization)
        .order_by("period_start", "team_id")
        .values_list(*SNAPSHOT_VALUES)
    )


def test_snapshots_of_both_periods_are_stored_once_however_often_it_runs(
    organization: Organization, web: Team, transformation: Transformation
) -> None:
    api = make_team(organization, "api")
    survey(web, westrum(7, 7, 7, 7, 7, 7), period=PREVIOUS)
    survey(web, westrum(4, 4, 4, 4, 4))

    first = readiness_nightly(at=AT)
    stored = snapshots(organization)
    second = readiness_nightly(at=AT)

    assert first == {
        "organizations": 1,
        "snapshots_created": 6,
        "snapshots_updated": 0,
        "alerts": 1,
    }
    assert second == {
        "organizations": 1,
        "snapshots_created": 0,
        "snapshots_updated": 6,
        "alerts": 0,
    }
    assert Delivery.objects.count() == 1
    assert snapshots(organization) == stored
    rows = {(row[0], row[1]): row for row in stored}
    web_now = rows[(web.pk, PERIOD.start)]
    assert web_now[SNAPSHOT_VALUES.index("score")] == 50.0
    assert web_now[SNAPSHOT_VALUES.index("trend")] == "down"
    assert web_now[SNAPSHOT_VALUES.index("delta")] == -50.0
    assert rows[(web.pk, PREVIOUS.start)][SNAPSHOT_VALUES.index("score")] == 100.0
    api_now = rows[(api.pk, PERIOD.start)]
    assert api_now[SNAPSHOT_VALUES.index("suppressed")] is True
    assert api_now[SNAPSHOT_VALUES.index("score")] is None
    assert api_now[SNAPSHOT_VALUES.index("respondents")] == 0
    assert rows[(None, PERIOD.start)][SNAPSHOT_VALUES.index("respondents")] == 5


def test_a_late_answer_updates_last_periods_snapshot(
    organization: Organization, web: Team, transformation: Transformation
) -> None:
    survey(web, westrum(7, 7, 7, 7), period=PREVIOUS)
    readiness_nightly(at=AT)
    before = ReadinessSnapshot.objects.get(team=web, period_start=PREVIOUS.start)
    survey(web, westrum(1), period=PREVIOUS)

    readiness_nightly(at=AT)

    after = ReadinessSnapshot.objects.get(team=web, period_start=PREVIOUS.start)
    assert before.suppressed is True
    assert after.pk == before.pk
    assert after.suppressed is False
    assert after.respondents == 5
    # Westrum mean (4 x 7 + 1) / 5 = 5.8 -> (5.8 - 1) / 6 = 0.8.
    assert after.score == 80.0


def test_a_drop_alerts_the_change_agents_once_per_team_and_period(
    organization: Organization,
    web: Team,
    transformation: Transformation,
    other_agent: Person,
) -> None:
    adkar = {
        "adkar_awareness": 5,
        "adkar_desire": 2,
        "adkar_knowledge": 4,
        "adkar_ability": 4,
        "adkar_reinforcement": 4,
    }
    survey(web, westrum(7, 7, 7, 7, 7), period=PREVIOUS)
    survey(web, [{"westrum_score": 4, **adkar}] * 5)

    first = readiness_nightly(at=AT)
    second = readiness_nightly(at=AT)

    assert first["alerts"] == 2
    assert second["alerts"] == 0
    deliveries = list(Delivery.objects.order_by("id"))
    assert [(d.recipient.email, d.dedupe_key) for d in deliveries] == [
        ("lead@acme.test", f"readiness_drop:team:{web.pk}:2026-12-28"),
        ("agent@acme.test", f"readiness_drop:team:{web.pk}:2026-12-28:person:{other_agent.pk}"),
    ]
    alert = deliveries[0]
    assert alert.kind == DeliveryKind.READINESS_DROP
    assert alert.channel == "email"
    assert alert.checkin is None
    assert alert.next_attempt_at == AT
    assert alert.created_at == AT
    # Westrum 4 -> 0.5 (0.25), ADKAR mean 3.8 -> 0.7 (0.30): 0.335 / 0.55 = 60.9.
    assert alert.payload == {
        "team": web.pk,
        "period_start": "2026-12-28",
        "previous_start": alert.payload["previous_start"],
    }
    message = delivery_message(
        alert, at=AT, settings_row=checkin_settings_get(organization=organization)
    )
    assert message.subject == "Readiness of Web dropped from 100 to 60.9"
    assert "from 100 to 60.9 points" in message.body
    assert "ADKAR barrier point: desire" in message.body
    assert "/o/acme/leadership/" in message.body
    assert deliveries[1].payload == alert.payload


def test_a_fall_within_the_organisations_allowance_does_not_alert(
    organization: Organization, web: Team, transformation: Transformation
) -> None:
    CheckinSettingsFactory(organization=organization, readiness_drop_alert=50)
    survey(web, westrum(7, 7, 7, 7, 7), period=PREVIOUS)
    survey(web, westrum(4, 4, 4, 4, 4))

    counts = readiness_nightly(at=AT)

    # 100 -> 50 is a fall of exactly 50: not more than the allowance.
    assert counts["alerts"] == 0
    assert not Delivery.objects.exists()


def test_a_suppressed_team_never_alerts(
    organization: Organization, web: Team, transformation: Transformation
) -> None:
    survey(web, westrum(7, 7, 7, 7, 7), period=PREVIOUS)
    survey(web, westrum(1, 1, 1, 1))

    counts = readiness_nightly(at=AT)

    assert counts["alerts"] == 0
    assert not Delivery.objects.exists()
    snapshot = ReadinessSnapshot.objects.get(team=web, period_start=PERIOD.start)
    assert snapshot.suppressed is True
    assert snapshot.score is None


def test_organisations_without_a_transformation_or_answers_are_left_alone(
    organization: Organization, web: Team, transformation: Transformation
) -> None:
    quiet = make_organization("quiet")
    make_team(quiet, "q")
    surveyed = make_organization("surveyed")
    survey(make_team(surveyed, "s"), westrum(7), period=PREVIOUS)
    finished = make_organization("finished")
    make_person(finished, email="lead@finished.test")
    done = chain_transformation(finished, count=1, owner="lead@finished.test")
    done.milestones.update(status=MilestoneStatus.DONE)

    counts = readiness_nightly(at=AT)

    assert counts["organizations"] == 2
    stored = set(ReadinessSnapshot.objects.values_list("organization__slug", flat=True))
    assert stored == {"acme", "surveyed"}


def test_the_command_runs_the_job_at_the_given_moment(
    organization: Organization, web: Team, transformation: Transformation
) -> None:
    out = io.StringIO()

    call_command("compute_readiness", "--at", "2027-01-06T12:00:00+00:00", stdout=out)

    assert "organizations 1, snapshots_created 4, snapshots_updated 0, alerts 0" in out.getvalue()
    assert set(ReadinessSnapshot.objects.values_list("period_start", flat=True)) == {
        PERIOD.start,
        PREVIOUS.start,
    }
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("compute_readiness", "--at", "yesterday", stdout=io.StringIO())
