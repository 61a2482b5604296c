"""``create_org``: a new, empty organisation whose first admin is the login that created it."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from teams.models import Organization, OrganizationRole, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def create(*args: str) -> str:
    out = StringIO()
    call_command("create_org", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_the_creator_is_the_first_admin() -> None:
    UserFactory(username="ana")

    slug = create("acme", "--name", "Acme Corp", "--admin", "ana")

    organization = Organization.objects.get(slug=slug)
    assert (slug, organization.name) == ("acme", "Acme Corp")
    grants = OrganizationRole.objects.filter(organization=organization)
    assert [(g.user.username, g.role) for g in grants] == [("ana", Role.ADMIN)]
    assert organization.history.get().history_user.username == "ana"


def test_a_taken_slug_is_refused_and_nothing_changes() -> None:
    UserFactory(username="ana")
    UserFactory(username="bo")
    create("acme", "--name", "Acme", "--admin", "ana")

    with pytest.raises(CommandError, match="slug"):
        create("acme", "--name", "Other", "--admin", "bo")

    assert Organization.objects.get(slug="acme").name == "Acme"
    assert not OrganizationRole.objects.filter(user__username="bo").exists()


@pytest.mark.parametrize("slug", ["Acme Corp", "acme/1", ""])
def test_a_slug_that_is_not_one_is_refused_naming_the_field(slug: str) -> None:
    UserFactory(username="ana")

    with pytest.raises(CommandError, match="slug"):
        create(slug, "--name", "Acme", "--admin", "ana")

    assert not Organization.objects.exists()


def test_an_unknown_admin_is_refused_before_anything_is_created() -> None:
    with pytest.raises(CommandError, match="No login 'ghost'"):
        create("acme", "--name", "Acme", "--admin", "ghost")

    assert not Organization.objects.exists()


def test_the_time_zone_is_set_at_creation_and_an_unknown_one_is_refused() -> None:
    UserFactory(username="ana")

    create("acme", "--name", "Acme", "--admin", "ana", "--time-zone", "Europe/Berlin")
    with pytest.raises(CommandError, match="time_zone"):
        create("globex", "--name", "Globex", "--admin", "ana", "--time-zone", "Mars/Olympus")

    assert Organization.objects.get(slug="acme").time_zone == "Europe/Berlin"
    assert not Organization.objects.filter(slug="globex").exists()


def test_without_a_time_zone_the_installation_zone_is_used(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    UserFactory(username="ana")

    create("acme", "--name", "Acme", "--admin", "ana")

    assert Organization.objects.get(slug="acme").time_zone == "Asia/Tokyo"
