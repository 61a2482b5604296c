#!/usr/bin/env bash
# The API contract check (docs/api.md#schema-and-its-checks): serve the demo organisation on a
# free port from a throwaway database and let Schemathesis test every operation of the published
# schema with the demo admin's API token, the stateful phase included. Fails on any 5xx, any
# response that breaks the schema and any status code the schema does not declare.
#
# DATABASE_URL pointing at PostgreSQL: the run uses its own database next to it
# (test_<name>_schemathesis, dropped first and after); otherwise SQLite in a temporary folder.
# SCHEMATHESIS_MAX_EXAMPLES (default 20) bounds the cases per operation and phase;
# SCHEMATHESIS_WORKERS (default 1: a seeded run then replays the same requests in the same order);
# SCHEMATHESIS_SEED (default 1); SCHEMATHESIS_ARGS passes more options to `st run`, e.g.
# --include-path-regex orgs/.
#
# Checks: all of Schemathesis's, except three whose premise the API does not share (docs/api.md):
# positive_data_acceptance (a schema cannot say that an id or slug must exist, nor rules across
# fields), negative_data_rejection (form bodies send null as "" or "null"), use_after_free (a
# DELETE of a team or person holding evidence retires it or marks a leaver: 200, still readable).
# One operation is left out: DELETE /api/v1/auth/token/ revokes the run's own token, and every
# later request would be a 401 (tests/ cover it).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.venv/bin

work=$(mktemp -d)
export TRANSFORM_VAR_DIR=$work/var
mkdir -p "$TRANSFORM_VAR_DIR"/{outbox,broker/out,broker/processed}
# Tasks the API enqueues go to the filesystem broker in the temporary folder; nothing runs them.
unset CELERY_BROKER_URL
# Production settings, so errors are the API's JSON (DEBUG answers HTML 404 pages), over HTTP.
export DEBUG=false SECRET_KEY=schemathesis-run-only-"$RANDOM$RANDOM" SECURE_SSL_REDIRECT=false
export LOG_LEVEL=ERROR  # 500s with their traceback; not every 400 and 404
# Rate limits and the login lockout off (docs/api.md#authentication): the run sends thousands of
# requests with one token and guesses passwords on the token endpoint by design.
export THROTTLE_USER_RATE=off THROTTLE_ANON_RATE=off THROTTLE_INVALID_TOKEN_RATE=off
export THROTTLE_CHECKIN_LINK_RATE=off AXES_ENABLED=false
export SCHEMATHESIS_HOOKS=$PWD/scripts/schemathesis_hooks.py

test_database=""
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
    test_database=$($bin/python - <<'PY'
import os
import dj_database_url
name = dj_database_url.parse(os.environ["DATABASE_URL"])["NAME"]
print(f"test_{name}_schemathesis")
PY
)
    admin_url=${DATABASE_URL%/*}/postgres
    export DATABASE_URL=${DATABASE_URL%/*}/$test_database
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$test_database\"" -c "CREATE DATABASE \"$test_database\""
else
    unset DATABASE_URL
fi

server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "$test_database" ]]; then
        psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$test_database\"" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

$bin/python manage.py migrate --no-input -v0
DEMO_PASSWORD=$($bin/python -c "import secrets; print(secrets.token_urlsafe(12))") \
    $bin/python manage.py load_demo >/dev/null
$bin/python manage.py seed_demo >/dev/null
token=$($bin/python manage.py drf_create_token demo | awk '{print $3}')
$bin/python manage.py spectacular --format openapi-json --file "$work/schema.json"

port=$($bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
# No request-line limit: a long generated query string tests the app, not gunicorn's 414.
$bin/gunicorn transform.wsgi --bind "127.0.0.1:$port" --workers 2 --threads 4 --timeout 60 \
    --limit-request-line 0 \
    --log-level warning --error-logfile "$work/server.log" &
server_pid=$!
for _ in $(seq 60); do
    curl -fs -o /dev/null -H "Authorization: Token $token" "http://127.0.0.1:$port/api/v1/orgs/" && break
    sleep 0.5
done

status=0
# From the temporary folder, so Schemathesis keeps no cache of old failures in the checkout and
# every run starts from the seed alone.
cd "$work"
# shellcheck disable=SC2086  # SCHEMATHESIS_ARGS is a list of options
$bin/st --no-color run "$work/schema.json" \
    --url "http://127.0.0.1:$port" \
    --header "Authorization: Token $token" \
    --checks all \
    --exclude-checks positive_data_acceptance,negative_data_rejection,use_after_free \
    --exclude-operation-id v1_auth_token_destroy \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-20}" \
    --workers "${SCHEMATHESIS_WORKERS:-1}" \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --request-timeout 30 \
    --generation-database none \
    ${SCHEMATHESIS_ARGS:-} || status=$?
if [[ $status -ne 0 && -s "$work/server.log" ]]; then
    echo "--- server log (tail) ---"
    tail -n 80 "$work/server.log"
fi
exit $status
