"""Calendar feeds (docs/integrations.md, "Calendars"): parsed back with ``icalendar`` itself, at
their secret URL, with stable UIDs, the organisation's zone, resets that kill the old URL, and
nothing of another organisation or of a check-in's answer link."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from icalendar import Calendar, Event

from teams.models import Organization
from tests.builders import PlanWorld, build_plan_world, fresh, module_world
from tests.factories import CheckInFactory
from transform.models import CalendarFeed, CheckInKind, Milestone
from transform.plans.calendars import (
    calendar_feed_reset_for_person,
    calendar_feed_reset_for_transformation,
)
from transform.rhythm.links import checkin_token

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def plan_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[PlanWorld]:
    yield from module_world(django_db_blocker, build_plan_world)


@pytest.fixture
def world(plan_world_built: PlanWorld, db: None) -> PlanWorld:
    return fresh(plan_world_built)


def _path(url: str) -> str:
    return urlsplit(url).path


def _fetch(url: str) -> Calendar:
    response = Client().get(_path(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> dict[str, Event]:
    return {
        str(event["UID"]): event for event in calendar.walk("VEVENT") if isinstance(event, Event)
    }


def _day(event: Event, name: str) -> dt.date:
    value = event.decoded(name)
    assert type(value) is dt.date, f"{name} is not an all-day date: {value!r}"
    return value


def test_a_plan_feed_has_every_milestone_on_its_due_date_as_an_all_day_event(
    world: PlanWorld,
) -> None:
    made = calendar_feed_reset_for_transformation(transformation=world.transformation, by=None)

    calendar = _fetch(made.url)

    milestones = list(world.transformation.milestones.all())
    events = _events(calendar)
    assert len(events) == len(milestones) > 1
    for milestone in milestones:
        event = events[f"milestone-{milestone.pk}.plan@127.0.0.1"]
        assert milestone.planned_due is not None
        assert _day(event, "DTSTART") == milestone.planned_due
        assert _day(event, "DTEND") == milestone.planned_due + dt.timedelta(days=1)
        assert str(event["SUMMARY"]) == f"Due: {milestone.title}"
        assert f"/o/acme/milestones/{milestone.pk}/" in str(event["URL"])
        assert "Status: Planned" in str(event["DESCRIPTION"])
    assert str(calendar["X-WR-CALNAME"]) == f"{world.transformation.title} (Acme)"
    assert str(calendar["X-WR-TIMEZONE"]) == world.transformation.organization.time_zone
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT1H"


def test_the_raw_feed_has_crlf_lines_and_value_date(world: PlanWorld) -> None:
    made = calendar_feed_reset_for_transformation(transformation=world.transformation, by=None)

    body = Client().get(_path(made.url)).content

    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"\nDTSTART;VALUE=DATE:2027" in body
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


def test_uids_and_stamps_stay_the_same_from_one_fetch_to_the_next(world: PlanWorld) -> None:
    made = calendar_feed_reset_for_transformation(transformation=world.transformation, by=None)

    first = Client().get(_path(made.url)).content
    second = Client().get(_path(made.url)).content

    assert first == second
    assert set(_events(Calendar.from_ical(first))) == set(_events(Calendar.from_ical(second)))


def test_an_unchanged_feed_answers_304_to_its_etag(world: PlanWorld) -> None:
    made = calendar_feed_reset_for_transformation(transformation=world.transformation, by=None)
    first = Client().get(_path(made.url))

    again = Client().get(_path(made.url), headers={"If-None-Match": first["ETag"]})
    Milestone.objects.filter(transformation=world.transformation).update(title="Renamed")
    changed = Client().get(_path(made.url), headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert changed.status_code == 200
    assert b"Due: Renamed" in changed.content


def test_a_moved_due_date_keeps_its_uid(world: PlanWorld) -> None:
    made = calendar_feed_reset_for_transformation(transformation=world.transformation, by=None)
    milestone = world.milestone("buddies")
    uid = f"milestone-{milestone.pk}.plan@127.0.0.1"
    Milestone.objects.filter(pk=milestone.pk).update(planned_due=dt.date(2027, 6, 30))

    event = _events(_fetch(made.url))[uid]

    assert _day(event, "DTSTART") == dt.date(2027, 6, 30)


def test_a_person_feed_has_their_milestones_and_open_checkins_and_no_answer_link(
    world: PlanWorld,
) -> None:
    organization = world.transformation.organization
    Organization.objects.filter(pk=organization.pk).update(time_zone="Pacific/Auckland")
    em = world.people["em"]
    buddies = world.milestone("buddies")
    # 11:30 UTC on 10 March is 00:30 on 11 March in Auckland: the link lasts until then.
    expires = dt.datetime(2027, 3, 10, 11, 30, tzinfo=dt.UTC)
    checkin: Any = CheckInFactory(
        organization=organization,
        recipient=em,
        kind=CheckInKind.MILESTONE_STATUS,
        milestone=buddies,
        transformation=world.transformation,
        created_at=expires - dt.timedelta(days=7),
        expires_at=expires,
    )
    CheckInFactory(organization=organization, recipient=em, answered_at=expires)  # answered
    CheckInFactory(organization=organization, recipient=world.people["member"])  # someone else's
    made = calendar_feed_reset_for_person(person=em, by=None)

    response = Client().get(_path(made.url))
    calendar = Calendar.from_ical(response.content)

    events = _events(calendar)
    assert set(events) == {
        f"milestone-{buddies.pk}.person@127.0.0.1",
        f"checkin-{checkin.pk}.person@127.0.0.1",
    }
    checkin_event = events[f"checkin-{checkin.pk}.person@127.0.0.1"]
    assert _day(checkin_event, "DTSTART") == dt.date(2027, 3, 11)
    assert str(checkin_event["SUMMARY"]) == f"Check-in: status of {buddies.title}"
    assert str(checkin_event["URL"]).endswith(f"/o/acme/milestones/{buddies.pk}/")
    assert checkin_token(checkin) not in response.content.decode()
    assert b"/c/" not in response.content
    assert str(calendar["X-WR-TIMEZONE"]) == "Pacific/Auckland"
    assert _day(events[f"milestone-{buddies.pk}.person@127.0.0.1"], "DTSTART") == (
        buddies.planned_due
    )


def test_a_survey_checkin_points_at_the_organisations_home_page(world: PlanWorld) -> None:
    em = world.people["em"]
    survey: Any = CheckInFactory(organization=world.transformation.organization, recipient=em)
    made = calendar_feed_reset_for_person(person=em, by=None)

    event = _events(_fetch(made.url))[f"checkin-{survey.pk}.person@127.0.0.1"]

    assert str(event["SUMMARY"]) == "Pulse survey"
    assert str(event["URL"]) == "http://127.0.0.1:8000/o/acme/"
    assert "link is personal" in str(event["DESCRIPTION"])


def test_resetting_a_url_makes_the_old_one_404(world: PlanWorld) -> None:
    old = calendar_feed_reset_for_person(person=world.people["em"], by=None)
    new = calendar_feed_reset_for_person(person=world.people["em"], by=None)

    assert Client().get(_path(old.url)).status_code == 404
    assert Client().get(_path(new.url)).status_code == 200
    assert CalendarFeed.objects.filter(person=world.people["em"]).count() == 1
    assert old.token not in CalendarFeed.objects.get(person=world.people["em"]).token_hash


@pytest.mark.parametrize(
    "change",
    [{"left_on": dt.date(2026, 1, 1)}, {"erased_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}],
)
def test_a_leavers_or_erased_persons_feed_is_a_404(
    world: PlanWorld, change: dict[str, Any]
) -> None:
    member = world.people["member"]
    made = calendar_feed_reset_for_person(person=member, by=None)
    assert Client().get(_path(made.url)).status_code == 200
    type(member).objects.filter(pk=member.pk).update(**change)

    assert Client().get(_path(made.url)).status_code == 404


def test_a_person_leaving_later_keeps_their_feed_until_then(world: PlanWorld) -> None:
    member = world.people["member"]
    made = calendar_feed_reset_for_person(person=member, by=None)
    type(member).objects.filter(pk=member.pk).update(left_on=dt.date(2099, 1, 1))

    assert Client().get(_path(made.url)).status_code == 200


@pytest.mark.parametrize("token", ["wrong", "x" * 43, "y" * 200])
def test_a_wrong_token_is_a_404(world: PlanWorld, token: str) -> None:
    calendar_feed_reset_for_person(person=world.people["em"], by=None)

    assert Client().get(f"/cal/{token}.ics").status_code == 404


def test_another_organisations_milestones_never_appear(world: PlanWorld) -> None:
    acme_plan = calendar_feed_reset_for_transformation(transformation=world.transformation, by=None)
    globex_plan = calendar_feed_reset_for_transformation(
        transformation=world.globex_transformation, by=None
    )

    acme_uids = set(_events(_fetch(acme_plan.url)))
    globex_uids = set(_events(_fetch(globex_plan.url)))

    globex_ids = set(world.globex_transformation.milestones.values_list("pk", flat=True))
    assert acme_uids.isdisjoint(globex_uids)
    assert not any(f"milestone-{pk}." in uid for uid in acme_uids for pk in globex_ids)
    assert "globex" not in Client().get(_path(acme_plan.url)).content.decode().lower()


def test_a_feed_reads_in_a_fixed_number_of_queries(
    world: PlanWorld, django_assert_max_num_queries: Any
) -> None:
    person = calendar_feed_reset_for_person(person=world.people["plan_agent"], by=None)
    plan = calendar_feed_reset_for_transformation(transformation=world.transformation, by=None)
    for _ in range(5):
        CheckInFactory(organization=world.transformation.organization, recipient=person.feed.person)

    with django_assert_max_num_queries(3):
        assert Client().get(_path(person.url)).status_code == 200
    with django_assert_max_num_queries(2):
        assert Client().get(_path(plan.url)).status_code == 200


# --- the web page buttons -------------------------------------------------------------------


def _message_url(response: Any) -> str:
    text = " ".join(str(message) for message in response.context["messages"])
    found = re.search(r"calendar URL[^:]*: (http\S+\.ics) ", text)
    assert found is not None, text
    return found.group(1)


def test_a_person_makes_their_own_calendar_url_from_the_plans_page(world: PlanWorld) -> None:
    client = Client()
    client.force_login(world.world.users["member"])

    page = client.get("/o/acme/plans/")
    response = client.post("/o/acme/calendar/", {"next": "/o/acme/plans/"}, follow=True)

    assert 'action="/o/acme/calendar/"' in page.content.decode()
    assert response.status_code == 200
    url = _message_url(response)
    assert "/cal/" in url
    assert url in response.content.decode()
    feed = CalendarFeed.objects.get(person=world.people["member"])
    assert feed.reset_by == world.world.users["member"]
    assert Client().get(_path(url)).status_code == 200


def test_a_login_without_a_person_gets_no_calendar(world: PlanWorld) -> None:
    client = Client()
    client.force_login(world.world.users["admin"])
    world.people["admin"].delete()

    response = client.post("/o/acme/calendar/", follow=True)

    assert "not linked to a person" in response.content.decode()
    assert not CalendarFeed.objects.exists()


@pytest.mark.parametrize(
    ("kind", "status"),
    [("admin", 302), ("change_agent", 302), ("leader", 403), ("member", 403), ("no_role", 404)],
)
def test_only_admins_and_change_agents_make_a_plans_calendar_url(
    world: PlanWorld, kind: str, status: int
) -> None:
    client = Client()
    client.force_login(world.world.users[kind])

    response = client.post(f"/o/acme/plans/{world.transformation.pk}/calendar/")

    assert response.status_code == status
    assert CalendarFeed.objects.filter(transformation=world.transformation).exists() == (
        status == 302
    )


def test_another_organisations_plan_is_a_404_for_its_calendar(world: PlanWorld) -> None:
    client = Client()
    client.force_login(world.world.users["admin"])

    response = client.post(f"/o/acme/plans/{world.globex_transformation.pk}/calendar/")

    assert response.status_code == 404
    assert not CalendarFeed.objects.exists()


def test_the_feed_answers_only_reads(world: PlanWorld) -> None:
    made = calendar_feed_reset_for_person(person=world.people["em"], by=None)

    assert Client().post(_path(made.url)).status_code == 405
