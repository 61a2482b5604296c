"""Plain words on the pages (issue 17): findings and metrics name teams and people, statuses and
roles read as labels, a team may be typed by its name, a duplicate interaction says what exists,
and a failed post's error sits next to its form, in view."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.urls import reverse

from playbooks.criteria import evaluate_criteria
from teams.analysis import analyze_snapshot, metric_texts
from teams.graph import InteractionEdge, MembershipEdge, OrgSnapshot, PersonNode, TeamNode
from teams.models import Interaction, InteractionMode, Team
from tests.builders import AGENT, MANAGER, WebDemo, client_for
from transform.models import Milestone, MilestoneChange, MilestoneStatus
from transform.plans.exports import finding_rows
from transform.plans.selectors import change_label
from transform.plans.services import status_words
from transform.web.graph_pages import finding_row

AS_OF = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)


class _Text(HTMLParser):
    """The text a reader sees: no tags, no attributes (a CSS class may hold a code)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "option", "select"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "option", "select"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(response: Any) -> str:
    parser = _Text()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


# --- findings and metrics, without a database ----------------------------------------------------


def named_snapshot() -> OrgSnapshot:
    teams = [
        TeamNode(slug="payments", name="Payments", type="stream_aligned"),
        TeamNode(slug="search", name="Search", type="stream_aligned"),
        TeamNode(slug="shop", name="Shop", type="stream_aligned"),
        TeamNode(slug="dba", name="DBA", type="ops_silo", specialty="database"),
        TeamNode(slug="infra", name="Infra", type="platform"),
    ]
    people = [PersonNode(email="ann@example.com", name="Ann Lee")]
    members = [
        MembershipEdge(person=f"{slug}-{i}@example.com", team=slug, role="member")
        for slug in ("payments", "search", "shop", "dba", "infra")
        for i in range(4)
    ] + [
        MembershipEdge(person="ann@example.com", team=slug, role=role)
        for slug, role in (("payments", "member"), ("search", "devops_buddy"), ("shop", "member"))
    ]
    tickets = [
        InteractionEdge(source=slug, target="dba", mode="ticket_dependency", severity="blocking")
        for slug in ("payments", "search", "shop")
    ]
    return OrgSnapshot(
        organization="acme",
        name="Acme",
        as_of=AS_OF,
        teams=teams,
        people=people,
        memberships=members,
        interactions=tickets,
    )


def test_findings_name_teams_and_people_not_slugs_or_codes() -> None:
    report = analyze_snapshot(named_snapshot())
    texts = {f["kind"]: f["explanation"] for f in report["findings"]}

    buddies = [f["explanation"] for f in report["findings"] if f["kind"] == "missing_devops_buddy"]
    assert any(text.startswith("Payments has no DevOps buddy") for text in buddies)
    assert "devops_buddy" not in " ".join(texts.values())
    assert "product_owner" not in " ".join(texts.values())
    assert texts["team_bottleneck"].startswith("DBA (ops silo) is a bottleneck")
    assert "(ops_silo)" not in " ".join(texts.values())
    assert texts["person_bottleneck"].startswith("Ann Lee ")
    assert "ann@example.com" not in " ".join(texts.values())
    assert "Platform team Infra has no product owner" in texts["missing_product_owner"]
    # The machine-readable fields keep the slugs and e-mails.
    [bottleneck] = [f for f in report["findings"] if f["kind"] == "team_bottleneck"]
    assert bottleneck["subjects"][0] == {"type": "team", "slug": "dba"}
    [person] = [f for f in report["findings"] if f["kind"] == "person_bottleneck"]
    assert person["subjects"][0] == {
        "type": "person",
        "email": "ann@example.com",
        "name": "Ann Lee",
    }


def test_a_person_subject_without_a_name_is_named_by_the_e_mail() -> None:
    snapshot = named_snapshot()
    snapshot.people[0] = PersonNode(email="ann@example.com", name="")

    [person] = [
        f for f in analyze_snapshot(snapshot)["findings"] if f["kind"] == "person_bottleneck"
    ]

    assert person["subjects"][0]["name"] == "ann@example.com"


def test_a_finding_concerns_people_by_name_and_old_reports_by_e_mail() -> None:
    subjects = [{"type": "person", "email": "ann@example.com", "name": "Ann Lee"}]
    finding = {"kind": "person_bottleneck", "severity": "low", "subjects": subjects}
    cached = {**finding, "subjects": [{"type": "person", "email": "ann@example.com"}]}

    row = finding_row(finding, team_names={}, org_slug="demo")
    old = finding_row(cached, team_names={}, org_slug="demo")

    assert [s["label"] for s in row["subject_links"]] == ["Ann Lee"]
    assert [s["label"] for s in old["subject_links"]] == ["ann@example.com"]


