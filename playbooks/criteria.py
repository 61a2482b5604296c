"""Exit criteria: is a milestone really done, judged from the organisation graph and signals.

Pure computation on plain values: graph checks read a ``teams.graph.OrgSnapshot`` (reusing the
findings of ``teams.analysis``), signal thresholds read the latest organisation-level reading
through a lookup function, and nothing here imports Django. The vocabulary, every rule and the
result shape are documented in ``docs/exit-criteria.md``; keep the two in step.

The guiding rule: a criterion never passes without data. A missing reading, too few respondents,
an empty graph or a graph where the rule has nothing to look at reports ``unknown``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from teams.analysis import (
    COLLABORATION,
    OPS_SILO,
    PLATFORM,
    STREAM_ALIGNED,
    TICKET_DEPENDENCY,
    InvalidThresholdsError,
    analyze_snapshot,
)
from teams.graph import OrgSnapshot

# The closed vocabulary of graph checks, in the order the docs describe them.
# An alias (last in the tuple) is accepted wherever its target is, so stored playbooks still load.
GRAPH_CHECKS: tuple[str, ...] = (
    "no_ticket_dependencies_on_gatekeepers",
    "every_stream_team_has_devops_buddy",
    "platform_team_has_product_owner",
    "no_person_bottlenecks",
    "no_long_running_collaborations",
    "ops_silos_merged",
    "no_team_bottlenecks",
    "no_cognitive_overload",
    "every_team_classified",
    "no_ticket_dependencies_on_ops_silos",
)

# Old check name -> the check it now runs. ``no_ticket_dependencies_on_ops_silos`` looked at the
# team type only, so merging the silos into a team typed ``platform`` passed it while the tickets
# still waited (issue 13); it now judges how work reaches the team, like its successor.
GRAPH_CHECK_ALIASES: dict[str, str] = {
    "no_ticket_dependencies_on_ops_silos": "no_ticket_dependencies_on_gatekeepers",
}

# The closed vocabulary of signal kinds a threshold may name; issue 4 (check-ins and readiness)
# computes them. Until a kind has a reading, criteria on it report ``unknown``.
SIGNAL_KINDS: tuple[str, ...] = (
    "westrum_score",
    "adkar_awareness",
    "adkar_desire",
    "adkar_knowledge",
    "adkar_ability",
    "adkar_reinforcement",
    "adkar_barrier",
    "platform_satisfaction",
    "checkin_confidence",
    "platform_adoption",
    "blocked_developer_hours",
    "time_to_first_deploy",
    "deployment_frequency",
    "lead_time_for_changes",
    "change_failure_rate",
    "failed_deployment_recovery_time",
    "deployment_rework_rate",
    "incidents",
    "open_tickets",
)

# ``measured`` takes no value: it passes once a reading exists (a baseline milestone's "the first
# reading is there"), which ``>= 0`` used to say while looking like a threshold that never fails.
SIGNAL_OPS: tuple[str, ...] = (">=", ">", "<=", "<", "==", "measured")

# The range each signal kind's value can take, (lowest, highest), None where unbounded
# (docs/signals.md). A threshold every possible value meets cannot fail, so it is refused.
SIGNAL_RANGES: dict[str, tuple[float | None, float | None]] = {
    "westrum_score": (1, 7),
    "adkar_awareness": (1, 5),
    "adkar_desire": (1, 5),
    "adkar_knowledge": (1, 5),
    "adkar_ability": (1, 5),
    "adkar_reinforcement": (1, 5),
    "adkar_barrier": (1, 6),  # the barrier element's position, 6 when there is none
    "platform_satisfaction": (1, 5),
    "checkin_confidence": (1, 5),
    "platform_adoption": (0, 1),
    "blocked_developer_hours": (0, None),
    "time_to_first_deploy": (0, None),
    "deployment_frequency": (0, None),
    "lead_time_for_changes": (0, None),
    "change_failure_rate": (0, 1),
    "failed_deployment_recovery_time": (0, None),
    "deployment_rework_rate": (0, 1),
    "incidents": (0, None),
    "open_tickets": (0, None),
}


def unfailable_reason(signal: str, op: str, value: float) -> str | None:
    """Why ``signal op value`` is met by every value the signal can take, None if it can fail."""
    low, high = SIGNAL_RANGES.get(signal, (None, None))
    span = f"{signal} ranges from {_number(low)} to {_number(high)}"
    if low is not None and ((op == ">=" and value <= low) or (op == ">" and value < low)):
        return f"{op} {value:g} cannot fail: {span}"
    if high is not None and ((op == "<=" and value >= high) or (op == "<" and value > high)):
        return f"{op} {value:g} cannot fail: {span}"
    if op == "==" and low is not None and low == high:
        return f"== {value:g} cannot fail: {span}"
    return None


def _number(bound: float | None) -> str:
    return "unbounded" if bound is None else f"{bound:g}"


Status = Literal["pass", "fail", "unknown"]

# How the messages name the signal kinds: a reader sees "platform satisfaction", not the code.
SIGNAL_LABELS: dict[str, str] = {
    "westrum_score": "Westrum culture score",
    "adkar_awareness": "ADKAR awareness",
    "adkar_desire": "ADKAR desire",
    "adkar_knowledge": "ADKAR knowledge",
    "adkar_ability": "ADKAR ability",
    "adkar_reinforcement": "ADKAR reinforcement",
    "adkar_barrier": "ADKAR barrier",
    "checkin_confidence": "check-in confidence",
}
# How the messages name team types (the models' labels, lower-cased inside a sentence).
_TYPE_WORDS: dict[str, str] = {
    "stream_aligned": "stream-aligned",
    "complicated_subsystem": "complicated-subsystem",
}


def signal_label(kind: str) -> str:
    """``kind`` in words ("deployment frequency", "ADKAR desire")."""
    return SIGNAL_LABELS.get(kind, kind.replace("_", " "))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class SignalReading:
    """The latest organisation-level value of one signal kind.

    ``respondents`` is how many people the value was computed from (survey-derived signals), None
    for an objective measurement such as deployment frequency.
    """

    value: float
    respondents: int | None = None
    as_of: dt.datetime | None = None
    # The first and last day (inclusive) of the period the value covers, when it covers one: the
    # page then shows which figure the verdict used, not a bare number that moves between loads.
    period: tuple[dt.date, dt.date] | None = None


# Signal kind -> its latest organisation-level reading, None when there is no data yet.
SignalLookup = Callable[[str], SignalReading | None]


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion: dict[str, Any]
    status: Status
    evidence: dict[str, Any]
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The result ready for JSON (plan reports, the API)."""
        return {
            "criterion": dict(self.criterion),
            "status": self.status,
            "message": self.message,
            "evidence": self.evidence,
        }


