#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, builds the pinned Kubernetes control plane
# into a cache outside the repo (first run only), builds Berth with ASan+UBSan and runs the unit,
# integration and e2e tiers (real nginx, etcd, Podman, GlusterFS, registry, kube-apiserver),
# then a plain optimized build with its unit tests, then the fuzz targets' corpus replay
# (scripts/fuzz.sh, clang-19 + libFuzzer).
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         one tier (ctest arguments pass through)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
start=$(date +%s)
"$here/scripts/deps.sh" test

export BERTH_CACHE="${BERTH_CACHE:-$HOME/.cache/berth}"
# Nothing else runs during CI: the one-time control-plane build may use every core.
export BERTH_K8S_BUILD_JOBS="${BERTH_K8S_BUILD_JOBS:-$(nproc)}"
# The Kubernetes tier (label k8s) needs kube-apiserver & co. built from the Go module proxy:
# a one-time build of 40-100 minutes on 2 cores, longer than one CI run may take. It runs
# whenever those binaries are cached; BERTH_TEST_KUBERNETES=1 builds them first if missing.
k8s_filter=(-LE k8s)
# shellcheck source=../tests/support/k8s/versions.sh
source tests/support/k8s/versions.sh
k8s_bin="$BERTH_CACHE/k8s-$K8S_VERSION/bin"
if [[ "${BERTH_TEST_KUBERNETES:-0}" == 1 ]] || [[ -x "$k8s_bin/kube-apiserver" && -x "$k8s_bin/kwok" ]]; then
  echo "==> Kubernetes control plane (cached in $k8s_bin)" >&2
  tests/support/k8s/ensure.sh
  # helm for the deploy manifests' test (deploy/helm/berth), pinned and cached the same way.
  BERTH_HELM="$(tests/support/k8s/ensure_helm.sh)"
  export BERTH_HELM
  k8s_filter=()
else
  echo "==> NOTE: Kubernetes tier skipped: no control plane in $k8s_bin;" \
    "run BERTH_TEST_KUBERNETES=1 scripts/test.sh once to build it" >&2
fi

echo "==> ASan+UBSan build" >&2
scripts/build.sh "$here/build-asan" -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON -DBERTH_BENCH=OFF
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp"
rc=0
ctest --test-dir "$here/build-asan" --output-on-failure --timeout 900 "${k8s_filter[@]}" "$@" || rc=$?

if [[ $# -eq 0 ]]; then
  echo "==> Release build + unit tests + the Debian package" >&2
  scripts/build.sh "$here/build-release" -DCMAKE_BUILD_TYPE=Release
  ctest --test-dir "$here/build-release" -L 'unit|package' --output-on-failure || rc=$?
  echo "==> Fuzz targets: corpus replay + ${BERTH_FUZZ_SECONDS:-5}s of new inputs each (clang-19)" >&2
  scripts/fuzz.sh || rc=$?
fi
echo "==> tests finished in $(( $(date +%s) - start ))s (exit $rc)" >&2
exit $rc
