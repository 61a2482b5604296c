"""Pages of the web interface: graph (docs/web.md)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from teams.selectors import OrgAccess
from transform.web.access import org_page
from transform.web.context import page_context


def _placeholder(name: str) -> Callable[..., HttpResponse]:
    @org_page
    def view(request: HttpRequest, access: OrgAccess) -> HttpResponse:
        return render(request, "web/placeholder.html", page_context(access, current=name))

    return view


urlpatterns: list[URLPattern] = [
    path("o/<slug:org_slug>/graph/", _placeholder("web:graph"), name="graph"),
    path("o/<slug:org_slug>/findings/", _placeholder("web:findings"), name="findings"),
    path("o/<slug:org_slug>/scenario/", _placeholder("web:scenario"), name="scenario"),
]
