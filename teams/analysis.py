"""What the organisation graph says is wrong: metrics and findings for one ``OrgSnapshot``.

Pure computation on plain data: nothing here imports Django, so it is tested without a database
and runs the same on a live snapshot, a past one (``--as-of``) or a scenario's preview. Every rule,
threshold, severity and playbook mapping is documented in ``docs/analysis.md``; keep the two in
step.

The work is linear in the size of the organisation except the betweenness of the ticket-dependency
graph, which runs in rustworkx (compiled, multi-threaded): pure networkx takes tens of seconds on
5,000 teams (figures in the docs and ``python -m benchmarks.analysis_large``).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import rustworkx as rx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from teams.graph import InteractionEdge, OrgSnapshot, TeamNode

# Mirrors of the model vocabularies (teams.models.TeamType, InteractionMode, MembershipRole,
# Severity), kept here because this module must not import Django; a test pins them together.
TEAM_TYPES: tuple[str, ...] = (
    "stream_aligned",
    "platform",
    "enabling",
    "complicated_subsystem",
    "ops_silo",
    "unclassified",
)
INTERACTION_MODES: tuple[str, ...] = (
    "collaboration",
    "x_as_a_service",
    "facilitating",
    "ticket_dependency",
)
STREAM_ALIGNED = "stream_aligned"
PLATFORM = "platform"
OPS_SILO = "ops_silo"
UNCLASSIFIED = "unclassified"
TICKET_DEPENDENCY = "ticket_dependency"
COLLABORATION = "collaboration"
X_AS_A_SERVICE = "x_as_a_service"
DEVOPS_BUDDY = "devops_buddy"
PRODUCT_OWNER = "product_owner"

FINDING_KINDS: tuple[str, ...] = (
    "team_bottleneck",
    "person_bottleneck",
    "ops_silo",
    "missing_devops_buddy",
    "missing_product_owner",
    "cognitive_load",
    "long_running_collaboration",
    "unclassified_team",
    "team_size",
)
# How a finding's kind reads for people (pages, reports, the analyze_org command).
FINDING_KIND_LABELS: dict[str, str] = {
    "team_bottleneck": "Team bottleneck",
    "person_bottleneck": "Person bottleneck",
    "ops_silo": "Ops silo",
    "missing_devops_buddy": "Missing DevOps buddy",
    "missing_product_owner": "Missing product owner",
    "cognitive_load": "Cognitive load",
    "long_running_collaboration": "Long-running collaboration",
    "unclassified_team": "Unclassified team",
    "team_size": "Team size",
}
SEVERITIES: tuple[str, ...] = ("high", "medium", "low")
# How the texts name the vocabularies (the models' labels, lower-cased inside a sentence).
TEAM_TYPE_LABELS: dict[str, str] = {
    "stream_aligned": "stream-aligned",
    "platform": "platform",
    "enabling": "enabling",
    "complicated_subsystem": "complicated subsystem",
    "ops_silo": "ops silo",
    "unclassified": "unclassified",
}
SPECIALTY_LABELS: dict[str, str] = {"backend_ops": "backend ops"}
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}

# Playbook keys ship with a later issue; the analysis only names them.
PLAYBOOK_UNIFY_OPS_SILOS = "unify-ops-silos"
PLAYBOOK_DEVOPS_BUDDY = "devops-buddy-programme"
PLAYBOOK_PLATFORM_AS_A_PRODUCT = "platform-as-a-product"
PLAYBOOK_LAUNCH_PLATFORM_TEAM = "launch-platform-team"

# How much a ticket dependency weighs by severity: a blocking one stops work, a slowing one costs
# part of it, an "ok" one is still a queue. A dependency without a severity counts as slowing.
SEVERITY_WEIGHTS: dict[str, float] = {"blocking": 1.0, "slowing": 0.5, "ok": 0.25, "": 0.5}

Severity = Literal["high", "medium", "low"]


class InvalidThresholdsError(ValueError):
    """An organisation's ``analysis_thresholds`` override is unknown or out of range."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class AnalysisThresholds(BaseModel):
    """The knobs of the analysis; an organisation overrides any of them in ``analysis_thresholds``.

    Strict: a string where a number is expected is an error, not coerced, so a typo in the JSON
    shows up instead of silently changing the analysis.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    team_bottleneck_min_dependents: int = Field(
        default=3, ge=1, description="Distinct teams with a ticket dependency on a team."
    )
    team_bottleneck_high_dependents: int = Field(
        default=6, ge=1, description="Dependent teams from which a team bottleneck is high."
    )
    team_bottleneck_min_betweenness: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Normalised betweenness in the ticket-dependency graph that alone flags a team.",
    )
    person_bottleneck_min_teams: int = Field(
        default=3, ge=2, description="Delivery teams one person belongs to or serves."
    )
    person_bottleneck_high_teams: int = Field(
        default=5, ge=2, description="Delivery teams from which a person bottleneck is high."
    )
    person_bottleneck_delivery_types: list[str] = Field(
        default_factory=lambda: [STREAM_ALIGNED],
        min_length=1,
        description="Team types counted as delivery teams.",
    )
    person_bottleneck_flag_bridges: bool = Field(
        default=True, description="Also flag people whose removal disconnects teams."
    )
    ops_silo_min_dependencies: int = Field(
        default=1, ge=1, description="Ticket dependencies a silo receives before it is reported."
    )
    ops_silo_high_dependents: int = Field(
        default=5, ge=1, description="Dependent teams of one specialty from which it is high."
    )
    cognitive_load_capacity_per_person: float = Field(
        default=1.0, gt=0, description="Load units one full-time member can carry."
    )
    cognitive_load_min_capacity: float = Field(
        default=3.0, gt=0, description="Capacity of a staffed team however small it is."
    )
    cognitive_load_max_capacity: float = Field(
        default=6.0, gt=0, description="Capacity of a team however large it is."
    )
    cognitive_load_high_ratio: float = Field(
        default=2.0, gt=1, description="Load / capacity from which the finding is high."
    )
    long_running_collaboration_weeks: int = Field(
        default=12, ge=1, description="Age of a collaboration without expected end."
    )
    services_per_team_max: int = Field(
        default=6,
        ge=1,
        description="Services one team may own; beyond it the team gets a cognitive_load "
        "finding whatever its other load.",
    )
    domains_per_team_max: int = Field(
        default=3,
        ge=1,
        description="Domains one team may own (Team Topologies: two or three simple ones); "
        "beyond it the team gets a cognitive_load finding whatever its other load.",
    )
    load_per_domain: float = Field(
        default=2.0,
        ge=0,
        description="Load units of one owned domain (a service or system is one).",
    )
    team_size_max: int = Field(
        default=9, ge=1, description="Members beyond which a team is too large to stay one team."
    )
    team_size_min: int = Field(
        default=3, ge=1, description="Members below which a team is too small to be resilient."
    )

    @model_validator(mode="after")
    def _high_not_below_min(self) -> AnalysisThresholds:
        pairs = (
            ("team_bottleneck_high_dependents", "team_bottleneck_min_dependents"),
            ("person_bottleneck_high_teams", "person_bottleneck_min_teams"),
            ("cognitive_load_max_capacity", "cognitive_load_min_capacity"),
            ("team_size_max", "team_size_min"),
        )
        for high, low in pairs:
            if getattr(self, high) < getattr(self, low):
                raise ValueError(f"{high} must not be below {low}")
        unknown = [t for t in self.person_bottleneck_delivery_types if t not in TEAM_TYPES]
        if unknown:
            raise ValueError(
                f"person_bottleneck_delivery_types: unknown team type(s) {', '.join(unknown)}; "
                f"expected some of {', '.join(TEAM_TYPES)}"
            )
        return self

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None) -> AnalysisThresholds:
        """The defaults with ``overrides`` applied; raises ``InvalidThresholdsError`` naming the key."""
        if overrides is not None and not isinstance(overrides, dict):
            raise InvalidThresholdsError(
                "analysis_thresholds: expected a JSON object of threshold overrides, "
                f"got {type(overrides).__name__}",
                key="",
            )
        try:
            return cls.model_validate(overrides or {})
        except ValidationError as exc:
            error = exc.errors()[0]
            key = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "extra_forbidden":
                detail = f"unknown key; expected one of {', '.join(sorted(cls.model_fields))}"
            else:
                detail = f"{error['msg']} (got {error.get('input')!r})"
            if key:
                message = f"analysis_thresholds.{key}: {detail}"
            else:
                message = f"analysis_thresholds: {error['msg']}"
                # A cross-field rule names its key at the start of the message.
                key = str(error["msg"]).removeprefix("Value error, ").split(" ", 1)[0]
                key = key.rstrip(":")
            raise InvalidThresholdsError(message, key=key) from None


@dataclass(slots=True)
class Finding:
    kind: str
    severity: Severity
    subjects: list[dict[str, str]]
    explanation: str
    suggested_playbook: str | None
    impact: float

    def sort_key(self) -> tuple[int, float, str, tuple[tuple[str, str], ...]]:
        subjects = tuple((s["type"], s.get("slug") or s.get("email", "")) for s in self.subjects)
        return (_SEVERITY_RANK[self.severity], -self.impact, self.kind, subjects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "subjects": self.subjects,
            "explanation": self.explanation,
            "suggested_playbook": self.suggested_playbook,
            "impact": self.impact,
        }


def _team(slug: str) -> dict[str, str]:
    return {"type": "team", "slug": slug}


def _person(email: str, name: str) -> dict[str, str]:
    """A person subject: the e-mail for programs, the name for people (the e-mail again when the
    person has no name)."""
    return {"type": "person", "email": email, "name": name or email}


def _plural(count: int | float, word: str, plural: str | None = None) -> str:
    if isinstance(count, float) and not count.is_integer():
        return f"{count:g} {plural or word + 's'}"
    return f"{count:g} {word if count == 1 else (plural or word + 's')}"


def _names(slugs: Iterable[str], limit: int = 8, *, names: dict[str, str] | None = None) -> str:
    """Up to ``limit`` teams or people by name (``names``: slug or e-mail -> name), then a count."""
    names = names or {}
    ordered = sorted(names.get(slug) or slug for slug in slugs)
    shown = ", ".join(ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown} and {len(ordered) - limit} more"


def _weight(edge: InteractionEdge) -> float:
    return SEVERITY_WEIGHTS.get(edge.severity, SEVERITY_WEIGHTS[""])


@dataclass(slots=True)
class _Index:
    """Per-team facts gathered in one pass over the snapshot's rows."""

    team_type: dict[str, str]
    specialty: dict[str, str]
    # Display names for the texts (slug -> team name, e-mail -> person name); the subjects keep
    # the slugs and e-mails.
    team_name: dict[str, str] = field(default_factory=dict)
    person_name: dict[str, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    fte: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    roles: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    partners: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Partners minus the teams whose only link is consuming this team as a service: the teams
    # whose interaction needs this team's people (cognitive load).
    load_partners: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    ticket_in: dict[str, list[InteractionEdge]] = field(default_factory=lambda: defaultdict(list))
    ticket_out: dict[str, list[InteractionEdge]] = field(default_factory=lambda: defaultdict(list))
    consumers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    person_teams: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _index(snapshot: OrgSnapshot) -> _Index:
    index = _Index(
        team_type={team.slug: team.type for team in snapshot.teams},
        specialty={team.slug: team.specialty for team in snapshot.teams},
        team_name={team.slug: team.name or team.slug for team in snapshot.teams},
        person_name={person.email: person.name or person.email for person in snapshot.people},
    )
    # Local names: this loop runs once per membership (tens of thousands at 50,000 people).
    members, fte, roles = index.members, index.fte, index.roles
    person_teams = index.person_teams
    for membership in snapshot.memberships:
        team, person = membership.team, membership.person
        members[team].add(person)
        fte[team] += membership.allocation_percent / 100
        roles[team].add(membership.role)
        person_teams[person].add(team)
    for serves in snapshot.serves:
        person_teams[serves.person].add(serves.team)
    for edge in snapshot.interactions:
        index.partners[edge.source].add(edge.target)
        index.partners[edge.target].add(edge.source)
        index.load_partners[edge.source].add(edge.target)
        if edge.mode != X_AS_A_SERVICE:
            index.load_partners[edge.target].add(edge.source)
        if edge.mode == TICKET_DEPENDENCY:
            index.ticket_out[edge.source].append(edge)
            index.ticket_in[edge.target].append(edge)
        if edge.mode in (TICKET_DEPENDENCY, X_AS_A_SERVICE):
            index.consumers[edge.target].add(edge.source)
    return index


def dependency_graph(snapshot: OrgSnapshot) -> nx.DiGraph:
    """Ticket dependencies as a directed graph: an edge A → B means A's work waits on B.

    Nodes are the teams that take part in at least one ticket dependency; edges carry ``weight``
    (the severity weight, see ``SEVERITY_WEIGHTS``).
    """
    graph = nx.DiGraph()
    for edge in snapshot.interactions:
        if edge.mode == TICKET_DEPENDENCY:
            graph.add_edge(edge.source, edge.target, weight=_weight(edge))
    return graph


def people_graph(snapshot: OrgSnapshot) -> nx.Graph:
    """The bipartite graph of people and teams: membership and serves links are edges.

    Nodes are tuples ``("team", slug)`` and ``("person", email)`` so a slug never collides with an
    e-mail.
    """
    graph = nx.Graph()
    graph.add_nodes_from(("team", team.slug) for team in snapshot.teams)
    graph.add_edges_from(
        (("person", edge.person), ("team", edge.team)) for edge in snapshot.memberships
    )
    graph.add_edges_from((("person", edge.person), ("team", edge.team)) for edge in snapshot.serves)
    return graph


def dependency_betweenness(graph: nx.DiGraph) -> dict[str, float]:
    """Exact normalised betweenness of every node of the ticket-dependency graph.

    Computed by rustworkx (Brandes' algorithm in Rust, parallel above 50 nodes): the same values as
    ``networkx.betweenness_centrality(graph)`` at a fraction of the time. Normalised for a
    directed graph by ``(n - 1)(n - 2)``, as networkx does.
    """
    nodes = list(graph.nodes)
    count = len(nodes)
    if count <= 2:
        return dict.fromkeys(nodes, 0.0)
    position = {node: i for i, node in enumerate(nodes)}
    rx_graph = rx.PyDiGraph(multigraph=False)
    rx_graph.add_nodes_from(nodes)
    rx_graph.add_edges_from_no_data([(position[a], position[b]) for a, b in graph.edges])
    raw = rx.digraph_betweenness_centrality(rx_graph, normalized=False)
    scale = 1 / ((count - 1) * (count - 2))
    return {nodes[i]: value * scale for i, value in raw.items()}


def bridging_people(graph: nx.Graph) -> set[str]:
    """E-mails of people whose removal splits the teams they connect (articulation points).

    In the bipartite people-team graph a person is an articulation point exactly when, without
    them, at least two of their teams are no longer connected through other people: the same as
    a cut vertex of the team graph projected through people. Linear time (Tarjan).
    """
    return {node[1] for node in nx.articulation_points(graph) if node[0] == "person"}


def person_bridges(person_teams: dict[str, set[str]]) -> set[str]:
    """``bridging_people(people_graph(snapshot))`` from the teams each person belongs to or
    serves (``_Index.person_teams``), on the part of the graph that can hold a bridge.

    A person in one team is a leaf of the people-team graph: never an articulation point, and
    removing leaves changes no other node's articulation, so only people in two or more teams
    and their teams are built (a few thousand nodes at 50,000 people), in rustworkx.
    """
    linking = [(email, teams) for email, teams in person_teams.items() if len(teams) >= 2]
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(len(linking)))
    team_node: dict[str, int] = {}
    edges = []
    for person_node, (_, teams) in enumerate(linking):
        for team in teams:
            node = team_node.get(team)
            if node is None:
                node = team_node[team] = graph.add_node(None)
            edges.append((person_node, node))
    graph.add_edges_from_no_data(edges)
    return {linking[node][0] for node in rx.articulation_points(graph) if node < len(linking)}


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building or analysing a snapshot.

    Both allocate hundreds of thousands of small acyclic objects at 50,000 people, which triggers
    full collections over everything alive, again and again: 40 to 50% of the time (measured in
    docs/performance.md). Reference counting still frees everything; cycles created meanwhile
    are collected once the collector is back on. Only the context that turned it off turns it on
    again, so nesting and threads never leave it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyze_snapshot(snapshot: OrgSnapshot, *, today: dt.date | None = None) -> dict[str, Any]:
    """The analysis report of ``snapshot``, ready for JSON.

    ``today`` is the date the analysis is made as of (ages of collaborations); it defaults to the
    snapshot's own ``as_of`` date, never the wall clock. Raises ``InvalidThresholdsError`` (a
    ``ValueError``) when the organisation's threshold overrides are invalid. Runs with the cyclic
    garbage collector paused (``cyclic_gc_paused``).
    """
    with cyclic_gc_paused():
        return _analyze(snapshot, today=today)


