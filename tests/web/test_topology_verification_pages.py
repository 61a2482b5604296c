"""Topology verification that does what it promises (issue 12): the form shows the team's
record, "something has changed" collects structured corrections validated against the
organisation, they become a proposal the team's manager or a change agent accepts with history
(transform/checkins/verifications.py), the graph's team table and "My team" mark stale and
confirmed teams, and a new round replaces a team's open check-in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from teams import models
from tests.builders import WebDemo, client_for
from tests.factories import CheckInFactory, OrganizationRoleFactory, UserFactory
from transform.checkins.planning import checkins_plan
from transform.models import (
    CheckIn,
    CheckInKind,
    CheckinSettings,
    ProposalStatus,
    TeamVerification,
)
from transform.rhythm.links import checkin_token, link_nonce_new

pytestmark = pytest.mark.django_db

LEAVING = "fatima.zahra@democorp.example"  # a plain member of the search squad


@pytest.fixture
def demo(web_demo_plain: WebDemo) -> WebDemo:
    return web_demo_plain


def team(slug: str) -> models.Team:
    return models.Team.objects.get(organization__slug="demo", slug=slug)


def topology_checkin(slug: str = "search") -> CheckIn:
    found = team(slug)
    checkin: Any = CheckInFactory(
        organization=found.organization,
        kind=CheckInKind.TOPOLOGY_VERIFICATION,
        recipient=found.manager,
        subject=f"team:{found.pk}",
        period="2027-01-04",
        period_start=timezone.localdate(),
        team=found,
        instruments=[["topology-verification", 1]],
        link_nonce=link_nonce_new(),
        created_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=7),
    )
    return checkin


def link(checkin: CheckIn) -> str:
    return f"/c/{checkin_token(checkin)}/"


def corrections(**rows: Any) -> dict[str, Any]:
    """The form's POST for search: every member row as on record, then ``rows`` overrides."""
    search = team("search")
    members = list(search.memberships.select_related("person").order_by("person__email"))
    interactions = list(
        search.outgoing_interactions.select_related("target").order_by("target__slug", "mode")
    )
    data: dict[str, Any] = {
        "topology-verification.topology": "needs_changes",
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": str(len(members)),
        "add-TOTAL_FORMS": "3",
        "add-INITIAL_FORMS": "0",
        "interactions-TOTAL_FORMS": str(len(interactions)),
        "interactions-INITIAL_FORMS": str(len(interactions)),
    }
    for index, membership in enumerate(members):
        data[f"members-{index}-email"] = membership.person.email
        data[f"members-{index}-role"] = membership.role
        data[f"members-{index}-allocation_percent"] = str(membership.allocation_percent)
        if membership.person.email == rows.get("remove"):
            data[f"members-{index}-remove"] = "on"
    for index in range(3):
        data[f"add-{index}-role"] = "member"
        data[f"add-{index}-allocation_percent"] = "100"
    for index, interaction in enumerate(interactions):
        data[f"interactions-{index}-target"] = interaction.target.slug
        data[f"interactions-{index}-current_mode"] = interaction.mode
        data[f"interactions-{index}-mode"] = interaction.mode
        if interaction.expected_end:
            data[f"interactions-{index}-expected_end"] = interaction.expected_end.isoformat()
    if "add" in rows:
        data["add-0-email"] = rows["add"]
    return data


def propose_removal() -> TeamVerification:
    response = Client().post(link(topology_checkin()), corrections(remove=LEAVING))
    assert response.status_code == 200, response.content.decode()
    return TeamVerification.objects.get(team=team("search"))


def test_the_form_shows_the_teams_current_record(demo: WebDemo) -> None:
    page = Client().get(link(topology_checkin())).content.decode()

    assert "On record for Search Squad" in page
    assert "Jonas Weber" in page
    assert "Lead" in page
    assert "100%" in page  # allocations
    assert "DevOps buddy: Amara Nwosu" in page
    assert "Product owner: Chloe Martin" in page
    assert "Ticket dependency" in page  # interactions, with the other team
    assert "Served by:" in page
    assert 'name="add-0-email"' in page  # the structured corrections


def test_an_unknown_email_is_an_error_on_its_row_and_nothing_is_stored(demo: WebDemo) -> None:
    checkin = topology_checkin()

    response = Client().post(link(checkin), corrections(add="nobody@nowhere.example"))

    assert response.status_code == 400
    assert "No person with this e-mail in the organisation." in response.content.decode()
    assert not TeamVerification.objects.exists()
    checkin.refresh_from_db()
    assert checkin.answered_at is None


