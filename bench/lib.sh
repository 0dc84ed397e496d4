# Shared by the benchmark scripts: what machine and which runwisp a report describes.
#
# machine_facts DIR [PATH...] sets:
#   model  - the CPU model
#   mem    - total memory
#   fs     - the filesystem DIR is on (the benchmark's temp dir)
#   commit - the commit measured (+changes when PATHs, default src, have local edits), or
#            RUNWISP_LABEL, or the binary given in RUNWISP_BIN
# It expects ROOT (the repository) to be set.
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