def _analyze(snapshot: OrgSnapshot, *, today: dt.date | None) -> dict[str, Any]:
    thresholds = AnalysisThresholds.from_overrides(snapshot.thresholds)
    day = today or snapshot.as_of.date()
    index = _index(snapshot)

    dep_graph = dependency_graph(snapshot)
    betweenness = dependency_betweenness(dep_graph)
    bridges = (
        person_bridges(index.person_teams) if thresholds.person_bottleneck_flag_bridges else set()
    )

    findings: list[Finding] = []
    findings += team_bottleneck_findings(index=index, betweenness=betweenness, t=thresholds)
    findings += person_bottleneck_findings(index=index, bridges=bridges, t=thresholds)
    findings += ops_silo_findings(index=index, t=thresholds)
    findings += missing_role_findings(index=index)
    findings += cognitive_load_findings(snapshot=snapshot, index=index, t=thresholds)
    findings += long_running_collaboration_findings(snapshot=snapshot, today=day, t=thresholds)
    findings += unclassified_team_findings(index=index)
    findings += team_size_findings(index=index, t=thresholds)
    findings.sort(key=Finding.sort_key)

    return {
        "organization": snapshot.organization,
        "as_of": day.isoformat(),
        "metrics": compute_metrics(snapshot=snapshot, index=index),
        "findings": [finding.as_dict() for finding in findings],
    }