def validate_criteria(criteria: list[dict[str, Any]]) -> None:
    """Raises ``ValueError`` naming the position of the first unknown graph check, signal kind
    or operator, or malformed criterion (as ``evaluate_criteria`` does before evaluating)."""
    for position, criterion in enumerate(criteria):
        _validate(criterion, position=position)


def evaluate_criteria(
    criteria: list[dict[str, Any]],
    *,
    snapshot: OrgSnapshot | None,
    signals: SignalLookup,
    today: dt.date | None = None,
    former_silos: Collection[str] = (),
    analyze: Callable[[OrgSnapshot], dict[str, Any]] | None = None,
) -> list[CriterionResult]:
    """One result per criterion, in order.

    ``snapshot`` is the organisation graph to judge (live, past or a scenario's preview);
    ``signals`` returns the latest reading of a signal kind or None; ``today`` is the day the
    analysis is made as of (ages of collaborations), by default the snapshot's ``as_of`` date.
    ``former_silos`` are the slugs of teams that were an ops silo or succeeded one through a merge,
    split or rename, whatever their type now (the lineage lives in the database, not the snapshot:
    ``transform.plans.selectors`` reads it); ticket dependencies on them are gatekeeping.
    Every criterion is validated before any is evaluated: an unknown graph check, signal kind or
    operator, or a malformed criterion, raises ``ValueError`` naming its position. The playbook
    format validates the same on load; this is the second guard for criteria stored as JSON.
    The organisation analysis runs at most once per call, and only if a check needs it:
    ``analyze(snapshot)`` when given (a caller that holds the cached live analysis passes it;
    ``today`` is then ignored), else ``teams.analysis.analyze_snapshot`` as of ``today``.
    ``snapshot`` may be None when no criterion is a graph check (``ValueError`` otherwise).
    """
    validate_criteria(criteria)
    graph: _GraphFacts | None = None
    if any("graph" in criterion for criterion in criteria):
        if snapshot is None:
            raise ValueError("graph checks need the organisation's snapshot")
        if analyze is None:
            analyze = functools.partial(analyze_snapshot, today=today)
        graph = _GraphFacts(snapshot=snapshot, analyze=analyze, former_silos=former_silos)
    results = []
    for criterion in criteria:
        if graph is not None and "graph" in criterion:
            results.append(_graph_result(criterion, graph=graph))
        else:
            results.append(_signal_result(criterion, signals=signals))
    return results


