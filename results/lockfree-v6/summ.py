# SPDX-License-Identifier: MIT
"""Tables of results/lockfree-v6 (run.sh): python3 results/lockfree-v6/summ.py [DIR]."""
import collections, glob, itertools, json, os, statistics as st, sys


def mannwhitneyu(a, b):
    """Two-sided exact Mann-Whitney U test (ties get mid-ranks), by enumerating
    every split of the pooled ranks: fine for 7 + 7 samples (3432 splits)."""
    pool = sorted(a + b)
    rank = {}
    for v in set(pool):
        idx = [i + 1 for i, x in enumerate(pool) if x == v]
        rank[v] = sum(idx) / len(idx)
    ranks = [rank[x] for x in a + b]
    n = len(a)
    mean = n * (len(ranks) + 1) / 2
    obs = abs(sum(rank[x] for x in a) - mean)
    hits = total = 0
    for c in itertools.combinations(range(len(ranks)), n):
        total += 1
        hits += abs(sum(ranks[i] for i in c) - mean) >= obs - 1e-9
    return type('R', (), {'pvalue': hits / total})

D = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def rows(path, key):
    for f in sorted(glob.glob(path)):
        try:
            bench = json.load(open(f))['benchmarks']
        except (ValueError, KeyError):
            print(f'(skipped {f}: not a finished JSON file)', file=sys.stderr)
            continue
        for b in bench:
            if b.get('run_type') == 'iteration' and 'error_occurred' not in b:
                yield f, b, key(f, b)


def short(name, alloc):
    return (name.replace('/manual_time', '').replace('alloc_raw_', '')
            .replace('/' + alloc + '/', '/').replace('threads:', 't'))


def med(x):
    return st.median(x) if x else float('nan')


def span(x):
    return f"{med(x):.1f} [{min(x):.1f}-{max(x):.1f}]"


def ordkey(r):
    # pattern, order, held, threads
    p = r.split('/')
    return (p[0], p[1], int(p[2].split(':')[1]) if p[2].startswith('held') else 0, p[-1])


# 1. vs/: lockfree, buddy-pcp, LLFree-c in one process per pass.
vs = collections.defaultdict(lambda: collections.defaultdict(list))
for f, b, _ in rows(f'{D}/vs/pass*.json', lambda f, b: None):
    alloc = b['run_name'].split('/')[1]
    vs[short(b['run_name'], alloc)][alloc].append(b['cpu_ns_per_item'])
npass = len(glob.glob(f'{D}/vs/pass*.json'))
print(f'## vs: thread CPU ns per alloc+free pair, median [min-max] of {npass} passes\n')
print('| row | lockfree | LLFree-c | buddy-pcp | lockfree / LLFree-c | lockfree / buddy-pcp | target |')
print('|---|---|---|---|---|---|---|')
miss = []
for r in sorted(vs, key=ordkey):
    a, l, p = vs[r]['lockfree'], vs[r]['llfree'], vs[r]['buddy-pcp']
    rl, rp = med(a) / med(l), med(a) / med(p)
    order0 = '/order:0/' in r
    ok = rl <= 0.9 and (not order0 or r.startswith('bulk') or rp <= 0.9)
    if not ok:
        miss.append(r)
    tgt = ('<= 0.9x LLFree-c' + ('' if not order0 or r.startswith('bulk') else ', <= 0.9x pcp'))
    print(f"| {r} | {span(a)} | {span(l)} | {span(p)} | **{rl:.2f}** | {rp:.2f} | "
          f"{'met' if ok else '**missed**'} ({tgt}) |")
print(f'\nrows missing a target: {len(miss)} of {len(vs)}' + (': ' + ', '.join(miss) if miss else ''))

