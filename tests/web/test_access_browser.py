"""People and access in a real browser (issue 15): an admin invites a colleague by e-mail; the
colleague opens the link from the mail, creates a login on the page and lands in the organisation
with the invited role, linked to their person. An instance administrator creates an organisation
from the web interface and administers it. The pages fit a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail

from teams.models import Organization, OrganizationRole, Person, Role
from tests.builders import WEB_PASSWORD
from tests.web.browser import committed_world, log_in, screenshot

pytestmark = pytest.mark.browser

LINK_IN_MAIL = re.compile(r"https?://[^/\s]+(/invitations/[A-Za-z0-9_-]+/)")
NEW_PASSWORD = "a long passphrase 42"


def build_access_world() -> None:
    organization = Organization.objects.create(slug="initrode", name="Initrode")
    boss = User.objects.create_user("boss", email="boss@initrode.test", password=WEB_PASSWORD)
    OrganizationRole.objects.create(organization=organization, user=boss, role=Role.ADMIN)
    Person.objects.create(organization=organization, email="ada@initrode.test", name="Ada Lovelace")
    User.objects.create_superuser("root", email="root@example.test", password=WEB_PASSWORD)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield from committed_world(django_db_blocker, build_access_world)


def _no_horizontal_overflow(page: Any) -> bool:
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_an_invited_colleague_creates_a_login_and_lands_with_the_role(
    page: Any, browser: Any, web_server: str, world: None
) -> None:
    log_in(page, "boss")
    page.get_by_role("link", name="People & access").click()
    page.get_by_label("E-mail", exact=True).fill("Ada@Initrode.test")
    page.get_by_label("Role", exact=True).select_option("leader")
    with page.expect_navigation():
        page.get_by_role("button", name="Send invitation").click()

    assert page.get_by_text("Invitation sent to ada@initrode.test").is_visible()
    assert page.get_by_role("button", name="Revoke invitation to ada@initrode.test").is_visible()
    assert mail.outbox[-1].to == ["ada@initrode.test"]
    match = LINK_IN_MAIL.search(str(mail.outbox[-1].body))
    assert match is not None

    # The colleague, in a browser of their own, never logged in.
    context = browser.new_context(base_url=web_server, viewport={"width": 375, "height": 740})
    context.set_default_timeout(15_000)
    invitee = context.new_page()
    try:
        invitee.goto(match.group(1))
        assert invitee.get_by_text("Ada Lovelace").first.is_visible()
        assert invitee.get_by_label("E-mail", exact=True).is_disabled()
        assert _no_horizontal_overflow(invitee)
        screenshot(invitee, "invitation-new-login-phone")
        invitee.get_by_label("Username", exact=True).fill("ada")
        invitee.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        invitee.get_by_label("Password confirmation", exact=True).fill(NEW_PASSWORD)
        with invitee.expect_navigation():
            invitee.get_by_role("button", name="Create my login and accept").click()

        assert "/o/initrode/" in invitee.url
        assert invitee.get_by_text("with the role leader").is_visible()
        assert invitee.locator(".who").inner_text() == "Ada Lovelace (leader)"
    finally:
        context.close()
    assert Person.objects.get(email="ada@initrode.test").user == User.objects.get(username="ada")
    assert set(
        OrganizationRole.objects.filter(user__username="ada").values_list("role", flat=True)
    ) == {Role.LEADER}


def test_the_access_page_fits_a_phone(phone: Any, world: None) -> None:
    log_in(phone, "boss")
    phone.goto("/o/initrode/access/")

    assert phone.get_by_role("heading", name="People & access", level=1).is_visible()
    assert _no_horizontal_overflow(phone)
    screenshot(phone, "access-phone")


def test_an_instance_administrator_creates_an_organisation(page: Any, world: None) -> None:
    log_in(page, "root")
    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Slug", exact=True).fill("vandelay")
    page.get_by_label("Name", exact=True).fill("Vandelay Industries")
    with page.expect_navigation():
        page.get_by_role("button", name="Create organisation").click()

    assert "/o/vandelay/" in page.url
    assert page.get_by_text("Vandelay Industries was created; you are its admin.").is_visible()
    assert page.locator(".who").inner_text() == "root (admin)"
    grant = OrganizationRole.objects.get(organization__slug="vandelay")
    assert (grant.user.username, grant.role) == ("root", Role.ADMIN)
