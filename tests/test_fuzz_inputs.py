"""Mutated files through every importer and loader (issue 11): byte flips, truncations and
insertions of hostile fragments (aliases and alias bombs, tags, NUL, deep nesting, long numbers,
odd encodings). Each example must end in success or in the project's own error (a CommandError
from a command, ImportFailure / ApplicationError from a loader), never another exception, and a
refusal must leave the database exactly as it was.

2,000 examples in total, split across the loaders so that each runs within seconds."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from core.files.origin import ImportFailure
from teams.models import Organization
from tests.playbooks.samples import VALID

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db

HOSTILE: list[bytes] = [
    b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"&r [*r]",
    b"!!python/object/apply:os.system ['true']",
    b"!!python/name:os.system ",
    b"!custom ",
    b"!!binary aGVsbG8= ",
    b"\x00",
    b'"\\0"',
    b'"\\u0000"',
    b"[" * 300,
    b"{" * 300,
    b"- " * 200,
    b"9" * 5000,
    b"1e99999",
    b"0x" + b"f" * 300,
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\xe2\x80\xa8",
    b"\r",
    b'"',
    b"'",
    b"\t",
    b": ",
    b"? ",
    b"|\n",
    b"%YAML 1.1\n---\n",
    b"---\n",
    b"...\n",
    b",",
    b";",
    b"\n",
    b"2026-13-45",
    b"-1",
    b"99999999999999999999",
]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` after one to four mutations, or re-encoded as UTF-16 or Latin-1."""
    data = bytearray(seed)
    if draw(st.integers(0, 19)) == 0:
        text = seed.decode("utf-8")
        encoding = draw(st.sampled_from(["utf-16", "latin-1"]))
        return text.encode(encoding, "replace")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "insert", "delete"]))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(HOSTILE))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


def _snapshot() -> dict[str, int]:
    """Row counts of every table an import or loader could write."""
    labels = {"teams", "playbooks", "evidence", "instruments"}
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in labels
    }


def _refused_or_done(run: Callable[[], Any], errors: tuple[type[Exception], ...]) -> None:
    """Run ``run``; a refusal must be one of ``errors`` and leave the database unchanged."""
    before = _snapshot()
    try:
        run()
    except errors:
        assert _snapshot() == before
    # Any other exception fails the example: Hypothesis shrinks and reports it.


SETTINGS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _import_command(paths: list[Path]) -> Callable[[], Any]:
    return lambda: call_command("import_org", "--org", "fuzz", *map(str, paths), stdout=_Null())


class _Null:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


ORG_YAML = b"""\
format: transform.org/v1
units:
  - slug: eng
    name: Engineering
people:
  - email: ann@example.com
    name: Ann
teams:
  - slug: core
    name: Core
    type: platform
    unit: eng
    members:
      - email: ann@example.com
        role: lead
  - slug: shop
    name: Shop
    type: stream_aligned
interactions:
  - from: shop
    to: core
    mode: x_as_a_service
"""


@settings(SETTINGS, max_examples=350)
@given(data=st.data())
def test_org_yaml(tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "org.yaml"
    path.write_bytes(data.draw(mutated(ORG_YAML)))
    _refused_or_done(_import_command([path]), (CommandError,))


ORG_JSON = (
    b'{"format": "transform.org/v1", "units": [{"slug": "eng", "name": "Engineering"}], '
    b'"people": [{"email": "ann@example.com", "name": "Ann"}], "teams": [{"slug": "core", '
    b'"name": "Core", "type": "platform", "unit": "eng", "members": [{"email": '
    b'"ann@example.com", "role": "lead"}]}]}'
)


@settings(SETTINGS, max_examples=250)
@given(data=st.data())
def test_org_json(tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "org.json"
    path.write_bytes(data.draw(mutated(ORG_JSON)))
    _refused_or_done(_import_command([path]), (CommandError,))


PEOPLE_CSV = (REPO / "fixtures" / "example-people.csv").read_bytes()


@settings(SETTINGS, max_examples=250)
@given(data=st.data())
def test_people_csv(tmp_path: Path, data: st.DataObject) -> None:
    org = tmp_path / "org.yaml"
    org.write_bytes(ORG_YAML)
    path = tmp_path / "people.csv"
    path.write_bytes(data.draw(mutated(PEOPLE_CSV)))
    _refused_or_done(_import_command([org, path]), (CommandError,))


BACKSTAGE = REPO / "tests" / "data" / "backstage" / "catalog"


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_backstage(tmp_path: Path, data: st.DataObject) -> None:
    folder = tmp_path / "catalog"
    if not folder.exists():
        shutil.copytree(BACKSTAGE, folder)
    name = data.draw(st.sampled_from(["all.yaml", "org.yaml", "people.yaml"]))
    (folder / name).write_bytes(data.draw(mutated((BACKSTAGE / name).read_bytes())))
    _refused_or_done(_import_command([folder / "all.yaml"]), (CommandError,))
    (folder / name).write_bytes((BACKSTAGE / name).read_bytes())


TEAMAPI = (REPO / "tests" / "data" / "teamapi" / "checkout.yaml").read_bytes()


@settings(SETTINGS, max_examples=250)
@given(data=st.data())
def test_teamapi(tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "team.yaml"
    path.write_bytes(data.draw(mutated(TEAMAPI)))
    _refused_or_done(_import_command([path]), (CommandError,))


SIGNALS = (REPO / "fixtures" / "signal-events.csv").read_bytes()


@pytest.fixture
def signal_org(db: None) -> Organization:
    call_command(
        "import_org", "--org", "acme", str(REPO / "fixtures" / "example-org.yaml"), stdout=_Null()
    )
    return Organization.objects.get(slug="acme")


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_signal_csv(tmp_path: Path, signal_org: Organization, data: st.DataObject) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(data.draw(mutated(SIGNALS)))
    _refused_or_done(
        lambda: call_command("ingest_signals", "--org", "acme", str(path), stdout=_Null()),
        (CommandError,),
    )


PLAYBOOK = VALID.encode()


@settings(SETTINGS, max_examples=250)
@given(data=st.data())
def test_playbook_loader(tmp_path: Path, signal_org: Organization, data: st.DataObject) -> None:
    path = tmp_path / "playbook.yaml"
    path.write_bytes(data.draw(mutated(PLAYBOOK)))
    _refused_or_done(
        lambda: call_command("load_playbook", "--org", "acme", str(path), stdout=_Null()),
        (CommandError,),
    )


INSTRUMENT = (REPO / "transform" / "instruments" / "library" / "westrum.yaml").read_bytes()


@settings(SETTINGS, max_examples=250)
@given(data=st.data())
def test_instrument_loader(signal_org: Organization, data: st.DataObject) -> None:
    from transform.instruments.services import instrument_upload

    raw = data.draw(mutated(INSTRUMENT))

    def upload() -> None:
        # The API decodes an upload exactly so (core.api.uploaded_text) before the loader.
        text = raw.decode("utf-8")
        instrument_upload(organization=signal_org, path="instrument.yaml", text=text)

    _refused_or_done(upload, (DomainError, ImportFailure, UnicodeDecodeError))


def test_the_examples_add_up_to_at_least_two_thousand() -> None:
    functions = [value for name, value in globals().items() if name.startswith("test_")]
    total = sum(
        f._hypothesis_internal_use_settings.max_examples
        for f in functions
        if hasattr(f, "hypothesis")
    )
    assert total >= 2000
