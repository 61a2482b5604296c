"""The sent journal: a note, outside the worker process, of every message a server accepted and
whose row is not recorded sent yet (docs/delivery.md, "At most once, and the one exception").

Sent rows are recorded in the database together, one UPDATE per ``DELIVERY_MARK_EVERY``
messages. So that a worker killed between two records does not leave its accepted messages to be
sent again, each one is first noted here, right after the server accepted it, with ONE cache SET
(``outbox:sent:<id>`` -> the claimer and the moment). A claimer taking over rows still
``sending`` (a stale claim, or a redelivered task's own rows) reads their notes with ONE
``get_many`` and records the noted ones sent instead of sending them again. The notes are
deleted once the row's UPDATE has run; those of a dead worker expire after ``JOURNAL_SECONDS``.

The journal only helps when it outlives the worker: a cache shared by every process (Redis, with
``REDIS_URL``). With a per-process cache (locmem, dummy) it is off, and ``DELIVERY_MARK_EVERY``
"auto" records every message on its own instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# Cache backends every worker process reads and writes alike, and that keep a key until it
# expires (memcached may evict any key under memory pressure, so it is not one).
REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
SHARED_BACKENDS = frozenset({REDIS_BACKEND})

# Well beyond the claim timeout (10 min) and the retry horizon (15 min): a note is only read when
# its row is claimed again, which a stopped cluster may delay by days.
JOURNAL_SECONDS = 7 * 24 * 3600

# Sent rows per UPDATE when DELIVERY_MARK_EVERY is "auto" and the journal is on.
MARK_EVERY_WITH_JOURNAL = 25


def _key(pk: int) -> str:
    return f"outbox:sent:{pk}"


def journal_shared() -> bool:
    """Whether the default cache is shared by every process, so a note survives its worker."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    return backend in SHARED_BACKENDS


def delivery_mark_every() -> int:
    """Sent rows recorded per UPDATE: ``DELIVERY_MARK_EVERY`` when it is a number; for "auto"
    (the default) ``MARK_EVERY_WITH_JOURNAL`` with a shared cache, else 1 (every message on its
    own, the only way to keep the guarantee without the journal)."""
    value = settings.DELIVERY_MARK_EVERY
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return max(1, int(value))
    return MARK_EVERY_WITH_JOURNAL if journal_shared() else 1


def journal_note(pk: int, *, claimed_by: str, sent_at: dt.datetime) -> None:
    """Note that ``pk``'s message was accepted while claimed by ``claimed_by``. Raises what the
    cache raises (the caller then records the row at once)."""
    cache.set(_key(pk), (claimed_by, sent_at.isoformat()), timeout=JOURNAL_SECONDS)


def journal_forget(pks: Iterable[int]) -> None:
    """Delete the notes of rows now recorded sent (one round trip); a failure only leaves them
    to expire."""
    keys = [_key(pk) for pk in pks]
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except Exception:  # the notes expire by themselves
        logger.warning("could not delete %s sent-journal notes", len(keys), exc_info=True)


def journal_sent(claims: dict[int, str]) -> dict[int, dt.datetime] | None:
    """Among ``claims`` (row id -> its current ``claimed_by``), the rows noted as accepted under
    that same claim, with the moment: ONE ``get_many``. A note under another claimer is ignored
    (it cannot be this row's: ids are never reused, but a restored database could). None when the
    journal cannot be read: the caller must then not send those rows."""
    if not claims:
        return {}
    try:
        notes = cache.get_many([_key(pk) for pk in claims])
    except Exception:
        logger.warning("could not read the sent journal", exc_info=True)
        return None
    sent: dict[int, dt.datetime] = {}
    for pk, claimed_by in claims.items():
        note = notes.get(_key(pk))
        if isinstance(note, tuple) and len(note) == 2 and note[0] == claimed_by:
            sent[pk] = dt.datetime.fromisoformat(note[1])
    return sent
