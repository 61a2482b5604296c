"""Writes to transformations and milestones: one function per change, each in one transaction.

Every change to a milestone records a ``MilestoneEvent`` (who, when, from, to, why) and then
recomputes the whole plan's schedule (``transformation_schedule_refresh``) so the stored planned and
forecast dates, slack and critical path are always current and reads never recompute them. Broken
rules raise ``core.errors.ApplicationError`` (400) with the field at fault under
``extra.fields``, or ``ConflictError`` (409) when the request is well formed but the milestone's
state does not allow it (an illegal transition, exit criteria that do not pass).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.bounds import id_parse
from core.errors import ApplicationError, ConflictError
from playbooks.criteria import CriterionResult, SignalLookup
from playbooks.models import Playbook
from playbooks.planning import PlanItem, plan_schedule
from playbooks.selectors import playbook_get
from teams.models import (
    Organization,
    Person,
)
from teams.zones import organization_today
from transform.checkins.services import milestone_checkins_close
from transform.models import (
    EventKind,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    Transformation,
)
from transform.plans.owners import OwnerFinder, criterion_json, plan_items
from transform.plans.selectors import (
    milestone_criteria_evaluate,
    person_get_by_email,
)
from transform.plans.workflow import NEEDS_REASON, milestone_allowed_statuses

SCHEDULE_FIELDS = (
    "planned_start",
    "planned_due",
    "forecast_start",
    "forecast_due",
    "slack_days",
    "critical",
)


@dataclass(frozen=True, slots=True)
class PlaybookRef:
    """``key`` or ``key@version`` as given to start a transformation."""

    key: str
    version: int | None


def playbook_ref_parse(text: str, *, field: str = "playbooks") -> PlaybookRef:
    """``"unify-ops-silos"`` or ``"unify-ops-silos@2"``; ``ApplicationError`` on ``field`` else."""
    value = str(text).strip()
    key, separator, version_text = value.partition("@")
    version = id_parse(version_text) if separator else None
    problem = None
    if not key:
        problem = f"Expected a playbook key or KEY@VERSION, got '{value}'."
    elif separator and version is None:
        problem = (
            f"Playbook reference '{value}': the version after '@' must be a whole number of 1 "
            f"or more, got '{version_text}'."
        )
    if problem:
        raise ApplicationError(problem, extra={"fields": {field: [problem]}})
    return PlaybookRef(key=key, version=version)


def _raise_invalid(instance: Any, exc: ValidationError) -> None:
    fields = {
        ("non_field_errors" if name == "__all__" else name): list(messages)
        for name, messages in exc.message_dict.items()
    }
    raise ApplicationError(
        f"The {instance._meta.verbose_name} is not valid.", extra={"fields": fields}
    ) from exc


def full_clean_or_raise(instance: Transformation | Milestone) -> None:
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        _raise_invalid(instance, exc)


@transaction.atomic
def transformation_start(
    *,
    organization: Organization,
    playbooks: Sequence[str],
    start_date: dt.date,
    owner_email: str,
    title: str = "",
    sponsor_email: str | None = None,
    created_by: User | None = None,
    today: dt.date | None = None,
    owners: Mapping[str, str] | None = None,
) -> Transformation:
    """Create a transformation from one or more playbooks, with its dated milestones.

    ``playbooks`` are ``key`` or ``key@version`` references (latest version when none is given)
    to the organisation's own or built-in playbooks; ``owner_email`` names the lead change agent,
    any person of the organisation, who becomes a change agent of this transformation. Each
    milestone is owned by a person holding its ``owner_role`` where one is known, else by the lead
    change agent (rules: docs/transformations.md). A milestone key used by two of the playbooks
    becomes ``<playbook-key>/<milestone-key>`` in both. ``owners`` (optional) maps milestone keys
    of the new plan to owners' e-mails, overriding the role rules for those milestones (the web
    start preview sends every milestone's); an unknown key, or an e-mail that is not a current
    person of the organisation, raises ``ApplicationError`` on ``owners``. Everything happens in
    one transaction: a bad reference or e-mail raises ``ApplicationError`` and stores nothing.
    """
    refs = [playbook_ref_parse(text) for text in playbooks]
    if not refs:
        message = "Name at least one playbook."
        raise ApplicationError(message, extra={"fields": {"playbooks": [message]}})
    repeated = sorted(key for key, count in Counter(ref.key for ref in refs).items() if count > 1)
    if repeated:
        message = f"Playbook '{repeated[0]}' is named more than once; name each playbook once."
        raise ApplicationError(message, extra={"fields": {"playbooks": [message]}})
    resolved = [playbook_ref_resolve(organization=organization, ref=ref) for ref in refs]
    lead = person_get_by_email(organization=organization, email=owner_email, field="owner")
    if lead.left_on is not None:
        message = f"{lead.email} left the organisation on {lead.left_on.isoformat()}."
        raise ApplicationError(message, extra={"fields": {"owner": [message]}})
    sponsor = (
        person_get_by_email(organization=organization, email=sponsor_email, field="sponsor")
        if sponsor_email
        else None
    )
    specs = [(playbook, playbook.spec) for playbook in resolved]

    transformation = Transformation(
        organization=organization,
        title=(title.strip() or " + ".join(spec.title for _p, spec in specs))[:200],
        start_date=start_date,
        sponsor=sponsor,
        lead_change_agent=lead,
        created_by=created_by,
    )
    full_clean_or_raise(transformation)
    transformation.save()
    transformation.change_agents.add(lead)
    transformation.playbooks.set(resolved)

    finder = OwnerFinder(organization=organization, lead=lead, sponsor=sponsor)
    chosen = _owners_resolve(organization=organization, specs=specs, owners=owners or {})
    milestones: list[Milestone] = []
    dependencies: list[tuple[Milestone, str, str]] = []  # (milestone, playbook key, source key)
    for playbook, spec, phase, item, key in plan_items(specs):
        milestone = Milestone(
            transformation=transformation,
            playbook=playbook,
            position=len(milestones),
            phase_key=phase.key,
            phase_title=phase.title,
            key=key,
            source_key=item.key,
            title=item.title,
            why=item.why or "",
            how=item.how or "",
            duration_days=item.duration_days,
            owner_role=item.owner_role,
            owner=chosen.get(key) or finder.owner_for(item),
            checkin_every_days=item.checkin_every_days,
            exit_criteria=[criterion_json(c) for c in item.exit_criteria],
        )
        milestones.append(milestone)
        dependencies.extend((milestone, spec.key, dep) for dep in item.depends_on)
    Milestone.objects.bulk_create(milestones)

    by_source = {(m.playbook.key, m.source_key): m for m in milestones}
    through = Milestone.depends_on.through
    through.objects.bulk_create(
        through(from_milestone_id=milestone.pk, to_milestone_id=by_source[(playbook_key, dep)].pk)
        for milestone, playbook_key, dep in dependencies
    )
    MilestoneEvent.objects.bulk_create(
        MilestoneEvent(
            milestone=milestone,
            actor=created_by,
            kind=EventKind.CREATED,
            to_status=MilestoneStatus.PLANNED,
            reason="Transformation started.",
            data={
                "owner": milestone.owner.email,
                "playbook": f"{milestone.playbook.key}@{milestone.playbook.version}",
            },
        )
        for milestone in milestones
    )
    transformation_schedule_refresh(transformation=transformation, today=today)
    return transformation


def _owners_resolve(
    *,
    organization: Organization,
    specs: Sequence[tuple[Playbook, Any]],
    owners: Mapping[str, str],
) -> dict[str, Person]:
    """``owners`` (milestone key -> e-mail) as people; ``ApplicationError`` on ``owners``."""
    if not owners:
        return {}
    keys = {key for *_rest, key in plan_items(specs)}
    problems = [
        f"No milestone '{str(key)[:80]}' in this plan." for key in owners if key not in keys
    ]
    emails = {str(email).strip().lower() for email in owners.values()}
    people = {
        person.email: person
        for person in Person.objects.filter(organization=organization, email__in=emails)
    }
    for email in sorted(emails):
        person = people.get(email)
        if person is None:
            problems.append(f"No person with e-mail '{email[:254]}' in this organisation.")
        elif person.left_on is not None:
            problems.append(f"{email} left the organisation on {person.left_on.isoformat()}.")
    if problems:
        raise ApplicationError(problems[0], extra={"fields": {"owners": problems}})
    return {key: people[str(email).strip().lower()] for key, email in owners.items()}


def playbook_ref_resolve(*, organization: Organization, ref: PlaybookRef) -> Playbook:
    """The playbook ``ref`` names; ``ApplicationError`` on ``playbooks`` when there is none."""
    try:
        return playbook_get(organization=organization, key=ref.key, version=ref.version)
    except ApplicationError as exc:
        # Reported on the input field this API and command call "playbooks".
        raise ApplicationError(exc.message, extra={"fields": {"playbooks": [exc.message]}}) from exc


def transformation_schedule_refresh(
    *, transformation: Transformation, today: dt.date | None = None
) -> Transformation:
    """Recompute and store every milestone's schedule and the plan's end dates and critical path.

    Uses ``playbooks.planning.plan_schedule`` on the whole plan (status, actual start and finish
    dates, owner-reported due dates); writes only the milestones whose schedule changed, in one
    bulk update. ``today`` (default: the organisation's date in its zone, ``teams.zones``) is
    when overdue unfinished work is assumed to finish at the earliest.
    """
    milestones = list(transformation.milestones.order_by("position", "id"))
    key_of = {milestone.pk: milestone.key for milestone in milestones}
    depends: dict[int, list[str]] = {milestone.pk: [] for milestone in milestones}
    for from_id, to_id in Milestone.depends_on.through.objects.filter(
        from_milestone__transformation=transformation
    ).values_list("from_milestone_id", "to_milestone_id"):
        depends[from_id].append(key_of[to_id])
    items = [
        PlanItem(
            key=milestone.key,
            duration_days=milestone.duration_days,
            depends_on=tuple(sorted(depends[milestone.pk])),
            status=milestone.status,
            started_on=milestone.started_on,
            done_on=milestone.done_on,
            forecast_due=milestone.reported_due,
        )
        for milestone in milestones
    ]
    result = plan_schedule(
        items,
        start=transformation.start_date,
        today=today or organization_today(transformation.organization),
    )
    changed = []
    for milestone in milestones:
        schedule = result.schedules[milestone.key]
        values = {name: getattr(schedule, name) for name in SCHEDULE_FIELDS}
        if any(getattr(milestone, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(milestone, name, value)
            changed.append(milestone)
    if changed:
        Milestone.objects.bulk_update(changed, SCHEDULE_FIELDS)
    transformation.planned_end = result.planned_end
    transformation.forecast_end = result.forecast_end
    transformation.critical_path = list(result.critical_path)
    transformation.save(
        update_fields=["planned_end", "forecast_end", "critical_path", "updated_at"]
    )
    return transformation


def milestone_locked(milestone: Milestone) -> Milestone:
    """The milestone re-read under a row lock, so two concurrent changes apply one after the
    other instead of both starting from the same old status.

    Its plan's row is locked first: a change to one milestone may rewrite every milestone's
    schedule (``transformation_schedule_refresh``), so changes to milestones of one plan run one
    after the other, and two of them never hold each other's milestone rows (a deadlock)."""
    list(
        Transformation.objects.select_for_update()
        .filter(pk=milestone.transformation_id)
        .values_list("pk", flat=True)
    )
    locked = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("transformation__organization", "owner")
        .get(pk=milestone.pk)
    )
    return locked


