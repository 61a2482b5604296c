"""Reads of transformations and milestones: lists, the plan report, exit-criteria results and
the scenario of their pending topology changes. Who may read them is ``transform.access``; the
functions here take objects the caller already may see."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

import playbooks.criteria
import teams.scenarios
from core.bounds import id_parse, id_text_is_numeric
from core.errors import ApplicationError, ConflictError, NotFoundError
from playbooks.criteria import (
    CriterionResult,
    SignalLookup,
    SignalReading,
    evaluate_criteria,
    validate_criteria,
)
from playbooks.models import Playbook
from teams.analysis import analyze_snapshot
from teams.graph import OrgSnapshot
from teams.models import Organization, Person, Team, TeamType
from teams.scenarios import Change, ScenarioError, apply_changes, change_parse, snapshot_diff
from teams.selectors import (
    AnalysisKey,
    analysis_derived_get,
    org_analysis_key_get,
    org_snapshot_get,
    snapshot_analysis_get,
    teams_predecessors,
)
from transform.evidence.selectors import readings_hour
from transform.models import (
    Milestone,
    MilestoneChange,
    MilestoneEvent,
    MilestoneStatus,
    Transformation,
)
from transform.readiness.selectors import signal_lookup_get


def _transformation_queryset() -> QuerySet[Transformation]:
    return (
        Transformation.objects.with_people()
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
    after ``transform.access.transformation_get_for_user``)."""
    return _transformation_queryset().get(pk=transformation_id)


def milestone_detail_get(*, milestone_id: int) -> Milestone:
    """One milestone with owner and dependency keys (no access check: call it after
    ``transform.access.milestone_get_for_user``)."""
    return _milestone_queryset().get(pk=milestone_id)


def transformation_get(*, transformation_id: int | str) -> Transformation:
    """The transformation ``transformation_id`` (digits) with its organisation and people;
    ``NotFoundError`` otherwise. Not access-checked: for the command line (the API and pages go
    through ``transform.access.transformation_get_for_user``)."""
    transformation = (
        Transformation.objects.with_people().filter(pk=transformation_id).first()
        if str(transformation_id).isdecimal()
        else None
    )
    if transformation is None:
        raise NotFoundError(f"No transformation with id '{transformation_id}'.")
    return transformation


def _milestone_queryset() -> QuerySet[Milestone]:
    return Milestone.objects.with_details()


def milestone_list(*, transformation: Transformation) -> QuerySet[Milestone]:
    """The plan's milestones in plan order, with owners and dependency keys; two queries."""
    return _milestone_queryset().filter(transformation=transformation).order_by("position", "id")


def plan_milestone_get(*, transformation: Transformation, reference: str) -> Milestone:
    """The milestone of ``transformation`` whose id is ``reference`` (text from a query string);
    ``ApplicationError`` on the field ``milestone`` when there is none."""
    milestone_id = id_parse(reference)
    milestone = (
        Milestone.objects.filter(transformation=transformation, pk=milestone_id)
        .only("id", "position")
        .first()
        if milestone_id is not None
        else None
    )
    if milestone is None:
        message = f"No milestone '{reference[:40]}' in transformation {transformation.pk}."
        raise ApplicationError(message, extra={"fields": {"milestone": [message]}})
    return milestone


