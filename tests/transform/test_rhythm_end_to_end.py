"""The rhythm on the demo organisation, end to end, with a real Celery worker.

What issue 4 calls done: on the demo organisation with a started transformation, `run_checkins`
sends status check-ins and pulse surveys (here to a local fake SMTP server), answers given through
the links in those messages change the milestone and readiness, a blocked milestone escalates to
the sponsor, and a readiness drop alerts the change agent. The worker is Celery's test worker on
the project's broker (Redis in CI, the filesystem transport locally); answers go through the
response form exactly as a person's browser would post them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from teams.models import Membership, Organization, Person
from tests.transform.fakes import FakeSMTPServer, ReceivedMail
from tests.transform.worker_fixtures import TaskTracker
from transform.checkins.tasks import plan_checkins
from transform.instruments.format import ChoiceQuestion, ScaleQuestion
from transform.instruments.selectors import instrument_get
from transform.models import (
    CheckIn,
    CheckInKind,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    Response,
    Transformation,
)
from transform.plans.services import milestone_transition
from transform.readiness.tasks import compute_readiness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thread_worker"),
]

SPONSOR = "helen.park@democorp.example"
CHANGE_AGENT = "marcus.reed@democorp.example"
# A Tuesday; its survey period (14 days from the 2024-01-01 epoch) is 2026-12-28 .. 2027-01-11.
MONDAY = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
FIRST_ROUND = MONDAY + dt.timedelta(days=1)
NEXT_PERIOD = FIRST_ROUND + dt.timedelta(days=14)
LINK = re.compile(r"https?://\S+?(/c/[^/\s]+/)")


@dataclass
class Demo:
    organization: Organization
    transformation: Transformation
    milestone: Milestone  # the first milestone, started
    api: APIClient  # logged in as the demo admin

    def readiness(self, *, period: dt.datetime, team: str) -> dict[str, Any]:
        response = self.api.get(
            f"/api/v1/orgs/demo/readiness/?period={period.date().isoformat()}&team={team}"
        )
        assert response.status_code == 200, response.content
        (row,) = response.json()["teams"]
        return row


@pytest.fixture
def demo() -> Demo:
    call_command("load_demo", "--password", "demo-password", stdout=StringIO())
    out = StringIO()
    call_command(
        "start_transformation",
        "--org=demo",
        "--playbook=unify-ops-silos",
        "--start=2027-01-04",
        f"--owner={CHANGE_AGENT}",
        f"--sponsor={SPONSOR}",
        stdout=out,
    )
    transformation = Transformation.objects.get(organization__slug="demo")
    milestone = transformation.milestones.order_by("position").first()
    assert milestone is not None
    milestone_transition(milestone=milestone, to_status=MilestoneStatus.IN_PROGRESS, actor=None)
    api = APIClient()
    assert api.login(username="demo", password="demo-password")
    return Demo(
        organization=transformation.organization,
        transformation=transformation,
        milestone=milestone,
        api=api,
    )


def run_checkins(at: dt.datetime, tracker: TaskTracker) -> str:
    """The operator's command, handing delivery to the worker, then wait for the worker."""
    out = StringIO()
    call_command("run_checkins", f"--at={at.isoformat()}", "--enqueue", stdout=out)
    tracker.wait()
    return out.getvalue()


def mail_to(smtp: FakeSMTPServer, email: str, *, subject: str) -> list[ReceivedMail]:
    return [m for m in smtp.received() if email in m.rcpt_tos and subject in m.subject]


def link_path(mail: ReceivedMail) -> str:
    found = LINK.search(mail.body)
    assert found, mail.body
    return found.group(1)


def answer(path: str, fields: dict[str, Any]) -> int:
    """Open the link as a person would (GET, which must not use it up), then post the form."""
    browser = Client()
    assert browser.get(path).status_code == 200
    return browser.post(path, fields).status_code


def survey_fields(checkin: CheckIn, *, level: float) -> dict[str, Any]:
    """Every question of the check-in's instruments answered at ``level`` (0..1) of its scale."""
    fields: dict[str, Any] = {}
    for key, version in checkin.instruments:
        spec = instrument_get(organization=checkin.organization, key=key, version=version)
        for question in spec.questions:
            name = f"{key}.{question.key}"
            if isinstance(question, ScaleQuestion):
                fields[name] = round(question.min + level * (question.max - question.min))
            elif isinstance(question, ChoiceQuestion):
                fields[name] = question.values()[0]
    return fields


def answer_pulse(smtp: FakeSMTPServer, *, team: str, people: int, level: float, period: str) -> int:
    """The first ``people`` members of ``team`` answer their pulse survey of ``period`` through
    the link in their latest pulse e-mail."""
    members = list(
        Person.objects.filter(memberships__team__slug=team, organization__slug="demo")
        .order_by("email")
        .distinct()
    )
    answered = 0
    for person in members[:people]:
        checkin = CheckIn.objects.get(
            recipient=person, kind=CheckInKind.PULSE_SURVEY, period=period
        )
        (mail,) = mail_to(smtp, person.email, subject="Pulse survey")[-1:]
        assert answer(link_path(mail), survey_fields(checkin, level=level)) == 200
        answered += 1
    return answered


