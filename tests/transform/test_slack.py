"""Slack over the Web API (transform/outbox/slack.py): check-ins as direct messages, alerts in the
alert channel, retries and visible failures, the bot token in the settings API and the audit
trail. Sent through the real ``deliver_checkins`` task code against ``FakeSlack``
(tests/transform/slack_fake.py), a real HTTP server on 127.0.0.1 that checks each request the
way Slack documents it and records every call."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from rest_framework.test import APIClient

from teams.models import Organization, Person, Role
from tests.builders import role_client
from tests.factories import (
    CheckInFactory,
    CheckinSettingsFactory,
    DeliveryFactory,
    OrganizationRoleFactory,
    PersonFactory,
    UserFactory,
)
from tests.transform.fakes import FakeWebhook
from tests.transform.slack_fake import ALERTS, TOKEN, FakeSlack
from transform.models import CheckIn, CheckInKind, CheckinSettings, Delivery, DeliveryKind
from transform.models.outbox import SlackMember
from transform.outbox.tasks import deliver_checkins
from transform.rhythm import links

AT = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
_serial = count(1)


# --- fixtures and builders ---------------------------------------------------------------------


@pytest.fixture
def slack(settings: Any) -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    settings.TRANSFORM_SLACK_API_URL = fake.url
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.DELIVERY_RETRY_SECONDS = 60
    yield fake
    fake.stop()


@pytest.fixture
def slack_org(organization: Organization, slack: FakeSlack) -> Organization:
    CheckinSettingsFactory(
        organization=organization,
        channel="slack",
        slack_bot_token=TOKEN,
        slack_alert_channel=ALERTS,
    )
    return organization


@pytest.fixture
def ada(organization: Organization, slack: FakeSlack) -> Person:
    person: Any = PersonFactory(organization=organization, email="ada@acme.test", name="Ada")
    slack.users["ada@acme.test"] = "U0ADA"
    return person


@pytest.fixture
def lead(organization: Organization, slack: FakeSlack) -> Person:
    person: Any = PersonFactory(organization=organization, email="lead@acme.test", name="Lee")
    slack.users["lead@acme.test"] = "U0LEAD"
    return person


def checkin_row(person: Person, *, kind: str = DeliveryKind.CHECKIN) -> tuple[CheckIn, Delivery]:
    number = next(_serial)
    checkin: Any = CheckInFactory(
        organization=person.organization,
        kind=CheckInKind.PULSE_SURVEY,
        recipient=person,
        subject=f"slack:{number}",
        period=f"p{number}",
        period_start=AT.date(),
        instruments=[["westrum", 1]],
        link_nonce=links.link_nonce_new(),
        created_at=AT,
        expires_at=AT + dt.timedelta(days=7),
    )
    row: Any = DeliveryFactory(
        organization=person.organization,
        kind=kind,
        dedupe_key=f"{kind}:{checkin.pk}:{number}",
        recipient=person,
        checkin=checkin,
        channel="slack",
        payload={},
        next_attempt_at=AT,
        created_at=AT,
    )
    return checkin, row


def alert_row(person: Person, *, text: str = "Milestone M1 is blocked.") -> Delivery:
    number = next(_serial)
    row: Any = DeliveryFactory(
        organization=person.organization,
        kind=DeliveryKind.ESCALATION,
        dedupe_key=f"escalation:slack:{number}",
        recipient=person,
        channel="slack",
        payload={"subject": "Blocked milestone", "text": text},
        next_attempt_at=AT,
        created_at=AT,
    )
    return row


def deliver(rows: list[Delivery], *, at: dt.datetime = AT, task_id: str = "") -> dict[str, Any]:
    """Send ``rows`` through the outbox's Celery task, run in this process."""
    outcome: dict[str, Any] = deliver_checkins.apply(
        kwargs={"delivery_ids": [row.pk for row in rows], "at": at.isoformat()},
        task_id=task_id or f"slack-task-{next(_serial)}",
    ).get()
    return outcome


def fresh(row: Delivery) -> Delivery:
    return Delivery.objects.get(pk=row.pk)


# --- direct messages and channel posts ---------------------------------------------------------


