"""Single sign-on's domain rules (teams.sso) on plain claims, and the role mapping's syntax
(transform.web.sso_config). The flow through a real provider is in tests/web/test_sso.py."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from teams.models import OrganizationRole, Person, Role
from teams.sso import SSO_ROLE_REASON, SsoRefused, claim_values, sso_login, verified_email
from tests.builders import make_organization, make_person
from tests.factories import UserFactory
from transform.web.sso_config import SSO_GRANTABLE_ROLES, RoleMapping, role_map_parse

MAP = role_map_parse("leads=acme:leader,admins=acme:admin,admins=globex:member")


def claims(email: str = "ann@example.com", verified: object = True, **more: object) -> dict:
    return {"sub": "1", "email": email, "email_verified": verified, **more}


# --- the mapping's syntax -----------------------------------------------------------------------


def test_the_grantable_roles_are_exactly_the_organisation_roles():
    assert set(SSO_GRANTABLE_ROLES) == set(Role.values)


def test_the_role_map_reads_entries_separated_by_commas_or_lines():
    parsed = role_map_parse(" /groups/ops=a=acme:admin ,\n\nleads=Acme:leader\n")

    assert parsed == (
        RoleMapping(claim_value="/groups/ops=a", organization_slug="acme", role="admin"),
        RoleMapping(claim_value="leads", organization_slug="acme", role="leader"),
    )
    assert role_map_parse("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("leads=acme", "entry 1 'leads=acme' is not <claim value>=<org slug>:<role>"),
        ("a=acme:admin, =acme:admin", "entry 2 '=acme:admin' is not"),
        ("leads=acme:boss", "entry 1 'leads=acme:boss' names the unknown role 'boss'"),
    ],
)
def test_a_wrong_role_map_entry_stops_startup_naming_it(text: str, message: str):
    with pytest.raises(ImproperlyConfigured, match="TRANSFORM_OIDC_ROLE_MAP") as raised:
        role_map_parse(text)

    assert message in str(raised.value)


# --- claims -------------------------------------------------------------------------------------


def test_only_a_verified_email_counts():
    assert verified_email(claims("Ann@Example.com")) == "ann@example.com"
    assert verified_email(claims(verified="true")) == "ann@example.com"
    for unverified in (False, "false", None, 1):
        with pytest.raises(SsoRefused, match="has not verified the e-mail address"):
            verified_email(claims(verified=unverified))
    with pytest.raises(SsoRefused, match="did not share an e-mail address"):
        verified_email({"sub": "1", "email_verified": True})


def test_the_verified_claim_can_be_another_one():
    assert verified_email({"email": "a@b.example", "xms_edov": True}, verified_claim="xms_edov")


def test_role_claim_values_come_as_a_list_or_a_string():
    assert claim_values({"groups": ["a", "b"]}, "groups") == {"a", "b"}
    assert claim_values({"roles": "a b"}, "roles") == {"a", "b"}
    assert claim_values({}, "groups") == frozenset()


# --- sign-in ------------------------------------------------------------------------------------


def test_a_first_sign_in_creates_a_login_without_a_password_and_links_people_everywhere(db):
    acme, globex = make_organization("acme"), make_organization("globex")
    in_acme = make_person(acme, email="ann@example.com")
    in_globex = make_person(globex, email="ann@example.com")

    signed_in = sso_login(claims=claims("ANN@example.com"))

    assert signed_in.created
    assert signed_in.user.email == "ann@example.com"
    assert signed_in.user.username == "ann@example.com"
    assert not signed_in.user.has_usable_password()
    assert {person.pk for person in signed_in.people_linked} == {in_acme.pk, in_globex.pk}
    assert set(Person.objects.filter(user=signed_in.user)) == {in_acme, in_globex}


def test_an_erased_person_is_not_linked(db):
    acme = make_organization("acme")
    make_person(acme, email="ann@example.com", erased_at=timezone.now())

    assert sso_login(claims=claims()).people_linked == ()


def test_a_taken_username_gets_a_suffix(db):
    UserFactory(username="ann@example.com", email="other@example.com")

    assert sso_login(claims=claims()).user.username == "ann@example.com-2"


def test_an_unverified_sign_in_writes_nothing(db):
    acme = make_organization("acme")
    person = make_person(acme, email="ann@example.com")

    with pytest.raises(SsoRefused):
        sso_login(claims=claims(verified=False, groups=["admins"]), role_map=MAP)

    assert not get_user_model().objects.exists()
    person.refresh_from_db()
    assert person.user is None


def test_two_logins_with_the_email_are_refused(db):
    UserFactory(username="one", email="ann@example.com")
    UserFactory(username="two", email="ANN@example.com")

    with pytest.raises(SsoRefused, match="More than one Transform login"):
        sso_login(claims=claims())


def test_a_deactivated_login_is_refused(db):
    UserFactory(username="ann", email="ann@example.com", is_active=False)

    with pytest.raises(SsoRefused, match="deactivated"):
        sso_login(claims=claims())


def test_mapped_roles_are_granted_once_and_recorded_as_the_mappings(db):
    make_organization("acme")
    make_organization("globex")

    first = sso_login(claims=claims(groups=["admins", "unmapped"]), role_map=MAP)
    second = sso_login(claims=claims(groups=["admins", "unmapped"]), role_map=MAP)

    assert sorted(first.roles_granted) == [("acme", "admin"), ("globex", "member")]
    assert second.roles_granted == ()
    assert OrganizationRole.objects.filter(user=first.user).count() == 2
    reasons = OrganizationRole.history.filter(user=first.user).values_list(
        "history_change_reason", flat=True
    )
    assert set(reasons) == {SSO_ROLE_REASON}


def test_a_mapping_to_an_organisation_that_does_not_exist_is_skipped(db):
    make_organization("acme")

    signed_in = sso_login(claims=claims(groups=["admins"]), role_map=MAP)

    assert signed_in.roles_granted == (("acme", "admin"),)


def test_only_roles_the_mapping_granted_are_revoked(db):
    acme = make_organization("acme")
    UserFactory(username="boss", email="boss@example.com")
    boss = get_user_model().objects.get(username="boss")
    OrganizationRole.objects.create(organization=acme, user=boss, role=Role.ADMIN)
    user = sso_login(claims=claims(groups=["leads"]), role_map=MAP).user
    OrganizationRole.objects.create(organization=acme, user=user, role=Role.MEMBER)

    again = sso_login(claims=claims(groups=[]), role_map=MAP)

    assert again.roles_revoked == (("acme", "leader"),)
    assert set(OrganizationRole.objects.filter(user=user).values_list("role", flat=True)) == {
        Role.MEMBER
    }


def test_without_a_mapping_no_role_is_touched(db):
    make_organization("acme")
    user = sso_login(claims=claims(groups=["leads"]), role_map=MAP).user

    sso_login(claims=claims(groups=[]))

    assert OrganizationRole.objects.filter(user=user).count() == 1


def test_the_last_admin_granted_by_the_mapping_stays(db):
    acme = make_organization("acme")
    user = sso_login(claims=claims(groups=["admins"]), role_map=MAP).user

    again = sso_login(claims=claims(groups=[]), role_map=MAP)

    assert again.roles_revoked == ()
    assert OrganizationRole.objects.filter(organization=acme, user=user, role=Role.ADMIN).exists()
