"""Deliver check-ins to many people through a real worker: ``python -m benchmarks.delivery_large``.

    python -m benchmarks.delivery_large --recipients 100000 [--baseline [--baseline-recipients M]]

Needs PostgreSQL and Redis. It creates (or reuses) the database named by ``DATABASE_URL``
(default ``postgres://postgres@127.0.0.1:5432/transform_bench_delivery``, migrated on start) and
uses Redis database 13 as the broker (``CELERY_BROKER_URL`` to change it, purged on start) and
Redis database 14 as the worker's cache, which holds the sent journal (``--redis-url`` to change
it; ``--redis-url ''`` for none, when ``DELIVERY_MARK_EVERY`` "auto" records every message on its
own; ``--mark-every N`` sets it). It starts, as processes of their own:

- a local SMTP sink (asyncio, advertises PIPELINING like Postfix does) that counts every message
  it accepts by its ``X-Transform-Delivery`` header, so duplicates and losses are counted, not
  assumed;
- ``celery -A transform worker --pool prefork --concurrency C`` on that database, broker and sink.

It creates an organisation with N people, one team and N open pulse check-ins, each with its
queued e-mail delivery (bulk inserts), then times from enqueueing ``transform.dispatch_deliveries``
(what beat does every minute) until the sink holds N distinct messages, and checks that every row
is ``sent``. With ``--baseline`` it then resets the same rows to pending and times the same
delivery as one task per person (``DELIVERY_BATCH_SIZE=1``: one task, one connection and one
message each), on all the recipients or the first ``--baseline-recipients``, and prints the ratio
of the two rates (messages per second).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import database_ensure

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/transform_bench_delivery"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
HEADER = re.compile(rb"(?:^|\r\n)X-Transform-Delivery: (\d+)\r\n", re.IGNORECASE)


# --- the SMTP sink ---------------------------------------------------------------------------------


def _sink_main(port: int, ready: Any) -> None:
    """An SMTP server that accepts everything and counts delivery ids; ``XSTATS`` answers
    ``250 <messages> <distinct> <connections>``, ``XRESET`` forgets everything."""
    seen: dict[int, int] = {}
    stats = {"messages": 0, "connections": 0}

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink.bench ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb == b"DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    content = await reader.readuntil(b"\r\n.\r\n")
                    found = HEADER.search(content)
                    if found:
                        pk = int(found.group(1))
                        seen[pk] = seen.get(pk, 0) + 1
                    stats["messages"] += 1
                    writer.write(b"250 2.0.0 Ok: queued\r\n")
                elif verb == b"EHLO":
                    stats["connections"] += 1
                    writer.write(
                        b"250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE\r\n"
                    )
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 Bye\r\n")
                    break
                elif verb == b"XSTA":
                    counts = f"{stats['messages']} {len(seen)} {stats['connections']}"
                    writer.write(f"250 {counts}\r\n".encode())
                elif verb == b"XRES":
                    seen.clear()
                    stats.update(messages=0, connections=0)
                    writer.write(b"250 reset\r\n")
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    writer.write(b"250 2.0.0 Ok\r\n")
                if writer.transport.get_write_buffer_size() > 65536:
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(session, "127.0.0.1", port, limit=2**22)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def _sink_command(port: int, command: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        file = sock.makefile("rb")
        file.readline()
        sock.sendall(f"{command}\r\n".encode())
        reply = file.readline().decode().strip()
        sock.sendall(b"QUIT\r\n")
        return reply


def sink_stats(port: int) -> tuple[int, int, int]:
    """(messages accepted, distinct delivery ids, SMTP sessions) so far."""
    messages, distinct, connections = _sink_command(port, "XSTATS").split()[1:]
    return int(messages), int(distinct), int(connections)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the database ----------------------------------------------------------------------------------


def create_deliveries(recipients: int) -> list[int]:
    """An organisation of ``recipients`` people with one open pulse check-in and its queued
    e-mail each; returns the delivery ids."""
    from django.utils import timezone

    from teams.models import Organization, Person, Team, TeamType
    from transform.models import CheckIn, CheckInKind, Delivery, DeliveryKind
    from transform.rhythm.links import link_nonce_new

    slug = f"bench-delivery-{uuid.uuid4().hex[:8]}"
    org = Organization.objects.create(slug=slug, name="Bench Delivery")
    team = Team.objects.create(
        organization=org, slug="payments", name="Payments", type=TeamType.STREAM_ALIGNED
    )
    people = Person.objects.bulk_create(
        [
            Person(organization=org, email=f"p{n}@{slug}.test", name=f"Person {n}")
            for n in range(recipients)
        ],
        batch_size=5000,
    )
    now = timezone.now()
    checkins = CheckIn.objects.bulk_create(
        [
            CheckIn(
                organization=org,
                kind=CheckInKind.PULSE_SURVEY,
                recipient=person,
                team=team,
                subject=f"team:{team.pk}",
                period=f"bench:{person.pk}",
                period_start=now.date(),
                link_nonce=link_nonce_new(),
                created_at=now,
                expires_at=now + dt.timedelta(days=7),
            )
            for person in people
        ],
        batch_size=5000,
    )
    rows = Delivery.objects.bulk_create(
        [
            Delivery(
                organization=org,
                kind=DeliveryKind.CHECKIN,
                dedupe_key=f"checkin:{checkin.pk}",
                recipient_id=checkin.recipient_id,
                checkin=checkin,
                channel="email",
                next_attempt_at=now - dt.timedelta(seconds=1),
                created_at=now,
            )
            for checkin in checkins
        ],
        batch_size=5000,
    )
    return [row.pk for row in rows]


def reset_deliveries(ids: list[int]) -> None:
    from django.utils import timezone

    from transform.models import Delivery, DeliveryStatus

    Delivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        claimed_at=None,
        claimed_by="",
        sent_at=None,
        last_error="",
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1),
    )


# --- the worker ------------------------------------------------------------------------------------


def start_worker(*, env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "transform",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process


def wait_worker(app: Any, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the worker stopped:\n{log.read_text(errors='replace')}")
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit(f"the worker did not start:\n{log.read_text(errors='replace')}")


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_round(
    *, label: str, ids: list[int], env: dict[str, str], concurrency: int, port: int, timeout: float
) -> dict[str, Any]:
    """Start a worker with ``env``, enqueue one dispatch, wait until every message arrived."""
    from transform.celery import app
    from transform.models import Delivery, DeliveryStatus

    app.control.purge()
    _sink_command(port, "XRESET")
    log = REPO_ROOT / "var" / f"bench-delivery-{label}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    worker = start_worker(env=env, concurrency=concurrency, log=log)
    try:
        wait_worker(app, worker, log)
        started = time.perf_counter()
        app.send_task("transform.dispatch_deliveries", kwargs={})
        deadline = started + timeout
        distinct = 0
        while time.perf_counter() < deadline:
            _messages, distinct, _connections = sink_stats(port)
            if distinct >= len(ids):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # a late duplicate would show now
        messages, distinct, connections = sink_stats(port)
    finally:
        stop_worker(worker)
    sent = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.SENT).count()
    return {
        "label": label,
        "recipients": len(ids),
        "seconds": elapsed,
        "per_second": distinct / elapsed if elapsed else 0.0,
        "messages": messages,
        "distinct": distinct,
        "duplicates": messages - distinct,
        "lost": len(ids) - distinct,
        "rows_sent": sent,
        "connections": connections,
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['label']:>9}: {result['recipients']:,} recipients in {result['seconds']:.1f} s"
        f" = {result['per_second']:,.0f}/s; received {result['messages']:,}"
        f" ({result['distinct']:,} distinct: {result['duplicates']} duplicates,"
        f" {result['lost']} lost); rows sent {result['rows_sent']:,};"
        f" SMTP connections {result['connections']:,}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument("--baseline", action="store_true", help="also one task per person")
    parser.add_argument(
        "--baseline-recipients",
        type=int,
        default=None,
        help="how many of the recipients the baseline sends to (default: all); its rate is "
        "per message either way, and one task per person is slow",
    )
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--batch-size", type=int, default=None, help="DELIVERY_BATCH_SIZE")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        help="the worker's cache (the sent journal); empty for each process's own memory",
    )
    parser.add_argument("--mark-every", default="auto", help="DELIVERY_MARK_EVERY")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER_URL)
    os.environ["DJANGO_SETTINGS_MODULE"] = "transform.settings"
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL database")
    database_ensure(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    port = free_port()
    ready = multiprocessing.get_context("spawn").Event()
    sink = multiprocessing.get_context("spawn").Process(
        target=_sink_main, args=(port, ready), daemon=True
    )
    sink.start()
    ready.wait(30)

    began = time.perf_counter()
    ids = create_deliveries(args.recipients)
    print(f"created {len(ids):,} check-ins and deliveries in {time.perf_counter() - began:.1f} s")
    env = {
        **os.environ,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "false",
        "EMAIL_USE_SSL": "false",
        "EMAIL_TIMEOUT": "30",
        "REDIS_URL": args.redis_url,
        "DELIVERY_MARK_EVERY": args.mark_every,
    }
    if args.batch_size:
        env["DELIVERY_BATCH_SIZE"] = str(args.batch_size)
    try:
        new = run_round(
            label="batched",
            ids=ids,
            env=env,
            concurrency=args.concurrency,
            port=port,
            timeout=args.timeout,
        )
        report(new)
        if args.baseline:
            sample = ids[: args.baseline_recipients or len(ids)]
            reset_deliveries(sample)
            base = run_round(
                label="baseline",
                ids=sample,
                env={**env, "DELIVERY_BATCH_SIZE": "1"},
                concurrency=args.concurrency,
                port=port,
                timeout=args.timeout,
            )
            report(base)
            if base["per_second"]:
                print(f"ratio: {new['per_second'] / base['per_second']:.1f}x")
        if args.json:
            results = {"new": new, "baseline": base if args.baseline else None}
            Path(args.json).write_text(json.dumps(results), encoding="utf-8")
    finally:
        sink.terminate()


if __name__ == "__main__":
    main()
