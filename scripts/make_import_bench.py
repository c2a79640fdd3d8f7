#!/usr/bin/env python3
"""Generate the facilities CSV that scripts/bench_interop.sh imports (seeded, deterministic).

    scripts/make_import_bench.py --settlements S.csv --divisions D.csv --out FILE
        [--rows 100000] [--seed 20240707] [--max-jitter-m 400] [--ids]

Inputs are diming's own exports in EPSG:4538 (CGCS2000 / 3-degree Gauss-Krüger CM 87°E):

    diming export --layer settlements --format csv --crs EPSG:4538 > S.csv   # easting,northing
    diming export --layer divisions   --format csv --crs EPSG:4538 > D.csv   # wkt in metres

Each row is a settlement (uniform seeded choice among the 222) moved by a seeded random
offset, uniform in a disc whose radius is min(--max-jitter-m, 0.8 × the settlement's distance
to its township's boundary − 5 m): every point stays inside its township, hence inside the
county, so a dry run reports no error.

Output: GBK, columns 名称,类型,X,Y,床位 with X = easting and Y = northing in metres
(GIS order; diming would also accept survey-style X = northing). With --ids a first column
编号 (b000001…) gives every row its id. Standard library only.
"""

import argparse
import csv
import math
import random
import re
import sys

KINDS = [  # label an officer writes, weight, beds range (None: column left empty)
    ("社区服务站", 60, None),
    ("日间照料站", 20, (0, 40)),
    ("敬老院", 15, (20, 300)),
    ("公益性公墓", 5, None),
]


def rings_of(wkt):
    """Every ring of a (MULTI)POLYGON WKT as a list of (x, y)."""
    out = []
    for body in re.findall(r"\(([^()]+)\)", wkt):
        ring = [tuple(float(v) for v in pair.split()[:2]) for pair in body.split(",")]
        out.append(ring)
    return out


def inside(pt, rings):
    """Even-odd rule over all rings (holes included)."""
    x, y = pt
    c = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                c = not c
    return c


def dist_to_boundary(pt, rings):
    x, y = pt
    best = math.inf
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            dx, dy = x2 - x1, y2 - y1
            L = dx * dx + dy * dy
            t = 0.0 if L == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / L))
            best = min(best, math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--settlements", required=True)
    ap.add_argument("--divisions", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20240707)
    ap.add_argument("--max-jitter-m", type=float, default=400.0)
    ap.add_argument("--ids", action="store_true", help="add an 编号 column (b000001…)")
    a = ap.parse_args()

    townships = {}
    with open(a.divisions, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r.get("level") == "township" and r.get("wkt"):
                townships[r["code"]] = rings_of(r["wkt"])

    seeds = []  # (short name, easting, northing, jitter radius)
    with open(a.settlements, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            p = (float(r["easting"]), float(r["northing"]))
            rings = townships[r["township_code"]]
            if not inside(p, rings):
                sys.exit(f"settlement {r['code']} is not inside township {r['township_code']}")
            radius = max(0.0, min(a.max_jitter_m, 0.8 * dist_to_boundary(p, rings) - 5.0))
            seeds.append((r.get("short_name") or r["name"], p[0], p[1], radius))
    seeds.sort(key=lambda s: (s[1], s[2]))  # independent of the export's row order

    rng = random.Random(a.seed)
    labels = [k[0] for k in KINDS]
    weights = [k[1] for k in KINDS]
    beds = {k[0]: k[2] for k in KINDS}
    with open(a.out, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow((["编号"] if a.ids else []) + ["名称", "类型", "X", "Y", "床位"])
        for i in range(1, a.rows + 1):
            name, e, n, radius = seeds[rng.randrange(len(seeds))]
            kind = rng.choices(labels, weights)[0]
            r = radius * math.sqrt(rng.random())
            t = rng.random() * 2 * math.pi
            b = beds[kind]
            row = [f"{name}{kind}{i:06d}", kind, f"{e + r * math.cos(t):.3f}", f"{n + r * math.sin(t):.3f}",
                   "" if b is None else str(rng.randint(*b))]
            w.writerow(([f"b{i:06d}"] if a.ids else []) + row)


if __name__ == "__main__":
    main()
