"""``GET /api/v1/``: the API's index lists its sections instead of a debug 404 (issue 17)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.builders import World

pytestmark = pytest.mark.django_db


def test_a_logged_in_user_gets_the_sections_with_their_links(api_world: World) -> None:
    client = Client()
    client.force_login(api_world.users["member"])

    response = client.get("/api/v1/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["docs"] == "http://testserver/api/docs/"
    names = [section["name"] for section in body["sections"]]
    for name in ("orgs", "transformations", "playbooks", "milestones", "me/checkins"):
        assert name in names
    by_name = {section["name"]: section for section in body["sections"]}
    assert by_name["orgs"]["url"] == "http://testserver/api/v1/orgs/"
    assert by_name["teams"]["url"] == "http://testserver/api/v1/orgs/{org_slug}/teams/"


def test_every_listed_section_is_a_route_of_the_api(api_world: World) -> None:
    client = Client()
    client.force_login(api_world.users["admin"])

    sections = client.get("/api/v1/").json()["sections"]

    for section in sections:
        url = section["url"].removeprefix("http://testserver").replace("{org_slug}", "acme")
        if "{id}" in url:
            continue
        status = client.get(url).status_code
        # Routed: never the "no such URL" 404 (a 403 or 405 is a route refusing, not missing).
        assert status in (200, 403, 405), (section["name"], url, status)


def test_an_api_token_opens_it_too(api_world: World) -> None:
    token = Token.objects.create(user=api_world.users["leader"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.get("/api/v1/").status_code == 200


def test_without_a_login_it_answers_401_in_the_error_shape(client: Client) -> None:
    response = client.get("/api/v1/")

    assert response.status_code == 401
    assert response.json()["message"] == "Authentication credentials were not provided."
