#!/usr/bin/env bash
# Builds the pinned upstream Kubernetes binaries the integration tests and the
# benchmark run, from the Go module proxy, into a cache outside the repo:
#   ${BERTH_CACHE:-$HOME/.cache/berth}/k8s-<version>/bin/
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (wrapper
# module in ./wrapper) and kwok (fake kubelets). etcd is built only when
# BERTH_K8S_BUILD_ETCD=1 (Debian's /usr/bin/etcd is used otherwise).
# Idempotent: binaries already present are not rebuilt.
# Niced and "-p 1" by default: the build machine is shared.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || GO=/usr/local/go/bin/go
cache="${BERTH_CACHE:-$HOME/.cache/berth}"
out="$cache/k8s-$K8S_VERSION/bin"
jobs="${BERTH_K8S_BUILD_JOBS:-1}"
mkdir -p "$out"

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export CGO_ENABLED=0
export GOTOOLCHAIN=local
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
# Stamp the version as the upstream release build does, so clients see v1.X.Y, not v0.0.0.
ver_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ver_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ver_ldflags+=" -X $pkg.gitTreeState=clean"
done
buildflags=(-p "$jobs" -trimpath "-ldflags=$ver_ldflags")

need=()
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  [ -x "$out/$b" ] || need+=("k8s.io/kubernetes/cmd/$b")
done

# Build in a scratch copy so go.mod/go.sum updates by -mod=mod never dirty
# the checkout.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/wrapper/go.mod" "$here/wrapper/tools.go" "$work/"
[ -f "$here/wrapper/go.sum" ] && cp "$here/wrapper/go.sum" "$work/"

if [ "${#need[@]}" -gt 0 ]; then
  echo "building ${need[*]} ($K8S_VERSION) into $out"
  (cd "$work" && nice -n 19 "$GO" build "${buildflags[@]}" -o "$out/" "${need[@]}")
fi

if [ "${BERTH_K8S_BUILD_ETCD:-0}" = 1 ] && [ ! -x "$out/etcd" ]; then
  echo "building etcd (go.etcd.io/etcd/server/v3, as pinned by $K8S_VERSION)"
  (cd "$work" && nice -n 19 "$GO" build "${buildflags[@]}" -o "$out/etcd" go.etcd.io/etcd/server/v3)
fi

if [ ! -x "$out/kwok" ]; then
  echo "building kwok $KWOK_VERSION into $out"
  # kwok's own go.mod has no replace lines, so "go install pkg@version" pins it.
  GOBIN="$out" GOFLAGS= nice -n 19 "$GO" install -p "$jobs" -trimpath "-ldflags=-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi

if [ ! -s "$out/kwok-stages.yaml" ]; then
  # The standalone kwok binary has no built-in behaviour: it needs Stage objects. Use the
  # upstream default stages of the pinned release (what kwokctl installs), straight from the
  # module: nodes initialise and keep a lease; pods become Ready, complete, and are deleted.
  moddir="$(GOFLAGS= "$GO" mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" |
            sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  {
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$moddir/kustomize/stage/$f"
    done
  } >"$out/kwok-stages.yaml.tmp"
  mv "$out/kwok-stages.yaml.tmp" "$out/kwok-stages.yaml"
fi

echo "binaries in $out:"
ls -l "$out"
