"""Graph checks of exit criteria are judged once per topology version: every page and verdict on
an unchanged graph reads no snapshot, and any write to the topology gives the next verdict on
the new graph."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache

from teams.models import InteractionMode, Organization, TeamType
from tests.builders import make_organization, make_team
from tests.factories import InteractionFactory
from transform.plans.selectors import milestone_criteria_evaluate

pytestmark = pytest.mark.django_db

GATEKEEPERS = {"graph": "no_ticket_dependencies_on_gatekeepers"}


def verdicts(organization: Organization, *criteria: dict[str, Any]) -> list[str]:
    milestone: Any = SimpleNamespace(pk=1, exit_criteria=list(criteria))
    found = milestone_criteria_evaluate(organization=organization, milestones=[milestone])
    return [result.status for result in found[1]]


def test_graph_verdicts_are_read_from_the_cache_until_the_topology_changes(
    django_assert_max_num_queries: Any,
) -> None:
    cache.clear()
    organization = make_organization("acme")
    squad = make_team(organization, "web", type=TeamType.STREAM_ALIGNED)
    silo = make_team(organization, "dba", type=TeamType.OPS_SILO)
    ticket: Any = InteractionFactory(
        source=squad, target=silo, mode=InteractionMode.TICKET_DEPENDENCY
    )

    assert verdicts(organization, GATEKEEPERS) == ["fail"]
    # The analysis key only: no snapshot, no team history, no analysis.
    with django_assert_max_num_queries(1):
        assert verdicts(organization, GATEKEEPERS) == ["fail"]

    ticket.mode = InteractionMode.X_AS_A_SERVICE
    ticket.save()

    assert verdicts(organization, GATEKEEPERS) == ["pass"]


def test_graph_and_signal_verdicts_keep_the_order_of_the_criteria() -> None:
    cache.clear()
    organization = make_organization("acme")
    make_team(organization, "web", type=TeamType.STREAM_ALIGNED)
    signal = {"signal": "deployment_frequency", "op": ">=", "value": 1}

    found = verdicts(organization, signal, GATEKEEPERS, signal)

    # No deploy was ever ingested: the signal is unknown; nothing waits on a gatekeeper.
    assert found == ["unknown", "pass", "unknown"]
