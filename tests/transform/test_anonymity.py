"""Anonymity rules for survey results on plain groups: no database."""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import combinations

import pytest

from transform.readiness.anonymity import (
    SUPPRESSED,
    AnonymityPolicy,
    Group,
    Suppressed,
    apply_suppression,
    disclosure_violations,
    free_text_reportable,
    free_text_suppressed_groups,
    policy_from_settings,
    reportable,
    suppressed_groups,
)

POLICY = AnonymityPolicy()


def hierarchy(*rows: tuple[str, str | None, int]) -> list[Group]:
    return [Group(key=key, parent=parent, respondents=count) for key, parent, count in rows]


def random_hierarchy(rng: random.Random, *, size: int) -> list[Group]:
    """A random forest whose counts add up: each parent holds its children plus a few of its own.

    Most groups are small, so primary and complementary suppression both happen often.
    """
    parents: list[str | None] = [None]
    for index in range(1, size):
        parents.append(None if rng.random() < 0.1 else f"g{rng.randrange(index):02d}")
    counts = [0] * size
    for index in reversed(range(size)):
        is_leaf = f"g{index:02d}" not in parents
        own = (
            rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12]) if is_leaf else rng.choice([0, 0, 0, 1, 2, 6])
        )
        counts[index] += own
        parent = parents[index]
        if parent is not None:
            counts[int(parent[1:])] += counts[index]
    groups = [
        Group(key=f"g{index:02d}", parent=parents[index], respondents=counts[index])
        for index in range(size)
    ]
    rng.shuffle(groups)
    return groups


def derivable_totals(groups: list[Group], *, shown: set[str]) -> list[int]:
    """Respondents of every set of answers whose aggregate follows from the shown aggregates.

    Brute force, independent of the module's reasoning: an "atom" is the answers a group holds
    itself (not through a child); a shown group's aggregate is the sum over the atoms below it;
    a set of atoms is derivable exactly when its indicator vector is in the span of the shown
    groups' vectors (exact arithmetic with fractions).
    """
    keys = [group.key for group in groups]
    parent = {group.key: group.parent for group in groups}
    count = {group.key: group.respondents for group in groups}
    own = dict(count)
    for group in groups:
        if group.parent is not None:
            own[group.parent] -= group.respondents

    def below(top: str, key: str) -> bool:
        node: str | None = key
        while node is not None:
            if node == top:
                return True
            node = parent[node]
        return False

    basis: list[tuple[int, list[Fraction]]] = []

    def reduce(vector: list[Fraction]) -> list[Fraction]:
        vector = list(vector)
        for pivot, row in basis:
            if vector[pivot]:
                factor = vector[pivot]
                vector = [value - factor * other for value, other in zip(vector, row, strict=True)]
        return vector

    for top in sorted(shown):
        vector = reduce([Fraction(int(below(top, key))) for key in keys])
        pivot = next((i for i, value in enumerate(vector) if value), None)
        if pivot is None:
            continue
        vector = [value / vector[pivot] for value in vector]
        basis = [
            (p, [a - row[pivot] * b for a, b in zip(row, vector, strict=True)]) for p, row in basis
        ]
        basis.append((pivot, vector))

    totals = []
    for size in range(1, len(keys) + 1):
        for chosen in combinations(range(len(keys)), size):
            vector = [Fraction(int(i in chosen)) for i in range(len(keys))]
            if not any(reduce(vector)):
                totals.append(sum(own[keys[i]] for i in chosen))
    return totals


def test_it_uses_five_and_ten_by_default():
    assert POLICY.min_group_size == 5
    assert POLICY.min_free_text_group_size == 10


def test_it_refuses_a_minimum_group_size_below_three():
    with pytest.raises(ValueError, match=r"min_group_size must be at least 3.*got 2"):
        AnonymityPolicy(min_group_size=2)
    assert AnonymityPolicy(min_group_size=3).min_group_size == 3


