"""Plans, milestones and "My team" through Django's test client: who sees and may change what,
what a change writes, how a broken rule reads, and query counts that stay flat."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from teams.models import Membership, MembershipRole, Person, Team
from tests.builders import AGENT, MANAGER, WebDemo, client_for
from tests.factories import InteractionFactory, MembershipFactory, ServesLinkFactory, TeamFactory
from transform.models import EventKind, MilestoneChange, MilestoneEvent, MilestoneStatus
from transform.plans.services import milestone_transition, transformation_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(web_demo_answered: WebDemo) -> WebDemo:
    return web_demo_answered


def plan_url(demo: WebDemo, *, org: str = "demo") -> str:
    return reverse(
        "web:plan", kwargs={"org_slug": org, "transformation_id": demo.transformation.pk}
    )


def milestone_url(
    demo: WebDemo, name: str = "milestone", *, milestone_id: int | None = None
) -> str:
    return reverse(
        f"web:{name}",
        kwargs={"org_slug": "demo", "milestone_id": milestone_id or demo.started.pk},
    )


def team_url(name: str, team: str, **kwargs: Any) -> str:
    return reverse(f"web:my-team-{name}", kwargs={"org_slug": "demo", "team_slug": team, **kwargs})


def text(response: Any) -> str:
    return response.content.decode()


# --- plans list ----------------------------------------------------------------------------------


def test_the_plans_list_shows_each_transformation_with_dates_and_counts(demo: WebDemo):
    response = client_for("member").get(reverse("web:plans", kwargs={"org_slug": "demo"}))

    body = text(response)
    assert response.status_code == 200
    assert demo.transformation.title in body
    assert plan_url(demo) in body
    assert demo.transformation.start_date.isoformat() in body
    assert "1</span> in progress" in body


def test_the_plans_list_explains_how_to_start_when_there_is_none(demo: WebDemo):
    response = client_for("outsider").get(reverse("web:plans", kwargs={"org_slug": "globex"}))

    body = text(response)
    assert "No transformation has started" in body
    assert "Start playbook" in body
    assert "start_transformation" in body


# --- plan and board ------------------------------------------------------------------------------


def test_a_leader_sees_the_plan_read_only(demo: WebDemo):
    response = client_for("leader").get(plan_url(demo))

    body = text(response)
    assert response.status_code == 200
    assert "Timeline" in body
    assert "Board by status" in body
    # The only form on the page is the log-out button of the header.
    assert body.count("<form") == 1
    assert "You can read this plan" in body


def test_the_plan_shows_phases_critical_path_slack_and_the_board(demo: WebDemo):
    response = client_for("agent").get(plan_url(demo))

    body = text(response)
    milestones = list(demo.transformation.milestones.all())
    assert len(milestones) == 13
    assert ">critical</span>" in body
    assert "Slack: " in body
    assert "Critical path:" in body
    for phase_title in {m.phase_title for m in milestones}:
        assert phase_title in body
    assert milestone_url(demo) in body
    board = body.split('id="board"', 1)[1]
    in_progress = board.split('data-status="in_progress"', 1)[1].split("</section>", 1)[0]
    assert demo.started.title in in_progress


def test_the_board_page_lists_every_milestone_in_its_status_column(demo: WebDemo):
    url = reverse(
        "web:plan-board", kwargs={"org_slug": "demo", "transformation_id": demo.transformation.pk}
    )
    response = client_for("member").get(url)

    body = text(response)
    assert response.status_code == 200
    assert body.count('<li class="board-card') == 13


def test_an_outsider_gets_not_found_for_plans_and_milestones(demo: WebDemo):
    outsider = client_for("outsider")

    assert outsider.get(plan_url(demo)).status_code == 404
    assert outsider.get(plan_url(demo, org="globex")).status_code == 404
    assert outsider.get(milestone_url(demo)).status_code == 404
    in_globex = reverse(
        "web:milestone", kwargs={"org_slug": "globex", "milestone_id": demo.started.pk}
    )
    assert outsider.get(in_globex).status_code == 404
    assert (
        outsider.post(milestone_url(demo, "milestone-status"), {"to_status": "done"}).status_code
        == 404
    )


def test_the_plan_page_runs_as_many_queries_for_a_bigger_plan(
    demo: WebDemo, django_assert_max_num_queries
):
    bigger = transformation_start(
        organization=demo.organization,
        playbooks=["unify-ops-silos", "launch-platform-team", "devops-buddy-programme"],
        start_date=timezone.localdate() - dt.timedelta(days=7),
        owner_email=AGENT,
    )
    assert bigger.milestones.count() > 30
    client = client_for("agent")
    client.get(plan_url(demo))  # warm caches (sessions, content types)
    cache.clear()  # cold, as after a change: the cache would hide what a miss costs

    with CaptureQueriesContext(connection) as small:
        client.get(plan_url(demo))
    cache.clear()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(
            reverse("web:plan", kwargs={"org_slug": "demo", "transformation_id": bigger.pk})
        )
    assert response.status_code == 200


# --- milestone detail and actions ----------------------------------------------------------------


def test_a_change_agent_sees_every_form_on_a_milestone(demo: WebDemo):
    body = text(client_for("agent").get(milestone_url(demo)))

    assert 'id="status-form"' in body
    assert 'id="reassign-form"' in body
    assert 'id="change-form"' in body
    assert "Exit criteria" in body
    assert "History" in body


def test_a_member_sees_the_milestone_without_forms_and_gets_403_on_a_post(demo: WebDemo):
    member = client_for("member")

    body = text(member.get(milestone_url(demo)))
    response = member.post(
        milestone_url(demo, "milestone-status"), {"to_status": "at_risk", "reason": "x"}
    )

    assert "status-form" not in body
    assert "reassign-form" not in body
    assert response.status_code == 403
    assert (
        member.post(milestone_url(demo, "milestone-reassign"), {"owner": MANAGER}).status_code
        == 403
    )
    assert (
        member.post(
            milestone_url(demo, "milestone-change"), {"kind": "add_devops_buddy"}
        ).status_code
        == 403
    )
    assert demo.started.events.count() == 2  # created, in progress: nothing more


def test_a_leader_may_only_override_to_done(demo: WebDemo):
    leader = client_for("leader")

    body = text(leader.get(milestone_url(demo)))
    response = leader.post(
        milestone_url(demo, "milestone-status"), {"to_status": "at_risk", "reason": "x"}
    )

    assert "Mark done by override" in body
    assert "reassign-form" not in body
    assert response.status_code == 403


def test_a_change_agent_changes_the_status_and_an_event_is_written(demo: WebDemo):
    agent = client_for("agent")
    response = agent.post(
        milestone_url(demo, "milestone-status"),
        {"to_status": MilestoneStatus.AT_RISK, "reason": "Two people are on leave."},
    )

    assert response.status_code == 302
    event = MilestoneEvent.objects.filter(milestone=demo.started).order_by("-id").first()
    assert event is not None
    assert (event.kind, event.from_status, event.to_status) == (
        EventKind.STATUS,
        MilestoneStatus.IN_PROGRESS,
        MilestoneStatus.AT_RISK,
    )
    assert event.actor is not None
    assert event.actor.username == "agent"
    page = text(agent.get(response["Location"]))
    assert "is now at risk" in page
    assert "Two people are on leave." in page


def test_an_illegal_transition_shows_the_workflow_message_next_to_the_form(demo: WebDemo):
    response = client_for("agent").post(
        milestone_url(demo, "milestone-status"), {"to_status": "planned"}
    )

    body = text(response)
    assert response.status_code == 409
    # In words, not codes (issue 17): "in progress", never "in_progress".
    assert "cannot go from in progress to planned" in body
    assert "cannot go from in_progress" not in body
    assert 'role="alert"' in body
    assert demo.started.events.count() == 2


def test_a_missing_reason_is_shown_and_nothing_changes(demo: WebDemo):
    response = client_for("agent").post(
        milestone_url(demo, "milestone-status"), {"to_status": "blocked"}
    )

    assert response.status_code == 400
    assert "a reason is required" in text(response)


def in_progress(demo: WebDemo, key: str) -> Any:
    milestone = demo.transformation.milestones.get(key=key)
    return milestone_transition(
        milestone=milestone, to_status=MilestoneStatus.IN_PROGRESS, actor=None
    )


def test_done_against_failing_exit_criteria_shows_the_services_message(demo: WebDemo):
    merge = in_progress(demo, "merge-silo-teams")

    response = client_for("agent").post(
        milestone_url(demo, "milestone-status", milestone_id=merge.pk), {"to_status": "done"}
    )

    body = text(response)
    assert response.status_code == 409
    assert "exit criteria do not pass" in body
    assert "A leader or admin may override" in body


def test_a_leader_marks_done_by_override_with_a_reason(demo: WebDemo):
    merge = in_progress(demo, "merge-silo-teams")
    leader = client_for("leader")
    url = milestone_url(demo, "milestone-status", milestone_id=merge.pk)

    refused = leader.post(url, {"to_status": "done", "override": "on"})
    response = leader.post(url, {"to_status": "done", "override": "on", "reason": "Board decision"})

    assert refused.status_code == 400
    assert "needs a written reason" in text(refused)
    assert response.status_code == 302
    merge.refresh_from_db()
    assert merge.status == MilestoneStatus.DONE
    assert merge.override_reason == "Board decision"
    assert "Done by override" in text(leader.get(response["Location"]))


def test_a_change_agent_reassigns_a_milestone(demo: WebDemo):
    agent = client_for("agent")

    response = agent.post(
        milestone_url(demo, "milestone-reassign"), {"owner": MANAGER, "reason": "EM"}
    )
    unknown = agent.post(milestone_url(demo, "milestone-reassign"), {"owner": "nobody@example.com"})

    assert response.status_code == 302
    demo.started.refresh_from_db()
    assert demo.started.owner.email == MANAGER
    assert demo.started.events.filter(kind=EventKind.REASSIGNED).exists()
    assert unknown.status_code == 400
    assert "No person with e-mail &#x27;nobody@example.com&#x27;" in text(unknown)


def test_a_change_agent_attaches_a_topology_change(demo: WebDemo):
    agent = client_for("agent")
    person = Person.objects.get(organization=demo.organization, email=MANAGER)

    response = agent.post(
        milestone_url(demo, "milestone-change"),
        {"kind": "add_devops_buddy", "team": "search", "person": person.email},
    )
    bad_json = agent.post(milestone_url(demo, "milestone-change"), {"change_json": "{nope"})
    bad_team = agent.post(
        milestone_url(demo, "milestone-change"),
        {
            "change_json": json.dumps(
                {"kind": "add_devops_buddy", "team": "ghost", "person": MANAGER}
            )
        },
    )

    assert response.status_code == 302
    change = MilestoneChange.objects.get(milestone=demo.started)
    assert change.change["kind"] == "add_devops_buddy"
    assert change.enacted_at is None
    assert bad_json.status_code == 400
    assert "not valid JSON" in text(bad_json)
    assert bad_team.status_code == 400
    assert "ghost" in text(bad_team)
    assert "pending" in text(agent.get(milestone_url(demo)))


# --- my team -------------------------------------------------------------------------------------


def managed(slug: str = "search") -> Team:
    return Team.objects.get(organization__slug="demo", slug=slug)


def test_a_manager_sees_their_teams_readiness_and_check_ins(demo: WebDemo):
    response = client_for("manager").get(reverse("web:my-team", kwargs={"org_slug": "demo"}))

    body = text(response)
    assert response.status_code == 200
    for slug in ("search", "catalog", "checkout", "recommendations"):
        assert f'id="team-{slug}"' in body
    search = body.split('id="team-search"', 1)[1].split("</section>", 1)[0]
    catalog = body.split('id="team-catalog"', 1)[1].split("</section>", 1)[0]
    assert "Score" in search
    assert "Suppressed" not in search
    assert "Suppressed (fewer than 5 answers)" in catalog
    assert "Your open check-ins" in body


def test_an_admin_without_a_person_reads_why_the_page_is_empty(demo: WebDemo):
    body = text(client_for("demo").get(reverse("web:my-team", kwargs={"org_slug": "demo"})))

    assert "not linked to a person" in body


def test_a_manager_adds_a_member_and_makes_them_the_devops_buddy(demo: WebDemo):
    manager = client_for("manager")
    team = managed()
    newcomer = (
        Person.objects.filter(organization=demo.organization)
        .exclude(memberships__team=team)
        .first()
    )
    assert newcomer is not None

    added = manager.post(
        team_url("member-add", "search"),
        {"email": newcomer.email, "role": "member", "allocation_percent": "50"},
    )
    membership = Membership.objects.get(team=team, person=newcomer)
    buddy = manager.post(
        team_url("member-update", "search", membership_id=membership.pk),
        {"role": MembershipRole.DEVOPS_BUDDY, "allocation_percent": "50"},
    )

    assert added.status_code == 302
    assert buddy.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.allocation_percent) == (MembershipRole.DEVOPS_BUDDY, 50)


def test_a_manager_removes_a_member_and_edits_serves_links_and_interactions(demo: WebDemo):
    manager = client_for("manager")
    team = managed()
    membership = team.memberships.first()
    assert membership is not None
    outsider_person = (
        Person.objects.filter(organization=demo.organization)
        .exclude(memberships__team=team)
        .first()
    )
    assert outsider_person is not None

    removed = manager.post(team_url("member-remove", "search", membership_id=membership.pk))
    serves = manager.post(
        team_url("serves-add", "search"), {"email": outsider_person.email, "note": "SRE"}
    )
    interaction = manager.post(
        team_url("interaction-add", "search"),
        {"target": "catalog", "mode": "collaboration", "severity": "", "note": "search facets"},
    )

    assert removed.status_code == serves.status_code == interaction.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    link = team.served_by.get(person=outsider_person)
    created = team.outgoing_interactions.get(target__slug="catalog", mode="collaboration")
    assert manager.post(team_url("serves-remove", "search", link_id=link.pk)).status_code == 302
    assert (
        manager.post(
            team_url("interaction-remove", "search", interaction_id=created.pk)
        ).status_code
        == 302
    )
    assert not team.served_by.filter(pk=link.pk).exists()
    assert not team.outgoing_interactions.filter(pk=created.pk).exists()


def test_a_broken_rule_on_my_team_is_shown_in_the_teams_section(demo: WebDemo):
    manager = client_for("manager")

    unknown = manager.post(
        team_url("member-add", "search"), {"email": "ghost@example.com", "role": "member"}
    )
    severity = manager.post(
        team_url("interaction-add", "search"),
        {"target": "catalog", "mode": "collaboration", "severity": "blocking"},
    )

    assert unknown.status_code == 400
    section = text(unknown).split('id="team-search"', 1)[1].split("</section>", 1)[0]
    assert "No person with e-mail" in section
    assert severity.status_code == 400
    assert "ticket" in text(severity).lower()


def test_a_manager_cannot_change_a_team_they_do_not_manage(demo: WebDemo):
    other = (
        Team.objects.filter(organization=demo.organization).exclude(manager__email=MANAGER).first()
    )
    assert other is not None

    response = client_for("manager").post(
        team_url("member-add", other.slug), {"email": AGENT, "role": "member"}
    )

    assert response.status_code == 403
    assert not Membership.objects.filter(team=other, person__email=AGENT).exists()


def test_a_member_cannot_change_any_team(demo: WebDemo):
    response = client_for("member").post(team_url("member-add", "search"), {"email": AGENT})

    assert response.status_code == 403


def test_a_get_on_a_write_url_is_refused(demo: WebDemo):
    assert client_for("manager").get(team_url("member-add", "search")).status_code == 405


def test_my_team_runs_as_many_queries_for_a_manager_of_more_teams(
    demo: WebDemo, django_assert_max_num_queries
):
    manager_client = client_for("manager")
    url = reverse("web:my-team", kwargs={"org_slug": "demo"})
    manager_client.get(url)
    cache.clear()  # cold, as after a change: the cache would hide what a miss costs
    with CaptureQueriesContext(connection) as small:
        manager_client.get(url)

    person = Person.objects.get(organization=demo.organization, email=MANAGER)
    for _ in range(6):
        team = TeamFactory(organization=demo.organization, manager=person)
        for _ in range(4):
            MembershipFactory(team=team)
        ServesLinkFactory(team=team)
        InteractionFactory(source=team, target=managed("catalog"))
    cache.clear()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = manager_client.get(url)
    assert text(response).count('class="team-section') == 10


def test_a_done_milestone_offers_no_status_form(demo: WebDemo):
    milestone_transition(milestone=demo.started, to_status=MilestoneStatus.DONE, actor=None)

    body = text(client_for("agent").get(milestone_url(demo)))

    assert 'id="status-form"' not in body
    assert "Done</span>" in body


def test_a_milestone_without_why_or_how_asks_for_them_gently(demo: WebDemo) -> None:
    client = client_for("agent")
    complete = text(client.get(milestone_url(demo)))
    assert "milestone-prompt" not in complete  # the built-in library has both

    type(demo.started).objects.filter(pk=demo.started.pk).update(how="")
    no_how = " ".join(text(client.get(milestone_url(demo))).split())
    type(demo.started).objects.filter(pk=demo.started.pk).update(why="")
    neither = " ".join(text(client.get(milestone_url(demo))).split())

    assert "does not say how to do it yet" in no_how
    assert "<h3>Why</h3>" in no_how
    assert "why this milestone matters or how to do it" in neither
    assert "<h3>Why</h3>" not in neither
