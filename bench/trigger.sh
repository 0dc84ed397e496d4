#!/usr/bin/env bash
# Benchmarks trigger throughput over HTTP side by side: the runwisp daemon (`POST
# /api/tasks/hit/run` with a bearer token) vs adnanh's `webhook` (`POST /hooks/hit`), both
# running the same command, `echo "$RUNWISP_RUN_ID" >> executed.log`, and both driven by `wrk`
# with the same threads, connections and duration, in rounds of a few and of many connections.
#
# What counts is what EXECUTED, not what was acknowledged: after the load each server is given
# time to finish (runwisp: until every row in `runs` has ended; webhook: until no command of it
# is left and the file stopped growing), then the lines of executed.log are counted. For
# runwisp every line is a run id, so each acknowledged run (a 201 whose run object is not
# `queue_full`/`skipped`) is checked for a row, a `success` end and exactly one execution.
#
# In trigger mode the host's limit is measured too: `xargs -P 4` running the same command before
# the rounds and after them (runwisp is set against the mean), then the same 4 at a time with a
# durable record of each run (`bench_daemon recorder ahead`), and that record behind a bare HTTP
# server driven by the same wrk at 4 connections (`bench_daemon serve`).
#
# MODE=hooks measures signed webhook deliveries instead: runwisp's task gets a `[tasks.hit.webhook]`
# table (provider "generic") and wrk POSTs a fixed JSON body with its `X-Signature-256:
# sha256=HMAC` to `/hooks/hit` (no token; acknowledged = 202 with a `run_id`); webhook's hook
# gets a `payload-hmac-sha256` trigger rule on the same header and the same secret, and the same
# request. The first request to each server checks that a wrong signature starts nothing and
# that the signed one starts exactly one run.
#
# Prints a markdown section, appends it to the day's file in bench/history/ with the date and the
# machine, and updates the rows trigger_4 and trigger_64 (MODE=hooks: hooks_4 and hooks_64) of
# the table of latest figures (bench/latest.json, rendered at the top of bench/RESULTS.md) for
# the rounds of 4 and 64 connections of a 10 s run.
# Tools: wrk, webhook, sqlite3, curl, jq (installed with apt-get if missing), coreutils, and
# python3 (standard library, MODE=hooks: the signature).
#
# Knobs (environment): MODE (`trigger`, the default: `POST /api/tasks/hit/run` with a bearer
# token; `hooks`: signed `POST /hooks/hit`), QUICK=1 (DURATION=2, CONNECTIONS=4 unless given;
# printed only), DURATION (seconds of load a round, default 10), CONNECTIONS (the rounds'
# connection counts, default "4 64"), THREADS (wrk threads, default 2), MAX_CONCURRENT (runwisp
# task, default 4), QUEUE_MAX (default 10000), DRAIN_TIMEOUT (seconds to wait for the backlog
# after the load, default 300), STALL_TIMEOUT (seconds without progress after which a backlog
# counts as stuck, default 15), RW_PORT (default 19477), WH_PORT (default 19478), BENCH_TMP
# (parent of the temp directory, default $TMPDIR or /tmp), RUNWISP_BIN (skip the build and use
# this binary), RUNWISP_LABEL (what the report calls the binary), WEBHOOK_VERBOSE (set: run
# webhook with -verbose and report why its commands failed to start; it costs webhook some
# speed, so it is off by default), RESULTS (unset: the history and the table; "-": only print;
# a file: append there).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
MODE=${MODE:-trigger}
case $MODE in trigger | hooks) ;; *) say "MODE is trigger or hooks, not $MODE"; exit 1 ;; esac
if quick; then
    DURATION=${DURATION:-2}
    CONNECTIONS=${CONNECTIONS:-4}
