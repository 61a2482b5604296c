"""Exports of an organisation's graph to files other tools read; see docs/export.md.

Every format is written from an ``OrgSnapshot`` (live or as of a past moment) by pure functions:
nothing here imports Django, so the formats are tested on hand-built snapshots. The output is
deterministic: the same snapshot gives the same text, byte for byte, whatever the order of its
lists, so exports can be diffed and kept under version control.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import networkx as nx
from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import SafeRepresenter
from ruamel.yaml.resolver import VersionedResolver

from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
    UnitNode,
)

EXPORT_FORMATS: tuple[str, ...] = ("json", "graphml", "mermaid", "dot", "backstage")
EXPORT_CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "graphml": "application/graphml+xml; charset=utf-8",
    "mermaid": "text/plain; charset=utf-8",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "backstage": "application/yaml; charset=utf-8",
}

BACKSTAGE_API_VERSION = "backstage.io/v1alpha1"
# The Backstage importer (teams/importers/backstage.py) reads an ops silo's specialty back from
# this annotation; a DB test pins the two constants together.
SPECIALTY_ANNOTATION = "transform.dev/specialty"

# Backstage Group spec.type per team type (the importer maps them back); unclassified teams and
# unknown types are plain "team" groups, which the importer reads as unclassified.
BACKSTAGE_TEAM_TYPES: dict[str, str] = {
    "stream_aligned": "stream-aligned",
    "platform": "platform",
    "enabling": "enabling",
    "complicated_subsystem": "complicated-subsystem",
    "ops_silo": "ops-silo",
}
BACKSTAGE_UNCLASSIFIED_TYPE = "team"
DEFAULT_UNIT_KIND = "department"

# How team types read in diagram labels.
TEAM_TYPE_LABELS: dict[str, str] = {
    "stream_aligned": "stream-aligned",
    "platform": "platform",
    "enabling": "enabling",
    "complicated_subsystem": "complicated subsystem",
    "ops_silo": "ops silo",
    "unclassified": "unclassified",
}
# Team Topologies' usual colours (fill, stroke); unclassified and unknown types are grey.
TEAM_TYPE_COLOURS: dict[str, tuple[str, str]] = {
    "stream_aligned": ("#ffedb5", "#d4a20b"),
    "platform": ("#b7dcf5", "#3b82c4"),
    "enabling": ("#e3d1f2", "#8e5cc0"),
    "complicated_subsystem": ("#ffd5a8", "#d9822b"),
    "ops_silo": ("#f4c7c3", "#b03a2e"),
    "unclassified": ("#eeeeee", "#888888"),
}
INTERACTION_LABELS: dict[str, str] = {
    "collaboration": "collaboration",
    "x_as_a_service": "X-as-a-Service",
    "facilitating": "facilitating",
    "ticket_dependency": "ticket dependency",
}
# Diagram edge colours per interaction mode; ticket dependencies are the red ones to remove.
INTERACTION_COLOURS: dict[str, str] = {
    "collaboration": "#7b3fb0",
    "x_as_a_service": "#2b6cb0",
    "facilitating": "#2f855a",
    "ticket_dependency": "#d62728",
}
OTHER_COLOUR = "#555555"


def export_snapshot(snapshot: OrgSnapshot, fmt: str) -> str:
    """The organisation's graph as the text of format ``fmt`` (one of ``EXPORT_FORMATS``).

    Raises ``ValueError`` naming the valid formats when ``fmt`` is not one of them.
    """
    writers: dict[str, Callable[[OrgSnapshot], str]] = {
        "json": export_json,
        "graphml": export_graphml,
        "mermaid": export_mermaid,
        "dot": export_dot,
        "backstage": export_backstage,
    }
    writer = writers.get(fmt)
    if writer is None:
        raise ValueError(
            f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    return writer(snapshot)


# --- The networkx graph: json and graphml ------------------------------------------------------


def unit_node_id(slug: str) -> str:
    return f"unit:{slug}"


def team_node_id(slug: str) -> str:
    return f"team:{slug}"


def person_node_id(email: str) -> str:
    return f"person:{email}"


def org_multigraph(snapshot: OrgSnapshot) -> nx.MultiDiGraph:
    """Units, teams and people as nodes, every relation between them as a keyed edge.

    Node ids carry their kind (``unit:SLUG``, ``team:SLUG``, ``person:EMAIL``) because a unit and a
    team may share a slug. Edges: ``parent`` (unit -> parent unit), ``in_unit`` (team -> unit),
    ``member`` and ``serves`` (person -> team), and one ``interaction`` per mode (source ->
    target, keyed by the mode, so two teams may interact in two modes). Team nodes carry
    ``services``, the refs ``kind:slug`` they own (one space-separated string in GraphML). Dates
    are ISO strings; absent values are None. References to units, teams or people missing from the snapshot are
    left out rather than invented as bare nodes.
    """
    graph = nx.MultiDiGraph(
        organization=snapshot.organization,
        name=snapshot.name,
        as_of=snapshot.as_of.isoformat(),
    )
    units = _sorted_units(snapshot.units)
    teams = _sorted_teams(snapshot.teams)
    for unit in units:
        graph.add_node(
            unit_node_id(unit.slug),
            kind="unit",
            slug=unit.slug,
            name=unit.name,
            unit_kind=unit.kind,
            parent=unit.parent,
        )
    for team in teams:
        graph.add_node(
            team_node_id(team.slug),
            kind="team",
            slug=team.slug,
            name=team.name,
            type=team.type,
            specialty=team.specialty,
            unit=team.unit,
            manager=team.manager,
            description=team.description,
            services=list(team.services),
        )
    for person in _sorted_people(snapshot.people):
        graph.add_node(
            person_node_id(person.email), kind="person", email=person.email, name=person.name
        )

    def link(source: str, target: str, key: str, **attributes: Any) -> None:
        if source in graph and target in graph:
            graph.add_edge(source, target, key=key, **attributes)

    for unit in units:
        if unit.parent is not None:
            link(unit_node_id(unit.slug), unit_node_id(unit.parent), "parent", kind="parent")
    for team in teams:
        if team.unit is not None:
            link(team_node_id(team.slug), unit_node_id(team.unit), "in_unit", kind="in_unit")
    for membership in _sorted_memberships(snapshot.memberships):
        link(
            person_node_id(membership.person),
            team_node_id(membership.team),
            "member",
            kind="member",
            role=membership.role,
            allocation_percent=membership.allocation_percent,
        )
    for serves in _sorted_serves(snapshot.serves):
        link(
            person_node_id(serves.person),
            team_node_id(serves.team),
            "serves",
            kind="serves",
            note=serves.note,
        )
    for interaction in _sorted_interactions(snapshot.interactions):
        link(
            team_node_id(interaction.source),
            team_node_id(interaction.target),
            interaction.mode,
            kind="interaction",
            mode=interaction.mode,
            since=interaction.since.isoformat() if interaction.since else None,
            expected_end=(
                interaction.expected_end.isoformat() if interaction.expected_end else None
            ),
            severity=interaction.severity,
            note=interaction.note,
        )
    return graph


def export_json(snapshot: OrgSnapshot) -> str:
    """networkx node-link JSON of ``org_multigraph`` (read back with ``nx.node_link_graph``)."""
    data = nx.node_link_data(org_multigraph(snapshot), edges="edges")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def export_graphml(snapshot: OrgSnapshot) -> str:
    """GraphML of ``org_multigraph``; GraphML has no null, so absent attributes are left out."""
    graph = org_multigraph(snapshot)
    plain = nx.MultiDiGraph(**_without_none(graph.graph))
    plain.add_nodes_from(
        (node, _without_none(_services_joined(data))) for node, data in graph.nodes(data=True)
    )
    plain.add_edges_from(
        (source, target, key, _without_none(data))
        for source, target, key, data in graph.edges(keys=True, data=True)
    )
    return "\n".join(nx.generate_graphml(plain, encoding="utf-8", prettyprint=True)) + "\n"


def _services_joined(attributes: dict[str, Any]) -> dict[str, Any]:
    """GraphML holds no lists: a team's services become one space-separated string of refs."""
    if "services" not in attributes:
        return attributes
    return {**attributes, "services": " ".join(attributes["services"])}


