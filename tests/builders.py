"""The worlds the tests share, and the way a module builds one world for all its tests.

- ``build_api_world``: two organisations, ``acme`` under test and ``globex`` another tenant whose
  rows must stay invisible, with a login per role (``USER_KINDS``); in acme, ``em`` manages team
  ``acme-payments`` (through the Person linked to their login) and ``other_em`` ``acme-search``.
- ``build_plan_world``: the API world plus people for the logins and acme's pilot transformation
  (tests/transform/data/pilot-plan.yaml) led by ``plan_agent``, a plain member who is the change
  agent of this transformation only; globex has a transformation of its own.
- ``build_rhythm_world``: a small organisation with a started pilot transformation for the
  check-in rhythm (who is asked what, when).
- readiness helpers: teams, people and anonymous survey answers in a known survey period.
- ``build_web_demo``: the demo organisation as the web tests see it, a login per role.

``module_world`` builds a world once per test module inside a transaction that is rolled back at
the module's end; each test runs in a savepoint of it (pytest-django's ``db``) and gets a deep
copy of the Python objects, so tests stay independent of each other while the module pays for
one build.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from playbooks.models import Playbook
from playbooks.services import playbook_load
from teams.models import (
    InteractionMode,
    Organization,
    OrganizationRole,
    Person,
    Role,
    Severity,
    Specialty,
    Team,
    TeamType,
)
from tests.factories import (
    CheckInFactory,
    InteractionFactory,
    MembershipFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    OrgUnitFactory,
    PersonFactory,
    ServesLinkFactory,
    TeamFactory,
    UserFactory,
)
from transform.answers.services import checkin_answer
from transform.checkins.planning import checkins_plan
from transform.evidence.csvfile import signal_events_csv_parse
from transform.evidence.services import signal_events_ingest
from transform.instruments.format import ChoiceQuestion, ScaleQuestion
from transform.instruments.selectors import instrument_get
from transform.models import (
    CheckIn,
    CheckInKind,
    Milestone,
    MilestoneStatus,
    Response,
    ResponseKind,
    Transformation,
)
from transform.plans.services import milestone_reassign, milestone_transition, transformation_start
from transform.rhythm import links
from transform.rhythm.periods import Period, period_containing

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent
# Real-world inputs (Backstage's example organisation), copied unchanged so a fresh clone tests.
REALWORLD_DIR = REPO_ROOT / "tests" / "data" / "realworld"
FIXTURES_DIR = REPO_ROOT / "fixtures"


# --- one world per module -----------------------------------------------------------------------


def module_world(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """For a module-scoped fixture: ``build`` the world in a transaction kept open while the
    module's tests run (each in a savepoint: request it with ``db``), rolled back afterwards.
    Hand each test ``copy.deepcopy`` of what this yields."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            world = build()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    try:
        yield world
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def fresh(world: T) -> T:
    """A test's own copy of a module's world (the database is back to the same state)."""
    return copy.deepcopy(world)


# --- two organisations and a login per role -------------------------------------------------------


PASSWORD = "correct horse battery staple"
# The default hasher takes most of a second per user; these tests create seven users each.
USER_KINDS = ["admin", "change_agent", "em", "other_em", "leader", "member", "no_role"]


@dataclass
class OrgRows:
    # Typed Any: the factories are untyped, and the tests use these as the model rows they are.
    org: Any
    unit: Any
    team: Any  # the team managed by "em" (acme) or any team (globex)
    other_team: Any
    silo: Any
    person: Any
    membership: Any
    serves_link: Any
    interaction: Any  # team -> silo, a blocking ticket dependency


@dataclass
class World:
    acme: OrgRows
    globex: OrgRows
    users: dict[str, Any]

    def client(self, kind: str) -> APIClient:
        """A client logged in (session) as the user of ``kind``; "anonymous" is not logged in."""
        client = APIClient()
        if kind != "anonymous":
            client.force_login(self.users[kind])
        return client


