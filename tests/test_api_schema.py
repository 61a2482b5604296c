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


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_a_summary_and_a_description(schema: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(schema)
        if not operation.get("summary") or not operation.get("description")
    ]

    assert missing == []


def test_errors_have_one_shape_and_each_operation_declares_the_ones_it_can_give(
    schema: dict[str, Any],
) -> None:
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["message", "extra"]

    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (path, method, code)
        if "{" in path:
            assert "404" in responses, (path, method)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), (path, method)

    token_checkin = schema["paths"]["/api/v1/checkin-links/{token}/"]["get"]["responses"]
    people = schema["paths"]["/api/v1/orgs/{org_slug}/people/"]["post"]["responses"]
    assert "401" not in token_checkin  # a signed link needs no login
    assert {"401", "403", "409"} <= set(people)


def test_fields_that_can_be_null_say_so(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]

    def nullable(component: str, field: str) -> bool:
        return bool(components[component]["properties"][field].get("nullable"))

    assert nullable("PersonOutput", "user")
    assert nullable("TeamOutput", "manager")
    assert nullable("TeamOutput", "unit")
    assert nullable("OrgUnitOutput", "parent")
    assert nullable("CheckinSettingsOutput", "updated_at")


def test_the_export_declares_each_format_it_returns(schema: dict[str, Any]) -> None:
    export = schema["paths"]["/api/v1/orgs/{org_slug}/export/"]["get"]
    content = export["responses"]["200"]["content"]

    assert content["application/json"]["schema"]["type"] == "object"
    assert {"application/graphml+xml", "text/plain", "text/vnd.graphviz", "application/yaml"} <= (
        set(content)
    )


def test_pages_and_page_sizes_start_at_one(schema: dict[str, Any]) -> None:
    parameters = schema["paths"]["/api/v1/orgs/{org_slug}/people/"]["get"]["parameters"]
    bounds = {p["name"]: p["schema"].get("minimum") for p in parameters if p["in"] == "query"}

    assert bounds["page"] == 1
    assert bounds["page_size"] == 1
