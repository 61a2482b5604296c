"""DORA per team and rolled up per unit (``dora_by_team_and_unit``, ``GET /api/v1/orgs/{org}/dora/``)
and the organisation's lead-time cut-off (``CheckinSettings.lead_time_min_change_minutes``) on the
exit-criteria path. (The reference month under both settings, through the setting and this API:
tests/transform/test_dora_reference.py.)

The four weeks from Monday 3 March 2025 in acme. Units: ``eng`` with the sub-unit ``web-unit``,
and ``ops-unit``. Teams: ``shop`` (in web-unit), ``app`` (in eng), ``ops`` (in ops-unit) and
``loner`` (no unit, no events). Figures worked out by hand in the tests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from teams.models import Organization, Role, Team, TeamType
from tests.factories import (
    OrganizationFactory,
    OrganizationRoleFactory,
    OrgUnitFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from transform.evidence.records import iso_utc
from transform.evidence.selectors import dora_by_team_and_unit, ingested_readings
from transform.evidence.services import signal_events_ingest
from transform.models import CheckinSettings
from transform.readiness.selectors import organization_readings_get

pytestmark = pytest.mark.django_db

URL = "/api/v1/orgs/acme/dora/"
START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
END = dt.datetime(2025, 3, 31, tzinfo=dt.UTC)
WINDOW = {"start": iso_utc(START), "end": iso_utc(END)}


def at(day: int, hour: int = 0) -> str:
    return iso_utc(dt.datetime(2025, 3, day, hour, tzinfo=dt.UTC))


def deploy(id: str, team: str, when: str, *ages_hours: int) -> dict[str, Any]:
    """A deploy shipping one commit per age (hours from commit to deploy)."""
    moment = dt.datetime.fromisoformat(when)
    commits = [iso_utc(moment - dt.timedelta(hours=age)) for age in ages_hours]
    return {"kind": "deploy", "id": id, "team": team, "occurred_at": when, "commit_times": commits}


def incident(id: str, team: str, start: str, end: str, cause: str | None = None) -> dict[str, Any]:
    return {
        "kind": "incident",
        "id": id,
        "team": team,
        "occurred_at": start,
        "resolved_at": end,
        "caused_by_deploy": cause,
    }


MONTH = [
    # shop: a deploy in each week; changes of 1, 24, 2 and 12 h; s2 and s3 failed.
    deploy("s1", "shop", at(3, 10), 1, 24),
    deploy("s2", "shop", at(10, 9), 2),
    deploy("s3", "shop", at(17, 12), 12),
    deploy("s4", "shop", at(24, 10)),  # a redeploy: no commit
    # app: changes of 4 and 5 h, nothing failed.
    deploy("a1", "app", at(4, 12), 4),
    deploy("a2", "app", at(18, 20), 5),
    # ops recorded i1, which shop's s2 caused (3 h); i2 is shop's own (12 h); i3, an outage no
    # deploy caused, is ops's own (5 h).
    incident("i1", "ops", at(10, 10), at(10, 13), cause="s2"),
    incident("i2", "shop", at(17, 13), at(18, 1), cause="s3"),
    incident("i3", "ops", at(21), at(21, 5)),
]


@pytest.fixture
def teams(organization: Organization) -> dict[str, Team]:
    eng = OrgUnitFactory(organization=organization, slug="eng", name="Engineering")
    web = OrgUnitFactory(organization=organization, slug="web-unit", name="Web", parent=eng)
    ops = OrgUnitFactory(organization=organization, slug="ops-unit", name="Operations")
    found: dict[str, Any] = {
        "shop": TeamFactory(organization=organization, slug="shop", unit=web),
        "app": TeamFactory(organization=organization, slug="app", unit=eng),
        "ops": TeamFactory(organization=organization, slug="ops", unit=ops, type=TeamType.OPS_SILO),
        "loner": TeamFactory(organization=organization, slug="loner"),
    }
    signal_events_ingest(organization=organization, records=MONTH, source="test", at=END)
    return found


def client_for(organization: Organization, role: str | None) -> APIClient:
    """A client of a user with ``role`` in acme; None: an admin of another organisation only."""
    user: Any = UserFactory(username=f"{role or 'stranger'}-user")
    where = organization if role is not None else OrganizationFactory(slug="elsewhere")
    OrganizationRoleFactory(organization=where, user=user, role=role or Role.ADMIN)
    client = APIClient()
    client.force_authenticate(user)
    return client


def rows(client: APIClient, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get(URL, {**WINDOW, **params})
    assert response.status_code == 200, response.json()
    return {row["slug"]: row for row in response.json()["results"]}


def set_cut_off(organization: Organization, minutes: int) -> None:
    admin = client_for(organization, Role.ADMIN)
    response = admin.patch(
        "/api/v1/orgs/acme/checkin-settings/",
        {"lead_time_min_change_minutes": minutes},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["lead_time_min_change_minutes"] == minutes


# --- the lead-time setting ------------------------------------------------------------------------


def test_the_exit_criteria_readings_follow_the_organisations_lead_time_setting(
    organization: Organization,
) -> None:
    TeamFactory(organization=organization, slug="web")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    deployed = now - dt.timedelta(hours=1)
    signal_events_ingest(
        organization=organization,
        records=[
            {
                "kind": "deploy",
                "id": "d1",
                "team": "web",
                "occurred_at": iso_utc(deployed),
                # 30 s and 2 h before the deploy.
                "commit_times": [
                    iso_utc(deployed - dt.timedelta(seconds=30)),
                    iso_utc(deployed - dt.timedelta(hours=2)),
                ],
            }
        ],
        source="test",
        at=now,
    )

    dora_dev = organization_readings_get(organization=organization, at=now)
    set_cut_off(organization, 1)
    four_keys = organization_readings_get(organization=organization, at=now)

    # Median of 30 s and 2 h; then only the 2 h change.
    assert dora_dev["lead_time_for_changes"].value == pytest.approx((30 / 3600 + 2) / 2)
    assert four_keys["lead_time_for_changes"].value == pytest.approx(2.0)


@pytest.mark.parametrize("minutes", [-1, 1441])
def test_a_cut_off_outside_zero_to_a_day_is_refused(
    organization: Organization, minutes: int
) -> None:
    admin = client_for(organization, Role.ADMIN)

    response = admin.patch(
        "/api/v1/orgs/acme/checkin-settings/",
        {"lead_time_min_change_minutes": minutes},
        format="json",
    )

    assert response.status_code == 400
    assert "lead_time_min_change_minutes" in response.json()["extra"]["fields"]
    assert not CheckinSettings.objects.filter(organization=organization).exists()


def test_the_database_refuses_a_cut_off_longer_than_a_day(organization: Organization) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CheckinSettings.objects.create(organization=organization, lead_time_min_change_minutes=1441)


# --- per team and per unit ------------------------------------------------------------------------


def test_a_unit_is_computed_over_the_union_of_its_teams_events_not_an_average(
    organization: Organization, teams: dict[str, Team]
) -> None:
    leader = client_for(organization, Role.LEADER)

    units = rows(leader, by="unit")

    assert list(units) == ["eng", "web-unit", "ops-unit"]  # a parent before its sub-units
    eng = units["eng"]
    assert eng["teams"] == ["app", "shop"]  # shop through its sub-unit web-unit
    assert eng["unit"] is None
    figures = eng["figures"]
    # 4 + 2 deploys over 28 days; every week has one.
    assert figures["deploy_count"] == 6
    assert figures["deployment_frequency"] == pytest.approx(6 / 28)
    assert figures["deployment_frequency_band"] == "daily"
    # Changes of 1, 2, 4, 5, 12, 24 h -> (4 + 5) / 2 = 4.5 h; the average of the team medians
    # (shop 7 h, app 4.5 h) would be 5.75 h.
    assert figures["lead_time_for_changes"] == pytest.approx(4.5)
    assert figures["change_count"] == 6
    # 2 failed deploys (s2, s3) of 6; the average of the team rates (0.5 and 0) would be 0.25.
    assert figures["change_failure_rate"] == pytest.approx(2 / 6)
    # Recovered deploy-caused failures i1 (3 h) and i2 (12 h) -> 7.5 h.
    assert figures["failed_deployment_recovery_time"] == pytest.approx(7.5)
    # web-unit holds shop alone: shop's figures.
    web = units["web-unit"]
    assert (web["unit"], web["teams"]) == ("eng", ["shop"])
    assert web["figures"]["deploy_count"] == 4
    assert web["figures"]["lead_time_for_changes"] == pytest.approx(7.0)
    assert web["figures"]["change_failure_rate"] == pytest.approx(0.5)
    # ops recorded i1, but shop's s2 caused it; only i3, an outage, is its own: no deploy, no
    # failed deploy, no recovery. No data, never a made-up 0.
    ops = units["ops-unit"]["figures"]
    assert ops["deploy_count"] == 0
    assert ops["deployment_frequency"] is None
    assert ops["deployment_frequency_band"] is None
    assert ops["lead_time_for_changes"] is None
    assert ops["change_failure_rate"] is None
    assert ops["failed_deployment_recovery_time"] is None


def test_teams_read_as_in_the_readings_and_a_team_without_events_has_no_data(
    organization: Organization, teams: dict[str, Team]
) -> None:
    found = rows(client_for(organization, Role.CHANGE_AGENT))

    assert list(found) == ["app", "loner", "ops", "shop"]
    assert found["shop"]["unit"] == "web-unit"
    assert found["loner"]["unit"] is None
    assert found["loner"]["figures"]["deployment_frequency"] is None
    assert found["loner"]["figures"]["deploy_count"] == 0
    app = found["app"]["figures"]
    assert app["lead_time_for_changes"] == pytest.approx(4.5)
    assert app["change_failure_rate"] == 0.0
    assert app["failed_deployment_recovery_time"] is None
    readings = ingested_readings(organization=organization, start=START, end=END)
    for slug, row in found.items():
        reading = readings[teams[slug].pk].get("lead_time_for_changes")
        expected = reading.value if reading is not None else None
        assert row["figures"]["lead_time_for_changes"] == expected


def test_a_cycle_of_units_counts_each_team_once(organization: Organization) -> None:
    a: Any = OrgUnitFactory(organization=organization, slug="a")
    b = OrgUnitFactory(organization=organization, slug="b", parent=a)
    a.parent = b
    a.save()
    TeamFactory(organization=organization, slug="t", unit=a)
    signal_events_ingest(
        organization=organization,
        records=[deploy("t1", "t", at(5, 10), 3)],
        source="test",
        at=END,
    )

    breakdown = dora_by_team_and_unit(organization=organization, start=START, end=END)

    assert [(u.slug, u.depth, u.teams) for u in breakdown.units] == [
        ("a", 0, ("t",)),
        ("b", 1, ("t",)),
    ]
    assert all(u.dora is not None and u.dora.deploy_count == 1 for u in breakdown.units)


# --- access and input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 200),
        (Role.CHANGE_AGENT, 200),
        (Role.LEADER, 200),
        (Role.ENGINEERING_MANAGER, 403),
        (Role.MEMBER, 403),
        (None, 404),
    ],
)
def test_units_are_read_by_admins_change_agents_and_leaders(
    organization: Organization, teams: dict[str, Team], role: str | None, status: int
) -> None:
    response = client_for(organization, role).get(URL, {**WINDOW, "by": "unit"})

    assert response.status_code == status
    if status != 200:
        assert set(response.json()) == {"message", "extra"}


def test_an_engineering_manager_reads_only_the_teams_they_manage(
    organization: Organization, teams: dict[str, Team]
) -> None:
    client = client_for(organization, Role.ENGINEERING_MANAGER)
    manager: Any = PersonFactory(
        organization=organization, user=User.objects.get(username="engineering_manager-user")
    )
    teams["app"].manager = manager
    teams["app"].save()

    assert list(rows(client)) == ["app"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2025-03-03T00:00:00", "end": "2025-03-31T00:00:00Z"}, "start"),
        ({"start": "2025-03-31T00:00:00Z", "end": "2025-03-03T00:00:00Z"}, "end"),
        ({"start": "2024-01-01T00:00:00Z", "end": "2025-03-03T00:00:00Z"}, "start"),
        ({"by": "person"}, "by"),
    ],
)
def test_a_naive_reversed_or_too_long_window_and_an_unknown_grouping_are_refused(
    organization: Organization, teams: dict[str, Team], params: dict[str, str], field: str
) -> None:
    response = client_for(organization, Role.LEADER).get(URL, params)

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


def test_the_window_defaults_to_the_last_28_days(
    organization: Organization, teams: dict[str, Team]
) -> None:
    body = client_for(organization, Role.LEADER).get(URL).json()

    start = dt.datetime.fromisoformat(body["start"])
    end = dt.datetime.fromisoformat(body["end"])
    assert end - start == dt.timedelta(days=28)


@pytest.mark.parametrize("by", ["team", "unit"])
def test_the_number_of_queries_does_not_grow_with_teams_units_or_events(
    organization: Organization, teams: dict[str, Team], by: str
) -> None:
    leader = client_for(organization, Role.LEADER)
    with CaptureQueriesContext(connection) as small:
        leader.get(URL, {**WINDOW, "by": by})
    for n in range(20):
        unit = OrgUnitFactory(organization=organization, slug=f"unit-x{n}")
        OrgUnitFactory(organization=organization, slug=f"unit-y{n}", parent=unit)
        team: Any = TeamFactory(organization=organization, slug=f"extra-{n}", unit=unit)
        signal_events_ingest(
            organization=organization,
            records=[deploy(f"x{n}", team.slug, at(5), 24)],
            source="test",
            at=END,
        )

    with CaptureQueriesContext(connection) as big:
        response = leader.get(URL, {**WINDOW, "by": by})

    assert response.status_code == 200
    assert len(response.json()["results"]) == (24 if by == "team" else 43)
    assert len(big) == len(small)
