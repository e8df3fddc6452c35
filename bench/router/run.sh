#!/usr/bin/env bash
# Router benchmark: berth router (lua, classic) vs confd -watch on the same etcd, nginx and
# routes, loopback only. Prints the figures and writes bench-router.json.
#   bench/router/run.sh [--quick] [--peers berth-lua,berth-classic,confd,berth-confd]
# Needs: etcd (etcd-server), nginx, libnginx-mod-http-lua, python3, go (for confd; optional).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-bench-router}
CONFD_DIR=${CONFD_DIR:-$HOME/.cache/berth/confd}

if [[ -z "${BERTH_BIN:-}" ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DBERTH_TESTS=OFF -DBERTH_BENCH=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  nice ninja -C "$BUILD" berth
  BERTH_BIN=$BUILD/berth
fi

# confd v0.16.0 (the last release, 2018) from the Go module proxy. It predates Go modules, so
# `go install ...@v0.16.0` cannot resolve it (its 2018 imports meet today's grpc and redigo);
# build it as a module with the versions its Gopkg.lock era needs. Logged either way.
CONFD_BIN=""
if [[ -x "$CONFD_DIR/confd" ]]; then
  CONFD_BIN=$CONFD_DIR/confd
elif command -v go >/dev/null; then
  mkdir -p "$CONFD_DIR"
  log=$CONFD_DIR/install.log
  {
    echo "== $(date -u +%FT%TZ) go install github.com/kelseyhightower/confd@v0.16.0"
    GOBIN=$CONFD_DIR GOPATH=$CONFD_DIR/gopath nice -n 19 go install github.com/kelseyhightower/confd@v0.16.0 || true
    if [[ ! -x "$CONFD_DIR/confd" ]]; then
      echo "== module build from the downloaded source"
      src=$(mktemp -d)
      GOPATH=$CONFD_DIR/gopath GOFLAGS=-mod=mod go mod download -json github.com/kelseyhightower/confd@v0.16.0 >/dev/null
      cp -r "$CONFD_DIR"/gopath/pkg/mod/github.com/kelseyhightower/confd@v0.16.0/. "$src"
      chmod -R u+w "$src"
      (cd "$src" && export GOPATH=$CONFD_DIR/gopath GOFLAGS=-mod=mod &&
        go mod init github.com/kelseyhightower/confd &&
        go mod edit -require=github.com/kelseyhightower/memkv@v0.1.1 \
          -replace=google.golang.org/grpc=google.golang.org/grpc@v1.26.0 \
          -replace=github.com/garyburd/redigo=github.com/garyburd/redigo@v1.6.0 \
          -replace=github.com/coreos/bbolt=go.etcd.io/bbolt@v1.3.3 &&
        nice -n 19 go mod tidy -e && nice -n 19 go build -o "$CONFD_DIR/confd" .) || echo "confd build failed"
      rm -rf "$src"
    fi
  } >>"$log" 2>&1
  [[ -x "$CONFD_DIR/confd" ]] && CONFD_BIN=$CONFD_DIR/confd || echo "confd unavailable: see $log"
fi

exec python3 bench/router/router_bench.py --berth "$BERTH_BIN" --confd "$CONFD_BIN" "$@"
