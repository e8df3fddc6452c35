#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, docs/fuzzing.md) with clang-19 into their own build
# dir and replays each target's seed corpus plus BERTH_FUZZ_SECONDS (default 5) of new inputs as
# ctest tests labelled "fuzz". A crash, sanitizer report, time-out or OOM fails the run. The
# product (`berth`) is built there too: it must compile under clang with -Werror.
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
# -O1 and line tables only: what libFuzzer's docs recommend, and quicker to build.
cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
  -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF -DBERTH_BENCH=OFF \
  -DBERTH_FUZZ_SECONDS="${BERTH_FUZZ_SECONDS:-5}" "${launcher[@]}" >/dev/null
nice -n "${BERTH_FUZZ_NICE:-0}" ninja -C "$dir" -j"${BERTH_FUZZ_JOBS:-$(nproc)}"
[[ "${BERTH_FUZZ_BUILD_ONLY:-0}" == 1 ]] && exit 0
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp"
ctest --test-dir "$dir" -L fuzz --output-on-failure -j"$(nproc)" "$@"
