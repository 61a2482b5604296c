"""Importing an HR export into an organisation (docs/import-hr.md): ``import_people``.

``hr_import`` reads the export (``teams.importers.hrcsv.hr_csv_read``, every problem of the file
at once), resolves it against the organisation (teams by slug or name, else new teams with a
deterministic slug; each team's manager; roles from job titles) into an ``ImportBundle`` that
``teams.importers.apply.org_import_apply`` writes (upsert only, with history), and marks the
leavers ``--prune-leavers`` asks for: all in one transaction, nothing written on any error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from core.errors import ConflictError
from core.files.origin import ImportFailure, Origin
from core.files.validation import MAX_PROBLEMS_SHOWN, problems_error
from teams.graph import MembershipEdge, PersonNode, TeamNode
from teams.importers.apply import ImportResult, org_import_apply
from teams.importers.bulk import collector_paused
from teams.importers.bundle import NO_ROLE, ImportBundle
from teams.importers.hrcsv import HrFile, HrImportError, HrRow, hr_csv_read
from teams.importers.hrmapping import HrMapping, TitleRole, name_key
from teams.lifecycle import departure_holds, person_leave
from teams.models import Organization, Person, Team, TeamType
from teams.zones import organization_today

_SLUG_CHARS = 90  # a new team's slug before a "-2" suffix; the column holds 100
# Letters that Unicode does not decompose into an ASCII letter and an accent.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "Th",
        "\u0131": "i",  # dotless i
    }
)
_SHOWN_NAMES = 10


def team_slug(name: str) -> str:
    """The slug a new team named ``name`` gets before collisions: Django's ``slugify`` of the
    name with accents folded to ASCII (``"Search & Discovery"`` → ``search-discovery``,
    ``"Qualität"`` → ``qualitat``), at most 90 characters; ``team`` when nothing is left."""
    slug = slugify(name.translate(_FOLD))[:_SLUG_CHARS].strip("-_")
    return slug or "team"


def team_slug_free(base: str, taken: set[str]) -> str:
    """``base``, or the first of ``base-2``, ``base-3``, ... not in ``taken``."""
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


@dataclass(slots=True)
class HrImportResult:
    """What ``hr_import`` did (or, with ``dry_run``, would do)."""

    organization: str
    path: str
    rows: ImportResult
    ignored_columns: list[str] = field(default_factory=list)
    teams_created: list[tuple[str, str]] = field(default_factory=list)  # (slug, name)
    teams_matched: list[tuple[str, str]] = field(default_factory=list)  # (as written, slug)
    managers: dict[str, str] = field(default_factory=dict)  # team slug -> e-mail
    roles: dict[str, int] = field(default_factory=dict)  # role -> memberships given it
    without_team: list[str] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        """The counts of ``ImportResult.summary``, then what the export added to them."""
        lines = [self.rows.summary()]
        lines.append(
            f"Teams: {len(self.teams_created)} created, {len(self.teams_matched)} matched"
            + _listed([f"{slug} ({name!r})" for slug, name in self.teams_created], "created")
        )
        if self.managers:
            lines.append(
                f"Managers set from the file: {len(self.managers)} teams"
                + _listed([f"{slug}: {email}" for slug, email in self.managers.items()], "")
            )
        if self.roles:
            shown = ", ".join(f"{role} {count}" for role, count in sorted(self.roles.items()))
            lines.append(f"Roles from titles and the role column: {shown}")
        if self.without_team:
            lines.append(f"People without a team (no membership): {len(self.without_team)}")
        if self.not_started:
            lines.append(
                f"Not imported, start date after today: {len(self.not_started)}"
                + _listed(self.not_started, "")
            )
        if self.pruned:
            lines.append(
                f"Marked {len(self.pruned)} people as leavers, not in {self.path}"
                + _listed(self.pruned, "")
            )
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        return "\n".join(lines)

    def warning_lines(self) -> list[str]:
        """One line for the ignored columns (if any), then each warning."""
        lines = []
        if self.ignored_columns:
            shown = ", ".join(repr(column) for column in self.ignored_columns)
            lines.append(f"{self.path}, line 1: ignored columns (not mapped): {shown}")
        return lines + self.warnings


def _listed(items: list[str], what: str) -> str:
    if not items:
        return ""
    more = f", ... and {len(items) - _SHOWN_NAMES} more" if len(items) > _SHOWN_NAMES else ""
    label = f"; {what}: " if what else ": "
    return label + ", ".join(items[:_SHOWN_NAMES]) + more


@transaction.atomic
def hr_import(
    *,
    organization: Organization,
    path: Path,
    mapping: HrMapping,
    prune_leavers: bool = False,
    dry_run: bool = False,
    user: AbstractBaseUser | None = None,
) -> HrImportResult:
    """Import the people of the HR export at ``path`` into ``organization``, in one transaction.

    People are matched by e-mail (stored lower-case) and created or renamed; each row with a team
    makes a membership (role from the role column, else from the first title pattern the title
    matches, else none: member when new, unchanged when it exists); teams are matched by slug or
    name or created; each team's manager is chosen by the rule of docs/import-hr.md; a row with
    an end date not after today is a leaver; rows starting after today are left out. With
    ``prune_leavers`` the organisation's people absent from the file become leavers today
    (``person_leave``; nothing is deleted). With ``dry_run`` everything is checked and counted,
    then rolled back.

    Raises HrImportError with every problem of the file, ImportFailure for a problem against the
    organisation (a leaver listed with a team, someone to prune who owns open milestones, ...);
    nothing is written then.
    """
    with collector_paused():
        hr = hr_csv_read(path, mapping)
        result = _import(organization, hr, mapping, prune_leavers, user)
    result.dry_run = dry_run
    if dry_run:
        transaction.set_rollback(True)
    return result


def _import(
    organization: Organization,
    hr: HrFile,
    mapping: HrMapping,
    prune_leavers: bool,
    user: AbstractBaseUser | None,
) -> HrImportResult:
    today = organization_today(organization)
    people = {
        person.email.lower(): person for person in Person.objects.filter(organization=organization)
    }
    teams = list(Team.all_objects.filter(organization=organization).order_by("slug"))

    listed = {row.email for row in hr.rows}
    starting = {row.email for row in hr.rows if row.start_date and row.start_date > today}
    leaving = {
        row.email: row for row in hr.rows if row.end_date is not None and row.end_date <= today
    }
    active = [row for row in hr.rows if row.email not in starting and row.email not in leaving]
    warnings: list[str] = []

    resolution = _resolve_teams(hr, active, teams, mapping)
    warnings += resolution.warnings
    pruned = (
        [
            person
            for email, person in sorted(people.items())
            if email not in listed and person.left_on is None and person.erased_at is None
        ]
        if prune_leavers
        else []
    )
    pruned_emails = {person.email.lower() for person in pruned}
    active_emails = {row.email for row in active}

    def can_manage(email: str) -> bool:
        if email in active_emails:
            return True
        person = people.get(email)
        return (
            email not in listed
            and person is not None
            and person.left_on is None
            and person.erased_at is None
            and email not in pruned_emails
        )

    managers, title_managers, manager_warnings = _managers(
        hr, active, resolution.slugs, mapping, can_manage
    )
    warnings += manager_warnings

    bundle = ImportBundle()
    for row in hr.rows:
        if row.email in starting:
            continue
        origin = Origin(hr.path, line=row.line)
        bundle.add_person(PersonNode(email=row.email, name=row.name), origin)
    for email, row in leaving.items():
        bundle.add_leaver(email, row.end_date or today, Origin(hr.path, line=row.line))
    roles: Counter[str] = Counter()
    without_team: dict[str, None] = {}
    for row in active:
        if not row.team:
            without_team[row.email] = None
            continue
        slug = resolution.slugs[name_key(row.team)]
        if title_managers.get(slug) == row.email:
            continue  # the team's manager by title manages it rather than belonging to it
        title_role = mapping.title_role(row.title)
        role = row.role or (
            title_role.value if title_role not in (None, TitleRole.MANAGER) else NO_ROLE
        )
        if role:
            roles[role] += 1
        bundle.add_membership(
            MembershipEdge(
                person=row.email, team=slug, role=role, allocation_percent=row.allocation
            ),
            Origin(hr.path, line=row.line),
        )
    for slug, (node, origin) in resolution.nodes.items():
        bundle.add_team(
            TeamNode(
                slug=node.slug,
                name=node.name,
                type=node.type,
                specialty=node.specialty,
                manager=managers.get(slug),
            ),
            origin,
        )
    with_team = {row.email for row in active if row.team}
    without_team_left = [email for email in without_team if email not in with_team]
    _check_departures(pruned, hr.path)
    imported = org_import_apply(
        organization=organization,
        bundle=bundle,
        change_reason=f"import_people {Path(hr.path).name}",
        user=user,
        source=hr.path,
    )
    actor = user if isinstance(user, User) else None
    try:
        for person in pruned:
            person_leave(person=person, source="import", actor=actor)
    except ConflictError as exc:
        raise ImportFailure(hr.path, f"{exc.message} Nothing was imported.") from exc
    return HrImportResult(
        organization=organization.slug,
        path=hr.path,
        rows=imported,
        ignored_columns=hr.ignored,
        teams_created=resolution.created,
        teams_matched=resolution.matched,
        managers=dict(sorted(managers.items())),
        roles=dict(roles),
        without_team=without_team_left,
        not_started=sorted(starting),
        pruned=[person.email for person in pruned],
        warnings=warnings,
    )


@dataclass(slots=True)
class _Teams:
    """The export's teams resolved against the organisation's: ``slugs`` by ``name_key`` of the
    name as written, ``nodes`` (each with the line that first names it) by slug."""

    slugs: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, tuple[TeamNode, Origin]] = field(default_factory=dict)
    created: list[tuple[str, str]] = field(default_factory=list)
    matched: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _resolve_teams(
    hr: HrFile, active: list[HrRow], teams: list[Team], mapping: HrMapping
) -> _Teams:
    """Each team the export names: the mapping's slug for it, else a live team whose slug or
    name it is (case and white space aside), else a new team named as written whose slug is
    ``team_slug`` of the name, made unique with ``-2``, ``-3``, ... in the order of the slugs
    (then of the names), never reusing a slug of the organisation (retired teams included)."""
    written: dict[str, tuple[str, Origin]] = {}
    for row in active:
        if row.team:
            written.setdefault(name_key(row.team), (row.team, Origin(hr.path, line=row.line)))
    live = {team.slug: team for team in teams if team.retired_at is None}
    retired = {team.slug: team for team in teams if team.retired_at is not None}
    live_by_slug = {slug.casefold(): team for slug, team in live.items()}
    live_by_name: dict[str, Team] = {}
    for team in live.values():  # ordered by slug: the first slug wins for a shared name
        live_by_name.setdefault(name_key(team.name), team)
    taken = {team.slug for team in teams}
    resolved = _Teams()
    problems: list[tuple[Origin, str, str]] = []
    pending: list[tuple[str, str, str, Origin]] = []
    column = f"column {hr.columns.get('team', 'team')!r} (team)"

    def match(key: str, name: str, team: Team, origin: Origin, kind: TeamType | None) -> None:
        type_ = kind or TeamType(team.type)
        node = TeamNode(
            slug=team.slug,
            name=team.name,
            type=type_,
            specialty=team.specialty if type_ == TeamType.OPS_SILO else "",
        )
        resolved.slugs[key] = team.slug
        if team.slug not in resolved.nodes:
            resolved.nodes[team.slug] = (node, origin)
            resolved.matched.append((name, team.slug))

    def create(key: str, name: str, slug: str, origin: Origin, kind: TeamType | None) -> None:
        resolved.slugs[key] = slug
        taken.add(slug)
        if slug not in resolved.nodes:
            node = TeamNode(slug=slug, name=name, type=kind or mapping.default_team_type)
            resolved.nodes[slug] = (node, origin)
            resolved.created.append((slug, name))

    for key, (name, origin) in written.items():
        hint = mapping.team_hint(name)
        kind = hint.type if hint is not None else None
        if hint is not None and hint.slug is not None:
            if hint.slug in retired:
                problems.append(
                    (
                        origin,
                        column,
                        f"the mapping gives team {name!r} the slug {hint.slug!r}, a team retired "
                        f"on {retired[hint.slug].retired_at:%Y-%m-%d}; a retired team has no "
                        "members: give the team another slug in the mapping",
                    )
                )
            elif hint.slug in live:
                match(key, name, live[hint.slug], origin, kind)
            else:
                create(key, name, hint.slug, origin, kind)
            continue
        found = live_by_slug.get(name.casefold()) or live_by_name.get(key)
        if found is not None:
            match(key, name, found, origin, kind)
        else:
            pending.append((team_slug(name), key, name, origin))
    for base, key, name, origin in sorted(pending, key=lambda item: item[:2]):
        hint = mapping.team_hint(name)
        create(key, name, team_slug_free(base, taken), origin, hint.type if hint else None)
    if problems:
        raise problems_error(problems, error=HrImportError)
    for name in mapping.teams:
        if name_key(name) not in resolved.slugs:
            resolved.warnings.append(
                f"mapping teams: {name!r} names no team of {hr.path} (of its current people); "
                "it was not used"
            )
    return resolved


def _managers(
    hr: HrFile,
    active: list[HrRow],
    slugs: dict[str, str],
    mapping: HrMapping,
    can_manage: Callable[[str], bool],
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Each team's manager (team slug -> e-mail), the managers chosen for their title, and the
    warnings.

    A team's manager is, among the people of the team whose title gives ``manager``, the one most
    of the team's other people name in ``manager_email`` (ties: the first e-mail in alphabetical
    order); when nobody in the team has such a title, the person most of its people name as their
    manager (same tie rule) who can manage (is a current person of the file or of the
    organisation). A team nobody names a manager for keeps the one it has.
    """
    votes: dict[str, Counter[str]] = {}
    by_title: dict[str, list[str]] = {}
    unknown: dict[str, int] = {}
    column = f"column {hr.columns.get('manager_email', 'manager_email')!r} (manager_email)"
    for row in active:
        if row.manager_email and not can_manage(row.manager_email):
            unknown.setdefault(row.manager_email, row.line)
        if not row.team:
            continue
        slug = slugs[name_key(row.team)]
        if row.manager_email and row.manager_email != row.email:
            votes.setdefault(slug, Counter())[row.manager_email] += 1
        if not row.role and mapping.title_role(row.title) == TitleRole.MANAGER:
            by_title.setdefault(slug, []).append(row.email)
    warnings = [
        f"{hr.path}, line {line}: {column}: {email} is neither a current person of the file "
        "nor of the organisation; not used as a manager"
        for email, line in sorted(unknown.items(), key=lambda item: item[1])
    ]
    managers: dict[str, str] = {}
    title_managers: dict[str, str] = {}
    for slug in sorted(set(votes) | set(by_title)):
        counts = votes.get(slug, Counter())
        titled = by_title.get(slug, [])
        if titled:
            chosen = min(titled, key=lambda email: (-counts[email], email))
            managers[slug] = title_managers[slug] = chosen
            if len(titled) > 1:
                others = ", ".join(email for email in sorted(titled) if email != chosen)
                warnings.append(
                    f"team {slug}: several people have a manager title; {chosen} manages it "
                    f"(named by {counts[chosen]} of its people), {others} stay members"
                )
            continue
        candidates = [email for email in counts if can_manage(email)]
        if candidates:
            managers[slug] = min(candidates, key=lambda email: (-counts[email], email))
    return managers, title_managers, warnings


def _check_departures(pruned: list[Person], path: str) -> None:
    """Nobody --prune-leavers would mark as a leaver still owns open milestones or leads a
    transformation (``departure_holds``); ImportFailure listing each one and what to reassign."""
    problems: list[str] = []
    for person in pruned:
        for what, items in departure_holds(person):
            if items:
                titles = "; ".join(repr(item.get("title", item.get("id"))) for item in items)
                problems.append(
                    f"person {person.email!r} is not in {path}, so --prune-leavers would mark "
                    f"them as a leaver, but they still have {what} ({len(items)}): {titles}. "
                    "Reassign them first (the plan's page or the API), then import again"
                )
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems")
        raise ImportFailure(path, "\n".join(shown))
