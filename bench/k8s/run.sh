#!/usr/bin/env bash
# Kubernetes backend benchmark (docs/benchmarks.md, "Kubernetes backend"):
#   bench/k8s/run.sh [BUILD_DIR] [COUNT] [WORKERS] [k8s_bench options, e.g. --controller rc]
# Builds/finds the pinned control plane (tests/support/k8s/ensure.sh), starts it on loopback,
# runs k8s_bench (Berth with WORKERS workers vs kubectl one after another), stops it.
# BERTH_K8S_CLIENT_QPS=200 raises the controller-manager's and scheduler's client limits
# (start.sh), which otherwise cap the cluster at ~5 Deployments/s (docs/benchmarks.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"; count="${2:-100}"; workers="${3:-8}"
source "$root/tests/support/k8s/versions.sh"
"$root/tests/support/k8s/ensure.sh"
bin="${BERTH_K8S_BIN:-${BERTH_CACHE:-$HOME/.cache/berth}/k8s-$K8S_VERSION/bin}"
cmake -S "$root" -B "$build" -G Ninja -DBERTH_BENCH=ON >/dev/null
nice ninja -C "$build" k8s_bench
dir="$(mktemp -d)"
trap '"$root/tests/support/k8s/stop.sh" "$dir"; rm -rf "$dir"' EXIT
kc="$("$root/tests/support/k8s/start.sh" "$dir")"
extra=("${@:4}")  # e.g. --controller rc
echo "+ $build/bench/k8s_bench --kubeconfig $kc --kubectl $bin/kubectl --count $count --workers $workers ${extra[*]}"
"$build/bench/k8s_bench" --kubeconfig "$kc" --kubectl "$bin/kubectl" --count "$count" --workers "$workers" "${extra[@]}"
