"""Starting a playbook from the web: the preview of milestones and owners by role, owners changed
in the form, a second start of a running playbook asking for confirmation, the redirect to the
new plan, findings saying which running plan covers them, and the API's optional owners."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.errors import ApplicationError
from tests.builders import (
    AGENT,
    LEADER,
    MANAGER,
    WebDemo,
    build_web_demo,
    client_for,
    fresh,
    module_world,
)
from tests.factories import MembershipFactory, PersonFactory, TeamFactory
from transform.models import Milestone, Transformation
from transform.plans.services import transformation_start

pytestmark = pytest.mark.django_db

START = "/o/demo/findings/start/"
BUDDIES = "devops-buddy-programme"


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, lambda: build_web_demo(answers=False))


@pytest.fixture
def demo(demo_built: WebDemo, db: None) -> WebDemo:
    return fresh(demo_built)


def _post(client: Client, **overrides: str) -> Any:
    data = {"playbook": BUDDIES, "start_date": "2030-03-02", "owner": AGENT, "sponsor": ""}
    return client.post(START, {**data, **overrides})


def _selected(html: str, field: str) -> str:
    """The e-mail selected in the select named ``field``."""
    select = html.split(f'name="{field}"', 1)[1].split("</select>", 1)[0]
    return select.split(" selected>", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]


def test_the_preview_lists_every_milestone_with_its_owner_by_role(demo: WebDemo) -> None:
    response = client_for("agent").get(f"{START}?playbook={BUDDIES}")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Preview: 13 milestones and their owners" in html
    assert html.count('<select name="owner_') == 13
    # map-infra-dependencies: change agent; define-buddy-role: engineering manager;
    # agree-compliance-boundaries (the fourth): leader.
    assert _selected(html, "owner_0") == AGENT
    assert _selected(html, "owner_1") == MANAGER
    assert _selected(html, "owner_3") == LEADER
    assert "Engineering manager" in html
    assert Transformation.objects.filter(playbooks__key=BUDDIES).count() == 0


def test_the_page_is_headed_by_the_playbook_title_not_its_key(demo: WebDemo) -> None:
    html = client_for("agent").get(f"{START}?playbook={BUDDIES}").content.decode()

    (heading,) = re.findall(r"<h1>(.*?)</h1>", html, re.S)
    assert heading == "Start the playbook “Grow a DevOps buddy in every stream-aligned team”"
    unknown = client_for("agent").get(f"{START}?playbook=no-such-playbook")
    assert unknown.status_code == 400
    assert "No playbook &#x27;no-such-playbook&#x27;" in unknown.content.decode()


def test_an_admin_who_is_no_person_gets_an_empty_lead_field_and_no_error_at_first(
    demo: WebDemo,
) -> None:
    response = client_for("demo").get(f"{START}?playbook={BUDDIES}")

    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required" not in html
    assert "Preview:" not in html
    assert 'name="owner"' in html
    previewed = _post(client_for("demo"))
    assert previewed.status_code == 200
    assert "Preview: 13 milestones" in previewed.content.decode()


def test_the_message_after_starting_names_the_playbook_by_its_title(demo: WebDemo) -> None:
    agent = client_for("agent")
    response = _post(agent, step="confirm")

    page = agent.get(response["Location"]).content.decode()
    assert "from the playbook “Grow a DevOps buddy in every stream-aligned team”" in page


def test_a_finding_form_post_shows_the_preview_and_creates_nothing(demo: WebDemo) -> None:
    count = Transformation.objects.count()

    response = _post(client_for("agent"))

    assert response.status_code == 200
    assert "Preview: 13 milestones" in response.content.decode()
    assert Transformation.objects.count() == count


def test_a_new_plan_from_the_web_has_owners_by_role_and_the_page_redirects_to_it(
    demo: WebDemo,
) -> None:
    response = _post(client_for("agent"), step="confirm")

    started = Transformation.objects.latest("id")
    assert response.status_code == 302
    assert response["Location"] == f"/o/demo/plans/{started.pk}/"
    owners: dict[str, set[str]] = {}
    for milestone in started.milestones.select_related("owner"):
        owners.setdefault(milestone.owner_role, set()).add(milestone.owner.email)
    assert owners == {
        "change_agent": {AGENT},
        "engineering_manager": {MANAGER},
        "leader": {LEADER},
    }
    plan = client_for("agent").get(response["Location"])
    assert plan.status_code == 200
    assert started.title in plan.content.decode()


def test_an_owner_changed_in_the_form_is_applied(demo: WebDemo) -> None:
    _post(client_for("agent"), step="confirm", owner_1=AGENT, owner_3=MANAGER)

    started = Transformation.objects.latest("id")
    milestones = list(started.milestones.order_by("position").select_related("owner"))
    assert milestones[1].owner.email == AGENT
    assert milestones[3].owner.email == MANAGER
    assert milestones[2].owner.email == MANAGER  # unchanged: by role


def test_an_owner_outside_the_choices_is_refused_and_nothing_is_stored(demo: WebDemo) -> None:
    count = Transformation.objects.count()

    response = _post(client_for("agent"), step="confirm", owner_0="nobody@democorp.example")

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Transformation.objects.count() == count


def test_update_preview_keeps_the_owners_already_chosen(demo: WebDemo) -> None:
    response = _post(client_for("agent"), step="preview", owner_1=LEADER)

    assert response.status_code == 200
    assert _selected(response.content.decode(), "owner_1") == LEADER


def test_starting_a_running_playbook_again_needs_start_another_anyway(demo: WebDemo) -> None:
    client = client_for("agent")
    count = Transformation.objects.count()

    preview = _post(client, playbook="unify-ops-silos")
    refused = _post(client, playbook="unify-ops-silos", step="confirm")

    assert 'id="duplicate-warning"' in preview.content.decode()
    assert demo.transformation.title in preview.content.decode()
    assert f'href="/o/demo/plans/{demo.transformation.pk}/"' in preview.content.decode()
    assert refused.status_code == 400
    assert "is already running" in refused.content.decode()
    assert Transformation.objects.count() == count

    accepted = _post(client, playbook="unify-ops-silos", step="confirm", start_another="on")

    assert accepted.status_code == 302
    assert Transformation.objects.count() == count + 1


def test_a_first_start_has_no_duplicate_warning(demo: WebDemo) -> None:
    html = _post(client_for("agent")).content.decode()

    assert 'id="duplicate-warning"' not in html
    assert "start_another" not in html


def test_findings_show_the_running_plan_that_covers_them_or_the_start_form(
    demo: WebDemo,
) -> None:
    html = client_for("agent").get("/o/demo/findings/?kind=ops_silo").content.decode()
    buddies = client_for("agent").get("/o/demo/findings/?kind=missing_devops_buddy")

    articles = html.split("<li>\n    <article")[1:]
    assert articles
    plan_link = f'<a href="/o/demo/plans/{demo.transformation.pk}/">{demo.transformation.title}</a>'
    assert all("Covered by:" in article and plan_link in article for article in articles)
    assert "Start the playbook" not in html
    assert "Covered by:" not in buddies.content.decode()
    assert (
        "Start the playbook “Grow a DevOps buddy in every stream-aligned team”…"
        in buddies.content.decode()
    )


def test_a_finished_plan_no_longer_covers_findings(demo: WebDemo) -> None:
    Milestone.objects.filter(transformation=demo.transformation).update(status="done")

    html = client_for("agent").get("/o/demo/findings/?kind=ops_silo").content.decode()

    assert "Covered by:" not in html
    assert "Start the playbook “Unify ops silos into a platform team”…" in html


def _preview_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{START}?playbook={BUDDIES}")
    assert response.status_code == 200
    return len(queries)


def test_the_preview_runs_a_pinned_number_of_queries_whatever_the_organisation_size(
    demo: WebDemo,
) -> None:
    client = client_for("agent")
    _preview_queries(client)  # warm caches (playbook library, session)
    before = _preview_queries(client)
    for number in range(15):
        manager: Any = PersonFactory(organization=demo.organization)
        team: Any = TeamFactory(
            organization=demo.organization, slug=f"grown-{number}", manager=manager
        )
        MembershipFactory(team=team)

    after = _preview_queries(client)

    assert before <= 25
    assert after == before


def test_the_service_takes_an_owners_mapping_and_refuses_unknown_keys(demo: WebDemo) -> None:
    started = transformation_start(
        organization=demo.organization,
        playbooks=[BUDDIES],
        start_date=demo.transformation.start_date,
        owner_email=AGENT,
        owners={"define-buddy-role": LEADER.upper()},
    )
    assert started.milestones.get(key="define-buddy-role").owner.email == LEADER

    with pytest.raises(ApplicationError) as excinfo:
        transformation_start(
            organization=demo.organization,
            playbooks=[BUDDIES],
            start_date=demo.transformation.start_date,
            owner_email=AGENT,
            owners={"no-such-milestone": LEADER},
        )
    assert "no-such-milestone" in excinfo.value.extra["fields"]["owners"][0]


def test_the_api_accepts_optional_owners(demo: WebDemo) -> None:
    client = client_for("agent")
    url = "/api/v1/orgs/demo/transformations/"
    body = {"playbooks": [BUDDIES], "start_date": "2030-03-02", "owner": AGENT}

    plain = client.post(url, body, content_type="application/json")
    chosen = client.post(
        url,
        {**body, "owners": {"map-infra-dependencies": MANAGER}},
        content_type="application/json",
    )
    wrong = client.post(
        url,
        {**body, "owners": {"map-infra-dependencies": "x@nowhere.test"}},
        content_type="application/json",
    )

    assert plain.status_code == 201, plain.content
    assert chosen.status_code == 201, chosen.content
    new = Transformation.objects.get(pk=chosen.json()["id"])
    assert new.milestones.get(key="map-infra-dependencies").owner.email == MANAGER
    assert wrong.status_code == 400
