"""Exit-criteria results as the milestone page shows them: the verdict in words ("Not met", not
``fail``) and the teams a result names as links to their team pages, by name, not slug.

The results' ``evidence`` keeps slugs (the API returns it as it is); this module only turns them
into names, with one query for all the results of a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playbooks.criteria import CriterionResult
from teams.models import Organization, Team

VERDICT_LABELS: dict[str, str] = {"pass": "Met", "fail": "Not met", "unknown": "No verdict yet"}
# Evidence keys that hold team slugs: the teams a result is about, then the ones waiting on them.
_TEAM_KEYS = ("teams", "dependent_teams")
# A criterion about hundreds of teams links the first few and counts the rest.
TEAMS_SHOWN = 12


def _evidence_teams(result: CriterionResult) -> list[str]:
    slugs: list[str] = []
    for key in _TEAM_KEYS:
        value = result.evidence.get(key)
        if isinstance(value, list):
            slugs += [slug for slug in value if isinstance(slug, str) and slug not in slugs]
    return slugs


def criterion_rows(
    results: Sequence[CriterionResult], *, organization: Organization
) -> list[dict[str, Any]]:
    """Each result's ``as_dict()`` plus ``status_label`` and ``teams`` (``{"slug", "name"}`` of
    the live teams its evidence names, up to ``TEAMS_SHOWN``) and ``teams_more`` (how many more).
    One query, only when some result names teams; a team no longer live is not linked."""
    wanted = {slug for result in results for slug in _evidence_teams(result)}
    names: dict[str, str] = {}
    if wanted:
        names = dict(
            Team.objects.filter(
                organization=organization, slug__in=wanted, retired_at__isnull=True
            ).values_list("slug", "name")
        )
    rows = []
    for result in results:
        live = [slug for slug in _evidence_teams(result) if slug in names]
        teams = sorted(
            ({"slug": slug, "name": names[slug] or slug} for slug in live),
            key=lambda team: team["name"].lower(),
        )
        rows.append(
            {
                **result.as_dict(),
                "status_label": VERDICT_LABELS.get(result.status, result.status),
                "teams": teams[:TEAMS_SHOWN],
                "teams_more": max(0, len(teams) - TEAMS_SHOWN),
            }
        )
    return rows
