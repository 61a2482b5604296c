"""Reader for Backstage catalog YAML (``apiVersion: backstage.io/...``); see docs/import-backstage.md.

The catalog is read in two passes. The first collects every entity of every file, following
``Location`` entities to further files (each file is read once, whichever way it is reached). The
second resolves the whole catalog at once, because ownership, membership and the group hierarchy
span files: groups become units or teams, users become people, and component dependencies between
entities of different teams become interactions.

Like Backstage, the reader skips what it has no use for instead of refusing the catalog: kinds it
does not know (a plugin's kind, a Kubernetes manifest next to an entity), an entity defined twice
alike, Location targets on the network. Each skip becomes one line of ``ImportBundle.warnings``.
Errors do not stop the reading: every one is collected and they are raised together at the end
(``core.files.origin.ImportErrors``, the first twenty shown), so nothing is written.
"""

from __future__ import annotations

import glob
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.files.origin import ImportErrors, ImportFailure, Origin
from core.files.yamlio import YamlDocument, load_documents, read_text, to_plain
from core.identifiers import slug_is_valid
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    PersonNode,
    ServiceNode,
    TeamNode,
    UnitNode,
)
from teams.importers.bundle import NO_ROLE, ImportBundle
from teams.models import InteractionMode, Severity, Specialty, TeamType

DEFAULT_NAMESPACE = "default"
SPECIALTY_ANNOTATION = "transform.dev/specialty"

# Backstage group types (compared after lower-casing and turning "_" into "-").
TEAM_TYPES = {
    "stream-aligned": TeamType.STREAM_ALIGNED,
    "platform": TeamType.PLATFORM,
    "enabling": TeamType.ENABLING,
    "complicated-subsystem": TeamType.COMPLICATED_SUBSYSTEM,
    "ops-silo": TeamType.OPS_SILO,
}
UNIT_TYPES = frozenset(
    {"organization", "business-unit", "product-area", "division", "department", "sub-department"}
)

# The entity kinds whose spec.owner makes a team own a service (teams.models.ServiceKind).
SERVICE_KINDS = ("component", "system", "api", "domain")
# Every kind of Backstage's own catalog and scaffolder (docs/import-backstage.md, "Kinds"); any
# other kind is ignored with one warning line per kind.
KNOWN_KINDS = frozenset({"group", "user", "location", *SERVICE_KINDS, "resource", "template"})
# backstage.io/v1alpha1, backstage.io/v1beta1, backstage.io/v1beta2 (Templates before v1beta3),
# scaffolder.backstage.io/v1beta3 and the like.
BACKSTAGE_API_VERSION = re.compile(r"(?:[a-z0-9-]+\.)*backstage\.io/[a-z0-9.-]+", re.IGNORECASE)
# How many entities a summarising warning names before "and N more".
WARNING_EXAMPLES = 3

EntityKey = tuple[str, str, str]  # (kind, namespace, name), all lower-case
FieldPath = tuple[str | int, ...]  # ("spec", "children", 2) is spec.children[2]
_MISSING = object()


def is_backstage_document(doc: YamlDocument) -> bool:
    """True when the document is a Backstage entity: a mapping whose ``apiVersion`` is Backstage's
    (``backstage.io/<version>`` or a Backstage plugin's, e.g. ``scaffolder.backstage.io/v1beta3``
    for software templates)."""
    data = doc.data
    if not isinstance(data, dict):
        return False
    api_version = data.get("apiVersion")
    return isinstance(api_version, str) and bool(BACKSTAGE_API_VERSION.fullmatch(api_version))


