"""The leadership page follows the transformation the reader chooses (progress and flow score),
remembers the choice per organisation in the session, and defaults to the most recently started
running transformation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders import (
    AGENT,
    WebDemo,
    build_web_demo,
    client_for,
    fresh,
    module_world,
)
from tests.factories import OrganizationFactory, PersonFactory
from transform.models import Milestone, Transformation
from transform.plans.services import transformation_start

pytestmark = pytest.mark.django_db

DASHBOARD = "/o/demo/leadership/"


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[WebDemo]:
    yield from module_world(django_db_blocker, lambda: build_web_demo(answers=False))


@pytest.fixture
def demo(demo_built: WebDemo, db: None) -> WebDemo:
    return fresh(demo_built)


def _second(demo: WebDemo, *, days_later: int = 7) -> Transformation:
    return transformation_start(
        organization=demo.organization,
        playbooks=["devops-buddy-programme"],
        start_date=demo.transformation.start_date + dt.timedelta(days=days_later),
        owner_email=AGENT,
        title="Buddies for every squad",
    )


def _progress_titles(html: str) -> list[str]:
    section = html.split('id="progress-heading"', 1)[1].split("</section>", 1)[0]
    return [part.split("</h3>", 1)[0] for part in section.split("<h3>")[1:]]


def _flow_start(html: str) -> str:
    flow = html.split('id="flow-heading"', 1)[1].split("</section>", 1)[0]
    return flow.split("At the start (", 1)[1].split(")", 1)[0]


def test_the_page_follows_the_most_recently_started_running_transformation(
    demo: WebDemo,
) -> None:
    second = _second(demo)

    html = client_for("leader").get(DASHBOARD).content.decode()

    assert _progress_titles(html) == [second.title]
    assert _flow_start(html) == f"{second.start_date:%Y-%m-%d}"
    assert f'<option value="{second.pk}" selected>' in html
    assert f'<option value="{demo.transformation.pk}">' in html


def test_a_finished_transformation_is_not_the_default_but_can_be_chosen(demo: WebDemo) -> None:
    second = _second(demo)
    Milestone.objects.filter(transformation=second).update(status="done")
    client = client_for("leader")

    default = client.get(DASHBOARD).content.decode()
    chosen = client.get(f"{DASHBOARD}?transformation={second.pk}").content.decode()

    assert _progress_titles(default) == [demo.transformation.title]
    assert _progress_titles(chosen) == [second.title]
    assert "finished)" in chosen


def test_the_choice_is_applied_and_remembered(demo: WebDemo) -> None:
    _second(demo)
    client = client_for("leader")

    chosen = client.get(f"{DASHBOARD}?transformation={demo.transformation.pk}")
    later = client.get(DASHBOARD).content.decode()
    report = client.get(f"{DASHBOARD}report/").content.decode()

    assert _progress_titles(chosen.content.decode()) == [demo.transformation.title]
    assert _flow_start(chosen.content.decode()) == f"{demo.transformation.start_date:%Y-%m-%d}"
    assert _progress_titles(later) == [demo.transformation.title]
    assert f'<option value="{demo.transformation.pk}" selected>' in later
    assert demo.transformation.title in report
    # Another reader's page keeps the default.
    assert _progress_titles(client_for("agent").get(DASHBOARD).content.decode()) == [
        "Buddies for every squad"
    ]


def test_another_organisations_transformation_cannot_be_chosen(demo: WebDemo) -> None:
    second = _second(demo)
    other: Any = OrganizationFactory(slug="initech")
    stranger: Any = PersonFactory(organization=other, email="boss@initech.example")
    foreign = Transformation.objects.create(
        organization=other,
        title="Not yours",
        start_date=dt.date(2030, 1, 1),
        lead_change_agent=stranger,
    )

    html = client_for("leader").get(f"{DASHBOARD}?transformation={foreign.pk}").content.decode()

    assert "Not yours" not in html
    assert _progress_titles(html) == [second.title]


def test_a_nonsense_choice_is_ignored(demo: WebDemo) -> None:
    response = client_for("leader").get(f"{DASHBOARD}?transformation=99999999999999999999999")

    assert response.status_code == 200
    assert _progress_titles(response.content.decode()) == [demo.transformation.title]
