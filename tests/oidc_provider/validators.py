"""The provider's claims: e-mail, ``email_verified``, names and ``groups`` of each user, as the
test described them in the configuration file (``OIDC_PROVIDER_CONFIG``)."""

import json
import os
from pathlib import Path
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


def configured_users() -> dict[str, dict[str, Any]]:
    config = json.loads(Path(os.environ["OIDC_PROVIDER_CONFIG"]).read_text())
    return {user["username"]: user for user in config["users"]}


class ClaimsValidator(OAuth2Validator):
    # Every claim below goes into the ID token and the userinfo answer, whatever the scopes.
    oidc_claim_scope = None

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = configured_users()[request.user.username]
        return {
            "email": user["email"],
            "email_verified": user["email_verified"],
            "given_name": user.get("given_name", ""),
            "family_name": user.get("family_name", ""),
            "groups": user.get("groups", []),
        }
