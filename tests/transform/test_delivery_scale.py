"""Delivery at scale (issue 14): sent rows recorded in bulk, one SMTP connection per batch with
pipelined commands, the message built without the ``email`` package's folding, and dispatch fanned
out as one task per organisation and per batch; and the sent journal that keeps a crash between
sending and recording from sending messages twice (docs/delivery.md, "At most once, and the one
exception")."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import math
from itertools import count
from typing import Any

import pytest
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from teams.models import Organization
from tests.factories import OrganizationFactory, PersonFactory
from tests.transform.fakes import FakeSMTPServer, wait_until
from tests.transform.worker_fixtures import (
    DEADLINE,
    WorkerProcess,
    all_sent,
    queue_messages,
    states,
    use_shared_cache,
)
from transform.models import Delivery, DeliveryStatus
from transform.outbox import journal, services
from transform.outbox.journal import delivery_mark_every, journal_note
from transform.outbox.sending import Batch, plain_email_bytes
from transform.outbox.services import (
    deliver_batch,
    dispatch_due,
    dispatch_fan_out,
    dispatch_organization_due,
)
from transform.outbox.tasks import dispatch_organization_deliveries

AT = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
_serial = count(1)


def queue(organization: Organization, count_: int, *, at: dt.datetime = AT) -> list[int]:
    batch = next(_serial)
    people: list[Any] = [
        PersonFactory(organization=organization, email=f"s{batch}-{n}@acme.test")
        for n in range(count_)
    ]
    return queue_messages(people, at=at, prefix=f"scale-{batch}")


@pytest.fixture
def organization() -> Organization:
    org: Any = OrganizationFactory(slug="acme", name="Acme")
    return org


def _mark_updates(queries: list[dict[str, Any]]) -> int:
    return sum(
        1
        for query in queries
        if query["sql"].startswith("UPDATE") and "'sent'" in query["sql"].split("WHERE")[0]
    )


# --- sent rows recorded in bulk ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_records_its_sent_rows_in_one_update_whatever_its_size(
    organization, settings, mailoutbox
):
    settings.DELIVERY_BATCH_SIZE = 100
    settings.DELIVERY_MARK_EVERY = 100
    queries = {}
    for rows in (10, 60):
        ids = queue(organization, rows)

        with CaptureQueriesContext(connection) as captured:
            result = deliver_batch(delivery_ids=ids, at=AT, claimed_by=f"task-{rows}")

        assert result.count("sent") == rows
        assert _mark_updates(captured.captured_queries) == 1
        assert Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.SENT).count() == rows
        queries[rows] = len(captured.captured_queries)

    assert len(mailoutbox) == 70
    assert queries[10] == queries[60]  # flat in the batch size


@pytest.mark.django_db
def test_sent_rows_are_recorded_every_mark_every_messages(organization, settings, mailoutbox):
    settings.DELIVERY_MARK_EVERY = 25
    ids = queue(organization, 60)

    with CaptureQueriesContext(connection) as captured:
        deliver_batch(delivery_ids=ids, at=AT, claimed_by="task-1")

    assert _mark_updates(captured.captured_queries) == math.ceil(60 / 25)
    assert Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.SENT).count() == 60


@pytest.mark.django_db
def test_recording_leaves_rows_another_worker_took_over_to_it(organization):
    ids = queue(organization, 3)
    rows = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
    Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.SENDING, claimed_by="old")
    batch = Batch(rows=rows, at=AT, claimed_by="old", mark_every=10)
    for row in rows:
        batch.sent(row)
    # The claim went stale and another worker took the last row over before the batch recorded.
    Delivery.objects.filter(pk=ids[2]).update(claimed_by="new")

    batch.record_sent()

    assert batch.result.count("sent") == 2
    assert sorted(states(ids)) == [("sending", 0), ("sent", 0), ("sent", 0)]


@pytest.mark.django_db
def test_a_batch_stopped_midway_records_what_it_sent_and_gives_back_the_rest(organization):
    ids = queue(organization, 4)
    rows = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
    Delivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.SENDING, claimed_by="t", attempts=1
    )
    batch = Batch(rows=rows, at=AT, claimed_by="t", mark_every=10)
    batch.sent(rows[0])
    batch.in_flight = rows[1].pk

    batch.release_unattempted()

    assert states(ids) == [
        ("sent", 1),  # accepted: recorded, not given back
        ("sending", 1),  # in flight: waits for the claim timeout
        ("pending", 0),  # never tried: given back, the attempt not counted
        ("pending", 0),
    ]


# --- one connection per batch, pipelined ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("pipelining", [True, False])
def test_a_batch_sends_every_message_over_one_connection(organization, smtp, settings, pipelining):
    smtp.pipelining = pipelining
    ids = queue(organization, 30)

    result = deliver_batch(delivery_ids=ids, at=AT, claimed_by="task-1")

    assert result.count("sent") == 30
    assert smtp.connections == 1
    assert smtp.delivery_counts() == {pk: 1 for pk in ids}
    first = min(smtp.received(), key=lambda mail: mail.delivery_id or 0)
    assert first.subject.startswith("Blocked ")
    assert first.body.startswith("Milestone ")


@pytest.mark.django_db
def test_a_refused_message_over_a_pipelined_connection_leaves_it_usable(organization, smtp):
    ids = queue(organization, 3)
    smtp.set_mode("4xx")
    retried = deliver_batch(delivery_ids=ids[:1], at=AT, claimed_by="task-1")
    smtp.set_mode("accept")

    sent = deliver_batch(delivery_ids=ids[1:], at=AT, claimed_by="task-2")

    assert retried.count("retried") == 1
    assert sent.count("sent") == 2
    assert smtp.delivery_counts() == {pk: 1 for pk in ids[1:]}


def test_a_plain_message_is_built_as_django_builds_it(settings):
    message = EmailMessage(
        subject='Status check-in: how is "Map the ticket flows" going? ' + "x" * 60,
        body="Hello Zoë,\n.a line starting with a dot\n\nhttps://t.example/c/abc/\n",
        from_email="transform@localhost",
        to=["zoe@acme.test"],
        headers={"Auto-Submitted": "auto-generated", "X-Transform-Delivery": "17"},
    )

    ours = email.message_from_bytes(plain_email_bytes(message) or b"", policy=email.policy.default)
    built: Any = message.message()  # Django's SafeMIMEText: as_bytes takes linesep
    django = email.message_from_bytes(built.as_bytes(linesep="\r\n"), policy=email.policy.default)

    for header in ("Subject", "From", "To", "Auto-Submitted", "X-Transform-Delivery"):
        assert ours[header] == django[header]
    assert ours.get_content_type() == django.get_content_type() == "text/plain"
    ours_body, django_body = ours.get_body(), django.get_body()
    assert ours_body is not None
    assert django_body is not None
    assert ours_body.get_content() == django_body.get_content()
    assert ours["Content-Transfer-Encoding"] == django["Content-Transfer-Encoding"]


def test_a_message_the_fast_path_does_not_cover_is_left_to_django():
    def build(**fields: Any) -> EmailMessage:
        values = {"subject": "Hi", "body": "text\n", "from_email": "t@x.test", "to": ["a@x.test"]}
        return EmailMessage(**{**values, **fields})

    assert plain_email_bytes(build()) is not None
    assert plain_email_bytes(build(subject="Zoë's team")) is None
    assert plain_email_bytes(build(to=["Zoë <a@x.test>"])) is None
    assert plain_email_bytes(build(to=["a@x.test", "b@x.test"])) is None
    assert plain_email_bytes(build(body="x" * 1000)) is None


# --- fan-out: one task per organisation and per batch ----------------------------------------------


class _Published:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def task(self, name: str) -> Any:
        published = self

        class _Task:
            def apply_async_on_commit(self, *, kwargs: dict[str, Any], **options: Any) -> None:
                published.calls.append((name, kwargs))

        return _Task()

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for task, kwargs in self.calls if task == name]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> _Published:
    fake = _Published()
    monkeypatch.setattr(services, "_task", fake.task)
    return fake


@pytest.mark.django_db
def test_dispatch_fans_out_one_task_per_organisation_and_one_per_batch(published, settings):
    settings.DELIVERY_BATCH_SIZE = 100
    acme: Any = OrganizationFactory(slug="acme")
    globex: Any = OrganizationFactory(slug="globex")
    acme_ids = queue(acme, 250)
    globex_ids = queue(globex, 30)

    assert dispatch_fan_out(at=AT) == 2
    first = dispatch_organization_due(organization_id=acme.pk, at=AT, max_batches=2)
    rest = dispatch_organization_due(organization_id=acme.pk, at=AT, max_batches=2)
    other = dispatch_organization_due(organization_id=globex.pk, at=AT, max_batches=2)

    organizations = published.of(services.DISPATCH_ORGANIZATION_TASK)
    assert sorted(k["organization_id"] for k in organizations) == sorted([acme.pk, globex.pk])
    assert (first.handed, first.more, rest.handed, rest.more) == (200, True, 50, False)
    assert (other.handed, other.more) == (30, False)
    batches = [k["delivery_ids"] for k in published.of(services.DELIVER_TASK)]
    assert [len(ids) for ids in batches] == [100, 100, 50, 30]
    assert sorted(pk for ids in batches[:3] for pk in ids) == sorted(acme_ids)
    assert sorted(batches[3]) == sorted(globex_ids)
    # Everything is reserved: a second dispatch finds nothing to hand out.
    assert dispatch_fan_out(at=AT) == 0
    assert dispatch_due(at=AT) == 0


@pytest.mark.django_db
def test_an_organisation_dispatch_enqueues_itself_again_while_more_is_due(
    published, settings, monkeypatch, organization
):
    settings.DELIVERY_BATCH_SIZE = 10
    monkeypatch.setattr(services, "DISPATCH_BATCHES_PER_TASK", 2)
    queue(organization, 45)
    again: list[dict[str, Any]] = []
    monkeypatch.setattr(
        dispatch_organization_deliveries, "apply_async", lambda kwargs: again.append(kwargs)
    )

    handed = [
        dispatch_organization_deliveries.apply(
            kwargs={"organization_id": organization.pk, "at": AT.isoformat()}
        ).get()
        for _ in range(3)
    ]

    assert handed == [20, 20, 5]
    assert len(again) == 2  # the third run found nothing more
    assert [len(k["delivery_ids"]) for k in published.of(services.DELIVER_TASK)] == [10] * 4 + [5]


# --- the sent journal -------------------------------------------------------------------------------

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


@pytest.fixture
def journal_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's own memory stands in for the shared cache (a test runs in one process)."""
    monkeypatch.setattr(journal, "SHARED_BACKENDS", frozenset({LOCMEM}))


