#!/usr/bin/python3
"""PNG plots from a framekit_bench JSON: one file per benchmark family, one
panel per variant, throughput (items/s, log) vs threads, one line per
allocator; thread counts above the number of CPUs are shaded
(oversubscribed).

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
import summarize as fk_results  # noqa: E402  (parsing lives in summarize.py)

STYLE = {
    "lockfree": dict(color="tab:red", marker="o", linewidth=2.2),
    "buddy-global": dict(color="tab:blue", marker="s"),
    "buddy-pcp": dict(color="tab:green", marker="^"),
    "simple": dict(color="tab:gray", marker="x", linestyle="--"),
    "buddy-global+mcs": dict(color="tab:cyan", marker="s", linestyle=":"),
    "buddy-global+mutex": dict(color="tab:purple", marker="s", linestyle="-."),
}


def plot_family(fam, rows, ncpus, out_dir, title_suffix):
    variants = sorted({v for (_, v, _, _) in rows})
    n = len(variants)
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.8 * nrows), squeeze=False)
    for i, var in enumerate(variants):
        ax = axes[i // cols][i % cols]
        allocs = sorted({a for (_, v, a, _) in rows if v == var},
                        key=lambda a: (a != fk_results.PRODUCT, a))
        maxt = 1
        for a in allocs:
            pts = sorted((t, r["ips"], r["timeout"]) for (_, v, al, t), r in rows.items()
                         if v == var and al == a and r["ips"])
            if not pts:
                continue
            maxt = max(maxt, pts[-1][0])
            st = STYLE.get(a, dict(marker="."))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=a, **st)
            to = [p for p in pts if p[2]]
            if to:  # budget hit: rate estimated, drawn as a hollow ring
                ax.scatter([p[0] for p in to], [p[1] for p in to], s=110, facecolors="none",
                           edgecolors=st.get("color", "k"), linewidths=1.5, zorder=5)
        if ncpus and maxt > ncpus:
            ax.axvspan(ncpus * 1.05, maxt * 1.1, color="0.9", zorder=0)
            ax.text(0.98, 0.02, "oversubscribed (> %d CPUs)" % ncpus, transform=ax.transAxes,
                    ha="right", va="bottom", fontsize=7, color="0.4")
        ax.set_xscale("log", base=2)
        ts = sorted({t for (_, v, _, t) in rows if v == var})
        ax.set_xticks(ts)
        ax.set_xticklabels([str(t) for t in ts])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_title(var or fam, fontsize=9)
        ax.set_xlabel("threads")
        ax.set_ylabel("items/s (aggregate)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    for j in range(n, nrows * cols):
        axes[j // cols][j % cols].axis("off")
    if any(r["timeout"] for r in rows.values()):
        title_suffix += "\nhollow ring: run hit the time budget (spinlock convoy), rate estimated"
    fig.suptitle("%s: throughput vs threads%s" % (fam, title_suffix), fontsize=11)
    fig.tight_layout()
    path = os.path.join(out_dir, "%s.png" % fam)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_overhead(rows, out_dir):
    items = sorted(((v, r["ns"]) for (_, v, _, _), r in rows.items() if r["ns"]),
                   key=lambda x: x[0])
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.barh([i[0] for i in items], [i[1] for i in items], color="tab:blue")
    for y, (_, ns) in enumerate(items):
        ax.text(ns, y, " %.3f ns" % ns, va="center", fontsize=8)
    ax.set_xlabel("ns per iteration (empty body)")
    ax.set_title("C wrapper overhead")
    fig.tight_layout()
    path = os.path.join(out_dir, "overhead.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("json")
    ap.add_argument("--out", required=True, help="directory for the PNGs")
    args = ap.parse_args()
    data = fk_results.load(args.json)
    res, _ = fk_results.results(data)
    ncpus = fk_results.num_cpus(data)
    os.makedirs(args.out, exist_ok=True)
    fams = sorted({k[0] for k in res})
    for fam in fams:
        rows = {k: v for k, v in res.items() if k[0] == fam}
        if fam == "overhead":
            path = plot_overhead(rows, args.out)
        else:
            suffix = " (logical NUMA split)" if fam == "numa" else ""
            path = plot_family(fam, rows, ncpus, args.out, suffix)
        if path:
            print("wrote", path)


if __name__ == "__main__":
    main()
