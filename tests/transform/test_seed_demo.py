"""`seed_demo`: the demo organisation gets a running transformation, readiness and role logins."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.utils import timezone

from teams.models import Organization
from transform.models import (
    Delivery,
    DeliveryKind,
    MilestoneStatus,
    ReadinessSnapshot,
    Response,
    Transformation,
)
from transform.readiness.selectors import readiness_report_get

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--password", "pw-demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo() -> Organization:
    call_command("load_demo", "--password", "pw-demo", stdout=StringIO())
    return Organization.objects.get(slug="demo")


def test_the_demo_gets_a_running_transformation_with_readiness(demo: Organization):
    output = seed()

    transformation = Transformation.objects.get(organization=demo)
    statuses = list(
        transformation.milestones.order_by("position").values_list("status", flat=True)[:3]
    )
    assert statuses == [MilestoneStatus.IN_PROGRESS, MilestoneStatus.AT_RISK, "planned"]
    assert "started" in output
    assert transformation.milestones.get(key="merge-silo-teams").changes.count() == 1
    report = readiness_report_get(organization=demo, at=timezone.now()).as_dict()
    teams = {row["team"]: row for row in report["teams"]}
    assert teams["search"]["suppressed"] is False
    assert teams["returns"]["suppressed"] is True  # three members: never enough answers
    assert teams["payments"]["trend"] == "down"
    assert ReadinessSnapshot.objects.filter(organization=demo).count() > 0
    assert Delivery.objects.filter(kind=DeliveryKind.READINESS_DROP).exists()


def test_seeding_twice_adds_nothing_and_role_logins_work(demo: Organization):
    seed()
    counts = (Response.objects.count(), ReadinessSnapshot.objects.count())

    output = seed()

    assert "already there" in output
    assert (Response.objects.count(), ReadinessSnapshot.objects.count()) == counts
    for username in ("demo-agent", "demo-manager", "demo-leader"):
        assert authenticate(username=username, password="pw-demo") is not None


def test_seeding_needs_the_demo_organisation():
    with pytest.raises(CommandError, match="run load_demo first"):
        seed()