def build_org_rows(slug: str) -> OrgRows:
    org = OrganizationFactory(slug=slug, name=slug.title())
    unit = OrgUnitFactory(organization=org, slug=f"{slug}-eng")
    team = TeamFactory(organization=org, slug=f"{slug}-payments", unit=unit)
    other_team = TeamFactory(organization=org, slug=f"{slug}-search")
    silo = TeamFactory(
        organization=org, slug=f"{slug}-dba", type=TeamType.OPS_SILO, specialty=Specialty.DATABASE
    )
    person = PersonFactory(organization=org, email=f"alice@{slug}.test", name="Alice Archer")
    membership = MembershipFactory(team=team, person=person)
    serves_link = ServesLinkFactory(team=team, person=person)
    interaction = InteractionFactory(
        source=team, target=silo, mode=InteractionMode.TICKET_DEPENDENCY, severity=Severity.BLOCKING
    )
    return OrgRows(
        org=org,
        unit=unit,
        team=team,
        other_team=other_team,
        silo=silo,
        person=person,
        membership=membership,
        serves_link=serves_link,
        interaction=interaction,
    )


def build_api_world() -> World:
    acme = build_org_rows("acme")
    globex = build_org_rows("globex")
    users: dict[str, Any] = {kind: UserFactory(username=kind) for kind in USER_KINDS}
    roles = {
        "admin": Role.ADMIN,
        "change_agent": Role.CHANGE_AGENT,
        "em": Role.ENGINEERING_MANAGER,
        "other_em": Role.ENGINEERING_MANAGER,
        "leader": Role.LEADER,
        "member": Role.MEMBER,
    }
    for kind, role in roles.items():
        OrganizationRoleFactory(organization=acme.org, user=users[kind], role=role)
    # "no_role" is an admin elsewhere: holding roles in another tenant must not help.
    OrganizationRoleFactory(organization=globex.org, user=users["no_role"], role=Role.ADMIN)

    em_person = PersonFactory(
        organization=acme.org, email="em@acme.test", name="Em", user=users["em"]
    )
    other_em_person = PersonFactory(
        organization=acme.org, email="other-em@acme.test", name="Other Em", user=users["other_em"]
    )
    acme.team.manager = em_person
    acme.team.save()
    acme.other_team.manager = other_em_person
    acme.other_team.save()
    return World(acme=acme, globex=globex, users=users)


# --- a transformation of acme's own playbook ------------------------------------------------------


DATA_DIR = REPO_ROOT / "tests" / "transform" / "data"
PILOT_PATH = DATA_DIR / "pilot-plan.yaml"
START = dt.date(2027, 1, 4)


def pilot_playbook(organization: Organization) -> Playbook:
    """The pilot playbook stored as ``organization``'s own."""
    return playbook_load(
        organization=organization, path=str(PILOT_PATH), text=PILOT_PATH.read_text()
    )


def chain_playbook_text(*, key: str, count: int) -> str:
    """A valid playbook of ``count`` milestones, each after the previous one, every other one
    with a graph exit criterion: plans of any size for the query-count tests."""
    lines = [
        f"key: {key}",
        "version: 1",
        f"title: Chain of {count}",
        "summary: Generated for tests.",
        "phases:",
        "  - key: only",
        "    title: The only phase",
        "    milestones:",
    ]
    for index in range(count):
        lines += [
            f"      - key: step-{index}",
            f"        title: Step {index}",
            "        why: Because the test needs it.",
            "        how: By generating it.",
            "        duration_days: 3",
            f"        depends_on: [{'step-' + str(index - 1) if index else ''}]",
            "        owner_role: engineering_manager",
        ]
        if index % 2:
            lines += [
                "        exit_criteria:",
                "          - graph: every_stream_team_has_devops_buddy",
                "          - signal: westrum_score",
                "            op: '>='",
                "            value: 4",
            ]
    return "\n".join(lines) + "\n"


def chain_transformation(organization: Organization, *, count: int, owner: str) -> Transformation:
    key = f"chain-{count}"
    playbook_load(
        organization=organization,
        path=f"{key}.yaml",
        text=chain_playbook_text(key=key, count=count),
    )
    return transformation_start(
        organization=organization, playbooks=[key], start_date=START, owner_email=owner
    )


@dataclass
class PlanWorld:
    world: World
    people: dict[str, Any]  # login kind -> their Person in acme
    transformation: Transformation
    milestones: dict[str, Milestone]  # by key
    globex_transformation: Transformation

    def client(self, kind: str) -> APIClient:
        return self.world.client(kind)

    def milestone(self, key: str) -> Milestone:
        return Milestone.objects.get(transformation=self.transformation, key=key)


