"""``make prod-check``: the production topology of docs/deployment.md, started on this machine and
driven end to end through HTTP.

It starts, each in a process group of its own:

- gunicorn with 3 workers on a free port (``-c python:transform.gunicorn_conf``, Prometheus
  multiprocess mode),
- two Celery workers: one consuming the ``default`` queue (planning, readiness), one the
  ``delivery`` queue (sending messages),
- one Celery beat,

against a fresh PostgreSQL database (``transform_prod``, dropped and created) and Redis databases
of its own (7: broker, 6: cache, both emptied), with production settings (``DEBUG=false``, a
``SECRET_KEY``, ``ALLOWED_HOSTS``, JSON logs, a metrics token) and e-mail through SMTP to a sink
served by this script (aiosmtpd), so messages are read as a mail server receives them. TLS is not
on this machine: as behind a TLS-terminating proxy, the HTTPS redirect and secure-only cookies
are turned off for the plain-HTTP loopback address.

Then, through HTTP (httpx): the health probes; an API token for an instance administrator
(created with ``createsuperuser``); a new organisation (``POST /api/v1/orgs/``) filled from
``fixtures/example-org.yaml`` with ``manage.py import_org`` (the API has no import endpoint);
a transformation started through the API; a check-in round sent to the broker as beat sends it
(``celery call transform.plan_checkins``: the default worker plans, the delivery worker sends);
the check-in e-mails read from the SMTP sink; one answered through its link (GET the form, POST
the answers); readiness read through the API; the probes again, the worker probe and
``/metrics``. Everything it started is stopped at the end, on failure and on Ctrl-C too; it
prints PASS or FAIL with each step's time.

Settings: ``PROD_CHECK_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/transform_prod``;
the database is dropped and created), ``PROD_CHECK_REDIS_URL`` (default
``redis://127.0.0.1:6379``; databases 7 and 6 are emptied), ``PROD_CHECK_KEEP=1`` keeps the
temporary folder with the processes' logs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html.parser
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get(
    "PROD_CHECK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/transform_prod"
)
REDIS_URL = os.environ.get("PROD_CHECK_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
BROKER_DB, CACHE_DB = 7, 6
ORG_SLUG = "prodcheck"
ORG_FILE = REPO_ROOT / "fixtures" / "example-org.yaml"
PLAYBOOK = "unify-ops-silos"
LEAD = "maria.lopez@example.com"
ADMIN = "prodcheck-admin"
STARTUP_SECONDS = 60.0
# A pulse survey has a handful of steps (transform/answers/pages.py); more means a loop.
MAX_SURVEY_STEPS = 30
MAIL_SECONDS = 60.0
LINK = re.compile(r"https?://[^\s<>\"]+/c/[^\s<>\"/]+/")


class CheckFailed(Exception):
    """A step found something wrong; the message says what."""


# --- the SMTP sink ---------------------------------------------------------------------------


@dataclass
class Mail:
    recipients: list[str]
    subject: str
    body: str


@dataclass
class MailSink:
    """Every message the delivery worker sends over SMTP, as received."""

    received: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = message_from_bytes(raw, policy=policy.default)
        body_part = message.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part is not None else ""
        with self.lock:
            self.received.append(
                Mail(
                    recipients=list(envelope.rcpt_tos),
                    subject=str(message["Subject"]),
                    body=str(body),
                )
            )
        return "250 OK"

    def mails(self) -> list[Mail]:
        with self.lock:
            return list(self.received)


# --- processes -------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Services:
    """The processes this script started, each the leader of its own process group, so stopping
    it stops its children too (gunicorn's and Celery's worker processes)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[Service] = []

    def start(self, name: str, *argv: str, extra_env: dict[str, str] | None = None) -> Service:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(argv),
                cwd=REPO_ROOT,
                env={**self.env, **(extra_env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name=name, process=process, log=log)
        self.started.append(service)
        return service

    def check_running(self) -> None:
        for service in self.started:
            if service.process.poll() is not None:
                raise CheckFailed(
                    f"{service.name} exited with {service.process.returncode}:\n{service.tail()}"
                )

    def stop_all(self) -> list[str]:
        """SIGTERM to every group, then SIGKILL to what is left after 15 s; returns what had to
        be killed."""
        for service in self.started:
            _signal_group(service.process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        killed = []
        for service in self.started:
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed.append(service.name)
            # Children left in the group (a worker process of a stopped master) go too.
            _signal_group(service.process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=5)
        return killed


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise CheckFailed(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, condition: Callable[[], Any], *, timeout: float, services: Services) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        services.check_running()
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


# --- the database and Redis ------------------------------------------------------------------


def fresh_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise CheckFailed(f"unexpected database name {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def empty_redis() -> None:
    for db in (BROKER_DB, CACHE_DB):
        redis.Redis.from_url(f"{REDIS_URL}/{db}", socket_connect_timeout=3).flushdb()


# --- the check-in form -----------------------------------------------------------------------


class FormReader(html.parser.HTMLParser):
    """The fields of the check-in form: hidden values, radio groups (their values in order),
    number fields (their minimum) and text fields."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.numbers: dict[str, str] = {}
        self.required_text: set[str] = set()
        # The survey's step buttons (``_action``: next, back, send); none on the one-page form.
        self.actions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        name = a.get("name", "")
        if not name:
            return
        if tag == "button" and name == "_action":
            self.actions.append(a.get("value", ""))
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[name] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(name, []).append(a.get("value", ""))
        elif tag == "input" and a.get("type") == "number":
            self.numbers[name] = a.get("min") or "1"
        elif tag in {"input", "textarea"} and "required" in a:
            self.required_text.add(name)

    def answers(self) -> dict[str, str]:
        data = dict(self.hidden)
        # The middle of each scale, the first of other choices: an ordinary answer.
        data.update({name: values[len(values) // 2] for name, values in self.radios.items()})
        data.update(self.numbers)
        data.update(dict.fromkeys(self.required_text, "Going fine."))
        return data


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Report:
    steps: list[tuple[str, float, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        begin = time.monotonic()
        print(f"[prod-check] {name} ...", flush=True)
        try:
            yield
        except BaseException as error:
            why = str(error) or type(error).__name__
            self.steps.append((name, time.monotonic() - begin, f"FAIL: {why}"))
            raise
        self.steps.append((name, time.monotonic() - begin, "ok"))

    def print(self, outcome: str) -> None:
        print("\n[prod-check] summary")
        for name, seconds, result in self.steps:
            print(f"  {seconds:6.1f} s  {name}: {result.splitlines()[0]}")
        print(f"[prod-check] {outcome} in {time.monotonic() - self.started:.1f} s", flush=True)


def environment(work: Path, *, port: int, smtp_port: int, metrics_token: str) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CELERY_", "REDIS_", "EMAIL_", "PROMETHEUS_"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "transform.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": f"{REDIS_URL}/{BROKER_DB}",
        "REDIS_URL": f"{REDIS_URL}/{CACHE_DB}",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "false",
        "DEFAULT_FROM_EMAIL": "transform@prodcheck.example",
        "TRANSFORM_BASE_URL": f"http://127.0.0.1:{port}",
        "TRANSFORM_VAR_DIR": str(work / "var"),
        "STATIC_ROOT": str(work / "static"),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "TRANSFORM_METRICS_TOKEN": metrics_token,
        # Plain HTTP on the loopback address, as behind a proxy that ends TLS.
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
    }


def run(report: Report, work: Path, services_box: list[Services]) -> None:
    port, smtp_port = free_port(), free_port()
    metrics_token = secrets.token_urlsafe(24)
    password = secrets.token_urlsafe(16)
    env = environment(work, port=port, smtp_port=smtp_port, metrics_token=metrics_token)
    (work / "var").mkdir()
    multiproc = work / "prometheus"
    multiproc.mkdir()
    base = f"http://127.0.0.1:{port}"

    with report.step("fresh PostgreSQL database and Redis databases"):
        fresh_database(DATABASE_URL)
        empty_redis()
    with report.step("migrate, collect static files, create the instance administrator"):
        manage(env, "migrate", "--no-input", "-v0")
        manage(env, "collectstatic", "--no-input", "-v0")
        manage(
            {**env, "DJANGO_SUPERUSER_PASSWORD": password},
            "createsuperuser",
            "--no-input",
            "--username",
            ADMIN,
            "--email",
            "admin@prodcheck.example",
        )

    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    services = Services(env, work)
    services_box.append(services)
    try:
        _run_against(report, env, services, sink, base, password, metrics_token, multiproc)
    finally:
        controller.stop()


def _run_against(
    report: Report,
    env: dict[str, str],
    services: Services,
    sink: MailSink,
    base: str,
    password: str,
    metrics_token: str,
    multiproc: Path,
) -> None:
    with report.step("start gunicorn (3 workers), a worker per queue and one beat"):
        port = urlsplit(base).port
        services.start(
            "gunicorn",
            str(BIN / "gunicorn"),
            "-c",
            "python:transform.gunicorn_conf",
            "transform.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--timeout",
            "60",
            extra_env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
        )
        for queue, concurrency in (("default", "1"), ("delivery", "2")):
            services.start(
                f"worker-{queue}",
                str(BIN / "celery"),
                "-A",
                "transform",
                "worker",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
                "--concurrency",
                concurrency,
                "--loglevel",
                "INFO",
            )
        services.start("beat", str(BIN / "celery"), "-A", "transform", "beat", "--loglevel", "INFO")
        http = httpx.Client(base_url=base, timeout=30)

        def live() -> bool:
            try:
                return http.get("/health/live/").status_code == 200
            except httpx.TransportError:
                return False

        wait_for("gunicorn to answer", live, timeout=STARTUP_SECONDS, services=services)

    with report.step("health probes: live and ready"):
        ready = http.get("/health/ready/", headers={"Accept": "application/json"})
        if ready.status_code != 200 or set(ready.json().values()) != {"OK"}:
            raise CheckFailed(f"readiness {ready.status_code}: {ready.text}")

    with report.step("API token of the instance administrator"):
        answer = http.post("/api/v1/auth/token/", data={"username": ADMIN, "password": password})
        if answer.status_code != 200:
            raise CheckFailed(f"token {answer.status_code}: {answer.text}")
        api = httpx.Client(
            base_url=base,
            timeout=30,
            headers={"Authorization": f"Token {answer.json()['token']}"},
        )

    with report.step("import an organisation (POST /api/v1/orgs/, then import_org)"):
        created = api.post("/api/v1/orgs/", json={"slug": ORG_SLUG, "name": "Prod check"})
        if created.status_code != 201:
            raise CheckFailed(f"POST /orgs/ {created.status_code}: {created.text}")
        manage(env, "import_org", "--org", ORG_SLUG, str(ORG_FILE))
        teams = api.get(f"/api/v1/orgs/{ORG_SLUG}/teams/")
        if teams.status_code != 200 or teams.json()["count"] < 1:
            raise CheckFailed(f"teams after import {teams.status_code}: {teams.text}")

    with report.step("start a transformation through the API"):
        started = api.post(
            f"/api/v1/orgs/{ORG_SLUG}/transformations/",
            json={
                "playbooks": [PLAYBOOK],
                "start_date": dt.date.today().isoformat(),
                "owner": LEAD,
            },
        )
        if started.status_code != 201:
            raise CheckFailed(f"start {started.status_code}: {started.text}")

    with report.step("check-in round through the broker; e-mails reach the SMTP sink"):
        result = subprocess.run(
            [str(BIN / "celery"), "-A", "transform", "call", "transform.plan_checkins"],
            cwd=REPO_ROOT,
            env=services.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise CheckFailed(f"celery call failed: {result.stdout}{result.stderr}")

        def pulse_mails() -> list[Mail]:
            return [mail for mail in sink.mails() if mail.subject.startswith("Pulse survey")]

        mails = wait_for(
            "a pulse survey e-mail", pulse_mails, timeout=MAIL_SECONDS, services=services
        )
        print(f"[prod-check]   {len(sink.mails())} e-mail(s) received, e.g. {mails[0].subject!r}")

    with report.step("answer a check-in through its link (GET the form, POST the answers)"):
        found = LINK.search(mails[0].body)
        if found is None:
            raise CheckFailed(f"no check-in link in the e-mail:\n{mails[0].body}")
        path = urlsplit(found.group(0)).path
        browser = httpx.Client(base_url=base, timeout=30)
        form = browser.get(path)
        if form.status_code != 200:
            raise CheckFailed(f"GET {path}: {form.status_code}")
        reader = FormReader()
        reader.feed(form.text)
        if "csrfmiddlewaretoken" not in reader.hidden:
            raise CheckFailed("the form carries no CSRF token")
        # A pulse survey comes in short steps: answer each, "next" until the last one's "send",
        # as a person would (the one-page form has no step buttons and is sent at once).
        for _page in range(MAX_SURVEY_STEPS):
            data = reader.answers()
            if reader.actions:
                data["_action"] = "send" if "send" in reader.actions else "next"
            posted = browser.post(path, data=data, headers={"Referer": base + path})
            if posted.status_code != 200:
                raise CheckFailed(f"POST {path}: {posted.status_code}\n{posted.text[:2000]}")
            if data.get("_action") != "next":
                break
            reader = FormReader()
            reader.feed(posted.text)
        else:
            raise CheckFailed(f"the survey did not end within {MAX_SURVEY_STEPS} steps")
        again = browser.get(path)
        if again.status_code != 410:
            raise CheckFailed(f"the answered link still answers {again.status_code}, not 410")

    with report.step("read readiness through the API"):
        readiness = api.get(f"/api/v1/orgs/{ORG_SLUG}/readiness/")
        if readiness.status_code != 200:
            raise CheckFailed(f"readiness {readiness.status_code}: {readiness.text}")

    with report.step("worker probe: a worker on each queue"):
        workers = http.get("/health/workers/", headers={"Accept": "application/json"})
        if workers.status_code != 200:
            raise CheckFailed(f"workers {workers.status_code}: {workers.text}")

    with report.step("metrics: refused without the token, figures with it"):
        if http.get("/metrics").status_code != 401:
            raise CheckFailed("/metrics answered without the token")
        scrape = http.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
        if scrape.status_code != 200:
            raise CheckFailed(f"/metrics {scrape.status_code}")
        _check_metrics(scrape.text)

    with report.step("each queue's worker did its part (JSON log lines)"):
        _check_worker_logs(services)

    print(f"[prod-check]   logs of every process: {services.logs}")


def _sample(text: str, name: str, labels: str = "") -> float | None:
    pattern = re.compile(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+|NaN)$", re.M)
    found = pattern.search(text)
    return None if found is None else float(found.group(1))


def _check_metrics(text: str) -> None:
    sent = _sample(text, "transform_deliveries", '{status="sent"}')
    if not sent:
        raise CheckFailed(f"transform_deliveries sent is {sent}")
    for queue in ("default", "delivery"):
        length = _sample(text, "transform_celery_queue_length", f'{{queue="{queue}"}}')
        if length is None or length != length:  # NaN: the broker was not read
            raise CheckFailed(f"queue length of {queue} is {length}")
    if _sample(text, "transform_oldest_undelivered_seconds") is None:
        raise CheckFailed("no transform_oldest_undelivered_seconds")
    for family in (
        "django_http_requests_total_by_view_transport_method_total{",
        "django_db_execute_total{",
    ):
        if family not in text:
            raise CheckFailed(f"no {family.rstrip('{')} in /metrics")


def _check_worker_logs(services: Services) -> None:
    expected = {"worker-default": "transform.plan_checkins", "worker-delivery": "deliver_checkins"}
    for service in services.started:
        task = expected.get(service.name)
        if task is None:
            continue
        done = False
        for line in service.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                entry = json.loads(line)
                if task in entry.get("message", "") and "succeeded" in entry["message"]:
                    done = True
        if not done:
            raise CheckFailed(f"{service.name} logged no JSON line of {task} succeeding")


def main() -> int:
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="transform-prod-check-"))
    services_box: list[Services] = []
    outcome = "FAIL"

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        run(report, work, services_box)
        outcome = "PASS"
    except Exception as error:
        print(f"[prod-check] FAILED: {error!r}", file=sys.stderr)
        for services in services_box:
            for service in services.started:
                print(f"--- {service.name} (last lines) ---\n{service.tail()}", file=sys.stderr)
    except KeyboardInterrupt:
        print("[prod-check] interrupted", file=sys.stderr)
        outcome = "INTERRUPTED"
    finally:
        begin = time.monotonic()
        killed = [name for services in services_box for name in services.stop_all()]
        report.steps.append(
            (
                "stop every process",
                time.monotonic() - begin,
                f"killed: {killed}" if killed else "ok",
            )
        )
        with contextlib.suppress(Exception):
            drop_database(DATABASE_URL)
        if os.environ.get("PROD_CHECK_KEEP") != "1" and outcome == "PASS":
            shutil.rmtree(work, ignore_errors=True)
        elif outcome != "PASS":
            print(f"[prod-check] logs kept in {work}", file=sys.stderr)
        report.print(outcome)
    return 0 if outcome == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
