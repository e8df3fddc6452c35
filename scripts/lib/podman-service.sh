# Sourced by scripts/demo.sh and bench/: a Podman Docker-API service with its own
# configuration under DIR — runc, cgroupfs, explicit ulimits (hosts with hybrid cgroups and no
# CAP_SYS_RESOURCE need all three), vfs storage, its own CNI dir — never the machine's config.
#   podman_service_start DIR SOCKET LOGFILE PIDFILE   then: podman_cmd ARGS...
podman_service_start() {
  local dir="$1" sock="$2" log="$3" pidfile="$4"
  # Podman's run state (runroot, tmp_dir) must not outlive a reboot: it finds out that the
  # machine restarted, and that none of its database's containers runs any more, by the absence
  # of a file there. Kept under DIR, which persists, it believed yesterday's containers still
  # ran, and so did Berth. Its database pins those paths, so they stay; what a tmpfs would do
  # at boot is done here when the boot id changes.
  local boot
  boot="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)"
  if [[ -n "$boot" && -f "$dir/boot_id" && "$(cat "$dir/boot_id")" != "$boot" ]] &&
    ! curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
    rm -rf "$dir/tmp" "$dir/runroot"
  fi
  mkdir -p "$dir/cni" "$dir/tmp"
  [[ -n "$boot" ]] && printf '%s\n' "$boot" > "$dir/boot_id"
  # A container may not get more than the caller's soft limits without CAP_SYS_RESOURCE.
  local nofile nproc
  nofile=$(ulimit -Sn); nproc=$(ulimit -Su)
  [[ "$nofile" == unlimited || "$nofile" -gt 4096 ]] && nofile=4096
  [[ "$nproc" == unlimited || "$nproc" -gt 4096 ]] && nproc=4096
  cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$dir/tmp"
[network]
network_config_dir = "$dir/cni"
CONF
  printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/root"\nrunroot = "%s/runroot"\n' "$dir" "$dir" \
    > "$dir/storage.conf"
  export CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf"
  PODMAN_DIR="$dir"
  if ! curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
    nohup podman --root "$dir/root" --runroot "$dir/runroot" system service --time=0 "unix://$sock" \
      >"$log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 150); do curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "podman system service did not start; see $log" >&2
    return 1
  fi
}
podman_cmd() { podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/runroot" "$@"; }
