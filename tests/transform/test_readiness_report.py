"""Readiness from stored survey answers and ingested signals, with anonymity enforced.

Hand-worked: the formula's numbers are worked out in the comments from the stored scores
(docs/readiness.md). Ingested signals come from a stub of ``ingested_readings`` in most tests so
the survey side can be checked exactly; the last tests use real stored events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from core.errors import ApplicationError
from playbooks.criteria import SignalReading
from teams.models import Organization, Team, TeamType
from tests.builders import SURVEY_AT as AT
from tests.builders import SURVEY_PERIOD as PERIOD
from tests.builders import SURVEY_PREVIOUS as PREVIOUS
from tests.builders import make_person, make_team, survey, westrum
from tests.factories import (
    CheckInFactory,
    CheckinSettingsFactory,
    ResponseFactory,
    SignalEventFactory,
)
from transform.models import CheckinSettings, Response, ResponseKind
from transform.readiness import anonymity
from transform.readiness import report as readiness_report_module
from transform.readiness import selectors as readiness_report
from transform.readiness.anonymity import Group
from transform.readiness.selectors import readiness_report_get

pytestmark = pytest.mark.django_db

# The morning after PERIOD's last day: the period has closed.
PERIOD_OVER = dt.datetime(2027, 1, 11, 9, 0, tzinfo=dt.UTC)

Ingested = dict[int | None, dict[str, SignalReading]]


@pytest.fixture
def ingested(monkeypatch: pytest.MonkeyPatch) -> Callable[[Ingested], list[tuple[Any, ...]]]:
    """Replace the ingested signals with fixed readings; returns the calls' (start, end)."""
    calls: list[tuple[Any, ...]] = []

    def use(readings: Ingested) -> list[tuple[Any, ...]]:
        def fake(
            *,
            organization: Organization,
            start: dt.datetime,
            end: dt.datetime,
            min_change_age: dt.timedelta | None = None,
            versions: object = None,
        ) -> Ingested:
            calls.append((start, end))
            return readings

        monkeypatch.setattr(readiness_report_module, "ingested_readings", fake)
        return calls

    use({})
    return use


@pytest.fixture
def web(organization: Organization) -> Team:
    return make_team(organization, "web", name="Web")


@pytest.fixture
def api(organization: Organization) -> Team:
    return make_team(organization, "api", name="API")


def test_readiness_is_computed_by_hand_from_stored_answers(
    organization: Organization, web: Team, ingested: Any
) -> None:
    ingested({web.pk: {"platform_adoption": SignalReading(value=0.4)}})
    adkar = {
        "adkar_awareness": 5,
        "adkar_desire": 4,
        "adkar_knowledge": 3,
        "adkar_ability": 2,
        "adkar_reinforcement": 1,
    }
    satisfaction = [3, 5, 4, 4, 4]
    culture = [5, 6, 5, 6, 5.5]
    survey(
        web,
        [
            {**adkar, "westrum_score": w, "platform_satisfaction": s}
            for w, s in zip(culture, satisfaction, strict=True)
        ],
    )

    report = readiness_report_get(organization=organization, at=AT)

    assert report.period == PERIOD
    [team] = report.teams
    # ADKAR mean 3 -> 0.5, Westrum 5.5 -> 0.75, satisfaction 4 -> 0.75, adoption 0.4:
    # (0.30*0.5 + 0.25*0.75 + 0.15*0.75 + 0.15*0.4) / 0.85 = 0.51 / 0.85 = 0.6.
    assert team.score == 60.0
    assert team.respondents == 5
    assert team.suppressed is False
    assert team.result is not None
    assert team.result.barrier == "knowledge"
    row = report.as_dict()["teams"][0]
    assert row["team"] == "web"
    assert row["team_name"] == "Web"
    assert row["period"] == {"start": "2026-12-28", "end": "2027-01-11"}
    assert row["barrier"] == "knowledge"
    assert row["signals"]["westrum_score"] == {"value": 5.5, "respondents": 5}
    assert row["signals"]["platform_adoption"] == {"value": 0.4, "respondents": None}
    assert row["signals"]["adkar_barrier"] == {"value": 3.0, "respondents": 5}
    assert set(row["components"]) == {
        "adkar",
        "westrum",
        "platform_satisfaction",
        "voluntary_adoption",
    }
    assert row["trend"] is None
    # The organisation is the same five answers (the team adds nothing it could hide) but the
    # organisation's ingested readings are its own: none here.
    organization_row = report.as_dict()["organization"]
    assert organization_row["organization"] == "acme"
    assert organization_row["respondents"] == 5
    # Without adoption: 0.45 / 0.70 = 0.642857...
    assert organization_row["score"] == 64.3


