#!/usr/bin/python3
"""Check a framekit_bench Google Benchmark JSON.

Either runs the binary in quick mode (--bench BIN --out FILE) or checks an
existing file (--json FILE). Passes when the JSON parses, has benchmarks,
none of them failed (error_occurred), every allocator the binary lists
(--list-allocators) and every core variant (--list-variants, as
"core:<name>") appears as the second name component of some run, and no
run reports bytes_per_second (the memory is simulated). In quick mode it
also checks the exit codes: --help 0 and naming the FK_BENCH_* variables,
an unknown flag 2, a bad FK_BENCH_BUDGET / FK_BENCH_PIN 2, an empty filter 1.
"""
import argparse
import json
import os
import subprocess
import sys

# Small but covering: a segment op per core variant, a raw allocator
# workload and a contended workload per allocator, at 1 and 2 threads.
QUICK_FILTER = (r"^(seg_clone_drop/[^/]+/frames:1|alloc_raw_repeat/[^/+]+/order:0"
                r"|contended_split_drop/[^/]+/frames:2|contended_slice/[^/]+/len:8)/")


def listing(bench, flag, prefix=""):
    out = subprocess.run([bench, flag], check=True, capture_output=True,
                         text=True).stdout
    names = [prefix + l.strip() for l in out.splitlines() if l.strip()]
    if not names:
        sys.exit("check_json: %s %s printed nothing" % (bench, flag))
    return names


def check_exit_codes(bench):
    cases = [
        ([bench, "--help"], {}, 0, "FK_BENCH_THREADS"),
        ([bench, "--no-such-flag"], {}, 2, "unknown option"),
        ([bench, "--list-allocators"], {"FK_BENCH_BUDGET": "soon"}, 2, "FK_BENCH_BUDGET"),
        ([bench, "--list-allocators"], {"FK_BENCH_PIN": "2"}, 2, "FK_BENCH_PIN"),
        ([bench, "--threads=0"], {}, 2, "--threads"),
        ([bench, "--benchmark_filter=^no_such_family/"], {}, 1, "matched no benchmark"),
    ]
    for cmd, env, want, text in cases:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=dict(os.environ, **env))
        if r.returncode != want or text not in r.stdout + r.stderr:
            sys.exit("check_json: %s %s: exit %d (want %d), output lacks %r:\n%s" % (
                " ".join("%s=%s" % kv for kv in env.items()), " ".join(cmd[1:]),
                r.returncode, want, text, (r.stdout + r.stderr)[-400:]))
        if want == 2 and len(r.stderr.strip().splitlines()) != 1:
            sys.exit("check_json: %s: want one line on stderr, got:\n%s" % (cmd, r.stderr))
    print("check_json: exit codes OK (help 0, bad flag/value 2, empty filter 1)")


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
    bps = [r["name"] for r in runs if "bytes_per_second" in r]
    if bps:
        sys.exit("check_json: bytes_per_second reported for simulated memory: " + bps[0])
    seen = {r.get("run_name", r["name"]).split("/")[1] for r in runs
            if "/" in r.get("run_name", r["name"])}
    missing = [a for a in expected if a not in seen]
    if missing:
        sys.exit("check_json: allocators/variants missing from %s: %s (seen %s)"
                 % (path, ", ".join(missing), ", ".join(sorted(seen))))
    for r in runs:
        if r.get("run_type", "iteration") == "iteration" and not r.get("iterations"):
            sys.exit("check_json: %s ran 0 iterations" % r["name"])
    print("check_json: %s OK: %d runs, axes %s" % (path, len(runs), ", ".join(expected)))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", required=True, help="framekit_bench binary")
    ap.add_argument("--out", help="run quick mode, writing JSON here")
    ap.add_argument("--json", help="check this existing JSON instead")
    ap.add_argument("--min-time", default="0.001")
    ap.add_argument("--any-axes", action="store_true",
                    help="do not require every allocator and variant (a filtered run)")
    args = ap.parse_args()
    expected = [] if args.any_axes else listing(args.bench, "--list-allocators") + \
        listing(args.bench, "--list-variants", "core:")
    path = args.json
    if not path:
        if not args.out:
            ap.error("--out or --json")
        check_exit_codes(args.bench)
        cmd = [args.bench, "--threads=1,2", "--benchmark_filter=" + QUICK_FILTER,
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
