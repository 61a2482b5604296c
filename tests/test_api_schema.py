"""The published API: its operations and paths are a contract, and every response is typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

OPERATIONS = Path(__file__).parent / "data" / "openapi-operations.json"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return generated


def test_the_operations_and_their_paths_are_the_published_ones(schema: dict[str, Any]) -> None:
    published = json.loads(OPERATIONS.read_text())

    operations = sorted(
        (
            {"path": path, "method": method, "operation_id": operation["operationId"]}
            for path, item in schema["paths"].items()
            for method, operation in item.items()
            if method in METHODS
        ),
        key=lambda row: (row["path"], row["method"], row["operation_id"]),
    )

    assert operations == published


def test_the_plan_report_is_typed(schema: dict[str, Any]) -> None:
    plan = schema["paths"]["/api/v1/transformations/{transformation_id}/plan/"]["get"]
    body = plan["responses"]["200"]["content"]["application/json"]["schema"]
    report = schema["components"]["schemas"]["PlanReport"]
    milestone = schema["components"]["schemas"]["PlanMilestone"]

    assert body == {"$ref": "#/components/schemas/PlanReport"}
    assert {"milestones", "critical_path", "lead_change_agent", "playbooks"} <= set(
        report["properties"]
    )
    assert milestone["properties"]["exit_criteria"]["items"] == {
        "$ref": "#/components/schemas/CriterionResult"
    }


def test_statuses_roles_and_kinds_are_named_enums(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]

    assert components["MilestoneOutput"]["properties"]["status"] == {
        "$ref": "#/components/schemas/MilestoneStatusEnum"
    }
    assert components["MilestoneStatusEnum"]["enum"] == [
        "planned",
        "in_progress",
        "at_risk",
        "blocked",
        "done",
    ]
    assert "OrganizationRoleEnum" in components
    assert "DeliveryStatusEnum" in components


def test_the_list_filters_are_documented(schema: dict[str, Any]) -> None:
    def parameters(path: str) -> set[str]:
        return {
            parameter["name"]
            for parameter in schema["paths"][path]["get"]["parameters"]
            if parameter["in"] == "query"
        }

    assert {"status", "kind"} <= parameters("/api/v1/orgs/{org_slug}/deliveries/")
    assert {"kind", "team", "since", "until"} <= parameters(
        "/api/v1/orgs/{org_slug}/signal-events/"
    )
    assert {"team", "scope"} <= parameters("/api/v1/orgs/{org_slug}/readiness/history/")
