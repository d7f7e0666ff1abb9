#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Plug-in against linked-in cost from one framekit_bench JSON.

usage: compare.py [--names LINKED,PLUGIN] BENCH.json...   (default bitmap-linked,bitmap)

Pairs every benchmark row of LINKED with the same row of PLUGIN (second
name component), takes the median over the repetitions in all files of wall
time per item (real_time) and of thread CPU time per item (cpu_ns_per_item),
and prints one Markdown row per pair with plug-in / linked ratios.
"""
import json
import statistics
import sys


def load(paths):
    rows, ctx = {}, {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        ctx = data.get("context", {})
        for b in data["benchmarks"]:
            if b.get("run_type") != "iteration" or b.get("error_occurred"):
                continue
            parts = b["run_name"].split("/")
            key = (parts[1], "/".join([parts[0]] + parts[2:]))
            rows.setdefault(key, []).append(b)
    return ctx, rows


def report(ctx, rows, linked, plugin):
    print("host: %s; %s" % (ctx.get("host_name", "?"), ctx.get("framekit_plugins", "")))
    print("| row | linked ns/item (wall) | plug-in | ratio | linked CPU ns/item | plug-in | ratio | reps |")
    print("|---|---|---|---|---|---|---|---|")
    ratios, wratios = [], []
    for (alloc, rest), runs in sorted(rows.items(), key=lambda kv: kv[0][1]):
        if alloc != linked or (plugin, rest) not in rows:
            continue
        other = rows[(plugin, rest)]
        med = lambda rs, f: statistics.median(f(r) for r in rs)
        wall = lambda r: 1e9 / r["items_per_second"]
        cpu = lambda r: r["cpu_ns_per_item"]
        wl, wp = med(runs, wall), med(other, wall)
        cl, cp = med(runs, cpu), med(other, cpu)
        ratios.append(cp / cl)
        wratios.append(wp / wl)
        print("| %s | %.1f | %.1f | %.3f | %.1f | %.1f | %.3f | %d/%d |" % (
            rest, wl, wp, wp / wl, cl, cp, cp / cl, len(runs), len(other)))
    if ratios:
        print("\ngeometric mean of the ratios: CPU time %.3f, wall time %.3f" % (
            statistics.geometric_mean(ratios), statistics.geometric_mean(wratios)))


if __name__ == "__main__":
    args = sys.argv[1:]
    names = ["bitmap-linked", "bitmap"]
    if args[:1] == ["--names"] and len(args) > 1:
        names = args[1].split(",")
        args = args[2:]
    if not args or len(names) != 2:
        sys.exit(__doc__)
    report(*load(args), *names)
