#!/usr/bin/env bash
# Benchmarks the terminal UI (QUALITY.md §3: "< 5 ms a frame, bounded memory"):
#
#   1. Frame time: `cargo bench --bench tui_frame` (criterion; 1,000 tasks in the sidebar and a
#      10,000-line log open, 120x40).
#   2. Tailing a flood: a daemon (`runwisp --headless`, temp directory, free loopback port) with a
#      manual task printing RATE lines a second for DURATION seconds; `runwisp tui` in a tmux
#      session of its own (120x40) runs it (r, Enter) and follows its live log. Every second: the
#      TUI's RSS (VmRSS), its CPU, what it wrote to the terminal, and the daemon's and the tmux
#      server's CPU. Reported: RSS before the run, at the start, the most, at the end, whether it
#      stayed bounded (the app keeps at most MAX_LOG_LINES lines), the TUI's CPU, the line rate
#      the producer achieved (lines counted in the run's log afterwards), how far the screen was
#      behind the log at the end and how long it took to catch up, and the screen at the end.
#
# Prints a markdown section, appends it to the day's file in bench/history/ with the date and the
# machine, and updates the rows tui_frame (when the frame benchmark ran) and tui_tail (at 10,000
# lines/s for 60 s) of the table of latest figures (bench/latest.json, rendered at the top of
# bench/RESULTS.md).
# Tools: tmux (installed with apt-get if missing), cargo (criterion), coreutils, awk, /proc.
#
# Knobs (environment): RATE (lines a second, default 10000), DURATION (seconds, default 60),
# CATCHUP (seconds to wait after the run for the screen to show its last line, default 60),
# FRAME=0 (skip the criterion frame benchmark; the default when RUNWISP_BIN is given, as the
# benchmark is built by cargo: FRAME=1 to run it anyway), CRITERION_ARGS (extra arguments for
# criterion, e.g. "--measurement-time 3"), QUICK=1 (no frame benchmark, RATE=1000, DURATION=5,
# CATCHUP=10 unless given; printed only), BENCH_TMP (parent of the temp directory, default $TMPDIR or
# /tmp), RUNWISP_BIN (skip the build and use this binary), RUNWISP_LABEL (what the report calls
# the binary, default the git commit), RESULTS (unset: the history and the table; "-": only
# print; a file: append there). Honours CARGO_TARGET_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
if quick; then RATE=${RATE:-1000} DURATION=${DURATION:-5} CATCHUP=${CATCHUP:-10}; fi
RATE=${RATE:-10000}
DURATION=${DURATION:-60}
CATCHUP=${CATCHUP:-60}
# The frame benchmark is a cargo bench: neither a quick run nor a given binary (no building)
# measures it unless FRAME=1 says so.
frame_skipped="FRAME=0"
if [ -z "${FRAME:-}" ]; then
    FRAME=1
    if quick; then
        FRAME=0 frame_skipped="QUICK"
    elif [ -n "${RUNWISP_BIN:-}" ]; then
        FRAME=0 frame_skipped="the default with RUNWISP_BIN"
    fi
fi
COLS=120 ROWS=40

# --- tools -------------------------------------------------------------------------------------
need tmux tmux

runwisp_bin

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# Wherever the TUI's sources define it.
MAX_LOG_LINES=$(grep -rhs '^pub const MAX_LOG_LINES: usize = ' "$ROOT/src/tui" \
    | sed -n 's/^pub const MAX_LOG_LINES: usize = \([0-9_]*\);.*/\1/p' | head -n1 | tr -d _)
MAX_LOG_LINES=${MAX_LOG_LINES:-unknown}

