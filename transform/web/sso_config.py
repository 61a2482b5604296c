"""Single sign-on configuration (docs/sso.md): the role mapping read from the environment at
startup, and the provider's endpoints discovered lazily from its issuer.

``transform.settings`` imports this module, so nothing here may read settings at import time
(Django's ``settings`` and ``cache`` are lazy until used); the discovery reads them when called.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

# The organisation roles a mapping may grant: teams.models.Role's values. Settings cannot import
# the models (the app registry is not ready), so the names are listed here and
# tests/teams/test_sso.py checks that they are exactly Role's values.
SSO_GRANTABLE_ROLES = ("admin", "change_agent", "engineering_manager", "leader", "member")

logger = logging.getLogger(__name__)

_ENTRY = re.compile(r"^(?P<value>.+)=(?P<org>[-a-zA-Z0-9_]+):(?P<role>[a-z_]+)$")


@dataclass(frozen=True)
class RoleMapping:
    """One entry of ``TRANSFORM_OIDC_ROLE_MAP``: whoever's role claim holds ``claim_value`` holds
    ``role`` in the organisation ``organization_slug``."""

    claim_value: str
    organization_slug: str
    role: str


def role_map_parse(text: str, *, name: str = "TRANSFORM_OIDC_ROLE_MAP") -> tuple[RoleMapping, ...]:
    """Parses ``<claim value>=<org slug>:<role>`` entries separated by commas or new lines.

    The claim value is everything before the last ``=`` (so ``/groups/a=b`` is fine); blank
    entries are ignored. Raises ``ImproperlyConfigured`` naming the entry that is wrong."""
    mappings: list[RoleMapping] = []
    for position, raw in enumerate(re.split(r"[,\n]", text), start=1):
        entry = raw.strip()
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if match is None:
            raise ImproperlyConfigured(
                f"{name}: entry {position} {entry!r} is not <claim value>=<org slug>:<role>"
            )
        role = match["role"]
        if role not in SSO_GRANTABLE_ROLES:
            raise ImproperlyConfigured(
                f"{name}: entry {position} {entry!r} names the unknown role {role!r}; "
                f"roles are {', '.join(SSO_GRANTABLE_ROLES)}"
            )
        mappings.append(
            RoleMapping(
                claim_value=match["value"].strip(),
                organization_slug=match["org"].lower(),
                role=role,
            )
        )
    return tuple(mappings)


# --- endpoint discovery -------------------------------------------------------------------------

# Our setting name -> the key of the provider's discovery document that supplies it.
DISCOVERED_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
DISCOVERY_CACHE_SECONDS = 3600


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read (it is down, or the issuer is
    wrong); the sign-in pages say so, password login and everything else keep working."""


def sso_enabled() -> bool:
    return bool(settings.TRANSFORM_OIDC_ISSUER)


def discovery_document(issuer: str) -> dict[str, Any]:
    """``{issuer}/.well-known/openid-configuration``, read on first use and cached for an hour:
    nothing is fetched at startup, so an unreachable provider never stops the app from starting."""
    key = f"sso:discovery:{issuer}"
    document = cache.get(key)
    if document is None:
        url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"Could not read {url}: {exc}") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url} is not a JSON object")
        cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def oidc_endpoint(setting: str) -> str:
    """The endpoint ``setting`` (one of ``DISCOVERED_ENDPOINTS``): its explicit value when set
    (``TRANSFORM_OIDC_*_ENDPOINT``), else the one the issuer's discovery document names."""
    explicit: str = getattr(settings, setting, "")
    if explicit:
        return explicit
    key = DISCOVERED_ENDPOINTS[setting]
    value = discovery_document(settings.TRANSFORM_OIDC_ISSUER).get(key)
    if not isinstance(value, str) or not value:
        raise ProviderUnavailable(
            f"The provider's discovery document has no {key}; set {setting} explicitly"
        )
    return value


def provider_logout_url(*, id_token: str, after: str) -> str | None:
    """Where to send a person who signs out so that the provider's session ends too (OpenID
    Connect RP-initiated logout): the provider's end_session_endpoint with the ID token as hint
    and ``after`` (an absolute URL the client registered) to come back to. None when provider
    logout is off or the provider has no such endpoint, or cannot be reached: the person is then
    signed out of Transform only, as before."""
    if not (sso_enabled() and settings.TRANSFORM_OIDC_PROVIDER_LOGOUT and id_token):
        return None
    endpoint: str = settings.TRANSFORM_OIDC_END_SESSION_ENDPOINT
    if not endpoint:
        try:
            found = discovery_document(settings.TRANSFORM_OIDC_ISSUER).get("end_session_endpoint")
        except ProviderUnavailable:
            logger.warning("SSO: the provider cannot be reached to end its session at logout")
            return None
        if not isinstance(found, str) or not found:
            return None
        endpoint = found
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": after,
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
