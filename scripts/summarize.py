#!/usr/bin/python3
"""Markdown summary of a framekit_bench JSON: the machine, the C wrapper's
overhead, lock-free vs each baseline at 1, 2 and 8 threads, every result,
and what a 2-core machine cannot show.

    /usr/bin/python3 scripts/summarize.py results/X/bench.json --out results/X/summary.md

Also the JSON parsing shared with plot_results.py (stdlib only, so any
python3 can run it). Benchmark names are "<family>/<allocator>/<variant...>"
plus the suffixes Google Benchmark adds ("/real_time", "/threads:N");
run_name, threads and run_type are parsed, never the display name.
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
BASELINES = ["buddy-global", "buddy-pcp", "simple"]
RATIO_THREADS = [1, 2, 8]
SPREAD_MARK = 1.5
COUNTERS = ("alloc_ns", "free_ns", "slice_ns", "drop_ns", "hits", "misses",
            "remote_frees", "fallback_allocs")


def load(path):
    with open(path) as f:
        return json.load(f)


def split_name(run_name):
    comps = run_name.split("/")
    family = comps[0]
    alloc = comps[1] if len(comps) > 1 else ""
    variant = "/".join(c for c in comps[2:]
                       if not c.startswith("threads:") and c not in ("real_time", "process_time")
                       and not c.startswith("repeats:"))
    return family, alloc, variant


TIMEOUT_RE = re.compile(r"^timeout: .*?about ([0-9.e+-]+) items/s")


def results(data):
    """({(family, variant, alloc, threads): record}, [(name, error)]).

    A record has the median over repetitions (passes) of items_per_second
    ("ips") and real time in ns, the label, the counters, and timeout=True
    when some pass hit the per-run budget (its estimated rate then joins
    the median)."""
    groups, errors, labels, timeouts = {}, [], {}, {}
    for r in data.get("benchmarks", []):
        if r.get("run_type", "iteration") != "iteration":
            continue
        name = r.get("run_name", r["name"])
        fam, alloc, var = split_name(name)
        key = (fam, var, alloc, int(r.get("threads", 1)))
        if r.get("error_occurred"):
            msg = r.get("error_message", "")
            m = TIMEOUT_RE.match(msg)
            if m:
                timeouts.setdefault(key, []).append(float(m.group(1)))
            else:
                errors.append((name, msg))
            continue
        if r.get("label"):
            labels[key] = r["label"]
        g = groups.setdefault(key, {"ips": [], "ns": [], "cpu_ips": [], "counters": {}})
        if "items_per_second" in r:
            g["ips"].append(float(r["items_per_second"]))
        ns = float(r["real_time"]) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[r.get("time_unit", "ns")]
        g["ns"].append(ns)
        cpu = float(r.get("cpu_time", 0)) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[r.get("time_unit", "ns")]
        if cpu > 0:  # summed over threads, per iteration: items per CPU-second
            g["cpu_ips"].append(1e9 / cpu)
        for k in COUNTERS:
            if k in r:
                g["counters"].setdefault(k, []).append(float(r[k]))
    out = {}
    for key, g in groups.items():
        out[key] = {
            "ips": statistics.median(g["ips"]) if g["ips"] else None,
            "ns": statistics.median(g["ns"]),
            "reps": len(g["ns"]),
            "cpu_ips": statistics.median(g["cpu_ips"]) if g["cpu_ips"] else None,
            # max/min over passes: > SPREAD_MARK flags a bimodal or noisy result
            "spread": (max(g["ips"]) / min(g["ips"])) if len(g["ips"]) > 1 and min(g["ips"]) > 0 else 1.0,
            "label": labels.get(key, ""),
            "counters": {k: statistics.median(v) for k, v in g["counters"].items()},
            "timeout": False,
        }
    for key, est in timeouts.items():
        # A pass that hit the budget still measured something: its estimated
        # rate joins the median, and the run is flagged.
        g = groups.get(key, {"ips": [], "ns": []})
        n = len(g["ns"]) + len(est)
        lab = "budget hit in %d/%d passes (rate estimated)" % (len(est), n)
        if key in out:
            out[key]["ips"] = statistics.median(g["ips"] + est)
            out[key]["label"] = ", ".join(x for x in (out[key]["label"], lab) if x)
            out[key]["timeout"] = True
        else:
            out[key] = {"ips": statistics.median(est), "ns": None, "reps": len(est), "cpu_ips": None,
                        "spread": 1.0,
                        "label": lab, "counters": {}, "timeout": True}
    return out, errors


def fmt_rate(x):
    if x is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return "%.3g%s" % (x / div, unit)
    return "%.3g" % x


def num_cpus(data):
    ctx = data.get("context", {})
    try:
        return int(ctx.get("online_cpus") or ctx.get("num_cpus") or 0)
    except ValueError:
        return int(ctx.get("num_cpus", 0))


def gmean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def machine_section(data, path):
    ctx = data.get("context", {})
    caches = ", ".join("L%d %s %d KiB (x%d)" % (c["level"], c["type"], c["size"] // 1024,
                                                 c.get("num_sharing", 1) and
                                                 max(1, int(ctx.get("num_cpus", 1)) //
                                                     max(1, c.get("num_sharing", 1))))
                       for c in ctx.get("caches", []))
    lines = ["## Machine and build", "",
             "| | |", "|---|---|"]

    def row(k, v):
        if v not in (None, ""):
            lines.append("| %s | %s |" % (k, v))
    row("host", ctx.get("hostname", ctx.get("host_name")))
    row("date", ctx.get("date"))
    row("CPU", ctx.get("cpu_model"))
    row("CPUs (online)", "%s (%s MHz)" % (ctx.get("num_cpus"), ctx.get("mhz_per_cpu")))
    row("caches", caches)
    row("physical NUMA nodes", ctx.get("physical_numa_nodes"))
    row("NUMA split", ctx.get("numa_split"))
    row("kernel", ctx.get("kernel"))
    row("compiler", "%s / %s" % (ctx.get("compiler", "?"), ctx.get("cxx_compiler", "?")))
    row("flags", "%s; bench objects: %s" % (ctx.get("cflags", "?"), ctx.get("bench_lto", "?")))
    row("framekit allocators", ctx.get("framekit_allocators"))
    row("thread pinning", ctx.get("thread_pinning"))
    row("memory per run", ctx.get("memory"))
    row("git commit", ctx.get("git_commit"))
    row("mode", "%s, %s pass(es) over the suite, median reported" % (ctx.get("mode"), ctx.get("passes", "1")))
    row("per-run time budget", "%s s (FK_BENCH_BUDGET)" % ctx.get("run_budget_s", "?"))
    row("Google Benchmark library", "%s build (Debian libbenchmark 1.7.1 is built without "
        "NDEBUG: its internal CHECKs are on; the hot KeepRunning path is inline and "
        "unaffected)" % ctx.get("library_build_type", "?"))
    row("load average at start", ", ".join("%.2f" % x for x in ctx.get("load_avg", [])))
    row("JSON", os.path.basename(path))
    lines.append("")
    return lines


def overhead_section(res):
    rows = sorted((v, r["ns"]) for (f, v, _, _), r in res.items() if f == "overhead" and r["ns"])
    if not rows:
        return []
    lines = ["## C wrapper overhead (empty benchmark body)", "",
             "| loop | ns per iteration |", "|---|---|"]
    for v, ns in rows:
        lines.append("| %s | %.3f |" % (v, ns))
    lines += ["",
              "`c_keep_running` calls the shim's `gb_keep_running()` once per iteration; "
              "`c_keep_running_batch:1000` is one call per 1000 iterations; "
              "`cpp_native_range_for` is Google Benchmark's own C++ loop. Every framekit "
              "benchmark uses the batched form (32 to 1024 operations per call), so the wrapper "
              "adds well under 0.1 ns per operation to the numbers below. framekit_bench is "
              "built with -flto (FK_BENCH_LTO, release only), which lets the C++ "
              "`KeepRunning` inline into the C bodies; without LTO `c_keep_running` measured "
              "about 1.1 ns CPU per iteration on this machine (2026-11-24), batched 0.002 ns.", ""]
    return lines


def ratio_section(res, ncpus):
    allocs = {k[2] for k in res}
    lines = ["## Lock-free vs each baseline", ""]
    product = PRODUCT
    if PRODUCT not in allocs:
        lines += ["**The `lockfree` allocator is not in this run** (not built yet when it was "
                  "taken). As a stand-in the table compares `buddy-pcp` (per-CPU lists) "
                  "with the other baselines; rerun `scripts/run-bench.sh` once `lockfree` "
                  "is in `fk_allocator_names()`.", ""]
        product = "buddy-pcp"
        if product not in allocs:
            return lines + ["(no allocator to compare)", ""]
    bases = [b for b in BASELINES if b in allocs and b != product]
    lines += ["Throughput ratio `%s / baseline` (items/s, aggregate over threads; > 1 means "
              "%s is faster). Threads above %d are oversubscribed on this machine." %
              (product, product, ncpus), ""]
    hdr = "| benchmark | " + " | ".join("vs %s @%d" % (b, t) for b in bases for t in RATIO_THREADS) + " |"
    lines += [hdr, "|---" * (1 + len(bases) * len(RATIO_THREADS)) + "|"]
    keys = sorted({(f, v) for (f, v, a, _) in res if f != "overhead"})
    per_family = {}
    for f, v in keys:
        cells = []
        for b in bases:
            for t in RATIO_THREADS:
                p = res.get((f, v, product, t))
                q = res.get((f, v, b, t))
                if p and q and p["ips"] and q["ips"]:
                    r = p["ips"] / q["ips"]
                    per_family.setdefault((f, b, t), []).append(r)
                    mark = "*" if p["timeout"] or q["timeout"] else ""
                    if max(p["spread"], q["spread"]) > SPREAD_MARK:
                        mark += "†"
                    cells.append("%.2f%s" % (r, mark))
                else:
                    cells.append("-")
        lines.append("| %s | %s |" % ("/".join(x for x in (f, v) if x), " | ".join(cells)))
    lines += ["", "`*`: one side hit the per-run time budget (a spinlock convoy, see below); "
              "its rate is the benchmark's own estimate (items done / time), so the ratio "
              "is approximate. `†`: the passes of one side disagree by more than %.1fx (max/min); "
              "on this VM 2-thread runs are often bimodal (the two vCPUs' placement on the host "
              "changes between passes), so read that ratio as uncertain." % SPREAD_MARK, "",
              "Geometric mean per family:", "",
              "| family | " + " | ".join("vs %s @%d" % (b, t) for b in bases for t in RATIO_THREADS) + " |",
              "|---" * (1 + len(bases) * len(RATIO_THREADS)) + "|"]
    for f in sorted({f for f, _ in keys}):
        cells = []
        for b in bases:
            for t in RATIO_THREADS:
                g = gmean(per_family.get((f, b, t), []))
                cells.append("%.2f" % g if g else "-")
        lines.append("| %s | %s |" % (f, " | ".join(cells)))
    lines += ["", "Same, by CPU time (items per CPU-second: the threads' CPU time, so time "
              "spent preempted by other processes does not count, while spinning does). On a "
              "shared machine this is the steadier of the two:", "",
              "| family | " + " | ".join("vs %s @%d" % (b, t) for b in bases for t in RATIO_THREADS) + " |",
              "|---" * (1 + len(bases) * len(RATIO_THREADS)) + "|"]
    for f in sorted({f for f, _ in keys}):
        cells = []
        for b in bases:
            for t in RATIO_THREADS:
                rs = []
                for (f2, v) in keys:
                    p, q = res.get((f2, v, product, t)), res.get((f2, v, b, t))
                    if f2 == f and p and q and p.get("cpu_ips") and q.get("cpu_ips"):
                        rs.append(p["cpu_ips"] / q["cpu_ips"])
                g = gmean(rs)
                cells.append("%.2f" % g if g else "-")
        lines.append("| %s | %s |" % (f, " | ".join(cells)))
    lines.append("")
    return lines


def run_info_section(path):
    """run-info.txt (written by run-bench.sh): load before and after the run."""
    try:
        with open(path) as f:
            info = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
    except OSError:
        return []
    lines = ["## Run conditions", "",
             "| | |", "|---|---|",
             "| started / ended (UTC) | %s / %s |" % (info.get("start_utc", "?"), info.get("end_utc", "?")),
             "| duration | %s s |" % info.get("duration_s", "?"),
             "| load average (1, 5, 15 min) at start | %s |" % info.get("start_loadavg", "?"),
             "| load average at end | %s (includes the benchmark's own threads, up to 16 "
             "runnable) |" % info.get("end_loadavg", "?"),
             "| other processes above 5%% CPU at start | %s |" % (info.get("start_busy") or "none"),
             ""]
    try:
        load = float(info.get("start_loadavg", "0").split()[0])
    except ValueError:
        load = 0
    if load > 1.0 or info.get("start_busy"):
        lines += ["**The machine was not idle** (1-min load average %.1f on 2 CPUs at the start, "
                  "other work running beside the benchmark). Every absolute number is affected and "
                  "differences below ~30 %% are noise. Oversubscribed runs can even *gain* "
                  "throughput with more threads, because more threads win a larger share of "
                  "the CPUs from the other processes. Rerun on an idle machine before "
                  "drawing conclusions." % load, ""]
    return lines


def timeout_section(res, data):
    tos = sorted(k for k, r in res.items() if r["timeout"])
    if not tos:
        return []
    by_alloc = {}
    for (f, v, a, t) in tos:
        by_alloc.setdefault(a, []).append(t)
    lines = ["## Runs that hit the time budget", "",
             "%d runs exceeded the per-run wall-clock budget (FK_BENCH_BUDGET, %s s) and were "
             "stopped; their rate is estimated from the work done (shown as `~rate` and `*`). "
             "By allocator (threads): %s." % (
                 len(tos), data.get("context", {}).get("run_budget_s", "?"), "; ".join(
                     "%s: %d runs at %s threads" % (a, len(ts), ",".join(str(x) for x in sorted(set(ts))))
                     for a, ts in sorted(by_alloc.items()))),
             "",
             "These are spinlock convoys: with more threads than CPUs, a FIFO lock (ticket, "
             "MCS) hands the lock to a waiter that is not running, and every running thread "
             "spins until the scheduler runs it again (a time slice per hand-off). This is the "
             "real behaviour of those baselines when oversubscribed, not a harness fault.", ""]
    return lines


def results_section(res):
    lines = ["## All results (items/s, aggregate; median over passes)", "",
             "`~`: estimated (budget hit); `†`: passes disagree by more than %.1fx." % SPREAD_MARK, ""]
    fams = sorted({k[0] for k in res if k[0] != "overhead"})
    for fam in fams:
        allocs = sorted({k[2] for k in res if k[0] == fam},
                        key=lambda a: (a != PRODUCT, a))
        lines += ["### %s" % fam, "", "![%s](plots/%s.png)" % (fam, fam), "",
                  "| variant | threads | " + " | ".join(allocs) + " | note |",
                  "|---" * (3 + len(allocs)) + "|"]
        for var in sorted({k[1] for k in res if k[0] == fam}):
            for t in sorted({k[3] for k in res if k[0] == fam and k[1] == var}):
                cells, note = [], ""
                for a in allocs:
                    r = res.get((fam, var, a, t))
                    cells.append((("~" if r["timeout"] else "") + fmt_rate(r["ips"]) +
                                  ("†" if r["spread"] > SPREAD_MARK else "")) if r else "-")
                    if r and r["label"]:
                        note = r["label"]
                lines.append("| %s | %d | %s | %s |" % (var or "-", t, " | ".join(cells), note))
        lines.append("")
    return lines


def counters_section(res):
    rows = [(k, r) for k, r in sorted(res.items())
            if "alloc_ns" in r["counters"] and k[3] in RATIO_THREADS]
    if not rows:
        return []
    lines = ["## Allocation latency per operation (bulk/random: alloc phase, free phase)", "",
             "| benchmark | allocator | threads | alloc ns | free ns |", "|---|---|---|---|---|"]
    for (f, v, a, t), r in rows:
        lines.append("| %s/%s | %s | %d | %.1f | %.1f |" % (f, v, a, t, r["counters"]["alloc_ns"],
                                                         r["counters"]["free_ns"]))
    lines.append("")
    return lines


LIMITS = """## What two cores cannot show

