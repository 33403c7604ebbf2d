#!/usr/bin/env python3
"""Goals of issue #29 judged from the committed results.csv files: python3 bench/results/issue-29-summarize.py > bench/results/issue-29-goals.md"""
import csv, math, os

ROOT = os.path.dirname(os.path.abspath(__file__))
FAMILIES = ['reachable-grid', 'reachable-grid-20rps', 'reachable-grid-wrr', 'persistent', 'onset-reachable', 'persistent-tiny']


def wilson(k, n, z=1.96):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0, c - h), min(1, c + h)


def rate(p, n):
    k = round(float(p) * n)
    lo, hi = wilson(k, n)
    return f'{100 * k / n:.1f}% [{100 * lo:.1f}%, {100 * hi:.1f}%] ({k}/{n})'


def load(families):
    """Every row of the families' results.csv, each marked with its family."""
    loaded = []
    for fam in families:
        with open(os.path.join(ROOT, fam, 'results.csv')) as f:
            for r in csv.DictReader(f):
                r['family'] = fam
                loaded.append(r)
    return loaded


rows = load(FAMILIES)


NOHISTORY = 'default-nohistory'
PRIOR = 'default-failz-2'  # round 9's judge: the same code with the Fail band at 2 log-sigmas once a history is learned


def twin(r, engine):
    # The same cell's row of another engine (None when the family did not run it).
    for x in rows:
        if x['family'] == r['family'] and x['rps'] == r['rps'] and x['weight'] == r['weight'] and x['fault'] == r['fault'] and x['engine'] == engine:
            return x
    return None


def cell(r):
    # Held-weight schedules name their weight in the label (the cell's weight column is unused there).
    w = '' if 'hold-' in r['fault'] else f" w {float(r['weight']):.0%},"
    return f"{r['family']}: {r['rps']} rps,{w} {r['fault']}"


out = [open(os.path.join(ROOT, 'issue-29-header.md')).read().rstrip(), '']
aa = [r for r in rows if r['engine'] == 'default' and r['false_abort_rate']]
out.append('## A/A false aborts of `default` (goal <= 2.5%)\n\n| cell | false aborts | holds | Fail band at 2 sigmas (round 9) | without history (`default-nohistory`) |\n|---|---|---|---|---|')


def other(r, engine, column):
    t = twin(r, engine)
    return rate(t[column], int(t['replicates'])) if t and t[column] else '-'


for r in aa:
    n = int(r['replicates'])
    out.append(f"| {cell(r)} | {rate(r['false_abort_rate'], n)} | {'yes' if float(r['false_abort_rate']) <= 0.025 else '**no**'} | {other(r, PRIOR, 'false_abort_rate')} | {other(r, NOHISTORY, 'false_abort_rate')} |")
oa = [r for r in rows if r['engine'] == 'oracle' and r['false_abort_rate']]
out.append('\n## The oracle on A/A cells (calibrated to 2.5% on other seeds: a check of its validity)\n\n| cell | false aborts |\n|---|---|')
for r in oa:
    out.append(f"| {cell(r)} | {rate(r['false_abort_rate'], int(r['replicates']))} |")
k = sum(round(float(r['false_abort_rate']) * int(r['replicates'])) for r in oa)
n = sum(int(r['replicates']) for r in oa)
out.append(f"| all oracle A/A cells pooled | {rate(k / n, n)} |")
bad = [r for r in rows if r['engine'] == 'default' and r['escape_rate']]
out.append('\n## Escapes of `default` (goal <= 2.5% for faults of 5x and more)\n\n| cell | escaped (promoted) | holds | Fail band at 2 sigmas | without history |\n|---|---|---|---|---|')
for r in bad:
    out.append(f"| {cell(r)} | {rate(r['escape_rate'], int(r['replicates']))} | {'yes' if float(r['escape_rate']) <= 0.025 else '**no**'} | {other(r, PRIOR, 'escape_rate')} | {other(r, NOHISTORY, 'escape_rate')} |")
