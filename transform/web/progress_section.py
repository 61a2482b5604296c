"""The plan page's progress burn-up (docs/web-plan.md, "Progress burn-up"): per graph exit
criterion of the transformation, the share of teams passing it week by week
(``transform.plans.progress``), as a chart with the same numbers in a table; signal thresholds
are listed as judged from signals, not teams.

The criteria come from the plan report the page already holds (no query); the points cost one
query when cached, eight more when past points must be read from the history, whatever the number
of weeks or teams, and the live graph's when today's point must be read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from transform.access import OrgAccess
from transform.models import Transformation
from transform.plans.progress import Share, transformation_progress_get

_OP_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below", "==": "exactly"}


def _signal_words(criterion: Mapping[str, Any]) -> str:
    """ "Westrum score at least 5"; "Deployment frequency is measured"."""
    kind = str(criterion["signal"]).replace("_", " ").replace("adkar", "ADKAR")
    kind = kind[:1].upper() + kind[1:]
    if criterion.get("op") == "measured":
        return f"{kind} is measured"
    value = criterion.get("value")
    shown = f"{value:g}" if isinstance(value, int | float) else str(value)
    return f"{kind} {_OP_WORDS.get(str(criterion.get('op')), criterion.get('op'))} {shown}"


def _cell(share: Share | None) -> str:
    if share is None:
        return "no teams yet"
    return f"{share.passing} of {share.total} ({share.percent:g}%)"


def plan_progress_context(
    *, access: OrgAccess, transformation: Transformation, plan: Mapping[str, Any], today: dt.date
) -> dict[str, Any]:
    """``progress``: the burn-up's chart data, table and signal criteria for the partial
    ``web/plan/_progress_burnup.html``."""
    criteria = [
        result["criterion"]
        for milestone in plan["milestones"]
        for result in milestone["exit_criteria"]
    ]
    found = transformation_progress_get(
        organization=access.organization,
        start_date=transformation.start_date,
        criteria=criteria,
        today=today,
    )
    summaries = []
    for line in found.lines:
        last = line.points[-1] if line.points else None
        first = next((point for point in line.points if point is not None), None)
        if last is None:
            summaries.append(f"{line.label}: no teams yet.")
        elif first is None or first == last:
            summaries.append(f"{line.label}: {_cell(last)} today.")
        else:
            summaries.append(f"{line.label}: {_cell(first)} at first, {_cell(last)} today.")
    return {
        "progress": {
            "chart": found.chart_data(),
            # An analysis that cannot run leaves no points: the error is shown, not an empty chart.
            "lines": [] if found.error else found.lines,
            "summary": " ".join(summaries),
            "rows": [
                {"day": day, "cells": [_cell(line.points[index]) for line in found.lines]}
                for index, day in enumerate(found.days)
            ]
            if found.lines and all(line.points for line in found.lines)
            else [],
            "signals": [_signal_words(criterion) for criterion in found.signals],
            "error": found.error,
            "start_date": transformation.start_date,
        }
    }
