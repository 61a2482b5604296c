"""Celery queues (settings CELERY_TASK_ROUTES, docs/deployment.md#celery-queues): sending on
"delivery", planning and readiness on "default"; a worker without -Q consumes both."""

from __future__ import annotations

import pytest
from celery import Celery
from django.conf import settings

from transform.celery import app
from transform.outbox.services import DELIVER_TASK, DISPATCH_ORGANIZATION_TASK, DISPATCH_TASK


def _queue_of(task_name: str) -> str:
    # A fresh app configured from the settings as the project's is: tests with a worker of their
    # own change the project app's routing while they run.
    fresh = Celery("routing-check")
    fresh.config_from_object("django.conf:settings", namespace="CELERY")
    route = fresh.amqp.router.route({}, task_name)
    return str(route["queue"].name)


@pytest.mark.parametrize("task_name", [DELIVER_TASK, DISPATCH_TASK, DISPATCH_ORGANIZATION_TASK])
def test_sending_tasks_go_to_the_delivery_queue(task_name: str) -> None:
    assert _queue_of(task_name) == "delivery"


@pytest.mark.parametrize("task_name", ["transform.plan_checkins", "transform.compute_readiness"])
def test_planning_and_readiness_go_to_the_default_queue(task_name: str) -> None:
    assert _queue_of(task_name) == "default"


def test_a_worker_without_queues_named_consumes_both() -> None:
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}

    assert declared == {"default", "delivery"}
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "default"


def test_every_routed_task_exists() -> None:
    app.loader.import_default_modules()

    assert set(settings.CELERY_TASK_ROUTES) <= set(app.tasks)
