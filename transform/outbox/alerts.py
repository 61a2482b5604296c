"""The messages whose figures are read when they are sent: the escalation of a blocked milestone,
the leaders' weekly digest, the readiness-drop alert and the overrun alert of a temporary
interaction (docs/delivery.md#rendered-when-sent).

Their delivery rows store only what identifies the message (transformation, milestone, week,
team, period, interaction); everything the message says is read here, from the database as it
is at sending time. When the state no longer warrants the message (the milestone is unblocked,
the readiness recovered, the plan is finished, the interaction was ended or extended) rendering
raises ``Skip`` with the reason, and the outbox records it. Every link is a web page under
``TRANSFORM_BASE_URL``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from teams.models import Interaction, InteractionMode, Organization, Person
from teams.zones import organization_today
from transform.models import (
    CheckIn,
    CheckinSettings,
    Delivery,
    DeliveryStatus,
    EventKind,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    ReadinessSnapshot,
    Transformation,
)

# Collaboration and facilitating are temporary by definition (Team Topologies): past their
# expected end they are overdue.
TEMPORARY_MODES = (InteractionMode.COLLABORATION, InteractionMode.FACILITATING)
DIGEST_WINDOW = dt.timedelta(days=7)


class AlertSkip(Exception):
    """Nothing is left to say (the reason is recorded on the delivery row)."""


class AlertError(Exception):
    """The payload does not identify what the message is about."""


# --- links ---------------------------------------------------------------------------------------


def web_url(name: str, *, query: dict[str, str] | None = None, **kwargs: Any) -> str:
    """The absolute URL of the web page ``web:<name>`` under ``TRANSFORM_BASE_URL``."""
    path = reverse(f"web:{name}", kwargs=kwargs)
    if query:
        path += "?" + urlencode(query)
    return settings.TRANSFORM_BASE_URL.rstrip("/") + path


def plan_url(transformation: Transformation) -> str:
    return web_url(
        "plan",
        org_slug=transformation.organization.slug,
        transformation_id=transformation.pk,
    )


def milestone_url(milestone: Milestone, *, organization: Organization) -> str:
    return web_url("milestone", org_slug=organization.slug, milestone_id=milestone.pk)


def interaction_url(interaction: Interaction, *, organization: Organization) -> str:
    """The graph page with the source team's panel open, where the interaction is changed."""
    return web_url("graph", org_slug=organization.slug, query={"team": interaction.source.slug})


# --- shared reads --------------------------------------------------------------------------------


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


def _int(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int):
        raise AlertError(f"the payload lacks {name!r}")
    return value


