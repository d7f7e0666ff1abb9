# SPDX-License-Identifier: MIT
import json,glob,statistics as st,collections,sys
from scipy.stats import mannwhitneyu
d=collections.defaultdict(lambda: collections.defaultdict(list))
for f in sorted(glob.glob('/tmp/v5ab3/*-*.json')):
    v=f.split('/')[-1].split('-')[0]
    j=json.load(open(f))
    for b in j['benchmarks']:
        if b.get('run_type')!='iteration': continue
        name=b['run_name'].replace('/manual_time','').replace('alloc_raw_','').replace('/lockfree','')
        d[name][v].append(b['cpu_ns_per_item'])
print('| row (lockfree) | v4 `0ae064e`: median [min-max] | v5 `efb9202`: median [min-max] | v5 / v4, medians | v5 / v4, minima | U-test p |')
print('|---|---|---|---|---|---|')
f=lambda x: f"{st.median(x):.1f} [{min(x):.1f}-{max(x):.1f}]"
for name in sorted(d):
    a=d[name]['base']; b=d[name]['new']
    p=mannwhitneyu(a,b).pvalue
    print(f"| {name} | {f(a)} | {f(b)} | {st.median(b)/st.median(a):.2f} | {min(b)/min(a):.2f} | {p:.2f} |")
print()
print('processes per build:', {k:len(v) for k,v in next(iter(d.values())).items()})