def test_the_ingested_window_is_the_period_up_to_now(
    organization: Organization, web: Team, ingested: Any
) -> None:
    calls = ingested({})

    readiness_report_get(organization=organization, at=AT)

    starts_and_ends = sorted(calls)
    assert starts_and_ends == [
        (
            dt.datetime(2026, 12, 14, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 28, tzinfo=dt.UTC),
        ),
        (dt.datetime(2026, 12, 28, tzinfo=dt.UTC), AT),
    ]


def test_five_respondents_are_shown_and_four_are_suppressed(
    organization: Organization, web: Team, ingested: Any
) -> None:
    survey(web, westrum(7, 7, 7, 7, 7))
    shown = readiness_report_get(organization=organization, at=AT)
    Response.objects.filter(organization=organization).first().delete()  # type: ignore[union-attr]

    hidden = readiness_report_get(organization=organization, at=AT)

    assert shown.teams[0].score == 100.0
    assert shown.teams[0].respondents == 5
    row = hidden.as_dict()["teams"][0]
    assert row["suppressed"] is True
    for key in ("score", "trend", "delta", "barrier", "respondents"):
        assert row[key] is None
    assert row["components"] == {}
    assert row["signals"] == {}
    # The organisation has the same four answers: suppressed as well.
    assert hidden.as_dict()["organization"]["suppressed"] is True
    assert hidden.as_dict()["organization"]["score"] is None


def test_an_organisation_may_raise_its_threshold(
    organization: Organization, web: Team, ingested: Any
) -> None:
    CheckinSettingsFactory(organization=organization, min_group_size=6)
    survey(web, westrum(7, 7, 7, 7, 7))

    report = readiness_report_get(organization=organization, at=AT).as_dict()

    assert report["min_group_size"] == 6
    assert report["teams"][0]["suppressed"] is True


def test_a_small_teams_answers_stay_out_of_every_figure_so_nothing_subtracts_to_them(
    organization: Organization, web: Team, api: Team, ingested: Any
) -> None:
    survey(web, westrum(7, 7, 7, 7, 7))
    survey(api, westrum(1, 1, 1, 1))

    report = readiness_report_get(organization=organization, at=AT)
    filtered = report.as_dict(team="web")
    closed = readiness_report_get(organization=organization, period=PERIOD, at=PERIOD_OVER)

    # api (4) has no published batch of 5, so its answers are in no figure: the organisation
    # covers web's batch only, and organisation minus web is the empty set, not api's mean.
    assert [g.suppressed for g in report.teams] == [True, False]
    assert report.organization_group.respondents == 5
    assert report.organization_group.score == 100.0
    assert filtered["teams"] == [report.as_dict()["teams"][1]]
    assert filtered["teams"][0]["score"] == 100.0
    # Once the period is over api's 4 answers are left over, fewer than a batch: still in nothing.
    assert closed.organization_group.respondents == 5
    assert closed.organization_group.score == 100.0
    published = [
        Group("org", None, 5),
        Group("team:api", "org", 0),
        Group("team:web", "org", 5),
    ]
    hidden = {"team:" + g.team.slug for g in report.teams if g.suppressed and g.team}
    assert anonymity.disclosure_violations(published, suppressed=hidden, threshold=5) == []


def test_filtering_to_a_team_never_changes_what_is_hidden(
    organization: Organization, web: Team, api: Team, ingested: Any
) -> None:
    make_team(organization, "ops")
    survey(web, westrum(7, 7, 7, 7, 7, 7))
    survey(api, westrum(4, 4, 4, 4, 4, 4, 4))
    full = readiness_report_get(organization=organization, at=AT).as_dict()

    for slug in ("api", "ops", "web"):
        one = readiness_report_get(organization=organization, at=AT).as_dict(team=slug)
        assert one["teams"] == [row for row in full["teams"] if row["team"] == slug]
        assert one["organization"] == full["organization"]
    assert [row["suppressed"] for row in full["teams"]] == [False, True, False]