out.append('\n## Blast of `default` against Flagger (goal <= 1/4) and the oracle (goal <= 1.25x)\n')
out.append('Mean failed canary requests until rollback over caught replicates (after the onset for late faults); '
           'catch rates beside them. "oracle / flagger" is the best valid detector\'s own blast against Flagger\'s: where it is above '
           '1/4, no detector valid at the same false-abort rate meets that goal (Flagger\'s mean is over the few replicates it catches). The last two columns, not judged by the goal: `default-failz-2` (round 9\'s judge: the Fail band at 2 log-sigmas with history) '
           'and `default-nohistory` (a workload with no history in Prometheus).\n\n'
           '| cell | default: catch, blast | flagger: catch, blast | default / flagger | oracle / flagger | oracle: catch, blast | default / oracle | Fail band at 2 sigmas: catch, blast, / oracle | without history: catch, blast, / oracle |\n|---|---|---|---|---|---|---|---|---|')
for r in (x for x in bad if twin(x, 'oracle')):
    same = {x['engine']: x for x in rows if x['family'] == r['family'] and x['rps'] == r['rps'] and x['weight'] == r['weight'] and x['fault'] == r['fault']}
    late = 'at ' in r['fault']
    col = 'blast_after_onset_mean' if late else 'blast_mean'
    def b(e):
        x = same.get(e)
        return float(x[col]) if x and x[col] else float('nan')
    def c(e):
        x = same.get(e)
        return f"{100 * float(x['catch_rate']):.1f}%" if x else '-'
    fl = b('flagger')
    ratio_f = b('default') / fl if fl and not math.isnan(fl) and fl > 0 else float('nan')
    if late:
        ratio_f = float('nan')  # Flagger promotes after 10 passing checks, before these onsets: not comparable
    rf = '-' if math.isnan(ratio_f) else f"{ratio_f:.2f}{'' if ratio_f <= 0.25 else ' **no**'}"
    oracle_f = '-' if math.isnan(ratio_f) else f"{b('oracle') / fl:.2f}"
    ro = r['blast_ratio_to_oracle']
    ro = '-' if not ro else f"{float(ro):.2f}x{'' if float(ro) <= 1.25 else ' **no**'}"
    def against(engine):
        t = twin(r, engine)
        return f"{c(engine)}, {b(engine):.1f}, {float(t['blast_ratio_to_oracle']):.2f}x" if t and t['blast_ratio_to_oracle'] else ('-' if not t else f"{c(engine)}, -")
    out.append(f"| {cell(r)} | {c('default')}, {b('default'):.1f} | {c('flagger')}, {fl:.1f} | {rf} | {oracle_f} | {c('oracle')}, {b('oracle'):.1f} | {ro} | {against(PRIOR)} | {against(NOHISTORY)} |")
tiny = [r for r in bad if not twin(r, 'oracle')]
if tiny:
    out.append('\n## 5x faults where per-pod counts are tiny (`persistent-tiny`: no oracle or Flagger; `default` against the Fail band at 2 sigmas)\n\n'
               '| cell | default: catch, mean blast | Fail band at 2 sigmas: catch, mean blast |\n|---|---|---|')
    for r in tiny:
        t = twin(r, PRIOR)
        out.append(f"| {cell(r)} | {100 * float(r['catch_rate']):.1f}%, {float(r['blast_mean'] or 'nan'):.1f} | "
                   + (f"{100 * float(t['catch_rate']):.1f}%, {float(t['blast_mean'] or 'nan'):.1f} |" if t else '- |'))
# Item 5: the Mann-Whitney judge at a spec's defaults (15 s windows, looks at 10-120 windows, nominal 2%).
mw = load(['mann-whitney-reachable', 'mann-whitney-persistent'])
out.append('\n## Mann-Whitney at a spec\'s defaults (goal: A/A at or below its nominal 2%)\n')
out.append('`mann-whitney`: a metric with `judge: mann-whitney` and nothing else, windows of the scrape interval from the '
           'scraped per-pod counters. Canary failures expected a window in `mann-whitney-reachable` (p0 = 1%, 15 s): '
           '20 rps 0.03-1.5, 200 rps 0.3-15.\n\n| cell | false aborts | holds |\n|---|---|---|')
for r in (x for x in mw if x['false_abort_rate']):
    out.append(f"| {cell(r)} | {rate(r['false_abort_rate'], int(r['replicates']))} | {'yes' if float(r['false_abort_rate']) <= 0.02 else '**no**'} |")
out.append('\n| cell | 5x caught | 5x escaped (promoted) | mean blast |\n|---|---|---|---|')
for r in (x for x in mw if x['escape_rate']):
    out.append(f"| {cell(r)} | {100 * float(r['catch_rate']):.1f}% | {rate(r['escape_rate'], int(r['replicates']))} | {float(r['blast_mean'] or 'nan'):.1f} |")
print('\n'.join(out))
