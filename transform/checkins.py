"""Planning the transformation's rhythm: who is asked what, and when (docs/checkins.md#planning).

``checkins_plan`` is what the periodic ``plan_checkins`` job and ``run_checkins`` call. For every
organisation with an active transformation (at least one milestone not done) it creates, in one
transaction per organisation, the check-ins that are due at the moment ``at`` (milestone status,
pulse surveys, topology verification), one ``Delivery`` per new check-in, the reminders of
unanswered check-ins, the escalations of long-blocked milestones and the leaders' weekly digest.

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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from teams.models import Membership, Organization, OrganizationRole, Person, Role, Team, TeamType
from transform.errors import ApplicationError
from transform.instrument_store import instrument_get
from transform.links import link_nonce_new
from transform.models import (
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    SignalEvent,
    TeamVerification,
    Transformation,
)
from transform.rhythm import (
    checkin_settings_get,
    deliveries_queue,
    period_containing,
    survey_period,
)

logger = logging.getLogger(__name__)

STATUS_INSTRUMENT = "milestone-status"
TOPOLOGY_INSTRUMENT = "topology-verification"
PLATFORM_SATISFACTION = "platform-satisfaction"
PULSE_SUBJECT = "pulse"
# Milestones whose owner is asked for a status: planned work has not started, done work is over,
# and a blocked milestone is escalated instead (its owner already said what stands in the way).
ASKED_STATUSES = (MilestoneStatus.IN_PROGRESS, MilestoneStatus.AT_RISK)
DIGEST_WINDOW = dt.timedelta(days=7)
BATCH_SIZE = 500

CheckInKey = tuple[int, str, str, str]  # (recipient id, kind, subject, period): the unique key


@dataclass
class PlanSummary:
    """What one planning round created (new rows only: a repeated round counts zeros)."""

    status_checkins: int = 0
    pulse_checkins: int = 0
    topology_checkins: int = 0
    reminders: int = 0
    escalations: int = 0
    digests: int = 0

    def add(self, other: PlanSummary) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- the planning round -------------------------------------------------------------------------


def checkins_plan(*, at: dt.datetime) -> PlanSummary:
    """Create everything due at ``at`` for every organisation with an active transformation.

    One transaction per organisation; the deliveries are dispatched only after it commits. An
    organisation whose planning fails is rolled back and logged, the others are still planned,
    and the first error is raised at the end so the failure is not silent. Safe to run twice or
    concurrently: the second run creates nothing (unique check-ins and delivery dedupe keys).
    """
    summary = PlanSummary()
    failures: list[Exception] = []
    for organization in active_organizations():
        try:
            with transaction.atomic():
                summary.add(_OrganizationRound(organization=organization, at=at).run())
        except Exception as exc:
            logger.exception("Planning check-ins of organisation %s failed", organization.slug)
            failures.append(exc)
    if failures:
        raise failures[0]
    return summary


def active_organizations() -> QuerySet[Organization]:
    """Organisations with at least one transformation that has a milestone not done."""
    open_milestones = Milestone.objects.exclude(status=MilestoneStatus.DONE)
    return Organization.objects.filter(
        pk__in=open_milestones.values("transformation__organization_id")
    ).order_by("slug")


class _Instruments:
    """Latest instrument versions of one organisation, looked up once per key."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self.versions: dict[str, int | None] = {}

    def version(self, key: str) -> int | None:
        """The latest version of ``key``, or None (logged) when the organisation has no such
        instrument: a misconfigured key must not stop the rest of the rhythm."""
        if key not in self.versions:
            try:
                spec = instrument_get(organization=self.organization, key=key)
            except ApplicationError as exc:
                logger.warning("Organisation %s: %s", self.organization.slug, exc.message)
                self.versions[key] = None
            else:
                self.versions[key] = spec.version
        return self.versions[key]

    def pairs(self, keys: Iterable[str]) -> list[list[Any]]:
        """``[[key, version], ...]`` for the known ``keys``, in order, each once."""
        pairs: list[list[Any]] = []
        for key in dict.fromkeys(keys):
            version = self.version(key)
            if version is not None:
                pairs.append([key, version])
        return pairs


