"""The project's Celery app talks to the configured broker and a real worker runs its tasks.

In CI the broker is Redis (CELERY_BROKER_URL); locally it is the filesystem transport under
var/, the same as `make run`. The worker is Celery's own test worker (celery.contrib.testing),
running in a thread of this process with the project's app and configuration, on a queue of this
module's own (``task_queue``): on the project's queues it would also take the tasks other tests
of the run sent there (a commit's dispatch kick) and run them outside any test's database.
"""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from tests.transform.worker_fixtures import task_queue  # noqa: F401 - a fixture, found by name
from transform.celery import app as project_app


@project_app.task(name="tests.write_product")
def write_product(*, path: str, x: int, y: int) -> None:
    # The project runs without a result backend, so the task leaves its proof in a file.
    # Written aside and renamed, so the test never reads a half-written file.
    partial = Path(f"{path}.partial")
    partial.write_text(str(x * y))
    partial.replace(path)


@pytest.fixture(scope="module")
def worker_app(task_queue: str) -> Iterator[Celery]:  # noqa: F811 - the fixture imported above
    project_app.control.purge()
    with start_worker(project_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield project_app


def test_the_app_uses_the_broker_from_the_environment():
    expected = os.environ.get("CELERY_BROKER_URL", "filesystem://")

    assert project_app.conf.broker_url == expected == settings.CELERY_BROKER_URL


def test_a_real_worker_runs_a_task_sent_through_the_configured_broker(worker_app, tmp_path):
    proof = tmp_path / "product.txt"

    write_product.delay(path=str(proof), x=6, y=7)

    deadline = time.monotonic() + 30
    while not proof.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proof.read_text() == "42"


def test_tasks_are_acknowledged_late_so_a_dying_worker_loses_no_work():
    assert project_app.conf.task_acks_late is True
    assert project_app.conf.task_reject_on_worker_lost is True
    assert project_app.conf.worker_prefetch_multiplier == 1
