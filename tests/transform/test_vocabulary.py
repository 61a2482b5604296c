"""Vocabularies defined in two layers (playbooks cannot import transform) stay the same."""

from playbooks.format import OWNER_ROLES
from transform.models import OwnerRole


def test_milestone_owner_roles_match_the_playbook_format():
    assert set(OwnerRole.values) == set(OWNER_ROLES)
