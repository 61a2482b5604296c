"""Single sign-on end to end against a real OpenID Connect provider (django-oauth-toolkit in its
own process, tests/oidc_provider/), and password login switched off, and the password reset by
e-mail. Nothing of our login code is mocked: the app redirects to the provider, the provider's
login page is filled in over HTTP, and the app exchanges the code and reads userinfo itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings

from teams.models import OrganizationRole, Role
from teams.sso import SSO_ROLE_REASON
from tests.builders import make_organization, make_person
from tests.factories import UserFactory
from tests.oidc_provider.harness import Provider, ProviderUser, oidc_provider, provider_sign_in
from transform.web.sso_config import role_map_parse

ANN = ProviderUser(
    "ann", "Ann.Lee@Example.com", groups=["transform-leaders"], given_name="Ann", family_name="Lee"
)
BEN = ProviderUser("ben", "ben@example.com", groups=["transform-agents", "acme-admins"])
UNVERIFIED = ProviderUser("uma", "uma@example.com", email_verified=False, groups=["acme-admins"])
PLAIN = ProviderUser("pat", "pat@example.com")
ROLE_MAP = (
    "transform-leaders=acme:leader, transform-agents=acme:change_agent, acme-admins=acme:admin"
)
NEW_PASSWORD = "a-Long-new-passphrase-42"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    directory: Path = tmp_path_factory.mktemp("oidc-provider")
    with oidc_provider(
        directory,
        redirect_uris=["http://testserver/oidc/callback/"],
        users=[ANN, BEN, UNVERIFIED, PLAIN],
    ) as started:
        yield started


@pytest.fixture
def sso(provider: Provider, db: None) -> Iterator[Provider]:
    """Single sign-on configured against the running provider, with the role mapping."""
    with override_settings(
        TRANSFORM_OIDC_ISSUER=provider.issuer,
        TRANSFORM_OIDC_PROVIDER_NAME="Test IdP",
        OIDC_RP_CLIENT_ID=provider.client_id,
        OIDC_RP_CLIENT_SECRET=provider.client_secret,
        TRANSFORM_OIDC_ROLE_MAP=role_map_parse(ROLE_MAP),
    ):
        yield provider


def sign_in(client: Client, user: ProviderUser, *, next_url: str = "") -> Any:
    """Start at the app, sign in at the provider, come back to the app's callback."""
    start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content
    callback = urlsplit(provider_sign_in(start["Location"], user))
    return client.get(f"{callback.path}?{callback.query}")


def password_user(*, username: str, email: str) -> User:
    """A login with the password "correct horse battery staple"."""
    UserFactory(username=username, email=email)
    return get_user_model().objects.get(username=username)


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return None if user_id is None else get_user_model().objects.get(pk=user_id)


def roles_of(user: User) -> set[tuple[str, str]]:
    return {
        (role.organization.slug, role.role)
        for role in OrganizationRole.objects.filter(user=user).select_related("organization")
    }


# --- single sign-on -----------------------------------------------------------------------------


def test_the_first_sign_in_creates_the_login_and_links_the_person_by_verified_email(
    sso: Provider, client: Client
):
    acme = make_organization("acme")
    person = make_person(acme, email="ann.lee@example.com", name="Ann Lee")

    answer = sign_in(client, ANN)

    assert answer.status_code == 302
    assert answer["Location"] == "/"
    user = signed_in_user(client)
    assert user is not None
    assert user.email == "ann.lee@example.com"
    assert (user.first_name, user.last_name) == ("Ann", "Lee")
    assert not user.has_usable_password()
    person.refresh_from_db()
    assert person.user == user
    # The mapped role takes the login to the leader's page.
    assert roles_of(user) == {("acme", Role.LEADER)}
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/o/acme/leadership/"


def test_signing_in_again_reuses_the_login(sso: Provider, client: Client):
    make_organization("acme")
    sign_in(client, ANN)
    first = signed_in_user(client)
    client.logout()

    sign_in(client, ANN)

    assert signed_in_user(client) == first
    assert get_user_model().objects.filter(email__iexact=ANN.email).count() == 1


