#!/usr/bin/env python3
"""Plots bench-router.json: put -> first 200 per peer (each of the 20 samples), 20 vs 5,000 routes."""
import json, sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

data = json.load(open(sys.argv[1]))
out = sys.argv[2]
fig, ax = plt.subplots(figsize=(8, 4.5))
peers = [p for p in data if any(k.startswith("put_to_200_ms_all") for k in data[p])]
pos, labels = 0, []
for p in peers:
    for n in sorted(int(k.rsplit("_", 1)[1]) for k in data[p] if k.startswith("put_to_200_ms_all")):
        xs = data[p][f"put_to_200_ms_all_with_{n}"]
        ax.scatter([pos] * len(xs), xs, s=12, alpha=0.6)
        ax.hlines(sorted(xs)[len(xs) // 2], pos - 0.3, pos + 0.3, color="black")
        labels.append(f"{p}\n{n} routes")
        pos += 1
ax.set_xticks(range(len(labels)), labels, fontsize=8)
ax.set_yscale("log")
ax.set_ylabel("etcd put -> first 200 through nginx (ms, log)")
ax.set_title("Route latency: 20 samples each, bar = median")
ax.grid(axis="y", which="both", alpha=0.3)
fig.tight_layout()
fig.savefig(out, dpi=110)
