"""The check-in API (transform/checkins/apis.py): links, the caller's check-ins, settings and
instruments."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from teams.models import Role
from tests.builders import (
    CheckinRig,
    build_checkin_rig,
    fresh,
    module_world,
    pulse_answers,
    reloaded,
)
from tests.factories import (
    CheckinSettingsFactory,
    InstrumentFactory,
    OrganizationRoleFactory,
    PersonFactory,
    UserFactory,
)
from transform.instruments.selectors import instrument_get
from transform.models import (
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Instrument,
    MilestoneEvent,
    MilestoneStatus,
    Response,
)
from transform.rhythm import links

pytestmark = pytest.mark.django_db

ROLES = {
    "admin": Role.ADMIN,
    "change_agent": Role.CHANGE_AGENT,
    "leader": Role.LEADER,
    "em": Role.ENGINEERING_MANAGER,
    "member": Role.MEMBER,
}


@dataclass
class ApiRig:
    rig: CheckinRig
    users: dict[str, Any]  # a login per role in ROLES, and "no_role"


def build_api_rig() -> ApiRig:
    rig = build_checkin_rig()
    users: dict[str, Any] = {}
    for kind, role in ROLES.items():
        users[kind] = UserFactory(username=kind)
        OrganizationRoleFactory(organization=rig.org, user=users[kind], role=role)
    users["no_role"] = UserFactory(username="no_role")
    return ApiRig(rig=rig, users=users)


@pytest.fixture(scope="module")
def api_rig_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[ApiRig]:
    yield from module_world(django_db_blocker, build_api_rig)


@pytest.fixture
def api_rig(api_rig_built: ApiRig, db: None) -> ApiRig:
    return fresh(api_rig_built)


@pytest.fixture
def rig(api_rig: ApiRig) -> CheckinRig:
    return api_rig.rig


@pytest.fixture
def users(api_rig: ApiRig) -> dict[str, Any]:
    return api_rig.users


def client_for(user: Any = None, **kwargs: Any) -> APIClient:
    client = APIClient(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def _open(rig: CheckinRig, kind: str, **kwargs: Any) -> CheckIn:
    return rig.checkin(kind, created=timezone.now() - dt.timedelta(hours=1), **kwargs)


def _link(checkin: CheckIn) -> str:
    return f"/api/v1/checkin-links/{links.checkin_token(checkin)}/"


# --- /checkin-links/<token>/ ---------------------------------------------------------------


def test_reading_a_link_shows_its_questions_and_consumes_nothing(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    response = APIClient().get(_link(checkin))

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "pulse_survey"
    assert body["subject"] == "Payments"
    assert body["recipient"] == {"first_name": "Ada"}
    assert body["anonymous"] is True
    assert body["min_group_size"] == 5
    assert [(i["key"], i["version"]) for i in body["instruments"]] == [
        ("westrum", 1),
        ("adkar", 1),
        ("platform-satisfaction", 1),
    ]
    first = body["instruments"][0]["questions"][0]
    assert first["key"] == "information_sought"
    assert first["labels"]["1"] == "Strongly disagree"
    assert body["answered"] is False
    assert body["expired"] is False
    assert dt.datetime.fromisoformat(body["expires_at"]) == checkin.expires_at
    assert reloaded(checkin).answered_at is None


def test_reading_an_answered_link_says_so_without_the_answers(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    APIClient().post(_link(checkin), {"answers": pulse_answers()}, format="json")

    response = APIClient().get(_link(checkin))

    assert response.status_code == 200
    assert response.json()["answered"] is True
    assert "Slow CI" not in response.content.decode()
    assert '"answers"' not in response.content.decode()


def test_a_bad_link_is_404_for_read_and_answer(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    token = links.checkin_token(CheckIn(pk=checkin.pk, link_nonce="guess"))

    read = APIClient().get(f"/api/v1/checkin-links/{token}/")
    answer = APIClient().post(
        f"/api/v1/checkin-links/{token}/", {"answers": pulse_answers()}, format="json"
    )

    assert read.status_code == answer.status_code == 404
    assert read.json()["extra"] == {"state": "invalid"}
    assert read.json()["message"] == answer.json()["message"]
    assert reloaded(checkin).answered_at is None


def test_answering_through_a_link_returns_201_without_echoing_the_answers(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    response = APIClient().post(_link(checkin), {"answers": pulse_answers()}, format="json")

    assert response.status_code == 201
    assert response.json() == {"status": "answered"}
    stored = Response.objects.get()
    assert stored.scores["westrum_score"] == 4.5
    assert stored.checkin_id is None


def test_a_link_answers_once_then_410_and_one_response(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    APIClient().post(_link(checkin), {"answers": pulse_answers()}, format="json")

    again = APIClient().post(_link(checkin), {"answers": pulse_answers()}, format="json")

    assert again.status_code == 410
    assert again.json()["extra"] == {"state": "answered"}
    assert Response.objects.count() == 1


def test_an_expired_link_is_410(rig: CheckinRig) -> None:
    checkin = rig.checkin(
        CheckInKind.PULSE_SURVEY, created=timezone.now() - dt.timedelta(days=8), valid_days=7
    )

    response = APIClient().post(_link(checkin), {"answers": pulse_answers()}, format="json")

    assert response.status_code == 410
    assert response.json()["extra"] == {"state": "expired"}
    assert APIClient().get(_link(checkin)).json()["expired"] is True


def test_invalid_answers_through_a_link_are_a_400_naming_each_field(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    answers = pulse_answers()
    answers["westrum"]["information_sought"] = "lots"
    answers["adkar"]["ability"] = 0

    response = APIClient().post(_link(checkin), {"answers": answers}, format="json")

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {
        "westrum.information_sought",
        "adkar.ability",
    }
    assert reloaded(checkin).answered_at is None


def test_a_status_answer_returns_the_milestones_new_status(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.MILESTONE_STATUS)

    response = APIClient().post(
        _link(checkin),
        {"answers": {"milestone-status": {"status": "on_track", "confidence": 5}}},
        format="json",
    )

    assert response.status_code == 201
    milestone = rig.milestone()
    assert response.json() == {
        "status": "answered",
        "milestone": {"id": milestone.pk, "key": "kickoff", "status": "in_progress"},
    }
    assert MilestoneEvent.objects.filter(milestone=milestone, to_status="in_progress").exists()


def test_a_status_answer_the_workflow_refuses_is_a_409(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.MILESTONE_STATUS)
    milestone = rig.milestone()
    milestone.status, milestone.status_reason = MilestoneStatus.AT_RISK, "Late"
    milestone.save()

    response = APIClient().post(
        _link(checkin),
        {"answers": {"milestone-status": {"status": "blocked", "confidence": 1, "note": "Stuck"}}},
        format="json",
    )

    assert response.status_code == 409
    assert "cannot go from at risk to blocked" in response.json()["message"]
    assert reloaded(checkin).answered_at is None


def test_link_endpoints_take_no_session_so_a_logged_in_browser_needs_no_csrf_token(
    rig: CheckinRig,
) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    client = client_for(rig.user, enforce_csrf_checks=True)

    response = client.post(_link(checkin), {"answers": pulse_answers()}, format="json")

    assert response.status_code == 201


BAD_BODIES: list[tuple[str, bytes | str, str]] = [
    ("a list", "[1, 2]", "application/json"),
    ("a string", '"answers"', "application/json"),
    ("a number", "42", "application/json"),
    ("null", "null", "application/json"),
    ("no answers", "{}", "application/json"),
    ("answers a list", '{"answers": [1]}', "application/json"),
    ("answers a string", '{"answers": "yes"}', "application/json"),
    ("answers null", '{"answers": null}', "application/json"),
    ("instrument a list", '{"answers": {"westrum": [7]}}', "application/json"),
    (
        "question an object",
        '{"answers": {"westrum": {"information_sought": {"a": 1}}}}',
        "application/json",
    ),
    ("float", '{"answers": {"westrum": {"information_sought": 6.5}}}', "application/json"),
    ("huge number", '{"answers": {"westrum": {"information_sought": 1e400}}}', "application/json"),
    (
        "huge int",
        '{"answers": {"westrum": {"information_sought": ' + "9" * 5000 + "}}}",
        "application/json",
    ),
    ("NaN", '{"answers": {"westrum": {"information_sought": NaN}}}', "application/json"),
    ("malformed", '{"answers": ', "application/json"),
    ("deeply nested", "[" * 100_000 + "]" * 100_000, "application/json"),
    ("not utf-8", b'{"answers": "\xff\xfe"}', "application/json"),
    (
        "many keys",
        json.dumps({"answers": {f"k{i}": {} for i in range(20_000)}}),
        "application/json",
    ),
    ("too big", '{"answers": {"x": "' + "a" * 3_000_000 + '"}}', "application/json"),
    ("form encoded", "answers=1", "application/x-www-form-urlencoded"),
    ("plain text", "hello", "text/plain"),
]


@pytest.mark.parametrize(
    ("case", "body", "content_type"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
def test_no_body_makes_a_link_answer_fail_with_a_500(
    rig: CheckinRig, case: str, body: bytes | str, content_type: str
) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    client = APIClient(raise_request_exception=False)

    # The stubs type the body as str; the client sends bytes as they are (the non-UTF-8 case).
    response = client.generic("POST", _link(checkin), body, content_type=content_type)  # type: ignore[arg-type]

    assert 400 <= response.status_code < 500, (case, response.status_code)
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]
    assert reloaded(checkin).answered_at is None
    assert Response.objects.count() == 0


def test_many_unknown_keys_give_a_bounded_error_list(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    answers: dict[str, dict[str, Any]] = {f"k{i}": {} for i in range(500)}

    response = APIClient().post(_link(checkin), {"answers": answers}, format="json")

    assert response.status_code == 400
    fields = response.json()["extra"]["fields"]
    assert len(fields) <= 51
    assert "more problems" in fields["non_field_errors"][0]


# --- /me/checkins/ and /checkins/<id>/response/ -----------------------------------------------


def test_my_checkins_lists_only_my_open_checkins(rig: CheckinRig, users: dict[str, Any]) -> None:
    mine = _open(rig, CheckInKind.PULSE_SURVEY)
    status = _open(rig, CheckInKind.MILESTONE_STATUS)
    answered = _open(rig, CheckInKind.TOPOLOGY_VERIFICATION)
    answered.answered_at = timezone.now()
    answered.save()
    rig.checkin(
        CheckInKind.EVENT_SURVEY, created=timezone.now() - dt.timedelta(days=9), valid_days=7
    )
    someone = PersonFactory(organization=rig.org, email="bo@acme.test", user=users["member"])
    _open(rig, CheckInKind.EVENT_SURVEY, recipient=someone)

    response = client_for(rig.user).get("/api/v1/me/checkins/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    by_id = {row["id"]: row for row in body["results"]}
    assert set(by_id) == {mine.pk, status.pk}
    assert by_id[status.pk]["subject"] == "Kick off the pilot"
    assert by_id[status.pk]["milestone"] == rig.milestone().pk
    assert by_id[mine.pk]["team"] == rig.team.slug
    assert by_id[mine.pk]["url"] == links.checkin_url(mine)
    assert by_id[mine.pk]["token"] == links.checkin_token(mine)


def test_my_checkins_needs_a_login(rig: CheckinRig) -> None:
    assert APIClient().get("/api/v1/me/checkins/").status_code in (401, 403)


def _my_checkins_queries(rig: CheckinRig, count: int) -> int:
    for index in range(count):
        _open(rig, CheckInKind.EVENT_SURVEY, subject=f"event:{count}-{index}")
        _open(rig, CheckInKind.MILESTONE_STATUS, subject=f"milestone:{count}-{index}")
    client = client_for(rig.user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/me/checkins/")
    assert response.status_code == 200
    return len(queries)


def test_my_checkins_runs_as_many_queries_for_30_checkins_as_for_2(rig: CheckinRig) -> None:
    few = _my_checkins_queries(rig, 1)
    CheckIn.objects.all().delete()
    many = _my_checkins_queries(rig, 15)

    assert few == many


def test_the_recipient_answers_a_checkin_while_logged_in(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.MILESTONE_STATUS)

    response = client_for(rig.user).post(
        f"/api/v1/checkins/{checkin.pk}/response/",
        {"answers": {"milestone-status": {"status": "on_track", "confidence": 3}}},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["milestone"]["status"] == "in_progress"
    event = MilestoneEvent.objects.get(milestone=rig.milestone(), to_status="in_progress")
    assert event.actor == rig.user


@pytest.mark.parametrize("kind", ["admin", "member", "no_role"])
def test_nobody_else_can_answer_someone_elses_checkin(
    rig: CheckinRig, users: dict[str, Any], kind: str
) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)

    response = client_for(users[kind]).post(
        f"/api/v1/checkins/{checkin.pk}/response/", {"answers": pulse_answers()}, format="json"
    )

    assert response.status_code == 404
    assert reloaded(checkin).answered_at is None


@pytest.mark.parametrize("checkin_id", ["999999", "abc", "99999999999999999999999"])
def test_an_unknown_checkin_id_is_404(rig: CheckinRig, checkin_id: str) -> None:
    response = client_for(rig.user).post(
        f"/api/v1/checkins/{checkin_id}/response/", {"answers": {}}, format="json"
    )

    assert response.status_code == 404


def test_answering_an_answered_checkin_by_id_is_410(rig: CheckinRig) -> None:
    checkin = _open(rig, CheckInKind.PULSE_SURVEY)
    client = client_for(rig.user)
    first = client.post(
        f"/api/v1/checkins/{checkin.pk}/response/", {"answers": pulse_answers()}, format="json"
    )

    second = client.post(
        f"/api/v1/checkins/{checkin.pk}/response/", {"answers": pulse_answers()}, format="json"
    )

    assert first.status_code == 201
    assert first.json() == {"status": "answered"}
    assert second.status_code == 410
    assert Response.objects.count() == 1


# --- settings --------------------------------------------------------------------------------


SETTINGS_URL = "/api/v1/orgs/acme/checkin-settings/"


@pytest.mark.parametrize("kind", ["admin", "change_agent", "leader"])
def test_admins_change_agents_and_leaders_read_the_settings(
    rig: CheckinRig, users: dict[str, Any], kind: str
) -> None:
    response = client_for(users[kind]).get(SETTINGS_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["stored"] is False
    assert body["survey_every_days"] == 14
    assert body["pulse_instruments"] == ["westrum", "adkar", "platform-satisfaction"]
    assert body["min_group_size"] == 5


@pytest.mark.parametrize(("kind", "status"), [("em", 403), ("member", 403), ("no_role", 404)])
def test_others_cannot_read_the_settings(
    rig: CheckinRig, users: dict[str, Any], kind: str, status: int
) -> None:
    assert client_for(users[kind]).get(SETTINGS_URL).status_code == status


def test_the_first_patch_stores_the_settings(rig: CheckinRig, users: dict[str, Any]) -> None:
    response = client_for(users["admin"]).patch(
        SETTINGS_URL,
        {
            "survey_every_days": 7,
            "min_group_size": 6,
            "channel": "webhook",
            "webhook_url": "https://hooks.slack.com/services/T0/B0/secret",
            "event_surveys": [{"event": "deploy", "instrument": "westrum"}],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    row = CheckinSettings.objects.get(organization=rig.org)
    assert row.survey_every_days == 7
    assert row.min_group_size == 6
    assert row.channel == "webhook"
    assert row.event_surveys == [{"event": "deploy", "instrument": "westrum"}]
    assert response.json()["stored"] is True
    assert response.json()["webhook_url"].endswith("/secret")


def test_only_admins_see_the_webhook_url_in_full(rig: CheckinRig, users: dict[str, Any]) -> None:
    CheckinSettingsFactory(
        organization=rig.org,
        channel="webhook",
        webhook_url="https://hooks.slack.com/services/T0/B0/secret",
    )

    leader = client_for(users["leader"]).get(SETTINGS_URL).json()
    admin = client_for(users["admin"]).get(SETTINGS_URL).json()

    assert "secret" not in leader["webhook_url"]
    assert leader["webhook_url"].startswith("https://hooks.slack.com/")
    assert admin["webhook_url"] == "https://hooks.slack.com/services/T0/B0/secret"


@pytest.mark.parametrize("kind", ["change_agent", "leader", "member"])
def test_only_admins_change_the_settings(rig: CheckinRig, users: dict[str, Any], kind: str) -> None:
    response = client_for(users[kind]).patch(SETTINGS_URL, {"survey_every_days": 7}, format="json")

    assert response.status_code == 403
    assert not CheckinSettings.objects.exists()


SETTINGS_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"min_group_size": 2}, "min_group_size"),
    ({"min_group_size": 11}, "min_free_text_group_size"),
    ({"min_group_size": 6, "min_free_text_group_size": 5}, "min_free_text_group_size"),
    ({"survey_every_days": 0}, "survey_every_days"),
    ({"topology_verify_every_days": 0}, "topology_verify_every_days"),
    ({"link_valid_days": 0}, "link_valid_days"),
    ({"channel": "webhook"}, "webhook_url"),
    ({"channel": "pigeon"}, "channel"),
    ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
    ({"pulse_instruments": ["westrum", "no-such-thing"]}, "pulse_instruments"),
    ({"pulse_instruments": ["milestone-status"]}, "pulse_instruments"),
    ({"pulse_instruments": []}, "pulse_instruments"),
    ({"pulse_instruments": ["westrum", "westrum"]}, "pulse_instruments"),
    ({"event_surveys": [{"event": "party", "instrument": "westrum"}]}, "event_surveys[0].event"),
    (
        {"event_surveys": [{"event": "deploy", "instrument": "nope"}]},
        "event_surveys[0].instrument",
    ),
    ({"event_surveys": [{"event": "deploy"}]}, "event_surveys[0]"),
    ({"event_surveys": ["deploy"]}, "event_surveys[0]"),
    ({"event_surveys": "deploy"}, "event_surveys"),
    ({"readiness_drop_alert": "nan"}, "readiness_drop_alert"),
    ({"digest_weekday": 7}, "digest_weekday"),
    ({"surveys_every_days": 7}, "surveys_every_days"),
]


@pytest.mark.parametrize(("changes", "field"), SETTINGS_ERRORS)
def test_invalid_settings_are_a_400_on_the_field_and_store_nothing(
    rig: CheckinRig, users: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    response = client_for(users["admin"]).patch(SETTINGS_URL, changes, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["extra"]["fields"], response.json()
    assert not CheckinSettings.objects.exists()


def test_a_patch_is_checked_against_the_stored_values(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    CheckinSettingsFactory(organization=rig.org, min_group_size=8, min_free_text_group_size=12)

    response = client_for(users["admin"]).patch(
        SETTINGS_URL, {"min_free_text_group_size": 7}, format="json"
    )

    assert response.status_code == 400
    assert CheckinSettings.objects.get().min_free_text_group_size == 12


def test_a_settings_body_that_is_not_an_object_is_a_400(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    response = client_for(users["admin"]).patch(SETTINGS_URL, [1, 2], format="json")

    assert response.status_code == 400


# --- instruments -----------------------------------------------------------------------------

INSTRUMENTS_URL = "/api/v1/orgs/acme/instruments/"

TEAM_MOOD = """\
key: team-mood
version: 1
title: Team mood
kind: survey
questions:
  - key: mood
    text: How is the mood in your team?
    type: scale
    min: 1
    max: 5
