#!/usr/bin/env bash
# Smoke test of the embedded defaults: SQLite and the filesystem broker under a fresh var/ dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
export TRANSFORM_VAR_DIR
TRANSFORM_VAR_DIR=$(mktemp -d)
trap 'rm -rf "$TRANSFORM_VAR_DIR"' EXIT
unset DATABASE_URL CELERY_BROKER_URL
$bin/python manage.py migrate --no-input -v0
$bin/python manage.py load_demo
$bin/python manage.py seed_demo
$bin/python manage.py analyze_org demo --format text
$bin/python manage.py analyze_org demo --format json > "$TRANSFORM_VAR_DIR/analysis.json"
# The demo is four months into its transformation (docs/demo.md): as of 18 weeks ago the
# organisation was already there, and payments had no DevOps buddy yet.
before=$($bin/python -c "import datetime as d; print(d.date.today() - d.timedelta(weeks=18))")
$bin/python manage.py analyze_org demo --format json --as-of "$before" > "$TRANSFORM_VAR_DIR/before.json"
$bin/python - "$TRANSFORM_VAR_DIR/analysis.json" "$TRANSFORM_VAR_DIR/before.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
kinds = {finding["kind"] for finding in report["findings"]}
expected = {"ops_silo", "person_bottleneck", "missing_devops_buddy", "missing_product_owner"}
missing = expected - kinds
assert not missing, f"demo analysis lacks findings {sorted(missing)}"
print(f"smoke: demo analysis has {len(report['findings'])} findings, kinds {sorted(kinds)}")

def without_buddy(report):
    return {
        subject["slug"]
        for finding in report["findings"]
        if finding["kind"] == "missing_devops_buddy"
        for subject in finding["subjects"]
    }

before = json.load(open(sys.argv[2]))
assert before["metrics"]["teams"] == 12, f"as of 18 weeks ago: {before['metrics']['teams']} teams"
assert "payments" in without_buddy(before), "payments had no DevOps buddy before the demo's plan"
assert "payments" not in without_buddy(report), "the demo names payments' DevOps buddy"
print(f"smoke: 18 weeks ago the demo had {before['metrics']['teams']} teams; payments' buddy since")
PY
bash scripts/check_run.sh
