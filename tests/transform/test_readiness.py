"""The readiness formula, its trend and the drop alert."""

from __future__ import annotations

import math

import pytest

from playbooks.criteria import SignalReading
from transform.readiness.formula import (
    COMPONENTS,
    TREND_DEAD_BAND,
    ReadinessScore,
    readiness_compute,
    readiness_drop,
    readiness_trend,
)


def reading(value: float, respondents: int | None = 6) -> SignalReading:
    return SignalReading(value=value, respondents=respondents)


def full_readings() -> dict[str, SignalReading]:
    return {
        "adkar_awareness": reading(5),
        "adkar_desire": reading(4),
        "adkar_knowledge": reading(3),
        "adkar_ability": reading(2),
        "adkar_reinforcement": reading(1),
        "westrum_score": reading(5.5),
        "platform_satisfaction": reading(4),
        "checkin_confidence": reading(2, respondents=3),
        "platform_adoption": reading(0.4, respondents=None),
    }


def test_the_weights_sum_to_one():
    assert math.isclose(sum(rule.weight for rule in COMPONENTS.values()), 1.0)


def test_it_combines_every_component_into_a_weighted_mean_out_of_100():
    result = readiness_compute(full_readings())

    # ADKAR mean 3 -> 0.5; Westrum 5.5 -> 0.75; satisfaction 4 -> 0.75; confidence 2 -> 0.25;
    # adoption 0.4. 0.30*0.5 + 0.25*0.75 + 0.15*0.75 + 0.15*0.25 + 0.15*0.4 = 0.5475.
    assert result.score == 54.8
    assert set(result.components) == set(COMPONENTS)
    assert result.components["adkar"].value == 3.0
    assert result.components["adkar"].normalised == 0.5
    assert result.components["westrum"].normalised == 0.75
    assert result.components["voluntary_adoption"].normalised == 0.4
    assert result.components["checkin_confidence"].respondents == 3
    assert result.components["voluntary_adoption"].respondents is None
    assert result.trend is None
    assert result.delta is None


def test_it_skips_components_without_data_and_renormalises_the_weights():
    result = readiness_compute(
        {"westrum_score": reading(7), "platform_satisfaction": reading(1), "incidents": reading(9)}
    )

    # Westrum 1.0 with weight 0.25, satisfaction 0.0 with weight 0.15: 0.25 / 0.40 = 0.625.
    assert result.score == 62.5
    assert set(result.components) == {"westrum", "platform_satisfaction"}
    assert result.components["westrum"].weight == pytest.approx(0.625)
    assert result.components["platform_satisfaction"].weight == pytest.approx(0.375)


def test_a_single_component_gives_the_score_on_its_own():
    assert readiness_compute({"checkin_confidence": reading(4)}).score == 75.0


def test_it_has_no_score_without_any_component_data():
    result = readiness_compute({"incidents": reading(3), "westrum_score": None})

    assert result == ReadinessScore(score=None)


def test_a_reading_that_is_not_a_number_counts_as_missing():
    result = readiness_compute(
        {"westrum_score": reading(math.nan), "platform_satisfaction": reading(5)}
    )

    assert result.score == 100.0
    assert set(result.components) == {"platform_satisfaction"}


def test_values_outside_their_scale_are_clamped():
    assert readiness_compute({"westrum_score": reading(9)}).score == 100.0
    assert readiness_compute({"platform_adoption": reading(-0.2)}).score == 0.0


def test_the_adkar_component_averages_the_elements_it_has():
    result = readiness_compute({"adkar_awareness": reading(5), "adkar_desire": reading(3)})

    assert result.components["adkar"].value == 4.0
    assert result.score == 75.0


def test_it_reports_the_adkar_barrier_of_the_readings():
    assert readiness_compute(full_readings()).barrier == "knowledge"
    assert readiness_compute({"westrum_score": reading(4)}).barrier is None


def test_it_compares_with_the_previous_period():
    previous = readiness_compute({"platform_satisfaction": reading(3)})  # 50.0

    up = readiness_compute({"platform_satisfaction": reading(4)}, previous=previous)
    down = readiness_compute({"platform_satisfaction": reading(2)}, previous=previous)
    flat = readiness_compute({"platform_satisfaction": reading(3.08)}, previous=previous)

    assert (up.delta, up.trend) == (25.0, "up")
    assert (down.delta, down.trend) == (-25.0, "down")
    assert (flat.delta, flat.trend) == (2.0, "flat")


def test_a_change_within_the_dead_band_is_flat_and_beyond_it_is_not():
    assert readiness_trend(50.0, 50.0 + TREND_DEAD_BAND) == (2.0, "flat")
    assert readiness_trend(50.0, 50.0 - TREND_DEAD_BAND) == (-2.0, "flat")
    assert readiness_trend(50.0, 52.1) == (2.1, "up")
    assert readiness_trend(50.0, 47.9) == (-2.1, "down")


def test_there_is_no_trend_without_a_previous_score():
    no_data = ReadinessScore(score=None)

    result = readiness_compute({"platform_satisfaction": reading(4)}, previous=no_data)

    assert (result.delta, result.trend) == (None, None)
    assert readiness_trend(None, 40.0) == (None, None)


def test_a_drop_of_more_than_the_threshold_alerts():
    previous = ReadinessScore(score=70.3)

    assert readiness_drop(previous, ReadinessScore(score=60.2), threshold=10)
    assert not readiness_drop(previous, ReadinessScore(score=60.3), threshold=10)
    assert not readiness_drop(previous, ReadinessScore(score=75.0), threshold=10)


def test_missing_data_never_counts_as_a_drop():
    assert not readiness_drop(None, ReadinessScore(score=10.0), threshold=5)
    assert not readiness_drop(ReadinessScore(score=90.0), ReadinessScore(score=None), threshold=5)
    assert not readiness_drop(ReadinessScore(score=90.0), None, threshold=5)


@pytest.mark.parametrize("threshold", [-1.0, math.nan, math.inf])
def test_a_drop_threshold_must_be_a_number_of_at_least_zero(threshold):
    with pytest.raises(ValueError, match="threshold"):
        readiness_drop(ReadinessScore(score=1.0), ReadinessScore(score=0.0), threshold=threshold)


def test_the_result_is_ready_for_json():
    data = readiness_compute(full_readings()).as_dict()

    assert data["score"] == 54.8
    assert data["barrier"] == "knowledge"
    assert data["components"]["westrum"] == {
        "value": 5.5,
        "normalised": 0.75,
        "weight": 0.25,
        "respondents": 6,
    }