def compute_metrics(*, snapshot: OrgSnapshot, index: _Index) -> dict[str, Any]:
    """Counts and ratios of the whole organisation; definitions in docs/analysis.md."""
    by_type = dict.fromkeys(TEAM_TYPES, 0)
    for team_type in index.team_type.values():
        by_type[team_type] = by_type.get(team_type, 0) + 1
    by_mode = dict.fromkeys(INTERACTION_MODES, 0)
    for edge in snapshot.interactions:
        by_mode[edge.mode] = by_mode.get(edge.mode, 0) + 1

    stream = [slug for slug, kind in index.team_type.items() if kind == STREAM_ALIGNED]
    with_buddy = sum(1 for slug in stream if DEVOPS_BUDDY in index.roles.get(slug, ()))
    stream_ticket_deps = sum(len(index.ticket_out.get(slug, ())) for slug in stream)

    on_silos = [
        edge
        for slug, kind in index.team_type.items()
        if kind == OPS_SILO
        for edge in index.ticket_in.get(slug, ())
    ]
    by_target_type = dict.fromkeys(TEAM_TYPES, 0)
    for slug, edges in index.ticket_in.items():
        target_type = index.team_type.get(slug, UNCLASSIFIED)
        by_target_type[target_type] = by_target_type.get(target_type, 0) + len(edges)
    # Work that waits in a queue counts wherever it waits: renaming or retyping the team that
    # holds the queue does not shorten it.
    queue_pressure = sum(_weight(edge) for edges in index.ticket_in.values() for edge in edges)
    non_silo_teams = max(1, sum(1 for kind in index.team_type.values() if kind != OPS_SILO))

    return {
        "teams": len(snapshot.teams),
        "people": len(snapshot.people),
        "teams_by_type": by_type,
        "interactions_by_mode": by_mode,
        "ticket_dependencies": by_mode[TICKET_DEPENDENCY],
        "ticket_dependencies_on_silos": len(on_silos),
        "ticket_dependencies_by_target_type": by_target_type,
        "stream_aligned_with_buddy_share": (round(with_buddy / len(stream), 4) if stream else None),
        "ticket_dependencies_per_stream_team": (
            round(stream_ticket_deps / len(stream), 4) if stream else None
        ),
        "flow_score": flow_score(queue_pressure=queue_pressure, teams=non_silo_teams),
    }


