#!/usr/bin/env bash
# Reruns every benchmark in turn, one at a time (they compete for the CPU otherwise): exec,
# daemon, log_readers, tui, trigger, trigger MODE=hooks, notify, reload, pipeline, web_ui. Each full run
# appends its section to the day's file in bench/history/ and updates its rows of the table of
# latest figures (bench/latest.json); at the end the table at the top of bench/RESULTS.md is
# rendered again. The load average is printed before each script: run it on a quiet machine
# (it takes 20 to 30 minutes on 2 cores, more when the TUI's frame benchmark has to be compiled).
#
# It builds runwisp and examples/bench_daemon once (`cargo build --release --bins --examples`)
# and hands the binaries to every script, with the commit as their label, unless RUNWISP_BIN
# (and BENCH_DAEMON_BIN) are given; after its own build the TUI's frame benchmark (a cargo
# bench) runs too, with a given binary only if FRAME=1.
#
# A script that fails does not stop the others: the summary at the end names it, and the exit
# status is 1.
#
# Knobs (environment): SCRIPTS (a space-separated subset of: exec daemon log_readers tui trigger
# hooks notify reload pipeline web_ui), QUICK=1 (every script's quick mode: small sizes, printed only,
# nothing filed; see scripts/bench-quick.sh), RESULTS, RUNWISP_BIN, BENCH_DAEMON_BIN,
# RUNWISP_LABEL, BENCH_TMP and each script's own knobs, passed through.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
ALL="exec daemon log_readers tui trigger hooks notify reload pipeline web_ui api_tasks live_log"
SCRIPTS=${SCRIPTS:-$ALL}
for name in $SCRIPTS; do
    case " $ALL " in *" $name "*) ;; *) say "unknown script $name (known: $ALL)"; exit 1 ;; esac
done

if [ -z "${RUNWISP_BIN:-}" ]; then
    say "building runwisp and examples/bench_daemon (cargo build --release --bins --examples)"
    (cd "$ROOT" && cargo build --release --quiet --bins --examples)
    TARGET=$(target_dir)
    export RUNWISP_BIN=$TARGET/release/runwisp
    export BENCH_DAEMON_BIN=$TARGET/release/examples/bench_daemon
    if [ -z "${RUNWISP_LABEL:-}" ]; then
        label=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
        [ -n "$(cd "$ROOT" && git status --porcelain -- src examples benches Cargo.toml Cargo.lock 2>/dev/null)" ] \
            && label="$label+changes"
        export RUNWISP_LABEL="$label (\`cargo build --release\`)"
    fi
    # The binaries are fresh, so the frame benchmark (built by cargo) measures the same tree.
    quick || export FRAME=${FRAME:-1}
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
busy() { awk -v n="$(nproc)" '{ print ($1 > n / 2) }' /proc/loadavg; }

summary=() failed=0 started=$(date +%s)
for name in $SCRIPTS; do
    script=$name.sh mode=trigger
    [ "$name" = hooks ] && script=trigger.sh mode=hooks
    say ""
    say "== $name ($script$([ "$name" = hooks ] && echo " MODE=hooks" || true)): load average $(load)"
    [ "$(busy)" = 1 ] && say "   the machine is not quiet (load above half its $(nproc) CPUs): figures will move"
    t0=$(date +%s)
    if MODE=$mode bash "$ROOT/bench/$script"; then
        status=ok
    else
        status="FAILED ($?)"
        failed=$((failed + 1))
    fi
    summary+=("$name: $status in $(($(date +%s) - t0)) s")
done

if ! quick && [ -z "${RESULTS:-}" ]; then
    python3 "$ROOT/bench/table.py" render
    say ""
    say "the table at the top of bench/RESULTS.md:"
    python3 "$ROOT/bench/table.py" show >&2
fi
say ""
say "== summary ($(($(date +%s) - started)) s; load average now $(load))"
for line in "${summary[@]}"; do say "   $line"; done
[ "$failed" = 0 ] || { say "$failed of $(wc -w <<<"$SCRIPTS") scripts failed"; exit 1; }