def test_an_unknown_team_filter_is_refused(
    organization: Organization, web: Team, ingested: Any
) -> None:
    report = readiness_report_get(organization=organization, at=AT)

    with pytest.raises(ApplicationError, match="No team with slug 'nope'"):
        report.as_dict(team="nope")


def test_a_kind_skipped_by_too_many_is_withheld_and_protected_from_subtraction(
    organization: Organization, web: Team, api: Team, ingested: Any
) -> None:
    # web: 6 answers, 3 of them rate the platform; api: 5 answers, all rate it.
    survey(
        web,
        [{"westrum_score": 4, "platform_satisfaction": 5}] * 3 + [{"westrum_score": 4}] * 3,
    )
    survey(api, [{"westrum_score": 7, "platform_satisfaction": 1}] * 5)

    report = readiness_report_get(organization=organization, at=AT)
    rows = {row["team"]: row for row in report.as_dict()["teams"]}

    # Satisfaction: web's 3 make no batch of 5, so they are in no figure; the organisation's
    # satisfaction is api's batch alone (organisation minus api: nothing). Westrum: web's first
    # five of six (a team of 6 shows 5).
    assert not rows["web"]["suppressed"]
    assert rows["web"]["respondents"] == 5
    assert "platform_satisfaction" not in rows["web"]["signals"]
    assert rows["api"]["signals"]["platform_satisfaction"] == {"value": 1.0, "respondents": 5}
    assert rows["web"]["signals"]["westrum_score"] == {"value": 4.0, "respondents": 5}
    organization_signals = report.as_dict()["organization"]["signals"]
    assert organization_signals["platform_satisfaction"] == {"value": 1.0, "respondents": 5}
    assert organization_signals["westrum_score"] == {"value": 5.5, "respondents": 10}
    # api: Westrum 7 -> 1 (0.25), satisfaction 1 -> 0 (0.15): 0.25 / 0.40 = 62.5.
    assert rows["api"]["score"] == 62.5


def test_a_suppressed_team_shows_objective_signals_and_no_survey_ones(
    organization: Organization, web: Team, ingested: Any
) -> None:
    ingested(
        {
            web.pk: {
                "deployment_frequency": SignalReading(value=0.5),
                # A survey kind from a signal source must never reach a suppressed group.
                "westrum_score": SignalReading(value=7, respondents=1),
            },
            None: {"incidents": SignalReading(value=2)},
        }
    )
    survey(web, westrum(1, 2, 3))

    report = readiness_report_get(organization=organization, at=AT).as_dict()

    row = report["teams"][0]
    assert row["suppressed"] is True
    assert row["signals"] == {"deployment_frequency": {"value": 0.5, "respondents": None}}
    assert row["score"] is None
    assert report["organization"]["signals"] == {"incidents": {"value": 2, "respondents": None}}


def test_the_trend_compares_with_the_previous_period_when_it_was_shown(
    organization: Organization, web: Team, api: Team, ingested: Any
) -> None:
    ops = make_team(organization, "ops")
    survey(web, westrum(7, 7, 7, 7, 7, 7), period=PREVIOUS)
    survey(web, westrum(4, 4, 4, 4, 4))
    # api was suppressed last period (3 answers): no trend for it now. ops (5) was hidden with
    # it, as the smaller sibling, so that the organisation minus web does not give api's mean.
    survey(api, westrum(7, 7, 7), period=PREVIOUS)
    survey(api, westrum(4, 4, 4, 4, 4))
    survey(ops, westrum(1, 1, 1, 1, 1), period=PREVIOUS)

    report = readiness_report_get(organization=organization, at=AT)
    rows = {row["team"]: row for row in report.as_dict()["teams"]}

    # web: 100 -> 50.
    assert rows["web"]["score"] == 50.0
    assert rows["web"]["delta"] == -50.0
    assert rows["web"]["trend"] == "down"
    assert rows["api"]["score"] == 50.0
    assert rows["api"]["trend"] is None
    assert rows["api"]["delta"] is None