def flow_score(*, queue_pressure: float, teams: int) -> float:
    """``100 * P / (P + N)``, rounded to 0.1: P the severity-weighted ticket dependencies on any
    team, whatever its type, N the number of teams that are not ops silos (at least 1).

    The score falls as ticket dependencies fall: it is the share of the organisation's flow that
    queues on other teams, 0 when no work waits in a ticket queue, 50 when there is on average
    one blocking ticket dependency per team, approaching 100 as they pile up. Retyping an ops
    silo as a platform leaves it unchanged while its tickets remain.
    """
    if queue_pressure <= 0:
        return 0.0
    return round(100 * queue_pressure / (queue_pressure + max(1, teams)), 1)


def team_bottleneck_findings(
    *, index: _Index, betweenness: dict[str, float], t: AnalysisThresholds
) -> list[Finding]:
    findings = []
    for slug in sorted(set(index.ticket_in) | {s for s, b in betweenness.items() if b > 0}):
        edges = index.ticket_in.get(slug, [])
        dependents = {edge.source for edge in edges}
        centrality = betweenness.get(slug, 0.0)
        by_fan_in = len(dependents) >= t.team_bottleneck_min_dependents
        by_betweenness = centrality >= t.team_bottleneck_min_betweenness
        if not (by_fan_in or by_betweenness):
            continue
        pressure = sum(_weight(edge) for edge in edges)
        high = len(dependents) >= t.team_bottleneck_high_dependents
        team_type = index.team_type.get(slug, "")
        name = index.team_name.get(slug, slug)
        reasons = []
        if dependents:
            blocking = sum(1 for edge in edges if edge.severity == "blocking")
            reasons.append(
                f"{_plural(len(dependents), 'team')} wait on it through ticket dependencies "
                f"({_names(dependents, names=index.team_name)}; {blocking} blocking)"
            )
        if by_betweenness:
            reasons.append(
                f"it lies on {centrality:.1%} of the shortest dependency chains between other "
                "teams (betweenness), so waits pass through it"
            )
        findings.append(
            Finding(
                kind="team_bottleneck",
                severity="high" if high else "medium",
                subjects=[_team(slug)] + [_team(s) for s in sorted(dependents)],
                explanation=f"{name} ({TEAM_TYPE_LABELS.get(team_type, team_type)}) is a bottleneck: "
                + "; ".join(reasons)
                + ".",
                suggested_playbook={
                    OPS_SILO: PLAYBOOK_UNIFY_OPS_SILOS,
                    PLATFORM: PLAYBOOK_PLATFORM_AS_A_PRODUCT,
                }.get(team_type),
                impact=round(pressure * (1 + centrality), 4),
            )
        )
    return findings


