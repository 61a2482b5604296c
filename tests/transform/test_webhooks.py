"""Native webhooks (docs/integrations.md, "Delivery events by webhook"): payloads shaped like
each sender's documented examples (tests/data/webhooks/), posted through the real endpoints."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from teams.models import Service, Team
from tests.builders import World
from transform.evidence.selectors import ingested_readings
from transform.models import SignalEvent, WebhookDelivery, WebhookEndpoint, WebhookMapping
from transform.schedule import schedule_ensure
from transform.webhooks.services import webhook_deliveries_prune, webhook_endpoint_create
from transform.webhooks.tasks import prune_webhook_deliveries

DATA = Path(__file__).resolve().parent.parent / "data" / "webhooks"
WINDOW = (dt.datetime(2026, 9, 1, tzinfo=dt.UTC), dt.datetime(2026, 9, 29, tzinfo=dt.UTC))


def payload(name: str) -> bytes:
    return (DATA / name).read_bytes()


def endpoint(world: World, sender: str) -> WebhookEndpoint:
    return webhook_endpoint_create(organization=world.acme.org, sender=sender)


def sign(
    sender: str, secret: str, body: bytes, event: str = "", delivery: str = ""
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if sender == "github":
        return {
            "HTTP_X_HUB_SIGNATURE_256": f"sha256={digest}",
            "HTTP_X_GITHUB_EVENT": event,
            "HTTP_X_GITHUB_DELIVERY": delivery,
        }
    if sender == "gitlab":
        return {"HTTP_X_GITLAB_TOKEN": secret, "HTTP_X_GITLAB_EVENT_UUID": delivery}
    if sender == "jira":
        return {"HTTP_X_HUB_SIGNATURE": f"sha256={digest}"}
    return {"HTTP_X_PAGERDUTY_SIGNATURE": f"v1=0000,v1={digest}"}


def post(sender: str, body: bytes, headers: dict[str, Any], org: str = "acme") -> Any:
    return Client().post(
        f"/hooks/{org}/{sender}/", data=body, content_type="application/json", **headers
    )


def reading(world: World, team: Team, kind: str) -> float | None:
    readings = ingested_readings(organization=world.acme.org, start=WINDOW[0], end=WINDOW[1])
    found = readings[team.pk].get(kind)
    return None if found is None else found.value


def stored() -> tuple[int, int]:
    return WebhookDelivery.objects.count(), SignalEvent.objects.count()


# --- each sender: signed moves the right team's figure, wrongly signed stores nothing -------------


def test_github_deploy_signed_moves_the_mapped_teams_deploy_frequency_and_lead_time(
    api_world: World,
) -> None:
    secret = endpoint(api_world, "github").secret
    team, other = api_world.acme.team, api_world.acme.other_team
    WebhookMapping.objects.create(
        organization=api_world.acme.org, sender="github", key="acme/checkout-api", team=team
    )
    push = payload("github/push.json")
    assert post("github", push, sign("github", secret, push, "push", "p-1")).status_code == 200
    body = payload("github/deployment_status.json")

    wrong = post("github", body, sign("github", "not-the-secret", body, "deployment_status", "d-1"))
    assert wrong.status_code == 401
    assert stored() == (1, 0)

    answer = post("github", body, sign("github", secret, body, "deployment_status", "d-1"))

    assert answer.status_code == 200, answer.content
    assert answer.json()["records"] == [["deploy", "github:deploy:1200"]]
    assert reading(api_world, team, "deployment_frequency") == pytest.approx(1 / 28)
    # Commits at 14:20Z the day before and 08:05Z, deployed 10:05Z: median of 19.75 h and 2 h.
    assert reading(api_world, team, "lead_time_for_changes") == pytest.approx(10.875)
    assert reading(api_world, other, "deployment_frequency") is None


def test_github_incident_issue_naming_its_root_cause_moves_time_to_restore(
    api_world: World,
) -> None:
    secret = endpoint(api_world, "github").secret
    team = api_world.acme.team
    WebhookMapping.objects.create(
        organization=api_world.acme.org, sender="github", key="acme/checkout-api", team=team
    )
    ping = payload("github/ping.json")
    assert post("github", ping, sign("github", secret, ping, "ping", "g-0")).json()["status"] == (
        "ignored"
    )
    deploy = payload("github/deployment_status.json")
    post("github", deploy, sign("github", secret, deploy, "deployment_status", "g-1"))
    body = payload("github/issues_incident.json")

    wrong = post("github", body, {"HTTP_X_GITHUB_EVENT": "issues", "HTTP_X_GITHUB_DELIVERY": "g-2"})
    assert wrong.status_code == 401
    assert stored() == (2, 1)

    answer = post("github", body, sign("github", secret, body, "issues", "g-2"))

    assert answer.status_code == 200
    event = SignalEvent.objects.get(external_id="github:incident:444500041")
    assert event.team == team
    assert event.data["resolved_at"] == "2026-09-14T13:30:00+00:00"
    assert event.data["caused_by_deploy"] == "github:deploy:1200"
    # Started 11:00, closed 13:30.
    assert reading(api_world, team, "failed_deployment_recovery_time") == pytest.approx(2.5)
    assert reading(api_world, team, "change_failure_rate") == pytest.approx(1.0)
    assert reading(api_world, api_world.acme.other_team, "change_failure_rate") is None


def test_gitlab_deploy_maps_through_the_catalog_and_moves_lead_time(api_world: World) -> None:
    secret = endpoint(api_world, "gitlab").secret
    search = api_world.acme.other_team
    Service.objects.create(organization=api_world.acme.org, team=search, slug="search")
    pipeline = payload("gitlab/pipeline.json")
    assert (
        post("gitlab", pipeline, sign("gitlab", secret, pipeline, delivery="u-1")).status_code
        == 200
    )
    body = payload("gitlab/deployment.json")

    wrong = post(
        "gitlab", body, {"HTTP_X_GITLAB_TOKEN": "guess", "HTTP_X_GITLAB_EVENT_UUID": "u-2"}
    )
    unsigned = post("gitlab", body, {})
    assert (wrong.status_code, unsigned.status_code) == (401, 401)
    assert stored() == (1, 0)

    answer = post("gitlab", body, sign("gitlab", secret, body, delivery="u-2"))

    assert answer.status_code == 200, answer.content
    event = SignalEvent.objects.get(external_id="gitlab:deploy:15")
    assert event.team == search
    assert event.occurred_at == dt.datetime(2026, 9, 14, 10, 5, tzinfo=dt.UTC)
    # Committed 06:00Z, deployed 10:05Z.
    assert reading(api_world, search, "lead_time_for_changes") == pytest.approx(4 + 5 / 60)
    assert reading(api_world, api_world.acme.team, "deployment_frequency") is None


def test_gitlab_incident_issue_opens_an_incident(api_world: World) -> None:
    secret = endpoint(api_world, "gitlab").secret
    Service.objects.create(
        organization=api_world.acme.org, team=api_world.acme.other_team, slug="search"
    )
    body = payload("gitlab/issue_incident.json")

    assert post("gitlab", body, sign("gitlab", secret, body, delivery="i-1")).status_code == 200

    event = SignalEvent.objects.get(external_id="gitlab:incident:301")
    assert (event.team, event.data["resolved_at"]) == (api_world.acme.other_team, None)


def test_jira_resolved_ticket_gives_the_waiting_team_blocked_hours(api_world: World) -> None:
    secret = endpoint(api_world, "jira").secret
    payments, dba = api_world.acme.team, api_world.acme.silo
    WebhookMapping.objects.create(
        organization=api_world.acme.org, sender="jira", key="DBA/postgres", team=dba
    )
    body = payload("jira/issue_updated_resolved.json")

    assert post("jira", body, {}).status_code == 401
    assert post("jira", body, sign("jira", "other", body)).status_code == 401
    assert stored() == (0, 0)

    answer = post("jira", body, sign("jira", secret, body))

    assert answer.status_code == 200, answer.content
    event = SignalEvent.objects.get(external_id="jira:ticket:10042")
    assert (event.team, event.data["waiting_on"]) == (payments, dba.slug)
    assert event.data["closed_at"] == "2026-09-14T10:30:00+00:00"
    # Opened 7 Sep 09:00, blocked after 48 hours, closed 14 Sep 10:30: 121.5 hours.
    assert reading(api_world, payments, "blocked_developer_hours") == pytest.approx(121.5)
    assert not reading(api_world, dba, "blocked_developer_hours")


def test_jira_ticket_without_a_mapped_project_is_kept_unmapped(api_world: World) -> None:
    secret = endpoint(api_world, "jira").secret
    body = payload("jira/issue_updated_resolved.json")

    answer = post("jira", body, sign("jira", secret, body))

    assert answer.json()["status"] == "unmapped"
    assert SignalEvent.objects.count() == 0


def test_pagerduty_incident_for_the_mapped_service(api_world: World) -> None:
    secret = endpoint(api_world, "pagerduty").secret
    search = api_world.acme.other_team
    WebhookMapping.objects.create(
        organization=api_world.acme.org, sender="pagerduty", key="PF9KMXH", team=search
    )
    triggered = payload("pagerduty/incident_triggered.json")
    resolved = payload("pagerduty/incident_resolved.json")

    bad = {"HTTP_X_PAGERDUTY_SIGNATURE": "v1=" + "0" * 64}
    assert post("pagerduty", triggered, bad).status_code == 401
    assert stored() == (0, 0)

    assert post("pagerduty", resolved, sign("pagerduty", secret, resolved)).status_code == 200
    # Delivered late, the trigger does not reopen the resolved incident.
    assert post("pagerduty", triggered, sign("pagerduty", secret, triggered)).status_code == 200

    event = SignalEvent.objects.get(external_id="pagerduty:incident:PGR0VU2")
    assert event.team == search
    assert event.data["resolved_at"] == "2026-09-14T16:30:00+00:00"
    assert reading(api_world, search, "incidents") == 1
    assert reading(api_world, api_world.acme.team, "incidents") in (None, 0)


# --- deliveries ----------------------------------------------------------------------------------


def test_the_same_delivery_twice_is_stored_once(api_world: World) -> None:
    secret = endpoint(api_world, "pagerduty").secret
    body = payload("pagerduty/incident_triggered.json")
    headers = sign("pagerduty", secret, body)

    first, second = post("pagerduty", body, headers), post("pagerduty", body, headers)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicate"] is True
    assert WebhookDelivery.objects.count() == 1


def test_unmapped_is_listed_then_reprocessed_after_a_mapping_is_added(api_world: World) -> None:
    secret = endpoint(api_world, "github").secret
    body = payload("github/deployment_status.json")
    post("github", body, sign("github", secret, body, "deployment_status", "d-9"))
    admin = api_world.client("admin")

    listed = admin.get("/api/v1/orgs/acme/webhook-deliveries/?status=unmapped")
    assert [row["delivery_id"] for row in listed.json()["results"]] == ["d-9"]
    assert SignalEvent.objects.count() == 0

    created = admin.post(
        "/api/v1/orgs/acme/webhook-mappings/",
        {"sender": "github", "key": "Acme/Checkout-API", "team": "acme-search"},
        format="json",
    )
    assert created.status_code == 201, created.content
    replayed = admin.post("/api/v1/orgs/acme/webhook-deliveries/reprocess/", {}, format="json")
    again = admin.post(
        "/api/v1/orgs/acme/webhook-deliveries/reprocess/", {"status": "all"}, format="json"
    )

    assert replayed.json() == {"replayed": 1, "by_status": {"processed": 1}, "next_after": None}
    assert again.json()["by_status"] == {"processed": 1}
    assert SignalEvent.objects.get().team == api_world.acme.other_team
    assert admin.get("/api/v1/orgs/acme/webhook-deliveries/?status=unmapped").json()["count"] == 0


def test_an_explicit_mapping_wins_over_the_catalog(api_world: World) -> None:
    secret = endpoint(api_world, "github").secret
    Service.objects.create(
        organization=api_world.acme.org, team=api_world.acme.other_team, slug="checkout-api"
    )
    body = payload("github/deployment_status.json")
    post("github", body, sign("github", secret, body, "deployment_status", "c-1"))
    assert SignalEvent.objects.get().team == api_world.acme.other_team

    WebhookMapping.objects.create(
        organization=api_world.acme.org,
        sender="github",
        key="acme/checkout-api",
        team=api_world.acme.team,
    )
    api_world.client("admin").post(
        "/api/v1/orgs/acme/webhook-deliveries/reprocess/", {"status": "all"}, format="json"
    )

    assert SignalEvent.objects.get().team == api_world.acme.team


def test_retention_prunes_old_deliveries_and_keeps_their_events(api_world: World) -> None:
    secret = endpoint(api_world, "pagerduty").secret
    WebhookMapping.objects.create(
        organization=api_world.acme.org,
        sender="pagerduty",
        key="PF9KMXH",
        team=api_world.acme.team,
    )
    body = payload("pagerduty/incident_triggered.json")
    post("pagerduty", body, sign("pagerduty", secret, body))
    WebhookDelivery.objects.update(received_at=timezone.now() - dt.timedelta(days=91))

    assert webhook_deliveries_prune() == 1

    assert stored() == (0, 1)


# --- hostile requests ----------------------------------------------------------------------------


def test_unknown_org_and_sender_without_endpoint_answer_the_same_404(api_world: World) -> None:
    endpoint(api_world, "github")
    body = payload("github/ping.json")

    answers = [
        post("github", body, {}, org="nope"),
        post("gitlab", body, {}),
        post("github", body, {}, org="globex"),
        post("bitbucket", body, {}),
    ]

    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1
    assert stored() == (0, 0)


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe\x00",
        b"[" * 5000 + b"]" * 5000,
        b'{"a": 1e999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999}',
        b"[1, 2, 3]",
        b'{"event": {"id": "x", "event_type": "incident.triggered", "n": 1e400}}',
        b'{"event": {"id": "\\ud800", "event_type": "incident.triggered"}}',
        b'{"event": {"id": "' + b"d" * 500 + b'", "event_type": "incident.triggered"}}',
        b'{"event": {"event_type": "incident.triggered", "data": []}}',
        b'{"event": {"event_type": "incident.resolved", "data": {"id": "X", "service": {"id": "S"}, "created_at": "yesterday"}}}',
    ],
)
def test_hostile_signed_bodies_never_answer_500(api_world: World, body: bytes) -> None:
    secret = endpoint(api_world, "pagerduty").secret

    answer = post("pagerduty", body, sign("pagerduty", secret, body))

    assert answer.status_code in (200, 400)
    assert WebhookDelivery.objects.get().status in ("invalid", "ignored")
    assert SignalEvent.objects.count() == 0


def test_oversized_body_answers_413_and_stores_nothing(api_world: World) -> None:
    secret = endpoint(api_world, "github").secret
    body = b'{"x": "' + b"a" * 2_700_000 + b'"}'

    answer = post("github", body, sign("github", secret, body, "push", "big"))

    assert answer.status_code == 413
    assert stored() == (0, 0)


def test_a_replay_request_is_bounded_and_goes_on_where_it_stopped(
    api_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transform.webhooks import apis as webhook_apis

    monkeypatch.setattr(webhook_apis, "REPROCESS_PER_REQUEST", 2)
    secret = endpoint(api_world, "github").secret
    body = payload("github/deployment_status.json")
    for number in range(3):
        post("github", body, sign("github", secret, body, "deployment_status", f"d-{number}"))
    admin = api_world.client("admin")
    admin.post(
        "/api/v1/orgs/acme/webhook-mappings/",
        {"sender": "github", "key": "Acme/Checkout-API", "team": "acme-search"},
        format="json",
    )
    url = "/api/v1/orgs/acme/webhook-deliveries/reprocess/"

    first = admin.post(url, {}, format="json").json()
    second = admin.post(url, {"after": first["next_after"]}, format="json").json()

    assert (first["replayed"], second["replayed"]) == (2, 1)
    assert first["next_after"] is not None
    assert second["next_after"] is None
    assert admin.get("/api/v1/orgs/acme/webhook-deliveries/?status=unmapped").json()["count"] == 0


# --- the admin API -------------------------------------------------------------------------------


def test_admins_create_and_rotate_endpoints_and_see_the_secret_once(api_world: World) -> None:
    admin = api_world.client("admin")

    created = admin.post("/api/v1/orgs/acme/webhooks/", {"sender": "github"}, format="json")
    listed = admin.get("/api/v1/orgs/acme/webhooks/")
    rotated = admin.post("/api/v1/orgs/acme/webhooks/github/rotate/")

    secret = WebhookEndpoint.objects.get().secret
    assert created.status_code == 201
    assert created.json()["path"] == "/hooks/acme/github/"
    assert rotated.json()["secret"] == secret != created.json()["secret"]
    assert listed.json()["results"][0]["secret"] != created.json()["secret"]
    assert created.json()["secret"] not in json.dumps(listed.json())
    again = admin.post("/api/v1/orgs/acme/webhooks/", {"sender": "github"}, format="json")
    assert again.status_code == 409


@pytest.mark.parametrize("kind", ["member", "change_agent", "leader"])
def test_the_webhook_api_is_for_admins_only(api_world: World, kind: str) -> None:
    client = api_world.client(kind)

    answers = [
        client.get("/api/v1/orgs/acme/webhooks/"),
        client.post("/api/v1/orgs/acme/webhooks/", {"sender": "jira"}, format="json"),
        client.get("/api/v1/orgs/acme/webhook-mappings/"),
        client.get("/api/v1/orgs/acme/webhook-deliveries/"),
        client.post("/api/v1/orgs/acme/webhook-deliveries/reprocess/", {}, format="json"),
    ]

    assert {a.status_code for a in answers} == {403}
    assert WebhookEndpoint.objects.count() == 0


def test_other_organisations_see_nothing(api_world: World) -> None:
    secret = endpoint(api_world, "pagerduty").secret
    body = payload("pagerduty/incident_triggered.json")
    post("pagerduty", body, sign("pagerduty", secret, body))
    delivery = WebhookDelivery.objects.get()
    stranger = api_world.client("no_role")  # an admin of globex

    assert stranger.get("/api/v1/orgs/acme/webhook-deliveries/").status_code == 404
    assert stranger.get("/api/v1/orgs/globex/webhook-deliveries/").json()["count"] == 0
    assert stranger.get(f"/api/v1/orgs/globex/webhook-deliveries/{delivery.pk}/").status_code == 404
    mapping = stranger.post(
        "/api/v1/orgs/globex/webhook-mappings/",
        {"sender": "pagerduty", "key": "PF9KMXH", "team": "acme-search"},
        format="json",
    )
    assert mapping.status_code == 400


def test_list_apis_run_a_fixed_number_of_queries(api_world: World) -> None:
    secret = endpoint(api_world, "pagerduty").secret
    admin = api_world.client("admin")
    for number in range(12):
        data = json.loads(payload("pagerduty/incident_triggered.json"))
        data["event"]["id"] = f"evt-{number}"
        body = json.dumps(data).encode()
        post("pagerduty", body, sign("pagerduty", secret, body))
    for team in (api_world.acme.team, api_world.acme.other_team, api_world.acme.silo):
        WebhookMapping.objects.create(
            organization=api_world.acme.org, sender="github", key=f"acme/{team.slug}", team=team
        )

    counts = []
    for url in ("webhook-deliveries/", "webhook-mappings/", "webhooks/"):
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(f"/api/v1/orgs/acme/{url}").status_code == 200
        counts.append(len(queries))

    # Session, user, role, then the count and the page: the same whatever the number of rows
    # (12 deliveries, 3 mappings here).
    assert counts == [5, 5, 5]


def test_a_sender_generated_secret_is_set_and_then_checks_deliveries(api_world: World) -> None:
    admin = api_world.client("admin")
    created = admin.post(
        "/api/v1/orgs/acme/webhooks/",
        {"sender": "pagerduty", "secret": "pagerduty-made-this-secret"},
        format="json",
    )
    body = payload("pagerduty/incident_triggered.json")
    assert created.status_code == 201
    assert (
        post("pagerduty", body, sign("pagerduty", "pagerduty-made-this-secret", body)).status_code
        == 200
    )

    changed = admin.patch(
        "/api/v1/orgs/acme/webhooks/pagerduty/",
        {"secret": "a-newer-pagerduty-secret"},
        format="json",
    )

    assert changed.status_code == 200
    resolved = payload("pagerduty/incident_resolved.json")
    old = post("pagerduty", resolved, sign("pagerduty", "pagerduty-made-this-secret", resolved))
    assert old.status_code == 401
    new = post("pagerduty", resolved, sign("pagerduty", "a-newer-pagerduty-secret", resolved))
    assert new.status_code == 200


def test_the_reprocess_command_replays_unmapped_deliveries(api_world: World) -> None:
    secret = endpoint(api_world, "pagerduty").secret
    body = payload("pagerduty/incident_triggered.json")
    post("pagerduty", body, sign("pagerduty", secret, body))
    WebhookMapping.objects.create(
        organization=api_world.acme.org, sender="pagerduty", key="PF9KMXH", team=api_world.acme.silo
    )
    out = StringIO()

    call_command("reprocess_webhooks", "acme", stdout=out)

    assert out.getvalue().strip() == "Replayed 1 deliveries: processed 1"
    assert SignalEvent.objects.get().team == api_world.acme.silo
    with pytest.raises(CommandError):
        call_command("reprocess_webhooks", "nope", stdout=StringIO())


def test_beat_prunes_the_deliveries_nightly(db: None) -> None:
    PeriodicTask.objects.all().delete()

    schedule_ensure()

    job = PeriodicTask.objects.get(task="transform.prune_webhook_deliveries")
    assert (job.crontab.minute, job.crontab.hour, job.enabled) == ("45", "3", True)
    assert prune_webhook_deliveries.name == job.task


def test_jira_maps_the_component_through_the_catalog_and_the_reporter_to_their_team(
    api_world: World,
) -> None:
    secret = endpoint(api_world, "jira").secret
    Service.objects.create(
        organization=api_world.acme.org, team=api_world.acme.silo, slug="postgres"
    )
    data = json.loads(payload("jira/issue_updated_resolved.json"))
    data["issue"]["fields"]["labels"] = []  # alice@acme.test, the reporter, is in payments
    body = json.dumps(data).encode()

    answer = post("jira", body, sign("jira", secret, body))

    assert answer.json()["status"] == "processed"
    event = SignalEvent.objects.get()
    assert (event.team, event.data["waiting_on"]) == (api_world.acme.team, api_world.acme.silo.slug)
