#!/usr/bin/env bash
# Benchmarks the runwisp daemon (`runwisp --headless`, and the engine as a library through
# examples/bench_daemon/main.rs) side by side with what a user would run instead:
#
#   1. Scheduling skew: 200 tasks with `cron = "@every 5s"` due in the same second, through a few
#      firings; `start_at - scheduled_for` from data/runwisp.db. Beside it, the floor: the same
#      number of `/bin/sh -c true` spawned back to back by one process (bench_daemon spawn), as
#      many rounds as the daemon had instants, its quantiles over all of them.
#   2. Idle footprint: 100 tasks that do not fire and one service of 10 `sleep infinity`
#      replicas, vs supervisord (Debian `supervisor`) in the foreground running the same 10
#      programs; RSS, CPU time (/proc/PID/stat utime+stime and schedstat) and wake-ups over
#      IDLE_SECONDS, children reported apart.
#   3. Per-run overhead: 1,000 queued runs of `true` through the engine (bench_daemon queue: data
#      directory on disk and on tmpfs, triggers sent together; and on disk one by one) vs a shell
#      loop spawning `sh -c true` 1,000 times, and vs the floor of a runner that keeps a durable
#      record (bench_daemon recorder: spawn, read, reap, one SQLite commit per run).
#   4. Start-up: a config with 1,000 tasks (cron and manual) until data/daemon.pid appears, with
#      a fresh (empty) data directory each time and with a warm one; `runwisp validate` of the
#      same config for the configuration's share.
#   5. History at scale: 1,000,000 runs over 100 tasks written with the sqlite3 CLI into a
#      database runwisp created; Store::list_runs(TASK, 50) timed in-process (the SQL of
#      `runwisp runs TASK -n 50`) and the whole `runwisp runs TASK -n 50` under hyperfine.
#   6. Start-up after a year of downtime: 1,000 minutely tasks (a third each `catch_up =
#      "latest"`, `"all"` with `max_catch_up_runs = 3`, `"skip"`) last seen a year ago; time to
#      data/daemon.pid, until every catch-up run is recorded, and until they have all ended.
#
# Prints a markdown section, appends it to the day's file in bench/history/ with the date and the
# machine, and updates the rows of the table of latest figures (bench/latest.json, rendered at
# the top of bench/RESULTS.md) that it measured with the table's sizes: skew_200 (or skew_10 with
# SKEW_TASKS=10), idle_memory and idle_cpu, queue_1000 and queue_1000_recorder, startup_1000,
# history_1m, startup_downtime.
# Tools: hyperfine, supervisor, sqlite3 (installed with apt-get if missing), python3, coreutils.
#
# Knobs (environment): SKEW_TASKS (200), SKEW_SECONDS (13), IDLE_TASKS (100), IDLE_REPLICAS (10),
# IDLE_SECONDS (60), IDLE_SETTLE (seconds of settling before the measurement, 10), QUEUE_RUNS
# (1000), QUEUE_REPEATS (3), STARTUP_TASKS (1000), STARTUP_RUNS (10), HISTORY_ROWS (1000000),
# HISTORY_TASKS (100), HISTORY_QUERIES (200), DOWNTIME_TASKS (1000), DOWNTIME_RUNS (5), ONLY
# (space-separated subset of: skew idle queue startup history downtime), QUICK=1 (small sizes
# for all six, unless given; printed only), BENCH_TMP
# (parent of the temp directory, default $TMPDIR or /tmp), RUNWISP_BIN and BENCH_DAEMON_BIN (skip
# the build and use these binaries; with RUNWISP_BIN alone, bench_daemon is looked for beside it
# and in the cargo target directory), RUNWISP_LABEL (what the report calls the binary), RESULTS
# (unset: the history and the table; "-": only print; a file: append there).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
if quick; then
    SKEW_TASKS=${SKEW_TASKS:-20} SKEW_SECONDS=${SKEW_SECONDS:-8}
    IDLE_TASKS=${IDLE_TASKS:-10} IDLE_REPLICAS=${IDLE_REPLICAS:-2} IDLE_SECONDS=${IDLE_SECONDS:-2}
    IDLE_SETTLE=${IDLE_SETTLE:-1}
    QUEUE_RUNS=${QUEUE_RUNS:-50} QUEUE_REPEATS=${QUEUE_REPEATS:-2}
    STARTUP_TASKS=${STARTUP_TASKS:-50} STARTUP_RUNS=${STARTUP_RUNS:-2}
    HISTORY_ROWS=${HISTORY_ROWS:-10000} HISTORY_TASKS=${HISTORY_TASKS:-10}
    HISTORY_QUERIES=${HISTORY_QUERIES:-20}
    DOWNTIME_TASKS=${DOWNTIME_TASKS:-30} DOWNTIME_RUNS=${DOWNTIME_RUNS:-1}
