"""Privacy erasure: a person's name and e-mail replaced by a pseudonym everywhere, history included
(docs/privacy.md).

``person_erase`` keeps the rule of ``teams.lifecycle`` that nothing measured is deleted: the
person's row, their evidence (check-ins, deliveries, verifications) and every anonymous figure
stay, only what names them changes. It

- makes them a leaver first (``person_leave``), so it is refused (409) while they own open
  milestones or lead a transformation: an erasure cannot be undone, and a plan whose owner is
  "Erased person 7f3a…" is a plan nobody owns; reassign, then erase;
- rewrites every historical row of the person in place (django-simple-history stores whole rows,
  so the old rows would otherwise keep the name), then saves the person with the pseudonym under
  the change reason ``privacy erasure``: the audit trail shows that an erasure took place, when
  and by whom, and nothing of what was erased;
- replaces, in every text and JSON column of every model that belongs to the organisation (found
  through the app registry, so this app imports nothing of ``transform`` and a model added later
  is covered too), each e-mail address the person ever had (case-insensitive) and each full name
  they ever had (case-sensitive, as a whole word) by the pseudonym: delivery payloads and errors,
  milestone events and changes, notes, reasons, signal events, survey comments. Numbers, and so
  every score and readiness figure, are untouched. Other people's rows of the person table are
  never rewritten (a namesake keeps their name), nor are slugs or choice values;
- pseudonymises their login (username, names, e-mail), makes it unusable and deletes its API
  tokens, unless the login is also someone in another organisation: then this person is only
  unlinked from it, and the login stays theirs;
- rewrites the admin log's entries about the person and their login, and any that shows one of
  their e-mail addresses.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from teams.lifecycle import person_leave
from teams.models import Organization, Person, topology_changed
from teams.services import history_user_set

ERASURE_REASON = "privacy erasure"
ERASED_EMAIL_DOMAIN = "erased.invalid"
# How far a model may be from its organisation (a milestone event: milestone, transformation).
ORGANIZATION_DEPTH = 3

Login = Literal["pseudonymised", "unlinked", "none"]


@dataclass(frozen=True, slots=True)
class PersonErasure:
    """What ``person_erase`` did: the pseudonymised ``person``, the rows rewritten per table
    (``{"transform.Delivery": 3, ...}``, the person's own rows included) and what became of
    their login. ``already`` when the person had been erased before (nothing was changed)."""

    person: Person
    rewritten: dict[str, int] = field(default_factory=dict)
    login: Login = "none"
    already: bool = False


@dataclass(frozen=True, slots=True)
class _Needles:
    """What identifies the person in text, and the pseudonym that replaces it."""

    emails: list[str]
    names: list[str]
    pseudonym_email: str
    pseudonym_name: str

    def patterns(self) -> list[tuple[re.Pattern[str], str]]:
        # Longest first, so a longer name is replaced before a shorter one it contains.
        found = [
            (re.compile(re.escape(email), re.IGNORECASE), self.pseudonym_email)
            for email in sorted(self.emails, key=len, reverse=True)
        ]
        found += [
            (re.compile(rf"(?<!\w){re.escape(name)}(?!\w)"), self.pseudonym_name)
            for name in sorted(self.names, key=len, reverse=True)
        ]
        return found

    def searched(self, *, json_column: bool) -> list[str]:
        """The substrings a SQL ``icontains`` pre-filter looks for; in a JSON column also their
        JSON-escaped forms (SQLite stores non-ASCII text as ``\\u00eb``)."""
        words = [*self.emails, *self.names]
        if json_column:
            words += [json.dumps(word)[1:-1] for word in words]
        return sorted(set(words))


def _pseudonym() -> tuple[str, str]:
    token = secrets.token_hex(8)
    return f"Erased person {token[:8]}", f"erased-{token}@{ERASED_EMAIL_DOMAIN}"


def _needles(person: Person) -> _Needles:
    """Every e-mail and full name the person (and their login) was ever recorded with."""
    history = Person.history.model.objects.filter(id=person.pk)
    emails = {person.email, *history.values_list("email", flat=True)}
    names = {person.name, *history.values_list("name", flat=True)}
    if person.user is not None:
        emails.add(person.user.email)
        names.add(person.user.get_full_name())
    pseudonym_name, pseudonym_email = _pseudonym()
    return _Needles(
        emails=sorted(email.strip() for email in emails if email and email.strip()),
        names=sorted(name.strip() for name in names if name and name.strip()),
        pseudonym_email=pseudonym_email,
        pseudonym_name=pseudonym_name,
    )


def _scrubber(needles: _Needles) -> Callable[[Any], Any]:
    patterns = needles.patterns()

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for pattern, replacement in patterns:
                value = pattern.sub(replacement, value)
            return value
        if isinstance(value, list):
            return [scrub(item) for item in value]
        if isinstance(value, dict):
            return {scrub(key): scrub(item) for key, item in value.items()}
        return value

    return scrub


# --- where the organisation's text lives --------------------------------------------------------


def _text_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The columns that may hold free text: characters and JSON, not slugs or choice values
    (identifiers whose shape other code relies on)."""
    return [
        column
        for column in model._meta.concrete_fields
        if isinstance(column, models.CharField | models.TextField | models.JSONField)
        and not isinstance(column, models.SlugField)
        and not column.choices
    ]


def _organization_lookup(model: type[models.Model]) -> str | None:
    """The lookup from ``model`` to its organisation (``"organization"``,
    ``"milestone__transformation__organization"``), through non-null links on the way; None when
    it belongs to none within ``ORGANIZATION_DEPTH`` steps (logins, sessions, the admin log)."""
    level: list[tuple[type[models.Model], str]] = [(model, "")]
    for _depth in range(ORGANIZATION_DEPTH):
        following = []
        for current, prefix in level:
            for column in current._meta.concrete_fields:
                target = column.related_model
                if not (column.many_to_one or column.one_to_one) or not isinstance(target, type):
                    continue
                if issubclass(target, Organization):
                    return f"{prefix}{column.name}"
                # A null link proves nothing; historical rows' organisation is nullable (and
                # found above), their other links are not followed.
                if not column.null:
                    following.append((target, f"{prefix}{column.name}__"))
        level = following
    return None


def _organization_models() -> Iterable[tuple[type[models.Model], str, list[Any]]]:
    """(model, lookup to its organisation, text columns) for every model with both; the person
    table and its history are left out (the person's own rows are rewritten whole, others'
    never)."""
    skipped = {Person, Person.history.model, Organization}
    for model in apps.get_models(include_auto_created=True):
        if model in skipped or model._meta.proxy:
            continue
        columns = _text_fields(model)
        lookup = _organization_lookup(model) if columns else None
        if columns and lookup is not None:
            yield model, lookup, columns


def _rewrite_rows(
    queryset: models.QuerySet[Any],
    columns: list[Any],
    needles: _Needles,
    scrub: Callable[[Any], Any],
) -> int:
    """Scrub ``columns`` of the rows of ``queryset`` that mention the person; one UPDATE per
    changed row, without ``save()`` (no signal, no history row: these are corrections of what
    was recorded, not changes of the organisation). Returns the rows changed."""
    mentions = Q()
    for column in columns:
        for word in needles.searched(json_column=isinstance(column, models.JSONField)):
            mentions |= Q(**{f"{column.attname}__icontains": word})
    names = [column.attname for column in columns]
    changed = 0
    for row in queryset.filter(mentions).values("pk", *names):
        updates = {}
        for column in columns:
            old = row[column.attname]
            new = scrub(old)
            if new != old:
                limit = getattr(column, "max_length", None)
                updates[column.attname] = new[:limit] if limit and isinstance(new, str) else new
        if updates:
            queryset.model._base_manager.filter(pk=row["pk"]).update(**updates)
            changed += 1
    return changed


# --- the login ------------------------------------------------------------------------------------


def _login_erase(person: Person, needles: _Needles) -> Login:
    user = person.user
    if user is None:
        return "none"
    if (
        Person.objects.filter(user=user, erased_at__isnull=True)
        .exclude(organization_id=person.organization_id)
        .exists()
    ):
        # The login is also someone in another organisation, which this erasure does not cover.
        person.user = None
        return "unlinked"
    user.username = needles.pseudonym_email
    user.email = needles.pseudonym_email
    user.first_name = needles.pseudonym_name
    user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    Token.objects.filter(user=user).delete()
    return "pseudonymised"


def _log_entries_rewrite(
    person: Person, user: User | None, needles: _Needles, scrub: Callable[[Any], Any]
) -> int:
    about = Q(content_type=ContentType.objects.get_for_model(Person), object_id=str(person.pk))
    if user is not None:
        about |= Q(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk))
    for email in needles.emails:
        about |= Q(object_repr__icontains=email) | Q(change_message__icontains=email)
    columns = [LogEntry._meta.get_field("object_repr"), LogEntry._meta.get_field("change_message")]
    return _rewrite_rows(LogEntry.objects.filter(about), columns, needles, scrub)


