"""Where a check-in finds the instrument it asks: an organisation's own version, else a stored
built-in, else the built-in library on disk (so nothing needs syncing before the first survey);
and the list of an organisation's instruments.

Instruments are immutable per key@version, so a check-in records ``[key, version]`` when it is
created and its answers are always validated and scored against that exact version
(docs/responses.md#adding-an-instrument).
"""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from core.errors import ApplicationError
from teams.models import Organization
from transform.instruments.format import (
    InstrumentSpec,
    builtin_instruments,
    instrument_from_source,
)
from transform.instruments.services import instruments_builtin_sync
from transform.models import Instrument


def _stored(*, organization: Organization, key: str, version: int | None) -> Instrument | None:
    rows = Instrument.objects.filter(Q(organization=organization) | Q(organization=None), key=key)
    if version is not None:
        rows = rows.filter(version=version)
    # An organisation's own definition wins over a built-in of the same key and version (NULL
    # sorts first on some databases and last on others, hence the explicit nulls_last).
    return rows.order_by("-version", F("organization_id").asc(nulls_last=True)).first()


def instrument_get(
    *, organization: Organization, key: str, version: int | None = None
) -> InstrumentSpec:
    """The instrument ``key`` at ``version`` (the latest when None) for ``organization``.

    Raises ApplicationError naming the key when there is no such instrument."""
    row = _stored(organization=organization, key=key, version=version)
    library = builtin_instruments().get(key)
    if library is not None and version is not None and library.version != version:
        library = None
    if row is not None and (library is None or row.version >= library.version):
        return instrument_from_source(row.key, row.version, row.source)
    if library is not None:
        return library
    wanted = key if version is None else f"{key}@{version}"
    raise ApplicationError(
        f"No instrument {wanted} in organisation '{organization.slug}' or the built-in library.",
        extra={"fields": {"instrument": [f"unknown instrument {wanted}"]}},
    )


def instrument_list(*, organization: Organization) -> QuerySet[Instrument]:
    """The built-in instruments and the organisation's own, every version: by key, the latest
    version first (the organisation's own before a built-in of the same version). The YAML
    ``source`` is deferred: lists do not show it."""
    instruments_builtin_sync()
    return (
        Instrument.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .defer("source")
        .order_by("key", "-version", F("organization_id").asc(nulls_last=True), "id")
    )
