"""Sending the outbox (transform/outbox/): claims, batches, retries, rendering, the schedule,
``run_checkins`` and the deliveries API, against a real database and local fake SMTP and webhook
servers (tests/transform/fakes.py). The real-worker tests are in test_delivery_worker.py."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from io import StringIO
from itertools import count
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core.moments import moment_parse
from teams.models import Organization, Person, Role
from tests.builders import chain_transformation
from tests.factories import (
    CheckInFactory,
    CheckinSettingsFactory,
    DeliveryFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    PersonFactory,
    ResponseFactory,
    SignalEventFactory,
    TeamFactory,
    UserFactory,
)
from tests.transform.fakes import FakeSMTPServer, FakeWebhook
from transform.models import (
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Milestone,
    MilestoneStatus,
)
from transform.outbox.selectors import deliveries_due
from transform.outbox.sending import BatchResult
from transform.outbox.services import deliver_batch, delivery_moment, dispatch_due
from transform.outbox.tasks import deliver_checkins
from transform.rhythm import links
from transform.schedule import JOBS, schedule_ensure

AT = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
_serial = count(1)


# --- builders ----------------------------------------------------------------------------------


def payload_delivery(
    organization: Organization,
    person: Person,
    *,
    kind: str = DeliveryKind.ESCALATION,
    channel: str = "email",
    at: dt.datetime = AT,
    payload: dict[str, Any] | None = None,
    **fields: Any,
) -> Delivery:
    number = next(_serial)
    row: Any = DeliveryFactory(
        organization=organization,
        kind=kind,
        dedupe_key=f"{kind}:test:{number}",
        recipient=person,
        channel=channel,
        payload=payload
        if payload is not None
        else {"subject": f"Alert {number}", "text": f"Something to act on, number {number}."},
        next_attempt_at=at,
        created_at=at,
        **fields,
    )
    return row


def make_checkin(
    organization: Organization,
    person: Person,
    *,
    kind: str = CheckInKind.MILESTONE_STATUS,
    milestone: Milestone | None = None,
    team: Any = None,
    subject: str | None = None,
    at: dt.datetime = AT,
    **fields: Any,
) -> CheckIn:
    number = next(_serial)
    checkin: Any = CheckInFactory(
        organization=organization,
        transformation=milestone.transformation if milestone is not None else None,
        kind=kind,
        recipient=person,
        subject=subject or f"test:{number}",
        period=f"p{number}",
        period_start=at.date(),
        milestone=milestone,
        team=team,
        instruments=[["milestone-status", 1]],
        link_nonce=links.link_nonce_new(),
        created_at=at,
        expires_at=at + dt.timedelta(days=7),
        **fields,
    )
    return checkin


def checkin_delivery(
    checkin: CheckIn, *, kind: str = DeliveryKind.CHECKIN, channel: str = "email"
) -> Delivery:
    row: Any = DeliveryFactory(
        organization=checkin.organization,
        kind=kind,
        dedupe_key=f"{kind}:{checkin.pk}:{next(_serial)}",
        recipient=checkin.recipient,
        checkin=checkin,
        channel=channel,
        payload={},
        next_attempt_at=checkin.created_at,
        created_at=checkin.created_at,
    )
    return row


def statuses(rows: list[Delivery]) -> list[str]:
    return [Delivery.objects.get(pk=row.pk).status for row in rows]


@pytest.fixture
def ada(organization: Organization) -> Person:
    person: Any = PersonFactory(organization=organization, email="ada@acme.test", name="Ada O'Neil")
    return person


@pytest.fixture
def people(organization: Organization) -> list[Person]:
    people: list[Any] = [
        PersonFactory(organization=organization, email=f"p{n}@acme.test", name=f"P{n}")
        for n in range(5)
    ]
    return people


@pytest.fixture
def smtp(smtp: FakeSMTPServer, settings: Any) -> FakeSMTPServer:
    # The shared fake server (tests/transform/worker_fixtures.py), with a short timeout: these
    # tests make the server hang on purpose.
    settings.EMAIL_TIMEOUT = 5
    return smtp


@pytest.fixture
def webhook(organization: Organization) -> Iterator[FakeWebhook]:
    fake = FakeWebhook().start()
    CheckinSettingsFactory(organization=organization, channel="webhook", webhook_url=fake.url)
    yield fake
    fake.stop()


@pytest.fixture
def attempts_3(settings: Any) -> None:
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.DELIVERY_RETRY_SECONDS = 60
    settings.DELIVERY_CLAIM_TIMEOUT_SECONDS = 600


# --- what is due, and claims -------------------------------------------------------------------


@pytest.mark.django_db
def test_due_rows_are_pending_and_due_or_held_by_a_stale_claim(organization, ada, settings):
    settings.DELIVERY_CLAIM_TIMEOUT_SECONDS = 600
    due = payload_delivery(organization, ada)
    later = payload_delivery(organization, ada, at=AT + dt.timedelta(seconds=1))
    stale = payload_delivery(
        organization,
        ada,
        status=DeliveryStatus.SENDING,
        claimed_at=AT - dt.timedelta(seconds=601),
        claimed_by="dead-worker",
    )
    payload_delivery(
        organization,
        ada,
        status=DeliveryStatus.SENDING,
        claimed_at=AT - dt.timedelta(seconds=599),
        claimed_by="live-worker",
    )
    payload_delivery(organization, ada, status=DeliveryStatus.SENT)
    payload_delivery(organization, ada, status=DeliveryStatus.FAILED)

    assert sorted(deliveries_due(at=AT)) == sorted([due.pk, stale.pk])
    assert later.pk in deliveries_due(at=AT + dt.timedelta(seconds=1))


@pytest.mark.django_db
def test_a_batch_sends_every_message_and_records_it_sent(organization, people, mailoutbox):
    rows = [payload_delivery(organization, person) for person in people]

    result = deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="task-1")

    assert result.count("sent") == 5
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.email for p in people)
    stored = list(Delivery.objects.filter(pk__in=[r.pk for r in rows]))
    assert {(d.status, d.attempts, d.sent_at, d.claimed_by) for d in stored} == {
        (DeliveryStatus.SENT, 1, AT, "task-1")
    }
    assert {m.extra_headers["X-Transform-Delivery"] for m in mailoutbox} == {
        str(r.pk) for r in rows
    }


@pytest.mark.django_db
def test_a_second_claimer_of_the_same_rows_sends_nothing(organization, people, mailoutbox):
    ids = [payload_delivery(organization, person).pk for person in people]

    first = deliver_batch(delivery_ids=ids, at=AT, claimed_by="task-1")
    second = deliver_batch(delivery_ids=ids, at=AT, claimed_by="task-2")

    assert (first.count("sent"), second.count("sent"), second.not_claimed) == (5, 0, 5)
    assert len(mailoutbox) == 5


@pytest.mark.django_db
def test_rows_claimed_by_a_live_worker_are_left_to_it_but_its_redelivered_task_takes_them(
    organization, people, mailoutbox
):
    ids = [
        payload_delivery(
            organization,
            person,
            status=DeliveryStatus.SENDING,
            claimed_at=AT - dt.timedelta(seconds=5),
            claimed_by="task-1",
            attempts=1,
        ).pk
        for person in people
    ]

    other = deliver_batch(delivery_ids=ids, at=AT, claimed_by="task-2")
    redelivered = deliver_batch(delivery_ids=ids, at=AT, claimed_by="task-1")

    assert (other.not_claimed, other.count("sent")) == (5, 0)
    assert redelivered.count("sent") == 5
    assert set(Delivery.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {2}
    assert len(mailoutbox) == 5


@pytest.mark.django_db
def test_a_stale_claim_is_taken_over_and_an_interrupted_last_attempt_fails(
    organization, ada, settings, mailoutbox
):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    settings.DELIVERY_CLAIM_TIMEOUT_SECONDS = 60
    old = AT - dt.timedelta(seconds=61)
    resumable = payload_delivery(
        organization, ada, status="sending", claimed_at=old, claimed_by="dead", attempts=1
    )
    exhausted = payload_delivery(
        organization, ada, status="sending", claimed_at=old, claimed_by="dead", attempts=3
    )

    result = deliver_batch(delivery_ids=[resumable.pk, exhausted.pk], at=AT, claimed_by="task-9")

    resumable.refresh_from_db()
    exhausted.refresh_from_db()
    assert (resumable.status, resumable.attempts, resumable.claimed_by) == ("sent", 2, "task-9")
    assert exhausted.status == "failed"
    assert "interrupted" in exhausted.last_error
    assert (result.count("sent"), result.count("failed"), len(mailoutbox)) == (1, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_the_same_rows_send_each_message_once(organization, people):
    ids = [payload_delivery(organization, person).pk for person in people for _ in range(4)]
    barrier = threading.Barrier(2)
    results: dict[str, BatchResult] = {}

    def work(name: str) -> None:
        barrier.wait()
        try:
            results[name] = deliver_batch(delivery_ids=ids, at=AT, claimed_by=name)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert results["w1"].count("sent") + results["w2"].count("sent") == len(ids)
    sent_ids = sorted(int(m.extra_headers["X-Transform-Delivery"]) for m in mail.outbox)
    assert sent_ids == sorted(ids)
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", "attempts")) == {
        ("sent", 1)
    }


class WorkerKilled(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


class DyingBackend(LocmemBackend):
    """Sends like locmem, but the process 'dies' while sending the third message."""

    calls = 0

    def send_messages(self, messages: Any) -> int:
        DyingBackend.calls += 1
        if DyingBackend.calls == 3:
            raise WorkerKilled
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_each_message_is_recorded_as_it_goes_so_a_crash_loses_only_the_one_in_flight(
    organization, people, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.DyingBackend"
    DyingBackend.calls = 0
    rows = [payload_delivery(organization, person) for person in people]

    with pytest.raises(WorkerKilled):
        deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="task-1")

    stored = [Delivery.objects.get(pk=r.pk) for r in rows]
    assert [(d.status, d.attempts) for d in stored] == [
        ("sent", 1),
        ("sent", 1),
        ("sending", 1),  # in flight: it may have gone out, so it waits for the claim timeout
        ("pending", 0),  # never tried: given back at once, the attempt not counted
        ("pending", 0),
    ]
    assert len(mail.outbox) == 2


# --- retries ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
def test_a_failing_server_is_retried_with_doubling_backoff_then_the_message_fails(
    organization, ada, smtp
):
    smtp.set_mode("4xx")
    row = payload_delivery(organization, ada)
    moments = []

    at = AT
    for attempt in range(3):
        result = deliver_batch(delivery_ids=[row.pk], at=at, claimed_by=f"t{attempt}")
        assert result.not_claimed == 0
        row.refresh_from_db()
        moments.append((row.status, row.attempts, row.next_attempt_at - at))
        # Not due again before its backoff is over.
        early = at + dt.timedelta(seconds=30)
        assert deliver_batch(delivery_ids=[row.pk], at=early, claimed_by="early").not_claimed == 1
        at = row.next_attempt_at

    assert moments == [
        ("pending", 1, dt.timedelta(seconds=60)),
        ("pending", 2, dt.timedelta(seconds=120)),
        ("failed", 3, dt.timedelta(0)),  # no next attempt: next_attempt_at stays the last one
    ]
    assert row.last_error.startswith("gave up after 3 attempts: SMTPDataError")
    assert "451" in row.last_error
    assert smtp.received() == []


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
def test_a_5xx_reply_fails_the_message_at_once(organization, ada, smtp):
    smtp.set_mode("5xx")
    row = payload_delivery(organization, ada)

    deliver_batch(delivery_ids=[row.pk], at=AT, claimed_by="t1")

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "554" in row.last_error


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
def test_a_refused_connection_fails_every_message_of_the_batch_for_this_attempt_only(
    organization, people, smtp
):
    smtp.set_mode("refuse")
    rows = [payload_delivery(organization, person) for person in people]
    ids = [r.pk for r in rows]

    result = deliver_batch(delivery_ids=ids, at=AT, claimed_by="t1")

    assert result.count("retried") == 5
    assert {
        (d.status, d.attempts, d.next_attempt_at) for d in Delivery.objects.filter(pk__in=ids)
    } == {("pending", 1, AT + dt.timedelta(seconds=60))}
    assert all("could not connect" in d.last_error for d in Delivery.objects.filter(pk__in=ids))

    smtp.set_mode("accept")
    later = AT + dt.timedelta(seconds=60)
    assert deliver_batch(delivery_ids=ids, at=later, claimed_by="t2").count("sent") == 5
    assert sorted(smtp.delivery_counts().items()) == [(pk, 1) for pk in sorted(ids)]


@pytest.mark.django_db
def test_a_batch_uses_one_smtp_connection_for_all_its_messages(organization, people, smtp):
    ids = [payload_delivery(organization, person).pk for person in people]

    deliver_batch(delivery_ids=ids, at=AT, claimed_by="t1")

    assert len(smtp.received()) == 5
    assert smtp.connections == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
def test_a_server_that_hangs_then_answers_451_delays_only_that_message(
    organization, people, smtp, settings
):
    settings.EMAIL_TIMEOUT = 5
    smtp.hang_on = 2
    smtp.hang_seconds = 0.3
    rows = [payload_delivery(organization, person) for person in people[:3]]

    deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    assert statuses(rows) == ["sent", "pending", "sent"]
    assert "451" in Delivery.objects.get(pk=rows[1].pk).last_error
    assert smtp.connections == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
def test_a_timeout_drops_the_connection_and_the_rest_goes_over_a_new_one(
    organization, people, smtp, settings
):
    settings.EMAIL_TIMEOUT = 0.5
    smtp.hang_on = 2
    smtp.hang_seconds = 3
    rows = [payload_delivery(organization, person) for person in people[:3]]

    deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    assert statuses(rows) == ["sent", "pending", "sent"]
    assert "timed out" in Delivery.objects.get(pk=rows[1].pk).last_error
    assert smtp.connections == 2


# --- webhooks -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_webhook_gets_the_alerts_as_slack_compatible_json_and_never_a_checkin_link(
    organization, people, webhook, mailoutbox
):
    checkin = make_checkin(organization, people[0])
    rows = [checkin_delivery(checkin, channel="webhook")] + [
        payload_delivery(organization, person, channel="webhook") for person in people[1:3]
    ]

    deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    bodies = webhook.delivered()
    assert statuses(rows) == ["sent"] * 3
    # The two escalations go to the channel, over one session.
    assert [sorted(body) for body in bodies] == [["recipient", "text"]] * 2
    assert [body["recipient"] for body in bodies] == ["p1@acme.test", "p2@acme.test"]
    assert webhook.connections == 1
    # The check-in's personal link goes to its recipient alone, by e-mail.
    assert all(links.checkin_url(checkin) not in body["text"] for body in bodies)
    assert [m.to for m in mailoutbox] == [["p0@acme.test"]]
    assert links.checkin_url(checkin) in mailoutbox[0].body


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
@pytest.mark.parametrize(
    ("script", "expected", "error"),
    [
        (["5xx", "ok", "ok"], ["pending", "sent", "sent"], "webhook answered 503"),
        (["4xx", "ok", "ok"], ["failed", "sent", "sent"], "webhook answered 404"),
        # After a 429 the rest of the batch waits for the next attempt too.
        (["429", "ok", "ok"], ["pending", "pending", "pending"], "webhook answered 429"),
    ],
)
def test_webhook_replies_decide_between_retry_and_failure(
    organization, people, webhook, script, expected, error
):
    webhook.script(script)
    rows = [payload_delivery(organization, person, channel="webhook") for person in people[:3]]

    deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    assert statuses(rows) == expected
    assert Delivery.objects.get(pk=rows[0].pk).last_error.startswith(error)


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
def test_a_hanging_webhook_times_out_and_the_batch_waits_for_the_next_attempt(
    organization, people, webhook, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    webhook.hang_seconds = 1
    webhook.script(["hang"])
    rows = [payload_delivery(organization, person, channel="webhook") for person in people[:3]]

    deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    assert statuses(rows) == ["pending"] * 3
    assert "Timeout" in Delivery.objects.get(pk=rows[0].pk).last_error
    assert Delivery.objects.get(pk=rows[2].pk).last_error.startswith("not attempted")

    webhook.set_mode("ok")
    later = AT + dt.timedelta(seconds=60)
    deliver_batch(delivery_ids=[r.pk for r in rows], at=later, claimed_by="t2")
    assert statuses(rows) == ["sent"] * 3


@pytest.mark.django_db
@pytest.mark.usefixtures("attempts_3")
def test_an_unreachable_webhook_is_retried_and_a_missing_url_fails(organization, people, webhook):
    webhook.set_mode("refuse")
    row = payload_delivery(organization, people[0], channel="webhook")

    deliver_batch(delivery_ids=[row.pk], at=AT, claimed_by="t1")
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "unreachable" in row.last_error

    CheckinSettings.objects.filter(organization=organization).update(webhook_url="")
    deliver_batch(delivery_ids=[row.pk], at=row.next_attempt_at, claimed_by="t2")
    row.refresh_from_db()
    assert row.status == "failed"
    assert "no webhook_url" in row.last_error


# --- rendering ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_status_checkin_names_the_milestone_greets_by_name_and_carries_the_link(
    organization, ada, mailoutbox
):
    transformation = chain_transformation(organization, count=1, owner=ada.email)
    milestone = transformation.milestones.get()
    previous = make_checkin(organization, ada, milestone=milestone, answered_at=AT)
    ResponseFactory(
        organization=organization,
        kind="milestone_status",
        period_start=AT.date(),
        submitted_on=AT.date(),
        answers={"milestone-status": {"note": "SECRET NOTE"}},
        checkin=previous,
    )
    checkin = make_checkin(organization, ada, milestone=milestone)
    row = checkin_delivery(checkin)

    deliver_batch(delivery_ids=[row.pk], at=AT, claimed_by="t1")

    (message,) = mailoutbox
    assert message.subject == f'Status check-in: how is "{milestone.title}" going?'
    assert message.body.startswith("Hello Ada O'Neil,")
    assert links.checkin_url(checkin) in message.body
    assert "expires on Monday 11 January 2027 at 09:00 (UTC)" in message.body
    assert "anonymous" not in message.body
    assert "SECRET NOTE" not in message.body


@pytest.mark.django_db
def test_survey_messages_name_the_team_or_event_and_explain_anonymity(
    organization, ada, mailoutbox
):
    team: Any = TeamFactory(organization=organization, name="Payments")
    event: Any = SignalEventFactory(
        organization=organization, kind="first_deploy", external_id="d1", team=team, occurred_at=AT
    )
    pulse = make_checkin(organization, ada, kind=CheckInKind.PULSE_SURVEY, team=team)
    survey = make_checkin(
        organization, ada, kind=CheckInKind.EVENT_SURVEY, team=team, subject=f"event:{event.pk}"
    )
    topology = make_checkin(organization, ada, kind=CheckInKind.TOPOLOGY_VERIFICATION, team=team)
    rows = [
        checkin_delivery(pulse),
        checkin_delivery(survey),
        checkin_delivery(topology, kind=DeliveryKind.REMINDER),
    ]

    deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    by_subject = {m.subject: m.body for m in mailoutbox}
    assert set(by_subject) == {
        "Pulse survey for Payments: how does the change feel?",
        "How did your team's first deploy on the platform go? (Payments)",
        "Reminder: Please confirm the members and interactions of Payments",
    }
    pulse_body = by_subject["Pulse survey for Payments: how does the change feel?"]
    assert "Your answers are anonymous" in pulse_body
    assert "at least 5 people" in pulse_body
    assert links.checkin_url(pulse) in pulse_body
    topology_body = by_subject["Reminder: Please confirm the members and interactions of Payments"]
    assert "anonymous" not in topology_body
    assert "A reminder" in topology_body


@pytest.mark.django_db
def test_a_checkin_answered_or_expired_before_its_message_goes_out_is_skipped(
    organization, ada, mailoutbox
):
    answered = make_checkin(organization, ada, answered_at=AT - dt.timedelta(hours=1))
    expired = make_checkin(organization, ada, at=AT - dt.timedelta(days=8))
    rows = [
        checkin_delivery(answered, kind=DeliveryKind.REMINDER),
        checkin_delivery(expired),
    ]

    result = deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    assert mailoutbox == []
    assert result.skipped == {"reminder": 1, "checkin": 1}
    stored = [Delivery.objects.get(pk=r.pk) for r in rows]
    assert [d.status for d in stored] == ["failed", "failed"]
    assert stored[0].last_error == "skipped: the check-in was already answered"
    assert stored[1].last_error.startswith("skipped: the check-in's link expired on")


@pytest.mark.django_db
def test_messages_queued_for_someone_who_has_left_since_are_skipped(
    organization, ada, people, mailoutbox
):
    rows = [
        checkin_delivery(make_checkin(organization, ada)),
        payload_delivery(organization, ada, kind=DeliveryKind.DIGEST),
        payload_delivery(organization, people[0]),
    ]
    Person.objects.filter(pk=ada.pk).update(left_on=dt.date(2027, 1, 3))

    result = deliver_batch(delivery_ids=[r.pk for r in rows], at=AT, claimed_by="t1")

    assert [message.to for message in mailoutbox] == [["p0@acme.test"]]
    assert result.skipped == {"checkin": 1, "digest": 1}
    assert result.sent == {"escalation": 1}
    stored = [Delivery.objects.get(pk=r.pk) for r in rows]
    assert [d.status for d in stored] == ["failed", "failed", "sent"]
    assert stored[0].last_error == "skipped: the recipient left the organisation on 2027-01-03"
    assert stored[1].last_error == stored[0].last_error


@pytest.mark.django_db
def test_an_escalation_that_names_no_milestone_fails_at_once(organization, ada, mailoutbox):
    row = payload_delivery(organization, ada, payload={"subject": "No text"})

    deliver_batch(delivery_ids=[row.pk], at=AT, claimed_by="t1")

    row.refresh_from_db()
    assert (row.status, row.last_error) == (
        "failed",
        "cannot render the message: the payload lacks 'milestone'",
    )
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_rendering_bug_counts_as_a_failed_attempt_not_an_endless_loop(
    organization, ada, monkeypatch, mailoutbox
):
    from transform.outbox import messages

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(messages, "checkin_message", broken)
    row = checkin_delivery(make_checkin(organization, ada))

    deliver_batch(delivery_ids=[row.pk], at=AT, claimed_by="t1")

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "cannot render the message: RuntimeError: template exploded"
    assert mailoutbox == []


# --- dispatching and tasks --------------------------------------------------------------------


@pytest.mark.django_db
def test_dispatch_reserves_rows_per_organisation_in_batches_and_a_second_dispatch_finds_none(
    organization, people, settings, django_capture_on_commit_callbacks, mailoutbox, monkeypatch
):
    settings.DELIVERY_BATCH_SIZE = 2
    other_org: Any = OrganizationFactory(slug="globex", name="Globex")
    outsider: Any = PersonFactory(organization=other_org, email="x@globex.test", name="X")
    acme_ids = [payload_delivery(organization, person).pk for person in people]
    globex_ids = [payload_delivery(other_org, outsider).pk for _ in range(2)]
    calls: list[tuple[list[int], str, str]] = []

    def enqueue(*, kwargs: dict[str, Any], task_id: str) -> None:
        calls.append((kwargs["delivery_ids"], kwargs["at"], task_id))

    monkeypatch.setattr(deliver_checkins, "apply_async", enqueue)
    with django_capture_on_commit_callbacks(execute=True):
        handed = dispatch_due(at=AT)
        again = dispatch_due(at=AT)

    assert (handed, again) == (7, 0)
    batches = sorted(sorted(ids) for ids, _at, _task in calls)
    assert batches == sorted(
        [sorted(acme_ids[0:2]), sorted(acme_ids[2:4]), acme_ids[4:5], sorted(globex_ids)]
    )
    assert {at for _ids, at, _task in calls} == {AT.isoformat()}
    for ids, _at, task_id in calls:
        assert set(Delivery.objects.filter(pk__in=ids).values_list("status", "claimed_by")) == {
            ("sending", task_id)
        }
        assert set(Delivery.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {0}
    # Only the task a batch was reserved for sends it.
    ids, _at, task_id = calls[0]
    assert deliver_batch(delivery_ids=ids, at=AT, claimed_by="someone-else").not_claimed == len(ids)
    assert deliver_batch(delivery_ids=ids, at=AT, claimed_by=task_id).count("sent") == len(ids)


@pytest.mark.django_db
def test_the_deliver_task_claims_in_its_own_name(organization, people, mailoutbox):
    from transform.outbox.tasks import deliver_checkins

    ids = [payload_delivery(organization, person).pk for person in people[:2]]

    outcome = deliver_checkins.apply(
        kwargs={"delivery_ids": ids, "at": AT.isoformat()}, task_id="task-abc"
    ).get()

    assert outcome["sent"] == 2
    assert set(Delivery.objects.filter(pk__in=ids).values_list("claimed_by", flat=True)) == {
        "task-abc"
    }


def test_moments_are_iso_naive_ones_in_the_time_zone_and_never_in_the_past(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert moment_parse("2027-01-04T09:00", naive="local") == dt.datetime(
        2027, 1, 4, 8, 0, tzinfo=dt.UTC
    )
    assert moment_parse("2027-01-04T09:00:00+00:00", naive="local") == AT
    with pytest.raises(ValueError, match="Invalid isoformat"):
        moment_parse("next monday", naive="local")
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert delivery_moment(past) > past
    assert delivery_moment(AT) == AT


# --- the schedule ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_migrate_creates_the_periodic_jobs(settings):
    from django.core.management.sql import emit_post_migrate_signal

    PeriodicTask.objects.all().delete()

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    jobs = {job.task: job for job in PeriodicTask.objects.select_related("crontab", "interval")}
    assert set(jobs) == {
        "transform.plan_checkins",
        "transform.dispatch_deliveries",
        "transform.compute_readiness",
        "transform.prune_webhook_deliveries",
    }
    plan, dispatch, readiness = (
        jobs["transform.plan_checkins"],
        jobs["transform.dispatch_deliveries"],
        jobs["transform.compute_readiness"],
    )
    assert (plan.crontab.minute, plan.crontab.hour) == ("5", "*")
    assert (dispatch.interval.every, dispatch.interval.period) == (1, IntervalSchedule.MINUTES)
    assert (readiness.crontab.minute, readiness.crontab.hour) == ("30", "2")
    assert str(readiness.crontab.timezone) == settings.CELERY_TIMEZONE
    assert all(job.enabled for job in jobs.values())


@pytest.mark.django_db
def test_setup_schedule_keeps_what_operators_changed_and_restores_only_missing_jobs():
    schedule_ensure()
    every_five, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.filter(task="transform.dispatch_deliveries").update(interval=every_five)
    PeriodicTask.objects.filter(task="transform.plan_checkins").update(enabled=False)
    PeriodicTask.objects.filter(task="transform.compute_readiness").delete()
    out = StringIO()

    call_command("setup_schedule", stdout=out)
    call_command("setup_schedule", stdout=StringIO())

    assert PeriodicTask.objects.filter(name__in=[job.name for job in JOBS]).count() == len(JOBS)
    assert PeriodicTask.objects.get(task="transform.dispatch_deliveries").interval == every_five
    assert PeriodicTask.objects.get(task="transform.plan_checkins").enabled is False
    assert PeriodicTask.objects.get(task="transform.compute_readiness").crontab.hour == "2"
    assert "transform: compute readiness (transform.compute_readiness): created" in out.getvalue()
    assert "transform: plan check-ins (transform.plan_checkins): already present" in out.getvalue()
    assert CrontabSchedule.objects.filter(minute="30", hour="2").count() == 1


# --- run_checkins -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_run_checkins_plans_then_sends_each_due_message_once(organization, ada, mailoutbox):
    transformation = chain_transformation(organization, count=2, owner=ada.email)
    Milestone.objects.filter(transformation=transformation, key="step-0").update(
        status=MilestoneStatus.IN_PROGRESS
    )
    escalation = payload_delivery(organization, ada)
    out = StringIO()

    call_command("run_checkins", "--at", "2027-01-05T09:00:00+00:00", stdout=out)
    call_command("run_checkins", "--at", "2027-01-05T09:00:00+00:00", stdout=StringIO())

    subjects = sorted(m.subject for m in mailoutbox)
    assert subjects == sorted(
        [
            'Status check-in: how is "Step 0" going?',
            "Alert " + escalation.dedupe_key.rsplit(":", 1)[1],
        ]
    )
    checkin = CheckIn.objects.get(kind=CheckInKind.MILESTONE_STATUS)
    status_mail = next(m for m in mailoutbox if m.subject.startswith("Status"))
    assert links.checkin_url(checkin) in status_mail.body
    text = out.getvalue()
    assert "status_checkins: 1" in text
    assert "Delivered at 2027-01-05T09:00:00+00:00: 2 sent, 0 retried, 0 failed, 0 skipped" in text
    assert "checkin: 1 sent" in text
    assert "escalation: 1 sent" in text


@pytest.mark.django_db
def test_run_checkins_reads_a_naive_moment_in_the_time_zone(settings, monkeypatch):
    from transform.checkins.planning import PlanSummary
    from transform.management.commands import run_checkins

    settings.TIME_ZONE = "Europe/Berlin"
    seen: list[dt.datetime] = []

    def fake_plan(*, at: dt.datetime) -> PlanSummary:
        seen.append(at)
        return PlanSummary()

    monkeypatch.setattr(run_checkins, "checkins_plan", fake_plan)

    call_command("run_checkins", "--at", "2027-01-04T10:00", stdout=StringIO())

    assert seen == [dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)]


@pytest.mark.django_db
def test_run_checkins_with_enqueue_hands_messages_to_the_workers(
    organization, ada, monkeypatch, django_capture_on_commit_callbacks
):
    handed: list[list[int]] = []
    monkeypatch.setattr(
        deliver_checkins,
        "apply_async",
        lambda *, kwargs, task_id: handed.append(kwargs["delivery_ids"]),
    )
    row = payload_delivery(organization, ada)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_checkins", "--at", AT.isoformat(), "--enqueue", stdout=out)

    assert handed == [[row.pk]]
    assert f"Handed 1 message(s) to the workers at {AT.isoformat()}." in out.getvalue()


@pytest.mark.django_db
def test_run_checkins_rejects_a_moment_that_is_not_iso_8601():
    with pytest.raises(CommandError, match="--at must be an ISO 8601 date-time such as"):
        call_command("run_checkins", "--at", "monday 9am")


# --- the deliveries API -------------------------------------------------------------------------


def _login(organization: Organization, role: str) -> Any:
    from rest_framework.test import APIClient

    user: Any = UserFactory(username=f"{role}-user")
    OrganizationRoleFactory(organization=organization, user=user, role=role)
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admins_and_change_agents_read_the_outbox_without_links(organization, ada):
    checkin = make_checkin(organization, ada)
    row = checkin_delivery(checkin)
    Delivery.objects.filter(pk=row.pk).update(
        status="failed", attempts=5, last_error="gave up after 5 attempts: refused"
    )

    for role in (Role.ADMIN, Role.CHANGE_AGENT):
        response = _login(organization, role).get("/api/v1/orgs/acme/deliveries/")
        assert response.status_code == 200, response.content
        (item,) = response.json()["results"]
        assert item == {
            "id": row.pk,
            "kind": "checkin",
            "status": "failed",
            "channel": "email",
            "recipient": "ada@acme.test",
            "recipient_name": "Ada O'Neil",
            "checkin": checkin.pk,
            "attempts": 5,
            "last_error": "gave up after 5 attempts: refused",
            "next_attempt_at": "2027-01-04T09:00:00Z",
            "created_at": "2027-01-04T09:00:00Z",
            "sent_at": None,
        }
        assert links.checkin_token(checkin) not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ENGINEERING_MANAGER, 403), (Role.LEADER, 403), (Role.MEMBER, 403), (None, 404)],
)
def test_other_roles_may_not_read_the_outbox(organization, role, status):
    if role is None:
        other: Any = OrganizationFactory(slug="globex", name="Globex")
        client = _login(other, Role.ADMIN)
    else:
        client = _login(organization, role)

    response = client.get("/api/v1/orgs/acme/deliveries/")

    assert response.status_code == status
    assert set(response.json()) == {"message", "extra"}


@pytest.mark.django_db
def test_the_outbox_filters_by_status_and_kind_and_rejects_unknown_values(organization, ada):
    failed = payload_delivery(organization, ada, status="failed")
    payload_delivery(organization, ada, status="sent")
    digest = payload_delivery(organization, ada, kind=DeliveryKind.DIGEST)
    client = _login(organization, Role.ADMIN)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/orgs/acme/deliveries/?{query}")
        assert response.status_code == 200
        return [item["id"] for item in response.json()["results"]]

    assert ids("status=failed") == [failed.pk]
    assert ids("kind=digest") == [digest.pk]
    assert ids("status=pending&kind=digest") == [digest.pk]
    assert ids("status=sent&kind=digest") == []
    response = client.get("/api/v1/orgs/acme/deliveries/?status=lost")
    assert response.status_code == 400
    assert "status" in response.json()["extra"]["fields"]


@pytest.mark.django_db
def test_the_outbox_runs_the_same_queries_for_3_rows_as_for_30(
    organization, django_assert_num_queries
):
    client = _login(organization, Role.CHANGE_AGENT)
    recipients: list[Any] = [
        PersonFactory(organization=organization, email=f"r{n}@acme.test", name=f"R{n}")
        for n in range(30)
    ]
    for person in recipients[:3]:
        payload_delivery(organization, person)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/orgs/acme/deliveries/").json()["count"] == 3
    for person in recipients[3:]:
        payload_delivery(organization, person)

    with django_assert_num_queries(len(few)):
        response = client.get("/api/v1/orgs/acme/deliveries/")
    assert response.json()["count"] == 30
