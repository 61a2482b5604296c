"""Health probes (transform/health.py): liveness checks nothing, readiness checks the database,
the cache and the broker, and a failure answers 500 without saying why."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from celery import Celery
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from transform.health import PUBLIC_ERROR, BrokerCheck, WorkersCheck

# A port nothing listens on: connecting to it is refused at once.
CLOSED_PORT = 1


def _json(client: Client, url: str) -> tuple[int, dict[str, str]]:
    response = client.get(url, HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_liveness_answers_without_login_and_checks_nothing(client: Client) -> None:
    status, body = _json(client, "/health/live/")

    assert status == 200
    assert body == {}


@pytest.mark.django_db(transaction=True)
def test_readiness_checks_the_database_the_cache_and_the_broker(client: Client) -> None:
    status, body = _json(client, "/health/ready/")

    assert status == 200, body
    assert set(body.values()) == {"OK"}
    assert sorted(name.split("(")[0] for name in body) == [
        "BrokerCheck",
        "CacheCheck",
        "DatabaseCheck",
    ]


@pytest.mark.django_db(transaction=True)
def test_readiness_has_a_json_format_parameter(client: Client) -> None:
    response = client.get("/health/ready/?format=json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db(transaction=True)
def test_readiness_fails_when_the_database_is_down_without_saying_why(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(self: BaseDatabaseWrapper) -> Any:
        raise OperationalError('connection to server at "db.internal" (10.0.0.7) failed')

    # The check runs in a thread of its own, with a connection of its own: the class is patched.
    monkeypatch.setattr(BaseDatabaseWrapper, "temporary_connection", database_down)

    status, body = _json(client, "/health/ready/")

    assert status == 500
    assert body["DatabaseCheck(alias='default')"] == PUBLIC_ERROR
    assert "db.internal" not in str(body)


@pytest.mark.django_db(transaction=True)
def test_readiness_fails_when_the_redis_cache_is_unreachable(client: Client, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/6",
        }
    }

    status, body = _json(client, "/health/ready/")

    assert status == 500
    assert body["CacheCheck(alias='default')"] == PUBLIC_ERROR
    assert body["DatabaseCheck(alias='default')"] == "OK"
    assert str(CLOSED_PORT) not in "".join(body)


def test_the_broker_check_fails_at_once_when_the_broker_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Celery prefers the CELERY_BROKER_URL variable to the app's own broker (CI sets it).
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    check = BrokerCheck(app=Celery(broker=f"redis://127.0.0.1:{CLOSED_PORT}/7"))

    result = asyncio.run(check.get_result())

    assert result.error is not None
    assert str(result.error) == PUBLIC_ERROR


def test_the_broker_check_passes_with_a_broker_that_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    check = BrokerCheck(app=Celery(broker="memory://"))

    result = asyncio.run(check.get_result())

    assert result.error is None


def test_the_workers_check_fails_without_a_worker_within_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    # An in-memory broker no worker listens on: the ping gets no answer and the check says so
    # within the ping's timeout, never hanging.
    check = WorkersCheck(app=Celery(broker="memory://"))

    result = asyncio.run(check.get_result())

    assert result.error is not None
    assert str(result.error) == PUBLIC_ERROR


@pytest.mark.django_db
def test_probes_are_never_redirected_to_https(client: Client, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True

    probe = client.get("/health/live/")
    page = client.get("/accounts/login/")

    assert probe.status_code == 200
    assert page.status_code == 301
    assert page["Location"].startswith("https://")
