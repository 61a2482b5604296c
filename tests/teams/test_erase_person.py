"""Privacy erasure (teams/erasure.py and ``manage.py erase_person``): the name and e-mail a person
was ever recorded with are gone from every table, history included; the audit trail says an
erasure happened; anonymous figures do not move."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from teams.erasure import ERASURE_REASON, person_erase
from teams.models import Invitation, Organization, Person
from teams.services import person_update
from tests.builders import SURVEY_AT, make_organization, make_team, pilot_playbook, survey
from tests.factories import (
    CheckInFactory,
    DeliveryFactory,
    InteractionFactory,
    MembershipFactory,
    OrganizationFactory,
    PersonFactory,
    ServesLinkFactory,
    SignalEventFactory,
    TeamVerificationFactory,
    UserFactory,
)
from transform.models import (
    CheckInKind,
    DeliveryKind,
    MilestoneChange,
    MilestoneStatus,
    Response,
)
from transform.plans.services import milestone_reassign, transformation_start
from transform.readiness.selectors import readiness_report_get

pytestmark = pytest.mark.django_db

NAME = "Zoë Quetzalcoatl-Brightwater"
EMAIL = "zoe.quetzalcoatl@acme.test"
OLD_NAME = "Zoë Quetzalcoatl"
OLD_EMAIL = "zq.old@acme.test"
SECRETS = (NAME, EMAIL, OLD_NAME, OLD_EMAIL)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("erase_person", *args, stdout=out)
    return out.getvalue()


def everywhere(text: str) -> list[str]:
    """``table.column`` of every value in the database that contains ``text`` (case-insensitive),
    as stored or JSON-escaped (SQLite keeps JSON ASCII-only): raw SQL over every table, the
    historical ones, the logins, the sessions and the admin log included."""
    needles = {text.lower(), json.dumps(text)[1:-1].lower()}
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            ]
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    shown = (
                        json.dumps(value, ensure_ascii=False)
                        if isinstance(value, dict | list)
                        else str(value)
                    ).lower()
                    if any(needle in shown for needle in needles):
                        found.append(f"{table}.{column}")
    return sorted(set(found))


def build_zoe(organization: Organization) -> Person:
    """Zoë, renamed once, with a login, memberships, check-ins, deliveries, done milestones, a
    reassignment, a topology change naming her, a verification, signal events and survey
    comments naming her, and an admin log entry."""
    user: Any = UserFactory(
        username="zquetzal", email=EMAIL, first_name="Zoë", last_name="Quetzalcoatl-Brightwater"
    )
    Token.objects.create(user=user)
    zoe: Any = PersonFactory(organization=organization, email=OLD_EMAIL, name=OLD_NAME, user=user)
    person_update(person=zoe, data={"email": EMAIL, "name": NAME})
    payments = make_team(organization, "payments", description=f"Founded by {NAME}.")
    platform = make_team(organization, "platform")
    MembershipFactory(team=payments, person=zoe)
    ServesLinkFactory(team=platform, person=zoe, note=f"{NAME} on call")
    InteractionFactory(source=payments, target=platform, note=f"ask {EMAIL}")

    PersonFactory(organization=organization, email="lead@acme.test", name="Lead")
    pilot_playbook(organization)
    plan = transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email="lead@acme.test",
    )
    milestone = plan.milestones.get(key="kickoff")
    milestone_reassign(
        milestone=milestone, owner=zoe, actor=None, reason=f"{NAME} runs the kickoff"
    )
    milestone.refresh_from_db()
    milestone.status = MilestoneStatus.DONE
    milestone.status_reason = f"Done by {NAME} <{EMAIL}>"
    milestone.save(update_fields=["status", "status_reason"])
    MilestoneChange.objects.create(
        milestone=milestone,
        position=0,
        change={"kind": "add_devops_buddy", "team": "payments", "person": EMAIL},
    )

    checkin = CheckInFactory(
        organization=organization, recipient=zoe, kind=CheckInKind.MILESTONE_STATUS
    )
    DeliveryFactory(
        organization=organization,
        recipient=zoe,
        checkin=checkin,
        kind=DeliveryKind.CHECKIN,
        status="failed",
        last_error=f"SMTPRecipientsRefused: {{'{EMAIL}': (550, b'no such user')}}",
    )
    DeliveryFactory(
        organization=organization,
        recipient=PersonFactory(organization=organization),
        kind=DeliveryKind.ESCALATION,
        payload={
            "subject": "Blocked for 9 days",
            "text": f"Owner: {NAME} <{EMAIL}>\nReason: waiting for {OLD_NAME}",
        },
    )
    TeamVerificationFactory(team=payments, verified_by=zoe, corrections=f"{NAME} moved teams")
    SignalEventFactory(organization=organization, team=payments, data={"author": EMAIL})
    comments = [{"platform-satisfaction": {"satisfaction": 4, "slows_you_down": "CI"}}] * 6
    comments[0] = {"platform-satisfaction": {"satisfaction": 2, "slows_you_down": f"{NAME}!"}}
    survey(
        payments,
        [{"westrum_score": 5.0 + index / 4} for index in range(6)],
        answers=comments,
    )
    Invitation.objects.create(
        organization=organization,
        person=zoe,
        email=EMAIL,
        token_hash="0" * 64,
        expires_at=timezone.now(),
        accepted_at=timezone.now(),
        accepted_by=user,
    )
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Person),
        object_id=str(zoe.pk),
        object_repr=str(zoe),
        action_flag=ADDITION,
        change_message=f"Added {NAME}.",
    )
    zoe.refresh_from_db()
    return zoe


def test_erase_person_leaves_no_trace_of_the_name_or_email_in_any_table(
    organization: Organization,
) -> None:
    zoe = build_zoe(organization)
    assert everywhere(EMAIL)
    assert everywhere(NAME)
    assert everywhere(OLD_EMAIL)
    before = readiness_report_get(organization=organization, at=SURVEY_AT).as_dict()
    scores = list(Response.objects.order_by("id").values_list("scores", flat=True))

    output = run("--org", "acme", EMAIL)

    for secret in SECRETS:
        assert everywhere(secret) == [], secret
    zoe.refresh_from_db()
    assert zoe.name.startswith("Erased person ")
    assert zoe.email.startswith("erased-")
    assert zoe.email.endswith("@erased.invalid")
    assert zoe.erased_at is not None
    assert zoe.left_on is not None
    assert f"Erased {EMAIL} in acme: now '{zoe.name}' <{zoe.email}>" in output
    assert "their login was pseudonymised and disabled" in output
    assert "transform.Delivery" in output
    assert "teams.HistoricalPerson" in output
    assert "teams.Invitation" in output
    # Anonymous figures and answers' numbers do not move.
    after = readiness_report_get(organization=organization, at=SURVEY_AT).as_dict()
    assert after == before
    payments = next(row for row in before["teams"] if row["team"] == "payments")
    assert payments["suppressed"] is False
    assert payments["score"] is not None
    assert list(Response.objects.order_by("id").values_list("scores", flat=True)) == scores
    answers = Response.objects.order_by("id").first().answers  # type: ignore[union-attr]
    assert answers["platform-satisfaction"]["slows_you_down"] == f"{zoe.name}!"


def test_the_history_says_an_erasure_happened_and_shows_only_the_pseudonym(
    organization: Organization,
) -> None:
    zoe = build_zoe(organization)
    versions = zoe.history.count()

    erasure = person_erase(person=zoe)

    rows = list(zoe.history.order_by("history_date", "history_id"))
    # The old rows are kept (rewritten in place), then leaving and the erasure are recorded.
    assert len(rows) == versions + 2
    assert rows[-1].history_change_reason == ERASURE_REASON
    assert rows[-1].erased_at is not None
    assert {(row.name, row.email) for row in rows} == {(erasure.person.name, erasure.person.email)}
    assert erasure.login == "pseudonymised"


def test_the_erased_login_can_no_longer_be_used(organization: Organization) -> None:
    zoe = build_zoe(organization)
    user = zoe.user
    assert user is not None

    person_erase(person=zoe)

    user.refresh_from_db()
    zoe.refresh_from_db()
    assert not user.is_active
    assert not user.has_usable_password()
    assert user.username == user.email == zoe.email
    assert (user.first_name, user.last_name) == (zoe.name, "")
    assert not Token.objects.filter(user=user).exists()


def test_a_login_that_is_someone_in_another_organisation_is_unlinked_not_erased(
    organization: Organization,
) -> None:
    user: Any = UserFactory(username="shared", email=EMAIL)
    zoe: Any = PersonFactory(organization=organization, email=EMAIL, name=NAME, user=user)
    other = OrganizationFactory(slug="globex")
    namesake: Any = PersonFactory(organization=other, email=EMAIL, name=NAME, user=user)

    erasure = person_erase(person=zoe)

    assert erasure.login == "unlinked"
    zoe.refresh_from_db()
    namesake.refresh_from_db()
    user.refresh_from_db()
    assert zoe.user is None
    assert (namesake.name, namesake.email, namesake.user) == (NAME, EMAIL, user)
    assert (user.username, user.email, user.is_active) == ("shared", EMAIL, True)


def test_other_organisations_and_namesakes_keep_their_text(organization: Organization) -> None:
    zoe: Any = PersonFactory(organization=organization, email=EMAIL, name=NAME)
    namesake: Any = PersonFactory(organization=organization, email="other@acme.test", name=NAME)
    team = make_team(
        make_organization("globex"), "globex-web", description=f"Run by {NAME} <{EMAIL}>"
    )

    person_erase(person=zoe)

    namesake.refresh_from_db()
    team.refresh_from_db()
    assert namesake.name == NAME
    assert team.description == f"Run by {NAME} <{EMAIL}>"


def test_erasure_is_refused_while_the_person_owns_open_milestones(
    organization: Organization,
) -> None:
    PersonFactory(organization=organization, email=EMAIL, name=NAME)
    pilot_playbook(organization)
    plan = transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email=EMAIL,
    )

    with pytest.raises(CommandError) as excinfo:
        run("--org", "acme", EMAIL)

    message = str(excinfo.value)
    assert f"{EMAIL} cannot be marked as a leaver; reassign first" in message
    assert "open milestones: #" in message
    assert f"(in {plan.title})" in message
    assert f"transformations led: #{plan.pk} {plan.title}" in message
    assert Person.objects.get(organization=organization, email=EMAIL).erased_at is None


def test_unknown_organisations_and_people_are_command_errors(organization: Organization) -> None:
    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        run("--org", "nope", EMAIL)
    with pytest.raises(CommandError, match=f"No person with e-mail '{EMAIL}' in organisation"):
        run("--org", "acme", EMAIL.upper())


def test_a_dry_run_counts_and_changes_nothing_and_a_second_erasure_does_nothing(
    organization: Organization,
) -> None:
    zoe = build_zoe(organization)

    dry = run("--org", "acme", EMAIL, "--dry-run")

    assert dry.startswith(f"Dry run: erasing {EMAIL} in acme would rewrite ")
    assert "nothing was changed" in dry
    zoe.refresh_from_db()
    assert (zoe.name, zoe.erased_at, zoe.left_on) == (NAME, None, None)

    run("--org", "acme", EMAIL)
    zoe.refresh_from_db()
    again = run("--org", "acme", zoe.email)

    assert again == f"{zoe.email} was already erased on {zoe.erased_at:%Y-%m-%d}; nothing to do.\n"
