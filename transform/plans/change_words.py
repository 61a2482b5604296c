"""A topology change (``teams.scenarios``, as stored on a milestone) as one sentence a person reads:
"Merge Database Administration and Networking into Infrastructure Platform (platform)", "Move
Chloe Martin from Payments Squad to Search Squad".

Pure: the caller passes the names it knows (teams by slug, people by e-mail, units by slug); a
slug or e-mail without a name is shown as it is, so a sentence never fails. The milestone page
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


@dataclass(frozen=True, slots=True)
class Names:
    """The names a sentence may use: teams by slug, people by e-mail (lower case), units by
    slug. Anything missing reads as its slug or e-mail."""

    teams: Mapping[str, str] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)

    def team(self, slug: Any) -> str:
        return self.teams.get(str(slug), str(slug))

    def person(self, email: Any) -> str:
        return self.people.get(str(email).strip().lower(), str(email)) or str(email)

    def unit(self, slug: Any) -> str:
        return self.units.get(str(slug), str(slug))


def listed(items: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _article(words: str) -> str:
    return "an" if words[:1].lower() in "aeiou" else "a"


def _type_words(team_type: Any, specialty: Any = None) -> str:
    words = TEAM_TYPE_WORDS.get(str(team_type), str(team_type))
    if specialty:
        words += f", {SPECIALTY_WORDS.get(str(specialty), str(specialty))}"
    return words


def _share(change: Mapping[str, Any]) -> str:
    percent = change.get("allocation_percent")
    return f" ({percent}% of their time)" if percent else ""


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _mode(value: Any) -> str:
    return MODE_WORDS.get(str(value), str(value))


def _role(value: Any) -> str:
    return ROLE_WORDS.get(str(value), str(value))


def _create_team(change: Mapping[str, Any], names: Names) -> str:
    words = _type_words(change.get("type"), change.get("specialty"))
    sentence = f"Create {change.get('name') or change.get('slug')}, {_article(words)} {words} team"
    if change.get("unit"):
        sentence += f", in {names.unit(change['unit'])}"
    return sentence


def _merge_teams(change: Mapping[str, Any], names: Names) -> str:
    teams = [str(slug) for slug in change.get("teams") or []]
    into = str(change.get("into", ""))
    if into in teams:
        target = names.team(into)
        if change.get("name") and change["name"] != target:
            target += f", renamed {change['name']}"
    else:
        target = str(change.get("name") or names.team(into))
    if change.get("type"):
        target += f" ({_type_words(change['type'], change.get('specialty'))})"
    return f"Merge {listed([names.team(slug) for slug in teams])} into {target}"


def _split_team(change: Mapping[str, Any], names: Names) -> str:
    parts = []
    for part in change.get("into") or []:
        if not isinstance(part, Mapping):
            continue
        members = listed([names.person(email) for email in part.get("members") or []])
        kind = f" ({_type_words(part['type'], part.get('specialty'))})" if part.get("type") else ""
        parts.append(f"{part.get('name') or part.get('slug')}{kind} with {members}")
    return f"Split {names.team(change.get('team', ''))}: {'; '.join(parts)}"


def _move_person(change: Mapping[str, Any], names: Names) -> str:
    person = names.person(change.get("person", ""))
    to_team = names.team(change.get("to_team", ""))
    if change.get("from_team"):
        sentence = f"Move {person} from {names.team(change['from_team'])} to {to_team}"
    else:
        sentence = f"Add {person} to {to_team}, staying in their other teams"
    if change.get("role"):
        sentence += f" as {_role(change['role'])}"
    return sentence + _share(change)


def _change_interaction_mode(change: Mapping[str, Any], names: Names) -> str:
    source, target = names.team(change.get("source", "")), names.team(change.get("target", ""))
    sentence = (
        f"Turn {_possessive(source)} {_mode(change.get('from_mode'))} with {target} into "
        f"{_mode(change.get('to_mode'))}"
    )
    details = []
    if change.get("severity"):
        details.append(SEVERITY_WORDS.get(str(change["severity"]), str(change["severity"])))
    if change.get("since"):
        details.append(f"since {change['since']}")
    if change.get("expected_end"):
        details.append(f"until {change['expected_end']}")
    return sentence + (f" ({', '.join(details)})" if details else "")


def _give_role(role: str) -> Any:
    def sentence(change: Mapping[str, Any], names: Names) -> str:
        person, team = names.person(change.get("person", "")), names.team(change.get("team", ""))
        return f"Make {person} the {_role(role)} of {team}{_share(change)}"

    return sentence


def _remove_person(change: Mapping[str, Any], names: Names) -> str:
    person, team = names.person(change.get("person", "")), names.team(change.get("team", ""))
    return f"Remove {person} from {team}"


def _change_role(change: Mapping[str, Any], names: Names) -> str:
    person, team = names.person(change.get("person", "")), names.team(change.get("team", ""))
    role = _role(change.get("role", ""))
    return f"{person} becomes {_article(role)} {role} of {team}{_share(change)}"


def _change_interaction_end(change: Mapping[str, Any], names: Names) -> str:
    source, target = names.team(change.get("source", "")), names.team(change.get("target", ""))
    subject = f"{_possessive(source)} {_mode(change.get('mode'))} with {target}"
    if change.get("expected_end"):
        return f"{subject[:1].upper()}{subject[1:]} is expected to end on {change['expected_end']}"
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
        teams.update(str(slug) for slug in change.get("teams") or [] if isinstance(slug, str))
        if isinstance(change.get("person"), str):
            people.add(change["person"].strip().lower())
        parts = change.get("into")
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, Mapping):
                if isinstance(part.get("slug"), str):
                    teams.add(part["slug"])
                people.update(str(email).lower() for email in part.get("members") or [])
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
        if kind == "create_team" and change.get("slug"):
            created[str(change["slug"])] = str(change.get("name") or change["slug"])
        elif kind == "merge_teams" and change.get("into") and change.get("name"):
            created[str(change["into"])] = str(change["name"])
        elif kind == "split_team":
            for part in change.get("into") or []:
                if isinstance(part, Mapping) and part.get("slug"):
                    created[str(part["slug"])] = str(part.get("name") or part["slug"])
    return created
