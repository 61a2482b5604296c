"""Ingested signals (transform/evidence/metrics.py): hand-computed examples, boundaries, no-data
rules."""

import datetime as dt

import pytest

from playbooks.criteria import SIGNAL_KINDS, SignalReading, evaluate_criteria
from teams.graph import OrgSnapshot
from transform.evidence.metrics import (
    FOUR_KEYS_MIN_CHANGE_AGE,
    INGESTED_SIGNAL_KINDS,
    AdoptionEvent,
    AdoptionReading,
    DeployEvent,
    FirstDeployEvent,
    IncidentEvent,
    TicketEvent,
    blocked_developer_hours,
    deployment_frequency_band,
    dora_metrics,
    dora_metrics_by_team,
    incident_count,
    signal_readings,
    ticket_backlog,
    time_to_first_deploy,
    voluntary_adoption,
)

UTC = dt.UTC


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=UTC)


START, END = at(1), at(11)  # a ten-day window


def deploys_example() -> list[DeployEvent]:
    return [
        DeployEvent(
            id="d0", team="shop", deployed_at=at(28, 23, month=2), commit_times=(at(1, 0, month=2),)
        ),
        DeployEvent(
            id="d1", team="shop", deployed_at=at(2, 12), commit_times=(at(2, 10), at(1, 12))
        ),
        DeployEvent(id="d2", team="shop", deployed_at=at(4, 12), commit_times=(at(4, 8),)),
        DeployEvent(id="d3", team="shop", deployed_at=at(6, 12), is_rework=True),
        DeployEvent(
            id="d4",
            team="shop",
            deployed_at=at(8, 12),
            commit_times=(at(8, 6),),
            caused_failure=True,
        ),
        DeployEvent(id="d5", team="shop", deployed_at=at(12), commit_times=(at(11, 23),)),
    ]


def incidents_example() -> list[IncidentEvent]:
    return [
        IncidentEvent(
            id="i1", team="shop", started_at=at(4, 13), resolved_at=at(4, 16), caused_by_deploy="d2"
        ),
        IncidentEvent(
            id="i2", team="shop", started_at=at(8, 13), resolved_at=at(9), caused_by_deploy="d4"
        ),
        # Not caused by a deploy: counts as an incident, not in recovery time.
        IncidentEvent(id="i3", team="shop", started_at=at(5), resolved_at=at(9, 4)),
        # Caused by a deploy, still open at the end of the window.
        IncidentEvent(id="i4", team="shop", started_at=at(10), caused_by_deploy="d4"),
        # After the window: not known yet when the window closes.
        IncidentEvent(id="i5", team="shop", started_at=at(12, 1), caused_by_deploy="d1"),
    ]


# --- DORA ----------------------------------------------------------------------------------------


def test_it_computes_the_five_dora_metrics_of_a_hand_worked_window():
    metrics = dora_metrics(
        deploys_example(), incidents_example(), window_start=START, window_end=END
    )

    assert metrics.deploy_count == 4  # d1..d4; d0 and d5 fall outside
    assert metrics.deployment_frequency == pytest.approx(0.4)  # 4 deploys / 10 days
    assert metrics.deployment_frequency_band == "daily"
    # Lead times of the shipped commits: 2 h, 24 h, 4 h, 6 h -> median (4 + 6) / 2.
    assert metrics.change_count == 4
    assert metrics.lead_time_for_changes == pytest.approx(5.0)
    # d2 (named by i1) and d4 (marked) failed; i5 names d1 but starts after the window.
    assert metrics.failed_deploy_count == 2
    assert metrics.change_failure_rate == pytest.approx(0.5)
    # i1 took 3 h, i2 11 h; i4 is still open, i3 was not caused by a deploy.
    assert metrics.failed_deployment_recovery_time == pytest.approx(7.0)
    assert metrics.recovered_failure_count == 2
    assert metrics.open_failure_count == 1
    assert metrics.rework_deploy_count == 1
    assert metrics.deployment_rework_rate == pytest.approx(0.25)


