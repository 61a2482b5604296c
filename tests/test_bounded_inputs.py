"""Every number, id and date a client sends is read with bounds (issue 11, "No 500 from any
input"): hostile text answers 400 naming the field (body, query) or 404 (path), never 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.bounds import DATE_MAX, DATE_MIN, ID_MAX, day_in_range, id_parse

ARABIC_ONE = "\u0661"  # ARABIC-INDIC DIGIT ONE: str.isdecimal() and int() accept it
HUGE = "9" * 5000  # beyond Python's 4,300-digit limit for int()
BIGINT_OVERFLOW = str(ID_MAX + 1)
HOSTILE_IDS = ["¹", ARABIC_ONE, HUGE, BIGINT_OVERFLOW, "-1", "0", "1e3", " ", ""]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        (7, 7),
        (str(ID_MAX), ID_MAX),
        ("¹", None),
        (ARABIC_ONE, None),
        (HUGE, None),
        (BIGINT_OVERFLOW, None),
        ("0", None),
        ("-1", None),
        (True, None),
        (None, None),
        (1.0, None),
    ],
)
def test_an_id_is_ascii_digits_within_the_bigint_range(value: object, expected: int | None) -> None:
    assert id_parse(value) == expected


def test_the_first_and_last_representable_days_are_refused_alike() -> None:
    assert not day_in_range(dt.date(1, 1, 1))
    assert not day_in_range(dt.date(9999, 12, 1))
    assert day_in_range(DATE_MIN)
    assert day_in_range(DATE_MAX)


def _field_error(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert field in body["extra"]["fields"], body


# --- body fields --------------------------------------------------------------------------------


@pytest.mark.parametrize("owner", [*HOSTILE_IDS, "x" * 5000])
def test_reassigning_to_a_hostile_owner_is_a_400_on_owner(plan_world: Any, owner: str) -> None:
    milestone = plan_world.milestones["buddies"]

    response = plan_world.client("admin").post(
        f"/api/v1/milestones/{milestone.pk}/reassign/", {"owner": owner}, format="json"
    )

    _field_error(response, "owner")


@pytest.mark.parametrize("reference", ["pilot-plan@¹", "pilot-plan@" + "9" * 100, "pilot-plan@0"])
def test_a_hostile_playbook_version_is_a_400_on_playbooks(plan_world: Any, reference: str) -> None:
    response = plan_world.client("admin").post(
        "/api/v1/orgs/acme/transformations/",
        {"playbooks": [reference], "start_date": "2027-01-04", "owner": "admin@acme.test"},
        format="json",
    )

    _field_error(response, "playbooks")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-01", "9999-12-31"])
def test_a_start_date_out_of_range_is_a_400_on_start_date(plan_world: Any, day: str) -> None:
    response = plan_world.client("admin").post(
        "/api/v1/orgs/acme/transformations/",
        {"playbooks": ["pilot-plan"], "start_date": day, "owner": "admin@acme.test"},
        format="json",
    )

    _field_error(response, "start_date")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-01"])
def test_a_forecast_out_of_range_is_a_400_on_forecast_due(plan_world: Any, day: str) -> None:
    milestone = plan_world.milestones["buddies"]

    response = plan_world.client("admin").post(
        f"/api/v1/milestones/{milestone.pk}/reschedule/",
        {"forecast_due": day, "reason": "test"},
        format="json",
    )

    _field_error(response, "forecast_due")


# --- query parameters ---------------------------------------------------------------------------

LISTS = [
    "/api/v1/orgs/",
    "/api/v1/orgs/acme/people/",
    "/api/v1/orgs/acme/teams/",
    "/api/v1/orgs/acme/memberships/",
    "/api/v1/orgs/acme/transformations/",
    "/api/v1/me/checkins/",
    "/api/v1/orgs/acme/signal-events/",
    "/api/v1/orgs/acme/deliveries/",
    "/api/v1/orgs/acme/readiness/history/",
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("size", ["null", "", "¹", HUGE, "0", "-5"])
def test_a_page_size_that_is_not_a_number_is_a_400_on_page_size(
    plan_world: Any, path: str, size: str
) -> None:
    response = plan_world.client("admin").get(path, {"page_size": size})

    _field_error(response, "page_size")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("page", ["null", "¹", HUGE, "0"])
def test_a_page_that_is_not_a_number_is_a_400_on_page(
    plan_world: Any, path: str, page: str
) -> None:
    response = plan_world.client("admin").get(path, {"page": page})

    _field_error(response, "page")


@pytest.mark.parametrize("path", ["/api/v1/orgs/acme/people/", "/api/v1/orgs/acme/teams/"])
def test_a_large_page_size_is_refused_and_the_last_page_is_reachable(
    plan_world: Any, path: str
) -> None:
    client = plan_world.client("admin")

    _field_error(client.get(path, {"page_size": "100000"}), "page_size")
    assert client.get(path, {"page_size": "1000"}).status_code == 200
    assert client.get(path, {"page": "last"}).status_code == 200
    assert client.get(path, {"page": "999"}).status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/v1/orgs/acme/memberships/", "/api/v1/orgs/acme/serves-links/"]
)
@pytest.mark.parametrize("person", ["¹", ARABIC_ONE, HUGE, BIGINT_OVERFLOW, "0"])
def test_a_hostile_person_filter_is_a_400_on_person(
    plan_world: Any, path: str, person: str
) -> None:
    response = plan_world.client("admin").get(path, {"person": person})

    _field_error(response, "person")


@pytest.mark.parametrize(
    "path", ["/api/v1/orgs/acme/readiness/", "/api/v1/orgs/acme/readiness/comments/"]
)
@pytest.mark.parametrize("period", ["", " ", "0001-01-01", "9999-12-01", "9999-12-31", HUGE])
def test_an_empty_or_out_of_range_period_is_a_400_on_period(
    plan_world: Any, path: str, period: str
) -> None:
    response = plan_world.client("admin").get(path, {"period": period})

    _field_error(response, "period")


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-01T00:00:00Z"])
def test_a_signal_event_filter_out_of_range_is_a_400_naming_it(
    plan_world: Any, field: str, moment: str
) -> None:
    response = plan_world.client("admin").get("/api/v1/orgs/acme/signal-events/", {field: moment})

    _field_error(response, field)


@pytest.mark.parametrize("milestone", ["¹", ARABIC_ONE, HUGE, BIGINT_OVERFLOW])
def test_a_hostile_scenario_milestone_is_a_400_on_milestone(
    plan_world: Any, milestone: str
) -> None:
    transformation = plan_world.transformation

    response = plan_world.client("admin").get(
        f"/api/v1/transformations/{transformation.pk}/scenario/preview/", {"milestone": milestone}
    )

    _field_error(response, "milestone")


# --- path ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "/api/v1/milestones/{}/",
        "/api/v1/milestones/{}/reassign/",
        "/api/v1/transformations/{}/",
        "/api/v1/milestone-changes/{}/",
        "/api/v1/orgs/acme/people/{}/",
        "/api/v1/orgs/acme/teams/{}/",
        "/api/v1/orgs/acme/memberships/{}/",
        "/api/v1/orgs/acme/roles/{}/",
        "/o/acme/plans/{}/",
        "/o/acme/milestones/{}/",
    ],
)
@pytest.mark.parametrize("ident", ["%C2%B9", HUGE, BIGINT_OVERFLOW])
def test_a_hostile_path_id_is_a_404(plan_world: Any, template: str, ident: str) -> None:
    client = plan_world.client("admin")

    url = template.format(ident)
    if url.endswith("reassign/"):
        response = client.post(url, {"owner": "admin@acme.test"}, format="json")
    else:
        response = client.get(url)

    assert response.status_code == 404
