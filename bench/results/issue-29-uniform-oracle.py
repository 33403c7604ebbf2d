#!/usr/bin/env python3
"""Issue #29: `default` against the per-cell oracle and against the uniform oracle (one threshold for the environments a
drive cannot tell apart). Reads the goal families' results.csv (default, oracle) and bench/results/ledger/uniform-oracle-
<family>/results.csv (oracle, oracle-uniform on the same seeds); checks that the two runs' oracle rows are equal; prints
markdown. Run from the repository root: python3 bench/results/issue-29-uniform-oracle.py"""
import csv
import sys

FAMILIES = ['persistent', 'onset-reachable']


def load(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def key(r):
    return (r['routing'], r['rps'], r['weight'], r['fault'])


def thresholds(path):
    """Each cell's (oracle h, uniform oracle h), in the order results.md lists its cells (the CSV's order)."""
    cells = []
    for line in open(path):
        if line.startswith('## '):
            cells.append({})
        elif line.startswith('| oracle') and '(h = ' in line:
            engine, h = line[2:].split(' (h = ')
            cells[-1][engine] = float(h.split(')')[0])
    return [(c['oracle'], c['oracle-uniform']) for c in cells]


def pct(x):
    return f"{float(x) * 100:.1f}%"


out = []
worst = {}
for fam in FAMILIES:
    goal = {(r['engine'],) + key(r): r for r in load(f'bench/results/{fam}/results.csv')}
    ledger = load(f'bench/results/ledger/uniform-oracle-{fam}/results.csv')
    for r in ledger:
        if r['engine'] != 'oracle':
            continue
        g = goal[('oracle',) + key(r)]
        if any(r[c] != g[c] for c in r if c != 'blast_ratio_to_oracle'):
            sys.exit(f'{fam}: the oracle row of {key(r)} differs from the goal family\'s: not the same draws')
    out.append(f'\n`{fam}` (every oracle row equal to the goal family\'s):\n')
    out.append('| cell | default: catch, blast | oracle (per cell): h; catch, blast | default / oracle | uniform oracle: h; catch, blast | default / uniform |')
    out.append('|---|---|---|---|---|---|')
    hs = thresholds(f'bench/results/ledger/uniform-oracle-{fam}/results.md')
    groups = {}
    for r, (ho, hu) in zip([r for r in ledger if r['engine'] == 'oracle-uniform'], hs):
        k = key(r)
        d, o = goal[('default',) + k], goal[('oracle',) + k]
        label = f"{fam}: {k[1]} rps, w {float(k[2]) * 100:.0f}%, {k[3]}"
        if r['catch_rate'] == '':
            out.append(f"| {label} | A/A {pct(d['false_abort_rate'])} | {ho:.2f}; A/A {pct(o['false_abort_rate'])} | | {hu:.2f}; A/A {pct(r['false_abort_rate'])} | |")
            continue
        col = 'blast_after_onset_mean' if ' at ' in k[3] else 'blast_mean'
        db, ob, ub = float(d[col]), float(o[col]), float(r[col])
        out.append(f"| {label} | {pct(d['catch_rate'])}, {db:.1f} | {ho:.2f}; {pct(o['catch_rate'])}, {ob:.1f} | {db / ob:.2f}x | "
                   f"{hu:.2f}; {pct(r['catch_rate'])}, {ub:.1f} | {db / ub:.2f}x |")
        g = groups.setdefault((k[2], hu), [])
        g.append((k[3], db / ob, ub / ob))
    out.append('')
    out.append('The worst cell of each group (the cells one uniform threshold covers), as a ratio to the per-cell oracle:')
    out.append('')
    out.append('| group (weight; uniform h) | cells | default, worst | uniform oracle, worst |')
    out.append('|---|---|---|---|')
    for (w, hu), cells in groups.items():
        out.append(f"| w {float(w) * 100:.0f}%; h {hu:.2f} | {'; '.join(c[0] for c in cells)} | "
                   f"{max(c[1] for c in cells):.2f}x | {max(c[2] for c in cells):.2f}x |")
print('\n'.join(out))