def test_metrics_are_none_not_zero_when_the_window_has_no_events():
    metrics = dora_metrics([], [], window_start=START, window_end=END)

    assert metrics.deployment_frequency is None
    assert metrics.deployment_frequency_band is None
    assert metrics.lead_time_for_changes is None
    assert metrics.change_failure_rate is None
    assert metrics.failed_deployment_recovery_time is None
    assert metrics.deployment_rework_rate is None
    assert metrics.deploy_count == 0


def test_an_empty_window_reads_zero_deploys_when_deploys_are_tracked():
    metrics = dora_metrics(
        deploys_example()[:1], [], window_start=START, window_end=END, deploys_tracked=True
    )

    assert metrics.deployment_frequency == 0.0
    assert metrics.deployment_frequency_band == "fewer"
    # Rates still have no denominator: no deploys, no failure rate.
    assert metrics.change_failure_rate is None
    assert metrics.deployment_rework_rate is None


def test_deploys_without_commits_count_as_deploys_but_give_no_lead_time():
    deploys = [
        DeployEvent(id="r1", team="shop", deployed_at=at(3)),
        DeployEvent(id="r2", team="shop", deployed_at=at(4)),
    ]

    metrics = dora_metrics(deploys, [], window_start=START, window_end=END)

    assert metrics.deployment_frequency == pytest.approx(0.2)
    assert metrics.change_count == 0
    assert metrics.lead_time_for_changes is None
    assert metrics.change_failure_rate == 0.0


def test_the_window_is_half_open():
    deploys = [
        DeployEvent(id="start", team="shop", deployed_at=at(1)),
        DeployEvent(id="end", team="shop", deployed_at=at(11)),
    ]
    incidents = [
        # Names a deploy inside the window but starts exactly at the window's end: not known yet.
        IncidentEvent(id="late", team="shop", started_at=at(11), caused_by_deploy="start"),
    ]

    metrics = dora_metrics(deploys, incidents, window_start=START, window_end=END)

    assert metrics.deploy_count == 1
    assert metrics.change_failure_rate == 0.0
    assert metrics.open_failure_count == 0


def test_a_failure_resolved_after_the_window_is_left_out_of_recovery_time():
    deploys = [DeployEvent(id="d", team="shop", deployed_at=at(10))]
    incidents = [
        IncidentEvent(
            id="i", team="shop", started_at=at(10, 1), resolved_at=at(12), caused_by_deploy="d"
        )
    ]

    metrics = dora_metrics(deploys, incidents, window_start=START, window_end=END)

    assert metrics.change_failure_rate == 1.0
    assert metrics.failed_deployment_recovery_time is None
    assert metrics.open_failure_count == 1


def test_a_failure_resolved_exactly_at_the_window_end_counts():
    incidents = [
        IncidentEvent(
            id="i", team="shop", started_at=at(10, 22), resolved_at=at(11), caused_by_deploy="d"
        )
    ]

    metrics = dora_metrics([], incidents, window_start=START, window_end=END)

    assert metrics.failed_deployment_recovery_time == pytest.approx(2.0)


def test_metrics_by_team_keep_each_teams_events_apart():
    deploys = [
        *deploys_example(),
        DeployEvent(id="c1", team="cart", deployed_at=at(5), commit_times=(at(4, 23),)),
    ]

    by_team = dora_metrics_by_team(deploys, incidents_example(), window_start=START, window_end=END)

    assert list(by_team) == ["cart", "shop"]
    assert by_team["cart"].deploy_count == 1
    assert by_team["cart"].lead_time_for_changes == pytest.approx(1.0)
    assert by_team["cart"].change_failure_rate == 0.0
    assert by_team["shop"].deploy_count == 4
    assert by_team["shop"].change_failure_rate == pytest.approx(0.5)


