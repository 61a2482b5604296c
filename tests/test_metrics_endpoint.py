"""/metrics (transform/metrics.py): who may read it, and the gauges computed at scrape time."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import DeliveryFactory
from transform import metrics
from transform.models import DeliveryStatus

TOKEN = "metrics-token-for-tests-0123456789"


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def _scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return _samples(response.content)


def _broker_is(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # Celery prefers the CELERY_BROKER_URL variable to its configuration (CI sets it).
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setattr(metrics.celery_app.conf, "broker_url", url)


@pytest.fixture
def metrics_token(settings: Any) -> str:
    settings.TRANSFORM_METRICS_TOKEN = TOKEN
    settings.TRANSFORM_METRICS_NETWORKS = []
    return TOKEN


@pytest.mark.django_db
def test_metrics_without_a_token_answer_401_and_say_how_to_authenticate(
    client: Client, metrics_token: str
) -> None:
    response = client.get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"transform_" not in response.content


@pytest.mark.django_db
def test_metrics_with_a_wrong_token_answer_401(client: Client, metrics_token: str) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert response.status_code == 401


@pytest.mark.django_db
def test_metrics_with_the_token_answer_request_and_outbox_metrics(
    client: Client, metrics_token: str
) -> None:
    client.get("/health/live/")

    samples = _scrape(client)

    names = {name for name, _ in samples}
    assert "django_http_requests_total_by_view_transport_method_total" in names
    assert "django_db_execute_total" in names
    assert ("transform_deliveries", (("status", "sent"),)) in samples


@pytest.mark.django_db
def test_metrics_with_nothing_configured_answer_nobody(client: Client, settings: Any) -> None:
    settings.TRANSFORM_METRICS_TOKEN = ""
    settings.TRANSFORM_METRICS_NETWORKS = []

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403


@pytest.mark.django_db
def test_metrics_answer_requests_from_an_allowed_network_without_a_token(
    client: Client, settings: Any
) -> None:
    settings.TRANSFORM_METRICS_TOKEN = ""
    settings.TRANSFORM_METRICS_NETWORKS = ["10.0.0.0/8"]

    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    outside = client.get("/metrics", REMOTE_ADDR="192.0.2.1")

    assert inside.status_code == 200
    assert outside.status_code == 403


@pytest.mark.django_db
def test_the_delivery_gauges_count_messages_by_status_and_age_the_oldest_undelivered(
    client: Client, metrics_token: str
) -> None:
    now = timezone.now()
    first = DeliveryFactory(created_at=now - dt.timedelta(minutes=30))
    organization = first.organization
    DeliveryFactory(
        organization=organization,
        status=DeliveryStatus.SENDING,
        created_at=now - dt.timedelta(minutes=10),
    )
    # Sent and failed messages are older still, but only undelivered ones count for the age.
    for status, count in ((DeliveryStatus.SENT, 3), (DeliveryStatus.FAILED, 2)):
        for _ in range(count):
            DeliveryFactory(
                organization=organization, status=status, created_at=now - dt.timedelta(days=3)
            )

    samples = _scrape(client)

    assert samples[("transform_deliveries", (("status", "pending"),))] == 1
    assert samples[("transform_deliveries", (("status", "sending"),))] == 1
    assert samples[("transform_deliveries", (("status", "sent"),))] == 3
    assert samples[("transform_deliveries", (("status", "failed"),))] == 2
    age = samples[("transform_oldest_undelivered_seconds", ())]
    assert 30 * 60 <= age < 31 * 60


@pytest.mark.django_db
def test_the_oldest_undelivered_age_is_zero_when_nothing_waits(
    client: Client, metrics_token: str
) -> None:
    DeliveryFactory(status=DeliveryStatus.SENT, created_at=timezone.now() - dt.timedelta(days=1))

    samples = _scrape(client)

    assert samples[("transform_oldest_undelivered_seconds", ())] == 0


@pytest.mark.django_db
def test_the_delivery_gauges_take_a_fixed_number_of_queries(
    client: Client, metrics_token: str, django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        DeliveryFactory()

    with django_assert_max_num_queries(2):
        list(metrics.TransformCollector().collect())


def test_queue_lengths_are_unknown_when_the_broker_is_not_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _broker_is(monkeypatch, "filesystem://")

    lengths = metrics.queue_lengths()

    assert set(lengths) == {"default", "delivery"}
    assert all(math.isnan(length) for length in lengths.values())


def test_queue_lengths_count_each_queue_and_priority_list_in_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis

    url = "redis://127.0.0.1:6379/7"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"needs Redis at {url} (start it, see README): {error}")
    # Lists named like kombu's, in a database of this test's own, emptied first.
    client.delete("default", "delivery", "delivery\x06\x163")
    client.rpush("delivery", "a", "b")
    client.rpush("delivery\x06\x163", "c")
    client.rpush("default", "d")
    _broker_is(monkeypatch, url)
    try:
        lengths = metrics.queue_lengths()
    finally:
        client.delete("default", "delivery", "delivery\x06\x163")

    assert lengths == {"default": 1.0, "delivery": 3.0}


def test_queue_lengths_are_unknown_when_redis_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _broker_is(monkeypatch, "redis://127.0.0.1:1/7")

    lengths = metrics.queue_lengths()

    assert all(math.isnan(length) for length in lengths.values())