fi
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-4 64}
THREADS=${THREADS:-2}
MAX_CONCURRENT=${MAX_CONCURRENT:-4}
QUEUE_MAX=${QUEUE_MAX:-10000}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
STALL_TIMEOUT=${STALL_TIMEOUT:-15}
RW_PORT=${RW_PORT:-19477}
WH_PORT=${WH_PORT:-19478}
# QUALITY.md §3: executed/s at least 1.5x webhook's for triggers, 1.0x for signed webhooks.
GOAL=1.5
[ "$MODE" = hooks ] && GOAL=1.0
LUA=$ROOT/bench/trigger.lua
PASSWORD=bench-$$-$RANDOM$RANDOM
# Literally the same command for both; webhook has no RUNWISP_RUN_ID, so its lines are empty.
CMD='echo "$RUNWISP_RUN_ID" >> executed.log'
# MODE=hooks: one secret for both servers, and one body (a push-like JSON payload) with its
# signature, precomputed, sent with every request.
HOOK_SECRET=bench-hook-secret-$$-$RANDOM$RANDOM
HOOK_BODY='{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"full_name":"acme/app"},"pusher":{"name":"bench"}}'
HOOK_SIGNATURE=""

# --- tools -------------------------------------------------------------------------------------
for tool in wrk webhook sqlite3 curl jq; do
    need "$tool" "$tool"
done

[ "$MODE" = hooks ] && need python3 python3
# sign BODY: X-Signature-256's value for BODY under HOOK_SECRET.
sign() {
    python3 -c 'import hashlib, hmac, sys
print("sha256=" + hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' \
        "$HOOK_SECRET" "$1"
}
[ "$MODE" = hooks ] && HOOK_SIGNATURE=$(sign "$HOOK_BODY")

# bench_daemon too: the durable recorder beside xargs, and the same record behind HTTP (trigger mode).
bench_daemon_bin

for port in "$RW_PORT" "$WH_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        say "port $port is in use; choose another with RW_PORT / WH_PORT"
        exit 1
    fi
done

# --- temp directory and the servers we start ---------------------------------------------------
T=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/runwisp-trigger.XXXXXX")
SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$T"; }
trap cleanup EXIT

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
mtime() { stat -c %.9Y "$1" 2>/dev/null || echo 0; }
wrk_field() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }
# 2xx count, and the non-2xx statuses as "503: 12, 429: 3" (or "none").
ok_count() { awk '$1 == "STATUS" && $2 >= 200 && $2 < 300 { n += $3 } END { print n + 0 }' "$1"; }
non_2xx() {
    awk '$1 == "STATUS" && ($2 < 200 || $2 >= 300) { printf "%s%s: %s", sep, $2, $3; sep = ", " }
         END { if (sep == "") printf "none" }' "$1"
}
sock_errors() {
    awk '$1 == "ERRORS" { s = $2 + $3 + $4 + $5; if (s == 0) print "none";
         else printf "connect %s, read %s, write %s, timeout %s", $2, $3, $4, $5 }' "$1"
}
latency() { awk '$1 == "LATENCY_US" { printf "%.1f / %.1f", $2 / 1000, $3 / 1000 }' "$1"; }

# CPU ticks of the server we started: its own, and its reaped children's (the commands).
TICK=$(getconf CLK_TCK)
cpu_own() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
cpu_children() { awk '{ print $16 + $17 }' "/proc/$SERVER_PID/stat"; }
per_run_ms() { awk -v t="$1" -v n="$2" -v hz="$TICK" 'BEGIN { if (n > 0) printf "%.2f", t * 1000 / hz / n; else print "n/a" }'; }

run_wrk() { # dir conns url [token]
    BENCH_TOKEN=${4:-} BENCH_IDS="$1/acked.ids" BENCH_BODY=${HOOK_SIGNATURE:+$HOOK_BODY} BENCH_SIGNATURE=$HOOK_SIGNATURE \
        wrk -t "$THREADS" -c "$2" -d "${DURATION}s" --timeout 10s -s "$LUA" "$3" > "$1/wrk.out"
}

# --- runwisp -----------------------------------------------------------------------------------
sql() { sqlite3 -cmd '.timeout 5000' "$1/data/runwisp.db" "$2"; }