* **Scalability beyond 2 CPUs.** With 2 vCPUs, 4, 8 and 16 threads are
  *oversubscribed*: they measure behaviour under preemption (a lock holder
  descheduled while others spin), not parallel scaling. Spinlock baselines
  (ticket/MCS) suffer most there; a lock-free design degrades gracefully,
  which is a real but different property from scaling.
* **Cache-line contention at scale.** Two cores share one L3; the
  refcount-contention (shared/*) and allocator-contention effects grow with
  core count and with cross-socket traffic, which this VM cannot produce.
* **NUMA.** There is one physical node (Firecracker VM, no `numa=fake`).
  The `numa` family uses framekit's *logical split* (nr_nodes 2 and 4): it
  exercises node-aware allocator paths (per-node structures, strict
  placement, remote frees) but every "remote" access is physically local, so
  no remote-memory latency is measured.
* **Timing noise.** A 2-vCPU VM shares its host; repeat with
  `--full` (3 repetitions, random interleaving) and compare runs with
  `scripts/compare-runs.sh` before trusting differences below ~10 %.

## Running on a larger machine

```
scripts/run-bench.sh              # default: threads 1..16, ~5 min on 2 cores
scripts/run-bench.sh --full       # 3 repetitions, min_time 0.5 s
scripts/run-bench.sh -- --benchmark_filter='alloc_raw'   # extra gbench flags after --
scripts/compare-runs.sh results/A/bench.json results/B/bench.json
```

* The thread list is fixed at 1, 2, 4, 8, 16 (`bench/bench_common.c`,
  `bench_thread_counts`); on a machine with more cores extend it (e.g. to
  the core count and 2x) so that scaling, not oversubscription, is measured.
* Threads are pinned round-robin (thread i -> CPU i mod online CPUs);
  `FK_BENCH_PIN=0` disables pinning. On a real multi-node machine, leave
  `nr_nodes` at 0 (discovered with libnuma) to measure real remote latency;
  the logical split is only for 1-node machines.
* Each run's memory is 1 GiB of unbacked simulated frames (262144 frames);
  raise `BENCH_MEM_FRAMES` in `bench/bench_common.h` for more than ~32
  threads in the bulk workloads.
"""


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
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("json")
    ap.add_argument("--out", help="summary.md path (default: stdout)")
    args = ap.parse_args()
    data = load(args.json)
    res, errors = results(data)
    ncpus = num_cpus(data)
    lines = ["# framekit benchmark summary", "",
             "Generated %s by `scripts/summarize.py` from `%s` "
             "(`scripts/run-bench.sh`, Google Benchmark %s JSON)." % (
                 datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                 os.path.basename(args.json), "1.7.1"), ""]
    lines += machine_section(data, args.json)
    lines += run_info_section(os.path.join(os.path.dirname(os.path.abspath(args.json)),
                                           "run-info.txt"))
    lines += timeout_section(res, data)
    lines += ratio_section(res, ncpus)
    lines += overhead_section(res)
    if errors:
        lines += ["## Failed runs", ""] + ["* `%s`: %s" % e for e in errors] + [""]
    lines += counters_section(res)
    lines += results_section(res)
    lines += LIMITS.splitlines()
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print("wrote", args.out)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
