#!/usr/bin/env bash
# `GET /api/tasks` with 1,000 tasks (half of them scheduled, each with a run in its history):
# 500 requests one after another on one keep-alive connection after 50 to warm up, timed by a
# Python client on loopback; p50, p99 and max (goal: p99 < 10 ms).
#
# Usage: bench/api_tasks.sh   (RUNWISP_BIN=... to measure a given binary; TASKS=, REQUESTS=,
# WARMUP= to change the sizes; QUICK=1 for 100 tasks and 50 requests, printed only; RESULTS=- to
# only print)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
runwisp_bin

TASKS=${TASKS:-1000}
REQUESTS=${REQUESTS:-500}
WARMUP=${WARMUP:-50}
if quick; then TASKS=100; REQUESTS=50; WARMUP=5; fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d -p "${BENCH_TMP:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$work"' EXIT
say "GET /api/tasks with $TASKS tasks: $REQUESTS requests after $WARMUP"
out=$(python3 "$ROOT/bench/api_tasks_bench.py" "$BIN" "$work" "$TASKS" "$REQUESTS" "$WARMUP")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$out"; }
machine_facts "$work"
p99=$(field p99_ms)
verdict=$(python3 -c "print('met' if $p99 < 10 else 'missed')")
report=$(cat <<MD

## api_tasks.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs; load average before the run $load.
runwisp $commit.

\`GET /api/tasks\` of a daemon with $TASKS tasks (half scheduled, in 20 groups, every tenth with a
run in its history; the answer is $(field bytes) bytes of JSON): $REQUESTS requests one after another on
one keep-alive connection after $WARMUP to warm up, from a Python client on loopback: p50
$(field p50_ms) ms, **p99 $p99 ms**, max $(field max_ms) ms (goal p99 < 10 ms: $verdict).
MD
)
publish "$report"
if [ "$TASKS" = 1000 ]; then
    latest api_tasks_1000 "figure=p99 $p99 ms (p50 $(field p50_ms) ms, $(field bytes) bytes)" \
        "value=$p99" "script=bench/api_tasks.sh"
else
    sizes_differ "$TASKS tasks, not 1000"
fi
