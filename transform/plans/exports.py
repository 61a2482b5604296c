"""The plan report and the findings list as spreadsheets (docs/integrations.md, "Spreadsheets").

The plan has the columns of ``plan_report`` (one row per milestone, in plan order), as CSV and
as XLSX; the findings list (the analysis the findings page shows) as CSV. Every cell goes through
``core.files.spreadsheets``, which keeps formula-looking text from ever being run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from core.files.spreadsheets import Cell, csv_text, xlsx_bytes

PLAN_COLUMNS: Final = (
    "key",
    "title",
    "playbook",
    "phase",
    "phase_title",
    "owner_name",
    "owner_email",
    "owner_role",
    "status",
    "status_reason",
    "duration_days",
    "planned_start",
    "planned_due",
    "forecast_start",
    "forecast_due",
    "started_on",
    "done_on",
    "slack_days",
    "critical",
    "depends_on",
    "started_before_dependencies",
    "exit_criteria",
    "exit_criteria_passed",
    "exit_criteria_failed",
    "exit_criteria_unknown",
    "override",
)
PLAN_DATE_COLUMNS: Final = frozenset(
    {"planned_start", "planned_due", "forecast_start", "forecast_due", "started_on", "done_on"}
)

FINDING_COLUMNS: Final = (
    "kind",
    "severity",
    "subjects",
    "explanation",
    "suggested_playbook",
    "impact",
)


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def plan_rows(plan: Mapping[str, Any]) -> list[list[Cell]]:
    """One row per milestone of ``plan`` (``plan_report_data``'s shape), in ``PLAN_COLUMNS``'
    order: dates as dates, counts as numbers, lists joined with ", "."""
    rows: list[list[Cell]] = []
    for milestone in plan["milestones"]:
        results = milestone["exit_criteria"]
        statuses = [result["status"] for result in results]
        override = milestone["override"]
        values: dict[str, Cell] = {
            "key": milestone["key"],
            "title": milestone["title"],
            "playbook": milestone["playbook"],
            "phase": milestone["phase"],
            "phase_title": milestone["phase_title"],
            "owner_name": milestone["owner"]["name"],
            "owner_email": milestone["owner"]["email"],
            "owner_role": milestone["owner_role"],
            "status": milestone["status"],
            "status_reason": milestone["status_reason"],
            "duration_days": milestone["duration_days"],
            "slack_days": milestone["slack_days"],
            "critical": bool(milestone["critical"]),
            "depends_on": ", ".join(milestone["depends_on"]),
            "started_before_dependencies": ", ".join(milestone["started_before_dependencies"]),
            "exit_criteria": "; ".join(
                f"[{result['status']}] {result['message']}" for result in results
            ),
            "exit_criteria_passed": statuses.count("pass"),
            "exit_criteria_failed": statuses.count("fail"),
            "exit_criteria_unknown": statuses.count("unknown"),
            "override": f"{override['by'] or 'unknown'}: {override['reason']}" if override else "",
        }
        for name in PLAN_DATE_COLUMNS:
            values[name] = _day(milestone[name])
        rows.append([values[name] for name in PLAN_COLUMNS])
    return rows


def plan_csv(plan: Mapping[str, Any]) -> str:
    """The plan as CSV text: ``PLAN_COLUMNS`` then a line per milestone."""
    return csv_text(PLAN_COLUMNS, plan_rows(plan))


def plan_xlsx(plan: Mapping[str, Any]) -> bytes:
    """The plan as an XLSX workbook of one sheet, "Plan": the same columns and rows as the CSV,
    with date cells for dates."""
    return xlsx_bytes(title="Plan", header=PLAN_COLUMNS, rows=plan_rows(plan))


def plan_file_name(plan: Mapping[str, Any], extension: str) -> str:
    return f"plan-{plan['organization']}-{plan['id']}.{extension}"


def _subject(subject: Mapping[str, str], team_names: Mapping[str, str]) -> str:
    if subject.get("type") == "team":
        slug = subject.get("slug", "")
        name = team_names.get(slug, slug)
        return f"{name} ({slug})" if name != slug else slug
    email = subject.get("email", "")
    name = subject.get("name") or email
    return f"{name} ({email})" if name != email else email


def finding_rows(
    findings: Sequence[Mapping[str, Any]], *, team_names: Mapping[str, str]
) -> list[list[Cell]]:
    """One row per finding, in ``FINDING_COLUMNS``' order; subjects joined with "; "."""
    return [
        [
            finding["kind"],
            finding["severity"],
            "; ".join(_subject(subject, team_names) for subject in finding["subjects"]),
            finding["explanation"],
            finding["suggested_playbook"] or "",
            finding["impact"],
        ]
        for finding in findings
    ]


def findings_csv(findings: Sequence[Mapping[str, Any]], *, team_names: Mapping[str, str]) -> str:
    """The findings as CSV text: ``FINDING_COLUMNS`` then a line per finding."""
    return csv_text(FINDING_COLUMNS, finding_rows(findings, team_names=team_names))