round_runwisp() { # conns
    local c=$1 dir=$T/runwisp-c$1
    mkdir -p "$dir"
    cat > "$dir/runwisp.toml" <<EOF
[tasks.hit]
run = '$CMD'
max_concurrent = $MAX_CONCURRENT
on_overlap = "queue"
queue_max = $QUEUE_MAX
EOF
    if [ "$MODE" = hooks ]; then
        cat >> "$dir/runwisp.toml" <<EOF

[tasks.hit.webhook]
provider = "generic"
secret = "$HOOK_SECRET"
EOF
    fi
    RUNWISP_PASSWORD=$PASSWORD "$BIN" --config "$dir/runwisp.toml" --data "$dir/data" \
        --headless --port "$RW_PORT" > "$dir/daemon.out" 2>&1 &
    SERVER_PID=$!
    local base=http://127.0.0.1:$RW_PORT i
    for i in $(seq 100); do
        [ -s "$dir/data/daemon.pid" ] && curl -sf "$base/health" >/dev/null && break
        sleep 0.1
    done
    curl -sf "$base/health" >/dev/null || { cat "$dir/daemon.out" >&2; say "runwisp did not start"; exit 1; }
    local token="" url=$base/api/tasks/hit/run code first=""
    if [ "$MODE" = hooks ]; then
        url=$base/hooks/hit
        # A wrong signature starts nothing; the signed delivery starts one run.
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            -H "X-Signature-256: $(sign "$HOOK_BODY x")" --data-binary "$HOOK_BODY" "$url")
        [ "$code" = 401 ] || { say "runwisp answered $code to a wrong signature, not 401"; exit 1; }
        code=$(curl -s -o "$dir/first.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            -H "X-Signature-256: $HOOK_SIGNATURE" --data-binary "$HOOK_BODY" "$url")
        [ "$code" = 202 ] || { cat "$dir/first.json" >&2; say "runwisp answered $code to the signed delivery, not 202"; exit 1; }
        first=$(jq -r .run_id "$dir/first.json")
    else
        local nonce response
        nonce=$(curl -sf "$base/api/auth/challenge" | jq -r .nonce)
        response=$(printf '%s' "$PASSWORD:$nonce" | sha256sum | cut -d' ' -f1)
        token=$(curl -sf -H 'Content-Type: application/json' \
            -d "{\"nonce\":\"$nonce\",\"response\":\"$response\"}" "$base/api/auth" | jq -r .token)
        [ -n "$token" ] && [ "$token" != null ] || { say "runwisp login failed"; exit 1; }
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" "$url")
        [ "$code" = 201 ] || { say "runwisp trigger answered $code, not 201"; exit 1; }
    fi
    for i in $(seq 100); do
        [ "$(sql "$dir" "SELECT COUNT(*) FROM runs WHERE status <> 'ended'")" = 0 ] && break
        sleep 0.1
    done
    if [ "$MODE" = hooks ]; then
        [ "$(sql "$dir" "SELECT COUNT(*) FROM runs")" = 1 ] \
            && [ "$(grep -cx "$first" "$dir/executed.log" 2>/dev/null)" = 1 ] \
            && [ "$(lines "$dir/executed.log")" = 1 ] \
            || { say "runwisp: the signed delivery did not start exactly one run ($first)"; exit 1; }
    fi
    local base_lines base_rows
    base_lines=$(lines "$dir/executed.log")
    base_rows=$(sql "$dir" "SELECT COUNT(*) FROM runs")

    say "runwisp, $c connections, ${DURATION}s"
    local t0 t1 t2 pending=0 drained=yes own0 kids0
    own0=$(cpu_own) kids0=$(cpu_children)
    t0=$(now)
    run_wrk "$dir" "$c" "$url" "$token"
    t1=$(now)
    # Until every row has ended; a backlog that stops shrinking for STALL_TIMEOUT is stuck.
    local seen=-1 moved=$t1
    while :; do
        pending=$(sql "$dir" "SELECT COUNT(*) FROM runs WHERE status <> 'ended'")
        [ "$pending" = 0 ] && break
        [ "$pending" != "$seen" ] && { seen=$pending; moved=$(now); }
        if [ "$(sub "$(now)" "$t1" | cut -d. -f1)" -ge "$DRAIN_TIMEOUT" ] \
            || [ "$(sub "$(now)" "$moved" | cut -d. -f1)" -ge "$STALL_TIMEOUT" ]; then
            drained="NO: $pending runs had not ended $(sub "$(now)" "$t1" | cut -d. -f1) s after the load"
            drained+=" ($(sql "$dir" "SELECT status || ' ' || COUNT(*) FROM runs WHERE status <> 'ended' GROUP BY status" | paste -sd, -))"
            break
        fi
        sleep 0.2
    done
    t2=$(now)
    local last executed rows acked refused reasons
    last=$(mtime "$dir/executed.log")
    executed=$(( $(lines "$dir/executed.log") - base_lines ))
    rows=$(( $(sql "$dir" "SELECT COUNT(*) FROM runs") - base_rows ))
    reasons=$(sql "$dir" "SELECT r || ': ' || n FROM (SELECT COALESCE(end_reason, status) AS r, \
        COUNT(*) AS n FROM runs GROUP BY r) ORDER BY n DESC" | paste -sd, - | sed 's/,/, /g')
    acked=$(ok_count "$dir/wrk.out")
    refused=$(wrk_field "$dir/wrk.out" REFUSED)
    # Each acknowledged (not refused) run id: a row, a success end, exactly one execution.
    sort "$dir/acked.ids" > "$dir/acked.sorted"
    if [ "$MODE" = hooks ]; then
        # A 202 carries only the run id: the refused ones are found by their rows.
        sql "$dir" "SELECT id FROM runs WHERE end_reason IN ('queue_full', 'skipped')" | sort > "$dir/refused.sorted"
        refused=$(comm -12 "$dir/acked.sorted" "$dir/refused.sorted" | wc -l)
        comm -23 "$dir/acked.sorted" "$dir/refused.sorted" > "$dir/kept.sorted"
        mv "$dir/kept.sorted" "$dir/acked.sorted"
    fi
    sql "$dir" "SELECT id FROM runs" | sort > "$dir/rows.sorted"
    sql "$dir" "SELECT id FROM runs WHERE end_reason = 'success'" | sort > "$dir/success.sorted"
    sort "$dir/executed.log" > "$dir/executed.sorted"
    local no_row no_success no_exec twice
    no_row=$(comm -23 "$dir/acked.sorted" "$dir/rows.sorted" | wc -l)
    no_success=$(comm -23 "$dir/acked.sorted" "$dir/success.sorted" | wc -l)
    no_exec=$(comm -23 "$dir/acked.sorted" <(uniq "$dir/executed.sorted") | wc -l)
    twice=$(uniq -d "$dir/executed.sorted" | wc -l)
    local own kids
    own=$(( $(cpu_own) - own0 )) kids=$(( $(cpu_children) - kids0 ))
    stop_server

    local load_s total_s
    load_s=$(awk -v us="$(wrk_field "$dir/wrk.out" DURATION_US)" 'BEGIN { printf "%.2f", us / 1e6 }')
    total_s=$(sub "$last" "$t0")
    ROW_RUNWISP="| $c | runwisp | $acked | $(rate "$acked" "$load_s") | $executed | $(rate "$executed" "$total_s") | $(sub "$last" "$t1") | $no_exec | $(non_2xx "$dir/wrk.out") | $(sock_errors "$dir/wrk.out") | $(latency "$dir/wrk.out") | $(per_run_ms "$own" "$executed") + $(per_run_ms "$kids" "$executed") |"
    EXEC_RW=$(rate "$executed" "$total_s")
    LOST_RW=$no_exec
    STUCK_RW=$pending
    DETAIL_RW="- $c connections: $(wrk_field "$dir/wrk.out" REQUESTS) requests; $acked answered $([ "$MODE" = hooks ] && echo 202 || echo 201), of which $refused carried a refused run (\`queue_full\`/\`skipped\`); $rows new rows in \`runs\` (by end reason, with the sanity trigger: $reasons); queue drained: $drained; waited $(sub "$t2" "$t1") s after the load. Acknowledged runs without a row: **$no_row**, without a \`success\` end: **$no_success**, never executed: **$no_exec**; executed twice: $twice."
}

