"""The playbook API: who reads and uploads, error bodies naming file/line/path, query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from playbooks.models import Playbook
from playbooks.services import builtin_playbooks_sync, playbook_load
from teams.models import Role
from tests.factories import OrganizationFactory, OrganizationRoleFactory, UserFactory
from tests.playbooks.samples import VALID

pytestmark = pytest.mark.django_db

URL = "/api/v1/orgs/acme/playbooks/"
ROLES = [Role.ADMIN, Role.CHANGE_AGENT, Role.ENGINEERING_MANAGER, Role.LEADER, Role.MEMBER]


@pytest.fixture
def orgs(db: Any) -> dict[str, Any]:
    acme: Any = OrganizationFactory(slug="acme")
    globex: Any = OrganizationFactory(slug="globex")
    for role in ROLES:
        OrganizationRoleFactory(organization=acme, user=UserFactory(username=role), role=role)
    OrganizationRoleFactory(
        organization=globex, user=UserFactory(username="outsider"), role=Role.ADMIN
    )
    playbook_load(
        organization=globex, path="g.yaml", text=VALID.replace("key: demo", "key: secret")
    )
    return {"acme": acme, "globex": globex}


def _client(username: str) -> APIClient:
    from django.contrib.auth import get_user_model

    client = APIClient()
    client.force_authenticate(get_user_model().objects.get(username=username))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_its_own_playbooks_and_the_built_ins(orgs: dict, role: str) -> None:
    playbook_load(organization=orgs["acme"], path="a.yaml", text=VALID)

    response = _client(role).get(URL)

    assert response.status_code == 200, response.content
    rows = {(row["key"], row["version"]): row for row in response.json()["results"]}
    assert rows[("demo", 2)] == {
        "key": "demo",
        "version": 2,
        "title": "Demo playbook",
        "summary": "A small playbook for the tests.",
        "builtin": False,
        "phase_count": 2,
        "milestone_count": 3,
        "created_at": rows[("demo", 2)]["created_at"],
    }
    builtins = {p.key for p in Playbook.objects.filter(organization__isnull=True)}
    assert builtins == {key for (key, _), row in rows.items() if row["builtin"]}
    assert "secret" not in {key for key, _ in rows}


def test_the_detail_shows_the_latest_version_its_definition_and_all_versions(orgs: dict) -> None:
    playbook_load(organization=orgs["acme"], path="a.yaml", text=VALID)
    playbook_load(
        organization=orgs["acme"],
        path="b.yaml",
        text=VALID.replace("version: 2", "version: 5").replace("Demo playbook", "Demo five"),
    )
    client = _client(Role.MEMBER)

    latest = client.get(f"{URL}demo/").json()
    older = client.get(f"{URL}demo/?version=2").json()

    assert (latest["version"], latest["title"], latest["versions"]) == (5, "Demo five", [5, 2])
    assert latest["definition"]["phases"][0]["milestones"][0]["key"] == "interview-teams"
    assert latest["source"].startswith("key: demo\nversion: 5")
    assert (older["version"], older["title"]) == (2, "Demo playbook")


def test_a_built_in_playbook_has_a_detail_for_every_organisation(orgs: dict) -> None:
    builtin = builtin_playbooks_sync()
    if not builtin:
        pytest.fail("the built-in library playbooks/library/ is empty")

    response = _client(Role.MEMBER).get(f"{URL}{builtin[0].key}/")

    assert response.status_code == 200
    assert response.json()["builtin"] is True


@pytest.mark.parametrize(
    "url",
    [f"{URL}secret/", f"{URL}demo/?version=7", "/api/v1/orgs/globex/playbooks/"],
    ids=["another organisation's playbook", "unknown version", "another organisation"],
)
def test_what_the_caller_may_not_see_is_not_found(orgs: dict, url: str) -> None:
    playbook_load(organization=orgs["acme"], path="a.yaml", text=VALID)

    response = _client(Role.ADMIN).get(url)

    assert response.status_code == 404
    assert set(response.json()) == {"message", "extra"}


def test_an_anonymous_caller_is_refused(orgs: dict) -> None:
    assert APIClient().get(URL).status_code in (401, 403)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CHANGE_AGENT])
def test_admins_and_change_agents_upload_a_file(orgs: dict, role: str) -> None:
    upload = SimpleUploadedFile("demo.yaml", VALID.encode(), content_type="application/yaml")

    response = _client(role).post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 201, response.content
    assert (response.json()["key"], response.json()["versions"]) == ("demo", [2])
    assert Playbook.objects.filter(organization=orgs["acme"], key="demo", version=2).exists()


def test_an_upload_as_json_source_is_stored_and_a_repeat_changes_nothing(orgs: dict) -> None:
    client = _client(Role.CHANGE_AGENT)

    first = client.post(URL, {"source": VALID}, format="json")
    again = client.post(URL, {"source": VALID}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert Playbook.objects.filter(organization=orgs["acme"]).count() == 1


@pytest.mark.parametrize("role", [Role.ENGINEERING_MANAGER, Role.LEADER, Role.MEMBER])
def test_other_roles_may_not_upload(orgs: dict, role: str) -> None:
    response = _client(role).post(URL, {"source": VALID}, format="json")

    assert response.status_code == 403
    assert "upload playbooks" in response.json()["message"]
    assert not Playbook.objects.filter(organization=orgs["acme"]).exists()


def test_an_invalid_upload_is_a_400_naming_file_line_and_path(orgs: dict) -> None:
    bad = VALID.replace("duration_days: 14", "duration_days: fortnight")
    upload = SimpleUploadedFile("bad.yaml", bad.encode())

    response = _client(Role.ADMIN).post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith(
        "Invalid playbook: bad.yaml, document 1, line 13: "
        "phases[0].milestones[0].duration_days: expected a whole number; got 'fortnight'"
    )
    assert {k: body["extra"][k] for k in ("file", "line", "path")} == {
        "file": "bad.yaml",
        "line": 13,
        "path": "phases[0].milestones[0].duration_days",
    }
    assert len(body["extra"]["errors"]) == 1
    assert not Playbook.objects.filter(organization=orgs["acme"]).exists()


def test_a_version_clash_on_upload_is_a_400_asking_to_bump_the_version(orgs: dict) -> None:
    client = _client(Role.ADMIN)
    client.post(URL, {"source": VALID}, format="json")

    response = client.post(
        URL, {"source": VALID.replace("duration_days: 7", "duration_days: 8")}, format="json"
    )

    assert response.status_code == 400
    assert "bump the version" in response.json()["message"]
    assert response.json()["extra"]["path"] == "version"


@pytest.mark.parametrize(
    "payload",
    [{}, {"source": VALID, "file": SimpleUploadedFile("x.yaml", b"")}],
    ids=["nothing", "both"],
)
def test_an_upload_needs_exactly_one_of_file_and_source(orgs: dict, payload: dict) -> None:
    response = _client(Role.ADMIN).post(URL, payload, format="multipart")

    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"}


def test_an_upload_that_is_not_utf8_is_refused(orgs: dict) -> None:
    upload = SimpleUploadedFile("latin.yaml", "title: café".encode("latin-1"))

    response = _client(Role.ADMIN).post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert "latin.yaml: not UTF-8 text" in response.json()["message"]


def _make_playbooks(org: Any, count: int, start: int) -> None:
    for n in range(start, start + count):
        playbook_load(
            organization=org, path="p.yaml", text=VALID.replace("key: demo", f"key: p{n}")
        )


def test_the_list_runs_the_same_queries_for_few_and_many_playbooks(
    orgs: dict, django_assert_num_queries: Any
) -> None:
    client = _client(Role.MEMBER)
    _make_playbooks(orgs["acme"], 2, 0)
    builtin_playbooks_sync()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(URL)
    _make_playbooks(orgs["acme"], 30, 2)

    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(URL)

    assert response.json()["count"] >= 32
    # Access check, built-in sync check, count, page.
    assert len(small.captured_queries) == 4
