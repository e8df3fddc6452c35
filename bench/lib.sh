# Shared by the single-host benchmarks (bench/single_host, bench/wake, bench/releases): a work
# directory cleaned up on exit, a Podman service of its own, a busybox image, `berth serve` on it,
# and the timing helpers. Source it after setting `here` (the repository root):
#   . "$here/bench/lib.sh"
#   bench_start berth-wake                      # $work, $berth, Podman service, cleanup trap
#   bench_image localhost/bench:1 'CMD [...]' [APPLET...]
#   bench_serve localhost/bench:1 lua [EXTRA TOML for [router]]   # sets $nginx_port
# shellcheck shell=bash

# The work dir, the berth binary and Podman (scripts/lib/podman-service.sh); everything goes on
# exit: serve first (so it re-creates nothing), its nginx, every container while the engine's
# storage is still there, then the service; leftover mounts would pin the directory.
bench_start() {
  berth="${BERTH_BINARY:-$here/build/berth}"
  work="$(mktemp -d "/tmp/$1.XXXXXX")"
  trap bench_cleanup EXIT
  # shellcheck source=../scripts/lib/podman-service.sh
  . "$here/scripts/lib/podman-service.sh"
  podman_service_start "$work/podman" "$work/podman.sock" "$work/podman.log" "$work/podman.pid"
}

bench_cleanup() {
  [[ -f "$work/serve.pid" ]] && kill "$(cat "$work/serve.pid")" 2>/dev/null
  sleep 1
  [[ -f "$work/state/nginx/logs/nginx.pid" ]] &&
    kill -QUIT "$(cat "$work/state/nginx/logs/nginx.pid")" 2>/dev/null
  podman_cmd rm -af -t 0 >/dev/null 2>"$work/cleanup.err" || cat "$work/cleanup.err" >&2
  kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null
  sleep 1
  grep -o " $work/[^ ]*" /proc/mounts | xargs -r -n1 umount 2>/dev/null || true
  # The engine may still be exiting: try again once it is gone.
  rm -rf "$work" 2>/dev/null || { sleep 2; rm -rf "$work"; }
}

# bench_image REF CHANGE [APPLET...]: a busybox rootfs (sh, httpd, sleep and the applets named)
# imported as REF with the --change CHANGE (its CMD); /apps/index.html says "ok".
bench_image() {
  local ref=$1 change=$2
  shift 2
  rm -rf "$work/rootfs"
  mkdir -p "$work/rootfs/bin" "$work/rootfs/apps"
  cp /bin/busybox "$work/rootfs/bin/"
  for c in sh httpd sleep "$@"; do ln -sf busybox "$work/rootfs/bin/$c"; done
  echo ok > "$work/rootfs/apps/index.html"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  podman_cmd import --change "$change" "$work/rootfs.tar" "$ref" >/dev/null
}

# bench_serve IMAGE ROUTER_MODE [EXTRA]: berth.toml (IfNotPresent, base domain bench.localhost,
# the router on a loopback port $nginx_port unless mode "off"), `berth serve` until it answers.
bench_serve() {
  local image=$1 mode=$2 extra=${3:-}
  nginx_port=$((48000 + RANDOM % 1000))
  cat > "$work/berth.toml" <<CONF
[server]
state_dir = "$work/state"
socket = "$work/berth.sock"
[environments]
default_image = "$image"
pull_policy = "IfNotPresent"
base_domains = ["bench.localhost"]
[runtime]
docker_host = "unix://$work/podman.sock"
[router]
mode = "$mode"
http_listen = "127.0.0.1:$nginx_port"
stop_nginx_on_exit = true
$extra
CONF
  export BERTH_CONFIG="$work/berth.toml"
  "$berth" serve >"$work/serve.log" 2>&1 &
  echo $! > "$work/serve.pid"
  for _ in $(seq 100); do
    curl -sf --unix-socket "$work/berth.sock" http://b/healthz >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "berth serve did not answer; its log:" >&2
  tail -20 "$work/serve.log" >&2
  return 1
}

ms() { date +%s%N; }  # nanoseconds, despite the name: callers divide
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
