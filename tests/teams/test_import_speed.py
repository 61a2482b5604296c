"""The import's fast paths (issue 14) write exactly what the slow ones write, and stay atomic.

On PostgreSQL (``DATABASE_URL`` set) new rows go in with ``COPY`` and ids taken from the sequence
first; elsewhere with multi-row INSERT statements. Both must give the same rows and history.
JSON and org-format YAML files are first read by C parsers without line numbers; the data must be
what the line-tracking loader gives, and a failure must still name the line.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import models

from core.files.origin import ImportFailure
from teams.importers import apply, bulk
from teams.importers.apply import org_import_files
from teams.importers.reader import read_import_files
from teams.models import (
    Interaction,
    Membership,
    Organization,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    Team,
)
from tests.builders import FIXTURES_DIR

pytestmark = pytest.mark.django_db

GRAPH_MODELS: tuple[type[models.Model], ...] = (
    OrgUnit,
    Person,
    Team,
    Membership,
    ServesLink,
    Interaction,
    Service,
)
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

EXTRA = """\
format: transform.org/v1
units:
  - {slug: labs, name: Labs, kind: lab, parent: engineering}
people:
  - {email: Gone.Person@Example.com, name: Gone Person, left_on: 2026-01-31}
  - {email: lab.lead@example.com, name: Lab Lead}
teams:
  - slug: lab-one
    name: Lab One
    type: complicated_subsystem
    unit: labs
    manager: lab.lead@example.com
    description: "Trying things: NO, on, 012 stay texts"
    members:
      - {person: lab.lead@example.com, role: lead, allocation_percent: 60}
    interactions:
      - {target: lab-two, mode: collaboration, since: 2026-01-05, expected_end: 2026-04-05, note: pairing}
    services:
      - {slug: lab-api, kind: api, name: Lab API}
      - {slug: lab-web}
  - {slug: lab-two, name: Lab Two, type: enabling, unit: labs}
  - {slug: lab-silo, name: Lab Silo, type: ops_silo, specialty: database, unit: labs}
serves:
  - {person: lab.lead@example.com, team: lab-two, note: on call}
interactions:
  - {source: lab-two, target: lab-silo, mode: ticket_dependency, severity: blocking}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def org_files(tmp_path: Path) -> list[Path]:
    return [FIXTURES_DIR / "demo-org.yaml", write(tmp_path, "extra.yaml", EXTRA)]


def snapshot(organization: Organization) -> dict[str, list[dict[str, Any]]]:
    """Every graph row of ``organization`` and its history rows, ordered by id, with every id
    made relative to the smallest id of its table in the organisation and the moment of the import
    named as such (two imports of the same files then give equal snapshots whatever ids the
    sequences handed out and whenever they ran)."""
    moment = Person.objects.filter(organization=organization).earliest("created_at").created_at
    tables: dict[type[models.Model], list[dict[str, Any]]] = {}
    for model in GRAPH_MODELS:
        history: type[models.Model] = model.history.model  # type: ignore[attr-defined]
        tables[model] = list(model._default_manager.filter(organization=organization).values())
        tables[history] = list(
            history._default_manager.filter(organization_id=organization.pk).values()
        )
    base = {
        model: min((row[model._meta.pk.attname] for row in rows), default=0)
        for model, rows in tables.items()
    }

    def relative(model: type[models.Model], field: models.Field, value: Any) -> Any:
        if value is None:
            return None
        if value == moment and isinstance(value, dt.datetime):
            return "the import's moment"
        if field.name == "organization":
            return "the organisation"
        if field.primary_key:
            return value - base[model]
        if field.is_relation:
            return value - base[field.related_model]  # type: ignore[index]
        if model not in GRAPH_MODELS and field.attname == "id":
            return value - base[model.instance_type]  # type: ignore[attr-defined]
        return value

    found: dict[str, list[dict[str, Any]]] = {}
    for model, rows in tables.items():
        fields = {field.attname: field for field in model._meta.concrete_fields}
        found[model._meta.db_table] = sorted(
            (
                {name: relative(model, fields[name], value) for name, value in row.items()}
                for row in rows
            ),
            key=lambda row: row[model._meta.pk.attname],
        )
    return found


def imported(slug: str, paths: list[Path]) -> Organization:
    org_import_files(slug=slug, paths=paths, change_reason="import_org test")
    return Organization.objects.get(slug=slug)


# --- Writing -----------------------------------------------------------------------------------


