"""Pages of the web interface: the organisation graph, the findings and the scenario preview
(docs/web-graph.md).

Every page reads through the same selectors as the API (``org_snapshot_get`` and
``analyze_snapshot`` for the graph and the findings, ``scenario_preview_get`` for the scenario)
and so runs a fixed number of queries whatever the organisation's size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from core.moments import moment_parse
from teams.analysis import FINDING_KIND_LABELS, InvalidThresholdsError
from teams.graph import OrgSnapshot
from teams.layout import Position, team_positions
from teams.models import (
    InteractionMode,
    MembershipRole,
    ServiceKind,
    Severity,
    Specialty,
    TeamType,
)
from teams.selectors import (
    AnalysisKey,
    analysis_derived_get,
    org_analysis_key_get,
    org_snapshot_get,
    snapshot_analysis_get,
    team_by_slug,
)
from transform.access import OrgAccess, teams_managed_by
from transform.checkins.verifications import open_proposals_by_team, team_topology_marks
from transform.web.access import org_page
from transform.web.context import page_context, query_string

# Team type -> (fill colour, node shape). The shape and the legend's text carry the type too, so
# colour is never the only signal.
TEAM_TYPE_STYLE: dict[str, tuple[str, str]] = {
    TeamType.STREAM_ALIGNED: ("#f6c945", "round-rectangle"),
    TeamType.PLATFORM: ("#6fa8dc", "rectangle"),
    TeamType.ENABLING: ("#b4a7d6", "ellipse"),
    TeamType.COMPLICATED_SUBSYSTEM: ("#f6a96b", "hexagon"),
    TeamType.OPS_SILO: ("#e06666", "octagon"),
    TeamType.UNCLASSIFIED: ("#c8ccd0", "diamond"),
}
SHAPE_LABELS: dict[str, str] = {
    "round-rectangle": "rounded square",
    "rectangle": "square",
    "ellipse": "circle",
    "hexagon": "hexagon",
    "octagon": "octagon",
    "diamond": "diamond",
}


def legend_team_types() -> list[dict[str, str]]:
    """Every team type with its colour and shape, for the legends."""
    return [
        {
            "value": value,
            "label": label,
            "colour": TEAM_TYPE_STYLE[value][0],
            "shape": TEAM_TYPE_STYLE[value][1],
            "shape_label": SHAPE_LABELS[TEAM_TYPE_STYLE[value][1]],
        }
        for value, label in TeamType.choices
    ]


# Edge kind -> how the legend describes its line; the styles themselves are in graph.js.
EDGE_LEGEND: tuple[tuple[str, str, str], ...] = (
    ("collaboration", "Collaboration", "solid purple line"),
    ("x_as_a_service", "X-as-a-Service", "blue arrow to the team providing the service"),
    ("facilitating", "Facilitating", "dashed green arrow to the team being helped"),
    ("ticket_dependency", "Ticket dependency", "dotted grey arrow to the team waited on"),
    ("ticket_on_silo", "Ticket dependency on an ops silo", "thick red arrow to the silo"),
)
EXPORT_FORMATS: tuple[tuple[str, str], ...] = (
    ("json", "JSON"),
    ("graphml", "GraphML"),
    ("mermaid", "Mermaid"),
    ("dot", "DOT (Graphviz)"),
    ("backstage", "Backstage YAML"),
)


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value.replace("_", " ")


# --- Organisation graph -----------------------------------------------------------------------


class GraphFilterForm(forms.Form):
    as_of = forms.DateField(
        required=False,
        label="As of",
        help_text="Leave empty for today's topology.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    type = forms.ChoiceField(
        required=False, label="Team type", choices=[("", "All types"), *TeamType.choices]
    )
    specialty = forms.ChoiceField(
        required=False,
        label="Specialty (ops silos)",
        choices=[("", "All specialties"), *Specialty.choices],
    )
    people = forms.BooleanField(required=False, label="Show people")

    def moment(self) -> dt.datetime | None:
        """The end of the chosen day (UTC), as the API reads ``as_of``; None for now."""
        day = self.cleaned_data.get("as_of")
        return moment_parse(day.isoformat(), naive="utc", day_end=True) if day else None


@dataclass(frozen=True, slots=True)
class GraphView:
    """One organisation's topology (and findings) at one moment, filtered for drawing."""

    snapshot: OrgSnapshot
    report: dict[str, Any] | None  # None when the organisation's thresholds are invalid
    report_error: str

    @classmethod
    def load(
        cls, *, access: OrgAccess, as_of: dt.datetime | None, key: AnalysisKey | None = None
    ) -> GraphView:
        # The live report comes from the cache when the topology has not changed since it was
        # computed; its key is read before the snapshot (teams.selectors.org_analysis_key_get).
        if as_of is None and key is None:
            key = org_analysis_key_get(organization=access.organization)
        snapshot = org_snapshot_get(organization=access.organization, as_of=as_of)
        try:
            report = snapshot_analysis_get(snapshot=snapshot, key=key)
            return cls(snapshot=snapshot, report=report, report_error="")
        except InvalidThresholdsError as exc:
            message = f"The organisation's analysis_thresholds are invalid: {exc}"
            return cls(snapshot=snapshot, report=None, report_error=message)

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.report["findings"] if self.report else []

    def team_findings(self) -> dict[str, list[dict[str, Any]]]:
        by_team: dict[str, list[dict[str, Any]]] = {}
        for finding in self.findings:
            for subject in finding["subjects"]:
                if subject["type"] == "team":
                    by_team.setdefault(subject["slug"], []).append(finding)
        return by_team


