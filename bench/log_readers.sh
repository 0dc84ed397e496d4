#!/usr/bin/env bash
# Log readers (QUALITY.md §3, issue "engine's seams"): eight concurrent replays of a finished
# 100 MB log (`GET /api/runs/ID/log/stream?from=1`) against the daemon's memory. Measures how
# much the daemon's peak resident memory (VmHWM) grows while the eight replays run, and checks
# that every line reached every reader. Goal: growth < 64 MiB.
#
# Usage: bench/log_readers.sh   (RUNWISP_BIN=... to measure a given binary; LINES= for another
# log size; QUICK=1 for a log of 200,000 lines, printed only; RESULTS=- to only print, RESULTS=FILE
# to append there; otherwise the section is appended to the day's file in bench/history/ and,
# with the default size, the row log_readers of bench/latest.json and the table at the top of
# bench/RESULTS.md are updated)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
need curl curl
runwisp_bin

quick && LINES=${LINES:-200000}
LINES=${LINES:-14000000}   # `seq 1 14000000` prints 107 MB
READERS=8
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cat >"$work/runwisp.toml" <<TOML
[tasks.big]
run = "seq 1 $LINES"
log_max_size = "1GB"
TOML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$work" && exec "$BIN" --headless --port "$port" >/dev/null 2>&1) &
pid=$!
for _ in $(seq 200); do [ -f "$work/data/daemon.pid" ] && break; sleep 0.05; done
url="http://127.0.0.1:$port"
password=$(cat "$work/data/password")
nonce=$(curl -sf "$url/api/auth/challenge" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nonce"])')
response=$(printf '%s:%s' "$password" "$nonce" | sha256sum | cut -d' ' -f1)
token=$(curl -sf -X POST "$url/api/auth" -H 'Content-Type: application/json' \
    -d "{\"nonce\":\"$nonce\",\"response\":\"$response\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
run=$(curl -sf -X POST "$url/api/tasks/big/run" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 600); do
    status=$(curl -sf "$url/api/runs/$run" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$status" = ended ] && break
    sleep 0.5
done
size=$(du -b "$work/data/logs/big/$run.log" | cut -f1)
hwm() { awk '/VmHWM/ { print $2 }' "/proc/$pid/status"; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; }
before_rss=$(rss)
# Reset the peak (VmHWM) so it measures the replays, not the capture before them.
echo 5 >"/proc/$pid/clear_refs"
say "log of $((size / 1048576)) MiB; daemon RSS $((before_rss / 1024)) MiB before the replays"
start=$(date +%s.%N)
for i in $(seq $READERS); do
    curl -sfN "$url/api/runs/$run/log/stream?from=1" -H "Authorization: Bearer $token" \
        | grep -c '^event: line' >"$work/reader$i" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
after_hwm=$(hwm)
growth=$(( (after_hwm - before_rss) / 1024 ))
delivered=$(cat "$work"/reader* | sort -u | tr '\n' ' ')
say "peak RSS during the replays $((after_hwm / 1024)) MiB (grew by $growth MiB); lines per reader: $delivered; $elapsed s"
verdict=missed; [ "$growth" -lt 64 ] && [ "$delivered" = "$LINES " ] && verdict=met
machine_facts "$work"
report=$(cat <<MD

## log_readers.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs. runwisp $commit.

$READERS concurrent replays from line 1 of a finished $((size / 1048576)) MiB log ($LINES lines):
the daemon's resident memory was $((before_rss / 1024)) MiB before and peaked at
$((after_hwm / 1024)) MiB, **+$growth MiB** (goal < 64 MiB: $verdict); every reader got
$delivered lines; $elapsed s for all eight.
MD
)
publish "$report"
if [ "$LINES" = 14000000 ]; then
    got="every reader got $LINES lines"
    [ "$delivered" = "$LINES " ] || got="lines per reader: $delivered"
    latest log_readers \
        "figure=+$growth MiB ($((before_rss / 1024)) → $((after_hwm / 1024)) MiB), ${got% }" \
        "value=$growth" "ok=$([ "$delivered" = "$LINES " ] && echo 1 || echo 0)"
else
    sizes_differ "a log of $LINES lines, not 14000000"
fi
