"""The alias bomb of issue 11 on every path that reads YAML: ``python -m benchmarks.alias_bomb``.

A ~500-byte document of 9 levels, each repeating the one before 9 times (9**9 nodes written out),
goes through the YAML reader, the playbook and instrument loaders, the org import (the reader of
``import_org``) and the API's upload parser. Each must be refused within 100 ms and 50 MB of
Python allocations (tracemalloc peak); the script exits non-zero when one is not.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

MAX_SECONDS = 0.1
MAX_MEGABYTES = 50


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def measure(name: str, run: Callable[[], object]) -> bool:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        run()
        outcome = "ACCEPTED (expected a refusal)"
    except Exception as exc:
        outcome = f"refused: {type(exc).__name__}"
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    ok = outcome.startswith("refused") and seconds < MAX_SECONDS and peak < MAX_MEGABYTES
    print(
        f"{name:<28} {seconds * 1000:7.1f} ms {peak:7.2f} MB  {outcome}  {'ok' if ok else 'FAIL'}"
    )
    return ok


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "transform.settings")
    import django

    django.setup()
    import io
    import json

    from core.files.yamlio import load_documents
    from core.parsers import SafeJSONParser
    from playbooks.format import playbook_parse
    from teams.importers.reader import read_import_files
    from transform.instruments.format import instrument_parse

    text = alias_bomb()
    print(f"alias bomb: {len(text.encode())} bytes, 9 levels x 9 wide")
    folder = Path(tempfile.mkdtemp())
    org = folder / "bomb.yaml"
    org.write_text("format: transform.org/v1\n" + text)
    body = json.dumps({"source": text}).encode()
    # Warm up: the first import through each path loads modules lazily; that is not the bomb.
    warm = folder / "warm.yaml"
    warm.write_text("format: transform.org/v1\n")
    read_import_files([warm])
    results = [
        measure("YAML reader", lambda: load_documents("bomb.yaml", text)),
        measure("playbook loader", lambda: playbook_parse("bomb.yaml", text)),
        measure("instrument loader", lambda: instrument_parse("bomb.yaml", text)),
        measure("import_org reader", lambda: read_import_files([org])),
        measure(
            "API body + playbook loader",
            lambda: playbook_parse(
                "source", SafeJSONParser().parse(io.BytesIO(body), "application/json")["source"]
            ),
        ),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
