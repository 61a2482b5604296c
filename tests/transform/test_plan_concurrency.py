"""Concurrent changes to milestones of one plan: each may rewrite every milestone's schedule, so
they run one after the other (the plan's row is locked first) and never deadlock."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection

from playbooks.services import playbook_load
from tests.factories import OrganizationFactory, PersonFactory
from transform.models import Milestone
from transform.plans.services import milestone_reschedule, transformation_start

START = dt.date(2027, 1, 4)
ROUNDS = 6

# Two parallel milestones before a third: slipping one makes it critical and the other not, so
# each reschedule rewrites the other's row too (the pattern that deadlocked two requests).
FORK = """\
key: fork
version: 1
title: Fork and join
summary: Two parallel milestones, then one after both.
phases:
  - key: only
    title: The only phase
    milestones:
      - key: left
        title: Left
        why: Because.
        how: Somehow.
        duration_days: 5
        owner_role: change_agent
      - key: right
        title: Right
        why: Because.
        how: Somehow.
        duration_days: 5
        owner_role: change_agent
      - key: join
        title: Join
        why: Because.
        how: Somehow.
        duration_days: 5
        depends_on: [left, right]
        owner_role: change_agent
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_reschedules_of_one_plan_run_one_after_the_other() -> None:
    organization: Any = OrganizationFactory()
    PersonFactory(organization=organization, email="lead@acme.test")
    playbook_load(organization=organization, path="fork.yaml", text=FORK)
    plan = transformation_start(
        organization=organization,
        playbooks=["fork"],
        start_date=START,
        owner_email="lead@acme.test",
        today=START,
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def slip(key: str, offset: int) -> None:
        try:
            milestone = Milestone.objects.get(transformation=plan, key=key)
            for round_ in range(ROUNDS):
                barrier.wait(timeout=30)
                due = START + dt.timedelta(days=10 + 2 * round_ + offset)
                milestone_reschedule(
                    milestone=milestone, forecast_due=due, reason="slip", actor=None, today=START
                )
        except BaseException as exc:  # a deadlock, or the other thread's broken barrier
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=slip, args=("left", 0)),
        threading.Thread(target=slip, args=("right", 1)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    join = Milestone.objects.get(transformation=plan, key="join")
    right = Milestone.objects.get(transformation=plan, key="right")
    assert right.reported_due == START + dt.timedelta(days=10 + 2 * (ROUNDS - 1) + 1)
    assert join.forecast_start is not None
    assert join.forecast_start >= right.reported_due
