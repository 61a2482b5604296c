"""``python manage.py plan_report ID [--format text|json]``: a transformation's plan report."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import NotFoundError
from transform.plans.selectors import transformation_get, transformation_plan_get
from transform.plans.serializers import plan_report_data


class Command(BaseCommand):
    help = (
        "Print a transformation's plan: every milestone with its phase, owner, planned and "
        "forecast dates, status, dependencies, slack, whether it is on the critical path, its "
        "exit-criteria results and any override; plus the planned and forecast end. JSON shape: "
        "docs/transformations.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", help="Transformation id (printed by start_transformation).")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            transformation = transformation_get(transformation_id=options["id"])
        except NotFoundError as exc:
            raise CommandError(exc.message) from None
        plan = plan_report_data(transformation_plan_get(transformation=transformation))
        if options["format"] == "json":
            self.stdout.write(json.dumps(plan, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(plan_text(plan))


def plan_text(plan: dict[str, Any]) -> str:
    """The plan report for a terminal: a header, one table row per milestone, then its criteria."""
    lead = plan["lead_change_agent"]
    sponsor = plan["sponsor"]
    lines = [
        f"Transformation {plan['id']}: {plan['title']} ({plan['organization']})",
        "Playbooks: " + ", ".join(f"{p['key']}@{p['version']}" for p in plan["playbooks"]),
        f"Lead change agent: {lead['name']} <{lead['email']}>"
        + (f"; sponsor: {sponsor['name']} <{sponsor['email']}>" if sponsor else ""),
        f"Start {plan['start_date']}, planned end {plan['planned_end']}, "
        f"forecast end {plan['forecast_end']}",
        "Critical path: " + (" -> ".join(plan["critical_path"]) or "-"),
        "",
    ]
    header = ("", "KEY", "STATUS", "OWNER", "START", "DUE", "FORECAST", "SLACK")
    rows = [
        (
            "*" if m["critical"] else "",
            m["key"],
            m["status"],
            m["owner"]["email"],
            m["planned_start"] or "",
            m["planned_due"] or "",
            m["forecast_due"] or "",
            str(m["slack_days"]),
        )
        for m in plan["milestones"]
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines.append(
        "  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()
    )
    for milestone, row in zip(plan["milestones"], rows, strict=True):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        detail = [milestone["title"]]
        detail.append(f"phase {milestone['phase']}, owner {milestone['owner']['name']}")
        if milestone["depends_on"]:
            detail.append("after " + ", ".join(milestone["depends_on"]))
        lines.append("    " + "; ".join(detail))
        if milestone["status_reason"]:
            lines.append(f"    reason: {milestone['status_reason']}")
        for result in milestone["exit_criteria"]:
            lines.append(f"    [{result['status']}] {result['message']}")
        if milestone["override"]:
            override = milestone["override"]
            lines.append(f"    OVERRIDE by {override['by']}: {override['reason']}")
    lines.append("")
    lines.append("* = on the critical path")
    return "\n".join(lines)
