"""An organisation's and a person's time zone (docs/time-zones.md): validated IANA names, the
organisation's defaulting to the installation's TIME_ZONE, changed by admins through the API and
exposed on the organisation and person resources."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from core.zones import day_in_zone, moment_in_zone_text, zone_get
from teams.models import Organization, Person
from teams.zones import display_zone_name, organization_today, person_time_zone_set
from tests.builders import World, make_organization, make_person

pytestmark = pytest.mark.django_db

LATE_SUNDAY = dt.datetime(2027, 1, 10, 23, 30, tzinfo=dt.UTC)  # Monday 08:30 in Tokyo


@pytest.fixture
def world(api_world: World) -> World:
    return api_world


def test_a_new_organisation_takes_the_installations_zone() -> None:
    with override_settings(TIME_ZONE="Europe/Berlin"):
        organization = Organization.objects.create(slug="berlin", name="Berlin")

    assert organization.time_zone == "Europe/Berlin"
    assert make_organization("plain").time_zone == "UTC"


def test_an_unknown_zone_is_refused_with_a_message_naming_it() -> None:
    organization = make_organization("acme")
    organization.time_zone = "Mars/Olympus_Mons"

    with pytest.raises(ValidationError) as raised:
        organization.full_clean()

    assert (
        "'Mars/Olympus_Mons' is not a known time zone" in raised.value.message_dict["time_zone"][0]
    )


def test_a_persons_zone_may_be_blank_and_the_organisations_is_then_theirs() -> None:
    organization = make_organization("acme")
    Organization.objects.filter(pk=organization.pk).update(time_zone="Asia/Tokyo")
    organization.refresh_from_db()
    person = make_person(organization, email="ada@acme.test")

    assert display_zone_name(organization=organization, person=person) == "Asia/Tokyo"
    person_time_zone_set(person=person, time_zone="Europe/Lisbon")
    assert display_zone_name(organization=organization, person=person) == "Europe/Lisbon"
    with pytest.raises(ValidationError):
        person_time_zone_set(person=person, time_zone="Europe/Atlantis")
    person.refresh_from_db()
    assert person.time_zone == "Europe/Lisbon"


def test_the_day_and_the_named_time_follow_the_zone_across_the_date_line() -> None:
    organization = make_organization("acme")

    assert organization_today(organization, LATE_SUNDAY) == dt.date(2027, 1, 10)
    assert day_in_zone(zone_get("Asia/Tokyo"), LATE_SUNDAY) == dt.date(2027, 1, 11)
    assert day_in_zone(zone_get("America/Los_Angeles"), LATE_SUNDAY) == dt.date(2027, 1, 10)
    assert (
        moment_in_zone_text(LATE_SUNDAY, zone_get("Asia/Tokyo"))
        == "Monday 11 January 2027 at 08:30 (Asia/Tokyo)"
    )


def test_summer_time_changes_the_offset_but_not_the_zone_name() -> None:
    berlin = zone_get("Europe/Berlin")
    winter = dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC)
    summer = dt.datetime(2027, 7, 15, 12, 0, tzinfo=dt.UTC)

    assert moment_in_zone_text(winter, berlin).endswith("at 13:00 (Europe/Berlin)")
    assert moment_in_zone_text(summer, berlin).endswith("at 14:00 (Europe/Berlin)")


def test_a_stored_name_the_machine_does_not_know_reads_as_utc() -> None:
    assert zone_get("").key == "UTC"
    assert zone_get("Nowhere/Special").key == "UTC"


# --- API --------------------------------------------------------------------------------------


def test_an_admin_sets_the_organisations_zone_through_the_api(world: World) -> None:
    response = world.client("admin").patch(
        "/api/v1/orgs/acme/", {"time_zone": "Asia/Tokyo"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["time_zone"] == "Asia/Tokyo"
    world.acme.org.refresh_from_db()
    assert world.acme.org.time_zone == "Asia/Tokyo"
    listed = world.client("member").get("/api/v1/orgs/").json()["results"]
    assert [org["time_zone"] for org in listed if org["slug"] == "acme"] == ["Asia/Tokyo"]


def test_an_unknown_zone_is_a_400_on_the_field_and_changes_nothing(world: World) -> None:
    response = world.client("admin").patch(
        "/api/v1/orgs/acme/", {"time_zone": "Europe/Atlantis"}, format="json"
    )

    assert response.status_code == 400
    fields = response.json()["extra"]["fields"]
    assert "'Europe/Atlantis' is not a known time zone" in fields["time_zone"][0]
    world.acme.org.refresh_from_db()
    assert world.acme.org.time_zone == "UTC"


@pytest.mark.parametrize("kind", ["change_agent", "leader", "member"])
def test_only_an_admin_may_change_the_organisations_zone(world: World, kind: str) -> None:
    response = world.client(kind).patch(
        "/api/v1/orgs/acme/", {"time_zone": "Asia/Tokyo"}, format="json"
    )

    assert response.status_code == 403
    world.acme.org.refresh_from_db()
    assert world.acme.org.time_zone == "UTC"


def test_the_person_resource_shows_the_persons_own_zone(world: World) -> None:
    Person.objects.filter(pk=world.acme.person.pk).update(time_zone="America/Chicago")
    client = world.client("member")

    listed = client.get("/api/v1/orgs/acme/people/").json()["results"]
    one: Any = client.get(f"/api/v1/orgs/acme/people/{world.acme.person.pk}/").json()

    zones = {row["email"]: row["time_zone"] for row in listed}
    assert zones["alice@acme.test"] == "America/Chicago"
    assert zones["em@acme.test"] == ""
    assert one["time_zone"] == "America/Chicago"


def test_a_leaver_leaves_on_the_organisations_day_whoever_reads_in_which_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.utils import timezone

    from teams.lifecycle import person_leave

    organization = make_organization("acme")
    Organization.objects.filter(pk=organization.pk).update(time_zone="Asia/Tokyo")
    organization.refresh_from_db()
    person = make_person(organization, email="ada@acme.test")
    monkeypatch.setattr(timezone, "now", lambda: LATE_SUNDAY)
    timezone.activate(zone_get("America/Los_Angeles"))  # a reader's zone on a web page
    try:
        left = person_leave(person=person, source="web", actor=None)
    finally:
        timezone.deactivate()

    # Still Sunday in Los Angeles and in UTC, but already Monday in Tokyo.
    assert left.left_on == dt.date(2027, 1, 11)
