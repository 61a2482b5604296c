"""Anonymity over time, as properties (``transform.readiness.anonymity.publication_plan`` and
``published_answers``, with the report's own ``period_teams`` and ``survey_arrivals``): whatever
the organisation, the stream of answers and the boundary changes between them (moves, merges,
splits, retirements, deletions, a period closing), no two figures anyone could read ever differ
by fewer answers than the minimum group size. No database: these are the pure functions the
readiness report and the comments selector call (docs/anonymity.md, "Anonymity over time").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transform.readiness.anonymity import Arrival, publication_plan, published_answers
from transform.readiness.report import (
    ORG_GROUP,
    SurveyAnswer,
    TeamRef,
    period_teams,
    survey_arrivals,
    team_group_key,
)
from transform.rhythm.periods import Period

SCORES = 5  # the default minimum group size
TEXTS = 10  # the default free-text group size

# CI runs at least 500 examples; no example database, so a run leaves no files behind.
settings.register_profile(
    "anonymity-over-time",
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile("anonymity-over-time")

FIRST = Period(start=dt.date(2026, 12, 28), end=dt.date(2027, 1, 11))


# --- the publication rule on small examples -------------------------------------------------------


def arrivals(*groups: str | None, late_from: int | None = None) -> list[Arrival]:
    return [
        Arrival(id=index, group=group, late=late_from is not None and index >= late_from)
        for index, group in enumerate(groups, start=1)
    ]


def test_a_team_of_six_publishes_its_first_five_answers_while_the_period_runs() -> None:
    plan = publication_plan(arrivals(*["a"] * 6), size=5, closed=False)

    assert plan.groups == {"a": frozenset({1, 2, 3, 4, 5})}
    assert plan.root == frozenset({1, 2, 3, 4, 5})


def test_small_teams_answers_wait_until_the_period_closes_then_pool_for_the_organisation() -> None:
    stream = arrivals("a", "b", "a", "c", "b", "a", "b", "c", "a", "a", "b")

    running = publication_plan(stream, size=5, closed=False)
    closed = publication_plan(stream, size=5, closed=True)

    # a's five (1, 3, 6, 9, 10) form a batch; b (4) and c (2) wait.
    assert running.root == frozenset({1, 3, 6, 9, 10})
    # Closed: the six left over (2, 4, 5, 7, 8, 11) give one organisation batch, the last waits.
    assert closed.batches[1] == frozenset({2, 4, 5, 7, 8})
    assert closed.groups == running.groups
    assert len(closed.root) == 10


def test_late_answers_count_for_the_organisation_only() -> None:
    stream = arrivals(*["a"] * 4, *["a"] * 6, late_from=5)

    plan = publication_plan(stream, size=5, closed=True)

    assert plan.groups == {}
    assert plan.root == frozenset(range(1, 11))


def test_answers_given_to_no_team_batch_among_themselves_for_the_organisation() -> None:
    plan = publication_plan(arrivals(None, "a", None, None, None, None), size=5, closed=False)

    assert plan.groups == {}
    assert plan.root == frozenset({1, 3, 4, 5, 6})


def test_the_publication_rule_refuses_what_it_cannot_judge() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        publication_plan([], size=0, closed=False)
    with pytest.raises(ValueError, match="given twice"):
        publication_plan([Arrival(1, "a"), Arrival(1, "b")], size=5, closed=False)
    with pytest.raises(ValueError, match="has not closed"):
        publication_plan([Arrival(1, "a", late=True)], size=5, closed=False)
    with pytest.raises(ValueError, match="unknown group"):
        published_answers([Arrival(1, "x")], root="org", groups=["a"], size=5, closed=False)


def test_one_more_answer_changes_no_figure_unless_it_completes_a_batch() -> None:
    # gamma: teams of 8, 7 and 1; fifteen answered, then the sixteenth.
    before = arrivals(*["a"] * 8, *["b"] * 7)
    after = [*before, Arrival(id=16, group="c")]

    shown_before = published_answers(
        before, root="org", groups=["a", "b", "c"], size=5, closed=False
    )
    shown_after = published_answers(after, root="org", groups=["a", "b", "c"], size=5, closed=False)

    assert shown_before == shown_after
    assert shown_after["org"] == frozenset(range(1, 6)) | frozenset(range(9, 14))
    assert shown_after["c"] is None


# --- organisations, answer streams and boundary changes ---------------------------------------------


@dataclass
class Org:
    """The live topology the stream runs against: who is in which team now."""

    teams: dict[int, str] = field(default_factory=dict)  # id -> slug, every team ever made
    retired: set[int] = field(default_factory=set)
    team_of: dict[int, int | None] = field(default_factory=dict)  # person -> team id

    def live(self) -> list[int]:
        return sorted(set(self.teams) - self.retired)

    def members(self, team: int) -> list[int]:
        return sorted(person for person, at in self.team_of.items() if at == team)

    def new_team(self) -> int:
        team = len(self.teams) + 1
        self.teams[team] = f"t{team}"
        return team

    def retire(self, team: int) -> None:
        # teams.lifecycle: deleting a team with answers retires it; its people leave it.
        self.retired.add(team)
        for person in self.members(team):
            self.team_of[person] = None


@dataclass(frozen=True)
class Answer:
    period: int
    team: int | None
    late: bool
    platform: bool  # answered the platform question (platform teams are not asked)
    text: bool  # wrote something in the free-text question


@dataclass
class Stream:
    org: Org
    answers: list[Answer] = field(default_factory=list)
    period: int = 0  # the running period; every earlier one has closed

    def surveys(self, period: int) -> list[SurveyAnswer]:
        start = FIRST.start + dt.timedelta(days=14 * period)
        return [
            SurveyAnswer(
                id=index,
                team_id=answer.team,
                submitted_on=start + dt.timedelta(days=14 if answer.late else 1),
                scores={
                    "westrum_score": 1.0,
                    **({"platform_satisfaction": 1.0} if answer.platform else {}),
                },
            )
            for index, answer in enumerate(self.answers, start=1)
            if answer.period == period
        ]


Figure = tuple[int, str, str]  # (period, what is measured, group key)


def readable(stream: Stream) -> dict[Figure, frozenset[int]]:
    """Every figure anyone could read now, with the answers it covers."""
    found: dict[Figure, frozenset[int]] = {}
    for period in range(stream.period + 1):
        for measure, groups in period_figures(stream, period).items():
            for key, ids in groups.items():
                if ids:
                    found[(period, measure, key)] = ids
    return found


def period_figures(stream: Stream, period: int) -> dict[str, Mapping[str, frozenset[int] | None]]:
    """One period's figures per measure, as the report and the comments selector compute them,
    through the same functions."""
    org = stream.org
    refs = tuple(TeamRef(id=team, slug=slug, name=slug) for team, slug in sorted(org.teams.items()))
    start = FIRST.start + dt.timedelta(days=14 * period)
    window = Period(start=start, end=start + dt.timedelta(days=14))
    closed = period < stream.period
    answers = stream.surveys(period)
    teams = period_teams(refs, live=org.live(), answered={answer.team_id for answer in answers})
    keys = [team_group_key(team.slug) for team in teams]

    def shown(
        selected: Iterable[SurveyAnswer], size: int, hidden: Iterable[str] = ()
    ) -> Mapping[str, frozenset[int] | None]:
        return published_answers(
            survey_arrivals(selected, teams=teams, period=window, closed=closed),
            root=ORG_GROUP,
            groups=keys,
            size=size,
            closed=closed,
            hidden=frozenset(hidden),
        )

    scores = shown(answers, SCORES)
    score_hidden = [key for key, ids in scores.items() if ids is None]
    texts = shown(answers, TEXTS, score_hidden)
    text_hidden = [key for key, ids in texts.items() if ids is None]
    wrote = {index for index, answer in enumerate(stream.answers, 1) if answer.text}
    return {
        "respondents": scores,
        # Per kind, starting from the groups hidden as a whole (report._judge_period).
        **{
            kind: shown([a for a in answers if kind in a.scores], SCORES, score_hidden)
            for kind in ("westrum_score", "platform_satisfaction")
        },
        # The question's texts, for groups outside the free-text suppression.
        "comments": shown([a for a in answers if a.id in wrote], TEXTS, text_hidden),
    }


answer = st.tuples(st.just("answer"), st.integers(0, 60), st.booleans(), st.booleans())
change = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 60), st.integers(0, 10)),
    st.tuples(st.just("merge"), st.integers(0, 10), st.integers(0, 10)),
    st.tuples(st.just("split"), st.integers(0, 10)),
    st.tuples(st.just("retire"), st.integers(0, 10)),
    st.tuples(st.just("delete"), st.integers(0, 10)),
    st.tuples(st.just("close")),
    st.tuples(st.just("late"), st.integers(0, 60)),
)
# Bursts of answers between boundary changes, so that batches form and then get tested.
rounds = st.lists(st.tuples(st.lists(answer, min_size=1, max_size=25), change), max_size=8)


def apply(stream: Stream, action: tuple[object, ...]) -> bool:
    """Apply one step; True when it changed the topology (not an answer, not a period)."""
    org = stream.org
    live = org.live()
    kind = action[0]
    if kind == "answer":
        _, who, platform, text = action
        assert isinstance(who, int)
        person = who % len(org.team_of)
        stream.answers.append(
            Answer(
                period=stream.period,
                team=org.team_of[person],
                late=False,
                platform=bool(platform),
                text=bool(text),
            )
        )
        return False
    if kind == "close":
        # The running period closes and the next one starts.
        stream.period += 1
        return False
    if kind == "late":
        # An answer to the period before, after it closed (none before the first has closed).
        _, who = action
        assert isinstance(who, int)
        if stream.period:
            team = org.team_of[who % len(org.team_of)]
            stream.answers.append(Answer(stream.period - 1, team, True, True, True))
        return False
    if not live:
        return False
    if kind == "move":
        _, who, where = action
        assert isinstance(who, int)
        assert isinstance(where, int)
        org.team_of[who % len(org.team_of)] = live[where % len(live)]
    elif kind == "merge" and len(live) > 1:
        _, a, b = action
        assert isinstance(a, int)
        assert isinstance(b, int)
        source = live[a % len(live)]
        target = [team for team in live if team != source][b % (len(live) - 1)]
        for person in org.members(source):
            org.team_of[person] = target
        org.retire(source)
    elif kind == "split":
        _, a = action
        assert isinstance(a, int)
        source = live[a % len(live)]
        people = org.members(source)
        halves = (org.new_team(), org.new_team())
        org.retire(source)
        for index, person in enumerate(people):
            org.team_of[person] = halves[index % 2]
    elif kind in ("retire", "delete"):
        _, a = action
        assert isinstance(a, int)
        org.retire(live[a % len(live)])
    return True


def assert_never_closer_than_a_group(figures: Mapping[Figure, frozenset[int]]) -> None:
    by_measure: dict[tuple[int, str], set[frozenset[int]]] = defaultdict(set)
    for (period, measure, _key), ids in figures.items():
        by_measure[(period, measure)].add(ids)
    for (_period, measure), sets in by_measure.items():
        size = TEXTS if measure == "comments" else SCORES
        for one in sets:
            assert len(one) >= size, (measure, sorted(one))
            for other in sets:
                if one < other:
                    assert len(other - one) >= size, (measure, sorted(one), sorted(other))
        # Stronger: sort the answers by which figures hold them. Any sum or difference of
        # figures is constant on these cells, so a cell of fewer than ``size`` answers would be
        # the only way to isolate fewer; every cell is a whole number of batches.
        cells: dict[frozenset[int], int] = defaultdict(int)
        ordered = list(sets)
        for answer in frozenset().union(*ordered):
            cells[frozenset(i for i, ids in enumerate(ordered) if answer in ids)] += 1
        for cell, count in cells.items():
            assert count % size == 0, (measure, sorted(cell), count)


@settings(PROFILE)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=5),
    plan=rounds,
)
def test_no_two_readable_figures_ever_differ_by_fewer_than_a_group(
    sizes: list[int], plan: list[tuple[list[tuple[object, ...]], tuple[object, ...]]]
) -> None:
    org = Org()
    for size in sizes:
        team = org.new_team()
        for _ in range(size):
            org.team_of[len(org.team_of)] = team
    stream = Stream(org=org)
    ever: dict[Figure, frozenset[int]] = {}
    seen: dict[Figure, list[frozenset[int]]] = defaultdict(list)
    before = readable(stream)
    steps = [action for burst, boundary in plan for action in [*burst, boundary]]
    for action in steps:
        topology = apply(stream, action)
        now = readable(stream)
        if topology:
            # A move, merge, split, retirement or deletion changes no figure at all.
            assert now == before, action
        for figure, ids in now.items():
            # A figure only grows, and only by whole batches: what it showed stays in it.
            history = seen[figure]
            if history:
                assert history[-1] <= ids, figure
            if not history or history[-1] != ids:
                history.append(ids)
            ever[(figure[0], figure[1], f"{figure[2]}@{len(history)}")] = ids
        for figure in before:
            assert figure in now, ("a shown figure disappeared", figure)
        before = now
    assert_never_closer_than_a_group(ever)
