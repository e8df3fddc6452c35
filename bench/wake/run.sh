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
# shellcheck source=../lib.sh
. "$here/bench/lib.sh"
bench_start berth-wake
bench_image localhost/bench:1 'CMD ["/bin/httpd","-f","-p","80","-h","/apps"]'
bench_serve localhost/bench:1 lua

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
