"""The OpenAPI schema and its docs page need a login, as README says: a session or an API token
reads the schema, an anonymous client gets 401, and a browser is sent to the login page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user(username="reader", password="not-used-here")


def test_an_anonymous_client_cannot_read_the_schema() -> None:
    response = APIClient().get("/api/schema/")

    assert response.status_code == 401
    assert b"credentials were not provided" in response.content


def test_an_anonymous_browser_is_sent_to_the_login_page_for_the_docs() -> None:
    response = APIClient().get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"


def test_a_logged_in_user_reads_the_schema_and_the_docs(user) -> None:
    client = APIClient()
    client.force_login(user)

    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/orgs/" in schema.content
    assert docs.status_code == 200


def test_an_api_token_reads_the_schema(user) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    assert client.get("/api/schema/").status_code == 200