def _validate(criterion: object, *, position: int) -> None:
    where = f"exit criterion {position + 1}"
    if not isinstance(criterion, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(criterion).__name__}")
    if ("graph" in criterion) == ("signal" in criterion):
        raise ValueError(f"{where}: expected exactly one of 'graph' or 'signal', got {criterion!r}")
    if "graph" in criterion:
        extra = sorted(set(criterion) - {"graph"})
        if extra:
            raise ValueError(f"{where}: unknown key(s) {', '.join(extra)} for a graph check")
        if criterion["graph"] not in GRAPH_CHECKS:
            raise ValueError(
                f"{where}: unknown graph check {criterion['graph']!r}; "
                f"expected one of {', '.join(GRAPH_CHECKS)}"
            )
        return
    extra = sorted(set(criterion) - {"signal", "op", "value", "min_respondents"})
    if criterion.get("op") == "measured" and criterion.get("value") is not None:
        extra = sorted({*extra, "value"})
    if extra:
        raise ValueError(f"{where}: unknown key(s) {', '.join(extra)} for a signal threshold")
    if criterion["signal"] not in SIGNAL_KINDS:
        raise ValueError(
            f"{where}: unknown signal kind {criterion['signal']!r}; "
            f"expected one of {', '.join(SIGNAL_KINDS)}"
        )
    if criterion.get("op") not in SIGNAL_OPS:
        raise ValueError(
            f"{where}: op must be one of {', '.join(SIGNAL_OPS)}, got {criterion.get('op')!r}"
        )
    value = criterion.get("value")
    if criterion["op"] != "measured" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise ValueError(f"{where}: value must be a finite number, got {value!r}")
    minimum = criterion.get("min_respondents")
    if minimum is not None and (
        isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1
    ):
        raise ValueError(f"{where}: min_respondents must be an integer >= 1, got {minimum!r}")


# --- signal thresholds -------------------------------------------------------------------------


_OP_SIGNS = {">=": "≥", "<=": "≤"}


def _compare(value: float, op: str, threshold: float) -> bool:
    if op == ">=":
        return value >= threshold
    if op == ">":
        return value > threshold
    if op == "<=":
        return value <= threshold
    if op == "<":
        return value < threshold
    # Readings are computed (averages, rates), so "==" tolerates floating-point noise.
    return math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-9)