def test_an_incident_recorded_by_another_team_counts_for_the_deploying_team():
    deploys = [DeployEvent(id="c1", team="cart", deployed_at=at(5))]
    incidents = [
        IncidentEvent(
            id="x", team="ops", started_at=at(5, 1), resolved_at=at(5, 5), caused_by_deploy="c1"
        ),
        IncidentEvent(id="y", team="ops", started_at=at(6)),
    ]

    by_team = dora_metrics_by_team(deploys, incidents, window_start=START, window_end=END)

    assert by_team["cart"].change_failure_rate == 1.0
    assert by_team["cart"].failed_deployment_recovery_time == pytest.approx(4.0)
    assert by_team["ops"].deploy_count == 0
    assert by_team["ops"].failed_deployment_recovery_time is None


def band_of(deploy_days: list[float], *, days: float, start: dt.datetime = START) -> str:
    """The band of deploys made ``deploy_days`` days after ``start``, over ``days`` days."""
    return deployment_frequency_band(
        [start + dt.timedelta(days=d) for d in deploy_days],
        window_start=start,
        window_end=start + dt.timedelta(days=days),
    )


def test_on_demand_needs_two_deploys_on_most_days():
    # 28 days: 15 days with two deploys is most of them, 14 is exactly half.
    assert band_of([d + h for d in range(15) for h in (0.1, 0.5)], days=28) == "on_demand"
    # Every other day (14 of 28, spread over all four weeks) is exactly half: not most.
    assert band_of([d + h for d in range(0, 28, 2) for h in (0.1, 0.5)], days=28) == "daily"
    # A deploy every day, but one a day, is not "multiple deploys per day".
    assert band_of([d + 0.5 for d in range(28)], days=28) == "daily"


def test_a_high_average_rate_with_idle_days_is_not_on_demand():
    # The case: 32 deploys in 31 days, 11 days without one. 12 days have two deploys
    # and 8 have one: the rate is above 1 a day, yet most days do not have multiple deploys.
    busy = [d + h for d in range(12) for h in (0.1, 0.5)] + [d + 0.5 for d in range(12, 20)]
    assert len(busy) == 32
    assert band_of(busy, days=31) == "daily"


def test_daily_needs_a_deploy_in_most_weeks():
    # 28 days are 4 weeks: 3 with a deploy is most, 2 is exactly half.
    assert band_of([1, 8, 15], days=28) == "daily"
    assert band_of([1, 8], days=28) == "weekly"
    # Many deploys in one week of four do not make the other weeks busy.
    assert band_of([d + h for d in range(7) for h in (0.1, 0.5)], days=28) == "weekly"


def test_weekly_needs_a_deploy_in_most_months():
    # 92 days hold 3 whole months of 30.44 days (and a part-month of 0.7 days).
    assert band_of([1, 40], days=92) == "weekly"  # months 1 and 2 of 3
    assert band_of([1, 2], days=92) == "monthly"  # month 1 only
    # A window shorter than a month is one month: one deploy meets it.
    assert band_of([20], days=28) == "weekly"


def test_monthly_needs_a_deploy_in_most_half_years():
    # 365.25 days are 2 half-years: one with a deploy is exactly half.
    assert band_of([1, 2, 3], days=365.25) == "fewer"
    assert band_of([1, 200], days=365.25) == "monthly"
    # 365 days are 1 half-year and a part: the idle part is left out, the busy one counts.
    assert band_of([1], days=365) == "monthly"
    assert band_of([], days=28) == "fewer"


def test_a_busy_part_period_at_the_end_counts_and_an_idle_one_does_not():
    # 10 days: one whole week and 3 days. An idle tail is left out, a busy tail counts.
    assert band_of([1], days=10) == "daily"  # 1 busy of 1 week
    assert band_of([8], days=10) == "weekly"  # week idle, tail busy: 1 of 2
    assert band_of([1, 8], days=10) == "daily"  # 2 of 2


def test_deploy_times_outside_the_window_do_not_count():
    assert band_of([-1, 28, 29], days=28) == "fewer"


