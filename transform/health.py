"""Health probes for load balancers and orchestrators (docs/deployment.md#health-and-readiness),
built on django-health-check. No login; fast; the public answer names each check and says ``OK``
or ``unavailable``, never why (hosts, ports and error texts stay in the log).

- ``/health/live/``: the process answers; checks nothing else (a liveness probe must not restart a
  web process because the database is down).
- ``/health/ready/``: the database answers ``SELECT 1``, the cache stores and reads a value (Redis
  when ``REDIS_URL`` is set), and the Celery broker accepts a connection; 500 when one fails, so
  the load balancer sends no traffic to this process.
- ``/health/workers/``: a Celery worker answers a ping on every queue within two seconds. Not a
  readiness check (web processes must keep serving while workers restart): for monitoring.

Each answers HTML, or JSON with ``?format=json`` or ``Accept: application/json``
(``{"Database(alias='default')": "OK", ...}``), text with ``?format=text``.
"""

from __future__ import annotations

import dataclasses
import datetime
from concurrent.futures import Executor
from typing import Any, ClassVar

import celery
from health_check.base import HealthCheck, HealthCheckResult
from health_check.checks import Cache, Database
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from transform.celery import app as celery_app

PUBLIC_ERROR = "unavailable"


class _Withheld(ServiceUnavailable):
    """A failure as the public answer states it: ``unavailable``, nothing more."""

    def __str__(self) -> str:
        return PUBLIC_ERROR


class _Discreet:
    """Replaces a failed check's error by ``unavailable`` in the answer. django-health-check has
    already logged the error with its traceback, where operators read the details."""

    async def get_result(self, executor: Executor | None = None) -> HealthCheckResult:
        result: HealthCheckResult = await super().get_result(executor)  # type: ignore[misc]
        if result.error is not None:
            result.error = _Withheld(PUBLIC_ERROR, timestamp=result.error.timestamp)
        return result


@dataclasses.dataclass
class DatabaseCheck(_Discreet, Database):
    pass


@dataclasses.dataclass
class CacheCheck(_Discreet, Cache):
    pass


@dataclasses.dataclass
class BrokerCheck(_Discreet, HealthCheck):
    """The Celery broker accepts a connection (Redis, RabbitMQ or the filesystem transport), tried
    once with a short timeout: a probe never waits for kombu's reconnection loop."""

    app: celery.Celery = dataclasses.field(default=celery_app, repr=False)
    timeout: ClassVar[datetime.timedelta] = datetime.timedelta(seconds=3)

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        connection = self.app.connection_for_write()
        connection.connect_timeout = seconds
        try:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=int(seconds))
        except Exception as error:
            raise ServiceUnavailable("The Celery broker refused a connection") from error
        finally:
            connection.release()


@dataclasses.dataclass
class WorkersCheck(_Discreet, Ping):
    """A worker answers on every declared queue (``default`` and ``delivery``): at most two
    seconds for the ping and as much for the queue listing, so a probe never hangs."""

    app: celery.Celery = dataclasses.field(default=celery_app, repr=False)
    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=2), repr=False
    )

    def check_active_queues(self, *active_workers: str) -> None:
        # Ping's own listing waits a second more than the budget of the whole check (timeout
        # + 1 s) allows after the ping; half a second fits.
        defined = {queue.name for queue in self.app.conf.task_queues or ()} or {
            self.app.conf.task_default_queue
        }
        replies = self.app.control.inspect(list(active_workers), timeout=0.5).active_queues()
        served = {queue.get("name") for queues in (replies or {}).values() for queue in queues}
        if defined - served:
            raise ServiceUnavailable("No worker for a Celery task queue")


class ProbeView(HealthCheckView):
    """django-health-check's view with this project's checks (``checks`` per URL)."""

    checks: Any = ()


def liveness_view() -> Any:
    return ProbeView.as_view(checks=())


def readiness_view() -> Any:
    return ProbeView.as_view(checks=(DatabaseCheck, CacheCheck, BrokerCheck))


def workers_view() -> Any:
    return ProbeView.as_view(checks=(WorkersCheck,))