def _day(payload: dict[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(payload.get(name)))
    except ValueError as exc:
        raise AlertError(f"the payload lacks the date {name!r}") from exc


def overdue_interactions(*, organization: Organization, day: dt.date) -> QuerySet[Interaction]:
    """The organisation's collaboration and facilitating interactions whose expected end is
    before ``day``, between two teams that are not retired (oldest end first)."""
    return (
        Interaction.objects.filter(
            organization=organization,
            mode__in=TEMPORARY_MODES,
            expected_end__lt=day,
            source__retired_at__isnull=True,
            target__retired_at__isnull=True,
        )
        .select_related("source__manager", "target__manager")
        .order_by("expected_end", "id")
    )


def _interaction_line(interaction: Interaction, *, day: dt.date) -> str:
    assert interaction.expected_end is not None
    overdue = (day - interaction.expected_end).days
    return (
        f"{interaction.source.name} and {interaction.target.name}: "
        f"{interaction.get_mode_display().lower()} expected to end on "
        f"{interaction.expected_end.isoformat()}, {overdue} day{'s' if overdue != 1 else ''} "
        "overdue"
    )


# --- escalation ----------------------------------------------------------------------------------


def escalation_message(
    delivery: Delivery, *, at: dt.datetime, settings_row: CheckinSettings
) -> tuple[str, str]:
    """A milestone blocked for too long, to the sponsor or the lead change agent. Skipped when
    the milestone is no longer blocked, or blocked again since (a new episode has its own)."""
    payload = delivery.payload
    milestone = (
        Milestone.objects.select_related("owner", "transformation__organization")
        .filter(pk=_int(payload, "milestone"), transformation__organization=delivery.organization)
        .first()
    )
    if milestone is None:
        raise AlertSkip("the milestone no longer exists")
    if milestone.status != MilestoneStatus.BLOCKED:
        raise AlertSkip(f"the milestone is no longer blocked (now {milestone.status})")
    event = (
        MilestoneEvent.objects.filter(
            milestone=milestone, kind=EventKind.STATUS, to_status=MilestoneStatus.BLOCKED
        )
        .order_by("-at", "-id")
        .first()
    )
    if event is None or event.pk != payload.get("event"):
        raise AlertSkip("the milestone was unblocked and blocked again since")
    transformation = milestone.transformation
    days = (at - event.at).days
    recipient = delivery.recipient
    if transformation.sponsor_id == recipient.pk:
        role = "the sponsor"
    elif transformation.sponsor_id is None:
        role = "the lead change agent (there is no sponsor)"
    else:
        role = "the lead change agent (the sponsor has left)"
    owner = milestone.owner
    reason = milestone.status_reason or event.reason or "(no reason given)"
    text = "\n".join(
        [
            f'Milestone "{milestone.title}" ({milestone.key}) of the transformation '
            f'"{transformation.title}" has been blocked for {days} days, since '
            f"{organization_today(delivery.organization, event.at).isoformat()}.",
            "",
            f"Owner: {owner.name} <{owner.email}>",
            f"Reason: {reason}",
            f"Due (forecast): {_date(milestone.forecast_due)}",
            "",
            f"The milestone: {milestone_url(milestone, organization=delivery.organization)}",
            f"The plan: {plan_url(transformation)}",
            "",
            f"You receive this as {role} of the transformation: the milestone has been "
            f"blocked for longer than {settings_row.escalate_blocked_after_days} days.",
        ]
    )
    return f"Blocked for {days} days: {milestone.title} ({transformation.title})", text


# --- digest --------------------------------------------------------------------------------------


def _active_transformations(organization: Organization) -> list[Transformation]:
    open_milestones = Milestone.objects.exclude(status=MilestoneStatus.DONE).values(
        "transformation_id"
    )
    return list(
        Transformation.objects.filter(organization=organization, pk__in=open_milestones)
        .select_related("organization")
        .order_by("start_date", "id")
    )


def digest_message(delivery: Delivery, *, at: dt.datetime) -> tuple[str, str]:
    """The leaders' weekly digest: counts and dates only (no survey scores, no answers, no
    names of respondents), as they are at ``at``. Skipped when no transformation is active and
    no temporary interaction is overdue."""
    organization = delivery.organization
    week = str(delivery.payload.get("week") or "")
    if not week:
        raise AlertError("the payload lacks 'week'")
    day = organization_today(organization, at)
    transformations = _active_transformations(organization)
    overdue = list(overdue_interactions(organization=organization, day=day))
    if not transformations and not overdue:
        raise AlertSkip("every milestone of the organisation's plans is done")
    since = at - DIGEST_WINDOW
    checkins: dict[int | None, tuple[int, int]] = {
        row["transformation_id"]: (row["sent"], row["answered"])
        for row in CheckIn.objects.filter(
            organization=organization, created_at__gt=since, created_at__lte=at
        )
        .values("transformation_id")
        .annotate(sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)))
        .order_by("transformation_id")
    }
    failed: dict[int | None, int] = {
        row["checkin__transformation_id"]: row["failed"]
        for row in Delivery.objects.filter(
            organization=organization,
            status=DeliveryStatus.FAILED,
            created_at__gt=since,
            created_at__lte=at,
        )
        .values("checkin__transformation_id")
        .annotate(failed=Count("id"))
        .order_by("checkin__transformation_id")
    }
    by_transformation: dict[int, list[Milestone]] = defaultdict(list)
    for milestone in (
        Milestone.objects.filter(transformation__in=transformations)
        .select_related("owner")
        .order_by("transformation_id", "position", "id")
    ):
        by_transformation[milestone.transformation_id].append(milestone)
    lines = [
        f"Weekly transformation digest for {organization.name}, week {week} "
        f"(figures for the 7 days to {day.isoformat()}; dates are days in "
        f"{organization.time_zone}).",
    ]
    for transformation in transformations:
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
                lines.append(f"    {milestone_url(milestone, organization=organization)}")
        lines.append(f"  Plan: {plan_url(transformation)}")
    if overdue:
        lines += ["", "Overdue temporary interactions"]
        for interaction in overdue:
            lines.append(f"  {_interaction_line(interaction, day=day)}")
            lines.append(f"    {interaction_url(interaction, organization=organization)}")
    total_sent = sum(sent for sent, _answered in checkins.values())
    total_answered = sum(answered for _sent, answered in checkins.values())
    lines += [
        "",
        f"All check-ins and surveys: {total_answered} of {total_sent} answered; "
        f"failed deliveries: {sum(failed.values())}.",
    ]
    return f"Transformation digest {week}: {organization.name}", "\n".join(lines)