def read_backstage_catalog(
    files: list[tuple[Path, list[YamlDocument]]], *, seen: set[Path]
) -> ImportBundle:
    """Read Backstage catalog files (and the files their Locations name) into one bundle.

    ``files`` holds each named file's resolved path with its loaded documents; ``seen`` holds the
    resolved paths of every file named by the user, and is extended with each Location target read,
    so that no file is read twice and Location cycles end. A Location target must resolve (symlinks
    followed) inside the folder of the named file it was reached from; anything else (an absolute
    path elsewhere, a ``..`` escape, a device, /proc) is refused by name.

    What is skipped on purpose goes to the bundle's ``warnings``: unknown kinds and documents that
    are not Backstage entities (one line per kind), an entity defined twice with the same content
    (taken once), Location targets that are URLs or of a type that is not a file.

    Raises ImportFailure listing every problem (the first twenty, each naming file, document, line
    and field): a malformed entity, an entity defined twice differently, a Location target outside
    that folder, unreadable or not a regular file, or a group/user reference that names no entity
    of the catalog.
    """
    catalog = _Catalog()
    queue = deque((path, documents, path.parent) for path, documents in files)
    while queue:
        path, documents, root = queue.popleft()
        for doc in documents:
            catalog.files.setdefault(doc.path, len(catalog.files))
            entity = catalog.add(doc)
            if entity is None or entity.key[0] != "location":
                continue
            for target, origin, keys in catalog.location_targets(entity, path, root):
                if target in seen:
                    continue
                seen.add(target)
                with catalog.collecting():
                    try:
                        text = read_text(target)
                    except ImportFailure as exc:
                        raise ImportFailure(
                            origin,
                            f"{_dotted(keys)}: Location target {str(target)!r} cannot be read: "
                            f"{exc.message}",
                        ) from None
                    queue.append((target, load_documents(str(target), text), root))
    return catalog.resolve()


@dataclass(slots=True)
class _Entity:
    doc: YamlDocument
    key: EntityKey
    name: str  # metadata.name as written
    namespace: str  # lower-case

    def origin(self, *keys: str | int) -> Origin:
        return self.doc.origin(*keys)


@dataclass(slots=True)
class _Group:
    entity: _Entity
    type: str  # spec.type as written (stripped)
    slug: str
    name: str
    is_unit: bool = False


@dataclass(slots=True)
class _Skipped:
    """Documents of one kind that the reader ignores: how many, and where the first one is."""

    first: Origin
    what: str  # e.g. "of kind 'FeatureFlag'"
    count: int = 0


