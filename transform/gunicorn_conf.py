"""Gunicorn settings for production (``gunicorn -c python:transform.gunicorn_conf transform.wsgi``;
docs/deployment.md#web). Everything else (bind address, worker count) stays on the command line
or in ``GUNICORN_CMD_ARGS``.

With ``PROMETHEUS_MULTIPROC_DIR`` set, each worker process writes its request metrics to files in
that folder and ``/metrics`` sums them (transform/metrics.py). The folder must be emptied before
gunicorn starts; a worker that exits is marked dead here, so its gauges leave the sum.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
