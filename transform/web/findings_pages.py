"""The findings page (docs/web-graph.md): what the graph analysis says is wrong, filterable and
paginated, each with the playbook it suggests; admins and change agents start it from here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from core.errors import ApplicationError
from playbooks.selectors import playbook_titles
from teams.analysis import FINDING_KIND_LABELS, FINDING_KINDS, SEVERITIES, InvalidThresholdsError
from teams.selectors import org_analysis_get, person_of_user, team_list
from teams.zones import organization_today
from transform.access import OrgAccess, org_manage_access_check
from transform.plans.services import (
    playbook_ref_parse,
    playbook_ref_resolve,
    transformation_start,
)
from transform.plans.starting import StartPreview, covering_transformations, start_preview_get
from transform.web.access import org_page
from transform.web.context import page_context, query_string
from transform.web.graph_pages import finding_row

FINDINGS_PER_PAGE = 10


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


def _playbook_title(*, organization: Any, ref: str, preview: StartPreview | None) -> str:
    """The playbook's title for the page heading; its reference when it is not known (the form
    then says so next to the field)."""
    if preview is not None:
        return preview.playbook_title
    try:
        return playbook_ref_resolve(organization=organization, ref=playbook_ref_parse(ref)).title
    except ApplicationError:
        return ref


def _default_owner_email(*, access: OrgAccess) -> str:
    person = person_of_user(organization=access.organization, user_id=access.user_id)
    return person.email if person is not None else ""


@org_page
def findings(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The analysis as a list to act on, filtered by kind and severity, paginated; admins and
    change agents get a "Start playbook" form on each finding with a suggested playbook."""
    form = FindingsFilterForm(request.GET)
    chosen = form.cleaned_data if form.is_valid() else {}
    # The report comes from the cache on an unchanged topology (teams.selectors.org_analysis_get)
    # and the page needs only the team names besides it: no snapshot is built here.
    report: dict[str, Any] | None = None
    report_error = ""
    try:
        report = org_analysis_get(organization=access.organization)
    except InvalidThresholdsError as exc:
        report_error = f"The organisation's analysis_thresholds are invalid: {exc}"
    team_names = dict(team_list(organization=access.organization).values_list("slug", "name"))
    slug = access.organization.slug
    everything = report["findings"] if report else []
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
            "start_date": organization_today(access.organization).isoformat(),
            "owner": _default_owner_email(access=access),
        }
    # Which running transformation covers each finding (its suggested playbook runs): one query.
    covering = (
        covering_transformations(organization=access.organization) if page.object_list else {}
    )
    startable = [
        finding["suggested_playbook"]
        for finding in page.object_list
        if access.can_manage and finding["suggested_playbook"]
    ]
    titles = playbook_titles(organization=access.organization, keys=startable)
    rows = []
    for number, finding in enumerate(page.object_list, start=page.start_index()):
        row = finding_row(finding, team_names=team_names, org_slug=slug)
        row["number"] = number
        covered = covering.get(finding["suggested_playbook"] or "")
        if covered is not None:
            row["covered_by"] = {
                "title": covered["title"],
                "url": reverse(
                    "web:plan", kwargs={"org_slug": slug, "transformation_id": covered["id"]}
                ),
            }
        elif access.can_manage and finding["suggested_playbook"]:
            row["playbook_title"] = titles.get(
                finding["suggested_playbook"], finding["suggested_playbook"]
            )
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
        metrics=report["metrics"] if report else None,
        report_error=report_error,
        has_teams=bool(team_names),
        previous_url=query_string(**filter_query, page=page.previous_page_number())
        if page.has_previous()
        else "",
        next_url=query_string(**filter_query, page=page.next_page_number())
        if page.has_next()
        else "",
        start_url=reverse("web:findings-start", kwargs={"org_slug": slug}),
    )
    return render(request, "web/graph/findings.html", context)


