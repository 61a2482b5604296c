"""Logs (transform/logs.py): one JSON object per line with LOG_FORMAT=json, plain text without;
each web request's id in its lines and its response."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from django.test import Client

from tests.builders import REPO_ROOT
from transform.logs import REQUEST_ID_HEADER, JsonFormatter, RequestIdFilter

# A small program run in a fresh process, so LOG_FORMAT is read by the settings as at startup.
LOG_ONE_LINE = """
import logging
import django
django.setup()
log = logging.getLogger("transform.example")
log.warning("queue %s is late", "delivery", extra={"organization": "acme"})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("sending failed")
"""


def _run(log_format: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "transform.settings", "LOG_FORMAT": log_format})
    result = subprocess.run(
        [sys.executable, "-c", LOG_ONE_LINE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.splitlines()


def test_json_logs_are_one_object_per_line_with_the_documented_fields() -> None:
    lines = _run("json")

    first = json.loads(lines[0])
    assert first["message"] == "queue delivery is late"
    assert first["level"] == "WARNING"
    assert first["logger"] == "transform.example"
    assert first["organization"] == "acme"
    assert first["request_id"] is None
    assert first["timestamp"].endswith("+00:00")
    failure = json.loads(lines[1])
    assert failure["message"] == "sending failed"
    assert "ZeroDivisionError" in failure["exc_info"]
    assert len(lines) == 2


def test_logs_stay_plain_text_by_default() -> None:
    lines = _run("")

    assert lines[0] == "queue delivery is late"
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


def test_an_unknown_log_format_stops_the_start() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "transform.settings", "LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "LOG_FORMAT must be text or json" in result.stderr


def test_a_record_logged_during_a_request_carries_its_id() -> None:
    record = logging.LogRecord("transform.example", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdFilter().filter(record)

    line = json.loads(JsonFormatter().format(record))

    assert line["request_id"] is None
    assert line["message"] == "hello"


@pytest.mark.django_db
def test_each_response_carries_its_request_id_kept_from_a_proxy_or_new(client: Client) -> None:
    given = client.get("/health/live/", HTTP_X_REQUEST_ID="proxy-id-42")
    new = client.get("/health/live/")
    forged = client.get("/health/live/", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert given[REQUEST_ID_HEADER] == "proxy-id-42"
    assert len(new[REQUEST_ID_HEADER]) == 32
    assert forged[REQUEST_ID_HEADER] != "bad id\nwith newline"


@pytest.mark.django_db
def test_log_lines_written_while_serving_a_request_carry_its_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-7")

    ids = [getattr(record, "request_id", None) for record in caplog.records]
    assert "req-7" in ids
