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
$bin/python - "$TRANSFORM_VAR_DIR/analysis.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
kinds = {finding["kind"] for finding in report["findings"]}
expected = {"ops_silo", "person_bottleneck", "missing_devops_buddy", "missing_product_owner"}
missing = expected - kinds
assert not missing, f"demo analysis lacks findings {sorted(missing)}"
print(f"smoke: demo analysis has {len(report['findings'])} findings, kinds {sorted(kinds)}")
PY
bash scripts/check_run.sh
