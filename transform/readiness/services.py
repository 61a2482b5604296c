"""The nightly readiness job: snapshots per team and organisation for every organisation with an
active transformation, and alerts to change agents when a team's readiness drops (docs/readiness.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from teams.models import Organization, Person
from teams.zones import organization_zone
from transform.models import (
    CheckinSettings,
    Delivery,
    DeliveryKind,
    ReadinessSnapshot,
    Response,
    ResponseKind,
)
from transform.outbox.services import deliveries_queue
from transform.readiness.formula import readiness_drop
from transform.readiness.report import (
    GroupReadiness,
    ReadinessReport,
    local_day,
    readiness_periods_compute,
)
from transform.readiness.selectors import active_transformations
from transform.rhythm.periods import Period, survey_period
from transform.rhythm.selectors import checkin_settings_get


def _nightly_organizations(*, at: dt.datetime) -> list[Organization]:
    """Organisations with an active transformation, and those with survey answers in a recent
    period (narrowed to the current or previous one per organisation by the caller)."""
    longest = max(
        [*CheckinSettings.objects.values_list("survey_every_days", flat=True), 14], default=14
    )
    since = local_day(at) - dt.timedelta(days=2 * longest)
    recent = Response.objects.filter(
        organization=OuterRef("pk"), kind=ResponseKind.SURVEY, period_start__gte=since
    )
    active = active_transformations().filter(organization=OuterRef("pk"))
    return list(Organization.objects.filter(Q(Exists(active)) | Q(Exists(recent))).order_by("slug"))


_SNAPSHOT_FIELDS: Final = (
    "period_end",
    "respondents",
    "suppressed",
    "score",
    "barrier",
    "trend",
    "delta",
    "components",
    "signals",
    "computed_at",
)


def _snapshot_values(group: GroupReadiness, *, at: dt.datetime) -> dict[str, Any]:
    fields = group.fields()
    return {
        "period_end": group.period.end,
        # Stored as 0 when suppressed: the history shows no count the API would hide.
        "respondents": group.respondents or 0,
        "suppressed": group.suppressed,
        "score": fields["score"],
        "barrier": fields["barrier"] or "",
        "trend": fields["trend"] or "",
        "delta": fields["delta"],
        "components": fields["components"],
        "signals": fields["signals"],
        "computed_at": at,
    }


def _snapshots_store(
    *, organization: Organization, reports: Sequence[ReadinessReport], at: dt.datetime
) -> tuple[int, int]:
    """Insert or update one snapshot per group and report; returns (created, updated)."""
    starts = [report.period.start for report in reports]
    existing = {
        (row.team_id, row.period_start): row
        for row in ReadinessSnapshot.objects.select_for_update().filter(
            organization=organization, period_start__in=starts
        )
    }
    to_create: list[ReadinessSnapshot] = []
    to_update: list[ReadinessSnapshot] = []
    for report in reports:
        for group in (report.organization_group, *report.teams):
            team_id = group.team.id if group.team is not None else None
            values = _snapshot_values(group, at=at)
            row = existing.get((team_id, report.period.start))
            if row is None:
                to_create.append(
                    ReadinessSnapshot(
                        organization=organization,
                        team_id=team_id,
                        period_start=report.period.start,
                        **values,
                    )
                )
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                to_update.append(row)
    ReadinessSnapshot.objects.bulk_create(to_create, batch_size=500)
    ReadinessSnapshot.objects.bulk_update(to_update, list(_SNAPSHOT_FIELDS), batch_size=500)
    return len(to_create), len(to_update)


def _alert_recipients(*, organization: Organization) -> list[Person]:
    """The lead change agent of each active transformation (oldest first), then the other
    change agents, each person once."""
    people: dict[int, Person] = {}
    transformations = list(
        active_transformations(organization=organization)
        .select_related("lead_change_agent")
        .prefetch_related("change_agents")
        .order_by("start_date", "id")
    )
    for transformation in transformations:
        people.setdefault(transformation.lead_change_agent_id, transformation.lead_change_agent)
    for transformation in transformations:
        for agent in sorted(transformation.change_agents.all(), key=lambda p: p.pk):
            people.setdefault(agent.pk, agent)
    return list(people.values())


def readiness_drop_dedupe_key(*, team_id: int, period: Period, person: Person | None) -> str:
    """``readiness_drop:team:<team id>:<period key>`` for the first recipient (the lead change
    agent), with ``:person:<person id>`` appended for every other change agent's copy."""
    key = f"readiness_drop:team:{team_id}:{period.key}"
    return key if person is None else f"{key}:person:{person.pk}"


