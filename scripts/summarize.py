#!/usr/bin/python3
"""Markdown summary of a framekit_bench run, built from the run's own
context (bench.json's context and run-info.txt beside it).

    /usr/bin/python3 scripts/summarize.py results/X/bench.json --out results/X/summary.md
    /usr/bin/python3 scripts/summarize.py --merge pass-*.json --merged-out bench.json

Also the JSON parsing shared with plot_results.py (parse_* functions; the
report_* functions only format). Names are "<family>/<axis>/<variant...>"
where <axis> is an allocator (allocation families) or "core:<variant>"
(core families, allocator fixed); Google Benchmark adds "/manual_time" and
"/threads:N". Pairwise U-tests come from compare.py's gbench package
(libbenchmark-tools).
"""
import argparse
import datetime
import json
import math
import os
import re
import statistics
import sys

PRODUCT = "lockfree"
CORE_DEFAULT = "core:default"
SPREAD_MARK = 1.5  # max/min over passes above this: flagged
GBENCH_TOOLS = "/usr/share/benchmark"

# What one item is, per family (the unit on every axis and table).
UNITS = {
    "seg_split": "split", "seg_slice_drop": "slice+drop", "seg_next": "frame (next)",
    "seg_clone_drop": "clone+drop", "seg_raw_roundtrip": "into_raw+from_raw",
    "shared": "clone+drop / slice+drop", "lookup": "from_in_use+drop",
    "alloc_raw_bulk": "alloc+free pair", "alloc_raw_repeat": "alloc+free pair",
    "alloc_raw_random": "alloc+free pair", "alloc_segment_bulk": "alloc_segment+drop",
    "alloc_segment_repeat": "alloc_segment+drop", "numa": "alloc_frame+drop",
    "contended_pipeline": "frame through the pipeline", "contended_slice": "slice+drop",
    "contended_split_drop": "frame returned", "overhead": "empty iteration",
}
CONTENDED = ("contended_pipeline", "contended_slice", "contended_split_drop")
COUNTERS = ("alloc_ns", "free_ns", "slice_ns", "drop_ns", "frames_per_s", "helped",
            "lookup_hit_ratio", "lookups", "mem_frames", "remote_frees", "fallback_allocs",
            "alloc_p50_ns", "alloc_p99_ns", "drop_p50_ns", "drop_p99_ns", "lookup_p50_ns",
            "lookup_p99_ns", "slice_p50_ns", "slice_p99_ns")


# ---------------------------------------------------------------- parsing

def load(path):
    with open(path) as f:
        return json.load(f)


def split_name(run_name):
    comps = run_name.split("/")
    variant = "/".join(c for c in comps[2:]
                       if not c.startswith("threads:") and not c.endswith("_time"))
    return comps[0], comps[1] if len(comps) > 1 else "", variant


def unit(family):
    return UNITS.get(family, "item")


def is_core(axis):
    return axis.startswith("core:")


