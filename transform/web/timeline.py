"""The plan timeline's drawing, in pixels: a zoom level, bars, dependency arrows and date ticks
(docs/web-plan.md#timeline). Pure: it reads the plan report's JSON shape
(``plan_report_data``) and returns plain values for the template; no database, no request.

Every row (a phase heading or a milestone) is ``ROW_PX`` high, so a milestone's row gives its
vertical position and the arrows can be drawn server-side in one SVG over the whole chart: the
timeline is readable, arrows included, without JavaScript.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ROW_PX = 40
# Pixels per day of each zoom level; "fit" draws the whole plan in about FIT_PX.
ZOOMS: dict[str, float] = {"quarter": 4.0, "month": 10.0, "week": 28.0}
ZOOM_LABELS: dict[str, str] = {
    "fit": "Whole plan",
    "quarter": "Quarters",
    "month": "Months",
    "week": "Weeks",
}
DEFAULT_ZOOM = "fit"
FIT_PX = 880
# Days drawn before the first and after the last date, so no bar or arrow touches the edge.
MARGIN_DAYS = 3
# Horizontal run of an arrow out of its dependency's bar and into its dependant's.
ELBOW_PX = 8

# Bounds that keep the page small whatever dates are stored (a milestone forecast for 8999 made
# the "fit" zoom 0.0 px/day with ~28,000 ticks and the week zoom a 71.5M-pixel track).
# Rescheduling refuses dates that far (``plans.services.RESCHEDULE_YEARS_AHEAD``, web and API);
# these hold for older data and imports. A real plan lies well inside all three.
# - At most MAX_DAYS_DRAWN days are drawn; a bar beyond ends at the chart's edge (the table
#   below the chart gives its real dates).
MAX_DAYS_DRAWN = 20 * 366
# - The track is at most MAX_TRACK_PX wide: a zoom too fine for the plan's length draws coarser.
MAX_TRACK_PX = 32_000
# - Never fewer pixels per day than this (plan.js divides by it).
MIN_PX_PER_DAY = 0.1
# - At most MAX_TICKS date ticks: a coarser step (quarters, then years) when there would be more.
MAX_TICKS = 120
# Year steps of the ticks once quarters are too narrow or too many.
YEAR_STEPS = (1, 2, 5, 10, 20)


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Span:
    """A bar: its left edge and width in pixels."""

    x: float
    width: float


@dataclass
class GanttRow:
    """One row: a phase heading (``milestone`` None) or a milestone with its bars."""

    top: int
    phase_title: str = ""
    milestone: Mapping[str, Any] | None = None
    planned: Span | None = None
    forecast: Span | None = None
    slack: Span | None = None
    dependencies: list[dict[str, Any]] = field(default_factory=list)
    late_days: int = 0
    # Dependencies (id, key, title) not done when it started, or when it was done by override.
    started_before: list[dict[str, Any]] = field(default_factory=list)
    done_before: list[dict[str, Any]] = field(default_factory=list)

    @property
    def middle(self) -> int:
        return self.top + ROW_PX // 2


@dataclass
class Gantt:
    """The chart: its size, zoom, ticks, rows and arrows (SVG path data)."""

    zoom: str
    start: dt.date
    days: int
    px_per_day: float
    rows: list[GanttRow]
    ticks: list[dict[str, Any]]
    arrows: list[dict[str, Any]]
    today_x: float | None
    critical_path: list[dict[str, Any]] = field(default_factory=list)

    @property
    def width(self) -> int:
        return round(self.days * self.px_per_day)

    @property
    def height(self) -> int:
        return len(self.rows) * ROW_PX

    @property
    def zooms(self) -> list[dict[str, Any]]:
        return [
            {"value": value, "label": label, "current": value == self.zoom}
            for value, label in ZOOM_LABELS.items()
        ]

    def x(self, day: dt.date) -> float:
        """The day's position, kept on the track (a day outside the drawn range sits at its
        edge)."""
        return min(max(round((day - self.start).days * self.px_per_day, 1), 0.0), self.width)

    def span(self, start: dt.date | None, end: dt.date | None) -> Span | None:
        if start is None or end is None:
            return None
        # At least a day wide, so a zero-length milestone stays visible (and draggable).
        width = round(max((end - start).days, 1) * self.px_per_day, 1)
        x = round((start - self.start).days * self.px_per_day, 1)
        if x < 0 or x + width > self.width:
            # Partly outside the drawn range (a date years away): cut at its edges, still visible.
            right = min(max(x + width, 0.0), self.width)
            x = min(max(x, 0.0), self.width)
            width = max(round(right - x, 1), round(self.px_per_day, 1))
            x = round(min(x, self.width - width), 1)
        return Span(x, width)


def zoom_parse(value: str | None) -> str:
    """A zoom level from the query string; anything unknown is the default."""
    return value if value in ZOOM_LABELS else DEFAULT_ZOOM


def _range(plan: Mapping[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
    days = [_day(plan["start_date"]), _day(plan["planned_end"]), _day(plan["forecast_end"]), today]
    for milestone in plan["milestones"]:
        days += [_day(milestone[name]) for name in ("planned_start", "planned_due")]
        days += [_day(milestone[name]) for name in ("forecast_start", "started_on")]
        due = _day(milestone["forecast_due"])
        days.append(due + dt.timedelta(days=max(milestone["slack_days"], 0)) if due else None)
    known = [day for day in days if day is not None]
    margin = dt.timedelta(days=MARGIN_DAYS)
    start, end = min(known) - margin, max(known) + margin
    drawn = dt.timedelta(days=MAX_DAYS_DRAWN)
    if end - start > drawn:
        # Too long to draw: from its first day on, later if that would leave today out.
        start = max(start, today + margin - drawn)
        end = start + drawn
    return start, end


def _ticks(gantt: Gantt, end: dt.date) -> list[dict[str, Any]]:
    """Weekly ticks (Mondays) when a week is wide enough to label, else monthly, else every
    third month, else every year or every few years; never more than ``MAX_TICKS``."""
    days = max((end - gantt.start).days, 1)

    def fits(step_days: float, label_px: float) -> bool:
        return gantt.px_per_day * step_days >= label_px and days / step_days <= MAX_TICKS

    ticks: list[dict[str, Any]] = []
    if fits(7, 56):
        day = gantt.start + dt.timedelta(days=-gantt.start.weekday() % 7)
        while day <= end:
            ticks.append({"x": gantt.x(day), "label": f"{day.day} {day:%b}"})
            day += dt.timedelta(days=7)
        return ticks
    if fits(30, 64) or fits(91, 64):
        step = 1 if fits(30, 64) else 3
        month = dt.date(gantt.start.year, gantt.start.month, 1)
        while month <= end:
            if month >= gantt.start and (step == 1 or (month.month - 1) % 3 == 0):
                ticks.append({"x": gantt.x(month), "label": f"{month:%b %Y}"})
            month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return ticks
    years = next((step for step in YEAR_STEPS if fits(365 * step, 48)), YEAR_STEPS[-1])
    year = gantt.start.year + 1
    year += -year % years
    while year <= end.year:
        ticks.append({"x": gantt.x(dt.date(year, 1, 1)), "label": str(year)})
        year += years
    return ticks


def _arrow(source: Span, source_row: GanttRow, target: Span, target_row: GanttRow) -> str:
    """SVG path from the end of ``source`` (a dependency's forecast bar) to the start of
    ``target`` (its dependant's): right, down, right when the dependant starts after its
    dependency ends; otherwise around, through the gap above the dependant's row."""
    x1, y1 = source.x + source.width, source_row.middle
    x2, y2 = target.x, target_row.middle
    if x2 - x1 >= 2 * ELBOW_PX:
        return f"M{x1:g},{y1} H{x1 + ELBOW_PX:g} V{y2} H{x2:g}"
    gap = target_row.top if y2 > y1 else target_row.top + ROW_PX
    return f"M{x1:g},{y1} H{x1 + ELBOW_PX:g} V{gap} H{x2 - ELBOW_PX:g} V{y2} H{x2:g}"


def _named(keys: Sequence[str], by_key: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Milestone keys as id, key and title, for links that read as names."""
    return [
        {"id": by_key[key]["id"], "key": key, "title": by_key[key]["title"]}
        for key in keys
        if key in by_key
    ]


def gantt_build(plan: Mapping[str, Any], *, today: dt.date, zoom: str | None = None) -> Gantt:
    """The timeline of ``plan`` (``plan_report_data``'s shape) at ``zoom`` (``zoom_parse``).

    Rows follow the plan's order, a heading row before each phase; each milestone row carries
    its ``dependencies`` (id, key, title) and the arrows run from every dependency's forecast
    end to the dependant's forecast start.
    """
    level = zoom_parse(zoom)
    start, end = _range(plan, today)
    days = max((end - start).days, 1)
    wanted = ZOOMS.get(level) or round(FIT_PX / days, 3)
    # Coarser than asked when the track would be too wide; never so fine it rounds to nothing.
    per_day = max(min(wanted, math.floor(MAX_TRACK_PX / days * 1000) / 1000), MIN_PX_PER_DAY)
    gantt = Gantt(
        zoom=level,
        start=start,
        days=days,
        px_per_day=per_day,
        rows=[],
        ticks=[],
        arrows=[],
        today_x=None,
    )
    gantt.ticks = _ticks(gantt, end)
    gantt.today_x = gantt.x(today) if start <= today <= end else None
    by_key = {milestone["key"]: milestone for milestone in plan["milestones"]}
    gantt.critical_path = _named(plan.get("critical_path") or [], by_key)
    row_of: dict[str, GanttRow] = {}
    phase: tuple[str, str] | None = None
    for milestone in plan["milestones"]:
        if (milestone["playbook"], milestone["phase"]) != phase:
            phase = (milestone["playbook"], milestone["phase"])
            gantt.rows.append(GanttRow(top=gantt.height, phase_title=milestone["phase_title"]))
        due = _day(milestone["forecast_due"])
        slack = max(milestone["slack_days"], 0)
        row = GanttRow(
            top=gantt.height,
            milestone=milestone,
            planned=gantt.span(_day(milestone["planned_start"]), _day(milestone["planned_due"])),
            forecast=gantt.span(_day(milestone["forecast_start"]), due),
            slack=gantt.span(due, due + dt.timedelta(days=slack)) if due and slack else None,
            late_days=(
                (due - planned_due).days
                if due and (planned_due := _day(milestone["planned_due"])) and due > planned_due
                else 0
            ),
            dependencies=_named(milestone["depends_on"], by_key),
            started_before=_named(milestone.get("started_before_dependencies") or [], by_key),
            done_before=_named((milestone.get("override") or {}).get("dependencies") or [], by_key),
        )
        gantt.rows.append(row)
        row_of[milestone["key"]] = row
    for row in gantt.rows:
        if row.milestone is None or row.forecast is None:
            continue
        for dependency in row.dependencies:
            source = row_of[dependency["key"]]
            if source.forecast is not None:
                gantt.arrows.append(
                    {
                        "path": _arrow(source.forecast, source, row.forecast, row),
                        "critical": bool(row.milestone["critical"])
                        and bool(source.milestone and source.milestone["critical"]),
                        "from": dependency["key"],
                        "to": row.milestone["key"],
                    }
                )
    return gantt


def milestone_moves(
    milestones: Sequence[Mapping[str, Any]],
    *,
    transitions: Mapping[str, Sequence[str]],
) -> dict[int, list[str]]:
    """Per milestone id, the statuses the workflow lets it move to (``transitions`` is
    ``transform.plans.workflow.ALLOWED_TRANSITIONS``)."""
    return {
        milestone["id"]: list(transitions.get(milestone["status"], ())) for milestone in milestones
    }
