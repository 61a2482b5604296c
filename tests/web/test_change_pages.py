"""The milestone page's topology changes through Django's test client (docs/web-plan.md): a form
per kind of change, with teams and people typed by name, attaching through the API's service;
problems next to the field they are about; the changes read as sentences; delete, enact and the
preview link, with the API's access rules; a query count that does not grow with the changes."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from teams.models import Membership, Organization, OrganizationRole, Role, Team
from tests.builders import MANAGER, MEMBER, WebDemo, client_for
from transform.models import EventKind, MilestoneChange
from transform.plans.changes import milestone_change_add, milestone_changes_enact

pytestmark = pytest.mark.django_db

BUDDY = "kenji.sato@democorp.example"


@pytest.fixture
def demo(web_demo_answered: WebDemo) -> WebDemo:
    return web_demo_answered


def url(demo: WebDemo, name: str = "milestone", **kwargs: Any) -> str:
    return reverse(
        f"web:{name}", kwargs={"org_slug": "demo", "milestone_id": demo.started.pk, **kwargs}
    )


def visible(response: Any) -> str:
    """The page's text as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def field_error(response: Any, kind: str, field: str) -> str:
    """The problem shown next to ``field`` of ``kind``'s form ('' when none)."""
    html = response.content.decode()
    found = re.search(
        rf'<p class="field-error" id="change-{kind}-{field}-error">(.*?)</p>', html, flags=re.S
    )
    return unescape(found.group(1)) if found else ""


def stored() -> list[dict[str, Any]]:
    return [row.change for row in MilestoneChange.objects.order_by("id")]


# Each kind's form as a person fills it (names, not slugs or e-mails), and the change it attaches.
VALID: list[tuple[dict[str, str], dict[str, Any]]] = [
    (
        {
            "kind": "merge_teams",
            "team_1": "Database Administration",
            "team_2": "networking",
            "team_3": "Backend Operations",
            "into": "Infrastructure Platform",
            "type": "platform",
        },
        {
            "kind": "merge_teams",
            "teams": ["dba", "networking", "backend-ops"],
            "into": "infrastructure-platform",
            "name": "Infrastructure Platform",
            "type": "platform",
        },
    ),
    (
        {"kind": "add_devops_buddy", "team": "Payments Squad", "person": "Kenji Sato"},
        {"kind": "add_devops_buddy", "team": "payments", "person": BUDDY},
    ),
    (
        {
            "kind": "add_product_owner",
            "team": "Networking",
            "person": "Chloe Martin",
            "allocation_percent": "50",
        },
        {
            "kind": "add_product_owner",
            "team": "networking",
            "person": MEMBER,
            "allocation_percent": 50,
        },
    ),
    (
        {
            "kind": "move_person",
            "person": "chloe.martin@democorp.example",
            "from_team": "Search Squad",
            "to_team": "Payments Squad",
        },
        {"kind": "move_person", "person": MEMBER, "from_team": "search", "to_team": "payments"},
    ),
    (
        {
            "kind": "create_team",
            "name": "Data Platform",
            "type": "platform",
            "unit": "infrastructure",
        },
        {
            "kind": "create_team",
            "slug": "data-platform",
            "name": "Data Platform",
            "type": "platform",
            "unit": "infrastructure",
        },
    ),
    (
        {
            "kind": "split_team",
            "team": "Search Squad",
            "part_1_name": "Search Ranking",
            "part_1_members": "Kenji Sato\nfatima.zahra@democorp.example",
        },
        {
            "kind": "split_team",
            "team": "search",
            "into": [
                {
                    "slug": "search-ranking",
                    "name": "Search Ranking",
                    "members": [BUDDY, "fatima.zahra@democorp.example"],
                }
            ],
        },
    ),
    (
        {
            "kind": "change_interaction_mode",
            "source": "Payments Squad",
            "target": "Database Administration",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        },
        {
            "kind": "change_interaction_mode",
            "source": "payments",
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        },
    ),
    (
        {
            "kind": "change_interaction_end",
            "source": "Cloud Enablement",
            "target": "Checkout Squad",
            "mode": "collaboration",
            "expected_end": "2027-01-29",
        },
        {
            "kind": "change_interaction_end",
            "source": "cloud-enablement",
            "target": "checkout",
            "mode": "collaboration",
            "expected_end": "2027-01-29",
        },
    ),
    (
        {"kind": "change_role", "team": "Search Squad", "person": "Kenji Sato", "role": "lead"},
        {"kind": "change_role", "team": "search", "person": BUDDY, "role": "lead"},
    ),
    (
        {"kind": "remove_person", "team": "Search Squad", "person": "Diego Alvarez"},
        {"kind": "remove_person", "team": "search", "person": "diego.alvarez@democorp.example"},
    ),
]