# 2. ab/ (and ab0/, run-order0.sh): v4, v5, v6 of lockfree in alternating processes.
def ab_table(sub):
    ab = collections.defaultdict(lambda: collections.defaultdict(list))
    for f, b, v in rows(f'{D}/{sub}/*-pass*.json', lambda f, b: os.path.basename(f).split('-')[0]):
        ab[short(b['run_name'], 'lockfree')][v].append(
            b['cpu_ns_per_item'] if 'alloc_raw' in b['run_name'] else b['real_time'])
    if not ab:
        return
    print(f'\n## {sub}: lockfree v4 / v5 / v6 in alternating processes, median [min-max]'
          ' (alloc_raw: CPU ns per pair; alloc_segment_bulk: manual time per segment, ns)\n')
    print('| row | v4 `0ae064e` | v5 `ef485ae` | v6 | v6 / v4 | v6 / v4, minima | v6 / v5 | U-test p (v6 vs v4) | U-test p (v6 vs v5) |')
    print('|---|---|---|---|---|---|---|---|---|')
    worse = []
    for r in sorted(ab, key=lambda r: (r.startswith('alloc_segment'), r if r.startswith('alloc_segment') else ordkey(r))):
        a, b5, c = ab[r]['v4'], ab[r]['v5'], ab[r]['v6']
        p, p5 = mannwhitneyu(a, c).pvalue, mannwhitneyu(b5, c).pvalue
        r4 = med(c) / med(a)
        if r4 > 1.03:
            worse.append(f'{r} ({r4:.2f}, p={p:.2f})')
        print(f"| {r} | {span(a)} | {span(b5)} | {span(c)} | **{r4:.2f}** | {min(c) / min(a):.2f} | "
              f"{med(c) / med(b5):.2f} | {p:.3f} | {p5:.3f} |")
    npr = {k: len(v) for k, v in next(iter(ab.values())).items()}
    print(f'\nprocesses per build: {npr}')
    print(f'\nrows where v6 is more than 3 % slower than v4 (medians): {len(worse)}'
          + (': ' + '; '.join(worse) if worse else ''))


ab_table('ab')
ab_table('ab0')


def u_normal(a, b):
    """Two-sided Mann-Whitney U, normal approximation (for 15 + 15 samples)."""
    from math import erf, sqrt
    pool = sorted(a + b)
    ra = sum(pool.index(x) + 1 for x in a)
    n1, n2 = len(a), len(b)
    u = ra - n1 * (n1 + 1) / 2
    z = abs(u - n1 * n2 / 2) / (n1 * n2 * (n1 + n2 + 1) / 12) ** .5
    return 2 * (1 - 0.5 * (1 + erf(z / sqrt(2))))


# segment-ab/ (run-segment.sh): alloc_segment_bulk, v5 against v6.
seg = collections.defaultdict(lambda: collections.defaultdict(list))
for f, b, v in rows(f'{D}/segment-ab/*-pass*.json', lambda f, b: os.path.basename(f).split('-')[0]):
    seg[short(b['run_name'], 'lockfree')][v].append(b['real_time'])
if seg:
    n = {k: len(v) for k, v in next(iter(seg.values())).items()}
    print(f'\n## segment-ab: alloc_segment_bulk, ns per segment (manual time), v5 against v6, {n} processes\n')
    print('| row | v5 `ef485ae` | v6 | v6 / v5, medians | v6 / v5, minima | U-test p (normal approx.) |')
    print('|---|---|---|---|---|---|')
    for r in sorted(seg):
        a, c = seg[r]['v5'], seg[r]['v6']
        print(f"| {r} | {span(a)} | {span(c)} | {med(c) / med(a):.3f} | {min(c) / min(a):.3f} | {u_normal(a, c):.2f} |")

# 3. frag.
fr = collections.defaultdict(list)
for f, b, _ in rows(f'{D}/frag/frag.json', lambda f, b: None):
    alloc = b['run_name'].split('/')[1]
    fr[(alloc, int(b['threads']))].append((int(b['seed']), b['huge_pct_ideal']))
print('\n## frag: huge frames after 100 iterations, % of ideal, per seed\n')
print('| threads | lockfree (seed: %) | lockfree min | LLFree-c (seed: %) | LLFree-c max | target |')
print('|---|---|---|---|---|---|')
for t in (1, 2, 4):
    a, l = sorted(fr[('lockfree', t)]), sorted(fr[('llfree', t)])
    if not a:
        continue
    amin, lmax = min(x for _, x in a), max(x for _, x in l)
    ok = amin >= 95 and amin >= lmax
    print(f"| {t} | {', '.join(f'{s}: {x:.1f}' for s, x in a)} | **{amin:.1f}** | "
          f"{', '.join(f'{s}: {x:.1f}' for s, x in l)} | {lmax:.1f} | {'met' if ok else 'missed'} |")