class _OrganizationRound:
    """One organisation's share of a planning round (call ``run`` inside a transaction)."""

    def __init__(self, *, organization: Organization, at: dt.datetime) -> None:
        self.organization = organization
        self.at = at
        self.day = timezone.localdate(at)
        self.settings = checkin_settings_get(organization=organization)
        self.survey_period = survey_period(self.day, settings=self.settings)
        self.instruments = _Instruments(organization)
        self.transformations = list(
            Transformation.objects.filter(organization=organization)
            .filter(pk__in=_active_transformation_ids(organization))
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
        from the day the milestone started (the transformation's start when it has none)."""
        wanted = [m for m in self.milestones if m.status in ASKED_STATUSES]
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
            Membership.objects.filter(organization=self.organization).values_list(
                "person_id", "team_id", "team__slug", "team__type", "allocation_percent"
            )
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
            Team.objects.filter(organization=self.organization, manager__isnull=False)
            .order_by("slug")
            .values_list("id", "manager_id")
        )
        if not teams:
            return []
        version = self.instruments.version(TOPOLOGY_INSTRUMENT)
        if version is None:
            return []
        period = period_containing(self.day, every_days=self.settings.topology_verify_every_days)
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

    def reminders_queue(self) -> int:
        """Remind the recipients of unanswered, unexpired check-ins whose last message (the
        check-in, then each reminder) is ``reminder_after_days`` old, at most ``max_reminders``
        times. Returns the number of new reminders."""
        settings = self.settings
        if settings.max_reminders < 1:
            return 0
        threshold = self.at - dt.timedelta(days=settings.reminder_after_days)
        due = list(
            CheckIn.objects.filter(
                organization=self.organization,
                answered_at__isnull=True,
                expires_at__gt=self.at,
                created_at__lte=threshold,
                reminders_sent__lt=settings.max_reminders,
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
            recipient = transformation.sponsor or transformation.lead_change_agent
            deliveries.append(
                self._delivery(
                    kind=DeliveryKind.ESCALATION,
                    dedupe_key=f"escalation:milestone:{milestone.pk}:event:{event.pk}",
                    recipient_id=recipient.pk,
                    payload=self._escalation_payload(
                        milestone=milestone,
                        transformation=transformation,
                        event=event,
                        as_sponsor=transformation.sponsor is not None,
                    ),
                )
            )
        return deliveries_queue(deliveries, at=self.at)

    def _escalation_payload(
        self,
        *,
        milestone: Milestone,
        transformation: Transformation,
        event: MilestoneEvent,
        as_sponsor: bool,
    ) -> dict[str, str]:
        days = (self.at - event.at).days
        owner = milestone.owner
        reason = milestone.status_reason or event.reason or "(no reason given)"
        role = "the sponsor" if as_sponsor else "the lead change agent (there is no sponsor)"
        text = "\n".join(
            [
                f'Milestone "{milestone.title}" ({milestone.key}) of the transformation '
                f'"{transformation.title}" has been blocked for {days} days, since '
                f"{timezone.localdate(event.at).isoformat()}.",
                "",
                f"Owner: {owner.name} <{owner.email}>",
                f"Reason: {reason}",
                f"Due (forecast): {_date(milestone.forecast_due)}",
                "",
                f"The plan: {plan_url(transformation)}",
                "",
                f"You receive this as {role} of the transformation: the milestone has been "
                f"blocked for longer than {self.settings.escalate_blocked_after_days} days.",
            ]
        )
        return {
            "subject": f"Blocked for {days} days: {milestone.title} ({transformation.title})",
            "text": text,
        }

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
                organization=self.organization, user_id__in=leader_users
            )
        }
        for transformation in self.transformations:
            if transformation.sponsor is not None:
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
        payload = self._digest_payload(week=week)
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

    def _digest_payload(self, *, week: str) -> dict[str, str]:
        """Counts and dates only: no survey scores, no answers, no names of respondents."""
        since = self.at - DIGEST_WINDOW
        checkins: dict[int | None, tuple[int, int]] = {
            row["transformation_id"]: (row["sent"], row["answered"])
            for row in CheckIn.objects.filter(
                organization=self.organization, created_at__gt=since, created_at__lte=self.at
            )
            .values("transformation_id")
            .annotate(sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)))
            .order_by("transformation_id")
        }
        failed: dict[int | None, int] = {
            row["checkin__transformation_id"]: row["failed"]
            for row in Delivery.objects.filter(
                organization=self.organization,
                status=DeliveryStatus.FAILED,
                created_at__gt=since,
                created_at__lte=self.at,
            )
            .values("checkin__transformation_id")
            .annotate(failed=Count("id"))
            .order_by("checkin__transformation_id")
        }
        by_transformation: dict[int, list[Milestone]] = defaultdict(list)
        for milestone in self.milestones:
            by_transformation[milestone.transformation_id].append(milestone)
        lines = [
            f"Weekly transformation digest for {self.organization.name}, week {week} "
            f"(figures for the 7 days to {self.day.isoformat()}).",
        ]
        for transformation in self.transformations:
            milestones = by_transformation[transformation.pk]
            status_count = Counter(milestone.status for milestone in milestones)
            sent, answered = checkins.get(transformation.pk, (0, 0))
            lines += [
                "",
                f"{transformation.title} (started {transformation.start_date.isoformat()})",
                f"  Milestones: {status_count['done']} of {len(milestones)} done, "
                f"{status_count['in_progress']} in progress, {status_count['at_risk']} at risk, "
                f"{status_count['blocked']} blocked, {status_count['planned']} planned",
                f"  End: forecast {_date(transformation.forecast_end)}, planned "
                f"{_date(transformation.planned_end)}"
                f"{_slip(transformation.forecast_end, transformation.planned_end)}",
                f"  Status check-ins: {answered} of {sent} answered",
                f"  Failed deliveries: {failed.get(transformation.pk, 0)}",
            ]
            for milestone in milestones:
                if milestone.status in (MilestoneStatus.BLOCKED, MilestoneStatus.AT_RISK):
                    lines.append(
                        f"  {milestone.get_status_display()}: {milestone.title} "
                        f"(owner {milestone.owner.email}): {milestone.status_reason}"
                    )
            lines.append(f"  Plan: {plan_url(transformation)}")
        total_sent = sum(sent for sent, _answered in checkins.values())
        total_answered = sum(answered for _sent, answered in checkins.values())
        lines += [
            "",
            f"All check-ins and surveys: {total_answered} of {total_sent} answered; "
            f"failed deliveries: {sum(failed.values())}.",
        ]
        return {
            "subject": f"Transformation digest {week}: {self.organization.name}",
            "text": "\n".join(lines),
        }


