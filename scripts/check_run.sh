#!/usr/bin/env bash
# Start scripts/run.sh (what `make run` starts), wait until the web app answers and the worker and
# beat are up, send Ctrl-C (SIGINT) and check that all three stopped. Used by `make smoke`.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8765}
log=$(mktemp)
# A background job of this script would start with SIGINT ignored; reset it so run.sh sees Ctrl-C
# as it does in a terminal, in its own process group like a terminal's foreground job.
setsid .venv/bin/python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp("bash", ["bash", *sys.argv[1:]])' \
    scripts/run.sh 127.0.0.1 "$port" >"$log" 2>&1 &
runner=$!
cleanup() { kill -KILL -- "-$runner" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

ready=""
for _ in $(seq 90); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/accounts/login/" \
        && grep -q "ready\." "$log" && grep -q "beat: Starting" "$log"; then
        ready=yes
        break
    fi
    sleep 1
done
if [ -z "$ready" ]; then
    echo "check_run: web app, worker or beat did not come up in 90 s; log follows" >&2
    cat "$log" >&2
    exit 1
fi
if ! grep -q "links in messages: http://127.0.0.1:$port)" "$log"; then
    echo "check_run: links in messages do not point at port $port; log follows" >&2
    cat "$log" >&2
    exit 1
fi
echo "check_run: web app answered on port $port, worker ready, beat started, links use the port"

# Like a terminal, deliver Ctrl-C to the whole foreground process group.
kill -INT -- "-$runner"
for _ in $(seq 30); do
    kill -0 "$runner" 2>/dev/null || break
    sleep 1
done
if pgrep -g "$runner" >/dev/null 2>&1; then
    echo "check_run: processes still running 30 s after Ctrl-C:" >&2
    pgrep -a -g "$runner" >&2 || true
    cat "$log" >&2
    exit 1
fi
grep -q "Stopped." "$log"
echo "check_run: Ctrl-C stopped the web app, the worker and beat"
