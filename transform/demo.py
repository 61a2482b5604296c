"""The demo organisation's transformation, four months in, so that every page of `make run` has
something to show (docs/demo.md).

``demo_rhythm_seed`` is idempotent: it does nothing new when the organisation already has a
transformation. On a freshly loaded demo it tells one deterministic story, dated relative to the
day it runs (``at``):

- **Before** (``HISTORY_WEEKS`` ago): the organisation as loaded, with the ops silos and their
  ticket queues; its history rows are dated then, so "as of" views show it. Three new hires
  (a DBA, a platform engineer, a data scientist) join then too.
- **The start** (``START_WEEKS`` ago): the unify-ops-silos playbook (lead change agent Amara
  Nwosu, sponsor Helen Park). The discovery milestones are done (their events dated), two are
  in progress, naming the platform owner is at risk and announcing the unification is blocked;
  the target topology (the three silos merged into one platform team) is attached to the merge
  milestone. Payments got a DevOps buddy (Julia Santos) ``BUDDY_WEEKS`` ago, which resolves
  its "no DevOps buddy" finding, and two ticket dependencies eased ``SELF_SERVICE_WEEKS`` ago,
  which lowers the flow score: edits through the teams services, dated in history.
- **Every survey period since**: synthetic pulse answers (clearly demo data) from every team,
  never more than its members: teams of five or more are shown, the three-person teams stay
  suppressed; mood rises slowly, the payments squad dips in the latest period.
- **Every week since**: deploys (more of them, with shorter lead times and fewer failures),
  incidents from failed deploys, tickets into the silos (fewer, closed sooner), platform
  adoptions and newcomers' first deploys (described by ``transform.demo_signals``), all
  through ``signal_events_ingest``; then readiness snapshots for every period of the leadership
  page.

It also creates one login per role, all with the demo password, linked to the people they are in
the demo.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    Role,
    ServesLink,
    Service,
    Team,
)
from teams.services import (
    interaction_delete,
    interaction_update,
    membership_create,
    membership_update,
    person_create,
)
from transform.checkins.planning import checkins_plan
from transform.demo_signals import demo_signal_records
from transform.evidence.csvfile import signal_events_csv_parse
from transform.evidence.services import signal_events_ingest
from transform.instruments.format import ScaleQuestion
from transform.instruments.scoring import score_response
from transform.instruments.selectors import instrument_get
from transform.models import (
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    Response,
    ResponseKind,
    Transformation,
)
from transform.plans.changes import milestone_change_add
from transform.plans.services import milestone_transition, transformation_start
from transform.readiness.services import readiness_organization_nightly
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
DIPPING_TEAM = "payments"
SEED = 17  # every random draw of the demo comes from generators seeded from this
HISTORY_WEEKS = 22  # the organisation as loaded exists from about five months ago
START_WEEKS = 17  # the transformation started about four months ago
BUDDY_WEEKS = 7  # payments got its DevOps buddy then
SELF_SERVICE_WEEKS = 5  # two ticket dependencies eased then
BUDDY = ("payments", "julia.santos@democorp.example")
# Joined with the organisation's history, so these teams have five members to answer surveys.
NEW_HIRES = (
    ("dba", "tomasz.wozniak@democorp.example", "Tomasz Wozniak"),
    ("developer-platform", "keira.walsh@democorp.example", "Keira Walsh"),
    ("recommendations", "omar.farouk@democorp.example", "Omar Farouk"),
)
# Milestones (playbook keys) moved along, in order: to status, weeks after the start, reason.
MILESTONE_STEPS: tuple[tuple[str, str, int, str], ...] = (
    ("map-ticket-flows", MilestoneStatus.IN_PROGRESS, 0, ""),
    ("interview-stream-teams", MilestoneStatus.IN_PROGRESS, 0, ""),
    ("interview-ops-specialists", MilestoneStatus.IN_PROGRESS, 1, ""),
    ("map-ticket-flows", MilestoneStatus.DONE, 3, "Demo: every ticket queue mapped."),
    ("interview-stream-teams", MilestoneStatus.DONE, 4, "Demo: six squads interviewed."),
    ("interview-ops-specialists", MilestoneStatus.DONE, 5, "Demo: all ops specialists heard."),
    ("secure-sponsor", MilestoneStatus.IN_PROGRESS, 4, ""),
    ("secure-sponsor", MilestoneStatus.DONE, 7, "Demo: Helen Park sponsors the plan."),
    ("write-platform-vision", MilestoneStatus.IN_PROGRESS, 8, ""),
    ("name-platform-owner", MilestoneStatus.IN_PROGRESS, 8, ""),
    (
        "name-platform-owner",
        MilestoneStatus.AT_RISK,
        13,
        "Demo: no candidate has accepted the platform product owner role yet.",
    ),
    (
        "announce-unification",
        MilestoneStatus.BLOCKED,
        14,
        "Demo: the announcement waits for the platform vision to be signed off.",
    ),
)
# Models whose history rows belong to an organisation (field organization_id).
HISTORY_MODELS = (OrgUnit, Team, Person, Membership, ServesLink, Interaction, Service)


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
    """The demo's transformation four months in (see the module's docstring), in one
    transaction: a failure leaves nothing, and a rerun completes whatever is missing (the story
    is written once; planning check-ins and storing snapshots are idempotent and run every
    time)."""
    today = at.date()
    with transaction.atomic():
        transformation = Transformation.objects.filter(organization=organization).first()
        created = transformation is None
        if transformation is None:
            transformation = _demo_story(organization=organization, at=at)
        checkins_plan(at=at)
        _snapshots_store(organization=organization, at=at, today=today)
    return DemoSeed(transformation=transformation, created=created)


def _weeks_ago(at: dt.datetime, weeks: float) -> dt.datetime:
    """``weeks`` before ``at``, at 09:00 UTC of that day (so the demo's dates are whole days)."""
    day = (at - dt.timedelta(weeks=weeks)).date()
    return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


def _demo_story(*, organization: Organization, at: dt.datetime) -> Transformation:
    today = at.date()
    _history_before(organization=organization, at=at)
    transformation = _demo_transformation_start(organization=organization, at=at, today=today)
    _topology_improved(organization=organization, at=at)
    _synthetic_answers(organization=organization, today=today)
    # The example file (fixtures/signal-events.csv) as an import from a delivery tool would send
    # it, then the weekly events of the last four months.
    example = signal_events_csv_parse(str(EXAMPLE_EVENTS), EXAMPLE_EVENTS.read_text())
    signal_events_ingest(organization=organization, records=example.records, source="demo", at=at)
    records = demo_signal_records(
        organization=organization,
        start=_weeks_ago(at, START_WEEKS),
        weeks=START_WEEKS,
        at=at,
        seed=SEED + 1,
    )
    for chunk in range(0, len(records), 5_000):
        signal_events_ingest(
            organization=organization, records=records[chunk : chunk + 5_000], source="demo", at=at
        )
    return transformation


def _history_backdate(*, organization: Organization, since: dt.datetime, to: dt.datetime) -> None:
    """Date every history row of the organisation's topology written since ``since`` at ``to``:
    the edits the demo makes now stand for edits made then."""
    for model in HISTORY_MODELS:
        model.history.filter(organization_id=organization.pk, history_date__gte=since).update(
            history_date=to
        )
    type(organization).history.filter(id=organization.pk, history_date__gte=since).update(
        history_date=to
    )


def _history_before(*, organization: Organization, at: dt.datetime) -> None:
    """The organisation as loaded (and three new hires) dated ``HISTORY_WEEKS`` before ``at``."""
    for slug, email, name in NEW_HIRES:
        team = Team.objects.get(organization=organization, slug=slug)
        person = Person.objects.filter(organization=organization, email=email).first()
        if person is None:
            person = person_create(organization=organization, email=email, name=name)
        if not Membership.objects.filter(person=person, team=team).exists():
            membership_create(organization=organization, person=person, team=team)
    # Everything written so far (load_demo, the hires) happened before the transformation.
    _history_backdate(
        organization=organization,
        since=dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        to=_weeks_ago(at, HISTORY_WEEKS),
    )


def _topology_improved(*, organization: Organization, at: dt.datetime) -> None:
    """The topology edits the plan has brought so far, each through the teams services and
    dated in history when it happened: payments' DevOps buddy (``BUDDY_WEEKS`` ago), then the
    search squad's index changes no longer slowed by the DBA queue and the platform team
    provisioning its own clusters instead of filing tickets with backend ops
    (``SELF_SERVICE_WEEKS`` ago). The flow score falls with them."""
    slug, email = BUDDY
    with _dated(organization=organization, at=_weeks_ago(at, BUDDY_WEEKS)):
        membership = Membership.objects.get(
            organization=organization, team__slug=slug, person__email=email
        )
        membership_update(membership=membership, data={"role": "devops_buddy"})
    with _dated(organization=organization, at=_weeks_ago(at, SELF_SERVICE_WEEKS)):
        tickets = Interaction.objects.filter(
            organization=organization, mode=InteractionMode.TICKET_DEPENDENCY
        )
        interaction_update(
            interaction=tickets.get(source__slug="search", target__slug="dba"),
            data={"severity": "ok", "note": "index changes are reviewed code now"},
        )
        interaction_delete(
            interaction=tickets.get(source__slug="developer-platform", target__slug="backend-ops")
        )


@contextmanager
def _dated(*, organization: Organization, at: dt.datetime) -> Iterator[None]:
    """The topology edits made inside, dated ``at`` in history."""
    since = timezone.now()
    yield
    _history_backdate(organization=organization, since=since, to=at)


def _demo_transformation_start(
    *, organization: Organization, at: dt.datetime, today: dt.date
) -> Transformation:
    start = _weeks_ago(at, START_WEEKS)
    transformation = transformation_start(
        organization=organization,
        playbooks=["unify-ops-silos"],
        start_date=start.date(),
        owner_email=AGENT,
        sponsor_email=LEADER,
        title="Demo: unify the ops silos",
        today=today,
    )
    Transformation.objects.filter(pk=transformation.pk).update(created_at=start)
    milestones = {m.key: m for m in transformation.milestones.all()}
    MilestoneEvent.objects.filter(milestone__transformation=transformation).update(at=start)
    for key, status, weeks, reason in MILESTONE_STEPS:
        moment = start + dt.timedelta(weeks=weeks)
        milestone = milestone_transition(
            milestone=milestones[key],
            to_status=status,
            actor=None,
            reason=reason,
            override=status == MilestoneStatus.DONE,
            today=moment.date(),
        )
        milestones[key] = milestone
        latest = MilestoneEvent.objects.filter(milestone=milestone).order_by("-pk")[0]
        MilestoneEvent.objects.filter(pk=latest.pk).update(at=moment)
        dates: dict[str, Any] = {}
        if status == MilestoneStatus.IN_PROGRESS:
            dates["started_on"] = moment.date()
        if status == MilestoneStatus.DONE:
            dates.update(done_on=moment.date(), overridden_at=moment)
        if dates:
            Milestone.objects.filter(pk=milestone.pk).update(**dates)
    # The target topology the plan works towards, so the scenario page has one to show.
    merge = transformation.milestones.get(key="merge-silo-teams")
    milestone_change_add(milestone=merge, change=MERGE_SILOS, actor=None)
    transformation.refresh_from_db()
    return transformation


def _survey_starts(*, organization: Organization, today: dt.date, at: dt.datetime) -> list[dt.date]:
    """The starts of the survey periods from the transformation's start to the current one,
    oldest first."""
    settings_row = checkin_settings_get(organization=organization)
    period = survey_period(today, settings=settings_row)
    first = _weeks_ago(at, START_WEEKS).date()
    starts = [period.start]
    while starts[-1] > first:
        starts.append(starts[-1] - dt.timedelta(days=settings_row.survey_every_days))
    return starts[::-1]


def _synthetic_answers(*, organization: Organization, today: dt.date) -> None:
    """Synthetic pulse answers from every team in every survey period since the start: all but
    one or two members answer, never fewer than five when the team has five; the mood rises
    slowly and the payments squad's falls in the latest period, so the dashboards show a
    drop and an alert."""
    at = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    settings_row = checkin_settings_get(organization=organization)
    minimum = settings_row.min_group_size
    specs = [instrument_get(organization=organization, key=key) for key in SURVEY_INSTRUMENTS]
    generator = random.Random(SEED)
    teams = list(
        Team.objects.filter(organization=organization, retired_at__isnull=True)
        .annotate(size=Count("memberships"))
        .order_by("slug")
    )
    starts = _survey_starts(organization=organization, today=today, at=at)
    rows = []
    for index, start in enumerate(starts):
        progress = index / max(1, len(starts) - 1)
        for team in teams:
            mood = 0.45 + 0.25 * progress + generator.uniform(-0.03, 0.03)
            if team.slug == DIPPING_TEAM and start == starts[-1]:
                mood = 0.25
            count = team.size - generator.randint(0, 2)
            if team.size >= minimum:
                count = max(count, minimum)
            for _ in range(max(0, count)):
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
                        submitted_on=min(start + dt.timedelta(days=generator.randint(0, 5)), today),
                        instruments=[[spec.key, spec.version] for spec in specs],
                        answers=answers,
                        scores=scores,
                    )
                )
    Response.objects.bulk_create(rows)


def _snapshots_store(*, organization: Organization, at: dt.datetime, today: dt.date) -> None:
    """Readiness snapshots of every survey period since the start: the nightly job stores the
    current period and the one before, so it runs as of the end of every other past period,
    then now."""
    starts = _survey_starts(organization=organization, today=today, at=at)
    for start in starts[1:]:
        # The last evening of the period before ``start``.
        evening = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(23), tzinfo=at.tzinfo)
        readiness_organization_nightly(organization=organization, at=evening)
    readiness_organization_nightly(organization=organization, at=at)