def build_plan_world() -> PlanWorld:
    """acme's pilot transformation led by ``plan_agent``; its "buddies" milestone is owned by
    ``em``; globex has a transformation of its own."""
    world = build_api_world()
    acme = world.acme.org
    plan_agent = UserFactory(username="plan_agent")
    OrganizationRoleFactory(organization=acme, user=plan_agent, role=Role.MEMBER)
    world.users["plan_agent"] = plan_agent
    people: dict[str, Any] = {
        "em": Person.objects.get(organization=acme, email="em@acme.test"),
        "other_em": Person.objects.get(organization=acme, email="other-em@acme.test"),
    }
    for kind in ("admin", "change_agent", "leader", "member", "plan_agent"):
        people[kind] = PersonFactory(
            organization=acme, email=f"{kind}@acme.test", name=kind.title(), user=world.users[kind]
        )
    pilot_playbook(acme)
    transformation = transformation_start(
        organization=acme,
        playbooks=["pilot-plan"],
        start_date=START,
        owner_email="plan_agent@acme.test",
        sponsor_email="leader@acme.test",
        owners={"buddies": "plan_agent@acme.test"},
    )
    buddies = Milestone.objects.get(transformation=transformation, key="buddies")
    # Started with the agent, then handed to Em: the world has a reassignment in its history.
    milestone_reassign(milestone=buddies, owner=people["em"], actor=None)

    pilot_playbook(world.globex.org)
    globex_transformation = transformation_start(
        organization=world.globex.org,
        playbooks=["pilot-plan"],
        start_date=START,
        owner_email="alice@globex.test",
    )
    return PlanWorld(
        world=world,
        people=people,
        transformation=transformation,
        milestones={m.key: m for m in transformation.milestones.all()},
        globex_transformation=globex_transformation,
    )


# --- the check-in rhythm of a small organisation ----------------------------------------------------

RHYTHM_START = dt.date(2027, 1, 4)  # a Monday


@dataclass
class RhythmWorld:
    org: Organization
    transformation: Transformation
    people: dict[str, Any]
    teams: dict[str, Team]

    def milestone(self, key: str) -> Milestone:
        return Milestone.objects.get(transformation=self.transformation, key=key)

    def set_milestone(self, key: str, **fields: Any) -> Milestone:
        Milestone.objects.filter(transformation=self.transformation, key=key).update(**fields)
        return self.milestone(key)


def build_rhythm_world(*, sponsor: bool = True) -> RhythmWorld:
    """acme: teams payments (stream-aligned, managed by em) and platform (no manager); alice in
    payments, bob 60% payments + 40% platform, carol in platform, dave 50/50 (a tie: slug order
    makes payments primary). A pilot transformation led by lead, sponsored by sponsor (no login);
    boss is a person whose login holds the leader role. Every milestone starts planned."""
    org: Any = OrganizationFactory(slug="acme", name="Acme")
    people: dict[str, Any] = {
        name: PersonFactory(organization=org, email=f"{name}@acme.test", name=name.title())
        for name in ("lead", "sponsor", "em", "alice", "bob", "carol", "dave", "boss")
    }
    boss_user = UserFactory(username="boss")
    OrganizationRoleFactory(organization=org, user=boss_user, role=Role.LEADER)
    people["boss"].user = boss_user
    people["boss"].save()
    teams: dict[str, Any] = {
        "payments": TeamFactory(organization=org, slug="payments", manager=people["em"]),
        "platform": TeamFactory(organization=org, slug="platform", type=TeamType.PLATFORM),
    }
    for person, team, allocation in [
        ("alice", "payments", 100),
        ("bob", "payments", 60),
        ("bob", "platform", 40),
        ("carol", "platform", 100),
        ("dave", "platform", 50),
        ("dave", "payments", 50),
    ]:
        MembershipFactory(team=teams[team], person=people[person], allocation_percent=allocation)
    pilot_playbook(org)
    transformation = transformation_start(
        organization=org,
        playbooks=["pilot-plan"],
        start_date=RHYTHM_START,
        owner_email="lead@acme.test",
        sponsor_email="sponsor@acme.test" if sponsor else None,
        today=RHYTHM_START,
    )
    return RhythmWorld(org=org, transformation=transformation, people=people, teams=teams)


# --- check-ins to answer ------------------------------------------------------------------------

CHECKIN_AT = dt.datetime(2027, 1, 20, 9, 30, tzinfo=dt.UTC)
CHECKIN_CREATED = CHECKIN_AT - dt.timedelta(days=1)

