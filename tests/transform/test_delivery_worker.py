"""Delivery with real Celery workers: the reliability promises of docs/delivery.md, tested.

The broker is the project's (Redis in CI through CELERY_BROKER_URL, the filesystem transport
locally); mail goes to a local fake SMTP server (tests/transform/fakes.py) that records what it
accepts, with the ``X-Transform-Delivery`` header telling which row each message is. Workers run
either in a thread of this process (celery.contrib.testing) or, to be killed, as a separate
``celery worker`` process on the same test database. Waiting is by polling with deadlines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from teams.models import Person, Role
from tests.builders import chain_transformation
from tests.factories import (
    OrganizationFactory,
    OrganizationRoleFactory,
    PersonFactory,
    UserFactory,
)
from tests.transform.fakes import wait_until
from tests.transform.worker_fixtures import (
    DEADLINE,
    TaskTracker,
    ThreadWorker,
    WorkerProcess,
    all_sent,
    queue_messages,
    states,
    use_shared_cache,
)
from transform.checkins.tasks import plan_checkins
from transform.models import (
    CheckIn,
    Delivery,
    DeliveryStatus,
    Milestone,
    MilestoneStatus,
)
from transform.outbox.journal import journal_sent
from transform.outbox.services import dispatch_due
from transform.outbox.tasks import deliver_checkins, dispatch_deliveries
from transform.readiness.tasks import compute_readiness
from transform.rhythm import links

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people() -> list[Person]:
    organization = OrganizationFactory(slug="acme", name="Acme")
    people: list[Any] = [
        PersonFactory(organization=organization, email=f"p{n}@acme.test", name=f"P{n}")
        for n in range(5)
    ]
    return people


# --- (a) double dispatch -------------------------------------------------------------------------


@pytest.mark.usefixtures("thread_worker")
def test_the_same_batch_sent_twice_and_two_dispatches_deliver_each_message_once(
    people, smtp, tracker
):
    ids = queue_messages(people, at=timezone.now() - dt.timedelta(seconds=1))

    deliver_checkins.delay(delivery_ids=ids)
    deliver_checkins.delay(delivery_ids=ids)
    dispatch_deliveries.delay()
    dispatch_deliveries.delay()
    tracker.wait()

    assert all_sent(ids)
    assert smtp.delivery_counts() == {pk: 1 for pk in ids}
    assert smtp.connections == 1  # one batch, one connection
    assert {attempts for _status, attempts in states(ids)} == {1}


# --- the beat jobs -----------------------------------------------------------------------------


@pytest.mark.usefixtures("thread_worker")
def test_the_planning_job_sends_a_status_checkin_once_through_the_worker(smtp, tracker):
    organization: Any = OrganizationFactory(slug="acme", name="Acme")
    owner: Any = PersonFactory(organization=organization, email="o@acme.test", name="Owen")
    transformation = chain_transformation(organization, count=2, owner=owner.email)
    Milestone.objects.filter(transformation=transformation, key="step-0").update(
        status=MilestoneStatus.IN_PROGRESS
    )
    at = "2027-01-05T09:00:00+00:00"

    plan_checkins.delay(at=at)
    tracker.wait()
    plan_checkins.delay(at=at)
    compute_readiness.delay(at=at)
    tracker.wait()

    (received,) = smtp.received()
    checkin = CheckIn.objects.get(recipient=owner)
    assert received.subject == 'Status check-in: how is "Step 0" going?'
    assert received.rcpt_tos == ("o@acme.test",)
    assert links.checkin_url(checkin) in received.body
    assert Delivery.objects.get(checkin=checkin).status == DeliveryStatus.SENT


# --- (c) a failing SMTP server ---------------------------------------------------------------------


def _dispatch_and_settle(tracker: TaskTracker, at: dt.datetime) -> None:
    dispatch_deliveries.delay(at=at.isoformat())
    tracker.wait()


@pytest.mark.usefixtures("thread_worker")
def test_a_refusing_server_gets_retries_with_backoff_then_the_messages_show_as_failed(
    people, smtp, tracker, settings
):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.DELIVERY_RETRY_SECONDS = 60
    smtp.set_mode("refuse")
    # The tasks' clock may run ahead of the real one (never behind), so a day ahead the test
    # walks through the backoff without waiting for it.
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    ids = queue_messages(people[:3], at=start)
    seen = []

    for at in (start, start + dt.timedelta(seconds=30), start + dt.timedelta(seconds=60)):
        _dispatch_and_settle(tracker, at)
        row = Delivery.objects.get(pk=ids[0])
        seen.append((row.status, row.attempts, row.next_attempt_at - start))
    _dispatch_and_settle(tracker, start + dt.timedelta(seconds=180))

    assert seen == [
        ("pending", 1, dt.timedelta(seconds=60)),
        ("pending", 1, dt.timedelta(seconds=60)),  # at +30 s the backoff was not over
        ("pending", 2, dt.timedelta(seconds=180)),  # +60 s then twice as long
    ]
    assert states(ids) == [("failed", 3)] * 3
    assert smtp.received() == []
    admin: Any = UserFactory(username="outbox-admin")
    OrganizationRoleFactory(organization=people[0].organization, user=admin, role=Role.ADMIN)
    client = APIClient()
    client.force_login(admin)
    listed = client.get("/api/v1/orgs/acme/deliveries/?status=failed").json()["results"]
    assert sorted(item["id"] for item in listed) == sorted(ids)
    assert {item["attempts"] for item in listed} == {3}
    assert all(
        item["last_error"].startswith("gave up after 3 attempts: could not connect")
        for item in listed
    )


@pytest.mark.usefixtures("thread_worker")
def test_a_server_back_before_the_last_attempt_gets_each_message_once(
    people, smtp, tracker, settings
):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.DELIVERY_RETRY_SECONDS = 60
    smtp.set_mode("refuse")
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    ids = queue_messages(people[:3], at=start)

    _dispatch_and_settle(tracker, start)
    assert states(ids) == [("pending", 1)] * 3
    smtp.set_mode("accept")
    _dispatch_and_settle(tracker, start + dt.timedelta(seconds=60))
    _dispatch_and_settle(tracker, start + dt.timedelta(seconds=600))

    assert states(ids) == [("sent", 2)] * 3
    assert smtp.delivery_counts() == {pk: 1 for pk in ids}


# --- (b) a worker killed mid-task ------------------------------------------------------------------


@pytest.fixture
def workers(worker_in_thread: ThreadWorker, purged_broker: None) -> Iterator[list[WorkerProcess]]:
    worker_in_thread.ensure_stopped()
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture(params=["shared cache", "per-process cache"])
def cache_kind(request: pytest.FixtureRequest, settings: Any) -> str:
    """Redis shared with the workers (the sent journal on, DELIVERY_MARK_EVERY "auto" = 25), or
    each process's own memory (no journal, "auto" = 1)."""
    if request.param == "shared cache":
        use_shared_cache(settings)
    return str(request.param)


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    cache_kind, people, smtp, settings, workers, tmp_path, task_queue
):
    # The default DELIVERY_MARK_EVERY either way: with a shared cache, sent rows are recorded in
    # groups and noted in the sent journal one by one; without one, each is recorded on its own.
    settings.DELIVERY_CLAIM_TIMEOUT_SECONDS = 2
    ids = queue_messages(people, at=timezone.now() - dt.timedelta(seconds=1))
    smtp.hang_on = 3
    smtp.hang_seconds = DEADLINE
    first = WorkerProcess(smtp=smtp, log=tmp_path / "first.log", queue=task_queue)
    workers.append(first)
    first.wait_ready()

    assert dispatch_due(at=timezone.now()) == 5
    assert wait_until(smtp.hanging.is_set, timeout=DEADLINE), first.output()
    first.kill()
    smtp.release()

    # Two messages went out and were recorded (in the journal, or on their rows); the third was
    # in flight; the rest are claimed by the dead worker's task.
    assert len(smtp.received()) == 2
    accepted = {mail.delivery_id for mail in smtp.received()}
    if cache_kind == "shared cache":
        assert [status for status, _attempts in states(ids)] == ["sending"] * 5
        claims = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "claimed_by"))
        assert set(journal_sent(claims) or {}) == accepted
    else:
        assert sorted(status for status, _attempts in states(ids)) == ["sending"] * 3 + ["sent"] * 2

    second = WorkerProcess(smtp=smtp, log=tmp_path / "second.log", queue=task_queue)
    workers.append(second)
    second.wait_ready()
    # Once the dead worker's claim is stale, the dispatcher hands its rows to the live worker
    # (the journaled ones are recorded sent instead).
    handed: list[int] = []

    def dispatched() -> bool:
        handed.append(dispatch_due(at=timezone.now()))
        return sum(handed) > 0

    assert wait_until(dispatched, timeout=DEADLINE, interval=0.2)
    assert sum(handed) == 3
    assert wait_until(lambda: all_sent(ids), timeout=DEADLINE), second.output()

    assert smtp.delivery_counts() == {pk: 1 for pk in ids}
    assert sorted(attempts for _status, attempts in states(ids)) == [1, 1, 2, 2, 2]