def test_copy_writes_the_same_rows_and_history_as_insert_statements(tmp_path, monkeypatch):
    fast = imported("fast", org_files(tmp_path))
    monkeypatch.setattr(
        apply, "insert_with_history", functools.partial(bulk.insert_with_history, copy=False)
    )
    slow = imported("slow", org_files(tmp_path))

    fast_rows, slow_rows = snapshot(fast), snapshot(slow)
    assert fast_rows == slow_rows
    assert len(fast_rows["teams_person"]) == Person.objects.filter(organization=fast).count() > 20
    # One creation history row per row, stamped with the import's moment and reason.
    for model in GRAPH_MODELS:
        rows = fast_rows[model._meta.db_table]
        history = fast_rows[model.history.model._meta.db_table]  # type: ignore[attr-defined]
        assert len(history) == len(rows) > 0
        assert {(row["history_type"], row["history_date"]) for row in history} == {
            ("+", "the import's moment")
        }
        assert {row["history_change_reason"] for row in history} == {"import_org test"}
        assert [row["id"] for row in history] == [row["id"] for row in rows]


def test_new_rows_get_ascending_ids_in_the_order_of_the_file(tmp_path):
    organization = imported("acme", org_files(tmp_path))

    people = list(Person.objects.filter(organization=organization).order_by("pk"))
    ids = [person.pk for person in people]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    in_files = [email.lower() for email in read_import_files(org_files(tmp_path)).people]
    assert [person.email for person in people] == in_files
    gone = Person.objects.get(organization=organization, email="gone.person@example.com")
    assert gone.left_on == dt.date(2026, 1, 31)
    assert gone.history.get().left_on == dt.date(2026, 1, 31)


def test_the_copy_helper_writes_text_choices_by_value_and_takes_the_sequences_ids(organization):
    rows = [
        Person(organization=organization, email=f"p{n}@example.com", name=f"P {n}")
        for n in range(3)
    ]
    bulk.insert_with_history(Person, rows, history_date=NOW, change_reason="r", user_id=None)
    team = Team(organization=organization, slug="t", name="T", type=Team.type.field.default)
    bulk.insert_with_history(Team, [team], history_date=NOW, change_reason="r", user_id=None)
    membership = Membership(
        organization=organization, person=rows[0], team=team, role=Membership.role.field.default
    )
    bulk.insert_with_history(
        Membership, [membership], history_date=NOW, change_reason="r", user_id=None
    )

    assert [row.pk for row in rows] == sorted(row.pk for row in rows)
    stored = Membership.objects.get(pk=membership.pk)
    assert stored.role == "member"
    assert stored.history.get().role == "member"
    assert stored.created_at == stored.updated_at == NOW
    # The next row saved the ordinary way gets a fresh id: the sequence moved on.
    later = Person.objects.create(organization=organization, email="later@example.com", name="L")
    assert later.pk > max(row.pk for row in rows)


def test_new_rows_are_made_as_the_model_would_make_them(organization):
    values = {
        "organization_id": organization.pk,
        "slug": "checkout",
        "name": "Checkout",
        "type": "stream_aligned",
    }
    made = apply._row_maker(Team)(dict(values))
    expected = Team(**values)
    fields = [field.attname for field in Team._meta.concrete_fields]
    assert [getattr(made, name) for name in fields] == [getattr(expected, name) for name in fields]
    with pytest.raises(TypeError, match="no column colour"):
        apply._row_maker(Team)({**values, "colour": "red"})