fi
SKEW_TASKS=${SKEW_TASKS:-200}
SKEW_SECONDS=${SKEW_SECONDS:-13}
IDLE_TASKS=${IDLE_TASKS:-100}
IDLE_REPLICAS=${IDLE_REPLICAS:-10}
IDLE_SECONDS=${IDLE_SECONDS:-60}
IDLE_SETTLE=${IDLE_SETTLE:-10}
QUEUE_RUNS=${QUEUE_RUNS:-1000}
QUEUE_REPEATS=${QUEUE_REPEATS:-3}
STARTUP_TASKS=${STARTUP_TASKS:-1000}
STARTUP_RUNS=${STARTUP_RUNS:-10}
HISTORY_ROWS=${HISTORY_ROWS:-1000000}
HISTORY_TASKS=${HISTORY_TASKS:-100}
HISTORY_QUERIES=${HISTORY_QUERIES:-200}
DOWNTIME_TASKS=${DOWNTIME_TASKS:-1000}
DOWNTIME_RUNS=${DOWNTIME_RUNS:-5}
ONLY=${ONLY:-skew idle queue startup history downtime}
HELPER="python3 $ROOT/bench/daemon_helper.py"

wants() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# --- tools -------------------------------------------------------------------------------------
need hyperfine hyperfine
need sqlite3 sqlite3
wants idle && need supervisord supervisor
command -v python3 >/dev/null || { say "python3 is missing"; exit 1; }

bench_daemon_bin

# --- temp directory and the processes this script starts ---------------------------------------
T=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/runwisp-daemon-bench.XXXXXX")
RUNNING="" # the one background process (daemon or supervisord) running now, if any
cleanup() {
    [ -z "$RUNNING" ] || { kill -TERM "$RUNNING" 2>/dev/null; wait "$RUNNING" 2>/dev/null; } || true
    rm -rf "$T"
}
trap cleanup EXIT