# --- readiness drop ------------------------------------------------------------------------------


def readiness_drop_message(delivery: Delivery, *, settings_row: CheckinSettings) -> tuple[str, str]:
    """A team's readiness fell by more than ``readiness_drop_alert`` points from one survey
    period to the next, from the stored snapshots (the figures the dashboards show). Skipped when
    the latest figures no longer show the drop, or either period is suppressed."""
    organization = delivery.organization
    team_id = _int(delivery.payload, "team")
    period_start = _day(delivery.payload, "period_start")
    previous_start = _day(delivery.payload, "previous_start")
    snapshots = {
        row.period_start: row
        for row in ReadinessSnapshot.objects.filter(
            organization=organization,
            team_id=team_id,
            period_start__in=[period_start, previous_start],
        ).select_related("team")
    }
    now, before = snapshots.get(period_start), snapshots.get(previous_start)
    if now is None or before is None or now.team is None:
        raise AlertSkip("the team's readiness of one of the two periods is not stored")
    if now.suppressed or before.suppressed or now.score is None or before.score is None:
        raise AlertSkip("the team's readiness is no longer shown for one of the two periods")
    if round(before.score - now.score, 1) <= settings_row.readiness_drop_alert:
        raise AlertSkip(
            f"the drop recovered: {before.score:g} then {now.score:g} points is within "
            f"{settings_row.readiness_drop_alert:g} points"
        )
    team = now.team
    lines = [
        f"Readiness of team {team.name} ({team.slug}) in {organization.name} fell from "
        f"{before.score:g} to {now.score:g} points between the survey period starting "
        f"{previous_start.isoformat()} and the one starting {period_start.isoformat()}.",
        (
            f"ADKAR barrier point: {now.barrier}. Work on it first."
            if now.barrier
            else "ADKAR barrier point: none found."
        ),
        f"Details: {web_url('leadership', org_slug=organization.slug)}",
    ]
    return f"Readiness of {team.name} dropped from {before.score:g} to {now.score:g}", "\n".join(
        lines
    )


# --- temporary interaction overrun ---------------------------------------------------------------


def interaction_overrun_message(delivery: Delivery, *, at: dt.datetime) -> tuple[str, str]:
    """A collaboration or facilitating interaction is past its expected end. Skipped when it
    was ended, extended or turned into another mode, or a team was retired."""
    organization = delivery.organization
    interaction = (
        Interaction.objects.filter(
            organization=organization, pk=_int(delivery.payload, "interaction")
        )
        .select_related("source__manager", "target__manager")
        .first()
    )
    expected_end = _day(delivery.payload, "expected_end")
    if interaction is None:
        raise AlertSkip("the interaction was ended")
    if interaction.mode not in TEMPORARY_MODES:
        raise AlertSkip(f"the interaction is now {interaction.get_mode_display()}")
    if interaction.expected_end != expected_end:
        raise AlertSkip(
            f"the interaction's expected end changed to {_date(interaction.expected_end)}"
        )
    if interaction.source.retired_at is not None or interaction.target.retired_at is not None:
        raise AlertSkip("one of the two teams was retired")
    day = organization_today(delivery.organization, at)
    if expected_end >= day:
        raise AlertSkip("the interaction is not overdue")
    overdue = (day - expected_end).days
    recipient: Person = delivery.recipient
    managed = [
        team for team in (interaction.source, interaction.target) if team.manager_id == recipient.pk
    ]
    mode = interaction.get_mode_display().lower()
    lines = [
        f"The {mode} between {interaction.source.name} and {interaction.target.name} was "
        f"expected to end on {expected_end.isoformat()}: it is {overdue} "
        f"day{'s' if overdue != 1 else ''} overdue.",
        "",
        f"{InteractionMode(interaction.mode).label} is a temporary mode. End it, set a new "
        "expected end, or turn it into another mode (such as X-as-a-Service) here:",
        interaction_url(interaction, organization=organization),
    ]
    if managed:
        lines += [
            "",
            "Or on your team's page: "
            + web_url("my-team", org_slug=organization.slug)
            + f"#team-{managed[0].slug}",
        ]
    lines += [
        "",
        "You receive this as "
        + (f"the engineering manager of {managed[0].name}" if managed else "a change agent")
        + ". The weekly digest lists it until it is ended, extended or changed.",
    ]
    subject = (
        f"Overdue {mode}: {interaction.source.name} and {interaction.target.name} "
        f"({overdue} day{'s' if overdue != 1 else ''} past its end)"
    )
    return subject, "\n".join(lines)