# Each kind's form with one mistake, the field it is shown next to, and words of the problem.
INVALID: list[tuple[dict[str, str], str, str]] = [
    (
        {"kind": "merge_teams", "team_1": "DBA team", "team_2": "Networking", "into": "X"},
        "team_1",
        "No team called 'DBA team'. Teams: ",
    ),
    (
        {"kind": "add_devops_buddy", "team": "Payments Squad", "person": "Nobody Here"},
        "person",
        "No person called 'Nobody Here'",
    ),
    (
        {"kind": "add_product_owner", "team": "Paymnts", "person": "Chloe Martin"},
        "team",
        "No team called 'Paymnts'",
    ),
    (
        {
            "kind": "move_person",
            "person": "Kenji Sato",
            "from_team": "Payments Squad",
            "to_team": "Search Squad",
        },
        "from_team",
        "is not a member of team Payments Squad",
    ),
    (
        {"kind": "create_team", "name": "search", "type": "platform"},
        "name",
        "A team called Search Squad already exists",
    ),
    (
        {
            "kind": "split_team",
            "team": "Search Squad",
            "part_1_name": "Search Ranking",
            "part_1_members": "Elena Petrova",
        },
        "part_1_members",
        "Elena Petrova is not a member of team Search Squad",
    ),
    (
        {
            "kind": "change_interaction_mode",
            "source": "Payments Squad",
            "target": "Database Administration",
            "from_mode": "ticket_dependency",
            "to_mode": "ticket_dependency",
        },
        "to_mode",
        "must differ from from_mode",
    ),
    (
        {
            "kind": "change_interaction_end",
            "source": "Payments Squad",
            "target": "Database Administration",
            "mode": "collaboration",
            "expected_end": "2027-01-29",
        },
        "mode",
        "has no collaboration interaction with",
    ),
    (
        {"kind": "change_role", "team": "Payments Squad", "person": "Kenji Sato", "role": "lead"},
        "person",
        "Kenji Sato is not a member of team Payments Squad",
    ),
    (
        {"kind": "remove_person", "team": "Payments Squad", "person": ""},
        "person",
        "This field is required.",
    ),
]


@pytest.mark.parametrize(("form", "change"), VALID, ids=[form["kind"] for form, _ in VALID])
def test_each_kind_of_change_is_attached_from_its_form(
    demo: WebDemo, form: dict[str, str], change: dict[str, Any]
):
    agent = client_for("agent")
    response = agent.post(url(demo, "milestone-change"), form)

    assert response.status_code == 302
    assert response["Location"].endswith("#changes")
    assert stored() == [change]
    page = visible(agent.get(url(demo)))
    assert "Attached: " in page
    assert "Pending" in page