# --- webhook -----------------------------------------------------------------------------------
round_webhook() { # conns
    local c=$1 dir=$T/webhook-c$1
    mkdir -p "$dir"
    jq -n --arg cmd "$CMD" --arg dir "$dir" '[{
        "id": "hit", "execute-command": "/bin/sh", "command-working-directory": $dir,
        "pass-arguments-to-command": [{"source": "string", "name": "-c"}, {"source": "string", "name": $cmd}]
    }]' > "$dir/hooks.json"
    if [ "$MODE" = hooks ]; then
        # The signature checked over the raw body; a mismatch answers 401 instead of webhook's
        # default 200, so it cannot pass for an acknowledgement.
        jq --arg secret "$HOOK_SECRET" '.[0] += {
            "trigger-rule": {"match": {"type": "payload-hmac-sha256", "secret": $secret,
                "parameter": {"source": "header", "name": "X-Signature-256"}}},
            "trigger-rule-mismatch-http-response-code": 401
        }' "$dir/hooks.json" > "$dir/hooks.signed.json"
        mv "$dir/hooks.signed.json" "$dir/hooks.json"
    fi
    webhook -hooks "$dir/hooks.json" -ip 127.0.0.1 -port "$WH_PORT" ${WEBHOOK_VERBOSE:+-verbose} > "$dir/webhook.out" 2>&1 &
    SERVER_PID=$!
    local url=http://127.0.0.1:$WH_PORT/hooks/hit i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$WH_PORT") 2>/dev/null && break
        sleep 0.1
    done
    local code
    if [ "$MODE" = hooks ]; then
        # A wrong signature starts nothing (webhook answers 500 "Error occurred while
        # evaluating hook rules"); the signed delivery starts one run.
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            -H "X-Signature-256: $(sign "$HOOK_BODY x")" --data-binary "$HOOK_BODY" "$url")
        case $code in 2*) cat "$dir/webhook.out" >&2; say "webhook answered $code to a wrong signature"; exit 1 ;; esac
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            -H "X-Signature-256: $HOOK_SIGNATURE" --data-binary "$HOOK_BODY" "$url")
    else
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")
    fi
    [ "$code" = 200 ] || { cat "$dir/webhook.out" >&2; say "webhook answered $code, not 200"; exit 1; }
    for i in $(seq 100); do
        [ "$(lines "$dir/executed.log")" -ge 1 ] && break
        sleep 0.1
    done
    if [ "$MODE" = hooks ]; then
        [ "$(lines "$dir/executed.log")" = 1 ] \
            || { say "webhook: the signed delivery did not start exactly one run"; exit 1; }
    fi
    local base_lines
    base_lines=$(lines "$dir/executed.log")

    say "webhook, $c connections, ${DURATION}s"
    local t0 t1 t2 n prev=-1 stable=0 drained=yes own0 kids0
    own0=$(cpu_own) kids0=$(cpu_children)
    t0=$(now)
    run_wrk "$dir" "$c" "$url"
    t1=$(now)
    # Done when no command of webhook's is left and the file has not grown for a second.
    while :; do
        n=$(lines "$dir/executed.log")
        if [ "$n" = "$prev" ] && [ -z "$(pgrep -P "$SERVER_PID" || true)" ]; then
            stable=$((stable + 1))
            [ "$stable" -ge 5 ] && break
        else
            stable=0
        fi
        prev=$n
        if [ "$(sub "$(now)" "$t1" | cut -d. -f1)" -ge "$DRAIN_TIMEOUT" ]; then
            drained="NO (still running after ${DRAIN_TIMEOUT}s)"
            break
        fi
        sleep 0.2
    done
    t2=$(now)
    local last executed acked lost failed
    last=$(mtime "$dir/executed.log")
    executed=$(( $(lines "$dir/executed.log") - base_lines ))
    acked=$(ok_count "$dir/wrk.out")
    lost=$(( acked > executed ? acked - executed : 0 ))
    failed="not logged (WEBHOOK_VERBOSE unset)"
    if [ -n "${WEBHOOK_VERBOSE:-}" ]; then
        failed=$(grep -o 'error occurred: .*' "$dir/webhook.out" | sed 's/^error occurred: //' \
            | sort | uniq -c | sort -rn | awk '{ n = $1; $1 = ""; printf "%s%s ×%s", sep, $0, n; sep = ";" }')
        [ -n "$failed" ] || failed="none"
    fi
    local own kids
    own=$(( $(cpu_own) - own0 )) kids=$(( $(cpu_children) - kids0 ))
    stop_server

    local load_s total_s
    load_s=$(awk -v us="$(wrk_field "$dir/wrk.out" DURATION_US)" 'BEGIN { printf "%.2f", us / 1e6 }')
    total_s=$(sub "$last" "$t0")
    ROW_WEBHOOK="| $c | webhook | $acked | $(rate "$acked" "$load_s") | $executed | $(rate "$executed" "$total_s") | $(sub "$last" "$t1") | $lost | $(non_2xx "$dir/wrk.out") | $(sock_errors "$dir/wrk.out") | $(latency "$dir/wrk.out") | $(per_run_ms "$own" "$executed") + $(per_run_ms "$kids" "$executed") |"
    EXEC_WH=$(rate "$executed" "$total_s")
    DETAIL_WH="- $c connections: $(wrk_field "$dir/wrk.out" REQUESTS) requests; $acked answered 2xx; $executed executions; done $(sub "$t2" "$t1") s after the load ($drained); commands webhook failed to start (its \`-verbose\` log): $failed."
}

