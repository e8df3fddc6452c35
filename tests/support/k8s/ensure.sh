#!/usr/bin/env bash
# CI entry point: makes sure the pinned Kubernetes test binaries exist in the cache
# (${BERTH_CACHE:-$HOME/.cache/berth}/k8s-<version>/bin), building them from the Go module proxy
# when missing, and prints how long that took. Cache that directory between CI runs (and
# ~/go/pkg/mod + ~/.cache/go-build to make a rebuild cheaper).
#   BERTH_K8S_BUILD_JOBS=N   parallel Go package builds (default 1: the machine is shared)
#   BERTH_K8S_BUILD_ETCD=1   also build etcd (only needed where Debian's etcd is refused)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.sh"
bin="${BERTH_CACHE:-$HOME/.cache/berth}/k8s-$K8S_VERSION/bin"
start=$(date +%s)
missing=0
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [ -x "$bin/$b" ] || missing=1
done
[ -s "$bin/kwok-stages.yaml" ] || missing=1
if [ "$missing" = 1 ]; then
  "$here/build.sh"
else
  echo "Kubernetes $K8S_VERSION test binaries cached in $bin"
fi
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [ -x "$bin/$b" ] || { echo "ensure.sh: $bin/$b is missing after the build" >&2; exit 1; }
done
echo "ensure.sh: done in $(( $(date +%s) - start ))s (export BERTH_K8S_BIN=$bin)"
