"""The correctness suite (issue 13): hand-written organisations with planted problems and healthy
decoys, each with an answer key written before the analysis was run.

Each folder of ``tests/data/orgs/`` holds ``org.yaml`` (the org format) and ``answers.yaml``. The
org is imported with ``import_org``, as a user would, and analysed as ``analyze_org`` does
(``org_snapshot_get`` then ``analyze_snapshot``) with the analysis date pinned to the key's
``as_of``, so the ages of collaborations do not drift with the wall clock.

The key is **complete**: a finding the key does not list under ``expected`` (or ``tolerated``)
fails the suite as surely as a missed one. ``absent`` names the decoys, so a false alarm on one
of them fails with the reason it is healthy. docs/analysis.md, "Correctness suite".
"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from django.core.management import call_command
from pydantic import BaseModel, ConfigDict, Field

from teams.analysis import FINDING_KINDS, analyze_snapshot
from teams.models import Organization
from teams.selectors import org_snapshot_get

ORGS_DIR = Path(__file__).resolve().parent.parent / "data" / "orgs"
ORG_NAMES = sorted(path.name for path in ORGS_DIR.iterdir() if (path / "answers.yaml").is_file())
MIN_PEOPLE, MAX_PEOPLE = 40, 150


class KeyEntry(BaseModel):
    """One finding of a key: its kind and first subject, optionally other subjects and severity."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: str
    subject: str = Field(min_length=1, description="Team slug or person e-mail, first subject.")
    with_: tuple[str, ...] = Field(default=(), alias="with")
    severity: Literal["high", "medium", "low"] | None = None
    why: str = Field(min_length=1)

    def matches(self, finding: dict[str, Any]) -> bool:
        """Same kind, same first subject, and every ``with`` among the finding's subjects."""
        names = [_subject_name(subject) for subject in finding["subjects"]]
        return (
            finding["kind"] == self.kind
            and names[0] == self.subject
            and set(self.with_) <= set(names[1:])
        )

    def label(self) -> str:
        others = f" with {', '.join(self.with_)}" if self.with_ else ""
        severity = f" [{self.severity}]" if self.severity else ""
        return f"{self.kind} on {self.subject}{others}{severity} ({self.why})"


