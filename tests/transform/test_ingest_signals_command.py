"""``manage.py ingest_signals``: the example file, counts, idempotence, and errors by line and column."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from teams.models import Organization
from tests.builders import FIXTURES_DIR
from tests.factories import TeamFactory
from transform.management.commands.ingest_signals import Command
from transform.models import CheckIn, CheckInKind, SignalEvent

pytestmark = pytest.mark.django_db

EXAMPLE = FIXTURES_DIR / "signal-events.csv"
HEADER = "kind,id,team,occurred_at,commit_times,caused_failure,is_rework,mandated,capability\n"


@pytest.fixture
def demo(db: None) -> Organization:
    call_command(
        "import_org", "--org", "demo", str(FIXTURES_DIR / "demo-org.yaml"), stdout=StringIO()
    )
    return Organization.objects.get(slug="demo")


@pytest.fixture
def acme(organization: Organization) -> Organization:
    TeamFactory(organization=organization, slug="web")
    return organization


def ingest_signals(*args: str | Path) -> str:
    out = StringIO()
    call_command("ingest_signals", *[str(arg) for arg in args], stdout=out)
    return out.getvalue()


def csv_file(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_file_ingests_into_the_demo_organisation(demo: Organization) -> None:
    output = ingest_signals("--org", "demo", EXAMPLE)

    # The returns squad's first deploy on the platform triggers the default event survey to its
    # 3 members.
    assert output == (
        f"Signal events from {EXAMPLE} for 'demo': 20 created, 0 updated, 0 unchanged.\n"
        "Event surveys triggered: 3.\n"
    )
    assert CheckIn.objects.filter(organization=demo, kind=CheckInKind.EVENT_SURVEY).count() == 3
    kinds = sorted(SignalEvent.objects.filter(organization=demo).values_list("kind", flat=True))
    assert kinds.count("deploy") == 6
    assert kinds.count("adoption") == 5
    deploy = SignalEvent.objects.get(external_id="deploy-1001")
    assert deploy.data["commit_times"] == ["2026-08-31T15:00:00+00:00", "2026-09-01T08:30:00+00:00"]
    assert deploy.data["caused_failure"] is False
    rework = SignalEvent.objects.get(external_id="deploy-1003")
    assert (rework.data["is_rework"], rework.data["caused_failure"]) == (True, False)
    ticket = SignalEvent.objects.get(external_id="DBA-880")
    assert ticket.data == {"closed_at": None, "waiting_on": "dba", "developers_waiting": 3}
    assert SignalEvent.objects.get(external_id="INC-302").team is None
    mandated = SignalEvent.objects.get(external_id="adopt-returns-ci")
    assert mandated.data == {"capability": "ci", "mandated": True}


def test_the_same_file_twice_leaves_everything_unchanged(demo: Organization) -> None:
    ingest_signals("--org", "demo", EXAMPLE)
    before = list(SignalEvent.objects.order_by("id").values_list("id", "ingested_at", "data"))

    output = ingest_signals("--org", "demo", EXAMPLE)

    assert "0 created, 0 updated, 20 unchanged." in output
    assert list(SignalEvent.objects.order_by("id").values_list("id", "ingested_at", "data")) == (
        before
    )


def test_a_bad_file_names_file_line_and_column_of_every_problem_and_stores_nothing(
    acme: Organization, tmp_path: Path
) -> None:
    path = csv_file(
        tmp_path,
        HEADER
        + "deploy,d1,web,2026-03-02T10:00:00Z,,,,,\n"
        + "\n"
        + "deploy,d2,nowhere,2026-03-02T10:00:00Z,,yes,,,\n"
        + "deploy,d3,web,2026-03-02T10:00:00,2026-03-02T09:00:00Z;2026-03-02T09:30,,,,\n"
        + "adoption,a1,web,2026-03-02T10:00:00Z,,,,,ci\n"
        + "deploy,d4,web,2026-03-02T10:00:00Z,,,,true,\n",
    )

    with pytest.raises(CommandError) as caught:
        ingest_signals("--org", "acme", path)

    naive = "expected a timezone-aware date-time (add an offset such as Z or +01:00)"
    assert str(caught.value).splitlines() == [
        "Nothing was stored.",
        f"{path}, line 4, column team: no team 'nowhere' in organisation 'acme'",
        f"{path}, line 4, column caused_failure: expected true or false; got 'yes'",
        f"{path}, line 5, column occurred_at: {naive}; got '2026-03-02T10:00:00' without one",
        f"{path}, line 5, column commit_times: {naive}; got '2026-03-02T09:30' without one",
        f"{path}, line 6, column mandated: required field is missing",
        f"{path}, line 7, column mandated: not a field of a deploy event; its fields are kind, "
        "id, team, service, occurred_at, commit_times, caused_failure, is_rework",
    ]
    assert not SignalEvent.objects.exists()


def test_a_quoted_cell_over_two_lines_counts_the_line_the_row_starts_on(
    acme: Organization, tmp_path: Path
) -> None:
    path = csv_file(
        tmp_path,
        'kind,id,team,occurred_at\ndeploy,"d\n1",web,2026-03-02T10:00:00Z\n'
        "deploy,d2,nope,2026-03-02T10:00:00Z\n",
    )

    with pytest.raises(CommandError) as caught:
        ingest_signals("--org", "acme", path)

    assert str(caught.value).splitlines()[1:] == [
        f"{path}, line 2, column id: expected no control characters; got 'd\\n1'",
        f"{path}, line 4, column team: no team 'nope' in organisation 'acme'",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: empty file; expected a header row with kind,id,team,occurred_at"),
        (
            "kind,id,team,occurred_at,colour\n",
            "line 1: unknown column 'colour'; expected the columns kind,id,team,occurred_at and "
            "any of commit_times,caused_failure,is_rework,resolved_at,caused_by_deploy,"
            "closed_at,waiting_on,developers_waiting,capability,mandated,subject,joined_at",
        ),
        ("kind,id,occurred_at\n", "line 1: missing column 'team'; expected the columns"),
        ("kind,id,team,occurred_at,id\n", "line 1: column 'id' appears twice"),
        (
            "kind,id,team,occurred_at\ndeploy,d1,web\n",
            "line 2: expected 4 cells (kind,id,team,occurred_at); got 3",
        ),
        ('kind,id,team,occurred_at\ndeploy,"d1"x,web,2026-03-02T10:00:00Z\n', "line 2: CSV error"),
    ],
)
def test_a_file_that_is_not_the_format_is_refused_by_line(
    acme: Organization, tmp_path: Path, text: str, message: str
) -> None:
    path = csv_file(tmp_path, text)

    with pytest.raises(CommandError) as caught:
        ingest_signals("--org", "acme", path)

    assert str(caught.value).startswith(f"Nothing was stored.\n{path}, {message}")
    assert not SignalEvent.objects.exists()


def test_header_names_may_come_in_any_order_and_case_with_a_byte_order_mark(
    acme: Organization, tmp_path: Path
) -> None:
    path = csv_file(
        tmp_path,
        "\ufeffTeam, Occurred_At ,kind,id,developers_waiting\n"
        "web,2026-03-02T10:00:00Z,ticket,t1,4\n",
    )

    output = ingest_signals("--org", "acme", path)

    assert "1 created" in output
    assert SignalEvent.objects.get().data["developers_waiting"] == 4


def test_an_unknown_organisation_or_a_missing_file_is_an_error(
    acme: Organization, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        ingest_signals("--org", "nope", EXAMPLE)
    with pytest.raises(CommandError, match=r"Nothing was stored.\n.*missing\.csv: file not found"):
        ingest_signals("--org", "acme", tmp_path / "missing.csv")


def test_too_many_rows_are_refused_whole(
    acme: Organization, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transform.evidence import services as signals

    monkeypatch.setattr(signals, "MAX_RECORDS_PER_INGEST", 1)
    path = csv_file(
        tmp_path,
        "kind,id,team,occurred_at\n"
        "deploy,d1,web,2026-03-02T10:00:00Z\ndeploy,d2,web,2026-03-02T10:00:00Z\n",
    )

    with pytest.raises(CommandError) as caught:
        ingest_signals("--org", "acme", path)

    assert str(caught.value) == (
        f"Nothing was stored.\n{path}: At most 1 records can be ingested at once; got 2. "
        "Split them into several batches."
    )


def test_from_the_command_line_a_bad_file_exits_with_status_1(
    acme: Organization,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # run_from_argv closes every connection when done, the test's own included.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    path = csv_file(tmp_path, "kind,id,team,occurred_at\ndeploy,d1,mobile,2026-03-02T10:00:00Z\n")

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "ingest_signals", "--org", "acme", str(path)])

    assert exited.value.code == 1
    assert f"{path}, line 2, column team: no team 'mobile'" in capsys.readouterr().err
    assert not SignalEvent.objects.exists()
