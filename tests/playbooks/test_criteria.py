"""Exit criteria on hand-built organisation graphs and signal readings: no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from playbooks import criteria as criteria_module
from playbooks.criteria import (
    GRAPH_CHECKS,
    SIGNAL_KINDS,
    CriterionResult,
    SignalReading,
    evaluate_criteria,
)
from teams.graph import InteractionEdge, MembershipEdge, OrgSnapshot, PersonNode, TeamNode

AS_OF = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "exit-criteria.md"


def org(
    teams: dict[str, str],
    *,
    members: dict[str, list[str]] | None = None,
    roles: dict[tuple[str, str], str] | None = None,
    interactions: list[InteractionEdge] | None = None,
    thresholds: dict[str, object] | None = None,
) -> OrgSnapshot:
    """``teams``: slug -> type; ``members``: slug -> e-mails, role "member" unless in ``roles``."""
    members = members or {}
    roles = roles or {}
    emails = sorted({email for people in members.values() for email in people})
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=AS_OF,
        teams=[
            TeamNode(
                slug=slug,
                name=slug,
                type=kind,
                specialty="database" if kind == "ops_silo" else "",
            )
            for slug, kind in teams.items()
        ],
        people=[PersonNode(email=email, name=email) for email in emails],
        memberships=[
            MembershipEdge(person=email, team=slug, role=roles.get((slug, email), "member"))
            for slug, people in members.items()
            for email in people
        ],
        interactions=interactions or [],
        thresholds=dict(thresholds or {}),
    )


def crew(slug: str, size: int = 4) -> list[str]:
    return [f"{slug}-{i}@example.com" for i in range(size)]


def ticket(source: str, target: str, severity: str = "slowing") -> InteractionEdge:
    return InteractionEdge(
        source=source, target=target, mode="ticket_dependency", severity=severity
    )


def no_signals(kind: str) -> SignalReading | None:
    return None


def check(name: str, snapshot: OrgSnapshot, today: dt.date | None = None) -> CriterionResult:
    [result] = evaluate_criteria(
        [{"graph": name}], snapshot=snapshot, signals=no_signals, today=today
    )
    return result


def signal(criterion: dict[str, Any], reading: SignalReading | None) -> CriterionResult:
    [result] = evaluate_criteria([criterion], snapshot=org({}), signals=lambda kind: reading)
    return result


# --- graph checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["no_ticket_dependencies_on_gatekeepers", "no_ticket_dependencies_on_ops_silos"]
)
def test_ticket_dependencies_on_ops_silos_fail_naming_the_silos_and_the_waiting_teams(name):
    snapshot = org(
        {"pay": "stream_aligned", "shop": "stream_aligned", "dba": "ops_silo", "net": "ops_silo"},
        interactions=[
            ticket("pay", "dba", "blocking"),
            ticket("shop", "dba"),
            ticket("pay", "shop"),
        ],
    )

    result = check(name, snapshot)

    assert result.status == "fail"
    assert result.evidence == {
        "count": 2,
        "teams": ["dba"],
        "dependent_teams": ["pay", "shop"],
        "dependencies": [
            {"source": "pay", "target": "dba", "severity": "blocking"},
            {"source": "shop", "target": "dba", "severity": "slowing"},
        ],
        "blocking": 1,
        "ops_silos": 2,
        "platform_teams": 0,
        "former_silos": [],
    }
    assert (
        "2 ticket dependencies still wait on dba (ops silo), from pay, shop: pay → dba, shop → dba"
        in result.message
    )


def test_ticket_dependencies_on_a_platform_team_fail_the_gatekeeper_check():
    snapshot = org(
        {"pay": "stream_aligned", "platform": "platform", "dba": "ops_silo"},
        interactions=[
            ticket("pay", "platform"),
            InteractionEdge(source="pay", target="dba", mode="x_as_a_service"),
        ],
    )

    result = check("no_ticket_dependencies_on_ops_silos", snapshot)

    assert result.status == "fail"
    assert result.evidence["teams"] == ["platform"]
    assert "platform (platform team)" in result.message


def test_ticket_dependencies_on_a_former_silo_fail_whatever_its_type_now():
    snapshot = org(
        {"pay": "stream_aligned", "ops": "stream_aligned", "shop": "stream_aligned"},
        interactions=[ticket("pay", "ops"), ticket("pay", "shop")],
    )

    [result] = evaluate_criteria(
        [{"graph": "no_ticket_dependencies_on_gatekeepers"}],
        snapshot=snapshot,
        signals=no_signals,
        former_silos={"ops", "retired-silo"},
    )

    assert result.status == "fail"
    assert result.evidence["teams"] == ["ops"]
    assert result.evidence["former_silos"] == ["ops"]
    assert "ops (succeeds an ops silo)" in result.message


def test_ticket_dependencies_between_stream_teams_and_services_pass_the_gatekeeper_check():
    snapshot = org(
        {"pay": "stream_aligned", "shop": "stream_aligned", "platform": "platform"},
        interactions=[
            ticket("pay", "shop"),
            InteractionEdge(source="pay", target="platform", mode="x_as_a_service"),
        ],
    )

    result = check("no_ticket_dependencies_on_gatekeepers", snapshot)

    assert result.status == "pass"
    assert result.evidence["count"] == 0


def test_every_stream_team_has_a_buddy_passes_when_each_has_one():
    snapshot = org(
        {"pay": "stream_aligned", "shop": "stream_aligned", "core": "platform"},
        members={"pay": crew("pay"), "shop": crew("shop")},
        roles={
            ("pay", "pay-0@example.com"): "devops_buddy",
            ("shop", "shop-1@example.com"): "devops_buddy",
        },
    )

    result = check("every_stream_team_has_devops_buddy", snapshot)

    assert result.status == "pass"
    assert result.evidence == {"count": 0, "teams": [], "stream_aligned_teams": 2}


def test_every_stream_team_has_a_buddy_fails_naming_the_teams_without_one():
    snapshot = org(
        {"pay": "stream_aligned", "shop": "stream_aligned", "cart": "stream_aligned"},
        members={"pay": crew("pay"), "shop": crew("shop"), "cart": crew("cart")},
        roles={("pay", "pay-0@example.com"): "devops_buddy"},
    )

    result = check("every_stream_team_has_devops_buddy", snapshot)

    assert result.status == "fail"
    assert result.evidence == {"count": 2, "teams": ["cart", "shop"], "stream_aligned_teams": 3}
    assert "cart, shop" in result.message


def test_every_stream_team_has_a_buddy_is_unknown_without_stream_aligned_teams():
    result = check("every_stream_team_has_devops_buddy", org({"a": "unclassified"}))

    assert result.status == "unknown"
    assert "no stream-aligned teams" in result.message


def test_platform_team_has_product_owner_passes_when_every_platform_team_has_one():
    snapshot = org(
        {"core": "platform", "data": "platform"},
        members={"core": crew("core"), "data": crew("data")},
        roles={
            ("core", "core-0@example.com"): "product_owner",
            ("data", "data-2@example.com"): "product_owner",
        },
    )

    result = check("platform_team_has_product_owner", snapshot)

    assert result.status == "pass"
    assert result.evidence == {"count": 0, "teams": [], "platform_teams": 2}


def test_platform_team_has_product_owner_fails_naming_the_platform_without_one():
    snapshot = org(
        {"core": "platform", "data": "platform"},
        members={"core": crew("core"), "data": crew("data")},
        roles={("core", "core-0@example.com"): "product_owner"},
    )

    result = check("platform_team_has_product_owner", snapshot)

    assert result.status == "fail"
    assert result.evidence == {"count": 1, "teams": ["data"], "platform_teams": 2}


def test_platform_team_has_product_owner_fails_while_there_is_no_platform_team():
    result = check("platform_team_has_product_owner", org({"pay": "stream_aligned"}))

    assert result.status == "fail"
    assert result.evidence["platform_teams"] == 0
    assert "no platform team yet" in result.message


def test_no_person_bottlenecks_fails_naming_the_person_spread_over_three_teams():
    teams = {"pay": "stream_aligned", "shop": "stream_aligned", "cart": "stream_aligned"}
    members = {slug: [*crew(slug), "ops@example.com"] for slug in teams}

    result = check("no_person_bottlenecks", org(teams, members=members))

    assert result.status == "fail"
    assert result.evidence["people"] == ["ops@example.com"]
    assert result.evidence["severities"] == {"ops@example.com": "medium"}
    assert result.evidence["teams"] == ["cart", "pay", "shop"]
    assert "ops@example.com (medium)" in result.message


def test_no_person_bottlenecks_passes_when_nobody_spans_teams():
    teams = {"pay": "stream_aligned", "shop": "stream_aligned"}

    result = check("no_person_bottlenecks", org(teams, members={s: crew(s) for s in teams}))

    assert result.status == "pass"
    assert result.evidence["count"] == 0


def test_no_person_bottlenecks_is_unknown_without_any_membership():
    result = check("no_person_bottlenecks", org({"pay": "stream_aligned"}))

    assert result.status == "unknown"


def test_a_collaboration_past_its_expected_end_fails_the_long_running_check():
    snapshot = org(
        {"pay": "stream_aligned", "core": "platform"},
        interactions=[
            InteractionEdge(
                source="pay",
                target="core",
                mode="collaboration",
                since=dt.date(2026, 10, 1),
                expected_end=dt.date(2027, 1, 31),
            )
        ],
    )

    late = check("no_long_running_collaborations", snapshot, today=dt.date(2027, 2, 15))
    on_time = check("no_long_running_collaborations", snapshot, today=dt.date(2027, 1, 15))

    assert late.status == "fail"
    assert late.evidence["collaborations"] == [{"source": "pay", "target": "core"}]
    assert late.evidence["teams"] == ["core", "pay"]
    assert on_time.status == "pass"
    assert on_time.evidence["collaborations_in_graph"] == 1


def test_ops_silos_merged_fails_while_an_ops_silo_team_is_left():
    snapshot = org({"dba": "ops_silo", "net": "ops_silo", "core": "platform"})

    result = check("ops_silos_merged", snapshot)

    assert result.status == "fail"
    assert result.evidence == {"count": 2, "teams": ["dba", "net"]}
    assert "dba, net" in result.message


def test_ops_silos_merged_passes_when_no_ops_silo_is_left():
    assert check("ops_silos_merged", org({"core": "platform"})).status == "pass"


def test_no_team_bottlenecks_fails_for_a_team_three_teams_wait_on():
    teams = {
        "a": "stream_aligned",
        "b": "stream_aligned",
        "c": "stream_aligned",
        "core": "platform",
    }
    snapshot = org(teams, interactions=[ticket(s, "core") for s in ("a", "b", "c")])

    result = check("no_team_bottlenecks", snapshot)
    calm = check("no_team_bottlenecks", org(teams, interactions=[ticket("a", "core")]))

    assert result.status == "fail"
    assert result.evidence == {"count": 1, "teams": ["core"]}
    assert calm.status == "pass"


def test_no_cognitive_overload_fails_for_a_small_team_with_many_partners():
    partners = {f"p{i}": "platform" for i in range(5)}
    snapshot = org(
        {"pay": "stream_aligned", **partners},
        members={"pay": crew("pay", size=2)},
        interactions=[
            InteractionEdge(source="pay", target=slug, mode="x_as_a_service") for slug in partners
        ],
    )

    result = check("no_cognitive_overload", snapshot)
    calm = check("no_cognitive_overload", org({"pay": "stream_aligned"}))

    assert result.status == "fail"
    assert result.evidence["teams"] == ["pay"]
    assert calm.status == "pass"


def test_every_team_classified_fails_naming_unclassified_teams():
    result = check("every_team_classified", org({"x": "unclassified", "pay": "stream_aligned"}))
    calm = check("every_team_classified", org({"pay": "stream_aligned"}))

    assert result.status == "fail"
    assert result.evidence == {"count": 1, "teams": ["x"]}
    assert calm.status == "pass"


@pytest.mark.parametrize("name", GRAPH_CHECKS)
def test_every_graph_check_is_unknown_on_a_graph_without_teams(name):
    result = check(name, org({}))

    assert result.status == "unknown"
    assert "no teams" in result.message


def test_invalid_analysis_thresholds_make_finding_checks_unknown_but_not_the_others():
    snapshot = org(
        {"dba": "ops_silo", "pay": "stream_aligned"},
        thresholds={"person_bottleneck_min_teams": "three"},
    )

    results = evaluate_criteria(
        [{"graph": "no_person_bottlenecks"}, {"graph": "ops_silos_merged"}],
        snapshot=snapshot,
        signals=no_signals,
    )

    assert [r.status for r in results] == ["unknown", "fail"]
    assert "person_bottleneck_min_teams" in results[0].message


def test_the_analysis_runs_once_however_many_graph_checks_there_are(monkeypatch):
    calls = []
    real = criteria_module.analyze_snapshot

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(criteria_module, "analyze_snapshot", counting)
    snapshot = org({"pay": "stream_aligned", "core": "platform"})

    evaluate_criteria(
        [{"graph": name} for name in GRAPH_CHECKS], snapshot=snapshot, signals=no_signals
    )

    assert len(calls) == 1


# --- signal thresholds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (">=", 3.5, "pass"),
        (">=", 3.6, "fail"),
        (">", 3.4, "pass"),
        (">", 3.5, "fail"),
        ("<=", 3.5, "pass"),
        ("<=", 3.4, "fail"),
        ("<", 3.6, "pass"),
        ("<", 3.5, "fail"),
        ("==", 3.5, "pass"),
        ("==", 3.4, "fail"),
    ],
)
def test_each_comparison_op_passes_or_fails_on_the_reading(op, value, expected):
    result = signal(
        {"signal": "platform_satisfaction", "op": op, "value": value, "min_respondents": 5},
        SignalReading(value=3.5, respondents=12, as_of=AS_OF),
    )

    assert result.status == expected
    assert result.evidence == {
        "value": 3.5,
        "threshold": value,
        "op": op,
        "respondents": 12,
        "min_respondents": 5,
        "as_of": "2027-03-01T12:00:00+00:00",
        "period": None,
    }


def test_equality_tolerates_floating_point_noise_in_a_computed_reading():
    result = signal(
        {"signal": "change_failure_rate", "op": "==", "value": 0.3},
        SignalReading(value=0.1 + 0.2, respondents=None, as_of=None),
    )

    assert result.status == "pass"


def test_a_signal_without_data_is_unknown_never_pass():
    result = signal({"signal": "platform_satisfaction", "op": ">=", "value": 3}, None)

    assert result.status == "unknown"
    assert result.message == "No data yet for platform satisfaction."
    assert result.evidence["value"] is None


def test_too_few_respondents_is_unknown_with_the_count_and_the_value_withheld():
    result = signal(
        {"signal": "adkar_desire", "op": ">=", "value": 3, "min_respondents": 5},
        SignalReading(value=4.5, respondents=3, as_of=AS_OF),
    )

    assert result.status == "unknown"
    assert result.message == "Only 3 respondents for ADKAR desire, 5 needed before it counts."
    assert result.evidence["respondents"] == 3
    assert result.evidence["value"] is None


def test_exactly_the_minimum_of_respondents_counts():
    result = signal(
        {"signal": "adkar_desire", "op": ">=", "value": 3, "min_respondents": 5},
        SignalReading(value=4.5, respondents=5, as_of=None),
    )

    assert result.status == "pass"
    assert result.message == "ADKAR desire is 4.5, 5 respondents; >= 3 is required."


def test_a_minimum_of_respondents_on_a_reading_without_respondents_is_unknown():
    result = signal(
        {"signal": "deployment_frequency", "op": ">=", "value": 1, "min_respondents": 2},
        SignalReading(value=7, respondents=None, as_of=None),
    )

    assert result.status == "unknown"
    assert "no respondent count" in result.message


def test_a_failed_threshold_says_it_is_not_met():
    result = signal(
        {"signal": "blocked_developer_hours", "op": "<", "value": 10},
        SignalReading(value=14, respondents=None, as_of=None),
    )

    assert result.status == "fail"
    assert result.message == "Blocked developer hours is 14; < 10 is required, not met."


def test_results_come_back_in_order_and_as_json_ready_dicts():
    snapshot = org({"dba": "ops_silo"})
    criteria: list[dict[str, Any]] = [
        {"signal": "incidents", "op": "<=", "value": 2, "min_respondents": None},
        {"graph": "ops_silos_merged"},
    ]

    results = evaluate_criteria(criteria, snapshot=snapshot, signals=no_signals)

    assert [r.as_dict()["status"] for r in results] == ["unknown", "fail"]
    assert results[1].as_dict() == {
        "criterion": {"graph": "ops_silos_merged"},
        "status": "fail",
        "message": "1 ops silo team is left: dba.",
        "evidence": {"count": 1, "teams": ["dba"]},
    }


# --- validation and vocabulary -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        ({"graph": "no_silos"}, "exit criterion 2: unknown graph check 'no_silos'"),
        ({"signal": "happiness", "op": ">=", "value": 1}, "unknown signal kind 'happiness'"),
        ({"signal": "incidents", "op": "=>", "value": 1}, "op must be one of"),
        ({"signal": "incidents", "op": "<", "value": "1"}, "value must be a finite number"),
        ({"signal": "incidents", "op": "<", "value": 1, "min_respondents": 0}, "min_respondents"),
        ({"graph": "ops_silos_merged", "signal": "incidents"}, "exactly one of"),
        ({"graph": "ops_silos_merged", "why": "x"}, "unknown key(s) why"),
    ],
)
def test_malformed_criteria_are_refused_before_anything_is_evaluated(criterion, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate_criteria(
            [{"graph": "ops_silos_merged"}, criterion], snapshot=org({}), signals=no_signals
        )


def test_the_docs_describe_every_graph_check_and_signal_kind():
    text = DOCS.read_text()

    missing = [name for name in (*GRAPH_CHECKS, *SIGNAL_KINDS) if f"`{name}`" not in text]

    assert missing == []


def test_a_measured_criterion_passes_once_a_reading_exists():
    criterion = {"signal": "blocked_developer_hours", "op": "measured"}

    assert signal(criterion, None).status == "unknown"
    result = signal(criterion, SignalReading(value=586.857, as_of=AS_OF))
    assert result.status == "pass"
    assert result.message == "Blocked developer hours is measured: 586.857."


def test_a_stored_criterion_that_cannot_fail_is_unknown_never_pass():
    result = signal(
        {"signal": "westrum_score", "op": ">=", "value": 1}, SignalReading(value=6.0, as_of=AS_OF)
    )

    assert result.status == "unknown"
    assert result.message == (
        "Westrum culture score: >= 1 cannot fail: westrum_score ranges from 1 to 7, "
        "so it cannot judge the milestone."
    )


def test_a_reading_over_a_period_names_the_figure_and_the_period_the_verdict_used():
    result = signal(
        {"signal": "blocked_developer_hours", "op": "<=", "value": 400},
        SignalReading(
            value=586.857, as_of=AS_OF, period=(dt.date(2026, 11, 30), dt.date(2026, 12, 13))
        ),
    )

    assert result.status == "fail"
    assert result.message == (
        "Blocked developer hours was 586.857 in the period 2026-11-30 – 2026-12-13; "  # noqa: RUF001
        "≤ 400 is required, not met."
    )
    assert result.evidence["period"] == {"start": "2026-11-30", "end": "2026-12-13"}


def test_a_figure_of_a_period_still_open_says_up_to_when_it_counts():
    result = signal(
        {"signal": "blocked_developer_hours", "op": "<=", "value": 400},
        SignalReading(
            value=120.0,
            as_of=dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC),
            period=(dt.date(2026, 11, 30), dt.date(2026, 12, 13)),
        ),
    )

    assert result.status == "pass"
    assert result.message == (
        "Blocked developer hours was 120 in the period 2026-11-30 – 2026-12-13 "  # noqa: RUF001
        "so far (to 2026-12-06 23:00 UTC); ≤ 400 is required."
    )