def test_the_findings_csv_names_people_with_their_e_mail() -> None:
    subjects = [
        {"type": "person", "email": "ann@example.com", "name": "Ann Lee"},
        {"type": "person", "email": "bo@example.com"},
        {"type": "team", "slug": "dba"},
    ]
    finding = {
        "kind": "person_bottleneck",
        "severity": "low",
        "subjects": subjects,
        "explanation": "",
        "suggested_playbook": None,
        "impact": 1.0,
    }

    [row] = finding_rows([finding], team_names={"dba": "DBA"})

    assert row[2] == "Ann Lee (ann@example.com); bo@example.com; DBA (dba)"


def test_metrics_read_as_sentences() -> None:
    metrics = analyze_snapshot(named_snapshot())["metrics"]
    texts = metric_texts(metrics)

    assert metrics["stream_aligned_with_buddy_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert texts["stream_aligned_with_buddy_share"] == (
        "1 of 3 stream-aligned teams has a DevOps buddy (33%)"
    )
    assert texts["ticket_dependencies_on_silos"] == "3 ticket dependencies wait on ops silos"
    assert "0.3333" not in " ".join(texts.values())


# --- the pages ------------------------------------------------------------------------------------


@pytest.fixture
def demo(web_demo_answered: WebDemo) -> WebDemo:
    return web_demo_answered


@pytest.mark.django_db
def test_the_findings_page_says_has_no_devops_buddy_with_team_names(demo: WebDemo) -> None:
    response = client_for("agent").get(
        reverse("web:findings", kwargs={"org_slug": "demo"}) + "?kind=missing_devops_buddy"
    )

    text = visible(response)
    assert response.status_code == 200
    assert "has no DevOps buddy" in text
    assert "devops_buddy member" not in text
    assert re.search(r"Team [a-z-]+ \(", text) is None  # never "Team dba (ops_silo)"
    assert "with buddy share" not in text


@pytest.mark.django_db
def test_the_findings_page_concerns_people_by_name_not_e_mail(demo: WebDemo) -> None:
    response = client_for("agent").get(
        reverse("web:findings", kwargs={"org_slug": "demo"}) + "?kind=person_bottleneck"
    )

    text = visible(response)
    assert response.status_code == 200
    concerns = re.findall(r"Concerns: ([^.]*?) Suggested playbook", text)
    assert concerns
    assert any("Dana Kowalski" in line for line in concerns)
    assert "@" not in " ".join(concerns)


@pytest.mark.django_db
def test_the_findings_page_shows_the_metrics_in_words(demo: WebDemo) -> None:
    text = visible(client_for("agent").get(reverse("web:findings", kwargs={"org_slug": "demo"})))

    assert re.search(r"\d+ of \d+ stream-aligned teams? ha(s|ve) a DevOps buddy \(\d+%\)", text)


@pytest.mark.django_db
def test_a_status_error_reads_in_words_not_codes(demo: WebDemo) -> None:
    agent = client_for("agent")
    url = reverse(
        "web:milestone-status", kwargs={"org_slug": "demo", "milestone_id": demo.started.pk}
    )
    at_risk = agent.post(url, {"to_status": MilestoneStatus.AT_RISK, "reason": "vendor late"})
    assert at_risk.status_code == 302

    refused = agent.post(url, {"to_status": MilestoneStatus.PLANNED})

    assert refused.status_code == 409
    text = visible(refused)
    assert "cannot go from at risk to planned" in text
    assert "at_risk" not in text
    assert "in_progress" not in text


@pytest.mark.django_db
def test_roles_show_by_label_on_the_pages(demo: WebDemo) -> None:
    manager = client_for("manager")
    for name in ("web:my-team", "web:plans", "web:findings", "web:graph"):
        text = visible(manager.get(reverse(name, kwargs={"org_slug": "demo"})))
        assert "engineering_manager" not in text, name
        assert "at_risk" not in text, name
    assert "engineering manager" in visible(
        manager.get(reverse("web:my-team", kwargs={"org_slug": "demo"}))
    )


def _team_url(name: str, team: str) -> str:
    return reverse(f"web:my-team-{name}", kwargs={"org_slug": "demo", "team_slug": team})


@pytest.mark.django_db
def test_a_team_typed_by_its_name_is_accepted(demo: WebDemo) -> None:
    response = client_for("manager").post(
        _team_url("interaction-add", "search"),
        {"target": "payments squad", "mode": "x_as_a_service", "severity": ""},
    )

    assert response.status_code == 302
    assert Interaction.objects.filter(
        source__slug="search", target__slug="payments", mode=InteractionMode.X_AS_A_SERVICE
    ).exists()


