"""What each sender sends, as plain functions (no database): how its signature is checked, which
header or field identifies a delivery and its event, and how a payload translates into signal
event records (docs/signal-events-format.md) that still lack their team.

A record's team is found later (``transform.webhooks.services``) from the ``Owner`` candidates a
draft carries: an explicit mapping of the sender's key, else the catalog service whose slug is one
of the names, else a team slug or a person's e-mail the payload names. Record ids derive from the
sender's own ids (``github:deploy:<deployment id>``), so a replay updates the same events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The headers kept with a delivery (lower case); signatures and tokens are never kept.
KEPT_HEADERS: dict[str, tuple[str, ...]] = {
    "github": ("x-github-event", "x-github-delivery", "x-github-hook-id", "user-agent"),
    "gitlab": ("x-gitlab-event", "x-gitlab-event-uuid", "idempotency-key", "user-agent"),
    "jira": ("x-atlassian-webhook-identifier", "x-atlassian-webhook-retry", "user-agent"),
    "pagerduty": ("x-webhook-id", "x-webhook-subscription", "user-agent"),
}

# A label (GitHub, GitLab) that makes an issue an incident.
INCIDENT_LABEL = "incident"

# "Root cause: <sha>" in an incident issue's description names the deployed commit that caused it
# (as Four Keys reads it): the incident then counts for time to restore and change failure rate.
ROOT_CAUSE = re.compile(r"root[ _-]?cause:\s*([0-9a-f]{7,40})\b", re.IGNORECASE)


def _root_cause(text: Any) -> str:
    found = ROOT_CAUSE.search(text[:100_000]) if isinstance(text, str) else None
    return found.group(1).lower() if found else ""


# A Jira label naming the team that waits on the ticket: ``requested-by:<team slug>``.
REQUESTER_LABEL = "requested-by:"


class PayloadError(ValueError):
    """The body is JSON but not the shape the sender documents."""


@dataclass(frozen=True, slots=True)
class Owner:
    """One way to find a team: the sender's ``key`` (explicit mapping) with catalog ``names``
    (services whose slug matches), or a ``team`` slug, or a person's ``email``."""

    key: str = ""
    names: tuple[str, ...] = ()
    team: str = ""
    email: str = ""


@dataclass(slots=True)
class Draft:
    """A record without its team fields. ``owners`` find ``team``; ``waiting_owners`` find a
    ticket's ``waiting_on``. ``commit`` (a deploy's sha) asks for the commit times that an earlier
    push, pipeline or merge of that commit delivered."""

    record: dict[str, Any]
    owners: list[Owner]
    waiting_owners: list[Owner] = field(default_factory=list)
    commit: str = ""
    # An incident's root cause: the sha of the deployed commit that caused it.
    caused_by_commit: str = ""


@dataclass(slots=True)
class Translation:
    """What a payload means: records to ingest, or a change (``commit`` and its
    ``commit_times``) kept for a later deploy, or nothing (``ignored`` says why)."""

    drafts: list[Draft] = field(default_factory=list)
    commit: str = ""
    commit_times: list[str] = field(default_factory=list)
    ignored: str = ""


# --- signatures --------------------------------------------------------------------------------


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _sha256_header_ok(secret: str, body: bytes, value: str) -> bool:
    prefix, _, given = value.strip().partition("=")
    if prefix != "sha256" or not given:
        return False
    return hmac.compare_digest(_hmac_hex(secret, body).encode(), given.strip().lower().encode())


