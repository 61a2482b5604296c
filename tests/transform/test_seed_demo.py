"""`seed_demo`: the demo organisation gets a running transformation, readiness and role logins."""

from __future__ import annotations

from io import StringIO
from typing import Any

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
    statuses = dict(transformation.milestones.values_list("key", "status"))
    assert statuses["map-ticket-flows"] == MilestoneStatus.DONE
    assert statuses["name-platform-owner"] == MilestoneStatus.AT_RISK
    assert statuses["announce-unification"] == MilestoneStatus.BLOCKED
    assert statuses["merge-silo-teams"] == MilestoneStatus.PLANNED
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


def test_with_the_broker_down_the_seed_completes_and_leaves_the_sending_to_beat(
    demo: Organization,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
):
    from kombu.exceptions import OperationalError

    from transform.outbox.tasks import dispatch_deliveries

    def broker_down(**kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(dispatch_deliveries, "apply_async", broker_down)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        output = seed()

    assert callbacks  # the dispatch was asked for after the commit, and failed quietly

    assert "started" in output
    assert ReadinessSnapshot.objects.filter(organization=demo).count() > 0
    assert Delivery.objects.filter(status="pending").exists()  # beat's dispatch sends them
    assert "Broker unreachable" in caplog.text


def test_a_seed_that_fails_half_way_leaves_nothing_and_a_rerun_completes_it(
    demo: Organization, monkeypatch: pytest.MonkeyPatch
):
    import transform.demo

    def nightly_fails(*, organization: Organization, at: object) -> None:
        raise RuntimeError("the nightly job failed")

    monkeypatch.setattr(transform.demo, "readiness_organization_nightly", nightly_fails)
    with pytest.raises(RuntimeError, match="the nightly job failed"):
        seed()
    assert not Transformation.objects.filter(organization=demo).exists()
    assert not Response.objects.filter(organization=demo).exists()
    monkeypatch.undo()

    output = seed()

    assert "started" in output
    assert ReadinessSnapshot.objects.filter(organization=demo).count() > 0


def test_a_rerun_completes_snapshots_missing_after_an_earlier_partial_seed(demo: Organization):
    seed()
    ReadinessSnapshot.objects.filter(organization=demo).delete()

    output = seed()

    assert "already there" in output
    assert ReadinessSnapshot.objects.filter(organization=demo).count() > 0