# Lookups about the person that are not evidence, kept by apps teams knows nothing of (a chat
# account id found by e-mail, say): each is called in the erasure's transaction and deletes
# them, returning (model label, rows deleted). Registered by those apps (``transform``).
ErasureForget = Callable[[Person], tuple[str, int]]
erasure_forgets: list[ErasureForget] = []


# --- the service ----------------------------------------------------------------------------------


@transaction.atomic
def person_erase(*, person: Person, actor: User | None = None) -> PersonErasure:
    """Replace ``person``'s name and e-mail by a pseudonym everywhere (module docstring).

    The person becomes a leaver (if not one already) and ``erased_at`` is set. Refused with
    ``ConflictError`` (409) while they own open milestones or lead a transformation, listing
    them; nothing is changed then. Erasing an erased person changes nothing (``already``).
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.erased_at is not None:
        return PersonErasure(person=person, already=True)
    # The rewrites below are queryset updates, which send no model signals: the cached analysis
    # (which shows names and e-mails) is invalidated here, in this transaction.
    topology_changed(organization_id=person.organization_id)
    person_leave(person=person, source="command", actor=actor)
    person.refresh_from_db()
    needles = _needles(person)
    scrub = _scrubber(needles)
    rewritten: Counter[str] = Counter()

    for forget in erasure_forgets:
        label, deleted = forget(person)
        if deleted:
            rewritten[label] += deleted

    for model, lookup, columns in _organization_models():
        rows = model._base_manager.filter(**{lookup: person.organization_id})
        count = _rewrite_rows(rows, columns, needles, scrub)
        if count:
            rewritten[model._meta.label] += count

    user = person.user
    login = _login_erase(person, needles)
    if login == "pseudonymised":
        rewritten["auth.User"] += 1
    log_rows = _log_entries_rewrite(person, user, needles, scrub)
    if log_rows:
        rewritten["admin.LogEntry"] += log_rows

    history = Person.history.model
    for row in history.objects.filter(id=person.pk).values("pk", "history_change_reason"):
        history.objects.filter(pk=row["pk"]).update(
            name=needles.pseudonym_name,
            email=needles.pseudonym_email,
            history_change_reason=scrub(row["history_change_reason"]),
        )
        rewritten[history._meta.label] += 1

    person.name = needles.pseudonym_name
    person.email = needles.pseudonym_email
    person.erased_at = timezone.now()
    history_user_set(person, actor)
    person._change_reason = ERASURE_REASON  # type: ignore[attr-defined]
    person.save(update_fields=["name", "email", "erased_at", "user", "updated_at"])
    rewritten[Person._meta.label] += 1
    return PersonErasure(person=person, rewritten=dict(sorted(rewritten.items())), login=login)


__all__ = ["ERASURE_REASON", "ErasureForget", "PersonErasure", "erasure_forgets", "person_erase"]
