"""Playbook titles for labels (the findings' start forms): the version ``playbook_get`` would
take, in one query whatever the number of keys."""

from __future__ import annotations

from typing import Any

import pytest

from playbooks.selectors import playbook_get, playbook_titles
from playbooks.services import builtin_playbooks_sync, playbook_load
from tests.factories import OrganizationFactory
from tests.playbooks.samples import VALID

pytestmark = pytest.mark.django_db


def test_titles_follow_the_version_playbook_get_takes(django_assert_num_queries: Any) -> None:
    builtin_playbooks_sync()
    acme: Any = OrganizationFactory(slug="acme")
    globex: Any = OrganizationFactory(slug="globex")
    playbook_load(organization=acme, path="v2.yaml", text=VALID)
    newer = VALID.replace("version: 2", "version: 3").replace("Demo playbook", "Demo, revised")
    playbook_load(organization=acme, path="v3.yaml", text=newer)
    keys = ["demo", "unify-ops-silos", "no-such-playbook"]

    with django_assert_num_queries(1):
        titles = playbook_titles(organization=acme, keys=keys)

    assert titles == {
        "demo": "Demo, revised",
        "unify-ops-silos": "Unify ops silos into a platform team",
    }
    assert titles["demo"] == playbook_get(organization=acme, key="demo").title
    assert "demo" not in playbook_titles(organization=globex, keys=keys)  # acme's own only
    assert playbook_titles(organization=acme, keys=[]) == {}