# --- rounds ------------------------------------------------------------------------------------
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
rows="" details_rw="" details_wh="" verdicts="" all_met=yes
# What this machine can execute at all with 4 at a time: `xargs -P 4` starting the same command,
# fed as fast as it takes them (QUALITY.md: runwisp at 4 connections, max_concurrent = 4, should
# reach 0.8x of it). Trigger mode only: the signed webhooks are compared with webhook alone. Run
# before the rounds and after them (the machine's pace moves by a tenth within minutes), and
# runwisp is set against the mean of the two.
xargs_n=5000
quick && xargs_n=500
xargs_rate() { # dir: executes the command xargs_n times there; prints executed/s
    local x0 x1 n
    rm -f "$1/executed.log"
    x0=$(date +%s.%N)
    seq 1 "$xargs_n" | (cd "$1" && xargs -P 4 -I{} /bin/sh -c "RUNWISP_RUN_ID={}; $CMD")
    x1=$(date +%s.%N)
    n=$(lines "$1/executed.log")
    [ "$n" = "$xargs_n" ] || { say "xargs executed $n of $xargs_n commands"; exit 1; }
    awk -v n="$n" -v a="$x0" -v b="$x1" 'BEGIN { printf "%.0f", n / (b - a) }'
}
if [ "$MODE" = trigger ]; then
    xdir=$(mktemp -d -p "$T")
    say "xargs -P 4, $xargs_n commands, before the rounds"
    XARGS_BEFORE=$(xargs_rate "$xdir")