def test_a_period_parameter_picks_the_period_containing_the_day(
    organization: Organization, web: Team, ingested: Any
) -> None:
    survey(web, westrum(7, 7, 7, 7, 7), period=PREVIOUS)
    settings = CheckinSettings(organization=organization)

    period = readiness_report.period_param_parse("2026-12-20", settings=settings)
    report = readiness_report_get(organization=organization, period=period, at=AT)

    assert period == PREVIOUS
    assert report.teams[0].score == 100.0
    with pytest.raises(ApplicationError, match="YYYY-MM-DD"):
        readiness_report.period_param_parse("20-12-2026", settings=settings)


def test_check_in_confidence_counts_at_organisation_level_by_owner(
    organization: Organization, web: Team, ingested: Any
) -> None:
    from transform.models import CheckInKind

    survey(web, westrum(7, 7, 7, 7, 7))
    owners = [make_person(organization) for _ in range(5)]
    for index, owner in enumerate(owners + owners[:1]):
        checkin = CheckInFactory(
            organization=organization,
            kind=CheckInKind.MILESTONE_STATUS,
            recipient=owner,
            subject=f"milestone:{index}",
            period=PERIOD.key,
            period_start=PERIOD.start,
            link_nonce="x",
            created_at=AT,
            expires_at=AT,
        )
        ResponseFactory(
            organization=organization,
            kind=ResponseKind.MILESTONE_STATUS,
            checkin=checkin,
            period_start=PERIOD.start,
            submitted_on=PERIOD.start,
            scores={"checkin_confidence": 5 if index < 3 else 2},
        )

    report = readiness_report_get(organization=organization, at=AT).as_dict()

    # Six answers (3 x 5, 3 x 2) from five owners: mean 3.5, five respondents.
    assert report["organization"]["signals"]["checkin_confidence"] == {
        "value": 3.5,
        "respondents": 5,
    }
    assert "checkin_confidence" not in report["teams"][0]["signals"]
    # Westrum 7 -> 1 (0.25), confidence 3.5 -> 0.625 (0.15): 0.34375 / 0.40 = 85.9375.
    assert report["organization"]["score"] == 85.9


def test_readings_from_stored_events_reach_a_suppressed_team(
    organization: Organization, web: Team
) -> None:
    platform = make_team(organization, "platform", type=TeamType.PLATFORM)
    SignalEventFactory(
        organization=organization,
        kind="adoption",
        external_id="a1",
        team=web,
        occurred_at=dt.datetime(2026, 12, 29, tzinfo=dt.UTC),
        data={"capability": "ci", "mandated": False},
    )
    survey(web, westrum(7, 7))
    assert platform.pk

    report = readiness_report_get(organization=organization, at=AT).as_dict()

    # One stream team free to choose, and it adopted by choice: voluntary share 1.
    assert report["organization"]["suppressed"] is True
    assert report["organization"]["signals"]["platform_adoption"]["value"] == 1.0
    assert "westrum_score" not in report["organization"]["signals"]


@pytest.mark.parametrize(
    "sizes",
    [(5, 4), (7, 5), (10, 2), (8, 9, 3), (10, 3, 3), (6, 6, 6, 1), (0, 5, 5), (12, 0, 0, 4)],
)
def test_what_is_shown_never_lets_a_small_group_be_derived(
    organization: Organization, sizes: tuple[int, ...], ingested: Any
) -> None:
    for index, size in enumerate(sizes):
        team = make_team(organization, f"t{index}")
        survey(team, westrum(*([4] * size)))

    report = readiness_report_get(organization=organization, at=AT)

    # While the period runs each team publishes whole batches of 5 and the organisation their sum.
    published = [size // 5 * 5 for size in sizes]
    groups = [Group("org", None, sum(published))] + [
        Group(f"team:t{index}", "org", count) for index, count in enumerate(published)
    ]
    hidden = {f"team:{g.team.slug}" for g in report.teams if g.suppressed and g.team}
    if report.organization_group.suppressed:
        hidden.add("org")
    assert anonymity.disclosure_violations(groups, suppressed=hidden, threshold=5) == []
    assert report.organization_group.respondents == (sum(published) or None)
    for group, count in zip(report.teams, published, strict=True):
        assert group.suppressed == (group.score is None) == (count == 0)
        assert group.respondents == (count or None)