def _redis_down(*args: Any, **kwargs: Any) -> None:
    raise ConnectionError("Redis is down")


def test_mark_every_is_25_with_a_shared_cache_and_1_without_unless_set(settings):
    settings.DELIVERY_MARK_EVERY = "auto"
    settings.CACHES = {"default": {"BACKEND": LOCMEM}}
    assert delivery_mark_every() == 1
    settings.CACHES = {
        "default": {"BACKEND": journal.REDIS_BACKEND, "LOCATION": "redis://127.0.0.1:6379/15"}
    }
    assert delivery_mark_every() == 25
    settings.DELIVERY_MARK_EVERY = 10  # an explicit setting wins
    assert delivery_mark_every() == 10


@pytest.mark.django_db
def test_each_accepted_row_is_noted_until_its_row_is_recorded(organization, journal_on, settings):
    settings.DELIVERY_MARK_EVERY = "auto"
    ids = queue(organization, 3)
    rows = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
    Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.SENDING, claimed_by="t")
    batch = Batch(rows=rows, at=AT, claimed_by="t")
    assert batch.mark_every == 25

    batch.sent(rows[0])
    batch.sent(rows[1])
    assert cache.get(f"outbox:sent:{ids[0]}") == ("t", AT.isoformat())
    assert [status for status, _attempts in states(ids)] == ["sending"] * 3

    batch.record_sent()
    assert cache.get_many([f"outbox:sent:{pk}" for pk in ids]) == {}  # forgotten once recorded
    assert [status for status, _attempts in states(ids)] == ["sent", "sent", "sending"]


