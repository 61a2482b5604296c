"""A topology change (``teams.scenarios``, as stored on a milestone) as one sentence a person reads:
"Merge Database Administration and Networking into Infrastructure Platform (platform)", "Move
Chloe Martin from Payments Squad to Search Squad".

Pure: the caller passes the names it knows (teams by slug, people by e-mail, units by slug); a
slug or e-mail without a name is shown as it is. A sentence never fails: a stored change edited
behind the service's back may hold any JSON, so every field is read through ``_text`` or
``_items``, which take whatever is there. The milestone page
uses it, and the API or messages can (docs/web-plan.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from teams.models import InteractionMode, MembershipRole, Severity, Specialty, TeamType

TEAM_TYPE_WORDS: dict[str, str] = {
    str(value): str(label).lower() for value, label in TeamType.choices
}
SPECIALTY_WORDS: dict[str, str] = {
    str(value): str(label).lower() for value, label in Specialty.choices
}
# Roles as they read after "as" or "the": "the DevOps buddy", "a lead".
ROLE_WORDS: dict[str, str] = {
    str(value): str(label) if str(label).startswith("DevOps") else str(label).lower()
    for value, label in MembershipRole.choices
}
MODE_WORDS: dict[str, str] = {
    str(value): str(label) if str(label).startswith("X-") else str(label).lower()
    for value, label in InteractionMode.choices
}
SEVERITY_WORDS: dict[str, str] = {
    str(value): str(label) if value == Severity.OK else str(label).lower()
    for value, label in Severity.choices
}


def _text(value: Any) -> str:
    """A JSON value as text: a string as it is, a number as written, anything else (null, a
    list, an object) as nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _items(value: Any) -> list[Any]:
    """A JSON value that should be a list: itself, or no items when it is not one."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class Names:
    """The names a sentence may use: teams by slug, people by e-mail (lower case), units by
    slug. Anything missing reads as its slug or e-mail."""

    teams: Mapping[str, str] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)

    def team(self, slug: Any) -> str:
        text = _text(slug)
        return self.teams.get(text, text) if text else "an unknown team"

    def person(self, email: Any) -> str:
        text = _text(email)
        return (self.people.get(text.strip().lower()) or text) if text else "an unknown person"

    def unit(self, slug: Any) -> str:
        text = _text(slug)
        return self.units.get(text, text) if text else "an unknown unit"


def listed(items: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _article(words: str) -> str:
    return "an" if words[:1].lower() in "aeiou" else "a"


def _type_words(team_type: Any, specialty: Any = None) -> str:
    words = TEAM_TYPE_WORDS.get(_text(team_type), _text(team_type))
    if _text(specialty):
        words += f", {SPECIALTY_WORDS.get(_text(specialty), _text(specialty))}"
    return words


def _share(change: Mapping[str, Any]) -> str:
    percent = _text(change.get("allocation_percent"))
    return f" ({percent}% of their time)" if percent else ""


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _mode(value: Any) -> str:
    return MODE_WORDS.get(_text(value), _text(value))


def _role(value: Any) -> str:
    return ROLE_WORDS.get(_text(value), _text(value))


def _new_team(change: Mapping[str, Any]) -> str:
    return _text(change.get("name")) or _text(change.get("slug")) or "a new team"


def _create_team(change: Mapping[str, Any], names: Names) -> str:
    words = _type_words(change.get("type"), change.get("specialty"))
    sentence = f"Create {_new_team(change)}, {_article(words)} {words} team"
    if _text(change.get("unit")):
        sentence += f", in {names.unit(change['unit'])}"
    return sentence


def _merge_teams(change: Mapping[str, Any], names: Names) -> str:
    teams = [_text(slug) for slug in _items(change.get("teams"))]
    into = _text(change.get("into"))
    name = _text(change.get("name"))
    if into and into in teams:
        target = names.team(into)
        if name and name != target:
            target += f", renamed {name}"
    else:
        target = name or names.team(into)
    if _text(change.get("type")):
        target += f" ({_type_words(change['type'], change.get('specialty'))})"
    return f"Merge {listed([names.team(slug) for slug in teams])} into {target}"


def _split_team(change: Mapping[str, Any], names: Names) -> str:
    parts = []
    for part in _items(change.get("into")):
        if not isinstance(part, Mapping):
            continue
        members = listed([names.person(email) for email in _items(part.get("members"))])
        kind = (
            f" ({_type_words(part['type'], part.get('specialty'))})"
            if _text(part.get("type"))
            else ""
        )
        parts.append(f"{_new_team(part)}{kind} with {members or 'no one'}")
    return f"Split {names.team(change.get('team'))}: {'; '.join(parts)}"


def _move_person(change: Mapping[str, Any], names: Names) -> str:
    person = names.person(change.get("person"))
    to_team = names.team(change.get("to_team"))
    if _text(change.get("from_team")):
        sentence = f"Move {person} from {names.team(change['from_team'])} to {to_team}"
    else:
        sentence = f"Add {person} to {to_team}, staying in their other teams"
    if _text(change.get("role")):
        sentence += f" as {_role(change['role'])}"
    return sentence + _share(change)


def _change_interaction_mode(change: Mapping[str, Any], names: Names) -> str:
    source, target = names.team(change.get("source")), names.team(change.get("target"))
    sentence = (
        f"Turn {_possessive(source)} {_mode(change.get('from_mode'))} with {target} into "
        f"{_mode(change.get('to_mode'))}"
    )
    details = []
    severity, since = _text(change.get("severity")), _text(change.get("since"))
    expected_end = _text(change.get("expected_end"))
    if severity:
        details.append(SEVERITY_WORDS.get(severity, severity))
    if since:
        details.append(f"since {since}")
    if expected_end:
        details.append(f"until {expected_end}")
    return sentence + (f" ({', '.join(details)})" if details else "")


def _give_role(role: str) -> Any:
    def sentence(change: Mapping[str, Any], names: Names) -> str:
        person, team = names.person(change.get("person")), names.team(change.get("team"))
        return f"Make {person} the {_role(role)} of {team}{_share(change)}"

    return sentence


def _remove_person(change: Mapping[str, Any], names: Names) -> str:
    person, team = names.person(change.get("person")), names.team(change.get("team"))
    return f"Remove {person} from {team}"


def _change_role(change: Mapping[str, Any], names: Names) -> str:
    person, team = names.person(change.get("person")), names.team(change.get("team"))
    role = _role(change.get("role")) or "member"
    return f"{person} becomes {_article(role)} {role} of {team}{_share(change)}"


def _change_interaction_end(change: Mapping[str, Any], names: Names) -> str:
    source, target = names.team(change.get("source")), names.team(change.get("target"))
    subject = f"{_possessive(source)} {_mode(change.get('mode'))} with {target}"
    expected_end = _text(change.get("expected_end"))
    if expected_end:
        return f"{subject[:1].upper()}{subject[1:]} is expected to end on {expected_end}"
    return f"{subject[:1].upper()}{subject[1:]} has no planned end"


_SENTENCES: Mapping[str, Any] = {
    "create_team": _create_team,
    "merge_teams": _merge_teams,
    "split_team": _split_team,
    "move_person": _move_person,
    "change_interaction_mode": _change_interaction_mode,
    "add_devops_buddy": _give_role("devops_buddy"),
    "add_product_owner": _give_role("product_owner"),
    "remove_person": _remove_person,
    "change_role": _change_role,
    "change_interaction_end": _change_interaction_end,
}


def change_sentence(change: Any, names: Names | None = None) -> str:
    """``change`` (a stored change's JSON object) as one sentence, with the names in ``names``.
    A change of an unknown kind, or not an object, reads as "A change of an unknown kind"."""
    if not isinstance(change, Mapping):
        return "A change of an unknown kind"
    sentence = _SENTENCES.get(str(change.get("kind", "")))
    if sentence is None:
        return "A change of an unknown kind"
    text: str = sentence(change, names or Names())
    return text


def change_references(changes: Sequence[Any]) -> tuple[set[str], set[str], set[str]]:
    """The team slugs, e-mails and unit slugs that ``changes`` name, to look their names up."""
    teams: set[str] = set()
    people: set[str] = set()
    units: set[str] = set()
    for change in changes:
        if not isinstance(change, Mapping):
            continue
        for key in ("team", "into", "from_team", "to_team", "source", "target"):
            if isinstance(change.get(key), str):
                teams.add(change[key])
        teams.update(slug for slug in _items(change.get("teams")) if isinstance(slug, str))
        if isinstance(change.get("person"), str):
            people.add(change["person"].strip().lower())
        for part in _items(change.get("into")):
            if isinstance(part, Mapping):
                if isinstance(part.get("slug"), str):
                    teams.add(part["slug"])
                people.update(
                    email.strip().lower()
                    for email in _items(part.get("members"))
                    if isinstance(email, str)
                )
        if isinstance(change.get("unit"), str):
            units.add(change["unit"])
    return teams, people, units


def change_created_teams(changes: Sequence[Any]) -> dict[str, str]:
    """The teams ``changes`` would create (a new team, a merge into a new slug, a split's
    parts), by slug, with their names: pickers offer them, sentences name them."""
    created: dict[str, str] = {}
    for change in changes:
        if not isinstance(change, Mapping):
            continue
        kind = change.get("kind")
        if kind == "create_team" and _text(change.get("slug")):
            created[_text(change["slug"])] = _new_team(change)
        elif kind == "merge_teams" and _text(change.get("into")) and _text(change.get("name")):
            created[_text(change["into"])] = _text(change["name"])
        elif kind == "split_team":
            for part in _items(change.get("into")):
                if isinstance(part, Mapping) and _text(part.get("slug")):
                    created[_text(part["slug"])] = _new_team(part)
    return created