def _without_none(attributes: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in attributes.items() if value is not None}


# --- Diagrams: mermaid and dot ------------------------------------------------------------------


class _UnitTree:
    """Units nested under their parents; units in a parent cycle or under a missing parent are
    drawn at the top level, so every unit is drawn exactly once."""

    def __init__(self, units: list[UnitNode], teams: list[TeamNode]) -> None:
        self.units = {unit.slug: unit for unit in units}
        self.children: dict[str | None, list[str]] = defaultdict(list)
        self.teams: dict[str | None, list[TeamNode]] = defaultdict(list)
        for team in teams:
            self.teams[team.unit if team.unit in self.units else None].append(team)
        placed: set[str] = set()
        for unit in units:
            if unit.parent is not None and unit.parent in self.units and not self._loops(unit):
                self.children[unit.parent].append(unit.slug)
                placed.add(unit.slug)
        self.roots = [unit.slug for unit in units if unit.slug not in placed]

    def _loops(self, unit: UnitNode) -> bool:
        seen = {unit.slug}
        parent = unit.parent
        while parent is not None and parent in self.units:
            if parent in seen:
                return True
            seen.add(parent)
            parent = self.units[parent].parent
        return False


def _member_counts(snapshot: OrgSnapshot) -> Counter[str]:
    return Counter(team for team, _person in {(m.team, m.person) for m in snapshot.memberships})


