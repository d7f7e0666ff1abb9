#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Parsing layer of the benchmark scripts: turns framekit_bench's Google
Benchmark JSON (and run-info.txt beside it) into records, and computes what
the reports compare. No formatting here: scripts/summarize.py writes
summary.md from these records, scripts/plot_results.py the plots.

Names are "<family>/<axis>/<variant...>" where <axis> is an allocator
(allocation families) or "core:<variant>" (core families, allocator
fixed); Google Benchmark adds "/manual_time" and "/threads:N". A record
(results()) is keyed (family, variant, axis, threads). Pairwise U-tests
come from compare.py's gbench package (libbenchmark-tools).
"""
import json
import math
import os
import re
import statistics
import sys

PRODUCT = "lockfree"
CORE_DEFAULT = "core:default"
SPREAD_MARK = 1.5  # max/min over passes above this: flagged
# Too little to compare (flagged in the summary, kept out of no table):
# a median measured span below MIN_SPAN_S (--quick's 5 ms samples), or a
# median CPU share below MIN_CPU_SHARE: CPU-seconds per second of span per
# thread that could run (min(threads, usable CPUs)), i.e. threads that were
# off CPU most of the run (blocked, or starved by other work).
MIN_SPAN_S = 0.02
MIN_CPU_SHARE = 0.25
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


# ---------------------------------------------------------------- records

class BenchJSONError(Exception):
    """A file that is not a readable framekit_bench JSON (one line of text)."""


def _salvage(text):
    """The context and every complete run of a truncated Google Benchmark
    JSON (a run killed while writing it), or None."""
    i = text.find('"benchmarks"')
    j = text.find("[", i) + 1 if i >= 0 else 0
    if not j:
        return None
    try:
        data = json.loads(text[:i] + '"benchmarks": []}')
    except ValueError:
        return None
    dec, sep, runs = json.JSONDecoder(), re.compile(r"[\s,]*"), []
    while True:
        j = sep.match(text, j).end()
        try:
            run, j = dec.raw_decode(text, j)
        except ValueError:
            break
        if isinstance(run, dict):
            runs.append(run)
    data["benchmarks"] = runs
    return data


def load(path):
    """The JSON of one run. A truncated file (an interrupted pass) gives its
    complete runs, with context["truncated_json"] saying how many; anything
    else unreadable raises BenchJSONError."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise BenchJSONError("%s: %s" % (path, e.strerror or e))
    try:
        data = json.loads(text)
    except ValueError as e:
        data = _salvage(text)
        if data is None:
            raise BenchJSONError("%s: not a Google Benchmark JSON (%s)" % (path, e))
        data.setdefault("context", {})["truncated_json"] = (
            "%d complete run(s) recovered from a truncated file" % len(data["benchmarks"]))
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise BenchJSONError("%s: not a Google Benchmark JSON (no \"benchmarks\" list)" % path)
    return data


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
        g = groups.setdefault(key, {"ips": [], "cpu": [], "util": [], "span": [], "c": {},
                                    "label": "", "budget": 0})
        if "items_per_second" in r:
            g["ips"].append(float(r["items_per_second"]))
        if "cpu_ns_per_item" in r:
            g["cpu"].append(float(r["cpu_ns_per_item"]))
        if "cpu_util" in r:
            g["util"].append(float(r["cpu_util"]))
        if "real_time" in r and "iterations" in r:
            g["span"].append(float(r["real_time"]) * float(r["iterations"]) * {
                "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}.get(r.get("time_unit", "ns"), 1e-9))
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
            "cpu_ns": med(g["cpu"]), "util": med(g["util"]), "span_s": med(g["span"]),
            "counters": {k: med(v) for k, v in g["c"].items()},
            "label": g["label"].replace(", budget hit", "").replace("budget hit", ""),
            "budget": g["budget"], "ns": g.get("ns"),
        }
        r = out[key]
        r["spread"] = r["hi"] / r["lo"] if r["lo"] else 1.0
    return out, errors


def weak(key, r, ncpu):
    """Why the record r of key is too thin to compare: a subset of
    {"short", "low_cpu"} (MIN_SPAN_S, MIN_CPU_SHARE)."""
    out = set()
    if key[0] == "overhead":
        return out
    if r.get("span_s") is not None and r["span_s"] < MIN_SPAN_S:
        out.add("short")
    if r.get("util") is not None:
        can = min(key[3], ncpu) if ncpu else key[3]
        if can and r["util"] / can < MIN_CPU_SHARE:
            out.add("low_cpu")
    return out


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


# ---------------------------------------------------------------- comparisons

def gmean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def ratios(data, res, core, ncpu=0):
    """Axis value / reference per family and thread count, wall and CPU, or
    None when no family of that kind ran. Core families (core=True) compare
    each core variant with `default`, allocation families `PRODUCT` with
    each other allocator (and add per-benchmark rows with the U-test p-value
    of the per-item time). Returns {"fams", "threads", "ref", "axes",
    "rows": [(family, [(wall gmean, CPU gmean, thin) per axis per thread])],
    "detail": [(family, variant, axis, threads, wall, CPU, p, noisy, thin)]}:
    thin counts (rows) or says (detail) which ratios rest on a record too
    thin to compare (weak(), given the usable CPUs ncpu)."""
    fams = sorted({k[0] for k in res if k[0] != "overhead" and is_core(k[2]) == core})
    if not fams:
        return None
    threads = sorted({k[3] for k in res})
    ref = CORE_DEFAULT if core else PRODUCT
    # Axis values that appear in one family only (buddy-global's lock
    # flavours) stay in the per-benchmark table.
    axes = sorted(a for a in {k[2] for k in res if k[0] in fams and k[2] != ref}
                  if len({k[0] for k in res if k[2] == a}) > 1)
    rows, detail = [], []
    for fam in fams:
        cells = []
        for a in axes:
            pv = utests(data, fam, ref, a) if not core else {}
            for t in threads:
                wall, cpu, thin = [], [], 0
                for (f, v, ax, tt), r in res.items():
                    if f != fam or ax != a or tt != t:
                        continue
                    p = res.get((f, v, ref, t))
                    if not p or not p["ips"] or not r["ips"]:
                        continue
                    num, den = (r, p) if core else (p, r)
                    w = bool(weak((f, v, ax, tt), r, ncpu) or weak((f, v, ref, tt), p, ncpu))
                    thin += w
                    wall.append(num["ips"] / den["ips"])
                    if num["cpu_ns"] and den["cpu_ns"]:
                        cpu.append(den["cpu_ns"] / num["cpu_ns"])
                    if not core:
                        detail.append((fam, v, a, t, num["ips"] / den["ips"],
                                       den["cpu_ns"] / num["cpu_ns"] if num["cpu_ns"] and den["cpu_ns"] else None,
                                       pv.get((v, t)), num["spread"] > SPREAD_MARK or den["spread"] > SPREAD_MARK,
                                       w))
                cells.append((gmean(wall), gmean(cpu), thin))
        rows.append((fam, cells))
    return {"fams": fams, "threads": threads, "ref": ref, "axes": axes, "rows": rows,
            "detail": detail}


# ---------------------------------------------------------------- passes

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


# ---------------------------------------------------------------- runs

def describe(path):
    """What must match for two runs to compare: host, CPU, mode, passes, and
    whether the run is partial."""
    data = load(path)
    ctx = context(data, path)
    if ctx.get("truncated_json"):
        raise BenchJSONError("%s: a truncated JSON (an interrupted pass): compare.py cannot "
                             "read it; scripts/summarize.py can" % path)
    try:
        passes = int(ctx.get("passes") or 1)
    except ValueError:
        passes = 1
    return {"host": ctx.get("hostname", ctx.get("host_name", "?")),
            "cpu": ctx.get("cpu_model") or "%s CPUs" % ctx.get("num_cpus", "?"),
            "mode": ctx.get("mode", "?"), "passes": passes,
            "partial": bool(ctx.get("interrupted"))}


def comparable(a, b):
    """Warnings (lines) about what differs between runs a and b."""
    da, db = describe(a), describe(b)
    out = []
    for k, what in (("host", "hosts"), ("cpu", "CPUs"), ("mode", "modes"),
                    ("passes", "pass counts")):
        if da[k] != db[k]:
            out.append("different %s: %s vs %s" % (what, da[k], db[k]))
    for p, d in ((a, da), (b, db)):
        if d["partial"]:
            out.append("%s is a PARTIAL run (interrupted; its finished passes only)" % p)
        if d["mode"] == "quick":
            out.append("%s is a --quick smoke test: its figures are not for comparing" % p)
    return out


def main(argv):
    """python3 bench_results.py --comparable A.json B.json: one warning line
    per difference on stderr (exit 0); exit 1 when a file is unreadable."""
    if len(argv) != 4 or argv[1] != "--comparable":
        sys.stderr.write("usage: bench_results.py --comparable A.json B.json\n")
        return 2
    try:
        for w in comparable(argv[2], argv[3]):
            sys.stderr.write("compare-runs.sh: warning: %s\n" % w)
    except BenchJSONError as e:
        sys.stderr.write("compare-runs.sh: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