def _drop_payload(*, group: GroupReadiness, previous: GroupReadiness) -> dict[str, Any]:
    """What identifies the alert: the team and the two periods. Its figures are read from the
    snapshots when it is sent, so a drop that recovered by then is skipped (docs/delivery.md)."""
    assert group.team is not None
    return {
        "team": group.team.id,
        "period_start": group.period.start.isoformat(),
        "previous_start": previous.period.start.isoformat(),
    }


def _drop_alerts(
    *,
    organization: Organization,
    settings: CheckinSettings,
    report: ReadinessReport,
    previous: ReadinessReport,
    at: dt.datetime,
) -> int:
    """Queue an alert for each shown team whose readiness fell by more than the organisation's
    ``readiness_drop_alert`` points since the previous period. Never for a suppressed team in
    either period: a drop there could tell who answered what."""
    before = {g.team.id: g for g in previous.teams if g.team is not None}
    dropped = []
    for group in report.teams:
        if group.team is None or group.suppressed:
            continue
        old = before.get(group.team.id)
        if old is None or old.suppressed:
            continue
        if readiness_drop(old.result, group.result, threshold=settings.readiness_drop_alert):
            dropped.append((group, old))
    if not dropped:
        return 0
    recipients = _alert_recipients(organization=organization)
    rows = []
    for group, old in dropped:
        assert group.team is not None
        payload = _drop_payload(group=group, previous=old)
        for position, person in enumerate(recipients):
            rows.append(
                Delivery(
                    organization=organization,
                    kind=DeliveryKind.READINESS_DROP,
                    dedupe_key=readiness_drop_dedupe_key(
                        team_id=group.team.id,
                        period=report.period,
                        person=None if position == 0 else person,
                    ),
                    recipient=person,
                    channel=settings.channel,
                    payload=payload,
                    next_attempt_at=at,
                    created_at=at,
                )
            )
    return deliveries_queue(rows, at=at)


def readiness_organization_nightly(
    *, organization: Organization, at: dt.datetime, only_with_answers: bool = False
) -> dict[str, int]:
    """Snapshots of the current and the previous survey period (so a late answer updates last
    period's) for the organisation and every team, and the drop alerts of the current period,
    in one transaction. With ``only_with_answers`` nothing is done when neither period has a
    survey answer. Returns ``{"snapshots_created", "snapshots_updated", "alerts"}``."""
    settings = checkin_settings_get(organization=organization)
    current = survey_period(local_day(at, organization_zone(organization)), settings=settings)
    previous = current.previous()
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                computed = readiness_periods_compute(
                    organization=organization,
                    settings=settings,
                    periods=[current, previous],
                    at=at,
                )
                if only_with_answers and not any(
                    computed.judged[period][None].answers for period in (current, previous)
                ):
                    return {"snapshots_created": 0, "snapshots_updated": 0, "alerts": 0}
                reports = [computed.reports[current], computed.reports[previous]]
                created, updated = _snapshots_store(
                    organization=organization, reports=reports, at=at
                )
                alerts = _drop_alerts(
                    organization=organization,
                    settings=settings,
                    report=reports[0],
                    previous=reports[1],
                    at=at,
                )
                return {
                    "snapshots_created": created,
                    "snapshots_updated": updated,
                    "alerts": alerts,
                }
        except IntegrityError:
            # Another run inserted the same snapshots between our read and our insert: the
            # second attempt finds them and updates them instead.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def readiness_nightly(*, at: dt.datetime) -> dict[str, int]:
    """Readiness snapshots and drop alerts for every organisation with an active transformation
    or with survey answers in its current or previous survey period; safe to run twice (the
    same rows are updated, an alert is queued once per team and period).

    Returns ``{"organizations", "snapshots_created", "snapshots_updated", "alerts"}``.
    """
    totals = {"organizations": 0, "snapshots_created": 0, "snapshots_updated": 0, "alerts": 0}
    active = set(active_transformations().values_list("organization_id", flat=True))
    for organization in _nightly_organizations(at=at):
        counts = readiness_organization_nightly(
            organization=organization, at=at, only_with_answers=organization.pk not in active
        )
        if counts["snapshots_created"] or counts["snapshots_updated"]:
            totals["organizations"] += 1
        for name, value in counts.items():
            totals[name] += value
    return totals
