"""Guessing is limited (docs/api.md#authentication): repeated failed logins lock the username from
that address (django-axes) on every login, and throttles answer 429 with ``Retry-After`` to
forged check-in links, invalid API tokens and runaway clients."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.builders import PASSWORD, REPO_ROOT, CheckinRig, pulse_answers
from tests.factories import UserFactory
from transform.models import CheckIn, CheckInKind
from transform.rhythm import links

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
LOGIN_PAGES = ["/accounts/login/", "/admin/login/", "/api-auth/login/"]


@pytest.fixture
def user() -> Any:
    return UserFactory(username="grace", is_staff=True)


def page_login(path: str, password: str, *, address: str = ATTACKER) -> Any:
    return Client(REMOTE_ADDR=address).post(path, {"username": "grace", "password": password})


def token_login(password: str, *, address: str = ATTACKER) -> Any:
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token/", {"username": "grace", "password": password}, format="json"
    )


def fail_until_locked(attempt: Any) -> list[int]:
    """The statuses of AXES_FAILURE_LIMIT wrong passwords, in order."""
    return [attempt(f"wrong-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)]


def move_past_cool_off() -> None:
    """The cool-off passes: the failures are dated back, as if they were that old."""
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1)
    )


def rates(**overrides: str | None) -> dict[str, Any]:
    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.THROTTLE_RATES, **overrides},
    }


# --- login lockout ------------------------------------------------------------------------------


def test_the_documented_lockout_is_20_failures_and_15_minutes() -> None:
    assert settings.AXES_FAILURE_LIMIT == 20
    assert dt.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_twenty_wrong_passwords_lock_a_login_page_with_a_429_page(user: Any, path: str) -> None:
    statuses = fail_until_locked(lambda password: page_login(path, password))
    locked = page_login(path, PASSWORD)

    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in locked.client.session


def test_the_right_password_works_again_after_the_cool_off(user: Any) -> None:
    fail_until_locked(lambda password: page_login("/accounts/login/", password))
    refused = page_login("/accounts/login/", PASSWORD)

    move_past_cool_off()
    after = page_login("/accounts/login/", PASSWORD)

    assert refused.status_code == 429
    assert after.status_code == 302
    assert after.client.session["_auth_user_id"] == str(user.pk)


def test_a_lockout_from_one_address_leaves_the_user_free_elsewhere(user: Any) -> None:
    fail_until_locked(lambda password: page_login("/accounts/login/", password))

    at_home = page_login("/accounts/login/", PASSWORD, address=ELSEWHERE)
    from_attacker = page_login("/accounts/login/", PASSWORD)

    assert at_home.status_code == 302
    assert from_attacker.status_code == 429


def test_refused_tries_during_the_lockout_do_not_extend_it(user: Any) -> None:
    fail_until_locked(lambda password: page_login("/accounts/login/", password))
    move_past_cool_off()
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + dt.timedelta(minutes=1)
    )

    page_login("/accounts/login/", "still-guessing")
    move_past_cool_off()

    assert page_login("/accounts/login/", PASSWORD).status_code == 302


def test_a_success_resets_the_count_of_failures(user: Any) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        page_login("/accounts/login/", f"wrong-{n}")
    success = page_login("/accounts/login/", PASSWORD)

    statuses = [
        page_login("/accounts/login/", f"again-{n}").status_code
        for n in range(settings.AXES_FAILURE_LIMIT - 1)
    ]

    assert success.status_code == 302
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1)


def test_twenty_wrong_passwords_lock_the_token_endpoint_in_the_error_shape(user: Any) -> None:
    statuses = fail_until_locked(token_login)
    locked = token_login(PASSWORD)

    assert statuses[:-1] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    assert locked.status_code == 429
    assert set(locked.json()) == {"message", "extra"}
    assert locked.json()["message"] == (
        "Too many failed logins for this username from this address. Try again in 15 minutes."
    )
    assert 0 < int(locked["Retry-After"]) <= settings.AXES_COOLOFF_TIME.total_seconds()
    assert not Token.objects.exists()


def test_the_token_endpoint_issues_again_after_the_cool_off(user: Any) -> None:
    fail_until_locked(token_login)

    move_past_cool_off()
    after = token_login(PASSWORD)

    assert after.status_code == 200
    assert after.json()["token"] == Token.objects.get(user=user).key
    assert not AccessAttempt.objects.exists()


def test_failures_on_the_page_and_the_token_endpoint_count_together(user: Any) -> None:
    half = settings.AXES_FAILURE_LIMIT // 2
    for n in range(half):
        page_login("/accounts/login/", f"wrong-{n}")
    for n in range(settings.AXES_FAILURE_LIMIT - half):
        token_login(f"wrong-{n}")

    assert page_login("/accounts/login/", PASSWORD).status_code == 429


# --- check-in links -----------------------------------------------------------------------------


def limit_of(scope: str) -> int:
    rate = settings.THROTTLE_RATES[scope]
    assert rate is not None, f"the {scope} rate is off in this environment"
    return int(rate.split("/")[0])


def link_limit() -> int:
    return limit_of("checkin_link")


def forged_token(n: int) -> str:
    return links.checkin_token(CheckIn(pk=1000 + n, link_nonce=f"forged-{n}"))


def test_forged_check_in_links_get_429_after_the_limit_on_the_api() -> None:
    client = APIClient(REMOTE_ADDR=ATTACKER)

    statuses = [
        client.get(f"/api/v1/checkin-links/{forged_token(n)}/").status_code
        for n in range(link_limit())
    ]
    refused = client.post(
        f"/api/v1/checkin-links/{forged_token(0)}/", {"answers": {}}, format="json"
    )

    assert statuses == [404] * link_limit()
    assert refused.status_code == 429
    assert set(refused.json()) == {"message", "extra"}
    assert 0 < int(refused["Retry-After"]) <= 60


def test_forged_links_on_the_page_and_the_api_share_one_limit_per_address(
    checkin_rig: CheckinRig,
) -> None:
    checkin = checkin_rig.checkin(
        CheckInKind.PULSE_SURVEY, created=timezone.now() - dt.timedelta(hours=1)
    )
    real = links.checkin_token(checkin)
    page, api = Client(REMOTE_ADDR=ATTACKER), APIClient(REMOTE_ADDR=ATTACKER)

    statuses = [
        (
            page.get(f"/c/{forged_token(n)}/") if n % 2 else api.get(f"/api/v1/checkin-links/x{n}/")
        ).status_code
        for n in range(link_limit())
    ]
    refused_page = page.get(f"/c/{real}/")
    elsewhere = Client(REMOTE_ADDR=ELSEWHERE).get(f"/c/{real}/")

    assert set(statuses) == {404}
    assert refused_page.status_code == 429
    assert "Too many requests" in refused_page.content.decode()
    assert 0 < int(refused_page["Retry-After"]) <= 60
    assert elsewhere.status_code == 200


def test_answers_through_a_link_count_towards_the_limit(
    checkin_rig: CheckinRig, settings: Any
) -> None:
    settings.REST_FRAMEWORK = rates(checkin_link="2/minute")
    first, second = (
        checkin_rig.checkin(
            CheckInKind.PULSE_SURVEY,
            created=timezone.now() - dt.timedelta(hours=1),
            subject=f"team:{n}",
        )
        for n in (1, 2)
    )
    client = APIClient(REMOTE_ADDR=ATTACKER)

    read = client.get(f"/api/v1/checkin-links/{links.checkin_token(first)}/")
    answered = client.post(
        f"/api/v1/checkin-links/{links.checkin_token(first)}/",
        {"answers": pulse_answers()},
        format="json",
    )
    refused = client.post(
        f"/api/v1/checkin-links/{links.checkin_token(second)}/",
        {"answers": pulse_answers()},
        format="json",
    )

    assert (read.status_code, answered.status_code, refused.status_code) == (200, 201, 429)
    second.refresh_from_db()
    assert second.answered_at is None


# --- API tokens and API rates -------------------------------------------------------------------


def test_repeated_invalid_tokens_from_one_address_get_429_even_for_a_valid_token(
    user: Any,
) -> None:
    limit = limit_of("invalid_token")
    valid = Token.objects.create(user=user)

    def call(key: str, address: str = ATTACKER) -> Any:
        client = APIClient(REMOTE_ADDR=address)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client.get("/api/v1/orgs/")

    statuses = [call(f"guess{n:036d}").status_code for n in range(limit)]
    guessed = call(f"guess{limit:036d}")
    right_one = call(valid.key)
    elsewhere = call(valid.key, address=ELSEWHERE)

    assert statuses == [401] * limit
    assert guessed.status_code == right_one.status_code == 429
    assert set(guessed.json()) == {"message", "extra"}
    assert 0 < int(guessed["Retry-After"]) <= 60
    assert elsewhere.status_code == 200


def test_a_user_beyond_the_api_rate_gets_429(user: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = rates(user="3/minute")
    client = APIClient(REMOTE_ADDR=ATTACKER)
    client.force_authenticate(user)

    statuses = [client.get("/api/v1/orgs/").status_code for _ in range(4)]
    other = APIClient(REMOTE_ADDR=ATTACKER)
    hopper: Any = UserFactory(username="hopper")
    other.force_authenticate(hopper)

    assert statuses == [200, 200, 200, 429]
    assert other.get("/api/v1/orgs/").status_code == 200


def test_a_rate_set_off_lets_everything_through(user: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = rates(checkin_link=None)
    client = APIClient(REMOTE_ADDR=ATTACKER)

    statuses = {
        client.get(f"/api/v1/checkin-links/{forged_token(n)}/").status_code
        for n in range(link_limit() + 5)
    }

    assert statuses == {404}


def test_a_forwarded_address_is_trusted_only_behind_the_configured_proxies(
    settings: Any,
) -> None:
    settings.REST_FRAMEWORK = {**rates(checkin_link="1/minute"), "NUM_PROXIES": 0}
    spoofing = APIClient(REMOTE_ADDR=ATTACKER)

    first = spoofing.get("/api/v1/checkin-links/a/", HTTP_X_FORWARDED_FOR="192.0.2.1")
    second = spoofing.get("/api/v1/checkin-links/b/", HTTP_X_FORWARDED_FOR="192.0.2.2")
    settings.REST_FRAMEWORK = {**rates(checkin_link="1/minute"), "NUM_PROXIES": 1}
    proxied = APIClient(REMOTE_ADDR="10.0.0.1")
    third = proxied.get("/api/v1/checkin-links/c/", HTTP_X_FORWARDED_FOR="192.0.2.3")
    fourth = proxied.get("/api/v1/checkin-links/d/", HTTP_X_FORWARDED_FOR="192.0.2.4")

    assert (first.status_code, second.status_code) == (404, 429)
    assert (third.status_code, fourth.status_code) == (404, 404)


# --- settings from the environment --------------------------------------------------------------


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_limits_come_from_the_environment(tmp_path: Any) -> None:
    script = (
        "from django.conf import settings as s\n"
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(),"
        " s.THROTTLE_RATES['checkin_link'], s.THROTTLE_RATES['user'],"
        " s.TRANSFORM_TOKEN_TTL.days, s.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    env = {
        "TRANSFORM_VAR_DIR": str(tmp_path),
        "AXES_FAILURE_LIMIT": "5",
        "AXES_COOLOFF_MINUTES": "30",
        "THROTTLE_CHECKIN_LINK_RATE": "10/hour",
        "THROTTLE_USER_RATE": "off",
        "TRANSFORM_TOKEN_TTL_DAYS": "7",
        "TRUSTED_PROXY_COUNT": "1",
    }

    result = run_manage("shell", "-c", script, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-6:] == ["5", "1800.0", "10/hour", "None", "7", "1"]


def test_a_malformed_rate_is_refused_with_its_name(tmp_path: Any) -> None:
    env = {"TRANSFORM_VAR_DIR": str(tmp_path), "THROTTLE_ANON_RATE": "lots"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "THROTTLE_ANON_RATE must be <number>/<second|minute|hour|day> or off" in result.stderr