def person_bottleneck_findings(
    *, index: _Index, bridges: set[str], t: AnalysisThresholds
) -> list[Finding]:
    delivery_types = set(t.person_bottleneck_delivery_types)
    findings = []
    # A finding needs min_teams delivery teams (at least two: a subset of the person's teams) or
    # a bridge, so people in fewer teams are not looked at.
    candidates = {
        email
        for email, teams in index.person_teams.items()
        if len(teams) >= t.person_bottleneck_min_teams
    }
    for email in sorted(candidates | bridges):
        teams = index.person_teams.get(email, set())
        delivery = {slug for slug in teams if index.team_type.get(slug) in delivery_types}
        spread = len(delivery) >= t.person_bottleneck_min_teams
        bridge = email in bridges
        if not (spread or bridge):
            continue
        if len(delivery) >= t.person_bottleneck_high_teams:
            severity: Severity = "high"
        elif spread:
            severity = "medium"
        else:
            severity = "low"
        reasons = []
        if spread:
            reasons.append(
                f"belongs to or serves {_plural(len(delivery), 'delivery team')} "
                f"({_names(delivery, names=index.team_name)}), so their work queues on one person"
            )
        if bridge:
            reasons.append(
                "is the only person linking some of their teams "
                f"({_names(teams, names=index.team_name)}): without them those teams share nobody"
            )
        name = index.person_name.get(email) or email
        findings.append(
            Finding(
                kind="person_bottleneck",
                severity=severity,
                subjects=[_person(email, name)] + [_team(slug) for slug in sorted(teams)],
                explanation=f"{name} " + "; and ".join(reasons) + ".",
                suggested_playbook=PLAYBOOK_DEVOPS_BUDDY,
                impact=float(len(delivery) + 0.5 * len(teams - delivery) + (1 if bridge else 0)),
            )
        )
    return findings


def ops_silo_findings(*, index: _Index, t: AnalysisThresholds) -> list[Finding]:
    silos_by_specialty: dict[str, list[str]] = defaultdict(list)
    for slug, kind in index.team_type.items():
        if kind == OPS_SILO and len(index.ticket_in.get(slug, ())) >= t.ops_silo_min_dependencies:
            silos_by_specialty[index.specialty.get(slug) or "other"].append(slug)
    findings = []
    for specialty, silos in sorted(silos_by_specialty.items()):
        edges = [edge for slug in silos for edge in index.ticket_in[slug]]
        dependents = {edge.source for edge in edges} - set(silos)
        blocking = sum(1 for edge in edges if edge.severity == "blocking")
        high = blocking > 0 or len(dependents) >= t.ops_silo_high_dependents
        findings.append(
            Finding(
                kind="ops_silo",
                severity="high" if high else "medium",
                subjects=[_team(s) for s in sorted(silos)] + [_team(s) for s in sorted(dependents)],
                explanation=(
                    f"The {SPECIALTY_LABELS.get(specialty, specialty)} work sits in {_plural(len(silos), 'ops silo')} "
                    f"({_names(silos, names=index.team_name)}) that {_plural(len(edges), 'ticket dependency', 'ticket dependencies')} "
                    f"wait on ({blocking} blocking), from {_plural(len(dependents), 'team')} "
                    f"({_names(dependents, names=index.team_name)}): development and operations are split."
                ),
                suggested_playbook=PLAYBOOK_UNIFY_OPS_SILOS,
                impact=round(sum(_weight(edge) for edge in edges), 4),
            )
        )
    for slug, kind in sorted(index.team_type.items()):
        edges = index.ticket_in.get(slug, [])
        if kind != PLATFORM or len(edges) < t.ops_silo_min_dependencies:
            continue
        dependents = {edge.source for edge in edges}
        blocking = sum(1 for edge in edges if edge.severity == "blocking")
        high = blocking > 0 or len(dependents) >= t.ops_silo_high_dependents
        self_service = index.consumers.get(slug, set()) - dependents
        # A self-service platform that still takes the odd request by ticket, every one marked
        # harmless ("ok"), is mostly a product already: worth knowing, not an alarm.
        mostly_self_service = all(edge.severity == "ok" for edge in edges) and len(
            self_service
        ) > len(dependents)
        severity: Severity = "high" if high else "low" if mostly_self_service else "medium"
        served = (
            f" It already serves {_plural(len(self_service), 'team')} as x-as-a-service, and "
            "every ticket is marked ok."
            if mostly_self_service
            else ""
        )
        findings.append(
            Finding(
                kind="ops_silo",
                severity=severity,
                subjects=[_team(slug)] + [_team(s) for s in sorted(dependents)],
                explanation=(
                    f"Platform team {index.team_name.get(slug, slug)} is fed through "
                    f"{_plural(len(edges), 'ticket dependency', 'ticket dependencies')} "
                    f"({blocking} blocking) from {_plural(len(dependents), 'team')} "
                    f"({_names(dependents, names=index.team_name)}): a platform fed through tickets is a ticket "
                    "expenser under a new name. Offer what they ask for as a self-service "
                    f"(x-as-a-service) instead.{served}"
                ),
                suggested_playbook=PLAYBOOK_PLATFORM_AS_A_PRODUCT,
                impact=round(sum(_weight(edge) for edge in edges), 4),
            )
        )
    return findings


