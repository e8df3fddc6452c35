#!/usr/bin/env bash
# Benchmark: a code release of a 50 MB tree of 5,000 files — `berth deploy NAME --from DIR --wait`
# until the new content answers through Berth's nginx (median of N) — side by side, in the same
# run and on the same Podman service, with what a user would script by hand (the floor):
#   tar:     tar -c DIR | podman exec -i C tar -x -C /apps/current; podman restart C; probe
#   cp:      podman cp DIR/. C:/apps/current;                      podman restart C; probe
# Every side serves the same image (busybox httpd on /apps/current, stopping on SIGTERM) and
# waits for the same thing: the new index.html answering.
#   bench/releases/run.sh [N=5] [FILES=5000] [FILE_BYTES=10240]
# Needs a built build/berth (scripts/build.sh), nginx with libnginx-mod-http-lua, Podman, curl.
# Figures: docs/benchmarks.md, "Releases".
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
N="${1:-5}"; FILES="${2:-5000}"; FILE_BYTES="${3:-10240}"
# shellcheck source=../lib.sh
. "$here/bench/lib.sh"
bench_start berth-releases
bench_image localhost/bench-runtime:1 \
  "CMD [\"/bin/sh\",\"-c\",\"trap 'exit 0' TERM; cd /apps/current 2>/dev/null || cd /apps; httpd -f -p 80 & wait\"]" \
  tar mkdir
bench_serve localhost/bench-runtime:1 lua

# The tree: FILES files of FILE_BYTES random bytes in directories of 100, plus index.html.
tree="$work/tree"
per_dir=100
for d in $(seq 0 $(( (FILES + per_dir - 1) / per_dir - 1 ))); do
  mkdir -p "$tree/d$d"
  n=$(( FILES - d * per_dir < per_dir ? FILES - d * per_dir : per_dir ))
  head -c $(( n * FILE_BYTES )) /dev/urandom | split -b "$FILE_BYTES" -a 3 -d - "$tree/d$d/f"
done
size=$(du -sb "$tree" | cut -f1)
count=$(find "$tree" -type f | wc -l)

# Waits until GET /index.html (with Host $2, through port $1) answers exactly $3.
until_serves() {
  local port=$1 host=$2 want=$3
  until [[ "$(curl -s --max-time 2 -H "Host: $host" "http://127.0.0.1:$port/index.html" 2>/dev/null)" == "$want" ]]; do
    sleep 0.02
  done
}

"$berth" create rel --release-mode code --wait >/dev/null
berth_t=(); tar_t=(); cp_t=()
for i in $(seq "$N"); do
  echo "berth $i" > "$tree/index.html"
  t0=$(ms)
  "$berth" deploy rel --from "$tree" --wait >/dev/null
  until_serves "$nginx_port" rel.bench.localhost "berth $i"
  berth_t+=($(( ($(ms) - t0) / 1000000 )))
done

# The floors: the same image, a volume directory with current/, a published http port.
port=$((47000 + RANDOM % 900))
for side in tar cp; do
  mkdir -p "$work/vol-$side/current"
  podman_cmd run -d --name "floor-$side" -p "127.0.0.1:$port:80" -v "$work/vol-$side:/apps" \
    localhost/bench-runtime:1 >/dev/null
  eval "port_$side=$port"
  port=$((port + 1))
done
for i in $(seq "$N"); do
  echo "tar $i" > "$tree/index.html"
  t0=$(ms)
  tar -C "$tree" -cf - . | podman_cmd exec -i floor-tar tar -xf - -C /apps/current
  podman_cmd restart floor-tar >/dev/null
  until_serves "$port_tar" localhost "tar $i"
  tar_t+=($(( ($(ms) - t0) / 1000000 )))

  echo "cp $i" > "$tree/index.html"
  t0=$(ms)
  podman_cmd cp "$tree/." floor-cp:/apps/current
  podman_cmd restart floor-cp >/dev/null
  until_serves "$port_cp" localhost "cp $i"
  cp_t+=($(( ($(ms) - t0) / 1000000 )))
done

b=$(printf '%s\n' "${berth_t[@]}" | median)
f=$(printf '%s\n' "${tar_t[@]}" | median)
c=$(printf '%s\n' "${cp_t[@]}" | median)
echo "tree: $count files, $size bytes"
echo "berth deploy --from DIR --wait, until it answers through nginx, median of $N: $b ms  (all: ${berth_t[*]})"
echo "floor: tar | podman exec tar -x + podman restart + probe, median of $N:     $f ms  (all: ${tar_t[*]})"
echo "podman cp + podman restart + probe, median of $N:                         $c ms  (all: ${cp_t[*]})"
awk -v b="$b" -v f="$f" -v c="$c" 'BEGIN {printf "ratio to the tar floor: %.2f; to podman cp: %.2f\n", b / f, b / c}'