def milestone_event_record(
    *,
    milestone: Milestone,
    actor: User | None,
    kind: str,
    reason: str = "",
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
) -> MilestoneEvent:
    return MilestoneEvent.objects.create(
        milestone=milestone,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data or {},
    )


def _allowed_text(statuses: Iterable[str]) -> str:
    names = [status_words(status) for status in statuses]
    return ", ".join(names) if names else "none (done is final)"


def status_words(status: str) -> str:
    """A milestone status as it reads in a sentence ("at risk", not ``at_risk``); the error's
    ``extra`` keeps the codes for programs."""
    labels: dict[str, str] = dict(MilestoneStatus.choices)
    return str(labels.get(status, status.replace("_", " "))).lower()


# How a refusal says what an exit criterion's verdict is.
_VERDICT_WORDS = {"pass": "met", "fail": "not met", "unknown": "no verdict yet"}


@transaction.atomic
def milestone_transition(
    *,
    milestone: Milestone,
    to_status: str,
    actor: User | None,
    reason: str = "",
    override: bool = False,
    signals: SignalLookup | None = None,
    today: dt.date | None = None,
) -> Milestone:
    """Move the milestone along the workflow and record the event; recompute the schedule.

    Raises ``ConflictError`` for a transition the workflow does not allow
    (``transform.plans.workflow``; the message names the allowed ones), and for ``done`` while a
    dependency is not done (naming them) or an exit criterion does not pass (``unknown`` counts
    as not passing), unless ``override`` is set with a written ``reason``: then the milestone is
    done by override, recorded as such (the event holds the criteria results and the unfinished
    dependencies). Whether the caller may override is the API's access check.
    ``ApplicationError`` when at_risk/blocked or an override come without a reason. Marking it
    done closes its open status check-ins, saying who marked it done and when.
    """
    day = today or organization_today(milestone.transformation.organization)
    reason = reason.strip()
    milestone = milestone_locked(milestone)
    from_status = milestone.status
    if to_status not in MilestoneStatus.values:
        message = (
            f"Unknown status '{to_status}'; expected one of {', '.join(MilestoneStatus.values)}."
        )
        raise ApplicationError(message, extra={"fields": {"to": [message]}})
    allowed = milestone_allowed_statuses(milestone)
    if to_status not in allowed:
        message = (
            f"Milestone '{milestone.title}' cannot go from {status_words(from_status)} to "
            f"{status_words(to_status)}; from {status_words(from_status)} it may go to: "
            f"{_allowed_text(allowed)}."
        )
        raise ConflictError(
            message, extra={"from": from_status, "to": to_status, "allowed": list(allowed)}
        )
    if to_status in NEEDS_REASON and not reason:
        message = (
            f"Say why milestone '{milestone.title}' is {status_words(to_status)}: "
            "a reason is required."
        )
        raise ApplicationError(message, extra={"fields": {"reason": [message]}})
    if override and not reason:
        message = "An override needs a written reason."
        raise ApplicationError(message, extra={"fields": {"reason": [message]}})

    kind = EventKind.STATUS
    data: dict[str, Any] = {}
    if to_status == MilestoneStatus.DONE:
        unfinished = list(
            milestone.depends_on.exclude(status=MilestoneStatus.DONE).order_by("position", "id")
        )
        results = milestone_criteria_evaluate(
            organization=milestone.transformation.organization,
            milestones=[milestone],
            signals=signals,
        )[milestone.pk]
        not_passing = [result for result in results if result.status != "pass"]
        if (unfinished or not_passing) and not override:
            raise _done_refused(
                milestone=milestone, unfinished=unfinished, results=results, not_passing=not_passing
            )
        if not_passing or unfinished:
            # One override goes past both: exit criteria that do not pass and dependencies not
            # done; the event and the milestone record which.
            kind = EventKind.OVERRIDE
            data["criteria"] = [result.as_dict() for result in results]
            data["dependencies"] = [m.key for m in unfinished]
            milestone.override_reason = reason
            milestone.overridden_by = actor
            milestone.overridden_at = timezone.now()
            milestone.override_dependencies = [m.key for m in unfinished]
        milestone.done_on = day
        milestone_checkins_close(
            milestone_id=milestone.pk,
            reason=_done_reason(milestone=milestone, actor=actor, day=day),
            at=timezone.now(),
        )
    if to_status == MilestoneStatus.IN_PROGRESS and milestone.started_on is None:
        milestone.started_on = day
    milestone.status = to_status
    milestone.status_reason = reason if to_status in NEEDS_REASON else ""
    milestone.save()
    milestone_event_record(
        milestone=milestone,
        actor=actor,
        kind=kind,
        reason=reason,
        from_status=from_status,
        to_status=to_status,
        data=data,
    )
    transformation_schedule_refresh(transformation=milestone.transformation, today=day)
    milestone.refresh_from_db()
    return milestone


