"""Rescheduling and moving milestones from the web: the milestone page's reschedule form, the
timeline's drag to reschedule and the board's drag and drop between statuses
(docs/web-plan.md#rescheduling).

Each write goes through the service the API uses (``services.milestone_reschedule``,
``services.milestone_transition``) after the API's access rule (``milestone_get_for_update``,
``milestone_get_for_status_change``). The form answers with a page (post/redirect/get, or the
milestone page with the error next to the field); the two JSON twins answer the timeline's and
the board's script with ``{"message", ...}`` or the API's error shape ``{"message", "extra"}``
(``transform.web.milestone_writes`` runs both kinds of write).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from core.bounds import DATE_RANGE_HELP, day_in_range
from core.errors import ApplicationError
from transform.access import (
    OrgAccess,
    milestone_get_for_status_change,
    milestone_get_for_update,
)
from transform.models import Milestone, MilestoneStatus, Transformation
from transform.plans import services
from transform.templatetags.words import plain
from transform.web.access import org_page
from transform.web.forms import TEXT_LIMIT, cleaned
from transform.web.milestone_writes import (
    STATUS_LABELS,
    json_answers,
    milestone_form_cleaned,
    milestone_write_json,
    milestone_write_page,
)

# How many moved dependants the success message names before "and N more".
MOVED_NAMED = 5


class MilestoneRescheduleForm(forms.Form):
    """The milestone page's reschedule form: the new forecast due date and why. The field names
    differ from the other forms' on the page, so a refused post refills only this one.

    ``earliest`` and ``latest`` bound the date (``reschedule_bounds``)."""

    forecast_due = forms.DateField(label="New forecast due date")
    reschedule_reason = forms.CharField(label="Reason", max_length=TEXT_LIMIT)

    def __init__(
        self, data: Mapping[str, Any], *, earliest: dt.date | None, latest: dt.date | None
    ) -> None:
        super().__init__(data)
        self.earliest = earliest
        self.latest = latest

    def clean_forecast_due(self) -> dt.date:
        day: dt.date = self.cleaned_data["forecast_due"]
        if not day_in_range(day):
            raise forms.ValidationError(f"Expected {DATE_RANGE_HELP}.")
        if self.earliest is not None and day < self.earliest:
            raise forms.ValidationError(
                f"That is before the plan starts ({self.earliest.isoformat()}): choose a later day."
            )
        if self.latest is not None and day > self.latest:
            raise forms.ValidationError(
                f"That is more than {services.RESCHEDULE_YEARS_AHEAD} years away: choose a day up to "
                f"{self.latest.isoformat()}."
            )
        return day


def reschedule_bounds(transformation: Transformation) -> tuple[dt.date | None, dt.date]:
    """The days a milestone of ``transformation`` may be rescheduled to: from the plan's start
    to ``services.reschedule_latest`` (the service refuses later days too, for the API)."""
    return transformation.start_date, services.reschedule_latest(
        organization=transformation.organization
    )


class MilestoneMoveForm(forms.Form):
    """A board card dropped on a status column (no override: that stays on the milestone page)."""

    to_status = forms.ChoiceField(label="New status", choices=MilestoneStatus.choices)
    reason = forms.CharField(required=False, max_length=TEXT_LIMIT)


# --- rescheduling ---------------------------------------------------------------------------------


def _forecasts(transformation: Transformation) -> dict[int, tuple[str, dt.date | None]]:
    """Every milestone's title and forecast due date, to tell what a reschedule moved (one
    query; the service recomputes the whole plan, so its own return value cannot say)."""
    return {
        pk: (title, due)
        for pk, title, due in transformation.milestones.values_list("id", "title", "forecast_due")
    }


def _dependants(transformation: Transformation, milestone_id: int) -> set[int]:
    """The milestones that depend on ``milestone_id``, directly or through others (one query)."""
    waiting: dict[int, list[int]] = {}
    for dependant, dependency in Milestone.depends_on.through.objects.filter(
        from_milestone__transformation=transformation
    ).values_list("from_milestone_id", "to_milestone_id"):
        waiting.setdefault(dependency, []).append(dependant)
    found: set[int] = set()
    todo = [milestone_id]
    while todo:
        for dependant in waiting.get(todo.pop(), []):
            if dependant not in found:
                found.add(dependant)
                todo.append(dependant)
    found.discard(milestone_id)
    return found


def _reschedule(
    request: HttpRequest,
    access: OrgAccess,
    milestone_id: int,
    *,
    forecast_due: str,
    reason: str,
) -> tuple[Milestone, str, list[dict[str, Any]]]:
    """Reschedule through the API's rule and service: the milestone is looked up with its access
    rule first (whoever may not reschedule hears that, whatever they typed), then the form is
    validated. The milestone, a sentence saying what moved, and the moved dependants (id, title,
    from, to): only milestones waiting on this one, whose forecast the recomputation changed."""
    found = milestone_get_for_update(
        user=request.user,
        milestone_id=milestone_id,
        action="reschedule it",
        organization=access.organization,
    )
    transformation = found.transformation_access.transformation
    earliest, latest = reschedule_bounds(transformation)
    data = cleaned(
        MilestoneRescheduleForm(
            {"forecast_due": forecast_due, "reschedule_reason": reason},
            earliest=earliest,
            latest=latest,
        )
    )
    with transaction.atomic():
        # The plan locked (as the service locks it) before reading what it was, so another
        # change cannot land between this snapshot and the reschedule.
        services.milestone_locked(found.milestone)
        before = _forecasts(transformation)
        changed = services.milestone_reschedule(
            milestone=found.milestone,
            forecast_due=data["forecast_due"],
            reason=data["reschedule_reason"],
            actor=request.user,  # type: ignore[arg-type]
        )
        after = _forecasts(transformation)
        dependants = _dependants(transformation, changed.pk)
    moved = [
        {"id": pk, "title": title, "from": before[pk][1], "to": due}
        for pk, (title, due) in after.items()
        if pk in dependants and pk in before and before[pk][1] != due
    ]
    was = before.get(changed.pk, ("", None))[1]
    sentence = f"'{changed.title}' is now forecast to be done on {changed.forecast_due}"
    sentence += f" (was {was})." if was and was != changed.forecast_due else "."
    if moved:
        named = "; ".join(f"'{row['title']}' to {row['to']}" for row in moved[:MOVED_NAMED])
        more = f"; and {len(moved) - MOVED_NAMED} more" if len(moved) > MOVED_NAMED else ""
        sentence += f" Its dependants' forecasts moved: {named}{more}."
    else:
        sentence += " No other milestone's forecast moved."
    return changed, sentence, moved


def _field_errors(exc: ApplicationError, *, names: Mapping[str, str]) -> dict[str, str]:
    """The first problem of each field ``exc`` names, keyed as the page shows them."""
    fields = exc.extra.get("fields") or {}
    return {
        shown: str(plain(problems[0]))
        for field, shown in names.items()
        if (problems := fields.get(field))
    }


def _reschedule_errors(exc: ApplicationError) -> dict[str, str]:
    """A refused reschedule on the milestone page: each field's problem next to it, a summary
    above the form, and the whole refusal for a page with no form to mark (a done milestone)."""
    errors = _field_errors(
        exc,
        names={
            "forecast_due": "reschedule_due",
            "reason": "reschedule_reason",
            "reschedule_reason": "reschedule_reason",
        },
    )
    # The summary above the form (read out, and scrolled to) points at the field that says
    # what is wrong, rather than repeating it.
    errors["reschedule"] = "Not rescheduled: see the field marked below." if errors else exc.message
    errors["reschedule_refusal"] = exc.message
    return errors


@require_POST
@org_page
def milestone_reschedule(
    request: HttpRequest, access: OrgAccess, milestone_id: int
) -> HttpResponse:
    """The milestone page's reschedule form: a new forecast due date with a reason."""

    def write() -> str:
        _, sentence, _ = _reschedule(
            request,
            access,
            milestone_id,
            forecast_due=request.POST.get("forecast_due", ""),
            reason=request.POST.get("reschedule_reason", ""),
        )
        return sentence

    return milestone_write_page(
        request, access, milestone_id, write=write, errors=_reschedule_errors
    )