# --- 1. frame time -----------------------------------------------------------------------------
to_ms() {   # "123.45 µs" -> milliseconds
    awk -v v="$1" -v u="$2" 'BEGIN {
        f = (u == "ns") ? 1e-6 : (u == "ms") ? 1 : (u == "s") ? 1000 : 1e-3
        printf "%.3f", v * f }'
}
frame_line="not measured ($frame_skipped)"
frame_goal=""
if [ "$FRAME" != 0 ]; then
    say "1/2 frame time (cargo bench --bench tui_frame)"
    # shellcheck disable=SC2086
    out=$(cd "$ROOT" && cargo bench --quiet --bench tui_frame -- ${CRITERION_ARGS:-} 2>&1) || {
        printf '%s\n' "$out" >&2; say "cargo bench failed"; exit 1; }
    printf '%s\n' "$out" | grep -E 'time:|draw a frame' >&2 || true
    # criterion: "time:   [low unit est unit high unit]"
    read -r lo lo_u est est_u hi hi_u < <(printf '%s\n' "$out" | grep -m1 'time:' \
        | sed 's/.*\[\(.*\)\].*/\1/')
    frame_name=$(printf '%s\n' "$out" | sed -n 's/^Benchmarking \(.*\): Analyzing$/\1/p' | head -n1)
    frame_ms=$(to_ms "$est" "$est_u")
    frame_goal=$(awk -v m="$frame_ms" 'BEGIN { print (m < 5 ? "met" : "missed") }')
    frame_line="**$frame_ms ms** a frame (criterion estimate; 95% interval $(to_ms "$lo" "$lo_u") – $(to_ms "$hi" "$hi_u") ms) for \`$frame_name\`: goal < 5 ms **$frame_goal**"
fi

