"""The living demo's delivery events are described apart from the story (issue 17: demo.py had
grown to hold both): ``demo_signal_records`` reads the topology in three queries, writes nothing,
and gives the same records for the same arguments, a deploy every week and fewer tickets at the
end than at the start."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command

from teams.models import Organization, TeamType
from tests.factories import OrganizationFactory, TeamFactory
from transform.demo_signals import demo_signal_records

AT = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
WEEKS = 17
START = AT - dt.timedelta(weeks=WEEKS)


@pytest.mark.django_db
def test_the_demo_events_are_described_without_writing_and_the_same_every_time(
    django_assert_num_queries: Any,
) -> None:
    call_command("load_demo", "--password", "x", stdout=io.StringIO())
    organization = Organization.objects.get(slug="demo")

    with django_assert_num_queries(3):
        first = demo_signal_records(
            organization=organization, start=START, weeks=WEEKS, at=AT, seed=18
        )
    again = demo_signal_records(organization=organization, start=START, weeks=WEEKS, at=AT, seed=18)

    assert first == again
    kinds = Counter(record["kind"] for record in first)
    assert {"deploy", "incident", "ticket", "adoption", "first_deploy"} <= set(kinds)
    deploy_weeks = {
        (dt.datetime.fromisoformat(r["occurred_at"]) - START) // dt.timedelta(weeks=1)
        for r in first
        if r["kind"] == "deploy"
    }
    assert deploy_weeks >= set(range(WEEKS))
    tickets = Counter(
        (dt.datetime.fromisoformat(r["occurred_at"]) - START) // dt.timedelta(weeks=1)
        for r in first
        if r["kind"] == "ticket"
    )
    assert sum(tickets[w] for w in range(4)) > sum(tickets[w] for w in range(WEEKS - 4, WEEKS))
    assert all(dt.datetime.fromisoformat(r["occurred_at"]) < AT for r in first)


@pytest.mark.django_db
def test_no_weeks_or_only_silos_describe_no_deploys_and_never_fail() -> None:
    only_silos: Any = OrganizationFactory(slug="silos")
    TeamFactory(organization=only_silos, slug="dba", type=TeamType.OPS_SILO)

    no_weeks = demo_signal_records(organization=only_silos, start=AT, weeks=0, at=AT, seed=1)
    silos = demo_signal_records(organization=only_silos, start=START, weeks=WEEKS, at=AT, seed=1)

    assert no_weeks == []
    assert not [record for record in silos if record["kind"] in {"deploy", "adoption"}]