def signature_ok(sender: str, *, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the request is signed with ``secret`` the way ``sender`` documents it.
    ``headers`` are keyed in lower case."""
    if not secret:
        return False
    if sender == "github":
        return _sha256_header_ok(secret, body, headers.get("x-hub-signature-256", ""))
    if sender == "jira":
        return _sha256_header_ok(secret, body, headers.get("x-hub-signature", ""))
    if sender == "gitlab":
        token = headers.get("x-gitlab-token", "")
        return bool(token) and hmac.compare_digest(token.encode(), secret.encode())
    if sender == "pagerduty":
        expected = f"v1={_hmac_hex(secret, body)}".encode()
        given = [part.strip() for part in headers.get("x-pagerduty-signature", "").split(",")]
        # Every signature is compared, so the time taken says nothing about which matched.
        matches = [hmac.compare_digest(expected, part.encode()) for part in given if part]
        return any(matches)
    return False


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def kept_headers(sender: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The sender's informative headers, shortened and without control characters."""
    return {
        name: _CONTROL.sub("", headers[name])[:300]
        for name in KEPT_HEADERS.get(sender, ())
        if name in headers
    }


# --- delivery id and event ---------------------------------------------------------------------


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _get(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, None where a step is missing or not an object."""
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | str):
        return str(value).strip()
    return ""


def delivery_id_of(sender: str, *, headers: Mapping[str, str], payload: Any, body: bytes) -> str:
    """The sender's id of this delivery (a header, or PagerDuty's event id), else the body's
    hash: the same delivery sent twice has the same id."""
    found = ""
    if sender == "github":
        found = headers.get("x-github-delivery", "")
    elif sender == "gitlab":
        found = headers.get("idempotency-key", "") or headers.get("x-gitlab-event-uuid", "")
    elif sender == "jira":
        found = headers.get("x-atlassian-webhook-identifier", "")
    elif sender == "pagerduty":
        found = _text(_get(payload, "event", "id"))
    found = _CONTROL.sub("", found).strip()[:200]
    return found or body_hash(body)


def event_of(sender: str, *, headers: Mapping[str, str], payload: Any) -> str:
    if sender == "github":
        event = headers.get("x-github-event", "")
    elif sender == "gitlab":
        event = _text(_get(payload, "object_kind")) or headers.get("x-gitlab-event", "")
    elif sender == "jira":
        event = _text(_get(payload, "webhookEvent"))
    else:
        event = _text(_get(payload, "event", "event_type"))
    return _CONTROL.sub("", event).strip()[:100]


# --- times ---------------------------------------------------------------------------------------

_SPACED_OFFSET = re.compile(r"\s+([+-]\d{2}:?\d{2})$")


def moment_text(value: Any, *, what: str) -> str:
    """An aware ISO 8601 text in UTC from a sender's time (``2026-09-14T10:05:00Z``,
    ``2026-09-14T10:05:00.000+0000`` (Jira), ``2021-04-28 21:50:00 +0200`` or
    ``... UTC`` (GitLab)). Raises PayloadError naming ``what``."""
    text = _text(value)
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    text = _SPACED_OFFSET.sub(r"\1", text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{what}: expected a date-time; got {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PayloadError(f"{what}: expected a date-time with a time zone; got {value!r}")
    return moment.astimezone(dt.UTC).isoformat()


def _required(value: Any, *, what: str) -> str:
    text = _text(value)
    if not text:
        raise PayloadError(f"{what} is missing")
    return text


def _commit_times(commits: Any) -> list[str]:
    if not isinstance(commits, list):
        return []
    times = []
    for commit in commits[:10_000]:
        stamp = _get(commit, "timestamp")
        if stamp:
            times.append(moment_text(stamp, what="commits[].timestamp"))
    return times


def _environments(text: str) -> set[str]:
    return {name.strip().lower() for name in text.split(",") if name.strip()}


def _labels(values: Any) -> set[str]:
    """Label names, lower case: GitHub ``[{name}]``, GitLab ``[{title}]``, Jira ``["name"]``."""
    found = set()
    if isinstance(values, list):
        for value in values:
            name = value if isinstance(value, str) else _get(value, "name") or _get(value, "title")
            if isinstance(name, str) and name.strip():
                found.add(name.strip().lower())
    return found


# --- GitHub ---------------------------------------------------------------------------------------


def _github_repo(payload: Any) -> list[Owner]:
    full_name = _required(_get(payload, "repository", "full_name"), what="repository.full_name")
    return [Owner(key=full_name, names=(full_name,))]


def _github(event: str, payload: Any, environments: set[str]) -> Translation:
    if event == "ping":
        return Translation(ignored="ping: the endpoint answers")
    if event == "deployment_status":
        state = _text(_get(payload, "deployment_status", "state")).lower()
        environment = _text(_get(payload, "deployment", "environment")).lower()
        if environment not in environments:
            return Translation(ignored=f"environment {environment!r} is not production")
        if state not in {"success", "failure", "error"}:
            return Translation(ignored=f"deployment state {state!r}")
        deployment = _required(_get(payload, "deployment", "id"), what="deployment.id")
        at = _get(payload, "deployment_status", "created_at") or _get(
            payload, "deployment_status", "updated_at"
        )
        record = {
            "kind": "deploy",
            "id": f"github:deploy:{deployment}",
            "occurred_at": moment_text(at, what="deployment_status.created_at"),
            "caused_failure": state != "success",
        }
        commit = _text(_get(payload, "deployment", "sha"))
        return Translation(drafts=[Draft(record, _github_repo(payload), commit=commit)])
    if event == "push":
        after = _text(_get(payload, "after"))
        times = _commit_times(_get(payload, "commits"))
        if not after or not times:
            return Translation(ignored="a push without commits")
        _github_repo(payload)
        return Translation(commit=after, commit_times=times)
    if event == "pull_request":
        pull = _get(payload, "pull_request")
        if _get(payload, "action") != "closed" or _get(pull, "merged") is not True:
            return Translation(ignored="a pull request that is not merged")
        sha = _required(_get(pull, "merge_commit_sha"), what="pull_request.merge_commit_sha")
        opened = moment_text(_get(pull, "created_at"), what="pull_request.created_at")
        _github_repo(payload)
        return Translation(commit=sha, commit_times=[opened])
    if event == "issues":
        issue = _get(payload, "issue")
        if INCIDENT_LABEL not in _labels(_get(issue, "labels")):
            return Translation(ignored="an issue without the incident label")
        action = _text(_get(payload, "action"))
        if action in {"deleted", "transferred"}:
            return Translation(ignored=f"an incident issue {action}: its record stays")
        issue_id = _required(_get(issue, "id"), what="issue.id")
        closed = _get(issue, "closed_at") if _get(issue, "state") == "closed" else None
        if action == "closed" and not closed:
            closed = _get(issue, "updated_at")
        record = {
            "kind": "incident",
            "id": f"github:incident:{issue_id}",
            "occurred_at": moment_text(_get(issue, "created_at"), what="issue.created_at"),
            "resolved_at": moment_text(closed, what="issue.closed_at") if closed else None,
        }
        cause = _root_cause(_get(issue, "body"))
        return Translation(drafts=[Draft(record, _github_repo(payload), caused_by_commit=cause)])
    return Translation(ignored=f"event {event!r} is not used")


# --- GitLab ---------------------------------------------------------------------------------------


def _gitlab_project(payload: Any) -> list[Owner]:
    path = _required(
        _get(payload, "project", "path_with_namespace"), what="project.path_with_namespace"
    )
    return [Owner(key=path, names=(path,))]


def _gitlab(event: str, payload: Any, environments: set[str]) -> Translation:
    attributes = _get(payload, "object_attributes")
    if event == "deployment":
        status = _text(_get(payload, "status")).lower()
        environment = _text(_get(payload, "environment")).lower()
        if environment not in environments:
            return Translation(ignored=f"environment {environment!r} is not production")
        if status not in {"success", "failed"}:
            return Translation(ignored=f"deployment status {status!r}")
        deployment = _get(payload, "deployment_id") or _get(payload, "deployable_id")
        deployment = _required(deployment, what="deployment_id")
        commit_url = _text(_get(payload, "commit_url"))
        sha = commit_url.rstrip("/").rpartition("/")[2] if commit_url else ""
        record = {
            "kind": "deploy",
            "id": f"gitlab:deploy:{deployment}",
            "occurred_at": moment_text(
                _get(payload, "status_changed_at"), what="status_changed_at"
            ),
            "caused_failure": status != "success",
        }
        return Translation(drafts=[Draft(record, _gitlab_project(payload), commit=sha)])
    if event in {"push", "pipeline"}:
        sha = _text(_get(payload, "checkout_sha") or _get(payload, "after"))
        if event == "pipeline":
            sha = _text(_get(attributes, "sha"))
        times = _commit_times(_get(payload, "commits"))
        if not sha or not times:
            return Translation(ignored=f"a {event} without commits")
        _gitlab_project(payload)
        return Translation(commit=sha, commit_times=times)
    if event == "merge_request":
        if _get(attributes, "action") != "merge":
            return Translation(ignored="a merge request that is not merged")
        sha = _required(_get(attributes, "merge_commit_sha"), what="merge_commit_sha")
        stamp = _get(attributes, "last_commit", "timestamp") or _get(attributes, "created_at")
        _gitlab_project(payload)
        return Translation(commit=sha, commit_times=[moment_text(stamp, what="last_commit")])
    if event in {"issue", "work_item"}:
        labels = _labels(_get(payload, "labels")) | _labels(_get(attributes, "labels"))
        is_incident = _text(_get(attributes, "issue_type")).lower() == INCIDENT_LABEL
        if INCIDENT_LABEL not in labels and not is_incident:
            return Translation(ignored="an issue that is not an incident")
        issue_id = _required(_get(attributes, "id"), what="object_attributes.id")
        closed = None
        if _get(attributes, "state") == "closed" or _get(attributes, "action") == "close":
            closed = _get(attributes, "closed_at") or _get(attributes, "updated_at")
        record = {
            "kind": "incident",
            "id": f"gitlab:incident:{issue_id}",
            "occurred_at": moment_text(_get(attributes, "created_at"), what="created_at"),
            "resolved_at": moment_text(closed, what="closed_at") if closed else None,
        }
        cause = _root_cause(_get(attributes, "description"))
        return Translation(drafts=[Draft(record, _gitlab_project(payload), caused_by_commit=cause)])
    return Translation(ignored=f"event {event!r} is not used")


# --- Jira -----------------------------------------------------------------------------------------


def _jira(event: str, payload: Any, environments: set[str]) -> Translation:
    if event == "jira:issue_deleted":
        return Translation(ignored="a deleted issue keeps its ticket record")
    if event not in {"jira:issue_created", "jira:issue_updated"}:
        return Translation(ignored=f"event {event!r} is not used")
    issue = _get(payload, "issue")
    fields = _get(issue, "fields")
    issue_id = _required(_get(issue, "id"), what="issue.id")
    project = _required(_get(fields, "project", "key"), what="issue.fields.project.key")
    components = _get(fields, "components")
    names = [
        _text(_get(component, "name"))
        for component in (components if isinstance(components, list) else [])
    ]
    doing = [Owner(key=f"{project}/{name}", names=(name,)) for name in names if name]
    doing.append(Owner(key=project, names=(project,)))
    waiting = [
        Owner(team=label[len(REQUESTER_LABEL) :])
        for label in sorted(_labels(_get(fields, "labels")))
        if label.startswith(REQUESTER_LABEL)
    ]
    email = _text(_get(fields, "reporter", "emailAddress"))
    if email:
        waiting.append(Owner(email=email.lower()))
    resolved = _get(fields, "resolutiondate")
    record = {
        "kind": "ticket",
        "id": f"jira:ticket:{issue_id}",
        "occurred_at": moment_text(_get(fields, "created"), what="issue.fields.created"),
        "closed_at": moment_text(resolved, what="issue.fields.resolutiondate")
        if resolved
        else None,
    }
    # team: the team that waits (requester); waiting_on: the team doing the work.
    return Translation(drafts=[Draft(record, owners=waiting, waiting_owners=doing)])


# --- PagerDuty ------------------------------------------------------------------------------------


def _pagerduty(event: str, payload: Any, environments: set[str]) -> Translation:
    if event not in {"incident.triggered", "incident.resolved"}:
        return Translation(ignored=f"event {event!r} is not used")
    data = _get(payload, "event", "data")
    incident = _required(_get(data, "id"), what="event.data.id")
    service = _required(_get(data, "service", "id"), what="event.data.service.id")
    summary = _text(_get(data, "service", "summary"))
    occurred = _get(payload, "event", "occurred_at")
    started = _get(data, "created_at") or occurred
    record = {
        "kind": "incident",
        "id": f"pagerduty:incident:{incident}",
        "occurred_at": moment_text(started, what="event.data.created_at"),
        "resolved_at": moment_text(occurred, what="event.occurred_at")
        if event == "incident.resolved"
        else None,
    }
    owners = [Owner(key=service, names=(summary,) if summary else ())]
    return Translation(drafts=[Draft(record, owners)])


TRANSLATORS: dict[str, Callable[[str, Any, set[str]], Translation]] = {
    "github": _github,
    "gitlab": _gitlab,
    "jira": _jira,
    "pagerduty": _pagerduty,
}


def translate(sender: str, *, event: str, payload: Any, environments: str) -> Translation:
    """The records (without teams) a delivery stands for. Raises PayloadError for a body that
    is not the shape the sender documents."""
    if not isinstance(payload, Mapping):
        raise PayloadError(f"expected a JSON object; got {type(payload).__name__}")
    return TRANSLATORS[sender](event, payload, _environments(environments))


def change_times(sender: str, *, event: str, payload: Any) -> list[str]:
    """The commit times a stored push, pipeline or merge delivered (none when unreadable)."""
    try:
        return translate(sender, event=event, payload=payload, environments="").commit_times
    except PayloadError:
        return []