class AnswerKey(BaseModel):
    """``answers.yaml``: the analysis date, the head count and the findings to expect or not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: dt.date
    people: int
    expected: list[KeyEntry]
    absent: list[KeyEntry] = []
    # Findings allowed but not asserted; empty in every key so far (a complete key is stronger).
    tolerated: list[KeyEntry] = []


def _subject_name(subject: dict[str, str]) -> str:
    return subject["slug"] if subject["type"] == "team" else subject["email"]


def _finding_label(finding: dict[str, Any]) -> str:
    names = ", ".join(_subject_name(subject) for subject in finding["subjects"])
    return f"{finding['kind']} [{finding['severity']}] on {names}: {finding['explanation']}"


def load_key(path: Path) -> AnswerKey:
    with path.open(encoding="utf-8") as stream:
        return AnswerKey.model_validate(yaml.safe_load(stream))


def compare(*, key: AnswerKey, findings: list[dict[str, Any]]) -> list[str]:
    """Every disagreement between ``findings`` and ``key``, one readable line each; [] if none.

    Each expected entry claims one finding it matches; a finding left unclaimed is false when an
    ``absent`` entry names it, accepted when a ``tolerated`` one does, and unexpected otherwise.
    """
    problems = []
    unclaimed = list(findings)
    for entry in key.expected:
        match = next((finding for finding in unclaimed if entry.matches(finding)), None)
        if match is None:
            problems.append(f"missed: {entry.label()}")
            continue
        unclaimed.remove(match)
        if entry.severity and match["severity"] != entry.severity:
            problems.append(f"wrong severity, expected {entry.severity}: {_finding_label(match)}")
    for finding in unclaimed:
        absent = next((entry for entry in key.absent if entry.matches(finding)), None)
        if absent is not None:
            problems.append(f"false, the key says absent ({absent.why}): {_finding_label(finding)}")
        elif not any(entry.matches(finding) for entry in key.tolerated):
            problems.append(f"unexpected, not in the key: {_finding_label(finding)}")
    return problems


def key_problems(*, key: AnswerKey, teams: set[str], people: set[str]) -> list[str]:
    """Mistakes in the key itself: unknown kinds or subjects (an ``absent`` entry naming a team
    that does not exist would pass vacuously) and entries both expected and absent."""
    problems = []
    entries = key.expected + key.absent + key.tolerated
    for entry in entries:
        if entry.kind not in FINDING_KINDS:
            problems.append(f"unknown kind {entry.kind!r}")
        for name in (entry.subject, *entry.with_):
            if name not in teams and name not in people:
                problems.append(f"{entry.kind}: unknown subject {name!r}")
    expected = {(entry.kind, entry.subject) for entry in key.expected}
    for entry in key.absent:
        if (entry.kind, entry.subject) in expected:
            problems.append(f"{entry.kind} on {entry.subject} is both expected and absent")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("name", ORG_NAMES)
def test_the_analysis_finds_exactly_what_the_answer_key_lists(name: str) -> None:
    folder = ORGS_DIR / name
    key = load_key(folder / "answers.yaml")
    call_command("import_org", "--org", name, str(folder / "org.yaml"), stdout=StringIO())
    snapshot = org_snapshot_get(organization=Organization.objects.get(slug=name))
    report = analyze_snapshot(snapshot, today=key.as_of)

    teams = {team.slug for team in snapshot.teams}
    people = {person.email for person in snapshot.people}
    assert not key_problems(key=key, teams=teams, people=people), "\n".join(
        [f"{name}/answers.yaml is wrong:", *key_problems(key=key, teams=teams, people=people)]
    )
    assert MIN_PEOPLE <= len(people) <= MAX_PEOPLE, f"{name} has {len(people)} people"
    assert len(people) == key.people, f"{name} has {len(people)} people, the key says {key.people}"

    problems = compare(key=key, findings=report["findings"])
    assert not problems, "\n".join([f"{name}: the analysis disagrees with the key", *problems])


def test_there_are_at_least_three_organisations() -> None:
    assert len(ORG_NAMES) >= 3, ORG_NAMES


def _finding(kind: str, *subjects: str, severity: str = "medium") -> dict[str, Any]:
    return {
        "kind": kind,
        "severity": severity,
        "subjects": [{"type": "team", "slug": slug} for slug in subjects],
        "explanation": "...",
    }


def test_the_comparison_names_missed_false_unexpected_and_misjudged_findings() -> None:
    key = AnswerKey.model_validate(
        {
            "as_of": "2026-12-01",
            "people": 40,
            "expected": [
                {"kind": "ops_silo", "subject": "dba", "with": ["checkout"], "why": "tickets"},
                {"kind": "team_size", "subject": "big", "severity": "medium", "why": "12"},
                {"kind": "team_bottleneck", "subject": "dba", "why": "4 teams wait"},
            ],
            "absent": [{"kind": "cognitive_load", "subject": "platform", "why": "xaas"}],
            "tolerated": [{"kind": "unclassified_team", "subject": "bi", "why": "maybe"}],
        }
    )
    findings = [
        _finding("ops_silo", "dba", "catalog", "checkout"),
        _finding("team_size", "big", severity="low"),
        _finding("cognitive_load", "platform"),
        _finding("cognitive_load", "dba"),
        _finding("unclassified_team", "bi", severity="low"),
    ]

    problems = compare(key=key, findings=findings)

    assert [problem.split(":")[0] for problem in problems] == [
        "wrong severity, expected medium",
        "missed",
        "false, the key says absent (xaas)",
        "unexpected, not in the key",
    ]
    assert "team_bottleneck on dba" in problems[1]
    assert "cognitive_load [medium] on dba" in problems[3]


def test_a_key_naming_an_unknown_team_or_kind_is_refused() -> None:
    key = AnswerKey.model_validate(
        {
            "as_of": "2026-12-01",
            "people": 40,
            "expected": [{"kind": "silo", "subject": "dba", "why": "typo in the kind"}],
            "absent": [
                {"kind": "team_size", "subject": "platfrom", "why": "typo in the slug"},
                {"kind": "silo", "subject": "dba", "why": "both"},
            ],
        }
    )

    problems = key_problems(key=key, teams={"dba", "platform"}, people=set())

    assert "unknown kind 'silo'" in problems
    assert "team_size: unknown subject 'platfrom'" in problems
    assert "silo on dba is both expected and absent" in problems