def graph_data_get(
    *, access: OrgAccess, moment: dt.datetime | None, filters: dict[str, Any]
) -> dict[str, Any]:
    """``graph_data`` of the organisation at ``moment``. Today's is cached under the live
    analysis's key (the topology version, thresholds and day) and the filters: while the
    topology is unchanged, one query and no snapshot. A past moment is always read."""
    org_slug = access.organization.slug
    if moment is not None:
        view = GraphView.load(access=access, as_of=moment)
        return graph_data(view=view, org_slug=org_slug, filters=filters)
    key = org_analysis_key_get(organization=access.organization)

    def compute() -> dict[str, Any]:
        view = GraphView.load(access=access, as_of=None, key=key)
        positions = layout_get(key=key, snapshot=view.snapshot)
        return graph_data(view=view, org_slug=org_slug, filters=filters, positions=positions)

    data: dict[str, Any] = analysis_derived_get(
        key=key, kind="graph", content=filters, compute=compute
    )
    return data


def layout_get(*, key: AnalysisKey, snapshot: OrgSnapshot) -> dict[str, Position]:
    """Today's team positions (``teams.layout.team_positions``), computed once per topology
    version (cached under the live analysis's ``key``, whatever the filters) and reused by the
    graph page and the scenario's current drawing."""
    positions: dict[str, Position] = analysis_derived_get(
        key=key, kind="layout", content=None, compute=lambda: team_positions(snapshot)
    )
    return positions


