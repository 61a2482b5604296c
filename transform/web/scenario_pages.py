"""The scenario page (docs/web-graph.md): a transformation's target topology next to the current
one, with the metric and finding deltas of its pending changes (optionally up to one milestone)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.errors import ConflictError
from teams.analysis import InvalidThresholdsError
from teams.graph import OrgSnapshot
from teams.models import TeamType
from teams.selectors import (
    analysis_derived_get,
    org_analysis_key_get,
    org_snapshot_get,
)
from transform.access import OrgAccess, transformation_get_for_user
from transform.models import Milestone, Transformation
from transform.plans import selectors as transform_selectors
from transform.web.access import org_page
from transform.web.context import page_context
from transform.web.findings_pages import finding_row
from transform.web.graph_pages import TEAM_TYPE_STYLE, GraphView, graph_data


def _text(value: Any) -> str:
    """A change's field value as a short readable text."""
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "(" + ", ".join(f"{key}: {_text(item)}" for key, item in value.items()) + ")"
    return str(value)


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
        delta = (
            round(new - old, 4)
            if isinstance(old, int | float) and isinstance(new, int | float)
            else None
        )
        rows.append(
            {
                "name": name.replace("_", " ").replace(".", ": "),
                "before": old,
                "after": new,
                "delta": delta,
                "changed": old != new,
            }
        )
    rows.sort(key=lambda row: (not row["changed"], row["name"]))
    return rows


def _scenario_elements(
    snapshot: OrgSnapshot, *, org_slug: str, marked: set[str], mark: str
) -> list[dict[str, Any]]:
    view = GraphView(snapshot=snapshot, report=None, report_error="")
    elements = graph_data(view=view, org_slug=org_slug, filters={})["elements"]
    for element in elements:
        if element["data"].get("slug") in marked:
            element["classes"] += f" {mark}"
    return list(elements)


def _drawings_get(
    *,
    access: OrgAccess,
    transformation: Transformation,
    up_to: Milestone | None,
    preview: dict[str, Any],
) -> dict[str, Any]:
    """The current and target drawings (Cytoscape elements, removed and changed teams marked)
    and every team's name. A function of the live graph and the pending changes, as the preview
    is: cached under the live analysis's key and the changes the preview lists, so that an
    unchanged scenario reads no snapshot. Raises ``ConflictError`` as ``scenario_apply``."""
    organization = access.organization
    key = org_analysis_key_get(organization=organization)

    def drawn() -> dict[str, Any]:
        rows = transform_selectors.transformation_pending_changes(
            transformation=transformation, up_to=up_to
        )
        before = org_snapshot_get(organization=organization)
        after = transform_selectors.scenario_apply(snapshot=before, rows=rows)
        topology = preview["delta"]["topology"]
        changed = set(topology["teams_created"]) | set(topology["teams_updated"])
        slug = organization.slug
        return {
            "team_names": {team.slug: team.name for team in [*before.teams, *after.teams]},
            "before": _scenario_elements(
                before, org_slug=slug, marked=set(topology["teams_deleted"]), mark="removed"
            ),
            "after": _scenario_elements(after, org_slug=slug, marked=changed, mark="changed"),
        }

    found: dict[str, Any] = analysis_derived_get(
        key=key,
        kind=f"scenario-drawings:{transformation.pk}",
        content=preview["changes"],
        compute=drawn,
    )
    return found


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
    topology = preview["delta"]["topology"]
    team_names = drawings["team_names"]
    context.update(
        preview=preview,
        pending=bool(preview["changes"]),
        changes=[
            {
                **row,
                "kind": str(row["change"].get("kind", "")).replace("_", " "),
                "details": "; ".join(
                    f"{key.replace('_', ' ')}: {_text(value)}"
                    for key, value in row["change"].items()
                    if key != "kind"
                ),
            }
            for row in preview["changes"]
        ],
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
        team_types=[
            {"value": value, "label": label, "colour": TEAM_TYPE_STYLE[value][0]}
            for value, label in TeamType.choices
        ],
    )
    return render(request, "web/graph/scenario.html", context)