@pytest.mark.django_db
def test_a_checkin_reaches_its_recipient_as_a_direct_message_and_no_link_reaches_a_channel(
    slack_org: Organization, slack: FakeSlack, ada: Person, lead: Person
) -> None:
    checkin, row = checkin_row(ada)
    reminder_checkin, reminder = checkin_row(lead, kind=DeliveryKind.REMINDER)
    alert = alert_row(lead)

    outcome = deliver([row, reminder, alert])

    assert outcome["sent"] == 3
    assert [fresh(r).status for r in (row, reminder, alert)] == ["sent"] * 3
    assert slack.problems == []
    assert {call.authorization for call in slack.calls} == {f"Bearer {TOKEN}"}
    assert slack.methods() == [
        "users.lookupByEmail",
        "chat.postMessage",
        "users.lookupByEmail",
        "chat.postMessage",
        "chat.postMessage",
    ]
    assert slack.calls[0].body == {"email": "ada@acme.test"}
    assert slack.calls[0].content_type.startswith("application/x-www-form-urlencoded")
    dm, reminder_dm, channel_post = slack.posts()
    assert dm["channel"] == "U0ADA"
    assert links.checkin_url(checkin) in dm["text"]
    assert reminder_dm["channel"] == "U0LEAD"
    assert links.checkin_url(reminder_checkin) in reminder_dm["text"]
    assert channel_post["channel"] == ALERTS
    assert "Milestone M1 is blocked." in channel_post["text"]
    # No check-in link in any channel: only user ids receive one.
    for body in slack.posts():
        if not body["channel"].startswith("U"):
            assert "/c/" not in body["text"]
    assert set(SlackMember.objects.values_list("person__email", "slack_user_id")) == {
        ("ada@acme.test", "U0ADA"),
        ("lead@acme.test", "U0LEAD"),
    }


@pytest.mark.django_db
def test_the_slack_user_id_is_cached_until_the_email_changes(
    slack_org: Organization, slack: FakeSlack, ada: Person
) -> None:
    deliver([checkin_row(ada)[1]])
    deliver([checkin_row(ada)[1]])
    assert slack.methods() == ["users.lookupByEmail", "chat.postMessage", "chat.postMessage"]

    ada.email = "ada.lovelace@acme.test"
    ada.save()
    slack.users["ada.lovelace@acme.test"] = "U0ADA2"
    deliver([checkin_row(ada)[1]])

    assert slack.calls[-2].method == "users.lookupByEmail"
    assert slack.calls[-2].body == {"email": "ada.lovelace@acme.test"}
    assert slack.posts()[-1]["channel"] == "U0ADA2"
    member = SlackMember.objects.get(person=ada)
    assert (member.email, member.slack_user_id) == ("ada.lovelace@acme.test", "U0ADA2")


@pytest.mark.django_db
def test_a_cached_id_slack_no_longer_knows_is_looked_up_again(
    slack_org: Organization, slack: FakeSlack, ada: Person
) -> None:
    SlackMember.objects.create(
        organization=slack_org,
        person=ada,
        email=ada.email,
        slack_user_id="U0GONE",
        looked_up_at=AT,
    )
    row = checkin_row(ada)[1]

    deliver([row])

    assert fresh(row).status == "sent"
    assert slack.methods() == ["chat.postMessage", "users.lookupByEmail", "chat.postMessage"]
    assert slack.calls[0].answer["error"] == "channel_not_found"
    assert slack.posts()[0]["channel"] == "U0ADA"
    assert SlackMember.objects.get(person=ada).slack_user_id == "U0ADA"


@pytest.mark.django_db
def test_the_same_alert_for_several_leaders_is_posted_once_in_the_channel(
    slack_org: Organization, slack: FakeSlack, ada: Person, lead: Person
) -> None:
    rows = [alert_row(ada, text="Readiness fell."), alert_row(lead, text="Readiness fell.")]

    deliver(rows)

    assert [fresh(row).status for row in rows] == ["sent", "sent"]
    assert [body["channel"] for body in slack.posts()] == [ALERTS]


