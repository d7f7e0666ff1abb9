#!/usr/bin/python3
"""PNG plots of a framekit_bench run: one file per family, one row per
variant. Left: aggregate items/s over the run's common span (median line,
min-max over passes as a band); middle: thread CPU time per item; right
(contended families): sampled latency p50 (solid) and p99 (dashed). One
line per allocator (allocation families) or core variant (core families);
the unit of an item is on the axis; thread counts above the usable CPUs
are shaded; the title names machine, mode and commit; the legend sits
outside the panels.

    /usr/bin/python3 scripts/plot_results.py results/X/bench.json --out results/X/plots
"""
import argparse
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_results as S  # noqa: E402  (the parsing layer, shared with summarize.py)

# Optional looks for known series; any other name (a new allocator or core
# variant read from the results) gets matplotlib's next colour.
STYLE = {
    "lockfree": dict(color="tab:red", marker="o", linewidth=2.2),
    "buddy-global": dict(color="tab:blue", marker="s"),
    "buddy-pcp": dict(color="tab:green", marker="^"),
    "simple": dict(color="tab:gray", marker="x", linestyle="--"),
    "buddy-global+mcs": dict(color="tab:cyan", marker="s", linestyle=":"),
    "buddy-global+mutex": dict(color="tab:purple", marker="s", linestyle="-."),
    "core:default": dict(color="tab:red", marker="o", linewidth=2.2),
    "core:raw_off": dict(color="tab:blue", marker="s"),
    "core:refcount_checked": dict(color="tab:green", marker="^"),
    "core:lookup_rwlock": dict(color="tab:purple", marker="D"),
}
LATENCY_OP = {"contended_pipeline": "drop", "contended_split_drop": "drop",
              "contended_slice": "slice"}


def style(axis):
    return dict(STYLE.get(axis, dict(marker=".")))


def shade(ax, ncpus, maxt):
    if ncpus and maxt > ncpus:
        ax.axvspan(ncpus * 1.2, maxt * 1.3, color="0.92", zorder=0)


def xaxis(ax, ts):
    ax.set_xscale("log", base=2)
    ax.set_xticks(ts)
    ax.set_xticklabels([str(t) for t in ts])
    ax.minorticks_off()
    ax.set_xlabel("threads")
    ax.grid(True, which="major", alpha=0.3)


def plot_family(fam, rows, ctx, out_dir):
    ncpus = S.usable_cpus(ctx)
    variants = sorted({k[1] for k in rows})
    lat = LATENCY_OP.get(fam)
    cols = 3 if lat else 2
    fig, axes = plt.subplots(len(variants), cols, figsize=(4.6 * cols + 2.3, 3.3 * len(variants) + 0.9),
                             squeeze=False)
    handles = {}
    item = S.unit(fam)
    for i, var in enumerate(variants):
        axs = axes[i]
        order = sorted({k[2] for k in rows if k[1] == var},
                       key=lambda a: (a not in (S.PRODUCT, S.CORE_DEFAULT), a))
        ts = sorted({k[3] for k in rows if k[1] == var})
        for a in order:
            pts = sorted((k[3], r) for k, r in rows.items() if k[1] == var and k[2] == a)
            st = style(a)
            x = [t for t, r in pts if r["ips"]]
            if x:
                h, = axs[0].plot(x, [r["ips"] for t, r in pts if r["ips"]], label=a, **st)
                handles.setdefault(a, h)
                axs[0].fill_between(x, [r["lo"] for t, r in pts if r["ips"]],
                                    [r["hi"] for t, r in pts if r["ips"]],
                                    color=h.get_color(), alpha=0.15, linewidth=0)
                bud = [(t, r["ips"]) for t, r in pts if r["ips"] and r["budget"]]
                if bud:
                    axs[0].scatter(*zip(*bud), s=110, facecolors="none",
                                   edgecolors=h.get_color(), linewidths=1.5, zorder=5)
            c = [(t, r["cpu_ns"]) for t, r in pts if r["cpu_ns"]]
            if c:
                axs[1].plot(*zip(*c), **st)
            if lat:
                for q, ls in (("p50", "-"), ("p99", "--")):
                    p = [(t, r["counters"].get("%s_%s_ns" % (lat, q))) for t, r in pts]
                    p = [(t, v) for t, v in p if v]
                    if p:
                        s2 = dict(st, linestyle=ls)
                        axs[2].plot(*zip(*p), **s2)
        for ax in axs:
            xaxis(ax, ts)
            shade(ax, ncpus, max(ts))
            ax.set_yscale("log")
        axs[0].set_ylabel("%s\nper s, all threads" % item)
        axs[0].set_title("%s: throughput (wall, common span)" % (var or fam), fontsize=9)
        axs[1].set_ylabel("CPU ns per\n%s" % item)
        axs[1].set_title("%s: thread CPU time per item" % (var or fam), fontsize=9)
        if lat:
            axs[2].set_ylabel("%s latency, ns" % lat)
            axs[2].set_title("%s: %s p50 (solid), p99 (dashed)" % (var or fam, lat), fontsize=9)
    notes = ["band: min-max over passes"]
    if ncpus and max(k[3] for k in rows) > ncpus:
        notes.append("shaded: threads > %d CPUs (oversubscribed)" % ncpus)
    if any(r["budget"] for r in rows.values()):
        notes.append("ring: stopped at the run budget")
    if fam == "numa" and "logical" in str(ctx.get("numa_mode", "")):
        notes.append("NUMA %s" % ctx.get("numa_mode"))
    fig.suptitle("%s (item: %s)\n%s\n%s" % (fam, item, S.title(ctx), "; ".join(notes)),
                 fontsize=10)
    fig.legend(list(handles.values()), list(handles.keys()), loc="center right",
               fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 2.3 / (4.6 * cols + 1.6), 1))
    path = os.path.join(out_dir, "%s.png" % fam)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_overhead(rows, ctx, out_dir):
    items = sorted(((k[1], r["ns"]) for k, r in rows.items() if r["ns"]), key=lambda x: x[1])
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.barh([i[0] for i in items], [i[1] for i in items], color="tab:blue")
    for y, (_, ns) in enumerate(items):
        ax.text(ns, y, " %.3g ns" % ns, va="center", fontsize=8)
    ax.set_xlim(0, max(i[1] for i in items) * 1.3)
    ax.set_xlabel("ns per iteration (body: one compiler barrier)")
    ax.set_title("C wrapper overhead, 1 thread\n%s" % S.title(ctx), fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, "overhead.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json")
    ap.add_argument("--out", required=True, help="directory for the PNGs")
    args = ap.parse_args()
    data = S.load(args.json)
    ctx = S.context(data, args.json)
    res, _ = S.results(data)
    os.makedirs(args.out, exist_ok=True)
    for fam in sorted({k[0] for k in res}):
        rows = {k: v for k, v in res.items() if k[0] == fam}
        path = (plot_overhead(rows, ctx, args.out) if fam == "overhead"
                else plot_family(fam, rows, ctx, args.out))
        if path:
            print("wrote", path)


if __name__ == "__main__":
    main()
