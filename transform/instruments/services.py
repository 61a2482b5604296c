"""Writes of instruments: storing the built-in library (``instruments_builtin_sync``) and an
organisation's own uploads (``instrument_upload``). A stored key@version never changes."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from core.errors import ConflictError
from core.files.validation import file_format_error
from core.files.yamlio import read_text
from teams.models import Organization
from transform.instruments.format import (
    LIBRARY_DIR,
    InstrumentError,
    InstrumentSpec,
    builtin_instruments,
    instrument_from_source,
    instrument_parse,
)
from transform.models import Instrument


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
    """Store every instrument of the built-in library (``transform/instruments/library/``) as a
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
        raise file_format_error(exc, what="instrument", fields={"source": [str(exc)]}) from None
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
    # get_or_create: a concurrent upload of the same version loses the unique constraint and then
    # reads the winner's row.
    existing, created = Instrument.objects.get_or_create(
        organization=organization,
        key=spec.key,
        version=spec.version,
        defaults={"title": spec.title, "kind": spec.kind, "source": text},
    )
    if created:
        return existing, True
    if instrument_from_source(existing.key, existing.version, existing.source) != spec:
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