# --- 2. tailing a flood ------------------------------------------------------------------------
T=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/runwisp-tui-bench.XXXXXX")
SOCK="runwisp-bench-$$"
DAEMON_PID=""
tm() { tmux -L "$SOCK" "$@"; }
cleanup() {
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    tm kill-server 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { say "no free loopback port found"; exit 1; }

# The producer: RATE lines a second in ticks of a tenth of a second, each tick against a deadline
# from the start so the rate does not drift; it notes its own start and end (outside the log).
cat > "$T/producer.sh" <<'EOF'
#!/bin/sh
rate=$1 secs=$2 times=$3
per=$((rate / 10)) ticks=$((secs * 10))
start=$(date +%s%N) i=0
echo "$start" > "$times"
while [ "$i" -lt "$ticks" ]; do
    awk -v a=$((i * per + 1)) -v b=$(((i + 1) * per)) \
        'BEGIN { for (n = a; n <= b; n++) printf "line %d: the quick brown fox jumps over the lazy dog\n", n }'
    i=$((i + 1))
    left=$((start + i * 100000000 - $(date +%s%N)))
    [ "$left" -gt 0 ] && sleep "$(printf '0.%09d' "$left")"
done
date +%s%N >> "$times"
EOF
TOTAL=$((RATE / 10 * 10 * DURATION))
cat > "$T/runwisp.toml" <<EOF
[daemon]
listen = "127.0.0.1:$PORT"

[tasks.flood]
description = "prints $RATE lines a second for $DURATION s"
run = "sh $T/producer.sh $RATE $DURATION $T/producer.times"
log_max_size = "1GB"
EOF
RW=("$BIN" --config "$T/runwisp.toml" --data "$T/data")
"${RW[@]}" validate >/dev/null

say "2/2 tailing $RATE lines/s for $DURATION s in the TUI (daemon on 127.0.0.1:$PORT, tmux -L $SOCK)"
"${RW[@]}" --headless >"$T/daemon.out" 2>&1 &
DAEMON_PID=$!
for i in $(seq 150); do
    "${RW[@]}" status >/dev/null 2>&1 && break
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/daemon.out" >&2; say "the daemon exited"; exit 1; }
    [ "$i" -eq 150 ] && { say "the daemon did not become healthy in 15 s"; exit 1; }
    sleep 0.1
done

tm new-session -d -s tui -x "$COLS" -y "$ROWS" -c "$T" "exec ${RW[*]} tui" \; \
    set-option -t tui remain-on-exit on
screen() { tm capture-pane -p -t tui; }
appears() {   # text, seconds: whether it shows on the TUI's screen within that time
    local deadline=$((SECONDS + $2))
    until screen | grep -qF -- "$1"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}
wait_for() {   # text, seconds
    appears "$1" "$2" || {
        say "timed out waiting for \"$1\" on the TUI's screen:"; screen >&2; exit 1; }
}
keys() { for k in "$@"; do tm send-keys -t tui "$k"; sleep 0.15; done; }

TUI_PID=$(tm display-message -p -t tui '#{pane_pid}')
if ! tr '\0' ' ' < "/proc/$TUI_PID/cmdline" | grep -q ' tui'; then
    TUI_PID=$(pgrep -f -- "--config $T/runwisp.toml --data $T/data tui" | head -n1)
fi
TMUX_PID=$(tm display-message -p '#{pid}')
wait_for "● connected" 30
wait_for "flood" 10

CLK=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
wchar() { awk '/^wchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0; }
log_lines() { cat "$T"/data/logs/flood/*.log 2>/dev/null | grep -c '^line ' || true; }
shown_line() { screen | { grep -o 'line [0-9]*:' || true; } | tr -dc '0-9\n' | sort -n | tail -n1; }
now_ns() { date +%s%N; }

sleep 1
rss_idle=$(rss_kb "$TUI_PID")

keys r
wait_for "Run task flood now?" 5
keys Enter
t0=$(now_ns)
# One sample a second against a deadline: t, RSS, the TUI's / daemon's / tmux's CPU ticks, the
# TUI's bytes written.
SAMPLES=$T/samples.tsv
sample() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(rss_kb "$TUI_PID")" "$(ticks "$TUI_PID")" \
        "$(ticks "$DAEMON_PID")" "$(ticks "$TMUX_PID")" "$(wchar "$TUI_PID")" >> "$SAMPLES"
}
sample 0
for s in $(seq "$DURATION"); do
    left=$((t0 + s * 1000000000 - $(now_ns)))
    [ "$left" -gt 0 ] && sleep "$(awk -v n="$left" 'BEGIN { printf "%.3f", n / 1e9 }')"
    sample "$s"
done
# The screen at the end of the minute, and how far behind the log it was.
screen_end=$(screen)
log_at_end=$(log_lines)
shown_at_end=$(printf '%s\n' "$screen_end" | { grep -o 'line [0-9]*:' || true; } | tr -dc '0-9\n' | sort -n | tail -n1)
shown_at_end=${shown_at_end:-0}

# The run ends a moment later; then give the screen up to CATCHUP seconds to show its last line.
say "waiting up to $CATCHUP s for the TUI to show line $TOTAL"
for _ in $(seq 100); do [ "$(wc -l < "$T/producer.times" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.1; done
t_end=$(now_ns)
caught_up=""
catch_rss_max=0
while :; do
    r=$(rss_kb "$TUI_PID"); [ "$r" -gt "$catch_rss_max" ] && catch_rss_max=$r
    last=$(shown_line); last=${last:-0}
    if [ "$last" -ge "$TOTAL" ]; then
        caught_up=$(awk -v a="$t_end" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
        break
    fi
    [ $(( ($(now_ns) - t_end) / 1000000000 )) -ge "$CATCHUP" ] && break
    sleep 0.5
done
rss_after=$(rss_kb "$TUI_PID")
last_shown=$(shown_line); last_shown=${last_shown:-0}

# Quit (leave the daemon running), timing how long the TUI takes to answer the key; then stop
# the daemon. A TUI that does not answer within CATCHUP seconds is left to the tmux server's end.
tq=$(now_ns)
tm send-keys -t tui q
# The quit dialog: "Quit the terminal UI?" here (the TUI did not start this daemon), "Quit the
# terminal UI. The daemon keeps running ..." when it did; Enter takes its first choice, which quits.
if appears "Quit the terminal UI" "$CATCHUP"; then
    quit_s=$(awk -v a="$tq" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    keys Enter
    for _ in $(seq 50); do
        [ "$(tm display-message -p -t tui '#{pane_dead}' 2>/dev/null || echo 1)" = 1 ] && break
        sleep 0.1
    done
    if [ "$(tm display-message -p -t tui '#{pane_dead}' 2>/dev/null || echo 1)" = 1 ]; then
        quit_text="q showed the quit dialog after $quit_s s and Enter quit"
    else
        quit_text="q showed the quit dialog after $quit_s s but Enter did NOT quit within 5 s"
    fi
else
    quit_text="q had NOT shown the quit dialog after $CATCHUP s"
fi
lines=$(log_lines)
kill -TERM "$DAEMON_PID"
for _ in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DAEMON_PID" 2>/dev/null && say "the daemon is still stopping"

# --- numbers -----------------------------------------------------------------------------------
p_start=$(sed -n 1p "$T/producer.times")
p_end=$(sed -n 2p "$T/producer.times")
p_secs=$(awk -v a="$p_start" -v b="$p_end" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
achieved=$(awk -v n="$lines" -v s="$p_secs" 'BEGIN { printf "%.0f", n / s }')
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# From the samples: RSS at the start / most / end / halfway, CPU% of each process over the minute
# and its busiest second, MiB/s written to the terminal.
read -r rss_start rss_max rss_end rss_half cpu_tui cpu_tui_max cpu_daemon cpu_tmux out_mib_s < <(
    awk -F'\t' -v clk="$CLK" -v half=$((DURATION / 2)) '
        NR == 1 { t0 = $1; r0 = $2; u0 = $3; d0 = $4; x0 = $5; w0 = $6 }
        { if ($2 > max) max = $2; if ($1 == half) rh = $2
          if (NR > 1) { c = ($3 - pu) / clk * 100; if (c > cmax) cmax = c }
          pu = $3; t = $1; r = $2; u = $3; d = $4; x = $5; w = $6 }
        END { s = t - t0
              printf "%d %d %d %d %.1f %.1f %.1f %.1f %.2f\n", r0, max, r, rh,
                  (u - u0) / clk / s * 100, cmax, (d - d0) / clk / s * 100,
                  (x - x0) / clk / s * 100, (w - w0) / s / 1048576 }' "$SAMPLES")
grow_kb=$((rss_end - rss_half))
bounded=$(awk -v g="$grow_kb" -v h="$rss_half" 'BEGIN {
    print (g <= 4096 || g <= h * 0.05) ? "yes" : "no" }')
grow_rate=$(awk -v g="$grow_kb" -v s=$((DURATION - DURATION / 2)) 'BEGIN { printf "%.2f", g / 1024 / s }')
lag=$((log_at_end - shown_at_end))
if [ -n "$caught_up" ]; then
    catch_text="the screen showed the last line $caught_up s after the producer ended"
else
    catch_text="the screen had still not shown the last line $CATCHUP s after the producer ended (it showed line $last_shown of $TOTAL)"
fi
series=$(awk -F'\t' -v clk="$CLK" -v step=$(( DURATION >= 20 ? 5 : 1 )) '
    NR > 1 { c = ($3 - pu) / clk * 100 }
    { pu = $3 }
    $1 % step == 0 { printf "%s%d s: %.1f MiB / %.0f%%", sep, $1, $2 / 1024, c; sep = " · " }' "$SAMPLES")

# --- report ------------------------------------------------------------------------------------
machine_facts "$T"

report=$(cat <<EOF

## tui.sh — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM; load average before the run $LOAD. runwisp
$commit, $(tmux -V).

**Frame time:** $frame_line.

**Tailing $RATE lines/s for $DURATION s** (\`runwisp tui\` in tmux at ${COLS}x${ROWS}, r + Enter on
a task printing ~57-byte lines, sampled every second): the producer wrote **$lines lines in
$p_secs s = $achieved lines/s** (counted in the run's log). TUI RSS **$(mib "$rss_start") MiB at the
start** ($(mib "$rss_idle") MiB idle before the run), **$(mib "$rss_max") MiB at most**, **$(mib "$rss_end") MiB
at the end** ($(mib "$rss_half") MiB halfway: $grow_rate MiB/s over the second half); bounded
(MAX_LOG_LINES = $MAX_LOG_LINES): **$bounded**. TUI CPU **$cpu_tui %** over the $DURATION s (busiest second
$cpu_tui_max %); it wrote $out_mib_s MiB/s to the terminal; meanwhile the daemon used $cpu_daemon % and the
tmux server $cpu_tmux %. At the end of the $DURATION s the log had $log_at_end lines and the screen
showed line $shown_at_end (**$lag lines behind**); $catch_text (RSS then
$(mib "$rss_after") MiB, at most $(mib "$catch_rss_max") MiB while catching up); $quit_text.

RSS / CPU of the TUI, second by second: $series.

Screen at the end of the $DURATION s:

\`\`\`text
$screen_end
\`\`\`
EOF
)
publish "$report"

# The table of latest figures.
if [ "$FRAME" != 0 ]; then
    latest tui_frame "figure=$frame_ms ms" "value=$frame_ms"
fi
if [ "$RATE/$DURATION" = 10000/60 ]; then
    bounded_text=bounded
    [ "$bounded" = yes ] || bounded_text="NOT bounded"
    latest tui_tail \
        "figure=RSS $(mib "$rss_start") → $(mib "$rss_max") MiB at most ($bounded_text), CPU $cpu_tui %, $lag lines behind" \
        "ok=$([ "$bounded" = yes ] && echo 1 || echo 0)"
else
    sizes_differ "a tail of $RATE lines/s for $DURATION s, not 10000 for 60"
fi
