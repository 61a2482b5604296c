"""Readiness: one 0-100 score per team or organisation and period, from its signal readings.

The formula is a weighted mean of normalised components (ADKAR, Westrum culture, platform
satisfaction, check-in confidence, voluntary platform adoption). A component without data is
left out and the remaining weights are scaled back up to 1, so a team that has only answered the
ADKAR survey still gets a score, and the score says which components it rests on. The trend
compares with the previous period's score, and ``readiness_drop`` decides the change agent's
alert. ``docs/readiness.md`` documents the formula, the weights and the rules; keep them in step.

Pure computation: no Django, no anonymity rules. Suppressing small groups is decided before the
readings reach this module (``transform.readiness.anonymity``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from playbooks.criteria import SignalReading
from transform.instruments.format import ADKAR_ELEMENTS
from transform.instruments.scoring import adkar_barrier

Trend = Literal["up", "down", "flat"]


@dataclass(frozen=True, slots=True)
class ComponentRule:
    """How one component is read and normalised to 0-1: ``(value - low) / (high - low)``."""

    kinds: tuple[str, ...]  # signal kinds averaged into the component's raw value
    low: float
    high: float
    weight: float


# The weights say what readiness is about: whether people are ready to change (ADKAR, the most
# direct measure) and whether the culture lets them (Westrum), then whether the platform serves
# them, whether milestone owners believe in their dates and whether teams adopt the platform by
# choice. They sum to 1.
COMPONENTS: dict[str, ComponentRule] = {
    "adkar": ComponentRule(
        kinds=tuple(f"adkar_{element}" for element in ADKAR_ELEMENTS), low=1, high=5, weight=0.30
    ),
    "westrum": ComponentRule(kinds=("westrum_score",), low=1, high=7, weight=0.25),
    "platform_satisfaction": ComponentRule(
        kinds=("platform_satisfaction",), low=1, high=5, weight=0.15
    ),
    "checkin_confidence": ComponentRule(kinds=("checkin_confidence",), low=1, high=5, weight=0.15),
    # The reading must be the voluntary share (0-1): mandated adoption is left out upstream.
    "voluntary_adoption": ComponentRule(kinds=("platform_adoption",), low=0, high=1, weight=0.15),
}

# Score changes within this many points (either way) are "flat": survey means move a little from
# one period to the next without anything having changed.
TREND_DEAD_BAND = 2.0


@dataclass(frozen=True, slots=True)
class ReadinessComponent:
    """One component's part in a score: its raw value on its own scale, that value normalised to
    0-1 (clamped), the weight it carried after re-normalisation, and its respondents (the fewest
    of its readings; None for measured signals)."""

    value: float
    normalised: float
    weight: float
    respondents: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "normalised": self.normalised,
            "weight": self.weight,
            "respondents": self.respondents,
        }


@dataclass(frozen=True, slots=True)
class ReadinessScore:
    """A readiness result for one team or organisation and period.

    ``score`` is 0-100 (one decimal) or None when no component has data; ``components`` holds
    only the components with data; ``barrier`` is the ADKAR barrier element or None; ``delta``
    and ``trend`` compare with the previous period and are None without two scores to compare.
    """

    score: float | None
    components: dict[str, ReadinessComponent] = field(default_factory=dict)
    barrier: str | None = None
    trend: Trend | None = None
    delta: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result ready for JSON (snapshots, the API)."""
        return {
            "score": self.score,
            "components": {name: c.as_dict() for name, c in self.components.items()},
            "barrier": self.barrier,
            "trend": self.trend,
            "delta": self.delta,
        }


def readiness_compute(
    readings: Mapping[str, SignalReading | None], *, previous: ReadinessScore | None = None
) -> ReadinessScore:
    """The readiness score of one group for one period from its signal readings by kind.

    Readings that are None or not finite count as missing. A component's raw value is the mean of
    its kinds' readings (ADKAR: of the five element means present); it is normalised to 0-1 on
    its scale and clamped, since a value outside the scale is a data error that must not push the
    score outside 0-100. The score is ``100 * sum(weight * normalised) / sum(weight)`` over the
    components with data. ``previous`` is the same group's score for the period before.
    """
    present = {
        kind: reading
        for kind, reading in readings.items()
        if reading is not None and math.isfinite(reading.value)
    }
    found: dict[str, tuple[float, float, int | None]] = {}
    for name, rule in COMPONENTS.items():
        values = [present[kind] for kind in rule.kinds if kind in present]
        if not values:
            continue
        raw = sum(reading.value for reading in values) / len(values)
        normalised = min(1.0, max(0.0, (raw - rule.low) / (rule.high - rule.low)))
        counts = [reading.respondents for reading in values if reading.respondents is not None]
        found[name] = (raw, normalised, min(counts) if counts else None)
    barrier = adkar_barrier({kind: reading.value for kind, reading in present.items()})
    if not found:
        return ReadinessScore(score=None, barrier=barrier)
    total_weight = sum(COMPONENTS[name].weight for name in found)
    components = {
        name: ReadinessComponent(
            value=raw,
            normalised=normalised,
            weight=COMPONENTS[name].weight / total_weight,
            respondents=respondents,
        )
        for name, (raw, normalised, respondents) in found.items()
    }
    score = round(100 * sum(c.weight * c.normalised for c in components.values()), 1)
    delta, trend = readiness_trend(previous.score if previous else None, score)
    return ReadinessScore(
        score=score, components=components, barrier=barrier, trend=trend, delta=delta
    )


def readiness_trend(
    previous: float | None, current: float | None, *, dead_band: float = TREND_DEAD_BAND
) -> tuple[float | None, Trend | None]:
    """``(current - previous, "up" | "down" | "flat")``; both None unless both scores exist.

    A change of at most ``dead_band`` points either way is "flat".
    """
    if previous is None or current is None:
        return None, None
    delta = round(current - previous, 1)
    if delta > dead_band:
        return delta, "up"
    if delta < -dead_band:
        return delta, "down"
    return delta, "flat"


def readiness_drop(
    previous: ReadinessScore | None, current: ReadinessScore | None, *, threshold: float
) -> bool:
    """Whether readiness fell by more than ``threshold`` points from ``previous`` to ``current``
    (the change agent's alert). False when either score is missing: no data is not a drop.

    Raises ValueError for a negative or non-finite threshold.
    """
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a number of points of at least 0; got {threshold}")
    if previous is None or current is None or previous.score is None or current.score is None:
        return False
    # Scores carry one decimal; rounding the difference keeps 70.3 - 60.3 from being 9.99...
    return round(previous.score - current.score, 1) > threshold
