#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ab.sh: interleaved A/B runs of the single-thread segment rows of two
# framekit_bench builds (release preset), then the median of each row.
#   usage: results/proof/ab.sh BENCH_A BENCH_B ROUNDS OUTDIR
# Round i runs A then B (odd i) or B then A (even i), so drift on a shared
# host falls on both builds alike. Rows: seg_split, seg_slice_drop (1, 16,
# 512 frames; drop included) and seg_next, core variant default, 1 thread.
set -euo pipefail
[ $# -eq 4 ] || { sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;p}' "$0"; exit 2; }
a=$1 b=$2 rounds=$3 out=$4
mkdir -p "$out"
filter='^seg_(split|slice_drop|next)/core:default/'
run() { "$1" --threads=1 --benchmark_filter="$filter" --benchmark_format=json \
	--benchmark_out="$out/$2.json" >/dev/null 2>&1; }
for i in $(seq 1 "$rounds"); do
	if [ $((i % 2)) -eq 1 ]; then run "$a" "A-$i"; run "$b" "B-$i"; else run "$b" "B-$i"; run "$a" "A-$i"; fi
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
t = {}
for side in "AB":
    for i in range(1, rounds + 1):
        for r in json.load(open(f"{out}/{side}-{i}.json"))["benchmarks"]:
            t.setdefault(r["name"], {"A": [], "B": []})[side].append(r["real_time"])
print(f"{'row':58} {'A median ns':>12} {'B median ns':>12} {'B/A':>7}  min A / min B")
for name, v in t.items():
    ma, mb = statistics.median(v["A"]), statistics.median(v["B"])
    print(f"{name:58} {ma:12.2f} {mb:12.2f} {mb / ma:7.3f}  {min(v['A']):.2f} / {min(v['B']):.2f}")
PY