def test_structured_corrections_are_stored_as_proposed_scenario_changes(demo: WebDemo) -> None:
    verification = propose_removal()

    assert verification.confirmed is False
    assert verification.proposal_status == ProposalStatus.PROPOSED
    assert verification.proposed_changes == [
        {"kind": "remove_person", "team": "search", "person": LEAVING}
    ]


def test_the_manager_accepts_the_proposal_on_my_team_with_history(demo: WebDemo) -> None:
    verification = propose_removal()
    client = client_for("manager")
    assert "Remove fatima.zahra@democorp.example" in client.get("/o/demo/my-team/").content.decode()

    response = client.post(f"/o/demo/verifications/{verification.pk}/accept/", {"back": "my-team"})

    assert response.status_code == 302
    assert response["Location"] == "/o/demo/my-team/#team-search"
    assert not models.Membership.objects.filter(team=team("search"), person__email=LEAVING)
    removed = models.Membership.history.filter(
        team_id=team("search").pk, person__email=LEAVING, history_type="-"
    ).get()
    assert removed.history_user.username == "manager"
    verification.refresh_from_db()
    assert verification.proposal_status == ProposalStatus.ACCEPTED
    assert verification.decided_by is not None
    assert verification.decided_by.username == "manager"
    assert verification.decided_at is not None
    again = client.post(f"/o/demo/verifications/{verification.pk}/accept/")
    assert again.status_code == 302  # already decided: a message, nothing applied twice


def test_a_change_agent_rejects_a_proposal_from_the_graph_panel(demo: WebDemo) -> None:
    verification = propose_removal()
    client = client_for("agent")
    assert "Accept and apply" in client.get("/o/demo/graph/?team=search").content.decode()

    response = client.post(f"/o/demo/verifications/{verification.pk}/reject/", {"back": "graph"})

    assert response["Location"] == "/o/demo/graph/?team=search"
    verification.refresh_from_db()
    assert verification.proposal_status == ProposalStatus.REJECTED
    assert models.Membership.objects.filter(team=team("search"), person__email=LEAVING).exists()


def test_another_teams_manager_gets_403_and_another_organisation_404(demo: WebDemo) -> None:
    verification = propose_removal()
    user: Any = UserFactory(username="priya")
    OrganizationRoleFactory(
        organization=demo.organization, user=user, role=models.Role.ENGINEERING_MANAGER
    )
    models.Person.objects.filter(email="priya.raman@democorp.example").update(user=user)
    url = f"/o/demo/verifications/{verification.pk}/accept/"

    assert client_for("priya").post(url).status_code == 403
    assert client_for("outsider").post(url.replace("/demo/", "/globex/")).status_code == 404
    verification.refresh_from_db()
    assert verification.proposal_status == ProposalStatus.PROPOSED


def test_the_graph_table_and_my_team_mark_stale_confirmed_and_proposed(demo: WebDemo) -> None:
    Client().post(
        link(topology_checkin("catalog")),
        {"topology-verification.topology": "confirmed"},
    )
    propose_removal()

    graph = client_for("agent").get("/o/demo/graph/").content.decode()
    my_team = client_for("manager").get("/o/demo/my-team/").content.decode()

    for page in (graph, my_team):
        assert "confirmed today" in page  # catalog
        assert "stale: never confirmed" in page  # search answered "needs changes"
        assert "changes proposed" in page


def test_a_new_round_replaces_the_open_topology_checkin(demo: WebDemo) -> None:
    CheckinSettings.objects.update_or_create(
        organization=demo.organization,
        defaults={"topology_verify_every_days": 3, "link_valid_days": 7},
    )
    now = timezone.now()
    checkins_plan(at=now)
    later = now + dt.timedelta(days=4)

    checkins_plan(at=later)

    open_ones = CheckIn.objects.filter(
        organization=demo.organization,
        kind=CheckInKind.TOPOLOGY_VERIFICATION,
        answered_at__isnull=True,
        closed_at__isnull=True,
        expires_at__gt=later,
    )
    per_team = list(open_ones.values_list("team_id", flat=True))
    assert per_team
    assert len(per_team) == len(set(per_team))
    closed = CheckIn.objects.filter(kind=CheckInKind.TOPOLOGY_VERIFICATION, closed_at=later).first()
    assert closed is not None
    assert "newer topology check" in closed.closed_reason
