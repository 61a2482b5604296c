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
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from core.errors import ApplicationError, ConflictError
from core.moments import moment_parse
from teams.analysis import FINDING_KINDS, SEVERITIES, InvalidThresholdsError, analyze_snapshot
from teams.graph import OrgSnapshot
from teams.models import InteractionMode, MembershipRole, Person, Severity, Specialty, TeamType
from teams.selectors import org_snapshot_get
from transform.access import OrgAccess, org_manage_access_check, transformation_get_for_user
from transform.plans import selectors as transform_selectors
from transform.plans.services import transformation_start
from transform.web.access import org_page
from transform.web.context import page_context

FINDINGS_PER_PAGE = 10
# Above this many nodes the force-directed layout gets slow in a browser; a grid is drawn instead.
FORCE_LAYOUT_MAX_NODES = 250

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
# Edge kind -> how the legend describes its line; the styles themselves are in graph.js.
EDGE_LEGEND: tuple[tuple[str, str, str], ...] = (
    ("collaboration", "Collaboration", "solid purple line"),
    ("x_as_a_service", "X-as-a-Service", "blue arrow to the team providing the service"),
    ("facilitating", "Facilitating", "dashed green arrow to the team being helped"),
    ("ticket_dependency", "Ticket dependency", "dotted grey arrow to the team waited on"),
    ("ticket_on_silo", "Ticket dependency on an ops silo", "thick red arrow to the silo"),
    ("member", "Member of a team (people shown)", "thin grey line"),
    ("serves", "Serves a team without being a member (people shown)", "dashed brown line"),
)
FINDING_KIND_LABELS: dict[str, str] = {
    "team_bottleneck": "Team bottleneck",
    "person_bottleneck": "Person bottleneck",
    "ops_silo": "Ops silo",
    "missing_devops_buddy": "Missing DevOps buddy",
    "missing_product_owner": "Missing product owner",
    "cognitive_load": "Cognitive load",
    "long_running_collaboration": "Long-running collaboration",
    "unclassified_team": "Unclassified team",
}
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
    def load(cls, *, access: OrgAccess, as_of: dt.datetime | None) -> GraphView:
        snapshot = org_snapshot_get(organization=access.organization, as_of=as_of)
        try:
            return cls(snapshot=snapshot, report=analyze_snapshot(snapshot), report_error="")
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