def reminders_count_up(seen: Sequence[tuple[int, int]]) -> int:
    """Add one to ``reminders_sent`` of each ``(check-in id, reminders_sent as read)`` whose count
    is still the one read: a planner that lost a race to another one (which counted the same
    reminder first) counts nothing. Returns the number of check-ins counted up."""
    counted = 0
    for start in range(0, len(seen), BATCH_SIZE):
        by_count: dict[int, list[int]] = defaultdict(list)
        for checkin_id, sent in seen[start : start + BATCH_SIZE]:
            by_count[sent].append(checkin_id)
        unchanged = Q()
        for sent, ids in by_count.items():
            unchanged |= Q(pk__in=ids, reminders_sent=sent)
        counted += CheckIn.objects.filter(unchanged).update(reminders_sent=F("reminders_sent") + 1)
    return counted


def _active_transformation_ids(organization: Organization) -> QuerySet[Milestone, Any]:
    return (
        Milestone.objects.filter(transformation__organization=organization)
        .exclude(status=MilestoneStatus.DONE)
        .values("transformation_id")
    )


def _date(day: dt.date | None) -> str:
    return day.isoformat() if day is not None else "not scheduled"


def _slip(forecast: dt.date | None, planned: dt.date | None) -> str:
    if forecast is None or planned is None:
        return ""
    days = (forecast - planned).days
    if days > 0:
        return f" ({days} days late)"
    if days < 0:
        return f" ({-days} days early)"
    return " (on plan)"


