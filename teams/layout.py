"""Stable positions for drawing an organisation's teams (docs/web-graph.md#layout).

The drawing is made on a lattice of cells, one team per cell, so no two teams ever overlap. Teams
are grouped by their org unit: each unit is a rectangular block of cells (drawn as a compound
node around its teams), blocks are packed in rows in the order of the units' slugs, with one
empty cell between blocks. Inside a unit, teams are ordered so that teams that interact sit next
to each other (a breadth-first walk of the unit's interaction graph from its busiest team, ties
by slug). Nothing is random: the same topology always gives the same positions.

A scenario's target reuses the current positions (``positions_extend``): teams that stay keep
their cell; a new team (a merge's result, a split's parts, a created team) takes the free cell
nearest to the teams it came from (the teams its members were in, else its interaction
partners, else its unit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import networkx as nx

from teams.graph import OrgSnapshot

# One cell per team, in drawing units (Cytoscape's model coordinates). A team's node with its
# label (``NODE_BOX``) fits in a cell with room to spare, so neighbours never touch.
CELL_WIDTH = 190
CELL_HEIGHT = 130
NODE_BOX = (170.0, 100.0)  # width, height of a node with its two-line label, at most

Position = dict[str, float]
Cell = tuple[int, int]


def _cell_position(cell: Cell) -> Position:
    return {"x": float(cell[0] * CELL_WIDTH), "y": float(cell[1] * CELL_HEIGHT)}


def _position_cell(position: Position) -> Cell:
    return (round(position["x"] / CELL_WIDTH), round(position["y"] / CELL_HEIGHT))


def _unit_order(slugs: list[str], snapshot: OrgSnapshot) -> list[str]:
    """The unit's teams, interacting teams next to each other: a breadth-first walk of the
    unit's interaction graph from its busiest team (ties by slug), component by component."""
    inside = set(slugs)
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(sorted(slugs))
    for edge in snapshot.interactions:
        if edge.source in inside and edge.target in inside and edge.source != edge.target:
            graph.add_edge(edge.source, edge.target)
    order: list[str] = []
    seen: set[str] = set()
    by_degree = sorted(graph.nodes, key=lambda slug: (-graph.degree(slug), slug))
    for start in by_degree:
        if start in seen:
            continue
        seen.add(start)
        queue = [start]
        while queue:
            slug = queue.pop(0)
            order.append(slug)
            for other in sorted(graph.neighbors(slug), key=lambda s: (-graph.degree(s), s)):
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
    return order


def team_positions(snapshot: OrgSnapshot) -> dict[str, Position]:
    """Every team's position ``{"x", "y"}`` by slug, grouped by unit; deterministic."""
    groups: dict[str, list[str]] = {}
    for team in snapshot.teams:
        groups.setdefault(team.unit or "", []).append(team.slug)
    if not groups:
        return {}
    blocks: list[tuple[str, list[str], int, int]] = []  # unit, ordered teams, columns, rows
    for unit in sorted(groups):
        ordered = _unit_order(groups[unit], snapshot)
        columns = max(1, math.ceil(math.sqrt(len(ordered))))
        rows = math.ceil(len(ordered) / columns)
        blocks.append((unit, ordered, columns, rows))
    total = sum(len(block[1]) for block in blocks)
    # Rows of blocks about as wide as the whole is tall (a screen is wider than tall: 1.5).
    max_width = max(max(block[2] for block in blocks), math.ceil(math.sqrt(total) * 1.5))
    positions: dict[str, Position] = {}
    x = y = row_height = 0
    for _, ordered, columns, rows in blocks:
        if x and x + columns > max_width:
            x, y, row_height = 0, y + row_height + 1, 0
        for index, slug in enumerate(ordered):
            positions[slug] = _cell_position((x + index % columns, y + index // columns))
        x += columns + 1
        row_height = max(row_height, rows)
    return positions


def predecessors(before: OrgSnapshot, after: OrgSnapshot) -> dict[str, list[str]]:
    """For each team of ``after`` that is not in ``before``: the teams of ``before`` its
    members were in (sorted), else those it interacts with in ``after``."""
    old = {team.slug for team in before.teams}
    teams_of: dict[str, set[str]] = {}
    for edge in before.memberships:
        teams_of.setdefault(edge.person, set()).add(edge.team)
    found: dict[str, list[str]] = {}
    for team in after.teams:
        if team.slug in old:
            continue
        origins: set[str] = set()
        for edge in after.memberships:
            if edge.team == team.slug:
                origins |= teams_of.get(edge.person, set())
        if not origins:
            for link in after.interactions:
                if link.source == team.slug and link.target in old:
                    origins.add(link.target)
                if link.target == team.slug and link.source in old:
                    origins.add(link.source)
        found[team.slug] = sorted(origins)
    return found


def _nearest_free(target: Cell, taken: set[Cell]) -> Cell:
    """The free cell nearest to ``target`` (by distance, then row, then column)."""
    radius = 0
    while True:
        ring = [
            (target[0] + dx, target[1] + dy)
            for dx in range(-radius, radius + 1)
            for dy in range(-radius, radius + 1)
            if max(abs(dx), abs(dy)) == radius
        ]
        free = [cell for cell in ring if cell not in taken]
        if free:
            return min(
                free,
                key=lambda c: ((c[0] - target[0]) ** 2 + (c[1] - target[1]) ** 2, c[1], c[0]),
            )
        radius += 1


def positions_extend(
    base: dict[str, Position],
    snapshot: OrgSnapshot,
    origins: dict[str, list[str]] | None = None,
    *,
    released: Iterable[str] = (),
) -> dict[str, Position]:
    """Positions for ``snapshot``'s teams that keep ``base``'s for every team in it; each other
    team takes the free cell nearest to the centre of its ``origins`` (teams of ``base``),
    else of its unit's teams, else right of everything. Cells of teams gone from ``snapshot``
    are free, as are those of ``released``."""
    origins = origins or {}
    freed = set(released)
    slugs = [team.slug for team in snapshot.teams]
    kept = {slug: base[slug] for slug in slugs if slug in base and slug not in freed}
    taken = {_position_cell(position) for position in kept.values()}
    units = {team.slug: team.unit for team in snapshot.teams}
    right = max((cell[0] for cell in taken), default=-1) + 2
    positions = dict(kept)
    for slug in sorted(slug for slug in slugs if slug not in kept):
        anchors = [base[o] for o in origins.get(slug, []) if o in base]
        if not anchors:
            anchors = [
                positions[o] for o in sorted(positions) if units.get(o) == units[slug] and o in kept
            ]
        if anchors:
            centre = {
                "x": sum(p["x"] for p in anchors) / len(anchors),
                "y": sum(p["y"] for p in anchors) / len(anchors),
            }
            target = _position_cell(centre)
        else:
            target = (right, 0)
        cell = _nearest_free(target, taken)
        taken.add(cell)
        positions[slug] = _cell_position(cell)
    return positions


def boxes_overlap(positions: dict[str, Position], box: tuple[float, float] = NODE_BOX) -> bool:
    """Whether any two teams' boxes (``box`` centred on each position) overlap."""
    width, height = box
    points = sorted(positions.values(), key=lambda p: (p["x"], p["y"]))
    for index, first in enumerate(points):
        for second in points[index + 1 :]:
            if second["x"] - first["x"] >= width:
                break
            if abs(second["y"] - first["y"]) < height:
                return True
    return False
