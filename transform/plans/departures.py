"""What the plans say must happen before a person leaves the organisation (or is erased): the
milestones they still own and the transformations they lead must be handed to someone else first
(docs/checkins.md, "People leave").

``plan_departure_holds`` is one of ``teams.lifecycle.departure_checks`` (registered by
``TransformConfig.ready``), so ``person_leave``, ``person_delete`` and ``person_erase`` refuse
with 409 and list what to reassign, whichever interface they are called from.
"""

from __future__ import annotations

from typing import Any

from teams.models import Person
from transform.models import Milestone, MilestoneStatus, Transformation


def plan_departure_holds(person: Person) -> list[tuple[str, list[dict[str, Any]]]]:
    """``[("open milestones", [...]), ("transformations led", [...])]`` for ``person``; an empty
    list when they own no open milestone and lead no transformation. Two queries.

    Open milestones are the ones not done (planned, in progress, at risk, blocked), whatever the
    state of their transformation: a finished plan has no open milestone left. Each item names
    the milestone's id, key, title, status and transformation; each transformation its id and
    title. Being one of several change agents, a sponsor, or the owner of done milestones does
    not hold anyone back (those links stay as the plan's history)."""
    milestones = [
        {
            "id": milestone.pk,
            "key": milestone.key,
            "title": milestone.title,
            "status": milestone.status,
            "transformation": {
                "id": milestone.transformation_id,
                "title": milestone.transformation.title,
            },
        }
        for milestone in Milestone.objects.filter(owner=person)
        .exclude(status=MilestoneStatus.DONE)
        .select_related("transformation")
        .order_by("transformation_id", "position", "id")
    ]
    led = [
        {"id": transformation.pk, "title": transformation.title}
        for transformation in Transformation.objects.filter(lead_change_agent=person).order_by(
            "start_date", "id"
        )
    ]
    holds: list[tuple[str, list[dict[str, Any]]]] = []
    if milestones:
        holds.append(("open milestones", milestones))
    if led:
        holds.append(("transformations led", led))
    return holds
