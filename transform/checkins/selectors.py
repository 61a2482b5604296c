"""Reads of the check-in rhythm: the organisations with active transformations and how current
each team's recorded topology is."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)

from teams.models import Organization, Team
from transform.models import (
    CheckIn,
    CheckInKind,
    Milestone,
    MilestoneStatus,
    TeamVerification,
)
from transform.rhythm.selectors import checkin_settings_get


def active_organizations() -> QuerySet[Organization]:
    """Organisations with at least one transformation that has a milestone not done."""
    open_milestones = Milestone.objects.exclude(status=MilestoneStatus.DONE)
    return Organization.objects.filter(
        pk__in=open_milestones.values("transformation__organization_id")
    ).order_by("slug")


def active_transformation_ids(organization: Organization) -> QuerySet[Milestone, Any]:
    return (
        Milestone.objects.filter(transformation__organization=organization)
        .exclude(status=MilestoneStatus.DONE)
        .values("transformation_id")
    )


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
