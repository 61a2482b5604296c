"""The graph checks of one team, as a scorecard (docs/web.md, "Team page" and "Scorecard").

Each check passes, fails or does not apply to the team, with a one-line why. The rules are the
analysis's (``teams.analysis``): a check reads the team's findings from the organisation's report
and the team's own topology, so the team page and the organisation's grid agree with the findings
page. The team is a ``Team`` with its memberships and its outgoing interactions (with their
targets) prefetched: no query is run here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from teams.analysis import AnalysisThresholds
from teams.models import InteractionMode, MembershipRole, Team, TeamType


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    title: str
    passed: bool | None  # None: does not apply to this team
    why: str


@dataclass(frozen=True, slots=True)
class CheckKind:
    """One column of the grid: the check, which teams it asks, and how its total reads
    ("4 of 6 stream-aligned teams have a DevOps buddy")."""

    key: str
    title: str
    population: tuple[str, str]  # singular, plural: "stream-aligned team(s)"
    verb: tuple[str, str]  # singular, plural: "has/have a DevOps buddy"


CHECK_KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        "devops_buddy",
        "Has a DevOps buddy",
        ("stream-aligned team", "stream-aligned teams"),
        ("has a DevOps buddy", "have a DevOps buddy"),
    ),
    CheckKind(
        "product_owner",
        "Has a product owner",
        ("platform team", "platform teams"),
        ("has a product owner", "have a product owner"),
    ),
    CheckKind(
        "no_tickets_into_silos",
        "No ticket dependencies into ops silos",
        ("team", "teams"),
        ("sends no tickets into an ops silo", "send no tickets into an ops silo"),
    ),
    CheckKind(
        "cognitive_load",
        "Cognitive load within capacity",
        ("team", "teams"),
        ("is within its cognitive load", "are within their cognitive load"),
    ),
    CheckKind(
        "team_size",
        "Team size within limits",
        ("team judged", "teams judged"),
        ("is within the size limits", "are within the size limits"),
    ),
)


@dataclass(frozen=True, slots=True)
class CheckTotal:
    kind: CheckKind
    passed: int
    judged: int  # teams the check applies to

    @property
    def sentence(self) -> str:
        """ "4 of 6 stream-aligned teams have a DevOps buddy"; "No platform team to check"."""
        if self.judged == 0:
            return f"No {self.kind.population[0]} to check"
        plural = self.judged != 1
        return (
            f"{self.passed} of {self.judged} {self.kind.population[plural]} "
            f"{self.kind.verb[self.passed != 1 and plural]}"
        )

    @property
    def percent(self) -> int | None:
        return round(self.passed / self.judged * 100) if self.judged else None


def scorecard_totals(scorecards: Iterable[Sequence[Check]]) -> list[CheckTotal]:
    """Per check kind, how many teams pass it of those it applies to (a check that does not
    apply to a team, ``passed is None``, is not counted)."""
    passed = {kind.key: 0 for kind in CHECK_KINDS}
    judged = {kind.key: 0 for kind in CHECK_KINDS}
    for checks in scorecards:
        for check in checks:
            if check.passed is None or check.key not in judged:
                continue
            judged[check.key] += 1
            passed[check.key] += int(check.passed)
    return [CheckTotal(kind, passed[kind.key], judged[kind.key]) for kind in CHECK_KINDS]


def team_findings(report: dict[str, Any] | None, slug: str) -> list[dict[str, Any]]:
    """The findings of the analysis ``report`` that name the team ``slug``."""
    if report is None:
        return []
    return [
        finding
        for finding in report["findings"]
        if any(s["type"] == "team" and s.get("slug") == slug for s in finding["subjects"])
    ]


def findings_by_team(report: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """The analysis ``report``'s findings per team slug they name (one pass over the report)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"] if report else []:
        slugs = {s["slug"] for s in finding["subjects"] if s["type"] == "team" and s.get("slug")}
        for slug in slugs:
            found.setdefault(slug, []).append(finding)
    return found


def team_scorecard(
    *, team: Team, findings: list[dict[str, Any]], thresholds: AnalysisThresholds | None
) -> list[Check]:
    """The graph checks for one team, pass or fail with a one-line why: the same rules as the
    analysis's findings (``teams.analysis``), read from the team's findings and its topology."""
    kinds = {finding["kind"]: finding for finding in findings}
    roles = {membership.role for membership in team.memberships.all()}
    size = len(team.memberships.all())
    checks: list[Check] = []

    if team.type == TeamType.STREAM_ALIGNED:
        has = MembershipRole.DEVOPS_BUDDY in roles
        checks.append(
            Check(
                "devops_buddy",
                "Has a DevOps buddy",
                has,
                "A member is its DevOps buddy."
                if has
                else "No member is its DevOps buddy; operations work waits on others.",
            )
        )
    else:
        checks.append(
            Check(
                "devops_buddy",
                "Has a DevOps buddy",
                None,
                "Asked of stream-aligned teams only.",
            )
        )
    if team.type == TeamType.PLATFORM:
        has = MembershipRole.PRODUCT_OWNER in roles
        checks.append(
            Check(
                "product_owner",
                "Has a product owner",
                has,
                "A member is its product owner."
                if has
                else "No member is its product owner; its roadmap follows tickets.",
            )
        )
    else:
        checks.append(
            Check("product_owner", "Has a product owner", None, "Asked of platform teams only.")
        )

    silos = sorted(
        edge.target.name
        for edge in team.outgoing_interactions.all()
        if edge.mode == InteractionMode.TICKET_DEPENDENCY and edge.target.type == TeamType.OPS_SILO
    )
    checks.append(
        Check(
            "no_tickets_into_silos",
            "No ticket dependencies into ops silos",
            not silos,
            f"Waits on {', '.join(silos)} through tickets."
            if silos
            else "None of its work waits in an ops silo's ticket queue.",
        )
    )

    load = kinds.get("cognitive_load")
    checks.append(
        Check(
            "cognitive_load",
            "Cognitive load within capacity",
            load is None,
            "Its load is within what its members can carry."
            if load is None
            else f"Over capacity ({load['severity']} severity): see the finding below.",
        )
    )

    sized = kinds.get("team_size")
    if thresholds is not None:
        limits = f"{thresholds.team_size_min} to {thresholds.team_size_max} people"
    else:
        limits = "the organisation's limits"
    if sized is not None:
        checks.append(
            Check(
                "team_size",
                "Team size within limits",
                False,
                f"{size} {'member' if size == 1 else 'members'}, outside {limits}.",
            )
        )
    elif team.type == TeamType.OPS_SILO or size == 0:
        checks.append(
            Check(
                "team_size",
                "Team size within limits",
                None,
                "Not judged: no recorded members."
                if size == 0
                else "Not judged for an ops silo: dissolving it is the fix.",
            )
        )
    else:
        checks.append(
            Check(
                "team_size",
                "Team size within limits",
                True,
                f"{size} {'member' if size == 1 else 'members'}, within {limits}.",
            )
        )
    return checks
