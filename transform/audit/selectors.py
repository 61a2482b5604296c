"""One organisation's audit trail, newest first: the history rows django-simple-history keeps for
the organisation graph, the roles, the invitations, the transformations and the check-in settings,
merged with the milestones' event log and the teams' lineage events (docs/audit.md).

How a page is read, in a number of queries that does not grow with the organisation or the page:

1. one ``UNION ALL`` of every source, each reduced to ``(source, row id, when)`` and filtered by
   organisation, object, actor and dates, ordered newest first and cut to the page (on
   PostgreSQL each branch is first cut to the rows the page can reach, so every branch reads a
   bounded slice through its ``history_date`` index instead of every row of a large
   organisation);
2. per source present on the page, its rows (one query) and, for history rows, the version each
   one follows (one more query): a change is shown as ``field: before -> after`` by
   ``diff_against`` (django-simple-history);
3. one query per kind of row the page names (teams, people, units, logins) for labels, and one
   for the actors' names.

What is never shown: survey answers (no source holds them), token hashes and any field whose
name says token, secret, password or hash (a change shows as hidden), and check-in webhook URLs
beyond their scheme and host (the URL is a credential).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import CharField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django.utils.text import capfirst

from teams.models import (
    Interaction,
    Invitation,
    Membership,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    Team,
    TeamLineageEvent,
)
from transform.models import (
    CheckinSettings,
    MilestoneEvent,
    MilestoneStatus,
    Transformation,
    WebhookEndpoint,
    WebhookMapping,
)

# Object types as the API, the CSV and the page's filter name them (label for people).
OBJECT_TYPES: Final[dict[str, str]] = {
    "organization": "Organisation",
    "role": "Role",
    "invitation": "Invitation",
    "unit": "Unit",
    "team": "Team",
    "person": "Person",
    "membership": "Membership",
    "serves_link": "Serves link",
    "interaction": "Interaction",
    "service": "Service",
    "transformation": "Transformation",
    "milestone": "Milestone",
    "checkin_settings": "Check-in settings",
    "webhook_endpoint": "Webhook endpoint",
    "webhook_mapping": "Webhook mapping",
}

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 500
# A value longer than this (a JSON setting, a long description) is cut, with an ellipsis.
MAX_VALUE_LENGTH: Final = 300
SYSTEM_ACTOR: Final = "system"
HIDDEN: Final = "(hidden)"

# Never shown, not even as "changed": what could not mean anything to a reader.
_NEVER_SHOWN: Final = frozenset({"id", "organization", "created_at", "updated_at", "token_hash"})
# A field named like a credential is shown as changed, never with its value.
_SECRET_NAME: Final = re.compile(r"token|secret|password|hash", re.IGNORECASE)
# Shown as scheme and host only (transform.checkins.apis shows non-admins the same).
_MASKED_URLS: Final = frozenset({"webhook_url", "msteams_webhook_url"})


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What to list; every filter optional. ``since`` and ``until`` are days of the active time
    zone, both included."""

    object_type: str = ""
    object_id: int | None = None
    actor: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class AuditChange:
    """One changed field: its code and values as stored (what the API and the CSV give), and the
    same in words for the page (the field's name, a choice's label)."""

    field: str
    before: str | None
    after: str | None
    label: str = ""  # the field in words; "" reads the code with spaces
    before_words: str | None = None  # a value in words where it differs from the stored one
    after_words: str | None = None

    @property
    def field_words(self) -> str:
        return self.label or capfirst(self.field.replace("_", " "))

    @property
    def before_shown(self) -> str | None:
        return self.before_words if self.before_words is not None else self.before

    @property
    def after_shown(self) -> str | None:
        return self.after_words if self.after_words is not None else self.after


_ABSENT: Final = object()  # no value on that side (a row created or deleted)


