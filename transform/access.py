"""Who may see and do what: every access rule of Transform, for the API, the web pages and the
commands alike (docs/architecture.md#access, the tables in docs/api.md).

Each intent is one call that fetches and checks together (``milestone_get_for_status_change``,
``org_get_for_management``, ...), so a view cannot fetch an object and forget the check. The rules
raise the domain errors of ``core.errors``; the API and the pages turn them into HTTP at their
edge:

- ``NotFoundError`` (404) when the object does not exist, the caller holds no role in its
  organisation, or (pages) it belongs to another organisation than the one in the URL: other
  organisations' objects look exactly like missing ones;
- ``PermissionDeniedError`` (403) only inside an organisation the caller can already read.

The organisation-level base (``OrgAccess``, ``org_access_get``, the roles that manage an
organisation and change topology) lives in ``teams.access``, because the organisation graph's own
API needs it and ``teams`` imports nothing of ``transform``; it is re-exported here so that
``transform`` imports every rule from this one module. Each role set is written once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, QuerySet

from core.bounds import id_parse
from core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from teams.access import (
    ORG_MANAGER_ROLES,
    TOPOLOGY_WRITER_ROLES,
    OrgAccess,
    org_access_get,
    org_admin_access_check,
    org_manage_access_check,
    organization_list_for_user,
    team_get_for_topology_change,
    team_interaction_get,
    team_membership_get,
    team_serves_link_get,
)
from teams.models import Organization, OrganizationRole, Person, Role, Team
from transform.models import CheckIn, Milestone, MilestoneChange, MilestoneStatus, Transformation
from transform.rhythm import links

__all__ = [
    "ORG_MANAGER_ROLES",
    "OVERRIDE_ROLES",
    "OVERSIGHT_ROLES",
    "TOPOLOGY_WRITER_ROLES",
    "CheckinAlreadyAnswered",
    "CheckinClosed",
    "CheckinLinkError",
    "CheckinLinkExpired",
    "CheckinLinkInvalid",
    "MilestoneAccess",
    "MilestoneChangeAccess",
    "OrgAccess",
    "ReadinessAccess",
    "TransformationAccess",
    "checkin_get_by_link",
    "checkin_get_for_user",
    "checkin_open_check",
    "checkin_open_list_for_user",
    "may_see_oversight",
    "may_use_my_team",
    "milestone_change_get_for_plan_edit",
    "milestone_change_get_for_user",
    "milestone_get_for_plan_edit",
    "milestone_get_for_status_change",
    "milestone_get_for_update",
    "milestone_get_for_user",
    "org_access_get",
    "org_admin_access_check",
    "org_get_for_admin",
    "org_get_for_management",
    "org_get_for_oversight",
    "org_manage_access_check",
    "organization_list_for_user",
    "oversight_access_check",
    "readiness_access_get",
    "team_get_for_topology_change",
    "team_interaction_get",
    "team_membership_get",
    "team_serves_link_get",
    "teams_managed_by",
    "transformation_get_for_user",
]

# Who sees the whole organisation's figures: its readiness and history, ingested events, the
# check-in settings and the leadership pages.
OVERSIGHT_ROLES = frozenset({Role.ADMIN, Role.CHANGE_AGENT, Role.LEADER})
# Who may mark a milestone done although its exit criteria do not pass.
OVERRIDE_ROLES = frozenset({Role.ADMIN, Role.LEADER})
# Who has a "My team" page: engineering managers, and admins (who may manage teams too).
MY_TEAM_ROLES = frozenset({Role.ENGINEERING_MANAGER, Role.ADMIN})

# Longer than any token this project signs; a longer one is not parsed at all.
MAX_TOKEN_LENGTH = 300


def _in_organization(found: Organization, expected: Organization | None, what: str) -> None:
    """Pages name the organisation in the URL: an object of another one is not found there."""
    if expected is not None and found.pk != expected.pk:
        raise NotFoundError(f"No {what} with this id in the organisation.")


# --- the organisation ---------------------------------------------------------------------------


def org_get_for_management(*, user: User | AnonymousUser, org_slug: str, action: str) -> OrgAccess:
    """The organisation, for an admin or change agent about to ``action`` (start
    transformations, ingest events, add instruments, read the outbox); 403 for other roles."""
    access = org_access_get(user=user, org_slug=org_slug)
    org_manage_access_check(access=access, action=action)
    return access


def org_get_for_admin(*, user: User | AnonymousUser, org_slug: str, action: str) -> OrgAccess:
    """The organisation, for one of its admins about to ``action``; 403 for other roles."""
    access = org_access_get(user=user, org_slug=org_slug)
    org_admin_access_check(access=access, action=action)
    return access


def oversight_access_check(*, access: OrgAccess, action: str) -> None:
    """Raises ``PermissionDeniedError`` unless the caller is an admin, change agent or leader."""
    if not may_see_oversight(access):
        raise PermissionDeniedError(
            f"Only admins, change agents and leaders of '{access.organization.slug}' may {action}."
        )


def org_get_for_oversight(*, user: User | AnonymousUser, org_slug: str, action: str) -> OrgAccess:
    """The organisation, for an admin, change agent or leader about to ``action`` (read the
    check-in settings or the ingested events); 403 for other roles."""
    access = org_access_get(user=user, org_slug=org_slug)
    oversight_access_check(access=access, action=action)
    return access


def may_see_oversight(access: OrgAccess) -> bool:
    """Whether the caller sees the whole organisation's figures (the leadership pages)."""
    return bool(access.roles & OVERSIGHT_ROLES)


