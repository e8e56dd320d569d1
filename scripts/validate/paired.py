#!/usr/bin/env python3
"""Paired comparison of two sweeps of the same scenario and seeds (old vs new binary).

usage: paired.py OLD/summary.csv NEW/summary.csv [--label L] [--out CSV]
Rows are paired by (variant, every grid column, seed). For every numeric column
(identification and hash columns aside), over pairs where both cells are non-empty:
old mean, new mean, mean paired difference, its standard error and z = diff / se.
Prints one line per (variant, metric) with |z| > 3 and counts the others."""
import csv, math, sys, argparse

SKIP = {"scenario", "variant", "seed", "scenario_hash", "version", "events"}

def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows

def key(r, cols):
    return tuple(r[c] for c in cols)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old"); ap.add_argument("new")
    ap.add_argument("--label", default="")
    ap.add_argument("--out")
    ap.add_argument("--threshold", type=float, default=3.0)
    a = ap.parse_args()
    old, new = load(a.old), load(a.new)
    cols = list(old[0].keys())
    metric_cols = [c for c in cols if c not in SKIP]
    idx = {}
    for r in new:
        idx[(r["variant"], r["seed"])] = r
    out_rows = []
    moved, quiet = [], 0
    variants = sorted({r["variant"] for r in old}, key=lambda v: [r["variant"] for r in old].index(v))
    for v in variants:
        pairs = [(r, idx.get((v, r["seed"]))) for r in old if r["variant"] == v]
        pairs = [(o, n) for o, n in pairs if n is not None]
        for m in metric_cols:
            d, xo, xn = [], [], []
            for o, n in pairs:
                try:
                    fo, fn = float(o[m]), float(n[m])
                except (ValueError, KeyError):
                    continue
                if math.isnan(fo) or math.isnan(fn):
                    continue
                d.append(fn - fo); xo.append(fo); xn.append(fn)
            k = len(d)
            if k < 2:
                continue
            mo, mn, md = sum(xo) / k, sum(xn) / k, sum(d) / k
            var = sum((x - md) ** 2 for x in d) / (k - 1)
            se = math.sqrt(var / k)
            z = md / se if se > 0 else (0.0 if md == 0 else math.inf)
            out_rows.append(dict(label=a.label, variant=v, metric=m, n=k, old=mo, new=mn, diff=md, se=se, z=z))
            if abs(z) > a.threshold:
                moved.append(out_rows[-1])
            else:
                quiet += 1
    for r in moved:
        print(f"{r['label']}\t{r['variant']}\t{r['metric']}\told {r['old']:.6g}\tnew {r['new']:.6g}\tz {r['z']:.2f}\tn {r['n']}")
    print(f"{a.label}: {len(moved)} moved (|z| > {a.threshold}), {quiet} within noise")
    if a.out:
        with open(a.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()))
            w.writeheader(); w.writerows(out_rows)

if __name__ == "__main__":
    main()
