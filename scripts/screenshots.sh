#!/usr/bin/env bash
# Regenerates docs/screenshots/: each page of the web UI at desktop (1280x800) and phone
# (390x844) widths, light and dark, in headless Chromium against a demo daemon started here on
# a free loopback port in a temporary project (stopped at the end). Needs what the test suite
# needs: Debian's chromium and the pinned playwright (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cargo build --quiet
binary="${CARGO_TARGET_DIR:-$root/target}/debug/runwisp"
project=$(mktemp -d)
cleanup() {
    if [ -n "${daemon:-}" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
    rm -rf "$project"
}
trap cleanup EXIT
cat > "$project/runwisp.toml" <<'TOML'
[tasks.backup-db]
run = "echo dumping; sleep 1; echo 'wrote 42 MB'; printf '\\033[32mdone\\033[0m\\n'"
cron = "0 3 * * *"
group = "Data"
description = "Nightly database dump"

[tasks.fetch-rates]
run = "echo fetching; echo 'upstream answered 503' >&2; exit 3"
cron = "*/15 * * * *"
group = "Data"

[tasks.deploy]
run = "for step in pull build migrate restart; do echo \"step $step\"; sleep 0.3; done"
description = "Deploy the site"

[tasks.build-web]
run = "echo building web; sleep 1.2"
[tasks.build-api]
run = "echo building api; sleep 0.8"
[tasks.migrate]
run = "echo migrating; sleep 0.4"
[tasks.smoke-test]
run = "echo smoke test passed"

[pipelines.release]
description = "Build, migrate, verify"
group = "Deploys"
steps = [{ parallel = ["build-web", "build-api"] }, "migrate", "verify"]

[pipelines.verify]
group = "Deploys"
steps = ["smoke-test"]

[services.worker]
run = "while true; do echo tick; sleep 5; done"
instances = 2
TOML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$project" && exec "$binary" --headless --port "$port" >/dev/null 2>&1) &
daemon=$!
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && [ -s "$project/data/password" ] && break
    sleep 0.1
done
[ -s "$project/data/password" ] || { echo "the demo daemon did not start" >&2; exit 1; }
export RUNWISP_URL="http://127.0.0.1:$port" RUNWISP_PASSWORD
RUNWISP_PASSWORD=$(cat "$project/data/password")
for task in backup-db fetch-rates deploy release fetch-rates deploy; do
    "$binary" run-task "$task" --wait >/dev/null 2>&1 || true
done
python3 tests/web/screenshots.py --url "$RUNWISP_URL" --password "$RUNWISP_PASSWORD" --out docs/screenshots
