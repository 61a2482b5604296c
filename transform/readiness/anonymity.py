"""Anonymity rules for survey results: who may see which score, and when free text is shown.

Pure computation on plain values: no Django, no database. The rules, the complementary-suppression
algorithm with a worked example, the invariant it guarantees and what callers must do are in
``docs/anonymity.md``; keep the two in step.

The guiding rule: a survey aggregate is shown only if it covers at least the organisation's
minimum group size, and no combination of shown aggregates lets anyone work out the aggregate of
fewer people than that. When in doubt, suppress: every malformed input raises instead of guessing.
Over time the same holds between moments: ``publication_plan`` cuts a period's answers into
batches of the group size, so every figure ever shown is a union of whole batches
(docs/anonymity.md, "Anonymity over time").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

T = TypeVar("T")

# Product practice (Culture Amp, Lattice, Glint): scores at 5 or more respondents, comments at 10,
# and no organisation may go below 3.
DEFAULT_MIN_GROUP_SIZE: Final = 5
DEFAULT_MIN_FREE_TEXT_GROUP_SIZE: Final = 10
LOWEST_MIN_GROUP_SIZE: Final = 3

ResultKind = Literal["score", "free_text"]

_SETTING_NAMES: Final = ("min_group_size", "min_free_text_group_size")


@dataclass(frozen=True, slots=True)
class AnonymityPolicy:
    """An organisation's thresholds; constructing one with unsafe values raises ``ValueError``.

    ``min_group_size`` is the fewest respondents a shown score may cover (at least 3);
    ``min_free_text_group_size`` the fewest a group needs before its free-text answers are shown
    (never below ``min_group_size``).
    """

    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    min_free_text_group_size: int = DEFAULT_MIN_FREE_TEXT_GROUP_SIZE

    def __post_init__(self) -> None:
        for name in _SETTING_NAMES:
            value = getattr(self, name)
            # bool is an int subclass: ``True`` must not pass as a group size of 1.
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"anonymity policy: {name} must be a whole number, got {value!r}")
        if self.min_group_size < LOWEST_MIN_GROUP_SIZE:
            raise ValueError(
                f"anonymity policy: min_group_size must be at least {LOWEST_MIN_GROUP_SIZE} so "
                f"that no score describes one or two people, got {self.min_group_size}"
            )
        if self.min_free_text_group_size < self.min_group_size:
            raise ValueError(
                "anonymity policy: min_free_text_group_size must be at least min_group_size "
                f"({self.min_group_size}), since free text identifies people more easily than "
                f"scores, got {self.min_free_text_group_size}"
            )


def policy_from_settings(settings: Mapping[str, Any] | None) -> AnonymityPolicy:
    """The policy an organisation's settings describe; missing keys take the defaults.

    ``settings`` may hold ``min_group_size`` and ``min_free_text_group_size``; None or an empty
    mapping gives the defaults (5 and 10). When only ``min_group_size`` is set above 10, the free
    text threshold follows it rather than failing. Unknown keys and unsafe values raise
    ``ValueError`` naming the setting.
    """
    settings = settings or {}
    unknown = sorted(str(key) for key in settings if key not in _SETTING_NAMES)
    if unknown:
        raise ValueError(
            f"anonymity settings: unknown setting(s) {', '.join(unknown)}; "
            f"expected only {', '.join(_SETTING_NAMES)}"
        )
    min_group_size = settings.get("min_group_size", DEFAULT_MIN_GROUP_SIZE)
    default_free_text = DEFAULT_MIN_FREE_TEXT_GROUP_SIZE
    if isinstance(min_group_size, int) and not isinstance(min_group_size, bool):
        default_free_text = max(default_free_text, min_group_size)
    return AnonymityPolicy(
        min_group_size=min_group_size,
        min_free_text_group_size=settings.get("min_free_text_group_size", default_free_text),
    )


@dataclass(frozen=True, slots=True)
class Group:
    """One group a survey result can be reported for: the organisation, a unit or a team.

    ``respondents`` counts the answers in the period that the group's aggregate covers, its own
    and all its descendants'. Each answer belongs to exactly one group and counts in every
    ancestor, so a parent has at least as many respondents as its children together; the
    difference is answers given directly to the parent (a unit lead outside any team).
    """

    key: str
    parent: str | None
    respondents: int


@dataclass(frozen=True, slots=True)
class Suppressed:
    """What a suppressed result is replaced by: no score, no count and no reason.

    The reason is left out on purpose: "too few respondents" versus "hidden to protect a sibling"
    would tell a reader which side of the threshold the group is on.
    """

    def as_dict(self) -> dict[str, bool]:
        return {"suppressed": True}


SUPPRESSED: Final = Suppressed()


def reportable(respondents: int, *, policy: AnonymityPolicy) -> bool:
    """Whether one aggregate over ``respondents`` answers may show a score.

    The check every computed aggregate must pass, whatever the filters (team, unit, period, or any
    combination): count the respondents after filtering, then ask. It does not protect against
    subtraction between aggregates; put aggregates that nest into ``suppressed_groups`` for that.
    """
    return respondents >= policy.min_group_size


def free_text_reportable(respondents: int, *, policy: AnonymityPolicy) -> bool:
    """Whether one aggregate over ``respondents`` answers may show its free text (without names).

    Free text of a group in a hierarchy goes through ``free_text_suppressed_groups`` instead.
    """
    return respondents >= policy.min_free_text_group_size


def suppressed_groups(groups: Sequence[Group], *, policy: AnonymityPolicy) -> frozenset[str]:
    """Keys of the groups whose scores must not be shown.

    Every group below ``policy.min_group_size`` is suppressed, and then, bottom-up, the smallest
    visible descendants needed so that for every visible group the answers not covered by its
    nearest visible descendants number 0 or at least the threshold (docs/anonymity.md, "The
    invariant"); last, any group hidden that way which the invariant no longer needs is shown
    again. A parent is never suppressed to protect a child. The answer depends only on the
    groups, not on their order. Raises ``ValueError`` for a malformed hierarchy (duplicate
    key, unknown parent, cycle, negative count, children counting more answers than their parent).
    """
    tree = _Tree(groups)
    return tree.suppress(threshold=policy.min_group_size, initially=frozenset())


def free_text_suppressed_groups(
    groups: Sequence[Group], *, policy: AnonymityPolicy
) -> frozenset[str]:
    """Keys of the groups whose free-text answers must not be shown.

    The same algorithm at ``policy.min_free_text_group_size``, starting from every group whose
    score is suppressed, so free text is never shown where the score is not. Raises like
    ``suppressed_groups``.
    """
    tree = _Tree(groups)
    hidden_scores = tree.suppress(threshold=policy.min_group_size, initially=frozenset())
    return tree.suppress(threshold=policy.min_free_text_group_size, initially=hidden_scores)


def apply_suppression(
    results: Mapping[str, T],
    groups: Sequence[Group],
    *,
    policy: AnonymityPolicy,
    kind: ResultKind = "score",
) -> dict[str, T | Suppressed]:
    """``results`` (group key -> anything) with every suppressed group's value replaced.

    ``kind`` chooses the rule: ``"score"`` (``suppressed_groups``) or ``"free_text"``
    (``free_text_suppressed_groups``). A result for a key that is not among ``groups`` raises
    ``ValueError``: a group the rules have not judged is never shown.
    """
    unknown = sorted(set(results) - {group.key for group in groups})
    if unknown:
        raise ValueError(
            f"anonymity: results for unknown group(s) {', '.join(unknown)}; every reported group "
            "must be among the groups given with its respondent count"
        )
    if kind == "score":
        hidden = suppressed_groups(groups, policy=policy)
    elif kind == "free_text":
        hidden = free_text_suppressed_groups(groups, policy=policy)
    else:
        raise ValueError(f"anonymity: kind must be 'score' or 'free_text', got {kind!r}")
    return {key: SUPPRESSED if key in hidden else value for key, value in results.items()}


def disclosure_violations(
    groups: Sequence[Group], *, suppressed: Collection[str], threshold: int
) -> list[str]:
    """Why showing every group not in ``suppressed`` would be unsafe at ``threshold``; [] if safe.

    Checks the invariant of docs/anonymity.md for any suppression set, not only ours: a visible
    group below the threshold, or a visible group whose answers outside its nearest visible
    descendants number between 1 and ``threshold - 1``. One message per problem, sorted.
    """
    tree = _Tree(groups)
    hidden = set(suppressed)
    problems = []
    for key in sorted(tree.respondents):
        if key in hidden:
            continue
        count = tree.respondents[key]
        if count < threshold:
            problems.append(f"{key} is shown with {count} respondents, below {threshold}")
            continue
        uncovered = tree.uncovered(key, hidden=hidden)
        if 0 < uncovered < threshold:
            problems.append(
                f"{key} is shown while {uncovered} of its respondents are outside its shown "
                f"descendants, so their result can be derived by subtraction (need 0 or "
                f">= {threshold})"
            )
    return problems


@dataclass(frozen=True, slots=True)
class Arrival:
    """One answer as publication sees it.

    ``id`` orders answers by arrival (the stored row's id); ``group`` is the group the answer was
    given for at the time (a team's key, never today's membership), None for an answer given to
    the root group directly; ``late`` marks an answer that arrived after its period closed.
    """

    id: int
    group: str | None
    late: bool = False


@dataclass(frozen=True, slots=True)
class Publication:
    """Which answers the figures of one period may cover (docs/anonymity.md, "Anonymity over
    time").

    ``batches`` are disjoint sets of exactly the batch size, in the order they formed;
    ``groups`` maps each group that has a batch to the union of its batches; ``root`` is the
    union of every batch (the organisation's figure).
    """

    batches: tuple[frozenset[int], ...]
    groups: Mapping[str, frozenset[int]]
    root: frozenset[int]


def publication_plan(arrivals: Sequence[Arrival], *, size: int, closed: bool) -> Publication:
    """Cut one period's answers into batches of ``size``: what each figure may cover.

    In arrival (id) order, each group's answers form batches of ``size`` as they come; a batch
    counts for its group and the root, answers given to the root directly batch among themselves
    and count for the root only. While the period runs (``closed`` False) the rest waits. Once it
    is ``closed``, the answers left over (every group's last incomplete batch, then the late
    answers, in id order) form batches of ``size`` counting for the root only; late answers never
    count for a group. At most ``size - 1`` answers are left out at the end.

    As answers arrive (higher ids, late only once closed) batches only ever form, never change or
    split, so every figure ever shown of the period is a union of batches of one disjoint family.
    Raises ``ValueError`` for a size below 1, a repeated id, or a late answer in an open period.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(
            f"anonymity: batch size must be a whole number of at least 1, got {size!r}"
        )
    ordered = sorted(arrivals, key=lambda arrival: arrival.id)
    if len({arrival.id for arrival in ordered}) != len(ordered):
        raise ValueError("anonymity: an answer id is given twice")
    if not closed and any(arrival.late for arrival in ordered):
        raise ValueError("anonymity: a late answer in a period that has not closed")
    waiting: dict[str | None, list[int]] = {}
    batches: list[frozenset[int]] = []
    groups: dict[str, frozenset[int]] = {}
    for arrival in ordered:
        if arrival.late:
            continue
        pending = waiting.setdefault(arrival.group, [])
        pending.append(arrival.id)
        if len(pending) == size:
            batch = frozenset(pending)
            batches.append(batch)
            if arrival.group is not None:
                groups[arrival.group] = groups.get(arrival.group, frozenset()) | batch
            pending.clear()
    if closed:
        pool = sorted(answer for pending in waiting.values() for answer in pending)
        pool += [arrival.id for arrival in ordered if arrival.late]
        for start in range(0, len(pool) - size + 1, size):
            batches.append(frozenset(pool[start : start + size]))
    return Publication(batches=tuple(batches), groups=groups, root=frozenset().union(*batches))


def published_answers(
    arrivals: Sequence[Arrival],
    *,
    root: str,
    groups: Collection[str],
    size: int,
    closed: bool,
    hidden: Collection[str] = (),
) -> dict[str, frozenset[int] | None]:
    """The answers each figure of one period covers, None for a figure that is not shown.

    ``root`` (the organisation) and ``groups`` (its teams, each directly under it) are the
    figures; each arrival's group must be one of ``groups`` or None. The answers are
    ``publication_plan``'s, and complementary suppression (``suppressed_groups`` at ``size``) is
    judged on the published counts, starting from ``hidden``: a group with no batch is never
    shown. Callers compute every figure of the period (scores at the minimum group size, each
    question's free text at the free-text size) over exactly these answers.
    """
    unknown = sorted(
        {str(a.group) for a in arrivals if a.group is not None and a.group not in groups}
    )
    if unknown or root in groups:
        raise ValueError(
            f"anonymity: answers for unknown group(s) {', '.join(unknown)}"
            if unknown
            else f"anonymity: the root {root!r} is also given as a group"
        )
    plan = publication_plan(arrivals, size=size, closed=closed)
    covered = {root: plan.root, **{key: plan.groups.get(key, frozenset()) for key in groups}}
    tree = _Tree(
        [Group(key=root, parent=None, respondents=len(plan.root))]
        + [Group(key=key, parent=root, respondents=len(covered[key])) for key in sorted(groups)]
    )
    suppressed = tree.suppress(threshold=size, initially=frozenset(hidden))
    return {key: None if key in suppressed else answers for key, answers in covered.items()}


class _Tree:
    """The validated hierarchy: respondent counts and children by key."""

    def __init__(self, groups: Sequence[Group]) -> None:
        self.respondents: dict[str, int] = {}
        self.parent: dict[str, str | None] = {}
        for group in groups:
            if group.key in self.respondents:
                raise ValueError(f"anonymity: group {group.key!r} is given twice")
            if isinstance(group.respondents, bool) or not isinstance(group.respondents, int):
                raise ValueError(
                    f"anonymity: group {group.key!r} respondents must be a whole number, "
                    f"got {group.respondents!r}"
                )
            if group.respondents < 0:
                raise ValueError(
                    f"anonymity: group {group.key!r} has {group.respondents} respondents; "
                    "expected 0 or more"
                )
            self.respondents[group.key] = group.respondents
            self.parent[group.key] = group.parent
        self.children: dict[str, list[str]] = {key: [] for key in self.respondents}
        for key, parent in self.parent.items():
            if parent is None:
                continue
            if parent not in self.respondents:
                raise ValueError(
                    f"anonymity: group {key!r} has parent {parent!r}, which is not among the groups"
                )
            self.children[parent].append(key)
        for kids in self.children.values():
            kids.sort()
        self.depth = self._depths()
        for key, kids in self.children.items():
            total = sum(self.respondents[kid] for kid in kids)
            if total > self.respondents[key]:
                raise ValueError(
                    f"anonymity: group {key!r} has {self.respondents[key]} respondents but its "
                    f"children together have {total}; each answer must count in exactly one "
                    "child and in every ancestor"
                )

    def _depths(self) -> dict[str, int]:
        depth: dict[str, int] = {}
        for start in sorted(self.respondents):
            path: list[str] = []
            key: str | None = start
            while key is not None and key not in depth:
                if key in path:
                    cycle = " -> ".join([*path[path.index(key) :], key])
                    raise ValueError(f"anonymity: group parents form a cycle: {cycle}")
                path.append(key)
                key = self.parent[key]
            base = -1 if key is None else depth[key]
            for offset, walked in enumerate(reversed(path), start=1):
                depth[walked] = base + offset
        return depth

    def nearest_visible(self, key: str, *, hidden: Collection[str]) -> list[str]:
        """The visible descendants of ``key`` with no visible group between them and ``key``."""
        found = []
        stack = list(reversed(self.children[key]))
        while stack:
            kid = stack.pop()
            if kid in hidden:
                stack.extend(reversed(self.children[kid]))
            else:
                found.append(kid)
        return found

    def uncovered(self, key: str, *, hidden: Collection[str]) -> int:
        """Respondents of ``key`` outside its nearest visible descendants: what subtraction yields."""
        covered = sum(self.respondents[kid] for kid in self.nearest_visible(key, hidden=hidden))
        return self.respondents[key] - covered

    def suppress(self, *, threshold: int, initially: frozenset[str]) -> frozenset[str]:
        hidden = set(initially)
        hidden.update(key for key, count in self.respondents.items() if count < threshold)
        # Deepest first: when a group is processed, every visible group below it already holds
        # the invariant, and only suppressing one of its own nearest visible descendants can
        # change its uncovered count, which happens only here. One pass is therefore a fixed point.
        required = frozenset(hidden)
        for key in sorted(self.respondents, key=lambda k: (-self.depth[k], k)):
            if key in hidden:
                continue
            while 0 < self.uncovered(key, hidden=hidden) < threshold:
                hidden.add(self._sibling_to_hide(key, hidden=hidden))
        self._show_again_where_safe(hidden, required=required, threshold=threshold)
        return frozenset(hidden)

    def _show_again_where_safe(
        self, hidden: set[str], *, required: frozenset[str], threshold: int
    ) -> None:
        # A group hidden to protect one parent can become unnecessary once a group above it is
        # hidden to protect a grandparent. Showing a group again changes the uncovered count of
        # only two groups, itself and its nearest shown ancestor, so checking those two keeps the
        # invariant. Largest first, as the most informative; repeated until nothing changes, so
        # no complementary suppression left could be lifted on its own.
        changed = True
        while changed:
            changed = False
            optional = sorted(hidden - required, key=lambda k: (-self.respondents[k], k))
            for key in optional:
                hidden.discard(key)
                ancestor = self.nearest_visible_ancestor(key, hidden=hidden)
                if all(
                    self._holds(group, hidden=hidden, threshold=threshold)
                    for group in (key, ancestor)
                    if group is not None
                ):
                    changed = True
                else:
                    hidden.add(key)

    def _holds(self, key: str, *, hidden: Collection[str], threshold: int) -> bool:
        uncovered = self.uncovered(key, hidden=hidden)
        return uncovered == 0 or uncovered >= threshold

    def nearest_visible_ancestor(self, key: str, *, hidden: Collection[str]) -> str | None:
        ancestor = self.parent[key]
        while ancestor is not None and ancestor in hidden:
            ancestor = self.parent[ancestor]
        return ancestor

    def _sibling_to_hide(self, key: str, *, hidden: Collection[str]) -> str:
        # Prefer a descendant with uncovered answers of its own (at least the threshold, by the
        # order of processing): hiding it fixes the parent in one step. Otherwise every one is
        # exactly covered by shown descendants, and hiding one lets those take its place; since
        # the parent is at the threshold, a descendant with uncovered answers exists further down.
        # Among equals the smallest goes, so the least is hidden, then the first key.
        candidates = self.nearest_visible(key, hidden=hidden)
        return min(
            candidates,
            key=lambda kid: (
                self.uncovered(kid, hidden=hidden) == 0,
                self.respondents[kid],
                kid,
            ),
        )