@require_POST
@json_answers
@org_page
def milestone_reschedule_json(
    request: HttpRequest, access: OrgAccess, milestone_id: int
) -> JsonResponse:
    """The timeline's drag: ``forecast_due`` and ``reason`` in, what moved out."""

    def write() -> dict[str, Any]:
        changed, sentence, moved = _reschedule(
            request,
            access,
            milestone_id,
            forecast_due=request.POST.get("forecast_due", ""),
            reason=request.POST.get("reason", ""),
        )
        return {
            "message": sentence,
            "milestone": {
                "id": changed.pk,
                "forecast_start": changed.forecast_start,
                "forecast_due": changed.forecast_due,
            },
            "moved": moved,
        }

    return milestone_write_json(write)


# --- the board's drag and drop ----------------------------------------------------------------------


@require_POST
@json_answers
@org_page
def milestone_move_json(request: HttpRequest, access: OrgAccess, milestone_id: int) -> JsonResponse:
    """The board's drop: ``to_status`` (and ``reason`` for at risk and blocked) in, the new
    status out; the same rule and service as the milestone page's status form."""

    def write() -> dict[str, Any]:
        data = milestone_form_cleaned(
            request,
            access,
            milestone_id,
            MilestoneMoveForm(request.POST),
            action="change its status",
        )
        found = milestone_get_for_status_change(
            user=request.user,
            milestone_id=milestone_id,
            to_status=data["to_status"],
            override=False,
            organization=access.organization,
        )
        changed = services.milestone_transition(
            milestone=found.milestone,
            to_status=data["to_status"],
            reason=data["reason"],
            actor=request.user,  # type: ignore[arg-type]
        )
        label = STATUS_LABELS.get(changed.status, changed.status)
        return {
            "message": f"'{changed.title}' is now {label.lower()}.",
            "milestone": {"id": changed.pk, "status": changed.status, "status_label": label},
        }

    return milestone_write_json(write)