def test_a_deactivated_login_loses_its_single_sign_on_session(sso: Provider, client: Client):
    make_organization("acme")
    sign_in(client, ANN)
    user = signed_in_user(client)
    assert user is not None
    assert client.get("/").status_code == 302
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/o/acme/leadership/"

    get_user_model().objects.filter(pk=user.pk).update(is_active=False)

    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_an_existing_login_with_the_email_is_reused_and_keeps_its_password(
    sso: Provider, client: Client
):
    acme = make_organization("acme")
    existing = password_user(username="pat", email="PAT@example.com")
    person = make_person(acme, email="pat@example.com", name="Pat")

    sign_in(client, PLAIN)

    assert signed_in_user(client) == existing
    assert existing.check_password("correct horse battery staple")
    person.refresh_from_db()
    assert person.user == existing


def test_a_person_linked_to_another_login_is_left_alone(sso: Provider, client: Client):
    acme = make_organization("acme")
    other = password_user(username="someone-else", email="else@example.com")
    person = make_person(acme, email="ann.lee@example.com", name="Ann Lee", user=other)

    sign_in(client, ANN)

    person.refresh_from_db()
    assert person.user == other
    assert signed_in_user(client) not in (None, other)


def test_an_unverified_email_is_refused_with_a_page_and_nothing_is_created(
    sso: Provider, client: Client
):
    acme = make_organization("acme")
    person = make_person(acme, email="uma@example.com", name="Uma")
    logins_before = get_user_model().objects.count()

    answer = sign_in(client, UNVERIFIED)

    assert answer.status_code == 403
    assert "has not verified the e-mail address uma@example.com" in answer.content.decode()
    assert signed_in_user(client) is None
    assert get_user_model().objects.count() == logins_before
    person.refresh_from_db()
    assert person.user is None
    assert not OrganizationRole.objects.filter(organization=acme).exists()


def test_refused_sign_ins_do_not_lock_the_address_out_of_single_sign_on(
    sso: Provider, client: Client
):
    """django-axes guards passwords; a refused sign-in through the provider checks none, and
    counting it (as a failure of "no username" from the address) would lock everyone behind
    the same address out of single sign-on."""
    make_organization("acme")
    with override_settings(AXES_FAILURE_LIMIT=2):
        refused = [sign_in(client, UNVERIFIED).status_code for _ in range(3)]
        signed_in = sign_in(client, ANN)

    assert refused == [403, 403, 403]
    assert signed_in.status_code == 302
    assert signed_in_user(client) is not None
    assert not AccessAttempt.objects.exists()


def test_logout_after_single_sign_on_goes_to_the_providers_logout_with_the_id_token(
    sso: Provider, client: Client
):
    sign_in(client, BEN)
    id_token = client.session["oidc_id_token"]

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{sso.issuer}/logout/"
    assert parse_qs(target.query) == {
        "id_token_hint": [id_token],
        "post_logout_redirect_uri": ["http://testserver/accounts/login/"],
        "client_id": [sso.client_id],
    }
    assert "_auth_user_id" not in client.session  # signed out here first
    # The provider ends its session and sends the browser back to the login page.
    with httpx.Client(follow_redirects=False, timeout=15) as browser:
        answer = browser.get(response["Location"])
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://testserver/accounts/login/"


def test_a_password_login_logs_out_here_only(sso: Provider, client: Client):
    password_user(username="pw", email="pw@example.com")
    assert client.login(username="pw", password="correct horse battery staple")

    response = client.post("/accounts/logout/")

    assert response["Location"] == "/accounts/login/"


def test_logout_stays_here_when_provider_logout_is_off_or_the_provider_is_down(
    sso: Provider, client: Client
):
    sign_in(client, BEN)
    with override_settings(TRANSFORM_OIDC_PROVIDER_LOGOUT=False):
        assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"

    sign_in(client, BEN)
    cache.clear()  # the discovery document is read again, from a provider that is gone
    with override_settings(TRANSFORM_OIDC_ISSUER="http://127.0.0.1:9/o"):
        assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_an_explicit_end_session_endpoint_keeps_its_own_query(sso: Provider, client: Client):
    sign_in(client, BEN)
    with override_settings(
        TRANSFORM_OIDC_END_SESSION_ENDPOINT="https://idp.example/logout?tenant=acme"
    ):
        location = client.post("/accounts/logout/")["Location"]

    assert location.startswith("https://idp.example/logout?tenant=acme&id_token_hint=")