def test_every_kind_of_change_has_a_form_and_a_test(demo: WebDemo):
    from teams.scenarios import CHANGE_KINDS

    body = client_for("agent").get(url(demo)).content.decode()

    assert sorted(form["kind"] for form, _ in VALID) == sorted(CHANGE_KINDS)
    assert sorted(form["kind"] for form, _, _ in INVALID) == sorted(CHANGE_KINDS)
    for kind in CHANGE_KINDS:
        assert f'id="change-kind-{kind}"' in body
        assert f'<input type="hidden" name="kind" value="{kind}">' in body


@pytest.mark.parametrize(
    ("form", "field", "problem"), INVALID, ids=[form["kind"] for form, _, _ in INVALID]
)
def test_a_mistake_is_shown_next_to_its_field_and_nothing_is_stored(
    demo: WebDemo, form: dict[str, str], field: str, problem: str
):
    response = client_for("agent").post(url(demo, "milestone-change"), form)

    kind = form["kind"]
    html = response.content.decode()
    assert response.status_code == 400
    assert problem in field_error(response, kind, field)
    assert stored() == []
    # The failed form is the open one, its summary takes the focus, the typed values stay.
    assert re.search(rf'<details class="change-kind" id="change-kind-{kind}" open>', html)
    assert html.count("autofocus") == 1
    assert 'id="change-error"' in html
    assert f'aria-describedby="change-{kind}-{field}-error"' in html
    typed = next((value for name, value in form.items() if name != "kind" and value), "")
    assert f'value="{typed}"' in html or f">{typed}" in html
    assert "String should match pattern" not in visible(response)


SPLIT_IN_TWO = {
    "kind": "split_team",
    "team": "Search Squad",
    "part_1_name": "Search Ranking",
    "part_1_members": "Kenji Sato",
    "part_2_name": "Search Indexing",
    "part_2_members": "fatima.zahra@democorp.example",
}


@pytest.mark.parametrize(
    ("typed", "field", "problem"),
    [
        ({"part_2_name": "Payments"}, "part_2_name", "Payments Squad is already taken"),
        (
            {"part_2_members": "Elena Petrova"},
            "part_2_members",
            "Elena Petrova is not a member of team Search Squad",
        ),
        ({"part_1_name": "Payments"}, "part_1_name", "Payments Squad is already taken"),
    ],
    ids=["second-name", "second-members", "first-name"],
)
def test_a_problem_with_one_part_of_a_split_is_shown_on_that_part(
    demo: WebDemo, typed: dict[str, str], field: str, problem: str
):
    response = client_for("agent").post(url(demo, "milestone-change"), {**SPLIT_IN_TWO, **typed})

    assert response.status_code == 400
    assert problem in field_error(response, "split_team", field)
    other = {"part_1_name", "part_1_members", "part_2_name", "part_2_members"} - {field}
    assert [name for name in sorted(other) if field_error(response, "split_team", name)] == []
    assert stored() == []


def test_a_person_listed_for_both_parts_of_a_split_is_refused_on_the_second(demo: WebDemo):
    response = client_for("agent").post(
        url(demo, "milestone-change"), {**SPLIT_IN_TWO, "part_2_members": "kenji sato"}
    )

    assert response.status_code == 400
    assert "Kenji Sato is already listed for the first new team" in field_error(
        response, "split_team", "part_2_members"
    )


@pytest.mark.parametrize(
    ("typed", "field", "problem"),
    [
        ({"part_2_name": "search  ranking"}, "part_2_name", "Give the second new team another"),
        ({"part_1_name": "!!"}, "part_1_name", "Give the team a name with letters or digits."),
    ],
    ids=["same-name-twice", "no-letters"],
)
def test_a_split_s_new_team_names_are_checked_before_the_service(
    demo: WebDemo, typed: dict[str, str], field: str, problem: str
):
    response = client_for("agent").post(url(demo, "milestone-change"), {**SPLIT_IN_TWO, **typed})

    assert response.status_code == 400
    assert problem in field_error(response, "split_team", field)
    assert stored() == []


