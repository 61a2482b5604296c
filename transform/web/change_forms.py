"""The milestone page's forms for attaching topology changes (docs/web-plan.md): one form per
kind of change (``teams.scenarios.CHANGE_KINDS``), with team and person pickers. What the page's
"Topology changes" section shows is ``transform.web.change_section.changes_section``.

A form only reads what was typed into a change's JSON object: teams by name or slug (live teams
and those the plan's pending changes create), people by name or e-mail. Every rule stays in
``transform.plans.changes.milestone_change_add``; its errors about the new change come back onto
the fields they name, one about a change already attached above the form
(``ChangeForm.service_errors_apply``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.text import slugify

from core.errors import ApplicationError
from teams.models import Organization
from teams.scenarios import TEMPORARY_MODES
from teams.selectors import person_list
from transform.plans.change_words import (
    MODE_WORDS,
    ROLE_WORDS,
    SEVERITY_WORDS,
    SPECIALTY_WORDS,
    TEAM_TYPE_WORDS,
    Names,
)

# Pickers list at most this many people; anyone else is typed by e-mail (a datalist of thousands
# of names helps nobody and weighs on every milestone page).
PEOPLE_LISTED = 500
TEAMS_NAMED_IN_ERRORS = 30
SPLIT_MEMBERS_LIMIT = 100
# A name or an e-mail fits in this (an e-mail is at most 254 characters); a longer line is not
# looked up at all, which also bounds the e-mail search's backtracking.
PERSON_TEXT_LIMIT = 320
TEAM_LIST_ID = "change-team-names"
PERSON_LIST_ID = "change-person-names"
EMAIL_IN_TEXT = re.compile(r"[^@\s<>()]+@[^@\s<>()]+")
QUOTED = re.compile(r"'([^'\s]+)'")


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]


def _choices(words: Mapping[str, str], *, blank: str | None = None) -> list[tuple[str, str]]:
    options = [(value, _capital(text)) for value, text in words.items()]
    return [("", blank), *options] if blank is not None else options


@dataclass(frozen=True, slots=True)
class Pickers:
    """What the forms resolve names against: the teams a change may name (slug, name; live
    ones and those the plan's pending changes create) and the organisation, for people."""

    organization: Organization
    teams: Sequence[tuple[str, str]]
    units: Sequence[tuple[str, str]] = ()

    def team_slug(self, text: str) -> str:
        """The slug of the team ``text`` names (its name or slug, any case)."""
        wanted = " ".join(text.split())
        low = wanted.lower()
        by_slug = [slug for slug, _ in self.teams if slug.lower() in (low, slugify(wanted))]
        if len(by_slug) == 1:
            return by_slug[0]
        by_name = [
            (slug, name) for slug, name in self.teams if " ".join(name.split()).lower() == low
        ]
        if len(by_name) == 1:
            return by_name[0][0]
        if by_name:
            shown = ", ".join(f"{name} ({slug})" for slug, name in by_name)
            raise forms.ValidationError(
                f"{len(by_name)} teams are called '{wanted}': {shown}. Type the one you mean as "
                "written in brackets."
            )
        names = [name for _slug, name in self.teams]
        shown = ", ".join(names[:TEAMS_NAMED_IN_ERRORS])
        more = (
            f" and {len(names) - TEAMS_NAMED_IN_ERRORS} more"
            if len(names) > TEAMS_NAMED_IN_ERRORS
            else ""
        )
        raise forms.ValidationError(f"No team called '{wanted}'. Teams: {shown}{more}.")

    def team_known(self, text: str) -> str | None:
        try:
            return self.team_slug(text)
        except forms.ValidationError:
            return None

    def person_email(self, text: str) -> str:
        """The e-mail of the person ``text`` names: their e-mail (alone or in "Name
        (e-mail)"), or their name when no one else has it."""
        found = self.people_found([text])[0]
        if isinstance(found, forms.ValidationError):
            raise found
        return found[0]

    def people_found(self, texts: Sequence[str]) -> list[tuple[str, str] | forms.ValidationError]:
        """The person each of ``texts`` names (as ``person_email`` reads it), as their e-mail
        and name, or why none: two queries at most whatever the number of texts (those typed
        as e-mails, then those typed as names). Texts are at most ``PERSON_TEXT_LIMIT`` long."""
        wanted = [" ".join(text.split()) for text in texts]
        typed_emails = [_email_in(text) for text in wanted]
        people = person_list(organization=self.organization)
        by_email: dict[str, tuple[str, str]] = {}
        asked = {email.lower() for email in typed_emails if email}
        if asked:
            by_lower_email = people.annotate(email_lower=Lower("email"))
            for email, name in by_lower_email.filter(email_lower__in=asked).values_list(
                "email", "name"
            ):
                by_email.setdefault(email.lower(), (email, name or email))
        by_name: dict[str, list[tuple[str, str]]] = {}
        names = {text for text, email in zip(wanted, typed_emails, strict=True) if not email}
        if names:
            # Lower() in the database and lower() here may differ beyond ASCII (SQLite), so a
            # name typed exactly as listed is asked for as it is too.
            named = people.annotate(name_lower=Lower("name")).filter(
                Q(name_lower__in={name.lower() for name in names}) | Q(name__in=names)
            )
            for email, name in named.order_by("email").values_list("email", "name"):
                by_name.setdefault(" ".join(name.split()).lower(), []).append((email, name))
        return [
            _person_answer(text, email, by_email, by_name)
            for text, email in zip(wanted, typed_emails, strict=True)
        ]


def _email_in(text: str) -> str:
    """The e-mail in ``text`` ("Name (e-mail)" or the e-mail alone), or ''."""
    if "@" not in text or len(text) > PERSON_TEXT_LIMIT:
        return ""
    found = EMAIL_IN_TEXT.search(text)
    return found.group(0) if found is not None else ""


def _person_answer(
    wanted: str,
    email: str,
    by_email: Mapping[str, tuple[str, str]],
    by_name: Mapping[str, list[tuple[str, str]]],
) -> tuple[str, str] | forms.ValidationError:
    if email:
        found = by_email.get(email.lower())
        if found is not None:
            return found
        return forms.ValidationError(f"No person with the e-mail '{email}'.")
    named = by_name.get(wanted.lower(), [])
    if len(named) == 1:
        return named[0]
    if named:
        shown = ", ".join(email for email, _name in named[:5])
        return forms.ValidationError(
            f"More than one person is called '{wanted}' ({shown}): type the e-mail of the one "
            "you mean."
        )
    return forms.ValidationError(
        f"No person called '{wanted}'. Type their name as the organisation lists it, or their "
        "e-mail."
    )


class TeamField(forms.CharField):
    """A team picker: a text box with the teams' names as suggestions."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)
        self.widget.attrs.update({"list": TEAM_LIST_ID, "autocomplete": "off"})


class PersonField(forms.CharField):
    """A person picker: a text box with the people's names as suggestions."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 300)
        super().__init__(**kwargs)
        self.widget.attrs.update({"list": PERSON_LIST_ID, "autocomplete": "off"})


def _share_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="Share of their time, % (optional)",
        required=False,
        min_value=1,
        max_value=100,
    )


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _team_type_field(label: str, blank: str | None = None) -> forms.ChoiceField:
    """A team type; with ``blank``, optional, that choice reading ``blank``."""
    return forms.ChoiceField(
        label=label, choices=_choices(TEAM_TYPE_WORDS, blank=blank), required=blank is None
    )


