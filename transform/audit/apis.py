"""REST API of the audit trail, under /api/v1/ (docs/audit.md): read-only, for an organisation's
admins, change agents and leaders (``transform.access.org_get_for_oversight``: engineering
managers and members get 403, callers without a role in the organisation 404).

``GET /api/v1/orgs/{slug}/audit/`` lists a page of entries, newest first;
``GET /api/v1/orgs/{slug}/audit.csv`` streams every entry the same filters select as CSV. Any
other method is a 405. Errors have the one shape ``{"message", "extra"}`` (core/api.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ORG_SLUG_PARAMETER, BoundedDateField, IdField, validated
from transform.access import org_get_for_oversight
from transform.audit.export import audit_csv_lines
from transform.audit.selectors import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    AuditEntry,
    AuditFilters,
    audit_entry_iter,
    audit_entry_list,
    object_type_choices,
)

# Far beyond any real trail's pages; a bound so that the offset stays a sane number.
MAX_PAGE = 100_000


class AuditFilterSerializer(serializers.Serializer):
    """The query-string filters, shared by the list and the CSV export."""

    object_type = serializers.ChoiceField(
        choices=object_type_choices(),
        required=False,
        help_text="Only entries about objects of this type (a team's lineage events count as "
        "the team's).",
    )
    object_id = IdField(
        required=False, help_text="Only entries about this object (needs object_type)."
    )
    actor = serializers.CharField(
        required=False,
        max_length=150,
        help_text="Username: only what this login changed (an unknown username lists nothing).",
    )
    since = BoundedDateField(
        required=False, help_text="YYYY-MM-DD: entries on or after this day (active time zone)."
    )
    until = BoundedDateField(
        required=False, help_text="YYYY-MM-DD: entries on or before this day (active time zone)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("object_id") is not None and not attrs.get("object_type"):
            raise serializers.ValidationError(
                {"object_id": ["Give object_type too: ids are per type of object."]}
            )
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until < since:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        return attrs


class AuditListQuerySerializer(AuditFilterSerializer):
    page = IdField(required=False, max_value=MAX_PAGE, help_text="Page number, from 1.")
    page_size = IdField(
        required=False,
        max_value=MAX_PAGE_SIZE,
        help_text=f"Entries a page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
    )


def _filters(data: dict[str, Any]) -> AuditFilters:
    return AuditFilters(
        object_type=data.get("object_type", ""),
        object_id=data.get("object_id"),
        actor=data.get("actor", ""),
        since=data.get("since"),
        until=data.get("until"),
    )


class AuditChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.CharField(
        allow_null=True, help_text="The value before; null when there was none (a creation)."
    )
    after = serializers.CharField(
        allow_null=True, help_text="The value after; null when there is none (a deletion)."
    )


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When, in the active time zone.")
    actor = serializers.CharField(
        allow_null=True, help_text="Username of who made the change; null for the system."
    )
    actor_name = serializers.CharField(
        help_text='Their name in the organisation, else the login\'s; "system" for the system.'
    )
    object_type = serializers.ChoiceField(choices=object_type_choices())
    object_id = serializers.IntegerField()
    object_label = serializers.CharField()
    action = serializers.CharField(
        help_text="created, changed or deleted; a milestone event's kind (status, reassigned, "
        "...); a lineage event's kind (formed, renamed, merged, split, retired)."
    )
    changes = AuditChangeSerializer(many=True)
    reason = serializers.CharField(allow_blank=True)


class AuditPageSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, if any.")
    previous = serializers.CharField(allow_null=True, help_text="URL of the previous page, if any.")
    results = AuditEntrySerializer(many=True)


def _page_url(request: Request, number: int) -> str:
    query = request.query_params.copy()
    query["page"] = str(number)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def entry_data(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "actor_name": entry.actor_name,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_label": entry.object_label,
        "action": entry.action,
        "changes": [
            {"field": c.field, "before": c.before, "after": c.after} for c in entry.changes
        ],
        "reason": entry.reason,
    }


class OrgAuditListApi(APIView):
    """GET: a page of the organisation's audit trail, newest first."""

    @extend_schema(
        operation_id="orgs_audit_list",
        summary="List the audit trail",
        description="Who changed what in the organisation, when, from what to what: the "
        "organisation graph, roles, invitations, transformations, milestones and check-in "
        "settings. Survey answers never appear. Pages have no total; follow `next`.",
        parameters=[ORG_SLUG_PARAMETER, AuditListQuerySerializer],
        responses=AuditPageSerializer,
        tags=["audit"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = org_get_for_oversight(
            user=request.user, org_slug=org_slug, action="read its audit trail"
        )
        query = validated(AuditListQuerySerializer, request.query_params)
        number = query.get("page") or 1
        page = audit_entry_list(
            organization=access.organization,
            filters=_filters(query),
            page=number,
            page_size=query.get("page_size") or DEFAULT_PAGE_SIZE,
        )
        data = {
            "page": page.number,
            "page_size": page.page_size,
            "next": _page_url(request, number + 1) if page.has_next else None,
            "previous": _page_url(request, number - 1) if page.has_previous else None,
            "results": [entry_data(entry) for entry in page.entries],
        }
        return Response(AuditPageSerializer(data).data)


class CsvRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: text/csv``; the export streams its own response."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:  # pragma: no cover - errors are switched to JSON in finalize_response
        return JSONRenderer().render(data)


class OrgAuditCsvApi(APIView):
    """GET: the whole audit trail the filters select, as CSV, streamed."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="orgs_audit_csv",
        summary="Export the audit trail as CSV",
        description="Columns: "
        + ", ".join(
            [
                "when",
                "actor",
                "actor_name",
                "object_type",
                "object_id",
                "object_label",
                "action",
                "field",
                "before",
                "after",
                "reason",
            ]
        )
        + ". One line per changed field. Cells that a spreadsheet would run as a formula "
        "start with an apostrophe.",
        parameters=[ORG_SLUG_PARAMETER, AuditFilterSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The entries, newest first."
            )
        },
        tags=["audit"],
    )
    def get(self, request: Request, org_slug: str) -> StreamingHttpResponse:
        access = org_get_for_oversight(
            user=request.user, org_slug=org_slug, action="export its audit trail"
        )
        filters = _filters(validated(AuditFilterSerializer, request.query_params))
        organization = access.organization
        # The lines are written after the view returns: keep the time zone of this request.
        zone = timezone.get_current_timezone()

        def lines() -> Any:
            with timezone.override(zone):
                yield from audit_csv_lines(
                    audit_entry_iter(organization=organization, filters=filters)
                )

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{organization.slug}.csv"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response):
            # Errors keep the API's JSON shape, whatever the client accepted.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
