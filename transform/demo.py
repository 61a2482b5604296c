"""The demo organisation's transformation, so that every page of `make run` has something to show.

``demo_rhythm_seed`` is idempotent: it does nothing when the organisation already has a
transformation. It starts the unify-ops-silos playbook six weeks ago (lead change agent Amara
Nwosu, sponsor Helen Park), moves the first milestones along, attaches the target topology (the three ops silos merged into
one platform team) to its merge milestone, plans a round of check-ins,
fills the last three survey periods with **synthetic** pulse answers (clearly demo data: six
answers per stream-aligned team (never more than its members), a deterministic pattern, the
payments squad dipping in the latest period), ingests the example
signal events and stores readiness snapshots. It also creates one login per role, all with the
demo password, linked to the people they are in the demo.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count

from teams.models import Organization, OrganizationRole, Person, Role, Team, TeamType
from transform.checkins.planning import checkins_plan
from transform.evidence.csvfile import signal_events_csv_parse
from transform.evidence.services import signal_events_ingest
from transform.instruments.format import ScaleQuestion
from transform.instruments.scoring import score_response
from transform.instruments.selectors import instrument_get
from transform.models import MilestoneStatus, Response, ResponseKind, Transformation
from transform.plans.changes import milestone_change_add
from transform.plans.services import milestone_transition, transformation_start
from transform.readiness.services import readiness_nightly
from transform.rhythm.periods import survey_period
from transform.rhythm.selectors import checkin_settings_get

EXAMPLE_EVENTS = Path(settings.BASE_DIR) / "fixtures" / "signal-events.csv"
AGENT = "amara.nwosu@democorp.example"
LEADER = "helen.park@democorp.example"
MANAGER = "marcus.reed@democorp.example"
# login -> (role, the person it is in the demo)
ROLE_LOGINS: dict[str, tuple[str, str]] = {
    "demo-agent": (Role.CHANGE_AGENT, AGENT),
    "demo-manager": (Role.ENGINEERING_MANAGER, MANAGER),
    "demo-leader": (Role.LEADER, LEADER),
}
SURVEY_INSTRUMENTS = ("westrum", "adkar", "platform-satisfaction")
MERGE_SILOS = {
    "kind": "merge_teams",
    "teams": ["dba", "networking", "backend-ops"],
    "into": "infrastructure-platform",
    "name": "Infrastructure Platform",
    "type": "platform",
}
ANSWERS_PER_TEAM = 6
DIPPING_TEAM = "payments"


@dataclass(frozen=True)
class DemoSeed:
    transformation: Transformation
    created: bool


@transaction.atomic
def demo_logins_upsert(*, organization: Organization, password: str) -> list[str]:
    """One login per role (see ROLE_LOGINS), with ``password``, linked to their demo person."""
    user_model = get_user_model()
    for username, (role, email) in ROLE_LOGINS.items():
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        OrganizationRole.objects.get_or_create(organization=organization, user=user, role=role)
        Person.objects.filter(organization=organization, email=email).update(user=user)
    return list(ROLE_LOGINS)


def demo_rhythm_seed(*, organization: Organization, at: dt.datetime) -> DemoSeed:
    """The demo's running transformation, check-ins and readiness snapshots, in one transaction:
    a failure leaves nothing, and a rerun completes whatever is missing (the transformation is
    started once; planning check-ins and storing snapshots are idempotent and run every time)."""
    today = at.date()
    with transaction.atomic():
        transformation = Transformation.objects.filter(organization=organization).first()
        created = transformation is None
        if transformation is None:
            transformation = _demo_transformation_start(
                organization=organization, at=at, today=today
            )
        checkins_plan(at=at)
        # Snapshots for the last three periods: the nightly job stores the current period and
        # the one before, so it runs once as of the end of the previous period and once now.
        period = survey_period(today, settings=checkin_settings_get(organization=organization))
        end_of_previous = dt.datetime.combine(
            period.start - dt.timedelta(days=1), dt.time(23, 0), tzinfo=at.tzinfo
        )
        readiness_nightly(at=end_of_previous)
        readiness_nightly(at=at)
    return DemoSeed(transformation=transformation, created=created)


def _demo_transformation_start(
    *, organization: Organization, at: dt.datetime, today: dt.date
) -> Transformation:
    transformation = transformation_start(
        organization=organization,
        playbooks=["unify-ops-silos"],
        start_date=today - dt.timedelta(weeks=6),
        owner_email=AGENT,
        sponsor_email=LEADER,
        title="Demo: unify the ops silos",
        today=today,
    )
    first, second = list(transformation.milestones.order_by("position")[:2])
    milestone_transition(milestone=first, to_status=MilestoneStatus.IN_PROGRESS, actor=None)
    milestone_transition(milestone=second, to_status=MilestoneStatus.IN_PROGRESS, actor=None)
    milestone_transition(
        milestone=second,
        to_status=MilestoneStatus.AT_RISK,
        actor=None,
        reason="Demo: the DBA team has not yet agreed to map its ticket flow.",
    )
    # The target topology the plan works towards, so the scenario page has one to show.
    merge = transformation.milestones.get(key="merge-silo-teams")
    milestone_change_add(milestone=merge, change=MERGE_SILOS, actor=None)
    _synthetic_answers(organization=organization, today=today)
    records = signal_events_csv_parse(str(EXAMPLE_EVENTS), EXAMPLE_EVENTS.read_text())
    signal_events_ingest(organization=organization, records=records.records, source="demo", at=at)
    return transformation


def _synthetic_answers(*, organization: Organization, today: dt.date) -> None:
    """Synthetic pulse answers per stream-aligned team for each of the last three periods; the
    payments squad's mood falls in the latest one, so the dashboards show a drop and an alert."""
    settings_row = checkin_settings_get(organization=organization)
    current = survey_period(today, settings=settings_row)
    specs = [instrument_get(organization=organization, key=key) for key in SURVEY_INSTRUMENTS]
    generator = random.Random(42)
    teams = (
        Team.objects.filter(organization=organization, type=TeamType.STREAM_ALIGNED)
        .annotate(size=Count("memberships"))
        .order_by("slug")
    )
    rows = []
    for back in (2, 1, 0):
        start = current.start - dt.timedelta(days=back * settings_row.survey_every_days)
        for team in teams:
            mood = 0.55 + 0.1 * (2 - back)
            if team.slug == DIPPING_TEAM and back == 0:
                mood = 0.25
            # Never more answers than the team has members; teams under five stay suppressed.
            for _ in range(min(ANSWERS_PER_TEAM, team.size)):
                answers: dict[str, dict[str, int]] = {}
                scores: dict[str, float] = {}
                for spec in specs:
                    values = {
                        q.key: max(
                            q.min,
                            min(
                                q.max,
                                round(
                                    q.min + (mood + generator.uniform(-0.2, 0.2)) * (q.max - q.min)
                                ),
                            ),
                        )
                        for q in spec.questions
                        if isinstance(q, ScaleQuestion)
                    }
                    answers[spec.key] = values
                    scores.update(score_response(spec, values))
                rows.append(
                    Response(
                        organization=organization,
                        kind=ResponseKind.SURVEY,
                        team=team,
                        period_start=start,
                        submitted_on=min(start + dt.timedelta(days=2), today),
                        instruments=[[spec.key, spec.version] for spec in specs],
                        answers=answers,
                        scores=scores,
                    )
                )
    Response.objects.bulk_create(rows)
