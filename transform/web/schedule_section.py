"""What the plan and board pages need for zoom, dependency arrows and dragging (the views that
take the drops and the reschedules are in ``transform.web.schedule_pages``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from transform.access import TransformationAccess
from transform.models import MilestoneStatus
from transform.plans.workflow import ALLOWED_TRANSITIONS, NEEDS_REASON
from transform.web.milestone_writes import STATUS_LABELS
from transform.web.timeline import gantt_build, milestone_moves


def plan_schedule_context(
    request: HttpRequest,
    found: TransformationAccess,
    plan: Mapping[str, Any],
    *,
    board: list[dict[str, Any]],
    today: dt.date,
) -> dict[str, Any]:
    """What the timeline and the board need for zoom, arrows and dragging: the ``gantt``
    (``?zoom=``), and ``board`` with, on each card, the statuses it may move to and whether the
    reader may move it (its owner, admins, change agents: the API's rule)."""
    moves = milestone_moves(plan["milestones"], transitions=ALLOWED_TRANSITIONS)
    titles = {milestone["key"]: milestone["title"] for milestone in plan["milestones"]}

    def named(keys: list[str] | None) -> list[str]:
        return [titles.get(key, key) for key in keys or []]

    def may_update(card: Mapping[str, Any]) -> bool:
        owner = card.get("owner") or {}
        return found.can_edit_plan or owner.get("id") in found.person_ids

    return {
        "gantt": gantt_build(plan, today=today, zoom=request.GET.get("zoom")),
        "board": [
            {
                **column,
                "cards": [
                    {
                        **card,
                        "moves": " ".join(moves[card["id"]]),
                        "started_before_titles": named(card.get("started_before_dependencies")),
                        "done_before_titles": named(
                            (card.get("override") or {}).get("dependencies")
                        ),
                        "can_move": may_update(card) and bool(moves[card["id"]]),
                        "can_reschedule": may_update(card)
                        and card["status"] != MilestoneStatus.DONE,
                    }
                    for card in column["cards"]
                ],
            }
            for column in board
        ],
        "reschedulable": {
            card["id"]
            for column in board
            for card in column["cards"]
            if may_update(card) and card["status"] != MilestoneStatus.DONE
        },
        "can_drag": any(may_update(card) for column in board for card in column["cards"]),
        "needs_reason": " ".join(sorted(NEEDS_REASON)),
        "status_labels": STATUS_LABELS,
    }
