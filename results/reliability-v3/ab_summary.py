#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Medians of cpu_ns_per_item per benchmark over the A-*.json and B-*.json
runs that ab.sh wrote into one directory; prints one line per benchmark:
name, median A, median B, B/A, and the per-run values."""
import glob
import json
import os
import statistics
import sys


def load(d, tag):
    vals = {}
    for f in sorted(glob.glob(os.path.join(d, f"{tag}-*.json"))):
        with open(f) as fh:
            for b in json.load(fh)["benchmarks"]:
                if b.get("run_type") == "iteration" and "cpu_ns_per_item" in b:
                    vals.setdefault(b["name"], []).append(b["cpu_ns_per_item"])
    return vals


def main():
    d = sys.argv[1]
    a, b = load(d, "A"), load(d, "B")
    print(f"{'benchmark':<58} {'A':>7} {'B':>7} {'B/A':>6} {'min':>6}  runs A | runs B")
    ratios, mins = [], []
    for name in sorted(set(a) & set(b)):
        ma, mb = statistics.median(a[name]), statistics.median(b[name])
        ratios.append(mb / ma)
        mins.append(min(b[name]) / min(a[name]))
        short = name.replace("/manual_time", "")
        print(f"{short:<58} {ma:7.1f} {mb:7.1f} {mb / ma:6.3f} {mins[-1]:6.3f}  "
              + " ".join(f"{v:.1f}" for v in a[name]) + " | "
              + " ".join(f"{v:.1f}" for v in b[name]))
    if ratios:
        print(f"geometric mean over {len(ratios)} rows: B/A of medians "
              f"{statistics.geometric_mean(ratios):.3f}, of minima "
              f"{statistics.geometric_mean(mins):.3f}")


if __name__ == "__main__":
    main()
