"""The rhythm follows the plan, end to end on the demo with a real Celery worker (issue 12's
"done when"): a done milestone gets nothing more and its link says it is closed; an at-risk
milestone's form offers only what the workflow allows; an overdue collaboration alerts once; the
digest sent afterwards says all of it."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from teams.models import Interaction, InteractionMode
from tests.transform.fakes import FakeSMTPServer, ReceivedMail
from tests.transform.worker_fixtures import TaskTracker
from transform.models import Milestone, MilestoneStatus, Transformation
from transform.plans.services import milestone_transition

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thread_worker"),
]

SPONSOR = "helen.park@democorp.example"
CHANGE_AGENT = "marcus.reed@democorp.example"
# Tuesdays, one week apart: two rounds of the rhythm, each sending that ISO week's digest.
FIRST_ROUND = dt.datetime(2027, 1, 5, 9, 0, tzinfo=dt.UTC)
NEXT_ROUND = FIRST_ROUND + dt.timedelta(days=7)
LINK = re.compile(r"https?://\S+?(/c/[^/\s]+/)")


def run_checkins(at: dt.datetime, tracker: TaskTracker) -> None:
    call_command("run_checkins", f"--at={at.isoformat()}", "--enqueue", stdout=StringIO())
    tracker.wait()


def mails(smtp: FakeSMTPServer, *, subject: str, to: str | None = None) -> list[ReceivedMail]:
    return [
        mail
        for mail in smtp.received()
        if subject in mail.subject and (to is None or to in mail.rcpt_tos)
    ]


def link_path(mail: ReceivedMail) -> str:
    found = LINK.search(mail.body)
    assert found, mail.body
    return found.group(1)


def offered_statuses(html: str) -> set[str]:
    return set(re.findall(r'name="milestone-status\.status"[^>]*value="([a-z_]+)"', html)) | set(
        re.findall(r'value="([a-z_]+)"[^>]*name="milestone-status\.status"', html)
    )


def test_the_rhythm_follows_the_state_of_the_plan(smtp: FakeSMTPServer, tracker: TaskTracker):
    call_command("load_demo", "--password", "demo-password", stdout=StringIO())
    call_command(
        "start_transformation",
        "--org=demo",
        "--playbook=unify-ops-silos",
        "--start=2027-01-04",
        f"--owner={CHANGE_AGENT}",
        f"--sponsor={SPONSOR}",
        stdout=StringIO(),
    )
    transformation = Transformation.objects.get(organization__slug="demo")
    first, second = list(transformation.milestones.order_by("position")[:2])
    admin = User.objects.get(username="demo")
    day = FIRST_ROUND.date()
    milestone_transition(
        milestone=first, to_status=MilestoneStatus.IN_PROGRESS, actor=admin, today=day
    )
    # The demo's temporary interactions are overdue already; give them a future end, so that
    # the overrun below is the only one.
    temporary = Interaction.objects.filter(
        organization=transformation.organization,
        mode__in=[InteractionMode.COLLABORATION, InteractionMode.FACILITATING],
    )
    temporary.update(expected_end=dt.date(2027, 6, 30))
    run_checkins(FIRST_ROUND, tracker)
    (status,) = mails(smtp, subject=first.title)
    first_link = link_path(status)
    (first_digest,) = mails(smtp, subject="Transformation digest", to=SPONSOR)
    assert f"0 of {transformation.milestones.count()} done" in first_digest.body
    assert not mails(smtp, subject="Overdue")

    # 1. The first milestone is done (by override: its exit criteria read the live graph).
    milestone_transition(
        milestone=first,
        to_status=MilestoneStatus.DONE,
        actor=admin,
        reason="The ticket flows are mapped; the map is in the wiki.",
        override=True,
        today=day,
    )
    # 3. The second one starts and is at risk.
    milestone_transition(
        milestone=second, to_status=MilestoneStatus.IN_PROGRESS, actor=admin, today=day
    )
    milestone_transition(
        milestone=second,
        to_status=MilestoneStatus.AT_RISK,
        actor=admin,
        reason="Two squads have not found a slot for the interview.",
        today=day,
    )
    # 4. A collaboration runs past its end.
    collaboration = temporary.filter(mode=InteractionMode.COLLABORATION).select_related(
        "source", "target"
    )[0]
    collaboration.expected_end = NEXT_ROUND.date() - dt.timedelta(days=2)
    collaboration.save(update_fields=["expected_end"])
    sent_before = len(smtp.received())

    # 2. The next round: nothing about the done milestone (no check-in, no reminder) ...
    run_checkins(NEXT_ROUND, tracker)
    later = smtp.received()[sent_before:]
    assert [mail.subject for mail in later if first.title in mail.subject] == []
    # ... and its open link says, in a friendly page, that it is closed.
    closed = Client().get(first_link)
    assert closed.status_code == 410
    assert "This check-in is closed" in closed.content.decode()
    assert "marked done" in closed.content.decode()

    # 3. The at-risk milestone's check-in offers only what the workflow allows from at risk.
    (second_status,) = [mail for mail in later if second.title in mail.subject]
    form = Client().get(link_path(second_status))
    assert form.status_code == 200
    assert offered_statuses(form.content.decode()) == {"on_track", "at_risk"}

    # 4. One overrun alert per recipient, naming the teams; the next run sends no second one.
    overruns = [mail for mail in later if mail.subject.startswith("Overdue")]
    assert overruns
    recipients = [to for mail in overruns for to in mail.rcpt_tos]
    assert len(recipients) == len(set(recipients))
    manager = collaboration.source.manager
    assert manager is not None
    assert manager.email in recipients
    assert all(collaboration.source.name in mail.subject for mail in overruns)
    assert all("2 days past its end" in mail.subject for mail in overruns)
    run_checkins(NEXT_ROUND + dt.timedelta(hours=1), tracker)
    assert len([m for m in smtp.received() if m.subject.startswith("Overdue")]) == len(overruns)

    # 5. The digest sent after these changes says so.
    (digest,) = [
        mail
        for mail in later
        if mail.subject.startswith("Transformation digest") and SPONSOR in mail.rcpt_tos
    ]
    assert f"1 of {transformation.milestones.count()} done" in digest.body
    assert f"At risk: {second.title}" in digest.body
    assert "Two squads have not found a slot for the interview." in digest.body
    assert "Overdue temporary interactions" in digest.body
    assert collaboration.source.name in digest.body.split("Overdue temporary interactions")[1]
    assert "/api/" not in digest.body
    assert Milestone.objects.get(pk=first.pk).status == MilestoneStatus.DONE
