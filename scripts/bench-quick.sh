#!/usr/bin/env bash
# Runs every benchmark script in bench/ once in its quick mode (QUICK=1: small sizes, the report
# printed, nothing filed in bench/history/ or bench/latest.json), one after another, so that a
# change to a script is run at least once before it lands. Fails if any script fails, or if the
# table at the top of bench/RESULTS.md is not what bench/latest.json renders to. Prints the total
# time. The figures of a quick run mean nothing; the point is that every script still runs.
#
# It builds runwisp once (through bench/all.sh) unless RUNWISP_BIN (and BENCH_DAEMON_BIN) are
# given; SCRIPTS picks a subset (see bench/all.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
python3 "$ROOT/bench/table.py" selftest
QUICK=1 bash "$ROOT/bench/all.sh"
python3 "$ROOT/bench/table.py" render --check
echo "bench-quick: every script passed in $(($(date +%s) - start)) s"