# Starts the daemon in the background on CONFIG and DATA; sets DAEMON to its pid once booted.
start_daemon() { # start_daemon CONFIG DATA LOG
    rm -f "$2/daemon.pid"
    "$BIN" --config "$1" --data "$2" --headless --port 0 >>"$3" 2>&1 &
    DAEMON=$!
    RUNNING=$DAEMON
    local waited=0
    while [ ! -e "$2/daemon.pid" ]; do
        kill -0 "$DAEMON" 2>/dev/null || { say "the daemon exited; see $3"; cat "$3" >&2; exit 1; }
        sleep 0.01
        waited=$((waited + 1))
        [ "$waited" -lt 3000 ] || { say "the daemon did not boot in 30 s"; exit 1; }
    done
}
stop_pid() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; RUNNING=""; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
verdict() { awk -v c="$1" 'BEGIN { print (c ? "met" : "**missed**") }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
SUMMARY=""
DETAILS=""
row() { SUMMARY+="| $1 | $2 | $3 | $4 | $5 |"$'\n'; }

# --- 1. scheduling skew ------------------------------------------------------------------------
if wants skew; then
    say "1/6 scheduling skew: $SKEW_TASKS tasks @every 5s for ${SKEW_SECONDS}s"
    mkdir -p "$T/skew"
    for i in $(seq -w 1 "$SKEW_TASKS"); do
        printf '[tasks.s%s]\nrun = "true"\ncron = "@every 5s"\n\n' "$i"
    done >"$T/skew/runwisp.toml"
    start_daemon "$T/skew/runwisp.toml" "$T/skew/data" "$T/skew/out.log"
    sleep "$SKEW_SECONDS"
    stop_pid "$DAEMON"
    $HELPER skew "$T/skew/data/runwisp.db" >"$T/skew.txt"
    # The floor sampled as runwisp is: as many rounds as it had instants (at least 3), its
    # quantiles over every spawn of every round, as runwisp's are over every run.
    floor_rounds=$(val "$T/skew.txt" instants)
    [ "${floor_rounds:-0}" -ge 3 ] || floor_rounds=3
    "$EX" spawn "$SKEW_TASKS" "$floor_rounds" >"$T/spawn.txt"
    floor_p99=$(val "$T/spawn.txt" p99_ms)
    floor_max=$(val "$T/spawn.txt" max_ms)
    skew_p99=$(val "$T/skew.txt" p99_ms)
    [ -n "$skew_p99" ] || { say "no cron run started in $SKEW_SECONDS s:"; cat "$T/skew.txt" >&2; exit 1; }
    skew_ratio=$(ratio "$skew_p99" "$floor_p99")
    # The restated goal (bench/RESULTS.md), for 200 tasks and for 10: within 1.25x the floor,
    # runwisp's own work per run sharing the two cores with the spawns and the children.
    # QUALITY.md §3: p99 at most the spawn floor with 200 tasks due at once, under 5 ms with 10.
    if [ "$SKEW_TASKS" -le 10 ]; then
        skew_goal="< 5 ms" skew_met=$(awk -v a="$skew_p99" 'BEGIN { print a < 5 }')
    else
        skew_goal="≤ 1.0× the floor" skew_met=$(awk -v r="$skew_ratio" 'BEGIN { print r <= 1.0 }')
    fi
    row "scheduling skew, $SKEW_TASKS tasks due at once (p99)" "$skew_p99 ms" \
        "$floor_p99 ms (spawn floor)" "${skew_ratio}×" "$skew_goal: $(verdict "$skew_met")"
    DETAILS+="
**Scheduling skew.** $SKEW_TASKS tasks \`run = \"true\"\`, \`cron = \"@every 5s\"\`, daemon up
${SKEW_SECONDS} s, fresh data directory. \`start_at - scheduled_for\` over $(val "$T/skew.txt" count)
cron runs ($(val "$T/skew.txt" instants) instants: $(val "$T/skew.txt" per_instant); not started
when stopped: $(val "$T/skew.txt" not_started)): min $(val "$T/skew.txt" min_ms), p50
$(val "$T/skew.txt" p50_ms), p99 **$skew_p99**, max $(val "$T/skew.txt" max_ms) ms. The floor
under it, one process spawning $SKEW_TASKS \`/bin/sh -c true\` back to back as the runner does (own
process group, piped output), $floor_rounds rounds (one per instant, at least 3) taken
together: the p99 spawn returns $floor_p99 ms after its round's first started, the last
$floor_max ms.
"
fi

# --- 2. idle footprint -------------------------------------------------------------------------
if wants idle; then
    say "2/6 idle footprint: $IDLE_TASKS tasks + $IDLE_REPLICAS replicas, ${IDLE_SECONDS}s each, runwisp then supervisord"
    mkdir -p "$T/idle" "$T/sup"
    {
        # Minute and hour spread; only on 29 February, so nothing fires during the measurement.
        for i in $(seq 0 $((IDLE_TASKS - 1))); do
            printf '[tasks.i%03d]\nrun = "true"\ncron = "%d %d 29 2 *"\n\n' "$i" $((i % 60)) $((i % 24))
        done
        printf '[services.sleeper]\nrun = "sleep infinity"\ninstances = %d\n' "$IDLE_REPLICAS"
    } >"$T/idle/runwisp.toml"
    cat >"$T/sup/supervisord.conf" <<EOF
; Debian's default layout (a control socket for supervisorctl), in the foreground.
[unix_http_server]
file=$T/sup/supervisor.sock
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisord]
nodaemon=true
$([ "$(id -u)" -eq 0 ] && echo "user=root")
logfile=$T/sup/supervisord.log
pidfile=$T/sup/supervisord.pid
childlogdir=$T/sup

[program:sleeper]
command=sleep infinity
numprocs=$IDLE_REPLICAS
process_name=%(program_name)s_%(process_num)02d
autorestart=true
EOF
    wait_children() { # wait_children PID N
        local waited=0
        until [ "$($HELPER children "$1")" -ge "$2" ]; do
            sleep 0.1
            waited=$((waited + 1))
            [ "$waited" -lt 300 ] || { say "pid $1 did not start $2 children in 30 s"; exit 1; }
        done
        sleep 2 # let start-up settle (and the blocking pool's spare threads retire)
    }
    start_daemon "$T/idle/runwisp.toml" "$T/idle/data" "$T/idle/out.log"
    wait_children "$DAEMON" "$IDLE_REPLICAS"
    sleep "$IDLE_SETTLE" # the blocking pool keeps idle threads 10 s
    $HELPER idle "$DAEMON" "$IDLE_SECONDS" >"$T/idle-runwisp.txt"
    stop_pid "$DAEMON"

    supervisord -n -c "$T/sup/supervisord.conf" >"$T/sup/out.log" 2>&1 &
    SUP=$!
    RUNNING=$SUP
    wait_children "$SUP" "$IDLE_REPLICAS"
    sleep "$IDLE_SETTLE"
    $HELPER idle "$SUP" "$IDLE_SECONDS" >"$T/idle-supervisord.txt"
    stop_pid "$SUP"

    r=$T/idle-runwisp.txt s=$T/idle-supervisord.txt
    rss_r=$(val "$r" rss_kb) rss_s=$(val "$s" rss_kb)
    pss_r=$(val "$r" pss_kb) pss_s=$(val "$s" pss_kb)
    cpu_r=$(val "$r" cpu_pct) cpu_s=$(val "$s" cpu_pct)
    # QUALITY.md §3: PSS under 8 MiB (PSS charges the shared, clean code pages fairly).
    idle_met=$(awk -v a="$pss_r" 'BEGIN { print a < 8192 }')
    row "idle PSS / RSS, $IDLE_TASKS tasks + $IDLE_REPLICAS replicas" "$(mb "$pss_r") / $(mb "$rss_r") MiB" \
        "$(mb "$pss_s") / $(mb "$rss_s") MiB (supervisord)" "$(ratio "$pss_r" "$pss_s")× / $(ratio "$rss_r" "$rss_s")×" \
        "PSS < 8 MiB: $(verdict "$idle_met")"
    row "idle CPU over ${IDLE_SECONDS}s" "$(printf '%.3f' "$cpu_r") %" \
        "$(printf '%.3f' "$cpu_s") % (supervisord)" "$(ratio "$(val "$r" cpu_ms)" "$(val "$s" cpu_ms)")×" \
        "< 0.1 %: $(verdict "$(awk -v a="$cpu_r" 'BEGIN { print a < 0.1 }')")"
    line() { # line FILE NAME
        printf '| %s | %s | %s + %s | %s | %s | %s | %s ticks, %s ms (%s %%) | %s (%s/s) | %s × %s: %s MiB RSS, %s MiB PSS, %s ms CPU |\n' \
            "$2" "$(mb "$(val "$1" rss_kb)")" "$(mb "$(val "$1" rss_anon_kb)")" "$(mb "$(val "$1" rss_file_kb)")" "$(mb "$(val "$1" hwm_kb)")" "$(mb "$(val "$1" pss_kb)")" \
            "$(val "$1" threads)" "$(val "$1" cpu_ticks)" "$(val "$1" cpu_ms)" "$(printf '%.3f' "$(val "$1" cpu_pct)")" \
            "$(val "$1" wakeups)" "$(val "$1" wakeups_per_s)" "$(val "$1" children)" \
            "$(val "$1" children_names)" "$(mb "$(val "$1" children_rss_kb)")" \
            "$(mb "$(val "$1" children_pss_kb)")" "$(val "$1" children_cpu_ms)"
    }
    DETAILS+="
**Idle footprint.** $IDLE_TASKS tasks whose cron only fires on 29 February and one service of
$IDLE_REPLICAS \`sleep infinity\` replicas, vs supervisord $(supervisord --version) (\`-n\`, with
Debian's control socket) running the same $IDLE_REPLICAS programs. Measured after the children
were up and $IDLE_SETTLE s of settling, over $(val "$r" seconds) s / $(val "$s" seconds) s: CPU from
utime+stime (ticks of 1/$(getconf CLK_TCK) s) and from schedstat (ns, all threads); wake-ups are
context switches of all threads.

| daemon | RSS (MiB) | anon + file (MiB) | peak RSS (MiB) | PSS (MiB) | threads | CPU over the window | wake-ups | children |
|---|---|---|---|---|---|---|---|---|
$(line "$r" runwisp)
$(line "$s" supervisord)
"
fi

# --- 3. per-run overhead -----------------------------------------------------------------------
if wants queue; then
    say "3/6 per-run overhead: $QUEUE_RUNS queued runs of true, $QUEUE_REPEATS times each"
    # disk and tmpfs: the triggers sent together; serial: on disk, one trigger after another.
    for place in disk tmpfs serial; do
        parent=$T mode=together
        [ "$place" = serial ] && mode=one-by-one
        if [ "$place" = tmpfs ]; then
            [ -d /dev/shm ] || continue
            parent=$(mktemp -d /dev/shm/runwisp-daemon-bench.XXXXXX)
        fi
        for _ in $(seq "$QUEUE_REPEATS"); do
            "$EX" queue "$QUEUE_RUNS" "$parent" "$mode" >"$T/queue.txt"
            [ "$(val "$T/queue.txt" succeeded)" = "$QUEUE_RUNS" ] || {
                say "not every queued run succeeded:"; cat "$T/queue.txt" >&2; exit 1; }
            val "$T/queue.txt" elapsed_ms >>"$T/queue-$place.txt"
            val "$T/queue.txt" enqueue_ms >>"$T/enqueue-$place.txt"
            # The floor of a runner that keeps a durable record, in the same minutes: the
            # recorder commits each run's row while the next run's process runs (overlapped)
            # or before it starts (serial, on disk only).
            [ "$place" = serial ] && continue
            for how in overlapped serial; do
                [ "$how" = serial ] && [ "$place" = tmpfs ] && continue
                "$EX" recorder "$QUEUE_RUNS" "$parent" "$how" >"$T/recorder.txt"
                [ "$(val "$T/recorder.txt" runs)" = "$QUEUE_RUNS" ] || {
                    say "the recorder did not record every run:"; cat "$T/recorder.txt" >&2; exit 1; }
                val "$T/recorder.txt" elapsed_ms >>"$T/recorder-$how-$place.txt"
            done
        done
        [ "$place" = tmpfs ] && rm -rf "$parent"
    done
    LOOP="sh -c 'i=0; while [ \$i -lt $QUEUE_RUNS ]; do sh -c true; i=\$((i + 1)); done'"
    hyperfine -N --style basic --warmup 1 --runs "$QUEUE_REPEATS" --export-json "$T/loop.json" \
        -n "shell loop" "$LOOP" >&2
    $HELPER percentiles "$T/loop.json" >"$T/loop.txt"
    loop_ms=$(val "$T/loop.txt" p50_ms)
    q_disk=$(median <"$T/queue-disk.txt")
    q_ratio=$(ratio "$q_disk" "$loop_ms")
    rec_disk=$(median <"$T/recorder-overlapped-disk.txt")
    rec_ratio=$(ratio "$q_disk" "$rec_disk")
    # QUALITY.md §3: at most 1.25x the shell loop.
    row "per-run overhead, $QUEUE_RUNS queued runs of \`true\`" "$q_disk ms" \
        "$loop_ms ms (shell loop)" "${q_ratio}×" \
        "≤ 1.25×: $(verdict "$(awk -v r="$q_ratio" 'BEGIN { print r <= 1.25 }')")"
    # RESULTS.md, restated goals: at most 1.25x the least a durable recorder does.
    row "per-run overhead against the durable recorder, $QUEUE_RUNS queued runs" "$q_disk ms" \
        "$rec_disk ms (recorder, commits overlapped)" "${rec_ratio}×" \
        "≤ 1.25×: $(verdict "$(awk -v r="$rec_ratio" 'BEGIN { print r <= 1.25 }')")"
    qline() { # qline NAME MS
        printf '| %s | %s | %s | %s× |\n' "$1" "$2" \
            "$(awk -v a="$2" -v n="$QUEUE_RUNS" 'BEGIN { printf "%.3f", a / n }')" "$(ratio "$2" "$loop_ms")"
    }
    DETAILS+="
**Per-run overhead.** \`bench_daemon queue\`: the engine booted as a library (real clock, real
SQLite with \`synchronous=FULL\`) with one task \`run = \"true\"\`, \`queue_max = 10000\` (so
\`max_concurrent = 1\`: the runs go one after another), triggered $QUEUE_RUNS times at once (as many
clients would; their rows share commits), timed from the first trigger until every run is
recorded ended; median of $QUEUE_REPEATS. The triggers themselves returned after
$(median <"$T/enqueue-disk.txt") ms (disk). The last row sends the triggers one after another
instead, each waiting for its row to be on disk (they returned after
$(median <"$T/enqueue-serial.txt") ms), so the queue fills no faster than one commit at a time.
Against \`$LOOP\` (hyperfine, median of $QUEUE_REPEATS), and against the floor of a runner
that keeps a durable record (\`bench_daemon recorder\`, alternated with the engine's runs): one
thread spawns \`/bin/sh -c true\` as the runner does (own process group, piped output), reads
its output to the end, reaps it and hands its row to a second thread, which commits every row
that has arrived in one SQLite transaction (WAL, \`synchronous=FULL\`) while the next run's
process runs (overlapped); serial waits for each row's commit before the next spawn.

| what | $QUEUE_RUNS runs (ms) | per run (ms) | vs the shell loop |
|---|---|---|---|
$(qline "shell loop, \`sh -c true\`" "$loop_ms")
$(qline "durable recorder, commits overlapped, on disk" "$rec_disk")
$(qline "durable recorder, serial, on disk" "$(median <"$T/recorder-serial-disk.txt")")
$([ -s "$T/recorder-overlapped-tmpfs.txt" ] && qline "durable recorder, commits overlapped, on tmpfs" "$(median <"$T/recorder-overlapped-tmpfs.txt")")
$(qline "runwisp engine, data on disk" "$q_disk")
$([ -s "$T/queue-tmpfs.txt" ] && qline "runwisp engine, data on tmpfs" "$(median <"$T/queue-tmpfs.txt")")
$(qline "runwisp engine, data on disk, triggers one by one" "$(median <"$T/queue-serial.txt")")
"
fi

# --- 4. start-up -------------------------------------------------------------------------------
if wants startup; then
    say "4/6 start-up: $STARTUP_TASKS tasks, $STARTUP_RUNS boots fresh and warm"
    mkdir -p "$T/boot"
    crons=("*/5 * * * *" "0 3 * * *" "@every 1h" "@daily" "30 2 * * 1-5" "15 */6 * * *")
    for i in $(seq 0 $((STARTUP_TASKS - 1))); do
        printf '[tasks.b%04d]\nrun = "echo %d"\n' "$i" "$i"
        [ $((i % 2)) -eq 0 ] && printf 'cron = "%s"\n' "${crons[$(((i / 2) % ${#crons[@]}))]}"
        printf '\n'
    done >"$T/boot/runwisp.toml"
    $HELPER startup "$T/boot/out.log" "$BIN" "$T/boot/runwisp.toml" "$T/boot/data" \
        "$STARTUP_RUNS" fresh >"$T/boot-fresh.txt"
    $HELPER startup "$T/boot/out.log" "$BIN" "$T/boot/runwisp.toml" "$T/boot/data" \
        "$STARTUP_RUNS" warm >"$T/boot-warm.txt"
    hyperfine -N --style basic --warmup 2 --runs 20 --export-json "$T/validate.json" \
        -n validate "$BIN --config $T/boot/runwisp.toml validate" >&2
    $HELPER percentiles "$T/validate.json" >"$T/validate.txt"
    fresh_p50=$(val "$T/boot-fresh.txt" p50_ms) warm_p50=$(val "$T/boot-warm.txt" p50_ms)
    worst=$(awk -v a="$(val "$T/boot-fresh.txt" max_ms)" -v b="$(val "$T/boot-warm.txt" max_ms)" \
        'BEGIN { print (a > b ? a : b) }')
    row "start-up, $STARTUP_TASKS tasks to daemon.pid (p50 fresh / warm)" \
        "$fresh_p50 / $warm_p50 ms" "–" "–" \
        "< 200 ms: $(verdict "$(awk -v a="$worst" 'BEGIN { print a < 200 }')") (worst $worst ms)"
    bline() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$(val "$2" min_ms)" "$(val "$2" p50_ms)" \
        "$(val "$2" max_ms)" "$(val "$2" count)"; }
    DETAILS+="
**Start-up.** $STARTUP_TASKS tasks, half with a cron (six kinds of expression), half manual; time
from spawning \`runwisp --headless --port 0\` until \`data/daemon.pid\` exists (polled every
0.2 ms from Python, so the figures include Python's spawn), then SIGTERM. Fresh: an empty data
directory each time (database, migrations, $((STARTUP_TASKS / 2)) schedule anchors, password
created); warm: the same data directory again. \`runwisp validate\` loads the same config without
booting. A \`daemon.pid\` still there at the next boot (the daemon was killed by the SIGTERM
before it could remove it) was removed first: $(val "$T/boot-warm.txt" stale_pid_files) of
$STARTUP_RUNS warm boots.

| what | min (ms) | p50 (ms) | max (ms) | boots |
|---|---|---|---|---|
$(bline "fresh data directory" "$T/boot-fresh.txt")
$(bline "warm data directory" "$T/boot-warm.txt")
$(bline "\`runwisp validate\` (config only)" "$T/validate.txt")
"
fi

# --- 5. history at scale -----------------------------------------------------------------------
if wants history; then
    say "5/6 history: $HISTORY_ROWS runs over $HISTORY_TASKS tasks"
    mkdir -p "$T/hist"
    for i in $(seq 0 $((HISTORY_TASKS - 1))); do
        printf '[tasks.h%03d]\nrun = "true"\n\n' "$i"
    done >"$T/hist/runwisp.toml"
    # runwisp creates the database (schema, indexes, WAL), then the rows go in directly.
    start_daemon "$T/hist/runwisp.toml" "$T/hist/data" "$T/hist/out.log"
    stop_pid "$DAEMON"
    DB=$T/hist/data/runwisp.db
    # ULIDs: 10 Crockford base32 characters of the millisecond, then 16 of the row number, so ids
    # sort by time as real ones do. One run every 6 s across all tasks, ending now.
    A="'0123456789ABCDEFGHJKMNPQRSTVWXYZ'"
    enc() { # enc EXPR CHARS
        local out="" k
        for k in $(seq $(($2 - 1)) -1 0); do
            out+="${out:+ || }substr($A, (($1 >> $((5 * k))) & 31) + 1, 1)"
        done
        printf '%s' "$out"
    }
    now_ms=$(($(date +%s) * 1000))
    gen_start=$(date +%s.%N)
    sqlite3 "$DB" >/dev/null <<EOF
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $HISTORY_ROWS - 1),
r AS (SELECT i, $now_ms - ($HISTORY_ROWS - i) * 6000 AS ts, i % $HISTORY_TASKS AS t FROM n)
INSERT INTO runs (id, task_name, kind, status, end_reason, exit_code, triggered_by,
                  scheduled_for, created_at, start_at, end_at, retry_attempt, pid, pgid,
                  pid_start_time)
SELECT $(enc ts 10) || $(enc i 16), printf('h%03d', t), 'task', 'ended',
       CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'success' END,
       CASE WHEN i % 17 = 0 THEN 1 ELSE 0 END,
       CASE WHEN t % 2 = 0 THEN 'cron' ELSE 'api' END,
       CASE WHEN t % 2 = 0 THEN ts END,
       ts, ts + 3, ts + 200 + i % 5000, 0, 1000 + i % 30000, 1000 + i % 30000, 100000 + i
FROM r;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
    gen_s=$(awk -v a="$gen_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    rows=$(sqlite3 "$DB" "SELECT count(*) FROM runs")
    db_mb=$(du -m "$DB" | cut -f1)
    hist_task=$(printf 'h%03d' $((HISTORY_TASKS * 42 / 100))) # h042 of 100 tasks
    plan=$(sqlite3 "$DB" "EXPLAIN QUERY PLAN SELECT * FROM runs WHERE task_name = '$hist_task' ORDER BY id DESC LIMIT 50" | sed -n '2,$p' | sed 's/^[|` -]*//' | paste -sd';' -)
    tasks=$(seq -f 'h%03g' 0 $((HISTORY_TASKS - 1)) | shuf --random-source=<(yes) | tr '\n' ' ')
    # shellcheck disable=SC2086
    "$EX" history "$DB" "$HISTORY_QUERIES" 50 $tasks >"$T/hist-lib.txt"
    hyperfine -N --style basic --warmup 5 --runs "$HISTORY_QUERIES" --export-json "$T/hist-cli.json" \
        -n "runwisp runs $hist_task -n 50" "$BIN --data $T/hist/data runs $hist_task -n 50" >&2
    $HELPER percentiles "$T/hist-cli.json" >"$T/hist-cli.txt"
    lib_p99=$(val "$T/hist-lib.txt" p99_ms) cli_p99=$(val "$T/hist-cli.txt" p99_ms)
    row "history, $rows runs: list 50 of one task (p99)" "$lib_p99 ms query, $cli_p99 ms CLI" \
        "–" "–" "< 10 ms: $(verdict "$(awk -v a="$lib_p99" -v b="$cli_p99" 'BEGIN { print a < 10 && b < 10 }')")"
    DETAILS+="