def graph_data(
    *,
    view: GraphView,
    org_slug: str,
    filters: dict[str, Any],
    positions: dict[str, Position] | None = None,
) -> dict[str, Any]:
    """What the graph page draws: the teams (for the list) and Cytoscape elements, each team
    at its ``positions`` entry (``team_positions`` of the whole snapshot when not given, so a
    filter never moves a team) inside its unit's compound node.

    ``filters``: ``type`` and ``specialty`` keep only matching teams (and the interactions
    between them); ``people`` adds each team's member count to its label ("Payments · 7").
    """
    snapshot = view.snapshot
    if positions is None:
        positions = team_positions(snapshot)
    show_people = bool(filters.get("people"))
    team_type = filters.get("type") or ""
    specialty = filters.get("specialty") or ""
    as_of = filters.get("as_of")
    as_of_text = as_of.isoformat() if as_of else ""
    all_types = {team.slug: team.type for team in snapshot.teams}
    teams = [
        team
        for team in snapshot.teams
        if (not team_type or team.type == team_type)
        and (not specialty or team.specialty == specialty)
    ]
    kept = {team.slug for team in teams}
    findings = view.team_findings()
    member_count: dict[str, int] = {}
    for membership in snapshot.memberships:
        member_count[membership.team] = member_count.get(membership.team, 0) + 1

    team_rows = []
    elements: list[dict[str, Any]] = []
    unit_names = {unit.slug: unit.name for unit in snapshot.units}
    for unit in sorted({team.unit for team in teams if team.unit}):
        elements.append(
            {
                "group": "nodes",
                "data": {"id": f"unit:{unit}", "kind": "unit", "label": unit_names.get(unit, unit)},
                "classes": "unit",
            }
        )
    for team in teams:
        colour, shape = TEAM_TYPE_STYLE.get(team.type, TEAM_TYPE_STYLE[TeamType.UNCLASSIFIED])
        team_findings = findings.get(team.slug, [])
        row = {
            "slug": team.slug,
            "name": team.name,
            "type": team.type,
            "type_label": _label(TeamType, team.type),
            "colour": colour,
            "specialty": team.specialty,
            "specialty_label": _label(Specialty, team.specialty) if team.specialty else "",
            "members": member_count.get(team.slug, 0),
            "findings": len(team_findings),
            "panel_url": reverse(
                "web:graph-team", kwargs={"org_slug": org_slug, "team_slug": team.slug}
            )
            + query_string(as_of=as_of_text),
            "page_url": reverse("web:graph", kwargs={"org_slug": org_slug})
            + query_string(as_of=as_of_text, team=team.slug),
        }
        team_rows.append(row)
        node_data = {
            "id": f"team:{team.slug}",
            "kind": "team",
            "slug": team.slug,
            "name": team.name,
            "label": f"{team.name} · {row['members']}" if show_people else team.name,
            "members": row["members"],
            "type": team.type,
            "type_label": row["type_label"],
            "colour": colour,
            "shape": shape,
            "panel_url": row["panel_url"],
        }
        if team.unit:
            node_data["parent"] = f"unit:{team.unit}"
        elements.append(
            {
                "group": "nodes",
                "data": node_data,
                "position": dict(positions.get(team.slug) or {"x": 0.0, "y": 0.0}),
                "classes": "team",
            }
        )
    for edge in snapshot.interactions:
        if edge.source not in kept or edge.target not in kept:
            continue
        on_silo = (
            edge.mode == InteractionMode.TICKET_DEPENDENCY
            and all_types.get(edge.target) == TeamType.OPS_SILO
        )
        elements.append(
            {
                "group": "edges",
                "data": {
                    "id": f"interaction:{edge.source}:{edge.target}:{edge.mode}",
                    "source": f"team:{edge.source}",
                    "target": f"team:{edge.target}",
                    "mode": edge.mode,
                    "severity": edge.severity,
                    "label": _label(InteractionMode, edge.mode),
                },
                "classes": f"interaction {edge.mode}" + (" on-silo" if on_silo else ""),
            }
        )
    # People are counted on their teams' labels, not drawn: dozens of name nodes could not be
    # read. The team panel lists a team's people by name.
    people_count = 0
    if show_people:
        people_count = len(
            {edge.person for edge in snapshot.memberships if edge.team in kept}
            | {edge.person for edge in snapshot.serves if edge.team in kept}
        )
    return {
        "organization": org_slug,
        "as_of": as_of_text or None,
        "total_teams": len(snapshot.teams),
        "teams": team_rows,
        "people_shown": people_count,
        "layout": "preset",
        "elements": elements,
        "findings_error": view.report_error,
    }


def _filters(form: GraphFilterForm) -> dict[str, Any]:
    data = form.cleaned_data if form.is_valid() else {}
    return {
        "as_of": data.get("as_of"),
        "type": data.get("type") or "",
        "specialty": data.get("specialty") or "",
        "people": bool(data.get("people")),
    }


def _form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(error) for error in errors] for field, errors in form.errors.items()}