def results(data):
    """({(family, variant, axis, threads): record}, [(name, error)]).

    A record holds medians over passes: ips (items/s over the run's common
    span), cpu_ns (thread CPU per item), util (CPU-seconds per second of
    span), counters; lo/hi (min and max ips over passes), reps, label and
    budget (some pass stopped at the per-run budget)."""
    groups, errors = {}, []
    for r in data.get("benchmarks", []):
        if r.get("run_type", "iteration") != "iteration":
            continue
        name = r.get("run_name", r["name"])
        fam, axis, var = split_name(name)
        key = (fam, var, axis, int(r.get("threads", 1)))
        if r.get("error_occurred"):
            errors.append((name, r.get("error_message", "")))
            continue
        g = groups.setdefault(key, {"ips": [], "cpu": [], "util": [], "c": {}, "label": "",
                                    "budget": 0})
        if "items_per_second" in r:
            g["ips"].append(float(r["items_per_second"]))
        if "cpu_ns_per_item" in r:
            g["cpu"].append(float(r["cpu_ns_per_item"]))
        if "cpu_util" in r:
            g["util"].append(float(r["cpu_util"]))
        if r.get("budget_hit"):
            g["budget"] += 1
        if r.get("label"):
            g["label"] = r["label"]
        for k in COUNTERS:
            if k in r:
                g["c"].setdefault(k, []).append(float(r[k]))
        if fam == "overhead":
            g["ns"] = float(r["real_time"]) * {"ns": 1, "us": 1e3, "ms": 1e6}.get(
                r.get("time_unit", "ns"), 1)
    out = {}
    for key, g in groups.items():
        med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
        out[key] = {
            "ips": med(g["ips"]), "lo": min(g["ips"]) if g["ips"] else None,
            "hi": max(g["ips"]) if g["ips"] else None, "reps": len(g["ips"]),
            "cpu_ns": med(g["cpu"]), "util": med(g["util"]),
            "counters": {k: med(v) for k, v in g["c"].items()},
            "label": g["label"].replace(", budget hit", "").replace("budget hit", ""),
            "budget": g["budget"], "ns": g.get("ns"),
        }
        r = out[key]
        r["spread"] = r["hi"] / r["lo"] if r["lo"] else 1.0
    return out, errors


def run_info(json_path):
    """run-info.txt (written by run-bench.sh) as a dict; {} if absent."""
    path = os.path.join(os.path.dirname(os.path.abspath(json_path)), "run-info.txt")
    try:
        with open(path) as f:
            return dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
    except OSError:
        return {}


def context(data, json_path):
    """One dict: the JSON context, then run-info.txt on top."""
    ctx = dict(data.get("context", {}))
    ctx.update(run_info(json_path))
    return ctx


def usable_cpus(ctx):
    for k in ("usable_cpus", "num_cpus"):
        try:
            return int(str(ctx.get(k)).split()[0])
        except (TypeError, ValueError):
            pass
    return 0


def load1(s):
    m = re.search(r"load average: ([0-9.]+)", s or "")
    return float(m.group(1)) if m else None


def title(ctx):
    """One line for plot titles: machine, mode, commit."""
    return "%s, %s CPUs, %s mode, commit %s" % (
        ctx.get("hostname", ctx.get("host_name", "?")), usable_cpus(ctx) or "?",
        ctx.get("mode", "?"), ctx.get("git_commit", "?"))


def utests(data, family, axis, other):
    """{(variant, threads): time p-value} for axis vs other within one family,
    from compare.py's gbench.report (Mann-Whitney U over the passes)."""
    try:
        sys.path.insert(0, GBENCH_TOOLS)
        from gbench import report as gr  # noqa: E402
    except Exception:  # noqa: BLE001 (libbenchmark-tools or scipy missing)
        return {}
    pat = lambda a: "^%s/%s/" % (re.escape(family), re.escape(a))  # noqa: E731
    try:
        j1 = gr.filter_benchmark(data, pat(axis), family + "/X/")
        j2 = gr.filter_benchmark(data, pat(other), family + "/X/")
        j1["benchmarks"] = [b for b in j1["benchmarks"] if not b.get("error_occurred")]
        j2["benchmarks"] = [b for b in j2["benchmarks"] if not b.get("error_occurred")]
        rep = gr.get_difference_report(j1, j2, utest=True)
    except Exception:  # noqa: BLE001
        return {}
    out = {}
    for r in rep:
        if r.get("utest") and r["name"] != "OVERALL_GEOMEAN":
            _, _, var = split_name(r["name"])
            m = re.search(r"threads:(\d+)", r["name"])
            out[(var, int(m.group(1)) if m else 1)] = r["utest"]["time_pvalue"]
    return out


# ---------------------------------------------------------------- reporting

def fmt_rate(x):
    if x is None:
        return "-"
    for u, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return "%.3g%s" % (x / div, u)
    return "%.3g" % x


def fmt_ns(x):
    if x is None:
        return "-"
    return "%.0f" % x if x >= 100 else "%.3g" % x


