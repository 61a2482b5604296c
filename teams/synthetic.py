"""Synthetic organisations: a realistic org graph of any size, written with bulk inserts.

``org_generate`` builds a new organisation from a seed (the same seed and day give the same
slugs, people, memberships and interactions): departments, mostly stream-aligned teams, some
platform, enabling and complicated-subsystem teams, ops silos (DBA, networking, backend ops,
security ops) that receive many ticket dependencies, shared DevOps engineers who are members of
several squads, embedded DBAs serving squads, DevOps buddies on some squads, product owners on
most platforms, leads and managers, a few leavers, owned services, and dated interactions
(collaboration with a start and an expected end, x-as-a-service, facilitating).

Rows go in through ``teams.importers.bulk.insert_with_history`` in chunks: each row gets its one
creation history row (the graph can be read as of any moment, as for imported data), memory stays
bounded by the chunk size plus one integer per person, and no per-row ``save()`` runs. Used by
``python manage.py generate_org`` (docs/performance.md, "Synthetic organisations"); the
transformation, answers and signal events are ``transform.synthetic``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import models, transaction
from django.utils import timezone

from core.errors import ApplicationError, ConflictError
from teams.importers.bulk import insert_with_history
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    MembershipRole,
    Organization,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    ServiceKind,
    Severity,
    Specialty,
    Team,
    TeamType,
)

CHANGE_REASON = "generate_org (synthetic)"
# Rows built and inserted at a time: bounds memory whatever the organisation's size.
CHUNK = 5_000
MIN_TEAMS = 10
MIN_PEOPLE_PER_TEAM = 3
MAX_TEAMS = 100_000
MAX_PEOPLE = 1_000_000

# (slug, name, specialty) of the ops silos; larger organisations get numbered regional copies.
SILOS = [
    ("dba", "DBA", Specialty.DATABASE),
    ("networking", "Networking", Specialty.NETWORKING),
    ("backend-ops", "Backend Ops", Specialty.BACKEND_OPS),
    ("security-ops", "Security Ops", Specialty.SECURITY),
]
# Ticket dependencies mostly land on the first three silos (the classic ops queues).
SILO_WEIGHTS = {"dba": 5, "networking": 3, "backend-ops": 4, "security-ops": 1}
PLATFORMS = ["ci", "observability", "kubernetes", "data", "identity", "messaging", "api-gateway"]
ENABLERS = ["devops", "testing", "architecture", "security", "accessibility", "data-literacy"]
SUBSYSTEMS = ["pricing-engine", "fraud-models", "search-ranking", "video-codec", "risk-engine"]
DOMAINS = [
    "checkout", "payments", "search", "catalog", "returns", "delivery-tracking", "accounts",
    "onboarding", "loyalty", "recommendations", "reviews", "pricing", "inventory", "orders",
    "invoicing", "notifications", "support", "marketplace", "subscriptions", "wishlist",
    "shipping", "warehouse", "promotions", "ads", "mobile-app", "web-shop", "partners",
    "reporting", "billing", "identity-verification", "gift-cards", "customer-care",
]  # fmt: skip
AREAS = [
    "commerce", "logistics", "customer", "finance", "growth", "marketplace", "mobile",
    "partners", "operations", "insights",
]  # fmt: skip
FIRST_NAMES = [
    "amara", "ben", "chloe", "dev", "elena", "farid", "grace", "hugo", "ines", "jonas", "kira",
    "liam", "maya", "noah", "olga", "priya", "quentin", "rosa", "sami", "tara", "umar", "vera",
    "wei", "ximena", "yusuf", "zoe", "ana", "boris", "carla", "dmitri", "emma", "felix",
]  # fmt: skip
LAST_NAMES = [
    "nwosu", "park", "reed", "lindgren", "okafor", "silva", "tanaka", "muller", "kowalski",
    "haddad", "novak", "rossi", "dubois", "jensen", "garcia", "kim", "singh", "cohen", "moreau",
    "weber", "costa", "ivanova", "larsen", "osei", "fischer", "patel", "nakamura", "brennan",
]  # fmt: skip
SERVICE_WORDS = ["api", "web", "worker", "events", "db", "gateway", "jobs"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GeneratedTeam:
    """One generated team: what the transformation, answers and events are built from."""

    id: int
    slug: str
    type: str
    unit_id: int
    manager_id: int
    size: int  # members, shared engineers included


@dataclass(slots=True)
class GeneratedOrg:
    """What ``org_generate`` built: the organisation, its teams, the people a transformation
    can be led by, the planted ticket dependencies (squad slug -> silo slugs) and row counts."""

    organization: Organization
    teams: list[GeneratedTeam]
    lead_change_agent_email: str
    sponsor_email: str
    ticket_targets: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(model: type[models.Model], rows: Sequence[models.Model], *, now: dt.datetime) -> None:
    """Insert ``rows`` (new instances; their primary keys are set) with one creation history row
    each: ``insert_with_history``, through ``COPY`` on PostgreSQL (measured: multi-row INSERTs of
    10,000 people spent most of their time in the driver splitting the statement;
    docs/performance.md)."""
    insert_with_history(model, rows, history_date=now, change_reason=CHANGE_REASON, user_id=None)


def _numbered(base: str, index: int, every: int) -> str:
    """``base`` for the first round, ``base-2``, ``base-3``, ... for the following ones."""
    round_ = index // every
    return base if round_ == 0 else f"{base}-{round_ + 1}"


def _type_counts(teams: int) -> dict[str, int]:
    silos = max(3, round(teams * 0.004))
    platforms = max(1, round(teams * 0.06))
    enabling = max(1, round(teams * 0.03))
    subsystems = max(1, round(teams * 0.03))
    return {
        TeamType.OPS_SILO: silos,
        TeamType.PLATFORM: platforms,
        TeamType.ENABLING: enabling,
        TeamType.COMPLICATED_SUBSYSTEM: subsystems,
        TeamType.STREAM_ALIGNED: teams - silos - platforms - enabling - subsystems,
    }


def org_generate_check(*, slug: str, teams: int, people: int) -> None:
    """Raises ApplicationError for sizes or a slug the generator cannot use, ConflictError when
    an organisation with ``slug`` exists (the generator only ever creates a new one)."""
    try:
        validate_slug(slug)
    except ValidationError:
        raise ApplicationError(
            f"'{slug}' is not a slug: use letters, digits, '-' and '_'."
        ) from None
    if not MIN_TEAMS <= teams <= MAX_TEAMS:
        raise ApplicationError(f"teams must be between {MIN_TEAMS} and {MAX_TEAMS}; got {teams}.")
    if not MIN_PEOPLE_PER_TEAM * teams <= people <= MAX_PEOPLE:
        raise ApplicationError(
            f"people must be between {MIN_PEOPLE_PER_TEAM} per team ({MIN_PEOPLE_PER_TEAM * teams}) "
            f"and {MAX_PEOPLE}; got {people}."
        )
    if Organization.objects.filter(slug=slug).exists():
        raise ConflictError(
            f"Organisation '{slug}' already exists; a synthetic organisation is only ever "
            "generated as a new one. Choose another slug (or delete that organisation first)."
        )


@transaction.atomic
def org_generate(
    *,
    slug: str,
    teams: int,
    people: int,
    seed: int = 1,
    today: dt.date | None = None,
    name: str = "",
) -> GeneratedOrg:
    """Create organisation ``slug`` with ``teams`` teams and ``people`` people (deterministic for
    ``seed`` and ``today``), in one transaction. Raises what ``org_generate_check`` raises,
    before writing anything."""
    org_generate_check(slug=slug, teams=teams, people=people)
    today = today or timezone.localdate()
    now = timezone.now()
    rng = random.Random(seed)
    organization = Organization.objects.create(
        slug=slug, name=name or f"{slug} (synthetic)", analysis_thresholds={}
    )

    # --- teams by type, with slugs and units ---------------------------------------------------
    counts = _type_counts(teams)
    domains = DOMAINS[:]
    rng.shuffle(domains)
    team_specs: list[tuple[str, str, str, str]] = []  # (slug, name, type, specialty)
    for i in range(counts[TeamType.OPS_SILO]):
        base, title, specialty = SILOS[i % len(SILOS)]
        silo_slug = _numbered(base, i, len(SILOS))
        team_specs.append((silo_slug, title, TeamType.OPS_SILO, specialty))
    for kind, words, suffix in (
        (TeamType.PLATFORM, PLATFORMS, "platform"),
        (TeamType.ENABLING, ENABLERS, "enablement"),
        (TeamType.COMPLICATED_SUBSYSTEM, SUBSYSTEMS, ""),
    ):
        for i in range(counts[kind]):
            base = f"{words[i % len(words)]}-{suffix}" if suffix else words[i % len(words)]
            team_slug = _numbered(base, i, len(words))
            team_specs.append((team_slug, team_slug.replace("-", " ").title(), kind, ""))
    for i in range(counts[TeamType.STREAM_ALIGNED]):
        team_slug = _numbered(domains[i % len(domains)], i, len(domains))
        team_specs.append(
            (team_slug, team_slug.replace("-", " ").title(), TeamType.STREAM_ALIGNED, "")
        )

    departments = max(2, teams // 50)
    root = OrgUnit(
        organization=organization, slug="engineering", name="Engineering", kind="division"
    )
    _insert(OrgUnit, [root], now=now)
    unit_rows = [
        OrgUnit(
            organization=organization, slug="infrastructure", name="Infrastructure", parent=root
        ),
        OrgUnit(organization=organization, slug="platforms", name="Platforms", parent=root),
    ] + [
        OrgUnit(
            organization=organization,
            slug=_numbered(AREAS[d % len(AREAS)], d, len(AREAS)),
            name=_numbered(AREAS[d % len(AREAS)], d, len(AREAS)).replace("-", " ").title(),
            parent=root,
        )
        for d in range(departments)
    ]
    _insert(OrgUnit, unit_rows, now=now)
    infrastructure, platforms_unit = unit_rows[0].pk, unit_rows[1].pk
    department_ids = [unit.pk for unit in unit_rows[2:]]
    streams = counts[TeamType.STREAM_ALIGNED]
    subsystem_index = 0

    def unit_of(index: int, kind: str) -> int:
        nonlocal subsystem_index
        if kind == TeamType.OPS_SILO:
            return infrastructure
        if kind in (TeamType.PLATFORM, TeamType.ENABLING):
            return platforms_unit
        if kind == TeamType.COMPLICATED_SUBSYSTEM:
            subsystem_index += 1
            return department_ids[subsystem_index % departments]
        # Squads sit in contiguous blocks per department, as real departments do.
        stream_index = index - (teams - streams)
        return department_ids[stream_index * departments // streams]

    unit_ids = [unit_of(i, spec[2]) for i, spec in enumerate(team_specs)]

    # --- who is in which team (indices only: one int per person) -----------------------------
    leavers = people // 100
    active = people - leavers
    weights = {
        TeamType.OPS_SILO: 1.6,
        TeamType.PLATFORM: 1.2,
        TeamType.STREAM_ALIGNED: 1.0,
        TeamType.COMPLICATED_SUBSYSTEM: 0.8,
        TeamType.ENABLING: 0.6,
    }
    raw = [weights[TeamType(spec[2])] * rng.uniform(0.6, 1.4) for spec in team_specs]
    spare = active - 2 * teams
    total = sum(raw)
    sizes = [2 + int(spare * w / total) for w in raw]
    remainder = active - sum(sizes)
    for i in sorted(range(teams), key=lambda i: -raw[i])[:remainder]:
        sizes[i] += 1
    primary_team: list[int] = [i for i, size in enumerate(sizes) for _ in range(size)]
    rng.shuffle(primary_team)
    members_of: list[list[int]] = [[] for _ in range(teams)]
    for person_index, team_index in enumerate(primary_team):
        members_of[team_index].append(person_index)
    del primary_team

    # --- people ----------------------------------------------------------------------------------
    person_ids: list[int] = []
    for start in range(0, people, CHUNK):
        rows = []
        for n in range(start, min(people, start + CHUNK)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            left_on = today - dt.timedelta(days=rng.randint(1, 365)) if n >= active else None
            rows.append(
                Person(
                    organization=organization,
                    email=f"{first}.{last}.{n}@{slug}.example",
                    name=f"{first.title()} {last.title()}",
                    left_on=left_on,
                )
            )
        _insert(Person, rows, now=now)
        person_ids.extend(row.pk for row in rows)

    # --- teams -----------------------------------------------------------------------------------
    team_ids: list[int] = []
    for chunk in _chunks(range(teams)):
        rows_t = [
            Team(
                organization=organization,
                slug=team_specs[i][0],
                name=team_specs[i][1],
                type=team_specs[i][2],
                specialty=team_specs[i][3],
                unit_id=unit_ids[i],
                manager_id=person_ids[members_of[i][0]],
                description=f"Synthetic {TeamType(team_specs[i][2]).label.lower()} team.",
            )
            for i in chunk
        ]
        _insert(Team, rows_t, now=now)
        team_ids.extend(row.pk for row in rows_t)
    index_by_type: dict[str, list[int]] = {}
    for i, spec in enumerate(team_specs):
        index_by_type.setdefault(spec[2], []).append(i)
    stream_indices = index_by_type[TeamType.STREAM_ALIGNED]

    # --- memberships: leads, buddies, product owners, shared DevOps engineers --------------------
    extra_teams: dict[int, list[int]] = {i: [] for i in range(teams)}  # team -> shared members
    memberships: list[tuple[int, int, str, int]] = []  # (person index, team index, role, %)
    shared: list[int] = []
    for i, spec in enumerate(team_specs):
        for position, person_index in enumerate(members_of[i]):
            role = MembershipRole.MEMBER
            if position == 0:
                role = MembershipRole.LEAD
            elif position == 1 and spec[2] == TeamType.STREAM_ALIGNED and rng.random() < 0.55:
                role = MembershipRole.DEVOPS_BUDDY
            elif position == 1 and spec[2] == TeamType.PLATFORM and rng.random() < 0.8:
                role = MembershipRole.PRODUCT_OWNER
            is_devops = position >= 1 and (
                spec[0].startswith("backend-ops")
                or (spec[2] == TeamType.PLATFORM and position == 2)
            )
            if is_devops:
                shared.append(person_index)
            memberships.append((person_index, i, role, 40 if is_devops else 100))
    # A shared DevOps engineer is a member of three to six squads besides their own team: the
    # person bottleneck the analysis looks for.
    for person_index in shared:
        for i in rng.sample(stream_indices, min(len(stream_indices), rng.randint(3, 6))):
            memberships.append((person_index, i, MembershipRole.MEMBER, 15))
            extra_teams[i].append(person_index)
    for chunk_m in _chunks(memberships):
        _insert(
            Membership,
            [
                Membership(
                    organization=organization,
                    person_id=person_ids[p],
                    team_id=team_ids[t],
                    role=role,
                    allocation_percent=percent,
                )
                for p, t, role, percent in chunk_m
            ],
            now=now,
        )

    # --- serves links: embedded DBAs and network engineers ---------------------------------------
    serves: list[ServesLink] = []
    for i, spec in enumerate(team_specs):
        if spec[2] != TeamType.OPS_SILO or spec[3] not in (
            Specialty.DATABASE,
            Specialty.NETWORKING,
        ):
            continue
        for person_index in members_of[i][1:]:
            if rng.random() < 0.3:
                for target in rng.sample(
                    stream_indices, min(len(stream_indices), rng.randint(2, 4))
                ):
                    serves.append(
                        ServesLink(
                            organization=organization,
                            person_id=person_ids[person_index],
                            team_id=team_ids[target],
                            note=f"embedded {spec[1]} engineer",
                        )
                    )
    for chunk_s in _chunks(serves):
        _insert(ServesLink, chunk_s, now=now)

    # --- interactions ------------------------------------------------------------------------------
    silo_indices = index_by_type[TeamType.OPS_SILO]
    # The k-th silo is a copy of SILOS[k % len(SILOS)] (see the team slugs above).
    silo_weights = [SILO_WEIGHTS[SILOS[k % len(SILOS)][0]] for k in range(len(silo_indices))]
    platform_indices = index_by_type[TeamType.PLATFORM]
    enabling_indices = index_by_type[TeamType.ENABLING]
    subsystem_indices = index_by_type[TeamType.COMPLICATED_SUBSYSTEM]
    ticket_targets: dict[str, list[str]] = {}
    interactions: list[Interaction] = []

    def interaction(source: int, target: int, mode: str, **extra: Any) -> Interaction:
        return Interaction(
            organization=organization,
            source_id=team_ids[source],
            target_id=team_ids[target],
            mode=mode,
            **extra,
        )

    def dated(min_days: int, max_days: int) -> dt.date:
        return today - dt.timedelta(days=rng.randint(min_days, max_days))

    severities = [Severity.BLOCKING, Severity.SLOWING, Severity.OK]
    for i in stream_indices + platform_indices:
        squad = team_specs[i][2] == TeamType.STREAM_ALIGNED
        if not squad and rng.random() < 0.5:
            continue
        wanted = rng.randint(1, 3) if squad else 1
        targets: set[int] = set()
        while len(targets) < min(wanted, len(silo_indices)):
            targets.add(rng.choices(silo_indices, weights=silo_weights)[0])
        for target in sorted(targets):
            severity = rng.choices(severities, weights=[2, 5, 3])[0]
            interactions.append(
                interaction(i, target, InteractionMode.TICKET_DEPENDENCY, severity=severity)
            )
        ticket_targets[team_specs[i][0]] = sorted(team_specs[t][0] for t in targets)
        if not squad:
            continue
        for target in rng.sample(platform_indices, min(len(platform_indices), rng.randint(1, 2))):
            interactions.append(
                interaction(i, target, InteractionMode.X_AS_A_SERVICE, since=dated(30, 700))
            )
        if rng.random() < 0.1:
            # A platform still fed through tickets: the "ticket expenser" the analysis reports.
            target = rng.choice(platform_indices)
            interactions.append(
                interaction(i, target, InteractionMode.TICKET_DEPENDENCY, severity=Severity.SLOWING)
            )
            ticket_targets[team_specs[i][0]].append(team_specs[target][0])
        # The first squads always collaborate and are facilitated: every size shows both modes.
        if rng.random() < 0.12 or i == stream_indices[0]:
            partner = rng.choice(subsystem_indices + stream_indices)
            if partner != i:
                since = dated(10, 400)
                interactions.append(
                    interaction(
                        i,
                        partner,
                        InteractionMode.COLLABORATION,
                        since=since,
                        expected_end=since + dt.timedelta(days=rng.randint(30, 180)),
                    )
                )
        if rng.random() < 0.08 or i == stream_indices[1]:
            since = dated(5, 200)
            interactions.append(
                interaction(
                    i,
                    rng.choice(enabling_indices),
                    InteractionMode.FACILITATING,
                    since=since,
                    expected_end=since + dt.timedelta(days=90),
                )
            )
    for chunk_i in _chunks(interactions):
        _insert(Interaction, chunk_i, now=now)

    # --- services owned by squads and platforms ---------------------------------------------------
    services: list[Service] = []
    for i in stream_indices + platform_indices + subsystem_indices:
        squad = team_specs[i][2] == TeamType.STREAM_ALIGNED
        for word in rng.sample(SERVICE_WORDS, rng.randint(1, 3)):
            services.append(
                Service(
                    organization=organization,
                    team_id=team_ids[i],
                    kind=ServiceKind.COMPONENT if squad else rng.choice(list(ServiceKind)),
                    slug=f"{team_specs[i][0]}-{word}",
                )
            )
    for chunk_v in _chunks(services):
        _insert(Service, chunk_v, now=now)

    # --- the transformation's people: an enabling team's lead and a platform's manager ----------
    agent_index = members_of[enabling_indices[0]][0]
    sponsor_index = members_of[platform_indices[0]][0]
    emails = dict(
        Person.objects.filter(
            pk__in=[person_ids[agent_index], person_ids[sponsor_index]]
        ).values_list("pk", "email")
    )

    generated = [
        GeneratedTeam(
            id=team_ids[i],
            slug=spec[0],
            type=spec[2],
            unit_id=unit_ids[i],
            manager_id=person_ids[members_of[i][0]],
            size=len(members_of[i]) + len(extra_teams[i]),
        )
        for i, spec in enumerate(team_specs)
    ]
    return GeneratedOrg(
        organization=organization,
        teams=generated,
        lead_change_agent_email=emails[person_ids[agent_index]],
        sponsor_email=emails[person_ids[sponsor_index]],
        ticket_targets=ticket_targets,
        counts={
            "units": len(unit_rows) + 1,
            "teams": teams,
            "people": people,
            "leavers": leavers,
            "memberships": len(memberships),
            "serves_links": len(serves),
            "interactions": len(interactions),
            "services": len(services),
            **{f"teams_{kind}": count for kind, count in counts.items()},
        },
    )
