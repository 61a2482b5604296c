"""``GET /api/v1/``: the API's index, its sections with their URLs and where each is documented.

A client (or a person trying the API in a browser) starts here instead of at a 404: the schema,
its interactive docs, the token endpoint, and each section of the API. Sections inside an
organisation are URL templates with ``{org_slug}``; ``orgs`` lists the caller's organisations.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

API = "/api/v1/"
ORG = API + "orgs/{org_slug}/"

# (name, path, what it holds, doc file). Paths under an organisation keep ``{org_slug}``.
SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("orgs", API + "orgs/", "Your organisations", "docs/api.md"),
    ("units", ORG + "units/", "Units of an organisation", "docs/api.md"),
    ("teams", ORG + "teams/", "Teams", "docs/api.md"),
    ("people", ORG + "people/", "People", "docs/api.md"),
    ("memberships", ORG + "memberships/", "Who is in which team, in which role", "docs/api.md"),
    ("serves-links", ORG + "serves-links/", "People serving teams they are not in", "docs/api.md"),
    ("interactions", ORG + "interactions/", "How teams work with each other", "docs/api.md"),
    ("roles", ORG + "roles/", "Who may do what in an organisation", "docs/api.md"),
    ("invitations", ORG + "invitations/", "Invitations to an organisation", "docs/api.md"),
    ("analysis", ORG + "analysis/", "Metrics and findings of the graph", "docs/analysis.md"),
    ("export", ORG + "export/", "The organisation as a file", "docs/export.md"),
    (
        "playbooks",
        ORG + "playbooks/",
        "Playbooks a transformation starts from",
        "docs/playbook-format.md",
    ),
    (
        "transformations",
        ORG + "transformations/",
        "Transformations and their plans",
        "docs/transformations.md",
    ),
    (
        "milestones",
        API + "milestones/{id}/",
        "One milestone and its actions",
        "docs/transformations.md",
    ),
    ("me/checkins", API + "me/checkins/", "Your open check-ins", "docs/responses.md"),
    (
        "checkin-settings",
        ORG + "checkin-settings/",
        "Check-in rhythm and channels",
        "docs/responses.md",
    ),
    ("instruments", ORG + "instruments/", "Surveys and check-in questions", "docs/responses.md"),
    ("readiness", ORG + "readiness/", "Readiness scores", "docs/readiness.md"),
    (
        "signal-events",
        ORG + "signal-events/",
        "Delivery events (deploys, incidents...)",
        "docs/signals.md",
    ),
    ("dora", ORG + "dora/", "DORA figures per team and unit", "docs/signals.md"),
    ("deliveries", ORG + "deliveries/", "Messages sent and their status", "docs/delivery.md"),
    ("webhooks", ORG + "webhooks/", "Webhook senders (admins)", "docs/integrations.md"),
    ("audit", ORG + "audit/", "Who changed what, when", "docs/audit.md"),
)

_SECTION_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "name": serializers.CharField(),
    "url": serializers.CharField(help_text="A URL, or a template with {org_slug} or {id}."),
    "description": serializers.CharField(),
    "docs": serializers.CharField(help_text="The doc file in the repository."),
}


class ApiRootApi(APIView):
    """The API's index (docs/api.md, "API root")."""

    @extend_schema(
        operation_id="api_root",
        summary="The API's sections",
        responses=inline_serializer(
            name="ApiRoot",
            fields={
                "version": serializers.CharField(),
                "schema": serializers.CharField(),
                "docs": serializers.CharField(),
                "token": serializers.CharField(),
                "sections": inline_serializer(name="ApiSection", fields=_SECTION_FIELDS, many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        # Joined by hand: build_absolute_uri would percent-encode the templates' braces.
        origin = request.build_absolute_uri("/").rstrip("/")
        body: dict[str, Any] = {
            "version": "1",
            "schema": request.build_absolute_uri(reverse("schema")),
            "docs": request.build_absolute_uri(reverse("api-docs")),
            "token": request.build_absolute_uri(reverse("auth-token")),
            "sections": [
                {
                    "name": name,
                    "url": origin + path,
                    "description": text,
                    "docs": doc,
                }
                for name, path, text, doc in SECTIONS
            ],
        }
        return Response(body)
