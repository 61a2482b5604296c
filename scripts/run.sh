#!/usr/bin/env bash
# Start the web app, a Celery worker and Celery beat; stop all of them on Ctrl-C.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
cd "$(dirname "$0")/.."
# Links in messages must point at this server unless TRANSFORM_BASE_URL says otherwise (a proxy,
# a public name); a wildcard bind address is reached on the loopback address.
link_host=$host
case "$host" in 0.0.0.0 | "::" | "[::]") link_host=127.0.0.1 ;; esac
export TRANSFORM_BASE_URL="${TRANSFORM_BASE_URL:-http://$link_host:$port}"
bin=.venv/bin

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "Stopping web app, worker and beat..."
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "Stopped."
}
trap stop INT TERM EXIT

$bin/celery -A transform worker --loglevel=INFO --concurrency=2 &
pids+=($!)
$bin/celery -A transform beat --loglevel=INFO --pidfile= &
pids+=($!)
$bin/python manage.py runserver --noreload "$host:$port" &
pids+=($!)

echo "Transform is running at http://$host:$port/ (links in messages: $TRANSFORM_BASE_URL) (Ctrl-C to stop)"
# Return as soon as any of the three exits, so a crash is not hidden behind the others.
wait -n
