"""Retiring a team from the graph's team panel (transform/web/departure_pages.py): who may, the
lineage it records, and what the graph shows afterwards."""

from __future__ import annotations

import pytest

from teams import models
from tests.builders import WebDemo, client_for

pytestmark = pytest.mark.django_db

URL = "/o/demo/graph/teams/returns/retire/"


@pytest.fixture
def demo(web_demo_plain: WebDemo) -> WebDemo:
    return web_demo_plain


def returns() -> models.Team:
    return models.Team.all_objects.get(organization__slug="demo", slug="returns")


def test_a_change_agent_retires_a_team_with_a_reason(demo: WebDemo) -> None:
    client = client_for("agent")

    response = client.post(URL, {"reason": "Folded into checkout"})

    assert response.status_code == 302
    assert response["Location"] == "/o/demo/graph/"
    team = returns()
    assert team.retired_at is not None
    assert not models.Membership.objects.filter(team=team).exists()
    event = team.lineage.get(kind=models.LineageKind.RETIRED)
    assert (event.source, event.reason, event.recorded_by.username) == (  # type: ignore[union-attr]
        "web",
        "Folded into checkout",
        "agent",
    )
    page = client.get("/o/demo/graph/").content.decode()
    assert f"{team.name} was retired; its history and evidence are kept." in page
    assert 'data-slug="returns"' not in page


def test_a_retired_team_is_not_found_again(demo: WebDemo) -> None:
    client = client_for("agent")
    client.post(URL, {})

    again = client.post(URL, {})

    assert again.status_code == 404
    assert returns().lineage.filter(kind=models.LineageKind.RETIRED).count() == 1


@pytest.mark.parametrize("username", ["member", "leader", "manager"])
def test_other_roles_may_not_retire_teams(demo: WebDemo, username: str) -> None:
    assert client_for(username).post(URL, {"reason": "x"}).status_code == 403
    assert returns().retired_at is None


def test_another_organisations_admin_gets_404(demo: WebDemo) -> None:
    assert client_for("outsider").post(URL, {"reason": "x"}).status_code == 404
    assert returns().retired_at is None


def test_an_overlong_reason_is_a_400_shown_in_the_panel(demo: WebDemo) -> None:
    response = client_for("agent").post(URL, {"reason": "x" * 2001})

    assert response.status_code == 400
    assert "Why: Ensure this value has at most 2000 characters" in response.content.decode()
    assert returns().retired_at is None
