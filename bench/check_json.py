#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check a framekit_bench Google Benchmark JSON.

Either runs the binary in quick mode (--bench BIN --out FILE) or checks an
existing file (--json FILE). Passes when the JSON parses, has benchmarks,
none of them failed (error_occurred), every allocator the binary lists
(--list-allocators) and every core variant (--list-variants, as
"core:<name>") appears as the second name component of some run, and no
run reports bytes_per_second (the memory is simulated). In quick mode it
also checks the exit codes: --help 0 and naming the FK_BENCH_* variables,
an unknown flag 2, a bad FK_BENCH_BUDGET / FK_BENCH_PIN / --family 2, an
empty filter 1; then a short run of the opt-in families (--family=frag,
fill,reclaim: 3 frag iterations on 64 MiB, fill at 0 and 99 %, reclaim) on
every allocator, checking their counters and frag's CSV series.
"""
import csv
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
        ([bench, "--family=frog"], {}, 2, "--family"),
        ([bench, "--list-allocators"], {"FK_BENCH_FRAG": "0"}, 2, "FK_BENCH_FRAG"),
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


# The opt-in families, short: bench/README.md, "Opt-in families".
FAMILY_FILTER = r"^(frag/|fill/[^/]+/order:(0|9)/occupancy:(0|99)/|reclaim/)"
FRAG_ITER = 3


def check_families(bench, out):
    """Run frag, fill and reclaim briefly on every allocator and check them."""
    series = os.path.splitext(out)[0] + "_series"
    os.makedirs(series, exist_ok=True)
    cmd = [bench, "--family=frag,fill,reclaim", "--threads=1,2", "--memory=64",
           "--frag=%d" % FRAG_ITER, "--series=" + series,
           "--benchmark_filter=" + FAMILY_FILTER, "--benchmark_min_time=0.001",
           "--benchmark_out=" + out, "--benchmark_out_format=json"]
    print("check_json: running", " ".join(cmd), flush=True)
    r = subprocess.run(cmd)
    if r.returncode != 0:
        sys.exit("check_json: framekit_bench (families) exited with %d" % r.returncode)
    allocators = listing(bench, "--list-allocators")
    check(out, allocators)
    with open(out) as f:
        runs = [x for x in json.load(f)["benchmarks"] if x.get("run_type") == "iteration"]
    fams = {}
    for x in runs:
        fam, alloc = x["name"].split("/")[:2]
        fams.setdefault(fam, set()).add(alloc)
        need = {"frag": ["huge_pct_ideal", "huge_pct_ideal_start", "huge_free", "huge_ideal",
                         "free_frames", "unusable_index_order9", "moves", "seed"],
                "fill": ["ballast_pct", "enomem"],
                "reclaim": []}[fam]
        if fam == "fill" and x.get("enomem", 0) == 0:
            need += ["%s_%s" % (op, q) for op in ("alloc", "free")
                     for q in ("p50_ns", "p99_ns", "p999_ns", "max_ns")]
        if fam == "reclaim":
            need += ["reclaim_gib_s", "blocks_removed"] if not x.get("label") else \
                ["reclaim_supported"]
            if x["threads"] > 1:
                need.append("churn_pairs_s_idle")
        missing = [c for c in need if c not in x]
        if missing:
            sys.exit("check_json: %s lacks %s" % (x["name"], ", ".join(missing)))
        if fam == "frag" and not (0 <= x["huge_free"] <= x["huge_ideal"] and x["moves"] >= 0
                                  and 0 <= x["unusable_index_order9"] <= 1):
            sys.exit("check_json: %s: inconsistent fragmentation record" % x["name"])
        if fam == "fill" and x["threads"] == 1 and "occupancy:99" in x["name"] and \
                not 95 <= x["ballast_pct"] <= 99:
            sys.exit("check_json: %s: ballast %.1f %% (want 95..99)" % (x["name"],
                                                                       x["ballast_pct"]))
    for fam in ("frag", "fill", "reclaim"):
        if fams.get(fam) != set(allocators):
            sys.exit("check_json: %s ran on %s, want every allocator (%s)" % (
                fam, sorted(fams.get(fam, [])), ", ".join(allocators)))
    # The protocol frees the same frames whatever the allocator: the free
    # count after it is one number per thread count.
    free = {}
    for x in runs:
        if x["name"].startswith("frag/"):
            free.setdefault(x["threads"], set()).add(x["free_frames"])
    if any(len(v) != 1 for v in free.values()):
        sys.exit("check_json: frag free frames differ between allocators: %s" % free)
    with open(os.path.join(series, "frag_iterations.csv")) as f:
        rows = list(csv.DictReader(f))
    want = len(allocators) * 2 * (FRAG_ITER + 1)
    if len(rows) != want or {int(r["iteration"]) for r in rows} != set(range(FRAG_ITER + 1)):
        sys.exit("check_json: frag_iterations.csv has %d rows, want %d" % (len(rows), want))
    with open(os.path.join(series, "frag_blocks.csv")) as f:
        blocks = list(csv.DictReader(f))
    nblocks = 64 * 256 // 512
    if len(blocks) != len(allocators) * 2 * nblocks or \
            any(not 0 <= int(b["free_frames"]) <= 512 for b in blocks):
        sys.exit("check_json: frag_blocks.csv: %d rows, want %d with 0..512 free each" % (
            len(blocks), len(allocators) * 2 * nblocks))
    # Recompute the last iteration's record from the per-block counts (an
    # independent implementation of huge frames, the unusable index and the
    # greedy moves) and compare with the CSV row and the JSON counters.
    per_run = {}
    for b in blocks:
        per_run.setdefault((b["allocator"], int(b["threads"]), int(b["seed"])), []).append(
            int(b["free_frames"]))
    last = {(r["allocator"], int(r["threads"]), int(r["seed"])): r for r in rows
            if int(r["iteration"]) == FRAG_ITER}
    counters = {(x["name"].split("/")[1], x["threads"], int(x["seed"])): x for x in runs
                if x["name"].startswith("frag/")}
    for key, free_in in per_run.items():
        free = sum(free_in)
        huge = sum(1 for f in free_in if f == 512)
        ideal = free // 512
        moves = sum(512 - f for f in sorted(free_in, reverse=True)[:ideal])
        unusable = (free - 512 * huge) / free if free else 0
        r, c = last.get(key), counters.get(key)
        if not r or not c or (int(r["free_frames"]), int(r["huge_free"]), int(r["huge_ideal"]),
                              int(r["moves"])) != (free, huge, ideal, moves) or \
                abs(float(r["unusable_index_order9"]) - unusable) > 1e-3 or \
                (c["free_frames"], c["huge_free"], c["moves"]) != (free, huge, moves):
            sys.exit("check_json: frag %s: last record %s / counters %s disagree with the "
                     "blocks (free %d, huge %d, ideal %d, moves %d, unusable %.4f)" % (
                         key, r, c and {k: c[k] for k in ("free_frames", "huge_free", "moves")},
                         free, huge, ideal, moves, unusable))
    print("check_json: families OK: frag, fill, reclaim on %s" % ", ".join(allocators))


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
    if not args.json:
        check_families(args.bench, os.path.splitext(args.out)[0] + "_families.json")


if __name__ == "__main__":
    main()
