"""No page answers 500 to odd query strings: every parameter a user can type is checked."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.builders import WEB_PASSWORD, WebDemo

pytestmark = pytest.mark.django_db

ODD = {
    "as_of": ["garbage", "2026-13-45", "9999-12-31", ""],
    "type": ["nonsense", "ops_silo"],
    "specialty": ["nonsense"],
    "people": ["maybe"],
    "page": ["-1", "abc", "99999"],
    "teams_page": ["abc"],
    "events": ["abc"],
    "period": ["zzz", "2026-02-30"],
    "team": ["no-such-team", "../../etc"],
    "kind": ["<script>"],
    "severity": ["ultra"],
    "transformation": ["abc", "999999"],
    "milestone": ["abc", "-5"],
    "engineer_cost": ["abc", "-100", "1e309"],
    "share_removed": ["2", "nan"],
}


@pytest.fixture
def demo(web_demo_plain: WebDemo) -> WebDemo:
    return web_demo_plain


def test_no_page_fails_on_odd_query_parameters(demo: WebDemo) -> None:
    client = Client()
    assert client.login(username="demo", password=WEB_PASSWORD)
    plan = f"/o/demo/plans/{demo.transformation.pk}/"
    pages = [
        "/o/demo/graph/",
        "/o/demo/graph/data.json",
        "/o/demo/graph/teams/search/",
        "/o/demo/findings/",
        "/o/demo/scenario/",
        "/o/demo/plans/",
        plan,
        f"{plan}board/",
        f"/o/demo/milestones/{demo.started.pk}/",
        "/o/demo/my-team/",
        "/o/demo/leadership/",
        "/o/demo/leadership/report/",
    ]
    failures = []
    for page in pages:
        for name, values in ODD.items():
            for value in values:
                response = client.get(page, {name: value})
                if response.status_code >= 500:
                    failures.append(f"{page}?{name}={value}: {response.status_code}")
    assert failures == []


GARBAGE_FORMS = [
    {},
    {"to_status": "exploded", "reason": "x" * 20_000, "override": "maybe"},
    {"email": "not-an-email", "owner": "nobody@nowhere"},
    {"kind": "merge_teams", "team": "../x", "person": "@", "change_json": "{not json"},
    {"change_json": "[1, 2, 3]"},
    {"change_json": '{"kind": "merge_teams", "teams": "dba"}'},
    {"role": "emperor", "allocation": "abc", "person": "", "team": "search"},
    {"allocation": "-5", "role": "member", "person": "chloe.martin@democorp.example"},
    {"mode": "telepathy", "target": "no-such-team", "playbook": "no-such", "start": "tomorrow"},
]


def test_no_form_fails_on_garbage(demo: WebDemo) -> None:
    client = Client()
    assert client.login(username="demo", password=WEB_PASSWORD)
    milestone = f"/o/demo/milestones/{demo.started.pk}/"
    team = "/o/demo/my-team/search/"
    targets = [
        f"{milestone}status/",
        f"{milestone}reassign/",
        f"{milestone}changes/",
        f"{team}members/",
        f"{team}members/999999/",
        f"{team}members/999999/remove/",
        f"{team}serves/",
        f"{team}interactions/",
        "/o/demo/findings/start/",
    ]
    failures = []
    for target in targets:
        for form in GARBAGE_FORMS:
            response = client.post(target, form)
            if response.status_code >= 500:
                failures.append(f"{target} {form}: {response.status_code}")
    assert failures == []