fi

table_rows=() # per round: connections, runwisp's and webhook's executed/s, ratio, lost
for c in $CONNECTIONS; do
    round_runwisp "$c"
    round_webhook "$c"
    rows+="$ROW_RUNWISP"$'\n'"$ROW_WEBHOOK"$'\n'
    details_rw+="$DETAIL_RW"$'\n'
    details_wh+="$DETAIL_WH"$'\n'
    r=$(ratio "$EXEC_RW" "$EXEC_WH")
    met=$(awk -v r="$r" -v l="$LOST_RW" -v g="$GOAL" 'BEGIN { print (r + 0 >= g && l == 0 ? "met" : "missed") }')
    table_rows+=("$c $EXEC_RW $EXEC_WH $r $LOST_RW")
    [ "$met" = met ] || all_met=no
    verdicts+="- $c connections: runwisp executed **$EXEC_RW/s** vs webhook **$EXEC_WH/s** (**${r}×**), $LOST_RW acknowledged runs lost, $STUCK_RW rows never ended: **$met**"$'\n'
done

# --- the host's limit --------------------------------------------------------------------------
XARGS_LINE=""
if [ "$MODE" = trigger ]; then
    say "xargs -P 4, $xargs_n commands, after the rounds"
    XARGS_AFTER=$(xargs_rate "$xdir")
    XARGS_RATE=$(awk -v a="$XARGS_BEFORE" -v b="$XARGS_AFTER" 'BEGIN { printf "%.0f", (a + b) / 2 }')
    # The same 4 at a time with a durable record of each run, made before its process starts as
    # a trigger's is (bench_daemon recorder ahead): what a durable record costs the host.
    rm -f "$xdir/executed.log"
    "$EX" recorder "$xargs_n" "$xdir" ahead 4 "$CMD" >"$T/recorder.txt"
    rdone=$(wc -l <"$xdir/executed.log")
    [ "$rdone" = "$xargs_n" ] && [ "$(val "$T/recorder.txt" runs)" = "$xargs_n" ] || {
        say "the recorder did not run and record every command:"; cat "$T/recorder.txt" >&2; exit 1; }
    RECORDER_RATE=$(val "$T/recorder.txt" runs_per_s)
    # The same record behind HTTP, driven by the same wrk as runwisp at 4 connections
    # (bench_daemon serve): what a durable HTTP trigger server costs the host, client included.
    rm -f "$xdir/executed.log"
    sdir=$T/serve-c4
    mkdir -p "$sdir"
    "$EX" serve "$RW_PORT" "$xdir" 4 "$CMD" >"$sdir/serve.out" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q '^listening=' "$sdir/serve.out" 2>/dev/null && break
        sleep 0.05
    done
    grep -q '^listening=' "$sdir/serve.out" || { say "bench_daemon serve did not start"; exit 1; }
    say "bench_daemon serve, 4 connections, ${DURATION}s"
    s0=$(now)
    run_wrk "$sdir" 4 "http://127.0.0.1:$RW_PORT/hit"
    sacked=$(ok_count "$sdir/wrk.out")
    # Until every acknowledged run has executed, or nothing moved for STALL_TIMEOUT.
    sseen=-1 smoved=$(now)
    while [ "$(lines "$xdir/executed.log")" -lt "$sacked" ]; do
        sn=$(lines "$xdir/executed.log")
        [ "$sn" != "$sseen" ] && { sseen=$sn; smoved=$(now); }
        [ "$(sub "$(now)" "$smoved" | cut -d. -f1)" -ge "$STALL_TIMEOUT" ] && break
        sleep 0.1
    done
    stop_server
    sdone=$(lines "$xdir/executed.log")
    [ "$sdone" -ge "$sacked" ] || { say "bench_daemon serve executed $sdone of $sacked acknowledged runs"; exit 1; }
    SERVE_RATE=$(rate "$sdone" "$(sub "$(mtime "$xdir/executed.log")" "$s0")")
    rw4=""
    for round in "${table_rows[@]}"; do
        read -r c rw _ <<<"$round"
        [ "$c" = 4 ] && rw4=$rw
    done
    if [ -n "$rw4" ]; then
        XARGS_RATIO=$(ratio "$rw4" "$XARGS_RATE")
        XARGS_MET=$(awk -v r="$XARGS_RATIO" 'BEGIN { print (r + 0 >= 0.8 ? "met" : "missed") }')
        XARGS_LINE="- the host's limit: \`seq $xargs_n | xargs -P 4 -I{} /bin/sh -c 'RUNWISP_RUN_ID={}; $CMD'\` executed **$XARGS_RATE/s** (the mean of $XARGS_BEFORE/s before the rounds and $XARGS_AFTER/s after them, $xargs_n lines each); runwisp at 4 connections **$rw4/s**, **${XARGS_RATIO}×** of it (goal ≥ 0.8×): **$XARGS_MET**. The same 4 at a time, each run's row durable before its process starts and its end committed while the next runs (\`bench_daemon recorder $xargs_n DIR ahead 4 CMD\`): **$RECORDER_RATE/s**, runwisp **$(ratio "$rw4" "$RECORDER_RATE")×** of it. The same record behind a bare HTTP server (a thread per connection, the row durable before the answer, the run queued to 4 threads) driven by the same \`wrk\` at 4 connections (\`bench_daemon serve\`): **$SERVE_RATE/s** ($sacked acknowledged, $sdone executed), runwisp **$(ratio "$rw4" "$SERVE_RATE")×** of it"
    fi
    rm -rf "$xdir"
