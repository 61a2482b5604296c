"""Query counts of the transformation read endpoints stay flat as plans grow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

import teams.selectors
from teams.models import Organization, Role
from tests.builders import chain_transformation
from tests.factories import (
    MilestoneEventFactory,
    OrganizationRoleFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from transform.models import Milestone

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_and_plans(organization: Organization) -> tuple[APIClient, dict[int, Any]]:
    user: Any = UserFactory(username="reader")
    OrganizationRoleFactory(organization=organization, user=user, role=Role.MEMBER)
    PersonFactory(organization=organization, email="lead@acme.test")
    for slug in ("web", "app"):
        TeamFactory(organization=organization, slug=slug)
    plans = {
        count: chain_transformation(organization, count=count, owner="lead@acme.test")
        for count in (3, 30)
    }
    for transformation in plans.values():
        for milestone in transformation.milestones.all()[:2]:
            MilestoneEventFactory(milestone=milestone, kind="status", reason="more")
    client = APIClient()
    client.force_login(user)
    return client, plans


def _count(client: APIClient, path: str) -> int:
    # Cold, as after a change: the cached analysis and readings would hide what a miss costs.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


PATHS: list[Callable[[Any], str]] = [
    lambda t: f"/api/v1/transformations/{t.pk}/plan/",
    lambda t: f"/api/v1/transformations/{t.pk}/milestones/",
    lambda t: f"/api/v1/transformations/{t.pk}/",
    lambda t: f"/api/v1/milestones/{t.milestones.last().pk}/",
    lambda t: f"/api/v1/milestones/{t.milestones.first().pk}/events/",
]


@pytest.mark.parametrize("path", PATHS)
def test_the_read_endpoints_run_as_many_queries_for_30_milestones_as_for_3(
    client_and_plans: Any, path: Callable[[Any], str], django_assert_num_queries: Any
) -> None:
    client, plans = client_and_plans
    small = _count(client, path(plans[3]))
    large_path = path(plans[30])
    cache.clear()

    with django_assert_num_queries(small):
        response = client.get(large_path)
    assert response.status_code == 200


def test_the_transformation_list_runs_a_fixed_number_of_queries(
    client_and_plans: Any, organization: Organization, django_assert_num_queries: Any
) -> None:
    client, _plans = client_and_plans
    few = _count(client, "/api/v1/orgs/acme/transformations/")
    PersonFactory(organization=organization, email="lead2@acme.test")
    chain_transformation(organization, count=4, owner="lead2@acme.test")

    with django_assert_num_queries(few):
        response = client.get("/api/v1/orgs/acme/transformations/")
    assert response.json()["count"] == 3


def test_the_plan_analyses_the_organisation_once_whatever_the_number_of_milestones(
    client_and_plans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, plans = client_and_plans
    real = teams.selectors.analyze_snapshot
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    # A pass-through spy: the real analysis runs; only the number of runs is recorded.
    monkeypatch.setattr(teams.selectors, "analyze_snapshot", counting)
    cache.clear()

    response = client.get(f"/api/v1/transformations/{plans[30].pk}/plan/")
    again = client.get(f"/api/v1/transformations/{plans[30].pk}/plan/")

    assert response.status_code == again.status_code == 200
    assert (
        Milestone.objects.filter(transformation=plans[30]).exclude(exit_criteria=[]).count() == 15
    )
    # Once, and not again while the topology is unchanged: the live analysis is cached.
    assert len(calls) == 1
    assert again.json() == response.json()
    statuses = {r["status"] for m in response.json()["milestones"] for r in m["exit_criteria"]}
    assert statuses == {"fail", "unknown"}
