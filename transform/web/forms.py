"""The forms of the web pages' writes (milestones, "My team", the graph panel's leavers and
retirements) and the business case's assumptions. A form only parses and bounds what was typed;
the rules stay in the services, whose errors the pages show next to the same form."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.text import slugify

from core.errors import ApplicationError
from core.files.jsonio import json_load
from core.files.origin import ImportFailure
from core.zones import time_zone_choices, time_zone_default
from teams.models import (
    Interaction,
    InteractionMode,
    MembershipRole,
    Organization,
    Role,
    Severity,
    Team,
)
from teams.selectors import team_list
from transform.models import MilestoneStatus
from transform.readiness import business_case

ALLOCATION_ERROR = "The allocation is a whole number of percent, 1 to 100."
TEXT_LIMIT = 10_000


def cleaned(form: forms.Form) -> dict[str, Any]:
    """The form's values; its first error as an ``ApplicationError`` (400, the field named) when
    it is not valid, so the page shows it where it shows a service's broken rule."""
    if form.is_valid():
        return dict(form.cleaned_data)
    fields = {name: [str(message) for message in errors] for name, errors in form.errors.items()}
    name, messages = next(iter(fields.items()))
    # A message that reads on its own ("No team called 'X'. Teams: ...") gets no field label.
    first = form.errors.as_data()[name][0]
    standalone = name == "__all__" or first.code == STANDALONE
    label = "" if standalone else f"{form.fields[name].label or name}: "
    raise ApplicationError(f"{label}{messages[0]}", extra={"fields": fields})


STANDALONE = "standalone"  # the code of a form error that names its field itself
TEAMS_LISTED = 30


def team_slug_resolve(*, organization: Organization, text: str) -> str:
    """The slug of the organisation's live team that ``text`` names: its slug or its name, in
    any case ("Payments Squad", "payments-squad"). A ``forms.ValidationError`` that lists the
    teams when none matches, and the matching ones when a name is shared."""
    wanted = " ".join(text.split())
    teams = list(team_list(organization=organization).values_list("slug", "name"))
    by_slug = [slug for slug, _ in teams if slug.lower() in (wanted.lower(), slugify(wanted))]
    if len(by_slug) == 1:
        return by_slug[0]
    by_name = [
        (slug, name) for slug, name in teams if " ".join(name.split()).lower() == wanted.lower()
    ]
    if len(by_name) == 1:
        return by_name[0][0]
    if by_name:
        listed = ", ".join(f"{name} ({slug})" for slug, name in by_name)
        raise forms.ValidationError(
            f"{len(by_name)} teams are called '{wanted}': {listed}. Type the slug (in brackets) "
            "of the one you mean.",
            code=STANDALONE,
        )
    if not teams:
        raise forms.ValidationError(
            f"No team called '{wanted}': the organisation has no teams yet.", code=STANDALONE
        )
    shown = ", ".join(
        name if name.lower() == slug else f"{name} ({slug})" for slug, name in teams[:TEAMS_LISTED]
    )
    more = f" and {len(teams) - TEAMS_LISTED} more" if len(teams) > TEAMS_LISTED else ""
    raise forms.ValidationError(
        f"No team called '{wanted}'. Teams: {shown}{more}.", code=STANDALONE
    )


def interaction_duplicate_message(*, source: Team, target: Team, mode: str) -> str | None:
    """ "Payments already has a collaboration with Platform; edit it instead." when ``source``
    already has an interaction in ``mode`` with ``target`` (the rule the service enforces, said
    with the teams' names); else None."""
    if not Interaction.objects.filter(source=source, target=target, mode=mode).exists():
        return None
    label = str(dict(InteractionMode.choices).get(mode, mode))
    words = label if label.startswith("X-") else label.lower()
    article = "an" if words[:1].lower() in "aeiou" or words.startswith("X-") else "a"
    return f"{source.name} already has {article} {words} with {target.name}; edit it instead."


class MilestoneStatusForm(forms.Form):
    to_status = forms.ChoiceField(label="New status", choices=MilestoneStatus.choices)
    reason = forms.CharField(required=False, max_length=TEXT_LIMIT)
    override = forms.BooleanField(required=False)


class MilestoneReassignForm(forms.Form):
    owner = forms.CharField(label="New owner", max_length=254)
    reason = forms.CharField(required=False, max_length=TEXT_LIMIT)


class MilestoneChangeForm(forms.Form):
    """A change written as JSON (``change_json``): the way in for what the per-kind forms of
    ``transform.web.change_forms`` do not cover.

    With ``organization``, a change's ``team`` may be typed by name or slug, any case
    (``team_slug_resolve``)."""

    change_json = forms.CharField(required=False, max_length=100_000, strip=True)

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        text = data.get("change_json") or ""
        if not text:
            if not self.errors:
                raise forms.ValidationError("Write the change as JSON.")
            return data
        try:
            data["change"] = json_load("the change", text, max_bytes=100_000)
        except ImportFailure as exc:
            raise forms.ValidationError(f"The change is not valid JSON: {exc}.") from None
        change = data["change"]
        if (
            self.organization is not None
            and isinstance(change, dict)
            and isinstance(change.get("team"), str)
            and change["team"]
        ):
            try:
                change["team"] = team_slug_resolve(
                    organization=self.organization, text=change["team"]
                )
            except forms.ValidationError as exc:
                self.add_error("change_json", exc)
        return data


