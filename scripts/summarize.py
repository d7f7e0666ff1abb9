#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Markdown summary of a framekit_bench run, built from the run's own
context (bench.json's context and run-info.txt beside it), and its tables
as CSV beside the JSON (summary.csv: every result; summary-ratios.csv: the
ratio tables).

    /usr/bin/python3 scripts/summarize.py results/X/bench.json --out results/X/summary.md
    /usr/bin/python3 scripts/summarize.py --merge pass-*.json --merged-out bench.json

An interrupted run (run-info.txt says so, or the JSON is truncated: its
complete runs are used) is summarised and marked PARTIAL; a --quick run is
marked as a smoke test; results too thin to compare are flagged. Exit: 0
ok, 1 a file is not a readable benchmark JSON, 2 bad usage.

Reporting only: scripts/bench_results.py parses the JSON into records and
computes the comparisons (shared with plot_results.py); the report_*
functions here turn them into Markdown.
"""
import argparse
import csv
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_results import (CONTENDED, CORE_DEFAULT, MIN_CPU_SHARE, MIN_SPAN_S,  # noqa: E402
                           PRODUCT, SPREAD_MARK, BenchJSONError, context, load, load1, merge,
                           ratios, results, title, unit, usable_cpus, weak)

THIN_MARK = {"low_cpu": "‡", "short": "§"}


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
    for w in sorted(r.get("weak", ())):
        s += " " + THIN_MARK[w]
    return s


def partial(ctx):
    """Why the run is partial (a sentence), or None."""
    why = []
    if ctx.get("interrupted"):
        why.append("the run was interrupted after %s of %s pass(es); the finished ones are "
                   "summarised" % (ctx.get("passes", "?"), ctx.get("passes_planned", "?")))
    if ctx.get("truncated_json"):
        why.append("the JSON was truncated (%s); the runs of an unfinished pass are missing or "
                   "incomplete" % ctx["truncated_json"])
    return "; ".join(why) or None


def report_banners(ctx):
    lines = []
    why = partial(ctx)
    if why:
        lines += ["## PARTIAL run", "", "**PARTIAL: %s.** Medians are over fewer passes than "
                  "the mode plans, and a benchmark missing below did not run." % why, ""]
    if ctx.get("mode") == "quick":
        lines += ["## SMOKE TEST (`--quick`)", "",
                  "**This is a smoke test: it shows that every benchmark runs, not how fast.** "
                  "Each figure comes from one pass of %s samples (`%s`), so start-up costs, "
                  "page faults and a single preemption dominate, and its ratios can contradict "
                  "the default mode's. Compare and quote default or `--full` "
                  "runs only." % ("5 ms" if "0.005" in ctx.get("gbench_args", "") else "short",
                                   ctx.get("gbench_args", "?")), ""]
    return lines


def report_library(ctx, res):
    """Google Benchmark's own build type (Debian's libbenchmark says DEBUG)."""
    if str(ctx.get("library_build_type", "")).lower() != "debug":
        return []
    ov = {k[1]: r["ns"] for k, r in res.items() if k[0] == "overhead" and r.get("ns")}
    measured = ""
    if "c_keep_running" in ov:
        measured = (" In this run that call cost %.3g ns per iteration (`overhead` family, "
                    "`c_keep_running`)." % ov["c_keep_running"])
    return ["## \"Library was built as DEBUG\"", "",
            "`bench.log` and the JSON (`library_build_type=debug`) say that Google Benchmark "
            "itself was built without NDEBUG: Debian's `libbenchmark` package is. It affects "
            "Google Benchmark's own code only, not framekit's (built `-O2 -DNDEBUG`, see C "
            "flags above). framekit's figures are manual time, measured by framekit's own "
            "clock (from the start barrier to the end of the last thread's work); inside that "
            "span Google Benchmark's code runs once per batch of 8 to 1024 operations (the "
            "keep-running call of the C shim), so its build adds at most a few ns per batch, "
            "well under 1 %% of any figure here.%s A release libbenchmark (built from source "
            "with `-DCMAKE_BUILD_TYPE=Release`, found first through `CMAKE_PREFIX_PATH`) "
            "removes the warning." % measured, ""]


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
    thin = [w for r in res.values() for w in r.get("weak", ())]
    if "short" in thin:
        lines.append("* `%s` (%d results): **too few samples to compare**: the median measured "
                     "span is under %g ms, where start-up, page faults and one preemption "
                     "dominate." % (THIN_MARK["short"], thin.count("short"), MIN_SPAN_S * 1e3))
    if "low_cpu" in thin:
        lines.append("* `%s` (%d results): **CPU share too low to compare**: the threads got "
                     "under %d %% of the CPUs they could have used (cpu util / min(threads, "
                     "CPUs)): they were blocked or starved most of the run, so the figure says "
                     "more about scheduling than about the code." %
                     (THIN_MARK["low_cpu"], thin.count("low_cpu"), MIN_CPU_SHARE * 100))
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


def report_ratios(rat, ctx, core):
    """The ratios() of one kind of family: a table per axis and thread count,
    then (allocation families) one row per benchmark."""
    if rat is None:
        return []
    threads, axes = rat["threads"], rat["axes"]
    lines = []
    if core:
        lines += ["## Core variants vs `default` (allocator `%s`)" % ctx.get("core_allocator", "?"),
                  "", "Geometric mean over each family's benchmarks of items/s variant / default "
                  "(> 1: the variant is faster); in brackets the same by CPU time per item.", ""]
    else:
        lines += ["## `%s` vs each allocator" % PRODUCT, "",
                  "Geometric mean over each family's benchmarks of items/s %s / other (> 1: "
                  "%s is faster); in brackets the same by CPU time per item." % (PRODUCT, PRODUCT),
                  ""]
    hdr = ["family"] + ["%s @%d" % (a, t) for a in axes for t in threads]
    if any(th for _, cells in rat["rows"] for _, _, th in cells):
        lines += ["`‡§`: at least one ratio behind the figure rests on a result flagged too "
                  "thin to compare (see \"How to read the numbers\").", ""]
    lines += ["| " + " | ".join(hdr) + " |", "|---" * len(hdr) + "|"]
    for fam, cells in rat["rows"]:
        row = [fam]
        for g, gc, thin in cells:
            row.append("-" if g is None else
                       ("%.2f (%.2f)" % (g, gc) if gc else "%.2f" % g) + (" ‡§" if thin else ""))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    detail = rat["detail"]
    if detail:
        lines += ["Per benchmark (allocation families): `%s` / other, wall (CPU), and the U-test "
                  "p-value of the per-item time over the passes (compare.py)." % PRODUCT, "",
                  "| benchmark | other | threads | wall | CPU | p |", "|---|---|---|---|---|---|"]
        for fam, v, a, t, w, c, p, noisy, thin in sorted(detail):
            lines.append("| %s/%s | %s | %d | %.2f%s%s | %s | %s |" % (
                fam, v, a, t, w, " †" if noisy else "", " ‡§" if thin else "",
                "%.2f" % c if c else "-", "%.2f" % p if p is not None else "-"))
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


# ---------------------------------------------------------------- CSV

def write_csv(res, rats, ctx, json_path):
    """summary.csv (every result) and summary-ratios.csv (the ratio tables)
    beside the JSON; returns the paths written."""
    d = os.path.dirname(os.path.abspath(json_path))
    status = "partial" if partial(ctx) else "smoke" if ctx.get("mode") == "quick" else "complete"
    p1, p2 = os.path.join(d, "summary.csv"), os.path.join(d, "summary-ratios.csv")
    # Every counter any result has (latency percentiles, frames/s, ...), medians.
    counters = sorted({c for r in res.values() for c in r["counters"]})
    with open(p1, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "axis", "variant", "threads", "item", "items_per_s_median",
                    "items_per_s_min", "items_per_s_max", "passes", "cpu_ns_per_item",
                    "cpu_util", "span_s", "budget_hit_passes", "flags", "run"] + counters)
        for k in sorted(res):
            r = res[k]
            flags = sorted(r.get("weak", ())) + (["spread"] if r["spread"] > SPREAD_MARK else [])
            w.writerow([k[0], k[2], k[1], k[3], unit(k[0]), r["ips"], r["lo"], r["hi"],
                        r["reps"], r["cpu_ns"], r["util"], r["span_s"], r["budget"],
                        " ".join(flags), status] + [r["counters"].get(c, "") for c in counters])
    with open(p2, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "family", "variant", "reference", "other", "threads",
                    "items_per_s_ratio", "cpu_ratio", "p_value", "thin", "run"])
        for kind, rat in rats:
            if rat is None:
                continue
            for fam, cells in rat["rows"]:
                i = 0
                for a in rat["axes"]:
                    for t in rat["threads"]:
                        g, gc, thin = cells[i]
                        i += 1
                        if g is not None:
                            w.writerow([kind, fam, "(geometric mean)", rat["ref"], a, t, g, gc,
                                        "", thin, status])
            for fam, v, a, t, wall, c, p, _, thin in sorted(rat["detail"]):
                w.writerow([kind, fam, v, rat["ref"], a, t, wall, c, "" if p is None else p,
                            int(thin), status])
    return [p1, p2]


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--merge":
        ap = argparse.ArgumentParser(description="merge passes")
        ap.add_argument("--merge", nargs="+", required=True)
        ap.add_argument("--merged-out", required=True)
        a = ap.parse_args()
        merge(a.merge, a.merged_out)
        return 0
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json")
    ap.add_argument("--out", help="summary.md path (default: stdout)")
    ap.add_argument("--no-csv", action="store_true", help="write no CSV beside the JSON")
    args = ap.parse_args()
    if not os.path.isfile(args.json):
        sys.stderr.write("summarize.py: %s: no such file (want a framekit_bench JSON)\n" %
                         args.json)
        return 2
    data = load(args.json)
    ctx = context(data, args.json)
    res, errors = results(data)
    ncpu = usable_cpus(ctx)
    for k, r in res.items():
        r["weak"] = weak(k, r, ncpu)
    if ctx.get("truncated_json"):
        sys.stderr.write("summarize.py: warning: %s: %s; the summary is marked PARTIAL\n" %
                         (args.json, ctx["truncated_json"]))
    marks = [m for m, on in (("PARTIAL", partial(ctx)), ("SMOKE TEST", ctx.get("mode") == "quick"))
             if on]
    lines = ["# framekit benchmark summary%s" % ("".join(" (%s)" % m for m in marks)), "",
             "%s. Generated %s by `scripts/summarize.py` from `%s`." % (
                 title(ctx), datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                 os.path.basename(args.json)), ""]
    lines += report_banners(ctx)
    lines += report_machine(ctx, args.json)
    lines += report_library(ctx, res)
    lines += report_conditions(ctx)
    lines += report_reading(res, ctx)
    if errors:
        lines += ["## Failed runs", ""] + ["* `%s`: %s" % e for e in errors] + [""]
    lines += report_contended(res)
    rats = [("allocator", ratios(data, res, core=False, ncpu=ncpu)),
            ("core", ratios(data, res, core=True, ncpu=ncpu))]
    lines += report_ratios(rats[0][1], ctx, core=False)
    lines += report_ratios(rats[1][1], ctx, core=True)
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
    if not args.no_csv:
        try:
            print("wrote", ", ".join(write_csv(res, rats, ctx, args.json)),
                  file=sys.stdout if args.out else sys.stderr)
        except OSError as e:
            sys.stderr.write("summarize.py: warning: no CSV beside %s: %s\n" % (args.json, e))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchJSONError as e:
        sys.stderr.write("summarize.py: %s\n" % e)
        sys.exit(1)