def cell(r):
    if not r or r["ips"] is None:
        return "-"
    s = fmt_rate(r["ips"])
    if r["spread"] > SPREAD_MARK:
        s += " †"
    if r["budget"]:
        s += " *"
    return s


def gmean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def report_machine(ctx, json_path):
    rows = [
        ("host", ctx.get("hostname", ctx.get("host_name"))),
        ("machine", "%s; %s" % (ctx.get("cpu_model", "?"), ctx.get("virtualization", "?"))),
        ("topology (hwloc)", ctx.get("topology")),
        ("usable CPUs", ctx.get("usable_cpus")),
        ("memory (host)", ctx.get("memory_total")),
        ("kernel", ctx.get("kernel")),
        ("C compiler (CMake)", ctx.get("c_compiler")),
        ("C++ compiler (CMake)", ctx.get("cxx_compiler")),
        ("C flags", "%s; bench objects: %s" % (ctx.get("c_flags", "?").strip(),
                                               ctx.get("bench_lto", "?"))),
        ("git commit", "%s (%s)" % (ctx.get("git_commit", "?"), ctx.get("git_subject", ""))),
        ("mode", "%s: %s pass(es), %s" % (ctx.get("mode", "?"), ctx.get("passes", "1"),
                                        ctx.get("gbench_args", ""))),
        ("extra arguments", ctx.get("extra_args") or "none"),
        ("FK_BENCH_* set", ", ".join("%s=%s" % (k[4:], v) for k, v in sorted(ctx.items())
                                     if k.startswith("env_")) or "none"),
        ("thread counts", ctx.get("thread_counts")),
        ("thread pinning", ctx.get("thread_pinning")),
        ("memory per run", ctx.get("memory")),
        ("blocks held per thread", ctx.get("held_per_thread")),
        ("NUMA mode", ctx.get("numa_mode")),
        ("allocators", ctx.get("framekit_allocators")),
        ("core variants (allocator %s)" % ctx.get("core_allocator", "?"), ctx.get("core_variants")),
        ("clock", ctx.get("clock")),
        ("latency sampling", ctx.get("latency_sampling")),
        ("per-run budget", "%s s" % ctx.get("run_budget_s", "?")),
        ("JSON", os.path.basename(json_path)),
    ]
    lines = ["## Machine, build and options", "", "| | |", "|---|---|"]
    lines += ["| %s | %s |" % (k, v) for k, v in rows if v not in (None, "")]
    return lines + [""]


def report_conditions(ctx):
    if "start_utc" not in ctx:
        return []
    lines = ["## Run conditions", "", "| | |", "|---|---|",
             "| started / ended (UTC) | %s / %s |" % (ctx.get("start_utc"), ctx.get("end_utc", "?")),
             "| duration | %s s |" % ctx.get("duration_s", "?"),
             "| `uptime` at start | %s |" % ctx.get("start_uptime", "?").strip(),
             "| `uptime` at end | %s |" % ctx.get("end_uptime", "?").strip(),
             "| other processes above 5 %% CPU at start | %s |" % (ctx.get("start_busy") or "none"),
             ""]
    l1, n = load1(ctx.get("start_uptime")), usable_cpus(ctx)
    if l1 is not None and n and (l1 > 0.5 * n or ctx.get("start_busy")):
        lines += ["**The machine was busy at the start** (1-minute load %.1f on %d CPUs). "
                  "Wall-clock figures carry that load; the CPU-time columns (thread CPU per item) "
                  "are the steadier figure, and differences under ~30 %% are noise." % (l1, n), ""]
    return lines


