"""``ingested_readings``: the ingested signal kinds per team and organisation, on worked examples.

One week, 1 to 8 March 2026, in the organisation acme: stream-aligned web, app and mobile, the ops
silo ops and the platform team plat. The expected figures are worked out by hand in comments.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from playbooks.criteria import SignalReading
from teams.models import Organization, Team, TeamType
from tests.builders import FIXTURES_DIR
from tests.factories import MembershipFactory, PersonFactory, TeamFactory
from transform.evidence.selectors import ingested_readings
from transform.evidence.services import signal_events_ingest

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 8, tzinfo=dt.UTC)


def t(day: int, hour: int = 0, month: int = 3) -> str:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC).isoformat()


@pytest.fixture
def teams(organization: Organization) -> dict[str, Team]:
    result: dict[str, Any] = {
        slug: TeamFactory(organization=organization, slug=slug, type=kind)
        for slug, kind in [
            ("web", TeamType.STREAM_ALIGNED),
            ("app", TeamType.STREAM_ALIGNED),
            ("mobile", TeamType.STREAM_ALIGNED),
            ("ops", TeamType.OPS_SILO),
            ("plat", TeamType.PLATFORM),
        ]
    }
    ana = PersonFactory(organization=organization, email="ana@acme.test")
    bo = PersonFactory(organization=organization, email="bo@acme.test")
    carl = PersonFactory(organization=organization, email="carl@acme.test")
    MembershipFactory(team=result["web"], person=ana)
    MembershipFactory(team=result["web"], person=bo)
    MembershipFactory(team=result["app"], person=bo)
    MembershipFactory(team=result["app"], person=carl)
    return result


def ingest(organization: Organization, records: list[dict[str, Any]]) -> None:
    signal_events_ingest(organization=organization, records=records, source="test", at=END)


def deploy(id: str, team: str, at: str, *commits: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "deploy",
        "id": id,
        "team": team,
        "occurred_at": at,
        "commit_times": list(commits),
        **fields,
    }


WEEK: list[dict[str, Any]] = [
    # web: w0 before the window (tracked, and it causes i3); w1 ships commits of 2 h and 24 h;
    # w2 (6 h) is named by incident i1; w3 is a rework deploy without commits.
    deploy("w0", "web", t(20, month=2)),
    deploy("w1", "web", t(2, 10), t(2, 8), t(1, 10)),
    deploy("w2", "web", t(4, 12), t(4, 6)),
    deploy("w3", "web", t(6, 9), is_rework=True),
    # app: one deploy, commit 24 h before.
    deploy("a1", "app", t(3), t(2)),
    # mobile: deploys are tracked (one in February), none this week.
    deploy("m0", "mobile", t(10, month=2)),
    # A deploy exactly at the window's end belongs to the next window.
    deploy("w9", "web", t(8)),
    # i1: recorded by ops, caused by web's w2, 2 h to recover. i2: nobody's, no deploy.
    # i3: recorded by app, caused by web's w0 (before the window), 5 h to recover.
    {
        "kind": "incident",
        "id": "i1",
        "team": "ops",
        "occurred_at": t(4, 13),
        "resolved_at": t(4, 15),
        "caused_by_deploy": "w2",
    },
    {"kind": "incident", "id": "i2", "occurred_at": t(5)},
    {
        "kind": "incident",
        "id": "i3",
        "team": "app",
        "occurred_at": t(2),
        "resolved_at": t(2, 5),
        "caused_by_deploy": "w0",
    },
    # t1: web waits on ops since 25 Feb with 2 developers; blocked from 27 Feb, all week: 2 x 168.
    # t2: app, opened 1 March, closed 4 March: blocked 3-4 March, 24 h.
    # t3: web, opened 7 March: open at the end, 24 h old, not blocking yet.
    # t4: app, closed before the window: nothing.
    {
        "kind": "ticket",
        "id": "t1",
        "team": "web",
        "occurred_at": t(25, month=2),
        "waiting_on": "ops",
        "developers_waiting": 2,
    },
    {"kind": "ticket", "id": "t2", "team": "app", "occurred_at": t(1), "closed_at": t(4)},
    {"kind": "ticket", "id": "t3", "team": "web", "occurred_at": t(7), "waiting_on": "plat"},
    {
        "kind": "ticket",
        "id": "t4",
        "team": "app",
        "occurred_at": t(10, month=2),
        "closed_at": t(20, month=2),
    },
    # web chose ci; app was told to; mobile was told to use ci and chose logging; ops has not
    # adopted; plat adopting its own ci does not count; web's later logging is after the end.
    *[
        {
            "kind": "adoption",
            "id": f"{team}-{capability}",
            "team": team,
            "occurred_at": at,
            "capability": capability,
            "mandated": mandated,
        }
        for team, capability, mandated, at in [
            ("web", "ci", False, t(1)),
            ("app", "ci", True, t(2)),
            ("mobile", "ci", True, t(2)),
            ("mobile", "logging", False, t(3)),
            ("plat", "ci", False, t(1)),
            ("web", "logging", False, t(10)),
        ]
    ],
    # ana (web) 2 days; bo (web and app) 14 days; the new team mobile 29 days; carl (app)
    # deployed first before the window.
    *[
        {
            "kind": "first_deploy",
            "id": f"first-{subject}",
            "occurred_at": at,
            "subject": subject,
            "joined_at": joined,
        }
        for subject, joined, at in [
            ("ana@acme.test", t(1), t(3)),
            ("bo@acme.test", t(20, month=2), t(6)),
            ("mobile", t(1, month=2), t(2)),
            ("carl@acme.test", t(1, month=2), t(25, month=2)),
        ]
    ],
]


def values(readings: dict[str, SignalReading]) -> dict[str, Any]:
    return {kind: pytest.approx(reading.value) for kind, reading in readings.items()}


@pytest.fixture
def week(organization: Organization, teams: dict[str, Team]) -> dict[int | None, dict[str, Any]]:
    ingest(organization, WEEK)
    return ingested_readings(organization=organization, start=START, end=END)


def test_the_organisation_reads_every_kind_from_all_events(
    week: dict[int | None, dict[str, SignalReading]],
) -> None:
    assert values(week[None]) == {
        # w1, w2, w3, a1 in 7 days.
        "deployment_frequency": 4 / 7,
        # commits of 2, 24, 6 and 24 hours: median (6 + 24) / 2.
        "lead_time_for_changes": 15.0,
        # w2 failed (named by i1); w0 is outside the window.
        "change_failure_rate": 0.25,
        # i1 (2 h) and i3 (5 h) are deploy-caused and started in the window.
        "failed_deployment_recovery_time": 3.5,
        "deployment_rework_rate": 0.25,
        # t1 336 + t2 24.
        "blocked_developer_hours": 360.0,
        # t1 and t3.
        "open_tickets": 2.0,
        # web and mobile voluntary; app mandated only: 2 / (4 teams but plat - 1 mandated).
        "platform_adoption": 2 / 3,
        # 2, 14 and 29 days.
        "time_to_first_deploy": 14.0,
        "incidents": 3.0,
    }
    assert all(
        reading.as_of == END and reading.respondents is None for reading in week[None].values()
    )


def test_each_team_reads_its_own_events(
    week: dict[int | None, dict[str, SignalReading]], teams: dict[str, Team]
) -> None:
    assert values(week[teams["web"].pk]) == {
        "deployment_frequency": 3 / 7,
        "lead_time_for_changes": 6.0,  # 2, 24, 6
        "change_failure_rate": 1 / 3,
        # i1 recorded by ops and i3 recorded by app were caused by web's deploys.
        "failed_deployment_recovery_time": 3.5,
        "deployment_rework_rate": 1 / 3,
        "blocked_developer_hours": 336.0,
        "open_tickets": 2.0,
        "platform_adoption": 1.0,
        "time_to_first_deploy": 8.0,  # ana 2, bo 14
        "incidents": 2.0,
    }
    assert values(week[teams["app"].pk]) == {
        "deployment_frequency": 1 / 7,
        "lead_time_for_changes": 24.0,
        "change_failure_rate": 0.0,
        "deployment_rework_rate": 0.0,
        "blocked_developer_hours": 24.0,
        "open_tickets": 0.0,
        # Mandated only: no reading, never counted as voluntary.
        "time_to_first_deploy": 14.0,  # bo; carl's first deploy is before the window
        "incidents": 0.0,  # i3 was app's record of web's failure
    }


def test_a_tracked_team_without_deploys_reads_zero_frequency_and_nothing_else(
    week: dict[int | None, dict[str, SignalReading]], teams: dict[str, Team]
) -> None:
    assert values(week[teams["mobile"].pk]) == {
        "deployment_frequency": 0.0,
        "blocked_developer_hours": 0.0,
        "open_tickets": 0.0,
        "platform_adoption": 1.0,  # logging chosen, ci mandated
        "time_to_first_deploy": 29.0,
        "incidents": 0.0,
    }


def test_a_team_without_deploys_has_no_dora_readings_and_has_not_adopted(
    week: dict[int | None, dict[str, SignalReading]], teams: dict[str, Team]
) -> None:
    assert values(week[teams["ops"].pk]) == {
        "blocked_developer_hours": 0.0,
        "open_tickets": 0.0,
        "platform_adoption": 0.0,
        "incidents": 0.0,  # i1 is web's failure
    }
    # The platform team provides the platform: no adoption reading of its own.
    assert "platform_adoption" not in week[teams["plat"].pk]


def test_every_team_and_the_organisation_have_a_key(
    week: dict[int | None, dict[str, SignalReading]], teams: dict[str, Team]
) -> None:
    assert set(week) == {None} | {team.pk for team in teams.values()}


def test_mandated_adoption_never_counts_as_voluntary(
    organization: Organization, teams: dict[str, Team]
) -> None:
    ingest(
        organization,
        [
            {
                "kind": "adoption",
                "id": f"{slug}-ci",
                "team": slug,
                "occurred_at": t(2),
                "capability": "ci",
                "mandated": True,
            }
            for slug in ("web", "app", "mobile", "ops")
        ]
        + [
            # web also says it chose ci: the mandate still makes the pair mandated.
            {
                "kind": "adoption",
                "id": "web-ci-again",
                "team": "web",
                "occurred_at": t(3),
                "capability": "ci",
                "mandated": False,
            }
        ],
    )

    readings = ingested_readings(organization=organization, start=START, end=END)

    assert "platform_adoption" not in readings[None]  # nobody was free to choose
    assert all("platform_adoption" not in readings[team.pk] for team in teams.values())


def test_without_events_there_are_no_readings_at_all(
    organization: Organization, teams: dict[str, Team]
) -> None:
    readings = ingested_readings(organization=organization, start=START, end=END)

    assert readings == {None: {}} | {team.pk: {} for team in teams.values()}


def test_kinds_that_are_not_ingested_give_no_zero(
    organization: Organization, teams: dict[str, Team]
) -> None:
    ingest(organization, [deploy("w1", "web", t(2))])

    readings = ingested_readings(organization=organization, start=START, end=END)

    assert set(readings[None]) == {
        "deployment_frequency",
        "change_failure_rate",
        "deployment_rework_rate",
    }
    assert readings[teams["app"].pk] == {}


def test_events_after_the_end_are_not_known_yet(
    organization: Organization, teams: dict[str, Team]
) -> None:
    ingest(
        organization,
        [
            deploy("w1", "web", t(2)),
            {"kind": "incident", "id": "i1", "occurred_at": t(9), "caused_by_deploy": "w1"},
            {"kind": "ticket", "id": "t1", "team": "web", "occurred_at": t(9)},
        ],
    )

    readings = ingested_readings(organization=organization, start=START, end=END)

    assert readings[None]["change_failure_rate"].value == 0.0
    assert "incidents" not in readings[None]
    assert "open_tickets" not in readings[None]


def test_the_demo_file_gives_the_adoption_its_doc_describes(db: None) -> None:
    call_command(
        "import_org", "--org", "demo", str(FIXTURES_DIR / "demo-org.yaml"), stdout=StringIO()
    )
    call_command(
        "ingest_signals",
        "--org",
        "demo",
        str(FIXTURES_DIR / "signal-events.csv"),
        stdout=StringIO(),
    )
    demo = Organization.objects.get(slug="demo")

    readings = ingested_readings(
        organization=demo,
        start=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        end=dt.datetime(2026, 9, 15, tzinfo=dt.UTC),
    )

    # 11 teams besides the platform: search, checkout (logging) and delivery-tracking chose;
    # returns was told to: 3 / (11 - 1).
    assert readings[None]["platform_adoption"].value == pytest.approx(0.3)
    checkout = Team.objects.get(organization=demo, slug="checkout").pk
    assert readings[checkout]["deployment_frequency"].value == pytest.approx(3 / 14)
    assert readings[checkout]["change_failure_rate"].value == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (START.replace(tzinfo=None), END, "start must be a timezone-aware datetime"),
        (END, START, "must be after start"),
        (START, START, "must be after start"),
    ],
)
def test_a_naive_or_empty_window_is_refused(
    organization: Organization, start: dt.datetime, end: dt.datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ingested_readings(organization=organization, start=start, end=end)


def test_the_number_of_queries_does_not_grow_with_teams_or_events(
    organization: Organization, teams: dict[str, Team], django_assert_num_queries: Any
) -> None:
    ingest(organization, WEEK)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        ingested_readings(organization=organization, start=START, end=END)
    for n in range(30):
        team: Any = TeamFactory(organization=organization, slug=f"extra-{n}")
        person: Any = PersonFactory(organization=organization, email=f"p{n}@acme.test")
        MembershipFactory(team=team, person=person)
        ingest(
            organization,
            [
                deploy(f"x{n}", team.slug, t(3), t(2)),
                {"kind": "incident", "id": f"xi{n}", "occurred_at": t(4), "caused_by_deploy": "w0"},
                {"kind": "ticket", "id": f"xt{n}", "team": team.slug, "occurred_at": t(2)},
                {
                    "kind": "first_deploy",
                    "id": f"xf{n}",
                    "occurred_at": t(5),
                    "subject": person.email,
                    "joined_at": t(1),
                },
            ],
        )

    with django_assert_num_queries(len(small)):
        readings = ingested_readings(organization=organization, start=START, end=END)
    assert len(readings) == 1 + 5 + 30
