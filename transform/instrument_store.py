"""Where a check-in finds the instrument it asks: an organisation's own version, else a stored
built-in, else the built-in library on disk (so nothing needs syncing before the first survey).
Also stores instruments: the built-in library (``instruments_builtin_sync``) and an
organisation's own uploads (``instrument_upload``), and lists them (``instrument_list``).

Instruments are immutable per key@version, so a check-in records ``[key, version]`` when it is
created and its answers are always validated and scored against that exact version
(docs/responses.md#adding-an-instrument).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet

from teams.importers.yamlio import read_text
from teams.models import Organization
from transform.errors import ApplicationError, ConflictError
from transform.instruments import (
    LIBRARY_DIR,
    InstrumentError,
    InstrumentSpec,
    builtin_instruments,
    instrument_parse,
)
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
        return _parsed(row.key, row.version, row.source)
    if library is not None:
        return library
    wanted = key if version is None else f"{key}@{version}"
    raise ApplicationError(
        f"No instrument {wanted} in organisation '{organization.slug}' or the built-in library.",
        extra={"fields": {"instrument": [f"unknown instrument {wanted}"]}},
    )


@functools.lru_cache(maxsize=256)
def _parsed(key: str, version: int, source: str) -> InstrumentSpec:
    # Stored versions never change, so a parsed source can be reused for the process's life.
    return instrument_parse(f"instrument {key}@{version}", source)


@dataclass(frozen=True, slots=True)
class _LibraryFile:
    path: str
    text: str
    spec: InstrumentSpec


@functools.cache
def _library_files() -> tuple[_LibraryFile, ...]:
    files = []
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        text = read_text(path)
        files.append(
            _LibraryFile(path=str(path), text=text, spec=instrument_parse(str(path), text))
        )
    return tuple(files)


def instruments_builtin_sync() -> int:
    """Store every instrument of the built-in library (``transform/instrument_library/``) as a
    built-in row (organization null); returns how many rows were new. Idempotent and safe to run
    concurrently (the unique constraint decides); one query when everything is stored."""
    files = _library_files()
    stored = set(Instrument.objects.filter(organization__isnull=True).values_list("key", "version"))
    missing = [file for file in files if (file.spec.key, file.spec.version) not in stored]
    if missing:
        Instrument.objects.bulk_create(
            [
                Instrument(
                    organization=None,
                    key=file.spec.key,
                    version=file.spec.version,
                    title=file.spec.title,
                    kind=file.spec.kind,
                    source=file.text,
                )
                for file in missing
            ],
            ignore_conflicts=True,
        )
    return len(missing)


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


def instrument_error(exc: InstrumentError) -> ApplicationError:
    """The API form of an invalid instrument file: the message names file, line and field;
    ``extra`` carries ``file``, ``line``, ``path``, every problem found (``errors``) and
    ``fields`` (``{"source": [message]}``)."""
    origin = exc.origin
    file = origin if isinstance(origin, str) else (origin.path if origin else None)
    line = getattr(origin, "line", None)
    message = f"Invalid instrument: {exc}"
    return ApplicationError(
        message,
        extra={
            "file": file,
            "line": line,
            "path": exc.field,
            "errors": [
                {"file": where.path, "line": where.line, "path": field, "message": problem}
                for where, field, problem in exc.problems
            ],
            "fields": {"source": [str(exc)]},
        },
    )


def instrument_upload(
    *, organization: Organization, path: str, text: str
) -> tuple[Instrument, bool]:
    """Validate the instrument in ``text`` (read from ``path``) and store it as the organisation's
    own; returns the row and whether it was created now.

    Raises ApplicationError (400, naming file, line and field) when the file is invalid;
    ConflictError (409) when key@version is a built-in's (an organisation's own version of a
    built-in key needs a higher version) or is already stored with a different definition (a
    stored version never changes: bump the version). The same definition uploaded again returns
    the stored row unchanged."""
    try:
        spec = instrument_parse(path, text)
    except InstrumentError as exc:
        raise instrument_error(exc) from None
    instruments_builtin_sync()
    builtin_versions = set(
        Instrument.objects.filter(organization__isnull=True, key=spec.key).values_list(
            "version", flat=True
        )
    )
    library = builtin_instruments().get(spec.key)
    if library is not None:
        builtin_versions.add(library.version)
    if spec.version in builtin_versions:
        raise ConflictError(
            f"{path}: {spec.key}@{spec.version} is a built-in instrument; an organisation's own "
            f"version of '{spec.key}' needs a version above {max(builtin_versions)}.",
            extra={"file": path, "line": None, "path": "version"},
        )
    existing = Instrument.objects.filter(
        organization=organization, key=spec.key, version=spec.version
    ).first()
    if existing is None:
        try:
            with transaction.atomic():
                row = Instrument.objects.create(
                    organization=organization,
                    key=spec.key,
                    version=spec.version,
                    title=spec.title,
                    kind=spec.kind,
                    source=text,
                )
            return row, True
        except IntegrityError:
            # A concurrent upload of the same version won the unique constraint.
            existing = Instrument.objects.filter(
                organization=organization, key=spec.key, version=spec.version
            ).first()
            if existing is None:
                raise
    if _parsed(existing.key, existing.version, existing.source) != spec:
        latest = (
            Instrument.objects.filter(organization=organization, key=spec.key)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        ) or spec.version
        raise ConflictError(
            f"{path}: instrument {spec.key}@{spec.version} is already stored with a different "
            f"definition, and a stored version never changes; bump the version (e.g. version: "
            f"{latest + 1}) to store the new questions.",
            extra={"file": path, "line": None, "path": "version"},
        )
    return existing, False
