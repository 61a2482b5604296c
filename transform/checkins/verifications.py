"""Proposed topology changes from topology verifications: reading, accepting and rejecting them
(docs/checkins.md#topology-verification).

A verification that answers "something has changed" with structured corrections stores them as
scenario changes (``TeamVerification.proposed_changes``). A change agent, an admin or the team's
engineering manager accepts them in one click: ``verification_proposal_accept`` applies them to
the live graph through ``teams.lifecycle.topology_changes_enact`` (source "web", reference
"verification:<id>", so every row change has history with the user) and marks the proposal
accepted; ``verification_proposal_reject`` only marks it rejected. Either happens once: the
decision is claimed with a conditional UPDATE on the proposal still being open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from core.errors import ConflictError, NotFoundError
from teams.lifecycle import topology_changes_enact
from teams.models import Team
from teams.scenarios import Change, TopologyDiff, change_parse
from transform.access import OrgAccess, team_get_for_topology_change
from transform.checkins.selectors import team_verification_list
from transform.models import ProposalStatus, TeamVerification


def verification_get_for_decision(*, access: OrgAccess, verification_id: int) -> TeamVerification:
    """A verification of the caller's organisation whose proposal they may decide: 404 when
    there is none there, 403 unless they are an admin, change agent or the team's manager."""
    found = (
        TeamVerification.objects.select_related("team", "verified_by")
        .filter(pk=verification_id, team__organization=access.organization)
        .first()
    )
    if found is None:
        raise NotFoundError("No such topology verification in the organisation.")
    team_get_for_topology_change(access=access, slug=found.team.slug)
    return found


def proposal_changes(verification: TeamVerification) -> list[Change]:
    """The stored proposal as scenario changes."""
    try:
        return [change_parse(item) for item in verification.proposed_changes or []]
    except ValidationError as exc:  # stored by an older vocabulary: cannot apply any more
        raise ConflictError(f"The proposed changes can no longer be read: {exc}") from exc


def _claim(*, verification: TeamVerification, status: str, user: User, at: dt.datetime) -> None:
    claimed = TeamVerification.objects.filter(
        pk=verification.pk, proposal_status=ProposalStatus.PROPOSED
    ).update(proposal_status=status, decided_by=user, decided_at=at)
    if claimed != 1:
        raise ConflictError("These proposed changes were already accepted or rejected.")
    verification.proposal_status, verification.decided_by, verification.decided_at = (
        status,
        user,
        at,
    )


@transaction.atomic
def verification_proposal_accept(*, verification: TeamVerification, user: User) -> TopologyDiff:
    """Apply the verification's proposed changes with history and mark them accepted by
    ``user``. ConflictError (409) when already decided or when a change no longer applies to the
    graph (nothing is written then)."""
    _claim(verification=verification, status=ProposalStatus.ACCEPTED, user=user, at=timezone.now())
    return topology_changes_enact(
        organization=verification.team.organization,
        changes=proposal_changes(verification),
        user=user,
        source="web",
        reference=f"verification:{verification.pk}",
        reason=f"Topology verification of {verification.team.name}",
    )


@transaction.atomic
def verification_proposal_reject(*, verification: TeamVerification, user: User) -> None:
    """Mark the proposed changes rejected by ``user`` (nothing is applied)."""
    _claim(verification=verification, status=ProposalStatus.REJECTED, user=user, at=timezone.now())


def open_proposals_by_team(*, teams: list[Team]) -> dict[int, list[dict[str, Any]]]:
    """The open proposals of ``teams`` (team id → rows with the verification and its changes
    as readable lines), one query."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for verification in TeamVerification.objects.filter(
        team__in=teams, proposal_status=ProposalStatus.PROPOSED
    ).select_related("verified_by"):
        rows.setdefault(verification.team_id, []).append(
            {
                "verification": verification,
                "lines": [change_label(item) for item in verification.proposed_changes or []],
            }
        )
    return rows


def change_label(change: dict[str, Any]) -> str:
    """One proposed change as a sentence."""
    kind = change.get("kind")
    if kind == "move_person":
        return (
            f"Add {change.get('person')} as {str(change.get('role') or 'member').replace('_', ' ')}"
            f" ({change.get('allocation_percent') or 100}%)"
        )
    if kind == "remove_person":
        return f"Remove {change.get('person')}"
    if kind == "change_role":
        role = str(change.get("role", "")).replace("_", " ")
        return f"{change.get('person')}: {role}, {change.get('allocation_percent')}%"
    if kind == "change_interaction_mode":
        end = f", until {change['expected_end']}" if change.get("expected_end") else ""
        return (
            f"Interaction with {change.get('target')}: {change.get('from_mode')} → "
            f"{change.get('to_mode')}{end}"
        )
    if kind == "change_interaction_end":
        end = change.get("expected_end") or "no planned end"
        return f"Interaction with {change.get('target')} ({change.get('mode')}): ends {end}"
    return str(kind)


def team_topology_marks(*, organization: Any, at: dt.datetime) -> dict[str, dict[str, Any]]:
    """How current each team's record is, by team slug, for the graph's team table and "My
    team": ``state`` ("confirmed", "stale"), ``label`` ("confirmed 3 days ago", "stale: not
    confirmed since 2 March 2027", "stale: never confirmed") and ``proposed`` (open proposals).
    The staleness window is the organisation's ``topology_verify_every_days``. Two queries."""
    proposed = set(
        TeamVerification.objects.filter(
            team__organization=organization, proposal_status=ProposalStatus.PROPOSED
        ).values_list("team__slug", flat=True)
    )
    marks: dict[str, dict[str, Any]] = {}
    for team in team_verification_list(organization=organization, at=at):
        confirmed_at = getattr(team, "last_confirmed_at", None)
        if not getattr(team, "stale", True) and confirmed_at is not None:
            days = (at - confirmed_at).days
            ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
            state, label = "confirmed", f"confirmed {ago}"
        elif confirmed_at is not None:
            state = "stale"
            label = f"stale: not confirmed since {timezone.localdate(confirmed_at):%-d %B %Y}"
        else:
            state, label = "stale", "stale: never confirmed"
        marks[team.slug] = {"state": state, "label": label, "proposed": team.slug in proposed}
    return marks
