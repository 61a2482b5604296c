"""Fixtures of the transform tests: the real-worker ones live in worker_fixtures.py."""

from tests.transform.worker_fixtures import (  # noqa: F401 - fixtures are found by name
    purged_broker,
    smtp,
    task_queue,
    thread_worker,
    tracker,
    worker_in_thread,
)