@pytest.mark.django_db
def test_a_row_whose_note_cannot_be_written_is_recorded_at_once(
    organization, journal_on, monkeypatch
):
    ids = queue(organization, 2)
    rows = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
    Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.SENDING, claimed_by="t")
    batch = Batch(rows=rows, at=AT, claimed_by="t", mark_every=25)

    monkeypatch.setattr(cache, "set", _redis_down)
    batch.sent(rows[0])

    assert [status for status, _attempts in states(ids)] == ["sent", "sending"]


def _stale_rows(ids: list[int], *, claimed_by: str) -> None:
    Delivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.SENDING,
        claimed_by=claimed_by,
        claimed_at=AT - dt.timedelta(hours=1),
        attempts=1,
    )


@pytest.mark.django_db
def test_a_stale_row_the_journal_says_was_sent_is_recorded_sent_not_sent_again(
    organization, journal_on, mailoutbox, monkeypatch
):
    ids = queue(organization, 3)
    _stale_rows(ids, claimed_by="dead-task")
    sent_at = AT - dt.timedelta(minutes=59)
    journal_note(ids[0], claimed_by="dead-task", sent_at=sent_at)
    # A note under another claim is not this row's (a restored database reusing ids).
    journal_note(ids[1], claimed_by="another-task", sent_at=sent_at)
    lookups: list[list[str]] = []
    get_many = cache.get_many

    def counted(keys: list[str], **kwargs: Any) -> dict[str, Any]:
        lookups.append(list(keys))
        return get_many(keys, **kwargs)

    monkeypatch.setattr(cache, "get_many", counted)

    result = deliver_batch(delivery_ids=ids, at=AT, claimed_by="new-task")

    assert len(lookups) == 1  # one get_many for every row taken over
    assert sorted(lookups[0]) == sorted(f"outbox:sent:{pk}" for pk in ids)
    assert result.count("sent") == 2
    assert result.not_claimed == 1
    assert sorted(int(mail.extra_headers["X-Transform-Delivery"]) for mail in mailoutbox) == ids[1:]
    first = Delivery.objects.get(pk=ids[0])
    assert (first.status, first.sent_at, first.attempts) == (DeliveryStatus.SENT, sent_at, 1)
    assert states(ids[1:]) == [("sent", 2), ("sent", 2)]


