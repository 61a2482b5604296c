"""Starting and stopping the test OpenID Connect provider from a fixture (not a test module).

Each call starts its own process on its own free port with its own database, so pytest-xdist
workers never share one, and the app under test (SQLite or PostgreSQL) is untouched by it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID = "transform-tests"
CLIENT_SECRET = "transform-tests-secret-0123456789"
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ProviderUser:
    """A user of the provider and the claims it vouches for."""

    username: str
    email: str
    email_verified: bool = True
    groups: Sequence[str] = ()
    password: str = "provider-pw"
    given_name: str = ""
    family_name: str = ""


@dataclass
class Provider:
    """A running provider: its issuer (``http://127.0.0.1:<port>/o``) and client."""

    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    users: dict[str, ProviderUser] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.issuer.removesuffix("/o")


def _user_json(user: ProviderUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "password": user.password,
        "email": user.email,
        "email_verified": user.email_verified,
        "groups": list(user.groups),
        "given_name": user.given_name,
        "family_name": user.family_name,
    }


@contextmanager
def oidc_provider(
    directory: Path, *, redirect_uris: Sequence[str], users: Sequence[ProviderUser]
) -> Iterator[Provider]:
    """Starts the provider in ``directory``, waits until its discovery document answers, yields
    it, and stops the process (its log is in ``directory / "provider.log"``)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": list(redirect_uris),
        # Back to the app's login page after its logout ended the provider's session.
        "post_logout_redirect_uris": [
            uri.replace("/oidc/callback/", "/accounts/login/") for uri in redirect_uris
        ],
        "users": [_user_json(user) for user in users],
    }
    (directory / "config.json").write_text(json.dumps(config))
    log = (directory / "provider.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider", str(directory)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        issuer = _wait_until_ready(directory, process)
        yield Provider(issuer=issuer, users={user.username: user for user in users})
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_ready(directory: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    port_file = directory / "port"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "provider.log").read_text(errors="replace")
            raise RuntimeError(f"The OIDC provider exited ({process.returncode}):\n{log}")
        if port_file.exists() and port_file.read_text():
            issuer = f"http://127.0.0.1:{port_file.read_text().strip()}/o"
            try:
                answer = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=5)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 200:
                return issuer
        time.sleep(0.1)
    raise RuntimeError(f"The OIDC provider did not answer within {START_TIMEOUT_SECONDS} s")


def provider_sign_in(authorize_url: str, user: ProviderUser) -> str:
    """What a person does at the provider, over HTTP: open the authorization URL, log in, and
    come back with the redirect to the app's callback. Returns that redirect's URL (with
    ``code`` and ``state``, or ``error``), not followed: the caller hands it to the app."""
    with httpx.Client(follow_redirects=False, timeout=15) as client:
        answer = client.get(authorize_url)
        for _ in range(10):
            if answer.status_code != 302:
                break
            location = str(answer.url.join(answer.headers["location"]))
            if "/oidc/callback/" in location:
                return location
            answer = client.get(location)
        if answer.status_code != 200 or "csrfmiddlewaretoken" not in answer.text:
            raise AssertionError(f"expected the provider's login page, got {answer.status_code}")
        token = answer.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        login_url = str(answer.url)
        next_url = answer.url.params.get("next", "")
        answer = client.post(
            login_url,
            data={
                "csrfmiddlewaretoken": token,
                "username": user.username,
                "password": user.password,
                "next": next_url,
            },
            headers={"Referer": login_url},
        )
        for _ in range(10):
            if answer.status_code != 302:
                raise AssertionError(
                    f"the provider answered {answer.status_code}: {answer.text[:500]}"
                )
            location = str(answer.url.join(answer.headers["location"]))
            if "/oidc/callback/" in location:
                return location
            answer = client.get(location)
    raise AssertionError("the provider never redirected back to the app")