@pytest.mark.django_db
def test_an_unknown_team_lists_the_teams_instead_of_a_pattern(demo: WebDemo) -> None:
    response = client_for("manager").post(
        _team_url("interaction-add", "search"),
        {"target": "Paymnts Squad", "mode": "collaboration", "severity": ""},
    )

    assert response.status_code == 400
    text = visible(response)
    assert "No team called 'Paymnts Squad'. Teams: " in text
    assert "Payments Squad (payments)" in text
    assert "should match pattern" not in text
    assert "Team: No team" not in text


@pytest.mark.django_db
def test_a_shared_name_says_which_teams_match(demo: WebDemo) -> None:
    Team.objects.filter(organization=demo.organization, slug="catalog").update(
        name="Payments Squad"
    )

    response = client_for("manager").post(
        _team_url("interaction-add", "search"),
        {"target": "Payments Squad", "mode": "collaboration", "severity": ""},
    )

    assert response.status_code == 400
    text = visible(response)
    assert "2 teams are called 'Payments Squad': " in text
    assert "(catalog)" in text
    assert "(payments)" in text


@pytest.mark.django_db
def test_a_duplicate_interaction_says_what_exists(demo: WebDemo) -> None:
    manager = client_for("manager")
    first = manager.post(
        _team_url("interaction-add", "search"),
        {"target": "payments", "mode": "collaboration", "severity": ""},
    )

    again = manager.post(
        _team_url("interaction-add", "search"),
        {"target": "Payments Squad", "mode": "collaboration", "severity": ""},
    )

    assert first.status_code == 302
    assert again.status_code == 400
    text = visible(again)
    assert "Search Squad already has a collaboration with Payments Squad; edit it instead." in text
    assert "The interaction is not valid." not in text


@pytest.mark.django_db
def test_the_error_sits_next_to_its_form_and_takes_the_focus(demo: WebDemo) -> None:
    response = client_for("manager").post(
        _team_url("interaction-add", "search"),
        {"target": "nobody", "mode": "collaboration", "severity": ""},
    )

    html = response.content.decode()
    section = html.split('id="team-search"', 1)[1].split("</section>", 1)[0]
    assert 'id="team-error-search"' in section
    assert re.search(
        r'<p class="form-error" role="alert" id="team-error-search" tabindex="-1" autofocus>',
        section,
    )
    assert html.count("autofocus") == 1


@pytest.mark.django_db
def test_a_change_names_its_team_by_name(demo: WebDemo) -> None:
    agent = client_for("agent")
    url = reverse(
        "web:milestone-change", kwargs={"org_slug": "demo", "milestone_id": demo.started.pk}
    )

    typed = agent.post(
        url, {"kind": "add_devops_buddy", "team": "Payments Squad", "person": MANAGER}
    )
    as_json = agent.post(
        url,
        {
            "change_json": json.dumps(
                {"kind": "add_devops_buddy", "team": "Search Squad", "person": MANAGER}
            )
        },
    )
    unknown = agent.post(url, {"kind": "add_devops_buddy", "team": "Paymnts", "person": MANAGER})

    assert typed.status_code == 302
    assert as_json.status_code == 302
    teams = [c.change["team"] for c in MilestoneChange.objects.filter(milestone=demo.started)]
    assert sorted(teams) == ["payments", "search"]
    assert unknown.status_code == 400
    text = visible(unknown)
    assert "No team called 'Paymnts'. Teams: " in text
    assert "String should match pattern" not in text
    assert 'id="change-error"' in unknown.content.decode()


@pytest.mark.django_db
def test_the_scenario_names_metrics_in_words(demo: WebDemo) -> None:
    agent = client_for("agent")
    attached = agent.post(
        reverse(
            "web:milestone-change", kwargs={"org_slug": "demo", "milestone_id": demo.started.pk}
        ),
        {"kind": "add_devops_buddy", "team": "Payments Squad", "person": MANAGER},
    )
    assert attached.status_code == 302

    response = agent.get(
        reverse("web:scenario", kwargs={"org_slug": "demo"})
        + f"?transformation={demo.transformation.pk}"
    )

    text = visible(response)
    assert response.status_code == 200
    assert "Stream-aligned teams with a DevOps buddy" in text
    assert "with buddy share" not in text
    assert re.search(r"Stream-aligned teams with a DevOps buddy \d+%", text)
    # What changes in the graph: the person and team by name, the role in words.
    changes = text.split("What changes in the graph", 1)[1]
    assert "Marcus Reed in Payments Squad as DevOps buddy" in changes
    assert MANAGER not in changes
    assert "devops_buddy" not in changes


# --- exit criteria, milestones and their messages ---------------------------------------------