class AllocationField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            min_value=1,
            max_value=100,
            error_messages={key: ALLOCATION_ERROR for key in ("invalid", "min_value", "max_value")},
            **kwargs,
        )


class MemberAddForm(forms.Form):
    email = forms.CharField(label="E-mail", max_length=254)
    role = forms.ChoiceField(required=False, choices=MembershipRole.choices)
    allocation_percent = AllocationField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["role"] = data.get("role") or MembershipRole.MEMBER
        if data.get("allocation_percent") is None:
            data["allocation_percent"] = 100
        return data


class MemberUpdateForm(forms.Form):
    """Role and allocation; a field left out keeps the membership's value."""

    role = forms.ChoiceField(required=False, choices=MembershipRole.choices)
    allocation_percent = AllocationField(required=False)


class ServesAddForm(forms.Form):
    email = forms.CharField(label="E-mail", max_length=254)
    note = forms.CharField(required=False, max_length=200)


class InteractionAddForm(forms.Form):
    """With ``organization``, the other team may be typed by name or slug, any case
    (``team_slug_resolve``); ``target`` is then its slug."""

    target = forms.CharField(label="Team", max_length=200)
    mode = forms.ChoiceField(choices=InteractionMode.choices)
    severity = forms.ChoiceField(required=False, choices=[("", "—"), *Severity.choices])
    note = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_target(self) -> str:
        text = str(self.cleaned_data.get("target") or "")
        if self.organization is not None:
            return team_slug_resolve(organization=self.organization, text=text)
        return text


class PersonLeaveForm(forms.Form):
    """A member of the team panel who has left the organisation (today)."""

    email = forms.EmailField(label="E-mail", max_length=254)


class TeamRetireForm(forms.Form):
    reason = forms.CharField(label="Why", required=False, max_length=2000)


class AssumptionField(forms.Field):
    """A number between the assumption's bounds; thousands separators are allowed. A wrong entry
    says what was expected and what was typed."""

    def __init__(self, spec: business_case.Field) -> None:
        super().__init__(required=False, label=spec.label, help_text=spec.help)
        self.spec = spec

    def to_python(self, value: Any) -> float | None:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not self.spec.minimum <= number <= self.spec.maximum:
            raise forms.ValidationError(
                f"Enter a number from {self.spec.minimum:g} to {self.spec.maximum:g}; got "
                f"'{text[:40]}'. The default is used."
            )
        return number / 100 if self.spec.percent else number


class CurrencyField(forms.CharField):
    def to_python(self, value: Any) -> str:
        text = str(value or "").strip().upper()
        if text and not business_case.currency_is_valid(text):
            raise forms.ValidationError(
                f"{business_case.CURRENCY_HELP} Got '{text[:40]}'. The default is used."
            )
        return text


class AssumptionsForm(forms.Form):
    """The business case's assumptions from the query string (docs/business-case.md): a field
    left empty or entered wrongly keeps its default, and says so."""

    currency = CurrencyField(required=False, label="Currency")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in business_case.FIELDS:
            self.fields[spec.name] = AssumptionField(spec)

    def assumptions(self) -> tuple[business_case.Assumptions, dict[str, str]]:
        """The assumptions (defaults where a field is empty or wrong) and one message per wrong
        field."""
        self.is_valid()
        values = {
            name: value for name, value in self.cleaned_data.items() if value not in (None, "")
        }
        errors = {name: str(messages[0]) for name, messages in self.errors.items()}
        return business_case.assumptions_with(values), errors


class InvitationSignUpForm(UserCreationForm):
    """A new login on an invitation's page: a username and the password twice (Django's
    username rules and ``AUTH_PASSWORD_VALIDATORS``); the e-mail is the invitation's address and
    cannot be changed. The page creates the login through ``teams.invitations``, not ``save()``."""

    email = forms.EmailField(label="E-mail", disabled=True, required=False)
    field_order = ["email", "username", "password1", "password2"]

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, initial={"email": email}, **kwargs)
        # The password validators compare the password with the login's attributes.
        self.instance.email = email


class InvitationCreateForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)
    name = forms.CharField(label="Name (optional)", required=False, max_length=200)


class RoleGrantForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class OrganizationCreateForm(forms.Form):
    slug = forms.SlugField(
        label="Slug", max_length=100, help_text="Short name in addresses, e.g. acme."
    )
    name = forms.CharField(label="Name", max_length=200)
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        initial=time_zone_default,
        help_text="The zone of its days, check-in times and messages; people may read times in "
        "their own.",
    )


class PersonNewForm(forms.Form):
    """ "My team": someone not yet in the organisation joins a team (a new hire), optionally
    invited to log in."""

    name = forms.CharField(label="Name", max_length=200)
    email = forms.EmailField(label="E-mail", max_length=254)
    role = forms.ChoiceField(required=False, choices=MembershipRole.choices)
    allocation_percent = AllocationField(required=False)
    invite = forms.BooleanField(required=False, label="Send an invitation to log in")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["role"] = data.get("role") or MembershipRole.MEMBER
        if data.get("allocation_percent") is None:
            data["allocation_percent"] = 100
        return data


class InteractionEditForm(forms.Form):
    """ "My team": an interaction's mode and expected end (empty: none)."""

    mode = forms.ChoiceField(choices=InteractionMode.choices)
    expected_end = forms.DateField(required=False, label="Expected end")