@dataclass(slots=True)
class _Catalog:
    entities: dict[EntityKey, _Entity] = field(default_factory=dict)
    errors: ImportErrors = field(default_factory=ImportErrors)
    # The files read, in the order read (errors are reported in that order).
    files: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Ignored documents by lower-cased kind (and apiVersion when not Backstage's), in the order
    # first met.
    skipped: dict[str, _Skipped] = field(default_factory=dict)
    # Entities of SERVICE_KINDS owned by a user: (entity, owner as written, origin).
    ownerless: list[tuple[EntityKey, str, Origin]] = field(default_factory=list)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Record an ImportFailure raised inside and go on with the next item."""
        try:
            yield
        except ImportFailure as exc:
            self.errors.add(exc)

    def add(self, doc: YamlDocument) -> _Entity | None:
        """The entity ``doc`` defines, or None when it is skipped (a warning) or wrong (an
        error, recorded)."""
        kind = _kind_of(doc)
        if not is_backstage_document(doc) or (kind is not None and kind not in KNOWN_KINDS):
            self._skip(doc)
            return None
        with self.collecting():
            return self._add(doc)
        return None

    def _add(self, doc: YamlDocument) -> _Entity | None:
        kind = _required_string(doc, "kind")
        _mapping(doc, "metadata", required=True)
        _mapping(doc, "spec")
        name = _required_string(doc, "metadata", "name")
        namespace = _string(doc, "metadata", "namespace") or DEFAULT_NAMESPACE
        entity = _Entity(
            doc, (kind.lower(), namespace.lower(), name.lower()), name, namespace.lower()
        )
        existing = self.entities.get(entity.key)
        if existing is None:
            self.entities[entity.key] = entity
            return entity
        if _content(existing) == _content(entity):
            # Generated catalogs repeat entities; Backstage keeps one. Taken once, said once.
            self.warnings.append(
                f"{entity.origin('metadata', 'name')}: entity {_show_key(entity.key)} is defined "
                f"again with the same content as at {existing.origin('metadata', 'name')}; "
                "it is read once"
            )
            return None
        raise ImportFailure(
            entity.origin("metadata", "name"),
            f"metadata.name: entity {_show_key(entity.key)} is defined twice with different "
            "content; it is "
            f"already defined at {existing.origin('metadata', 'name')}",
        )

    def _skip(self, doc: YamlDocument) -> None:
        data = doc.data
        kind = data.get("kind") if isinstance(data, dict) else None
        api_version = data.get("apiVersion") if isinstance(data, dict) else None
        if not isinstance(kind, str) or not kind.strip():
            key, what = "", "without a kind: not Backstage entities"
        elif is_backstage_document(doc):
            key, what = kind.strip().lower(), f"of kind {kind.strip()!r}"
        else:
            key = f"{kind.strip().lower()} {api_version}"
            what = (
                f"of kind {kind.strip()!r} with apiVersion {api_version!r}: not Backstage entities"
            )
        skipped = self.skipped.setdefault(key, _Skipped(doc.origin(), what))
        skipped.count += 1

    def location_targets(
        self, entity: _Entity, path: Path, root: Path
    ) -> list[tuple[Path, Origin, tuple[str | int, ...]]]:
        """The files ``entity`` (a Location) names; see ``_location_targets``. Problems are
        recorded, targets on the network become a warning."""
        targets: list[tuple[Path, Origin, tuple[str | int, ...]]] = []
        with self.collecting():
            targets = _location_targets(self, entity, path, root)
        return targets

    def warn_about_remote_targets(
        self, entity: _Entity, remote: list[tuple[str, tuple[str | int, ...]]], reason: str
    ) -> None:
        """One warning line for the targets of ``entity`` that are not read, at the first one."""
        shown = ", ".join(repr(target.strip()) for target, _ in remote[:WARNING_EXAMPLES])
        more = len(remote) - WARNING_EXAMPLES
        self.warnings.append(
            f"{entity.origin(*remote[0][1])}: Location {_show_key(entity.key)}: "
            f"{_count(len(remote), 'target')} not read ({reason}): {shown}"
            + (f" and {more} more" if more > 0 else "")
            + "; save those files next to the catalog and name them in a file Location"
        )

    def resolve(self) -> ImportBundle:
        bundle = ImportBundle()
        groups = self._groups()
        self._hierarchy(groups, bundle)
        emails = self._people(bundle)
        self._memberships(groups, emails, bundle)
        self._dependencies(groups, bundle)
        # In the order of the files, whichever pass found them.
        self.errors.failures.sort(key=self._place)
        self.errors.raise_if_any()
        bundle.warnings.extend(self._warning_lines())
        return bundle

    def _place(self, failure: ImportFailure) -> tuple[int, int, int]:
        origin = failure.origin
        if isinstance(origin, Origin):
            order = self.files.get(origin.path, len(self.files))
            return (order, origin.document or 0, origin.line or 0)
        return (self.files.get(str(origin), len(self.files)), 0, 0)

    def _warning_lines(self) -> list[str]:
        lines = [
            f"{skipped.first}: ignored {_count(skipped.count, 'document')} {skipped.what} "
            "(Transform has no place for this kind; the first is here)"
            for skipped in self.skipped.values()
        ]
        lines.extend(self.warnings)
        if self.ownerless:
            shown = "; ".join(
                f"{_show_key(key)} (owner {owner!r}, {origin})"
                for key, owner, origin in self.ownerless[:WARNING_EXAMPLES]
            )
            more = len(self.ownerless) - WARNING_EXAMPLES
            lines.append(
                f"{_count(len(self.ownerless), 'entity', 'entities')} owned by a person (a User), "
                f"not a team, so no team owns them: {shown}"
                + (f" and {more} more" if more > 0 else "")
                + "; give them a Group as spec.owner to count them in a team's load"
            )
        return lines

    def _of_kind(self, kind: str) -> list[_Entity]:
        return [entity for entity in self.entities.values() if entity.key[0] == kind]

    def _groups(self) -> dict[EntityKey, _Group]:
        groups: dict[EntityKey, _Group] = {}
        by_slug: dict[str, _Group] = {}
        for entity in self._of_kind("group"):
            with self.collecting():
                doc = entity.doc
                _mapping(doc, "spec", required=True)
                group_type = _required_string(doc, "spec", "type")
                group = _Group(entity, group_type.strip(), _slug(entity), _display_name(entity))
                other = by_slug.get(group.slug)
                if other is not None:
                    raise ImportFailure(
                        entity.origin("metadata", "name"),
                        f"metadata.name: group {_show_key(entity.key)} would get the slug "
                        f"{group.slug!r}, which "
                        f"group {_show_key(other.entity.key)} at "
                        f"{other.entity.origin('metadata', 'name')} already has",
                    )
                by_slug[group.slug] = group
                groups[entity.key] = group
        return groups

    def _hierarchy(self, groups: dict[EntityKey, _Group], bundle: ImportBundle) -> None:
        # The union of spec.parent and spec.children: catalogs often state only one side.
        parent_of: dict[EntityKey, tuple[EntityKey, Origin]] = {}

        def link(child: EntityKey, parent: EntityKey, entity: _Entity, path: FieldPath) -> None:
            origin = entity.origin(*path)
            if child == parent:
                raise ImportFailure(
                    origin, f"{_dotted(path)}: group {_show_key(child)} cannot be its own parent"
                )
            if child not in groups or parent not in groups:
                return  # a group that is wrong itself: its error is recorded already
            known = parent_of.get(child)
            if known is None:
                parent_of[child] = (parent, origin)
            elif known[0] != parent:
                raise ImportFailure(
                    origin,
                    f"{_dotted(path)}: group {_show_key(child)} gets a second parent "
                    f"{_show_key(parent)}; "
                    f"{known[1]} already makes {_show_key(known[0])} its parent",
                )

        for key, group in groups.items():
            entity = group.entity
            with self.collecting():
                parent_ref = _string(entity.doc, "spec", "parent")
                if parent_ref is not None:
                    parent = self._group_ref(entity, parent_ref, ("spec", "parent"))
                    link(key, parent, entity, ("spec", "parent"))
            children: list[str] = []
            with self.collecting():
                children = _string_list(entity.doc, "spec", "children")
            for index, child_ref in enumerate(children):
                path = ("spec", "children", index)
                with self.collecting():
                    link(self._group_ref(entity, child_ref, path), key, entity, path)

        parents = {parent for parent, _ in parent_of.values()}
        for key, group in groups.items():
            group_type = _normal_type(group.type)
            group.is_unit = key in parents or group_type in UNIT_TYPES
        with self.collecting():
            _refuse_cycles(parent_of)

        for key, group in groups.items():
            with self.collecting():
                self._add_group(key, group, groups, parent_of, bundle)

    def _add_group(
        self,
        key: EntityKey,
        group: _Group,
        groups: dict[EntityKey, _Group],
        parent_of: dict[EntityKey, tuple[EntityKey, Origin]],
        bundle: ImportBundle,
    ) -> None:
        entity = group.entity
        parent_slug = groups[parent_of[key][0]].slug if key in parent_of else None
        origin = entity.origin("metadata", "name")
        if group.is_unit:
            bundle.add_unit(
                UnitNode(slug=group.slug, name=group.name, kind=group.type, parent=parent_slug),
                origin,
            )
            return
        team_type = TEAM_TYPES.get(_normal_type(group.type), TeamType.UNCLASSIFIED)
        specialty = _specialty(entity) if team_type == TeamType.OPS_SILO else ""
        description = _string(entity.doc, "metadata", "description") or ""
        bundle.add_team(
            TeamNode(
                slug=group.slug,
                name=group.name,
                type=str(team_type),
                specialty=specialty,
                unit=parent_slug,
                description=description.strip(),
            ),
            origin,
        )

    def _people(self, bundle: ImportBundle) -> dict[EntityKey, str]:
        emails: dict[EntityKey, str] = {}
        for entity in self._of_kind("user"):
            with self.collecting():
                emails[entity.key] = _person(entity, bundle)
        return emails

    def _memberships(
        self, groups: dict[EntityKey, _Group], emails: dict[EntityKey, str], bundle: ImportBundle
    ) -> None:
        def add(user: EntityKey, group: EntityKey, origin: Origin) -> None:
            # Units hold teams, not people: a membership in a unit has no place in the graph.
            # A user or group that is wrong itself has its error recorded already.
            if user not in emails or group not in groups or groups[group].is_unit:
                return
            membership = MembershipEdge(person=emails[user], team=groups[group].slug, role=NO_ROLE)
            bundle.add_membership(membership, origin)

        for entity in self._of_kind("user"):
            refs: list[str] = []
            with self.collecting():
                refs = _string_list(entity.doc, "spec", "memberOf")
            for index, ref in enumerate(refs):
                path = ("spec", "memberOf", index)
                with self.collecting():
                    add(entity.key, self._group_ref(entity, ref, path), entity.origin(*path))
        for key, group in groups.items():
            entity = group.entity
            refs = []
            with self.collecting():
                refs = _string_list(entity.doc, "spec", "members")
            for index, ref in enumerate(refs):
                path = ("spec", "members", index)
                with self.collecting():
                    user = self._known_ref(entity, ref, path, default_kind="user", expected="user")
                    add(user, key, entity.origin(*path))

    def _dependencies(self, groups: dict[EntityKey, _Group], bundle: ImportBundle) -> None:
        owners: dict[EntityKey, _Group] = {}
        for key, entity in self.entities.items():
            with self.collecting():
                group = self._owner(entity, groups, bundle)
                if group is not None:
                    owners[key] = group

        for entity in self._of_kind("component"):
            source = owners.get(entity.key)
            for field_name, default_kind in (("dependsOn", "component"), ("consumesApis", "api")):
                refs: list[str] = []
                with self.collecting():
                    refs = _string_list(entity.doc, "spec", field_name)
                for index, ref in enumerate(refs):
                    path = ("spec", field_name, index)
                    with self.collecting():
                        target_key = self._resolve(
                            ref,
                            _parse_ref(
                                ref,
                                entity,
                                path,
                                default_kind=default_kind,
                                namespace=entity.namespace,
                            ),
                        )
                        # Unknown targets are normal: catalogs reference things kept elsewhere.
                        target = owners.get(target_key)
                        if source is None or target is None or target.slug == source.slug:
                            continue
                        bundle.add_interaction(_dependency(source, target), entity.origin(*path))

    def _owner(
        self, entity: _Entity, groups: dict[EntityKey, _Group], bundle: ImportBundle
    ) -> _Group | None:
        """The team owning ``entity`` (None: no team of the catalog); adds the service a team
        owns for the kinds in SERVICE_KINDS."""
        owner_ref = _string(entity.doc, "spec", "owner")
        if owner_ref is None:
            return None
        owner = self._resolve(
            owner_ref,
            _parse_ref(
                owner_ref,
                entity,
                ("spec", "owner"),
                default_kind="group",
                namespace=entity.namespace,
            ),
        )
        if owner[0] == "user":
            # A person, not a team: Transform's services belong to teams. Guessing the person's
            # team would be wrong for people in several teams and for personal projects.
            if entity.key[0] in SERVICE_KINDS:
                self.ownerless.append((entity.key, owner_ref, entity.origin("spec", "owner")))
            return None
        group = groups.get(owner)
        if group is not None and group.is_unit:
            return None  # units hold teams, not services
        if entity.key[0] in SERVICE_KINDS and (group is not None or owner[0] == "group"):
            # A group outside the catalog may be a team of the organisation already; applying
            # the import checks that, naming this line.
            bundle.add_service(
                ServiceNode(
                    kind=entity.key[0],
                    slug=_slug(entity),
                    owner=group.slug if group is not None else owner[2].replace(".", "-"),
                    name=(_string(entity.doc, "metadata", "title") or "").strip(),
                ),
                entity.origin("spec", "owner"),
            )
        return group

    def _resolve(self, ref: str, key: EntityKey) -> EntityKey:
        """``key`` as parsed (Backstage's rule: no namespace means the referring entity's own),
        falling back to the ``default`` namespace when only that one holds the entity."""
        if key in self.entities or "/" in ref.partition(":")[2]:
            return key
        fallback = (key[0], DEFAULT_NAMESPACE, key[2])
        return fallback if fallback in self.entities else key

    def _group_ref(self, entity: _Entity, ref: str, path: tuple[str | int, ...]) -> EntityKey:
        return self._known_ref(entity, ref, path, default_kind="group", expected="group")

    def _known_ref(
        self,
        entity: _Entity,
        ref: str,
        path: tuple[str | int, ...],
        *,
        default_kind: str,
        expected: str,
    ) -> EntityKey:
        """The key of the entity ``ref`` names, which must be of kind ``expected`` and exist."""
        key = self._resolve(
            ref,
            _parse_ref(ref, entity, path, default_kind=default_kind, namespace=entity.namespace),
        )
        if key[0] != expected:
            raise ImportFailure(
                entity.origin(*path),
                f"{_dotted(path)}: {ref!r} refers to a {key[0]}, expected a {expected}",
            )
        if key not in self.entities:
            raise ImportFailure(
                entity.origin(*path),
                f"{_dotted(path)}: {ref!r} refers to {_show_key(key)}, which is not in the "
                "imported catalog (name its file, or a Location that reaches it)",
            )
        return key


def _dependency(source: _Group, target: _Group) -> InteractionEdge:
    if TEAM_TYPES.get(_normal_type(target.type)) == TeamType.OPS_SILO:
        return InteractionEdge(
            source=source.slug,
            target=target.slug,
            mode=str(InteractionMode.TICKET_DEPENDENCY),
            severity=str(Severity.SLOWING),
        )
    return InteractionEdge(
        source=source.slug, target=target.slug, mode=str(InteractionMode.X_AS_A_SERVICE)
    )


def _location_targets(
    catalog: _Catalog, entity: _Entity, path: Path, root: Path
) -> list[tuple[Path, Origin, tuple[str | int, ...]]]:
    """The resolved files a Location names, each with the origin and field of the line that names
    it; each must lie inside ``root`` (the folder of the file named on the command line).

    Like Backstage, a target without a scheme is relative to the file holding the Location, for
    ``file`` and ``url`` Locations alike (a ``url`` Location in a checked-out repository names its
    neighbours that way). Targets on the network (``https://...``) and Locations of other types
    (``github-discovery``, ...) are not fetched: a warning names them. A problem with one target
    is recorded and the other targets are still read."""
    doc = entity.doc
    _mapping(doc, "spec", required=True)
    location_type = (_string(doc, "spec", "type") or "file").strip().lower()
    optional = (_string(doc, "spec", "presence") or "").strip().lower() == "optional"
    named: list[tuple[str, tuple[str | int, ...]]] = []
    target = _string(doc, "spec", "target")
    if target is not None:
        named.append((target, ("spec", "target")))
    named.extend(
        (item, ("spec", "targets", index))
        for index, item in enumerate(_string_list(doc, "spec", "targets"))
    )
    if location_type not in {"file", "url"}:
        if named:
            catalog.warn_about_remote_targets(
                entity, named, f"Location type {location_type!r} is not followed"
            )
        return []
    remote = [(text, keys) for text, keys in named if "://" in text]
    if remote:
        catalog.warn_about_remote_targets(entity, remote, "URLs are not fetched")
    targets: list[tuple[Path, Origin, tuple[str | int, ...]]] = []
    for text, keys in named:
        if "://" in text:
            continue
        with catalog.collecting():
            targets.extend(
                (file, entity.origin(*keys), keys)
                for file in _target_files(entity, path, root, text.strip(), keys, optional)
            )
    return targets


def _target_files(
    entity: _Entity, path: Path, root: Path, text: str, keys: tuple[str | int, ...], optional: bool
) -> list[Path]:
    origin = entity.origin(*keys)
    candidate = path.parent / text
    if glob.has_magic(text):
        matches = sorted(Path(found) for found in glob.glob(str(candidate), recursive=True))
        files = [_inside(match.resolve(), root, keys, text, origin) for match in matches]
        files = [found for found in files if found.is_file()]
        if not files and not optional:
            raise ImportFailure(origin, f"{_dotted(keys)}: {text!r} matches no file")
        return files
    resolved = _inside(candidate.resolve(), root, keys, text, origin)
    if optional and not resolved.exists():
        return []
    return [resolved]


def _inside(
    resolved: Path, root: Path, keys: tuple[str | int, ...], text: str, origin: Origin
) -> Path:
    """``resolved`` when it lies inside ``root``; otherwise the Location is refused by name."""
    if not resolved.is_relative_to(root.resolve()):
        raise ImportFailure(
            origin,
            f"{_dotted(keys)}: {text!r} resolves to {str(resolved)!r}, outside the folder "
            f"{str(root)!r} of the file named on the command line; Location targets must stay "
            "inside that folder",
        )
    return resolved


def _parse_ref(
    ref: str, entity: _Entity, path: tuple[str | int, ...], *, default_kind: str, namespace: str
) -> EntityKey:
    """``[kind:][namespace/]name`` as a lower-case key (Backstage compares names that way).

    Like Backstage, a reference without a namespace means the referring entity's namespace;
    ``the catalog's ``_resolve```` falls back to ``default`` when the entity is only there.
    """
    kind, colon, rest = ref.partition(":")
    if not colon:
        kind, rest = default_kind, ref
    ref_namespace, slash, name = rest.partition("/")
    if not slash:
        ref_namespace, name = namespace, rest
    if not kind.strip() or not ref_namespace.strip() or not name.strip() or "/" in name:
        raise ImportFailure(
            entity.origin(*path),
            f"{_dotted(path)}: {ref!r} is not an entity reference; expected [kind:][namespace/]name",
        )
    return (kind.strip().lower(), ref_namespace.strip().lower(), name.strip().lower())


def _refuse_cycles(parent_of: dict[EntityKey, tuple[EntityKey, Origin]]) -> None:
    done: set[EntityKey] = set()
    for start in parent_of:
        trail: list[EntityKey] = []
        node: EntityKey | None = start
        while node is not None and node not in done:
            if node in trail:
                cycle = [*trail[trail.index(node) :], node]
                raise ImportFailure(
                    parent_of[node][1],
                    "groups form a cycle of parents: " + " -> ".join(_show_key(k) for k in cycle),
                )
            trail.append(node)
            node = parent_of[node][0] if node in parent_of else None
        done.update(trail)


def _person(entity: _Entity, bundle: ImportBundle) -> str:
    """Adds the person a User entity is; returns their e-mail."""
    doc = entity.doc
    _mapping(doc, "spec")
    _mapping(doc, "spec", "profile")
    email = _string(doc, "spec", "profile", "email")
    keys: tuple[str, ...] = ("spec", "profile", "email")
    if email is not None:
        email = email.strip().lower()
    elif "@" in entity.name:
        email = entity.name.lower()
        keys = ("metadata", "name")
    else:
        # A person needs an e-mail; this one is stable and can never reach a real inbox.
        email = f"{entity.name.lower()}@{entity.namespace}.backstage.invalid"
        keys = ("metadata", "name")
    origin = entity.origin(*keys)
    try:
        validate_email(email)
    except ValidationError:
        raise ImportFailure(
            origin, f"{_dotted(keys)}: {email!r} is not a valid e-mail address"
        ) from None
    display_name = (_string(doc, "spec", "profile", "displayName") or "").strip()
    bundle.add_person(PersonNode(email=email, name=display_name or entity.name), origin)
    return email


def _content(entity: _Entity) -> Any:
    """What an entity says, for comparing two definitions: its data, with the namespace it is in
    written out (leaving out ``namespace: default`` says the same)."""
    data = to_plain(entity.doc.data)
    data["metadata"]["namespace"] = entity.namespace
    return data


def _kind_of(doc: YamlDocument) -> str | None:
    """The lower-cased kind of a document, None when it has none."""
    kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
    return kind.strip().lower() if isinstance(kind, str) and kind.strip() else None


def _count(number: int, one: str, many: str = "") -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _slug(entity: _Entity) -> str:
    # Backstage names allow dots, slugs do not; both compare case-insensitively.
    slug = entity.name.lower().replace(".", "-")
    if not slug_is_valid(slug):
        raise ImportFailure(
            entity.origin("metadata", "name"),
            f"metadata.name: {entity.name!r} cannot be a team slug; expected at most 100 letters, "
            "digits, '-', '_' or '.'",
        )
    return slug


def _display_name(entity: _Entity) -> str:
    doc = entity.doc
    _mapping(doc, "spec", "profile")
    for keys in (("spec", "profile", "displayName"), ("metadata", "title")):
        value = (_string(doc, *keys) or "").strip()
        if value:
            return value
    return entity.name


def _specialty(entity: _Entity) -> str:
    _mapping(entity.doc, "metadata", "annotations")
    value = _string(entity.doc, "metadata", "annotations", SPECIALTY_ANNOTATION)
    if value is None:
        return str(Specialty.OTHER)
    specialty = value.strip().lower().replace("-", "_")
    if specialty not in Specialty.values:
        raise ImportFailure(
            entity.origin("metadata", "annotations", SPECIALTY_ANNOTATION),
            f"metadata.annotations.{SPECIALTY_ANNOTATION}: {value!r} is not a specialty; expected "
            f"one of {', '.join(Specialty.values)}",
        )
    return specialty


def _normal_type(value: str) -> str:
    return value.strip().lower().replace("_", "-")


def _get(doc: YamlDocument, *keys: str) -> Any:
    current = doc.data
    for key in keys:
        if not isinstance(current, dict) or key not in current:
            return _MISSING
        current = current[key]
    return current


def _string(doc: YamlDocument, *keys: str, required: bool = False) -> str | None:
    """The non-empty string at ``keys``, None when absent (or null), else ImportFailure."""
    value = _get(doc, *keys)
    if (value is _MISSING or value is None) and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ImportFailure(
            doc.origin(*keys), f"{_dotted(keys)}: expected a non-empty string, {_found(value)}"
        )
    return value


def _required_string(doc: YamlDocument, *keys: str) -> str:
    """The non-empty string at ``keys``, else ImportFailure."""
    return _string(doc, *keys, required=True) or ""  # _string has raised when there is none


def _mapping(doc: YamlDocument, *keys: str, required: bool = False) -> None:
    """Check that ``keys`` lead to a mapping (or to nothing, unless required)."""
    value = _get(doc, *keys)
    if (value is _MISSING or value is None) and not required:
        return
    if not isinstance(value, dict):
        raise ImportFailure(
            doc.origin(*keys), f"{_dotted(keys)}: expected a mapping, {_found(value)}"
        )


def _string_list(doc: YamlDocument, *keys: str) -> list[str]:
    """The list of strings at ``keys`` (empty when absent or null), else ImportFailure."""
    value = _get(doc, *keys)
    if value is _MISSING or value is None:
        return []
    if not isinstance(value, list):
        raise ImportFailure(
            doc.origin(*keys), f"{_dotted(keys)}: expected a list of strings, {_found(value)}"
        )
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ImportFailure(
                doc.origin(*keys, index),
                f"{_dotted((*keys, index))}: expected a non-empty string, {_found(item)}",
            )
    return list(value)


def _found(value: object) -> str:
    if value is _MISSING:
        return "but it is missing"
    if value is None:
        return "found null"
    if isinstance(value, dict):
        return "found a mapping"
    if isinstance(value, list):
        return "found a list"
    if isinstance(value, str):
        return f"found {value!r}"
    return f"found {type(value).__name__} {value!r}"


def _dotted(keys: tuple[str | int, ...]) -> str:
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in keys).lstrip(".")


def _show_key(key: EntityKey) -> str:
    return f"{key[0]}:{key[1]}/{key[2]}"
