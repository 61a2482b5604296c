"""Campaign progress: the share of teams passing each of a transformation's graph exit criteria,
week by week, as a burn-up (docs/web-plan.md, "Progress burn-up").

An exit criterion judges the organisation as a whole ("every stream-aligned team has a DevOps
buddy": pass or fail). Its progress is the share of the teams it asks about that already meet it:
stream-aligned teams with a buddy, platform teams with a product owner, teams whose work reaches
no gatekeeper through tickets, teams that are not ops silos, and so on (``SHARE_RULES``). Signal
thresholds are about the organisation's readings, not about teams: they have no line.

A past day's point comes from the topology history (``teams.history.org_snapshots_at``, one
read of the history tables up to the last missing past day, whatever the number of points). It
never changes, so it is cached for a long time under the organisation, the criterion and the day
(and the code, thresholds and time zone that computed it). Today's point is the live graph, read
as the exit criteria's verdicts read it (``org_snapshot_get``, the cached live analysis, the
live former-silo rule), so the two agree; it is cached under the live analysis's key (the
topology version), so an enacted change shows on the next load. A page with every point cached
reads one query.

The share computation (``criterion_share``) is pure: it takes a snapshot, its analysis report
and the former silos (teams that had been ops silos or took over one's work).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

from django.core.cache import cache

from playbooks import criteria as criteria_module
from playbooks.criteria import GRAPH_CHECK_ALIASES
from teams import analysis, graph, history
from teams.analysis import (
    OPS_SILO,
    PLATFORM,
    STREAM_ALIGNED,
    TICKET_DEPENDENCY,
    InvalidThresholdsError,
    analyze_snapshot,
)
from teams.graph import OrgSnapshot
from teams.history import org_snapshots_at
from teams.models import Organization
from teams.selectors import (
    AnalysisKey,
    org_analysis_key_get,
    org_snapshot_get,
    snapshot_analysis_get,
)
from teams.zones import organization_zone
from transform.plans.selectors import former_silos_get

# Days before the transformation's start the chart begins: the topology as it was before.
LEAD_IN_DAYS: Final = 14
# At most this many points: a long transformation is drawn every second (third...) week.
MAX_POINTS: Final = 60
# A past point never changes; the timeout only frees memory.
PAST_POINT_TIMEOUT: Final = 90 * 24 * 60 * 60
TODAY_POINT_TIMEOUT: Final = 24 * 60 * 60

# A cached point depends on the code that computed it as well as on the history.
_CODE: Final = hashlib.sha256(
    b"".join(
        Path(module.__file__ or "").read_bytes()
        for module in (analysis, graph, history, criteria_module)
    )
    + Path(__file__).read_bytes()
).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Share:
    passing: int
    total: int

    @property
    def percent(self) -> float | None:
        """The share in percent, one decimal; None when no team is asked (no point)."""
        return round(self.passing / self.total * 100, 1) if self.total else None


@dataclass(frozen=True, slots=True)
class ShareRule:
    label: str  # the line's name: "Stream-aligned teams with a DevOps buddy"
    needs_analysis: bool
    share: Callable[[OrgSnapshot, dict[str, Any] | None, frozenset[str]], Share]
    needs_former_silos: bool = False


def _team_subjects(finding: dict[str, Any], *, first_only: bool) -> list[str]:
    slugs = [s["slug"] for s in finding["subjects"] if s["type"] == "team"]
    return slugs[:1] if first_only else slugs


def _named(report: dict[str, Any] | None, kind: str, *, first_only: bool = True) -> set[str]:
    """Teams the findings of ``kind`` are about (their first team subject, or all of them)."""
    return {
        slug
        for finding in (report or {}).get("findings", [])
        if finding["kind"] == kind
        for slug in _team_subjects(finding, first_only=first_only)
    }


def _of_type(snapshot: OrgSnapshot, team_type: str | None) -> list[str]:
    return [t.slug for t in snapshot.teams if team_type is None or t.type == team_type]


def _finding_share(
    kind: str, *, team_type: str | None = None, first_only: bool = True
) -> Callable[[OrgSnapshot, dict[str, Any] | None, frozenset[str]], Share]:
    def share(
        snapshot: OrgSnapshot, report: dict[str, Any] | None, _silos: frozenset[str]
    ) -> Share:
        asked = _of_type(snapshot, team_type)
        failing = _named(report, kind, first_only=first_only)
        return Share(sum(1 for slug in asked if slug not in failing), len(asked))

    return share


def _no_tickets_to_gatekeepers(
    snapshot: OrgSnapshot, _report: dict[str, Any] | None, former_silos: frozenset[str]
) -> Share:
    """Teams (ops silos aside) none of whose work waits on a gatekeeper through tickets: an ops
    silo, a platform team or a former silo (``playbooks.criteria``'s rule)."""
    types = {team.slug: team.type for team in snapshot.teams}
    gatekeepers = {slug for slug, kind in types.items() if kind in (OPS_SILO, PLATFORM)}
    gatekeepers |= former_silos & set(types)
    waiting = {
        edge.source
        for edge in snapshot.interactions
        if edge.mode == TICKET_DEPENDENCY and edge.target in gatekeepers
    }
    asked = [slug for slug, kind in types.items() if kind != OPS_SILO]
    return Share(sum(1 for slug in asked if slug not in waiting), len(asked))


def _not_silos(
    snapshot: OrgSnapshot, _report: dict[str, Any] | None, _silos: frozenset[str]
) -> Share:
    return Share(sum(1 for t in snapshot.teams if t.type != OPS_SILO), len(snapshot.teams))


# Graph check -> how its share of teams is counted. Every check of GRAPH_CHECKS has one (an
# alias through GRAPH_CHECK_ALIASES).
SHARE_RULES: Final[dict[str, ShareRule]] = {
    "no_ticket_dependencies_on_gatekeepers": ShareRule(
        "Teams whose work reaches no gatekeeper through tickets",
        False,
        _no_tickets_to_gatekeepers,
        needs_former_silos=True,
    ),
    "every_stream_team_has_devops_buddy": ShareRule(
        "Stream-aligned teams with a DevOps buddy",
        True,
        _finding_share("missing_devops_buddy", team_type=STREAM_ALIGNED),
    ),
    "platform_team_has_product_owner": ShareRule(
        "Platform teams with a product owner",
        True,
        _finding_share("missing_product_owner", team_type=PLATFORM),
    ),
    "no_person_bottlenecks": ShareRule(
        "Teams without a person who is a bottleneck",
        True,
        _finding_share("person_bottleneck", first_only=False),
    ),
    "no_long_running_collaborations": ShareRule(
        "Teams without an overrunning collaboration",
        True,
        _finding_share("long_running_collaboration", first_only=False),
    ),
    "ops_silos_merged": ShareRule("Teams that are not ops silos", False, _not_silos),
    "no_team_bottlenecks": ShareRule(
        "Teams that are not a bottleneck", True, _finding_share("team_bottleneck")
    ),
    "no_cognitive_overload": ShareRule(
        "Teams within their cognitive load", True, _finding_share("cognitive_load")
    ),
    "every_team_classified": ShareRule(
        "Teams with a Team Topologies type", True, _finding_share("unclassified_team")
    ),
}


def check_of(name: str) -> str:
    """The graph check ``name`` runs (an alias's target)."""
    return GRAPH_CHECK_ALIASES.get(name, name)


def criterion_share(
    check: str,
    *,
    snapshot: OrgSnapshot,
    report: dict[str, Any] | None,
    former_silos: frozenset[str] = frozenset(),
) -> Share:
    """The share of teams passing graph check ``check`` (or its alias) in ``snapshot``.

    ``report`` is the snapshot's analysis (``analyze_snapshot``), needed by the checks whose
    rule has ``needs_analysis``; ``former_silos`` the slugs of teams that had been ops silos or
    took over one's work through a merge or split (``teams.history.PastTopology``).
    ``ValueError`` for an unknown check."""
    rule = SHARE_RULES.get(check_of(check))
    if rule is None:
        raise ValueError(f"unknown graph check {check!r}")
    return rule.share(snapshot, report, former_silos)


@dataclass(frozen=True, slots=True)
class CriteriaSplit:
    checks: list[str]  # graph checks (aliases resolved), each once, in order of appearance
    signals: list[dict[str, Any]]  # signal thresholds, each once


def criteria_split(criteria: Iterable[dict[str, Any]]) -> CriteriaSplit:
    checks: list[str] = []
    signals: list[dict[str, Any]] = []
    for criterion in criteria:
        if "graph" in criterion:
            check = check_of(criterion["graph"])
            if check in SHARE_RULES and check not in checks:
                checks.append(check)
        elif "signal" in criterion and criterion not in signals:
            signals.append(dict(criterion))
    return CriteriaSplit(checks=checks, signals=signals)


def progress_days(*, start_date: dt.date, today: dt.date) -> list[dt.date]:
    """Weekly days from ``LEAD_IN_DAYS`` before ``start_date`` up to today (today last), at
    most ``MAX_POINTS`` (every n-th week for a long transformation)."""
    first = start_date - dt.timedelta(days=LEAD_IN_DAYS)
    weeks = max((today - first).days // 7 + 1, 0) if first < today else 0
    step = -(-weeks // (MAX_POINTS - 1)) if weeks else 1
    days = [first + dt.timedelta(weeks=week) for week in range(0, weeks, step)]
    return [day for day in days if day < today] + [today]


@dataclass
class ProgressLine:
    check: str
    label: str
    points: list[Share | None] = field(default_factory=list)  # None: no history yet


@dataclass
class Progress:
    days: list[dt.date]
    lines: list[ProgressLine]
    signals: list[dict[str, Any]]
    error: str = ""

    def chart_data(self) -> dict[str, Any]:
        """The chart's JSON: day labels and, per line, its percentages (null for no point)."""
        return {
            "labels": [day.isoformat() for day in self.days],
            "lines": [
                {
                    "label": line.label,
                    "points": [share.percent if share else None for share in line.points],
                }
                for line in self.lines
            ],
        }


def _settings_digest(organization: Organization) -> str:
    """What a past point depends on besides the history: the thresholds, the code, and the time
    zone (a day's point is the topology at midnight ending it, in the organisation's zone)."""
    text = json.dumps(
        [organization.analysis_thresholds, _CODE, organization.time_zone],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _past_key(organization: Organization, digest: str, check: str, day: dt.date) -> str:
    return f"plans:progress:{organization.pk}:{digest}:{check}:{day.isoformat()}"


def transformation_progress_get(
    *,
    organization: Organization,
    start_date: dt.date,
    criteria: Iterable[dict[str, Any]],
    today: dt.date,
) -> Progress:
    """The burn-up of ``criteria`` (a transformation's exit criteria) from ``LEAD_IN_DAYS``
    before ``start_date`` to ``today`` (the organisation's day now): each past day's point as
    the topology stood at the end of that day in the organisation's zone, today's as the live
    graph stands.

    Queries: one (the topology version) when every point is cached; eight more (the history
    tables and the lineage) when a past point is missing, whatever the number of points, teams
    or criteria; the live snapshot's, and the former silos' for the tickets check, when today's
    point is missing."""
    split = criteria_split(criteria)
    days = progress_days(start_date=start_date, today=today)
    lines = [ProgressLine(check, SHARE_RULES[check].label) for check in split.checks]
    progress = Progress(days=days, lines=lines, signals=split.signals)
    if not lines:
        return progress
    digest = _settings_digest(organization)
    # Read before the live snapshot: a point computed after a write never goes under the old key.
    live_key = org_analysis_key_get(organization=organization)
    today_prefix = f"{live_key.at(today)}:progress:{_CODE}"
    keys = {
        (check, day): (
            f"{today_prefix}:{check}"
            if day == today
            else _past_key(organization, digest, check, day)
        )
        for check in split.checks
        for day in days
    }
    cached: dict[str, Any] = cache.get_many(list(keys.values()))
    missing = sorted({day for (check, day), key in keys.items() if key not in cached})
    try:
        past = _past_points(organization, split.checks, [day for day in missing if day < today])
        live = _live_points(organization, split.checks, live_key) if today in missing else {}
    except InvalidThresholdsError as exc:
        progress.error = f"The organisation's analysis_thresholds are invalid: {exc}"
        return progress
    fresh_past = {keys[check, day]: value for (check, day), value in past.items()}
    fresh_today = {keys[check, today]: value for check, value in live.items()}
    cache.set_many(fresh_past, PAST_POINT_TIMEOUT)
    cache.set_many(fresh_today, TODAY_POINT_TIMEOUT)
    cached.update(fresh_past)
    cached.update(fresh_today)
    for line in lines:
        for day in days:
            passing, total = cached[keys[(line.check, day)]]
            line.points.append(Share(passing, total) if total else None)
    return progress


def _points(
    checks: list[str],
    snapshot: OrgSnapshot,
    analyze: Callable[[], dict[str, Any]],
    former_silos: Callable[[], Iterable[str]],
) -> dict[str, list[int]]:
    """[passing, total] of each of ``checks`` on ``snapshot``. Its analysis and its former silos
    are asked for only when a check's rule reads them and there are teams (no query else)."""
    rules = [SHARE_RULES[check] for check in checks]
    report = analyze() if snapshot.teams and any(r.needs_analysis for r in rules) else None
    silos = (
        frozenset(former_silos())
        if snapshot.teams and any(r.needs_former_silos for r in rules)
        else frozenset()
    )
    found: dict[str, list[int]] = {}
    for check in checks:
        share = criterion_share(check, snapshot=snapshot, report=report, former_silos=silos)
        found[check] = [share.passing, share.total]
    return found


def _past_points(
    organization: Organization, checks: list[str], days: list[dt.date]
) -> dict[tuple[str, dt.date], list[int]]:
    """The points of ``days`` (all before today), from one replay of the history that ends at
    the end of the last of them. Raises ``InvalidThresholdsError``."""
    if not days:
        return {}
    zone = organization_zone(organization)
    moments = [
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone) for day in days
    ]
    found: dict[tuple[str, dt.date], list[int]] = {}
    replayed = org_snapshots_at(organization=organization, moments=moments)
    for day, past in zip(days, replayed, strict=True):
        points = _points(
            checks,
            past.snapshot,
            partial(analyze_snapshot, past.snapshot, today=day),
            partial(frozenset, past.former_silos),
        )
        found.update({(check, day): value for check, value in points.items()})
    return found


def _live_points(
    organization: Organization, checks: list[str], key: AnalysisKey
) -> dict[str, list[int]]:
    """Today's points from the live graph, read as the exit criteria's verdicts read it (the
    same snapshot, the same cached analysis, the same former silos), so the two agree. Raises
    ``InvalidThresholdsError``."""
    snapshot = org_snapshot_get(organization=organization)
    return _points(
        checks,
        snapshot,
        partial(snapshot_analysis_get, snapshot=snapshot, key=key),
        partial(former_silos_get, organization=organization),
    )