def test_exit_criteria_messages_name_teams_and_types_in_words() -> None:
    checks: list[dict[str, Any]] = [
        {"graph": "no_ticket_dependencies_on_gatekeepers"},
        {"graph": "every_stream_team_has_devops_buddy"},
        {"graph": "ops_silos_merged"},
        {"graph": "no_person_bottlenecks"},
        {"signal": "platform_satisfaction", "op": ">=", "value": 3},
    ]
    gatekeepers, buddies, silos, people, signal = evaluate_criteria(
        checks, snapshot=named_snapshot(), signals=lambda kind: None
    )

    assert gatekeepers.message.startswith(
        "3 ticket dependencies still wait on DBA (ops silo), from Payments, Search, Shop: "
        "Payments → DBA"
    )
    assert buddies.message == "2 of 3 stream-aligned teams have no DevOps buddy: Payments, Shop."
    assert silos.message == "1 ops silo team is left: DBA."
    assert "Ann Lee" in people.message
    assert signal.message == "No data yet for platform satisfaction."
    everything = " ".join(r.message for r in (gatekeepers, buddies, silos, people, signal))
    for code in ("dba", "ops_silo", "devops_buddy", "ann@example.com", "platform_satisfaction"):
        assert code not in everything
    # The evidence keeps the slugs for programs.
    assert gatekeepers.evidence["teams"] == ["dba"]
    assert buddies.evidence["teams"] == ["payments", "shop"]


def test_a_change_is_named_by_its_milestone_title_and_kind_in_words() -> None:
    milestone = Milestone(key="kickoff", title="Kick off the pilot")
    row = MilestoneChange(milestone=milestone, position=2, change={"kind": "merge_teams"}, pk=7)

    assert change_label(row) == "Milestone 'Kick off the pilot', change 2 (merge, id 7)"


def test_a_status_refusal_says_statuses_in_words_and_keeps_codes_in_extra() -> None:
    assert status_words("at_risk") == "at risk"
    assert status_words("in_progress") == "in progress"
    assert status_words("on_track") == "on track"


@pytest.mark.django_db
def test_the_status_message_names_the_milestone_by_its_title(demo: WebDemo) -> None:
    agent = client_for("agent")
    url = reverse(
        "web:milestone-status", kwargs={"org_slug": "demo", "milestone_id": demo.started.pk}
    )

    response = agent.post(
        url, {"to_status": MilestoneStatus.AT_RISK, "reason": "vendor late"}, follow=True
    )

    text = visible(response)
    assert f"Milestone '{demo.started.title}' is now at risk." in text
    assert f"Milestone '{demo.started.key}'" not in text


@pytest.mark.django_db
def test_the_milestone_page_links_criteria_teams_by_name(demo: WebDemo) -> None:
    failing = next(
        m
        for m in demo.transformation.milestones.order_by("position")
        if any(c.get("graph") == "ops_silos_merged" for c in m.exit_criteria)
    )

    response = client_for("agent").get(
        reverse("web:milestone", kwargs={"org_slug": "demo", "milestone_id": failing.pk})
    )

    html = response.content.decode()
    section = html.split('id="criteria-heading"', 1)[1].split("</section>", 1)[0]
    teams_url = reverse("web:team", kwargs={"org_slug": "demo", "team_slug": "x"})[: -len("x/")]
    links = re.findall(rf'<a href="{teams_url}([-\w]+)/">([^<]+)</a>', section)
    names = dict(Team.objects.filter(organization=demo.organization).values_list("slug", "name"))
    assert links
    for slug, text in links:
        assert text == names[slug]
        assert text != slug
    text = visible(response)
    assert "Not met" in text
    criteria_text = text.split("Exit criteria", 1)[1].split("Actions", 1)[0]
    assert re.search(r"\b(pass|fail|unknown)\b", criteria_text) is None
    assert "(ops_silo)" not in criteria_text


@pytest.mark.django_db
def test_the_milestone_history_names_people_not_e_mails_or_logins(demo: WebDemo) -> None:
    agent = client_for("agent")
    reassigned = agent.post(
        reverse(
            "web:milestone-reassign",
            kwargs={"org_slug": "demo", "milestone_id": demo.started.pk},
        ),
        {"owner": MANAGER, "reason": "Marcus runs the mapping"},
    )
    assert reassigned.status_code == 302

    response = agent.get(
        reverse("web:milestone", kwargs={"org_slug": "demo", "milestone_id": demo.started.pk})
    )

    html = response.content.decode()
    history = html.split('id="history', 1)[1].split("</table>", 1)[0]
    assert "Amara Nwosu → Marcus Reed" in " ".join(history.split())
    assert AGENT not in history
    assert MANAGER not in history
    assert "<td>agent</td>" not in history  # the login's username
    assert "<td>Amara Nwosu</td>" in history
