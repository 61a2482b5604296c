"""The real-worker tests' own queue (worker_fixtures.route_tasks_to) must take every task,
whatever ran before it in the same test process: a stale route sends delivery tasks to the
project's "delivery" queue, where no test worker listens, and the worker tests wait in vain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.transform.worker_fixtures import route_tasks_to
from transform.celery import app as project_app
from transform.outbox.services import DELIVER_TASK, DISPATCH_TASK


@pytest.fixture
def project_routes_restored() -> Iterator[None]:
    yield
    route_tasks_to(settings.CELERY_TASK_DEFAULT_QUEUE)


def _queue_of(task_name: str) -> str:
    return str(project_app.amqp.router.route({}, task_name)["queue"].name)


@pytest.mark.usefixtures("project_routes_restored")
def test_an_own_queue_takes_delivery_tasks_after_an_earlier_publish_prepared_the_routes() -> None:
    assert _queue_of(DELIVER_TASK) == "delivery"  # as a publish earlier in the process does

    route_tasks_to("transform-test-own")

    assert _queue_of(DELIVER_TASK) == "transform-test-own"
    assert _queue_of(DISPATCH_TASK) == "transform-test-own"
    assert _queue_of("transform.plan_checkins") == "transform-test-own"


@pytest.mark.usefixtures("project_routes_restored")
def test_the_project_routes_come_back_after_the_own_queue() -> None:
    route_tasks_to("transform-test-own")
    _queue_of(DELIVER_TASK)

    route_tasks_to(settings.CELERY_TASK_DEFAULT_QUEUE)

    assert _queue_of(DELIVER_TASK) == "delivery"
    assert _queue_of("transform.plan_checkins") == "default"