def test_it_refuses_a_free_text_threshold_below_the_score_threshold():
    with pytest.raises(
        ValueError, match=r"min_free_text_group_size must be at least.*\(6\).*got 5"
    ):
        AnonymityPolicy(min_group_size=6, min_free_text_group_size=5)


@pytest.mark.parametrize("value", [True, "5", 5.0, None])
def test_it_refuses_a_group_size_that_is_not_a_whole_number(value):
    with pytest.raises(ValueError, match="min_group_size must be a whole number"):
        AnonymityPolicy(min_group_size=value)


def test_settings_without_values_give_the_defaults():
    assert policy_from_settings(None) == AnonymityPolicy()
    assert policy_from_settings({}) == AnonymityPolicy()


def test_settings_set_both_thresholds():
    policy = policy_from_settings({"min_group_size": 3, "min_free_text_group_size": 7})

    assert policy == AnonymityPolicy(min_group_size=3, min_free_text_group_size=7)


def test_the_free_text_default_follows_a_score_threshold_above_it():
    assert policy_from_settings({"min_group_size": 12}).min_free_text_group_size == 12


def test_settings_refuse_unknown_keys_and_unsafe_values():
    with pytest.raises(ValueError, match=r"unknown setting\(s\) min_size; expected only"):
        policy_from_settings({"min_size": 5})
    with pytest.raises(ValueError, match="min_group_size must be at least 3"):
        policy_from_settings({"min_group_size": 1})
    with pytest.raises(ValueError, match="min_free_text_group_size must be a whole number"):
        policy_from_settings({"min_free_text_group_size": "ten"})


def test_a_score_is_reportable_at_exactly_the_minimum_and_not_one_below():
    assert reportable(5, policy=POLICY)
    assert not reportable(4, policy=POLICY)
    assert reportable(3, policy=AnonymityPolicy(min_group_size=3))


def test_free_text_is_reportable_at_ten_and_not_at_nine():
    assert free_text_reportable(10, policy=POLICY)
    assert not free_text_reportable(9, policy=POLICY)


def test_a_team_of_five_is_shown_and_a_team_of_four_suppressed():
    groups = hierarchy(("five", None, 5), ("four", None, 4), ("nobody", None, 0))

    assert suppressed_groups(groups, policy=POLICY) == {"four", "nobody"}


def test_nothing_is_suppressed_when_every_sibling_is_at_the_threshold():
    groups = hierarchy(("unit", None, 12), ("a", "unit", 7), ("b", "unit", 5))

    assert suppressed_groups(groups, policy=POLICY) == frozenset()


def test_a_sibling_is_suppressed_when_the_small_one_could_be_derived_by_subtraction():
    groups = hierarchy(("unit", None, 12), ("a", "unit", 10), ("b", "unit", 2))

    hidden = suppressed_groups(groups, policy=POLICY)

    assert hidden == {"a", "b"}
    assert disclosure_violations(groups, suppressed={"b"}, threshold=5) == [
        "unit is shown while 2 of its respondents are outside its shown descendants, so their "
        "result can be derived by subtraction (need 0 or >= 5)"
    ]
    assert disclosure_violations(groups, suppressed=hidden, threshold=5) == []


def test_the_smallest_visible_sibling_is_the_one_suppressed():
    groups = hierarchy(("unit", None, 20), ("a", "unit", 8), ("b", "unit", 9), ("c", "unit", 3))

    assert suppressed_groups(groups, policy=POLICY) == {"c", "a"}


def test_ties_between_siblings_go_to_the_first_key():
    groups = hierarchy(("unit", None, 17), ("y", "unit", 7), ("x", "unit", 7), ("z", "unit", 3))

    assert suppressed_groups(groups, policy=POLICY) == {"z", "x"}


def test_no_sibling_is_suppressed_when_the_hidden_ones_together_reach_the_threshold():
    groups = hierarchy(("unit", None, 16), ("a", "unit", 10), ("b", "unit", 3), ("c", "unit", 3))

    assert suppressed_groups(groups, policy=POLICY) == {"b", "c"}