def _field_change(
    field_obj: models.Field[Any, Any], before: Any, after: Any, labels: _Labels
) -> AuditChange:
    """A change of a model field: the values as text, and in words the field's verbose name and
    a choice's label ("at_risk" reads "At risk")."""
    choices = {str(value): str(label) for value, label in field_obj.flatchoices}

    def words(value: Any) -> str | None:
        return choices.get(str(value)) if value is not None else None

    return AuditChange(
        field=field_obj.name,
        before=_value_text(field_obj, before, labels) if before is not _ABSENT else None,
        after=_value_text(field_obj, after, labels) if after is not _ABSENT else None,
        label=capfirst(str(field_obj.verbose_name)),
        before_words=words(before) if before is not _ABSENT else None,
        after_words=words(after) if after is not _ABSENT else None,
    )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: dt.datetime
    actor: str | None  # the login's username; None for the system (a command, a task)
    actor_name: str  # the person's name in the organisation, else the login's name, else "system"
    object_type: str
    object_id: int
    object_label: str
    action: str
    changes: tuple[AuditChange, ...] = ()
    reason: str = ""

    @property
    def object_type_label(self) -> str:
        return OBJECT_TYPES.get(self.object_type, self.object_type)


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    number: int
    page_size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


# --- the sources --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HistorySource:
    object_type: str
    model: type[models.Model]
    organization_lookup: str  # how a history row names its organisation

    @property
    def history_model(self) -> Any:
        return self.model.history.model  # type: ignore[attr-defined]


_HISTORY_SOURCES: Final[tuple[_HistorySource, ...]] = (
    _HistorySource("organization", Organization, "id"),
    _HistorySource("role", OrganizationRole, "organization_id"),
    _HistorySource("invitation", Invitation, "organization_id"),
    _HistorySource("unit", OrgUnit, "organization_id"),
    _HistorySource("team", Team, "organization_id"),
    _HistorySource("person", Person, "organization_id"),
    _HistorySource("membership", Membership, "organization_id"),
    _HistorySource("serves_link", ServesLink, "organization_id"),
    _HistorySource("interaction", Interaction, "organization_id"),
    _HistorySource("service", Service, "organization_id"),
    _HistorySource("transformation", Transformation, "organization_id"),
    _HistorySource("checkin_settings", CheckinSettings, "organization_id"),
    _HistorySource("webhook_endpoint", WebhookEndpoint, "organization_id"),
    _HistorySource("webhook_mapping", WebhookMapping, "organization_id"),
)
_HISTORY_BY_TYPE: Final = {source.object_type: source for source in _HISTORY_SOURCES}
_MILESTONE_EVENTS: Final = "milestone"
_LINEAGE_EVENTS: Final = "lineage"
# A team's entries are its history rows and its lineage events (formed, renamed, merged, ...).
_SOURCES_OF_TYPE: Final[dict[str, tuple[str, ...]]] = {
    **{source.object_type: (source.object_type,) for source in _HISTORY_SOURCES},
    "team": ("team", _LINEAGE_EVENTS),
    "milestone": (_MILESTONE_EVENTS,),
}


@dataclass(frozen=True, slots=True)
class _Bounds:
    organization_id: int
    object_id: int | None
    actor_id: int | None
    since: dt.datetime | None
    until: dt.datetime | None


def _keys(
    queryset: QuerySet[Any],
    *,
    source: str,
    bounds: _Bounds,
    object_field: str,
    actor_field: str,
    at_field: str,
    pk_field: str,
    reach: int,
) -> QuerySet[Any]:
    """``queryset`` filtered by ``bounds`` and reduced to ``(source, row id, when)``; cut to its
    newest ``reach`` rows where the database allows it in a ``UNION`` (0: not cut)."""
    if bounds.object_id is not None:
        queryset = queryset.filter(**{object_field: bounds.object_id})
    if bounds.actor_id is not None:
        queryset = queryset.filter(**{actor_field: bounds.actor_id})
    if bounds.since is not None:
        queryset = queryset.filter(**{f"{at_field}__gte": bounds.since})
    if bounds.until is not None:
        queryset = queryset.filter(**{f"{at_field}__lt": bounds.until})
    keys = (
        queryset.order_by()
        .annotate(
            a_source=Value(source, output_field=CharField()), a_pk=F(pk_field), a_at=F(at_field)
        )
        .values_list("a_source", "a_pk", "a_at")
    )
    if reach and connection.features.supports_slicing_ordering_in_compound:
        # Only the newest ``reach`` rows of a source can be on the page: the database reads
        # them through the source's index on its date instead of every row of the organisation.
        keys = keys.order_by("-a_at", "-a_pk")[:reach]
    return keys