def report_reading(res, ctx):
    n = usable_cpus(ctx)
    lines = ["## How to read the numbers", "",
             "* **items/s** is the aggregate over threads: all threads' items divided by the run's "
             "common span, from the start barrier to the end of the last thread's work "
             "(one clock for every thread count). **CPU ns/item** is the threads' CPU time "
             "per item; **cpu util** is CPU-seconds per second of span (at most the CPU "
             "count). Medians over the passes; the unit of an item is named per family.",
             "* Allocation families compare allocators; core families compare core variants on "
             "one allocator (`%s`): their ratios are variant / `default`." %
             ctx.get("core_allocator", PRODUCT)]
    maxt = max((k[3] for k in res), default=1)
    if n and maxt > n:
        lines.append("* Thread counts above %d (the usable CPUs) are oversubscribed: they measure "
                     "behaviour under preemption (a descheduled lock holder, a descheduled "
                     "thread inside a CAS loop), not parallel scaling." % n)
    if any(r["spread"] > SPREAD_MARK for r in res.values()):
        lines.append("* `†`: the passes disagree by more than %.1fx (max/min items/s); the plots "
                     "draw the min-max band." % SPREAD_MARK)
    if any(r["budget"] for r in res.values()):
        lines.append("* `*`: some pass stopped at the per-run budget (%s s); items and span up "
                     "to that point are exact, the run is only shorter." %
                     ctx.get("run_budget_s", "?"))
    if "logical" in str(ctx.get("numa_mode", "")) and any(k[0] == "numa" for k in res):
        lines.append("* The `numa` family ran on a logical split (%s): node-aware allocator "
                     "paths are exercised, but every remote access is physically local." %
                     ctx.get("numa_mode"))
    if int(ctx.get("passes", "1") or 1) < 5:
        lines.append("* U-test p-values (compare.py) over %s pass(es): with 3 passes the "
                     "smallest possible two-sided p is 0.10, so they only flag overlap; "
                     "`--full` (5 passes) can reach 0.008." % ctx.get("passes", "1"))
    return lines + [""]


def report_contended(res):
    lines = []
    for fam in CONTENDED:
        keys = sorted(k for k in res if k[0] == fam)
        if not keys:
            continue
        lats = [c[:-7] for c in ("alloc_p50_ns", "drop_p50_ns", "lookup_p50_ns", "slice_p50_ns")
                if any(c in res[k]["counters"] for k in keys)]
        hdr = ["axis", "variant", "threads", "%s/s" % unit(fam), "CPU ns/item", "cpu util"]
        if fam == "contended_slice":
            hdr.append("frames/s")
        hdr += ["%s p50 / p99 ns" % l for l in lats]
        if fam == "contended_pipeline":
            hdr += ["lookup hits", "helped"]
        lines += ["### %s" % fam, "", "| " + " | ".join(hdr) + " |", "|---" * len(hdr) + "|"]
        for (f, var, axis, t) in sorted(keys, key=lambda k: (k[1], k[2] != PRODUCT, k[2], k[3])):
            r = res[(f, var, axis, t)]
            c = r["counters"]
            row = [axis, var, str(t), cell(r), fmt_ns(r["cpu_ns"]),
                   "%.2f" % r["util"] if r["util"] is not None else "-"]
            if fam == "contended_slice":
                row.append(fmt_rate(c.get("frames_per_s")))
            row += ["%s / %s" % (fmt_ns(c.get(l + "_p50_ns")), fmt_ns(c.get(l + "_p99_ns")))
                    for l in lats]
            if fam == "contended_pipeline":
                hr = c.get("lookup_hit_ratio")
                row += ["%.0f %%" % (100 * hr) if hr is not None else "-",
                        "%.0f" % c.get("helped", 0)]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if lines:
        lines = ["## Contended split, slice and next", "",
                 "Workloads: bench/README.md. Latencies are sampled (one op in 16), over all "
                 "threads of the run.", ""] + lines
    return lines