def _signal_result(criterion: dict[str, Any], *, signals: SignalLookup) -> CriterionResult:
    kind = criterion["signal"]
    op = criterion["op"]
    threshold: float = criterion.get("value") or 0.0  # no value only with op measured
    minimum = criterion.get("min_respondents")
    reading = signals(kind)
    evidence: dict[str, Any] = {
        "value": None,
        "threshold": criterion.get("value"),
        "op": op,
        "respondents": None,
        "min_respondents": minimum,
        "as_of": None,
        "period": None,
    }

    def result(status: Status, message: str) -> CriterionResult:
        return CriterionResult(
            criterion=dict(criterion), status=status, evidence=evidence, message=message
        )

    # The code stays in ``criterion``; the message names the signal in words.
    words = signal_label(kind)
    said = _sentence(words)

    reason = None if op == "measured" else unfailable_reason(kind, op, threshold)
    if reason:
        # Loading a playbook refuses such a threshold; one stored before that rule never passes.
        return result("unknown", f"{said}: {reason}, so it cannot judge the milestone.")
    if reading is None:
        return result("unknown", f"No data yet for {words}.")
    evidence["respondents"] = reading.respondents
    evidence["as_of"] = reading.as_of.isoformat() if reading.as_of else None
    if reading.period is not None:
        evidence["period"] = {
            "start": reading.period[0].isoformat(),
            "end": reading.period[1].isoformat(),
        }
    if minimum is not None:
        # Below the minimum the value is withheld, not only ignored: with a handful of answers a
        # survey average can reveal what one person said.
        if reading.respondents is None:
            return result(
                "unknown",
                f"{said} has no respondent count, so its minimum of {minimum} respondents "
                "cannot be checked.",
            )
        if reading.respondents < minimum:
            return result(
                "unknown",
                f"Only {_plural(reading.respondents, 'respondent')} for {words}, "
                f"{minimum} needed before it counts.",
            )
    if not math.isfinite(reading.value):
        return result("unknown", f"{said} has no usable value ({reading.value}).")
    evidence["value"] = reading.value
    respondents = (
        f", {_plural(reading.respondents, 'respondent')}" if reading.respondents is not None else ""
    )
    if op == "measured":
        return result("pass", f"{said} is measured: {reading.value:g}{respondents}.")
    passed = _compare(reading.value, op, threshold)
    if reading.period is not None:
        start, end = reading.period
        return result(
            "pass" if passed else "fail",
            f"{said} was {reading.value:g} in the period {start.isoformat()} – {end.isoformat()}"  # noqa: RUF001 (an en dash between dates)
            f"{_so_far(reading)}{respondents}; {_OP_SIGNS.get(op, op)} {threshold:g} is required"
            f"{'' if passed else ', not met'}.",
        )
    return result(
        "pass" if passed else "fail",
        f"{said} is {reading.value:g}{respondents}; "
        f"{op} {threshold:g} is required{'' if passed else ', not met'}.",
    )


# --- graph checks ------------------------------------------------------------------------------

_FINDING_CHECKS: dict[str, str] = {
    "every_stream_team_has_devops_buddy": "missing_devops_buddy",
    "platform_team_has_product_owner": "missing_product_owner",
    "no_person_bottlenecks": "person_bottleneck",
    "no_long_running_collaborations": "long_running_collaboration",
    "no_team_bottlenecks": "team_bottleneck",
    "no_cognitive_overload": "cognitive_load",
    "every_team_classified": "unclassified_team",
}

_Verdict = tuple[Status, str, dict[str, Any]]