def _new_team_name(text: str) -> tuple[str, str]:
    """The slug and name of a new team called ``text`` (spaces tidied)."""
    name = " ".join(text.split())
    slug = slugify(name)
    if not slug:
        raise forms.ValidationError("Give the team a name with letters or digits.")
    return slug, name


def _numbered_paths(path: str, field: str, count: int) -> dict[str, str]:
    """Where the service's errors about the items of a list go: ``path`` and ``field`` with
    ``{}`` as each item's number, from 0 in the path (the service's) and from 1 in the field
    (the form's). ``("teams.{}", "team_{}", 2)``: teams.0 on team_1, teams.1 on team_2."""
    return {path.format(index): field.format(index + 1) for index in range(count)}


def _split_part_fields(
    *, first: bool
) -> tuple[forms.CharField, forms.ChoiceField, forms.CharField]:
    """The name, type and members of a split's new team (the first one's required); created in
    that order, which is the order the form shows them in."""
    name = forms.CharField(
        label="New team's name" if first else "A second new team's name (optional)",
        max_length=200,
        required=first,
    )
    team_type = _team_type_field("Its type", blank="Same as now")
    members = forms.CharField(
        label=(
            "Who moves to it (names or e-mails, one per line)"
            if first
            else "Who moves to the second team"
        ),
        max_length=20_000,
        required=first,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    return name, team_type, members


class ChangeForm(forms.Form):
    """One kind of change. Subclasses name their team and person fields (resolved in
    ``clean``), build the change (``change``) and say which field a service error path is on
    (``SERVICE_FIELDS``; a path not listed is shown on the field of the same name, or above
    the form). A path into one of the change's lists (``LISTS``) without an index is placed on
    the item its message quotes (``_items``)."""

    kind: ClassVar[str]
    title: ClassVar[str]
    hint: ClassVar[str] = ""
    TEAM_FIELDS: ClassVar[tuple[str, ...]] = ()
    PERSON_FIELDS: ClassVar[tuple[str, ...]] = ()
    SERVICE_FIELDS: ClassVar[Mapping[str, str]] = {}
    LISTS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, pickers: Pickers, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"change-{self.kind}-%s")
        super().__init__(*args, **kwargs)
        self.pickers = pickers
        self.top_errors: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.TEAM_FIELDS:
            if data.get(name):
                try:
                    data[name] = self.pickers.team_slug(data[name])
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        for name in self.PERSON_FIELDS:
            if data.get(name):
                try:
                    data[name] = self.pickers.person_email(data[name])
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        return data

    def change(self) -> dict[str, Any]:
        """The change's JSON object, from valid cleaned data."""
        raise NotImplementedError

    def _optional(self, change: dict[str, Any], *names: str) -> dict[str, Any]:
        for name in names:
            value = self.cleaned_data.get(name)
            if value not in (None, ""):
                change[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return change

    def field_for(self, path: str, problem: str = "") -> str | None:
        """The form field a service error at ``path`` ("teams.1", "into.1.members",
        "into.members") about ``problem`` belongs on; None: above the form."""
        segments = path.split(".")
        if segments[0] in self.LISTS and not (len(segments) > 1 and segments[1].isdigit()):
            # The scenario's errors say "into.members: 'x' is not a member", without an index.
            index = self._item_quoted(segments[0], problem)
            if index is None:
                return None
            segments.insert(1, str(index))
        for end in range(len(segments), 0, -1):
            field = self.SERVICE_FIELDS.get(".".join(segments[:end]))
            if field is not None:
                return field
        return segments[0] if segments[0] in self.fields else None

    def _items(self, name: str) -> list[set[str]]:
        """The slugs and e-mails (lower case) that identify each item of the change's list
        ``name``, in order (empty for an item left out)."""
        return []

    def _item_quoted(self, name: str, problem: str) -> int | None:
        quoted = {text.lower() for text in QUOTED.findall(problem)}
        hits = [index for index, item in enumerate(self._items(name)) if item & quoted]
        return hits[0] if len(hits) == 1 else None

    def service_errors_apply(
        self, exc: ApplicationError, *, names: Names, other_change: str = ""
    ) -> None:
        """Put the service's refusal on the fields it names, in names rather than slugs.

        Only a problem of this change goes on a field. The service marks which change does not
        apply (``exc.extra["change"]``: None for the new one, else the id of a change already
        attached that the new one would stop from applying); the latter's problem is shown
        above the form, naming that change (``other_change``, e.g. '"Remove ..." (milestone
        Kickoff)')."""
        extra = exc.extra if isinstance(exc.extra, dict) else {}
        fields = extra.get("fields")
        # A change that would not apply: "... does not apply: into: team slug 'x' is taken."
        _label, applies_not, detail = exc.message.partition(" does not apply: ")
        path, _sep, problem = detail.partition(": ")
        if not problem or " " in path:
            path, problem = "", detail
        problem = problem.rstrip(".")
        placed = False
        if isinstance(fields, dict):
            for field_path, problems in fields.items():
                for item in problems if isinstance(problems, list) else [problems]:
                    placed = self._place(str(field_path), str(item), names) or placed
        elif applies_not and extra.get("change") is not None:
            if other_change:
                self.top_errors.append(
                    f"With this change, the attached change {other_change} would not apply: "
                    f"{named(problem, names)}."
                )
                return
        elif applies_not and path:
            placed = self._place(path, problem, names)
        if not placed:
            self.top_errors.append(named(exc.message, names))

    def _place(self, path: str, problem: str, names: Names) -> bool:
        name = self.field_for(path, problem)
        if name is None or name not in self.fields:
            return False
        self.add_error(name, named(problem, names))
        return True


def named(message: str, names: Names) -> str:
    """``message`` with each quoted slug or e-mail it names ('dba') written as a name."""

    def name_of(match: re.Match[str]) -> str:
        text = match.group(1)
        if text in names.teams:
            return names.teams[text]
        if text.lower() in names.people:
            return names.people[text.lower()] or text
        return match.group(0)

    return QUOTED.sub(name_of, message)


SPECIALTY_CHOICES = _choices(SPECIALTY_WORDS, blank="None")
ROLE_CHOICES = _choices(ROLE_WORDS)
MODE_CHOICES = _choices(MODE_WORDS)
SEVERITY_CHOICES = _choices(SEVERITY_WORDS, blank="Keep as it is")


class CreateTeamForm(ChangeForm):
    kind = "create_team"
    title = "Create a team"
    hint = "A new team without members; add people to it with further changes."
    SERVICE_FIELDS = {"slug": "name"}

    name = forms.CharField(label="Name", max_length=200)
    type = _team_type_field("Type")
    specialty = forms.ChoiceField(
        label="Specialty (ops silos only)", choices=SPECIALTY_CHOICES, required=False
    )
    unit = forms.ChoiceField(label="Unit (optional)", required=False)
    description = forms.CharField(label="Description (optional)", max_length=2000, required=False)

    def __init__(self, *args: Any, pickers: Pickers, **kwargs: Any) -> None:
        super().__init__(*args, pickers=pickers, **kwargs)
        unit_field = self.fields["unit"]
        assert isinstance(unit_field, forms.ChoiceField)
        unit_field.choices = [("", "None"), *pickers.units]

    def clean_name(self) -> str:
        _slug, name = _new_team_name(str(self.cleaned_data["name"]))
        known = self.pickers.team_known(name)
        if known is not None:
            taken = dict(self.pickers.teams)[known]
            raise forms.ValidationError(
                f"A team called {taken} already exists; give the new team another name."
            )
        return name

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        change = {"kind": self.kind, "slug": slugify(data["name"]), "name": data["name"]}
        change["type"] = data["type"]
        return self._optional(change, "specialty", "unit", "description")


class MergeTeamsForm(ChangeForm):
    kind = "merge_teams"
    title = "Merge teams"
    hint = (
        "Their members, links and services move to one team: one of them, kept, or a new team "
        "(then give its type)."
    )
    TEAM_FIELDS = ("team_1", "team_2", "team_3", "team_4")
    LISTS = ("teams",)
    SERVICE_FIELDS = {**_numbered_paths("teams.{}", "team_{}", len(TEAM_FIELDS)), "name": "into"}

    team_1 = TeamField(label="First team")
    team_2 = TeamField(label="Second team")
    team_3 = TeamField(label="Third team (optional)", required=False)
    team_4 = TeamField(label="Fourth team (optional)", required=False)
    into = forms.CharField(
        label="Into: one of them, or a new team's name",
        max_length=200,
        widget=forms.TextInput(attrs={"list": TEAM_LIST_ID, "autocomplete": "off"}),
    )
    type = _team_type_field("Type of the merged team", blank="Keep the kept team's type")
    specialty = forms.ChoiceField(
        label="Specialty (ops silos only)", choices=SPECIALTY_CHOICES, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        teams = [data[name] for name in self.TEAM_FIELDS if data.get(name)]
        seen: set[str] = set()
        for name in self.TEAM_FIELDS:
            if data.get(name) and data[name] in seen:
                self.add_error(name, "This team is already listed above.")
            seen.add(data.get(name) or "")
        into = str(data.get("into") or "")
        if into and not self.errors:
            known = self.pickers.team_known(into)
            if known is not None and known in teams:
                data["into_slug"], data["into_name"] = known, None
            elif known is not None:
                self.add_error(
                    "into",
                    "That team is not one of those merged: name one of them to keep it, or "
                    "give the new team a name no team has.",
                )
            else:
                try:
                    data["into_slug"], data["into_name"] = _new_team_name(into)
                except forms.ValidationError as exc:
                    self.add_error("into", exc)
                else:
                    if not data.get("type"):
                        self.add_error("type", "A new team needs a type.")
        return data

    def _items(self, name: str) -> list[set[str]]:
        # By field, a team left out included, as SERVICE_FIELDS numbers them.
        data = self.cleaned_data
        return [
            {str(data[field]).lower()} if data.get(field) else set() for field in self.TEAM_FIELDS
        ]

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        change: dict[str, Any] = {
            "kind": self.kind,
            "teams": [data[name] for name in self.TEAM_FIELDS if data.get(name)],
            "into": data["into_slug"],
        }
        if data["into_name"]:
            change["name"] = data["into_name"]
        return self._optional(change, "type", "specialty")


class SplitTeamForm(ChangeForm):
    kind = "split_team"
    title = "Split a team"
    hint = "The people listed for a new team move to it; the others stay."
    TEAM_FIELDS = ("team",)
    LISTS = ("into",)
    PARTS = ("part_1", "part_2")
    # A path not listed is on its part's listed prefix: into.0.slug and into.0.name on into.0.
    SERVICE_FIELDS = {
        **_numbered_paths("into.{}", "part_{}_name", len(PARTS)),
        **_numbered_paths("into.{}.type", "part_{}_type", len(PARTS)),
        **_numbered_paths("into.{}.specialty", "part_{}_type", len(PARTS)),
        **_numbered_paths("into.{}.members", "part_{}_members", len(PARTS)),
    }

    team = TeamField(label="Team to split")
    part_1_name, part_1_type, part_1_members = _split_part_fields(first=True)
    part_2_name, part_2_type, part_2_members = _split_part_fields(first=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        listed: dict[str, str] = {}  # e-mail -> the part it is listed for
        slugs: set[str] = set()
        for part, words in zip(self.PARTS, ("first", "second"), strict=True):
            name = str(data.get(f"{part}_name") or "")
            typed = str(data.get(f"{part}_members") or "")
            if name:
                try:
                    slug, _name = _new_team_name(name)
                except forms.ValidationError as exc:
                    self.add_error(f"{part}_name", exc)
                else:
                    if slug in slugs:
                        self.add_error(f"{part}_name", f"Give the {words} new team another name.")
                    slugs.add(slug)
            if name and not typed.strip():
                self.add_error(f"{part}_members", "List who moves to this team.")
            elif typed.strip() and not name:
                self.add_error(f"{part}_name", "Give this new team a name.")
            emails = []
            for found in self._people(typed, field=f"{part}_members"):
                email, person = found
                if email.lower() in listed:
                    self.add_error(
                        f"{part}_members",
                        f"{person} is already listed for the {listed[email.lower()]} new team.",
                    )
                listed.setdefault(email.lower(), words)
                emails.append(email)
            data[f"{part}_emails"] = emails
        return data

    def _people(self, typed: str, *, field: str) -> list[tuple[str, str]]:
        """The people listed in ``typed`` (one per line, or separated by ";"), as e-mail and
        name; the problems go on ``field``. A bounded number of short lines, all looked up at
        once: a pasted list costs neither thousands of queries nor a slow search."""
        entries: list[tuple[int, str]] = []
        for number, line in enumerate(typed.splitlines(), start=1):
            for entry in line.split(";"):
                text = entry.strip().strip(",").strip()
                if text:
                    entries.append((number, text))
        if len(entries) > SPLIT_MEMBERS_LIMIT:
            self.add_error(
                field, f"At most {SPLIT_MEMBERS_LIMIT} people here; write a larger split as JSON."
            )
            return []
        too_long = [number for number, text in entries if len(text) > PERSON_TEXT_LIMIT]
        if too_long:
            self.add_error(
                field,
                f"Line {too_long[0]} is longer than {PERSON_TEXT_LIMIT} characters: write one "
                "name or e-mail per line.",
            )
            return []
        people = []
        for found in self.pickers.people_found([text for _number, text in entries]):
            if isinstance(found, forms.ValidationError):
                self.add_error(field, found)
            else:
                people.append(found)
        return people

    def _items(self, name: str) -> list[set[str]]:
        data = self.cleaned_data
        return [
            {slugify(data[f"{part}_name"]), *(email.lower() for email in data[f"{part}_emails"])}
            for part in self.PARTS
            if data.get(f"{part}_name")
        ]

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        parts = []
        for part in self.PARTS:
            if not data.get(f"{part}_name"):
                continue
            slug, name = _new_team_name(str(data[f"{part}_name"]))
            item: dict[str, Any] = {"slug": slug, "name": name}
            if data.get(f"{part}_type"):
                item["type"] = data[f"{part}_type"]
            item["members"] = data[f"{part}_emails"]
            parts.append(item)
        return {"kind": self.kind, "team": data["team"], "into": parts}


class MovePersonForm(ChangeForm):
    kind = "move_person"
    title = "Move a person"
    hint = "Leave the first team empty to add them without leaving any team."
    TEAM_FIELDS = ("from_team", "to_team")
    PERSON_FIELDS = ("person",)

    person = PersonField(label="Person")
    from_team = TeamField(label="From team (optional)", required=False)
    to_team = TeamField(label="To team")
    role = forms.ChoiceField(
        label="Role there",
        choices=_choices(ROLE_WORDS, blank="Keep their role"),
        required=False,
    )
    allocation_percent = _share_field()

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        change = {"kind": self.kind, "person": data["person"], "to_team": data["to_team"]}
        return self._optional(change, "from_team", "role", "allocation_percent")


class InteractionModeForm(ChangeForm):
    kind = "change_interaction_mode"
    title = "Change how two teams interact"
    hint = "For example, turn a ticket dependency on an ops team into X-as-a-Service."
    TEAM_FIELDS = ("source", "target")

    source = TeamField(label="Team")
    target = TeamField(label="Works with team")
    from_mode = forms.ChoiceField(label="Now", choices=MODE_CHOICES)
    to_mode = forms.ChoiceField(label="From then on", choices=MODE_CHOICES)
    severity = forms.ChoiceField(
        label="Severity (ticket dependencies only)", choices=SEVERITY_CHOICES, required=False
    )
    expected_end = _date_field("Expected end (collaboration and facilitating only)")

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        change = {
            "kind": self.kind,
            "source": data["source"],
            "target": data["target"],
            "from_mode": data["from_mode"],
            "to_mode": data["to_mode"],
        }
        return self._optional(change, "severity", "expected_end")


class _GiveRoleForm(ChangeForm):
    TEAM_FIELDS = ("team",)
    PERSON_FIELDS = ("person",)

    team = TeamField(label="Team")
    person = PersonField(label="Person")
    allocation_percent = _share_field()

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        change = {"kind": self.kind, "team": data["team"], "person": data["person"]}
        return self._optional(change, "allocation_percent")


class AddDevopsBuddyForm(_GiveRoleForm):
    kind = "add_devops_buddy"
    title = "Add a DevOps buddy"
    hint = "They join the team if they are not yet a member."


class AddProductOwnerForm(_GiveRoleForm):
    kind = "add_product_owner"
    title = "Add a product owner"
    hint = "They join the team if they are not yet a member."


class RemovePersonForm(ChangeForm):
    kind = "remove_person"
    title = "Remove a person from a team"
    TEAM_FIELDS = ("team",)
    PERSON_FIELDS = ("person",)

    team = TeamField(label="Team")
    person = PersonField(label="Person")

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"kind": self.kind, "team": data["team"], "person": data["person"]}


class ChangeRoleForm(ChangeForm):
    kind = "change_role"
    title = "Change a member's role"
    TEAM_FIELDS = ("team",)
    PERSON_FIELDS = ("person",)

    team = TeamField(label="Team")
    person = PersonField(label="Member")
    role = forms.ChoiceField(label="New role", choices=ROLE_CHOICES)
    allocation_percent = _share_field()

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        change = {
            "kind": self.kind,
            "team": data["team"],
            "person": data["person"],
            "role": data["role"],
        }
        return self._optional(change, "allocation_percent")


class InteractionEndForm(ChangeForm):
    kind = "change_interaction_end"
    title = "Set when an interaction ends"
    hint = (
        "Collaboration and facilitating are meant to end; leave the date empty to remove the "
        "planned end."
    )
    TEAM_FIELDS = ("source", "target")

    source = TeamField(label="Team")
    target = TeamField(label="Works with team")
    mode = forms.ChoiceField(
        label="Interaction",
        choices=[(value, text) for value, text in MODE_CHOICES if value in TEMPORARY_MODES],
    )
    expected_end = _date_field("Expected end")

    def change(self) -> dict[str, Any]:
        data = self.cleaned_data
        change: dict[str, Any] = {
            "kind": self.kind,
            "source": data["source"],
            "target": data["target"],
            "mode": data["mode"],
        }
        if data.get("expected_end"):
            change["expected_end"] = data["expected_end"].isoformat()
        return change


# In the order the page offers them: the moves a transformation makes most often first.
CHANGE_FORMS: tuple[type[ChangeForm], ...] = (
    MergeTeamsForm,
    AddDevopsBuddyForm,
    AddProductOwnerForm,
    MovePersonForm,
    CreateTeamForm,
    SplitTeamForm,
    InteractionModeForm,
    InteractionEndForm,
    ChangeRoleForm,
    RemovePersonForm,
)
CHANGE_FORM_BY_KIND: dict[str, type[ChangeForm]] = {form.kind: form for form in CHANGE_FORMS}
JSON_KIND = "json"