def _query(**params: Any) -> str:
    """A query string of the non-empty ``params`` (with its leading ``?``), or ''."""
    kept = {key: value for key, value in params.items() if value not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


def graph_data(*, view: GraphView, org_slug: str, filters: dict[str, Any]) -> dict[str, Any]:
    """What the graph page draws: the teams (for the list) and Cytoscape elements.

    ``filters``: ``type`` and ``specialty`` keep only matching teams (and the interactions
    between them); ``people`` adds people with their memberships and serves links.
    """
    snapshot = view.snapshot
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
            + _query(as_of=as_of_text),
            "page_url": reverse("web:graph", kwargs={"org_slug": org_slug})
            + _query(as_of=as_of_text, team=team.slug),
        }
        team_rows.append(row)
        elements.append(
            {
                "group": "nodes",
                "data": {
                    "id": f"team:{team.slug}",
                    "kind": "team",
                    "slug": team.slug,
                    "label": team.name,
                    "type": team.type,
                    "colour": colour,
                    "shape": shape,
                    "panel_url": row["panel_url"],
                },
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
    people_count = 0
    if filters.get("people"):
        names = {person.email: person.name for person in snapshot.people}
        links = [("member", edge.person, edge.team) for edge in snapshot.memberships] + [
            ("serves", edge.person, edge.team) for edge in snapshot.serves
        ]
        shown: set[str] = set()
        for kind, email, team_slug in links:
            if team_slug not in kept:
                continue
            if email not in shown:
                shown.add(email)
                elements.append(
                    {
                        "group": "nodes",
                        "data": {
                            "id": f"person:{email}",
                            "kind": "person",
                            "label": names.get(email, email),
                            "email": email,
                        },
                        "classes": "person",
                    }
                )
            elements.append(
                {
                    "group": "edges",
                    "data": {
                        "id": f"{kind}:{email}:{team_slug}",
                        "source": f"person:{email}",
                        "target": f"team:{team_slug}",
                        "mode": kind,
                    },
                    "classes": kind,
                }
            )
        people_count = len(shown)
    node_count = len(teams) + people_count
    return {
        "organization": org_slug,
        "as_of": as_of_text or None,
        "total_teams": len(snapshot.teams),
        "teams": team_rows,
        "people_shown": people_count,
        "layout": "cose" if node_count <= FORCE_LAYOUT_MAX_NODES else "grid",
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
    form = GraphFilterForm(request.GET)
    valid = form.is_valid()
    filters = _filters(form)
    view = GraphView.load(access=access, as_of=form.moment() if valid else None)
    slug = access.organization.slug
    data = graph_data(view=view, org_slug=slug, filters=filters)
    as_of_text = data["as_of"] or ""
    panel = None
    team_slug = request.GET.get("team", "")
    if team_slug:
        panel = team_panel_context(
            view=view, org_slug=slug, team_slug=team_slug, as_of=filters["as_of"]
        )
    export_base = reverse("org-export", kwargs={"org_slug": slug})
    context = page_context(
        access,
        current="web:graph",
        form=form,
        data=data,
        panel=panel,
        team_types=[
            {"value": value, "label": label, "colour": TEAM_TYPE_STYLE[value][0]}
            for value, label in TeamType.choices
        ],
        edge_legend=EDGE_LEGEND,
        data_url=reverse("web:graph-data", kwargs={"org_slug": slug}),
        exports=[
            (label, export_base + _query(format=fmt, as_of=as_of_text))
            for fmt, label in EXPORT_FORMATS
        ],
    )
    return render(request, "web/graph/graph.html", context, status=200 if valid else 400)


@org_page
def graph_data_json(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The graph page's data as JSON (``?as_of=YYYY-MM-DD&type=&specialty=&people=1``); errors
    in the API's shape ``{"message", "extra"}`` with status 400."""
    form = GraphFilterForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {"message": "Invalid filter.", "extra": {"fields": _form_errors(form)}}, status=400
        )
    view = GraphView.load(access=access, as_of=form.moment())
    return JsonResponse(
        graph_data(view=view, org_slug=access.organization.slug, filters=_filters(form))
    )


def team_panel_context(
    *, view: GraphView, org_slug: str, team_slug: str, as_of: dt.date | None
) -> dict[str, Any] | None:
    """Everything the team panel shows, from the snapshot and its analysis; None when the team
    did not exist at that moment."""
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
            _finding_row(finding, team_names=team_names, org_slug=org_slug)
            for finding in view.team_findings().get(team_slug, [])
        ],
        "findings_error": view.report_error,
        "as_of": as_of.isoformat() if as_of else "",
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
        return redirect(url + _query(as_of=day.isoformat() if day else "", team=team_slug))
    view = GraphView.load(access=access, as_of=form.moment())
    panel = team_panel_context(
        view=view,
        org_slug=access.organization.slug,
        team_slug=team_slug,
        as_of=form.cleaned_data.get("as_of"),
    )
    if panel is None:
        raise Http404(f"No team '{team_slug}' in the organisation at that date.")
    return render(
        request, "web/graph/_team_panel.html", {"panel": panel, "org": access.organization}
    )


# --- Findings ---------------------------------------------------------------------------------


class FindingsFilterForm(forms.Form):
    kind = forms.ChoiceField(
        required=False,
        label="Kind",
        choices=[("", "All kinds"), *((kind, FINDING_KIND_LABELS[kind]) for kind in FINDING_KINDS)],
    )
    severity = forms.ChoiceField(
        required=False,
        label="Severity",
        choices=[("", "All severities"), *((s, s.capitalize()) for s in SEVERITIES)],
    )


class StartPlaybookForm(forms.Form):
    playbook = forms.CharField(max_length=120, widget=forms.HiddenInput)
    start_date = forms.DateField(label="Start date", widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.EmailField(label="Lead change agent (e-mail)")
    sponsor = forms.EmailField(label="Sponsor (e-mail, optional)", required=False)

    def apply_error(self, exc: ApplicationError) -> None:
        """Show the service's error next to the field it names (the form's top otherwise)."""
        fields = exc.extra.get("fields") if isinstance(exc.extra, dict) else None
        shown = False
        for name, problems in (fields or {}).items():
            field = {"playbooks": "playbook"}.get(name, name)
            if field in self.fields and field != "playbook":
                for problem in problems:
                    self.add_error(field, str(problem))
                shown = True
        if not shown:
            self.add_error(None, exc.message)


def _finding_row(
    finding: dict[str, Any], *, team_names: dict[str, str], org_slug: str
) -> dict[str, Any]:
    graph_url = reverse("web:graph", kwargs={"org_slug": org_slug})
    subjects = []
    for subject in finding["subjects"]:
        if subject["type"] == "team":
            slug = subject["slug"]
            subjects.append(
                {
                    "label": team_names.get(slug, slug),
                    "url": graph_url + _query(team=slug) + "#team-panel",
                }
            )
        else:
            subjects.append({"label": subject.get("email", ""), "url": ""})
    return {
        **finding,
        "kind_label": FINDING_KIND_LABELS.get(finding["kind"], finding["kind"]),
        "severity_label": finding["severity"].capitalize(),
        "subject_links": subjects,
    }


def _default_owner_email(*, access: OrgAccess) -> str:
    person = (
        Person.objects.filter(organization=access.organization, user_id=access.user_id)
        .order_by("email")
        .values_list("email", flat=True)
        .first()
    )
    return person or ""


@org_page
def findings(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The analysis as a list to act on, filtered by kind and severity, paginated; admins and
    change agents get a "Start playbook" form on each finding with a suggested playbook."""
    form = FindingsFilterForm(request.GET)
    chosen = form.cleaned_data if form.is_valid() else {}
    view = GraphView.load(access=access, as_of=None)
    team_names = {team.slug: team.name for team in view.snapshot.teams}
    slug = access.organization.slug
    everything = view.findings
    listed = [
        finding
        for finding in everything
        if (not chosen.get("kind") or finding["kind"] == chosen["kind"])
        and (not chosen.get("severity") or finding["severity"] == chosen["severity"])
    ]
    page = Paginator(listed, FINDINGS_PER_PAGE).get_page(request.GET.get("page"))
    start_defaults = {}
    if access.can_manage:
        start_defaults = {
            "start_date": timezone.localdate().isoformat(),
            "owner": _default_owner_email(access=access),
        }
    rows = []
    for number, finding in enumerate(page.object_list, start=page.start_index()):
        row = _finding_row(finding, team_names=team_names, org_slug=slug)
        row["number"] = number
        if access.can_manage and finding["suggested_playbook"]:
            row["start_form"] = StartPlaybookForm(
                initial={**start_defaults, "playbook": finding["suggested_playbook"]},
                auto_id=f"id_finding{number}_%s",
            )
        rows.append(row)
    severity_counts = {severity: 0 for severity in SEVERITIES}
    for finding in everything:
        severity_counts[finding["severity"]] += 1
    filter_query = {"kind": chosen.get("kind", ""), "severity": chosen.get("severity", "")}
    context = page_context(
        access,
        current="web:findings",
        form=form,
        page=page,
        rows=rows,
        total=len(everything),
        listed=len(listed),
        severity_counts=severity_counts,
        metrics=view.report["metrics"] if view.report else None,
        report_error=view.report_error,
        has_teams=bool(view.snapshot.teams),
        previous_url=_query(**filter_query, page=page.previous_page_number())
        if page.has_previous()
        else "",
        next_url=_query(**filter_query, page=page.next_page_number()) if page.has_next() else "",
        start_url=reverse("web:findings-start", kwargs={"org_slug": slug}),
    )
    return render(request, "web/graph/findings.html", context)


@org_page
def findings_start(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Start a transformation from a finding's suggested playbook (admins and change agents):
    ``transformation_start`` as the API calls it, then the plans page. A bad input shows the
    form again with the error next to it (400)."""
    org_manage_access_check(access=access, action="start transformations")
    if request.method == "POST":
        form = StartPlaybookForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                transformation = transformation_start(
                    organization=access.organization,
                    playbooks=[data["playbook"]],
                    start_date=data["start_date"],
                    owner_email=data["owner"],
                    sponsor_email=data["sponsor"] or None,
                    created_by=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as exc:
                form.apply_error(exc)
            else:
                messages.success(
                    request,
                    f"Started “{transformation.title}” from {data['playbook']}, "
                    f"starting {data['start_date']:%Y-%m-%d}.",
                )
                return redirect(reverse("web:plans", kwargs={"org_slug": access.organization.slug}))
        status = 400
    else:
        form = StartPlaybookForm(
            initial={
                "playbook": request.GET.get("playbook", ""),
                "start_date": timezone.localdate().isoformat(),
                "owner": _default_owner_email(access=access),
            }
        )
        status = 200
    playbook = form["playbook"].value() or ""
    context = page_context(access, current="web:findings", form=form, playbook=playbook)
    return render(request, "web/graph/start_playbook.html", context, status=status)


# --- Scenario ---------------------------------------------------------------------------------


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
        rows = transform_selectors.transformation_pending_changes(
            transformation=transformation, up_to=up_to
        )
        before = org_snapshot_get(organization=access.organization)
        after = transform_selectors.scenario_apply(snapshot=before, rows=rows)
    except InvalidThresholdsError as exc:
        context["error"] = f"The organisation's analysis_thresholds are invalid: {exc}"
        return render(request, "web/graph/scenario.html", context)
    except ConflictError as exc:
        context["error"] = exc.message
        return render(request, "web/graph/scenario.html", context)
    topology = preview["delta"]["topology"]
    team_names = {team.slug: team.name for team in [*before.teams, *after.teams]}
    changed = set(topology["teams_created"]) | set(topology["teams_updated"])
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
            _finding_row(f, team_names=team_names, org_slug=slug)
            for f in preview["delta"]["findings_resolved"]
        ],
        added=[
            _finding_row(f, team_names=team_names, org_slug=slug)
            for f in preview["delta"]["findings_added"]
        ],
        topology=[
            (name.replace("_", " ").capitalize(), labels)
            for name, labels in topology.items()
            if labels
        ],
        before_elements=_scenario_elements(
            before, org_slug=slug, marked=set(topology["teams_deleted"]), mark="removed"
        ),
        after_elements=_scenario_elements(after, org_slug=slug, marked=changed, mark="changed"),
        team_types=[
            {"value": value, "label": label, "colour": TEAM_TYPE_STYLE[value][0]}
            for value, label in TeamType.choices
        ],
    )
    return render(request, "web/graph/scenario.html", context)


urlpatterns: list[URLPattern] = [
    path("o/<slug:org_slug>/graph/", graph, name="graph"),
    path("o/<slug:org_slug>/graph/data.json", graph_data_json, name="graph-data"),
    path("o/<slug:org_slug>/graph/teams/<slug:team_slug>/", graph_team, name="graph-team"),
    path("o/<slug:org_slug>/findings/", findings, name="findings"),
    path("o/<slug:org_slug>/findings/start/", findings_start, name="findings-start"),
    path("o/<slug:org_slug>/scenario/", scenario, name="scenario"),
]
