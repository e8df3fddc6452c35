#!/usr/bin/env bash
# Stops a control plane started by start.sh DIR (only the processes it recorded).
set -u
dir="${1:?usage: stop.sh DIR}"
[ -f "$dir/pids" ] || exit 0
tac "$dir/pids" | while read -r pid; do kill "$pid" 2>/dev/null; done
sleep 2
tac "$dir/pids" | while read -r pid; do kill -9 "$pid" 2>/dev/null; done
rm -f "$dir/pids"
