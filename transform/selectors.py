"""Reads of transformations and milestones, and who may do what with them.

Access follows the organisation graph's rule (``teams.selectors.org_access_get``): a caller who
holds no role in the transformation's organisation gets ``NotFound`` for every id, so other
tenants' transformations, milestones and events cannot be probed; the ``*_access_check`` functions
raise ``PermissionDenied`` (403) only inside an organisation the caller can already read. The
permission table is in docs/transformations.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError
from rest_framework.exceptions import NotFound, PermissionDenied

from playbooks.criteria import CriterionResult, SignalLookup, SignalReading, evaluate_criteria
from playbooks.models import Playbook
from teams.analysis import analyze_snapshot
from teams.graph import OrgSnapshot
from teams.models import Organization, OrganizationRole, Person, Role
from teams.scenarios import Change, ScenarioError, apply_changes, change_parse, snapshot_diff
from teams.selectors import OrgAccess, org_manage_access_check, org_snapshot_get
from transform.errors import ApplicationError, ConflictError
from transform.models import (
    Milestone,
    MilestoneChange,
    MilestoneEvent,
    MilestoneStatus,
    Transformation,
)

OVERRIDE_ROLES = frozenset({Role.ADMIN, Role.LEADER})


@dataclass(frozen=True, slots=True)
class TransformationAccess:
    """The caller's standing towards one transformation."""

    org: OrgAccess
    transformation: Transformation
    person_ids: frozenset[int]  # the caller's Person rows in the organisation (via Person.user)
    is_transformation_change_agent: bool

    @property
    def can_edit_plan(self) -> bool:
        """Admins and change agents (of the organisation, or of this transformation)."""
        return self.org.can_manage or self.is_transformation_change_agent

    @property
    def can_override(self) -> bool:
        return bool(self.org.roles & OVERRIDE_ROLES)


@dataclass(frozen=True, slots=True)
class MilestoneAccess:
    """The caller's standing towards one milestone (and its transformation)."""

    transformation_access: TransformationAccess
    milestone: Milestone

    @property
    def is_owner(self) -> bool:
        return self.milestone.owner_id in self.transformation_access.person_ids


def _transformation_queryset() -> QuerySet[Transformation]:
    return (
        Transformation.objects.select_related("organization", "sponsor", "lead_change_agent")
        .prefetch_related(
            Prefetch("change_agents", queryset=Person.objects.order_by("email")),
            Prefetch(
                "playbooks", queryset=Playbook.objects.defer("source").order_by("key", "version")
            ),
        )
        .annotate(milestone_count=Count("milestones", distinct=True))
    )


def transformation_list(*, organization: Organization) -> QuerySet[Transformation]:
    """The organisation's transformations, newest start first; a fixed number of queries."""
    return (
        _transformation_queryset().filter(organization=organization).order_by("-start_date", "-id")
    )


def transformation_detail_get(*, transformation_id: int) -> Transformation:
    """One transformation with what its API representation shows (no access check: call it
    after ``transformation_get_for_user``)."""
    return _transformation_queryset().get(pk=transformation_id)


def milestone_detail_get(*, milestone_id: int) -> Milestone:
    """One milestone with owner and dependency keys (no access check: call it after
    ``milestone_get_for_user``)."""
    return _milestone_queryset().get(pk=milestone_id)


