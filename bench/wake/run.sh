#!/usr/bin/env bash
# Benchmark: wake latency — the first GET through Berth's Lua router to a sleeping environment
# until its 200 (median of N), side by side with `podman start` of a stopped container plus the
# same readiness probe (a TCP connect loop on its http port, then a GET: the floor). Then the
# memory freed by sleeping N environments (the engine's own memory figure before and after).
#   bench/wake/run.sh [N=20]
# Needs a built build/berth (scripts/build.sh), nginx with libnginx-mod-http-lua, Podman, curl.
# Figures: docs/benchmarks.md, "Wake on request".
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
N="${1:-20}"
berth="${BERTH_BINARY:-$here/build/berth}"
work="$(mktemp -d /tmp/berth-wake.XXXXXX)"
cleanup() {
  [[ -f "$work/serve.pid" ]] && kill "$(cat "$work/serve.pid")" 2>/dev/null
  sleep 1
  [[ -f "$work/state/nginx/logs/nginx.pid" ]] && kill -QUIT "$(cat "$work/state/nginx/logs/nginx.pid")" 2>/dev/null
  podman_cmd rm -af -t 0 >/dev/null 2>&1 || true
  kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null
  sleep 1
  grep -o " $work/[^ ]*" /proc/mounts | xargs -r -n1 umount 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || { sleep 2; rm -rf "$work"; }
}
trap cleanup EXIT

# shellcheck source=../../scripts/lib/podman-service.sh
. "$here/scripts/lib/podman-service.sh"
podman_service_start "$work/podman" "$work/podman.sock" "$work/podman.log" "$work/podman.pid"

mkdir -p "$work/rootfs/bin" "$work/rootfs/apps"
cp /bin/busybox "$work/rootfs/bin/"; for c in sh httpd sleep; do ln -s busybox "$work/rootfs/bin/$c"; done
echo ok > "$work/rootfs/apps/index.html"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
podman_cmd import --change 'CMD ["/bin/httpd","-f","-p","80","-h","/apps"]' "$work/rootfs.tar" localhost/bench:1 >/dev/null

nginx_port=$((48000 + RANDOM % 1000))
cat > "$work/berth.toml" <<CONF
[server]
state_dir = "$work/state"
socket = "$work/berth.sock"
[environments]
default_image = "localhost/bench:1"
pull_policy = "IfNotPresent"
base_domains = ["bench.localhost"]
[runtime]
docker_host = "unix://$work/podman.sock"
[router]
mode = "lua"
http_listen = "127.0.0.1:$nginx_port"
stop_nginx_on_exit = true
CONF
export BERTH_CONFIG="$work/berth.toml"
"$berth" serve >"$work/serve.log" 2>&1 & echo $! > "$work/serve.pid"
for _ in $(seq 100); do curl -sf --unix-socket "$work/berth.sock" http://b/healthz >/dev/null 2>&1 && break; sleep 0.1; done

ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
probe() {  # the readiness probe both sides share: connect until it answers, then one GET
  local port=$1
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.05; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/index.html"
}
engine_mem() {  # bytes the engine's containers use now (podman stats, one shot)
  podman_cmd stats --no-stream --format '{{.MemUsage}}' 2>/dev/null |
    awk '{v=$1; u=v; gsub(/[0-9.]/,"",u); gsub(/[^0-9.]/,"",v);
          m=(u=="kB"||u=="KB")?1e3:(u=="MB")?1e6:(u=="GB")?1e9:(u=="KiB")?1024:(u=="MiB")?1048576:(u=="GiB")?1073741824:1;
          s+=v*m} END {printf "%d\n", s}'
}

for i in $(seq "$N"); do "$berth" create "w$i" --wait --no-volume >/dev/null; done
mem_awake=$(engine_mem)
for i in $(seq "$N"); do "$berth" sleep "w$i" --wait >/dev/null; done
mem_asleep=$(engine_mem)

wake_t=(); floor_t=()
for i in $(seq "$N"); do
  t0=$(ms)
  curl -sf -o /dev/null --max-time 60 -H "Host: w$i.bench.localhost" "http://127.0.0.1:$nginx_port/index.html"
  wake_t+=($(( ($(ms) - t0) / 1000000 )))
  # Floor: the same container stopped again by hand, started by hand, probed the same way.
  port=$("$berth" view "w$i" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["ports"]["http"])')
  "$berth" wake "w$i" --wait >/dev/null
  podman_cmd stop -t 10 "berth-default.w$i" >/dev/null
  t0=$(ms)
  podman_cmd start "berth-default.w$i" >/dev/null
  probe "$port"
  floor_t+=($(( ($(ms) - t0) / 1000000 )))
done

echo "wake through the router (first GET -> 200), median of $N: $(printf '%s\n' "${wake_t[@]}" | median) ms"
echo "floor: podman start + probe, median of $N:               $(printf '%s\n' "${floor_t[@]}" | median) ms"
echo "memory of $N environments awake: $mem_awake bytes; asleep: $mem_asleep bytes"