def test_lead_time_counts_every_change_by_default_and_can_leave_out_young_ones():
    # A deploy stamped at its head commit ships that commit at age 0 (the Four Keys generator
    # does this); the other two changes are 30 s and 2 h old. One exactly 1 min old counts.
    deploys = [
        DeployEvent(
            id="d",
            team="shop",
            deployed_at=at(5, 12),
            commit_times=(at(5, 12), at(5, 11, 59) + dt.timedelta(seconds=30), at(5, 10)),
        ),
        DeployEvent(id="e", team="shop", deployed_at=at(6, 12), commit_times=(at(6, 11, 59),)),
    ]

    dora = dora_metrics(deploys, [], window_start=START, window_end=END)
    # 0, 30 s, 1 min, 2 h: median (30 s + 60 s) / 2 = 45 s.
    assert dora.lead_time_for_changes == pytest.approx(45 / 3600)
    assert (dora.change_count, dora.short_change_count) == (4, 0)

    cut = dora_metrics(
        deploys, [], window_start=START, window_end=END, min_change_age=FOUR_KEYS_MIN_CHANGE_AGE
    )
    # 1 min and 2 h remain: median (1 + 120) / 2 = 60.5 min.
    assert cut.lead_time_for_changes == pytest.approx(60.5 / 60)
    assert (cut.change_count, cut.short_change_count) == (2, 2)

    by_team = dora_metrics_by_team(
        deploys, [], window_start=START, window_end=END, min_change_age=FOUR_KEYS_MIN_CHANGE_AGE
    )
    assert by_team["shop"].lead_time_for_changes == pytest.approx(60.5 / 60)


def test_a_cut_off_that_leaves_out_every_change_gives_no_lead_time():
    deploys = [DeployEvent(id="d", team="shop", deployed_at=at(5), commit_times=(at(5),))]
    dora = dora_metrics(
        deploys, [], window_start=START, window_end=END, min_change_age=dt.timedelta(minutes=1)
    )
    assert dora.lead_time_for_changes is None
    assert dora.deploy_count == 1
    with pytest.raises(ValueError, match="min_change_age cannot be negative"):
        dora_metrics(
            deploys, [], window_start=START, window_end=END, min_change_age=-dt.timedelta(1)
        )


def test_incident_count_counts_every_incident_started_in_the_window():
    assert (
        incident_count(incidents_example(), window_start=START, window_end=END) == 4
    )  # i1..i4; i5 starts later


# --- validation ----------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected_with_the_field_named():
    naive = dt.datetime(2025, 3, 2, 12)
    with pytest.raises(ValueError, match=r"deploy 'd1': deployed_at must be a timezone-aware"):
        DeployEvent(id="d1", team="shop", deployed_at=naive)
    with pytest.raises(ValueError, match=r"commit_times\[1\] must be a timezone-aware"):
        DeployEvent(id="d1", team="shop", deployed_at=at(3), commit_times=(at(2), naive))
    with pytest.raises(ValueError, match="incident 'i': resolved_at"):
        IncidentEvent(id="i", team="shop", started_at=at(1), resolved_at=naive)
    with pytest.raises(ValueError, match="ticket 't': opened_at"):
        TicketEvent(id="t", team="shop", opened_at=naive)
    with pytest.raises(ValueError, match="adopted_at"):
        AdoptionEvent(team="shop", capability="ci", adopted_at=naive, mandated=False)
    with pytest.raises(ValueError, match="first_deploy_at"):
        FirstDeployEvent(subject="ana", joined_at=at(1), first_deploy_at=naive)
    with pytest.raises(ValueError, match="window_start must be a timezone-aware"):
        dora_metrics([], [], window_start=naive, window_end=at(11))
    with pytest.raises(ValueError, match="at must be a timezone-aware"):
        ticket_backlog([], at=naive)


