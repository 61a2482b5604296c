"""``python manage.py analyze_org SLUG [--format text|json] [--as-of DATE]``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from teams.analysis import (
    FINDING_KIND_LABELS,
    InvalidThresholdsError,
    metric_label,
    metric_texts,
)
from teams.management.arguments import as_of_argument, organization_argument
from teams.selectors import org_analysis_get, team_list


class Command(BaseCommand):
    help = (
        "Analyse an organisation's graph: metrics and findings (bottlenecks, ops silos, missing "
        "roles, cognitive load, long collaborations, unclassified teams, team sizes), now or as "
        "of a past date. Rules and thresholds: docs/analysis.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organisation's slug.")
        parser.add_argument(
            "--format",
            choices=["text", "json"],
            default="text",
            help="A readable report (default) or the JSON of the API.",
        )
        parser.add_argument(
            "--as-of",
            dest="as_of",
            metavar="DATE",
            help="Analyse the topology as it was then: YYYY-MM-DD (end of that day, UTC) or an "
            "ISO 8601 datetime.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = as_of_argument(options["as_of"]) if options["as_of"] else None
        slug = options["slug"]
        organization = organization_argument(slug)
        try:
            report = org_analysis_get(organization=organization, as_of=as_of)
        except InvalidThresholdsError as exc:
            raise CommandError(f"Organisation '{slug}': {exc}") from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(report, indent=2))
        else:
            names = dict(team_list(organization=organization).values_list("slug", "name"))
            self.stdout.write(render_text(report, team_names=names))


def render_text(report: dict[str, Any], *, team_names: dict[str, str] | None = None) -> str:
    """The report as plain text: metrics first, then findings in their order (worst first).
    Teams and people read by name, with the slug or e-mail an operator types in brackets."""
    names = team_names or {}
    metrics = report["metrics"]
    lines = [f"Analysis of {report['organization']} as of {report['as_of']}", "", "Metrics"]
    # Each metric in words ("1 of 3 stream-aligned teams has a DevOps buddy (33%)"); the exact
    # numbers are in --format json.
    for key, text in metric_texts(metrics).items():
        lines.append(f"  {metric_label(key)}: {text}")
    findings = report["findings"]
    lines += ["", f"Findings ({len(findings)})"]
    if not findings:
        lines.append("  None: the graph shows no known anti-pattern.")
    for number, finding in enumerate(findings, start=1):
        subjects = ", ".join(_subject(subject, names) for subject in finding["subjects"])
        kind = FINDING_KIND_LABELS.get(finding["kind"], finding["kind"])
        lines += [
            "",
            f"{number}. [{finding['severity'].upper()}] {kind}",
            f"   Subjects: {subjects}",
            f"   {finding['explanation']}",
            f"   Suggested playbook: {finding['suggested_playbook'] or 'none'}",
        ]
    return "\n".join(lines)


def _subject(subject: dict[str, Any], team_names: dict[str, str]) -> str:
    if subject["type"] == "team":
        slug = subject["slug"]
        name = team_names.get(slug, slug)
        return f"team {name}" if name == slug else f"team {name} ({slug})"
    email = subject.get("email", "")
    name = subject.get("name") or email
    return f"person {name}" if name == email else f"person {name} <{email}>"
