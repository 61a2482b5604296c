"""The milestone status workflow (docs/transformations.md): which statuses a milestone may move
to from where it is. One table decides for the workflow (``milestone_transition``), the plan
pages, the status check-in form and the check-in link API, so none of them offers a move the
workflow would refuse."""

from __future__ import annotations

from transform.models import Milestone, MilestoneStatus

# status -> the statuses it may move to.
ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    MilestoneStatus.PLANNED: (
        MilestoneStatus.IN_PROGRESS,
        MilestoneStatus.AT_RISK,
        MilestoneStatus.BLOCKED,
    ),
    MilestoneStatus.IN_PROGRESS: (
        MilestoneStatus.DONE,
        MilestoneStatus.AT_RISK,
        MilestoneStatus.BLOCKED,
    ),
    MilestoneStatus.AT_RISK: (MilestoneStatus.IN_PROGRESS,),
    MilestoneStatus.BLOCKED: (MilestoneStatus.IN_PROGRESS,),
    MilestoneStatus.DONE: (),
}
NEEDS_REASON = frozenset({MilestoneStatus.AT_RISK, MilestoneStatus.BLOCKED})


def milestone_allowed_statuses(milestone: Milestone) -> tuple[str, ...]:
    """The statuses ``milestone`` may move to from its current status, in workflow order (empty
    for a done milestone: done is final)."""
    return ALLOWED_TRANSITIONS.get(milestone.status, ())
