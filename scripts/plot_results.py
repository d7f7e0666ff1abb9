#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PNG plots of a framekit_bench run: one file per family, one row per
variant. Left: aggregate items/s over the run's common span (median line,
min-max over passes as a band); middle: thread CPU time per item; right
(contended families): sampled latency p50 (solid), p99 (dashed) and
p99.9 (dotted). One line per allocator (allocation families) or core
variant (core families); the unit of an item is on the axis; thread counts
above the usable CPUs are shaded; the title names machine, mode and commit;
the legend sits outside the panels.

The opt-in families have plots of their own (bench/README.md):
  frag.png         huge frames available, % of the ideal free/512, over the
                   iterations: one panel per thread count, a line per
                   allocator (median over seeds, min-max band), dashed the
                   allocator's own count of free order-9 blocks; from
                   frag_iterations.csv beside the JSON (or --series DIR);
  frag_blocks.png  free frames of every 2 MiB block at the end, one strip
                   per allocator and thread count (the first seed);
  fill.png         alloc and free cost against occupancy, order 0 and 9:
                   p50 (solid), p99.9 (dotted), per allocator.

    /usr/bin/python3 scripts/plot_results.py results/X/bench.json --out results/X/plots
"""
import argparse
import csv
import math
import os
import statistics
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
                for q, ls in (("p50", "-"), ("p99", "--"), ("p999", ":")):
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
            axs[2].set_title("%s: %s p50 (solid), p99 (dashed), p99.9 (dotted)" % (var or fam, lat),
                             fontsize=9)
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


# ---------------------------------------------------------------- opt-in families

def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def frag_series(rows):
    """{(allocator, threads): {iteration: ([huge %], [allocator's own %])}}."""
    out = {}
    for r in rows:
        key = (r["allocator"], int(r["threads"]))
        it = out.setdefault(key, {}).setdefault(int(r["iteration"]), ([], []))
        ideal = int(r["huge_ideal"])
        it[0].append(float(r["huge_pct_ideal"]))
        if int(r["alloc_free_order9"]) >= 0 and ideal:
            it[1].append(100.0 * int(r["alloc_free_order9"]) / ideal)
    return out


def frag_table(rows):
    """Markdown lines: per allocator and thread count, the spread over seeds."""
    last = max(int(r["iteration"]) for r in rows)
    cells = {}
    for r in rows:
        c = cells.setdefault((r["allocator"], int(r["threads"])), {"start": [], "end": [],
                                                                     "own": [], "moves": [],
                                                                     "unusable": []})
        it = int(r["iteration"])
        if it == 0:
            c["start"].append(float(r["huge_pct_ideal"]))
        if it == last:
            c["end"].append(float(r["huge_pct_ideal"]))
            if int(r["alloc_free_order9"]) >= 0 and int(r["huge_ideal"]):
                c["own"].append(100.0 * int(r["alloc_free_order9"]) / int(r["huge_ideal"]))
            c["moves"].append(int(r["moves"]))
            c["unusable"].append(float(r["unusable_index_order9"]))

    def spread(xs, fmt="%.1f"):
        if not xs:
            return "-"
        xs = sorted(xs)
        if xs[0] == xs[-1]:
            return fmt % xs[0]
        return (fmt + " / " + fmt + " / " + fmt) % (xs[0], statistics.median(xs), xs[-1])
    lines = ["| allocator | threads | seeds | huge %% of ideal, iteration 0 | after %d "
             "(min / median / max) | allocator's own free order-9, %% of ideal | "
             "unusable index (order 9) | moves to whole blocks |" % last,
             "|---|---|---|---|---|---|---|---|"]
    for (a, t) in sorted(cells, key=lambda k: (k[0] != S.PRODUCT, k[0], k[1])):
        c = cells[(a, t)]
        lines.append("| %s | %d | %d | %s | %s | %s | %s | %s |" % (
            a, t, len(c["end"]), spread(c["start"]), spread(c["end"]), spread(c["own"]),
            spread(c["unusable"], "%.3f"), spread(c["moves"], "%d")))
    return lines


def plot_frag(rows, ctx, out_dir):
    print("\n".join(frag_table(rows)))
    series = frag_series(rows)
    threads = sorted({t for _, t in series})
    allocs = sorted({a for a, _ in series}, key=lambda a: (a != S.PRODUCT, a))
    seeds = sorted({int(r["seed"]) for r in rows})
    fig, axes = plt.subplots(1, len(threads), figsize=(5.2 * len(threads) + 2.3, 4.2),
                             squeeze=False)
    handles = {}
    for ax, t in zip(axes[0], threads):
        for a in allocs:
            pts = series.get((a, t))
            if not pts:
                continue
            its = sorted(pts)
            st = dict(style(a), marker=None)
            med = [statistics.median(pts[i][0]) for i in its]
            h, = ax.plot(its, med, label=a, **st)
            handles.setdefault(a, h)
            ax.fill_between(its, [min(pts[i][0]) for i in its], [max(pts[i][0]) for i in its],
                            color=h.get_color(), alpha=0.15, linewidth=0)
            own = [(i, statistics.median(pts[i][1])) for i in its if pts[i][1]]
            if own:
                ax.plot(*zip(*own), color=h.get_color(), linestyle="--", linewidth=0.9)
        ax.set_ylim(0, 105)
        ax.set_xlabel("iteration")
        ax.set_title("%d thread%s" % (t, "" if t == 1 else "s"), fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("huge frames available,\n% of ideal (free / 512)")
    fig.suptitle("frag: aligned 2 MiB blocks no thread holds a frame of (solid: median over %d "
                 "seed(s), band min-max; dashed: the allocator's own free order-9 count)\n%s"
                 % (len(seeds), S.title(ctx)), fontsize=9)
    fig.legend(list(handles.values()), list(handles.keys()), loc="center right", fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 2.3 / (5.2 * len(threads) + 2.3), 1))
    path = os.path.join(out_dir, "frag.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_frag_blocks(rows, ctx, out_dir):
    seed = min(int(r["seed"]) for r in rows)
    maps = {}
    for r in rows:
        if int(r["seed"]) == seed:
            maps.setdefault((r["allocator"], int(r["threads"])), []).append(
                (int(r["block"]), int(r["free_frames"])))
    allocs = sorted({a for a, _ in maps}, key=lambda a: (a != S.PRODUCT, a))
    threads = sorted({t for _, t in maps})
    nblocks = max(len(v) for v in maps.values())
    cols = 64 if nblocks >= 1024 else 32
    nrows = -(-nblocks // cols)
    fig, axes = plt.subplots(len(allocs), len(threads), squeeze=False,
                             figsize=(3.8 * len(threads) + 1.2,
                                      (0.07 * nrows + 0.55) * len(allocs) + 1.0))
    im = None
    for i, a in enumerate(allocs):
        for j, t in enumerate(threads):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if (a, t) not in maps:
                continue
            free = [f for _, f in sorted(maps[(a, t)])]
            whole = sum(1 for f in free if f == 512)
            free += [0] * (-len(free) % cols)
            grid = [free[k:k + cols] for k in range(0, len(free), cols)]
            im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=512, aspect="auto",
                           interpolation="nearest")
            ax.set_title("%s, %d thread%s: %d of %d whole" % (
                a, t, "" if t == 1 else "s", whole, len(maps[(a, t)])), fontsize=8)
    fig.suptitle("frag: free frames per 2 MiB block after the last iteration (seed %d; "
                 "%d blocks per row, address order)\n%s" % (seed, cols, S.title(ctx)),
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    if im is not None:
        cax = fig.add_axes([0.9, 0.1, 0.02, 0.75])
        fig.colorbar(im, cax=cax, label="free frames (of 512)")
    path = os.path.join(out_dir, "frag_blocks.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def fill_records(data):
    """{(allocator, order, threads): {occupancy: {counter: median}}}."""
    groups = {}
    for r in data.get("benchmarks", []):
        if r.get("run_type", "iteration") != "iteration" or r.get("error_occurred"):
            continue
        comps = r.get("run_name", r["name"]).split("/")
        if comps[0] != "fill":
            continue
        kv = dict(c.split(":", 1) for c in comps[2:] if ":" in c)
        key = (comps[1], int(kv["order"]), int(r.get("threads", 1)))
        g = groups.setdefault(key, {}).setdefault(int(kv["occupancy"]), {})
        for c in ("alloc_p50_ns", "free_p50_ns", "alloc_p999_ns", "free_p999_ns"):
            if c in r:
                g.setdefault(c, []).append(float(r[c]))
    return {k: {occ: {c: statistics.median(v) for c, v in cs.items()} for occ, cs in g.items()}
            for k, g in groups.items()}


def plot_fill(data, ctx, out_dir):
    rec = fill_records(data)
    if not rec:
        return None
    threads = sorted({k[2] for k in rec})
    allocs = sorted({k[0] for k in rec}, key=lambda a: (a != S.PRODUCT, a))
    panels = [(o, op) for o in (0, 9) for op in ("alloc", "free")]
    fig, axes = plt.subplots(len(threads), len(panels), squeeze=False,
                             figsize=(4.2 * len(panels) + 2.3, 3.2 * len(threads) + 0.9))
    handles = {}
    for i, t in enumerate(threads):
        for j, (o, op) in enumerate(panels):
            ax = axes[i][j]
            for a in allocs:
                g = rec.get((a, o, t))
                if not g:
                    continue
                occ = sorted(g)
                st = style(a)
                mid = [(x, g[x].get(op + "_p50_ns")) for x in occ if g[x].get(op + "_p50_ns")]
                if mid:
                    h, = ax.plot(*zip(*mid), label=a, **st)
                    handles.setdefault(a, h)
                    tail = [(x, g[x].get(op + "_p999_ns")) for x in occ
                            if g[x].get(op + "_p999_ns")]
                    if tail:
                        ax.plot(*zip(*tail), color=h.get_color(), linestyle=":", marker=None)
            ax.set_yscale("log")
            ax.set_xlabel("occupancy, %")
            ax.grid(True, alpha=0.3)
            ax.set_title("order %d %s, %d thread%s" % (o, op, t, "" if t == 1 else "s"),
                         fontsize=9)
        axes[i][0].set_ylabel("ns per operation")
    fig.suptitle("fill: cost against occupancy (solid: p50, dotted: p99.9; the means, in the "
                 "JSON, carry the preemptions of a shared machine)\n%s" % S.title(ctx),
                 fontsize=9)
    fig.legend(list(handles.values()), list(handles.keys()), loc="center right", fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 2.3 / (4.2 * len(panels) + 2.3), 1))
    path = os.path.join(out_dir, "fill.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json")
    ap.add_argument("--out", required=True, help="directory for the PNGs")
    ap.add_argument("--series", help="directory of frag's CSVs (default: beside the JSON)")
    args = ap.parse_args()
    data = S.load(args.json)
    ctx = S.context(data, args.json)
    res, _ = S.results(data)
    os.makedirs(args.out, exist_ok=True)
    series = args.series or os.path.dirname(os.path.abspath(args.json))
    for fam in sorted({k[0] for k in res}):
        rows = {k: v for k, v in res.items() if k[0] == fam}
        if fam == "frag":
            paths = []
            for name, fn in (("frag_iterations.csv", plot_frag),
                             ("frag_blocks.csv", plot_frag_blocks)):
                csv_path = os.path.join(series, name)
                if os.path.exists(csv_path):
                    paths.append(fn(read_csv(csv_path), ctx, args.out))
                else:
                    print("plot_results: no %s: frag not plotted" % csv_path)
        elif fam == "fill":
            paths = [plot_fill(data, ctx, args.out)]
        elif fam == "overhead":
            paths = [plot_overhead(rows, ctx, args.out)]
        else:
            paths = [plot_family(fam, rows, ctx, args.out)]
        for path in paths:
            if path:
                print("wrote", path)


if __name__ == "__main__":
    main()
