"""What every kind of message says when it is sent, and where its links lead: the status check-in,
reminder, escalation, weekly digest, pulse survey, topology check, readiness-drop alert and
temporary-interaction overrun alert are planned by the rhythm, sent by the outbox (locmem e-mail)
and read from the sent e-mail. Each link must be a web page under ``TRANSFORM_BASE_URL`` that
answers its recipient (docs/delivery.md#links). Figures are those at sending time, and a message
with nothing left to say is skipped with its reason."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from teams.models import Interaction, InteractionMode, Person, Role
from tests.builders import RhythmWorld
from tests.factories import (
    CheckinSettingsFactory,
    DeliveryFactory,
    InteractionFactory,
    OrganizationRoleFactory,
    ReadinessSnapshotFactory,
    TeamFactory,
    UserFactory,
)
from transform.checkins.planning import checkins_plan
from transform.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    MilestoneEvent,
    MilestoneStatus,
)
from transform.outbox.services import deliver_due_now

pytestmark = pytest.mark.django_db

BASE_URL = "http://transform.test:8123"
START = dt.date(2027, 1, 4)  # a Monday
LINK = re.compile(r"https?://\S+")


def days(count: int, hour: int = 9) -> dt.datetime:
    day = START + dt.timedelta(days=count)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


@pytest.fixture
def world(rhythm_world: RhythmWorld, settings: Any) -> RhythmWorld:
    """The rhythm world with logins: lead is a change agent, sponsor a leader, em an engineering
    manager, alice a member (boss already is a leader). Links start with BASE_URL."""
    settings.TRANSFORM_BASE_URL = BASE_URL + "/"
    for name, role in [
        ("lead", Role.CHANGE_AGENT),
        ("sponsor", Role.LEADER),
        ("em", Role.ENGINEERING_MANAGER),
        ("alice", Role.MEMBER),
    ]:
        user = UserFactory(username=name)
        OrganizationRoleFactory(organization=rhythm_world.org, user=user, role=role)
        Person.objects.filter(pk=rhythm_world.people[name].pk).update(user=user)
    CheckinSettingsFactory(organization=rhythm_world.org, digest_weekday=0)
    return rhythm_world


def send(at: dt.datetime) -> None:
    """Plan the rhythm at ``at`` and send everything due, as the beat jobs do."""
    checkins_plan(at=at)
    deliver_due_now(at=at)


def sent(mailoutbox: list[EmailMessage], kind: str, to: str) -> EmailMessage:
    """The one e-mail of ``kind`` sent to ``to``."""
    ids = {
        str(pk)
        for pk in Delivery.objects.filter(
            kind=kind, recipient__email=to, status=DeliveryStatus.SENT
        ).values_list("pk", flat=True)
    }
    found = [mail for mail in mailoutbox if mail.extra_headers["X-Transform-Delivery"] in ids]
    assert len(found) == 1, [mail.subject for mail in mailoutbox]
    return found[0]


def assert_links_open(mail: EmailMessage, *, as_user: str | None) -> list[str]:
    """Every link of ``mail`` is under BASE_URL and its page answers 200 for ``as_user`` (no
    login for the personal check-in links). Returns the paths."""
    links = LINK.findall(str(mail.body))
    assert links, mail.body
    client = Client()
    if as_user is not None:
        user = Person.objects.get(email=f"{as_user}@acme.test").user
        assert user is not None
        client.force_login(user)
    paths = []
    for link in links:
        assert link.startswith(BASE_URL + "/"), link
        parts = urlsplit(link)
        assert not parts.path.startswith("/api/"), link
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.get(path)
        assert response.status_code == 200, (link, response.status_code)
        paths.append(path)
    return paths


def block(world: RhythmWorld, key: str, *, reason: str, at: dt.datetime) -> MilestoneEvent:
    milestone = world.set_milestone(key, status=MilestoneStatus.BLOCKED, status_reason=reason)
    event = MilestoneEvent.objects.create(
        milestone=milestone,
        kind=EventKind.STATUS,
        from_status=MilestoneStatus.PLANNED,
        to_status=MilestoneStatus.BLOCKED,
        reason=reason,
    )
    MilestoneEvent.objects.filter(pk=event.pk).update(at=at)
    return event


def overdue_collaboration(world: RhythmWorld, *, end: dt.date) -> Interaction:
    interaction: Any = InteractionFactory(
        organization=world.org,
        source=world.teams["payments"],
        target=world.teams["platform"],
        mode=InteractionMode.COLLABORATION,
        expected_end=end,
    )
    return interaction


# --- check-ins ------------------------------------------------------------------------------------


def test_the_status_checkin_names_the_milestone_and_links_to_its_form(world, mailoutbox):
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)

    send(days(0))

    mail = sent(mailoutbox, DeliveryKind.CHECKIN, "lead@acme.test")
    assert mail.subject == 'Status check-in: how is "Kick off the pilot" going?'
    assert "Hello Lead," in mail.body
    assert 'You own the milestone "Kick off the pilot"' in mail.body
    [path] = assert_links_open(mail, as_user=None)
    assert path.startswith("/c/")


def test_the_reminder_says_it_is_one_and_carries_the_same_link(world, mailoutbox):
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)
    send(days(0))
    first = sent(mailoutbox, DeliveryKind.CHECKIN, "lead@acme.test")

    send(days(4))

    mail = sent(mailoutbox, DeliveryKind.REMINDER, "lead@acme.test")
    assert mail.subject == 'Reminder: Status check-in: how is "Kick off the pilot" going?'
    assert "A reminder: we have not heard from you yet" in mail.body
    assert assert_links_open(mail, as_user=None)
    assert LINK.findall(str(mail.body)) == LINK.findall(str(first.body))


def test_the_pulse_survey_explains_anonymity_and_links_to_its_form(world, mailoutbox):
    send(days(0))

    mail = sent(mailoutbox, DeliveryKind.CHECKIN, "alice@acme.test")
    assert mail.subject == "Pulse survey for Payments: how does the change feel?"
    assert "anonymous" in mail.body
    [path] = assert_links_open(mail, as_user=None)
    assert path.startswith("/c/")


def test_the_topology_check_asks_the_manager_about_their_team(world, mailoutbox):
    send(days(0))

    mail = sent(mailoutbox, DeliveryKind.CHECKIN, "em@acme.test")
    assert mail.subject == "Please confirm the members and interactions of Payments"
    [path] = assert_links_open(mail, as_user=None)
    assert path.startswith("/c/")


# --- escalation -----------------------------------------------------------------------------------


def test_the_escalation_names_the_blocked_milestone_and_links_to_its_page(world, mailoutbox):
    block(world, "kickoff", reason="No room for the all-hands", at=days(0))

    send(days(8, hour=10))

    mail = sent(mailoutbox, DeliveryKind.ESCALATION, "sponsor@acme.test")
    assert mail.subject == "Blocked for 8 days: Kick off the pilot (Pilot plan)"
    assert "Reason: No room for the all-hands" in mail.body
    assert "You receive this as the sponsor" in mail.body
    paths = assert_links_open(mail, as_user="sponsor")
    kickoff = world.milestone("kickoff")
    assert paths == [
        f"/o/acme/milestones/{kickoff.pk}/",
        f"/o/acme/plans/{world.transformation.pk}/",
    ]


def test_an_escalation_of_a_milestone_unblocked_before_sending_is_skipped(world, mailoutbox):
    block(world, "kickoff", reason="No room", at=days(0))
    checkins_plan(at=days(8, hour=10))
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS)

    deliver_due_now(at=days(8, hour=10))

    escalation = Delivery.objects.get(kind=DeliveryKind.ESCALATION)
    assert escalation.status == DeliveryStatus.FAILED
    assert escalation.last_error == (
        "skipped: the milestone is no longer blocked (now in_progress)"
    )
    assert [mail for mail in mailoutbox if "Blocked for" in mail.subject] == []


# --- digest ---------------------------------------------------------------------------------------


def test_the_digest_counts_what_is_true_when_it_is_sent(world, mailoutbox):
    checkins_plan(at=days(0))
    # Planned at 09:00, sent later: two milestones were done in between.
    world.set_milestone("kickoff", status=MilestoneStatus.DONE)
    world.set_milestone("buddies", status=MilestoneStatus.DONE)

    deliver_due_now(at=days(0, hour=11))

    mail = sent(mailoutbox, DeliveryKind.DIGEST, "boss@acme.test")
    assert mail.subject == "Transformation digest 2027-W01: Acme"
    assert "Milestones: 2 of 4 done, 0 in progress, 0 at risk, 0 blocked, 2 planned" in mail.body
    paths = assert_links_open(mail, as_user="boss")
    assert paths == [f"/o/acme/plans/{world.transformation.pk}/"]


def test_the_digest_links_blocked_milestones_and_lists_overdue_interactions(world, mailoutbox):
    block(world, "side-quest", reason="Sponsor on leave", at=days(0))
    overdue_collaboration(world, end=START - dt.timedelta(days=3))

    send(days(0))

    mail = sent(mailoutbox, DeliveryKind.DIGEST, "boss@acme.test")
    assert "Blocked: Tell leadership how it goes" in mail.body
    assert "Overdue temporary interactions" in mail.body
    assert (
        "Payments and Platform: collaboration expected to end on 2027-01-01, 3 days overdue"
        in mail.body
    )
    paths = assert_links_open(mail, as_user="boss")
    assert f"/o/acme/milestones/{world.milestone('side-quest').pk}/" in paths
    assert "/o/acme/graph/?team=payments" in paths


def test_a_digest_of_a_finished_plan_is_skipped(world, mailoutbox):
    checkins_plan(at=days(0))
    for key in ("kickoff", "buddies", "side-quest", "wrap-up"):
        world.set_milestone(key, status=MilestoneStatus.DONE)

    deliver_due_now(at=days(0, hour=11))

    digests = Delivery.objects.filter(kind=DeliveryKind.DIGEST)
    assert {row.last_error for row in digests} == {
        "skipped: every milestone of the organisation's plans is done"
    }
    assert not [mail for mail in mailoutbox if "digest" in mail.subject]


# --- readiness drop -------------------------------------------------------------------------------


def drop_alert(world: RhythmWorld, *, now: float) -> Delivery:
    team = world.teams["payments"]
    previous, current = dt.date(2026, 12, 14), dt.date(2026, 12, 28)
    for start, score in [(previous, 80.0), (current, now)]:
        ReadinessSnapshotFactory(
            organization=world.org, team=team, period_start=start, score=score, barrier="desire"
        )
    alert: Any = DeliveryFactory(
        organization=world.org,
        kind=DeliveryKind.READINESS_DROP,
        dedupe_key=f"readiness_drop:team:{team.pk}:{current.isoformat()}",
        recipient=world.people["lead"],
        channel="email",
        payload={
            "team": team.pk,
            "period_start": current.isoformat(),
            "previous_start": previous.isoformat(),
        },
        next_attempt_at=days(0),
        created_at=days(0),
    )
    return alert


def test_the_drop_alert_gives_the_stored_figures_and_links_to_the_leadership_page(
    world, mailoutbox
):
    drop_alert(world, now=55.5)

    deliver_due_now(at=days(0))

    mail = sent(mailoutbox, DeliveryKind.READINESS_DROP, "lead@acme.test")
    assert mail.subject == "Readiness of Payments dropped from 80 to 55.5"
    assert "fell from 80 to 55.5 points" in mail.body
    assert "ADKAR barrier point: desire" in mail.body
    assert assert_links_open(mail, as_user="lead") == ["/o/acme/leadership/"]


def test_a_drop_that_recovered_before_sending_is_skipped(world, mailoutbox):
    alert = drop_alert(world, now=75.0)

    deliver_due_now(at=days(0))

    alert.refresh_from_db()
    assert alert.status == DeliveryStatus.FAILED
    assert alert.last_error.startswith("skipped: the drop recovered: 80 then 75 points")
    assert mailoutbox == []


# --- temporary interaction overrun ----------------------------------------------------------------


def test_an_overdue_collaboration_alerts_both_managers_and_the_change_agents_once(
    world, mailoutbox
):
    interaction = overdue_collaboration(world, end=START - dt.timedelta(days=2))

    send(days(0))
    send(days(1))

    rows = Delivery.objects.filter(kind=DeliveryKind.INTERACTION_OVERRUN)
    assert sorted(row.recipient.email for row in rows) == ["em@acme.test", "lead@acme.test"]
    assert {row.payload["interaction"] for row in rows} == {interaction.pk}
    mail = sent(mailoutbox, DeliveryKind.INTERACTION_OVERRUN, "em@acme.test")
    assert mail.subject == "Overdue collaboration: Payments and Platform (2 days past its end)"
    assert "was expected to end on 2027-01-02: it is 2 days overdue" in mail.body
    assert "the engineering manager of Payments" in mail.body
    paths = assert_links_open(mail, as_user="em")
    assert paths == ["/o/acme/graph/?team=payments", "/o/acme/my-team/"]
    agent_mail = sent(mailoutbox, DeliveryKind.INTERACTION_OVERRUN, "lead@acme.test")
    assert "a change agent" in agent_mail.body
    assert assert_links_open(agent_mail, as_user="lead") == ["/o/acme/graph/?team=payments"]


def test_an_extended_interaction_is_skipped_then_alerts_again_after_its_new_end(world, mailoutbox):
    interaction = overdue_collaboration(world, end=START - dt.timedelta(days=1))
    checkins_plan(at=days(0))
    Interaction.objects.filter(pk=interaction.pk).update(expected_end=START + dt.timedelta(days=2))

    deliver_due_now(at=days(0))
    send(days(3))

    rows = list(Delivery.objects.filter(kind=DeliveryKind.INTERACTION_OVERRUN).order_by("id"))
    assert [row.status for row in rows] == ["failed", "failed", "sent", "sent"]
    assert rows[0].last_error == "skipped: the interaction's expected end changed to 2027-01-06"


def test_facilitating_is_temporary_too_and_other_modes_never_overrun(world, mailoutbox):
    interaction = overdue_collaboration(world, end=START - dt.timedelta(days=5))
    Interaction.objects.filter(pk=interaction.pk).update(mode=InteractionMode.FACILITATING)

    send(days(0))
    Interaction.objects.filter(pk=interaction.pk).update(mode=InteractionMode.X_AS_A_SERVICE)
    send(days(8))

    mail = sent(mailoutbox, DeliveryKind.INTERACTION_OVERRUN, "em@acme.test")
    assert mail.subject == "Overdue facilitating: Payments and Platform (5 days past its end)"
    assert Delivery.objects.filter(kind=DeliveryKind.INTERACTION_OVERRUN).count() == 2
    digests = [mail.body for mail in mailoutbox if mail.subject.startswith("Transformation digest")]
    assert ["Overdue temporary interactions" in body for body in digests] == [
        True,
        True,
        False,
        False,
    ]


def test_leavers_and_interactions_with_a_retired_team_get_no_overrun_alert(world, mailoutbox):
    overdue_collaboration(world, end=START - dt.timedelta(days=1))
    retired: Any = InteractionFactory(
        organization=world.org,
        source=world.teams["payments"],
        target=TeamFactory(organization=world.org, slug="old", retired_at=days(-10)),
        mode=InteractionMode.COLLABORATION,
        expected_end=START - dt.timedelta(days=1),
    )
    Person.objects.filter(pk=world.people["em"].pk).update(left_on=START - dt.timedelta(days=1))

    send(days(0))

    rows = Delivery.objects.filter(kind=DeliveryKind.INTERACTION_OVERRUN)
    assert [row.recipient.email for row in rows] == ["lead@acme.test"]
    assert retired.pk not in {row.payload["interaction"] for row in rows}