def _team_caption(team: TeamNode, members: int) -> tuple[str, str]:
    """The two lines under which a team is drawn: its name, then type and size."""
    kind = TEAM_TYPE_LABELS.get(team.type, team.type)
    if team.type == "ops_silo" and team.specialty:
        kind = f"{kind} ({team.specialty.replace('_', ' ')})"
    size = f"{members} member" if members == 1 else f"{members} members"
    return team.name or team.slug, f"{kind} · {size}"


def _interaction_caption(interaction: InteractionEdge) -> str:
    label = INTERACTION_LABELS.get(interaction.mode, interaction.mode)
    if interaction.mode == "ticket_dependency" and interaction.severity:
        label = f"tickets: {interaction.severity}"
    return label


class _SafeIds:
    """Diagram ids made of letters, digits and ``_`` only, unique per object, stable per input."""

    def __init__(self) -> None:
        self.assigned: dict[tuple[str, str], str] = {}
        self.used: set[str] = set()

    def __call__(self, prefix: str, slug: str) -> str:
        key = (prefix, slug)
        if key not in self.assigned:
            base = f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', slug)}"
            candidate, number = base, 2
            while candidate in self.used:
                candidate, number = f"{base}_{number}", number + 1
            self.used.add(candidate)
            self.assigned[key] = candidate
        return self.assigned[key]


def mermaid_text(value: str) -> str:
    """``value`` made safe inside a double-quoted Mermaid label.

    Mermaid reads ``#name;`` / ``#123;`` as character codes and renders labels as HTML, so quotes,
    ``#``, ``&``, angle brackets and backticks are written as codes; line breaks become spaces.
    """
    codes = {'"': "#34;", "#": "#35;", "&": "#38;", "<": "#60;", ">": "#62;", "`": "#96;"}
    flat = " ".join(value.split())
    return "".join(codes.get(char, char) for char in flat)