def may_use_my_team(access: OrgAccess) -> bool:
    """Whether the caller has a "My team" page."""
    return bool(access.roles & MY_TEAM_ROLES)


def teams_managed_by(access: OrgAccess) -> QuerySet[Team]:
    """The organisation's teams whose engineering manager is the caller's Person."""
    return Team.objects.filter(organization=access.organization, manager__user_id=access.user_id)


# --- readiness ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadinessAccess:
    """What of an organisation's readiness the caller may read: every team (``team_slugs`` is
    None) or only the teams with these slugs; the organisation's own figure is read by both."""

    org: OrgAccess
    team_slugs: frozenset[str] | None

    def may_read_team(self, slug: str) -> bool:
        return self.team_slugs is None or slug in self.team_slugs

    def team_read_check(self, slug: str) -> None:
        """Raises ``PermissionDeniedError`` for a team of the organisation the caller may not
        read (an unknown slug is the caller's 400, decided where the teams are known)."""
        if not self.may_read_team(slug):
            raise PermissionDeniedError(
                f"Engineering managers read the readiness of the teams they manage; '{slug}' is "
                "not one of them."
            )


def readiness_access_get(*, user: User | AnonymousUser, org_slug: str) -> ReadinessAccess:
    """The caller's view of the organisation's readiness and its history. Admins, change agents
    and leaders read every team; engineering managers the teams they manage (and the
    organisation's figure, to compare with); other roles get 403. What is read has passed the
    anonymity rules on the whole organisation first, so a narrower view never shows more."""
    access = org_access_get(user=user, org_slug=org_slug)
    if may_see_oversight(access):
        return ReadinessAccess(org=access, team_slugs=None)
    if Role.ENGINEERING_MANAGER in access.roles:
        managed = frozenset(teams_managed_by(access).values_list("slug", flat=True))
        return ReadinessAccess(org=access, team_slugs=managed)
    raise PermissionDeniedError(
        f"Only admins, change agents and leaders of '{access.organization.slug}' read its "
        "readiness; engineering managers read their own teams'."
    )


# --- transformations and milestones -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransformationAccess:
    """The caller's standing towards one transformation."""

    org: OrgAccess
    transformation: Transformation
    person_ids: frozenset[int]  # the caller's Person rows in the organisation (via Person.user)
    is_transformation_change_agent: bool

    @property
    def can_edit_plan(self) -> bool:
        """Admins and change agents (of the organisation, or of this transformation)."""
        return self.org.can_manage or self.is_transformation_change_agent

    @property
    def can_override(self) -> bool:
        return bool(self.org.roles & OVERRIDE_ROLES)


