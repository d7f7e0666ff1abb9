#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Per-pass thread CPU ns per pair (cpu_ns_per_item) of every row, min/median/max."""
import json, sys, statistics
rows = {}
for p in sys.argv[1:]:
    for b in json.load(open(p))["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        parts = b["run_name"].split("/")
        key = "/".join([parts[0]] + [x for x in parts[2:] if x != "manual_time"])
        v = b.get("cpu_ns_per_item") or b["cpu_time"] / b["iterations"]
        rows.setdefault(key, {}).setdefault(parts[1], []).append(v)
print("| row | lockfree passes | lockfree med | llfree passes | llfree med | ratio |")
print("|---|---|---|---|---|---|")
for k in sorted(rows):
    a, l = rows[k].get("lockfree", []), rows[k].get("llfree", [])
    ma, ml = statistics.median(a), statistics.median(l)
    print(f"| {k} | {' '.join(f'{x:.1f}' for x in a)} | {ma:.1f} | {' '.join(f'{x:.1f}' for x in l)} | {ml:.1f} | {ma/ml:.2f} |")