def plan_url(transformation: Transformation) -> str:
    """The absolute URL of the transformation's plan report."""
    path = reverse("transformation-plan", kwargs={"transformation_id": transformation.pk})
    return django_settings.TRANSFORM_BASE_URL.rstrip("/") + path


# --- creating check-ins -------------------------------------------------------------------------


def _key(checkin: CheckIn) -> CheckInKey:
    return (checkin.recipient_id, checkin.kind, checkin.subject, checkin.period)


def checkins_create(
    *,
    organization: Organization,
    settings: CheckinSettings,
    checkins: Sequence[CheckIn],
    at: dt.datetime,
) -> list[CheckIn]:
    """Insert the unsaved ``checkins`` (built with ``created_at=at``) that do not exist yet and
    queue one delivery (``checkin:<id>``) for each. Returns the rows this call inserted.

    Existing ones (same recipient, kind, subject and period) are skipped, by a read first and by
    the unique constraint for a concurrent planner; a row inserted by another planner is not
    counted here, since its nonce is not one of ours. Call inside a transaction.
    """
    wanted: dict[CheckInKey, CheckIn] = {}
    for checkin in checkins:
        wanted.setdefault(_key(checkin), checkin)
    if not wanted:
        return []
    existing = set(
        CheckIn.objects.filter(
            organization=organization,
            kind__in={key[1] for key in wanted},
            period__in={key[3] for key in wanted},
        ).values_list("recipient_id", "kind", "subject", "period")
    )
    # A fixed insert order: two planners inserting the same rows queue behind each other.
    missing = [wanted[key] for key in sorted(wanted) if key not in existing]
    if not missing:
        return []
    CheckIn.objects.bulk_create(missing, ignore_conflicts=True, batch_size=BATCH_SIZE)
    nonces = {checkin.link_nonce for checkin in missing}
    created = [
        checkin
        for checkin in CheckIn.objects.filter(organization=organization, created_at=at)
        .only("id", "kind", "recipient_id", "link_nonce")
        .order_by("id")
        if checkin.link_nonce in nonces
    ]
    deliveries_queue(
        (
            Delivery(
                organization=organization,
                kind=DeliveryKind.CHECKIN,
                dedupe_key=f"checkin:{checkin.pk}",
                recipient_id=checkin.recipient_id,
                checkin_id=checkin.pk,
                channel=settings.channel,
                payload={},
                next_attempt_at=at,
                created_at=at,
            )
            for checkin in created
        ),
        at=at,
    )
    return created


# --- event-triggered surveys --------------------------------------------------------------------


def event_surveys_trigger(*, events: Sequence[SignalEvent], at: dt.datetime) -> int:
    """Send the surveys that ``events`` trigger: for an event with a team whose kind is named in
    its organisation's ``event_surveys`` settings, one event-survey check-in to each member of
    the team (subject and period ``event:<event id>``), asking every instrument configured for
    that kind at its latest version. Returns the number of check-ins created; an event seen
    again creates nothing. Runs in the caller's transaction (the ingest's), in a savepoint.
    """
    with_team = [event for event in events if event.team_id is not None and event.pk is not None]
    if not with_team:
        return 0
    organizations = Organization.objects.in_bulk({event.organization_id for event in with_team})
    by_organization: dict[int, list[SignalEvent]] = defaultdict(list)
    for event in with_team:
        by_organization[event.organization_id].append(event)
    created = 0
    with transaction.atomic():
        for organization_id in sorted(by_organization):
            created += _event_surveys_create(
                organization=organizations[organization_id],
                events=by_organization[organization_id],
                at=at,
            )
    return created