@dataclass(frozen=True, slots=True)
class MilestoneAccess:
    """The caller's standing towards one milestone (and its transformation)."""

    transformation_access: TransformationAccess
    milestone: Milestone

    @property
    def is_owner(self) -> bool:
        return self.milestone.owner_id in self.transformation_access.person_ids

    @property
    def can_update(self) -> bool:
        """Its owner and whoever edits the plan change its status, forecast and topology."""
        return self.is_owner or self.transformation_access.can_edit_plan


@dataclass(frozen=True, slots=True)
class MilestoneChangeAccess:
    """The caller's standing towards one attached change (through its milestone)."""

    milestone_access: MilestoneAccess
    change: MilestoneChange


def transformation_get_for_user(
    *,
    user: User | AnonymousUser,
    transformation_id: int,
    organization: Organization | None = None,
) -> TransformationAccess:
    """The transformation and the caller's standing towards it, in three queries.

    Raises ``NotFoundError`` when it does not exist, the caller holds no role in its
    organisation, or it is not of ``organization`` (when given)."""
    if not user.is_authenticated:
        raise NotFoundError("No transformation with this id.")
    transformation = Transformation.objects.with_people().filter(pk=transformation_id).first()
    if transformation is None:
        raise NotFoundError(f"No transformation with id '{transformation_id}'.")
    _in_organization(transformation.organization, organization, "transformation")
    return _transformation_access(user=user, transformation=transformation)


def _transformation_access(*, user: User, transformation: Transformation) -> TransformationAccess:
    roles = frozenset(
        OrganizationRole.objects.filter(
            user=user, organization_id=transformation.organization_id
        ).values_list("role", flat=True)
    )
    if not roles:
        # Same answer as a missing id: other tenants cannot tell the two apart.
        raise NotFoundError(f"No transformation with id '{transformation.pk}'.")
    through = Transformation.change_agents.through
    people = list(
        Person.objects.filter(organization_id=transformation.organization_id, user=user)
        .annotate(
            is_agent=Exists(
                through.objects.filter(
                    transformation_id=transformation.pk, person_id=OuterRef("pk")
                )
            )
        )
        .values_list("id", "is_agent")
    )
    return TransformationAccess(
        org=OrgAccess(organization=transformation.organization, user_id=user.pk, roles=roles),
        transformation=transformation,
        person_ids=frozenset(person_id for person_id, _agent in people),
        is_transformation_change_agent=any(agent for _person_id, agent in people),
    )


def milestone_get_for_user(
    *,
    user: User | AnonymousUser,
    milestone_id: int,
    organization: Organization | None = None,
) -> MilestoneAccess:
    """The milestone (with what its representation shows) and the caller's standing towards
    it; ``NotFoundError`` as for transformations."""
    if not user.is_authenticated:
        raise NotFoundError("No milestone with this id.")
    milestone = (
        Milestone.objects.with_details()
        .select_related(
            "transformation__organization",
            "transformation__sponsor",
            "transformation__lead_change_agent",
        )
        .filter(pk=milestone_id)
        .first()
    )
    if milestone is None:
        raise NotFoundError(f"No milestone with id '{milestone_id}'.")
    _in_organization(milestone.transformation.organization, organization, "milestone")
    access = _transformation_access(user=user, transformation=milestone.transformation)
    return MilestoneAccess(transformation_access=access, milestone=milestone)


def milestone_get_for_status_change(
    *,
    user: User | AnonymousUser,
    milestone_id: int,
    to_status: str,
    override: bool,
    organization: Organization | None = None,
) -> MilestoneAccess:
    """The milestone, for moving it to ``to_status``: an override needs a leader or admin and
    only marks it done (``ApplicationError`` otherwise); any other move needs its owner, an
    admin or a change agent."""
    found = milestone_get_for_user(user=user, milestone_id=milestone_id, organization=organization)
    if override:
        if not found.transformation_access.can_override:
            raise PermissionDeniedError(
                "Only leaders and admins may mark a milestone done against its exit criteria or "
                "before its dependencies are done."
            )
        if to_status != MilestoneStatus.DONE:
            raise ApplicationError(
                "An override only applies to marking a milestone done.",
                extra={"fields": {"override": ['Only with "to": "done".']}},
            )
        return found
    _update_check(found, action="change its status")
    return found


