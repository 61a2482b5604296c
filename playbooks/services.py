"""Writes of the playbook library: loading a playbook file and syncing the built-in library.

A stored playbook never changes: ``key`` + ``version`` name one content forever (transformations
copy milestones from it). Loading the same content again is a no-op; loading different content
under a stored key and version is refused with a request to bump the version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q

from core.errors import ApplicationError
from core.files.validation import file_format_error
from playbooks.format import PlaybookError, PlaybookSpec, playbook_parse
from playbooks.models import Playbook
from teams.models import Organization

# The built-in playbooks, available to every organisation.
LIBRARY_DIR = Path(__file__).resolve().parent / "library"


def playbook_load(*, organization: Organization | None, path: str, text: str) -> Playbook:
    """Validate the playbook in ``text`` (read from ``path``) and store it for ``organization``
    (None: a built-in). See ``playbook_load_or_get`` for the rules."""
    playbook, _created = playbook_load_or_get(organization=organization, path=path, text=text)
    return playbook


def playbook_load_or_get(
    *, organization: Organization | None, path: str, text: str
) -> tuple[Playbook, bool]:
    """The stored playbook for ``text`` and whether it was created now.

    Everything is validated before anything is stored. Raises ApplicationError when the file is
    invalid (message and ``extra`` name file, line and field), when the organisation's key is the
    key of a built-in playbook, or when the same key and version is already stored with different
    content (bump the version). The same content loaded again returns the stored row unchanged.
    """
    try:
        spec = playbook_parse(path, text)
    except PlaybookError as exc:
        raise file_format_error(exc, what="playbook") from None
    if organization is not None:
        builtin_playbooks_sync()
        if Playbook.objects.filter(organization__isnull=True, key=spec.key).exists():
            raise ApplicationError(
                f"{path}: key {spec.key!r} is the key of a built-in playbook; choose another key "
                "for the organisation's own playbook.",
                extra={"file": path, "line": None, "path": "key"},
            )
    return _store(organization=organization, path=path, text=text, spec=spec)


def _store(
    *, organization: Organization | None, path: str, text: str, spec: PlaybookSpec
) -> tuple[Playbook, bool]:
    definition = spec.model_dump(mode="json")
    # get_or_create: a concurrent load of the same version loses the unique constraint and then
    # reads the winner's row.
    playbook, created = Playbook.objects.get_or_create(
        organization=organization,
        key=spec.key,
        version=spec.version,
        defaults={
            "title": spec.title,
            "summary": spec.summary,
            "definition": definition,
            "source": text,
        },
    )
    if not created and playbook.definition != definition:
        raise _version_clash(organization=organization, path=path, spec=spec)
    return playbook, created


def _version_clash(
    *, organization: Organization | None, path: str, spec: PlaybookSpec
) -> ApplicationError:
    latest = (
        Playbook.objects.filter(organization=organization, key=spec.key)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    ) or spec.version
    return ApplicationError(
        f"{path}: playbook {spec.key!r} version {spec.version} is already stored with different "
        f"content, and a stored version never changes; bump the version (e.g. version: "
        f"{latest + 1}) to store the new content.",
        extra={"file": path, "line": None, "path": "version"},
    )


@dataclass(frozen=True, slots=True)
class _LibraryFile:
    path: str
    text: str
    spec: PlaybookSpec


# Parsed library files, keyed by the directory's fingerprint (names, sizes, modification times):
# the selector syncs on every read, and parsing YAML is the expensive part.
_library_cache: dict[Any, list[_LibraryFile]] = {}


def _library_files(library_dir: Path) -> list[_LibraryFile]:
    paths = sorted(library_dir.glob("*.yaml")) if library_dir.is_dir() else []
    fingerprint = (
        str(library_dir),
        tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in paths),
    )
    cached = _library_cache.get(fingerprint)
    if cached is not None:
        return cached
    files = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            spec = playbook_parse(str(path), text)
        except PlaybookError as exc:
            raise file_format_error(exc, what="playbook") from None
        files.append(_LibraryFile(str(path), text, spec))
    keys: dict[tuple[str, int], str] = {}
    for file in files:
        first = keys.setdefault((file.spec.key, file.spec.version), file.path)
        if first != file.path:
            raise ApplicationError(
                f"{file.path}: playbook {file.spec.key!r} version {file.spec.version} is also "
                f"defined by {first}.",
                extra={"file": file.path, "line": None, "path": "key"},
            )
    _library_cache.clear()
    _library_cache[fingerprint] = files
    return files


def builtin_playbooks_sync(*, library_dir: Path | None = None) -> list[Playbook]:
    """Store every playbook of the built-in library (``playbooks/library/*.yaml``); idempotent.

    Every file is validated before anything is stored. Costs one query when everything is
    already stored. Raises ApplicationError when a library file is invalid or a stored built-in
    version differs from its file (the file was edited without bumping the version).
    """
    files = _library_files(library_dir or LIBRARY_DIR)
    if not files:
        return []
    wanted = Q()
    for file in files:
        wanted |= Q(key=file.spec.key, version=file.spec.version)
    stored = {
        (playbook.key, playbook.version): playbook
        for playbook in Playbook.objects.filter(wanted, organization__isnull=True).defer("source")
    }
    for file in files:
        playbook = stored.get((file.spec.key, file.spec.version))
        if playbook is not None and playbook.definition != file.spec.model_dump(mode="json"):
            raise _version_clash(organization=None, path=file.path, spec=file.spec)
    missing = [file for file in files if (file.spec.key, file.spec.version) not in stored]
    if missing:
        with transaction.atomic():
            for file in missing:
                stored[(file.spec.key, file.spec.version)], _created = _store(
                    organization=None, path=file.path, text=file.text, spec=file.spec
                )
    return [stored[(file.spec.key, file.spec.version)] for file in files]