def missing_role_findings(*, index: _Index) -> list[Finding]:
    """``missing_devops_buddy`` for stream-aligned teams (high when their work waits in an
    operations queue: an ops silo or a platform fed through tickets), ``missing_product_owner`` for
    platforms."""
    findings = []
    for slug, kind in sorted(index.team_type.items()):
        roles = index.roles.get(slug, set())
        if kind == STREAM_ALIGNED and DEVOPS_BUDDY not in roles:
            # The operations queues are the ones the ops_silo finding reports: an ops silo, or a
            # platform fed through tickets (a silo retyped as a platform is still the queue the
            # buddy would take the team out of).
            on_ops_queues = [
                edge
                for edge in index.ticket_out.get(slug, ())
                if index.team_type.get(edge.target) in (OPS_SILO, PLATFORM)
            ]
            findings.append(
                Finding(
                    kind="missing_devops_buddy",
                    severity="high" if on_ops_queues else "medium",
                    subjects=[_team(slug)],
                    explanation=(
                        f"{index.team_name.get(slug, slug)} has no DevOps buddy"
                        + (
                            ", and its work waits on ops silos or platforms fed through tickets "
                            f"({_names({edge.target for edge in on_ops_queues}, names=index.team_name)}) through "
                            f"{_plural(len(on_ops_queues), 'ticket dependency', 'ticket dependencies')}."
                            if on_ops_queues
                            else "."
                        )
                    ),
                    suggested_playbook=PLAYBOOK_DEVOPS_BUDDY,
                    impact=round(1 + sum(_weight(edge) for edge in on_ops_queues), 4),
                )
            )
        elif kind == PLATFORM and PRODUCT_OWNER not in roles:
            consumers = index.consumers.get(slug, set())
            findings.append(
                Finding(
                    kind="missing_product_owner",
                    severity="medium",
                    subjects=[_team(slug)],
                    explanation=(
                        f"Platform team {index.team_name.get(slug, slug)} has no product owner, yet "
                        f"{_plural(len(consumers), 'team')} {'consumes' if len(consumers) == 1 else 'consume'} it; without an owner its "
                        "roadmap follows tickets, not its users' needs."
                    ),
                    suggested_playbook=PLAYBOOK_PLATFORM_AS_A_PRODUCT,
                    impact=float(len(consumers)),
                )
            )
    return findings


def owned_domains(team: TeamNode) -> list[str]:
    """The domains among what ``team`` owns (refs ``domain:slug``)."""
    return [ref for ref in team.services if ref.startswith("domain:")]


def owned_services(team: TeamNode) -> list[str]:
    """The services (components, systems, APIs) ``team`` owns: everything but its domains."""
    return [ref for ref in team.services if not ref.startswith("domain:")]