def _done_refused(
    *,
    milestone: Milestone,
    unfinished: Sequence[Milestone],
    results: Sequence[CriterionResult],
    not_passing: Sequence[CriterionResult],
) -> ConflictError:
    """Why ``milestone`` cannot be done: its dependencies not done (named, with their status)
    and its exit criteria that do not pass, each said when it applies; ``extra`` lists all the
    criteria results and the unfinished dependencies."""
    why = ""
    if unfinished:
        names = ", ".join(f"'{m.title}' ({status_words(m.status)})" for m in unfinished)
        verb = "is" if len(unfinished) == 1 else "are"
        why = f" before its dependencies are done: {names} {verb} not done"
    if not_passing:
        details = "; ".join(
            f"{r.message.rstrip('.')} ({_VERDICT_WORDS.get(r.status, r.status)})"
            for r in not_passing
        )
        why += "; and " if unfinished else ": "
        why += f"{len(not_passing)} of {len(results)} exit criteria do not pass: {details}"
    extra: dict[str, Any] = {"criteria": [result.as_dict() for result in results]}
    if unfinished:
        extra["dependencies"] = [
            {"key": m.key, "title": m.title, "status": m.status} for m in unfinished
        ]
    return ConflictError(
        f"Milestone '{milestone.title}' cannot be done{why}. A leader or admin may override with "
        "a written reason.",
        extra=extra,
    )


