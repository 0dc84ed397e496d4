#!/usr/bin/env bash
# Fuzzes the REST API from its own OpenAPI document with schemathesis (PyPI): starts a daemon on
# a temporary folder (a manual task, a cron task, a service), logs in with the independent
# Python client, runs schemathesis with the bearer token, stops the daemon.
#
# Fails on any server error (5xx, a crash, a dropped connection), on responses that do not
# match the document (status codes, content types, response and event schemas), on routes that
# ignore auth, and if the daemon stops answering or logs an error. GET /api/runs/stream is left
# out: it never ends by design, so every request to it would be a timeout.
#
#   ./scripts/schemathesis.sh                         # 50 examples per operation, about a minute
#   EXAMPLES=200 SEED=1 ./scripts/schemathesis.sh     # longer, reproducible
#   CHECKS=not_a_server_error ./scripts/schemathesis.sh   # server errors only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

EXAMPLES=${EXAMPLES:-50}
CHECKS=${CHECKS:-all}
LIMIT_S=${LIMIT_S:-900}

pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@"
}
if ! command -v schemathesis >/dev/null 2>&1; then
    echo "schemathesis: installing it with pip"
    pip_install schemathesis==4.32.5
fi
if ! python3 -c 'import jwt' 2>/dev/null; then
    pip_install -r tests/oracle/requirements.txt
fi

cargo build --quiet --bin runwisp
binary="${CARGO_TARGET_DIR:-$root/target}/debug/runwisp"

work=$(mktemp -d)
pid=
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/runwisp.toml" <<'EOF'
[tasks.manual]
description = "started by hand"
run = "echo manual run; echo to stderr >&2"

[tasks.every-minute]
run = "echo tick"
cron = "* * * * *"

[tasks.locked]
run = "true"
cron = "0 3 * * *"
api_trigger = false

[services.web]
run = "while true; do sleep 1; done"
EOF

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(16))')
(cd "$work" && RUNWISP_PASSWORD=$password exec "$binary" --headless --port "$port") \
    >"$work/daemon.out" 2>&1 &
pid=$!
for _ in $(seq 200); do
    [[ -f "$work/data/daemon.pid" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/daemon.out"; echo "the daemon did not start" >&2; exit 1; }
    sleep 0.1
done
[[ -f "$work/data/daemon.pid" ]] || { echo "the daemon did not finish booting" >&2; exit 1; }

base="http://127.0.0.1:$port"
token=$(python3 tests/oracle/api_client.py --base-url "$base" --password="$password" --task manual --token-only)

# One run exists, so run ids from the history have something to find.
curl -fsS -X POST -H "Authorization: Bearer $token" "$base/api/tasks/manual/run" >/dev/null

status=0
# From the temporary folder, so schemathesis's cache (.schemathesis/) goes with it.
(cd "$work" && exec timeout --kill-after=10 "$LIMIT_S" schemathesis run "$base/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "$CHECKS" \
    --max-examples "$EXAMPLES" \
    ${SEED:+--seed "$SEED"} \
    --request-timeout 10 \
    --workers 2 \
    --exclude-path /api/runs/stream \
    --warnings off) \
    || status=$?

# The server must still be there and healthy afterwards.
if ! curl -fsS "$base/health" >/dev/null; then
    echo "schemathesis: the daemon no longer answers /health" >&2
    status=1
fi
if grep -E 'panicked|ERROR' "$work/daemon.out"; then
    echo "schemathesis: the daemon logged errors (above)" >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    echo "schemathesis: FAILED (exit $status)" >&2
fi
exit "$status"