def test_answers_given_to_the_parent_directly_are_protected_like_a_hidden_child():
    # The unit lead answered outside any team: showing the unit and both teams would reveal them.
    groups = hierarchy(("unit", None, 12), ("a", "unit", 6), ("b", "unit", 5))

    assert suppressed_groups(groups, policy=POLICY) == {"b"}


def test_a_subunit_exactly_covered_by_its_teams_is_opened_to_protect_its_parent():
    groups = hierarchy(
        ("unit", None, 12),
        ("sub", "unit", 11),
        ("a", "sub", 6),
        ("b", "sub", 5),
    )

    # unit - sub = 1 person; hiding sub alone leaves unit - a - b = 1, so a team goes too.
    assert suppressed_groups(groups, policy=POLICY) == {"sub", "b"}


def test_a_hidden_unit_propagates_up_to_its_organisation_and_down_into_a_sibling_unit():
    groups = hierarchy(
        ("org", None, 24),
        ("x", "org", 4),
        ("x1", "x", 2),
        ("x2", "x", 2),
        ("y", "org", 20),
        ("y1", "y", 10),
        ("y2", "y", 10),
    )

    hidden = suppressed_groups(groups, policy=POLICY)

    assert hidden == {"x", "x1", "x2", "y", "y1"}
    assert disclosure_violations(groups, suppressed=hidden, threshold=5) == []


def test_a_visible_hidden_child_pair_lower_down_does_not_disturb_the_levels_above():
    groups = hierarchy(
        ("org", None, 30),
        ("x", "org", 15),
        ("x1", "x", 12),
        ("x2", "x", 3),
        ("y", "org", 15),
    )

    assert suppressed_groups(groups, policy=POLICY) == {"x1", "x2"}


def test_a_group_hidden_for_its_parent_is_shown_again_once_a_grandparent_needs_more():
    groups = hierarchy(
        ("org", None, 34),
        ("unit", "org", 29),
        ("sub", "unit", 23),
        ("a", "sub", 12),
        ("b", "sub", 5),
        ("empty", "sub", 0),
        ("team", "unit", 5),
        ("small_unit", "org", 3),
        ("small_team", "small_unit", 3),
    )

    # unit - sub - team = 1 hides team first; org - unit - small_unit = 2 then hides unit, after
    # which org - sub - team - small_unit = 3 is safe at 3, so team is shown again.
    assert suppressed_groups(groups, policy=AnonymityPolicy(min_group_size=3)) == {"empty", "unit"}


def test_the_result_does_not_depend_on_the_order_of_the_groups():
    rng = random.Random(4)
    for _ in range(50):
        groups = random_hierarchy(rng, size=20)
        expected = suppressed_groups(groups, policy=POLICY)
        shuffled = list(groups)
        rng.shuffle(shuffled)
        assert suppressed_groups(shuffled, policy=POLICY) == expected
        assert suppressed_groups(groups, policy=POLICY) == expected


def test_random_hierarchies_hold_the_invariant_at_every_visible_group():
    rng = random.Random(20270104)
    complementary_seen = 0
    for _ in range(400):
        groups = random_hierarchy(rng, size=rng.randrange(1, 30))
        for policy in (POLICY, AnonymityPolicy(min_group_size=3, min_free_text_group_size=8)):
            hidden = suppressed_groups(groups, policy=policy)
            below = {g.key for g in groups if g.respondents < policy.min_group_size}
            assert below <= hidden
            assert (
                disclosure_violations(groups, suppressed=hidden, threshold=policy.min_group_size)
                == []
            )
            complementary_seen += len(hidden - below)
            # No group is hidden for nothing: showing any complementary one again breaks the rule.
            for key in hidden - below:
                assert disclosure_violations(
                    groups, suppressed=hidden - {key}, threshold=policy.min_group_size
                )
    assert complementary_seen > 100