def test_the_role_claim_grants_every_mapped_role(sso: Provider, client: Client):
    make_organization("acme")
    make_organization("globex")

    sign_in(client, BEN)

    user = signed_in_user(client)
    assert user is not None
    assert roles_of(user) == {("acme", Role.CHANGE_AGENT), ("acme", Role.ADMIN)}
    # Admins and change agents start at the findings.
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/o/acme/findings/"
    granted = OrganizationRole.history.filter(user=user, history_type="+")
    assert {row.history_change_reason for row in granted} == {SSO_ROLE_REASON}


def test_a_role_the_mapping_no_longer_gives_is_revoked_but_a_hand_granted_one_stays(
    sso: Provider, client: Client
):
    acme = make_organization("acme")
    sign_in(client, BEN)
    user = signed_in_user(client)
    assert user is not None
    OrganizationRole.objects.create(organization=acme, user=user, role=Role.MEMBER)
    client.logout()

    # Ben left the agents' group at the provider: only the admins' mapping still applies.
    with override_settings(TRANSFORM_OIDC_ROLE_MAP=role_map_parse("acme-admins=acme:admin")):
        sign_in(client, BEN)

    assert roles_of(user) == {("acme", Role.ADMIN), ("acme", Role.MEMBER)}


def test_the_login_page_offers_the_provider_next_to_the_password_form(
    sso: Provider, client: Client
):
    page = client.get("/accounts/login/").content.decode()

    assert "Sign in with Test IdP" in page
    assert 'href="/oidc/authenticate/"' in page
    assert 'name="password"' in page
    assert 'href="/accounts/password-reset/"' in page


def test_sign_in_returns_to_the_page_asked_for(sso: Provider, client: Client):
    make_organization("acme")

    answer = sign_in(client, ANN, next_url="/o/acme/graph/")

    assert answer.status_code == 302
    assert answer["Location"] == "/o/acme/graph/"


def test_an_unreachable_provider_is_a_page_and_password_login_still_works(db: None, client: Client):
    password_user(username="pat", email="pat@example.com")
    with override_settings(
        TRANSFORM_OIDC_ISSUER="http://127.0.0.1:9/nowhere",
        OIDC_RP_CLIENT_ID="id",
        OIDC_RP_CLIENT_SECRET="secret",
    ):
        start = client.get("/oidc/authenticate/")
        logged_in = client.post(
            "/accounts/login/", {"username": "pat", "password": "correct horse battery staple"}
        )

    assert start.status_code == 503
    assert "The sign-in provider cannot be reached" in start.content.decode()
    assert logged_in.status_code == 302
    assert signed_in_user(client) is not None


def test_a_provider_that_refuses_the_client_secret_is_a_page_not_an_error(
    sso: Provider, client: Client
):
    with override_settings(OIDC_RP_CLIENT_SECRET="not-the-secret"):
        answer = sign_in(client, ANN)

    assert answer.status_code == 403
    assert "did not complete the sign-in" in answer.content.decode()
    assert signed_in_user(client) is None
    assert not get_user_model().objects.exists()


def test_without_an_issuer_the_sso_routes_are_404_and_the_page_has_no_button(
    db: None, client: Client
):
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()


# --- password login switched off ----------------------------------------------------------------


@pytest.fixture
def password_login_off(sso: Provider) -> Iterator[Provider]:
    with override_settings(TRANSFORM_PASSWORD_LOGIN=False):
        yield sso


def test_with_password_login_off_the_page_shows_only_the_provider(
    password_login_off: Provider, client: Client
):
    page = client.get("/accounts/login/").content.decode()

    assert "Sign in with Test IdP" in page
    assert 'name="password"' not in page
    assert "password-reset" not in page