def report_ratios(data, res, ctx, core):
    """Axis value / reference per family and thread count: wall and CPU."""
    fams = sorted({k[0] for k in res if k[0] != "overhead" and is_core(k[2]) == core})
    if not fams:
        return []
    threads = sorted({k[3] for k in res})
    lines = []
    if core:
        ref = CORE_DEFAULT
        lines += ["## Core variants vs `default` (allocator `%s`)" % ctx.get("core_allocator", "?"),
                  "", "Geometric mean over each family's benchmarks of items/s variant / default "
                  "(> 1: the variant is faster); in brackets the same by CPU time per item.", ""]
    else:
        ref = PRODUCT
        lines += ["## `%s` vs each allocator" % PRODUCT, "",
                  "Geometric mean over each family's benchmarks of items/s %s / other (> 1: "
                  "%s is faster); in brackets the same by CPU time per item." % (PRODUCT, PRODUCT),
                  ""]
    # Axis values that appear in one family only (buddy-global's lock
    # flavours) stay in the per-benchmark table below.
    axes = sorted(a for a in {k[2] for k in res if k[0] in fams and k[2] != ref}
                  if len({k[0] for k in res if k[2] == a}) > 1)
    hdr = ["family"] + ["%s @%d" % (a, t) for a in axes for t in threads]
    lines += ["| " + " | ".join(hdr) + " |", "|---" * len(hdr) + "|"]
    detail = []
    for fam in fams:
        row = [fam]
        for a in axes:
            pv = utests(data, fam, ref, a) if not core else {}
            for t in threads:
                wall, cpu = [], []
                for (f, v, ax, tt), r in res.items():
                    if f != fam or ax != a or tt != t:
                        continue
                    p = res.get((f, v, ref, t))
                    if not p or not p["ips"] or not r["ips"]:
                        continue
                    num, den = (r, p) if core else (p, r)
                    wall.append(num["ips"] / den["ips"])
                    if num["cpu_ns"] and den["cpu_ns"]:
                        cpu.append(den["cpu_ns"] / num["cpu_ns"])
                    if not core:
                        detail.append((fam, v, a, t, num["ips"] / den["ips"],
                                       den["cpu_ns"] / num["cpu_ns"] if num["cpu_ns"] and den["cpu_ns"] else None,
                                       pv.get((v, t)), num["spread"] > SPREAD_MARK or den["spread"] > SPREAD_MARK))
                g, gc = gmean(wall), gmean(cpu)
                row.append("-" if g is None else "%.2f (%.2f)" % (g, gc) if gc else "%.2f" % g)
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    if detail:
        lines += ["Per benchmark (allocation families): `%s` / other, wall (CPU), and the U-test "
                  "p-value of the per-item time over the passes (compare.py)." % PRODUCT, "",
                  "| benchmark | other | threads | wall | CPU | p |", "|---|---|---|---|---|---|"]
        for fam, v, a, t, w, c, p, noisy in sorted(detail):
            lines.append("| %s/%s | %s | %d | %.2f%s | %s | %s |" % (
                fam, v, a, t, w, " †" if noisy else "", "%.2f" % c if c else "-",
                "%.2f" % p if p is not None else "-"))
        lines.append("")
    return lines


def report_all(res):
    lines = ["## All results", "",
             "Per family: items/s (median over passes; `†` spread, `*` budget) and, after the "
             "slash, CPU ns per item.", ""]
    for fam in sorted({k[0] for k in res if k[0] != "overhead"}):
        axes = sorted({k[2] for k in res if k[0] == fam},
                      key=lambda a: (a not in (PRODUCT, CORE_DEFAULT), a))
        lines += ["### %s (item: %s)" % (fam, unit(fam)), "",
                  "![%s](plots/%s.png)" % (fam, fam), "",
                  "| variant | threads | " + " | ".join(axes) + " | note |",
                  "|---" * (3 + len(axes)) + "|"]
        for var in sorted({k[1] for k in res if k[0] == fam}):
            for t in sorted({k[3] for k in res if k[0] == fam and k[1] == var}):
                cells, note = [], ""
                for a in axes:
                    r = res.get((fam, var, a, t))
                    cells.append("%s / %s" % (cell(r), fmt_ns(r["cpu_ns"])) if r else "-")
                    if r and r["label"].strip(", "):
                        note = r["label"].strip(", ")
                lines.append("| %s | %d | %s | %s |" % (var or "-", t, " | ".join(cells), note))
        lines.append("")
    return lines


