# SPDX-License-Identifier: MIT
import json, statistics, sys, re
rows = {}
for v in "AB":
    for r in (1, 2, 3, 4, 5):
        d = json.load(open(f"{v}-{r}.json"))
        for b in d["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            name = b["name"]
            rows.setdefault(name, {"A": [], "B": []})[v].append(b["real_time"])
            unit = b["time_unit"]
print(f"{'row':80s} {'12462eb':>9s} {'fixed':>9s} {'fixed/old':>9s}")
for name in sorted(rows):
    a, b = rows[name]["A"], rows[name]["B"]
    ma, mb = statistics.median(a), statistics.median(b)
    short = re.sub(r"/manual_time", "", name)
    print(f"{short:80s} {ma:9.1f} {mb:9.1f} {mb/ma:9.2f}   A={['%.1f'%x for x in a]} B={['%.1f'%x for x in b]}")
print("unit:", unit)
