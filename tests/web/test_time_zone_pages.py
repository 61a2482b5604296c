"""Pages show times in the reader's zone and say which (docs/time-zones.md): the organisation's
by default, the person's own once they chose one on the "Time zones" page, where admins also
change the organisation's. The plan's "today" line is the organisation's day, named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from teams.models import Organization, OrganizationRole, Person, Role
from tests.builders import MEMBER, WebDemo, client_for
from transform.models import MilestoneEvent

pytestmark = pytest.mark.django_db

EVENT_AT = dt.datetime(2027, 1, 10, 23, 30, tzinfo=dt.UTC)  # 08:30 next day in Tokyo


@pytest.fixture
def demo(web_demo_plain: WebDemo) -> WebDemo:
    Organization.objects.filter(pk=web_demo_plain.organization.pk).update(time_zone="Asia/Tokyo")
    web_demo_plain.organization.refresh_from_db()
    return web_demo_plain


def admin_client(demo: WebDemo) -> Client:
    user = get_user_model().objects.create(username="tz-admin")
    OrganizationRole.objects.create(organization=demo.organization, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def milestone_page(demo: WebDemo, client: Client) -> str:
    MilestoneEvent.objects.filter(milestone=demo.started).update(at=EVENT_AT)
    url = reverse("web:milestone", kwargs={"org_slug": "demo", "milestone_id": demo.started.pk})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def zones_url() -> str:
    return reverse("web:time-zones", kwargs={"org_slug": "demo"})


def test_a_page_shows_times_in_the_organisations_zone_and_names_it(demo: WebDemo) -> None:
    html = milestone_page(demo, client_for("member"))

    assert "2027-01-11 08:30" in html
    assert "2027-01-10 23:30" not in html
    assert "Times in Asia/Tokyo" in html


def test_a_person_reads_times_in_the_zone_they_chose(demo: WebDemo) -> None:
    client = client_for("member")

    response = client.post(zones_url(), {"form": "person", "time_zone": "America/New_York"})

    assert response.status_code == 302
    assert Person.objects.get(email=MEMBER).time_zone == "America/New_York"
    html = milestone_page(demo, client)
    assert "2027-01-10 18:30" in html
    assert "Times in America/New_York" in html
    # Another reader still sees the organisation's zone.
    assert "Times in Asia/Tokyo" in milestone_page(demo, client_for("agent"))


def test_the_zone_a_person_chose_comes_back_at_their_next_sign_in(demo: WebDemo) -> None:
    Person.objects.filter(email=MEMBER).update(time_zone="Europe/Lisbon")

    html = milestone_page(demo, client_for("member"))

    assert "2027-01-10 23:30" in html  # Lisbon is on UTC in winter
    assert "Times in Europe/Lisbon" in html


def test_clearing_ones_zone_goes_back_to_the_organisations(demo: WebDemo) -> None:
    Person.objects.filter(email=MEMBER).update(time_zone="Europe/Lisbon")
    client = client_for("member")

    client.post(zones_url(), {"form": "person", "time_zone": ""})

    assert Person.objects.get(email=MEMBER).time_zone == ""
    assert "Times in Asia/Tokyo" in milestone_page(demo, client)


def test_an_unknown_zone_is_shown_as_an_error_on_the_form(demo: WebDemo) -> None:
    response = client_for("member").post(
        zones_url(), {"form": "person", "time_zone": "Europe/Atlantis"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "&#x27;Europe/Atlantis&#x27; is not a known time zone" in html
    assert Person.objects.get(email=MEMBER).time_zone == ""


def test_an_admin_changes_the_organisations_zone_on_the_page(demo: WebDemo) -> None:
    client = admin_client(demo)
    page = client.get(zones_url()).content.decode()
    assert "Save the organisation's time zone" in page

    response = client.post(zones_url(), {"form": "organization", "time_zone": "Europe/Berlin"})

    assert response.status_code == 302
    demo.organization.refresh_from_db()
    assert demo.organization.time_zone == "Europe/Berlin"
    assert "2027-01-11 00:30" in milestone_page(demo, client_for("member"))


def test_an_admins_unknown_zone_is_a_form_error_and_changes_nothing(demo: WebDemo) -> None:
    response = admin_client(demo).post(zones_url(), {"form": "organization", "time_zone": "Utc+2"})

    assert response.status_code == 400
    assert "is not a known time zone" in response.content.decode()
    demo.organization.refresh_from_db()
    assert demo.organization.time_zone == "Asia/Tokyo"


@pytest.mark.parametrize("username", ["agent", "leader", "member"])
def test_only_admins_change_the_organisations_zone(demo: WebDemo, username: str) -> None:
    client = client_for(username)
    assert "Save the organisation's time zone" not in client.get(zones_url()).content.decode()

    response = client.post(zones_url(), {"form": "organization", "time_zone": "Europe/Berlin"})

    assert response.status_code == 403
    demo.organization.refresh_from_db()
    assert demo.organization.time_zone == "Asia/Tokyo"


def test_another_organisations_zone_page_is_not_found(demo: WebDemo) -> None:
    response = client_for("outsider").get(zones_url())

    assert response.status_code == 404


def test_the_plans_today_line_is_the_organisations_day_named(
    demo: WebDemo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: EVENT_AT)
    url = reverse(
        "web:plan", kwargs={"org_slug": "demo", "transformation_id": demo.transformation.pk}
    )

    html: Any = client_for("member").get(url).content.decode()

    assert "Today (2027-01-11 in Asia/Tokyo)" in html