"""


def test_the_instrument_list_has_the_builtins_and_the_organisations_own(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    client_for(users["admin"]).post(INSTRUMENTS_URL, {"source": TEAM_MOOD}, format="json")
    other = build_checkin_rig("globex")
    InstrumentFactory(
        organization=other.org, key="secret", version=1, title="S", kind="survey", source="x"
    )

    response = client_for(users["member"]).get(INSTRUMENTS_URL)

    assert response.status_code == 200
    rows = [(r["key"], r["version"], r["builtin"]) for r in response.json()["results"]]
    assert ("team-mood", 1, False) in rows
    assert ("westrum", 1, True) in rows
    assert ("milestone-status", 1, True) in rows
    assert not any(key == "secret" for key, _v, _b in rows)


def test_the_instrument_list_is_latest_version_first(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    client = client_for(users["admin"])
    client.post(INSTRUMENTS_URL, {"source": TEAM_MOOD}, format="json")
    client.post(
        INSTRUMENTS_URL, {"source": TEAM_MOOD.replace("version: 1", "version: 2")}, format="json"
    )

    rows = client.get(INSTRUMENTS_URL).json()["results"]

    assert [r["version"] for r in rows if r["key"] == "team-mood"] == [2, 1]


def test_the_instrument_list_query_count_does_not_grow(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    client = client_for(users["member"])
    client.get(INSTRUMENTS_URL)  # the built-ins are stored on first use

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(INSTRUMENTS_URL).status_code == 200
        return len(queries)

    few = count()
    for version in range(1, 21):
        InstrumentFactory(
            organization=rig.org, key="bulk", version=version, title="B", kind="survey", source="x"
        )

    assert count() == few


def test_an_uploaded_instrument_is_stored_and_used_by_checkins(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    response = client_for(users["change_agent"]).post(
        INSTRUMENTS_URL, {"source": TEAM_MOOD}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["key"] == "team-mood"
    assert response.json()["builtin"] is False
    spec = instrument_get(organization=rig.org, key="team-mood", version=1)
    assert spec.questions[0].key == "mood"


def test_an_instrument_can_be_uploaded_as_a_file(rig: CheckinRig, users: dict[str, Any]) -> None:
    upload = SimpleUploadedFile("mood.yaml", TEAM_MOOD.encode(), content_type="application/yaml")

    response = client_for(users["admin"]).post(
        INSTRUMENTS_URL, {"file": upload}, format="multipart"
    )

    assert response.status_code == 201
    assert Instrument.objects.filter(organization=rig.org, key="team-mood").exists()


@pytest.mark.parametrize("kind", ["leader", "em", "member"])
def test_only_admins_and_change_agents_upload_instruments(
    rig: CheckinRig, users: dict[str, Any], kind: str
) -> None:
    response = client_for(users[kind]).post(INSTRUMENTS_URL, {"source": TEAM_MOOD}, format="json")

    assert response.status_code == 403
    assert not Instrument.objects.filter(organization=rig.org).exists()


def test_an_invalid_instrument_is_a_400_naming_file_line_and_field(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    broken = TEAM_MOOD.replace("max: 5", "max: 5\n    signal: deployment_frequency")
    upload = SimpleUploadedFile("mood.yaml", broken.encode())

    response = client_for(users["admin"]).post(
        INSTRUMENTS_URL, {"file": upload}, format="multipart"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("Invalid instrument: mood.yaml")
    assert "line 11" in body["message"]
    assert body["extra"]["file"] == "mood.yaml"
    assert body["extra"]["line"] == 11
    assert body["extra"]["path"] == "questions[0].signal"
    assert not Instrument.objects.filter(organization=rig.org).exists()


def test_uploading_the_same_instrument_again_is_idempotent(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    client = client_for(users["admin"])
    first = client.post(INSTRUMENTS_URL, {"source": TEAM_MOOD}, format="json")

    again = client.post(INSTRUMENTS_URL, {"source": TEAM_MOOD}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert Instrument.objects.filter(organization=rig.org, key="team-mood").count() == 1


def test_a_stored_version_never_changes(rig: CheckinRig, users: dict[str, Any]) -> None:
    client = client_for(users["admin"])
    client.post(INSTRUMENTS_URL, {"source": TEAM_MOOD}, format="json")

    changed = client.post(
        INSTRUMENTS_URL, {"source": TEAM_MOOD.replace("max: 5", "max: 7")}, format="json"
    )

    assert changed.status_code == 409
    assert "bump the version" in changed.json()["message"]
    assert Instrument.objects.get(organization=rig.org, key="team-mood").source == TEAM_MOOD


def test_an_organisation_cannot_reuse_a_builtin_version(
    rig: CheckinRig, users: dict[str, Any]
) -> None:
    own_westrum = TEAM_MOOD.replace("key: team-mood", "key: westrum")
    client = client_for(users["admin"])

    clash = client.post(INSTRUMENTS_URL, {"source": own_westrum}, format="json")
    newer = client.post(
        INSTRUMENTS_URL, {"source": own_westrum.replace("version: 1", "version: 2")}, format="json"
    )

    assert clash.status_code == 409
    assert "built-in" in clash.json()["message"]
    assert newer.status_code == 201
    assert instrument_get(organization=rig.org, key="westrum").title == "Team mood"
    assert instrument_get(organization=rig.org, key="westrum", version=1).title.startswith(
        "Team culture"
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"source": TEAM_MOOD, "file": "x"}, {"source": 12}, [TEAM_MOOD], {"source": ""}],
)
def test_a_malformed_upload_is_a_400(rig: CheckinRig, users: dict[str, Any], body: Any) -> None:
    response = client_for(users["admin"]).post(INSTRUMENTS_URL, body, format="json")

    assert response.status_code == 400
