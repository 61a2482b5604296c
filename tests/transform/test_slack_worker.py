"""Slack with a real Celery worker: the planning job's status check-in reaches its owner as a
Slack direct message through the fake Slack Web API (tests/transform/slack_fake.py), and no link
reaches a channel. The worker runs in a thread of this process (tests/transform/
worker_fixtures.py), consuming the queue the tasks are published to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders import chain_transformation
from tests.factories import CheckinSettingsFactory, OrganizationFactory, PersonFactory
from tests.transform.slack_fake import ALERTS, TOKEN, FakeSlack
from tests.transform.worker_fixtures import TaskTracker
from transform.checkins.tasks import plan_checkins
from transform.models import CheckIn, Delivery, DeliveryStatus, Milestone, MilestoneStatus
from transform.rhythm import links

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slack(settings: Any) -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    settings.TRANSFORM_SLACK_API_URL = fake.url
    yield fake
    fake.stop()


@pytest.mark.usefixtures("thread_worker")
def test_the_planning_job_sends_a_status_checkin_as_a_slack_direct_message(
    slack: FakeSlack, tracker: TaskTracker
) -> None:
    organization: Any = OrganizationFactory(slug="acme", name="Acme")
    CheckinSettingsFactory(
        organization=organization,
        channel="slack",
        slack_bot_token=TOKEN,
        slack_alert_channel=ALERTS,
    )
    owner: Any = PersonFactory(organization=organization, email="o@acme.test", name="Owen")
    slack.users["o@acme.test"] = "U0OWEN"
    transformation = chain_transformation(organization, count=2, owner=owner.email)
    Milestone.objects.filter(transformation=transformation, key="step-0").update(
        status=MilestoneStatus.IN_PROGRESS
    )

    plan_checkins.delay(at="2027-01-05T09:00:00+00:00")
    tracker.wait()

    checkin = CheckIn.objects.get(recipient=owner)
    delivery = Delivery.objects.get(checkin=checkin)
    assert (delivery.channel, delivery.status) == ("slack", DeliveryStatus.SENT)
    assert slack.problems == []
    assert slack.methods() == ["users.lookupByEmail", "chat.postMessage"]
    (post,) = slack.posts()
    assert post["channel"] == "U0OWEN"
    assert post["text"].startswith('Status check-in: how is "Step 0" going?')
    assert links.checkin_url(checkin) in post["text"]
    assert not [body for body in slack.posts() if body["channel"] == ALERTS]