class _GraphFacts:
    """The snapshot plus its analysis findings by kind, analysed on first use only."""

    def __init__(
        self,
        *,
        snapshot: OrgSnapshot,
        analyze: Callable[[OrgSnapshot], dict[str, Any]],
        former_silos: Collection[str] = (),
    ) -> None:
        self.snapshot = snapshot
        self.analyze = analyze
        self.former_silos = frozenset(former_silos)
        self.team_type = {team.slug: team.type for team in snapshot.teams}
        # The messages name teams and people; the evidence keeps slugs and e-mails.
        self.team_name = {team.slug: team.name or team.slug for team in snapshot.teams}
        self.person_name = {person.email: person.name or person.email for person in snapshot.people}
        self._findings: dict[str, list[dict[str, Any]]] | None = None
        self._error: str | None = None

    def findings(self, kind: str) -> list[dict[str, Any]] | None:
        """The findings of ``kind``; None when the organisation's thresholds are invalid."""
        if self._findings is None and self._error is None:
            try:
                report = self.analyze(self.snapshot)
            except InvalidThresholdsError as exc:
                self._error = str(exc)
            else:
                self._findings = {}
                for finding in report["findings"]:
                    self._findings.setdefault(finding["kind"], []).append(finding)
        if self._findings is None:
            return None
        return self._findings.get(kind, [])

    @property
    def error(self) -> str | None:
        return self._error

    def names(self, slugs: Collection[str]) -> list[str]:
        """The teams' names (a slug no longer in the graph as itself), sorted."""
        return sorted(self.team_name.get(slug, slug) for slug in slugs)

    def name(self, slug: str) -> str:
        return self.team_name.get(slug, slug)

    def slugs_of_type(self, team_type: str) -> list[str]:
        return sorted(slug for slug, kind in self.team_type.items() if kind == team_type)


def _graph_result(criterion: dict[str, Any], *, graph: _GraphFacts) -> CriterionResult:
    name = criterion["graph"]
    status: Status
    if not graph.snapshot.teams:
        status, message, evidence = (
            "unknown",
            "The organisation graph has no teams yet; import the organisation first.",
            {"count": 0, "teams": []},
        )
    elif name in _FINDING_CHECKS and graph.findings(_FINDING_CHECKS[name]) is None:
        status, message, evidence = (
            "unknown",
            f"The organisation analysis cannot run: {graph.error}.",
            {"error": graph.error},
        )
    else:
        status, message, evidence = _GRAPH_RULES[GRAPH_CHECK_ALIASES.get(name, name)](graph)
    return CriterionResult(
        criterion=dict(criterion), status=status, evidence=evidence, message=message
    )


def _subjects(finding: dict[str, Any], subject_type: str) -> list[str]:
    key = "slug" if subject_type == "team" else "email"
    return [s[key] for s in finding["subjects"] if s["type"] == subject_type]


def _first_teams(graph: _GraphFacts, kind: str) -> list[str]:
    """The team each finding of ``kind`` is about (its first subject), sorted."""
    return sorted({_subjects(f, "team")[0] for f in graph.findings(kind) or []})


def _check_ticket_dependencies_on_gatekeepers(graph: _GraphFacts) -> _Verdict:
    """Work that reaches a gatekeeper through tickets: an ops silo, a platform team (a platform fed
    through tickets is the seeds' "ticket expenser" under a new name) or any team that was a silo
    or succeeded one. Judged by how the work arrives, not by what the team is called."""
    silos = set(graph.slugs_of_type(OPS_SILO))
    platforms = set(graph.slugs_of_type(PLATFORM))
    live = set(graph.team_type)
    former = graph.former_silos & live
    gatekeepers = silos | platforms | former
    edges = sorted(
        (
            edge
            for edge in graph.snapshot.interactions
            if edge.mode == TICKET_DEPENDENCY and edge.target in gatekeepers
        ),
        key=lambda edge: (edge.target, edge.source),
    )
    targets = sorted({edge.target for edge in edges})
    sources = sorted({edge.source for edge in edges})
    evidence = {
        "count": len(edges),
        "teams": targets,
        "dependent_teams": sources,
        "dependencies": [
            {"source": edge.source, "target": edge.target, "severity": edge.severity}
            for edge in edges
        ],
        "blocking": sum(1 for edge in edges if edge.severity == "blocking"),
        "ops_silos": len(silos),
        "platform_teams": len(platforms),
        "former_silos": sorted(former),
    }
    if not edges:
        return (
            "pass",
            "No ticket dependency targets an ops silo, a platform team or a former silo "
            f"({_plural(len(silos), 'ops silo')} left).",
            evidence,
        )
    named = [f"{graph.name(edge.source)} → {graph.name(edge.target)}" for edge in edges]
    return (
        "fail",
        f"{_plural(len(edges), 'ticket dependency', 'ticket dependencies')} still wait on "
        f"{_listing([_gatekeeper(slug, graph) for slug in targets])}, "
        f"from {_listing(graph.names(sources))}: "
        f"{_listing(named, sort=False, limit=20)}. Work should reach them as a service, "
        "not through tickets.",
        evidence,
    )


