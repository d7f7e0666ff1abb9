# SPDX-License-Identifier: MIT
"""Table of inproc/run.sh: per row, each version's median over the passes, and
the per-pass ratio v6/v4 (same process, so the same host conditions)."""
import collections, glob, json, os, statistics as st
D = os.path.dirname(os.path.abspath(__file__))
runs = collections.defaultdict(dict)  # (pass, row) -> {version: ns}
for f in sorted(glob.glob(f'{D}/pass*.json')):
    p = os.path.basename(f)
    for b in json.load(open(f))['benchmarks']:
        if b.get('run_type') != 'iteration':
            continue
        parts = b['run_name'].replace('/manual_time', '').replace('alloc_raw_', '').split('/')
        alloc = parts.pop(1)
        row = '/'.join(parts).replace('threads:', 't')
        runs[(p, row)][{'lockfree': 'built-in v6'}.get(alloc, alloc.replace('lockfree-', ''))] = b['cpu_ns_per_item']
rows = sorted({r for _, r in runs}, key=lambda r: (r.split('/')[0], r.split('/')[1], int(r.split('/')[2].split(':')[1]), r.split('/')[3]))
passes = sorted({p for p, _ in runs})
print(f'# lockfree v4 / v5 / v6 in one process, {len(passes)} passes: median CPU ns per pair;')
print('# per-pass ratios: median [min-max] over the passes; "v6 < v4": passes where v6 was faster\n')
print('| row | v4 | v5 | v6 (plug-in) | v6 built-in | v6/v4 per pass | v6/v5 per pass | v6 < v4 |')
print('|---|---|---|---|---|---|---|---|')
over = []
for r in rows:
    vals = collections.defaultdict(list)
    r64, r65 = [], []
    for p in passes:
        d = runs.get((p, r), {})
        for k, v in d.items():
            vals[k].append(v)
        if 'v4' in d and 'v6' in d:
            r64.append(d['v6'] / d['v4'])
        if 'v5' in d and 'v6' in d:
            r65.append(d['v6'] / d['v5'])
    m = {k: st.median(v) for k, v in vals.items()}
    f = lambda x: f'{st.median(x):.2f} [{min(x):.2f}-{max(x):.2f}]'
    if st.median(r64) > 1.03:
        over.append(f'{r} ({st.median(r64):.2f})')
    print(f"| {r} | {m['v4']:.1f} | {m['v5']:.1f} | {m['v6']:.1f} | {m['built-in v6']:.1f} | "
          f"**{f(r64)}** | {f(r65)} | {sum(x < 1 for x in r64)}/{len(r64)} |")
print(f'\nrows whose median per-pass v6/v4 ratio is above 1.03: {len(over)}' + (': ' + ', '.join(over) if over else ''))