def milestone_get_for_update(
    *,
    user: User | AnonymousUser,
    milestone_id: int,
    action: str,
    organization: Organization | None = None,
) -> MilestoneAccess:
    """The milestone, for its owner, an admin or a change agent about to ``action``
    (reschedule it, enact its changes)."""
    found = milestone_get_for_user(user=user, milestone_id=milestone_id, organization=organization)
    _update_check(found, action=action)
    return found


def _update_check(found: MilestoneAccess, *, action: str) -> None:
    if not found.can_update:
        raise PermissionDeniedError(
            f"Only the owner of milestone '{found.milestone.title}', admins and change agents "
            f"may {action}."
        )


def milestone_get_for_plan_edit(
    *,
    user: User | AnonymousUser,
    milestone_id: int,
    action: str,
    organization: Organization | None = None,
) -> MilestoneAccess:
    """The milestone, for an admin or change agent about to ``action`` (reassign it, attach
    topology changes)."""
    found = milestone_get_for_user(user=user, milestone_id=milestone_id, organization=organization)
    _plan_edit_check(found.transformation_access, action=action)
    return found


def _plan_edit_check(access: TransformationAccess, *, action: str) -> None:
    if not access.can_edit_plan:
        raise PermissionDeniedError(
            f"Only admins and change agents (of '{access.org.organization.slug}' or of this "
            f"transformation) may {action}."
        )


def milestone_change_get_for_user(
    *, user: User | AnonymousUser, change_id: int
) -> MilestoneChangeAccess:
    """The attached change and the caller's standing; ``NotFoundError`` as for milestones."""
    if not user.is_authenticated:
        raise NotFoundError("No milestone change with this id.")
    change = (
        MilestoneChange.objects.select_related(
            "created_by", "enacted_by", "milestone__transformation__organization"
        )
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        raise NotFoundError(f"No milestone change with id '{change_id}'.")
    try:
        access = milestone_get_for_user(user=user, milestone_id=change.milestone_id)
    except NotFoundError:
        raise NotFoundError(f"No milestone change with id '{change_id}'.") from None
    return MilestoneChangeAccess(milestone_access=access, change=change)


def milestone_change_get_for_plan_edit(
    *, user: User | AnonymousUser, change_id: int, action: str
) -> MilestoneChangeAccess:
    """The attached change, for an admin or change agent about to ``action`` (delete it)."""
    found = milestone_change_get_for_user(user=user, change_id=change_id)
    _plan_edit_check(found.milestone_access.transformation_access, action=action)
    return found


# --- check-ins ----------------------------------------------------------------------------------


class CheckinLinkError(ApplicationError):
    """A check-in cannot be answered: its link is invalid or unknown (404), it expired, was
    already answered or was closed (410). ``extra`` is
    ``{"state": "invalid" | "expired" | "answered" | "closed"}`` (closed adds ``reason``)."""

    status_code: int = 404
    state = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message, extra={"state": self.state})


class CheckinLinkInvalid(CheckinLinkError):
    """A malformed token, a bad signature, an unknown check-in or a wrong nonce: one message for
    all, so ids cannot be probed."""

    status_code = 404
    state = "invalid"

    def __init__(self) -> None:
        super().__init__(
            "This check-in link is not valid. Open the complete link from your message; if it "
            "still fails, the link was replaced by a newer one."
        )


class CheckinLinkExpired(CheckinLinkError):
    status_code = 410
    state = "expired"

    def __init__(self, expires_at: dt.datetime) -> None:
        super().__init__(
            f"This check-in link expired on {expires_at:%Y-%m-%d at %H:%M %Z}; answers can no "
            "longer be given through it. The next check-in will bring a new link."
        )