def export_mermaid(snapshot: OrgSnapshot) -> str:
    """A Mermaid ``flowchart LR``: units as (nested) subgraphs holding their teams, teams labelled
    with name, type and member count, one link per interaction styled by mode. People are left
    out (too many to draw); serves links and memberships show only as member counts."""
    teams = _sorted_teams(snapshot.teams)
    tree = _UnitTree(_sorted_units(snapshot.units), teams)
    members = _member_counts(snapshot)
    ids = _SafeIds()
    lines = [
        "flowchart LR",
        f"  %% {' '.join(snapshot.organization.split())} as of {snapshot.as_of.isoformat()}",
    ]

    def team_line(team: TeamNode, indent: str) -> str:
        name, details = _team_caption(team, members[team.slug])
        label = f"{mermaid_text(name)}<br/>{mermaid_text(details)}"
        return f'{indent}{ids("t", team.slug)}["{label}"]'

    def unit_block(slug: str, depth: int) -> None:
        unit = tree.units[slug]
        indent = "  " * depth
        title = f"{unit.name or unit.slug} · {unit.kind}" if unit.kind else unit.name or unit.slug
        lines.append(f'{indent}subgraph {ids("u", slug)}["{mermaid_text(title)}"]')
        for child in tree.children[slug]:
            unit_block(child, depth + 1)
        lines.extend(team_line(team, "  " * (depth + 1)) for team in tree.teams[slug])
        lines.append(f"{indent}end")

    for root in tree.roots:
        unit_block(root, 1)
    lines.extend(team_line(team, "  ") for team in tree.teams[None])

    arrows = {
        "ticket_dependency": "==>",
        "x_as_a_service": "-->",
        "collaboration": "<-->",
        "facilitating": "-.->",
    }
    known = {team.slug for team in teams}
    links_by_mode: dict[str, list[int]] = defaultdict(list)
    drawn = [
        interaction
        for interaction in _sorted_interactions(snapshot.interactions)
        if interaction.source in known and interaction.target in known
    ]
    for number, interaction in enumerate(drawn):
        arrow = arrows.get(interaction.mode, "-->")
        label = mermaid_text(_interaction_caption(interaction))
        lines.append(
            f'  {ids("t", interaction.source)} {arrow}|"{label}"| {ids("t", interaction.target)}'
        )
        links_by_mode[interaction.mode].append(number)

    for team_type, (fill, stroke) in TEAM_TYPE_COLOURS.items():
        styled = [ids("t", team.slug) for team in teams if _colour_key(team.type) == team_type]
        if styled:
            dash = ",stroke-dasharray:4 3" if team_type == "unclassified" else ""
            lines.append(f"  classDef {team_type} fill:{fill},stroke:{stroke}{dash}")
            lines.append(f"  class {','.join(styled)} {team_type}")
    for mode, numbers in sorted(links_by_mode.items()):
        colour = INTERACTION_COLOURS.get(mode, OTHER_COLOUR)
        width = "3px" if mode == "ticket_dependency" else "1.5px"
        lines.append(
            f"  linkStyle {','.join(map(str, numbers))} "
            f"stroke:{colour},stroke-width:{width},color:{colour}"
        )
    return "\n".join(lines) + "\n"


def _colour_key(team_type: str) -> str:
    return team_type if team_type in TEAM_TYPE_COLOURS else "unclassified"


def dot_quote(value: str) -> str:
    """``value`` as a double-quoted Graphviz string.

    Backslashes are doubled so that Graphviz's label escapes (``\\N``, ``\\G``, ``\\l``, ...) in
    names are shown literally; line breaks become ``\\n``.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


DOT_EDGE_STYLES: dict[str, dict[str, str]] = {
    "ticket_dependency": {"style": "bold", "penwidth": "2.5"},
    "x_as_a_service": {"style": "solid"},
    "collaboration": {"style": "dashed", "dir": "both"},
    "facilitating": {"style": "dotted"},
}


def export_dot(snapshot: OrgSnapshot) -> str:
    """Graphviz DOT: units as (nested) clusters holding their teams, teams labelled with name,
    type and member count, one edge per interaction styled by mode. People are left out."""
    teams = _sorted_teams(snapshot.teams)
    tree = _UnitTree(_sorted_units(snapshot.units), teams)
    members = _member_counts(snapshot)
    title = f"{snapshot.name or snapshot.organization} as of {snapshot.as_of.isoformat()}"
    lines = [
        f"digraph {dot_quote(snapshot.organization)} {{",
        f"  graph [rankdir=LR, labelloc=t, fontname=Helvetica, label={dot_quote(title)}];",
        '  node [shape=box, style="rounded,filled", fontname=Helvetica];',
        "  edge [fontname=Helvetica, fontsize=10];",
    ]

    def team_line(team: TeamNode, indent: str) -> str:
        name, details = _team_caption(team, members[team.slug])
        fill, stroke = TEAM_TYPE_COLOURS[_colour_key(team.type)]
        style = (
            ', style="rounded,filled,dashed"' if _colour_key(team.type) == "unclassified" else ""
        )
        label = dot_quote(name + "\n" + details)
        return (
            f"{indent}{dot_quote(team_node_id(team.slug))} [label={label}, "
            f'fillcolor="{fill}", color="{stroke}"{style}];'
        )

    def unit_block(slug: str, depth: int) -> None:
        unit = tree.units[slug]
        indent = "  " * depth
        label = f"{unit.name or unit.slug}\n({unit.kind})" if unit.kind else unit.name or unit.slug
        lines.append(f"{indent}subgraph {dot_quote('cluster_' + unit_node_id(slug))} {{")
        lines.append(f'{indent}  label={dot_quote(label)}; style="rounded"; color="#999999";')
        for child in tree.children[slug]:
            unit_block(child, depth + 1)
        lines.extend(team_line(team, indent + "  ") for team in tree.teams[slug])
        lines.append(f"{indent}}}")

    for root in tree.roots:
        unit_block(root, 1)
    lines.extend(team_line(team, "  ") for team in tree.teams[None])

    known = {team.slug for team in teams}
    for interaction in _sorted_interactions(snapshot.interactions):
        if interaction.source not in known or interaction.target not in known:
            continue
        colour = INTERACTION_COLOURS.get(interaction.mode, OTHER_COLOUR)
        attributes = {
            "label": dot_quote(_interaction_caption(interaction)),
            "color": f'"{colour}"',
            "fontcolor": f'"{colour}"',
            **DOT_EDGE_STYLES.get(interaction.mode, {}),
        }
        rendered = ", ".join(f"{name}={value}" for name, value in attributes.items())
        lines.append(
            f"  {dot_quote(team_node_id(interaction.source))} -> "
            f"{dot_quote(team_node_id(interaction.target))} [{rendered}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- Backstage catalog YAML ---------------------------------------------------------------------

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))


class _CatalogRepresenter(SafeRepresenter):
    """Safe YAML that keeps our key order and quotes every string another reader could mistake.

    ruamel writes YAML 1.2, where ``NO``, ``on`` and ``12:30`` are strings and need no quotes;
    YAML 1.1 readers (PyYAML, older tools) would read them as a boolean or a number. A string
    that either version resolves to anything but a string is single-quoted.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sort_base_mapping_type_on_output = False

    def ignore_aliases(self, data: Any) -> bool:
        return True  # a catalog is read by people: no anchors, even for repeated values

    def represent_str(self, data: Any) -> ScalarNode:
        ambiguous = any(
            str(resolver.resolve(ScalarNode, data, (True, False))) != _STR_TAG
            for resolver in _RESOLVERS
        )
        return self.represent_scalar(_STR_TAG, data, style="'" if ambiguous else None)


