#!/usr/bin/python3
"""Check a framekit_bench Google Benchmark JSON.

Either runs the binary in quick mode (--bench BIN --out FILE) or checks an
existing file (--json FILE). Passes when the JSON parses, has benchmarks,
none of them failed (error_occurred), and every allocator the binary lists
(--list-allocators) appears as the second name component of some run.
"""
import argparse
import json
import subprocess
import sys

# Small but covering: a segment op, a raw allocator workload and the
# shared-segment case, every allocator, 1 and 2 threads.
QUICK_FILTER = (r"^(seg_clone_drop/[^/]+/frames:1|alloc_raw_repeat/[^/+]+/order:0"
                r"|shared/[^/]+/slice1_drop/same_segment)/.*threads:(1|2)$")


def allocators(bench):
    out = subprocess.run([bench, "--list-allocators"], check=True, capture_output=True,
                         text=True).stdout
    names = [l.strip() for l in out.splitlines() if l.strip()]
    if not names:
        sys.exit("check_json: %s --list-allocators printed nothing" % bench)
    return names


def check(path, expected):
    with open(path) as f:
        data = json.load(f)
    runs = data.get("benchmarks", [])
    if not runs:
        sys.exit("check_json: %s has no benchmarks" % path)
    failed = [r["name"] + ": " + r.get("error_message", "?") for r in runs
              if r.get("error_occurred")]
    if failed:
        sys.exit("check_json: failed runs:\n  " + "\n  ".join(failed))
    seen = {r.get("run_name", r["name"]).split("/")[1] for r in runs
            if "/" in r.get("run_name", r["name"])}
    missing = [a for a in expected if a not in seen]
    if missing:
        sys.exit("check_json: allocators missing from %s: %s (seen %s)"
                 % (path, ", ".join(missing), ", ".join(sorted(seen))))
    for r in runs:
        if r.get("run_type", "iteration") == "iteration" and not r.get("iterations"):
            sys.exit("check_json: %s ran 0 iterations" % r["name"])
    print("check_json: %s OK: %d runs, allocators %s" % (path, len(runs), ", ".join(expected)))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", required=True, help="framekit_bench binary")
    ap.add_argument("--out", help="run quick mode, writing JSON here")
    ap.add_argument("--json", help="check this existing JSON instead")
    ap.add_argument("--min-time", default="0.001")
    args = ap.parse_args()
    expected = allocators(args.bench)
    path = args.json
    if not path:
        if not args.out:
            ap.error("--out or --json")
        cmd = [args.bench, "--benchmark_filter=" + QUICK_FILTER,
               "--benchmark_min_time=" + args.min_time,
               "--benchmark_out=" + args.out, "--benchmark_out_format=json"]
        print("check_json: running", " ".join(cmd), flush=True)
        r = subprocess.run(cmd)
        if r.returncode != 0:
            sys.exit("check_json: framekit_bench exited with %d" % r.returncode)
        path = args.out
    check(path, expected)


if __name__ == "__main__":
    main()
