#!/usr/bin/env bash
# Makes sure the pinned helm exists in the cache (${BERTH_CACHE:-$HOME/.cache/berth}/helm-<v>/bin),
# building it from the Go module proxy when missing (a few minutes, niced). The deploy tests
# run `helm lint` and `helm template` on deploy/helm/berth with it. Prints its path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.sh"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
out="${BERTH_CACHE:-$HOME/.cache/berth}/helm-$HELM_VERSION/bin"
if [ ! -x "$out/helm" ]; then
  mkdir -p "$out"
  echo "building helm $HELM_VERSION into $out" >&2
  GOBIN="$out" GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local nice -n 19 "$GO" install \
    -p "${BERTH_K8S_BUILD_JOBS:-1}" -trimpath "-ldflags=-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$out/helm"
