#!/usr/bin/env bash
# The web UI in headless Chromium (Debian's `chromium` driven by Playwright, as the end-to-end
# tests do) against a real daemon: the overview with 1,000 tasks, from navigation to the first
# rows painted and to the page answering a key (goal < 300 ms), and to the last row; then the run page
# following a run that prints 10,000 lines a second for 60 s, the page's JS heap, DOM size and
# lines in the DOM sampled every 5 s (goal: bounded).
#
# Usage: bench/web_ui.sh   (RUNWISP_BIN=... to measure a given binary; TASKS=, ROUNDS=, RATE=,
# SECONDS_TAIL= to change the sizes; QUICK=1 for 100 tasks, 2 rounds and a 10 s tail of 1,000
# lines/s, printed only; RESULTS=- to only print)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
runwisp_bin

TASKS=${TASKS:-1000}
ROUNDS=${ROUNDS:-5}
RATE=${RATE:-10000}
SECONDS_TAIL=${SECONDS_TAIL:-60}
if quick; then TASKS=100; ROUNDS=2; RATE=1000; SECONDS_TAIL=10; fi
[ -x /usr/bin/chromium ] || need chromium chromium
python3 -c 'import playwright' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check \
    --root-user-action=ignore -r "$ROOT/tests/oracle/requirements.txt"

load=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d -p "${BENCH_TMP:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$work"' EXIT
say "the overview with $TASKS tasks ($ROUNDS rounds), then a ${SECONDS_TAIL}s tail of $RATE lines/s"
out=$(python3 "$ROOT/bench/web_ui_bench.py" "$BIN" "$work" "$TASKS" "$ROUNDS" "$RATE" "$SECONDS_TAIL")
get() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {'d': d}))" "$out" "$1"; }
machine_facts "$work"
chromium_version=$(/usr/bin/chromium --version 2>/dev/null | head -n1 || echo chromium)
first=$(get 'd["first_median_ms"]')
all_rows=$(get 'd["all_rows_median_ms"]')
interactive=$(get 'd["interactive_median_ms"]')
verdict=$(python3 -c "print('met' if $interactive < 300 else 'missed')")
samples=$(get '"\n".join("| %s | %.1f | %d | %d | %d |" % (s["t"], s["heap"] / 1048576, s["nodes"], s["lines"], s["last"]) for s in d["tail"]["samples"])')
heap_first=$(get '"%.1f" % (d["tail"]["samples"][0]["heap"] / 1048576)')
heap_max=$(get '"%.1f" % (max(s["heap"] for s in d["tail"]["samples"]) / 1048576)')
heap_last=$(get '"%.1f" % (d["tail"]["samples"][-1]["heap"] / 1048576)')
lines_max=$(get 'max(s["lines"] for s in d["tail"]["samples"])')
written=$(get 'd["tail"]["lines_written"]')
last_seen=$(get 'd["tail"]["samples"][-1]["last"]')
report=$(cat <<MD

## web_ui.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM; load average before the run $load. runwisp $commit,
$chromium_version (headless, Playwright).

**Overview with $TASKS tasks** (every other one on a schedule, in 20 groups), opened $ROUNDS times
from the runs page, medians from navigation start, measured inside the page: the first task rows
painted at **$first ms**; a key pressed then (\`?\` opens the key list) answered on screen at
**$interactive ms** (goal: rendered and interactive < 300 ms: $verdict), while the rest of the
rows are drawn in slices that yield to input; the last of the 1,000 timeline rows painted at
$all_rows ms. Each round (first rows / key answered / all rows):
$(get '", ".join("%.0f / %.0f / %.0f ms" % (r["first_ms"], r["interactive_ms"], r["all_rows_ms"]) for r in d["overview"])').

**Tail of $RATE lines/s for ${SECONDS_TAIL} s** on the run page (follow mode): the run wrote
$written lines; the page's JS heap went from $heap_first MiB (first sample) to at most
$heap_max MiB and ended at $heap_last MiB; at most $lines_max log lines were in the DOM (only
those in view are drawn; the page keeps at most 200,000 lines), and the last line shown at the
end was line $last_seen.

| s | JS heap (MiB) | DOM elements | log lines in the DOM | last line shown |
|---|---|---|---|---|
$samples
MD
)
publish "$report"
if [ "$TASKS" = 1000 ] && [ "$RATE" = 10000 ] && [ "$SECONDS_TAIL" = 60 ]; then
    latest web_ui \
        "figure=overview: first rows at $first ms, a key answered at $interactive ms, all rows at $all_rows ms; tail: heap $heap_first → $heap_max MiB at most, ≤ $lines_max lines in the DOM" \
        "status=$verdict"
else
    sizes_differ "$TASKS tasks, $RATE lines/s for $SECONDS_TAIL s"
fi