def test_a_change_that_breaks_a_later_attached_change_says_which_above_the_form(demo: WebDemo):
    later = demo.transformation.milestones.filter(position__gt=demo.started.position).first()
    assert later is not None
    milestone_change_add(
        milestone=later,
        change={"kind": "remove_person", "team": "search", "person": BUDDY},
        actor=None,
    )

    response = client_for("agent").post(
        url(demo, "milestone-change"),
        {
            "kind": "move_person",
            "person": "Kenji Sato",
            "from_team": "Search Squad",
            "to_team": "Payments Squad",
        },
    )

    html = response.content.decode()
    found = re.search(
        r'<div class="form-error" role="alert" id="change-error".*?</div>', html, re.S
    )
    assert found is not None
    summary = " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())
    assert response.status_code == 400
    assert [field_error(response, "move_person", name) for name in ("person", "to_team")] == [
        "",
        "",
    ]
    assert "Remove Kenji Sato from Search Squad" in summary
    assert later.title in summary
    assert "Kenji Sato is not a member of team Search Squad" in summary
    assert "kenji.sato@" not in summary
    assert html.count("autofocus") == 1
    assert len(stored()) == 1


def test_a_merge_into_a_new_team_needs_its_type(demo: WebDemo):
    response = client_for("agent").post(
        url(demo, "milestone-change"),
        {"kind": "merge_teams", "team_1": "dba", "team_2": "Networking", "into": "Infra"},
    )

    assert response.status_code == 400
    assert field_error(response, "merge_teams", "type") == "A new team needs a type."
    assert stored() == []


def test_a_merge_into_a_team_not_merged_is_refused_in_words(demo: WebDemo):
    response = client_for("agent").post(
        url(demo, "milestone-change"),
        {"kind": "merge_teams", "team_1": "dba", "team_2": "networking", "into": "Payments Squad"},
    )

    assert response.status_code == 400
    assert "not one of those merged" in field_error(response, "merge_teams", "into")


def test_a_team_the_plan_creates_can_be_picked_by_a_later_change(demo: WebDemo):
    agent = client_for("agent")
    agent.post(url(demo, "milestone-change"), VALID[0][0])

    page = agent.get(url(demo)).content.decode()
    response = agent.post(
        url(demo, "milestone-change"),
        {"kind": "add_product_owner", "team": "Infrastructure Platform", "person": "Chloe Martin"},
    )

    assert '<option value="Infrastructure Platform">' in page
    assert response.status_code == 302
    assert stored()[-1]["team"] == "infrastructure-platform"


def test_changes_read_as_sentences_with_names_and_team_links(demo: WebDemo):
    milestone_change_add(milestone=demo.started, change=VALID[0][1], actor=None)
    milestone_change_add(
        milestone=demo.started,
        change={
            "kind": "move_person",
            "person": MEMBER,
            "from_team": "search",
            "to_team": "payments",
        },
        actor=None,
    )

    response = client_for("member").get(url(demo))

    page = visible(response)
    section = response.content.decode().split('id="changes"')[1].split('id="history"')[0]
    assert (
        "Merge Database Administration, Networking and Backend Operations into Infrastructure "
        "Platform (platform)"
    ) in page
    assert "Move Chloe Martin from Search Squad to Payments Squad" in page
    assert "merge_teams" not in section
    assert "democorp.example" not in section
    assert '<a href="/o/demo/teams/payments/">Payments Squad</a>' in response.content.decode()


def test_a_change_agent_deletes_a_pending_change(demo: WebDemo):
    row = milestone_change_add(milestone=demo.started, change=VALID[1][1], actor=None)

    agent = client_for("agent")
    response = agent.post(url(demo, "milestone-change-delete", change_id=row.pk))

    assert response.status_code == 302
    assert stored() == []
    assert "Deleted the pending change: Make Kenji Sato the DevOps buddy of Payments Squad" in (
        visible(agent.get(url(demo)))
    )