def _gatekeeper(slug: str, graph: _GraphFacts) -> str:
    name = graph.name(slug)
    if graph.team_type[slug] == OPS_SILO:
        return f"{name} (ops silo)"
    if slug in graph.former_silos:
        return f"{name} (succeeds an ops silo)"
    kind = graph.team_type[slug]
    return f"{name} ({_TYPE_WORDS.get(kind, kind.replace('_', ' '))} team)"


def _check_stream_teams_have_buddy(graph: _GraphFacts) -> _Verdict:
    stream = graph.slugs_of_type(STREAM_ALIGNED)
    missing = _first_teams(graph, "missing_devops_buddy")
    evidence = {"count": len(missing), "teams": missing, "stream_aligned_teams": len(stream)}
    if not stream:
        # Nothing to check is not success: the teams are probably not classified yet.
        return (
            "unknown",
            "The graph has no stream-aligned teams to check for a DevOps buddy; "
            "classify the teams first.",
            evidence,
        )
    if not missing:
        return (
            "pass",
            f"All {_plural(len(stream), 'stream-aligned team')} have a DevOps buddy.",
            evidence,
        )
    return (
        "fail",
        f"{len(missing)} of {_plural(len(stream), 'stream-aligned team')} "
        f"{'has' if len(missing) == 1 else 'have'} no "
        f"DevOps buddy: {_listing(graph.names(missing))}.",
        evidence,
    )


def _check_platform_has_product_owner(graph: _GraphFacts) -> _Verdict:
    platforms = graph.slugs_of_type(PLATFORM)
    missing = _first_teams(graph, "missing_product_owner")
    evidence = {"count": len(missing), "teams": missing, "platform_teams": len(platforms)}
    if not platforms:
        # Unlike the buddy check, the rule is about a team the transformation creates: until it
        # exists, the milestone that gives it a product owner is not done.
        return (
            "fail",
            "There is no platform team yet, so none has a product owner.",
            evidence,
        )
    if not missing:
        return (
            "pass",
            f"All {_plural(len(platforms), 'platform team')} have a product owner.",
            evidence,
        )
    return (
        "fail",
        f"{len(missing)} of {_plural(len(platforms), 'platform team')} "
        f"{'has' if len(missing) == 1 else 'have'} no "
        f"product owner: {_listing(graph.names(missing))}.",
        evidence,
    )


def _check_person_bottlenecks(graph: _GraphFacts) -> _Verdict:
    findings = graph.findings("person_bottleneck") or []
    people = [
        {"email": _subjects(f, "person")[0], "severity": f["severity"]}
        for f in sorted(findings, key=lambda f: _subjects(f, "person")[0])
    ]
    teams = sorted({slug for f in findings for slug in _subjects(f, "team")})
    evidence = {
        "count": len(people),
        "people": [p["email"] for p in people],
        "severities": {p["email"]: p["severity"] for p in people},
        "teams": teams,
    }
    if not graph.snapshot.memberships and not graph.snapshot.serves:
        return (
            "unknown",
            "The graph has no memberships yet, so person bottlenecks cannot be judged.",
            evidence,
        )
    if not people:
        return "pass", "No person is a bottleneck.", evidence
    shown = [f"{graph.person_name.get(p['email'], p['email'])} ({p['severity']})" for p in people]
    return (
        "fail",
        f"{_plural(len(people), 'person is a bottleneck', 'people are bottlenecks')}: "
        f"{_listing(shown, sort=False)}.",
        evidence,
    )


