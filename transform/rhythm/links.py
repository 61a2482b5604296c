"""The signed, expiring, single-use links of check-ins (docs/checkins.md).

A link carries ``<checkin id>.<nonce>`` signed with the project's SECRET_KEY (Django's signing,
with its own salt): a changed id or nonce fails the signature, and a guessed link needs both the
random nonce and the key. Expiry and single use live in the database (``CheckIn.expires_at`` and
``CheckIn.answered_at``), so they hold whichever process checks them. The token is the same every
time it is built for a check-in, so a retried or reminder message carries the same link.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse

from transform.models import CheckIn

_SALT = "transform.checkin-link"


def link_nonce_new() -> str:
    """A fresh random nonce for a new check-in (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def checkin_token(checkin: CheckIn) -> str:
    """The signed token for a check-in's link."""
    return signing.Signer(salt=_SALT).sign(f"{checkin.pk}.{checkin.link_nonce}")


def checkin_token_parse(token: str) -> tuple[int, str] | None:
    """``(checkin id, nonce)`` from a token, or None when the token is malformed or its signature
    does not match. Says nothing about expiry or use: the caller checks the row."""
    try:
        value = signing.Signer(salt=_SALT).unsign(token)
    except signing.BadSignature:
        return None
    checkin_id, _, nonce = value.partition(".")
    if not checkin_id.isdigit() or not nonce:
        return None
    return int(checkin_id), nonce


def checkin_token_matches(checkin: CheckIn, nonce: str) -> bool:
    """Whether ``nonce`` is the check-in's, compared in constant time."""
    return secrets.compare_digest(checkin.link_nonce, nonce)


def checkin_url(checkin: CheckIn) -> str:
    """The absolute URL of the check-in's response form (TRANSFORM_BASE_URL + path)."""
    path = reverse("checkin-respond", kwargs={"token": checkin_token(checkin)})
    return settings.TRANSFORM_BASE_URL.rstrip("/") + path
