"""Single sign-on in a real browser, through a real OpenID Connect provider started for the module
(django-oauth-toolkit in its own process): a person of the demo organisation signs in at the
provider, lands on their mapped role's page, and is now linked to the new login; a colleague the
mapping gives no role accepts an invitation by signing in at the provider and gets its role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from teams.invitations import invitation_create_for_email
from teams.models import OrganizationRole, Person, Role
from tests.builders import WebDemo
from tests.oidc_provider.harness import Provider, ProviderUser, oidc_provider
from tests.web.browser import screenshot
from transform.web.sso_config import role_map_parse

pytestmark = pytest.mark.browser

PRIYA = ProviderUser("priya", "Priya.Raman@democorp.example", groups=["demo-leaders"])
ZARA = ProviderUser("zara", "zara.ahmed@democorp.example", groups=["demo-agents", "other"])
NOOR = ProviderUser("noor", "noor.haddad@newhire.example", groups=["contractors"])
ROLE_MAP = "demo-leaders=demo:leader, demo-agents=demo:change_agent"


@pytest.fixture(scope="module")
def provider(web_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with oidc_provider(
        tmp_path_factory.mktemp("oidc-provider-browser"),
        redirect_uris=[f"{web_server}/oidc/callback/"],
        users=[PRIYA, ZARA, NOOR],
    ) as started:
        yield started


@pytest.fixture
def sso(provider: Provider) -> Iterator[Provider]:
    """Single sign-on on, for the live server too (it runs in this process)."""
    with override_settings(
        TRANSFORM_OIDC_ISSUER=provider.issuer,
        TRANSFORM_OIDC_PROVIDER_NAME="Test IdP",
        OIDC_RP_CLIENT_ID=provider.client_id,
        OIDC_RP_CLIENT_SECRET=provider.client_secret,
        TRANSFORM_OIDC_ROLE_MAP=role_map_parse(ROLE_MAP),
    ):
        yield provider


def sign_in_at_the_provider(page: Any, user: ProviderUser) -> None:
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.get_by_label("Provider username").fill(user.username)
    page.get_by_label("Provider password").fill(user.password)
    page.get_by_role("button", name="Sign in at the provider").click()


def test_a_leader_signs_in_through_the_provider_and_lands_on_the_leadership_page(
    page: Any, web_demo: WebDemo, sso: Provider
):
    person = Person.objects.get(organization=web_demo.organization, email=PRIYA.email.lower())
    assert person.user is None

    page.goto("/accounts/login/")
    screenshot(page, "sso-login-page")
    sign_in_at_the_provider(page, PRIYA)

    page.wait_for_url("**/o/demo/leadership/")
    assert page.get_by_role("heading", name="Leadership dashboard", level=1).is_visible()
    screenshot(page, "sso-leader-signed-in")
    person.refresh_from_db()
    assert person.user is not None
    assert person.user.email == PRIYA.email.lower()
    assert set(
        OrganizationRole.objects.filter(user=person.user).values_list("role", flat=True)
    ) == {Role.LEADER}


def test_a_change_agent_signs_in_and_lands_on_the_findings(
    page: Any, web_demo: WebDemo, sso: Provider
):
    sign_in_at_the_provider(page, ZARA)

    page.wait_for_url("**/o/demo/findings/")
    person = Person.objects.get(organization=web_demo.organization, email=ZARA.email)
    assert person.user is not None
    assert OrganizationRole.objects.filter(
        organization=web_demo.organization, user=person.user, role=Role.CHANGE_AGENT
    ).exists()


def test_a_colleague_accepts_an_invitation_by_signing_in_through_the_provider(
    page: Any, web_demo: WebDemo, sso: Provider
):
    sent = invitation_create_for_email(
        organization=web_demo.organization,
        email=NOOR.email,
        actor=None,
        role=Role.ENGINEERING_MANAGER,
        name="Noor Haddad",
    )
    page.goto(f"/invitations/{sent.token}/")
    page.get_by_role("link", name="Sign in to accept").click()
    sign_in_link = page.get_by_role("link", name="Sign in with Test IdP")
    sign_in_link.click()
    page.get_by_label("Provider username").fill(NOOR.username)
    page.get_by_label("Provider password").fill(NOOR.password)
    page.get_by_role("button", name="Sign in at the provider").click()

    # Back on the invitation, signed in with the login the provider's answer created.
    page.wait_for_url(f"**/invitations/{sent.token}/")
    assert page.get_by_text("Accepting gives your login").is_visible()
    assert not OrganizationRole.objects.filter(user__email=NOOR.email).exists()
    with page.expect_navigation():
        page.get_by_role("button", name="Accept the invitation").click()

    assert "/o/demo/" in page.url
    assert page.locator(".who").inner_text() == f"{NOOR.email} (engineering manager)"
    screenshot(page, "sso-invitation-accepted")
    roles = OrganizationRole.objects.filter(
        organization=web_demo.organization, user__email=NOOR.email
    ).values_list("role", flat=True)
    assert set(roles) == {Role.ENGINEERING_MANAGER}


def test_logging_out_ends_the_provider_session_too(page: Any, web_demo: WebDemo, sso: Provider):
    sign_in_at_the_provider(page, ZARA)
    page.wait_for_url("**/o/demo/findings/")

    with page.expect_navigation(url="**/accounts/login/"):
        page.get_by_role("button", name="Log out").click()

    # Signed out here and at the provider: signing in again asks for the password there, instead
    # of letting whoever sits at this browser straight back in.
    page.get_by_role("link", name="Sign in with Test IdP").click()
    assert page.get_by_label("Provider password").is_visible()
    screenshot(page, "sso-after-logout")
    page.goto("/o/demo/findings/")
    assert "/accounts/login/" in page.url
