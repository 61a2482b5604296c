"""A hand-written month of deploys, commits and incidents, with every DORA figure worked out by
hand, under both lead-time settings (docs/signals.md, "Compared with Four Keys"): computed by
``dora_metrics``, then stored and read through the organisation's setting
(``lead_time_min_change_minutes``), the DORA API and ``ingested_readings``.

The window is the four weeks from Monday 3 March 2025 to Monday 31 March 2025 (28 days).
Figures Four Keys would read from the same events are given in comments where they differ.
"""

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from teams.models import Organization, Role, TeamType
from tests.factories import OrganizationRoleFactory, TeamFactory, UserFactory
from transform.evidence.metrics import (
    FOUR_KEYS_MIN_CHANGE_AGE,
    DeployEvent,
    IncidentEvent,
    dora_metrics,
    incident_count,
)
from transform.evidence.records import iso_utc
from transform.evidence.selectors import ingested_readings
from transform.evidence.services import signal_events_ingest

UTC = dt.UTC
START = dt.datetime(2025, 3, 3, tzinfo=UTC)
END = dt.datetime(2025, 3, 31, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


# Change ages (deploy - commit) are noted after each deploy.
DEPLOYS = [
    # Before the window: counts nowhere.
    DeployEvent(
        id="d0", team="shop", deployed_at=at(28, 9, month=2), commit_times=(at(27, month=2),)
    ),
    # Week 1 (3-9 March).
    DeployEvent(id="d1", team="shop", deployed_at=at(3, 10), commit_times=(at(3, 10), at(2, 10))),
    #   0 h (stamped at its head commit), 24 h
    DeployEvent(id="d2", team="shop", deployed_at=at(5, 15), commit_times=(at(5, 14),)),
    #   1 h
    # Week 2 (10-16 March).
    DeployEvent(
        id="d3", team="shop", deployed_at=at(10, 9), commit_times=(at(10, 8, 59, 30), at(7, 9))
    ),
    #   30 s, 72 h
    DeployEvent(id="d4", team="shop", deployed_at=at(12, 16)),
    #   a redeploy: no commit, no lead time
    # Week 3 (17-23 March).
    DeployEvent(
        id="d5", team="shop", deployed_at=at(17, 11), commit_times=(at(17, 5),), is_rework=True
    ),
    #   6 h
    DeployEvent(id="d6", team="shop", deployed_at=at(19, 12), commit_times=(at(19, 12),)),
    #   0 h
    # Week 4 (24-30 March).
    DeployEvent(id="d7", team="shop", deployed_at=at(24, 10), commit_times=(at(23, 22),)),
    #   12 h
    DeployEvent(id="d8", team="shop", deployed_at=at(26, 10), commit_times=(at(26, 8),)),
    #   2 h
]

INCIDENTS = [
    # Two incidents from one deploy: one failed deploy for us, two incidents for Four Keys.
    IncidentEvent(
        id="i1", team="ops", started_at=at(10, 10), resolved_at=at(10, 13), caused_by_deploy="d3"
    ),  # 3 h
    IncidentEvent(
        id="i2", team="ops", started_at=at(10, 14), resolved_at=at(10, 15), caused_by_deploy="d3"
    ),  # 1 h
    IncidentEvent(
        id="i3", team="shop", started_at=at(19, 13), resolved_at=at(20, 1), caused_by_deploy="d6"
    ),  # 12 h
    # Not caused by a deploy (a cloud outage): an incident, not a failed deployment.
    IncidentEvent(id="i4", team="ops", started_at=at(21), resolved_at=at(21, 5)),  # 5 h
    # Caused by d8, still open when the window closes.
    IncidentEvent(id="i5", team="shop", started_at=at(30, 20), caused_by_deploy="d8"),
]


def test_the_reference_month_reads_as_worked_out_by_hand_under_the_dora_default():
    dora = dora_metrics(DEPLOYS, INCIDENTS, window_start=START, window_end=END)

    # d1..d8; d0 is before the window.
    assert dora.deploy_count == 8
    assert dora.deployment_frequency == pytest.approx(8 / 28)  # 0.2857 a day
    # No day has two deploys (not on_demand); each of the 4 weeks has a deploy: daily. (Four
    # Keys: the median week has 2 days with deploys, under its 3 for Daily, so "Weekly".)
    assert dora.deployment_frequency_band == "daily"
    # Ages in hours, sorted: 0, 0, 0.0083 (30 s), 1, 2, 6, 12, 24, 72 -> 9 changes, the 5th is 2.
    assert dora.change_count == 9
    assert dora.short_change_count == 0
    assert dora.lead_time_for_changes == pytest.approx(2.0)
    # Failed deploys: d3 (i1, i2), d6 (i3), d8 (i5, open but started in the window) -> 3 of 8.
    # (Four Keys counts the deploy-caused incidents: i1, i2, i3, i5 -> 4 / 8 = 0.5.)
    assert dora.failed_deploy_count == 3
    assert dora.change_failure_rate == pytest.approx(3 / 8)
    # Recovered deploy-caused failures: i1 3 h, i2 1 h, i3 12 h -> median 3 h; i5 still open;
    # i4 was not caused by a deploy. (Four Keys, all resolved incidents: 1, 3, 5, 12 -> 4 h.)
    assert dora.recovered_failure_count == 3
    assert dora.open_failure_count == 1
    assert dora.failed_deployment_recovery_time == pytest.approx(3.0)
    # Rework: d5 -> 1 of 8.
    assert dora.rework_deploy_count == 1
    assert dora.deployment_rework_rate == pytest.approx(1 / 8)
    # Every incident that started in the window, deploy-caused or not.
    assert incident_count(INCIDENTS, window_start=START, window_end=END) == 5


def test_the_reference_month_under_the_four_keys_cut_off_leaves_out_changes_under_a_minute():
    dora = dora_metrics(
        DEPLOYS,
        INCIDENTS,
        window_start=START,
        window_end=END,
        min_change_age=FOUR_KEYS_MIN_CHANGE_AGE,
    )

    # 0 h, 0 h and 30 s are left out; 1, 2, 6, 12, 24, 72 remain -> median (6 + 12) / 2 = 9 h.
    assert dora.change_count == 6
    assert dora.short_change_count == 3
    assert dora.lead_time_for_changes == pytest.approx(9.0)
    # Nothing else depends on the cut-off.
    assert dora.deploy_count == 8
    assert dora.deployment_frequency_band == "daily"
    assert dora.change_failure_rate == pytest.approx(3 / 8)
    assert dora.failed_deployment_recovery_time == pytest.approx(3.0)
    assert dora.deployment_rework_rate == pytest.approx(1 / 8)


# --- the same month through the organisation's setting ----------------------------------------


def _stored(organization: Organization) -> None:
    """The reference month stored for acme's teams shop and ops, as records."""
    records: list[dict[str, Any]] = [
        {
            "kind": "deploy",
            "id": d.id,
            "team": d.team,
            "occurred_at": iso_utc(d.deployed_at),
            "commit_times": [iso_utc(moment) for moment in d.commit_times],
            "is_rework": d.is_rework,
        }
        for d in DEPLOYS
    ]
    records += [
        {
            "kind": "incident",
            "id": i.id,
            "team": i.team,
            "occurred_at": iso_utc(i.started_at),
            "resolved_at": iso_utc(i.resolved_at) if i.resolved_at is not None else None,
            "caused_by_deploy": i.caused_by_deploy,
        }
        for i in INCIDENTS
    ]
    signal_events_ingest(organization=organization, records=records, source="test", at=END)


def _client(organization: Organization, role: str) -> APIClient:
    user: Any = UserFactory(username=f"reference-{role}")
    OrganizationRoleFactory(organization=organization, user=user, role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_the_stored_month_reads_as_worked_out_by_hand_under_each_organisation_setting(
    organization: Organization,
) -> None:
    shop: Any = TeamFactory(organization=organization, slug="shop")
    TeamFactory(organization=organization, slug="ops", type=TeamType.OPS_SILO)
    _stored(organization)
    leader = _client(organization, Role.LEADER)
    window = {"start": iso_utc(START), "end": iso_utc(END)}

    def read() -> tuple[dict[str, Any], float]:
        body = leader.get("/api/v1/orgs/acme/dora/", window).json()
        figures = {row["slug"]: row for row in body["results"]}["shop"]["figures"]
        figures["minutes"] = body["lead_time_min_change_minutes"]
        readings = ingested_readings(organization=organization, start=START, end=END)
        return figures, readings[shop.pk]["lead_time_for_changes"].value

    # No settings row: the dora.dev default, as in the first test above.
    figures, reading = read()
    assert figures["minutes"] == 0
    assert figures["lead_time_for_changes"] == reading == pytest.approx(2.0)
    assert (figures["change_count"], figures["short_change_count"]) == (9, 0)

    response = _client(organization, Role.ADMIN).patch(
        "/api/v1/orgs/acme/checkin-settings/", {"lead_time_min_change_minutes": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["lead_time_min_change_minutes"] == 1

    # Four Keys' cut-off, as in the second test above: 9 h over 6 changes.
    figures, reading = read()
    assert figures["minutes"] == 1
    assert figures["lead_time_for_changes"] == reading == pytest.approx(9.0)
    assert (figures["change_count"], figures["short_change_count"]) == (6, 3)
    # Nothing else depends on the cut-off.
    assert figures["deploy_count"] == 8
    assert figures["deployment_frequency_band"] == "daily"
    assert figures["change_failure_rate"] == pytest.approx(3 / 8)
    assert figures["failed_deployment_recovery_time"] == pytest.approx(3.0)