@org_page
def graph(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The topology drawn with Cytoscape.js, a keyboard-usable list of its teams, and a team's
    panel when ``?team=`` names one."""
    return graph_render(request, access, team_slug=request.GET.get("team", ""))


def graph_render(
    request: HttpRequest,
    access: OrgAccess,
    *,
    team_slug: str,
    panel_error: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The graph page with ``team_slug``'s panel open (none when empty); ``panel_error`` (a
    refused write of the panel: ``{"message", "items"}``) is shown in the panel, with
    ``status``. The filters come from the query string."""
    form = GraphFilterForm(request.GET)
    valid = form.is_valid()
    filters = _filters(form)
    moment = form.moment() if valid else None
    slug = access.organization.slug
    # A team's panel needs the snapshot: then the drawing is made from the same one.
    view = GraphView.load(access=access, as_of=moment) if team_slug else None
    if view is not None:
        data = graph_data(view=view, org_slug=slug, filters=filters)
    else:
        data = graph_data_get(access=access, moment=moment, filters=filters)
    as_of_text = data["as_of"] or ""
    _topology_marks_add(data, access=access)
    panel = None
    if view is not None:
        panel = team_panel_context(
            view=view,
            org_slug=slug,
            team_slug=team_slug,
            as_of=filters["as_of"],
            can_act=access.can_manage,
        )
        if panel is not None:
            panel["error"] = panel_error
            panel["proposals"] = _panel_proposals(access, team_slug, as_of=filters["as_of"])
    export_base = reverse("org-export", kwargs={"org_slug": slug})
    context = page_context(
        access,
        current="web:graph",
        form=form,
        data=data,
        panel=panel,
        team_types=legend_team_types(),
        edge_legend=EDGE_LEGEND,
        data_url=reverse("web:graph-data", kwargs={"org_slug": slug}),
        exports=[
            (label, export_base + query_string(format=fmt, as_of=as_of_text))
            for fmt, label in EXPORT_FORMATS
        ],
    )
    return render(request, "web/graph/graph.html", context, status=status if valid else 400)


@org_page
def graph_data_json(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The graph page's data as JSON (``?as_of=YYYY-MM-DD&type=&specialty=&people=1``); errors
    in the API's shape ``{"message", "extra"}`` with status 400."""
    form = GraphFilterForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {"message": "Invalid filter.", "extra": {"fields": _form_errors(form)}}, status=400
        )
    data = graph_data_get(access=access, moment=form.moment(), filters=_filters(form))
    _topology_marks_add(data, access=access)
    return JsonResponse(data)


def team_panel_context(
    *,
    view: GraphView,
    org_slug: str,
    team_slug: str,
    as_of: dt.date | None,
    can_act: bool = False,
) -> dict[str, Any] | None:
    """Everything the team panel shows, from the snapshot and its analysis; None when the team
    did not exist at that moment. ``can_act`` (admins and change agents) adds the forms that
    mark a member as a leaver and retire the team, on today's topology only (``actions``)."""
    snapshot = view.snapshot
    team = next((team for team in snapshot.teams if team.slug == team_slug), None)
    if team is None:
        return None
    names = {person.email: person.name for person in snapshot.people}
    team_names = {other.slug: other.name for other in snapshot.teams}

    def person(email: str | None) -> dict[str, str] | None:
        return {"email": email, "name": names.get(email, email)} if email else None

    members = [
        {
            **(person(edge.person) or {}),
            "role": edge.role,
            "role_label": _label(MembershipRole, edge.role),
            "allocation": edge.allocation_percent,
        }
        for edge in snapshot.memberships
        if edge.team == team_slug
    ]
    members.sort(key=lambda member: (member["role"] == MembershipRole.MEMBER, member["name"]))

    def interaction(other: str, edge: Any) -> dict[str, str]:
        return {
            "slug": other,
            "name": team_names.get(other, other),
            "mode": _label(InteractionMode, edge.mode),
            "severity": _label(Severity, edge.severity) if edge.severity else "",
        }

    return {
        "team": team,
        "type_label": _label(TeamType, team.type),
        "specialty_label": _label(Specialty, team.specialty) if team.specialty else "",
        "manager": person(team.manager),
        "members": members,
        "buddies": [m for m in members if m["role"] == MembershipRole.DEVOPS_BUDDY],
        "product_owners": [m for m in members if m["role"] == MembershipRole.PRODUCT_OWNER],
        "serves": [
            {**(person(edge.person) or {}), "note": edge.note}
            for edge in snapshot.serves
            if edge.team == team_slug
        ],
        # From the snapshot (``TeamNode.services``): no query of its own.
        "services": [
            {"kind": _label(ServiceKind, kind), "slug": slug}
            for kind, _, slug in (ref.partition(":") for ref in team.services)
        ],
        "waits_on": [
            interaction(edge.target, edge)
            for edge in snapshot.interactions
            if edge.source == team_slug
        ],
        "waited_on_by": [
            interaction(edge.source, edge)
            for edge in snapshot.interactions
            if edge.target == team_slug
        ],
        "findings": [
            finding_row(finding, team_names=team_names, org_slug=org_slug)
            for finding in view.team_findings().get(team_slug, [])
        ],
        "findings_error": view.report_error,
        "as_of": as_of.isoformat() if as_of else "",
        "actions": _panel_actions(org_slug, team_slug) if can_act and as_of is None else None,
    }


def _topology_marks_add(data: dict[str, Any], *, access: OrgAccess) -> None:
    """Today's graph: each team row gets ``topology``, how current its record is (confirmed,
    stale, changes proposed: ``team_topology_marks``). Not on a past date."""
    if data["as_of"]:
        return
    marks = team_topology_marks(organization=access.organization, at=timezone.now())
    for row in data["teams"]:
        row["topology"] = marks.get(row["slug"])


def _panel_proposals(
    access: OrgAccess, team_slug: str, *, as_of: dt.date | None
) -> list[dict[str, Any]]:
    """The team's open topology proposals, for the callers who may accept them (admins, change
    agents, the team's manager), on today's topology only."""
    if as_of is not None:
        return []
    team = team_by_slug(organization=access.organization, slug=team_slug)
    if team is None:
        return []
    if not access.can_manage and not teams_managed_by(access).filter(pk=team.pk).exists():
        return []
    return open_proposals_by_team(teams=[team]).get(team.pk, [])


def _panel_actions(org_slug: str, team_slug: str) -> dict[str, str]:
    """Where the panel's forms post (transform.web.departure_pages)."""
    kwargs = {"org_slug": org_slug, "team_slug": team_slug}
    return {
        "leave_url": reverse("web:graph-team-leaver", kwargs=kwargs),
        "retire_url": reverse("web:graph-team-retire", kwargs=kwargs),
    }


@org_page
def graph_team(request: HttpRequest, access: OrgAccess, team_slug: str) -> HttpResponse:
    """One team's panel (members, buddy, product owner, manager, findings) for htmx; without
    htmx, the graph page with the panel open."""
    form = GraphFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "web/graph/_form_errors.html",
            {"errors": _form_errors(form)},
            status=400,
        )
    if not request.headers.get("HX-Request"):
        url = reverse("web:graph", kwargs={"org_slug": access.organization.slug})
        day = form.cleaned_data.get("as_of")
        return redirect(url + query_string(as_of=day.isoformat() if day else "", team=team_slug))
    view = GraphView.load(access=access, as_of=form.moment())
    panel = team_panel_context(
        view=view,
        org_slug=access.organization.slug,
        team_slug=team_slug,
        as_of=form.cleaned_data.get("as_of"),
        can_act=access.can_manage,
    )
    if panel is None:
        raise Http404(f"No team '{team_slug}' in the organisation at that date.")
    panel["proposals"] = _panel_proposals(access, team_slug, as_of=form.cleaned_data.get("as_of"))
    return render(
        request, "web/graph/_team_panel.html", {"panel": panel, "org": access.organization}
    )


