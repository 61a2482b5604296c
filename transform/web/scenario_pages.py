"""The scenario page (docs/web-graph.md): a transformation's target topology next to the current
one, with the metric and finding deltas of its pending changes (optionally up to one milestone)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.errors import ConflictError
from teams.analysis import InvalidThresholdsError, metric_delta, metric_label, metric_shown
from teams.graph import OrgSnapshot
from teams.layout import Position, positions_extend, predecessors
from teams.selectors import (
    analysis_derived_get,
    org_analysis_key_get,
    org_snapshot_get,
)
from transform.access import OrgAccess, transformation_get_for_user
from transform.models import Milestone, Transformation
from transform.plans import selectors as transform_selectors
from transform.plans.change_words import Names, change_references, change_sentence
from transform.web.access import org_page
from transform.web.change_section import people_names_get
from transform.web.context import page_context
from transform.web.findings_pages import finding_row
from transform.web.graph_pages import (
    EDGE_LEGEND,
    GraphView,
    graph_data,
    layout_get,
    legend_team_types,
)


def _flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat_metrics(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _metric_rows(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    flat_before, flat_after = _flat_metrics(before), _flat_metrics(after)
    rows = []
    for name in flat_after.keys() | flat_before.keys():
        old, new = flat_before.get(name), flat_after.get(name)
        # In words and readable units: "Stream-aligned teams with a DevOps buddy", 33% (issue 17).
        rows.append(
            {
                "name": metric_label(name),
                "before": metric_shown(name, old),
                "after": metric_shown(name, new),
                "delta": metric_delta(name, old, new),
                "changed": old != new,
            }
        )
    rows.sort(key=lambda row: (not row["changed"], row["name"]))
    return rows


# Keys of a change that name teams (teams.scenarios): the teams a change affects.
_TEAM_KEYS = ("team", "teams", "into", "from_team", "to_team", "source", "target", "slug")


def affected_teams(changes: list[dict[str, Any]], known: set[str]) -> set[str]:
    """The slugs of ``known`` teams that the changes name (a merge's teams and result, a
    split's team and parts, a buddy's team, an interaction's ends, ...)."""
    found: set[str] = set()

    def walk(value: Any, named: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, key in _TEAM_KEYS)
        elif isinstance(value, list):
            for item in value:
                walk(item, named)
        elif named and isinstance(value, str) and value in known:
            found.add(value)

    for change in changes:
        walk(change, False)
    return found


def _edge_pairs(elements: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {
        (e["data"]["source"], e["data"]["target"]): e["data"]["mode"]
        for e in elements
        if e["group"] == "edges"
    }


def _scenario_elements(
    snapshot: OrgSnapshot, *, org_slug: str, positions: dict[str, Position]
) -> list[dict[str, Any]]:
    """The drawing of ``snapshot`` with its teams at ``positions``."""
    view = GraphView(snapshot=snapshot, report=None, report_error="")
    elements: list[dict[str, Any]] = graph_data(
        view=view, org_slug=org_slug, filters={}, positions=positions
    )["elements"]
    return elements


def _marks_add(
    elements: list[dict[str, Any]],
    *,
    marks: dict[str, list[str]],
    other: list[dict[str, Any]],
    edge_mark: str,
) -> None:
    """Each team gets the classes ``marks`` lists for it; a link between two teams that is not
    in ``other`` (the other drawing) gets ``edge_mark``, one whose mode differs ``changed``."""
    other_pairs = _edge_pairs(other)
    for element in elements:
        extra = list(marks.get(element["data"].get("slug", ""), []))
        if element["group"] == "edges":
            pair = (element["data"]["source"], element["data"]["target"])
            if pair not in other_pairs:
                extra.append(edge_mark)
            elif other_pairs[pair] != element["data"]["mode"]:
                extra.append("changed")
        if extra:
            element["classes"] += " " + " ".join(extra)


def _drawings_get(
    *,
    access: OrgAccess,
    transformation: Transformation,
    up_to: Milestone | None,
    preview: dict[str, Any],
) -> dict[str, Any]:
    """The current and target drawings (Cytoscape elements with positions and marks: added,
    removed, changed and affected teams and links) and every team's name. The current drawing
    uses today's cached positions (the graph page's); the target keeps them for every team that
    stays and places new ones next to the teams they came from (``teams.layout``). A function
    of the live graph and the pending changes, as the preview is: cached under the live
    analysis's key and the changes the preview lists, so that an unchanged scenario reads no
    snapshot. Raises ``ConflictError`` as ``scenario_apply``."""
    organization = access.organization
    key = org_analysis_key_get(organization=organization)

    def drawn() -> dict[str, Any]:
        rows = transform_selectors.transformation_pending_changes(
            transformation=transformation, up_to=up_to
        )
        before = org_snapshot_get(organization=organization)
        after = transform_selectors.scenario_apply(snapshot=before, rows=rows)
        topology = preview["delta"]["topology"]
        known = {team.slug for team in [*before.teams, *after.teams]}
        affected = affected_teams([row["change"] for row in preview["changes"]], known)
        base = layout_get(key=key, snapshot=before)
        target = positions_extend(base, after, predecessors(before, after))
        before_marks: dict[str, list[str]] = {}
        after_marks: dict[str, list[str]] = {}
        for slug in topology["teams_deleted"]:
            before_marks.setdefault(slug, []).append("removed")
        for slug in topology["teams_created"]:
            after_marks.setdefault(slug, []).append("added")
        for slug in topology["teams_updated"]:
            before_marks.setdefault(slug, []).append("changed")
            after_marks.setdefault(slug, []).append("changed")
        for slug in sorted(affected):
            before_marks.setdefault(slug, []).append("affected")
            after_marks.setdefault(slug, []).append("affected")
        slug = organization.slug
        current = _scenario_elements(before, org_slug=slug, positions=base)
        future = _scenario_elements(after, org_slug=slug, positions=target)
        # Marks change only ``classes``: the links compared stay as they were.
        _marks_add(current, marks=before_marks, other=future, edge_mark="removed")
        _marks_add(future, marks=after_marks, other=current, edge_mark="added")
        return {
            "team_names": {team.slug: team.name for team in [*before.teams, *after.teams]},
            "affected": sorted(affected),
            "before": current,
            "after": future,
        }

    found: dict[str, Any] = analysis_derived_get(
        key=key,
        kind=f"scenario-drawings:{transformation.pk}",
        content=preview["changes"],
        compute=drawn,
    )
    return found


def _change_rows(
    access: OrgAccess,
    rows: list[dict[str, Any]],
    team_names: dict[str, str],
    milestones: list[Milestone],
) -> list[dict[str, Any]]:
    """The pending changes as the page lists them: the milestone's title, the kind in words and
    the change as a sentence with names (``change_sentence``). Pending changes name teams of the
    live or the target graph, whose names the drawings have; people cost one query when a change
    names any."""
    changes = [row["change"] for row in rows]
    _teams, emails, _units = change_references(changes)
    people = people_names_get(organization=access.organization, emails=emails) if emails else {}
    names = Names(teams=team_names, people=people)
    titles = {milestone.pk: milestone.title for milestone in milestones}
    return [
        {
            **row,
            "milestone_title": titles.get(row["milestone"], row["milestone_key"]),
            "kind": str(row["change"].get("kind", "")).replace("_", " "),
            "details": change_sentence(row["change"], names),
        }
        for row in rows
    ]


@org_page
def scenario(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """A transformation's target topology next to the current one, with the metric and finding
    deltas of ``scenario_preview_get`` (optionally up to one milestone)."""
    slug = access.organization.slug
    transformations = list(
        transform_selectors.transformation_list(organization=access.organization)
    )
    context = page_context(access, current="web:scenario", transformations=transformations)
    if not transformations:
        return render(request, "web/graph/scenario.html", context)
    reference = request.GET.get("transformation") or str(transformations[0].pk)
    if not any(str(item.pk) == reference for item in transformations):
        raise Http404("No transformation with this id in the organisation.")
    transformation_access = transformation_get_for_user(
        user=request.user, transformation_id=int(reference), organization=access.organization
    )
    transformation = transformation_access.transformation
    milestones = list(transform_selectors.milestone_list(transformation=transformation))
    context.update(transformation=transformation, milestones=milestones, error="")
    up_to = None
    milestone_ref = request.GET.get("milestone", "")
    if milestone_ref:
        up_to = next((m for m in milestones if str(m.pk) == milestone_ref), None)
        if up_to is None:
            context["error"] = f"No milestone '{milestone_ref}' in this transformation."
            return render(request, "web/graph/scenario.html", context, status=400)
    context["up_to"] = up_to
    try:
        preview = transform_selectors.scenario_preview_get(
            transformation=transformation, up_to=up_to
        )
        drawings = _drawings_get(
            access=access, transformation=transformation, up_to=up_to, preview=preview
        )
    except InvalidThresholdsError as exc:
        context["error"] = f"The organisation's analysis_thresholds are invalid: {exc}"
        return render(request, "web/graph/scenario.html", context)
    except ConflictError as exc:
        context["error"] = exc.message
        return render(request, "web/graph/scenario.html", context)
    topology = preview["delta"].get("topology_words") or {}
    team_names = drawings["team_names"]
    context.update(
        preview=preview,
        pending=bool(preview["changes"]),
        changes=_change_rows(access, preview["changes"], team_names, milestones),
        metric_rows=_metric_rows(preview["before"]["metrics"], preview["after"]["metrics"]),
        resolved=[
            finding_row(f, team_names=team_names, org_slug=slug)
            for f in preview["delta"]["findings_resolved"]
        ],
        added=[
            finding_row(f, team_names=team_names, org_slug=slug)
            for f in preview["delta"]["findings_added"]
        ],
        topology=[
            (name.replace("_", " ").capitalize(), labels)
            for name, labels in topology.items()
            if labels
        ],
        before_elements=drawings["before"],
        after_elements=drawings["after"],
        affected=[team_names.get(slug, slug) for slug in drawings["affected"]],
        edge_legend=EDGE_LEGEND,
        team_types=legend_team_types(),
    )
    return render(request, "web/graph/scenario.html", context)
