"""Fixtures for tests that run a real Celery worker: a queue of the module's own, a fake SMTP
server, a tracker of published and finished tasks, Celery's test worker in a thread, and a cache
shared with worker processes (Redis) for the sent journal.

Import the fixtures by name into a test module (pytest registers imported fixtures); each
module gets its own queue and worker.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish, task_postrun
from django.conf import settings as django_settings
from django.db import connection

from teams.models import Person
from tests.factories import DeliveryFactory
from tests.transform.fakes import FakeSMTPServer, wait_until
from transform.celery import app as project_app
from transform.models import Delivery, DeliveryKind, DeliveryStatus

DEADLINE = 90.0  # a wait, not a timing goal: generous for a loaded machine

# The Redis database the sent journal uses in tests (not the broker's, nor the app's cache): tests
# and their worker processes share it. Notes are keyed by row id and tagged with their claimer (a
# task id, unique), so runs at the same time, or leftovers of earlier runs, never match a row.
JOURNAL_REDIS_URL = os.environ.get("TEST_JOURNAL_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


class TaskTracker:
    """Which task ids were published and which have finished, from Celery's signals (the
    in-thread worker runs in this process, so its signals fire here)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.published: set[str] = set()
        self.finished: set[str] = set()
        self.failures: list[str] = []

    def on_publish(self, sender: Any = None, headers: Any = None, **kwargs: Any) -> None:
        task_id = (headers or {}).get("id")
        if task_id:
            with self.lock:
                self.published.add(task_id)

    def on_postrun(
        self, sender: Any = None, task_id: str | None = None, state: str = "", **kwargs: Any
    ) -> None:
        if task_id:
            with self.lock:
                self.finished.add(task_id)
                if state != "SUCCESS":
                    self.failures.append(f"{getattr(sender, 'name', sender)}: {state}")

    def settled(self) -> bool:
        # A task publishes its follow-ups before it finishes, so once everything published has
        # finished nothing is left in flight.
        with self.lock:
            return bool(self.published) and self.published <= self.finished

    def wait(self, *, timeout: float = DEADLINE) -> None:
        assert wait_until(self.settled, timeout=timeout), (
            f"tasks still running: {self.published - self.finished}"
        )
        assert self.failures == []


def route_tasks_to(queue: str) -> None:
    # The app publishes to task_default_queue, read at every publish; its declared queues (what a
    # worker consumes) are cached, so they are rebuilt from the setting. A test's own queue takes
    # every task: the project's queues and routes (delivery tasks on "delivery") apply only with
    # the project's default queue. The routes are prepared once (``amqp._rtable``) by the first
    # publish in the process, so they are flushed too: else a module that sent a task earlier in
    # the same test process leaves delivery tasks going to "delivery", where no test worker
    # listens.
    project_app.conf.task_default_queue = queue
    own_queue = queue != django_settings.CELERY_TASK_DEFAULT_QUEUE
    project_app.conf.task_queues = None if own_queue else django_settings.CELERY_TASK_QUEUES
    project_app.conf.task_routes = None if own_queue else django_settings.CELERY_TASK_ROUTES
    for cached in ("queues", "default_queue", "router"):
        project_app.amqp.__dict__.pop(cached, None)
    project_app.amqp.flush_routes()


@pytest.fixture(scope="module")
def task_queue() -> Iterator[str]:
    """A queue of this module's own: its workers consume only from it, and test runs at the same
    time on the same broker (the filesystem one under var/ is shared) never take each other's
    messages."""
    original = project_app.conf.task_default_queue
    queue = f"transform-test-{uuid.uuid4().hex[:12]}"
    route_tasks_to(queue)
    yield queue
    project_app.control.purge()
    route_tasks_to(original)


@pytest.fixture
def purged_broker(task_queue: str) -> None:
    # Messages an earlier test left in the queue must not be consumed by this test's workers.
    project_app.control.purge()


@pytest.fixture
def smtp(settings: Any) -> Iterator[FakeSMTPServer]:
    server = FakeSMTPServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 30
    yield server
    server.stop()


@pytest.fixture
def tracker() -> Iterator[TaskTracker]:
    tracking = TaskTracker()
    before_task_publish.connect(tracking.on_publish, weak=False)
    task_postrun.connect(tracking.on_postrun, weak=False)
    yield tracking
    before_task_publish.disconnect(tracking.on_publish)
    task_postrun.disconnect(tracking.on_postrun)