# Subjects of one finding shown as links; the others are counted ("and 40 more").
SUBJECTS_SHOWN = 12


def finding_row(
    finding: dict[str, Any], *, team_names: dict[str, str], org_slug: str
) -> dict[str, Any]:
    graph_url = reverse("web:graph", kwargs={"org_slug": org_slug})
    subjects = []
    # A silo's finding may concern thousands of teams: the first few are links, the rest a count
    # (rendering every link was most of the findings page's time at 10,000 people).
    for subject in finding["subjects"][:SUBJECTS_SHOWN]:
        if subject["type"] == "team":
            slug = subject["slug"]
            subjects.append(
                {
                    "label": team_names.get(slug, slug),
                    "url": graph_url + query_string(team=slug) + "#team-panel",
                }
            )
        else:
            # A person by name; a report cached before subjects carried names shows the e-mail.
            subjects.append({"label": subject.get("name") or subject.get("email", ""), "url": ""})
    return {
        **finding,
        "kind_label": FINDING_KIND_LABELS.get(finding["kind"], finding["kind"]),
        "severity_label": finding["severity"].capitalize(),
        "subject_links": subjects,
        "subjects_more": max(0, len(finding["subjects"]) - SUBJECTS_SHOWN),
        # The teams whose team pages the findings page links to, by name.
        "subject_teams": [
            {"slug": subject["slug"], "label": team_names.get(subject["slug"], subject["slug"])}
            for subject in finding["subjects"][:SUBJECTS_SHOWN]
            if subject["type"] == "team"
        ],
    }
