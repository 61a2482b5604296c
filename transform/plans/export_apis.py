"""REST API of the plan as a spreadsheet, under /api/v1/ (docs/integrations.md, "Spreadsheets").

``GET /api/v1/transformations/{id}/plan.csv`` and ``.../plan.xlsx``: the plan report's columns,
one row per milestone, for whoever may read the plan (``transform.access.
transformation_get_for_user``: another organisation's transformation is a 404). Errors keep the
API's JSON shape ``{"message", "extra"}`` whatever the client accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from transform.access import transformation_get_for_user
from transform.plans import selectors
from transform.plans.apis import TRANSFORMATION_ID_PARAMETER
from transform.plans.exports import PLAN_COLUMNS, plan_csv, plan_file_name, plan_xlsx
from transform.plans.serializers import plan_report_data

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_COLUMNS_TEXT = ", ".join(PLAN_COLUMNS)


class _FileRenderer(BaseRenderer):
    """Lets a client ask for the file's media type; the view answers with its own response."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:  # pragma: no cover - errors are switched to JSON in finalize_response
        return JSONRenderer().render(data)


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"


class XlsxRenderer(_FileRenderer):
    media_type = XLSX_MEDIA_TYPE
    format = "xlsx"
    charset = None


class _PlanFileApi(APIView):
    extension: ClassVar[str]

    def _plan(self, request: Request, transformation_id: int) -> dict[str, Any]:
        access = transformation_get_for_user(user=request.user, transformation_id=transformation_id)
        return plan_report_data(
            selectors.transformation_plan_get(transformation=access.transformation)
        )

    def _file(self, plan: Mapping[str, Any], content: str | bytes, media_type: str) -> HttpResponse:
        response = HttpResponse(content, content_type=media_type)
        name = plan_file_name(plan, self.extension)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response):
            # Errors keep the API's JSON shape, whatever the client accepted.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class TransformationPlanCsvApi(_PlanFileApi):
    """GET: the plan report as CSV."""

    extension = "csv"
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="transformations_plan_csv",
        summary="Export a transformation's plan as CSV",
        description=f"Columns: {_COLUMNS_TEXT}. One line per milestone, in plan order; dates "
        "YYYY-MM-DD. Cells that a spreadsheet would run as a formula start with an apostrophe.",
        parameters=[TRANSFORMATION_ID_PARAMETER],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The plan, one line per milestone."
            )
        },
        tags=["transformations"],
    )
    def get(self, request: Request, transformation_id: int) -> HttpResponse:
        plan = self._plan(request, transformation_id)
        return self._file(plan, plan_csv(plan), "text/csv; charset=utf-8")


class TransformationPlanXlsxApi(_PlanFileApi):
    """GET: the plan report as an XLSX workbook."""

    extension = "xlsx"
    renderer_classes = [JSONRenderer, XlsxRenderer]

    @extend_schema(
        operation_id="transformations_plan_xlsx",
        summary="Export a transformation's plan as XLSX",
        description=f"One sheet, Plan. Columns: {_COLUMNS_TEXT}. One row per milestone, in "
        "plan order; dates are date cells. Every text is a text cell, never a formula.",
        parameters=[TRANSFORMATION_ID_PARAMETER],
        responses={
            (200, XLSX_MEDIA_TYPE): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The plan, one row per milestone."
            )
        },
        tags=["transformations"],
    )
    def get(self, request: Request, transformation_id: int) -> HttpResponse:
        plan = self._plan(request, transformation_id)
        return self._file(plan, plan_xlsx(plan), XLSX_MEDIA_TYPE)
