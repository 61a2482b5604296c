"""Reader for Backstage catalog YAML (``apiVersion: backstage.io/...``); see docs/import-backstage.md.

The catalog is read in two passes. The first collects every entity of every file, following
``Location`` entities to further files (each file is read once, whichever way it is reached). The
second resolves the whole catalog at once, because ownership, membership and the group hierarchy
span files: groups become units or teams, users become people, and component dependencies between
entities of different teams become interactions.
"""

from __future__ import annotations

import glob
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.files.origin import ImportFailure, Origin
from core.files.yamlio import YamlDocument, load_documents, read_text
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

EntityKey = tuple[str, str, str]  # (kind, namespace, name), all lower-case
_MISSING = object()


def is_backstage_document(doc: YamlDocument) -> bool:
    """True when the document is a Backstage entity (``apiVersion`` starts with ``backstage.io/``)."""
    data = doc.data
    if not isinstance(data, dict):
        return False
    api_version = data.get("apiVersion")
    return isinstance(api_version, str) and api_version.startswith("backstage.io/")


def read_backstage_catalog(
    files: list[tuple[Path, list[YamlDocument]]], *, seen: set[Path]
) -> ImportBundle:
    """Read Backstage catalog files (and the files their Locations name) into one bundle.

    ``files`` holds each named file's resolved path with its loaded documents; ``seen`` holds the
    resolved paths of every file named by the user, and is extended with each Location target read,
    so that no file is read twice and Location cycles end. A Location target must resolve (symlinks
    followed) inside the folder of the named file it was reached from; anything else (an absolute
    path elsewhere, a ``..`` escape, a device, /proc) is refused by name. Raises ImportFailure,
    naming file, document, line and field, for a malformed entity, a duplicate entity, a Location
    target outside that folder, unreadable or not a regular file, or a group/user reference that
    names no entity of the catalog.
    """
    catalog = _Catalog()
    queue = deque((path, documents, path.parent) for path, documents in files)
    while queue:
        path, documents, root = queue.popleft()
        for doc in documents:
            entity = catalog.add(doc)
            if entity.key[0] != "location":
                continue
            for target, origin in _location_targets(entity, path, root):
                if target in seen:
                    continue
                seen.add(target)
                try:
                    text = read_text(target)
                except ImportFailure as exc:
                    raise ImportFailure(
                        origin, f"Location target {str(target)!r} cannot be read: {exc.message}"
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
class _Catalog:
    entities: dict[EntityKey, _Entity] = field(default_factory=dict)

    def add(self, doc: YamlDocument) -> _Entity:
        if not is_backstage_document(doc):
            raise ImportFailure(
                doc.origin("apiVersion"),
                "expected a Backstage entity (a mapping whose apiVersion starts with 'backstage.io/')",
            )
        kind = _required_string(doc, "kind")
        _mapping(doc, "metadata", required=True)
        _mapping(doc, "spec")
        name = _required_string(doc, "metadata", "name")
        namespace = _string(doc, "metadata", "namespace") or DEFAULT_NAMESPACE
        entity = _Entity(
            doc, (kind.lower(), namespace.lower(), name.lower()), name, namespace.lower()
        )
        existing = self.entities.get(entity.key)
        if existing is not None:
            raise ImportFailure(
                entity.origin("metadata", "name"),
                f"entity {_show_key(entity.key)} is defined twice; it is already defined at "
                f"{existing.origin('metadata', 'name')}",
            )
        self.entities[entity.key] = entity
        return entity

    def resolve(self) -> ImportBundle:
        bundle = ImportBundle()
        groups = self._groups()
        self._hierarchy(groups, bundle)
        emails = self._people(bundle)
        self._memberships(groups, emails, bundle)
        self._dependencies(groups, bundle)
        return bundle

    def _of_kind(self, kind: str) -> list[_Entity]:
        return [entity for entity in self.entities.values() if entity.key[0] == kind]

    def _groups(self) -> dict[EntityKey, _Group]:
        groups: dict[EntityKey, _Group] = {}
        by_slug: dict[str, _Group] = {}
        for entity in self._of_kind("group"):
            doc = entity.doc
            _mapping(doc, "spec", required=True)
            group_type = _required_string(doc, "spec", "type")
            group = _Group(entity, group_type.strip(), _slug(entity), _display_name(entity))
            other = by_slug.get(group.slug)
            if other is not None:
                raise ImportFailure(
                    entity.origin("metadata", "name"),
                    f"group {_show_key(entity.key)} would get the slug {group.slug!r}, which group "
                    f"{_show_key(other.entity.key)} at {other.entity.origin('metadata', 'name')} "
                    "already has",
                )
            by_slug[group.slug] = group
            groups[entity.key] = group
        return groups

    def _hierarchy(self, groups: dict[EntityKey, _Group], bundle: ImportBundle) -> None:
        # The union of spec.parent and spec.children: catalogs often state only one side.
        parent_of: dict[EntityKey, tuple[EntityKey, Origin]] = {}

        def link(child: EntityKey, parent: EntityKey, origin: Origin) -> None:
            if child == parent:
                raise ImportFailure(origin, f"group {_show_key(child)} cannot be its own parent")
            known = parent_of.get(child)
            if known is None:
                parent_of[child] = (parent, origin)
            elif known[0] != parent:
                raise ImportFailure(
                    origin,
                    f"group {_show_key(child)} gets a second parent {_show_key(parent)}; "
                    f"{known[1]} already makes {_show_key(known[0])} its parent",
                )

        for key, group in groups.items():
            entity = group.entity
            parent_ref = _string(entity.doc, "spec", "parent")
            if parent_ref is not None:
                parent = self._group_ref(entity, parent_ref, ("spec", "parent"))
                link(key, parent, entity.origin("spec", "parent"))
            for index, child_ref in enumerate(_string_list(entity.doc, "spec", "children")):
                path = ("spec", "children", index)
                link(self._group_ref(entity, child_ref, path), key, entity.origin(*path))

        parents = {parent for parent, _ in parent_of.values()}
        for key, group in groups.items():
            group_type = _normal_type(group.type)
            group.is_unit = key in parents or group_type in UNIT_TYPES
        _refuse_cycles(parent_of)

        for key, group in groups.items():
            entity = group.entity
            parent_slug = groups[parent_of[key][0]].slug if key in parent_of else None
            origin = entity.origin("metadata", "name")
            if group.is_unit:
                bundle.add_unit(
                    UnitNode(slug=group.slug, name=group.name, kind=group.type, parent=parent_slug),
                    origin,
                )
                continue
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
            doc = entity.doc
            _mapping(doc, "spec")
            _mapping(doc, "spec", "profile")
            email = _string(doc, "spec", "profile", "email")
            if email is not None:
                email = email.strip().lower()
                origin = entity.origin("spec", "profile", "email")
            elif "@" in entity.name:
                email = entity.name.lower()
                origin = entity.origin("metadata", "name")
            else:
                # A person needs an e-mail; this one is stable and can never reach a real inbox.
                email = f"{entity.name.lower()}@{entity.namespace}.backstage.invalid"
                origin = entity.origin("metadata", "name")
            try:
                validate_email(email)
            except ValidationError:
                raise ImportFailure(origin, f"{email!r} is not a valid e-mail address") from None
            display_name = (_string(doc, "spec", "profile", "displayName") or "").strip()
            bundle.add_person(PersonNode(email=email, name=display_name or entity.name), origin)
            emails[entity.key] = email
        return emails

    def _memberships(
        self, groups: dict[EntityKey, _Group], emails: dict[EntityKey, str], bundle: ImportBundle
    ) -> None:
        def add(user: EntityKey, group: EntityKey, origin: Origin) -> None:
            # Units hold teams, not people: a membership in a unit has no place in the graph.
            if not groups[group].is_unit:
                membership = MembershipEdge(
                    person=emails[user], team=groups[group].slug, role=NO_ROLE
                )
                bundle.add_membership(membership, origin)

        for entity in self._of_kind("user"):
            for index, ref in enumerate(_string_list(entity.doc, "spec", "memberOf")):
                path = ("spec", "memberOf", index)
                add(entity.key, self._group_ref(entity, ref, path), entity.origin(*path))
        for key, group in groups.items():
            entity = group.entity
            for index, ref in enumerate(_string_list(entity.doc, "spec", "members")):
                path = ("spec", "members", index)
                user = self._known_ref(entity, ref, path, default_kind="user", expected="user")
                add(user, key, entity.origin(*path))

    def _dependencies(self, groups: dict[EntityKey, _Group], bundle: ImportBundle) -> None:
        owners: dict[EntityKey, _Group] = {}
        for key, entity in self.entities.items():
            owner_ref = _string(entity.doc, "spec", "owner")
            if owner_ref is None:
                continue
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
            group = groups.get(owner)
            # Entities owned by users, by units or by groups outside the catalog link no teams.
            if group is not None and not group.is_unit:
                owners[key] = group
            if key[0] not in SERVICE_KINDS or (group is not None and group.is_unit):
                continue
            if group is None and owner[0] != "group":
                continue  # owned by a user: no team owns it
            # A group outside the catalog may be a team of the organisation already; applying the
            # import checks that, naming this line.
            bundle.add_service(
                ServiceNode(
                    kind=key[0],
                    slug=_slug(entity),
                    owner=group.slug if group is not None else owner[2].replace(".", "-"),
                    name=(_string(entity.doc, "metadata", "title") or "").strip(),
                ),
                entity.origin("spec", "owner"),
            )

        for entity in self._of_kind("component"):
            source = owners.get(entity.key)
            for field_name, default_kind in (("dependsOn", "component"), ("consumesApis", "api")):
                for index, ref in enumerate(_string_list(entity.doc, "spec", field_name)):
                    path = ("spec", field_name, index)
                    target_key = self._resolve(
                        ref,
                        _parse_ref(
                            ref, entity, path, default_kind=default_kind, namespace=entity.namespace
                        ),
                    )
                    # Unknown targets are normal: catalogs reference things kept elsewhere.
                    target = owners.get(target_key)
                    if source is None or target is None or target.slug == source.slug:
                        continue
                    bundle.add_interaction(_dependency(source, target), entity.origin(*path))

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


def _location_targets(entity: _Entity, path: Path, root: Path) -> list[tuple[Path, Origin]]:
    """The resolved files a Location names, each with the origin of the line that names it; each
    must lie inside ``root`` (the folder of the file named on the command line)."""
    doc = entity.doc
    _mapping(doc, "spec", required=True)
    location_type = _string(doc, "spec", "type")
    if location_type is not None and location_type.strip().lower() != "file":
        raise ImportFailure(
            entity.origin("spec", "type"),
            f"spec.type: Location type {location_type!r} is not supported; only 'file' targets "
            "can be imported (save the files locally and name them or a file Location)",
        )
    optional = (_string(doc, "spec", "presence") or "").strip().lower() == "optional"
    named: list[tuple[str, tuple[str | int, ...]]] = []
    target = _string(doc, "spec", "target")
    if target is not None:
        named.append((target, ("spec", "target")))
    named.extend(
        (item, ("spec", "targets", index))
        for index, item in enumerate(_string_list(doc, "spec", "targets"))
    )
    targets: list[tuple[Path, Origin]] = []
    for text, keys in named:
        origin = entity.origin(*keys)
        if "://" in text:
            raise ImportFailure(
                origin,
                f"{_dotted(keys)}: {text!r} is a URL; only file targets can be imported",
            )
        candidate = path.parent / text
        if glob.has_magic(text):
            matches = sorted(Path(found) for found in glob.glob(str(candidate)))
            files = [match.resolve() for match in matches]
            files = [_inside(found, root, keys, text, origin) for found in files]
            files = [found for found in files if found.is_file()]
            if not files and not optional:
                raise ImportFailure(origin, f"{_dotted(keys)}: {text!r} matches no file")
            targets.extend((file, origin) for file in files)
        else:
            resolved = _inside(candidate.resolve(), root, keys, text, origin)
            if optional and not resolved.exists():
                continue
            targets.append((resolved, origin))
    return targets


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
