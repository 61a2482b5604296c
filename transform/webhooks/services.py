"""Receiving webhook deliveries and turning them into signal events (docs/integrations.md,
"Delivery events by webhook"); the endpoints' secrets, the explicit mappings, replaying stored
deliveries and pruning old ones.

A delivery is checked (endpoint, size, signature) before anything is stored: a request that
fails those stores nothing. A signed one is stored once per (sender, delivery id), then
translated (``transform.webhooks.senders``), its teams found (explicit mapping, then the
catalog's ownership), and its records ingested through ``signal_events_ingest``, so validation,
DORA, caches and event surveys work as for the generic API.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from core.errors import ApplicationError, ConflictError, NotFoundError
from core.files.jsonio import json_load
from core.files.limits import MAX_BODY_BYTES, InputRefused
from core.files.origin import ImportFailure
from teams.models import Membership, Organization, Service, Team
from transform.evidence.records import SERVICE_KINDS, SignalEventsInvalid, service_ref_parse
from transform.evidence.services import signal_events_ingest
from transform.models import (
    SignalEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMapping,
    WebhookStatus,
)
from transform.webhooks import senders
from transform.webhooks.senders import Draft, Owner, PayloadError, Translation

DEFAULT_RETENTION_DAYS = 90


def retention_days() -> int:
    return int(getattr(settings, "TRANSFORM_WEBHOOK_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


class WebhookRefused(ApplicationError):
    """A request refused before anything is stored; ``status_code`` says why."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class Received:
    """What the endpoint answers: the HTTP status and the delivery as stored."""

    status_code: int
    delivery: WebhookDelivery
    duplicate: bool


