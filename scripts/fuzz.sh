#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, docs/fuzzing.md) with clang-19 into their own build
# dir and replays each target's seed corpus plus BERTH_FUZZ_SECONDS (default 5) of new inputs as
# ctest tests labelled "fuzz". A crash, sanitizer report, time-out or OOM fails the run.
#   scripts/fuzz.sh                  every target
#   scripts/fuzz.sh -R route         ctest arguments pass through
# Long runs: bench/fuzz/run.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${BERTH_FUZZ_BUILD_DIR:-$here/build-fuzz}"
# clang-14 cannot compile gcc 12's <ranges>; clang-19 can (scripts/deps.sh installs it).
cc="${BERTH_FUZZ_CC:-clang-19}"
cxx="${BERTH_FUZZ_CXX:-clang++-19}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O0 halves the compile time of -O1 (measured: 8 s against 18 s of CPU for docker_api.cc), and
# a replay of a few seconds does not need speed; long runs (bench/fuzz/run.sh) use -O1.
opt="${BERTH_FUZZ_OPT:--O0 -gline-tables-only}"
cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$opt" \
  -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF -DBERTH_BENCH=OFF \
  -DBERTH_FUZZ_SECONDS="${BERTH_FUZZ_SECONDS:-5}" "${launcher[@]}" >/dev/null
# The targets only; `ninja -C build-fuzz berth` checks that the whole product compiles with clang.
nice -n "${BERTH_FUZZ_NICE:-0}" ninja -C "$dir" -j"${BERTH_FUZZ_JOBS:-$(nproc)}" fuzz
[[ "${BERTH_FUZZ_BUILD_ONLY:-0}" == 1 ]] && exit 0
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp"
ctest --test-dir "$dir" -L fuzz --output-on-failure -j"$(nproc)" "$@"
