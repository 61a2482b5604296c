"""The 403 and 404 pages in the site's style (issue 17): the site header, the reason in plain
words and what to do; the API keeps its JSON error shape. Django's test client runs with
DEBUG false, as production does, so these are the pages people get."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.builders import World

pytestmark = pytest.mark.django_db


def _client(world: World, kind: str) -> Client:
    client = Client()
    client.force_login(world.users[kind])
    return client


def test_a_manager_opening_the_leadership_page_gets_the_styled_403_with_the_reason(
    api_world: World,
) -> None:
    response = _client(api_world, "em").get("/o/acme/leadership/")

    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="site-header"' in html  # the site's own page, not Django's bare one
    assert "The leadership page is for leaders, change agents and admins." in html
    assert f"Ask an admin of {api_world.acme.org.name} for the leader role." in html
    # The access rule's own words, with the organisation named as people know it.
    assert f"Only admins, change agents and leaders of {api_world.acme.org.name}" in html
    assert "'acme'" not in html
    assert 'href="/o/acme/"' in html  # a way back
    assert "403 Forbidden" not in html


def test_another_refusal_shows_the_reason_the_rule_gives(api_world: World) -> None:
    response = _client(api_world, "member").get("/o/acme/findings/start/")

    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="site-header"' in html
    assert "start transformations" in html
    assert "ask an admin of" in html


def test_a_missing_page_gets_the_styled_404(api_world: World) -> None:
    response = _client(api_world, "admin").get("/o/acme/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="site-header"' in html
    assert "Page not found" in html
    assert "/o/acme/no-such-page/" in html
    assert 'href="/"' in html


def test_another_organisations_page_is_the_same_styled_404(api_world: World) -> None:
    response = _client(api_world, "admin").get("/o/globex/leadership/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_missing_api_url_keeps_the_json_error_shape(api_world: World) -> None:
    response = _client(api_world, "admin").get("/api/v1/milestones/abc/")

    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "extra": {}}


def test_favicon_ico_answers_with_the_svg_icon(client: Client) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("web/favicon.svg")


def test_every_page_links_the_favicon(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()

    assert '<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml">' in html
