"""Shared pytest fixtures."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Real-world inputs (Backstage's example organisation), copied unchanged so a fresh clone tests.
REALWORLD_DIR = REPO_ROOT / "tests" / "data" / "realworld"
FIXTURES_DIR = REPO_ROOT / "fixtures"


@pytest.fixture
def organization(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests log users in, they do not test hashing strength: PBKDF2 costs ~1 s per user here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
