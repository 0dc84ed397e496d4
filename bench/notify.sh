#!/usr/bin/env bash
# Notifications under load (issue "Notifications"): 1,000 failing runs in one minute, each
# notified to a healthy webhook receiver on loopback (coalescing off, so every failure is
# sent). Measures the latency from each run's end to its notification's arrival (p50, p99,
# max; goal p99 < 1 s), checks that every notification arrived, and the daemon's memory
# (resident before, peak during).
#
# Usage: bench/notify.sh   (RUNWISP_BIN=... to measure a given binary; RUNS=, SECONDS_FOR= to
# change the load; QUICK=1 for 50 runs in 5 s, printed only; RESULTS=- to only print,
# RESULTS=FILE to append there; otherwise the section is appended to the day's file in
# bench/history/ and, with the default load, the row notify_1000 of bench/latest.json and the
# table at the top of bench/RESULTS.md are updated)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
runwisp_bin

if quick; then RUNS=${RUNS:-50} SECONDS_FOR=${SECONDS_FOR:-5}; fi
RUNS=${RUNS:-1000}
SECONDS_FOR=${SECONDS_FOR:-60}
work=$(mktemp -d)
pid=""
bench_pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hook_file="$work/hook_port"
: >"$hook_file"
python3 "$ROOT/bench/notify_bench.py" "$port" "$work/data" "$RUNS" "$SECONDS_FOR" "$hook_file" \
    >"$work/result.json" 2>"$work/bench.err" &
bench_pid=$!
for _ in $(seq 200); do [ -s "$hook_file" ] && break; sleep 0.05; done
hook_port=$(cat "$hook_file")
cat >"$work/runwisp.toml" <<TOML
[notify]
coalesce_window = "0s"

[[notifier]]
id = "hook"
type = "webhook"
url = "http://127.0.0.1:$hook_port/hook"

[tasks.fails]
run = "exit 1"
notify_on_failure = ["hook"]
queue_max = 1000
TOML
(cd "$work" && exec "$BIN" --headless --port "$port" >/dev/null 2>&1) &
pid=$!
for _ in $(seq 200); do [ -f "$work/data/daemon.pid" ] && break; sleep 0.05; done
say "failing $RUNS runs over $SECONDS_FOR s, each notified to a webhook on loopback"
echo "go $pid" >"$hook_file"
wait "$bench_pid" || { cat "$work/bench.err" >&2; exit 1; }
bench_pid=""
result=$(cat "$work/result.json")
say "$result"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$result"; }
arrived=$(field arrived); p50=$(field p50_s); p99=$(field p99_s); max=$(field max_s)
before=$(field rss_before_mib); peak=$(field peak_mib); took=$(field triggered_in_s)
verdict=missed
python3 -c "import sys; sys.exit(0 if $arrived == $RUNS and $p99 < 1.0 else 1)" && verdict=met
machine_facts "$work"
report=$(cat <<MD

## notify.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs. runwisp $commit.

$RUNS failing runs triggered over $took s, each notified to a webhook receiver on loopback
(coalescing off): $arrived of $RUNS arrived; from the run's end to the notification's arrival
p50 ${p50} s, **p99 ${p99} s**, max ${max} s (goal p99 < 1 s: $verdict). Daemon resident memory
$before MiB before, peak $peak MiB.
MD
)
publish "$report"
if [ "$RUNS/$SECONDS_FOR" = 1000/60 ]; then
    latest notify_1000 \
        "figure=$p99 s, $arrived of $RUNS arrived, RSS $before MiB before, $peak MiB peak" \
        "value=$p99" "ok=$([ "$arrived" = "$RUNS" ] && echo 1 || echo 0)"
else
    sizes_differ "$RUNS runs in $SECONDS_FOR s, not 1000 in 60"
fi