@pytest.mark.django_db
def test_without_an_alert_channel_alerts_go_to_the_slack_incoming_webhook_or_privately(
    slack_org: Organization, slack: FakeSlack, ada: Person
) -> None:
    CheckinSettings.objects.filter(organization=slack_org).update(slack_alert_channel="")
    direct = alert_row(ada, text="Only for you.")
    deliver([direct])
    assert slack.posts()[0]["channel"] == "U0ADA"
    assert "Only for you." in slack.posts()[0]["text"]

    with FakeWebhook() as webhook:
        CheckinSettings.objects.filter(organization=slack_org).update(webhook_url=webhook.url)
        checkin, dm = checkin_row(ada)
        posted = alert_row(ada, text="For the channel.")
        deliver([dm, posted])
        bodies = webhook.delivered()

    assert [fresh(row).status for row in (direct, dm, posted)] == ["sent"] * 3
    assert bodies == [{"text": "Blocked milestone\n\nFor the channel.\n"}]
    assert slack.posts()[-1]["channel"] == "U0ADA"
    assert links.checkin_url(checkin) in slack.posts()[-1]["text"]


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["429", "error:ratelimited"])
def test_a_rate_limit_is_retried_later_and_the_rest_of_the_batch_waits(
    slack_org: Organization, slack: FakeSlack, ada: Person, lead: Person, answer: str
) -> None:
    slack.script([answer])
    first, second = checkin_row(ada)[1], checkin_row(lead)[1]

    outcome = deliver([first, second])

    assert outcome["retried"] == 2
    first_now, second_now = fresh(first), fresh(second)
    assert (first_now.status, second_now.status) == ("pending", "pending")
    assert "ratelimited" in first_now.last_error or "429" in first_now.last_error
    assert second_now.last_error.startswith("not attempted")
    if answer == "429":
        # Slack's Retry-After (120 s) beats the outbox's first backoff (60 s).
        assert first_now.next_attempt_at == AT + dt.timedelta(seconds=120)
    assert slack.methods() == ["users.lookupByEmail"]

    deliver([first, second], at=AT + dt.timedelta(seconds=120))

    assert (fresh(first).status, fresh(second).status) == ("sent", "sent")


@pytest.mark.django_db
def test_slack_5xx_and_an_unreachable_api_are_retried_until_the_last_attempt(
    slack_org: Organization, slack: FakeSlack, ada: Person
) -> None:
    row = checkin_row(ada)[1]
    slack.script(["503"])
    deliver([row])
    assert (fresh(row).status, fresh(row).attempts) == ("pending", 1)
    assert "Slack answered 503" in fresh(row).last_error

    slack.stop()
    later = AT + dt.timedelta(hours=1)
    deliver([row], at=later)
    assert fresh(row).status == "pending"
    assert "Slack unreachable" in fresh(row).last_error
    deliver([row], at=later + dt.timedelta(hours=1))

    failed = fresh(row)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error.startswith("gave up after 3 attempts: Slack unreachable")


@pytest.mark.django_db
def test_a_person_slack_does_not_know_gets_nothing_and_the_row_fails_visibly(
    slack_org: Organization, slack: FakeSlack, ada: Person
) -> None:
    stranger: Any = PersonFactory(organization=slack_org, email="new@acme.test", name="New")
    row = checkin_row(stranger)[1]

    outcome = deliver([row])

    assert outcome["failed"] == 1
    failed = fresh(row)
    assert failed.status == "failed"
    assert "users_not_found" in failed.last_error
    assert "new@acme.test has no Slack account" in failed.last_error
    assert slack.methods() == ["users.lookupByEmail"]
    assert slack.posts() == []
    assert not SlackMember.objects.filter(person=stranger).exists()


@pytest.mark.django_db
def test_a_bad_token_fails_the_batch_at_once_and_shows_in_the_outbox_api(
    slack_org: Organization, slack: FakeSlack, ada: Person, lead: Person
) -> None:
    CheckinSettings.objects.filter(organization=slack_org).update(slack_bot_token="xoxb-wrong")
    rows = [checkin_row(ada)[1], alert_row(lead)]

    outcome = deliver(rows)

    assert outcome["failed"] == 2
    assert slack.methods() == ["users.lookupByEmail"]
    user: Any = UserFactory(username="slack-admin")
    OrganizationRoleFactory(organization=slack_org, user=user, role=Role.ADMIN)
    client = APIClient()
    client.force_login(user)
    response = client.get("/api/v1/orgs/acme/deliveries/?status=failed")
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["results"]}
    assert set(items) == {row.pk for row in rows}
    assert items[rows[0].pk]["channel"] == "slack"
    assert "invalid_auth" in items[rows[0].pk]["last_error"]
    assert "not valid" in items[rows[0].pk]["last_error"]
    assert items[rows[1].pk]["last_error"].startswith("not attempted: Slack users.lookupByEmail")


