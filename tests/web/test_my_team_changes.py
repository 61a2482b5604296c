""" "My team" changes (issue 17): a removal asks for confirmation and can be undone right after,
a new hire is added (person, membership, optional invitation), an interaction's mode and
expected end are edited; and "My check-ins" is in every role's navigation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from teams.models import Interaction, Invitation, Membership, Person, ServesLink, Team
from tests.builders import WebDemo, client_for
from transform.models import CheckIn

pytestmark = pytest.mark.django_db

MY_TEAM = reverse("web:my-team", kwargs={"org_slug": "demo"})
MY_CHECKINS = reverse("web:my-checkins", kwargs={"org_slug": "demo"})
UNDO = reverse("web:my-team-undo", kwargs={"org_slug": "demo"})


@pytest.fixture
def demo(web_demo_answered: WebDemo) -> WebDemo:
    return web_demo_answered


def team_url(name: str, team: str = "search", **kwargs: Any) -> str:
    return reverse(f"web:my-team-{name}", kwargs={"org_slug": "demo", "team_slug": team, **kwargs})


def search() -> Team:
    return Team.objects.get(organization__slug="demo", slug="search")


def text(response: Any) -> str:
    return response.content.decode()


def test_remove_on_my_team_is_a_link_to_a_confirmation_not_a_one_click_post(demo: WebDemo):
    membership = search().memberships.select_related("person").first()
    assert membership is not None
    url = team_url("member-remove", membership_id=membership.pk)

    body = text(client_for("manager").get(MY_TEAM))

    assert f'href="{url}"' in body
    assert f'action="{url}"' not in body


def test_removing_a_member_asks_first_then_offers_undo(demo: WebDemo):
    manager = client_for("manager")
    membership = search().memberships.select_related("person").first()
    assert membership is not None
    role, allocation, person = membership.role, membership.allocation_percent, membership.person
    url = team_url("member-remove", membership_id=membership.pk)

    confirm = manager.get(url)

    assert confirm.status_code == 200
    assert f"Remove {person.name or person.email} from Search Squad?" in text(confirm)
    assert "Yes, remove" in text(confirm)
    assert Membership.objects.filter(pk=membership.pk).exists()

    removed = manager.post(url)
    assert removed.status_code == 302
    assert not Membership.objects.filter(team=search(), person=person).exists()
    page = text(manager.get(MY_TEAM))
    assert f'action="{UNDO}"' in page
    assert f"{person.name or person.email} left Search Squad" in page

    undone = manager.post(UNDO)

    assert undone.status_code == 302
    back = Membership.objects.get(team=search(), person=person)
    assert (back.role, back.allocation_percent) == (role, allocation)
    # the undo is used up: the page offers it no more and a second undo changes nothing
    assert f'action="{UNDO}"' not in text(manager.get(MY_TEAM))
    manager.post(UNDO)
    assert Membership.objects.filter(team=search(), person=person).count() == 1


def test_removing_an_interaction_can_be_undone_with_its_mode_and_end(demo: WebDemo):
    manager = client_for("manager")
    catalog = Team.objects.get(organization__slug="demo", slug="catalog")
    end = timezone.localdate() + dt.timedelta(days=40)
    interaction = Interaction.objects.create(
        organization=demo.organization,
        source=search(),
        target=catalog,
        mode="collaboration",
        expected_end=end,
        note="facets",
    )
    url = team_url("interaction-remove", interaction_id=interaction.pk)

    assert "Remove the collaboration of Search Squad with" in text(manager.get(url))
    assert Interaction.objects.filter(pk=interaction.pk).exists()
    assert manager.post(url).status_code == 302
    assert not Interaction.objects.filter(source=search(), target=catalog).exists()
    assert manager.post(UNDO).status_code == 302

    back = Interaction.objects.get(source=search(), target=catalog)
    assert (back.mode, back.expected_end, back.note) == ("collaboration", end, "facets")


def test_removing_a_serves_link_can_be_undone(demo: WebDemo):
    manager = client_for("manager")
    outsider = (
        Person.objects.filter(organization=demo.organization)
        .exclude(memberships__team=search())
        .first()
    )
    assert outsider is not None
    link = ServesLink.objects.create(
        organization=demo.organization, person=outsider, team=search(), note="SRE"
    )
    url = team_url("serves-remove", link_id=link.pk)

    assert manager.get(url).status_code == 200
    assert ServesLink.objects.filter(pk=link.pk).exists()
    manager.post(url)
    assert not ServesLink.objects.filter(team=search(), person=outsider).exists()
    manager.post(UNDO)

    assert ServesLink.objects.get(team=search(), person=outsider).note == "SRE"


def test_undo_with_nothing_to_undo_changes_nothing(demo: WebDemo):
    before = Membership.objects.count()

    response = client_for("manager").post(UNDO, follow=True)

    assert response.status_code == 200
    assert "There is nothing to undo." in text(response)
    assert Membership.objects.count() == before


def test_the_confirmation_is_refused_for_a_team_the_caller_does_not_manage(demo: WebDemo):
    other = Team.objects.filter(organization=demo.organization).exclude(slug="search")
    team = next(t for t in other if t.manager is None or t.manager.user is None)
    membership = team.memberships.first()
    assert membership is not None

    response = client_for("member").get(
        team_url("member-remove", team.slug, membership_id=membership.pk)
    )

    assert response.status_code == 403


def test_a_change_agent_adds_someone_new_with_an_invitation(demo: WebDemo):
    agent = client_for("agent")

    response = agent.post(
        team_url("member-new"),
        {
            "name": "Noor Haddad",
            "email": "Noor.Haddad@democorp.example",
            "role": "member",
            "allocation_percent": "80",
            "invite": "on",
        },
    )

    assert response.status_code == 302
    person = Person.objects.get(
        organization=demo.organization, email="noor.haddad@democorp.example"
    )
    assert person.name == "Noor Haddad"
    membership = Membership.objects.get(team=search(), person=person)
    assert membership.allocation_percent == 80
    invitation = Invitation.objects.get(organization=demo.organization, person=person)
    assert invitation.role == "member"
    assert [message.to for message in mail.outbox][-1] == ["noor.haddad@democorp.example"]
    assert "An invitation to log in went to" in text(agent.get(MY_TEAM))


def test_a_manager_adds_someone_new_but_may_not_invite(demo: WebDemo):
    manager = client_for("manager")
    mail.outbox.clear()

    page = text(manager.get(MY_TEAM))
    refused = manager.post(
        team_url("member-new"),
        {"name": "Noor Haddad", "email": "noor.haddad@democorp.example", "invite": "on"},
    )

    assert 'name="invite"' not in page
    assert refused.status_code == 403
    assert not Person.objects.filter(email="noor.haddad@democorp.example").exists()
    assert not Invitation.objects.filter(email="noor.haddad@democorp.example").exists()
    assert mail.outbox == []


def test_adding_someone_new_without_invitation_sends_no_mail(demo: WebDemo):
    mail.outbox.clear()

    client_for("manager").post(
        team_url("member-new"), {"name": "Ola Berg", "email": "ola.berg@democorp.example"}
    )

    person = Person.objects.get(organization=demo.organization, email="ola.berg@democorp.example")
    assert Membership.objects.filter(team=search(), person=person).exists()
    assert not Invitation.objects.filter(person=person).exists()
    assert mail.outbox == []


def test_adding_someone_new_who_is_already_a_person_is_refused(demo: WebDemo):
    existing = Person.objects.filter(organization=demo.organization).first()
    assert existing is not None
    before = Person.objects.count()

    response = client_for("manager").post(
        team_url("member-new"), {"name": "Again", "email": existing.email}
    )

    assert response.status_code == 400
    section = text(response).split('id="team-search"', 1)[1].split("</section>", 1)[0]
    assert "is already a person of" in section
    assert Person.objects.count() == before


def test_a_manager_edits_an_interactions_mode_and_expected_end(demo: WebDemo):
    manager = client_for("manager")
    catalog = Team.objects.get(organization__slug="demo", slug="catalog")
    interaction = Interaction.objects.create(
        organization=demo.organization, source=search(), target=catalog, mode="collaboration"
    )
    url = team_url("interaction-edit", interaction_id=interaction.pk)
    assert f'action="{url}"' in text(manager.get(MY_TEAM))

    response = manager.post(url, {"mode": "facilitating", "expected_end": "2027-03-31"})

    assert response.status_code == 302
    interaction.refresh_from_db()
    assert interaction.mode == "facilitating"
    assert interaction.expected_end == dt.date(2027, 3, 31)
    cleared = manager.post(url, {"mode": "x_as_a_service", "expected_end": ""})
    assert cleared.status_code == 302
    interaction.refresh_from_db()
    assert (interaction.mode, interaction.expected_end) == ("x_as_a_service", None)


def test_an_invalid_interaction_edit_is_shown_and_changes_nothing(demo: WebDemo):
    catalog = Team.objects.get(organization__slug="demo", slug="catalog")
    interaction = Interaction.objects.create(
        organization=demo.organization, source=search(), target=catalog, mode="collaboration"
    )

    response = client_for("manager").post(
        team_url("interaction-edit", interaction_id=interaction.pk),
        {"mode": "telepathy", "expected_end": "soon"},
    )

    assert response.status_code == 400
    interaction.refresh_from_db()
    assert (interaction.mode, interaction.expected_end) == ("collaboration", None)


@pytest.mark.parametrize("username", ["agent", "manager", "leader", "member"])
def test_my_check_ins_is_in_every_roles_navigation(demo: WebDemo, username: str):
    body = text(client_for(username).get(MY_CHECKINS))

    assert f'href="{MY_CHECKINS}"' in body
    assert "<h1>My check-ins</h1>" in body


def test_my_check_ins_lists_the_callers_open_check_ins_with_links(demo: WebDemo):
    manager = client_for("manager")
    person = Person.objects.get(organization=demo.organization, user__username="manager")
    waiting = CheckIn.objects.filter(
        recipient=person,
        answered_at__isnull=True,
        closed_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).count()
    assert waiting >= 1

    body = text(manager.get(MY_CHECKINS))

    assert body.count('href="/c/') == min(waiting, 50)
    assert "No check-in is waiting for your answer." not in body


def test_my_check_ins_runs_a_fixed_number_of_queries(demo: WebDemo, django_assert_max_num_queries):
    manager = client_for("manager")
    manager.get(MY_CHECKINS)
    with CaptureQueriesContext(connection) as first:
        manager.get(MY_CHECKINS)
    person = Person.objects.get(organization=demo.organization, user__username="manager")
    template = CheckIn.objects.filter(recipient=person).first()
    assert template is not None
    for offset in range(5):
        template.pk = None
        template.period = f"{template.period}-copy{offset}"
        template.subject = f"{template.subject}-copy{offset}"
        template.answered_at = None
        template.closed_at = None
        template.expires_at = timezone.now() + dt.timedelta(days=3)
        template.save()

    with django_assert_max_num_queries(len(first.captured_queries)):
        response = manager.get(MY_CHECKINS)
    assert response.status_code == 200
