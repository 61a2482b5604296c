"""The built-in library: every file is a valid playbook and the promised ones are there."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from playbooks.format import playbook_parse
from playbooks.models import Playbook
from playbooks.services import LIBRARY_DIR, builtin_playbooks_sync

REQUIRED_KEYS = {
    "unify-ops-silos",
    "devops-buddy-programme",
    "platform-as-a-product",
    "launch-platform-team",
    "business-case",
}
LIBRARY_FILES = sorted(LIBRARY_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=[path.name for path in LIBRARY_FILES])
def test_every_library_file_parses_and_validates(path: Path) -> None:
    spec = playbook_parse(str(path), path.read_text(encoding="utf-8"))

    # The file name is the key, so a playbook is easy to find.
    assert path.stem == spec.key
    # Optional for an organisation's own playbooks, never for the built-in library: the why
    # and the how are what make a playbook worth following.
    for phase in spec.phases:
        for milestone in phase.milestones:
            assert milestone.why, f"{path.name}: {milestone.key} has no why"
            assert milestone.how, f"{path.name}: {milestone.key} has no how"


def test_the_promised_built_in_playbooks_exist() -> None:
    keys = {playbook_parse(str(p), p.read_text(encoding="utf-8")).key for p in LIBRARY_FILES}

    assert keys >= REQUIRED_KEYS


@pytest.mark.django_db
def test_the_library_is_stored_as_built_ins_once() -> None:
    builtin_playbooks_sync()
    builtin_playbooks_sync()

    stored = Playbook.objects.filter(organization__isnull=True)
    assert set(stored.values_list("key", flat=True)) >= REQUIRED_KEYS
    assert stored.count() == len(LIBRARY_FILES)


# Fingerprints of every released built-in version. A stored key@version is immutable (installations
# that synced it refuse a different definition under the same version), so editing a library file
# must come with a version bump; this catches the edit before it ships.
VERSIONS_LOCK = Path(__file__).with_name("library_versions.json")


def definition_fingerprint(path: Path) -> tuple[str, str]:
    spec = playbook_parse(str(path), path.read_text(encoding="utf-8"))
    definition = json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    return f"{spec.key}@{spec.version}", hashlib.sha256(definition.encode()).hexdigest()


def test_a_released_built_in_version_is_never_edited_without_a_version_bump() -> None:
    released = json.loads(VERSIONS_LOCK.read_text(encoding="utf-8"))
    current = dict(definition_fingerprint(path) for path in LIBRARY_FILES)

    edited = sorted(ref for ref, digest in current.items() if released.get(ref, digest) != digest)
    unreleased = sorted(set(current) - set(released))

    assert not edited, (
        f"{', '.join(edited)} changed without a version bump: raise `version` in the file, "
        f"then add the new version's fingerprint to {VERSIONS_LOCK.name}"
    )
    assert not unreleased, (
        f"add the fingerprints of {', '.join(unreleased)} to {VERSIONS_LOCK.name}: "
        + json.dumps({ref: current[ref] for ref in unreleased})
    )
