"""What each sender sends, read without a database (transform/webhooks/senders.py): signatures
as each sender documents them, their time formats, and payloads translated into records."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from transform.webhooks.senders import (
    PayloadError,
    body_hash,
    delivery_id_of,
    moment_text,
    signature_ok,
    translate,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "webhooks"
BODY = b'{"zen": "Keep it logically awesome."}'


def digest(secret: str, body: bytes = BODY) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def loaded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


@pytest.mark.parametrize(
    ("sender", "headers", "expected"),
    [
        ("github", {"x-hub-signature-256": f"sha256={digest('s3cret')}"}, True),
        ("github", {"x-hub-signature-256": f"sha256={digest('other')}"}, False),
        ("github", {"x-hub-signature-256": digest("s3cret")}, False),
        ("github", {"x-hub-signature": f"sha1={digest('s3cret')}"}, False),
        ("github", {}, False),
        ("jira", {"x-hub-signature": f"sha256={digest('s3cret')}"}, True),
        ("jira", {"x-hub-signature": f"sha256={digest('s3cret').upper()}"}, True),
        ("jira", {}, False),
        ("gitlab", {"x-gitlab-token": "s3cret"}, True),
        ("gitlab", {"x-gitlab-token": "s3cret "}, False),
        ("gitlab", {"x-gitlab-token": ""}, False),
        ("pagerduty", {"x-pagerduty-signature": f"v1={digest('s3cret')}"}, True),
        ("pagerduty", {"x-pagerduty-signature": f"v1=abc, v1={digest('s3cret')}"}, True),
        ("pagerduty", {"x-pagerduty-signature": f"v0={digest('s3cret')}"}, False),
        ("pagerduty", {"x-pagerduty-signature": ","}, False),
    ],
)
def test_signatures_are_checked_as_each_sender_documents(
    sender: str, headers: dict[str, str], expected: bool
) -> None:
    assert signature_ok(sender, secret="s3cret", headers=headers, body=BODY) is expected


def test_an_empty_secret_never_matches() -> None:
    assert not signature_ok("gitlab", secret="", headers={"x-gitlab-token": ""}, body=BODY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-14T10:05:00Z", "2026-09-14T10:05:00+00:00"),
        ("2026-09-14T10:05:00.000+0000", "2026-09-14T10:05:00+00:00"),
        ("2021-04-28 21:50:00 +0200", "2021-04-28T19:50:00+00:00"),
        ("2026-09-14 09:30:00 UTC", "2026-09-14T09:30:00+00:00"),
    ],
)
def test_the_senders_time_formats_are_read_in_utc(text: str, expected: str) -> None:
    assert moment_text(text, what="t") == expected


@pytest.mark.parametrize("value", ["2026-09-14T10:05:00", "yesterday", 12, None, ["x"]])
def test_times_without_a_zone_or_not_times_are_refused(value: Any) -> None:
    with pytest.raises(PayloadError, match="t:"):
        moment_text(value, what="t")


def test_a_delivery_without_an_id_is_known_by_its_body() -> None:
    found = delivery_id_of("jira", headers={}, payload={}, body=BODY)

    assert found == body_hash(BODY) == body_hash(BODY)
    assert delivery_id_of("jira", headers={}, payload={}, body=BODY + b" ") != found


def test_a_merged_pull_request_is_a_change_of_its_merge_commit() -> None:
    payload: dict[str, Any] = {
        "action": "closed",
        "pull_request": {
            "merged": True,
            "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
            "created_at": "2026-09-12T09:00:00Z",
        },
        "repository": {"full_name": "acme/checkout-api"},
    }

    found = translate("github", event="pull_request", payload=payload, environments="production")
    closed = translate(
        "github",
        event="pull_request",
        payload={**payload, "pull_request": {**payload["pull_request"], "merged": False}},
        environments="production",
    )

    assert (found.commit, found.commit_times) == (
        "e5bd3914e2e596debea16f433f57875b5b90bcd6",
        ["2026-09-12T09:00:00+00:00"],
    )
    assert (closed.drafts, closed.commit, closed.ignored) == (
        [],
        "",
        "a pull request that is not merged",
    )


def test_a_merged_gitlab_merge_request_keeps_its_last_commit_time() -> None:
    payload = {
        "object_kind": "merge_request",
        "project": {"path_with_namespace": "acme/search"},
        "object_attributes": {
            "action": "merge",
            "merge_commit_sha": "279484c09fbe69ededfced8c1bb6e6d24616b468",
            "created_at": "2026-09-10 09:00:00 UTC",
            "last_commit": {"id": "da1560886d", "timestamp": "2026-09-13T08:00:00+02:00"},
        },
    }

    found = translate("gitlab", event="merge_request", payload=payload, environments="")

    assert found.commit_times == ["2026-09-13T06:00:00+00:00"]


def test_a_staging_deploy_is_ignored_unless_staging_counts_as_production() -> None:
    payload = loaded("github/deployment_status.json")
    payload["deployment"]["environment"] = "staging"

    ignored = translate("github", event="deployment_status", payload=payload, environments="prod")
    counted = translate(
        "github", event="deployment_status", payload=payload, environments="production, Staging"
    )

    assert ignored.ignored == "environment 'staging' is not production"
    assert [d.record["id"] for d in counted.drafts] == ["github:deploy:1200"]


def test_a_failed_gitlab_deployment_is_a_deploy_that_caused_a_failure() -> None:
    payload = loaded("gitlab/deployment.json")
    payload["status"] = "failed"

    found = translate("gitlab", event="deployment", payload=payload, environments="production")

    assert found.drafts[0].record["caused_failure"] is True
    assert found.drafts[0].commit == "279484c09fbe69ededfced8c1bb6e6d24616b468"


def test_pagerduty_acknowledgements_are_ignored() -> None:
    payload = loaded("pagerduty/incident_triggered.json")
    payload["event"]["event_type"] = "incident.acknowledged"

    found = translate("pagerduty", event="incident.acknowledged", payload=payload, environments="")

    assert found.ignored == "event 'incident.acknowledged' is not used"


def test_a_jira_ticket_is_done_by_its_component_or_project_and_waited_on_by_the_requester() -> None:
    found = translate(
        "jira",
        event="jira:issue_updated",
        payload=loaded("jira/issue_updated_resolved.json"),
        environments="",
    )

    draft = found.drafts[0]
    assert [o.key for o in draft.waiting_owners] == ["DBA/postgres", "DBA"]
    assert [(o.team, o.email) for o in draft.owners] == [
        ("acme-payments", ""),
        ("", "alice@acme.test"),
    ]
    assert draft.record["closed_at"] == "2026-09-14T10:30:00+00:00"


@pytest.mark.parametrize(
    ("sender", "event", "payload"),
    [
        (
            "github",
            "deployment_status",
            {
                "deployment_status": {"state": "success"},
                "deployment": {"environment": "production"},
            },
        ),
        ("github", "issues", {"issue": {"labels": [{"name": "incident"}]}}),
        ("gitlab", "deployment", {"status": "success", "environment": "production"}),
        ("jira", "jira:issue_created", {"issue": {"id": "1", "fields": "x"}}),
        ("pagerduty", "incident.triggered", {"event": {"data": {"id": "P1"}}}),
    ],
)
def test_payloads_missing_what_the_sender_documents_are_refused(
    sender: str, event: str, payload: Any
) -> None:
    with pytest.raises(PayloadError):
        translate(sender, event=event, payload=payload, environments="production")