def test_an_enacted_change_cannot_be_deleted_and_shows_no_delete_button(demo: WebDemo):
    row = milestone_change_add(milestone=demo.started, change=VALID[1][1], actor=None)
    milestone_changes_enact(milestone=demo.started, actor=None)
    agent = client_for("agent")

    page = agent.get(url(demo)).content.decode()
    response = agent.post(url(demo, "milestone-change-delete", change_id=row.pk))

    assert "Delete the pending change" not in page
    assert response.status_code == 409
    assert "cannot be deleted" in visible(response)
    assert MilestoneChange.objects.filter(pk=row.pk).exists()


def test_a_change_of_another_milestone_is_not_found_here(demo: WebDemo):
    other = demo.transformation.milestones.exclude(pk=demo.started.pk).first()
    assert other is not None
    row = milestone_change_add(milestone=other, change=VALID[1][1], actor=None)

    response = client_for("agent").post(url(demo, "milestone-change-delete", change_id=row.pk))

    assert response.status_code == 404
    assert MilestoneChange.objects.filter(pk=row.pk).exists()


def test_a_change_agent_enacts_the_changes_and_the_graph_changes(demo: WebDemo):
    milestone_change_add(milestone=demo.started, change=VALID[0][1], actor=None)
    agent = client_for("agent")

    before = agent.get(url(demo)).content.decode()
    response = agent.post(url(demo, "milestone-enact"))
    after = agent.get(url(demo))

    assert 'id="enact-form"' in before
    assert "Enact 1 change" in before
    assert response.status_code == 302
    team = Team.objects.get(organization=demo.organization, slug="infrastructure-platform")
    assert team.name == "Infrastructure Platform"
    assert not Team.objects.filter(organization=demo.organization, slug="dba").exists()
    assert Membership.objects.filter(team=team).count() == 12
    page = visible(after)
    assert "Enacted 1 change on the organisation graph: Merge Database Administration" in page
    assert re.search(r"Enacted \d{4}-\d\d-\d\d \d\d:\d\d by Amara Nwosu", page)
    assert 'id="enact-form"' not in after.content.decode()
    assert demo.started.events.filter(kind=EventKind.ENACTED).count() == 1


def test_a_change_that_no_longer_applies_is_not_enacted_and_says_why(demo: WebDemo):
    milestone_change_add(milestone=demo.started, change=VALID[1][1], actor=None)
    Membership.objects.filter(person__email=BUDDY).delete()
    Team.objects.filter(organization=demo.organization, slug="payments").update(
        retired_at="2026-01-01T00:00:00Z"
    )

    response = client_for("agent").post(url(demo, "milestone-enact"))

    assert response.status_code == 409
    assert "cannot be enacted" in visible(response)
    assert MilestoneChange.objects.get().enacted_at is None


def test_the_milestone_owner_may_enact_but_not_attach_or_delete(demo: WebDemo):
    milestone = demo.transformation.milestones.get(owner__email=MANAGER, position=2)
    row = milestone_change_add(milestone=milestone, change=VALID[1][1], actor=None)
    manager = client_for("manager")
    target = {"milestone_id": milestone.pk}

    page = manager.get(url(demo, "milestone", **target)).content.decode()
    attach = manager.post(url(demo, "milestone-change", **target), VALID[2][0])
    delete = manager.post(url(demo, "milestone-change-delete", change_id=row.pk, **target))
    enact = manager.post(url(demo, "milestone-enact", **target))

    assert 'id="change-form"' not in page
    assert "Delete the pending change" not in page
    assert 'id="enact-form"' in page
    assert attach.status_code == 403
    assert delete.status_code == 403
    assert enact.status_code == 302
    row.refresh_from_db()
    assert row.enacted_at is not None


