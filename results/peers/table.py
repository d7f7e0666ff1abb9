#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""One Markdown table from framekit_bench JSON files: a row per benchmark
(family/order/held/threads), a column per allocator, ns per alloc+free pair.

usage: table.py [--cpu] BENCH.json...

Median over every repetition in the files of wall time per item
(1e9 / items_per_second), or with --cpu of thread CPU time per item
(cpu_ns_per_item). Allocators in the order they first appear.
"""
import json
import statistics
import sys


def load(paths):
    rows, allocs = {}, []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        for b in data["benchmarks"]:
            if b.get("run_type") != "iteration" or b.get("error_occurred"):
                continue
            parts = b["run_name"].split("/")
            alloc = parts[1]
            key = "/".join([parts[0]] + [p for p in parts[2:] if p != "manual_time"])
            if alloc not in allocs:
                allocs.append(alloc)
            rows.setdefault(key, {}).setdefault(alloc, []).append(b)
    return rows, allocs


def report(rows, allocs, cpu):
    metric = (lambda b: b["cpu_ns_per_item"]) if cpu else (lambda b: 1e9 / b["items_per_second"])
    print("| benchmark | " + " | ".join(allocs) + " |")
    print("|---|" + "---|" * len(allocs))
    for key in sorted(rows):
        cells = []
        for a in allocs:
            runs = rows[key].get(a)
            cells.append("%.1f" % statistics.median(metric(b) for b in runs) if runs else "-")
        print("| %s | %s |" % (key, " | ".join(cells)))


if __name__ == "__main__":
    args = sys.argv[1:]
    cpu = "--cpu" in args
    paths = [a for a in args if a != "--cpu"]
    if not paths:
        sys.exit(__doc__)
    report(*load(paths), cpu)
