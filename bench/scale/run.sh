#!/usr/bin/env bash
# Thousands of environments (docs/benchmarks.md, "Thousands of environments"):
#   bench/scale/run.sh [BUILD_DIR] [scale_bench options, e.g. --count 1000 --stored 5000]
# Starts the pinned loopback control plane (tests/support/k8s/start.sh: kube-apiserver,
# controller-manager, scheduler, kwok) with room for thousands of pods, NodePorts and Services,
# then scale_bench drives `berth serve` (BUILD_DIR/berth) through the CLI beside kubectl.
# BERTH_K8S_CLIENT_QPS (default here 200) raises the controller-manager's and scheduler's client
# limits, which otherwise cap the cluster at ~5 Deployments/s whoever asks (bench/k8s).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build-release}"
shift || true
source "$root/tests/support/k8s/versions.sh"
"$root/tests/support/k8s/ensure.sh" >&2
bin="${BERTH_K8S_BIN:-${BERTH_CACHE:-$HOME/.cache/berth}/k8s-$K8S_VERSION/bin}"
cmake -S "$root" -B "$build" -G Ninja -DBERTH_BENCH=ON >/dev/null
nice ninja -C "$build" berth scale_bench >&2
dir="$(mktemp -d /tmp/berth-scale.XXXXXX)"
trap '"$root/tests/support/k8s/stop.sh" "$dir"; rm -rf "$dir"' EXIT
export BERTH_K8S_CLIENT_QPS="${BERTH_K8S_CLIENT_QPS:-200}"
export BERTH_K8S_NODE_PODS="${BERTH_K8S_NODE_PODS:-6000}"
export BERTH_K8S_NODE_PORT_RANGE="${BERTH_K8S_NODE_PORT_RANGE:-20000-59999}"
kc="$("$root/tests/support/k8s/start.sh" "$dir")"
mkdir -p "$dir/berth"
echo "+ $build/bench/scale_bench --kubeconfig $kc --kubectl $bin/kubectl --port-range $BERTH_K8S_NODE_PORT_RANGE $*"
echo "  (control plane: client QPS $BERTH_K8S_CLIENT_QPS, node pods $BERTH_K8S_NODE_PODS; $(nproc) cores)"
"$build/bench/scale_bench" --berth "$build/berth" --kubeconfig "$kc" --kubectl "$bin/kubectl" \
  --work "$dir/berth" --port-range "$BERTH_K8S_NODE_PORT_RANGE" "$@"
