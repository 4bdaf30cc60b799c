"""Map test cases: the hand network with hostile station names, proposals and an area."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from handnet import HAND_CRS, X0, Y0, hand_graph, write_hand_stations

import stationplan as sp

# Names that would run script if any of them reached the page as HTML.
XSS_IMG = '<img src=x onerror="window.__pwned=1">'
XSS_SCRIPT = "</script><script>window.__pwned=2</script>"
XSS_PROPOSAL = '<img src=y onerror="window.__pwned=3">'
HOSTILE = {"S2": XSS_IMG, "S6": XSS_SCRIPT}

# What the hand map must show (see handnet.py for the network and the paper values).
HAND_STATIONS_OK = ["S1", XSS_IMG, "S3", "S4", XSS_SCRIPT]  # in input order
HAND_REJECTED_WITH_POINT = 1  # S5 (too far from every street); S7 has no position
HAND_GAP_RUNS = 4
# (band, street) pairs with covered metres: road 0: bands 3, 4; road 1: 0-3; road 2: 3, 4;
# road 3: 0; road 4: 1-4; road 5: 0; road 6: 1-4; road 7: 0; road 8: 0, 1.
HAND_COVERED_FEATURES = 21
HAND_BAND_M = {0: 1000.0, 1: 700.0, 2: 600.0, 3: 600.0, 4: 600.0}
HAND_SERVICE_AREAS = 5


@dataclass(frozen=True)
class MapCase:
    coverage: sp.Coverage
    gaps: gpd.GeoDataFrame
    summary: dict
    proposals: gpd.GeoDataFrame
    area: gpd.GeoDataFrame


def hostile_stations_csv(path: Path) -> Path:
    """The hand stations, with two names replaced by HTML/script payloads, and details."""
    write_hand_stations(path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    out = [[*header, "address", "services", "hours", "phone"]]
    for row in body:
        name = row[0]
        out.append([HOSTILE.get(name, name), *row[1:], f"{name} street 1 & <b>2</b>",
                    "drinking_water;seating;phone_charging;massage", "08:00-22:00",
                    "0311-1234567"])
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(out)
    return path


def hand_proposals() -> gpd.GeoDataFrame:
    """Two proposed sites in the hand CRS: in the U–V gap (rank 1) and the Q1–R gap."""
    points = [shapely.Point(X0 + 5000, Y0 + 350), shapely.Point(X0 + 1700, Y0 + 5000)]
    return gpd.GeoDataFrame(
        {
            "rank": [1, 2],
            "candidate_id": ["c-uv", "c-qr"],
            "name": ["Corner shop 便利店", XSS_PROPOSAL],
            "kind": ["shop", "shop"],
            "host_tag": ["shop=convenience", "amenity=cafe"],
            "marginal_m": [700.0, 600.0],
            "cumulative_share": [4200 / 5100, 4800 / 5100],
        },
        geometry=points,
        crs=HAND_CRS,
    )


def hand_area() -> gpd.GeoDataFrame:
    """A planning area around the first two components of the hand network."""
    box = shapely.box(X0 - 500, Y0 - 500, X0 + 3000, Y0 + 5500)
    return gpd.GeoDataFrame(geometry=[box], crs=HAND_CRS)


def hand_case(tmp: Path) -> MapCase:
    net = sp.network_from_graph(hand_graph())
    stations = sp.snap_stations(net, sp.read_stations(hostile_stations_csv(tmp / "st.csv")))
    cov = sp.compute_coverage(net, stations)
    gaps = sp.find_gaps(cov)
    return MapCase(cov, gaps, sp.summarize(cov, gaps), hand_proposals(), hand_area())


def grid_graph(n: int, spacing_m: float = 100.0):
    """An n × n street grid (walk graph, both directions), names in Chinese per row/column."""
    import networkx as nx

    g = nx.MultiDiGraph(crs=HAND_CRS)
    for i in range(n):
        for j in range(n):
            g.add_node(i * n + j, x=X0 + j * spacing_m, y=Y0 + i * spacing_m)
    k = 0
    for i in range(n):
        for j in range(n):
            for di, dj, name in ((0, 1, f"东西{i}路"), (1, 0, f"南北{j}街")):
                if i + di < n and j + dj < n:
                    a, b = i * n + j, (i + di) * n + j + dj
                    for u, v in ((a, b), (b, a)):
                        g.add_edge(u, v, osmid=k, highway="residential", length=spacing_m,
                                   name=name)
                    k += 1
    return g


SERVICE_KEYS = ("drinking_water", "seating", "phone_charging", "microwave", "toilet",
                "air_conditioning", "first_aid", "rain_gear", "ebike_charging")


def street_stations_csv(net: sp.StreetNetwork, path: Path, n: int, *, seed: int = 0) -> Path:
    """``n`` stations on random streets (a few metres off them), with Chinese details."""
    import numpy as np

    rng = np.random.default_rng(seed)
    edges = net.edges
    weights = edges["length_m"].to_numpy() / edges["length_m"].sum()
    pick = rng.choice(len(edges), size=n, p=weights)
    points = shapely.line_interpolate_point(edges.geometry.to_numpy()[pick],
                                            rng.uniform(0, 1, n), normalized=True)
    points = shapely.transform(points, lambda xy: xy + rng.normal(0, 8, xy.shape))
    lonlat = gpd.GeoSeries(points, crs=net.crs).to_crs(4326)
    rows = [["名称", "经度", "纬度", "地址", "开放时间", "services", "电话"]]
    for i, (p, e) in enumerate(zip(lonlat, pick, strict=True)):
        street = edges["name"].iat[e] if isinstance(edges["name"].iat[e], str) else "无名路"
        services = rng.choice(SERVICE_KEYS, size=rng.integers(1, 6), replace=False)
        rows.append([f"爱心驿站{i + 1:04d}", f"{p.x:.6f}", f"{p.y:.6f}", f"{street}{i + 1}号",
                     "08:00-22:00", ";".join(services), f"0311-{8000000 + i}"])
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path