def test_a_member_may_read_and_preview_but_not_attach_delete_or_enact(demo: WebDemo):
    row = milestone_change_add(milestone=demo.started, change=VALID[1][1], actor=None)
    member = client_for("member")

    page = member.get(url(demo)).content.decode()
    attach = member.post(url(demo, "milestone-change"), VALID[2][0])
    delete = member.post(url(demo, "milestone-change-delete", change_id=row.pk))
    enact = member.post(url(demo, "milestone-enact"))

    assert "Make Kenji Sato the DevOps buddy of Payments Squad" in unescape(page)
    preview = (
        f"/o/demo/scenario/?transformation={demo.transformation.pk}&amp;milestone={demo.started.pk}"
    )
    assert f'href="{preview}"' in page
    assert 'id="change-form"' not in page
    assert 'id="enact-form"' not in page
    assert (attach.status_code, delete.status_code, enact.status_code) == (403, 403, 403)
    assert stored() == [VALID[1][1]]
    assert MilestoneChange.objects.get().enacted_at is None


def test_another_organisation_cannot_reach_the_changes(demo: WebDemo):
    row = milestone_change_add(milestone=demo.started, change=VALID[1][1], actor=None)
    outsider = client_for("outsider")

    responses = [
        outsider.post(url(demo, "milestone-change"), VALID[2][0]),
        outsider.post(url(demo, "milestone-change-delete", change_id=row.pk)),
        outsider.post(url(demo, "milestone-enact")),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]


def test_a_change_of_another_organisation_is_not_found_before_any_permission_check(
    demo: WebDemo,
):
    # "member" reads the demo organisation (no plan editing) and administers Globex: through
    # Globex's address, the demo's change must look missing, not forbidden.
    row = milestone_change_add(milestone=demo.started, change=VALID[1][1], actor=None)
    globex = Organization.objects.get(slug="globex")
    member = get_user_model().objects.get(username="member")
    OrganizationRole.objects.create(organization=globex, user=member, role=Role.ADMIN)
    through_globex = reverse(
        "web:milestone-change-delete",
        kwargs={"org_slug": "globex", "milestone_id": demo.started.pk, "change_id": row.pk},
    )

    response = client_for("member").post(through_globex)

    assert response.status_code == 404
    assert MilestoneChange.objects.filter(pk=row.pk).exists()


def test_the_json_form_still_attaches_any_change(demo: WebDemo):
    response = client_for("agent").post(
        url(demo, "milestone-change"),
        {"change_json": '{"kind": "remove_person", "team": "search", "person": "' + BUDDY + '"}'},
    )
    broken = client_for("agent").post(url(demo, "milestone-change"), {"change_json": "{nope"})

    assert response.status_code == 302
    assert stored() == [{"kind": "remove_person", "team": "search", "person": BUDDY}]
    assert broken.status_code == 400
    assert re.search(
        r'<details class="change-kind" id="change-kind-json" open>', broken.content.decode()
    )
    assert "not valid JSON" in visible(broken)


def test_the_preview_link_shows_the_changes_up_to_the_milestone(demo: WebDemo):
    milestone_change_add(milestone=demo.started, change=VALID[0][1], actor=None)

    response = client_for("agent").get(
        reverse("web:scenario", kwargs={"org_slug": "demo"}),
        {"transformation": demo.transformation.pk, "milestone": demo.started.pk},
    )

    page = visible(response)
    assert response.status_code == 200
    # The pending changes are listed by milestone title and as sentences, not slugs.
    assert demo.started.title in page
    assert (
        "Merge Database Administration, Networking and Backend Operations into Infrastructure "
        "Platform (platform)"
    ) in page
    assert "teams: dba" not in page


