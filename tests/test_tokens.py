"""API tokens expire and can be revoked (docs/api.md#authentication): by their owner with
``DELETE /api/v1/auth/token/``, by an instance admin in the Django admin."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.builders import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user() -> Any:
    return UserFactory(username="grace")


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def aged(token: Token, age: dt.timedelta) -> Token:
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - age)
    token.refresh_from_db()
    return token


def test_the_documented_lifetime_is_30_days() -> None:
    assert dt.timedelta(days=30) == settings.TRANSFORM_TOKEN_TTL


def test_a_token_is_issued_with_its_expiry(user: Any) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "grace", "password": PASSWORD}, format="json"
    )

    token = Token.objects.get(user=user)
    assert response.status_code == 200
    assert response.json()["token"] == token.key
    expires_at = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert expires_at == token.created + settings.TRANSFORM_TOKEN_TTL


def test_a_token_within_its_lifetime_authenticates(user: Any) -> None:
    token = aged(Token.objects.create(user=user), settings.TRANSFORM_TOKEN_TTL - dt.timedelta(1))

    assert with_token(token.key).get("/api/v1/orgs/").status_code == 200


def test_an_expired_token_is_401_in_the_error_shape(user: Any) -> None:
    token = aged(Token.objects.create(user=user), settings.TRANSFORM_TOKEN_TTL)

    response = with_token(token.key).get("/api/v1/orgs/")

    assert response.status_code == 401
    assert response.json() == {
        "message": "The token has expired: ask for a new one at /api/v1/auth/token/.",
        "extra": {},
    }
    assert response["WWW-Authenticate"] == "Token"


def test_the_lifetime_is_a_setting(user: Any, settings: Any) -> None:
    settings.TRANSFORM_TOKEN_TTL = dt.timedelta(hours=1)
    token = aged(Token.objects.create(user=user), dt.timedelta(hours=2))

    assert with_token(token.key).get("/api/v1/orgs/").status_code == 401


def test_logging_in_again_replaces_an_expired_token(user: Any) -> None:
    old = aged(Token.objects.create(user=user), settings.TRANSFORM_TOKEN_TTL)

    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "grace", "password": PASSWORD}, format="json"
    )

    new_key = response.json()["token"]
    assert new_key != old.key
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [new_key]
    assert with_token(new_key).get("/api/v1/orgs/").status_code == 200


def test_logging_in_again_keeps_a_valid_token(user: Any) -> None:
    token = Token.objects.create(user=user)

    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "grace", "password": PASSWORD}, format="json"
    )

    assert response.json()["token"] == token.key


def test_the_owner_revokes_their_token(user: Any) -> None:
    token = Token.objects.create(user=user)
    hopper: Any = UserFactory(username="hopper")
    other = Token.objects.create(user=hopper)
    client = with_token(token.key)

    revoked = client.delete("/api/v1/auth/token/")
    after = client.get("/api/v1/orgs/")

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert list(Token.objects.values_list("key", flat=True)) == [other.key]
    assert with_token(other.key).get("/api/v1/orgs/").status_code == 200


def test_a_logged_in_session_revokes_its_users_token(user: Any) -> None:
    token = Token.objects.create(user=user)
    client = APIClient()
    client.force_login(user)

    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert with_token(token.key).get("/api/v1/orgs/").status_code == 401


def test_revoking_needs_a_login(user: Any) -> None:
    Token.objects.create(user=user)

    response = APIClient().delete("/api/v1/auth/token/")

    assert response.status_code == 401
    assert set(response.json()) == {"message", "extra"}
    assert Token.objects.filter(user=user).exists()


def test_an_instance_admin_revokes_a_users_token_in_the_admin(user: Any) -> None:
    token = Token.objects.create(user=user)
    admin = Client()
    root: Any = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin.force_login(root)

    response = admin.post(f"/admin/authtoken/tokenproxy/{user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Token.objects.exists()
    assert with_token(token.key).get("/api/v1/orgs/").status_code == 401


def test_a_staff_member_without_the_permission_cannot_revoke(user: Any) -> None:
    Token.objects.create(user=user)
    staff = Client()
    clerk: Any = UserFactory(username="clerk", is_staff=True)
    staff.force_login(clerk)

    response = staff.post(f"/admin/authtoken/tokenproxy/{user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Token.objects.filter(user=user).exists()
