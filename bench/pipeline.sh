#!/usr/bin/env bash
# Pipeline overhead (issue "Pipelines"): a pipeline of 100 steps of `true` against 100 queued
# runs of the same task on the same daemon, alternated, from the first row's creation to the last
# row's end as recorded. Goal: the pipeline takes at most 1.2x the queued runs.
#
# Usage: bench/pipeline.sh   (RUNWISP_BIN=... to measure a given binary; STEPS=, ROUNDS= to
# change the size; QUICK=1 for 20 steps, 2 rounds; RESULTS=- to only print, otherwise a
# section is appended to bench/RESULTS.md)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
runwisp_bin

STEPS=${STEPS:-100}
ROUNDS=${ROUNDS:-5}
if [ -n "${QUICK:-}" ]; then STEPS=20; ROUNDS=2; RESULTS=-; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load=$(cut -d' ' -f1-3 /proc/loadavg)
say "a $STEPS-step pipeline against $STEPS queued runs, $ROUNDS rounds"
result=$(python3 "$ROOT/bench/pipeline_bench.py" "$BIN" "$work" "$STEPS" "$ROUNDS")
say "$result"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$result"; }
ratio=$(field ratio)
verdict=$(python3 -c "print('met' if $ratio <= 1.2 else 'missed')")
machine_facts "$work"
report=$(cat <<MD

## pipeline.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs; load average before the run
$load. runwisp $commit.

A pipeline of $STEPS steps of \`true\` took **$(field pipeline_median_s) s** (median of $ROUNDS:
$(field pipeline_s)) from its row's creation to its end; $STEPS queued runs of the same task,
fired from 4 connections, took **$(field queued_median_s) s** ($(field queued_s)) from the first
row to the last end: **${ratio}x** (goal ≤ 1.2x: $verdict).
MD
)
if [ "${RESULTS:-}" = - ]; then printf '%s\n' "$report"; else printf '%s\n' "$report" >>"$ROOT/bench/RESULTS.md"; fi