def test_other_time_zones_are_compared_by_the_instant():
    paris = dt.timezone(dt.timedelta(hours=1))
    # 01:30 in Paris is 00:30 UTC on 1 March: inside the window.
    deploy = DeployEvent(
        id="d", team="shop", deployed_at=dt.datetime(2025, 3, 1, 1, 30, tzinfo=paris)
    )
    early = DeployEvent(
        id="e", team="shop", deployed_at=dt.datetime(2025, 3, 1, 0, 30, tzinfo=paris)
    )

    assert dora_metrics([deploy, early], [], window_start=START, window_end=END).deploy_count == 1


def test_impossible_event_orders_are_rejected():
    with pytest.raises(ValueError, match="is after deployed_at"):
        DeployEvent(id="d", team="shop", deployed_at=at(2), commit_times=(at(3),))
    with pytest.raises(ValueError, match=r"resolved_at .* is before started_at"):
        IncidentEvent(id="i", team="shop", started_at=at(3), resolved_at=at(2))
    with pytest.raises(ValueError, match=r"closed_at .* is before opened_at"):
        TicketEvent(id="t", team="shop", opened_at=at(3), closed_at=at(2))
    with pytest.raises(ValueError, match="developers_waiting must be a whole number"):
        TicketEvent(id="t", team="shop", opened_at=at(3), developers_waiting=0)
    with pytest.raises(ValueError, match=r"first_deploy_at .* is before joined_at"):
        FirstDeployEvent(subject="ana", joined_at=at(3), first_deploy_at=at(2))


def test_an_empty_or_reversed_window_is_rejected():
    with pytest.raises(ValueError, match="must be after window_start"):
        dora_metrics([], [], window_start=at(5), window_end=at(5))
    with pytest.raises(ValueError, match="must be after window_start"):
        blocked_developer_hours([], window_start=at(5), window_end=at(4))


# --- tickets -------------------------------------------------------------------------------------


def tickets_example() -> list[TicketEvent]:
    return [
        TicketEvent(id="t1", team="shop", opened_at=at(7), waiting_on="dba", developers_waiting=2),
        TicketEvent(id="t2", team="shop", opened_at=at(8), waiting_on="dba"),  # exactly 48 h
        TicketEvent(id="t3", team="shop", opened_at=at(1), closed_at=at(9), waiting_on="net"),
        TicketEvent(id="t4", team="shop", opened_at=at(11), waiting_on="net"),  # not yet opened
        TicketEvent(id="t5", team="cart", opened_at=at(9, 12), waiting_on="dba"),
    ]


def test_the_backlog_counts_open_tickets_and_hours_beyond_48():
    backlog = ticket_backlog(tickets_example(), at=at(10))

    assert backlog.open_count == 3  # t1, t2, t5
    assert backlog.blocked_count == 1  # t1 only; t2 is exactly 48 h old
    assert backlog.blocked_developer_hours == pytest.approx(48.0)  # 24 h beyond 48 h x 2 devs
    assert backlog.oldest_age_hours == pytest.approx(72.0)


def test_a_ticket_exactly_48_hours_old_is_not_yet_blocking():
    ticket = TicketEvent(id="t", team="shop", opened_at=at(8))

    assert ticket_backlog([ticket], at=at(10)).blocked_count == 0
    later = ticket_backlog([ticket], at=at(10, 0, 1))
    assert later.blocked_count == 1
    assert later.blocked_developer_hours == pytest.approx(1 / 60)


def test_a_ticket_closed_at_the_moment_is_no_longer_open():
    ticket = TicketEvent(id="t", team="shop", opened_at=at(1), closed_at=at(10))

    backlog = ticket_backlog([ticket], at=at(10))

    assert backlog.open_count == 0
    assert backlog.oldest_age_hours is None
    assert backlog.blocked_developer_hours == 0.0