**History at scale.** $rows runs over $HISTORY_TASKS tasks (one every 6 s, tasks interleaved,
ULID ids in time order) written with the sqlite3 CLI into a database the daemon created
(${gen_s} s to generate; ${db_mb} MiB). Query plan: \`$plan\`. In-process
(\`Store::list_runs(TASK, 50)\`, the SQL of \`runwisp runs TASK -n 50\`, one connection, tasks in
turn, $(val "$T/hist-lib.txt" rows_per_query) rows each): open $(val "$T/hist-lib.txt" open_ms) ms, first query
$(val "$T/hist-lib.txt" first_ms) ms, then over $HISTORY_QUERIES queries p50
$(val "$T/hist-lib.txt" p50_ms), p99 **$lib_p99**, max $(val "$T/hist-lib.txt" max_ms) ms. The whole
command \`runwisp runs $hist_task -n 50\` (process, open, query, table to /dev/null; hyperfine -N,
$HISTORY_QUERIES runs): p50 $(val "$T/hist-cli.txt" p50_ms), p99 **$cli_p99**, max
$(val "$T/hist-cli.txt" max_ms) ms.
"
fi

# --- 6. start-up after a year of downtime -------------------------------------------------------
if wants downtime; then
    say "6/6 a year of downtime: $DOWNTIME_TASKS minutely tasks, $DOWNTIME_RUNS boots"
    mkdir -p "$T/down"
    policies=('latest' 'all' 'skip')
    for i in $(seq 0 $((DOWNTIME_TASKS - 1))); do
        policy=${policies[$((i % 3))]}
        printf '[tasks.y%04d]\nrun = "true"\ncron = "* * * * *"\ncatch_up = "%s"\n' "$i" "$policy"
        [ "$policy" = all ] && printf 'max_catch_up_runs = 3\n'
        printf '\n'
    done >"$T/down/runwisp.toml"
    expected=$(awk -v n="$DOWNTIME_TASKS" 'BEGIN { for (i = 0; i < n; i++) e += (i % 3 == 0) ? 1 : (i % 3 == 1) ? 3 : 0; print e }')
    # One boot records when each task was first seen; the anchors then go back a year (no run
    # exists, so the first sighting is each task's anchor).
    start_daemon "$T/down/runwisp.toml" "$T/down/template" "$T/down/out.log"
    stop_pid "$DAEMON"
    rm -f "$T/down/template/daemon.pid"
    sqlite3 "$T/down/template/runwisp.db" \
        "UPDATE task_anchors SET first_seen = first_seen - 365 * 86400000; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    $HELPER downtime "$T/down/out.log" "$BIN" "$T/down/runwisp.toml" "$T/down/template" \
        "$T/down/data" "$DOWNTIME_RUNS" "$expected" >"$T/downtime.txt"
    down_boot=$(val "$T/downtime.txt" boot_max_ms) down_rec=$(val "$T/downtime.txt" recorded_max_ms)
    down_end=$(val "$T/downtime.txt" ended_max_ms)
    row "start-up after a year of downtime, $DOWNTIME_TASKS minutely tasks (worst of $DOWNTIME_RUNS)" \
        "$down_boot ms to daemon.pid; $expected catch-up runs recorded at $down_rec ms, ended at $down_end ms" "–" "–" \
        "< 1 s: $(verdict "$(awk -v a="$down_boot" 'BEGIN { print a < 1000 }')")"
    DETAILS+="
**Start-up after a year of downtime.** $DOWNTIME_TASKS tasks \`cron = \"* * * * *\"\`, a third
each with \`catch_up = \"latest\"\`, \`\"all\"\` (\`max_catch_up_runs = 3\`) and \`\"skip\"\`, last
seen a year ago (one boot recorded them, then their \`task_anchors.first_seen\` went back 365
days): about $((DOWNTIME_TASKS * 525600 / 1000000)) million missed firings in all, counted, not walked. Each
of $DOWNTIME_RUNS boots on a fresh copy of that data directory, timed from spawning
\`runwisp --headless --port 0\` (polled from Python, so its spawn is included): until
\`data/daemon.pid\`, until all $expected catch-up runs are recorded (\`triggered_by =
'catch_up'\`), and until they have all ended (each task runs its own one after another); then
SIGTERM. Catch-up runs per boot: $(val "$T/downtime.txt" catch_up_runs).

| until | min (ms) | p50 (ms) | max (ms) |
|---|---|---|---|
| \`daemon.pid\` | $(val "$T/downtime.txt" boot_min_ms) | $(val "$T/downtime.txt" boot_p50_ms) | $down_boot |
| every catch-up run recorded | $(val "$T/downtime.txt" recorded_min_ms) | $(val "$T/downtime.txt" recorded_p50_ms) | $down_rec |
| every catch-up run ended | $(val "$T/downtime.txt" ended_min_ms) | $(val "$T/downtime.txt" ended_p50_ms) | $down_end |
"
fi

# --- report ------------------------------------------------------------------------------------
machine_facts "$T" src examples

report=$(cat <<EOF

## daemon.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs; load average before the run
$LOAD. runwisp $commit, hyperfine $(hyperfine --version | cut -d' ' -f2), SQLite (CLI)
$(sqlite3 --version | cut -d' ' -f1).

| measure | runwisp | peer / floor | ratio | goal |
|---|---|---|---|---|
$SUMMARY$DETAILS
EOF
)
publish "$report"

# The rows of the table of latest figures this run measured, with the table's sizes.
if wants skew; then
    if [ "$SKEW_TASKS" = 200 ]; then
        latest skew_200 "figure=$skew_p99 ms" \
            "peer=$floor_p99 ms: spawn floor (200 shells spawned back to back by one process)" \
            "ratio=${skew_ratio}×" "value=$skew_ratio"
        latest skew_200_restated "figure=$skew_p99 ms" \
            "peer=$floor_p99 ms: spawn floor (200 shells spawned back to back by one process)" \
            "ratio=${skew_ratio}×" "value=$skew_ratio"
    elif [ "$SKEW_TASKS" = 10 ]; then
        latest skew_10 "figure=$skew_p99 ms" "peer=$floor_p99 ms: spawn floor (10 shells)" \
            "ratio=${skew_ratio}×" "value=$skew_p99"
        latest skew_10_restated "figure=$skew_p99 ms" "peer=$floor_p99 ms: spawn floor (10 shells)" \
            "ratio=${skew_ratio}×" "value=$skew_ratio"
    else
        sizes_differ "skew of $SKEW_TASKS tasks, not 200 or 10"
    fi
fi
if wants idle; then
    if [ "$IDLE_TASKS/$IDLE_REPLICAS/$IDLE_SECONDS" = 100/10/60 ]; then
        latest idle_memory "figure=PSS $(mb "$pss_r") MiB, RSS $(mb "$rss_r") MiB" \
            "peer=supervisord: PSS $(mb "$pss_s") MiB, RSS $(mb "$rss_s") MiB" \
            "ratio=$(ratio "$pss_r" "$pss_s")× PSS ($(ratio "$rss_r" "$rss_s")× RSS)" \
            "value=$(mb "$pss_r")"
        anon_r=$(val "$r" rss_anon_kb) anon_s=$(val "$s" rss_anon_kb)
        latest idle_memory_restated \
            "figure=anonymous $(mb "$anon_r") MiB, PSS $(mb "$pss_r") MiB" \
            "peer=supervisord: anonymous $(mb "$anon_s") MiB, PSS $(mb "$pss_s") MiB" \
            "ratio=$(ratio "$pss_r" "$pss_s")× PSS" "value=$(mb "$anon_r")" \
            "ok=$(awk -v a="$pss_r" -v b="$pss_s" 'BEGIN { print (a < b) }')"
        latest idle_cpu "figure=$(printf '%.3f' "$cpu_r") %" \
            "peer=$(printf '%.3f' "$cpu_s") %: supervisord" \
            "ratio=$(ratio "$(val "$r" cpu_ms)" "$(val "$s" cpu_ms)")×" "value=$cpu_r"
    else
        sizes_differ "idle with $IDLE_TASKS tasks, $IDLE_REPLICAS replicas, $IDLE_SECONDS s"
    fi
fi
if wants queue; then
    if [ "$QUEUE_RUNS" = 1000 ]; then
        latest queue_1000 "figure=$q_disk ms" "peer=$loop_ms ms: shell loop of \`sh -c true\`" \
            "ratio=${q_ratio}×" "value=$q_ratio"
        latest queue_1000_recorder "figure=$q_disk ms" \
            "peer=$rec_disk ms: a durable recorder (bench_daemon recorder, commits overlapped)" \
            "ratio=${rec_ratio}×" "value=$rec_ratio"
    else
        sizes_differ "$QUEUE_RUNS queued runs, not 1000"
    fi
fi
if wants startup; then
    if [ "$STARTUP_TASKS" = 1000 ]; then
        latest startup_1000 "figure=$fresh_p50 / $warm_p50 ms (worst $worst ms)" "value=$worst"
    else
        sizes_differ "start-up with $STARTUP_TASKS tasks, not 1000"
    fi
fi
if wants downtime; then
    if [ "$DOWNTIME_TASKS" = 1000 ]; then
        latest startup_downtime \
            "figure=$down_boot ms to daemon.pid (worst of $DOWNTIME_RUNS); $expected catch-up runs recorded by $down_rec ms, ended by $down_end ms" \
            "value=$(awk -v a="$down_boot" 'BEGIN { printf "%.3f", a / 1000 }')" "script=bench/daemon.sh"
    else
        sizes_differ "a year of downtime with $DOWNTIME_TASKS tasks, not 1000"
    fi
fi
if wants history; then
    if [ "$HISTORY_ROWS" = 1000000 ]; then
        latest history_1m "figure=$lib_p99 ms query, $cli_p99 ms CLI" \
            "value=$(awk -v a="$lib_p99" -v b="$cli_p99" 'BEGIN { print (a > b ? a : b) }')"
    else
        sizes_differ "history of $HISTORY_ROWS runs, not 1000000"
    fi
fi
