#!/usr/bin/env bash
# Runs one fuzz target (or all, one after the other) with libFuzzer through cargo-fuzz.
#
#   tests/fuzz/run.sh TARGET [SECONDS]     # one target, default 600 s
#   tests/fuzz/run.sh all [SECONDS]        # every target in turn
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). cargo-fuzz passes nightly-only `-Z`
# flags to rustc; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them. The working corpus grows
# in tests/fuzz/corpus/TARGET (not committed), seeded from tests/fuzz/seeds/TARGET and, for the
# container targets, the reference-written fixtures and the project's example files. A crash is
# written to tests/fuzz/artifacts/TARGET/; minimise it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin --fuzz-dir tests/fuzz -O TARGET tests/fuzz/artifacts/TARGET/crash-...
# and keep the result in tests/fuzz/regressions/TARGET/, which tests/fuzz_regressions.rs replays.
# Each run's last status line goes to tests/fuzz/corpus/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RUSTC_BOOTSTRAP=1

targets=(container_raiiaf container_gen5 manifest npy npz latent png_params params_text image_params)
target=${1:?usage: tests/fuzz/run.sh TARGET|all [SECONDS]}
seconds=${2:-600}

seed_dirs() {
    case "$1" in
        container_raiiaf) echo tests/fuzz/seeds/container_raiiaf tests/fixtures assets/examples tests/fuzz/regressions/container_raiiaf ;;
        container_gen5) echo tests/fixtures tests/fuzz/regressions/container_gen5 ;;
        *) echo "tests/fuzz/seeds/$1 tests/fuzz/regressions/$1" ;;
    esac
}

run_one() {
    local name=$1 corpus=tests/fuzz/corpus/$1 dirs=()
    mkdir -p "$corpus"
    for dir in $(seed_dirs "$name"); do
        [[ -d $dir ]] && dirs+=("$dir")
    done
    # Container inputs are kept to the size of the seed files; the example file (157 KB) only
    # contributes its first 32 KiB.
    local max_len=32768
    cargo fuzz run --fuzz-dir tests/fuzz -O "$name" "$corpus" "${dirs[@]}" -- \
        -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 2>&1 | tee "tests/fuzz/corpus/$name.log" | grep -E "^(#[0-9]+ +(INITED|DONE|pulse)|stat::|==[0-9]+==|SUMMARY|Done)" || true
    # libFuzzer's exit status is lost in the pipe; a crash leaves an artifact.
    if compgen -G "tests/fuzz/artifacts/$name/*" > /dev/null; then
        echo "$name: crash artifacts in tests/fuzz/artifacts/$name/" >&2
        return 1
    fi
}

if [[ $target == all ]]; then
    status=0
    for name in "${targets[@]}"; do
        run_one "$name" || status=1
    done
    exit $status
fi
run_one "$target"