def test_blocked_hours_in_a_week_add_the_blocked_stretches_inside_it():
    tickets = [
        # Blocked from 3 March, closed 10 March: 48 h of it inside the week.
        TicketEvent(id="a", team="shop", opened_at=at(1), closed_at=at(10)),
        # Blocked from 14 March, still open: 24 h inside, three developers.
        TicketEvent(id="b", team="shop", opened_at=at(12), developers_waiting=3),
        # Closed after 36 h: never blocked.
        TicketEvent(id="c", team="shop", opened_at=at(9), closed_at=at(10, 12)),
        # Closed before the week.
        TicketEvent(id="d", team="shop", opened_at=at(1), closed_at=at(2)),
        # Open since February: blocked the whole week, 168 h.
        TicketEvent(id="e", team="shop", opened_at=at(1, month=2)),
    ]

    hours = blocked_developer_hours(tickets, window_start=at(8), window_end=at(15))

    assert hours == pytest.approx(48 + 72 + 168)


def test_blocked_hours_of_consecutive_windows_add_up():
    tickets = tickets_example()

    first = blocked_developer_hours(tickets, window_start=at(1), window_end=at(9, 12))
    second = blocked_developer_hours(tickets, window_start=at(9, 12), window_end=at(15))
    whole = blocked_developer_hours(tickets, window_start=at(1), window_end=at(15))

    assert first + second == pytest.approx(whole)
    assert whole > 0


def test_the_blocking_threshold_can_be_changed():
    ticket = TicketEvent(id="t", team="shop", opened_at=at(8))

    assert ticket_backlog([ticket], at=at(10), threshold_hours=24).blocked_developer_hours == (
        pytest.approx(24.0)
    )
    with pytest.raises(ValueError, match="threshold_hours must be >= 0"):
        ticket_backlog([ticket], at=at(10), threshold_hours=-1)


# --- adoption ------------------------------------------------------------------------------------


def adoptions_example() -> list[AdoptionEvent]:
    return [
        AdoptionEvent(team="alpha", capability="ci", adopted_at=at(1), mandated=False),
        AdoptionEvent(team="beta", capability="ci", adopted_at=at(1), mandated=True),
        AdoptionEvent(team="gamma", capability="ci", adopted_at=at(1), mandated=True),
        AdoptionEvent(team="gamma", capability="ci", adopted_at=at(2), mandated=False),
        AdoptionEvent(team="gamma", capability="logs", adopted_at=at(2), mandated=False),
        AdoptionEvent(team="delta", capability="logs", adopted_at=at(9), mandated=False),
    ]


def test_voluntary_share_is_over_the_teams_free_to_choose():
    reading = voluntary_adoption(adoptions_example(), teams_total=6)

    # alpha, gamma (logs) and delta chose; beta was only ever mandated and leaves the denominator.
    assert reading == AdoptionReading(
        voluntary_share=3 / 5, voluntary_count=3, mandated_count=1, teams_total=6
    )


def test_mandated_adoption_never_counts_as_voluntary():
    reading = voluntary_adoption(adoptions_example(), teams_total=6, capability="ci")

    # gamma reported ci both ways; the mandate wins. Only alpha chose ci.
    assert reading.voluntary_count == 1
    assert reading.mandated_count == 2
    assert reading.voluntary_share == pytest.approx(1 / 4)


def test_adoption_can_be_read_as_of_a_moment():
    reading = voluntary_adoption(adoptions_example(), teams_total=6, at=at(5))

    assert reading.voluntary_count == 2  # delta adopts on 9 March
    assert reading.voluntary_share == pytest.approx(2 / 5)


def test_adoption_has_no_share_when_no_team_was_free_to_choose():
    adoptions = [
        AdoptionEvent(team="a", capability="ci", adopted_at=at(1), mandated=True),
        AdoptionEvent(team="b", capability="ci", adopted_at=at(1), mandated=True),
    ]

    assert voluntary_adoption(adoptions, teams_total=2).voluntary_share is None
    assert voluntary_adoption([], teams_total=0).voluntary_share is None
    assert voluntary_adoption([], teams_total=4).voluntary_share == 0.0


