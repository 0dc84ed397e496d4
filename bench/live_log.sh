#!/usr/bin/env bash
# A live log followed by many: a run printing 10,000 lines a second for 30 s, followed from its
# first line by 8 concurrent `GET /api/runs/ID/log/stream` readers to its end. Every reader must
# get every line, numbered without gap or repeat; the daemon's CPU time over the run (capture,
# the log file and the 8 streams) as a share of one core (goal < 25 %).
#
# Usage: bench/live_log.sh   (RUNWISP_BIN=... to measure a given binary; RATE=, SECONDS_FOR=,
# READERS= to change the sizes; QUICK=1 for 1,000 lines/s for 3 s to 2 readers, printed only;
# RESULTS=- to only print)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
runwisp_bin

RATE=${RATE:-10000}
SECONDS_FOR=${SECONDS_FOR:-30}
READERS=${READERS:-8}
if quick; then RATE=1000; SECONDS_FOR=3; READERS=2; fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d -p "${BENCH_TMP:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$work"' EXIT
say "a run printing $RATE lines/s for ${SECONDS_FOR}s, followed by $READERS readers"
out=$(python3 "$ROOT/bench/live_log_bench.py" "$BIN" "$work" "$RATE" "$SECONDS_FOR" "$READERS")
get() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {'d': d}))" "$out" "$1"; }
machine_facts "$work"
cpu=$(get 'd["cpu_pct_of_one_core"]')
all=$(get 'all(r["lines"] == d["written"] and r["gaps"] == 0 for r in d["per_reader"]) and len(d["per_reader"]) == d["readers"]')
verdict=$(python3 -c "print('met' if $cpu < 25 and '$all' == 'True' else 'missed')")
report=$(cat <<MD

## live_log.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs; load average before the run $load.
runwisp $commit.

A run printing $RATE lines a second for $SECONDS_FOR s (python3, 100 batches a second) wrote
$(get 'd["written"]') lines; $READERS readers followed \`GET /api/runs/ID/log/stream?from=1\` from the
start to its \`done\`: lines each got $(get '", ".join(str(r["lines"]) for r in d["per_reader"])'),
gaps or repeats in the numbering $(get 'sum(r["gaps"] for r in d["per_reader"])'): every line delivered to every reader:
**$all**. The daemon's CPU time over the $(get 'd["wall_s"]') s: $(get 'd["cpu_s"]') s, **$cpu % of one core**
(idle before: $(get 'd["idle_cpu_pct"]') %). Goal: every line delivered, CPU < 25 % of one core: $verdict.
MD
)
publish "$report"
if [ "$RATE" = 10000 ] && [ "$READERS" = 8 ]; then
    latest live_log_8 "figure=$cpu % of one core; every line to every reader: $all" \
        "value=$cpu" "ok=$([ "$all" = True ] && echo 1 || echo 0)" "script=bench/live_log.sh"
else
    sizes_differ "$RATE lines/s to $READERS readers"
fi
