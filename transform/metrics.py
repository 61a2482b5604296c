"""Prometheus metrics at ``/metrics`` (docs/deployment.md#metrics).

Request counts and latencies by view, and database query counts, come from django-prometheus
(its middleware and database backends, settings). This module adds what it cannot know, computed
when Prometheus scrapes, in a fixed number of small queries whatever the size of the data:

- ``transform_celery_queue_length{queue}``: messages waiting in each Celery queue (Redis ``LLEN``
  of the queue's lists); NaN when the broker is not Redis (unknown) or did not answer.
- ``transform_deliveries{status}``: outbox messages by status (pending, sending, sent, failed).
- ``transform_oldest_undelivered_seconds``: age of the oldest message not yet sent nor failed
  (0 when there is none).

Access: a request with ``Authorization: Bearer <TRANSFORM_METRICS_TOKEN>``, or from an address in
``TRANSFORM_METRICS_NETWORKS``. Otherwise 401 when a token is configured (it says how to
authenticate), 403 when not; with neither set, nobody reads the metrics.

With ``PROMETHEUS_MULTIPROC_DIR`` set (several gunicorn workers), request metrics are summed over
the processes from that folder (prometheus_client's multiprocess mode; ``transform/gunicorn_conf.py``
removes a dead worker's files); without it, each answer holds the metrics of the one process that
served the scrape.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import math
import os
from collections.abc import Iterable, Iterator

import prometheus_client
import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.throttles import client_ip
from transform.celery import app as celery_app
from transform.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

UNDELIVERED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
# kombu's Redis transport keeps a queue in one list per priority step: "<queue>" for the default
# priority, "<queue>\x06\x16<step>" for the others.
_REDIS_PRIORITY_SEPARATOR = "\x06\x16"
_REDIS_PRIORITY_STEPS = (0, 3, 6, 9)


def queue_names() -> list[str]:
    """The Celery queues the project declares (settings ``CELERY_TASK_QUEUES``)."""
    declared = celery_app.conf.task_queues or ()
    return [queue.name for queue in declared] or [celery_app.conf.task_default_queue]


@functools.cache
def _broker_redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def queue_lengths() -> dict[str, float]:
    """Messages waiting per queue; NaN for each queue when the broker is not Redis or fails."""
    names = queue_names()
    url = str(celery_app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")):
        return dict.fromkeys(names, math.nan)
    client = _broker_redis(url)
    try:
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                for step in _REDIS_PRIORITY_STEPS:
                    pipe.llen(name if step == 0 else f"{name}{_REDIS_PRIORITY_SEPARATOR}{step}")
            counts = pipe.execute()
    except redis.RedisError:
        logger.warning("metrics: the Celery broker did not answer", exc_info=True)
        return dict.fromkeys(names, math.nan)
    steps = len(_REDIS_PRIORITY_STEPS)
    return {
        name: float(sum(counts[index * steps : (index + 1) * steps]))
        for index, name in enumerate(names)
    }


class TransformCollector(Collector):
    """The gauges of the module docstring, read at every scrape (two queries and one Redis
    round trip)."""

    def collect(self) -> Iterator[Metric]:
        queues = GaugeMetricFamily(
            "transform_celery_queue_length",
            "Messages waiting in a Celery queue (NaN: unknown, the broker is not Redis).",
            labels=["queue"],
        )
        for name, length in queue_lengths().items():
            queues.add_metric([name], length)
        yield queues
        try:
            by_status = dict(
                Delivery.objects.order_by()
                .values_list("status")
                .annotate(count=Count("id"))
                .values_list("status", "count")
            )
            oldest = Delivery.objects.filter(status__in=UNDELIVERED).aggregate(
                oldest=Min("created_at")
            )["oldest"]
        except DatabaseError:
            logger.warning("metrics: the database did not answer", exc_info=True)
            return
        deliveries = GaugeMetricFamily(
            "transform_deliveries",
            "Outbox messages by status (sent and failed are totals since the first message).",
            labels=["status"],
        )
        for status in DeliveryStatus:
            deliveries.add_metric([status.value], float(by_status.get(status.value, 0)))
        yield deliveries
        age = 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
        yield GaugeMetricFamily(
            "transform_oldest_undelivered_seconds",
            "Age of the oldest message not yet sent nor failed (0: none waiting).",
            value=age,
        )


def _networks(values: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"TRANSFORM_METRICS_NETWORKS: {value!r} is not an address or network"
            ) from error
    return networks


def metrics_allowed(request: HttpRequest) -> int | None:
    """None when the request may read the metrics, else the status to answer (401 or 403)."""
    token = settings.TRANSFORM_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
    networks = _networks(settings.TRANSFORM_METRICS_NETWORKS)
    if networks:
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            address = None
        if address is not None and any(address in network for network in networks):
            return None
    return 401 if token else 403


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/metrics`` in Prometheus's text format, for allowed requests only (module docstring)."""
    refused = metrics_allowed(request)
    if refused == 401:
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if refused is not None:
        return HttpResponse("Forbidden.\n", status=403)
    ours = CollectorRegistry(auto_describe=False)
    ours.register(TransformCollector())
    body = prometheus_client.generate_latest(_registry()) + prometheus_client.generate_latest(ours)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
