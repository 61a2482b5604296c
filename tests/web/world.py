"""The demo organisation as the browser tests see it: a login per role, a started transformation
with a milestone in progress, a round of check-ins, enough survey answers for the search squad to
be shown, and the example signal events.

Logins (password ``PASSWORD`` for all): ``demo`` (admin, from load_demo), ``agent`` (change agent,
the lead change agent of the plan), ``manager`` (engineering manager of search, catalog, checkout
and recommendations), ``leader`` (leader, the plan's sponsor) and ``member``. ``outsider`` holds a
role only in another organisation, ``globex``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from teams.models import Organization, OrganizationRole, Person, Role
from transform.answers.services import checkin_answer
from transform.checkins.planning import checkins_plan
from transform.evidence.csvfile import signal_events_csv_parse
from transform.evidence.services import signal_events_ingest
from transform.models import CheckIn, CheckInKind, Milestone, MilestoneStatus, Transformation
from transform.plans.services import milestone_transition, transformation_start

PASSWORD = "browser-test-pw"
AGENT = "amara.nwosu@democorp.example"
MANAGER = "marcus.reed@democorp.example"
LEADER = "helen.park@democorp.example"
MEMBER = "chloe.martin@democorp.example"


@dataclass
class WebDemo:
    organization: Organization
    transformation: Transformation
    started: Milestone  # in progress, owned by the agent

    @property
    def slug(self) -> str:
        return self.organization.slug


def _login(username: str, *, organization: Organization, role: str, email: str | None) -> None:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username)
    user.set_password(PASSWORD)
    user.save()
    OrganizationRole.objects.get_or_create(organization=organization, user=user, role=role)
    if email is not None:
        Person.objects.filter(organization=organization, email=email).update(user=user)


def build_web_demo(*, answers: bool = True) -> WebDemo:
    call_command("load_demo", "--password", PASSWORD, stdout=StringIO())
    organization = Organization.objects.get(slug="demo")
    _login("agent", organization=organization, role=Role.CHANGE_AGENT, email=AGENT)
    _login("manager", organization=organization, role=Role.ENGINEERING_MANAGER, email=MANAGER)
    _login("leader", organization=organization, role=Role.LEADER, email=LEADER)
    _login("member", organization=organization, role=Role.MEMBER, email=MEMBER)
    globex = Organization.objects.create(slug="globex", name="Globex")
    _login("outsider", organization=globex, role=Role.ADMIN, email=None)

    today = timezone.localdate()
    transformation = transformation_start(
        organization=organization,
        playbooks=["unify-ops-silos"],
        start_date=today - dt.timedelta(days=21),
        owner_email=AGENT,
        sponsor_email=LEADER,
    )
    started = transformation.milestones.order_by("position").first()
    assert started is not None
    started = milestone_transition(
        milestone=started, to_status=MilestoneStatus.IN_PROGRESS, actor=None
    )
    if answers:
        now = timezone.now()
        checkins_plan(at=now)
        search_pulses = CheckIn.objects.filter(
            organization=organization, kind=CheckInKind.PULSE_SURVEY, team__slug="search"
        ).order_by("id")[:5]
        for checkin in search_pulses:
            checkin_answer(checkin=checkin, answers=_survey_answers(checkin), at=now)
        example = Path(settings.BASE_DIR) / "fixtures" / "signal-events.csv"
        records = signal_events_csv_parse(str(example), example.read_text())
        signal_events_ingest(
            organization=organization, records=records.records, source=str(example), at=now
        )
    return WebDemo(organization=organization, transformation=transformation, started=started)


def _survey_answers(checkin: CheckIn) -> dict[str, dict[str, object]]:
    from transform.instruments.format import ChoiceQuestion, ScaleQuestion
    from transform.instruments.selectors import instrument_get

    answers: dict[str, dict[str, object]] = {}
    for key, version in checkin.instruments:
        spec = instrument_get(organization=checkin.organization, key=key, version=version)
        values: dict[str, object] = {}
        for question in spec.questions:
            if isinstance(question, ScaleQuestion):
                values[question.key] = question.max - 1
            elif isinstance(question, ChoiceQuestion):
                values[question.key] = question.values()[0]
        answers[key] = values
    return answers
