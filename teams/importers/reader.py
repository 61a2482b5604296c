"""Reads import files of any supported format into one ImportBundle.

The format is detected per file: ``.csv`` is a CSV of people; ``.yaml``, ``.yml`` and ``.json``
are loaded as YAML 1.2 (which contains JSON) and recognised by their content: Backstage catalog
entities (``apiVersion: backstage.io/...``), the project's org format (``format:
transform.org/v1``) or TeamAPI-as-Code. A file holds one format only. Nothing is written here;
``teams.importers.apply.org_import_apply`` writes the merged bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.files.jsonio import json_load
from core.files.limits import InputRefused
from core.files.origin import ImportFailure
from core.files.yamlio import YamlDocument, load_documents, read_text
from teams.importers import backstage, teamapi
from teams.importers.bulk import collector_paused
from teams.importers.bundle import ImportBundle
from teams.importers.csvfile import read_people_csv
from teams.importers.orgfile import ORG_FORMAT, is_org_document, read_org_document
from teams.importers.yamlread import load_plain

YAML_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
EXPECTED_FORMATS = (
    f"the org format (a document with 'format: {ORG_FORMAT}'), "
    "a Backstage catalog (entities with 'apiVersion: backstage.io/v1alpha1'), "
    "TeamAPI-as-Code (a team API with 'info' holding the team's name and type)"
)
BACKSTAGE = "Backstage catalog"
ORG = "org format"
TEAMAPI = "TeamAPI-as-Code"


def read_import_files(paths: Sequence[Path], *, fast: bool = False) -> ImportBundle:
    """Every file of ``paths`` read and merged into one bundle.

    With ``fast``, ``.json`` files are parsed by the standard library's C parser and org-format
    YAML files by libyaml's (``teams.importers.yamlread``), tens of times faster than the
    line-tracking YAML loader on large files, but their entries then carry no line numbers: a
    caller that gets an ImportFailure reads again without it to report the failure's line
    (``org_import_files`` does).

    Raises ImportFailure naming the file (and document or line) for a missing or unreadable
    file, an unknown or mixed format, any validation error, and two files that define the same
    entry differently. A file named twice, or named and also reached through a Backstage
    Location, is read once.
    """
    with collector_paused():
        return _read(paths, fast=fast)


def _read(paths: Sequence[Path], *, fast: bool) -> ImportBundle:
    merged = ImportBundle()
    backstage_files: list[tuple[Path, list[YamlDocument]]] = []
    read: set[Path] = set()
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in read:
            continue  # the same file named twice is read once
        read.add(resolved)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            merged.merge(read_people_csv(path))
        elif suffix in YAML_SUFFIXES:
            text = read_text(path)
            documents = (fast and _load_fast(path, suffix, text)) or load_documents(str(path), text)
            kind = _detect(path, documents)
            if kind == BACKSTAGE:
                backstage_files.append((resolved, documents))
            elif kind == ORG:
                merged.merge(read_org_document(documents[0]))
            else:
                for document in documents:
                    merged.merge(teamapi.read_teamapi(document))
        else:
            raise ImportFailure(
                str(path),
                f"unsupported file type {suffix or '(no extension)'!r}; expected .csv for "
                "people, or .yaml, .yml or .json holding " + EXPECTED_FORMATS,
            )

    if backstage_files:
        # Every named file counts as seen, so a Location pointing at one does not read it again.
        merged.merge(backstage.read_backstage_catalog(backstage_files, seen=set(read)))
    return merged


def _load_fast(path: Path, suffix: str, text: str) -> list[YamlDocument] | None:
    """The documents of ``text`` read by a C parser, without line numbers; None when the
    line-tracking loader must read it (to say what is wrong, or for a YAML file that is not in
    the org format: the other formats' files are small)."""
    if suffix == ".json":
        return _load_json(path, text)
    documents = load_plain(str(path), text)
    if documents and len(documents) == 1 and is_org_document(documents[0]):
        return documents
    return None


def _load_json(path: Path, text: str) -> list[YamlDocument] | None:
    """The JSON document of ``text``, or None when the precise loader must say what is wrong
    (syntax error, duplicate key) or the text is YAML rather than JSON. A broken limit
    (``core.files.limits``) is refused here, as the YAML loader would."""
    try:
        data = json_load(str(path), text)
    except InputRefused:
        raise
    except ImportFailure:
        return None
    return [YamlDocument(str(path), 1, data, 1)] if data is not None else []


def _detect(path: Path, documents: list[YamlDocument]) -> str:
    """The one format of a YAML/JSON file's documents."""
    if not documents:
        raise ImportFailure(str(path), "the file holds no data; expected " + EXPECTED_FORMATS)
    if any(backstage.is_backstage_document(document) for document in documents) and not any(
        _document_format(document) in (ORG, TEAMAPI) for document in documents
    ):
        # Backstage entities next to documents of no import format (a plugin's kind, a
        # Kubernetes manifest): the Backstage reader ignores those with a warning, as Backstage does.
        return BACKSTAGE
    kinds: list[tuple[str, YamlDocument]] = []
    for document in documents:
        kind = _document_format(document)
        if kind is None:
            raise ImportFailure(
                document.origin(),
                "unknown format; expected " + EXPECTED_FORMATS,
            )
        kinds.append((kind, document))
    first_kind, first_document = kinds[0]
    for kind, document in kinds[1:]:
        if kind != first_kind:
            raise ImportFailure(
                document.origin(),
                f"this document is {kind} but document {first_document.index} is {first_kind}; "
                "a file must hold one format only",
            )
    if first_kind == ORG and len(documents) > 1:
        raise ImportFailure(
            documents[1].origin(),
            "an org format file holds a single document; put the rest in the first document "
            "or in another file",
        )
    return first_kind


def _document_format(document: YamlDocument) -> str | None:
    if backstage.is_backstage_document(document):
        return BACKSTAGE
    if is_org_document(document):
        return ORG
    if teamapi.is_teamapi_document(document):
        return TEAMAPI
    return None