def report_overhead(res):
    rows = sorted((k[1], r["ns"]) for k, r in res.items() if k[0] == "overhead" and r["ns"])
    if not rows:
        return []
    lines = ["## C wrapper overhead (empty body, 1 thread)", "",
             "| loop | ns per iteration |", "|---|---|"]
    lines += ["| %s | %.3g |" % (v, ns) for v, ns in rows]
    return lines + ["", "Each body is one compiler barrier per iteration. `c_keep_running`: one "
                    "call into the C++ shim per iteration; `c_keep_running_batch:1000`: one per "
                    "1000; `cpp_native_range_for`: Google Benchmark's own loop. framekit bodies "
                    "call the shim once per batch of 8 to 1024 operations.", ""]


def report_limits(res, ctx):
    n = usable_cpus(ctx)
    maxt = max((k[3] for k in res), default=1)
    lines = []
    if n and n <= 4:
        lines.append("* With %d usable CPUs this run shows contention between %d CPUs and "
                     "behaviour under oversubscription, not scaling; run the same command on a "
                     "larger machine (the thread counts follow its CPU count)." % (n, n))
    if "logical" in str(ctx.get("numa_mode", "")):
        lines.append("* NUMA: %s. On a machine with several nodes the default is `--numa real`." %
                     ctx.get("numa_mode"))
    if maxt > n > 0 and any(r["budget"] for r in res.values()):
        lines.append("* Runs marked `*` stopped at the per-run budget: a lock handed to a "
                     "descheduled waiter (a convoy, the lock-based baselines' real behaviour when "
                     "oversubscribed) or, on a loaded machine, threads starved by other work.")
    if not lines:
        return []
    return ["## What this run cannot show", ""] + lines + [""]


# ---------------------------------------------------------------- merge, main

def merge(paths, out):
    """Merge whole-suite passes into one JSON: the first pass's context
    (plus passes=N) and every run, tagged repetition_index = pass - 1."""
    merged = None
    for i, p in enumerate(paths):
        d = load(p)
        if merged is None:
            merged = {"context": dict(d.get("context", {})), "benchmarks": []}
            merged["context"].pop("pass", None)
        for r in d.get("benchmarks", []):
            r["repetition_index"] = i
            r["repetitions"] = len(paths)
            r["pass"] = i + 1
            merged["benchmarks"].append(r)
    merged["context"]["passes"] = str(len(paths))
    with open(out, "w") as f:
        json.dump(merged, f, indent=1)
    print("merged %d passes (%d runs) into %s" % (len(paths), len(merged["benchmarks"]), out))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--merge":
        ap = argparse.ArgumentParser(description="merge passes")
        ap.add_argument("--merge", nargs="+", required=True)
        ap.add_argument("--merged-out", required=True)
        a = ap.parse_args()
        merge(a.merge, a.merged_out)
        return
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json")
    ap.add_argument("--out", help="summary.md path (default: stdout)")
    args = ap.parse_args()
    data = load(args.json)
    ctx = context(data, args.json)
    res, errors = results(data)
    lines = ["# framekit benchmark summary", "",
             "%s. Generated %s by `scripts/summarize.py` from `%s`." % (
                 title(ctx), datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                 os.path.basename(args.json)), ""]
    lines += report_machine(ctx, args.json)
    lines += report_conditions(ctx)
    lines += report_reading(res, ctx)
    if errors:
        lines += ["## Failed runs", ""] + ["* `%s`: %s" % e for e in errors] + [""]
    lines += report_contended(res)
    lines += report_ratios(data, res, ctx, core=False)
    lines += report_ratios(data, res, ctx, core=True)
    lines += report_all(res)
    lines += report_overhead(res)
    lines += report_limits(res, ctx)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print("wrote", args.out)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
