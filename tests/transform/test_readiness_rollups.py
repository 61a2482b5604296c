"""Readiness from survey rollups: the figures read from ``SurveyRollup`` rows equal the figures
computed from every answer (``readiness_periods_compute_from_answers``, the path before rollups),
for random answer streams, batch sizes, late answers and open or closed periods; answers stored
through the service keep them current; a changed batch size or a deleted answer rebuilds."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playbooks.criteria import SignalReading
from teams.models import Organization, Team
from tests.builders import SURVEY_AT, SURVEY_PERIOD, make_organization, make_team
from tests.factories import CheckInFactory, CheckinSettingsFactory, PersonFactory
from transform.answers.services import checkin_answer
from transform.models import (
    CheckInKind,
    CheckinSettings,
    Response,
    ResponseKind,
    SurveyRollup,
    SurveyRollupState,
)
from transform.readiness import report as readiness_report
from transform.readiness import rollups
from transform.readiness.report import (
    organization_readings_compute,
    readiness_periods_compute,
    readiness_periods_compute_from_answers,
)
from transform.rhythm.periods import Period

pytestmark = pytest.mark.django_db

CLOSED_AT = dt.datetime(2027, 1, 11, 9, 0, tzinfo=dt.UTC)
KINDS = rollups.KINDS


@pytest.fixture(autouse=True)
def _no_ingested(monkeypatch: pytest.MonkeyPatch) -> None:
    # The survey side is under test; ingested signals read the same way on both paths.
    monkeypatch.setattr(readiness_report, "ingested_readings", lambda **_kwargs: {})


def _close(a: SignalReading, b: SignalReading) -> bool:
    # Sums are added batch by batch instead of answer by answer: the last bits may differ.
    return a.respondents == b.respondents and math.isclose(a.value, b.value, rel_tol=1e-9)


def assert_same_figures(
    organization: Organization, *, at: dt.datetime, period: Period = SURVEY_PERIOD
) -> None:
    """Every group of ``period`` and its previous one reads the same from rollups and answers:
    suppression, respondents, readings (and so the score), and the answers received."""
    options = CheckinSettings.objects.get(organization=organization)
    raw = readiness_periods_compute_from_answers(
        organization=organization, settings=options, periods=[period], at=at
    )
    rolled = readiness_periods_compute(
        organization=organization, settings=options, periods=[period], at=at
    )
    assert rolled.judged.keys() == raw.judged.keys()
    # The organisation judged alone (what exit criteria read) is the organisation of the whole.
    alone = organization_readings_compute(
        organization=organization, settings=options, periods=list(rolled.judged), at=at
    )
    assert alone == {when: groups[None].readings for when, groups in rolled.judged.items()}
    for when, groups in raw.judged.items():
        assert rolled.judged[when].keys() == groups.keys(), when
        for key, expected in groups.items():
            got = rolled.judged[when][key]
            where = (when.start, key)
            assert got.suppressed == expected.suppressed, where
            assert got.respondents == expected.respondents, where
            assert bool(got.answers) == bool(expected.answers), where
            if key is not None:
                assert got.answers == expected.answers, where
            assert got.readings.keys() == expected.readings.keys(), where
            for kind, reading in expected.readings.items():
                assert _close(got.readings[kind], reading), (where, kind)
    for when, report in raw.reports.items():
        other = rolled.reports[when]
        pairs = [(report.organization_group, other.organization_group)]
        pairs += list(zip(report.teams, other.teams, strict=True))
        for expected_group, got_group in pairs:
            assert got_group.team == expected_group.team
            expected_score, got_score = expected_group.score, got_group.score
            assert (expected_score is None) == (got_score is None)
            if expected_score is not None and got_score is not None:
                assert abs(expected_score - got_score) <= 0.1 + 1e-9


def store(
    organization: Organization,
    teams: list[Team | None],
    stream: list[tuple[int, bool, dict[str, float]]],
    *,
    period: Period = SURVEY_PERIOD,
) -> None:
    """Store answers in bulk, as ``tests.builders.survey`` and ``generate_org`` do (bypassing the
    service: the read catches up)."""
    Response.objects.bulk_create(
        Response(
            organization=organization,
            kind=ResponseKind.SURVEY,
            team=teams[team],
            period_start=period.start,
            submitted_on=period.end if late else period.start,
            scores=scores,
        )
        for team, late, scores in stream
    )


# Each instrument's kinds come together (the ADKAR instrument asks all five elements), with the
# values ``score_response`` gives: one whole-number item each, Westrum the mean of six.
INSTRUMENTS = (("westrum_score",), KINDS[1:6], ("platform_satisfaction",))
scores_strategy = st.lists(st.sampled_from(INSTRUMENTS), max_size=3, unique=True).flatmap(
    lambda chosen: st.fixed_dictionaries(
        {
            kind: (
                st.integers(6, 42).map(lambda n: n / 6)
                if kind == "westrum_score"
                else st.integers(1, 5).map(float)
            )
            for instrument in chosen
            for kind in instrument
        }
    )
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    size=st.integers(3, 7),
    team_count=st.integers(1, 4),
    closed=st.booleans(),
    chunks=st.lists(
        st.lists(st.tuples(st.integers(0, 4), st.booleans(), scores_strategy), max_size=14),
        min_size=1,
        max_size=4,
    ),
    previous=st.lists(st.tuples(st.integers(0, 4), st.booleans(), scores_strategy), max_size=12),
    resize=st.none() | st.integers(3, 7),
    clock=st.booleans(),
)
def test_figures_from_rollups_equal_figures_from_answers(
    size: int,
    team_count: int,
    closed: bool,
    chunks: list[list[tuple[int, bool, dict[str, float]]]],
    previous: list[tuple[int, bool, dict[str, float]]],
    resize: int | None,
    clock: bool,
) -> None:
    # With ``clock``, the clock reads the moment of the report: a closed period is over by the
    # clock too, so its closing pool is stored (otherwise it is cut in memory at read time).
    now = mock.patch("django.utils.timezone.now", return_value=CLOSED_AT if closed else SURVEY_AT)
    with transaction.atomic(), now if clock else contextlib.nullcontext():
        organization = make_organization("prop")
        CheckinSettingsFactory(
            organization=organization, min_group_size=size, min_free_text_group_size=10
        )
        teams: list[Team | None] = [None]
        teams += [make_team(organization, f"t{index}") for index in range(team_count)]
        at = CLOSED_AT if closed else SURVEY_AT

        def clip(stream: list[tuple[int, bool, dict[str, float]]], *, late_ok: bool) -> Any:
            return [(team % len(teams), late and late_ok, s) for team, late, s in stream]

        # The previous period has always closed by the time the current one is read.
        store(organization, teams, clip(previous, late_ok=True), period=SURVEY_PERIOD.previous())
        for chunk in chunks:
            # A late answer exists only once the period is over.
            store(organization, teams, clip(chunk, late_ok=closed))
            assert_same_figures(organization, at=at)
        if clock:
            pooled = SurveyRollup.objects.filter(organization=organization, scope="pool")
            assert pooled.filter(period_start=SURVEY_PERIOD.previous().start).exists() == bool(
                previous
            )
        if resize is not None:
            CheckinSettings.objects.filter(organization=organization).update(
                min_group_size=resize, min_free_text_group_size=max(10, resize)
            )
            assert_same_figures(organization, at=at)
        if teams[-1] is not None:
            teams[-1].retired_at = timezone.now()
            teams[-1].save()
            assert_same_figures(organization, at=at)
        transaction.set_rollback(True)


def test_a_read_with_current_rollups_reads_no_answer(
    django_assert_num_queries: Any,
) -> None:
    organization = make_organization("quiet")
    CheckinSettingsFactory(organization=organization)
    team = make_team(organization, "web")
    store(organization, [team], [(0, False, {"westrum_score": 5.0})] * 7)
    options = CheckinSettings.objects.get(organization=organization)
    readiness_periods_compute(
        organization=organization, settings=options, periods=[SURVEY_PERIOD], at=SURVEY_AT
    )

    # The ingested readings' versions (the readings themselves come from the cache), the rollup
    # rows (with the staleness check in the same query) and the teams.
    with django_assert_num_queries(3) as context:
        computed = readiness_periods_compute(
            organization=organization, settings=options, periods=[SURVEY_PERIOD], at=SURVEY_AT
        )

    # Answers appear only in the staleness check: the organisation's newest response id.
    [mention] = [q["sql"] for q in context if "transform_response" in q["sql"]]
    assert mention.count("transform_response") == 1
    assert "DESC LIMIT 1" in mention
    assert computed.judged[SURVEY_PERIOD][team.id].respondents == 5


def test_a_changed_batch_size_rebuilds_the_period_and_a_deleted_answer_leaves_the_figures() -> None:
    organization = make_organization("resized")
    CheckinSettingsFactory(organization=organization)
    team = make_team(organization, "web")
    store(organization, [team], [(0, False, {"westrum_score": 6.0})] * 6)
    options = CheckinSettings.objects.get(organization=organization)

    def respondents() -> int:
        computed = readiness_periods_compute(
            organization=organization,
            settings=CheckinSettings.objects.get(organization=organization),
            periods=[SURVEY_PERIOD],
            at=SURVEY_AT,
        )
        return computed.judged[SURVEY_PERIOD][team.id].respondents

    assert respondents() == 5
    options.min_group_size = 3
    options.save()
    assert respondents() == 6
    assert set(SurveyRollup.objects.values_list("size", flat=True)) == {3}
    Response.objects.filter(organization=organization).first().delete()  # type: ignore[union-attr]
    assert respondents() == 3


def _pulse(organization: Organization, team: Team) -> Any:
    return CheckInFactory(
        organization=organization,
        kind=CheckInKind.PULSE_SURVEY,
        team=team,
        recipient=PersonFactory(organization=organization),
        period_start=SURVEY_PERIOD.start,
        instruments=[["platform-satisfaction", 1]],
    )


def test_an_answer_stored_through_the_service_is_in_the_rollups_at_once() -> None:
    organization = make_organization("served")
    CheckinSettingsFactory(organization=organization)
    team = make_team(organization, "web")
    now = timezone.now()
    for _ in range(5):
        checkin_answer(
            checkin=_pulse(organization, team),
            answers={"platform-satisfaction": {"satisfaction": 4}},
            at=now,
        )

    row = SurveyRollup.objects.get(organization=organization, team=team)
    state = SurveyRollupState.objects.get(organization=organization)
    assert (row.received, row.published, row.platform_satisfaction_count) == (5, 5, 5)
    assert row.platform_satisfaction_sum == 20.0
    assert state.last_response_id == Response.objects.latest("id").pk


def test_the_rebuild_command_rebuilds_every_rollup_and_checks_them(capsys: Any) -> None:
    organization = make_organization("rebuilt")
    CheckinSettingsFactory(organization=organization)
    team = make_team(organization, "web")
    store(organization, [team], [(0, False, {"westrum_score": 4.0})] * 11)
    SurveyRollup.objects.all().delete()

    call_command("rebuild_readiness_rollups", "--org", "rebuilt", "--check")

    out = capsys.readouterr().out
    assert "rebuilt: 11 answers" in out
    assert "same figures" in out
    row = SurveyRollup.objects.get(organization=organization, team=team)
    assert (row.received, row.published, row.westrum_score_count) == (11, 10, 10)
