#!/usr/bin/env bash
# Builds runwisp's Debian package with cargo-deb and prints the path of the .deb.
#
#   scripts/package-deb.sh                 build the release binary and the package
#   scripts/package-deb.sh --smoke         then install it into a scratch root and check it
#   scripts/package-deb.sh --profile dev   package the debug build instead (for CI, which has
#                                          built it for the tests already; not for release)
#
# The package holds the binary, a systemd unit, the manual page and the bash, zsh and fish
# completions. The last four are written by the binary just built (`runwisp service install
# --dry-run`, `runwisp man`, `runwisp completions SHELL`), so they match it, into
# TARGET/PROFILE/package/, where the assets of [package.metadata.deb] in Cargo.toml take them.
# CARGO_TARGET_DIR is respected.
#
# The smoke test never touches the host's system: it installs the package with
# `dpkg --root` into an empty root in a temporary directory (dpkg's database there too), checks
# every file, runs `runwisp --version`, `runwisp init` and `runwisp validate` from that root,
# loads the bash completion, verifies the unit with `systemd-analyze verify` when it is
# installed, and removes the package again.
set -euo pipefail

# The cargo-deb installed when there is none (`cargo install --locked`); the version checked.
CARGO_DEB_VERSION=3.8.0

# The unit the package ships runs this configuration and data directory.
CONFIG=/etc/runwisp/runwisp.toml
DATA=/var/lib/runwisp

fail() {
    echo "package-deb: $*" >&2
    exit 1
}
say() {
    echo "package-deb: $*" >&2
}

usage="usage: scripts/package-deb.sh [--smoke] [--profile release|dev]"
smoke=false
profile=release
while (($#)); do
    case "$1" in
        --smoke) smoke=true ;;
        --profile)
            (($# >= 2)) || fail "--profile needs a value ($usage)."
            profile=$2
            shift
            ;;
        -h | --help)
            sed -n '2,19s/^# \{0,1\}//p' "$0"
            exit 0
            ;;
        *) fail "unknown argument $1 ($usage)." ;;
    esac
    shift
done
# Cargo's folder for the profile; cargo-deb reads the assets' `target/release/` as that folder.
case "$profile" in
    release) profile_dir=release ;;
    dev | debug) profile=dev profile_dir=debug ;;
    *) fail "the profile must be release or dev, not $profile ($usage)." ;;
esac

# A relative CARGO_TARGET_DIR means the caller's working directory, not the repository's.
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    CARGO_TARGET_DIR=$(realpath -m -- "$CARGO_TARGET_DIR")
    export CARGO_TARGET_DIR
fi
cd "$(dirname "$0")/.."
# Nothing from the caller's runwisp settings may reach the binary run here.
while read -r var; do unset "$var"; done < <(compgen -v RUNWISP_ || true)

for tool in cargo dpkg-deb; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed, and building the package needs it."
done

metadata=$(cargo metadata --no-deps --format-version 1 --locked) ||
    fail "cargo metadata failed, so the target directory and version are unknown."
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$metadata" | head -n 1; }
target_dir=$(json_field target_directory)
version=$(sed -n 's/.*"name":"runwisp","version":"\([^"]*\)".*/\1/p' <<<"$metadata" | head -n 1)
[[ -n "$target_dir" && -n "$version" ]] ||
    fail "cannot read the target directory and runwisp's version from cargo metadata."

scratch=$(mktemp -d "${TMPDIR:-/tmp}/runwisp-deb.XXXXXX") || fail "cannot create a temporary directory."
scratch=$(cd "$scratch" && pwd -P)
trap 'rm -rf "$scratch"' EXIT

# --- the binary ---------------------------------------------------------------------------
say "building the binary (cargo build --profile $profile --locked)"
cargo build --profile "$profile" --locked || fail "the $profile build failed (cargo's errors are above)."
bin="$target_dir/$profile_dir/runwisp"
[[ -x "$bin" ]] || fail "the $profile build left no binary at $bin."

# --- what the binary writes: the unit, the manual page, the completions ---------------------
out="$target_dir/$profile_dir/package"
rm -rf "$out"
mkdir -p "$out"
# Compressed here, as Debian wants man pages: cargo-deb leaves files from the target folder as
# they are.
"$bin" man >"$out/runwisp.1" || fail "runwisp man failed."
gzip -9n "$out/runwisp.1" || fail "cannot compress the man page."
"$bin" completions bash >"$out/runwisp.bash" || fail "runwisp completions bash failed."
"$bin" completions zsh >"$out/_runwisp" || fail "runwisp completions zsh failed."
"$bin" completions fish >"$out/runwisp.fish" || fail "runwisp completions fish failed."