def cognitive_load_findings(
    *, snapshot: OrgSnapshot, index: _Index, t: AnalysisThresholds
) -> list[Finding]:
    """Load = partners whose interaction needs the team + the weights of the ticket dependencies
    it waits on + the weights of those it receives + owned services and domains.

    A team consuming this one as a service is not a partner of it here (serving through a
    self-service interface is what a platform is for); the consumer still counts the team it
    consumes. Capacity = ``capacity_per_person`` * full-time equivalents (memberships'
    allocations), between ``min_capacity`` and ``max_capacity``. A team with no recorded members
    is assumed to be a full team (capacity = ``max_capacity``): an empty roster usually means
    people were not imported, not that nobody does the work. A team owning more than
    ``services_per_team_max`` services or ``domains_per_team_max`` domains is flagged whatever
    its load. Formula and worked example
    in docs/analysis.md.
    """
    findings = []
    for team in snapshot.teams:
        slug = team.slug
        partners = len(index.load_partners.get(slug, ()))
        waits = sum(_weight(edge) for edge in index.ticket_out.get(slug, ()))
        received = sum(_weight(edge) for edge in index.ticket_in.get(slug, ()))
        service_count = len(owned_services(team))
        domain_count = len(owned_domains(team))
        services = float(service_count)
        domains = t.load_per_domain * domain_count
        too_many_services = service_count > t.services_per_team_max
        too_many_domains = domain_count > t.domains_per_team_max
        owns_too_many = too_many_services or too_many_domains
        load = partners + waits + received + services + domains
        if load == 0:
            continue
        fte = index.fte.get(slug, 0.0)
        staffed = bool(index.members.get(slug))
        capacity = (
            min(
                t.cognitive_load_max_capacity,
                max(t.cognitive_load_min_capacity, t.cognitive_load_capacity_per_person * fte),
            )
            if staffed
            else t.cognitive_load_max_capacity
        )
        if load <= capacity and not owns_too_many:
            continue
        ratio = load / capacity
        size = (
            f"{_plural(len(index.members[slug]), 'member')} ({fte:g} full-time equivalents)"
            if staffed
            else "no recorded members (assumed a full team)"
        )
        parts = [_plural(partners, "interaction partner")]
        if waits:
            parts.append(f"{waits:g} for the ticket dependencies it waits on")
        if received:
            parts.append(f"{received:g} for the ticket work it receives")
        if services:
            parts.append(f"{services:g} for the services it owns")
        if domains:
            parts.append(f"{domains:g} for the {_plural(domain_count, 'domain')} it owns")
        too_many = []
        if too_many_services:
            too_many.append(
                f" It owns {_plural(service_count, 'service')}, more than "
                f"{t.services_per_team_max} one team can know well."
            )
        if too_many_domains:
            too_many.append(
                f" It owns {_plural(domain_count, 'domain')}, more than "
                f"the {t.domains_per_team_max} one team can hold."
            )
        findings.append(
            Finding(
                kind="cognitive_load",
                severity="high" if ratio >= t.cognitive_load_high_ratio else "medium",
                subjects=[_team(slug)],
                explanation=(
                    f"{team.name or slug} carries a load of {load:g} ({' + '.join(parts)}) but has "
                    f"{size}, a capacity of {capacity:g}." + "".join(too_many)
                ),
                # An overloaded platform needs its interface, not another platform under it.
                suggested_playbook=(
                    PLAYBOOK_PLATFORM_AS_A_PRODUCT
                    if team.type == PLATFORM
                    else PLAYBOOK_LAUNCH_PLATFORM_TEAM
                ),
                impact=round(
                    max(
                        load - capacity,
                        service_count - t.services_per_team_max,
                        domain_count - t.domains_per_team_max,
                    ),
                    4,
                ),
            )
        )
    return findings


def long_running_collaboration_findings(
    *, snapshot: OrgSnapshot, today: dt.date, t: AnalysisThresholds
) -> list[Finding]:
    limit = dt.timedelta(weeks=t.long_running_collaboration_weeks)
    names = {team.slug: team.name or team.slug for team in snapshot.teams}
    findings = []
    for edge in snapshot.interactions:
        if edge.mode != COLLABORATION:
            continue
        if edge.expected_end is not None:
            if edge.expected_end >= today:
                continue
            overdue = today - edge.expected_end
            why = f"was expected to end on {edge.expected_end.isoformat()}"
        elif edge.since is not None and today - edge.since > limit:
            overdue = today - edge.since - limit
            why = (
                f"has run since {edge.since.isoformat()} without an expected end, longer than "
                f"{_plural(t.long_running_collaboration_weeks, 'week')}"
            )
        else:
            continue
        findings.append(
            Finding(
                kind="long_running_collaboration",
                severity="medium" if overdue > limit else "low",
                subjects=[_team(edge.source), _team(edge.target)],
                explanation=(
                    f"The collaboration between {names.get(edge.source, edge.source)} and "
                    f"{names.get(edge.target, edge.target)} {why}; "
                    f"it is {_plural(overdue.days, 'day')} overdue. Collaboration is meant to be "
                    "temporary: settle on x-as-a-service or facilitating, or merge the teams."
                ),
                suggested_playbook=None,
                impact=float(overdue.days),
            )
        )
    return findings


def unclassified_team_findings(*, index: _Index) -> list[Finding]:
    return [
        Finding(
            kind="unclassified_team",
            severity="low",
            subjects=[_team(slug)],
            explanation=(
                f"{index.team_name.get(slug, slug)} has no Team Topologies type, so the analysis cannot tell whether "
                "it should deliver, serve or enable; classify it."
            ),
            suggested_playbook=None,
            impact=float(len(index.members.get(slug, ())) + len(index.partners.get(slug, ()))),
        )
        for slug, kind in sorted(index.team_type.items())
        if kind == UNCLASSIFIED
    ]


def team_size_findings(*, index: _Index, t: AnalysisThresholds) -> list[Finding]:
    """Teams of more than ``team_size_max`` or fewer than ``team_size_min`` members (people, not
    full-time equivalents: trust and communication scale with heads).

    Exempt: ops silos (the ``ops_silo`` finding already asks to dissolve them, so resizing one is
    not the fix) and teams with no recorded members (an empty roster means people were not
    imported). Platform teams are not exempt: a platform larger than a team is a group of
    platform teams to be split.
    """
    findings = []
    for slug, kind in sorted(index.team_type.items()):
        size = len(index.members.get(slug, ()))
        if kind == OPS_SILO or size == 0:
            continue
        if size > t.team_size_max:
            findings.append(
                Finding(
                    kind="team_size",
                    severity="medium",
                    subjects=[_team(slug)],
                    explanation=(
                        f"{index.team_name.get(slug, slug)} has {_plural(size, 'member')}, more than "
                        f"{t.team_size_max}: past that size a team loses the trust and shared "
                        "context of a small team and splits into sub-teams anyway; split it "
                        "along its streams of work."
                    ),
                    suggested_playbook=None,
                    impact=float(size - t.team_size_max),
                )
            )
        elif size < t.team_size_min:
            findings.append(
                Finding(
                    kind="team_size",
                    severity="low",
                    subjects=[_team(slug)],
                    explanation=(
                        f"{index.team_name.get(slug, slug)} has {_plural(size, 'member')}, fewer than "
                        f"{t.team_size_min}: it cannot cover absences or review its own work; "
                        "grow it or merge it with a team it works with."
                    ),
                    suggested_playbook=None,
                    impact=float(t.team_size_min - size),
                )
            )
    return findings


