#!/usr/bin/env python3
"""Pools implicit-feedback reports of metarec-coldstart (--json, one file per seed) over seeds:
each method's HR@10 and nDCG@10 over every (seed, new user), with 95 % normal intervals, and
the paired difference of the best meta-learned model (highest pooled HR@10) minus each
baseline, user by user. Usage: pool_implicit.py [--eval MODE] report-seed1.json report-seed2.json ...
(MODE: one of the run's --eval modes, e.g. sampled:99 or full; default: the first).
Standard library only. SPDX-License-Identifier: Apache-2.0"""
import json
import math
import sys

METRICS = ('hr@10', 'ndcg@10')


def interval(values):
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else float('nan')
    return mean, 1.96 * math.sqrt(var / n)


def main(paths, mode=None):
    pooled = {}  # method -> metric -> values over (seed, user)
    order = []
    baselines = set()  # the rows the reports mark as baselines
    for path in paths:
        with open(path) as f:
            report = json.load(f)
        rows = report['results']
        if mode is not None:
            found = [e['results'] for e in report.get('evaluations', []) if e['eval'] == mode]
            if not found:
                sys.exit('%s has no evaluation %s' % (path, mode))
            rows = found[0]
        for row in rows:
            if 'baseline' not in row:
                sys.exit('%s: the results have no "baseline" flag (a report of an older metarec-coldstart: run it again)'
                         % path)
            if row['baseline']:
                baselines.add(row['name'])
            if row['name'] not in pooled:
                pooled[row['name']] = {m: [] for m in METRICS}
                order.append(row['name'])
            for m in METRICS:
                pooled[row['name']][m].extend(row['per_user'][m])
    sizes = {len(pooled[name][METRICS[0]]) for name in order}
    if len(sizes) != 1:
        sys.exit('the reports do not hold the same users for every method')
    print('%d reports, %d (seed, user) pairs\n' % (len(paths), sizes.pop()))
    print('| method | HR@10 | nDCG@10 |')
    print('|---|---|---|')
    for name in order:
        cells = ['%.4f +- %.4f' % interval(pooled[name][m]) for m in METRICS]
        print('| %s | %s |' % (name, ' | '.join(cells)))
    models = [n for n in order if n not in baselines]
    if not models:
        return
    best = max(models, key=lambda n: interval(pooled[n]['hr@10'])[0])
    print('\npaired differences, %s minus each baseline (95 %% interval; a win when it excludes 0):\n' % best)
    print('| baseline | HR@10 difference | nDCG@10 difference |')
    print('|---|---|---|')
    for name in order:
        if name not in baselines:
            continue
        cells = []
        for m in METRICS:
            d = [a - b for a, b in zip(pooled[best][m], pooled[name][m])]
            mean, half = interval(d)
            verdict = 'win' if mean - half > 0 else 'loss' if mean + half < 0 else 'tie'
            cells.append('%+.4f +- %.4f (%s)' % (mean, half, verdict))
        print('| %s | %s |' % (name, ' | '.join(cells)))


if __name__ == '__main__':
    args = sys.argv[1:]
    chosen = None
    if len(args) >= 2 and args[0] == '--eval':
        chosen, args = args[1], args[2:]
    if not args:
        sys.exit(__doc__)
    main(args, chosen)
