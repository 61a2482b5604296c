"""What the printable leadership report shows of the teams, so that it stays one A4 page whatever
the organisation's size: the heat map keeps the teams that need attention and the ones doing best
now ("and 50 more teams"), and a table by unit counts every team by readiness band.

Pure functions on rows the page already read; nothing here is a new figure. A unit's counts only
count teams whose own cell the dashboard shows anyway (a suppressed team counts as suppressed), so
the summary reveals nothing the anonymity rules hide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Teams in the report's heat map: up to this many, all of them; beyond, the lowest and the highest
# halves by readiness now. Units in the table by unit, the largest first, then "and N more".
REPORT_TEAMS = 12
REPORT_UNITS = 5
NO_UNIT = "No unit"


@dataclass(frozen=True, slots=True)
class ReportTeam:
    id: int
    slug: str
    name: str
    unit: str  # the unit's name, "" for none
    unit_id: int | None = None  # units are told apart by id: two may share a name


def report_teams(
    teams: Sequence[ReportTeam],
    *,
    cells: Mapping[int, Mapping[str, Any]],
    limit: int = REPORT_TEAMS,
) -> tuple[list[ReportTeam], str]:
    """The teams the report's heat map shows and how the report says which ("" when all).

    ``cells``: each team's cell of the current period (``kind``, and ``score`` when it is one).
    Up to ``limit`` teams: all, by name. More: the ``limit // 2`` with the lowest score now, then
    the highest, lowest first; when fewer teams have a score, teams without one fill the rest."""
    if len(teams) <= limit:
        return sorted(teams, key=lambda team: team.name.lower()), ""
    scored = sorted(
        (team for team in teams if cells.get(team.id, {}).get("kind") == "score"),
        key=lambda team: (float(cells[team.id]["score"]), team.name.lower()),
    )
    low = scored[: limit // 2]
    remaining = scored[len(low) :]
    high = remaining[len(remaining) - min(len(remaining), limit - len(low)) :]
    chosen = low + high
    if len(chosen) < limit:
        rest = sorted(
            (team for team in teams if team not in chosen), key=lambda team: team.name.lower()
        )
        chosen += rest[: limit - len(chosen)]
    more = len(teams) - len(chosen)
    unscored = len(chosen) - len(low) - len(high)
    if unscored:
        # Too few teams have a score for a lowest and a highest half: say what fills the rest.
        with_score = len(low) + len(high)
        shown = f"{_teams(unscored)} without a readiness score now"
        if with_score:
            shown = (
                f"The {_teams(with_score)} with a readiness score now "
                f"and {_teams(unscored)} without one"
            )
    else:
        shown = (
            f"The {len(low)} teams with the lowest and the {len(high)} with the highest "
            "readiness now"
        )
    return (
        chosen,
        f"{shown[0].upper()}{shown[1:]}, of {len(teams)}; and {more} more teams on the dashboard.",
    )


def _teams(count: int) -> str:
    return "1 team" if count == 1 else f"{count} teams"


def unit_summary(
    teams: Sequence[ReportTeam],
    *,
    cells: Mapping[int, Mapping[str, Any]],
    limit: int = REPORT_UNITS,
) -> tuple[list[dict[str, Any]], int]:
    """One row per unit (``unit``, ``teams``, ``high``, ``medium``, ``low``, ``suppressed``,
    ``no_data``: counts of its teams by their cell now), the units with most teams first, up to
    ``limit``; and how many units are left out."""
    rows: dict[int | str, dict[str, Any]] = {}
    for team in teams:
        name = team.unit or NO_UNIT
        row = rows.setdefault(
            team.unit_id if team.unit_id is not None else name,
            {"unit": name, "teams": 0, "high": 0, "medium": 0, "low": 0, "suppressed": 0,
             "no_data": 0},
        )  # fmt: skip
        row["teams"] += 1
        cell = cells.get(team.id, {})
        if cell.get("kind") == "score":
            row[str(cell.get("band") or "low")] += 1
        elif cell.get("kind") == "suppressed":
            row["suppressed"] += 1
        else:
            row["no_data"] += 1
    ordered = sorted(rows.values(), key=lambda row: (-row["teams"], row["unit"].lower()))
    return ordered[:limit], max(0, len(ordered) - limit)
