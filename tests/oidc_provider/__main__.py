"""Runs the test OpenID Connect provider: ``python -m tests.oidc_provider <dir>``.

``<dir>/config.json`` names the client (id, secret, redirect URIs) and the users. The process
binds a free port on 127.0.0.1, creates its SQLite database and RSA key in ``<dir>``, and writes
the port to ``<dir>/port`` once it answers requests."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(directory: Path) -> None:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from jwcrypto import jwk  # type: ignore[import-untyped]  # ships no type hints

    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    port = server.server_address[1]
    key = directory / "key.pem"
    key.write_bytes(jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(True, None))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        OIDC_PROVIDER_DB=str(directory / "provider.sqlite3"),
        OIDC_PROVIDER_KEY=str(key),
        OIDC_PROVIDER_ISSUER=f"http://127.0.0.1:{port}/o",
        OIDC_PROVIDER_CONFIG=str(directory / "config.json"),
    )

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    config = json.loads((directory / "config.json").read_text())
    for user in config["users"]:
        User.objects.create_user(user["username"], password=user["password"])
    Application.objects.create(
        name="Transform",
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(config["redirect_uris"]),
        post_logout_redirect_uris=" ".join(config["post_logout_redirect_uris"]),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    server.set_app(get_wsgi_application())
    (directory / "port").write_text(str(port))
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