METRIC_LABELS: dict[str, str] = {
    "teams": "Teams",
    "people": "People",
    "teams_by_type": "Teams by type",
    "interactions_by_mode": "Interactions by mode",
    "ticket_dependencies": "Ticket dependencies",
    "ticket_dependencies_on_silos": "Ticket dependencies on ops silos",
    "ticket_dependencies_by_target_type": "Ticket dependencies by the type of team they wait on",
    "stream_aligned_with_buddy_share": "Stream-aligned teams with a DevOps buddy",
    "ticket_dependencies_per_stream_team": "Ticket dependencies per stream-aligned team",
    "flow_score": "Flow score",
}
INTERACTION_MODE_LABELS: dict[str, str] = {
    "collaboration": "collaboration",
    "x_as_a_service": "x-as-a-service",
    "facilitating": "facilitating",
    "ticket_dependency": "ticket dependency",
}


def metric_label(key: str) -> str:
    """A metric's name for a person (``teams_by_type.ops_silo`` -> "Teams by type: ops silo")."""
    head, _, tail = key.partition(".")
    label = METRIC_LABELS.get(head, head.replace("_", " ").capitalize())
    if tail:
        label += ": " + TEAM_TYPE_LABELS.get(tail, INTERACTION_MODE_LABELS.get(tail, tail))
    return label


def metric_texts(metrics: dict[str, Any]) -> dict[str, str]:
    """Each metric of ``compute_metrics`` as one sentence for a person, by key.

    "1 of 3 stream-aligned teams has a DevOps buddy (33%)" rather than
    ``stream_aligned_with_buddy_share 0.3333``; the report's numbers stay as they are for machines.
    """
    texts: dict[str, str] = {}
    if "teams" in metrics:
        texts["teams"] = _plural(metrics["teams"], "team")
    if "people" in metrics:
        texts["people"] = _plural(metrics["people"], "person", "people")
    for key, labels in (
        ("teams_by_type", TEAM_TYPE_LABELS),
        ("interactions_by_mode", INTERACTION_MODE_LABELS),
        ("ticket_dependencies_by_target_type", TEAM_TYPE_LABELS),
    ):
        counts = metrics.get(key)
        if isinstance(counts, dict):
            parts = [f"{count} {labels.get(name, name)}" for name, count in counts.items() if count]
            texts[key] = ", ".join(parts) if parts else "none"
    if "ticket_dependencies" in metrics:
        texts["ticket_dependencies"] = _plural(
            metrics["ticket_dependencies"], "ticket dependency", "ticket dependencies"
        )
    if "ticket_dependencies_on_silos" in metrics:
        count = metrics["ticket_dependencies_on_silos"]
        texts["ticket_dependencies_on_silos"] = (
            f"{_plural(count, 'ticket dependency', 'ticket dependencies')} "
            f"{'waits' if count == 1 else 'wait'} on ops silos"
        )
    if "stream_aligned_with_buddy_share" in metrics:
        share = metrics["stream_aligned_with_buddy_share"]
        stream = (metrics.get("teams_by_type") or {}).get(STREAM_ALIGNED)
        if share is None or not stream:
            texts["stream_aligned_with_buddy_share"] = "No stream-aligned teams"
        else:
            with_buddy = round(share * stream)
            texts["stream_aligned_with_buddy_share"] = (
                f"{with_buddy} of {_plural(stream, 'stream-aligned team')} "
                f"{'has' if with_buddy == 1 else 'have'} a DevOps buddy ({share:.0%})"
            )
    if "ticket_dependencies_per_stream_team" in metrics:
        value = metrics["ticket_dependencies_per_stream_team"]
        texts["ticket_dependencies_per_stream_team"] = (
            "No stream-aligned teams"
            if value is None
            else f"{value:.2g} ticket dependencies per stream-aligned team on average"
        )
    if "flow_score" in metrics:
        texts["flow_score"] = (
            f"{metrics['flow_score']:g} of 100 (lower is better: the share of the work that "
            "waits in another team's ticket queue)"
        )
    return texts


def metric_shown(key: str, value: Any) -> Any:
    """A metric's value as a person reads it in a table: a share as a percentage ("33%"), other
    values unchanged (None stays None)."""
    if key.endswith("_share") and isinstance(value, int | float):
        return f"{value:.0%}"
    return value


def metric_delta(key: str, before: Any, after: Any) -> float | None:
    """How much a metric moved, in its shown unit (a share in percentage points); None when
    either side is not a number."""
    if not (isinstance(before, int | float) and isinstance(after, int | float)):
        return None
    if key.endswith("_share"):
        return round((after - before) * 100, 1)
    return round(after - before, 4)