def test_run_checkins_sends_status_checkins_and_pulse_surveys_through_a_real_worker(
    demo: Demo, smtp: FakeSMTPServer, tracker: TaskTracker
):
    summary = run_checkins(FIRST_ROUND, tracker)

    members = Membership.objects.filter(organization=demo.organization)
    people_in_teams = members.values("person").distinct().count()
    subjects = Counter(mail.subject.split(":")[0] for mail in smtp.received())
    assert subjects["Status check-in"] == 1
    assert sum(n for s, n in subjects.items() if s.startswith("Pulse survey")) == people_in_teams
    (status,) = mail_to(smtp, demo.milestone.owner.email, subject="Status check-in")
    assert demo.milestone.title in status.subject
    assert "/c/" in link_path(status)
    # Every message once, every row sent: the worker delivered the whole round.
    assert set(smtp.delivery_counts().values()) == {1}
    assert not Delivery.objects.exclude(status=DeliveryStatus.SENT).exists()
    assert "pulse" in summary.lower()

    # The same moment again (beat firing twice) sends nothing more.
    before = len(smtp.received())
    run_checkins(FIRST_ROUND, tracker)
    assert len(smtp.received()) == before


def test_answers_through_the_links_change_the_milestone_and_readiness(
    demo: Demo, smtp: FakeSMTPServer, tracker: TaskTracker
):
    run_checkins(FIRST_ROUND, tracker)
    (status,) = mail_to(smtp, demo.milestone.owner.email, subject="Status check-in")
    assert demo.readiness(period=FIRST_ROUND, team="search")["suppressed"] is True

    code = answer(
        link_path(status),
        {
            "milestone-status.status": "at_risk",
            "milestone-status.confidence": "2",
            "milestone-status.note": "The DBA queue has not moved for a week.",
        },
    )
    answered = answer_pulse(smtp, team="search", people=5, level=0.75, period="2026-12-28")

    assert code == 200
    demo.milestone.refresh_from_db()
    assert demo.milestone.status == MilestoneStatus.AT_RISK
    assert demo.milestone.status_reason == "The DBA queue has not moved for a week."
    # Five answers reach the minimum group size: search now has a score; the link is spent.
    assert answered == 5
    search = demo.readiness(period=FIRST_ROUND, team="search")
    assert search["suppressed"] is False
    assert search["respondents"] == 5
    assert search["score"] > 50
    reused = Client().post(link_path(status), {"milestone-status.status": "on_track"})
    assert reused.status_code == 410
    assert Response.objects.filter(kind="survey", checkin__isnull=False).count() == 0


def test_a_blocked_milestone_escalates_to_the_sponsor_after_the_configured_days(
    demo: Demo, smtp: FakeSMTPServer, tracker: TaskTracker
):
    run_checkins(FIRST_ROUND, tracker)
    (status,) = mail_to(smtp, demo.milestone.owner.email, subject="Status check-in")
    assert (
        answer(
            link_path(status),
            {
                "milestone-status.status": "blocked",
                "milestone-status.confidence": "1",
                "milestone-status.note": "No DBA capacity until March.",
            },
        )
        == 200
    )
    # The answer was given on the first round's day (the event's clock is the real one).
    MilestoneEvent.objects.filter(milestone=demo.milestone, to_status="blocked").update(
        at=FIRST_ROUND
    )

    run_checkins(FIRST_ROUND + dt.timedelta(days=3), tracker)
    assert mail_to(smtp, SPONSOR, subject="Blocked for") == []
    run_checkins(FIRST_ROUND + dt.timedelta(days=8), tracker)
    run_checkins(FIRST_ROUND + dt.timedelta(days=9), tracker)

    (escalation,) = mail_to(smtp, SPONSOR, subject="Blocked for 8 days")
    assert demo.milestone.title in escalation.subject
    assert "No DBA capacity until March." in escalation.body


def test_a_readiness_drop_alerts_the_change_agent(
    demo: Demo, smtp: FakeSMTPServer, tracker: TaskTracker
):
    run_checkins(FIRST_ROUND, tracker)
    answer_pulse(smtp, team="search", people=5, level=1.0, period="2026-12-28")
    run_checkins(NEXT_PERIOD, tracker)
    answer_pulse(smtp, team="search", people=5, level=0.0, period="2027-01-11")

    compute_readiness.delay(at=NEXT_PERIOD.isoformat())
    tracker.wait()
    compute_readiness.delay(at=NEXT_PERIOD.isoformat())  # the nightly job twice: one alert
    tracker.wait()
    plan_checkins.delay(at=NEXT_PERIOD.isoformat())
    tracker.wait()

    (alert,) = mail_to(smtp, CHANGE_AGENT, subject="Readiness of Search Squad dropped")
    assert "/o/demo/leadership/" in alert.body
    assert Delivery.objects.filter(kind=DeliveryKind.READINESS_DROP).count() == 1
    now = demo.readiness(period=NEXT_PERIOD, team="search")
    assert now["trend"] == "down"
    assert now["barrier"] == "awareness"