_CatalogRepresenter.add_representer(str, _CatalogRepresenter.represent_str)


def dump_yaml_documents(documents: Iterable[Any]) -> str:
    """Multi-document block-style YAML, each document starting with ``---``, safe for YAML 1.1
    and 1.2 readers alike (see ``_CatalogRepresenter``)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Representer = _CatalogRepresenter
    yaml.default_flow_style = False
    yaml.explicit_start = True
    yaml.allow_unicode = True
    yaml.width = 4096  # long descriptions stay on one line instead of folding mid-sentence
    stream = io.StringIO()
    yaml.dump_all(list(documents), stream)
    return stream.getvalue()


def backstage_user_names(emails: Iterable[str]) -> dict[str, str]:
    """A valid, unique Backstage entity name per e-mail, derived from its local part.

    Names follow Backstage's rule (letters and digits in runs separated by one of ``-_.``, at most
    63 characters) and are lower-case, because Backstage compares names case-insensitively. When
    two addresses give the same name, the first in e-mail order keeps it and the others get
    ``-2``, ``-3``, ... (skipping names another address gives naturally), so the result depends
    only on the set of addresses.
    """
    ordered = sorted(set(emails))
    bases = {email: _entity_name(email.rpartition("@")[0] or email) for email in ordered}
    taken = set(bases.values())
    names: dict[str, str] = {}
    kept: set[str] = set()
    for email in ordered:
        base = bases[email]
        if base not in kept:
            names[email] = base
            kept.add(base)
            continue
        number = 2
        while True:
            suffix = f"-{number}"
            candidate = _entity_name(base, room=len(suffix)) + suffix
            if candidate not in taken:
                break
            number += 1
        names[email] = candidate
        taken.add(candidate)
    return names


def _entity_name(text: str, room: int = 0) -> str:
    name = re.sub(r"[^a-z0-9]+", lambda match: _separator(match.group()), text.lower())
    name = name.strip("-_.")[: 63 - room].rstrip("-_.")
    return name or "user"


def _separator(run: str) -> str:
    # A single '.', '_' or '-' is kept (john.smith stays john.smith); anything else, such as the
    # '+' of a sub-address or two separators in a row, becomes one '-'.
    return run if run in {".", "_", "-"} else "-"


def _group_names(units: list[UnitNode], teams: list[TeamNode]) -> dict[str, str]:
    """Backstage Group names for units: the slug, unless a team (or another unit) already has it.

    Teams keep their slug (it is what the importer turns back into the team). A unit whose slug
    a team also has, compared as the importer compares them (case-insensitive, '.' as '-'), gets a
    '-unit' suffix: only that unit's slug changes on the way back.
    """

    def key(name: str) -> str:
        return name.lower().replace(".", "-")

    used = {key(team.slug) for team in teams}
    names: dict[str, str] = {}
    for unit in units:
        candidate, number = unit.slug, 2
        if key(candidate) in used:
            candidate = f"{unit.slug}-unit"
        while key(candidate) in used:
            candidate, number = f"{unit.slug}-unit-{number}", number + 1
        used.add(key(candidate))
        names[unit.slug] = candidate
    return names


def export_backstage(snapshot: OrgSnapshot) -> str:
    """Backstage catalog YAML: a Group per unit and per team, a User per person, and a
    Component, System, API or Domain per owned service (``spec.owner`` names the team's Group).

    Units are Groups typed by their kind with the hierarchy in both ``spec.parent`` and
    ``spec.children``; teams are Groups typed ``stream-aligned``, ``platform``, ``enabling``,
    ``complicated-subsystem``, ``ops-silo`` (specialty in the ``transform.dev/specialty``
    annotation) or ``team``; users carry their teams in ``spec.memberOf``. Interactions, serves
    links, membership roles and allocations, and team managers have no place in Group/User
    entities and are left out.
    """
    units = _sorted_units(snapshot.units)
    teams = _sorted_teams(snapshot.teams)
    people = _sorted_people(snapshot.people)
    unit_names = _group_names(units, teams)
    team_slugs = {team.slug for team in teams}

    children: dict[str, list[str]] = defaultdict(list)
    for unit in units:
        if unit.parent in unit_names:
            children[unit.parent].append(unit_names[unit.slug])
    for team in teams:
        if team.unit in unit_names:
            children[team.unit].append(team.slug)

    documents: list[dict[str, Any]] = []
    for unit in units:
        spec: dict[str, Any] = {"type": unit.kind.strip() or DEFAULT_UNIT_KIND}
        spec.update(_profile(unit.name))
        if unit.parent in unit_names:
            spec["parent"] = unit_names[unit.parent]
        spec["children"] = children[unit.slug]
        documents.append(_entity("Group", {"name": unit_names[unit.slug]}, spec))

    for team in teams:
        metadata: dict[str, Any] = {"name": team.slug}
        if team.description.strip():
            metadata["description"] = team.description.strip()
        if team.type == "ops_silo" and team.specialty:
            metadata["annotations"] = {SPECIALTY_ANNOTATION: team.specialty}
        spec = {"type": BACKSTAGE_TEAM_TYPES.get(team.type, BACKSTAGE_UNCLASSIFIED_TYPE)}
        spec.update(_profile(team.name))
        if team.unit in unit_names:
            spec["parent"] = unit_names[team.unit]
        spec["children"] = []
        documents.append(_entity("Group", metadata, spec))

    teams_of: dict[str, set[str]] = defaultdict(set)
    for membership in snapshot.memberships:
        if membership.team in team_slugs:
            teams_of[membership.person].add(membership.team)
    user_names = backstage_user_names(person.email for person in people)
    for person in people:
        profile: dict[str, str] = {}
        if person.name.strip():
            profile["displayName"] = person.name.strip()
        profile["email"] = person.email
        documents.append(
            _entity(
                "User",
                {"name": user_names[person.email]},
                {"profile": profile, "memberOf": sorted(teams_of[person.email])},
            )
        )
    for team in teams:
        for ref in team.services:
            kind, _, slug = ref.partition(":")
            documents.append(
                _entity(BACKSTAGE_SERVICE_KINDS[kind], {"name": slug}, _service_spec(kind, team))
            )
    return dump_yaml_documents(documents)


# Backstage entity kind per teams.models.ServiceKind value.
BACKSTAGE_SERVICE_KINDS = {
    "component": "Component",
    "system": "System",
    "api": "API",
    "domain": "Domain",
}


def _service_spec(kind: str, team: TeamNode) -> dict[str, Any]:
    """The spec of an owned service: its owner, plus the fields Backstage requires of the kind
    (Transform does not record them, so they say so: type ``unknown``)."""
    if kind in ("system", "domain"):
        return {"owner": f"group:{team.slug}"}
    spec: dict[str, Any] = {
        "type": "unknown",
        "lifecycle": "unknown",
        "owner": f"group:{team.slug}",
    }
    if kind == "api":
        spec["definition"] = "not recorded in Transform"
    return spec


def _entity(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": BACKSTAGE_API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _profile(name: str) -> dict[str, Any]:
    # The importer refuses an empty displayName; without one it falls back to the entity name.
    return {"profile": {"displayName": name.strip()}} if name.strip() else {}


# --- TeamAPI-as-Code: one file per team ---------------------------------------------------------

TEAMAPI_VERSION = "0.1.0"
# The TeamAPI specification extension (``x-`` prefix) that teams/importers/teamapi.py reads back:
# what Transform records and TeamAPI has no field for.
TEAMAPI_EXTENSION = "x-transform"
# The directory's one file that is not a team: the units and people the teams' files name, in the
# org format. A slug holds no '.', so no team's file can have this name.
TEAMAPI_ORG_FILE = "organisation.org.yaml"
ORG_FORMAT = "transform.org/v1"
TEAMAPI_TEAM_TYPES: dict[str, str] = {**BACKSTAGE_TEAM_TYPES, "unclassified": "unclassified"}
TEAMAPI_MODES: dict[str, str] = {
    "collaboration": "collaboration",
    "x_as_a_service": "x-as-a-service",
    "facilitating": "facilitating",
}
TEAMAPI_DEPENDENCY_TYPES: dict[str, str] = {
    "blocking": "Blocking",
    "slowing": "Slowing",
    "ok": "OK",
}


def teamapi_file_name(team_slug: str) -> str:
    return f"{team_slug}.yaml"


def export_teamapi(
    snapshot: OrgSnapshot, *, service_names: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """The TeamAPI export as (file name, text) pairs: ``organisation.org.yaml`` first, then one
    ``SLUG.yaml`` TeamAPI document per team in slug order. Files are made one at a time, so a
    caller can write each before the next is built.

    ``service_names`` maps a service ref (``kind:slug``) to its name; a service without one is
    named by its slug. ``import_org`` on all the files gives back the snapshot's graph (units,
    teams, people, memberships, serves links, interactions, service ownership): see
    docs/export.md for the layout and the few values that do not come back.
    """
    names = service_names or {}
    teams = _sorted_teams(snapshot.teams)
    team_names = {team.slug: team.name for team in teams}
    people = {person.email for person in snapshot.people}
    members: dict[str, list[MembershipEdge]] = defaultdict(list)
    for membership in _sorted_memberships(snapshot.memberships):
        if membership.person in people:
            members[membership.team].append(membership)
    served: dict[str, list[ServesEdge]] = defaultdict(list)
    for serves in _sorted_serves(snapshot.serves):
        if serves.person in people:
            served[serves.team].append(serves)
    outgoing: dict[str, list[InteractionEdge]] = defaultdict(list)
    for interaction in _sorted_interactions(snapshot.interactions):
        if interaction.target in team_names:
            outgoing[interaction.source].append(interaction)

    yield TEAMAPI_ORG_FILE, dump_yaml_documents([_teamapi_org_document(snapshot)])
    for team in teams:
        document = _teamapi_document(
            team,
            team_names=team_names,
            members=members[team.slug],
            served=served[team.slug],
            interactions=outgoing[team.slug],
            service_names=names,
        )
        yield teamapi_file_name(team.slug), dump_yaml_documents([document])


def _teamapi_org_document(snapshot: OrgSnapshot) -> dict[str, Any]:
    units = []
    for unit in _sorted_units(snapshot.units):
        entry: dict[str, Any] = {"slug": unit.slug, "name": unit.name}
        if unit.kind:
            entry["kind"] = unit.kind
        if unit.parent is not None:
            entry["parent"] = unit.parent
        units.append(entry)
    people = [
        {"email": person.email, "name": person.name} for person in _sorted_people(snapshot.people)
    ]
    return {"format": ORG_FORMAT, "units": units, "people": people}


def _teamapi_document(
    team: TeamNode,
    *,
    team_names: Mapping[str, str],
    members: list[MembershipEdge],
    served: list[ServesEdge],
    interactions: list[InteractionEdge],
    service_names: Mapping[str, str],
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": team.name,
        "type": TEAMAPI_TEAM_TYPES.get(team.type, "unclassified"),
    }
    if team.description.strip():
        info["focus"] = team.description
    document: dict[str, Any] = {"teamapi": TEAMAPI_VERSION, "info": info}

    services = []
    for ref in team.services:
        kind, _, slug = ref.partition(":")
        services.append(
            {
                "name": service_names.get(ref, "").strip() or slug,
                "kind": kind,
                TEAMAPI_EXTENSION: {"slug": slug},
            }
        )
    if services:
        document["services"] = services

    links = [edge for edge in interactions if edge.mode != "ticket_dependency"]
    if links:
        document["interactions"] = [_teamapi_interaction(edge, team_names) for edge in links]
    dependencies = [edge for edge in interactions if edge.mode == "ticket_dependency"]
    if dependencies:
        document["dependencies"] = [_teamapi_dependency(edge, team_names) for edge in dependencies]

    extension: dict[str, Any] = {"slug": team.slug}
    if team.specialty:
        extension["specialty"] = team.specialty
    if team.unit is not None:
        extension["unit"] = team.unit
    if team.manager is not None:
        extension["manager"] = team.manager
    extension["members"] = [
        {"person": edge.person, "role": edge.role, "allocation_percent": edge.allocation_percent}
        for edge in members
    ]
    extension["served_by"] = [
        {"person": edge.person, **({"note": edge.note} if edge.note else {})} for edge in served
    ]
    document[TEAMAPI_EXTENSION] = extension
    return document


def _teamapi_interaction(edge: InteractionEdge, team_names: Mapping[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "teamName": team_names[edge.target],
        "mode": TEAMAPI_MODES.get(edge.mode, edge.mode),
    }
    extension: dict[str, Any] = {"team": edge.target}
    if edge.since is not None:
        entry["startDate"] = edge.since
        if edge.expected_end is not None:
            # An exact number of days (never negative: an interaction ends after it starts);
            # months would round to the end of a shorter month.
            entry["expectedDuration"] = f"P{(edge.expected_end - edge.since).days}D"
    elif edge.expected_end is not None:
        extension["expected_end"] = edge.expected_end  # TeamAPI has no end without a start
    if edge.note:
        entry["purpose"] = edge.note
    entry[TEAMAPI_EXTENSION] = extension
    return entry


def _teamapi_dependency(edge: InteractionEdge, team_names: Mapping[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"teamName": team_names[edge.target]}
    if edge.severity in TEAMAPI_DEPENDENCY_TYPES:
        entry["type"] = TEAMAPI_DEPENDENCY_TYPES[edge.severity]
    if edge.note:
        entry["description"] = edge.note
    # A TeamAPI dependency has no dates: Transform's go in the extension.
    extension: dict[str, dt.date | str] = {"team": edge.target}
    if edge.since is not None:
        extension["since"] = edge.since
    if edge.expected_end is not None:
        extension["expected_end"] = edge.expected_end
    entry[TEAMAPI_EXTENSION] = extension
    return entry


# --- Deterministic order, whatever the snapshot's ----------------------------------------------


def _sorted_units(units: list[UnitNode]) -> list[UnitNode]:
    return sorted(units, key=lambda unit: unit.slug)


def _sorted_teams(teams: list[TeamNode]) -> list[TeamNode]:
    return sorted(teams, key=lambda team: team.slug)


def _sorted_people(people: list[PersonNode]) -> list[PersonNode]:
    return sorted(people, key=lambda person: person.email)


def _sorted_memberships(memberships: list[MembershipEdge]) -> list[MembershipEdge]:
    return sorted(memberships, key=lambda edge: (edge.team, edge.person, edge.role))


def _sorted_serves(serves: list[ServesEdge]) -> list[ServesEdge]:
    return sorted(serves, key=lambda edge: (edge.team, edge.person))


def _sorted_interactions(interactions: list[InteractionEdge]) -> list[InteractionEdge]:
    return sorted(interactions, key=lambda edge: (edge.source, edge.target, edge.mode))
