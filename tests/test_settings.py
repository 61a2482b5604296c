"""The settings module: embedded defaults and production hardening, each in a fresh process."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.builders import REPO_ROOT


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(tmp_path) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "transform.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }


def test_check_deploy_reports_nothing_with_production_variables(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", env=production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    env["SECRET_KEY"] = ""

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false" in result.stderr


def test_a_malformed_boolean_is_refused_with_its_name(tmp_path):
    result = run_manage("check", env={"DEBUG": "maybe", "TRANSFORM_VAR_DIR": str(tmp_path)})

    assert result.returncode != 0
    assert "DEBUG must be true or false, got 'maybe'" in result.stderr


def test_default_database_is_sqlite_under_var_in_wal_mode_with_a_busy_timeout(tmp_path):
    script = (
        "from django.db import connection\n"
        "cursor = connection.cursor()\n"
        "cursor.execute('PRAGMA journal_mode'); print(cursor.fetchone()[0])\n"
        "cursor.execute('PRAGMA busy_timeout'); print(cursor.fetchone()[0])\n"
        "print(connection.settings_dict['NAME'])\n"
    )

    result = run_manage("shell", "-c", script, env={"TRANSFORM_VAR_DIR": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    journal_mode, busy_timeout, name = result.stdout.split()[-3:]
    assert journal_mode == "wal"
    assert int(busy_timeout) >= 5000
    assert name == str(tmp_path / "transform.sqlite3")


def test_default_broker_needs_no_server(tmp_path):
    script = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"

    result = run_manage("shell", "-c", script, env={"TRANSFORM_VAR_DIR": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "filesystem://"


def test_the_front_door_and_the_api_documentation_ask_for_a_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    assert client.get("/accounts/login/").status_code == 200
    # Served to logged-in users only: tests/test_schema_login.py.
    assert client.get("/api/docs/").status_code == 302
    assert client.get("/api/schema/").status_code == 401


@pytest.mark.django_db
def test_the_api_documentation_serves_swagger_ui_itself_rather_than_from_a_cdn(
    client, django_user_model
):
    client.force_login(django_user_model.objects.create_user(username="docs-reader"))
    page = client.get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in page
    assert "cdn.jsdelivr.net" not in page


def test_every_list_in_the_api_schema_has_the_paginated_shape_it_returns():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    bare_lists = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        content = get["responses"].get("200", {}).get("content", {})
        body = content.get("application/json", {}).get("schema", {})
        if body.get("type") == "array":
            bare_lists.append(path)

    assert bare_lists == []