INSTRUMENTS: dict[str, list[list[Any]]] = {
    CheckInKind.PULSE_SURVEY: [["westrum", 1], ["adkar", 1], ["platform-satisfaction", 1]],
    CheckInKind.EVENT_SURVEY: [["platform-satisfaction", 1]],
    CheckInKind.MILESTONE_STATUS: [["milestone-status", 1]],
    CheckInKind.TOPOLOGY_VERIFICATION: [["topology-verification", 1]],
}
WESTRUM_KEYS = [
    "information_sought",
    "messengers_not_punished",
    "responsibilities_shared",
    "collaboration_rewarded",
    "failure_causes_inquiry",
    "new_ideas_welcomed",
]


def pulse_answers() -> dict[str, dict[str, Any]]:
    """Valid answers to the pulse survey; Westrum mean 4.5, ADKAR barrier at knowledge."""
    return {
        "westrum": dict(zip(WESTRUM_KEYS, [7, 6, 5, 4, 3, 2], strict=True)),
        "adkar": {"awareness": 4, "desire": 5, "knowledge": 3, "ability": 2, "reinforcement": 4},
        "platform-satisfaction": {"satisfaction": 4, "slows_you_down": "  Slow CI  "},
    }


@dataclass
class CheckinRig:
    org: Any
    team: Any
    user: Any
    person: Any  # Ada Lovelace, linked to ``user``, owner of the "kickoff" milestone
    transformation: Transformation

    def milestone(self, key: str = "kickoff") -> Milestone:
        return Milestone.objects.get(transformation=self.transformation, key=key)

    def checkin(
        self,
        kind: str,
        *,
        recipient: Any = None,
        created: dt.datetime = CHECKIN_CREATED,
        valid_days: int = 7,
        subject: str | None = None,
        team: Any = "default",
    ) -> CheckIn:
        recipient = recipient or self.person
        milestone = self.milestone() if kind == CheckInKind.MILESTONE_STATUS else None
        team = (None if milestone else self.team) if team == "default" else team
        period = period_containing(created.date(), every_days=14)
        checkin: Any = CheckInFactory(
            organization=self.org,
            transformation=self.transformation,
            kind=kind,
            recipient=recipient,
            subject=subject
            or (f"milestone:{milestone.pk}" if milestone else f"team:{team.pk if team else 0}"),
            period=period.key if not milestone else created.date().isoformat(),
            period_start=period.start,
            milestone=milestone,
            team=team,
            instruments=INSTRUMENTS[kind],
            link_nonce=links.link_nonce_new(),
            created_at=created,
            expires_at=created + dt.timedelta(days=valid_days),
        )
        return checkin


def build_checkin_rig(slug: str = "acme") -> CheckinRig:
    # Typed Any: the factories are untyped, and the tests use these as the model rows they are.
    org: Any = OrganizationFactory(slug=slug, name=slug.title())
    team: Any = TeamFactory(organization=org, slug=f"{slug}-payments", name="Payments")
    user: Any = UserFactory(username=f"ada-{slug}")
    OrganizationRoleFactory(organization=org, user=user, role=Role.MEMBER)
    person: Any = PersonFactory(
        organization=org, email=f"ada@{slug}.test", name="Ada Lovelace", user=user
    )
    pilot_playbook(org)
    transformation = transformation_start(
        organization=org, playbooks=["pilot-plan"], start_date=START, owner_email=person.email
    )
    return CheckinRig(org=org, team=team, user=user, person=person, transformation=transformation)


def reloaded(checkin: CheckIn) -> CheckIn:
    """The check-in as the database has it now."""
    return CheckIn.objects.get(pk=checkin.pk)


# --- survey answers for readiness ------------------------------------------------------------------

# Default cadence (14 days from Monday 2024-01-01): 2027-01-06 lies in [2026-12-28, 2027-01-11).
SURVEY_AT = dt.datetime(2027, 1, 6, 12, 0, tzinfo=dt.UTC)
SURVEY_PERIOD = Period(start=dt.date(2026, 12, 28), end=dt.date(2027, 1, 11))
SURVEY_PREVIOUS = SURVEY_PERIOD.previous()


def make_team(organization: Organization, slug: str, **fields: Any) -> Team:
    """A team of ``organization`` (the factories are untyped; this says what they return)."""
    team: Any = TeamFactory(organization=organization, slug=slug, **fields)
    return team


def make_person(organization: Organization, **fields: Any) -> Person:
    person: Any = PersonFactory(organization=organization, **fields)
    return person


def make_organization(slug: str) -> Organization:
    organization: Any = OrganizationFactory(slug=slug)
    return organization


