#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/web/), as root or through sudo.
# Playwright drives this browser through executable_path; it never downloads one of its own.
set -euo pipefail
if command -v chromium >/dev/null; then
    exit 0
fi
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "Installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
run apt-get install -y --no-install-recommends chromium >/dev/null \
    || { run apt-get update -q >/dev/null && run apt-get install -y --no-install-recommends chromium >/dev/null; }
command -v chromium
