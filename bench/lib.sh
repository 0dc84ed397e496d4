# Shared by the benchmark scripts: messages, tools, the runwisp binary, what machine and which
# runwisp a report describes, and where a report goes (the day's file in bench/history/ and the
# table of latest figures, see publish). They expect ROOT (the repository) to be set.

say() { printf '%s\n' "$*" >&2; }

# quick: whether QUICK is set (and not 0): small sizes, the report printed and never filed.
quick() { [ -n "${QUICK:-}" ] && [ "${QUICK:-}" != 0 ]; }

# need COMMAND DEBIAN-PACKAGE: installs the package with apt-get when COMMAND is missing.
need() {
    command -v "$1" >/dev/null && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "installing $2 (apt-get)"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || {
        $sudo apt-get update -qq >/dev/null &&
            $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    }
}

# target_dir: where cargo puts its builds, as an absolute path.
target_dir() {
    local target=${CARGO_TARGET_DIR:-$ROOT/target}
    case $target in /*) ;; *) target=$ROOT/$target ;; esac
    printf '%s\n' "$target"
}

# runwisp_bin: sets BIN to RUNWISP_BIN, or to a fresh `cargo build --release`.
runwisp_bin() {
    if [ -n "${RUNWISP_BIN:-}" ]; then
        BIN=$RUNWISP_BIN
    else
        say "building runwisp (cargo build --release)"
        (cd "$ROOT" && cargo build --release --quiet)
        BIN=$(target_dir)/release/runwisp
    fi
    [ -x "$BIN" ] || { say "no runwisp binary at $BIN"; exit 1; }
}

# val FILE KEY: the value of KEY in a key=value file (what bench_daemon prints).
val() { awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$1"; }

# fsync_ms DIR: the median time (ms) of appending 4 KiB to a file in DIR and fsyncing it, over
# 200 tries: what one durable commit costs on that disk, for the goals restated against a floor
# plus one fsync.
fsync_ms() {
    python3 - "$1" <<'PY'
import os, statistics, sys, tempfile, time
fd, path = tempfile.mkstemp(dir=sys.argv[1], prefix="fsync-probe.")
times = []
try:
    for _ in range(200):
        os.write(fd, b"x" * 4096)
        t = time.perf_counter()
        os.fsync(fd)
        times.append(time.perf_counter() - t)
finally:
    os.close(fd)
    os.unlink(path)
print(f"{statistics.median(times) * 1000:.3f}")
PY
}

# bench_daemon_bin sets BIN (runwisp) and EX (examples/bench_daemon): the binaries given in
# RUNWISP_BIN and BENCH_DAEMON_BIN, never rebuilt (bench_daemon is then looked for beside
# RUNWISP_BIN, in target/release/examples/, or in the cargo target directory), or both built.
bench_daemon_bin() {
    local target
    target=$(target_dir)
    if [ -n "${RUNWISP_BIN:-}" ]; then
        BIN=$RUNWISP_BIN
        EX=${BENCH_DAEMON_BIN:-}
        if [ -z "$EX" ]; then
            for candidate in "$(dirname "$RUNWISP_BIN")/examples/bench_daemon" \
                "$target/release/examples/bench_daemon"; do
                [ -x "$candidate" ] && { EX=$candidate; break; }
            done
        fi
        [ -n "$EX" ] || { say "RUNWISP_BIN is set but no bench_daemon was found: set BENCH_DAEMON_BIN"; exit 1; }
    else
        say "building runwisp and examples/bench_daemon (cargo build --release)"
        (cd "$ROOT" && cargo build --release --quiet --bins --examples)
        BIN=$target/release/runwisp
        EX=${BENCH_DAEMON_BIN:-$target/release/examples/bench_daemon}
    fi
    [ -x "$BIN" ] || { say "no runwisp binary at $BIN"; exit 1; }
    [ -x "$EX" ] || { say "no bench_daemon binary at $EX"; exit 1; }
}

# machine_facts DIR [PATH...] sets:
#   model  - the CPU model
#   mem    - total memory
#   fs     - the filesystem DIR is on (the benchmark's temp dir)
#   commit - the commit measured (+changes when PATHs, default src, have local edits), or
#            RUNWISP_LABEL, or the binary given in RUNWISP_BIN
machine_facts() {
    local dir=$1
    shift
    local paths=("${@:-src}")
    model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    fs=$(df -T "$dir" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }') || fs=unknown
    commit="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    [ -n "$(cd "$ROOT" && git status --porcelain -- "${paths[@]}" 2>/dev/null)" ] && commit="$commit+changes"
    # commit_short: the commit column of the table of latest figures.
    commit_short=$commit
    commit="$commit (\`cargo build --release\`)"
    if [ -n "${RUNWISP_LABEL:-}" ]; then
        commit=$RUNWISP_LABEL
        commit_short=${RUNWISP_LABEL%% *}
    elif [ -n "${RUNWISP_BIN:-}" ]; then
        # Not where the binary lies: reports are committed. The commit is the tree's, which the
        # binary may or may not have been built from; RUNWISP_LABEL says it better.
        commit="$commit_short (a binary given in RUNWISP_BIN)"
        commit_short="$commit_short (given binary)"
    fi
}

# publish REPORT: prints the report (a markdown section opening with "## TITLE — DATE UTC"), then
# files it:
#   QUICK=1        nowhere: printed only, whatever RESULTS says;
#   RESULTS unset  appended to the day's file in bench/history/ (created with its heading), and
#                  the rows of the table of latest figures may be updated (see latest);
#   RESULTS=-      nowhere: printed only;
#   RESULTS=FILE   appended to FILE; the table is left alone.
# Sets RECORD (non-empty when latest may update the table) and RUN_DATE (the section's date).
publish() {
    local report=$1 file
    printf '%s\n' "$report"
    RECORD=""
    RUN_DATE=$(printf '%s\n' "$report" | sed -n 's/^## .* — \([0-9-]* [0-9:]* UTC\)$/\1/p' | head -n1)
    [ -n "$RUN_DATE" ] || RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
    if quick; then
        say "QUICK: printed only (nothing filed)"
        return 0
    fi
    case ${RESULTS:-} in
    -) ;;
    "")
        file=$(python3 "$ROOT/bench/table.py" history-file "${RUN_DATE%% *}")
        printf '%s\n' "$report" >>"$file"
        RECORD=1
        say "appended to bench/history/$(basename "$file")"
        ;;
    *)
        printf '%s\n' "$report" >>"$RESULTS"
        say "appended to $RESULTS (the table of latest figures is left alone)"
        ;;
    esac
}

# latest KEY FIELD=VALUE ...: after publish, updates the measure KEY in bench/latest.json (with
# this run's commit and date) and re-renders the table at the top of bench/RESULTS.md; does
# nothing when the report was not filed in the history. See bench/table.py for the fields.
latest() {
    [ -n "${RECORD:-}" ] || return 0
    python3 "$ROOT/bench/table.py" set "$@" "commit=$commit_short" "date=$RUN_DATE"
    say "bench/latest.json: $1 updated"
}

# sizes_differ WHAT: says that the table keeps its figures because this run's sizes are not the
# table's (WHAT: which), so a run with other sizes is filed in the history only.
sizes_differ() {
    [ -n "${RECORD:-}" ] || return 0
    say "not the table's sizes ($1): filed in the history only, bench/latest.json left alone"
}
