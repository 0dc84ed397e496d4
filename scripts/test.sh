#!/usr/bin/env bash
# Runs runwisp's whole test suite on a fresh machine: installs what the tests need (the Python
# oracles), then every unit, integration and oracle test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import croniter, cronsim, jwt, jsonschema, aiosmtpd, prometheus_client, playwright' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        -r tests/oracle/requirements.txt
fi

# The terminal UI's end-to-end tests drive the real binary in tmux; tests/systemd.rs checks the
# unit `runwisp service install` writes with systemd-analyze (Debian's systemd package).
if ! command -v tmux >/dev/null 2>&1 || ! command -v systemd-analyze >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux systemd >/dev/null
fi

# The web UI's end-to-end tests drive Debian's chromium (through Playwright, installed above
# from tests/oracle/requirements.txt; its own browser download is never used).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cargo test --all-targets
