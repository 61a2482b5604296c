"""A topology change reads as one sentence with names, not slugs, e-mails or codes
(transform.plans.change_words); no database."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teams.scenarios import CHANGE_KINDS
from transform.plans.change_words import (
    Names,
    change_created_teams,
    change_references,
    change_sentence,
    listed,
)

NAMES = Names(
    teams={
        "dba": "DBA",
        "networking": "Network Ops",
        "backend-ops": "Backend Operations",
        "payments": "Payments",
        "search": "Search",
    },
    people={"chloe.martin@x.test": "Chloe Martin", "kenji.sato@x.test": "Kenji Sato"},
    units={"infrastructure": "Infrastructure & Operations"},
)

# One change of every kind, with the sentence it reads as.
EXAMPLES: list[tuple[dict[str, object], str]] = [
    (
        {
            "kind": "create_team",
            "slug": "platform",
            "name": "Platform",
            "type": "platform",
            "unit": "infrastructure",
        },
        "Create Platform, a platform team, in Infrastructure & Operations",
    ),
    (
        {
            "kind": "merge_teams",
            "teams": ["dba", "networking"],
            "into": "infrastructure-platform",
            "name": "Infrastructure Platform",
            "type": "platform",
        },
        "Merge DBA and Network Ops into Infrastructure Platform (platform)",
    ),
    (
        {
            "kind": "split_team",
            "team": "search",
            "into": [
                {"slug": "search-core", "name": "Search Core", "members": ["kenji.sato@x.test"]}
            ],
        },
        "Split Search: Search Core with Kenji Sato",
    ),
    (
        {
            "kind": "move_person",
            "person": "chloe.martin@x.test",
            "from_team": "payments",
            "to_team": "search",
        },
        "Move Chloe Martin from Payments to Search",
    ),
    (
        {
            "kind": "change_interaction_mode",
            "source": "payments",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        },
        "Turn Payments' ticket dependency with DBA into X-as-a-Service",
    ),
    (
        {"kind": "add_devops_buddy", "team": "payments", "person": "chloe.martin@x.test"},
        "Make Chloe Martin the DevOps buddy of Payments",
    ),
    (
        {
            "kind": "add_product_owner",
            "team": "search",
            "person": "kenji.sato@x.test",
            "allocation_percent": 50,
        },
        "Make Kenji Sato the product owner of Search (50% of their time)",
    ),
    (
        {"kind": "remove_person", "team": "payments", "person": "chloe.martin@x.test"},
        "Remove Chloe Martin from Payments",
    ),
    (
        {
            "kind": "change_role",
            "team": "payments",
            "person": "chloe.martin@x.test",
            "role": "lead",
        },
        "Chloe Martin becomes a lead of Payments",
    ),
    (
        {
            "kind": "change_interaction_end",
            "source": "search",
            "target": "dba",
            "mode": "collaboration",
            "expected_end": "2027-03-31",
        },
        "Search's collaboration with DBA is expected to end on 2027-03-31",
    ),
]


@pytest.mark.parametrize(
    ("change", "sentence"), EXAMPLES, ids=[str(c["kind"]) for c, _ in EXAMPLES]
)
def test_each_kind_reads_as_a_sentence_with_names(change: dict[str, object], sentence: str):
    assert change_sentence(change, NAMES) == sentence


def test_every_kind_of_change_has_an_example():
    assert sorted(str(change["kind"]) for change, _ in EXAMPLES) == sorted(CHANGE_KINDS)


def test_no_sentence_shows_a_code_a_slug_or_an_e_mail():
    for change, _sentence in EXAMPLES:
        text = change_sentence(change, NAMES)
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), text
        assert "@" not in text
        assert "backend-ops" not in text
        assert "infrastructure-platform" not in text


def test_a_merge_into_one_of_its_teams_keeps_that_teams_name_and_says_a_rename():
    kept = {"kind": "merge_teams", "teams": ["dba", "networking"], "into": "dba"}
    renamed = {**kept, "name": "Data Platform", "type": "ops_silo", "specialty": "database"}

    assert change_sentence(kept, NAMES) == "Merge DBA and Network Ops into DBA"
    assert change_sentence(renamed, NAMES) == (
        "Merge DBA and Network Ops into DBA, renamed Data Platform (ops silo, database)"
    )


def test_a_move_without_a_first_team_adds_the_person():
    change = {"kind": "move_person", "person": "kenji.sato@x.test", "to_team": "payments"}

    assert change_sentence({**change, "role": "devops_buddy"}, NAMES) == (
        "Add Kenji Sato to Payments, staying in their other teams as DevOps buddy"
    )


def test_an_interaction_without_an_end_says_so():
    change = {"kind": "change_interaction_end", "source": "search", "target": "dba"}

    assert change_sentence({**change, "mode": "facilitating"}, NAMES) == (
        "Search's facilitating with DBA has no planned end"
    )


def test_unknown_names_read_as_given_and_unknown_kinds_do_not_fail():
    change = {"kind": "remove_person", "team": "ghost", "person": "nobody@x.test"}

    assert change_sentence(change) == "Remove nobody@x.test from ghost"
    assert change_sentence({"kind": "teleport"}) == "A change of an unknown kind"
    assert change_sentence([1, 2]) == "A change of an unknown kind"


def test_lists_read_with_and():
    assert listed([]) == ""
    assert listed(["A"]) == "A"
    assert listed(["A", "B", "C"]) == "A, B and C"


def test_references_and_created_teams_are_collected_for_the_name_lookups():
    changes = [change for change, _ in EXAMPLES]

    teams, people, units = change_references(changes)
    created = change_created_teams(changes)

    assert {"dba", "networking", "payments", "search", "search-core"} <= teams
    assert people == {"chloe.martin@x.test", "kenji.sato@x.test"}
    assert units == {"infrastructure"}
    assert created == {
        "platform": "Platform",
        "infrastructure-platform": "Infrastructure Platform",
        "search-core": "Search Core",
    }


# Every field a change of some kind has, so that generated objects use them (with any value).
FIELDS = [
    "kind",
    "team",
    "teams",
    "into",
    "name",
    "slug",
    "type",
    "specialty",
    "unit",
    "description",
    "members",
    "person",
    "from_team",
    "to_team",
    "role",
    "allocation_percent",
    "source",
    "target",
    "from_mode",
    "to_mode",
    "severity",
    "since",
    "expected_end",
    "mode",
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.sampled_from(["dba", "kenji.sato@x.test", "platform", "lead"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(CHANGE_KINDS),
    fields=st.dictionaries(st.sampled_from(FIELDS[1:]), JSON_VALUES, max_size=8),
)
def test_any_json_object_of_any_kind_reads_as_a_sentence(
    kind: str, fields: dict[str, object]
) -> None:
    change = {"kind": kind, **fields}

    sentence = change_sentence(change, NAMES)
    teams, people, units = change_references([change])
    created = change_created_teams([change])

    assert isinstance(sentence, str)
    assert sentence
    assert all(isinstance(item, str) for item in (*teams, *people, *units, *created))
    assert all(isinstance(name, str) for name in created.values())
