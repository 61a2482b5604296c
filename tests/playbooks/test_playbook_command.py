"""``load_playbook`` and the services behind it: all or nothing, idempotent, versions immutable."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.errors import ApplicationError
from playbooks.models import Playbook
from playbooks.selectors import playbook_get, playbook_list
from playbooks.services import builtin_playbooks_sync, playbook_load
from tests.factories import OrganizationFactory
from tests.playbooks.samples import VALID

pytestmark = pytest.mark.django_db


def _write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load(path: Path, org: str = "acme") -> str:
    out = StringIO()
    call_command("load_playbook", "--org", org, str(path), stdout=out)
    return out.getvalue()


def test_it_stores_a_playbook_and_says_what_it_stored(organization: Any, tmp_path: Path) -> None:
    output = _load(_write(tmp_path, VALID))

    assert output == "Stored playbook demo version 2 (3 milestones) for acme.\n"
    playbook = Playbook.objects.get(organization=organization, key="demo")
    assert (playbook.version, playbook.title, playbook.source) == (2, "Demo playbook", VALID)
    assert playbook.spec.phases[1].milestones[1].depends_on == ["name-owner", "interview-teams"]


def test_loading_the_same_file_again_changes_nothing(organization: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    _load(path)
    first = Playbook.objects.get(organization=organization)

    # A comment does not change the content.
    output = _load(_write(tmp_path, "# reloaded\n" + VALID))

    assert output == (
        "Playbook demo version 2 (3 milestones) is already stored for acme; nothing changed.\n"
    )
    assert list(Playbook.objects.filter(organization=organization)) == [first]
    assert Playbook.objects.get(pk=first.pk).updated_at == first.updated_at


def test_different_content_under_a_stored_version_asks_to_bump_it(
    organization: Any, tmp_path: Path
) -> None:
    _load(_write(tmp_path, VALID))
    changed = VALID.replace("duration_days: 30", "duration_days: 45")

    with pytest.raises(CommandError) as info:
        _load(_write(tmp_path, changed, "changed.yaml"))

    message = str(info.value)
    assert "Nothing was stored." in message
    assert "changed.yaml" in message
    assert "version 2 is already stored with different content" in message
    assert "bump the version (e.g. version: 3)" in message
    assert (
        Playbook.objects.get(organization=organization).definition["phases"][1]["milestones"][1][
            "duration_days"
        ]
        == 30
    )


def test_a_new_version_is_stored_next_to_the_old_one(organization: Any, tmp_path: Path) -> None:
    _load(_write(tmp_path, VALID))
    newer = VALID.replace("version: 2", "version: 3").replace(
        "duration_days: 30", "duration_days: 45"
    )

    _load(_write(tmp_path, newer, "v3.yaml"))

    assert playbook_get(organization=organization, key="demo").version == 3
    assert playbook_get(organization=organization, key="demo", version=2).version == 2


def test_an_invalid_file_fails_with_file_line_and_field_and_stores_nothing(
    organization: Any, tmp_path: Path
) -> None:
    path = _write(tmp_path, VALID.replace("depends_on: [interview-teams]", "depends_on: [nope]"))

    with pytest.raises(CommandError) as info:
        _load(path)

    assert f"{path}, document 1, line 29: phases[1].milestones[0].depends_on[0]: unknown " in str(
        info.value
    )
    assert not Playbook.objects.filter(organization=organization).exists()


def test_a_missing_file_or_organisation_is_reported(organization: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="file not found"):
        _load(tmp_path / "missing.yaml")
    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        _load(_write(tmp_path, VALID), org="nope")


def test_a_duplicate_key_makes_the_command_exit_non_zero(organization: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("version: 2", "version: 2\nversion: 3"))

    with pytest.raises(CommandError) as info:
        _load(path)

    # manage.py turns a CommandError into this exit status (running it here would close the test
    # database connection).
    assert info.value.returncode == 1
    assert f"{path}, document 1, line 3: YAML error: duplicate key" in str(info.value)
    assert not Playbook.objects.filter(organization=organization).exists()


def test_an_organisation_cannot_take_the_key_of_a_built_in(
    organization: Any, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    _write(library, VALID)
    builtin_playbooks_sync(library_dir=library)

    with pytest.raises(ApplicationError, match="key 'demo' is the key of a built-in"):
        playbook_load(organization=organization, path="mine.yaml", text=VALID)


def test_builtin_sync_is_idempotent_and_all_or_nothing(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    _write(library, VALID)

    first = builtin_playbooks_sync(library_dir=library)
    again = builtin_playbooks_sync(library_dir=library)

    assert [p.pk for p in first] == [p.pk for p in again]
    assert Playbook.objects.filter(organization__isnull=True, key="demo").count() == 1

    _write(library, VALID.replace("key: demo", "key: other"), "other.yaml")
    _write(library, VALID.replace("version: 2", "version: zero"), "zz-broken.yaml")
    with pytest.raises(
        ApplicationError, match=re.escape("zz-broken.yaml, document 1, line 2: version")
    ):
        builtin_playbooks_sync(library_dir=library)
    assert not Playbook.objects.filter(key="other").exists()


def test_builtin_sync_refuses_a_library_file_edited_without_a_new_version(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    path = _write(library, VALID)
    builtin_playbooks_sync(library_dir=library)

    path.write_text(VALID.replace("duration_days: 30", "duration_days: 31"), encoding="utf-8")

    with pytest.raises(ApplicationError, match="bump the version"):
        builtin_playbooks_sync(library_dir=library)


def test_built_ins_and_own_playbooks_are_listed_but_not_another_organisations(
    organization: Any, tmp_path: Path
) -> None:
    other: Any = OrganizationFactory(slug="globex")
    playbook_load(
        organization=other, path="theirs.yaml", text=VALID.replace("key: demo", "key: theirs")
    )
    playbook_load(organization=organization, path="mine.yaml", text=VALID)

    keys = set(playbook_list(organization=organization).values_list("key", flat=True))

    assert "demo" in keys
    assert "theirs" not in keys
    builtin_keys = set(
        Playbook.objects.filter(organization__isnull=True).values_list("key", flat=True)
    )
    assert builtin_keys <= keys
    with pytest.raises(ApplicationError, match="No playbook 'theirs'"):
        playbook_get(organization=organization, key="theirs")
    with pytest.raises(ApplicationError, match="No playbook 'demo' version 9"):
        playbook_get(organization=organization, key="demo", version=9)


def test_the_org_may_be_left_out_when_there_is_only_one(organization: Any, tmp_path: Path) -> None:
    out = StringIO()

    call_command("load_playbook", str(_write(tmp_path, VALID)), stdout=out)

    assert out.getvalue() == "Stored playbook demo version 2 (3 milestones) for acme.\n"
    assert Playbook.objects.filter(organization=organization, key="demo").exists()


def test_without_an_org_several_organisations_are_not_guessed_between(
    organization: Any, tmp_path: Path
) -> None:
    OrganizationFactory(slug="globex")

    with pytest.raises(CommandError, match=r"several organisations.*--org SLUG"):
        call_command("load_playbook", str(_write(tmp_path, VALID)))
    assert not Playbook.objects.filter(key="demo").exists()


def test_without_an_org_and_with_no_organisation_it_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no organisation yet"):
        call_command("load_playbook", str(_write(tmp_path, VALID)))