fi

# --- report ------------------------------------------------------------------------------------
machine_facts "$T"

# What a round sent, and what the goal counts, by mode.
if [ "$MODE" = hooks ]; then
    title="trigger.sh (signed webhooks)"
    sent="\`wrk -t $THREADS -c N -d ${DURATION}s\` POSTing the same ${#HOOK_BODY}-byte JSON body
with its \`X-Signature-256: sha256=HMAC-SHA256\` (precomputed) to runwisp's \`/hooks/hit\` (no
token; task \`[tasks.hit.webhook] provider = \"generic\"\`, no \`X-Request-Id\` so no replay check
and every delivery starts a run, acknowledged = 202 with its \`run_id\` once the row is durable;
\`max_concurrent = $MAX_CONCURRENT\`, \`on_overlap = \"queue\"\`, \`queue_max = $QUEUE_MAX\`, SQLite
\`synchronous=FULL\`), then the same request to webhook's \`/hooks/hit\` (a \`trigger-rule\` of type
\`payload-hmac-sha256\` on that header with the same secret, mismatches answering 401); each
server's first request, with a wrong signature, started nothing, its second, signed, exactly
one run"
    goal="Goal (QUALITY.md §3, webhooks): executed/s ≥ ${GOAL}× webhook's, 0 acknowledged
deliveries lost"
else
    title="trigger.sh"
    sent="\`wrk -t $THREADS -c N -d ${DURATION}s\` POSTing to runwisp's
\`/api/tasks/hit/run\` (bearer token; task \`max_concurrent = $MAX_CONCURRENT\`, \`on_overlap =
\"queue\"\`, \`queue_max = $QUEUE_MAX\`, SQLite \`synchronous=FULL\`), then the same to webhook's
\`/hooks/hit\`"
    goal="Goal (QUALITY.md §3): executed/s ≥ ${GOAL}× webhook's, 0 acknowledged
triggers lost"
fi

report=$(cat <<EOF

## $title — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) CPUs ($model), $mem RAM, temp dir on $fs; load average before the run
$LOAD. runwisp $commit, $(webhook -version 2>&1 | head -1), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2).

Each round: $sent; both run \`/bin/sh -c '$CMD'\`. Executed/s counts the lines appended, from the
start of the load to the last line (so a backlog drained after the load counts against it);
"acked, never run" is, for runwisp, acknowledged run ids missing from the file, for webhook
2xx answers minus lines. CPU per executed run is the server's own CPU time over the round
(requests, recording, spawning; webhook's includes the triggers it acknowledged and never ran)
and its reaped commands', divided by the executions: on a shared machine it moves less than
the rates do. $goal — **$( [ "$all_met" = yes ] && echo met || echo missed )**:

$verdicts$XARGS_LINE

| conns | server | acked (2xx) | acked/s | executed | executed/s | last run after load (s) | acked, never run | non-2xx by status | socket errors | latency p50 / p99 (ms) | CPU ms per executed run: server + commands |
|---|---|---|---|---|---|---|---|---|---|---|---|
$rows
runwisp:
$details_rw
webhook:
$details_wh
EOF
)
publish "$report"

# The table of latest figures: the rounds of 4 and 64 connections of a 10 s run.
key=trigger peer="adnanh's webhook"
[ "$MODE" = hooks ] && key=hooks peer="adnanh's webhook (\`payload-hmac-sha256\`)"
for round in "${table_rows[@]}"; do
    read -r c rw wh r lost <<<"$round"
    if [ "$DURATION" = 10 ] && { [ "$c" = 4 ] || [ "$c" = 64 ]; }; then
        latest "${key}_$c" "figure=$rw/s, $lost lost" "peer=$wh/s: $peer" "ratio=${r}×" \
            "value=$r" "ok=$([ "$lost" = 0 ] && echo 1 || echo 0)"
    else
        sizes_differ "$c connections for $DURATION s, not 4 or 64 for 10 s"
    fi
done
if [ -n "${XARGS_RATIO:-}" ] && [ "$DURATION" = 10 ]; then
    latest trigger_xargs "figure=$rw4/s at 4 connections" \
        "peer=$XARGS_RATE/s: \`xargs -P 4\` running the same command (mean of before and after the rounds)" "ratio=${XARGS_RATIO}×" \
        "value=$XARGS_RATIO" "script=bench/trigger.sh"
fi
