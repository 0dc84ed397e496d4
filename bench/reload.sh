#!/usr/bin/env bash
# Reload under load (issue "Operations"): a daemon with 1,000 tasks takes triggers at a steady
# rate over HTTP while its configuration is reloaded several times (half the tasks changed, 50
# added, 50 removed, then back). Measures the time of each reload (read, validate, swap: the
# `POST /api/reload` round trip), the trigger latency near the reloads and elsewhere, and checks
# that no trigger was refused and every acknowledged one has its run recorded.
#
# Usage: bench/reload.sh   (RUNWISP_BIN=... to measure a given binary; TASKS=, SECONDS_FOR=,
# RATE=, RELOADS= to change the load; QUICK=1 for 100 tasks for 3 s, printed only; RESULTS=- to
# only print, RESULTS=FILE to append there; otherwise the section is appended to the day's file
# in bench/history/ and, with the default load, the row reload_1000 of bench/latest.json and the
# table at the top of bench/RESULTS.md are updated)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
runwisp_bin

if quick; then TASKS=${TASKS:-100} SECONDS_FOR=${SECONDS_FOR:-3} RATE=${RATE:-50} RELOADS=${RELOADS:-2}; fi
TASKS=${TASKS:-1000}
SECONDS_FOR=${SECONDS_FOR:-20}
RATE=${RATE:-200}
RELOADS=${RELOADS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "$TASKS tasks, $RATE triggers/s for $SECONDS_FOR s, $RELOADS reloads meanwhile"
result=$(python3 "$ROOT/bench/reload_bench.py" "$BIN" "$work" "$TASKS" "$SECONDS_FOR" "$RATE" "$RELOADS")
say "$result"
field() { python3 -c "import json,sys; v=json.loads(sys.argv[1])['$1']; print(v)" "$result"; }
swaps=$(python3 -c "import json,sys; r=json.loads(sys.argv[1])['reloads']; print(', '.join(f\"{s['ms']} ms\" for s in r))" "$result")
worst=$(python3 -c "import json,sys; r=json.loads(sys.argv[1])['reloads']; print(max(s['ms'] for s in r))" "$result")
statuses=$(python3 -c "import json,sys; r=json.loads(sys.argv[1])['reloads']; print(all(s['status'] == 200 for s in r))" "$result")
summary=$(python3 -c "import json,sys; r=json.loads(sys.argv[1])['reloads']; print(r[0]['summary'])" "$result")
sent=$(field sent); ack=$(field acknowledged); refused=$(field refused); lost=$(field lost)
near=$(field trigger_p99_ms_near_reload); far=$(field trigger_p99_ms_elsewhere)
verdict=missed
[ "$refused" = 0 ] && [ "$lost" = 0 ] && [ "$statuses" = True ] && verdict=met
machine_facts "$work"
report=$(cat <<MD

## reload.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs. runwisp $commit.

$TASKS tasks; $sent triggers at $RATE/s over $SECONDS_FOR s on 4 connections while the
configuration was reloaded $RELOADS times (first: \`$summary\`). Each reload (read, validate,
swap; the \`POST /api/reload\` round trip): $swaps, **worst $worst ms**. Triggers:
$ack acknowledged, **$refused refused, $lost lost** (goal: none refused or lost: $verdict);
trigger latency p99 ${near} ms within 1 s of a reload, ${far} ms elsewhere.
MD
)
publish "$report"
if [ "$TASKS/$SECONDS_FOR/$RATE/$RELOADS" = 1000/20/200/5 ]; then
    latest reload_1000 "figure=worst reload $worst ms; $ack acknowledged, $refused refused, $lost lost" \
        "ok=$([ "$verdict" = met ] && echo 1 || echo 0)"
else
    sizes_differ "$TASKS tasks, $RATE triggers/s for $SECONDS_FOR s, $RELOADS reloads"
fi
