"""What `make run` promises: with the printed logins, every page works on the seeded demo.

The demo is built exactly as `make demo` builds it (load_demo, then seed_demo); each role logs in
through the form and walks the pages its navigation offers, plus a check-in answered through its
link without a login. No page may fail or come up empty where the demo has data.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.web.browser import committed_world, log_in, screenshot
from transform.models import CheckIn, CheckInKind, Transformation
from transform.rhythm.links import checkin_token

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "demo-walk-pw"


def seed_demo() -> Transformation:
    """The demo exactly as `make demo` builds it."""
    call_command("load_demo", "--password", DEMO_PASSWORD, stdout=StringIO())
    call_command("seed_demo", "--password", DEMO_PASSWORD, stdout=StringIO())
    return Transformation.objects.get(organization__slug="demo")


@pytest.fixture(scope="module")
def seeded_demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[Transformation]:
    yield from committed_world(django_db_blocker, seed_demo)


def walk(page: Any, paths: list[str]) -> dict[str, int]:
    statuses = {}
    for path in paths:
        response = page.goto(path)
        statuses[path] = response.status
        assert page.locator("h1").count() == 1, path
    return statuses


@pytest.mark.parametrize(
    ("username", "extra"),
    [
        ("demo", ["/o/demo/leadership/report/"]),
        ("demo-agent", []),
        ("demo-leader", ["/o/demo/leadership/report/"]),
        ("demo-manager", []),
    ],
)
def test_every_page_of_a_role_works_on_the_seeded_demo(
    page: Any, seeded_demo: Transformation, username: str, extra: list[str]
):
    log_in(page, username, password=DEMO_PASSWORD)
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    paths = [links.nth(i).get_attribute("href") for i in range(links.count())]
    plan = f"/o/demo/plans/{seeded_demo.pk}/"
    milestone = seeded_demo.milestones.get(key="merge-silo-teams")
    paths += [plan, f"{plan}board/", f"/o/demo/milestones/{milestone.pk}/", *extra]

    statuses = walk(page, paths)

    assert set(statuses.values()) == {200}, statuses
    assert len(paths) >= 6
    screenshot(page, f"demo-{username}")


def test_the_seeded_demo_shows_data_not_empty_states(page: Any, seeded_demo: Transformation):
    log_in(page, "demo-leader", password=DEMO_PASSWORD)

    page.goto("/o/demo/leadership/")
    assert page.get_by_text("suppressed").first.is_visible()
    assert page.locator("canvas").count() >= 3
    page.goto("/o/demo/scenario/")
    assert page.get_by_text("Infrastructure Platform").first.is_visible()
    page.goto(f"/o/demo/plans/{seeded_demo.pk}/")
    assert page.get_by_text("critical").first.is_visible()


def test_a_demo_checkin_is_answered_through_its_link_on_a_phone(
    phone: Any, seeded_demo: Transformation
):
    checkin = (
        CheckIn.objects.filter(
            organization__slug="demo",
            kind=CheckInKind.PULSE_SURVEY,
            team__slug="search",
            expires_at__gt=timezone.now(),
        )
        .order_by("id")
        .first()
    )
    assert checkin is not None

    phone.goto(f"/c/{checkin_token(checkin)}/")
    # The survey comes in short steps: answer each, Next, and send on the last one.
    steps = int(phone.locator("progress.steps").get_attribute("max") or "1")
    for number in range(1, steps + 1):
        for group in phone.locator("fieldset").all():
            radios = group.get_by_role("radio")
            if radios.count():
                radios.nth(radios.count() // 2).check()
        if number < steps:
            # Each step is a page of its own (a POST): wait for it before answering the next.
            with phone.expect_navigation():
                phone.get_by_role("button", name="Next").click()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Send my answers").click()

    checkin.refresh_from_db()
    assert checkin.answered_at is not None
    screenshot(phone, "checkin-answered-phone")
