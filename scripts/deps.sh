#!/usr/bin/env bash
# Installs the Debian packages Berth builds with and its tests run against — only the missing
# ones. Usage: scripts/deps.sh [build|run|test]   (default: test = everything)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-test}"

build=(build-essential cmake ninja-build pkg-config clang-format
  libboost1.81-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libsqlite3-dev libexpected-dev
  libmicrohttpd-dev libglusterfs-dev libarchive-dev libjemalloc-dev libzstd-dev libgtest-dev libgmock-dev libbenchmark-dev)
run=(podman runc conmon containernetworking-plugins iptables uidmap slirp4netns fuse-overlayfs
  nginx libnginx-mod-http-lua busybox-static curl ca-certificates openssl)
test=(etcd-server etcd-client docker-registry glusterfs-server glusterfs-client python3 jq git zsh
  hyperfine clang-19 libclang-rt-19-dev chromium)
# The dashboard's browser test (tests/browser) runs on Node.js; Debian's only where none is.
command -v node >/dev/null || test+=(nodejs npm)

pkgs=()
case "$what" in
  build) pkgs=("${build[@]}") ;;
  run) pkgs=("${build[@]}" "${run[@]}") ;;
  *) pkgs=("${build[@]}" "${run[@]}" "${test[@]}")
     if [[ -f "$here/.ci/packages.txt" ]]; then
       while read -r p; do [[ -n "$p" && "$p" != \#* ]] && pkgs+=("$p"); done < "$here/.ci/packages.txt"
     fi ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "berth: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # Debian's nginx package starts a system nginx on :80 at install; Berth never uses it.
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
    $sudo systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi
# playwright-core for the dashboard's browser test, as pinned in its package-lock.json.
if [[ "$what" != build && "$what" != run && ! -d "$here/tests/browser/node_modules" ]] && command -v npm >/dev/null; then
  echo "berth: npm ci --prefix tests/browser" >&2
  npm ci --prefix "$here/tests/browser" --no-audit --no-fund >/dev/null
fi