def test_with_password_login_off_a_posted_password_is_refused_everywhere(
    password_login_off: Provider, client: Client
):
    password_user(username="pat", email="pat@example.com")
    credentials = {"username": "pat", "password": "correct horse battery staple"}

    page = client.post("/accounts/login/", credentials)
    browsable_api = client.post("/api-auth/login/", credentials)
    token = client.post("/api/v1/auth/token/", credentials, content_type="application/json")
    admin = client.post("/admin/login/", credentials)

    assert page.status_code == 403
    assert "Password login is switched off" in page.content.decode()
    assert browsable_api.status_code == 200  # the form again, with its error
    assert token.status_code in (400, 401)
    assert admin.status_code == 200
    assert signed_in_user(client) is None
    assert not client.login(**credentials)


def test_with_password_login_off_single_sign_on_still_works(
    password_login_off: Provider, client: Client
):
    make_organization("acme")

    sign_in(client, ANN)

    assert signed_in_user(client) is not None


# --- password reset by e-mail -------------------------------------------------------------------


def reset_link(message: mail.EmailMessage) -> str:
    found = re.search(r"http://testserver(/accounts/reset/\S+/)", str(message.body))
    assert found is not None, message.body
    return found.group(1)


def test_a_password_user_resets_the_password_through_the_emailed_link(db: None, client: Client):
    user = password_user(username="pat", email="pat@example.com")

    asked = client.post("/accounts/password-reset/", {"email": "PAT@example.com"})

    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.com"]
    assert mail.outbox[0].subject == "Reset your Transform password"
    assert "It works once, for 3 days" in client.get(asked["Location"]).content.decode()
    opened = client.get(reset_link(mail.outbox[0]))
    assert opened.status_code == 302  # to the same page without the token in the address
    form = client.get(opened["Location"])
    assert "Set a new password" in form.content.decode()
    done = client.post(
        opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # The link works once.
    again = client.get(reset_link(mail.outbox[0]), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(db: None, client: Client):
    asked = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})

    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_a_login_that_only_signs_in_with_the_provider_gets_no_reset_mail(
    sso: Provider, client: Client
):
    make_organization("acme")
    sign_in(client, ANN)
    client.logout()

    asked = client.post("/accounts/password-reset/", {"email": ANN.email})

    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_with_password_login_off_there_is_no_password_reset(
    password_login_off: Provider, client: Client
):
    password_user(username="pat", email="pat@example.com")

    assert client.get("/accounts/password-reset/").status_code == 404
    assert client.post("/accounts/password-reset/", {"email": "pat@example.com"}).status_code == 404
    assert mail.outbox == []


def test_the_reset_pages_look_like_the_login_page(db: None, client: Client):
    page = client.get("/accounts/password-reset/").content.decode()

    assert "<h1>Reset your password</h1>" in page
    assert 'class="stack narrow"' in page
    assert 'href="/accounts/login/"' in page
    assert "Django administration" not in page  # our template, not the admin's


# --- configuration at startup -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"TRANSFORM_OIDC_ROLE_MAP": "leads=acme:boss"},
            "TRANSFORM_OIDC_ROLE_MAP: entry 1 'leads=acme:boss' names the unknown role 'boss'",
        ),
        (
            {"TRANSFORM_OIDC_ISSUER": "https://idp.example.com"},
            "TRANSFORM_OIDC_CLIENT_ID and TRANSFORM_OIDC_CLIENT_SECRET must be set too",
        ),
        (
            {"TRANSFORM_PASSWORD_LOGIN": "false"},
            "TRANSFORM_PASSWORD_LOGIN is false but TRANSFORM_OIDC_ISSUER is unset",
        ),
    ],
)
def test_a_wrong_configuration_stops_startup_with_a_clear_error(
    environment: dict[str, str], message: str
):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "transform.settings", **environment}
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert message in started.stderr


def test_a_provider_that_is_down_does_not_stop_startup():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "transform.settings",
        "TRANSFORM_OIDC_ISSUER": "http://127.0.0.1:9/nowhere",
        "TRANSFORM_OIDC_CLIENT_ID": "id",
        "TRANSFORM_OIDC_CLIENT_SECRET": "secret",
        "TRANSFORM_OIDC_ROLE_MAP": "leads=acme:leader",
    }
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); import transform.urls"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode == 0, started.stderr