@pytest.mark.django_db
def test_an_alert_channel_the_app_is_not_in_fails_with_the_reason(
    slack_org: Organization, slack: FakeSlack, lead: Person
) -> None:
    slack.script(["error:not_in_channel"])
    row = alert_row(lead)

    deliver([row])

    failed = fresh(row)
    assert failed.status == "failed"
    assert "not_in_channel" in failed.last_error
    assert "invite it" in failed.last_error


@pytest.mark.django_db
def test_the_slack_channel_without_a_token_fails_every_row(
    organization: Organization, slack: FakeSlack, ada: Person
) -> None:
    CheckinSettingsFactory(organization=organization, channel="slack")
    row = checkin_row(ada)[1]

    deliver([row])

    assert fresh(row).status == "failed"
    assert "no slack_bot_token" in fresh(row).last_error
    assert slack.calls == []


# --- settings ------------------------------------------------------------------------------------


SETTINGS_URL = "/api/v1/orgs/acme/checkin-settings/"


@pytest.mark.django_db
def test_the_bot_token_is_stored_but_never_shown_back(organization: Organization) -> None:
    admin = role_client(organization, Role.ADMIN)

    response = admin.patch(
        SETTINGS_URL,
        {"channel": "slack", "slack_bot_token": TOKEN, "slack_alert_channel": ALERTS},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert TOKEN not in response.content.decode()
    assert response.json()["slack_bot_token"] == "********"
    assert response.json()["slack_alert_channel"] == ALERTS
    stored = CheckinSettings.objects.get(organization=organization)
    assert (stored.channel, stored.slack_bot_token) == ("slack", TOKEN)
    for role in (Role.ADMIN, Role.LEADER):
        read = role_client(organization, role).get(SETTINGS_URL)
        assert read.status_code == 200
        assert TOKEN not in read.content.decode()
        assert read.json()["slack_bot_token"] == "********"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "slack"}, "slack_bot_token"),
        ({"slack_alert_channel": "#general"}, "slack_alert_channel"),
    ],
)
def test_slack_settings_are_checked(
    organization: Organization, changes: dict[str, str], field: str
) -> None:
    response = role_client(organization, Role.ADMIN).patch(SETTINGS_URL, changes, format="json")

    assert response.status_code == 400
    assert field in json.dumps(response.json())
    assert not CheckinSettings.objects.filter(organization=organization, channel="slack").exists()


@pytest.mark.django_db
def test_the_audit_trail_shows_that_the_token_changed_never_its_value(
    organization: Organization,
) -> None:
    admin = role_client(organization, Role.ADMIN)
    changed = admin.patch(
        SETTINGS_URL, {"channel": "slack", "slack_bot_token": TOKEN}, format="json"
    )
    assert changed.status_code == 200, changed.content

    response = admin.get("/api/v1/orgs/acme/audit/")

    assert response.status_code == 200, response.content
    assert TOKEN not in response.content.decode()
    entry = next(e for e in response.json()["results"] if e["object_type"] == "checkin_settings")
    (token_change,) = [c for c in entry["changes"] if c["field"] == "slack_bot_token"]
    assert token_change["after"] == "(hidden)"


@pytest.mark.django_db
def test_erasing_a_person_forgets_their_slack_id(
    slack_org: Organization, slack: FakeSlack, ada: Person
) -> None:
    from teams.erasure import person_erase

    deliver([checkin_row(ada)[1]])
    assert SlackMember.objects.get(person=ada).email == "ada@acme.test"

    erasure = person_erase(person=ada)

    assert not SlackMember.objects.filter(person=ada).exists()
    assert not SlackMember.objects.filter(email__iexact="ada@acme.test").exists()
    assert erasure.rewritten["transform.SlackMember"] == 1