def _check_long_running_collaborations(graph: _GraphFacts) -> _Verdict:
    findings = graph.findings("long_running_collaboration") or []
    pairs = sorted(tuple(_subjects(f, "team")[:2]) for f in findings)
    evidence = {
        "count": len(pairs),
        "collaborations": [{"source": a, "target": b} for a, b in pairs],
        "teams": sorted({slug for pair in pairs for slug in pair}),
        "collaborations_in_graph": sum(
            1 for edge in graph.snapshot.interactions if edge.mode == COLLABORATION
        ),
    }
    if not pairs:
        return "pass", "No collaboration has outrun its expected end.", evidence
    shown = [f"{graph.name(a)} with {graph.name(b)}" for a, b in pairs]
    return (
        "fail",
        f"{_plural(len(pairs), 'collaboration has', 'collaborations have')} run too long: "
        f"{_listing(shown, sort=False)}.",
        evidence,
    )


def _check_ops_silos_merged(graph: _GraphFacts) -> _Verdict:
    silos = graph.slugs_of_type(OPS_SILO)
    evidence = {"count": len(silos), "teams": silos}
    if not silos:
        return "pass", "No ops silo teams are left.", evidence
    return (
        "fail",
        f"{_plural(len(silos), 'ops silo team is', 'ops silo teams are')} left: "
        f"{_listing(graph.names(silos))}.",
        evidence,
    )


def _finding_teams_check(kind: str, *, ok: str, bad: str) -> Callable[[_GraphFacts], _Verdict]:
    def check(graph: _GraphFacts) -> _Verdict:
        teams = _first_teams(graph, kind)
        evidence = {"count": len(teams), "teams": teams}
        if not teams:
            return "pass", ok, evidence
        return (
            "fail",
            f"{_plural(len(teams), 'team')} {bad}: {_listing(graph.names(teams))}.",
            evidence,
        )

    return check


_GRAPH_RULES: dict[str, Callable[[_GraphFacts], _Verdict]] = {
    "no_ticket_dependencies_on_gatekeepers": _check_ticket_dependencies_on_gatekeepers,
    "every_stream_team_has_devops_buddy": _check_stream_teams_have_buddy,
    "platform_team_has_product_owner": _check_platform_has_product_owner,
    "no_person_bottlenecks": _check_person_bottlenecks,
    "no_long_running_collaborations": _check_long_running_collaborations,
    "ops_silos_merged": _check_ops_silos_merged,
    "no_team_bottlenecks": _finding_teams_check(
        "team_bottleneck", ok="No team is a bottleneck.", bad="still a bottleneck"
    ),
    "no_cognitive_overload": _finding_teams_check(
        "cognitive_load",
        ok="No team carries more load than its capacity.",
        bad="carry more load than their capacity",
    ),
    "every_team_classified": _finding_teams_check(
        "unclassified_team",
        ok="Every team has a Team Topologies type.",
        bad="have no Team Topologies type",
    ),
}


def _so_far(reading: SignalReading) -> str:
    """ " so far (to 2026-12-06 23:00 UTC)" for a figure of a period still open at its reading,
    so a reader knows the figure will move until the period ends; "" for a closed period."""
    if reading.period is None or reading.as_of is None:
        return ""
    moment = reading.as_of.astimezone(dt.UTC)
    if moment.date() > reading.period[1]:
        return ""
    return f" so far (to {moment:%Y-%m-%d %H:%M} UTC)"


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _listing(names: list[str], *, sort: bool = True, limit: int = 10) -> str:
    ordered = sorted(names) if sort else list(names)
    shown = ", ".join(ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown} and {len(ordered) - limit} more"
