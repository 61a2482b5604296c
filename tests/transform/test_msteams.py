"""Microsoft Teams (transform/outbox/msteams.py): alerts and digests as Adaptive Cards to an
incoming webhook, check-ins by e-mail, never in the channel; retries and visible failures. Sent
through the real ``deliver_checkins`` task code against a local fake webhook
(tests/transform/fakes.py) and Django's test mail outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from django.core import mail

from teams.models import Organization, Person, Role
from tests.builders import role_client
from tests.factories import (
    CheckInFactory,
    CheckinSettingsFactory,
    DeliveryFactory,
    PersonFactory,
)
from tests.transform.fakes import FakeWebhook
from transform.models import CheckIn, CheckInKind, CheckinSettings, Delivery, DeliveryKind
from transform.outbox.msteams import ADAPTIVE_CARD
from transform.outbox.tasks import deliver_checkins
from transform.rhythm import links

AT = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
_serial = count(1)


@pytest.fixture
def teams_hook(organization: Organization, settings: Any) -> Iterator[FakeWebhook]:
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.DELIVERY_RETRY_SECONDS = 60
    fake = FakeWebhook().start()
    CheckinSettingsFactory(
        organization=organization, channel="msteams", msteams_webhook_url=fake.url
    )
    yield fake
    fake.stop()


@pytest.fixture
def lead(organization: Organization) -> Person:
    person: Any = PersonFactory(organization=organization, email="lead@acme.test", name="Lee")
    return person


def alert_row(
    person: Person, *, text: str = "Readiness of Payments fell by 12 points."
) -> Delivery:
    number = next(_serial)
    row: Any = DeliveryFactory(
        organization=person.organization,
        kind=DeliveryKind.READINESS_DROP,
        dedupe_key=f"readiness_drop:teams:{number}",
        recipient=person,
        channel="msteams",
        payload={"subject": "Readiness dropped", "text": text},
        next_attempt_at=AT,
        created_at=AT,
    )
    return row


def checkin_row(person: Person) -> tuple[CheckIn, Delivery]:
    number = next(_serial)
    checkin: Any = CheckInFactory(
        organization=person.organization,
        kind=CheckInKind.PULSE_SURVEY,
        recipient=person,
        subject=f"teams:{number}",
        period=f"p{number}",
        period_start=AT.date(),
        instruments=[["westrum", 1]],
        link_nonce=links.link_nonce_new(),
        created_at=AT,
        expires_at=AT + dt.timedelta(days=7),
    )
    row: Any = DeliveryFactory(
        organization=person.organization,
        kind=DeliveryKind.CHECKIN,
        dedupe_key=f"checkin:{checkin.pk}:{number}",
        recipient=person,
        checkin=checkin,
        channel="msteams",
        payload={},
        next_attempt_at=AT,
        created_at=AT,
    )
    return checkin, row


def deliver(rows: list[Delivery], *, at: dt.datetime = AT) -> dict[str, Any]:
    outcome: dict[str, Any] = deliver_checkins.apply(
        kwargs={"delivery_ids": [row.pk for row in rows], "at": at.isoformat()},
        task_id=f"teams-task-{next(_serial)}",
    ).get()
    return outcome


def fresh(row: Delivery) -> Delivery:
    return Delivery.objects.get(pk=row.pk)


@pytest.mark.django_db
def test_an_alert_is_posted_as_an_adaptive_card_and_a_checkin_goes_by_email(
    teams_hook: FakeWebhook, lead: Person, mailoutbox: list[Any]
) -> None:
    checkin, dm = checkin_row(lead)
    alert = alert_row(lead)

    outcome = deliver([dm, alert])

    assert outcome["sent"] == 2
    assert (fresh(dm).status, fresh(alert).status) == ("sent", "sent")
    (body,) = teams_hook.delivered()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert [block["text"] for block in card["body"]] == [
        "Readiness dropped",
        "Readiness of Payments fell by 12 points.",
    ]
    assert all(block["type"] == "TextBlock" and block["wrap"] for block in card["body"])
    # The check-in's link went to the person by e-mail, never to the channel.
    assert "/c/" not in str(body)
    (email,) = mail.outbox
    assert email.to == ["lead@acme.test"]
    assert links.checkin_url(checkin) in email.body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("script", "expected", "error"),
    [
        (["5xx", "ok"], ["pending", "sent"], "Microsoft Teams answered 503"),
        (["4xx", "ok"], ["failed", "sent"], "Microsoft Teams answered 404"),
        (["429", "ok"], ["pending", "pending"], "Microsoft Teams asked to slow down (429)"),
    ],
)
def test_teams_answers_decide_between_retry_and_failure(
    teams_hook: FakeWebhook,
    organization: Organization,
    script: list[str],
    expected: list[str],
    error: str,
) -> None:
    teams_hook.script(script)
    people: list[Any] = [
        PersonFactory(organization=organization, email=f"l{n}@acme.test") for n in range(2)
    ]
    rows = [alert_row(person, text=f"Alert {n}") for n, person in enumerate(people)]

    deliver(rows)

    assert [fresh(row).status for row in rows] == expected
    assert fresh(rows[0]).last_error.startswith(error)


@pytest.mark.django_db
def test_a_failed_teams_alert_ends_failed_and_visible_after_its_last_attempt(
    teams_hook: FakeWebhook, lead: Person
) -> None:
    teams_hook.set_mode("5xx")
    row = alert_row(lead)

    for hour in range(3):
        deliver([row], at=AT + dt.timedelta(hours=hour))

    failed = fresh(row)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error.startswith("gave up after 3 attempts: Microsoft Teams answered 503")


@pytest.mark.django_db
def test_without_a_teams_webhook_url_alerts_fail_at_once(
    teams_hook: FakeWebhook, organization: Organization, lead: Person
) -> None:
    CheckinSettings.objects.filter(organization=organization).update(msteams_webhook_url="")
    row = alert_row(lead)

    deliver([row])

    assert fresh(row).status == "failed"
    assert "no msteams_webhook_url" in fresh(row).last_error
    assert teams_hook.requests == []


SETTINGS_URL = "/api/v1/orgs/acme/checkin-settings/"


@pytest.mark.django_db
def test_the_teams_webhook_url_is_required_for_the_channel_and_masked_for_non_admins(
    organization: Organization,
) -> None:
    admin = role_client(organization, Role.ADMIN)
    url = "https://acme.webhook.office.com/webhookb2/secret-part"

    refused = admin.patch(SETTINGS_URL, {"channel": "msteams"}, format="json")
    stored = admin.patch(
        SETTINGS_URL, {"channel": "msteams", "msteams_webhook_url": url}, format="json"
    )

    assert refused.status_code == 400
    assert "msteams_webhook_url" in refused.json()["extra"]["fields"]
    assert stored.status_code == 200, stored.content
    assert stored.json()["msteams_webhook_url"] == url
    leader = role_client(organization, Role.LEADER).get(SETTINGS_URL).json()
    assert leader["msteams_webhook_url"] == "https://acme.webhook.office.com/…"


@pytest.mark.django_db
def test_the_audit_trail_shows_the_teams_webhook_url_masked(organization: Organization) -> None:
    admin = role_client(organization, Role.ADMIN)
    url = "https://acme.webhook.office.com/webhookb2/secret-part"
    changed = admin.patch(
        SETTINGS_URL, {"channel": "msteams", "msteams_webhook_url": url}, format="json"
    )
    assert changed.status_code == 200, changed.content

    response = admin.get("/api/v1/orgs/acme/audit/")

    assert response.status_code == 200, response.content
    assert "secret-part" not in response.content.decode()
    entry = next(e for e in response.json()["results"] if e["object_type"] == "checkin_settings")
    (url_change,) = [c for c in entry["changes"] if c["field"] == "msteams_webhook_url"]
    assert url_change["after"] == "https://acme.webhook.office.com/…"
