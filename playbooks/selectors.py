"""Reads of the playbook library: an organisation sees its own playbooks and the built-in ones.

Built-ins are synced from ``playbooks/library/`` on every read (one query when nothing changed),
so they are always available without a setup step.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Q, QuerySet

from core.errors import ApplicationError, NotFoundError
from playbooks.models import Playbook
from playbooks.services import builtin_playbooks_sync
from teams.access import OrgAccess
from teams.models import Organization


def playbook_list(*, organization: Organization) -> QuerySet[Playbook]:
    """Every version of the organisation's own playbooks and of the built-ins, by key then newest
    version first. The YAML ``source`` is deferred: lists do not show it."""
    builtin_playbooks_sync()
    return (
        Playbook.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .defer("source")
        .order_by("key", "-version")
    )


def playbook_versions(*, organization: Organization, key: str) -> QuerySet[Playbook]:
    """The versions of playbook ``key`` visible to the organisation, newest first.

    The organisation's own playbook wins over a built-in of the same key (uploads cannot take a
    built-in key, but a built-in added later to the library may).
    """
    builtin_playbooks_sync()
    own = Playbook.objects.filter(organization=organization, key=key)
    if own.exists():
        return own.order_by("-version")
    return Playbook.objects.filter(organization__isnull=True, key=key).order_by("-version")


def playbook_titles(*, organization: Organization, keys: Iterable[str]) -> dict[str, str]:
    """The title of the version ``playbook_get`` would take for each known key (the organisation's
    own playbook over a built-in, newest version): one query for any number of keys. Titles are
    labels, so the built-ins are not synced here: a key not stored yet has no title."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = (
        Playbook.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .filter(key__in=wanted)
        # Per key: the organisation's own rows before the built-in ones, newest version first.
        .order_by("key", F("organization_id").asc(nulls_last=True), "-version")
        .values_list("key", "title")
    )
    titles: dict[str, str] = {}
    for key, title in rows:
        titles.setdefault(key, title)
    return titles


def _find(*, organization: Organization, key: str, version: int | None) -> Playbook | None:
    versions = playbook_versions(organization=organization, key=key)
    if version is not None:
        versions = versions.filter(version=version)
    return versions.first()


def playbook_get(*, organization: Organization, key: str, version: int | None = None) -> Playbook:
    """The organisation's own playbook ``key`` or a built-in one; the latest version when
    ``version`` is None. Raises ApplicationError (400) naming the key and version when unknown."""
    playbook = _find(organization=organization, key=key, version=version)
    if playbook is None:
        known = sorted(set(playbook_list(organization=organization).values_list("key", flat=True)))
        which = f"{key!r}" if version is None else f"{key!r} version {version}"
        raise ApplicationError(
            f"No playbook {which}; known playbooks: {', '.join(known) or 'none'}.",
            extra={"fields": {"playbook": [f"Unknown playbook {which}."]}},
        )
    return playbook


def playbook_get_for_user(*, access: OrgAccess, key: str, version: int | None = None) -> Playbook:
    """Like ``playbook_get`` for an API caller: ``NotFoundError`` (404) when unknown."""
    playbook = _find(organization=access.organization, key=key, version=version)
    if playbook is None:
        which = f"'{key}'" if version is None else f"'{key}' version {version}"
        raise NotFoundError(f"No playbook {which}.")
    return playbook