def transformation_get(*, transformation_id: int | str) -> Transformation:
    """The transformation ``transformation_id`` with what its detail shows; ``NotFound`` otherwise.

    Not access-checked: for the command line. API views use ``transformation_get_for_user``.
    """
    try:
        return Transformation.objects.select_related(
            "organization", "sponsor", "lead_change_agent"
        ).get(pk=int(transformation_id))
    except (Transformation.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No transformation with id '{transformation_id}'.") from None


def transformation_get_for_user(
    *, user: User | AnonymousUser, transformation_id: int | str
) -> TransformationAccess:
    """The transformation and the caller's standing towards it, in three queries.

    Raises ``NotFound`` when it does not exist or the caller holds no role in its organisation.
    """
    if not user.is_authenticated:
        raise NotFound("No transformation with this id.")
    transformation = transformation_get(transformation_id=transformation_id)
    return _transformation_access(user=user, transformation=transformation)


def milestone_get_for_user(
    *, user: User | AnonymousUser, milestone_id: int | str
) -> MilestoneAccess:
    """The milestone and the caller's standing towards it; ``NotFound`` as for transformations."""
    if not user.is_authenticated:
        raise NotFound("No milestone with this id.")
    try:
        milestone = (
            _milestone_queryset()
            .select_related(
                "transformation__organization",
                "transformation__sponsor",
                "transformation__lead_change_agent",
            )
            .get(pk=int(milestone_id))
        )
    except (Milestone.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No milestone with id '{milestone_id}'.") from None
    access = _transformation_access(user=user, transformation=milestone.transformation)
    return MilestoneAccess(transformation_access=access, milestone=milestone)


def _transformation_access(*, user: User, transformation: Transformation) -> TransformationAccess:
    roles = frozenset(
        OrganizationRole.objects.filter(
            user=user, organization_id=transformation.organization_id
        ).values_list("role", flat=True)
    )
    if not roles:
        # Same answer as a missing id: other tenants cannot tell the two apart.
        raise NotFound(f"No transformation with id '{transformation.pk}'.")
    through = Transformation.change_agents.through
    people = list(
        Person.objects.filter(organization_id=transformation.organization_id, user=user)
        .annotate(
            is_agent=Exists(
                through.objects.filter(
                    transformation_id=transformation.pk, person_id=OuterRef("pk")
                )
            )
        )
        .values_list("id", "is_agent")
    )
    return TransformationAccess(
        org=OrgAccess(organization=transformation.organization, user_id=user.pk, roles=roles),
        transformation=transformation,
        person_ids=frozenset(person_id for person_id, _agent in people),
        is_transformation_change_agent=any(agent for _person_id, agent in people),
    )


def transformation_start_access_check(*, access: OrgAccess) -> None:
    """Raises ``PermissionDenied`` unless the caller is an admin or change agent of the org."""
    org_manage_access_check(access=access, action="start transformations")


def transformation_edit_access_check(*, access: TransformationAccess, action: str) -> None:
    """Raises ``PermissionDenied`` unless the caller edits this plan (admin or change agent)."""
    if not access.can_edit_plan:
        raise PermissionDenied(
            f"Only admins and change agents (of '{access.org.organization.slug}' or of this "
            f"transformation) may {action}."
        )


def milestone_update_access_check(*, access: MilestoneAccess, action: str) -> None:
    """Raises ``PermissionDenied`` unless the caller owns the milestone or edits the plan."""
    if access.is_owner or access.transformation_access.can_edit_plan:
        return
    raise PermissionDenied(
        f"Only the owner of milestone '{access.milestone.key}', admins and change agents may "
        f"{action}."
    )


def milestone_override_access_check(*, access: MilestoneAccess) -> None:
    """Raises ``PermissionDenied`` unless the caller is a leader or admin of the organisation."""
    if not access.transformation_access.can_override:
        raise PermissionDenied(
            "Only leaders and admins may mark a milestone done against its exit criteria."
        )


def milestone_transition_access_check(
    *, access: MilestoneAccess, to_status: str, override: bool
) -> None:
    """Who may move a milestone: an override needs a leader or admin and only marks it done
    (ApplicationError otherwise); any other move needs its owner, an admin or a change agent."""
    if override:
        milestone_override_access_check(access=access)
        if to_status != MilestoneStatus.DONE:
            raise ApplicationError(
                "An override only applies to marking a milestone done.",
                extra={"fields": {"override": ['Only with "to": "done".']}},
            )
        return
    milestone_update_access_check(access=access, action="change its status")


def _milestone_queryset() -> QuerySet[Milestone]:
    return Milestone.objects.select_related("owner", "playbook", "overridden_by").prefetch_related(
        Prefetch("depends_on", queryset=Milestone.objects.only("id", "key").order_by("key"))
    )


def milestone_list(*, transformation: Transformation) -> QuerySet[Milestone]:
    """The plan's milestones in plan order, with owners and dependency keys; two queries."""
    return _milestone_queryset().filter(transformation=transformation).order_by("position", "id")


def milestone_event_list(*, milestone: Milestone) -> QuerySet[MilestoneEvent]:
    return (
        MilestoneEvent.objects.filter(milestone=milestone)
        .select_related("actor")
        .order_by("at", "id")
    )


def person_get_by_email(*, organization: Organization, email: str, field: str) -> Person:
    """The person with ``email`` in the organisation; ``ApplicationError`` on ``field`` otherwise."""
    normalised = email.strip().lower()
    person = Person.objects.filter(organization=organization, email=normalised).first()
    if person is None:
        message = f"No person with e-mail '{normalised}' in organisation '{organization.slug}'."
        raise ApplicationError(message, extra={"fields": {field: [message]}})
    return person


def person_get_by_reference(*, organization: Organization, reference: str, field: str) -> Person:
    """A person of the organisation named by id (digits) or e-mail; ``ApplicationError`` else."""
    text = str(reference).strip()
    if text.isdigit():
        person = Person.objects.filter(organization=organization, pk=int(text)).first()
        if person is None:
            message = f"No person with id {text} in organisation '{organization.slug}'."
            raise ApplicationError(message, extra={"fields": {field: [message]}})
        return person
    return person_get_by_email(organization=organization, email=text, field=field)


def no_signals(kind: str) -> SignalReading | None:
    """A signal lookup without data: no reading for any kind, so every signal criterion reports
    ``unknown`` and never passes (for tests and callers that want graph checks only)."""
    return None


def milestone_criteria_evaluate(
    *,
    organization: Organization,
    milestones: Sequence[Milestone],
    signals: SignalLookup | None = None,
    today: dt.date | None = None,
) -> dict[int, list[CriterionResult]]:
    """Exit-criteria results per milestone id, from ONE snapshot and ONE analysis of the graph.

    All milestones' criteria go to a single ``evaluate_criteria`` call (which analyses the
    organisation at most once per call), then the results are split back per milestone, so the
    cost does not grow with the number of milestones. No snapshot is read when no milestone has
    criteria. ``signals`` defaults to the organisation's stored signals now
    (``transform.readiness_report.signal_lookup_get``: survey readings that pass the anonymity
    rules, and ingested ones; docs/readiness.md), read once, when a signal criterion first asks.
    """
    criteria: list[dict[str, Any]] = [c for m in milestones for c in m.exit_criteria]
    results: list[CriterionResult] = []
    if criteria:
        snapshot = org_snapshot_get(organization=organization)
        if signals is None:
            # Imported here: the readiness report reads answers and ingested events and builds
            # on modules (rhythm, signals) that sit above the plan selectors.
            from transform.readiness_report import signal_lookup_get

            signals = signal_lookup_get(organization=organization, at=timezone.now())
        results = evaluate_criteria(criteria, snapshot=snapshot, signals=signals, today=today)
    by_milestone: dict[int, list[CriterionResult]] = {}
    position = 0
    for milestone in milestones:
        count = len(milestone.exit_criteria)
        by_milestone[milestone.pk] = results[position : position + count]
        position += count
    return by_milestone


def _person_brief(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.pk, "email": person.email, "name": person.name}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def transformation_plan_get(
    *, transformation: Transformation, signals: SignalLookup | None = None
) -> dict[str, Any]:
    """The plan report (shape: docs/transformations.md), as JSON-ready values.

    A fixed number of queries whatever the number of milestones: the playbooks, the milestones
    with owners and dependencies, and one organisation snapshot for every exit criterion.
    """
    milestones = list(milestone_list(transformation=transformation))
    playbooks = list(transformation.playbooks.order_by("key", "version"))
    criteria = milestone_criteria_evaluate(
        organization=transformation.organization, milestones=milestones, signals=signals
    )
    return {
        "id": transformation.pk,
        "organization": transformation.organization.slug,
        "title": transformation.title,
        "start_date": _iso(transformation.start_date),
        "planned_end": _iso(transformation.planned_end),
        "forecast_end": _iso(transformation.forecast_end),
        "critical_path": list(transformation.critical_path),
        "lead_change_agent": _person_brief(transformation.lead_change_agent),
        "sponsor": _person_brief(transformation.sponsor),
        "playbooks": [
            {"key": playbook.key, "version": playbook.version, "title": playbook.title}
            for playbook in playbooks
        ],
        "milestones": [
            {
                "id": milestone.pk,
                "key": milestone.key,
                "title": milestone.title,
                "playbook": milestone.playbook.key,
                "phase": milestone.phase_key,
                "phase_title": milestone.phase_title,
                "owner_role": milestone.owner_role,
                "owner": _person_brief(milestone.owner),
                "status": milestone.status,
                "status_reason": milestone.status_reason,
                "duration_days": milestone.duration_days,
                "planned_start": _iso(milestone.planned_start),
                "planned_due": _iso(milestone.planned_due),
                "forecast_start": _iso(milestone.forecast_start),
                "forecast_due": _iso(milestone.forecast_due),
                "started_on": _iso(milestone.started_on),
                "done_on": _iso(milestone.done_on),
                "depends_on": [dependency.key for dependency in milestone.depends_on.all()],
                "slack_days": milestone.slack_days,
                "critical": milestone.critical,
                "exit_criteria": [result.as_dict() for result in criteria[milestone.pk]],
                "override": milestone_override_get(milestone=milestone),
            }
            for milestone in milestones
        ],
    }


def milestone_override_get(*, milestone: Milestone) -> dict[str, Any] | None:
    """``{"reason", "by", "at"}`` when the milestone was marked done by override, else None."""
    if not milestone.override_reason:
        return None
    by = milestone.overridden_by
    return {
        "reason": milestone.override_reason,
        "by": by.get_username() if by is not None else None,
        "at": milestone.overridden_at.isoformat() if milestone.overridden_at else None,
    }


# --- Scenarios: topology changes attached to milestones (docs/scenarios.md) --------------------


@dataclass(frozen=True, slots=True)
class MilestoneChangeAccess:
    """The caller's standing towards one attached change (through its milestone)."""

    milestone_access: MilestoneAccess
    change: MilestoneChange


def milestone_change_list(*, milestone: Milestone) -> QuerySet[MilestoneChange]:
    """The milestone's changes in order, pending and enacted; one query."""
    return (
        MilestoneChange.objects.filter(milestone=milestone)
        .select_related("created_by", "enacted_by")
        .order_by("position", "id")
    )


def milestone_change_get_for_user(
    *, user: User | AnonymousUser, change_id: int | str
) -> MilestoneChangeAccess:
    """The change ``change_id`` and the caller's standing; ``NotFound`` as for milestones."""
    if not user.is_authenticated:
        raise NotFound("No milestone change with this id.")
    try:
        change = MilestoneChange.objects.select_related(
            "created_by", "enacted_by", "milestone__transformation__organization"
        ).get(pk=int(change_id))
    except (MilestoneChange.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No milestone change with id '{change_id}'.") from None
    try:
        access = milestone_get_for_user(user=user, milestone_id=change.milestone_id)
    except NotFound:
        raise NotFound(f"No milestone change with id '{change_id}'.") from None
    return MilestoneChangeAccess(milestone_access=access, change=change)


def transformation_pending_changes(
    *, transformation: Transformation, up_to: Milestone | None = None
) -> list[MilestoneChange]:
    """The transformation's changes not yet enacted, in the order they apply: milestones in
    plan order, then each milestone's changes by position. With ``up_to``, only those of
    milestones up to and including it in plan order. One query."""
    queryset = MilestoneChange.objects.filter(
        milestone__transformation=transformation, enacted_at__isnull=True
    ).select_related("milestone")
    if up_to is not None:
        queryset = queryset.filter(milestone__position__lte=up_to.position)
    return list(queryset.order_by("milestone__position", "milestone_id", "position", "id"))


def scenario_changes_parse(rows: Sequence[MilestoneChange]) -> list[Change]:
    """The stored changes as ``teams.scenarios`` values. They were validated when attached; a
    row that no longer parses (edited behind the API's back) is reported, not skipped."""
    parsed = []
    for row in rows:
        try:
            parsed.append(change_parse(row.change))
        except PydanticValidationError as exc:
            raise ConflictError(
                f"{change_label(row)} is not a valid change any more: {exc.errors()[0]['msg']}.",
                extra={"change": row.pk},
            ) from None
    return parsed


def change_label(row: MilestoneChange) -> str:
    """How messages name an attached change: its milestone and position."""
    kind = row.change.get("kind", "?") if isinstance(row.change, dict) else "?"
    which = f"id {row.pk}" if row.pk is not None else "the new change"
    return f"Milestone '{row.milestone.key}', change {row.position} ({kind}, {which})"


def scenario_apply(*, snapshot: OrgSnapshot, rows: Sequence[MilestoneChange]) -> OrgSnapshot:
    """``apply_changes`` on stored changes; a change that does not apply raises
    ``ConflictError`` naming its milestone, position and id, and the problem."""
    try:
        return apply_changes(snapshot, scenario_changes_parse(rows))
    except ScenarioError as exc:
        row = rows[exc.index]
        raise ConflictError(
            f"{change_label(row)} does not apply: {exc.message}.",
            extra={"change": row.pk, "milestone": row.milestone_id},
        ) from None


def _finding_key(finding: dict[str, Any]) -> tuple[Any, ...]:
    subjects = tuple(
        (subject["type"], subject.get("slug") or subject.get("email", ""))
        for subject in finding["subjects"]
    )
    return (finding["kind"], subjects)


def scenario_preview_get(
    *, transformation: Transformation, up_to: Milestone | None = None
) -> dict[str, Any]:
    """The analysis of the live graph and of the graph after the transformation's pending
    changes (all of them, or those of milestones up to ``up_to`` in plan order), and what
    differs. Shape: docs/scenarios.md. A fixed number of queries whatever the number of
    changes or teams: one snapshot, one query for the changes.

    Raises ``ConflictError`` (409) when a pending change no longer applies to the live graph.
    """
    rows = transformation_pending_changes(transformation=transformation, up_to=up_to)
    before_snapshot = org_snapshot_get(organization=transformation.organization)
    after_snapshot = scenario_apply(snapshot=before_snapshot, rows=rows)
    before = analyze_snapshot(before_snapshot)
    after = analyze_snapshot(after_snapshot)
    changed_metrics = {
        name: {"before": before["metrics"].get(name), "after": value}
        for name, value in after["metrics"].items()
        if before["metrics"].get(name) != value
    }
    before_keys = {_finding_key(finding) for finding in before["findings"]}
    after_keys = {_finding_key(finding) for finding in after["findings"]}
    return {
        "transformation": transformation.pk,
        "up_to_milestone": up_to.pk if up_to is not None else None,
        "changes": [
            {
                "id": row.pk,
                "milestone": row.milestone_id,
                "milestone_key": row.milestone.key,
                "position": row.position,
                "change": row.change,
            }
            for row in rows
        ],
        "before": before,
        "after": after,
        "delta": {
            "metrics": changed_metrics,
            "findings_resolved": [
                finding for finding in before["findings"] if _finding_key(finding) not in after_keys
            ],
            "findings_added": [
                finding for finding in after["findings"] if _finding_key(finding) not in before_keys
            ],
            "topology": snapshot_diff(before_snapshot, after_snapshot).summary(),
        },
    }