def _done_reason(*, milestone: Milestone, actor: User | None, day: dt.date) -> str:
    """Why its open status check-ins close: "'<title>' was marked done on <day> by <name>."
    (the actor's person in the organisation, else their login's name)."""
    by = ""
    if actor is not None:
        person = (
            Person.objects.filter(
                organization_id=milestone.transformation.organization_id, user=actor
            )
            .only("name")
            .first()
        )
        name = (person.name if person is not None else "") or actor.get_full_name()
        by = f" by {name or actor.get_username()}"
    return f"'{milestone.title}' was marked done on {day.isoformat()}{by}."


@transaction.atomic
def milestone_reassign(
    *, milestone: Milestone, owner: Person, actor: User | None, reason: str = ""
) -> Milestone:
    """Give the milestone to ``owner`` (a person of the same organisation) and record it."""
    milestone = milestone_locked(milestone)
    if owner.organization_id != milestone.transformation.organization_id:
        message = "The new owner must be a person of the transformation's organisation."
        raise ApplicationError(message, extra={"fields": {"owner": [message]}})
    if owner.pk == milestone.owner_id:
        message = f"{owner.name or owner.email} already owns milestone '{milestone.title}'."
        raise ApplicationError(message, extra={"fields": {"owner": [message]}})
    if owner.left_on is not None:
        message = (
            f"{owner.email} left the organisation on {owner.left_on.isoformat()} and cannot own "
            "a milestone."
        )
        raise ApplicationError(message, extra={"fields": {"owner": [message]}})
    previous = milestone.owner
    milestone.owner = owner
    full_clean_or_raise(milestone)
    milestone.save(update_fields=["owner", "updated_at"])
    milestone_event_record(
        milestone=milestone,
        actor=actor,
        kind=EventKind.REASSIGNED,
        reason=reason.strip(),
        data={"from": previous.email, "to": owner.email},
    )
    return milestone


