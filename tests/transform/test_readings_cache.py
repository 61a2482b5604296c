"""The cached ingested readings: an unchanged organisation costs one query for a window already
computed, and every write the figures depend on (events ingested, saved or deleted one by one,
the topology) gives a new key, so a stale figure is never read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache

from teams.models import Organization, Team, TeamType
from tests.builders import make_team
from transform.evidence.selectors import (
    dora_by_team_and_unit,
    ingested_readings,
    readings_hour,
    readings_versions_get,
)
from transform.evidence.services import signal_events_ingest
from transform.models import SignalEvent, SignalEventsVersion

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 8, tzinfo=dt.UTC)


def deploy(id: str, team: str, day: int) -> dict[str, Any]:
    at = dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC).isoformat()
    return {"kind": "deploy", "id": id, "team": team, "occurred_at": at, "commit_times": [at]}


def ingest(organization: Organization, *records: dict[str, Any]) -> None:
    signal_events_ingest(organization=organization, records=list(records), source="test", at=END)


def deploys(organization: Organization, team: Team | None = None) -> float:
    readings = ingested_readings(organization=organization, start=START, end=END)
    return readings[team.pk if team else None]["deployment_frequency"].value


@pytest.fixture
def web(organization: Organization) -> Team:
    cache.clear()
    return make_team(organization, "web", type=TeamType.STREAM_ALIGNED)


def test_the_same_window_again_costs_one_query_and_none_with_the_versions_read_before(
    organization: Organization, web: Team, django_assert_num_queries: Any
) -> None:
    ingest(organization, deploy("d1", "web", 2), deploy("d2", "web", 3))
    window: dict[str, Any] = {"start": START, "end": END, "min_change_age": dt.timedelta(0)}
    first = ingested_readings(organization=organization, **window)

    with django_assert_num_queries(1):
        again = ingested_readings(organization=organization, **window)
    versions = readings_versions_get(organization=organization)
    with django_assert_num_queries(0):
        passed = ingested_readings(organization=organization, versions=versions, **window)

    assert again == first == passed
    assert first[web.pk]["deployment_frequency"].value == pytest.approx(2 / 7)


def test_an_ingest_is_in_the_next_reading_and_an_identical_one_keeps_the_cache(
    organization: Organization, web: Team
) -> None:
    ingest(organization, deploy("d1", "web", 2))
    assert deploys(organization, web) == pytest.approx(1 / 7)
    version = SignalEventsVersion.objects.get(organization=organization).version

    ingest(organization, deploy("d1", "web", 2))  # the same record: nothing written
    assert SignalEventsVersion.objects.get(organization=organization).version == version

    ingest(organization, deploy("d2", "web", 4))
    assert SignalEventsVersion.objects.get(organization=organization).version != version
    assert deploys(organization, web) == pytest.approx(2 / 7)


def test_an_event_saved_or_deleted_on_its_own_is_in_the_next_reading(
    organization: Organization, web: Team
) -> None:
    ingest(organization, deploy("d1", "web", 2), deploy("d2", "web", 3))
    assert deploys(organization) == pytest.approx(2 / 7)

    # As the admin does: one row saved, then one deleted.
    event = SignalEvent.objects.get(external_id="d2")
    event.occurred_at = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)  # out of the window
    event.save()
    assert deploys(organization) == pytest.approx(1 / 7)

    SignalEvent.objects.get(external_id="d1").delete()
    readings = ingested_readings(organization=organization, start=START, end=END)
    assert "deployment_frequency" not in readings[web.pk] or (
        readings[web.pk]["deployment_frequency"].value == 0
    )


def test_a_topology_change_is_in_the_next_reading(organization: Organization, web: Team) -> None:
    ingest(organization, deploy("d1", "web", 2))
    before = ingested_readings(organization=organization, start=START, end=END)

    app = make_team(organization, "app", type=TeamType.STREAM_ALIGNED)
    after = ingested_readings(organization=organization, start=START, end=END)

    assert app.pk not in before
    assert app.pk in after


def test_each_window_and_cut_off_has_its_own_figures(organization: Organization, web: Team) -> None:
    ingest(organization, deploy("d1", "web", 2), deploy("d2", "web", 6))
    week = deploys(organization, web)
    first_days = ingested_readings(
        organization=organization, start=START, end=dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    )[web.pk]["deployment_frequency"].value

    assert week == pytest.approx(2 / 7)
    assert first_days == pytest.approx(1 / 3)


def test_an_open_window_ends_at_the_start_of_the_hour() -> None:
    moment = dt.datetime(2026, 3, 4, 10, 59, 58, 5, tzinfo=dt.UTC)

    assert readings_hour(moment) == dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC)


def test_the_dora_breakdown_is_cached_like_the_readings(
    organization: Organization, web: Team, django_assert_num_queries: Any
) -> None:
    ingest(organization, deploy("d1", "web", 2))
    window: dict[str, Any] = {"start": START, "end": END, "min_change_age": dt.timedelta(0)}
    first = dora_by_team_and_unit(organization=organization, **window)

    with django_assert_num_queries(1):
        again = dora_by_team_and_unit(organization=organization, **window)
    ingest(organization, deploy("d2", "web", 3))
    after = dora_by_team_and_unit(organization=organization, **window)

    assert again == first
    [team] = after.teams
    assert team.dora is not None
    assert team.dora.deployment_frequency == pytest.approx(2 / 7)