@pytest.mark.django_db
def test_the_dispatcher_records_journaled_rows_sent_instead_of_handing_them_out(
    organization, journal_on, published
):
    ids = queue(organization, 3)
    _stale_rows(ids, claimed_by="dead-task")
    journal_note(ids[2], claimed_by="dead-task", sent_at=AT - dt.timedelta(minutes=59))

    assert dispatch_due(at=AT) == 2
    assert [len(k["delivery_ids"]) for k in published.of(services.DELIVER_TASK)] == [2]
    assert Delivery.objects.get(pk=ids[2]).status == DeliveryStatus.SENT


@pytest.mark.django_db
def test_rows_taken_over_wait_when_the_journal_cannot_be_read(
    organization, journal_on, mailoutbox, monkeypatch
):
    ids = queue(organization, 2)
    _stale_rows(ids[:1], claimed_by="dead-task")

    monkeypatch.setattr(cache, "get_many", _redis_down)

    result = deliver_batch(delivery_ids=ids, at=AT, claimed_by="new-task")

    # The pending row goes out; the stale one may have been sent: it waits for the journal.
    assert result.count("sent") == 1
    assert states(ids) == [("sending", 1), ("sent", 1)]
    assert len(mailoutbox) == 1


# --- a crash between sending and recording ---------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_records_sends_again_only_the_message_in_flight(
    organization,
    smtp: FakeSMTPServer,
    settings,
    worker_in_thread,
    purged_broker,
    tmp_path,
    task_queue,
):
    """With the default recording (25 rows per UPDATE with a shared cache), a worker killed
    while the server holds its 28th message has recorded 25 rows, noted the next two in the sent
    journal, and has one in flight: after the claim timeout the dispatcher records the two noted
    ones sent and hands out the other three, so every message arrives once and none is lost."""
    use_shared_cache(settings)
    worker_in_thread.ensure_stopped()
    settings.DELIVERY_CLAIM_TIMEOUT_SECONDS = 2
    ids = queue(organization, 30, at=timezone.now() - dt.timedelta(seconds=1))
    smtp.hang_on = 28
    smtp.hang_seconds = DEADLINE
    first = WorkerProcess(smtp=smtp, log=tmp_path / "first.log", queue=task_queue)
    second = None
    try:
        first.wait_ready()
        assert dispatch_due(at=timezone.now()) == 30
        assert wait_until(smtp.hanging.is_set, timeout=DEADLINE), first.output()
        first.kill()
        smtp.release()
        assert len(smtp.received()) == 27
        assert (
            sorted(status for status, _attempts in states(ids)) == ["sending"] * 5 + ["sent"] * 25
        )

        second = WorkerProcess(smtp=smtp, log=tmp_path / "second.log", queue=task_queue)
        second.wait_ready()
        handed: list[int] = []

        def dispatched() -> bool:
            handed.append(dispatch_due(at=timezone.now()))
            return sum(handed) > 0

        assert wait_until(dispatched, timeout=DEADLINE, interval=0.2)
        assert sum(handed) == 3  # the one in flight and the two never reached
        assert wait_until(lambda: all_sent(ids), timeout=DEADLINE), second.output()
    finally:
        first.stop()
        if second is not None:
            second.stop()

    counts = smtp.delivery_counts()
    assert set(counts) == set(ids)  # no losses
    assert set(counts.values()) == {1}  # no duplicates
    assert sorted(attempts for _status, attempts in states(ids)) == [1] * 27 + [2] * 3