# `service install --dry-run` prints the unit for the binary that runs it and the paths it is
# given, as they are on this machine. So the binary runs from a stand-in root holding
# usr/bin/runwisp and an empty etc/runwisp/runwisp.toml (every setting at its default, so
# TimeoutStopSec is the default shutdown_timeout plus 5 s), and that root's prefix is then
# cut from the unit: what is left names /usr/bin/runwisp, $CONFIG and $DATA.
fake="$scratch/unit-root"
[[ "$fake" =~ ^[A-Za-z0-9/._-]+$ ]] ||
    fail "the temporary directory $fake has characters a unit would quote; set TMPDIR to a plain path."
mkdir -p "$fake/usr/bin" "$fake${CONFIG%/*}"
cp "$bin" "$fake/usr/bin/runwisp"
: >"$fake$CONFIG"
unit=$("$fake/usr/bin/runwisp" --config "$fake$CONFIG" --data "$fake$DATA" \
    service install --dry-run 2>"$scratch/dry-run.err") ||
    fail "runwisp service install --dry-run failed: $(head -n 1 "$scratch/dry-run.err")"
unit=${unit//"$fake"/}
exec_line="ExecStart=/usr/bin/runwisp --config $CONFIG --data $DATA --headless"
grep -qxF "$exec_line" <<<"$unit" ||
    fail "the unit runwisp printed has no line '$exec_line', so the package's unit cannot be made from it."
grep -qxF "WorkingDirectory=${CONFIG%/*}" <<<"$unit" ||
    fail "the unit runwisp printed has no line 'WorkingDirectory=${CONFIG%/*}'."
# Its first line says `runwisp service install` wrote it and `uninstall` removes it; this copy
# comes with the package instead.
[[ "${unit%%$'\n'*}" == "# Written by \`runwisp service install"* ]] ||
    fail "the unit's first line is no longer the 'Written by runwisp service install' comment this script replaces."
{
    echo "# Installed by the runwisp package and not enabled: write $CONFIG (\`runwisp init"
    echo "# --config $CONFIG\` writes a starter), then \`systemctl enable --now runwisp\`."
    echo "# Change it with \`systemctl edit runwisp\` (TimeoutStopSec is the default shutdown_timeout"
    echo "# plus 5s), or let \`runwisp service install\` write a unit in /etc/systemd/system instead."
    printf '%s\n' "${unit#*$'\n'}"
} >"$out/runwisp.service"

# --- cargo-deb ------------------------------------------------------------------------------
if ! cargo deb --version >/dev/null 2>&1; then
    say "installing cargo-deb $CARGO_DEB_VERSION (cargo install cargo-deb --locked)"
    cargo install cargo-deb --version "=$CARGO_DEB_VERSION" --locked ||
        fail "cargo install cargo-deb $CARGO_DEB_VERSION failed."
fi
have=$(cargo deb --version 2>/dev/null | head -n 1)
[[ "$have" == *" $CARGO_DEB_VERSION"* ]] ||
    say "note: using the installed $have; this script is checked with cargo-deb $CARGO_DEB_VERSION"

deb_args=(--no-build --locked --profile "$profile")
# A debug build's package only feeds the smoke test: the quick compression is enough.
[[ "$profile" == release ]] || deb_args+=(--fast)
say "packaging (cargo deb ${deb_args[*]})"
deb=$(cargo deb "${deb_args[@]}") || fail "cargo deb failed (its errors are above)."
deb=$(tail -n 1 <<<"$deb")
[[ -f "$deb" ]] || fail "cargo deb did not print the path of a .deb (it printed '$deb')."

# --- the smoke test -------------------------------------------------------------------------
expected=(
    usr/bin/runwisp
    usr/lib/systemd/system/runwisp.service
    usr/share/man/man1/runwisp.1.gz
    usr/share/bash-completion/completions/runwisp
    usr/share/zsh/vendor-completions/_runwisp
    usr/share/fish/vendor_completions.d/runwisp.fish
)

smoke_test() {
    command -v dpkg >/dev/null 2>&1 || fail "dpkg is not installed, and the smoke test installs the package with it."
    local info names root rw work analyze
    info=$(dpkg-deb --info "$deb") || fail "dpkg-deb --info cannot read $deb."
    grep -qx ' Package: runwisp' <<<"$info" || fail "the package's control file does not name the package runwisp."
    grep -q "^ Version: $version" <<<"$info" || fail "the package's version is not runwisp's $version."
    names=$(dpkg-deb --fsys-tarfile "$deb" | tar -t) || fail "dpkg-deb cannot list the files of $deb."
    for f in "${expected[@]}"; do
        grep -qxF "./$f" <<<"$names" || fail "the package has no /$f."
    done

    # An empty root with an empty dpkg database. The package has no maintainer scripts, so
    # nothing runs inside it; its dependencies (libc) are not in that root, hence
    # --force-depends.
    root="$scratch/root"
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
    : >"$root/var/lib/dpkg/status"
    : >"$root/var/lib/dpkg/available"
    dpkg --root="$root" --log=/dev/null --force-not-root --force-bad-path --force-depends \
        --install "$deb" >"$scratch/dpkg.out" 2>&1 ||
        fail "dpkg --root could not install the package into a clean root: $(tail -n 1 "$scratch/dpkg.out")"
    for f in "${expected[@]}"; do
        [[ -f "$root/$f" ]] || fail "installing the package put no file at /$f."
    done
    say "smoke: installed into a clean root: ${expected[*]/#//}"

    rw="$root/usr/bin/runwisp"
    [[ "$("$rw" --version)" == "runwisp $version" ]] ||
        fail "the installed runwisp --version does not say runwisp $version."
    say "smoke: $("$rw" --version)"
    work="$scratch/work"
    mkdir -p "$work"
    "$rw" --config "$work/runwisp.toml" init >/dev/null || fail "the installed runwisp init failed."
    "$rw" --config "$work/runwisp.toml" validate >"$scratch/validate.out" ||
        fail "the installed runwisp validate rejects the starter init wrote: $(head -n 1 "$scratch/validate.out")"
    say "smoke: $(cat "$scratch/validate.out")"

    # The generated files match what the installed binary writes.
    gzip -dc "$root/usr/share/man/man1/runwisp.1.gz" | cmp -s - <("$rw" man) ||
        fail "the packaged man page differs from what the installed runwisp man prints."
    cmp -s "$root/usr/share/bash-completion/completions/runwisp" <("$rw" completions bash) ||
        fail "the packaged bash completion differs from what runwisp completions bash prints."
    cmp -s "$root/usr/share/zsh/vendor-completions/_runwisp" <("$rw" completions zsh) ||
        fail "the packaged zsh completion differs from what runwisp completions zsh prints."
    cmp -s "$root/usr/share/fish/vendor_completions.d/runwisp.fish" <("$rw" completions fish) ||
        fail "the packaged fish completion differs from what runwisp completions fish prints."
    bash --norc --noprofile -c \
        'source "$1" && complete -p runwisp >/dev/null' _ "$root/usr/share/bash-completion/completions/runwisp" ||
        fail "bash cannot load the packaged completion."
    say "smoke: the man page and completions match the binary; bash loads its completion"

    # The unit names /usr/bin/runwisp, which is not on this host (and `systemd-analyze --root`
    # wants a whole system in the root): a copy names the binary installed in the scratch root.
    if analyze=$(command -v systemd-analyze); then
        mkdir -p "$scratch/verify"
        sed "s|^ExecStart=/usr/bin/runwisp |ExecStart=$root/usr/bin/runwisp |" \
            "$root/usr/lib/systemd/system/runwisp.service" >"$scratch/verify/runwisp.service"
        grep -q "^ExecStart=$root/usr/bin/runwisp " "$scratch/verify/runwisp.service" ||
            fail "the packaged unit has no ExecStart=/usr/bin/runwisp line."
        "$analyze" verify "$scratch/verify/runwisp.service" >"$scratch/verify.out" 2>&1 ||
            fail "systemd-analyze verify rejects the packaged unit: $(grep -m 1 . "$scratch/verify.out")"
        # It exits 0 on a setting it ignores, naming the file.
        ! grep -q 'runwisp.service' "$scratch/verify.out" ||
            fail "systemd-analyze verify warns about the packaged unit: $(grep -m 1 runwisp.service "$scratch/verify.out")"
        say "smoke: systemd-analyze verify accepts the packaged unit"
    else
        say "smoke: note: systemd-analyze is not installed; the unit was not verified"
    fi

    dpkg --root="$root" --log=/dev/null --force-not-root --force-bad-path --remove runwisp >"$scratch/dpkg.out" 2>&1 ||
        fail "dpkg --root could not remove the package again: $(tail -n 1 "$scratch/dpkg.out")"
    for f in "${expected[@]}"; do
        [[ ! -e "$root/$f" ]] || fail "removing the package left /$f behind."
    done
    say "smoke: passed (and the package removes cleanly)"
}

if $smoke; then
    smoke_test
fi
echo "$deb"
