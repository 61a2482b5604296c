"""Shared pytest fixtures."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
REALWORLD_DIR = REPO_ROOT.parent / "shared" / "realworld"
FIXTURES_DIR = REPO_ROOT / "fixtures"


@pytest.fixture
def organization(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory(slug="acme", name="Acme")
