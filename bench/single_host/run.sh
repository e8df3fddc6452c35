#!/usr/bin/env bash
# Benchmark: `berth create --wait` until Running (median of N) side by side with a plain
# `podman run -d` of the same image with the same ports and volume (the floor), in one run, on
# the same Podman service; then 50 environments created concurrently.
#   bench/single_host/run.sh [N=20] [CONCURRENT=50]
# Needs a built build/berth (scripts/build.sh) and the packages of scripts/deps.sh run.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
N="${1:-20}"; C="${2:-50}"
# shellcheck source=../lib.sh
. "$here/bench/lib.sh"
bench_start berth-bench
bench_image localhost/bench:1 'CMD ["/bin/httpd","-f","-p","80","-h","/apps"]'
bench_serve localhost/bench:1 off

berth_t=(); floor_t=()
port=$((40000 + RANDOM % 8000))
for i in $(seq "$N"); do
  # Floor: what Berth asks the engine for, by hand — same image, ports, volume, limits.
  mkdir -p "$work/vol/p$i"
  t0=$(ms)
  podman_cmd run -d --name "floor$i" -p 127.0.0.1:$((port)):22 -p 127.0.0.1:$((port+1)):80 \
    -p 127.0.0.1:$((port+2)):443 -v "$work/vol/p$i:/apps" --cpus 0.5 --memory 2000m \
    localhost/bench:1 >/dev/null
  floor_t+=($(( ($(ms) - t0) / 1000 )))
  port=$((port+3))
  t0=$(ms)
  "$berth" create "b$i" --wait >/dev/null
  berth_t+=($(( ($(ms) - t0) / 1000 )))
done
fm=$(printf '%s\n' "${floor_t[@]}" | median); bm=$(printf '%s\n' "${berth_t[@]}" | median)
echo "command: bench/single_host/run.sh $N $C   ($(date -u +%F), $(nproc) cores, podman $(podman --version | awk '{print $3}'), runc)"
printf 'create -> Running, median of %d:  podman run -d (floor) %.1f ms   berth create --wait %.1f ms   ratio %.3f\n' \
  "$N" "$(echo "$fm/1000" | bc -l)" "$(echo "$bm/1000" | bc -l)" "$(echo "$bm/$fm" | bc -l)"

for i in $(seq "$N"); do "$berth" delete "b$i" --no-wait >/dev/null; podman_cmd rm -f -t 0 "floor$i" >/dev/null; done
for i in $(seq "$N"); do "$berth" wait "b$i" --for deleted >/dev/null; done

t0=$(ms)
pids=()
for i in $(seq "$C"); do "$berth" create "c$i" --wait --timeout 600 >/dev/null & pids+=($!); done
wait "${pids[@]}"
ct=$(( ($(ms) - t0) / 1000000 ))
ports=$("$berth" list -o json | jq '[.[].status.ports[]] | length')
distinct=$("$berth" list -o json | jq '[.[].status.ports[]] | unique | length')
running=$("$berth" list -o json | jq '[.[] | select(.status.phase=="Running")] | length')
echo "$C concurrent creates: all Running after ${ct} ms ($running/$C Running, $distinct distinct of $ports ports)"
t0=$(ms)
pids=()
for i in $(seq "$C"); do
  # The same request Berth makes: three published ports, a volume, the same limits.
  mkdir -p "$work/vol/c$i"
  p=$((port + 3 * i))
  podman_cmd run -d --name "fc$i" -p 127.0.0.1:$p:22 -p 127.0.0.1:$((p+1)):80 -p 127.0.0.1:$((p+2)):443 \
    -v "$work/vol/c$i:/apps" --cpus 0.5 --memory 2000m localhost/bench:1 >/dev/null & pids+=($!)
done
wait "${pids[@]}"
echo "$C concurrent podman run -d (floor, same ports/volume/limits): $(( ($(ms) - t0) / 1000000 )) ms"
