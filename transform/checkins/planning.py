"""Planning the transformation's rhythm: who is asked what, and when (docs/checkins.md#planning).

``checkins_plan`` is what the periodic ``plan_checkins`` job and ``run_checkins`` call. For every
organisation with an active transformation (at least one milestone not done) it creates, in one
transaction per organisation, the check-ins that are due at the moment ``at`` (milestone status,
pulse surveys, topology verification), one ``Delivery`` per new check-in, the reminders of
unanswered check-ins, the escalations of long-blocked milestones, the leaders' weekly digest and
the alerts of temporary interactions past their expected end. Escalations, digests and alerts
store only what identifies them: the outbox renders them from the state at sending time.

Leavers (``Person.left_on`` set) are nobody's recipient: no status check-in for a milestone
they still own, no pulse survey, no topology verification, no reminder of an older check-in, no
escalation or digest (docs/checkins.md, "People leave"). The outbox skips what was queued for
them before they left.

Nothing here relies on memory to avoid repeating itself: a check-in is unique per (recipient,
kind, subject, period) and a delivery per ``dedupe_key`` in the database, so planning twice, or
in two workers at once, creates every row once. Rows are inserted in a fixed order so two racing
planners wait on each other instead of deadlocking. The queries per organisation do not grow with
its number of people, teams or milestones (inserts are batched by ``BATCH_SIZE`` rows).

``event_surveys_trigger`` creates the surveys that ingested events trigger, and
``team_verification_list`` reads which teams' topology is stale.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import (
    F,
    Max,
    Q,
)
from django.db.models.functions import Coalesce

from teams.models import Membership, Organization, OrganizationRole, Person, Role, Team, TeamType
from teams.zones import organization_today, organization_zone
from transform.checkins.selectors import active_organizations, active_transformation_ids
from transform.checkins.services import (
    PLATFORM_SATISFACTION,
    InstrumentVersions,
    checkins_create,
    reminders_count_up,
)
from transform.models import (
    CheckIn,
    CheckInKind,
    Delivery,
    DeliveryKind,
    EventKind,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    Transformation,
)
from transform.outbox.alerts import overdue_interactions
from transform.outbox.services import deliveries_queue
from transform.rhythm.links import link_nonce_new
from transform.rhythm.periods import period_containing, survey_period
from transform.rhythm.selectors import checkin_settings_get

logger = logging.getLogger(__name__)

STATUS_INSTRUMENT = "milestone-status"
TOPOLOGY_INSTRUMENT = "topology-verification"
PULSE_SUBJECT = "pulse"
# Milestones whose owner is asked for a status: planned work has not started, done work is over,
# and a blocked milestone is escalated instead (its owner already said what stands in the way).
ASKED_STATUSES = (MilestoneStatus.IN_PROGRESS, MilestoneStatus.AT_RISK)


@dataclass
class PlanSummary:
    """What one planning round created (new rows only: a repeated round counts zeros)."""

    status_checkins: int = 0
    pulse_checkins: int = 0
    topology_checkins: int = 0
    reminders: int = 0
    escalations: int = 0
    digests: int = 0
    interaction_overruns: int = 0

    def add(self, other: PlanSummary) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- the planning round -------------------------------------------------------------------------


def checkins_plan(*, at: dt.datetime) -> PlanSummary:
    """Create everything due at ``at`` for every organisation with an active transformation
    whose own day has reached ``TRANSFORM_CHECKIN_HOUR`` (in its zone: docs/time-zones.md).

    One transaction per organisation; the deliveries are dispatched only after it commits. An
    organisation whose planning fails is rolled back and logged, the others are still planned,
    and the first error is raised at the end so the failure is not silent. Safe to run twice or
    concurrently: the second run creates nothing (unique check-ins and delivery dedupe keys).
    """
    summary = PlanSummary()
    failures: list[Exception] = []
    for organization in active_organizations():
        if not organization_round_due(organization, at=at):
            continue
        try:
            with transaction.atomic():
                summary.add(_OrganizationRound(organization=organization, at=at).run())
        except Exception as exc:
            logger.exception("Planning check-ins of organisation %s failed", organization.slug)
            failures.append(exc)
    if failures:
        raise failures[0]
    return summary


def organization_round_due(organization: Organization, *, at: dt.datetime) -> bool:
    """Whether the organisation's round may run at ``at``: its local hour has reached
    ``TRANSFORM_CHECKIN_HOUR`` (the hourly job then reaches it that hour, every day, and every
    hour after until midnight, where its new day's round waits for the hour again)."""
    local = at.astimezone(organization_zone(organization))
    return local.hour >= django_settings.TRANSFORM_CHECKIN_HOUR


class _OrganizationRound:
    """One organisation's share of a planning round (call ``run`` inside a transaction)."""

    def __init__(self, *, organization: Organization, at: dt.datetime) -> None:
        self.organization = organization
        self.at = at
        # The organisation's date at ``at``: its periods, rounds and digest weekday follow its zone.
        self.day = organization_today(organization, at)
        self.settings = checkin_settings_get(organization=organization)
        self.survey_period = survey_period(self.day, settings=self.settings)
        self.instruments = InstrumentVersions(organization)
        self.transformations = list(
            Transformation.objects.filter(organization=organization)
            .filter(pk__in=active_transformation_ids(organization))
            .select_related("sponsor", "lead_change_agent")
            .order_by("start_date", "id")
        )
        self.milestones = list(
            Milestone.objects.filter(transformation__in=self.transformations)
            .select_related("owner")
            .order_by("transformation_id", "position", "id")
        )
        self.transformation_by_id = {t.pk: t for t in self.transformations}

    def run(self) -> PlanSummary:
        wanted = [*self.status_checkins(), *self.pulse_checkins(), *self.topology_checkins()]
        created = checkins_create(
            organization=self.organization, settings=self.settings, checkins=wanted, at=self.at
        )
        count = Counter(checkin.kind for checkin in created)
        return PlanSummary(
            status_checkins=count[CheckInKind.MILESTONE_STATUS],
            pulse_checkins=count[CheckInKind.PULSE_SURVEY],
            topology_checkins=count[CheckInKind.TOPOLOGY_VERIFICATION],
            reminders=self.reminders_queue(),
            escalations=self.escalations_queue(),
            digests=self.digests_queue(),
            interaction_overruns=self.interaction_overruns_queue(),
        )

    def _checkin(self, **fields: Any) -> CheckIn:
        return CheckIn(
            organization=self.organization,
            period_start=self.survey_period.start,
            link_nonce=link_nonce_new(),
            created_at=self.at,
            expires_at=self.at + dt.timedelta(days=self.settings.link_valid_days),
            **fields,
        )

    def status_checkins(self) -> list[CheckIn]:
        """Owners of in-progress and at-risk milestones, once per ``checkin_every_days`` counted
        from the day the milestone started (the transformation's start when it has none). A done
        milestone is never asked again (``ASKED_STATUSES``): marking it done closed its open
        check-ins (``milestone_checkins_close``)."""
        wanted = [
            m for m in self.milestones if m.status in ASKED_STATUSES and m.owner.left_on is None
        ]
        if not wanted:
            return []
        version = self.instruments.version(STATUS_INSTRUMENT)
        if version is None:
            return []
        checkins = []
        for milestone in wanted:
            transformation = self.transformation_by_id[milestone.transformation_id]
            anchor = milestone.started_on or transformation.start_date
            if self.day < anchor:
                continue
            period = period_containing(
                self.day, every_days=max(milestone.checkin_every_days, 1), anchor=anchor
            )
            checkins.append(
                self._checkin(
                    kind=CheckInKind.MILESTONE_STATUS,
                    recipient_id=milestone.owner_id,
                    subject=f"milestone:{milestone.pk}",
                    period=period.key,
                    transformation_id=transformation.pk,
                    milestone_id=milestone.pk,
                    instruments=[[STATUS_INSTRUMENT, version]],
                )
            )
        return checkins

    def pulse_checkins(self) -> list[CheckIn]:
        """One pulse survey per person with a membership, per survey period, for their primary
        team (highest allocation, then team slug). Members of a platform team are not asked to
        rate the platform."""
        rows = list(
            Membership.objects.filter(organization=self.organization, person__left_on__isnull=True)
            .order_by()
            .values_list("person_id", "team_id", "team__slug", "team__type", "allocation_percent")
        )
        if not rows:
            return []
        keys = [str(key) for key in self.settings.pulse_instruments or []]
        everything = self.instruments.pairs(keys)
        without_platform = [pair for pair in everything if pair[0] != PLATFORM_SATISFACTION]
        memberships: dict[int, list[tuple[int, str, str, int]]] = defaultdict(list)
        for person_id, team_id, slug, team_type, allocation in rows:
            memberships[person_id].append((team_id, slug, team_type, allocation))
        checkins = []
        for person_id in sorted(memberships):
            teams = memberships[person_id]
            primary = min(teams, key=lambda team: (-team[3], team[1]))
            in_platform = any(team[2] == TeamType.PLATFORM for team in teams)
            instruments = without_platform if in_platform else everything
            if not instruments:
                continue
            checkins.append(
                self._checkin(
                    kind=CheckInKind.PULSE_SURVEY,
                    recipient_id=person_id,
                    subject=PULSE_SUBJECT,
                    period=self.survey_period.key,
                    team_id=primary[0],
                    instruments=[list(pair) for pair in instruments],
                )
            )
        return checkins

    def topology_checkins(self) -> list[CheckIn]:
        """Each managed team's manager, once per ``topology_verify_every_days`` period."""
        teams = list(
            Team.objects.filter(
                organization=self.organization,
                manager__isnull=False,
                manager__left_on__isnull=True,
            )
            .order_by("slug")
            .values_list("id", "manager_id")
        )
        if not teams:
            return []
        version = self.instruments.version(TOPOLOGY_INSTRUMENT)
        if version is None:
            return []
        period = period_containing(self.day, every_days=self.settings.topology_verify_every_days)
        self._topology_checkins_replace(period_key=period.key, managers=dict(teams))
        return [
            self._checkin(
                kind=CheckInKind.TOPOLOGY_VERIFICATION,
                recipient_id=manager_id,
                subject=f"team:{team_id}",
                period=period.key,
                team_id=team_id,
                instruments=[[TOPOLOGY_INSTRUMENT, version]],
            )
            for team_id, manager_id in teams
        ]

    def _topology_checkins_replace(self, *, period_key: str, managers: dict[int, int]) -> int:
        """A new verification round replaces a team's open topology check-in: the open ones of
        an earlier period, or sent to someone who no longer manages the team, are closed with a
        reason (their link says so, no reminder follows). Returns how many were closed."""
        stale = [
            pk
            for pk, team_id, recipient_id, period in CheckIn.objects.filter(
                organization=self.organization,
                kind=CheckInKind.TOPOLOGY_VERIFICATION,
                answered_at__isnull=True,
                closed_at__isnull=True,
                expires_at__gt=self.at,
            ).values_list("pk", "team_id", "recipient_id", "period")
            if period != period_key or managers.get(team_id) != recipient_id
        ]
        if not stale:
            return 0
        return CheckIn.objects.filter(pk__in=stale, closed_at__isnull=True).update(
            closed_at=self.at,
            closed_reason="A newer topology check of this team replaces this one.",
        )

    def reminders_queue(self) -> int:
        """Remind the recipients of unanswered, unexpired check-ins that are not closed (marking
        a milestone done closes its check-ins) whose last message (the check-in, then each
        reminder) is ``reminder_after_days`` old, at most ``max_reminders`` times. Returns the
        number of new reminders."""
        settings = self.settings
        if settings.max_reminders < 1:
            return 0
        threshold = self.at - dt.timedelta(days=settings.reminder_after_days)
        due = list(
            CheckIn.objects.filter(
                organization=self.organization,
                answered_at__isnull=True,
                closed_at__isnull=True,
                expires_at__gt=self.at,
                created_at__lte=threshold,
                reminders_sent__lt=settings.max_reminders,
                recipient__left_on__isnull=True,
            )
            .annotate(
                last_message_at=Coalesce(
                    Max("deliveries__created_at", filter=Q(deliveries__kind=DeliveryKind.REMINDER)),
                    F("created_at"),
                )
            )
            .filter(last_message_at__lte=threshold)
            .order_by("id")
            .values_list("id", "recipient_id", "reminders_sent")
        )
        if not due:
            return 0
        reminders_count_up([(checkin_id, sent) for checkin_id, _recipient_id, sent in due])
        return deliveries_queue(
            (
                self._delivery(
                    kind=DeliveryKind.REMINDER,
                    dedupe_key=f"reminder:{checkin_id}:{sent + 1}",
                    recipient_id=recipient_id,
                    checkin_id=checkin_id,
                )
                for checkin_id, recipient_id, sent in due
            ),
            at=self.at,
        )

    def _delivery(self, **fields: Any) -> Delivery:
        fields.setdefault("payload", {})
        return Delivery(
            organization=self.organization,
            channel=self.settings.channel,
            next_attempt_at=self.at,
            created_at=self.at,
            **fields,
        )

    def escalations_queue(self) -> int:
        """Tell the sponsor (the lead change agent when there is none) about each milestone
        blocked for longer than ``escalate_blocked_after_days``, once per blocking episode."""
        blocked = {m.pk: m for m in self.milestones if m.status == MilestoneStatus.BLOCKED}
        if not blocked:
            return 0
        since: dict[int, MilestoneEvent] = {}
        for event in MilestoneEvent.objects.filter(
            milestone_id__in=list(blocked), kind=EventKind.STATUS, to_status=MilestoneStatus.BLOCKED
        ).order_by("milestone_id", "-at", "-id"):
            since.setdefault(event.milestone_id, event)
        limit = dt.timedelta(days=self.settings.escalate_blocked_after_days)
        deliveries = []
        for milestone_id, event in sorted(since.items()):
            if self.at - event.at <= limit:
                continue
            milestone = blocked[milestone_id]
            transformation = self.transformation_by_id[milestone.transformation_id]
            recipient = _escalation_recipient(transformation)
            if recipient is None:
                continue
            deliveries.append(
                self._delivery(
                    kind=DeliveryKind.ESCALATION,
                    dedupe_key=f"escalation:milestone:{milestone.pk}:event:{event.pk}",
                    recipient_id=recipient.pk,
                    # What the message is about; its figures are read when it is sent.
                    payload={
                        "transformation": transformation.pk,
                        "milestone": milestone.pk,
                        "event": event.pk,
                    },
                )
            )
        return deliveries_queue(deliveries, at=self.at)

    def digests_queue(self) -> int:
        """The leaders' weekly digest, from ``digest_weekday`` on, once per ISO week: leaders
        are the people whose login holds the leader role, and every active sponsor."""
        if self.day.weekday() < self.settings.digest_weekday or not self.transformations:
            return 0
        leader_users = OrganizationRole.objects.filter(
            organization=self.organization, role=Role.LEADER
        ).values("user_id")
        recipients = {
            person.pk: person
            for person in Person.objects.filter(
                organization=self.organization, user_id__in=leader_users, left_on__isnull=True
            )
        }
        for transformation in self.transformations:
            if transformation.sponsor is not None and transformation.sponsor.left_on is None:
                recipients[transformation.sponsor.pk] = transformation.sponsor
        if not recipients:
            return 0
        iso = self.day.isocalendar()
        week = f"{iso.year}-W{iso.week:02d}"
        keys = {person_id: f"digest:{person_id}:{week}" for person_id in recipients}
        already = set(
            Delivery.objects.filter(dedupe_key__in=list(keys.values())).values_list(
                "dedupe_key", flat=True
            )
        )
        missing = sorted(person_id for person_id, key in keys.items() if key not in already)
        if not missing:
            return 0
        # The week identifies the digest; its figures are read when it is sent.
        payload = {"week": week}
        return deliveries_queue(
            [
                self._delivery(
                    kind=DeliveryKind.DIGEST,
                    dedupe_key=keys[person_id],
                    recipient_id=person_id,
                    payload=payload,
                )
                for person_id in missing
            ],
            at=self.at,
        )

    def interaction_overruns_queue(self) -> int:
        """Tell both teams' engineering managers and the organisation's change agents (the
        change-agent logins and every active transformation's change agents) once about each
        collaboration or facilitating interaction past its expected end, between two teams that
        are not retired. The dedupe key names the expected end, so an extended interaction
        alerts again when its new end passes."""
        interactions = list(overdue_interactions(organization=self.organization, day=self.day))
        if not interactions:
            return 0
        agent_users = OrganizationRole.objects.filter(
            organization=self.organization, role=Role.CHANGE_AGENT
        ).values("user_id")
        agents = {
            person.pk: person
            for person in Person.objects.filter(
                Q(user_id__in=agent_users)
                | Q(led_transformations__in=self.transformations)
                | Q(change_agent_of__in=self.transformations),
                organization=self.organization,
                left_on__isnull=True,
            ).distinct()
        }
        deliveries = []
        for interaction in interactions:
            assert interaction.expected_end is not None
            recipients = dict(agents)
            for team in (interaction.source, interaction.target):
                if team.manager is not None and team.manager.left_on is None:
                    recipients[team.manager.pk] = team.manager
            end = interaction.expected_end.isoformat()
            deliveries += [
                self._delivery(
                    kind=DeliveryKind.INTERACTION_OVERRUN,
                    dedupe_key=f"interaction_overrun:{interaction.pk}:{end}:person:{person_id}",
                    recipient_id=person_id,
                    payload={"interaction": interaction.pk, "expected_end": end},
                )
                for person_id in sorted(recipients)
            ]
        return deliveries_queue(deliveries, at=self.at)


def _escalation_recipient(transformation: Transformation) -> Person | None:
    """Who hears about a blocked milestone: the sponsor, else (none, or a leaver) the lead change
    agent; None when both have left (a lead change agent cannot leave while leading, so only a
    row changed behind the services' back gets here)."""
    for person in (transformation.sponsor, transformation.lead_change_agent):
        if person is not None and person.left_on is None:
            return person
    return None
