"""The audit trail page (docs/audit.md): who changed what in the organisation, when, from what to
what; filterable by kind of object, person and days, paginated, with the same filters as a CSV
download. Admins, change agents and leaders read it (other roles 403, people without a role in
the organisation 404, as everywhere). A page is one ``audit_entry_list``: a fixed number of
queries whatever the organisation's size or history."""

from __future__ import annotations

from typing import Any, Final

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from core.bounds import DATE_RANGE_HELP, day_in_range
from transform.access import OrgAccess, oversight_access_check
from transform.audit.selectors import AuditFilters, audit_entry_list, object_type_choices
from transform.web.access import org_page
from transform.web.context import page_context, query_string

ENTRIES_PER_PAGE: Final = 50
# Far beyond any real trail's pages; a bound so that the offset stays a sane number.
MAX_PAGE: Final = 100_000


class _DayField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not day_in_range(value):
            raise forms.ValidationError(f"Expected {DATE_RANGE_HELP}.")


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(
        required=False, label="What", choices=[("", "Everything"), *object_type_choices()]
    )
    object_id = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    actor = forms.CharField(required=False, max_length=150, label="Who (username)")
    since = _DayField(required=False, label="From")
    until = _DayField(required=False, label="To")
    page = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("object_id") is not None and not data.get("object_type"):
            self.add_error("object_id", "Choose what kind of object the id is of.")
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "Must not be before the first day.")
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            object_type=data.get("object_type") or "",
            object_id=data.get("object_id"),
            actor=(data.get("actor") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
        )


def _filter_query(form: AuditFilterForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "object_type": data.get("object_type") or "",
        "object_id": data.get("object_id") or "",
        "actor": (data.get("actor") or "").strip(),
        "since": data["since"].isoformat() if data.get("since") else "",
        "until": data["until"].isoformat() if data.get("until") else "",
    }


@org_page
def audit(request: HttpRequest, access: OrgAccess) -> HttpResponse:
    """The trail, newest first, ``ENTRIES_PER_PAGE`` recorded changes a page; an invalid filter
    shows the form with its error (400) and no entries."""
    oversight_access_check(access=access, action="read its audit trail")
    form = AuditFilterForm(request.GET)
    slug = access.organization.slug
    context: dict[str, Any] = {"form": form, "entries": [], "page": None}
    status = 200
    if form.is_valid():
        number = form.cleaned_data.get("page") or 1
        page = audit_entry_list(
            organization=access.organization,
            filters=form.filters(),
            page=number,
            page_size=ENTRIES_PER_PAGE,
        )
        filters = _filter_query(form)
        context.update(
            entries=page.entries,
            page=page,
            filtered=any(filters.values()),
            previous_url=query_string(**filters, page=number - 1) if page.has_previous else "",
            next_url=query_string(**filters, page=number + 1) if page.has_next else "",
            csv_url=reverse("org-audit-csv", kwargs={"org_slug": slug}) + query_string(**filters),
        )
    else:
        status = 400
    return render(
        request,
        "web/audit/audit.html",
        page_context(access, current="web:audit", **context),
        status=status,
    )
