"""Marking a member as a leaver from the graph's team panel (transform/web/departure_pages.py):
who may, what it changes, the 409 that lists the milestones to reassign, and the panel's query
count."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from teams import models
from tests.builders import AGENT, WebDemo, client_for
from tests.factories import MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db

LEAVER = "jonas.weber@democorp.example"  # a plain member of the search squad
URL = "/o/demo/graph/teams/search/leavers/"


@pytest.fixture
def demo(web_demo_plain: WebDemo) -> WebDemo:
    return web_demo_plain


def person(email: str) -> models.Person:
    return models.Person.objects.get(organization__slug="demo", email=email)


def test_a_change_agent_marks_a_member_as_a_leaver_from_the_panel(demo: WebDemo) -> None:
    client = client_for("agent")

    response = client.post(URL, {"email": LEAVER})

    assert response.status_code == 302
    assert response["Location"] == "/o/demo/graph/?team=search#team-panel"
    jonas = person(LEAVER)
    assert jonas.left_on == timezone.localdate()
    assert not models.Membership.objects.filter(person=jonas).exists()
    latest = jonas.history.latest("history_date")
    assert latest.history_change_reason == "left (web)"
    assert latest.history_user.username == "agent"
    page = client.get(response["Location"]).content.decode()
    assert "Jonas Weber is listed as having left the organisation on" in page
    assert LEAVER not in page  # no longer a member in the panel


def test_the_panel_offers_the_actions_to_admins_and_change_agents_only(demo: WebDemo) -> None:
    agent = client_for("agent").get("/o/demo/graph/?team=search").content.decode()
    member = client_for("member").get("/o/demo/graph/?team=search").content.decode()
    past = client_for("agent").get("/o/demo/graph/?team=search&as_of=2024-01-01")

    assert f'action="{URL}"' in agent
    assert 'action="/o/demo/graph/teams/search/retire/"' in agent
    assert URL not in member
    assert "Retire team" not in member
    assert URL not in past.content.decode()  # history is read-only


def test_someone_who_owns_open_milestones_cannot_leave_and_is_told_what_to_reassign(
    demo: WebDemo,
) -> None:
    response = client_for("agent").post(URL, {"email": AGENT})

    assert response.status_code == 409
    html = response.content.decode()
    assert f"{AGENT} cannot be marked as a leaver; reassign first their" in html
    assert f'href="/o/demo/milestones/{demo.started.pk}/"' in html
    assert f'href="/o/demo/plans/{demo.transformation.pk}/"' in html
    assert person(AGENT).left_on is None
    assert models.Membership.objects.filter(person=person(AGENT)).exists()


@pytest.mark.parametrize("username", ["member", "leader", "manager"])
def test_other_roles_may_not_mark_leavers(demo: WebDemo, username: str) -> None:
    response = client_for(username).post(URL, {"email": LEAVER})

    assert response.status_code == 403
    assert person(LEAVER).left_on is None


def test_other_organisations_and_anonymous_callers_cannot_reach_it(demo: WebDemo) -> None:
    assert client_for("outsider").post(URL, {"email": LEAVER}).status_code == 404
    assert Client().post(URL, {"email": LEAVER}).status_code == 302  # to the login page
    assert person(LEAVER).left_on is None


def test_an_unknown_or_malformed_email_is_a_400_in_the_panel(demo: WebDemo) -> None:
    client = client_for("agent")

    unknown = client.post(URL, {"email": "nobody@democorp.example"})
    garbage = client.post(URL, {"email": "not an address"})

    assert unknown.status_code == 400
    assert "No person with e-mail &#x27;nobody@democorp.example&#x27;" in unknown.content.decode()
    assert garbage.status_code == 400
    assert "E-mail: Enter a valid email address." in garbage.content.decode()


def test_the_page_only_answers_post(demo: WebDemo) -> None:
    assert client_for("agent").get(URL).status_code == 405


def test_the_panel_with_its_forms_runs_a_constant_number_of_queries(
    demo: WebDemo, django_assert_max_num_queries: Any
) -> None:
    client = client_for("agent")
    # 14: the topology marks and the panel's proposals included.
    with django_assert_max_num_queries(15):
        small = client.get("/o/demo/graph/?team=search")
    search = models.Team.objects.get(organization=demo.organization, slug="search")
    for _number in range(30):
        MembershipFactory(team=search, organization=demo.organization)
    TeamFactory(organization=demo.organization)

    with django_assert_max_num_queries(15):
        large = client.get("/o/demo/graph/?team=search")

    assert small.status_code == large.status_code == 200
    members = models.Membership.objects.filter(team=search).count()
    assert members > 30
    assert large.content.decode().count(f'action="{URL}"') == members