# --- endpoints and mappings ----------------------------------------------------------------------


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def webhook_endpoint_create(
    *,
    organization: Organization,
    sender: str,
    environments: str = "production",
    secret: str = "",
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (shown to the admin once, by the API), or the
    ``secret`` the sender generated (PagerDuty shows its own signing secret)."""
    endpoint = WebhookEndpoint(
        organization=organization,
        sender=sender,
        secret=secret or _new_secret(),
        environments=environments,
    )
    endpoint.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError:
        raise ConflictError(
            f"The {sender} endpoint already exists; rotate its secret instead."
        ) from None
    return endpoint


def webhook_endpoint_rotate(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = _new_secret()
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "rotated_at"])
    return endpoint


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, environments: str | None = None, secret: str = ""
) -> WebhookEndpoint:
    """Changes the production environments, or sets the secret the sender generated."""
    if environments is not None:
        endpoint.environments = environments
    if secret:
        endpoint.secret = secret
        endpoint.rotated_at = timezone.now()
    endpoint.full_clean(validate_constraints=False)
    endpoint.save(update_fields=["environments", "secret", "rotated_at"])
    return endpoint


def webhook_mapping_create(
    *, organization: Organization, sender: str, key: str, team: Team
) -> WebhookMapping:
    # Keys are compared without case: GitHub and GitLab paths are case-insensitive, and Jira keys
    # and PagerDuty ids are written in one case anyway.
    mapping = WebhookMapping(
        organization=organization, sender=sender, key=key.strip().lower(), team=team
    )
    mapping.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            mapping.save()
    except IntegrityError:
        raise ConflictError(f"{sender} key {key!r} is already mapped.") from None
    return mapping


def webhook_mapping_update(*, mapping: WebhookMapping, team: Team) -> WebhookMapping:
    mapping.team = team
    mapping.save(update_fields=["team"])
    return mapping


# --- finding teams -------------------------------------------------------------------------------


def _slug_of(name: str) -> str:
    try:
        return service_ref_parse(name)[1]
    except ValueError:
        return slugify(name.rpartition("/")[2])


class _Teams:
    """The teams a delivery's owners name, found in a fixed number of queries."""

    def __init__(self, *, organization: Organization, sender: str, drafts: Sequence[Draft]):
        owners = [o for d in drafts for o in (*d.owners, *d.waiting_owners)]
        keys = {o.key.lower() for o in owners if o.key}
        self.mapped = {
            m.key.lower(): m.team.slug
            for m in WebhookMapping.objects.annotate(lower_key=Lower("key"))
            .filter(organization=organization, sender=sender, lower_key__in=keys)
            .select_related("team")
        }
        slugs = {_slug_of(name) for o in owners for name in o.names if name}
        self.catalog: dict[str, str] = {}
        if slugs:
            rows = sorted(
                Service.objects.filter(
                    organization=organization,
                    slug__in=slugs,
                    team__isnull=False,
                    team__retired_at__isnull=True,
                ).values_list("slug", "kind", "team__slug"),
                key=lambda row: SERVICE_KINDS.index(row[1]) if row[1] in SERVICE_KINDS else 99,
            )
            for slug, _kind, team in rows:
                self.catalog.setdefault(slug, team)
        named = {o.team for o in owners if o.team}
        self.live = set(
            Team.objects.filter(
                organization=organization, slug__in=named, retired_at__isnull=True
            ).values_list("slug", flat=True)
        )
        emails = {o.email for o in owners if o.email}
        self.of_person: dict[str, str] = {}
        if emails:
            for email, team in (
                Membership.objects.filter(
                    organization=organization,
                    person__email__in=emails,
                    team__retired_at__isnull=True,
                )
                .order_by("-allocation_percent", "id")
                .values_list("person__email", "team__slug")
            ):
                self.of_person.setdefault(email, team)

    def first(self, owners: Sequence[Owner]) -> str | None:
        """The team of the first owner that names one: explicit mappings first, then the
        catalog, then teams and people the payload names."""
        for owner in owners:
            if owner.key.lower() in self.mapped:
                return self.mapped[owner.key.lower()]
        for owner in owners:
            for name in owner.names:
                if name and _slug_of(name) in self.catalog:
                    return self.catalog[_slug_of(name)]
        for owner in owners:
            if owner.team in self.live:
                return owner.team
            if owner.email in self.of_person:
                return self.of_person[owner.email]
        return None


def _commit_times(*, organization: Organization, sender: str, commit: str) -> list[str]:
    """The commit times stored pushes, pipelines or merges of ``commit`` delivered."""
    times: set[str] = set()
    if not commit:
        return []
    for event, body in WebhookDelivery.objects.filter(
        organization=organization, sender=sender, commit=commit
    ).values_list("event", "body")[:20]:
        times.update(senders.change_times(sender, event=event, payload=body))
    return sorted(times)


def _deploy_of(*, organization: Organization, sender: str, commit: str) -> str | None:
    """The id of the newest deploy record of ``commit`` (a full sha or its prefix, at least 7
    characters) that a stored delivery produced; None when none did."""
    rows = WebhookDelivery.objects.filter(
        organization=organization,
        sender=sender,
        commit__startswith=commit,
        status=WebhookStatus.PROCESSED,
    ).order_by("-received_at", "-id")
    for records in rows.values_list("records", flat=True)[:20]:
        for kind, external_id in records or ():
            if kind == "deploy":
                return str(external_id)
    return None


def _keep_resolution(*, organization: Organization, records: list[dict[str, Any]]) -> None:
    """An incident resolved (a ticket closed) before a late 'opened' delivery keeps its end."""
    ends = {"incident": "resolved_at", "ticket": "closed_at"}
    open_ones = [r for r in records if r["kind"] in ends and r.get(ends[r["kind"]]) is None]
    if not open_ones:
        return
    query = Q()
    for record in open_ones:
        query |= Q(kind=record["kind"], external_id=record["id"])
    stored = {
        (kind, external_id): data
        for kind, external_id, data in SignalEvent.objects.filter(
            query, organization=organization
        ).values_list("kind", "external_id", "data")
    }
    for record in open_ones:
        end = ends[record["kind"]]
        data = stored.get((record["kind"], record["id"])) or {}
        if data.get(end):
            record[end] = data[end]


# --- processing ----------------------------------------------------------------------------------


def _process(*, delivery: WebhookDelivery, environments: str) -> None:
    """Translates, maps and ingests ``delivery`` (its body parsed); sets its status, error,
    commit and records (saving is the caller's). A ConflictError of the ingest (a concurrent one
    stored the same event first) propagates: nothing is stored, and the sender's retry works."""
    organization = delivery.organization
    sender = delivery.sender
    delivery.error = ""
    delivery.records = []
    try:
        translation: Translation = senders.translate(
            sender, event=delivery.event, payload=delivery.body, environments=environments
        )
    except PayloadError as exc:
        delivery.status = WebhookStatus.INVALID
        delivery.error = str(exc)[:2000]
        return
    delivery.commit = translation.commit[:64]
    if not translation.drafts:
        delivery.status = WebhookStatus.PROCESSED if translation.commit else WebhookStatus.IGNORED
        delivery.error = translation.ignored
        return
    teams = _Teams(organization=organization, sender=sender, drafts=translation.drafts)
    records: list[dict[str, Any]] = []
    unmapped: list[str] = []
    for draft in translation.drafts:
        record = dict(draft.record)
        team = teams.first(draft.owners)
        if record["kind"] == "ticket":
            doing = teams.first(draft.waiting_owners)
            if doing is None:
                unmapped.append("no team does the work of this project or component")
                continue
            if team is None:
                unmapped.append("no team found waiting on this ticket")
                continue
            if team == doing:
                continue  # a team's own work: nobody waits on another team
            record["waiting_on"] = doing
        elif team is None:
            keys = ", ".join(o.key for o in draft.owners if o.key)
            unmapped.append(f"no team for {keys}")
            continue
        record["team"] = team
        if record["kind"] == "deploy" and draft.commit:
            record["commit_times"] = _commit_times(
                organization=organization, sender=sender, commit=draft.commit
            )
            delivery.commit = delivery.commit or draft.commit[:64]
        if draft.caused_by_commit:
            record["caused_by_deploy"] = _deploy_of(
                organization=organization, sender=sender, commit=draft.caused_by_commit
            )
        records.append(record)
    if unmapped:
        delivery.status = WebhookStatus.UNMAPPED
        delivery.error = "; ".join(unmapped)
        return
    if not records:
        delivery.status = WebhookStatus.IGNORED
        delivery.error = "the ticket's team does the work itself"
        return
    _keep_resolution(organization=organization, records=records)
    try:
        signal_events_ingest(
            organization=organization,
            records=records,
            source=f"the {sender} webhook",
            at=timezone.now(),
        )
    except SignalEventsInvalid as exc:
        delivery.status = WebhookStatus.INVALID
        delivery.error = exc.message[:2000]
        return
    delivery.status = WebhookStatus.PROCESSED
    delivery.records = [[record["kind"], record["id"]] for record in records]


def _endpoint_get(*, org_slug: str, sender: str) -> WebhookEndpoint:
    endpoint = (
        WebhookEndpoint.objects.filter(organization__slug=org_slug, sender=sender)
        .select_related("organization")
        .first()
    )
    if endpoint is None:
        raise NotFoundError("Not found.")
    return endpoint


def webhook_receive(
    *, org_slug: str, sender: str, headers: Mapping[str, str], body: bytes
) -> Received:
    """One request to ``/hooks/<org_slug>/<sender>/``. ``headers`` are keyed in lower case;
    ``body`` is at most ``MAX_BODY_BYTES`` + 1 bytes as read.

    Raises NotFoundError (no such organisation, or no endpoint for the sender: the same answer),
    WebhookRefused 413 (too large) or 401 (unsigned, wrongly signed): nothing is stored. A
    signed body that is not JSON is stored as invalid and answered 400; the same delivery again
    answers 200 and stores nothing new."""
    endpoint = _endpoint_get(org_slug=org_slug, sender=sender)
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(
            f"The request body is larger than {MAX_BODY_BYTES:,} bytes.",
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        )
    if not senders.signature_ok(sender, secret=endpoint.secret, headers=headers, body=body):
        raise WebhookRefused("Missing or wrong signature.", HTTPStatus.UNAUTHORIZED)
    payload: Any = None
    problem = ""
    try:
        payload = json_load(
            "request body",
            body.decode("utf-8"),
            max_bytes=MAX_BODY_BYTES,
            refuse_duplicate_keys=False,
        )
    except UnicodeDecodeError:
        problem = "The body is not UTF-8 text."
    except (InputRefused, ImportFailure) as exc:
        problem = f"The body is not JSON the endpoint reads: {exc}"
    else:
        try:
            # What no database stores: infinite numbers (1e400) and lone surrogates ("\ud800").
            json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (ValueError, UnicodeEncodeError):
            payload = None
            problem = "The body holds an infinite number or text that is not valid Unicode."
    delivery = WebhookDelivery(
        organization=endpoint.organization,
        sender=sender,
        delivery_id=senders.delivery_id_of(sender, headers=headers, payload=payload, body=body),
        event=senders.event_of(sender, headers=headers, payload=payload),
        received_at=timezone.now(),
        headers=senders.kept_headers(sender, headers),
        body=payload,
        status=WebhookStatus.INVALID,
        error=problem[:2000],
    )
    existing = WebhookDelivery.objects.filter(
        organization=endpoint.organization, sender=sender, delivery_id=delivery.delivery_id
    ).first()
    if existing is not None:
        return Received(HTTPStatus.OK, existing, duplicate=True)
    try:
        with transaction.atomic():
            if not problem:
                _process(delivery=delivery, environments=endpoint.environments)
            delivery.save()
    except IntegrityError:
        # The same delivery, received at the same moment by another worker.
        existing = WebhookDelivery.objects.get(
            organization=endpoint.organization, sender=sender, delivery_id=delivery.delivery_id
        )
        return Received(HTTPStatus.OK, existing, duplicate=True)
    code = HTTPStatus.BAD_REQUEST if problem else HTTPStatus.OK
    return Received(code, delivery, duplicate=False)


@dataclass(frozen=True, slots=True)
class ReprocessResult:
    replayed: int
    by_status: dict[str, int]
    # The id of the last delivery replayed when more remain (replay again with ``after`` set to
    # it), None when every matching delivery was replayed.
    next_after: int | None = None


def webhook_deliveries_reprocess(
    *,
    organization: Organization,
    statuses: Sequence[str] | None,
    after: int = 0,
    limit: int | None = None,
) -> ReprocessResult:
    """Replays the stored deliveries (those of ``statuses``; all when None) in the order they
    were stored, after a mapping changed: records upsert by id, so replaying twice changes
    nothing more. Deliveries whose body was not JSON stay invalid. With ``limit``, at most that
    many after the delivery id ``after``; ``next_after`` then says where to go on (a request
    stays bounded however many deliveries are stored)."""
    endpoints = {
        e.sender: e.environments for e in WebhookEndpoint.objects.filter(organization=organization)
    }
    rows = WebhookDelivery.objects.filter(
        organization=organization, body__isnull=False, id__gt=after
    )
    if statuses is not None:
        rows = rows.filter(status__in=statuses)
    # Ids grow as deliveries are stored: the same order as received, and a cursor that holds
    # while replaying changes the statuses being filtered on.
    rows = rows.select_related("organization").order_by("id")
    counts: dict[str, int] = {}
    replayed = 0
    last_id = after
    for delivery in rows[: limit + 1] if limit is not None else rows.iterator():
        if limit is not None and replayed == limit:
            return ReprocessResult(replayed=replayed, by_status=counts, next_after=last_id)
        with transaction.atomic():
            _process(delivery=delivery, environments=endpoints.get(delivery.sender, "production"))
            delivery.save(update_fields=["status", "error", "records", "commit"])
        counts[delivery.status] = counts.get(delivery.status, 0) + 1
        replayed += 1
        last_id = delivery.pk
    return ReprocessResult(replayed=replayed, by_status=counts)


def webhook_deliveries_prune(*, now: dt.datetime | None = None, days: int | None = None) -> int:
    """Deletes the deliveries received more than ``days`` (the retention setting) ago; the
    signal events derived from them stay. Returns how many were deleted."""
    days = retention_days() if days is None else days
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