class CheckinAlreadyAnswered(CheckinLinkError):
    status_code = 410
    state = "answered"

    def __init__(self) -> None:
        super().__init__(
            "This check-in has already been answered; each link can be used once. Thank you."
        )


class CheckinClosed(CheckinLinkError):
    """The check-in was closed unanswered (its milestone was marked done): nothing more is
    needed. ``extra.reason`` says why, for people."""

    status_code = 410
    state = "closed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"This check-in is closed: {reason} Nothing more is needed.")
        self.extra["reason"] = reason


def checkin_get_by_link(*, token: str, at: dt.datetime | None = None) -> CheckIn:
    """The check-in a link's token names: the link is the credential, no login needed.

    Raises ``CheckinLinkInvalid`` (404) for a malformed token, a bad signature, an unknown
    check-in or a nonce that does not match (compared in constant time), all with the same
    message. With ``at``, also ``CheckinLinkExpired``, ``CheckinAlreadyAnswered`` or
    ``CheckinClosed`` (410) unless
    it can still be answered then; without, whatever its state. Never changes anything."""
    parsed = (
        links.checkin_token_parse(token)
        if isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH
        else None
    )
    if parsed is None or id_parse(parsed[0]) is None:
        raise CheckinLinkInvalid()
    checkin_id, nonce = parsed
    checkin = (
        CheckIn.objects.select_related("organization", "recipient", "milestone", "team")
        .filter(pk=checkin_id)
        .first()
    )
    if checkin is None or not links.checkin_token_matches(checkin, nonce):
        raise CheckinLinkInvalid()
    if at is not None:
        checkin_open_check(checkin=checkin, at=at)
    return checkin


def checkin_open_check(*, checkin: CheckIn, at: dt.datetime) -> None:
    """Raises ``CheckinAlreadyAnswered``, ``CheckinClosed`` or ``CheckinLinkExpired`` (410) unless
    the check-in can still be answered at ``at``. The conditional UPDATE that stores an answer
    finally decides."""
    if checkin.answered_at is not None:
        raise CheckinAlreadyAnswered()
    if checkin.closed_at is not None:
        raise CheckinClosed(checkin.closed_reason)
    if checkin.expires_at <= at:
        raise CheckinLinkExpired(checkin.expires_at)


def _checkins_of_user(user: User | AnonymousUser) -> QuerySet[CheckIn]:
    """Check-ins whose recipient is the caller's Person, only in organisations where the caller
    holds a role: a login linked to a person of an organisation it has no role in (a link made
    before invitations, or one a role was taken from) reads nothing of that organisation."""
    if not user.is_authenticated:
        return CheckIn.objects.none()
    has_role = OrganizationRole.objects.filter(
        organization_id=OuterRef("organization_id"), user_id=user.pk
    )
    return CheckIn.objects.filter(Exists(has_role), recipient__user_id=user.pk)


def checkin_open_list_for_user(*, user: User | AnonymousUser, at: dt.datetime) -> QuerySet[CheckIn]:
    """The check-ins the caller may still answer: their Person is the recipient, in an
    organisation where they hold a role (``_checkins_of_user``), not answered, not closed, not
    expired; the
    soonest to expire first. Rows carry their organisation, milestone and team."""
    return (
        _checkins_of_user(user)
        .filter(answered_at__isnull=True, closed_at__isnull=True, expires_at__gt=at)
        .select_related("organization", "milestone", "team")
        .order_by("expires_at", "id")
    )


def checkin_get_for_user(*, user: User | AnonymousUser, checkin_id: int) -> CheckIn:
    """The check-in ``checkin_id`` if the caller is its recipient's user; ``NotFoundError``
    otherwise (someone else's check-in looks like one that does not exist)."""
    checkin = (
        _checkins_of_user(user)
        .select_related("organization", "recipient", "milestone", "team")
        .filter(pk=checkin_id)
        .first()
    )
    if checkin is None:
        raise NotFoundError("No check-in with this id.")
    return checkin
