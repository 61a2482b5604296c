"""Signal events that name a service or a repository instead of a team: the service's owner at
ingest is the team (docs/signal-events-format.md, "Naming a service instead of a team")."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from teams.models import Organization, Role, Service, ServiceKind, Team, TeamType
from teams.services import team_update
from tests.factories import OrganizationRoleFactory, TeamFactory, UserFactory
from transform.evidence.records import service_ref_parse, signal_event_json_schema
from transform.evidence.selectors import ingested_readings
from transform.evidence.services import SignalEventsInvalid, signal_events_ingest
from transform.models import SignalEvent

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
URL = "/api/v1/orgs/acme/signal-events/"


@pytest.fixture
def acme(organization: Organization) -> Organization:
    web: Any = TeamFactory(organization=organization, slug="web")
    ops: Any = TeamFactory(organization=organization, slug="ops", type=TeamType.OPS_SILO)
    TeamFactory(organization=organization, slug="idle")
    for kind, slug, team in [
        (ServiceKind.COMPONENT, "checkout", web),
        (ServiceKind.COMPONENT, "checkout-web", web),
        (ServiceKind.SYSTEM, "payments", ops),
        (ServiceKind.COMPONENT, "orders", web),
        (ServiceKind.API, "orders", ops),  # "orders" alone is ambiguous
        (ServiceKind.COMPONENT, "database", ops),
        (ServiceKind.COMPONENT, "legacy", None),
    ]:
        Service.objects.create(organization=organization, kind=kind, slug=slug, team=team)
    return organization


def deploy(n: int, **naming: Any) -> dict[str, Any]:
    return {
        "kind": "deploy",
        "id": f"d{n}",
        "occurred_at": f"2026-03-0{n % 8 + 1}T10:00:00Z",
        "commit_times": [f"2026-03-0{n % 8 + 1}T08:00:00Z"],
        **naming,
    }


def ingest(organization: Organization, *records: Any) -> None:
    signal_events_ingest(organization=organization, records=list(records), source="the test", at=AT)


def problems(organization: Organization, *records: Any) -> list[tuple[str, str]]:
    with pytest.raises(SignalEventsInvalid) as caught:
        ingest(organization, *records)
    assert not SignalEvent.objects.filter(organization=organization).exists()
    return [(problem.path, problem.message) for problem in caught.value.problems]


def stored(external_id: str) -> tuple[str | None, dict[str, Any]]:
    event = SignalEvent.objects.select_related("team").get(external_id=external_id)
    return (event.team.slug if event.team else None), event.data


@pytest.mark.parametrize(
    ("service", "team", "ref"),
    [
        ("checkout", "web", "component:checkout"),
        ("payments", "ops", "system:payments"),
        ("component:checkout", "web", "component:checkout"),
        ("Component:default/Checkout", "web", "component:checkout"),
        ("default/checkout", "web", "component:checkout"),
        ("api:orders", "ops", "api:orders"),
        ("component:orders", "web", "component:orders"),
        ("acme/checkout", "web", "component:checkout"),  # a GitHub repository
        ("acme/shop/checkout.web", "web", "component:checkout-web"),  # GitLab, a dotted name
    ],
)
def test_a_service_reference_resolves_to_its_owning_team(
    acme: Organization, service: str, team: str, ref: str
) -> None:
    ingest(acme, deploy(1, service=service))

    assert stored("d1") == (
        team,
        {
            "commit_times": ["2026-03-02T08:00:00+00:00"],
            "caused_failure": False,
            "is_rework": False,
            "service": ref,
        },
    )


def test_every_kind_that_names_a_team_may_name_a_service(acme: Organization) -> None:
    ingest(
        acme,
        deploy(1, service="checkout"),
        {
            "kind": "incident",
            "id": "i1",
            "service": "payments",
            "occurred_at": "2026-03-02T11:00:00Z",
            "caused_by_deploy": "d1",
        },
        {
            "kind": "ticket",
            "id": "t1",
            "service": "checkout",
            "occurred_at": "2026-03-01T09:00:00Z",
            "waiting_on_service": "database",
            "developers_waiting": 2,
        },
        {
            "kind": "adoption",
            "id": "a1",
            "service": "acme/checkout",
            "occurred_at": "2026-03-03T09:00:00Z",
            "capability": "ci",
            "mandated": False,
        },
    )

    assert stored("i1") == (
        "ops",
        {"resolved_at": None, "caused_by_deploy": "d1", "service": "system:payments"},
    )
    # The team waited on is the database's owner; the ticket keeps the service it named.
    assert stored("t1") == (
        "web",
        {
            "closed_at": None,
            "waiting_on": "ops",
            "developers_waiting": 2,
            "waiting_on_service": "component:database",
            "service": "component:checkout",
        },
    )
    assert stored("a1") == (
        "web",
        {"capability": "ci", "mandated": False, "service": "component:checkout"},
    )


def test_sending_the_same_service_in_another_form_leaves_the_event_unchanged(
    acme: Organization,
) -> None:
    ingest(acme, deploy(1, service="checkout"))

    result = signal_events_ingest(
        organization=acme,
        records=[deploy(1, service="component:default/checkout")],
        source="the test",
        at=AT,
    )

    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


def test_the_event_keeps_the_team_that_owned_the_service_at_ingest(acme: Organization) -> None:
    ingest(acme, deploy(1, service="checkout"))
    Service.objects.filter(slug="checkout").update(team=Team.objects.get(slug="idle"))

    ingest(acme, deploy(2, service="checkout"))

    assert stored("d1")[0] == "web"
    assert stored("d2")[0] == "idle"


@pytest.mark.parametrize(
    ("record", "path", "message"),
    [
        (deploy(1, team="web", service="checkout"), "records[0].service", "give either team or service, not both; got team 'web' and service 'checkout'"),
        (deploy(1), "records[0].team", "required field is missing"),
        (deploy(1, service=None), "records[0].service", "expected a text; got NoneType"),
        (deploy(1, service="nowhere"), "records[0].service", "no service 'nowhere' in organisation 'acme'"),
        (deploy(1, service="system:checkout"), "records[0].service", "no service 'system:checkout' in organisation 'acme'"),
        (deploy(1, service="orders"), "records[0].service", "service 'orders' is ambiguous in organisation 'acme': 'component:orders' and 'api:orders'; give the kind, e.g. 'component:orders'"),
        (deploy(1, service="legacy"), "records[0].service", "service 'component:legacy' has no owning team in organisation 'acme'; name the team instead, or give the service an owner"),
        (deploy(1, service="resource:db"), "records[0].service", "expected the kind of a service (component, system, api) before ':'; got 'resource:db'"),
        (deploy(1, service="acme//checkout"), "records[0].service", "expected a service slug or reference ([kind:][namespace/]name); got 'acme//checkout'"),
        (deploy(1, service="check out"), "records[0].service", "expected a service slug or reference ([kind:][namespace/]name); got 'check out'"),
        ({"kind": "incident", "id": "i1", "team": "ops", "service": "payments", "occurred_at": "2026-03-02T11:00:00Z"}, "records[0].service", "give either team or service, not both; got team 'ops' and service 'payments'"),
        ({"kind": "ticket", "id": "t1", "team": "web", "occurred_at": "2026-03-01T09:00:00Z", "waiting_on": "ops", "waiting_on_service": "database"}, "records[0].waiting_on_service", "give either waiting_on or waiting_on_service, not both; got waiting_on 'ops' and waiting_on_service 'database'"),
        ({"kind": "ticket", "id": "t1", "team": "web", "occurred_at": "2026-03-01T09:00:00Z", "waiting_on_service": "nope"}, "records[0].waiting_on_service", "no service 'nope' in organisation 'acme'"),
        ({"kind": "first_deploy", "id": "f1", "service": "checkout", "occurred_at": "2026-03-04T09:00:00Z", "subject": "web", "joined_at": "2026-03-01T09:00:00Z"}, "records[0].service", "not a field of a first_deploy event; its fields are kind, id, occurred_at, subject, joined_at"),
    ],
)  # fmt: skip
def test_a_service_that_gives_no_single_team_is_a_precise_error(
    acme: Organization, record: dict[str, Any], path: str, message: str
) -> None:
    assert problems(acme, record) == [(path, message)]


def test_every_problem_of_every_record_is_reported_in_one_pass(acme: Organization) -> None:
    found = problems(
        acme,
        deploy(1, service="checkout"),
        deploy(2, service="nowhere", caused_failure="yes"),
        deploy(3, team="web", service="nowhere"),
        deploy(4, service="legacy"),
    )

    assert found == [
        ("records[1].service", "no service 'nowhere' in organisation 'acme'"),
        ("records[1].caused_failure", "expected true or false; got 'yes'"),
        (
            "records[2].service",
            "give either team or service, not both; got team 'web' and service 'nowhere'",
        ),
        (
            "records[3].service",
            "service 'component:legacy' has no owning team in organisation 'acme'; name the team "
            "instead, or give the service an owner",
        ),
    ]


def test_all_named_services_are_resolved_in_one_query(
    acme: Organization, django_assert_max_num_queries: Any
) -> None:
    few = [deploy(n, service="checkout") for n in range(2)]
    many = [deploy(n, service=s) for n, s in enumerate(["checkout", "payments", "api:orders"] * 20)]

    with django_assert_max_num_queries(100) as few_queries:
        ingest(acme, *few)
    SignalEvent.objects.all().delete()
    with django_assert_max_num_queries(100) as many_queries:
        ingest(acme, *many)

    services = [q for q in many_queries.captured_queries if "teams_service" in q["sql"]]
    assert len(services) == 1
    assert len(many_queries.captured_queries) == len(few_queries.captured_queries)


def test_a_service_owned_by_a_renamed_team_counts_for_it(acme: Organization) -> None:
    team_update(team=Team.objects.get(slug="web"), data={"slug": "storefront"})

    ingest(acme, deploy(1, service="checkout"))

    assert stored("d1")[0] == "storefront"


def test_readings_count_events_naming_a_service_for_the_owning_team(
    acme: Organization,
) -> None:
    def readings_of(*records: dict[str, Any]) -> dict[str, dict[str, float]]:
        SignalEvent.objects.all().delete()
        ingest(acme, *records)
        found = ingested_readings(
            organization=acme,
            start=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
            end=dt.datetime(2026, 3, 15, tzinfo=dt.UTC),
        )
        return {
            team.slug: {kind: reading.value for kind, reading in found[team.pk].items()}
            for team in Team.objects.filter(organization=acme)
        }

    ticket = {
        "kind": "ticket",
        "id": "t1",
        "occurred_at": "2026-03-01T09:00:00Z",
        "closed_at": "2026-03-06T09:00:00Z",
        "developers_waiting": 2,
    }
    by_service = readings_of(
        *[deploy(n, service="acme/checkout") for n in range(4)],
        deploy(9, service="payments"),
        {**ticket, "service": "checkout", "waiting_on_service": "database"},
    )
    by_team = readings_of(
        *[deploy(n, team="web") for n in range(4)],
        deploy(9, team="ops"),
        {**ticket, "team": "web", "waiting_on": "ops"},
    )

    assert by_service == by_team
    assert by_service["web"]["deployment_frequency"] > by_service["ops"]["deployment_frequency"]
    assert by_service["web"]["blocked_developer_hours"] > 0


@pytest.fixture
def client(acme: Organization) -> APIClient:
    user: Any = UserFactory(username="admin-acme")
    OrganizationRoleFactory(organization=acme, user=user, role=Role.ADMIN)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_ingests_a_record_naming_a_service_and_lists_it(client: APIClient) -> None:
    response = client.post(URL, deploy(1, service="component:checkout"), format="json")
    assert response.status_code == 201, response.json()
    listed = client.get(URL).json()["results"]

    assert [(e["id"], e["team"], e["service"]) for e in listed] == [
        ("d1", "web", "component:checkout")
    ]


def test_the_api_names_the_field_of_a_bad_service(client: APIClient) -> None:
    single = client.post(URL, deploy(1, service="orders"), format="json")
    batch = client.post(
        URL, {"records": [deploy(1, team="web"), deploy(2, service="legacy")]}, format="json"
    )

    assert single.status_code == 400
    assert list(single.json()["extra"]["fields"]) == ["service"]
    assert batch.status_code == 400
    assert list(batch.json()["extra"]["fields"]) == ["records[1].service"]
    assert not SignalEvent.objects.exists()


def test_the_csv_command_ingests_rows_naming_services_without_a_team_column(
    acme: Organization, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "kind,id,service,occurred_at,waiting_on_service,developers_waiting\n"
        "deploy,d1,acme/checkout,2026-03-02T10:00:00Z,,\n"
        "ticket,t1,checkout,2026-03-01T09:00:00Z,system:payments,3\n",
        encoding="utf-8",
    )

    call_command("ingest_signals", "--org", "acme", str(path), stdout=StringIO())

    assert stored("d1")[0] == "web"
    assert stored("t1")[0] == "web"
    assert stored("t1")[1]["waiting_on"] == "ops"


def test_the_csv_command_names_line_and_column_of_a_bad_service(
    acme: Organization, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "kind,id,team,service,occurred_at\n"
        "deploy,d1,web,,2026-03-02T10:00:00Z\n"
        "deploy,d2,,orders,2026-03-02T10:00:00Z\n"
        "deploy,d3,web,checkout,2026-03-02T10:00:00Z\n"
        "deploy,d4,,,2026-03-02T10:00:00Z\n",
        encoding="utf-8",
    )

    with pytest.raises(CommandError) as caught:
        call_command("ingest_signals", "--org", "acme", str(path), stdout=StringIO())

    assert str(caught.value).splitlines()[1:] == [
        f"{path}, line 3, column service: service 'orders' is ambiguous in organisation 'acme': "
        "'component:orders' and 'api:orders'; give the kind, e.g. 'component:orders'",
        f"{path}, line 4, column service: give either team or service, not both; got team 'web' "
        "and service 'checkout'",
        f"{path}, line 5, column team: required field is missing",
    ]
    assert not SignalEvent.objects.exists()


def test_a_csv_file_needs_a_team_or_a_service_column(acme: Organization, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("kind,id,occurred_at\n", encoding="utf-8")

    with pytest.raises(CommandError, match="line 1: missing column 'team'"):
        call_command("ingest_signals", "--org", "acme", str(path), stdout=StringIO())


def test_the_json_schema_requires_exactly_one_of_team_and_service() -> None:
    schema = signal_event_json_schema()
    ticket = {"kind": "ticket", "id": "t1", "occurred_at": "2026-03-01T09:00:00Z"}

    for good in (
        deploy(1, service="component:checkout"),
        deploy(1, team="web"),
        {**ticket, "service": "checkout", "waiting_on_service": "database"},
        {**ticket, "team": "web", "waiting_on": None},
        {"kind": "incident", "id": "i1", "occurred_at": "2026-03-02T11:00:00Z"},
        {"kind": "incident", "id": "i1", "team": None, "service": "payments",
         "occurred_at": "2026-03-02T11:00:00Z"},
    ):  # fmt: skip
        jsonschema.validate(good, schema)
    for bad in (
        deploy(1),
        deploy(1, team="web", service="checkout"),
        deploy(1, service=None),
        {**ticket, "team": "web", "waiting_on": "ops", "waiting_on_service": "database"},
        {"kind": "incident", "id": "i1", "team": "ops", "service": "payments",
         "occurred_at": "2026-03-02T11:00:00Z"},
    ):  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


@pytest.mark.parametrize(
    ("reference", "parsed"),
    [
        ("checkout", (None, "checkout")),
        ("API:orders", ("api", "orders")),
        ("system:default/payments", ("system", "payments")),
        ("acme/checkout", (None, "checkout")),
        ("gitlab-group/sub/checkout.web", (None, "checkout-web")),
    ],
)
def test_references_follow_backstage_and_repository_names(
    reference: str, parsed: tuple[str | None, str]
) -> None:
    assert service_ref_parse(reference) == parsed