class PlaybookOwnersForm(forms.Form):
    """The start preview's choices: one owner per milestone (a select of the eligible people,
    the owner by role chosen), and "Start another one anyway" when a running transformation was
    started from the same playbook."""

    def __init__(self, *args: Any, preview: StartPreview, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.preview = preview
        choices = [
            (person.email, f"{person.name or person.email} ({why})")
            for person, why in preview.eligible
        ]
        for index, milestone in enumerate(preview.milestones):
            self.fields[f"owner_{index}"] = forms.ChoiceField(
                label=f"Owner of “{milestone.title}”",
                choices=choices,
                initial=milestone.owner.email,
                # Left out, the milestone keeps its owner by role (as in the API).
                required=False,
            )
        if preview.duplicates:
            self.fields["start_another"] = forms.BooleanField(
                label="Start another one anyway",
                required=True,
                error_messages={
                    "required": "A transformation from this playbook is already running: tick "
                    "“Start another one anyway” to start a second one."
                },
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"milestone": milestone, "field": self[f"owner_{index}"]}
            for index, milestone in enumerate(self.preview.milestones)
        ]

    def owners(self) -> dict[str, str]:
        """Milestone key -> chosen owner's e-mail (after ``is_valid``); milestones without a
        choice are left out and keep their owner by role."""
        return {
            milestone.key: self.cleaned_data[f"owner_{index}"]
            for index, milestone in enumerate(self.preview.milestones)
            if self.cleaned_data.get(f"owner_{index}")
        }


@org_page
def findings_start(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """Start a transformation from a finding's suggested playbook (admins and change agents).

    The start form first shows a preview (``transform.plans.starting.start_preview``): the
    milestones it will create with their owners by role, each changeable, and a warning with a
    required "Start another one anyway" when the playbook already runs. Confirming (``step=
    confirm``) calls ``transformation_start`` as the API does, with the chosen owners, and
    redirects to the new plan. A bad input shows the form again with the error next to it (400).
    """
    org_manage_access_check(access=access, action="start transformations")
    organization = access.organization
    confirm = request.method == "POST" and request.POST.get("step") == "confirm"
    if request.method == "POST":
        form = StartPlaybookForm(request.POST)
    else:
        first_look = {
            "playbook": request.GET.get("playbook", ""),
            "start_date": organization_today(organization).isoformat(),
            "owner": _default_owner_email(access=access),
        }
        # A caller who is not a person of the organisation (an admin account) has no default
        # lead: the form opens empty rather than with "This field is required" already shown.
        form = StartPlaybookForm(first_look if first_look["owner"] else None, initial=first_look)
    preview: StartPreview | None = None
    owners_form: PlaybookOwnersForm | None = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            preview = start_preview_get(
                organization=organization,
                playbook=data["playbook"],
                owner_email=data["owner"],
                sponsor_email=data["sponsor"] or None,
            )
        except ApplicationError as exc:
            form.apply_error(exc)
    if preview is not None:
        if confirm:
            owners_form = PlaybookOwnersForm(request.POST, preview=preview)
            if owners_form.is_valid():
                data = form.cleaned_data
                try:
                    transformation = transformation_start(
                        organization=organization,
                        playbooks=[data["playbook"]],
                        start_date=data["start_date"],
                        owner_email=data["owner"],
                        sponsor_email=data["sponsor"] or None,
                        created_by=request.user,  # type: ignore[arg-type]
                        owners=owners_form.owners(),
                    )
                except ApplicationError as exc:
                    form.apply_error(exc)
                else:
                    messages.success(
                        request,
                        f"Started “{transformation.title}” from the playbook "
                        f"“{preview.playbook_title}”, starting {data['start_date']:%Y-%m-%d}.",
                    )
                    return redirect(
                        reverse(
                            "web:plan",
                            kwargs={
                                "org_slug": organization.slug,
                                "transformation_id": transformation.pk,
                            },
                        )
                    )
        else:
            # A first look or "Update preview": the owners by role, or the ones already chosen.
            owners_form = PlaybookOwnersForm(preview=preview)
            emails = {person.email for person, _why in preview.eligible}
            for name, field in owners_form.fields.items():
                if name.startswith("owner_") and request.POST.get(name) in emails:
                    field.initial = request.POST[name]
    failed = bool(form.errors) or (confirm and owners_form is not None and bool(owners_form.errors))
    playbook = str(form["playbook"].value() or "")
    context = page_context(
        access,
        current="web:findings",
        form=form,
        playbook=playbook,
        playbook_title=_playbook_title(organization=organization, ref=playbook, preview=preview),
        preview=preview,
        owners_form=owners_form,
        duplicates=[
            {
                "title": row.title,
                "start_date": row.start_date,
                "url": reverse(
                    "web:plan", kwargs={"org_slug": organization.slug, "transformation_id": row.pk}
                ),
            }
            for row in (preview.duplicates if preview else [])
        ],
    )
    return render(request, "web/graph/start_playbook.html", context, status=400 if failed else 200)