def test_no_combination_of_shown_scores_isolates_fewer_than_the_threshold():
    rng = random.Random(7)
    checked = 0
    for _ in range(150):
        groups = random_hierarchy(rng, size=rng.randrange(2, 9))
        hidden = suppressed_groups(groups, policy=POLICY)
        shown = {group.key for group in groups} - hidden
        for total in derivable_totals(groups, shown=shown):
            assert total == 0 or total >= 5
            checked += 1
    assert checked > 150


def test_the_brute_force_check_catches_a_sibling_subtraction():
    groups = hierarchy(("unit", None, 12), ("a", "unit", 10), ("b", "unit", 2))

    assert 2 in derivable_totals(groups, shown={"unit", "a"})


def test_free_text_is_shown_at_ten_respondents_and_hidden_at_nine():
    groups = hierarchy(("ten", None, 10), ("nine", None, 9))

    assert free_text_suppressed_groups(groups, policy=POLICY) == {"nine"}


def test_free_text_uses_complementary_suppression_at_its_own_threshold():
    groups = hierarchy(("unit", None, 20), ("a", "unit", 12), ("b", "unit", 8))

    assert suppressed_groups(groups, policy=POLICY) == frozenset()
    assert free_text_suppressed_groups(groups, policy=POLICY) == {"a", "b"}


def test_free_text_is_never_shown_where_the_score_is_hidden():
    rng = random.Random(11)
    for _ in range(200):
        groups = random_hierarchy(rng, size=rng.randrange(1, 25))
        scores = suppressed_groups(groups, policy=POLICY)
        free_text = free_text_suppressed_groups(groups, policy=POLICY)
        assert scores <= free_text
        assert disclosure_violations(groups, suppressed=free_text, threshold=10) == []


def test_apply_suppression_replaces_hidden_results_with_a_bare_marker():
    groups = hierarchy(("unit", None, 12), ("a", "unit", 10), ("b", "unit", 2))
    results = {"unit": 4.2, "a": 4.5, "b": 1.0}

    shown = apply_suppression(results, groups, policy=POLICY)

    assert shown == {"unit": 4.2, "a": SUPPRESSED, "b": SUPPRESSED}
    assert isinstance(shown["b"], Suppressed)
    assert SUPPRESSED.as_dict() == {"suppressed": True}


def test_apply_suppression_uses_the_free_text_rule_when_asked():
    groups = hierarchy(("unit", None, 20), ("a", "unit", 12), ("b", "unit", 8))
    comments = {"unit": ["faster builds"], "a": ["faster builds"], "b": []}

    shown = apply_suppression(comments, groups, policy=POLICY, kind="free_text")

    assert shown == {"unit": ["faster builds"], "a": SUPPRESSED, "b": SUPPRESSED}


def test_apply_suppression_refuses_results_for_groups_it_cannot_judge():
    groups = hierarchy(("unit", None, 12))

    with pytest.raises(ValueError, match="results for unknown group\\(s\\) ghost"):
        apply_suppression({"unit": 1.0, "ghost": 2.0}, groups, policy=POLICY)
    with pytest.raises(ValueError, match="kind must be 'score' or 'free_text'"):
        apply_suppression({"unit": 1.0}, groups, policy=POLICY, kind="names")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (hierarchy(("a", None, 5), ("a", None, 6)), "group 'a' is given twice"),
        (hierarchy(("a", "ghost", 5)), "group 'a' has parent 'ghost', which is not among"),
        (hierarchy(("a", "b", 5), ("b", "a", 5)), "parents form a cycle: a -> b -> a"),
        (hierarchy(("a", None, -1)), "group 'a' has -1 respondents; expected 0 or more"),
        (
            hierarchy(("unit", None, 6), ("a", "unit", 5), ("b", "unit", 5)),
            "group 'unit' has 6 respondents but its children together have 10",
        ),
    ],
)
def test_it_refuses_a_malformed_hierarchy(groups, message):
    with pytest.raises(ValueError, match=message):
        suppressed_groups(groups, policy=POLICY)