# How far ahead a milestone may be rescheduled, in years from the organisation's today. Further is
# most likely a slip of the keyboard (2062 for 2026), and a date decades away would stretch the
# plan's timeline past reading (docs/web-plan.md#rescheduling).
RESCHEDULE_YEARS_AHEAD = 5


def reschedule_latest(*, organization: Organization, today: dt.date | None = None) -> dt.date:
    """The last day a milestone of ``organization`` may be rescheduled to."""
    day = today or organization_today(organization)
    try:
        return day.replace(year=day.year + RESCHEDULE_YEARS_AHEAD)
    except ValueError:  # 29 February, in a year without one
        return day.replace(year=day.year + RESCHEDULE_YEARS_AHEAD, day=28)


@transaction.atomic
def milestone_reschedule(
    *,
    milestone: Milestone,
    forecast_due: dt.date,
    reason: str,
    actor: User | None,
    today: dt.date | None = None,
) -> Milestone:
    """Record the owner's new forecast due date (a slip or an early finish) and recompute the
    forecast of every dependent milestone and of the transformation.

    Refused (``ConflictError``) for a done milestone; ``ApplicationError`` without a reason, for
    a date before the milestone's (actual or forecast) start, or more than
    ``RESCHEDULE_YEARS_AHEAD`` years after ``today`` (the organisation's today by default).
    """
    milestone = milestone_locked(milestone)
    reason = reason.strip()
    if milestone.status == MilestoneStatus.DONE:
        raise ConflictError(
            f"Milestone '{milestone.title}' is done; a done milestone cannot be rescheduled.",
            extra={"fields": {"forecast_due": ["The milestone is already done."]}},
        )
    if not reason:
        message = "Say why the forecast changes: a reason is required."
        raise ApplicationError(message, extra={"fields": {"reason": [message]}})
    latest = reschedule_latest(organization=milestone.transformation.organization, today=today)
    if forecast_due > latest:
        message = (
            f"That is more than {RESCHEDULE_YEARS_AHEAD} years away: choose a day up to "
            f"{latest.isoformat()}."
        )
        raise ApplicationError(message, extra={"fields": {"forecast_due": [message]}})
    starts = milestone.started_on or milestone.forecast_start
    if starts is not None and forecast_due < starts:
        message = (
            f"The forecast due date {forecast_due.isoformat()} is before the milestone's start "
            f"({starts.isoformat()})."
        )
        raise ApplicationError(message, extra={"fields": {"forecast_due": [message]}})
    previous = milestone.forecast_due
    milestone.reported_due = forecast_due
    milestone.save(update_fields=["reported_due", "updated_at"])
    milestone_event_record(
        milestone=milestone,
        actor=actor,
        kind=EventKind.RESCHEDULED,
        reason=reason,
        data={
            "from": previous.isoformat() if previous else None,
            "to": forecast_due.isoformat(),
        },
    )
    transformation_schedule_refresh(transformation=milestone.transformation, today=today)
    milestone.refresh_from_db()
    return milestone
