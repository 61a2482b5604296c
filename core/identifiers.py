"""The identifiers every API and file format shares: the one slug rule (letters, digits, hyphens
and underscores, as Django's ``SlugField`` and ``validate_slug`` define it) and e-mail addresses
(Django's ``EmailField`` rule)."""

from __future__ import annotations

import re
from typing import Annotated

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from pydantic import Field

# Django's ``slug_re`` written for JSON Schema and pydantic (their regex dialect ends with ``$``,
# which matches only at the very end, as ``\Z`` does in Python).
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
SLUG_MAX_LENGTH = 100

# A slug in a pydantic model (file formats); add a description with
# ``Annotated[Slug, Field(description=...)]``.
Slug = Annotated[str, Field(min_length=1, max_length=SLUG_MAX_LENGTH, pattern=SLUG_PATTERN)]


def slug_is_valid(value: str) -> bool:
    """Whether ``value`` is a slug by Django's rule and at most ``SLUG_MAX_LENGTH`` long."""
    if not value or len(value) > SLUG_MAX_LENGTH:
        return False
    try:
        validate_slug(value)
    except ValidationError:
        return False
    return True


# The everyday shape of an address, a strict subset of what Django's validator accepts: checked
# first because the full validator dominates the reading time of a 50,000-person file.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def email_is_valid(value: str) -> bool:
    """Whether ``value`` is an e-mail address by Django's rules (``EmailField``)."""
    if _PLAIN_EMAIL.fullmatch(value) and len(value) <= 254:
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True
