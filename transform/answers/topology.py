"""The topology verification form's record and structured corrections (docs/checkins.md).

The form shows the team's current record (``team_record``: members with roles and allocations,
DevOps buddy, product owner, interactions, served-by links) and, for "No, something has
changed", collects corrections in three formsets: the current members (role, allocation,
remove), people to add (an e-mail of a person of the organisation) and the team's interactions
(mode, expected end). ``TopologyCorrections.changes`` turns them into scenario changes
(``teams.scenarios``) that the verification stores as a proposal; they are checked against the
live graph, so a proposal that would not apply is refused on the form, row by row.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory
from django.http import QueryDict
from pydantic import ValidationError

from teams.models import InteractionMode, MembershipRole, Person, Team
from teams.scenarios import (
    TEMPORARY_MODES,
    ScenarioError,
    apply_changes,
    change_json,
    change_parse,
)
from teams.selectors import org_snapshot_get, teams_with_topology

MAX_ADDED = 3


class MemberRowForm(forms.Form):
    email = forms.EmailField(widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=MembershipRole.choices)
    allocation_percent = forms.IntegerField(min_value=1, max_value=100)
    remove = forms.BooleanField(required=False, label="Left the team")


class AddPersonForm(forms.Form):
    email = forms.EmailField(required=False, label="E-mail")
    role = forms.ChoiceField(choices=MembershipRole.choices, initial=MembershipRole.MEMBER)
    allocation_percent = forms.IntegerField(min_value=1, max_value=100, initial=100)


class InteractionRowForm(forms.Form):
    target = forms.SlugField(widget=forms.HiddenInput)
    current_mode = forms.ChoiceField(choices=InteractionMode.choices, widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=InteractionMode.choices)
    expected_end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Expected end"
    )


MemberFormSet = formset_factory(MemberRowForm, extra=0)
AddFormSet = formset_factory(AddPersonForm, extra=MAX_ADDED, max_num=MAX_ADDED)
InteractionFormSet = formset_factory(InteractionRowForm, extra=0)


def _team(team: Team) -> Team:
    found = teams_with_topology(Team.objects.filter(pk=team.pk)).first()
    assert found is not None
    return found


def team_record(team: Team) -> dict[str, Any]:
    """What the organisation has on record for ``team``: four queries."""
    team = _team(team)
    members = list(team.memberships.all())
    return {
        "team": team,
        "manager": team.manager,
        "members": members,
        "buddies": [m for m in members if m.role == MembershipRole.DEVOPS_BUDDY],
        "product_owners": [m for m in members if m.role == MembershipRole.PRODUCT_OWNER],
        "interactions": list(team.outgoing_interactions.all()),
        "served_by": list(team.served_by.all()),
    }


class TopologyCorrections:
    """The three correction formsets of one team's verification form."""

    def __init__(self, *, team: Team, data: QueryDict | None = None) -> None:
        self.team = _team(team)
        members = list(self.team.memberships.all())
        interactions = list(self.team.outgoing_interactions.all())
        self.members = MemberFormSet(
            data,
            prefix="members",
            initial=[
                {
                    "email": m.person.email,
                    "role": m.role,
                    "allocation_percent": m.allocation_percent,
                }
                for m in members
            ],
        )
        self.names = {m.person.email: m.person.name or m.person.email for m in members}
        self.added = AddFormSet(data, prefix="add")
        self.interactions = InteractionFormSet(
            data,
            prefix="interactions",
            initial=[
                {
                    "target": i.target.slug,
                    "current_mode": i.mode,
                    "mode": i.mode,
                    "expected_end": i.expected_end,
                }
                for i in interactions
            ],
        )
        self.targets = {i.target.slug: i.target.name for i in interactions}
        self._initial = {(i.target.slug, i.mode): i for i in interactions}
        self._current = {m.person.email: m for m in members}

    @property
    def formsets(self) -> list[Any]:
        return [self.members, self.added, self.interactions]

    def member_rows(self) -> list[tuple[forms.Form, str]]:
        return [
            (form, self.names.get(str(form.initial.get("email", "")), "")) for form in self.members
        ]

    def interaction_rows(self) -> list[tuple[forms.Form, str]]:
        return [
            (form, self.targets.get(str(form.initial.get("target", "")), ""))
            for form in self.interactions
        ]

    def changes(self) -> list[dict[str, Any]] | None:
        """The corrections as scenario changes (JSON objects); None when a row is invalid (its
        errors are on the row)."""
        if not all(formset.is_valid() for formset in self.formsets):
            return None
        slug = self.team.slug
        raw: list[tuple[forms.Form, dict[str, Any]]] = []
        form: forms.Form
        for form in self.members:
            data = form.cleaned_data
            current = self._current.get(data["email"].lower())
            if current is None:
                form.add_error(None, "This person is no longer a member of the team.")
                continue
            if data["remove"]:
                raw.append((form, {"kind": "remove_person", "team": slug, "person": data["email"]}))
            elif (
                data["role"] != current.role
                or data["allocation_percent"] != current.allocation_percent
            ):
                change = {
                    "kind": "change_role",
                    "team": slug,
                    "person": data["email"],
                    "role": data["role"],
                    "allocation_percent": data["allocation_percent"],
                }
                raw.append((form, change))
        emails = {
            str(f.cleaned_data["email"]).lower() for f in self.added if f.cleaned_data.get("email")
        }
        known = {
            person.email: person
            for person in Person.objects.filter(
                organization=self.team.organization, email__in=emails
            )
        }
        for form in self.added:
            email = str(form.cleaned_data.get("email") or "").lower()
            if not email:
                continue
            person = known.get(email)
            if person is None:
                form.add_error("email", "No person with this e-mail in the organisation.")
                continue
            if person.left_on is not None:
                form.add_error("email", "This person has left the organisation.")
                continue
            if email in self._current:
                form.add_error("email", "Already a member of the team.")
                continue
            change = {
                "kind": "move_person",
                "person": email,
                "to_team": slug,
                "role": form.cleaned_data["role"],
                "allocation_percent": form.cleaned_data["allocation_percent"],
            }
            raw.append((form, change))
        for form in self.interactions:
            data = form.cleaned_data
            edge = self._initial.get((data["target"], data["current_mode"]))
            if edge is None:
                form.add_error(None, "This interaction is no longer on record.")
                continue
            end = data["expected_end"]
            if end is not None and data["mode"] not in TEMPORARY_MODES:
                form.add_error("expected_end", "Only collaboration and facilitating have an end.")
                continue
            base = {"source": slug, "target": edge.target.slug}
            if data["mode"] != edge.mode:
                change = {
                    "kind": "change_interaction_mode",
                    **base,
                    "from_mode": edge.mode,
                    "to_mode": data["mode"],
                }
                if end is not None:
                    change["expected_end"] = end.isoformat()
                raw.append((form, change))
            elif end != edge.expected_end:
                change = {"kind": "change_interaction_end", **base, "mode": edge.mode}
                change["expected_end"] = end.isoformat() if end else None
                raw.append((form, change))
        if any(not formset.is_valid() for formset in self.formsets):
            return None
        parsed = []
        for form, change in raw:
            try:
                parsed.append(change_parse(change))
            except ValidationError as exc:
                form.add_error(None, "; ".join(str(error["msg"]) for error in exc.errors()))
        if len(parsed) != len(raw):
            return None
        try:
            apply_changes(org_snapshot_get(organization=self.team.organization), parsed)
        except ScenarioError as exc:
            raw[exc.index][0].add_error(None, exc.message)
            return None
        return [change_json(change) for change in parsed]
