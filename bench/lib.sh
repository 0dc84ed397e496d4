# Shared by the benchmark scripts: messages, tools, the runwisp binary, and what machine and
# which runwisp a report describes. They expect ROOT (the repository) to be set.

say() { printf '%s\n' "$*" >&2; }

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
    commit="$commit (\`cargo build --release\`)"
    if [ -n "${RUNWISP_LABEL:-}" ]; then
        commit=$RUNWISP_LABEL
    elif [ -n "${RUNWISP_BIN:-}" ]; then
        commit="binary $RUNWISP_BIN"
    fi
}
