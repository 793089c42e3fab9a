#!/usr/bin/env bash
# Fuzz smoke: installs a pinned cargo-fuzz (once), builds every target in fuzz/ with the nightly
# toolchain and runs each for a bounded time. Exits non-zero on any crash, leak or timeout.
#
#   tests/fuzz/run.sh                 # all targets, FUZZ_SECONDS (default 10) each
#   tests/fuzz/run.sh cost_filter     # some targets
#   FUZZ_SECONDS=300 tests/fuzz/run.sh refresh_token
#
# Crash inputs are written to fuzz/artifacts/<target>/; reproduce one with
#   PATH=tests/.work/cargo-fuzz/bin:$PATH cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file> Corpora grow in fuzz/corpus/ (git-ignored; seeds live in
# fuzz/seeds/, dictionaries in fuzz/dicts/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

CARGO_FUZZ_VERSION=0.13.2
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-10}"
INSTALL_ROOT="$ROOT/tests/.work/cargo-fuzz"
CARGO_FUZZ="$INSTALL_ROOT/bin/cargo-fuzz"
STAMP="$INSTALL_ROOT/.version"

if ! cargo "+$TOOLCHAIN" --version >/dev/null 2>&1; then
    echo "fuzz: the $TOOLCHAIN toolchain is missing (rustup toolchain install $TOOLCHAIN)" >&2
    exit 1
fi

if [[ ! -x "$CARGO_FUZZ" || "$(cat "$STAMP" 2>/dev/null)" != "$CARGO_FUZZ_VERSION" ]]; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into $INSTALL_ROOT"
    # The stable toolchain builds the tool itself; only the targets need nightly.
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$INSTALL_ROOT"
    echo "$CARGO_FUZZ_VERSION" >"$STAMP"
fi

# `cargo +nightly fuzz` finds the pinned binary on PATH; rustup picks the toolchain.
export PATH="$INSTALL_ROOT/bin:$PATH"
fuzz() { cargo "+$TOOLCHAIN" fuzz "$@"; }

mapfile -t ALL < <(fuzz list)
if (($# > 0)); then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

started=$(date +%s)
# Builds into fuzz/target (its own lock file and target dir; the workspace's target/ is not
# touched), with the versions in the committed fuzz/Cargo.lock.
if (($# > 0)); then
    for target in "${TARGETS[@]}"; do fuzz build "$target"; done
else
    fuzz build
fi
built=$(date +%s)
echo "fuzz: built ${#TARGETS[@]} targets in $((built - started)) s"

failed=()
for target in "${TARGETS[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    seeds=()
    [[ -d "fuzz/seeds/$target" ]] && seeds=("fuzz/seeds/$target")
    dict=()
    [[ -f "fuzz/dicts/$target.dict" ]] && dict=("-dict=fuzz/dicts/$target.dict")
    echo "fuzz: $target for ${SECONDS_PER_TARGET} s"
    if ! fuzz run "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=5 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 "${dict[@]}" >"fuzz/artifacts/$target/last-run.log" 2>&1; then
        echo "fuzz: $target FAILED; see fuzz/artifacts/$target/ (log: last-run.log)" >&2
        grep -E 'ERROR|panicked|SUMMARY|Test unit written' "fuzz/artifacts/$target/last-run.log" | head -n 20 >&2 || true
        failed+=("$target")
    else
        grep -E '^stat::number_of_executed_units' "fuzz/artifacts/$target/last-run.log" | sed "s/^/fuzz: $target /" || true
    fi
done
echo "fuzz: smoke took $(($(date +%s) - built)) s"

if ((${#failed[@]} > 0)); then
    echo "fuzz: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran clean"