def test_a_failure_midway_leaves_nothing_not_even_the_organisation(tmp_path, monkeypatch):
    calls = 0

    def counted(real: Any) -> Any:
        def write(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 6:  # units, people and teams are in; memberships are not
                raise RuntimeError("the database went away")
            return real(*args, **kwargs)

        return write

    monkeypatch.setattr(bulk, "_copy", counted(bulk._copy))
    monkeypatch.setattr(bulk, "_insert", counted(bulk._insert))

    with pytest.raises(RuntimeError, match="went away"):
        org_import_files(slug="acme", paths=org_files(tmp_path))

    assert calls == 6
    assert not Organization.objects.filter(slug="acme").exists()
    for model in GRAPH_MODELS:
        assert not model._default_manager.exists()
        assert not model.history.exists()  # type: ignore[attr-defined]


def test_an_import_failing_after_its_writes_is_read_again_and_writes_once(tmp_path, monkeypatch):
    """A failure after the fast read's attempt wrote its rows rolls all of them back; the second
    attempt (reading with line numbers) starts from nothing."""
    real = apply._Departures.apply
    attempts = 0

    def failing_once(self: Any, *args: Any) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ImportFailure("extra.yaml", "someone changed the plan meanwhile")
        real(self, *args)

    monkeypatch.setattr(apply._Departures, "apply", failing_once)
    result = org_import_files(slug="acme", paths=org_files(tmp_path))

    assert attempts == 2
    assert Organization.objects.filter(slug="acme").count() == 1
    assert Team.objects.count() == Team.history.count() == result.counts["teams"].created > 0


def test_an_import_that_writes_changes_the_topology_version_and_one_that_does_not_keeps_it(
    tmp_path,
):
    org_import_files(slug="acme", paths=org_files(tmp_path))
    first = Organization.objects.get(slug="acme").topology_version

    org_import_files(slug="acme", paths=org_files(tmp_path))
    assert Organization.objects.get(slug="acme").topology_version == first

    changed = write(tmp_path, "more.yaml", EXTRA.replace("name: Lab Two", "name: Lab 2"))
    org_import_files(slug="acme", paths=[changed])
    assert Organization.objects.get(slug="acme").topology_version != first


def test_the_garbage_collector_is_back_on_after_an_import_even_a_failed_one(tmp_path):
    import gc

    org_import_files(slug="acme", paths=org_files(tmp_path))
    assert gc.isenabled()
    broken = write(tmp_path, "broken.yaml", EXTRA.replace("type: enabling", "type: nope"))
    with pytest.raises(ImportFailure):
        org_import_files(slug="acme", paths=[broken])
    assert gc.isenabled()


# --- Reading -----------------------------------------------------------------------------------


def test_yaml_read_by_the_c_parser_imports_exactly_as_the_line_tracking_reader(tmp_path):
    fast = read_import_files(org_files(tmp_path), fast=True)
    slow = read_import_files(org_files(tmp_path), fast=False)

    entries = [name for name in fast.__slots__ if name != "warnings"]
    assert {name: list(getattr(fast, name).keys()) for name in entries} == {
        name: list(getattr(slow, name).keys()) for name in entries
    }
    assert fast.warnings == slow.warnings
    for name in ("units", "teams", "people", "memberships", "serves", "interactions", "services"):
        assert [entry.value for entry in getattr(fast, name).values()] == [
            entry.value for entry in getattr(slow, name).values()
        ]
    # Without line numbers the fast read's entries name their document's first line.
    assert len({entry.origin for entry in fast.teams.values()}) == 2
    assert len({entry.origin for entry in slow.teams.values()}) == len(slow.teams)


def test_json_and_yaml_of_the_same_organisation_import_the_same_rows(tmp_path):
    from ruamel.yaml import YAML

    source = write(tmp_path, "labs.yaml", EXTRA.replace(", parent: engineering", ""))
    data = YAML(typ="safe", pure=True).load(source.read_text(encoding="utf-8"))
    as_json = tmp_path / "extra.json"
    as_json.write_text(json.dumps(data, default=str), encoding="utf-8")

    from_yaml = imported("from-yaml", [source])
    from_json = imported("from-json", [as_json])

    assert snapshot(from_yaml) == snapshot(from_json)


def test_a_mistake_in_a_large_yaml_file_still_names_its_line(tmp_path):
    broken = write(tmp_path, "org.yaml", EXTRA.replace("type: enabling", "type: nope"))

    with pytest.raises(ImportFailure) as caught:
        org_import_files(slug="acme", paths=[broken])

    assert "org.yaml, document 1, line 21: teams[1].type: expected one of " in str(caught.value)
    assert not Organization.objects.filter(slug="acme").exists()


def test_a_reference_problem_found_after_a_fast_json_read_names_its_line(tmp_path):
    document = {
        "format": "transform.org/v1",
        "teams": [
            {"slug": "a", "name": "A", "type": "platform"},
            {"slug": "b", "name": "B", "type": "platform", "unit": "nowhere"},
        ],
    }
    path = tmp_path / "org.json"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")

    with pytest.raises(ImportFailure) as caught:
        org_import_files(slug="acme", paths=[path])

    assert "org.json, document 1, line 9: team 'b': unknown unit 'nowhere'" in str(caught.value)


def test_an_alias_bomb_in_an_org_file_is_refused_quickly_on_the_fast_path(tmp_path):
    lines = ["format: transform.org/v1", 'a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 10):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    started = time.perf_counter()
    with pytest.raises(ImportFailure) as caught:
        read_import_files([path], fast=True)

    assert time.perf_counter() - started < 2
    assert "aliases repeat more than 10,000 nodes" in str(caught.value)
    assert ", line " in str(caught.value)