def survey(
    team: Team | None,
    scores: Sequence[Mapping[str, float]],
    *,
    organization: Organization | None = None,
    period: Period = SURVEY_PERIOD,
    answers: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Store one anonymous survey response per scores mapping, as the response form does."""
    org = organization or (team.organization if team is not None else None)
    assert org is not None
    Response.objects.bulk_create(
        Response(
            organization=org,
            kind=ResponseKind.SURVEY,
            team=team,
            period_start=period.start,
            submitted_on=period.start,
            instruments=[["platform-satisfaction", 1]] if answers else [],
            answers=dict(answers[index]) if answers else {},
            scores=dict(values),
        )
        for index, values in enumerate(scores)
    )


def westrum(*values: float) -> list[dict[str, float]]:
    return [{"westrum_score": value} for value in values]


# --- the demo organisation as the web tests see it ----------------------------------------------

WEB_PASSWORD = "browser-test-pw"
AGENT = "amara.nwosu@democorp.example"
MANAGER = "marcus.reed@democorp.example"
LEADER = "helen.park@democorp.example"
MEMBER = "chloe.martin@democorp.example"


@dataclass
class WebDemo:
    organization: Organization
    transformation: Transformation
    started: Milestone  # in progress, owned by the agent

    @property
    def slug(self) -> str:
        return self.organization.slug


def _login(username: str, *, organization: Organization, role: str, email: str | None) -> None:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username)
    user.set_password(WEB_PASSWORD)
    user.save()
    OrganizationRole.objects.get_or_create(organization=organization, user=user, role=role)
    if email is not None:
        Person.objects.filter(organization=organization, email=email).update(user=user)


def build_web_demo(*, answers: bool = True) -> WebDemo:
    call_command("load_demo", "--password", WEB_PASSWORD, stdout=StringIO())
    organization = Organization.objects.get(slug="demo")
    _login("agent", organization=organization, role=Role.CHANGE_AGENT, email=AGENT)
    _login("manager", organization=organization, role=Role.ENGINEERING_MANAGER, email=MANAGER)
    _login("leader", organization=organization, role=Role.LEADER, email=LEADER)
    _login("member", organization=organization, role=Role.MEMBER, email=MEMBER)
    globex: Any = OrganizationFactory(slug="globex", name="Globex")
    _login("outsider", organization=globex, role=Role.ADMIN, email=None)

    today = timezone.localdate()
    transformation = transformation_start(
        organization=organization,
        playbooks=["unify-ops-silos"],
        start_date=today - dt.timedelta(days=21),
        owner_email=AGENT,
        sponsor_email=LEADER,
    )
    started = transformation.milestones.order_by("position").first()
    assert started is not None
    started = milestone_transition(
        milestone=started, to_status=MilestoneStatus.IN_PROGRESS, actor=None
    )
    if answers:
        now = timezone.now()
        checkins_plan(at=now)
        search_pulses = CheckIn.objects.filter(
            organization=organization, kind=CheckInKind.PULSE_SURVEY, team__slug="search"
        ).order_by("id")[:5]
        for checkin in search_pulses:
            checkin_answer(checkin=checkin, answers=_survey_answers(checkin), at=now)
        example = Path(settings.BASE_DIR) / "fixtures" / "signal-events.csv"
        records = signal_events_csv_parse(str(example), example.read_text())
        signal_events_ingest(
            organization=organization, records=records.records, source=str(example), at=now
        )
    return WebDemo(organization=organization, transformation=transformation, started=started)


def _survey_answers(checkin: CheckIn) -> dict[str, dict[str, object]]:

    answers: dict[str, dict[str, object]] = {}
    for key, version in checkin.instruments:
        spec = instrument_get(organization=checkin.organization, key=key, version=version)
        values: dict[str, object] = {}
        for question in spec.questions:
            if isinstance(question, ScaleQuestion):
                values[question.key] = question.max - 1
            elif isinstance(question, ChoiceQuestion):
                values[question.key] = question.values()[0]
        answers[key] = values
    return answers


_role_clients = itertools.count(1)


def role_client(organization: Organization, role: str) -> APIClient:
    """An API client logged in as a new login holding ``role`` in ``organization``."""
    user: Any = UserFactory(username=f"{role}-{next(_role_clients)}")
    OrganizationRoleFactory(organization=organization, user=user, role=role)
    client = APIClient()
    client.force_login(user)
    return client


def client_for(username: str | None) -> Client:
    """A web client signed in as the login ``username`` (anonymous with None)."""
    client = Client()
    if username is not None:
        client.force_login(get_user_model().objects.get(username=username))
    return client