def _event_surveys_create(
    *, organization: Organization, events: list[SignalEvent], at: dt.datetime
) -> int:
    settings = checkin_settings_get(organization=organization)
    surveys: dict[str, list[str]] = defaultdict(list)
    for entry in settings.event_surveys or []:
        if isinstance(entry, dict) and entry.get("event") and entry.get("instrument"):
            surveys[str(entry["event"])].append(str(entry["instrument"]))
    triggered = [event for event in events if event.kind in surveys]
    if not triggered:
        return 0
    instruments = _Instruments(organization)
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, person_id in (
        Membership.objects.filter(team_id__in={event.team_id for event in triggered})
        .order_by("person_id")
        .values_list("team_id", "person_id")
    ):
        members[team_id].append(person_id)
    platform_teams = set(
        Team.objects.filter(
            pk__in={event.team_id for event in triggered}, type=TeamType.PLATFORM
        ).values_list("pk", flat=True)
    )
    period_start = survey_period(timezone.localdate(at), settings=settings).start
    expires_at = at + dt.timedelta(days=settings.link_valid_days)
    checkins = []
    for event in triggered:
        pairs = instruments.pairs(surveys[event.kind])
        if event.team_id in platform_teams:
            # As in pulse surveys: the platform team does not rate its own platform.
            pairs = [pair for pair in pairs if pair[0] != PLATFORM_SATISFACTION]
        if not pairs or event.team_id is None:
            continue
        for person_id in members[event.team_id]:
            checkins.append(
                CheckIn(
                    organization=organization,
                    kind=CheckInKind.EVENT_SURVEY,
                    recipient_id=person_id,
                    subject=f"event:{event.pk}",
                    period=f"event:{event.pk}",
                    period_start=period_start,
                    team_id=event.team_id,
                    instruments=[list(pair) for pair in pairs],
                    link_nonce=link_nonce_new(),
                    created_at=at,
                    expires_at=expires_at,
                )
            )
    return len(
        checkins_create(organization=organization, settings=settings, checkins=checkins, at=at)
    )


# --- reads: topology staleness ------------------------------------------------------------------


def team_verification_list(
    *, organization: Organization, at: dt.datetime, stale: bool | None = None
) -> QuerySet[Team]:
    """Every team of the organisation (by slug) with how current its recorded topology is, at
    ``at``, in one query however many teams and verifications there are:

    - ``last_verified_at``, ``last_confirmed``, ``last_corrections``, ``last_verified_by_id``,
      ``last_verified_by_email``, ``last_verified_by_name``: the latest ``TeamVerification``
      (all None when the team was never verified);
    - ``last_confirmed_at``: the latest verification that confirmed the record;
    - ``stale``: no confirmation within the last ``topology_verify_every_days`` days;
    - ``pending_checkin``: a topology-verification check-in is open (unanswered, unexpired).
    ``manager`` is selected with the team. ``stale`` given keeps only the teams that are (True)
    or are not (False) stale.
    """
    settings = checkin_settings_get(organization=organization)
    fresh_after = at - dt.timedelta(days=settings.topology_verify_every_days)
    latest = TeamVerification.objects.filter(team=OuterRef("pk"), verified_at__lte=at).order_by(
        "-verified_at", "-id"
    )
    confirmed = latest.filter(confirmed=True)
    open_checkins = CheckIn.objects.filter(
        team=OuterRef("pk"),
        kind=CheckInKind.TOPOLOGY_VERIFICATION,
        answered_at__isnull=True,
        created_at__lte=at,
        expires_at__gt=at,
    )
    teams = (
        Team.objects.filter(organization=organization)
        .select_related("manager")
        .annotate(
            last_verified_at=Subquery(latest.values("verified_at")[:1]),
            last_confirmed=Subquery(latest.values("confirmed")[:1]),
            last_corrections=Subquery(latest.values("corrections")[:1]),
            last_verified_by_id=Subquery(latest.values("verified_by_id")[:1]),
            last_verified_by_email=Subquery(latest.values("verified_by__email")[:1]),
            last_verified_by_name=Subquery(latest.values("verified_by__name")[:1]),
            last_confirmed_at=Subquery(confirmed.values("verified_at")[:1]),
            pending_checkin=Exists(open_checkins),
        )
        .annotate(
            stale=Case(
                When(last_confirmed_at__gt=fresh_after, then=Value(False)),
                default=Value(True),
                output_field=BooleanField(),
            )
        )
        .order_by("slug")
    )
    return teams if stale is None else teams.filter(stale=stale)
