"""Writes of the target-topology changes attached to milestones: attach one, delete a pending one,
enact a milestone's changes on the live graph (docs/scenarios.md). The reads (pending changes,
the scenario preview) are in ``transform.plans.selectors``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from core.errors import ApplicationError, ConflictError
from teams.lifecycle import topology_changes_enact
from teams.scenarios import CHANGE_KINDS, ScenarioError, change_json, change_parse
from teams.selectors import org_snapshot_get
from transform.models import (
    EventKind,
    Milestone,
    MilestoneChange,
)
from transform.plans.selectors import (
    change_label,
    scenario_apply,
    scenario_changes_parse,
    transformation_pending_changes,
)
from transform.plans.services import milestone_event_record, milestone_locked


def _change_errors(exc: PydanticValidationError, kind: str) -> dict[str, list[str]]:
    """Pydantic's errors by input field: ``into.0.members`` rather than the union's internal
    path, and a rule spanning fields on the field its message starts with."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] == kind:
            loc = loc[1:]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            name = "kind"
            message = f"Expected one of: {', '.join(CHANGE_KINDS)}."
        elif loc:
            name = ".".join(loc)
        else:
            name, _sep, rest = message.partition(": ")
            name, message = (name, rest) if rest else ("non_field_errors", message)
        fields.setdefault(name, []).append(message)
    return fields


def _scenario_check(*, rows: list[MilestoneChange]) -> None:
    """Refuse (400) a list of changes that would not apply to the live graph, in order."""
    if not rows:
        return
    snapshot = org_snapshot_get(organization=rows[0].milestone.transformation.organization)
    try:
        scenario_apply(snapshot=snapshot, rows=rows)
    except ConflictError as exc:
        raise ApplicationError(exc.message, extra=exc.extra) from None


def _plan_order(row: MilestoneChange) -> tuple[int, int, int]:
    return (row.milestone.position, row.milestone_id, row.position)


@transaction.atomic
def milestone_change_add(
    *, milestone: Milestone, change: Any, actor: User | None
) -> MilestoneChange:
    """Attach a topology change (a JSON object, ``teams.scenarios.Change``) to the milestone, after
    its other changes.

    Raises ``ApplicationError`` (400) with field errors when the object is not a valid change,
    and when, applied to the live graph after the transformation's other pending changes (plan
    order), it would not apply or would stop a later pending change from applying; the message
    names the change at fault and the problem. Nothing is stored then.
    """
    milestone = milestone_locked(milestone)
    kind = str(change.get("kind", "")) if isinstance(change, dict) else ""
    try:
        parsed = change_parse(change)
    except PydanticValidationError as exc:
        fields = _change_errors(exc, kind)
        first_field, messages = next(iter(fields.items()))
        raise ApplicationError(
            f"The change is not valid: {first_field}: {messages[0]}", extra={"fields": fields}
        ) from None
    last = (
        MilestoneChange.objects.filter(milestone=milestone)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    row = MilestoneChange(
        milestone=milestone,
        position=(last or 0) + 1,
        change=change_json(parsed),
        created_by=actor,
    )
    pending = transformation_pending_changes(transformation=milestone.transformation)
    _scenario_check(rows=sorted([*pending, row], key=_plan_order))
    row.save()
    return row


@transaction.atomic
def milestone_change_delete(*, change: MilestoneChange) -> None:
    """Remove a pending change. Refused (409) once enacted, and (400) when a later pending change
    relies on it (e.g. a team it creates), unless the plan's changes did not apply anyway."""
    milestone = milestone_locked(change.milestone)
    change = MilestoneChange.objects.select_for_update().get(pk=change.pk)
    if change.enacted_at is not None:
        raise ConflictError(
            f"{change_label(change)} was enacted on {change.enacted_at:%Y-%m-%d %H:%M}; an "
            "enacted change is part of the graph's history and cannot be deleted.",
            extra={"change": change.pk},
        )
    pending = transformation_pending_changes(transformation=milestone.transformation)
    remaining = [row for row in pending if row.pk != change.pk]
    snapshot = org_snapshot_get(organization=milestone.transformation.organization)
    try:
        scenario_apply(snapshot=snapshot, rows=remaining)
    except ConflictError as exc:
        try:
            scenario_apply(snapshot=snapshot, rows=pending)
        except ConflictError:
            pass  # already broken: deleting cannot make it worse and may be the fix
        else:
            raise ApplicationError(
                f"Deleting {change_label(change)} would break a later change: {exc.message}",
                extra=exc.extra,
            ) from None
    change.delete()


@dataclass(frozen=True, slots=True)
class ChangesEnacted:
    """What enacting a milestone's changes did: the changes enacted now (empty when there were
    none pending) and the row changes made to the graph (``TopologyDiff.summary()``)."""

    milestone: Milestone
    changes: list[MilestoneChange]
    topology: dict[str, list[str]]


@transaction.atomic
def milestone_changes_enact(*, milestone: Milestone, actor: User | None) -> ChangesEnacted:
    """Apply the milestone's pending changes to the live graph, atomically, and record it.

    Each change is re-validated against the graph as it is now; if any fails, ``ConflictError``
    (409) names it and the problem, and nothing changes (neither the graph nor the changes).
    Otherwise the graph's history rows carry ``actor``, the changes are marked enacted, and an
    ``enacted`` event lists them with the row changes. Already-enacted changes are skipped, so a
    second call does nothing (no event either). Concurrent calls are serialised on the milestone.
    """
    milestone = milestone_locked(milestone)
    rows = list(
        MilestoneChange.objects.select_for_update(of=("self",))
        .select_related("milestone")
        .filter(milestone=milestone, enacted_at__isnull=True)
        .order_by("position", "id")
    )
    if not rows:
        return ChangesEnacted(milestone=milestone, changes=[], topology={})
    parsed = scenario_changes_parse(rows)
    try:
        diff = topology_changes_enact(
            organization=milestone.transformation.organization,
            changes=parsed,
            user=actor,
            source="milestone",
            reference=f"milestone:{milestone.pk}",
            reason=f"Enacted with milestone '{milestone.title}'.",
        )
    except ConflictError as exc:
        index = exc.extra.get("change_index")
        if not isinstance(index, int):
            raise
        cause = exc.__cause__
        detail = cause.message if isinstance(cause, ScenarioError) else exc.message
        row = rows[index]
        raise ConflictError(
            f"{change_label(row)} cannot be enacted: {detail}. Nothing was changed.",
            extra={"change": row.pk, "milestone": milestone.pk},
        ) from None
    now = timezone.now()
    MilestoneChange.objects.filter(pk__in=[row.pk for row in rows], enacted_at__isnull=True).update(
        enacted_at=now, enacted_by=actor, updated_at=now
    )
    topology = diff.summary()
    milestone_event_record(
        milestone=milestone,
        actor=actor,
        kind=EventKind.ENACTED,
        reason=f"{len(rows)} topology change(s) enacted on the organisation graph.",
        data={
            "changes": [
                {"id": row.pk, "position": row.position, "change": row.change} for row in rows
            ],
            "topology": {name: labels for name, labels in topology.items() if labels},
        },
    )
    for row in rows:
        row.enacted_at, row.enacted_by = now, actor
    return ChangesEnacted(milestone=milestone, changes=rows, topology=topology)