def milestone_status_counts(*, transformation_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Milestones per status of each transformation: ``{id: {status: count}}``; one query."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in transformation_ids}
    for row in (
        Milestone.objects.filter(transformation_id__in=transformation_ids)
        .values("transformation_id", "status")
        .annotate(count=Count("id"))
        .order_by()
    ):
        counts[row["transformation_id"]][row["status"]] = row["count"]
    return counts


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
    """A person of the organisation named by id (ASCII digits) or e-mail; ``ApplicationError``
    on ``field`` otherwise, an id out of range included (``core.bounds``)."""
    text = str(reference).strip()
    if id_text_is_numeric(text):
        person_id = id_parse(text)
        person = (
            Person.objects.filter(organization=organization, pk=person_id).first()
            if person_id is not None
            else None
        )
        if person is None:
            message = f"No person with id {text[:40]} in organisation '{organization.slug}'."
            raise ApplicationError(message, extra={"fields": {field: [message]}})
        return person
    return person_get_by_email(organization=organization, email=text, field=field)


def no_signals(kind: str) -> SignalReading | None:
    """A signal lookup without data: no reading for any kind, so every signal criterion reports
    ``unknown`` and never passes (for tests and callers that want graph checks only)."""
    return None


def criteria_readings_time(now: dt.datetime | None = None) -> dt.datetime:
    """The moment exit criteria read the signals at: the start of the current hour.

    An open period's ingested figure (blocked developer hours of tickets still waiting, say)
    grows with the clock; read at the bare ``now`` it would differ on every load of the page.
    At the whole hour, the plan page, the milestone page, the done transition and the digest
    within one hour judge the same figure, and the verdict says up to when it counts.
    """
    return readings_hour(now or timezone.now())


def milestone_criteria_evaluate(
    *,
    organization: Organization,
    milestones: Sequence[Milestone],
    signals: SignalLookup | None = None,
    today: dt.date | None = None,
) -> dict[int, list[CriterionResult]]:
    """Exit-criteria results per milestone id, from ONE snapshot and ONE analysis of the graph.

    All milestones' criteria are judged together (the organisation is read and analysed at most
    once), then the results are split back per milestone, so the cost does not grow with the
    number of milestones. The graph checks' verdicts depend on the live graph only: they are
    cached under the live analysis's key (``_graph_verdicts``), so while the topology is unchanged
    no snapshot is read. ``signals`` defaults to the organisation's stored signals now
    (``transform.readiness.selectors.signal_lookup_get``: survey readings that pass the anonymity
    rules, and ingested ones; docs/readiness.md), read once, when a signal criterion first asks.
    """
    criteria: list[dict[str, Any]] = [c for m in milestones for c in m.exit_criteria]
    results: list[CriterionResult] = []
    if criteria:
        validate_criteria(criteria)
        if signals is None:
            signals = signal_lookup_get(organization=organization, at=criteria_readings_time())
        graph_verdicts = iter(
            _graph_verdicts(
                organization=organization,
                criteria=[c for c in criteria if "graph" in c],
                today=today,
            )
        )
        signal_verdicts = iter(
            evaluate_criteria(
                [c for c in criteria if "graph" not in c], snapshot=None, signals=signals
            )
        )
        results = [next(graph_verdicts if "graph" in c else signal_verdicts) for c in criteria]
    by_milestone: dict[int, list[CriterionResult]] = {}
    position = 0
    for milestone in milestones:
        count = len(milestone.exit_criteria)
        by_milestone[milestone.pk] = results[position : position + count]
        position += count
    return by_milestone


# Verdicts cached by a previous deployment are not read when the checks or their messages change.
_CRITERIA_SOURCE = Path(playbooks.criteria.__file__ or "").read_bytes()
_CRITERIA_CODE = hashlib.sha256(_CRITERIA_SOURCE).hexdigest()[:12]


def _graph_verdicts(
    *, organization: Organization, criteria: list[dict[str, Any]], today: dt.date | None
) -> list[CriterionResult]:
    """The verdicts of graph checks on the live graph (``today``: the analysis as of that day).

    A function of the topology (the snapshot, its analysis, the teams' history and lineage that
    ``former_silos_get`` reads) and of the day: cached under the live analysis's key and the
    criteria, so that every page and verdict on an unchanged topology reads no snapshot. As of
    another ``today`` they are always computed."""
    if not criteria:
        return []
    # Read before the snapshot: verdicts judged after a write never go under the old key.
    key = org_analysis_key_get(organization=organization) if today is None else None

    def judged() -> list[CriterionResult]:
        return evaluate_criteria(
            criteria,
            snapshot=org_snapshot_get(organization=organization),
            signals=lambda _kind: None,  # graph checks read no signal
            today=today,
            former_silos=former_silos_get(organization=organization),
            analyze=(lambda graph: snapshot_analysis_get(snapshot=graph, key=key))
            if key is not None
            else None,
        )

    if key is None:
        return judged()
    return analysis_derived_get(
        key=key, kind="criteria", content=[criteria, _CRITERIA_CODE], compute=judged
    )


def former_silos_get(*, organization: Organization) -> set[str]:
    """Slugs of live teams that were once an ops silo (renamed or retyped since: their history
    says so) or succeed one through a merge or split (lineage), whatever their type now. Ticket
    dependencies on them still count as waiting on a gatekeeper (docs/exit-criteria.md)."""
    ever_silo = set(
        Team.history.filter(organization_id=organization.pk, type=TeamType.OPS_SILO)
        .values_list("id", flat=True)
        .distinct()
    )
    if not ever_silo:
        return set()
    live = dict(
        Team.objects.filter(organization=organization, retired_at__isnull=True).values_list(
            "id", "slug"
        )
    )
    predecessors = teams_predecessors(team_ids=list(live))
    return {
        slug
        for team_id, slug in live.items()
        if team_id in ever_silo
        or any(p.team.pk in ever_silo for p in predecessors.get(team_id, []))
    }


@dataclass(frozen=True, slots=True)
class PlanReport:
    """A transformation's plan as it stands: its playbooks, its milestones in plan order (with
    owners and dependencies) and each milestone's exit-criteria results by milestone id. JSON:
    ``transform.plans.serializers.plan_report_data``."""

    transformation: Transformation
    playbooks: list[Playbook]
    milestones: list[Milestone]
    criteria: dict[int, list[CriterionResult]]


def transformation_plan_get(
    *, transformation: Transformation, signals: SignalLookup | None = None
) -> PlanReport:
    """The plan report (shape: docs/transformations.md).

    A fixed number of queries whatever the number of milestones: the playbooks, the milestones
    with owners and dependencies, and one organisation snapshot for every exit criterion.
    """
    milestones = list(milestone_list(transformation=transformation))
    return PlanReport(
        transformation=transformation,
        playbooks=list(transformation.playbooks.order_by("key", "version")),
        milestones=milestones,
        criteria=milestone_criteria_evaluate(
            organization=transformation.organization, milestones=milestones, signals=signals
        ),
    )


def milestone_override_get(*, milestone: Milestone) -> dict[str, Any] | None:
    """``{"reason", "by", "at", "dependencies"}`` when the milestone was marked done by override
    (``dependencies``: the keys of those not done then, if any), else None."""
    if not milestone.override_reason:
        return None
    by = milestone.overridden_by
    return {
        "reason": milestone.override_reason,
        "by": by.get_username() if by is not None else None,
        "at": milestone.overridden_at.isoformat() if milestone.overridden_at else None,
        "dependencies": list(milestone.override_dependencies or []),
    }


def milestone_started_before_dependencies(*, milestone: Milestone) -> list[str]:
    """The keys of the dependencies that were not done when the milestone started (not done
    yet, or done after its start day); empty when it has not started or started after them all.
    A milestone may start early (docs/transformations.md, "Dependencies"), and then says so.
    Reads ``depends_on`` as ``Milestone.objects.with_details()`` prefetches it: no query."""
    started = milestone.started_on
    if started is None:
        return []
    return [
        dependency.key
        for dependency in milestone.depends_on.all()
        if dependency.status != MilestoneStatus.DONE
        or (dependency.done_on is not None and dependency.done_on > started)
    ]


# --- Scenarios: topology changes attached to milestones (docs/scenarios.md) --------------------


def milestone_change_list(*, milestone: Milestone) -> QuerySet[MilestoneChange]:
    """The milestone's changes in order, pending and enacted; one query."""
    return (
        MilestoneChange.objects.filter(milestone=milestone)
        .select_related("created_by", "enacted_by")
        .order_by("position", "id")
    )


def milestone_change_in_organization(
    *, organization: Organization, milestone_id: int, change_id: int
) -> MilestoneChange | None:
    """The change ``change_id`` of milestone ``milestone_id`` if both are ``organization``'s,
    else None: pages look an object up in the organisation their address names before asking
    what the caller may do with it, so that another organisation's objects look missing. One
    query."""
    return (
        MilestoneChange.objects.filter(
            pk=change_id,
            milestone_id=milestone_id,
            milestone__transformation__organization=organization,
        )
        .only("pk")
        .first()
    )


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


# How messages name a change's kind: "merge", not ``merge_teams``.
CHANGE_KIND_WORDS: dict[str, str] = {
    "create_team": "new team",
    "merge_teams": "merge",
    "split_team": "split",
    "move_person": "move of a person",
    "change_interaction_mode": "interaction mode",
    "add_devops_buddy": "DevOps buddy",
    "add_product_owner": "product owner",
    "remove_person": "removal of a person",
}


def change_label(row: MilestoneChange) -> str:
    """How messages name an attached change: its milestone (by title), position and kind in
    words ("Milestone 'Merge the silos', change 2 (merge, id 7)")."""
    kind = str(row.change.get("kind", "")) if isinstance(row.change, dict) else ""
    words = CHANGE_KIND_WORDS.get(kind, kind.replace("_", " ") or "unknown kind")
    which = f"id {row.pk}" if row.pk is not None else "the new change"
    return f"Milestone '{row.milestone.title}', change {row.position} ({words}, {which})"


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


# A preview cached by a deployment whose preview code differs (another shape, other words) is
# not read: the key holds a hash of the code that builds it, this module and the scenarios'
# (the analysis's own code is in the analysis key already).
_PREVIEW_CODE = hashlib.sha256(
    Path(__file__).read_bytes() + Path(teams.scenarios.__file__ or "").read_bytes()
).hexdigest()[:12]


def scenario_preview_get(
    *, transformation: Transformation, up_to: Milestone | None = None
) -> dict[str, Any]:
    """The analysis of the live graph and of the graph after the transformation's pending
    changes (all of them, or those of milestones up to ``up_to`` in plan order), and what
    differs. Shape: docs/scenarios.md. A fixed number of queries whatever the number of
    changes or teams. Cached (docs/scenarios.md): on an unchanged topology with the same
    changes, the changes and the topology version only; else one snapshot more, and the after
    graph analysed (the live one's analysis from the cache when it is there).

    Raises ``ConflictError`` (409) when a pending change no longer applies to the live graph.
    """
    rows = transformation_pending_changes(transformation=transformation, up_to=up_to)
    # Read before the snapshot: a preview computed after a write never goes under the old key.
    key = org_analysis_key_get(organization=transformation.organization)
    # The preview is a function of the live graph (the key) and of the changes as stored.
    changes = [
        [row.pk, row.milestone_id, row.milestone.key, row.position, row.change] for row in rows
    ]
    preview: dict[str, Any] = analysis_derived_get(
        key=key,
        kind=f"scenario:{transformation.pk}",
        content=[changes, _PREVIEW_CODE],
        compute=lambda: _scenario_preview_compute(
            transformation=transformation, rows=rows, key=key
        ),
    )
    return {**preview, "up_to_milestone": up_to.pk if up_to is not None else None}


def _scenario_preview_compute(
    *, transformation: Transformation, rows: Sequence[MilestoneChange], key: AnalysisKey
) -> dict[str, Any]:
    before_snapshot = org_snapshot_get(organization=transformation.organization)
    after_snapshot = scenario_apply(snapshot=before_snapshot, rows=rows)
    before = snapshot_analysis_get(snapshot=before_snapshot, key=key)
    after = analyze_snapshot(after_snapshot)
    diff = snapshot_diff(before_snapshot, after_snapshot)
    changed_metrics = {
        name: {"before": before["metrics"].get(name), "after": value}
        for name, value in after["metrics"].items()
        if before["metrics"].get(name) != value
    }
    before_keys = {_finding_key(finding) for finding in before["findings"]}
    after_keys = {_finding_key(finding) for finding in after["findings"]}
    preview = {
        "transformation": transformation.pk,
        "up_to_milestone": None,
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
            "topology": diff.summary(),
            "topology_words": diff.words(before=before_snapshot, after=after_snapshot),
        },
    }
    return preview
