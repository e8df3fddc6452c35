#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine: installs what is missing, builds
# Berth, starts a container engine (Podman's Docker API, unless Docker already answers), starts
# `berth serve` (SQLite state + managed nginx), creates a demo environment from a locally built
# image and prints where it answers.
#   scripts/demo.sh          run (again: idempotent)
#   scripts/demo.sh stop     stop berth serve and the demo's Podman service
#   BERTH_DEMO_INSTALLED=1   use the installed package's /usr/bin/berth instead of a source build
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
state="${BERTH_DEMO_DIR:-$here/.demo}"
run="${XDG_RUNTIME_DIR:-/tmp}/berth-demo-$(id -u)"
mkdir -p "$state" "$run"
berth="$here/build-demo/berth"
export BERTH_CONFIG="$state/berth.toml"

stop() {
  [[ -f "$run/serve.pid" ]] && kill "$(cat "$run/serve.pid")" 2>/dev/null || true
  # serve leaves its nginx serving for the next start to adopt (docs/router.md): a full stop
  # stops it too (SIGQUIT: requests in flight finish).
  local ngx="$state/berth/nginx/logs/nginx.pid" pid
  pid="$(cat "$ngx" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
    grep -qF "nginx: master process" && tr '\0' ' ' <"/proc/$pid/cmdline" |
    grep -qF -- "-p $state/berth/nginx/ "; then
    kill -QUIT "$pid" 2>/dev/null || true
  fi
  [[ -f "$run/podman.pid" ]] && kill "$(cat "$run/podman.pid")" 2>/dev/null || true
  rm -f "$run"/*.pid
}
if [[ "${1:-}" == "stop" ]]; then stop; echo "stopped"; exit 0; fi

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

step "Debian packages"
"$here/scripts/deps.sh" run

if [[ "${BERTH_DEMO_INSTALLED:-0}" == 1 ]]; then
  berth=/usr/bin/berth
  [[ -x "$berth" ]] || { echo "demo.sh: BERTH_DEMO_INSTALLED=1 but $berth is missing (apt install ./berth_*.deb)" >&2; exit 2; }
  step "Using the installed $("$berth" version)"
else
  step "Building Berth (a few minutes the first time; progress below)"
  cmake -S "$here" -B "$here/build-demo" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBERTH_TESTS=OFF \
    -DBERTH_BENCH=OFF -DBERTH_PACKAGE=OFF >/dev/null
  # One updating line "[n/N] file" instead of minutes of silence; errors still print whole.
  if [[ -t 2 ]]; then
    NINJA_STATUS="[%f/%t %p] " ninja -C "$here/build-demo" -j"$(nproc)" berth |
      while IFS= read -r line; do
        if [[ "$line" == \[* ]]; then printf '\r\033[K  %s' "${line:0:100}" >&2; else printf '\n%s\n' "$line" >&2; fi
      done
    printf '\r\033[K' >&2
  else
    NINJA_STATUS="[%f/%t %p] " ninja -C "$here/build-demo" -j"$(nproc)" berth >&2
  fi
  [[ -x "$berth" ]] || { echo "demo.sh: the build did not produce $berth" >&2; exit 1; }
fi

# A Docker Engine API: an existing one, or Podman with a demo-local configuration (runc,
# cgroupfs, ulimits within this machine's hard limits), never the machine's global config.
docker_host="${DOCKER_HOST:-}"
if [[ -z "$docker_host" ]] && curl -sf --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; then
  docker_host="unix:///var/run/docker.sock"
fi
if [[ -z "$docker_host" ]]; then
  step "Starting Podman's Docker API service"
  # shellcheck source=lib/podman-service.sh
  . "$here/scripts/lib/podman-service.sh"
  sock="$run/podman.sock"
  podman_service_start "$state/podman" "$sock" "$state/podman.log" "$run/podman.pid"
  docker_host="unix://$sock"
fi
sockpath="${docker_host#unix://}"

step "Building the demo image (busybox httpd serving /apps)"
img="$state/image"
rm -rf "$img" && mkdir -p "$img/rootfs/bin" "$img/rootfs/apps" "$img/rootfs/tmp"
cp /bin/busybox "$img/rootfs/bin/busybox"
for c in sh httpd ls cat echo sleep hostname date mkdir test; do ln -sf busybox "$img/rootfs/bin/$c"; done
tar -C "$img/rootfs" -cf "$img/rootfs.tar" .
# Imported through the Engine API itself, so it works the same on Docker and Podman.
changes='CMD ["/bin/sh","-c","test -f /apps/index.html || echo \"<h1>Hello from Berth: $HOSTNAME</h1>\" > /apps/index.html; exec httpd -f -p 80 -h /apps"]'
curl -sf --unix-socket "$sockpath" -X POST --data-binary @"$img/rootfs.tar" \
  -H 'Content-Type: application/x-tar' \
  "http://d/v1.41/images/create?fromSrc=-&repo=localhost/berth-demo&tag=latest&changes=$(printf %s "$changes" | jq -sRr @uri)" >/dev/null

cat > "$BERTH_CONFIG" <<CONF
# Written by scripts/demo.sh — see docs/configuration.md for every key.
[server]
state_dir = "$state/berth"
socket = "$run/berth.sock"
[environments]
default_image = "localhost/berth-demo:latest"
pull_policy = "IfNotPresent"   # the demo image is local; the default is Always
base_domains = ["ctest.localhost"]
port_range = [30000, 32767]
host_ip = "127.0.0.1"
[runtime]
kind = "docker"
docker_host = "$docker_host"
[router]
mode = "lua"
http_listen = "127.0.0.1:8880"
CONF

step "Starting berth serve"
if ! "$berth" version >/dev/null || ! curl -sf --unix-socket "$run/berth.sock" http://b/healthz >/dev/null 2>&1; then
  nohup "$berth" serve >"$state/serve.log" 2>&1 &
  echo $! > "$run/serve.pid"
  for _ in $(seq 150); do curl -sf --unix-socket "$run/berth.sock" http://b/healthz >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf --unix-socket "$run/berth.sock" http://b/healthz >/dev/null || { tail -20 "$state/serve.log"; exit 1; }
fi

step "Creating the demo environment"
if ! "$berth" view demo >/dev/null 2>&1; then
  "$berth" create demo --wait --timeout 120
else
  "$berth" view demo
fi
port=$("$berth" view demo -o json | jq -r '.status.ports.http')
echo
step "demo answers"
# Through nginx, as a user would; a few seconds for nginx to load the route. An answer other
# than 200 is this script's failure, not a URL to print.
answer="" code=""
for _ in $(seq 50); do
  code=$(curl -s -o "$run/answer" -w '%{http_code}' -H 'Host: demo.ctest.localhost' \
    http://127.0.0.1:8880/ || true)
  [[ "$code" == 200 ]] && break
  sleep 0.2
done
answer="$(cat "$run/answer" 2>/dev/null || true)"
echo "  through nginx:  curl -H 'Host: demo.ctest.localhost' http://127.0.0.1:8880/"
echo "                  $answer"
if [[ "$code" != 200 ]]; then
  echo "demo.sh: the demo did not answer through nginx (HTTP $code); see $berth view demo" >&2
  exit 1
fi
echo "  directly:       http://127.0.0.1:$port/"
echo "  dashboard:      curl --unix-socket $run/berth.sock http://berth/   (or: BERTH_API_TOKEN=... berth serve --listen-http 127.0.0.1:8080)"
echo "  CLI:            export BERTH_CONFIG=$BERTH_CONFIG; $berth list"
echo "  stop:           scripts/demo.sh stop"
