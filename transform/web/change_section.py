"""What the milestone page's "Topology changes" section shows (web/plan/_changes.html): each
change as a sentence with its state and who may delete or enact it, the preview link, and the
forms of ``transform.web.change_forms`` with their pickers' suggestions. A fixed number of
queries whatever the number of changes (docs/web-plan.md#queries)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.urls import reverse

from core.errors import ApplicationError
from teams.models import Organization
from teams.selectors import org_unit_list, person_list, team_list
from transform.access import MilestoneAccess
from transform.models import Milestone
from transform.plans import selectors
from transform.plans.change_words import (
    Names,
    change_created_teams,
    change_references,
    change_sentence,
)
from transform.web.change_forms import (
    CHANGE_FORM_BY_KIND,
    CHANGE_FORMS,
    JSON_KIND,
    PEOPLE_LISTED,
    ChangeForm,
    Pickers,
)
from transform.web.forms import MilestoneChangeForm


def pickers_get(*, organization: Organization, milestone: Milestone) -> Pickers:
    """The teams a change may name (live ones, then those the plan's pending changes create),
    and the units; three queries."""
    teams = list(team_list(organization=organization).values_list("slug", "name"))
    pending = selectors.transformation_pending_changes(transformation=milestone.transformation)
    live = {slug for slug, _name in teams}
    created = change_created_teams([row.change for row in pending])
    teams += [(slug, name) for slug, name in created.items() if slug not in live]
    units = list(org_unit_list(organization=organization).values_list("slug", "name"))
    return Pickers(organization=organization, teams=teams, units=units)


@dataclass(frozen=True, slots=True)
class FoundNames:
    """``names_get``'s answer: the names, the names of the logins by user id, and which of the
    teams named are live (they have a team page)."""

    names: Names
    actors: dict[int, str]
    live: frozenset[str]


def names_get(
    *, organization: Organization, changes: Sequence[Any], user_ids: Sequence[int] = ()
) -> FoundNames:
    """The names of the teams, people and units ``changes`` name (retired teams included, and
    the teams the changes themselves create), and of the people logged in as ``user_ids``;
    three queries at most, whatever the number of changes."""
    team_slugs, emails, unit_slugs = change_references(changes)
    teams: dict[str, str] = {}
    live: set[str] = set()
    if team_slugs:
        rows = team_list(organization=organization, include_retired=True).filter(
            slug__in=team_slugs
        )
        for slug, name, retired_at in rows.values_list("slug", "name", "retired_at"):
            teams[slug] = name
            if retired_at is None:
                live.add(slug)
    for slug, name in change_created_teams(changes).items():
        teams.setdefault(slug, name)
    people: dict[str, str] = {}
    actors: dict[int, str] = {}
    if emails or user_ids:
        rows_people = person_list(organization=organization).filter(
            Q(email__in=emails) | Q(user_id__in=list(user_ids))
        )
        for email, name, user_id in rows_people.values_list("email", "name", "user_id"):
            people[email.lower()] = name or email
            if user_id is not None:
                actors.setdefault(user_id, name or email)
    units: dict[str, str] = {}
    if unit_slugs:
        units = dict(
            org_unit_list(organization=organization)
            .filter(slug__in=unit_slugs)
            .values_list("slug", "name")
        )
    return FoundNames(
        names=Names(teams=teams, people=people, units=units), actors=actors, live=frozenset(live)
    )


def people_names_get(*, organization: Organization, emails: Iterable[str]) -> dict[str, str]:
    """The names of the organisation's people with ``emails`` (lower case), by e-mail; one
    query."""
    rows = person_list(organization=organization).filter(email__in=list(emails))
    return {email.lower(): name or email for email, name in rows.values_list("email", "name")}


def _person_options(organization: Organization) -> list[dict[str, str]]:
    rows = list(
        person_list(organization=organization)
        .filter(left_on__isnull=True, erased_at__isnull=True)
        .values_list("name", "email")[:PEOPLE_LISTED]
    )
    counts: dict[str, int] = {}
    for name, _email in rows:
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    return [
        {
            "value": name if name and counts[name.lower()] == 1 else f"{name or email} ({email})",
            "label": email,
        }
        for name, email in rows
    ]


def _actor_name(user: Any, actors: Mapping[int, str]) -> str:
    if user is None:
        return "the command line"
    return actors.get(user.pk) or user.get_full_name() or user.get_username()


def changes_section(
    *,
    found: MilestoneAccess,
    forms_shown: Mapping[str, ChangeForm] | None = None,
    open_kind: str = "",
    error: str = "",
    json_error: str = "",
    json_values: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The context of web/plan/_changes.html: the milestone's changes as sentences with their
    state, who may delete or enact them, the preview link, and (for whoever may attach) a form
    per kind, ``forms_shown`` replacing the blank ones (a failed post, kept with its errors),
    ``open_kind`` the one shown open; ``error`` a refusal to show above the changes (a delete
    or an enactment refused), ``json_error`` one of the JSON form.

    A fixed number of queries whatever the number of changes: for readers, 1 (the changes) and
    up to 3 more for the names of the teams, people and units they name; 4 more for whoever may
    attach (the pickers' teams, the plan's pending changes, the units, the people suggested)."""
    milestone = found.milestone
    transformation_access = found.transformation_access
    organization = transformation_access.org.organization
    rows = list(selectors.milestone_change_list(milestone=milestone))
    user_ids = sorted(
        {row.created_by_id for row in rows if row.created_by_id}
        | {row.enacted_by_id for row in rows if row.enacted_by_id}
    )
    found_names = names_get(
        organization=organization, changes=[row.change for row in rows], user_ids=user_ids
    )
    names, actors = found_names.names, found_names.actors
    can_attach = transformation_access.can_edit_plan
    pending = [row for row in rows if row.enacted_at is None]
    org_slug = organization.slug
    items = []
    for row in rows:
        items.append(
            {
                "row": row,
                "sentence": change_sentence(row.change, names),
                "team_links": [
                    {
                        "name": names.team(slug),
                        "url": reverse(
                            "web:team", kwargs={"org_slug": org_slug, "team_slug": slug}
                        ),
                    }
                    for slug in sorted(change_references([row.change])[0], key=names.team)
                    if slug in found_names.live
                ],
                "enacted_by": _actor_name(row.enacted_by, actors) if row.enacted_at else "",
                "added_by": _actor_name(row.created_by, actors),
                "delete_url": reverse(
                    "web:milestone-change-delete",
                    kwargs={
                        "org_slug": org_slug,
                        "milestone_id": milestone.pk,
                        "change_id": row.pk,
                    },
                ),
            }
        )
    context: dict[str, Any] = {
        "change_items": items,
        "changes_pending": len(pending),
        "can_attach_changes": can_attach,
        "can_delete_changes": can_attach,
        "can_enact_changes": found.can_update and bool(pending),
        "change_preview_url": reverse("web:scenario", kwargs={"org_slug": org_slug})
        + f"?transformation={milestone.transformation_id}&milestone={milestone.pk}",
        "change_forms": [],
        "change_open_kind": open_kind,
        "change_error": error,
        "change_json_error": json_error,
        "change_json_values": json_values or {},
        "change_team_options": [],
        "change_person_options": [],
    }
    if can_attach:
        pickers = pickers_get(organization=organization, milestone=milestone)
        shown = forms_shown or {}
        for form in shown.values():
            # The problem is read out with the field it is about.
            for name in form.errors:
                if name in form.fields:
                    widget = form.fields[name].widget
                    widget.attrs["aria-describedby"] = f"{form[name].auto_id}-error"
        context["change_forms"] = [
            {
                "kind": form_class.kind,
                "form": shown.get(form_class.kind) or form_class(pickers=pickers),
            }
            for form_class in CHANGE_FORMS
        ]
        context["change_team_options"] = sorted(
            {name for _slug, name in pickers.teams}, key=str.lower
        )
        context["change_person_options"] = _person_options(organization)
    return context


def change_form_bind(
    data: Mapping[str, Any], *, organization: Organization, milestone: Milestone
) -> tuple[str, ChangeForm | MilestoneChangeForm]:
    """The form a post fills: the JSON one when ``change_json`` is given, else the kind's form
    (``ApplicationError`` for an unknown kind)."""
    if str(data.get("change_json") or "").strip():
        return JSON_KIND, MilestoneChangeForm(data, organization=organization)
    kind = str(data.get("kind") or "")
    form_class = CHANGE_FORM_BY_KIND.get(kind)
    if form_class is None:
        raise ApplicationError(
            "Choose a kind of change, or write the change as JSON.",
            extra={"fields": {"kind": [f"Expected one of: {', '.join(CHANGE_FORM_BY_KIND)}."]}},
        )
    return kind, form_class(
        data, pickers=pickers_get(organization=organization, milestone=milestone)
    )


def change_names_for_errors(
    *, organization: Organization, pickers: Pickers, changes: Sequence[Any]
) -> Names:
    """The names a refused change's messages may mention: the pickers' teams and the people
    ``changes`` name (one query)."""
    teams = dict(pickers.teams)
    names = names_get(organization=organization, changes=[c for c in changes if c]).names
    return Names(teams={**names.teams, **teams}, people=names.people, units=names.units)


@dataclass(frozen=True, slots=True)
class RefusalWords:
    """How a refused change's form words the refusal: the names its messages may use, and the
    change already attached that would not apply any more ('' when the fault is the new
    change's own)."""

    names: Names
    other_change: str


def change_refusal_words(
    *,
    organization: Organization,
    milestone: Milestone,
    pickers: Pickers,
    change: Any,
    exc: ApplicationError,
) -> RefusalWords:
    """``RefusalWords`` of ``exc``, refusing ``change``: when it names an attached change
    (``extra["change"]``, an id), that change as a sentence with its milestone's title. Two
    queries at most."""
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    other_id = extra.get("change")
    other = None
    if isinstance(other_id, int):
        pending = selectors.transformation_pending_changes(transformation=milestone.transformation)
        other = next((row for row in pending if row.pk == other_id), None)
    names = change_names_for_errors(
        organization=organization,
        pickers=pickers,
        changes=[change, other.change if other is not None else None],
    )
    words = (
        f"“{change_sentence(other.change, names)}” (milestone {other.milestone.title})"
        if other is not None
        else ""
    )
    return RefusalWords(names=names, other_change=words)