def test_a_preview_of_an_older_shape_still_shows_the_scenario_page(
    demo: WebDemo, monkeypatch: pytest.MonkeyPatch
):
    from transform.plans import selectors as plan_selectors

    milestone_change_add(milestone=demo.started, change=VALID[0][1], actor=None)
    real = plan_selectors.scenario_preview_get

    def older(**kwargs: Any) -> dict[str, Any]:
        # A preview as a cache filled by older code holds it: no words for the topology yet.
        preview = real(**kwargs)
        delta = {key: value for key, value in preview["delta"].items() if key != "topology_words"}
        return {**preview, "delta": delta}

    monkeypatch.setattr(plan_selectors, "scenario_preview_get", older)
    response = client_for("agent").get(
        reverse("web:scenario", kwargs={"org_slug": "demo"}),
        {"transformation": demo.transformation.pk, "milestone": demo.started.pk},
    )

    assert response.status_code == 200
    assert "Merge Database Administration, Networking and Backend Operations" in visible(response)


def test_the_milestone_page_reads_a_fixed_number_of_queries_whatever_its_changes(
    demo: WebDemo, django_assert_num_queries: Any
):
    agent = client_for("agent")
    agent.get(url(demo))
    with CaptureQueriesContext(connection) as none:
        assert agent.get(url(demo)).status_code == 200
    milestone_change_add(milestone=demo.started, change=VALID[1][1], actor=None)
    with CaptureQueriesContext(connection) as one:
        assert agent.get(url(demo)).status_code == 200
    for change in (VALID[2][1], VALID[6][1], VALID[4][1], VALID[0][1]):
        milestone_change_add(milestone=demo.started, change=change, actor=None)

    # The names of the teams and of the people (and units) the changes name: one query each,
    # whatever the number of changes.
    with django_assert_num_queries(len(one.captured_queries) + 1):
        response = agent.get(url(demo))

    assert len(one.captured_queries) == len(none.captured_queries) + 2
    assert visible(response).count("Pending") == 5


def test_a_split_lists_a_bounded_number_of_people(
    demo: WebDemo, django_assert_max_num_queries: Any
):
    agent = client_for("agent")
    pasted = "\n".join(f"person{number}@democorp.example" for number in range(101))

    with django_assert_max_num_queries(40):
        response = agent.post(
            url(demo, "milestone-change"),
            {
                "kind": "split_team",
                "team": "Search Squad",
                "part_1_name": "Search Ranking",
                "part_1_members": pasted,
            },
        )

    assert response.status_code == 400
    assert "At most 100 people here" in field_error(response, "split_team", "part_1_members")
    assert stored() == []


def test_a_split_resolves_its_people_in_a_fixed_number_of_queries(
    demo: WebDemo, django_assert_num_queries: Any
):
    agent = client_for("agent")

    def split(lines: list[str]) -> Any:
        return agent.post(
            url(demo, "milestone-change"),
            {
                "kind": "split_team",
                "team": "Search Squad",
                "part_1_name": "Search Ranking",
                "part_1_members": "\n".join(lines),
            },
        )

    def unknown(count: int) -> list[str]:
        return [
            f"Nobody Number {number}" if number % 2 else f"nobody{number}@democorp.example"
            for number in range(count)
        ]

    split(unknown(2))
    with CaptureQueriesContext(connection) as two:
        assert split(unknown(2)).status_code == 400
    # Every line is looked up at once (by e-mail and by name), so 100 lines cost what 2 do.
    with django_assert_num_queries(len(two.captured_queries)):
        response = split(unknown(100))

    assert response.status_code == 400
    assert "No person" in field_error(response, "split_team", "part_1_members")
    assert stored() == []


def test_a_split_refuses_a_line_too_long_to_be_a_name_or_an_e_mail(demo: WebDemo):
    response = client_for("agent").post(
        url(demo, "milestone-change"),
        {
            "kind": "split_team",
            "team": "Search Squad",
            "part_1_name": "Search Ranking",
            "part_1_members": "Kenji Sato\n" + "x" * 19_000,
        },
    )

    problem = field_error(response, "split_team", "part_1_members")
    assert response.status_code == 400
    assert "Line 2 is longer than 320 characters" in problem
    assert "xxxxxxxxxx" not in problem
    assert stored() == []