def _source_keys(source: str, *, bounds: _Bounds, reach: int) -> QuerySet[Any]:
    if source == _MILESTONE_EVENTS:
        return _keys(
            MilestoneEvent.objects.filter(
                milestone__transformation__organization_id=bounds.organization_id
            ),
            source=source,
            bounds=bounds,
            object_field="milestone_id",
            actor_field="actor_id",
            at_field="at",
            pk_field="id",
            reach=reach,
        )
    if source == _LINEAGE_EVENTS:
        return _keys(
            TeamLineageEvent.objects.filter(organization_id=bounds.organization_id),
            source=source,
            bounds=bounds,
            object_field="team_id",
            actor_field="recorded_by_id",
            at_field="created_at",
            pk_field="id",
            reach=reach,
        )
    history = _HISTORY_BY_TYPE[source]
    return _keys(
        history.history_model.objects.filter(
            **{history.organization_lookup: bounds.organization_id}
        ),
        source=source,
        bounds=bounds,
        object_field="id",
        actor_field="history_user_id",
        at_field="history_date",
        pk_field="history_id",
        reach=reach,
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _actor_id(username: str) -> int | None:
    return get_user_model().objects.filter(username=username).values_list("id", flat=True).first()


# --- the page -----------------------------------------------------------------------------------


def audit_entry_list(
    *,
    organization: Organization,
    filters: AuditFilters = AuditFilters(),
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> AuditPage:
    """Page ``page`` (from 1) of ``organization``'s audit trail, newest first, ``page_size``
    recorded changes a page (from 1 to ``MAX_PAGE_SIZE``).

    Filters: ``object_type`` (a key of ``OBJECT_TYPES``; a team's lineage events count as the
    team's), ``object_id`` (that object's id), ``actor`` (a username: what that login changed;
    an unknown username lists nothing), ``since`` / ``until`` (days, both included). The filters
    are trusted (the edges validate them). A change whose only fields are never shown (a plan's
    save that changed nothing) is left out, so a page may list fewer than ``page_size``."""
    if not 1 <= page_size <= MAX_PAGE_SIZE or page < 1:
        raise ValueError("page from 1, page_size from 1 to MAX_PAGE_SIZE")
    actor_id = None
    if filters.actor:
        actor_id = _actor_id(filters.actor)
        if actor_id is None:
            return AuditPage(entries=[], number=page, page_size=page_size, has_next=False)
    bounds = _Bounds(
        organization_id=organization.pk,
        object_id=filters.object_id,
        actor_id=actor_id,
        since=_day_start(filters.since) if filters.since else None,
        until=_day_start(filters.until + dt.timedelta(days=1)) if filters.until else None,
    )
    sources = (
        _SOURCES_OF_TYPE[filters.object_type]
        if filters.object_type
        else (
            *(source.object_type for source in _HISTORY_SOURCES),
            _MILESTONE_EVENTS,
            _LINEAGE_EVENTS,
        )
    )
    offset = (page - 1) * page_size
    reach = offset + page_size + 1
    if len(sources) == 1:
        combined = _source_keys(sources[0], bounds=bounds, reach=0)
    else:
        branches = [_source_keys(source, bounds=bounds, reach=reach) for source in sources]
        combined = branches[0].union(*branches[1:], all=True)
    keys = list(combined.order_by("-a_at", "-a_pk", "a_source")[offset:reach])
    has_next = len(keys) > page_size
    keys = keys[:page_size]
    entries = _entries(organization=organization, keys=keys)
    return AuditPage(entries=entries, number=page, page_size=page_size, has_next=has_next)


def audit_entry_iter(
    *, organization: Organization, filters: AuditFilters = AuditFilters(), batch: int = 500
) -> Iterator[AuditEntry]:
    """Every entry ``audit_entry_list`` would list, newest first, read ``batch`` at a time (for
    the CSV export: the whole trail is never held in memory)."""
    number = 1
    while True:
        page = audit_entry_list(
            organization=organization, filters=filters, page=number, page_size=batch
        )
        yield from page.entries
        if not page.has_next:
            return
        number += 1


# --- from rows to entries -----------------------------------------------------------------------


class _Labels:
    """Labels of the rows a page names, asked for by (model, id) while the entries are built once
    to collect, then fetched in one query per model, then used when they are built again."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.found: dict[type[models.Model], dict[Any, str]] = {}
        self.actor_names: dict[int, str] = {}

    def of(self, model: type[models.Model], pk: Any) -> str:
        if pk is None:
            return ""
        if model not in self.found:
            self.wanted[model].add(pk)
            return ""
        return self.found[model].get(pk, f"{model._meta.verbose_name} #{pk}")

    def fetch(self, actor_ids: set[int]) -> None:
        org = self.organization
        for model, ids in self.wanted.items():
            self.found[model] = _labels_of(model, ids=ids, organization=org)
        if actor_ids:
            self.actor_names = dict(
                Person.objects.filter(organization=org, user_id__in=actor_ids)
                .order_by("user_id", "id")
                .values_list("user_id", "name")
            )


def _labels_of(
    model: type[models.Model], *, ids: set[Any], organization: Organization
) -> dict[Any, str]:
    user_model = get_user_model()
    if model is user_model:
        return dict(user_model.objects.filter(pk__in=ids).values_list("pk", "username"))
    if model in (Team, Person, OrgUnit):
        # Strictly the organisation's own rows; ``all_objects`` includes retired teams.
        manager = Team.all_objects if model is Team else model._default_manager
        return dict(manager.filter(organization=organization, pk__in=ids).values_list("pk", "name"))
    if model is Organization:
        return {organization.pk: organization.name} if organization.pk in ids else {}
    if model is Transformation:
        return dict(
            Transformation.objects.filter(organization=organization, pk__in=ids).values_list(
                "pk", "title"
            )
        )
    return {}


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_LENGTH else text[: MAX_VALUE_LENGTH - 1] + "…"


def _masked_url(url: str) -> str:
    if not url:
        return ""
    scheme, _sep, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


def _value_text(field_obj: models.Field[Any, Any], value: Any, labels: _Labels) -> str | None:
    if value is None:
        return None
    if field_obj.name in _MASKED_URLS:
        return _masked_url(str(value))
    if _SECRET_NAME.search(field_obj.name):
        return HIDDEN
    if field_obj.is_relation and field_obj.related_model is not None:
        related: Any = field_obj.related_model
        return labels.of(related, value) or None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return _cut(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if isinstance(value, uuid.UUID):
        return str(value)
    return _cut(str(value))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _shown_fields(row: Any) -> list[models.Field[Any, Any]]:
    return [f for f in row.tracked_fields if f.editable and f.name not in _NEVER_SHOWN]


def _snapshot(row: Any, labels: _Labels, *, before: bool) -> tuple[AuditChange, ...]:
    """A created (``before`` False) or deleted row's non-empty values, as changes from or to
    nothing."""
    changes = []
    for field_obj in _shown_fields(row):
        value = getattr(row, field_obj.attname)
        if _is_empty(value) or _SECRET_NAME.search(field_obj.name):
            continue
        changes.append(
            _field_change(
                field_obj,
                value if before else _ABSENT,
                _ABSENT if before else value,
                labels,
            )
        )
    return tuple(changes)


def _diff(row: Any, previous: Any, labels: _Labels) -> tuple[AuditChange, ...]:
    by_name = {f.name: f for f in _shown_fields(row)}
    delta = row.diff_against(previous, included_fields=list(by_name))
    changes = []
    for change in delta.changes:
        changes.append(_field_change(by_name[change.field], change.old, change.new, labels))
    return tuple(changes)


_ACTIONS: Final = {"+": "created", "~": "changed", "-": "deleted"}


def _history_label(object_type: str, row: Any, labels: _Labels) -> str:
    if object_type in ("organization", "unit", "team", "person"):
        return str(row.name or getattr(row, "slug", "") or getattr(row, "email", ""))
    if object_type == "role":
        return f"{labels.of(get_user_model(), row.user_id)} as {row.role}"
    if object_type == "invitation":
        return f"invitation to {row.email}"
    if object_type == "membership":
        return f"{labels.of(Person, row.person_id)} in {labels.of(Team, row.team_id)}"
    if object_type == "serves_link":
        return f"{labels.of(Person, row.person_id)} serves {labels.of(Team, row.team_id)}"
    if object_type == "interaction":
        source, target = labels.of(Team, row.source_id), labels.of(Team, row.target_id)
        return f"{source} → {target} ({row.mode})"
    if object_type == "service":
        return f"{row.kind}:{row.slug}"
    if object_type == "transformation":
        return str(row.title)
    if object_type == "webhook_endpoint":
        return f"{row.sender} webhook"
    if object_type == "webhook_mapping":
        return f"{row.sender} {row.key} → {labels.of(Team, row.team_id)}"
    return "check-in settings"


def _actor(user: Any, labels: _Labels) -> tuple[str | None, str]:
    if user is None:
        return None, SYSTEM_ACTOR
    name = labels.actor_names.get(user.pk) or user.get_full_name() or user.username
    return user.username, name


@dataclass
class _Fetched:
    """The page's rows, by source: history rows with the version each follows, events."""

    history: dict[str, dict[int, tuple[Any, Any]]] = field(default_factory=dict)
    milestone_events: dict[int, MilestoneEvent] = field(default_factory=dict)
    lineage_events: dict[int, TeamLineageEvent] = field(default_factory=dict)

    def actor_ids(self) -> set[int]:
        ids = {
            row.history_user_id
            for rows in self.history.values()
            for row, _previous in rows.values()
            if row.history_user_id is not None
        }
        ids |= {e.actor_id for e in self.milestone_events.values() if e.actor_id is not None}
        ids |= {
            e.recorded_by_id for e in self.lineage_events.values() if e.recorded_by_id is not None
        }
        return ids


def _fetch(*, organization: Organization, keys: Sequence[tuple[str, int, Any]]) -> _Fetched:
    ids_by_source: dict[str, list[int]] = defaultdict(list)
    for source, pk, _at in keys:
        ids_by_source[source].append(pk)
    fetched = _Fetched()
    for source, ids in ids_by_source.items():
        if source == _MILESTONE_EVENTS:
            fetched.milestone_events = (
                MilestoneEvent.objects.filter(
                    pk__in=ids, milestone__transformation__organization=organization
                )
                .select_related("milestone", "actor")
                .in_bulk()
            )
        elif source == _LINEAGE_EVENTS:
            fetched.lineage_events = (
                TeamLineageEvent.objects.filter(pk__in=ids, organization=organization)
                .select_related("team", "successor", "recorded_by")
                .in_bulk()
            )
        else:
            fetched.history[source] = _history_rows(_HISTORY_BY_TYPE[source], ids=ids)
    return fetched


def _history_rows(source: _HistorySource, *, ids: list[int]) -> dict[int, tuple[Any, Any]]:
    """The history rows ``ids`` with the version each follows (None for a first version), in two
    queries."""
    model = source.history_model
    older = (
        model.objects.filter(id=OuterRef("id"))
        .filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    rows = list(
        model.objects.filter(history_id__in=ids)
        .select_related("history_user")
        .annotate(previous_id=Subquery(older))
    )
    wanted = [row.previous_id for row in rows if row.history_type == "~" and row.previous_id]
    previous = model.objects.in_bulk(wanted) if wanted else {}
    return {row.history_id: (row, previous.get(row.previous_id)) for row in rows}


def _entries(
    *, organization: Organization, keys: Sequence[tuple[str, int, Any]]
) -> list[AuditEntry]:
    if not keys:
        return []
    fetched = _fetch(organization=organization, keys=keys)
    labels = _Labels(organization)
    # Built once to learn which labels the page needs, then again with them.
    _build(keys=keys, fetched=fetched, labels=labels)
    labels.fetch(fetched.actor_ids())
    return _build(keys=keys, fetched=fetched, labels=labels)


def _build(
    *, keys: Sequence[tuple[str, int, Any]], fetched: _Fetched, labels: _Labels
) -> list[AuditEntry]:
    entries = []
    for source, pk, _at in keys:
        entry: AuditEntry | None
        if source == _MILESTONE_EVENTS:
            event = fetched.milestone_events.get(pk)
            entry = _milestone_entry(event, labels) if event else None
        elif source == _LINEAGE_EVENTS:
            lineage = fetched.lineage_events.get(pk)
            entry = _lineage_entry(lineage, labels) if lineage else None
        else:
            found = fetched.history.get(source, {}).get(pk)
            entry = _history_entry(source, *found, labels) if found else None
        if entry is not None:
            entries.append(entry)
    return entries


def _history_entry(object_type: str, row: Any, previous: Any, labels: _Labels) -> AuditEntry | None:
    action = _ACTIONS.get(row.history_type, row.history_type)
    if row.history_type == "-":
        changes = _snapshot(row, labels, before=True)
    elif row.history_type == "~" and previous is not None:
        changes = _diff(row, previous, labels)
    else:
        # Created, or changed with no earlier version kept: what it holds.
        changes = _snapshot(row, labels, before=False)
    reason = row.history_change_reason or ""
    if row.history_type == "~" and not changes and not reason:
        # A save that changed nothing shown (a plan's forecast recomputed to the same dates).
        return None
    username, name = _actor(row.history_user, labels)
    return AuditEntry(
        at=row.history_date,
        actor=username,
        actor_name=name,
        object_type=object_type,
        object_id=row.id,
        object_label=_history_label(object_type, row, labels),
        action=action,
        changes=changes,
        reason=reason,
    )


# What a milestone event's ``data`` "from" and "to" are, per kind.
_EVENT_FROM_TO: Final = {"reassigned": "owner", "rescheduled": "forecast_due"}


def _data_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _cut(value)
    return _cut(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _milestone_entry(event: MilestoneEvent, labels: _Labels) -> AuditEntry:
    changes: list[AuditChange] = []
    if event.from_status or event.to_status:
        statuses = dict(MilestoneStatus.choices)
        changes.append(
            AuditChange(
                field="status",
                before=event.from_status or None,
                after=event.to_status or None,
                before_words=statuses.get(event.from_status),
                after_words=statuses.get(event.to_status),
            )
        )
    data = event.data if isinstance(event.data, dict) else {}
    named = _EVENT_FROM_TO.get(event.kind)
    if named and ("from" in data or "to" in data):
        changes.append(
            AuditChange(
                field=named, before=_data_text(data.get("from")), after=_data_text(data.get("to"))
            )
        )
    else:
        changes.extend(
            AuditChange(field=str(key), before=None, after=_data_text(value))
            for key, value in sorted(data.items())
        )
    username, name = _actor(event.actor, labels)
    milestone = event.milestone
    return AuditEntry(
        at=event.at,
        actor=username,
        actor_name=name,
        object_type="milestone",
        object_id=milestone.pk,
        object_label=f"{milestone.key}: {milestone.title}",
        action=event.kind,
        changes=tuple(changes),
        reason=event.reason,
    )


def _lineage_entry(event: TeamLineageEvent, labels: _Labels) -> AuditEntry:
    changes: list[AuditChange] = []
    if event.old_slug or event.new_slug:
        changes.append(
            AuditChange(field="slug", before=event.old_slug or None, after=event.new_slug or None)
        )
    if event.successor is not None:
        changes.append(AuditChange(field="successor", before=None, after=event.successor.name))
    changes.append(
        AuditChange(
            field="occurred_at",
            before=None,
            after=timezone.localtime(event.occurred_at).isoformat(timespec="seconds"),
        )
    )
    username, name = _actor(event.recorded_by, labels)
    return AuditEntry(
        at=event.created_at,
        actor=username,
        actor_name=name,
        object_type="team",
        object_id=event.team_id,
        object_label=event.team.name,
        action=event.kind,
        changes=tuple(changes),
        reason=event.reason,
    )


def object_type_choices() -> list[tuple[str, str]]:
    """``OBJECT_TYPES`` as form and serializer choices."""
    return list(OBJECT_TYPES.items())
