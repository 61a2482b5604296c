"""Writes to the organisation graph: one function per change, each in one transaction.

Every service validates the row with ``full_clean`` (field rules) and then each database
constraint, so a broken rule comes back as an ``ApplicationError`` whose ``extra.fields`` names the
field at fault, e.g. ``{"slug": ["A team with this slug already exists in the organisation."]}``.
Two requests racing past that check still hit the database constraint; the ``IntegrityError`` is
turned into the same kind of error instead of a server error. History (who, when) is recorded by
django-simple-history: in a request, its middleware supplies the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction

from core.errors import ApplicationError, ConflictError
from teams.analysis import AnalysisThresholds, InvalidThresholdsError
from teams.models import (
    Interaction,
    LineageKind,
    Membership,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    Role,
    ServesLink,
    Team,
    TeamLineageEvent,
)

_M = TypeVar("_M", bound=models.Model)

# The field each multi-field constraint is reported on, so API clients see the error next to the
# input they must change rather than under "non_field_errors".
CONSTRAINT_FIELDS: dict[str, str] = {
    "unique_role_per_user_and_organization": "role",
    "unique_unit_slug_per_organization": "slug",
    "unit_not_its_own_parent": "parent",
    "unique_team_slug_per_organization": "slug",
    "specialty_only_for_ops_silos": "specialty",
    "unique_person_email_per_organization": "email",
    "unique_membership_per_person_and_team": "person",
    "membership_allocation_between_1_and_100": "allocation_percent",
    "unique_serves_link_per_person_and_team": "person",
    "unique_interaction_per_pair_and_mode": "mode",
    "interaction_between_two_teams": "target",
    "severity_only_for_ticket_dependencies": "severity",
    "interaction_ends_after_it_starts": "expected_end",
}


def _validation_error(message: str, fields: Mapping[str, list[str]]) -> ApplicationError:
    renamed = {
        ("non_field_errors" if name == NON_FIELD_ERRORS else name): list(messages)
        for name, messages in fields.items()
    }
    return ApplicationError(message, extra={"fields": renamed})


def _validate(instance: models.Model) -> None:
    """Field rules, then every constraint, each reported on the field the caller must change."""
    errors: dict[str, list[str]] = {}
    try:
        instance.full_clean(validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    for constraint in instance._meta.constraints:
        field = CONSTRAINT_FIELDS.get(constraint.name, NON_FIELD_ERRORS)
        if field in errors:
            # The field is already wrong on its own; a constraint on it adds only noise.
            continue
        try:
            constraint.validate(type(instance), instance)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if errors:
        raise _validation_error(f"The {instance._meta.verbose_name} is not valid.", errors)


def _save(instance: _M, *, history_user: User | None = None) -> _M:
    """Validate and save ``instance``; a constraint lost to a concurrent write is a 409 naming the
    field, not a 500. ``history_user`` is who its history row names (default: the request's
    user)."""
    history_user_set(instance, history_user)
    _validate(instance)
    try:
        # A savepoint, so that on PostgreSQL the surrounding transaction stays usable.
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        name = next(
            (c.name for c in instance._meta.constraints if c.name and c.name in str(exc)), None
        )
        field = CONSTRAINT_FIELDS.get(name or "", "non_field_errors")
        raise ConflictError(
            f"The {instance._meta.verbose_name} conflicts with another one saved at the same time.",
            extra={
                "fields": {
                    field: ["This value conflicts with an existing row; reload and try again."]
                }
            },
        ) from exc
    return instance


def history_user_set(instance: models.Model, user: User | None) -> None:
    """Name ``user`` in the history row the next save or delete of ``instance`` writes."""
    # django-simple-history's documented way to name the user of a change made outside a
    # request (a command, a task): the instance's ``_history_user``; inside a request its
    # middleware supplies the request's user.
    if user is not None:
        instance._history_user = user  # type: ignore[attr-defined]


def _update(instance: _M, *, data: Mapping[str, Any], fields: Iterable[str]) -> _M:
    """Set the allowed ``fields`` present in ``data``; save (and record history) only on change."""
    allowed = set(fields)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApplicationError(
            f"Cannot change {', '.join(unknown)} of a {instance._meta.verbose_name}.",
            extra={"fields": {name: ["This field cannot be changed."] for name in unknown}},
        )
    changed = False
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    if changed:
        _save(instance)
    return instance


def _normalise_email(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
@transaction.atomic
def organization_create(
    *, slug: str, name: str, creator: User, time_zone: str = ""
) -> Organization:
    """A new, empty organisation, administered by whoever created it: ``creator`` gets its
    ``admin`` role in the same transaction. ``time_zone`` is an IANA name (blank: the
    installation's ``TIME_ZONE``). A slug that is not a slug or is taken, or an unknown zone, is
    refused (400 naming the field), and then nothing is created."""
    organization = Organization(slug=slug, name=name)
    if time_zone:
        organization.time_zone = time_zone
    organization = _save(organization, history_user=creator)
    organization_role_create(organization=organization, user=creator, role=Role.ADMIN)
    return organization


def organization_update(*, organization: Organization, data: Mapping[str, Any]) -> Organization:
    """Rename the organisation or change its analysis thresholds (validated, so that a bad
    override is refused here rather than breaking every later analysis)."""
    if "analysis_thresholds" in data:
        try:
            AnalysisThresholds.from_overrides(data["analysis_thresholds"])
        except InvalidThresholdsError as exc:
            raise ApplicationError(
                str(exc), extra={"fields": {"analysis_thresholds": [str(exc)]}}
            ) from None
    return _update(organization, data=data, fields=("name", "analysis_thresholds", "time_zone"))


@transaction.atomic
def org_unit_create(
    *,
    organization: Organization,
    slug: str,
    name: str,
    kind: str = "department",
    parent: OrgUnit | None = None,
) -> OrgUnit:
    _check_same_organization(organization, parent=parent)
    return _save(OrgUnit(organization=organization, slug=slug, name=name, kind=kind, parent=parent))


@transaction.atomic
def org_unit_update(*, unit: OrgUnit, data: Mapping[str, Any]) -> OrgUnit:
    _check_same_organization(unit.organization, parent=data.get("parent"))
    if data.get("parent") is not None and _unit_is_ancestor(unit=unit, of=data["parent"]):
        raise _validation_error(
            "The unit hierarchy would contain a cycle.",
            {"parent": [f"Unit '{data['parent'].slug}' is inside '{unit.slug}'."]},
        )
    return _update(unit, data=data, fields=["slug", "name", "kind", "parent"])


@transaction.atomic
def org_unit_delete(*, unit: OrgUnit) -> None:
    unit.delete()


@transaction.atomic
def team_create(
    *,
    organization: Organization,
    slug: str,
    name: str,
    type: str,
    specialty: str = "",
    description: str = "",
    unit: OrgUnit | None = None,
    manager: Person | None = None,
    history_user: User | None = None,
    source: str = "api",
    reference: str = "",
    reason: str = "",
) -> Team:
    """A new team, with its ``formed`` lineage event naming ``source`` (milestone, api, web,
    import, command)."""
    _check_same_organization(organization, unit=unit, manager=manager)
    team = _save(
        Team(
            organization=organization,
            slug=slug,
            name=name,
            type=type,
            specialty=specialty,
            description=description,
            unit=unit,
            manager=manager,
        ),
        history_user=history_user,
    )
    TeamLineageEvent.objects.create(
        organization=organization,
        team=team,
        kind=LineageKind.FORMED,
        occurred_at=team.created_at,
        new_slug=team.slug,
        source=source,
        reference=reference[:100],
        reason=reason[:2000],
        recorded_by=history_user,
    )
    return team


@transaction.atomic
def team_update(
    *, team: Team, data: Mapping[str, Any], source: str = "api", actor: User | None = None
) -> Team:
    """Change the team's fields; a new slug is a ``renamed`` lineage event, so events and files
    naming the old slug still find the team. A retired team cannot be changed (409)."""
    if team.retired_at is not None:
        raise ConflictError(
            f"Team '{team.slug}' was retired on {team.retired_at:%Y-%m-%d}; a retired team is "
            "kept as it was.",
            extra={"team": team.slug},
        )
    _check_same_organization(team.organization, unit=data.get("unit"), manager=data.get("manager"))
    old_slug = team.slug
    updated = _update(
        team,
        data=data,
        fields=["slug", "name", "type", "specialty", "description", "unit", "manager"],
    )
    if updated.slug != old_slug:
        TeamLineageEvent.objects.create(
            organization_id=team.organization_id,
            team=updated,
            kind=LineageKind.RENAMED,
            occurred_at=updated.updated_at,
            old_slug=old_slug,
            new_slug=updated.slug,
            source=source,
            recorded_by=actor,
        )
    return updated


@transaction.atomic
def person_create(
    *,
    organization: Organization,
    email: str,
    name: str,
    user: User | None = None,
) -> Person:
    return _save(
        Person(organization=organization, email=_normalise_email(email), name=name, user=user)
    )


@transaction.atomic
def person_update(*, person: Person, data: Mapping[str, Any]) -> Person:
    if "email" in data:
        data = {**data, "email": _normalise_email(data["email"])}
    return _update(person, data=data, fields=["email", "name", "user"])


@transaction.atomic
def membership_create(
    *,
    organization: Organization,
    person: Person,
    team: Team,
    role: str = "member",
    allocation_percent: int = 100,
    history_user: User | None = None,
) -> Membership:
    _check_same_organization(organization, person=person, team=team)
    return _save(
        Membership(
            organization=organization,
            person=person,
            team=team,
            role=role,
            allocation_percent=allocation_percent,
        ),
        history_user=history_user,
    )


@transaction.atomic
def membership_update(*, membership: Membership, data: Mapping[str, Any]) -> Membership:
    _check_same_organization(
        membership.organization, person=data.get("person"), team=data.get("team")
    )
    return _update(membership, data=data, fields=["person", "team", "role", "allocation_percent"])


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    membership.delete()


@transaction.atomic
def serves_link_create(
    *,
    organization: Organization,
    person: Person,
    team: Team,
    note: str = "",
    history_user: User | None = None,
) -> ServesLink:
    _check_same_organization(organization, person=person, team=team)
    return _save(
        ServesLink(organization=organization, person=person, team=team, note=note),
        history_user=history_user,
    )


@transaction.atomic
def serves_link_update(*, serves_link: ServesLink, data: Mapping[str, Any]) -> ServesLink:
    _check_same_organization(
        serves_link.organization, person=data.get("person"), team=data.get("team")
    )
    return _update(serves_link, data=data, fields=["person", "team", "note"])


@transaction.atomic
def serves_link_delete(*, serves_link: ServesLink) -> None:
    serves_link.delete()


@transaction.atomic
def interaction_create(
    *,
    organization: Organization,
    source: Team,
    target: Team,
    mode: str,
    since: Any = None,
    expected_end: Any = None,
    severity: str = "",
    note: str = "",
    history_user: User | None = None,
) -> Interaction:
    _check_same_organization(organization, source=source, target=target)
    return _save(
        Interaction(
            organization=organization,
            source=source,
            target=target,
            mode=mode,
            since=since,
            expected_end=expected_end,
            severity=severity,
            note=note,
        ),
        history_user=history_user,
    )


@transaction.atomic
def interaction_update(*, interaction: Interaction, data: Mapping[str, Any]) -> Interaction:
    _check_same_organization(
        interaction.organization, source=data.get("source"), target=data.get("target")
    )
    return _update(
        interaction,
        data=data,
        fields=["source", "target", "mode", "since", "expected_end", "severity", "note"],
    )


@transaction.atomic
def interaction_delete(*, interaction: Interaction) -> None:
    interaction.delete()


@transaction.atomic
def organization_role_create(
    *, organization: Organization, user: User, role: str
) -> OrganizationRole:
    """Grants ``role`` in ``organization`` to ``user``."""
    return _save(OrganizationRole(organization=organization, user=user, role=role))


@transaction.atomic
def organization_role_delete(*, organization_role: OrganizationRole) -> None:
    """Revokes a role grant; the organisation's last admin grant cannot be revoked."""
    if (
        organization_role.role == Role.ADMIN
        and not OrganizationRole.objects.select_for_update()
        .filter(organization_id=organization_role.organization_id, role=Role.ADMIN)
        .exclude(pk=organization_role.pk)
        .exists()
    ):
        raise ApplicationError(
            f"Cannot revoke the last admin role of '{organization_role.organization.slug}'; "
            "grant admin to someone else first.",
            extra={"fields": {"role": ["The organisation must keep at least one admin."]}},
        )
    organization_role.delete()


def _check_same_organization(organization: Organization, **related: models.Model | None) -> None:
    """Refuse rows of another organisation: a guard for callers outside the API (which scopes
    its inputs already), reported like any other field error."""
    errors = {
        name: [f"{name.replace('_', ' ').capitalize()} belongs to another organisation."]
        for name, row in related.items()
        if row is not None and getattr(row, "organization_id", None) != organization.pk
    }
    if errors:
        raise _validation_error("Rows of another organisation cannot be linked.", errors)


def _unit_is_ancestor(*, unit: OrgUnit, of: OrgUnit) -> bool:
    """Whether ``unit`` is ``of`` or one of its ancestors (walks up, one query per level)."""
    seen: set[int] = set()
    current: OrgUnit | None = of
    while current is not None and current.pk not in seen:
        if current.pk == unit.pk:
            return True
        seen.add(current.pk)
        current = current.parent
    return False
