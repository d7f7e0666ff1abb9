#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""CTest bench_oversubscription_not_inflated: the benchmark clock is honest
when threads outnumber CPUs.

Runs a CPU-bound benchmark on private data (seg_split, core:default) at C
and 4C threads (C = usable CPUs), three interleaved repetitions, and checks
on the medians:

  1. in every run, the CPUs the reported rate implies, items/s x thread
     CPU ns per item, are at most 1.05 C: threads cannot use more CPU time
     than C x the elapsed time, so a clock shorter than the run (the mean of
     the threads' own wall times, Google Benchmark's clock) shows here;
  2. the median items/s at 4C <= 1.1 x the best items/s at C, scaled by the
     CPU share the 4C threads won (cpu_util at 4C / cpu_util at C, when
     above 1): on a loaded machine more threads get more of the CPUs, which
     is real throughput, not an artefact. The best of five passes at C and
     the share keep a loaded machine from failing it; no absolute time is
     compared.

`FK_BENCH_CLOCK=per_thread check_oversub.py ...` shows the check failing on
Google Benchmark's own clock (when the scheduler runs threads one after
another, as it does at 4C).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def cpus(bench):
    out = subprocess.run([bench, "--print-plan"], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("usable CPUs:"):
            return int(line.split(":")[1])
    sys.exit("check_oversub: no 'usable CPUs' in --print-plan")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--out", required=True, help="JSON written here")
    ap.add_argument("--min-time", default="0.05")
    args = ap.parse_args()
    c = cpus(args.bench)
    cmd = [args.bench, "--threads=%d,%d" % (c, 4 * c),
           "--benchmark_filter=^seg_split/core:default/",
           "--benchmark_min_time=" + args.min_time, "--benchmark_repetitions=5",
           "--benchmark_enable_random_interleaving=true",
           "--benchmark_report_aggregates_only=false",
           "--benchmark_out=" + args.out, "--benchmark_out_format=json"]
    print("check_oversub:", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    if r.returncode:
        sys.exit("check_oversub: framekit_bench exited with %d" % r.returncode)
    with open(args.out) as f:
        runs = [x for x in json.load(f)["benchmarks"] if x.get("run_type") == "iteration"]
    by = {}
    for x in runs:
        by.setdefault(int(x["threads"]), []).append(x)
    if set(by) != {c, 4 * c}:
        sys.exit("check_oversub: expected runs at %d and %d threads, got %s" % (c, 4 * c, sorted(by)))
    ips = {t: statistics.median(x["items_per_second"] for x in v) for t, v in by.items()}
    best = max(x["items_per_second"] for x in by[c])
    util = {t: statistics.median(x["cpu_util"] for x in v) for t, v in by.items()}
    implied = max(x["items_per_second"] * x["cpu_ns_per_item"] * 1e-9 for x in runs)
    ok = True
    print("check_oversub: %d CPUs; items/s %.4g (best %.4g) at %d threads, %.4g at %d; "
          "cpu_util %.2f, %.2f; largest implied CPUs %.2f"
          % (c, ips[c], best, c, ips[4 * c], 4 * c, util[c], util[4 * c], implied))
    if implied > c * 1.05:
        print("check_oversub: FAIL: a run's rate implies %.2f CPUs busy, more than the %d "
              "there are: its time is shorter than the run" % (implied, c))
        ok = False
    share = max(1.0, util[4 * c] / util[c]) if util[c] > 0 else 1.0
    ratio = ips[4 * c] / best
    if ratio > 1.1 * share:
        print("check_oversub: FAIL: %d threads report %.2fx the best throughput of %d threads "
              "(allowed 1.1 x CPU share %.2f)" % (4 * c, ratio, c, share))
        ok = False
    if not ok:
        sys.exit(1)
    print("check_oversub: OK: ratio %.2f <= 1.1 x %.2f" % (ratio, share))


if __name__ == "__main__":
    main()