class ThreadWorker:
    """Celery's test worker in a thread of this process, started when a test needs it and kept
    for the next (stopping it takes seconds); stopped before a test that runs worker processes,
    which must be the only consumers of the queue."""

    def __init__(self) -> None:
        self._running: AbstractContextManager[Any] | None = None

    def ensure_started(self) -> None:
        if self._running is None:
            running = start_worker(
                project_app, pool="solo", perform_ping_check=False, shutdown_timeout=30
            )
            running.__enter__()
            self._running = running

    def ensure_stopped(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            running.__exit__(None, None, None)


@pytest.fixture(scope="module")
def worker_in_thread() -> Iterator[ThreadWorker]:
    worker = ThreadWorker()
    yield worker
    worker.ensure_stopped()


@pytest.fixture
def thread_worker(
    worker_in_thread: ThreadWorker,
    purged_broker: None,
    transactional_db: None,
    tracker: TaskTracker,
) -> Iterator[None]:
    # Every test waits until its tasks are done, so the worker is idle when the tables are
    # flushed after the test.
    worker_in_thread.ensure_started()
    yield
    # A task published after the test's last wait (a commit's dispatch kick) finishes now, while
    # the test may still use the database: else the worker runs it after the flush, or in the
    # next test.
    wait_until(lambda: not tracker.published or tracker.settled(), timeout=DEADLINE)


def use_shared_cache(settings: Any) -> str:
    """Make the default cache Redis (``JOURNAL_REDIS_URL``) in this process, for the rest of the
    test (``settings`` is pytest-django's fixture); worker processes started with
    ``redis_url_of_this_process()`` use the same one. Fails without Redis: a missing service is
    an error to fix (start Redis, README), never a skipped test."""
    import redis

    try:
        redis.Redis.from_url(JOURNAL_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.fail(f"needs Redis at {JOURNAL_REDIS_URL} (start it, see README): {error}")
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": JOURNAL_REDIS_URL}}
    return JOURNAL_REDIS_URL


def redis_url_of_this_process() -> str:
    """REDIS_URL for a worker process: this process's default cache when it is Redis, else empty
    (each process its own memory), whatever the environment says."""
    from django.conf import settings

    default = settings.CACHES.get("default", {})
    return str(default.get("LOCATION", "")) if default.get("BACKEND") == REDIS_CACHE else ""


# --- delivery rows and a killable worker process (the worker and scale tests) ---------------------

REPO_ROOT = Path(__file__).resolve().parents[2]


def queue_messages(
    people: list[Person], *, at: dt.datetime, prefix: str = "worker-test"
) -> list[int]:
    ids = []
    for number, person in enumerate(people):
        row: Any = DeliveryFactory(
            organization=person.organization,
            kind=DeliveryKind.ESCALATION,
            dedupe_key=f"escalation:{prefix}:{number}",
            recipient=person,
            channel="email",
            payload={"subject": f"Blocked {number}", "text": f"Milestone {number} is blocked."},
            next_attempt_at=at,
            created_at=at,
        )
        ids.append(row.pk)
    return ids


def states(ids: list[int]) -> list[tuple[str, int]]:
    rows = Delivery.objects.in_bulk(ids)
    return [(rows[pk].status, rows[pk].attempts) for pk in ids]


def all_sent(ids: list[int]) -> bool:
    return not Delivery.objects.filter(pk__in=ids).exclude(status=DeliveryStatus.SENT).exists()


def _database_url() -> str:
    """The test database, as the DATABASE_URL another process reads (transform/settings.py)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


class WorkerProcess:
    """``celery -A transform worker --pool solo`` in a process of its own, on the test database
    and the fake SMTP server."""

    def __init__(
        self, *, smtp: FakeSMTPServer, log: Path, queue: str, mark_every: int | None = None
    ) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "transform.settings",
            "DATABASE_URL": _database_url(),
            "EMAIL_HOST": smtp.host,
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_USE_SSL": "false",
            "EMAIL_TIMEOUT": "60",
            "DELIVERY_CLAIM_TIMEOUT_SECONDS": str(django_settings.DELIVERY_CLAIM_TIMEOUT_SECONDS),
            "DELIVERY_MARK_EVERY": str(mark_every or django_settings.DELIVERY_MARK_EVERY),
            # The sent journal must be the one this process reads when it claims rows again.
            "REDIS_URL": redis_url_of_this_process(),
        }
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "transform",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--queues",
                queue,
                "-n",
                f"killable-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        ready = wait_until(
            lambda: " ready." in self.output() or self.process.poll() is not None, timeout=DEADLINE
        )
        assert ready, self.output()
        assert self.process.poll() is None, self.output()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=DEADLINE)
        self._log_file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()