def test_teams_total_must_cover_the_adopting_teams():
    with pytest.raises(ValueError, match="teams_total is 2 but 4 teams have adoptions"):
        voluntary_adoption(adoptions_example(), teams_total=2)


# --- time to first deploy ------------------------------------------------------------------------


def first_deploys_example() -> list[FirstDeployEvent]:
    return [
        FirstDeployEvent(subject="ana", joined_at=at(1), first_deploy_at=at(3)),  # 2 days
        FirstDeployEvent(subject="ben", joined_at=at(1), first_deploy_at=at(6, 12)),  # 5.5 days
        FirstDeployEvent(subject="cleo", joined_at=at(2), first_deploy_at=at(3)),  # 1 day
        FirstDeployEvent(subject="dan", joined_at=at(2)),  # not deployed yet
    ]


def test_time_to_first_deploy_is_the_median_in_days_of_those_who_deployed():
    assert time_to_first_deploy(first_deploys_example()) == pytest.approx(2.0)


def test_time_to_first_deploy_in_a_window_counts_first_deploys_made_in_it():
    days = time_to_first_deploy(first_deploys_example(), window_start=at(4), window_end=at(11))

    assert days == pytest.approx(5.5)
    assert time_to_first_deploy([FirstDeployEvent(subject="dan", joined_at=at(2))]) is None
    with pytest.raises(ValueError, match="both window_start and window_end"):
        time_to_first_deploy(first_deploys_example(), window_start=at(4))


# --- onto the signal vocabulary ------------------------------------------------------------------


def test_ingested_kinds_belong_to_the_shared_vocabulary():
    assert set(INGESTED_SIGNAL_KINDS) <= set(SIGNAL_KINDS)


def test_signal_readings_map_every_result_onto_its_kind():
    as_of = at(11)
    readings = signal_readings(
        as_of=as_of,
        dora=dora_metrics(
            deploys_example(), incidents_example(), window_start=START, window_end=END
        ),
        backlog=ticket_backlog(tickets_example(), at=as_of),
        blocked_hours=12.5,
        adoption=voluntary_adoption(adoptions_example(), teams_total=6),
        first_deploy_days=2.0,
        incidents=4,
    )

    assert set(readings) == set(INGESTED_SIGNAL_KINDS)
    assert readings["deployment_frequency"] == SignalReading(value=0.4, as_of=as_of)
    assert readings["lead_time_for_changes"].value == pytest.approx(5.0)
    assert readings["change_failure_rate"].value == pytest.approx(0.5)
    assert readings["failed_deployment_recovery_time"].value == pytest.approx(7.0)
    assert readings["deployment_rework_rate"].value == pytest.approx(0.25)
    assert readings["open_tickets"].value == 4.0  # t1, t2, t5 and t4, opened at that very moment
    assert readings["blocked_developer_hours"].value == 12.5  # the windowed figure wins
    assert readings["platform_adoption"].value == pytest.approx(0.6)
    assert readings["time_to_first_deploy"].value == 2.0
    assert readings["incidents"].value == 4.0
    assert all(reading.respondents is None for reading in readings.values())


def test_signal_readings_leave_out_what_has_no_data():
    readings = signal_readings(
        as_of=at(11),
        dora=dora_metrics([], [], window_start=START, window_end=END),
        adoption=voluntary_adoption([], teams_total=0),
    )

    assert readings == {}


def test_a_reading_feeds_an_exit_criterion():
    as_of = at(11)
    readings = signal_readings(
        as_of=as_of, adoption=voluntary_adoption(adoptions_example(), teams_total=6)
    )
    snapshot = OrgSnapshot(organization="acme", name="Acme", as_of=as_of)

    [result] = evaluate_criteria(
        [{"signal": "platform_adoption", "op": ">=", "value": 0.5}],
        snapshot=snapshot,
        signals=readings.get,
    )

    assert result.status == "pass"
    assert result.evidence["value"] == pytest.approx(0.6)
