#!/usr/bin/env bash
# Long libFuzzer runs over the targets of tests/fuzz (docs/fuzzing.md). Each target runs until it
# has executed BERTH_FUZZ_RUNS inputs (default 10 million) or BERTH_FUZZ_MAX_SECONDS have passed
# (default 4 hours), whichever comes first, or until its first finding. Every run has its own
# directory under the output dir (corpus, artifacts, log), so runs may go on side by side.
#   bench/fuzz/run.sh                       every target, one after the other
#   bench/fuzz/run.sh route template        just these
#   BERTH_FUZZ_PARALLEL=2 bench/fuzz/run.sh two targets at a time
# A summary line per target ("<target> <executions> <seconds> <exec/s> <result>") goes to
# <out>/summary.txt. New inputs stay in <out>; to keep one, copy it into tests/fuzz/corpus/<target>/
# (after `fuzz_<target> -merge=1` into a scratch dir, so the corpus stays small).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
# Optimized (-O1, libFuzzer's advice) in a build dir of its own: the test command's is -O0.
export BERTH_FUZZ_BUILD_DIR="${BERTH_FUZZ_BUILD_DIR:-$here/build-fuzz-O1}"
export BERTH_FUZZ_OPT="${BERTH_FUZZ_OPT:--O1 -gline-tables-only}"
# BERTH_FUZZ_SKIP_BUILD=1 runs the binaries already in BERTH_FUZZ_BUILD_DIR/tests/fuzz: a copy
# frozen at one commit, so that editing the sources during a campaign of several hours does not
# change the code under test between targets.
if [[ "${BERTH_FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
  BERTH_FUZZ_BUILD_ONLY=1 BERTH_FUZZ_NICE="${BERTH_FUZZ_NICE:-10}" "$here/scripts/fuzz.sh"
fi
# Stack-use-after-return detection (on by default since clang 15) spent a third of the time of
# the targets that throw (fake-stack GC), and allocation stacks are recorded 5 deep instead of 30:
# kube_api_error ran 2.3 times as fast (938 -> 2,190 per second); a finding is replayed with the
# test command's options.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=0:malloc_context_size=5}"

export FUZZ_RUNS="${BERTH_FUZZ_RUNS:-10000000}"
export FUZZ_MAX="${BERTH_FUZZ_MAX_SECONDS:-14400}"
export FUZZ_OUT="${BERTH_FUZZ_OUT:-$here/bench/fuzz/out/$(date -u +%Y%m%dT%H%M%SZ)-$$}"
export FUZZ_HERE="$here"
mkdir -p "$FUZZ_OUT"

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$here"/tests/fuzz/*_fuzz.cc; do
    t="$(basename "$f" .cc)"
    targets+=("${t%_fuzz}")
  done
fi

run_one() {
  local t="$1" d="$FUZZ_OUT/$1"
  local bin="$BERTH_FUZZ_BUILD_DIR/tests/fuzz/fuzz_$t"
  mkdir -p "$d/corpus" "$d/artifacts"
  local args=(-runs="$FUZZ_RUNS" -max_total_time="$FUZZ_MAX" -timeout=10 -rss_limit_mb=2048
              -print_final_stats=1 -artifact_prefix="$d/artifacts/")
  [[ -f "$FUZZ_HERE/tests/fuzz/dict/$t.dict" ]] && args+=(-dict="$FUZZ_HERE/tests/fuzz/dict/$t.dict")
  # template finds new inputs so often that LeakSanitizer's whole-heap scan after each of them
  # took over half its time (1,229 executions per second with it, 3,958 without). Its leaks are
  # still looked for: the test command replays the corpus with LeakSanitizer on.
  [[ "$t" == template ]] && args+=(-detect_leaks=0)
  local start rc=0
  start=$(date +%s)
  nice -n "${BERTH_FUZZ_NICE:-10}" "$bin" "${args[@]}" "$d/corpus" "$FUZZ_HERE/tests/fuzz/corpus/$t" \
    >"$d/log" 2>&1 || rc=$?
  local secs=$(( $(date +%s) - start ))
  local execs
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$d/log" | tail -1)
  [[ -n "$execs" ]] || execs=$(grep -o '^#[0-9]*' "$d/log" | tail -1 | tr -d '#')
  local result=ok
  ((rc == 0)) || result="finding(rc=$rc):$(ls "$d/artifacts" | head -1)"
  printf '%s %s %s %s %s\n' "$t" "${execs:-0}" "$secs" "$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" \
    "$result" | tee -a "$FUZZ_OUT/summary.txt"
}
export -f run_one
export BERTH_FUZZ_NICE

echo "==> ${#targets[@]} targets, ${FUZZ_RUNS} runs or ${FUZZ_MAX}s each; output in $FUZZ_OUT" >&2
printf '%s\n' "${targets[@]}" | xargs -P "${BERTH_FUZZ_PARALLEL:-1}" -I{} bash -c 'run_one "$@"' _ {}
! grep -q finding "$FUZZ_OUT/summary.txt"
