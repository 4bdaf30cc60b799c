"""Test data: a hand-made network with answers computed on paper, and the real extracts."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import pyproj
import pytest

SHARED_OSM = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm"
HAND_CRS = "EPSG:32650"  # UTM 50N; the hand network sits near Shijiazhuang
X0, Y0 = 500_000.0, 4_400_000.0

# Hand network, coordinates in metres relative to (X0, Y0); straight edges.
#   component 1: A—B—C—D along y=0 (300, 700, 300 m), station S1 in the middle of BC
#   component 2: P0—P—Q—Q1—R—R1 along y=5000 (200, 800, 200, 1400, 200 m),
#                stations S2 on P0P, S3 on QQ1, S6 on RR1
#   component 3: X—Y (300 m), station S4 exactly on it
#   component 4: U—V (700 m), no station
HAND_NODES = {
    1: (0, 0), 2: (300, 0), 3: (1000, 0), 4: (1300, 0),
    10: (-200, 5000), 11: (0, 5000), 12: (800, 5000), 13: (1000, 5000),
    14: (2400, 5000), 15: (2600, 5000),
    20: (0, 10000), 21: (300, 10000),
    30: (5000, 0), 31: (5000, 700),
}
HAND_EDGES = [
    (1, 2, "residential"), (2, 3, "primary"), (3, 4, "residential"),
    (10, 11, "footway"), (11, 12, "secondary"), (12, 13, "secondary"),
    (13, 14, "secondary"), (14, 15, "footway"),
    (20, 21, "residential"),
    (30, 31, "tertiary"),
]
# name, x, y (metres, relative); S5 is far from every street, S7 has no latitude
HAND_STATIONS = [
    ("S1", 650, 20), ("S2", -100, 5010), ("S3", 900, 4990), ("S4", 150, 10000),
    ("S5", 3000, 3000), ("S6", 2500, 5005), ("S7", 100, None),
]


def hand_lonlat(x: float, y: float) -> tuple[float, float]:
    """Relative hand-network metres to WGS-84 lon/lat."""
    t = pyproj.Transformer.from_crs(HAND_CRS, 4326, always_xy=True)
    return t.transform(X0 + x, Y0 + y)


def hand_graph() -> nx.MultiDiGraph:
    """The hand network as an OSMnx-style graph (walk: both directions per street)."""
    g = nx.MultiDiGraph(crs=HAND_CRS)
    for n, (x, y) in HAND_NODES.items():
        g.add_node(n, x=X0 + x, y=Y0 + y)
    for i, (u, v, hw) in enumerate(HAND_EDGES):
        (x1, y1), (x2, y2) = HAND_NODES[u], HAND_NODES[v]
        length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        for a, b in ((u, v), (v, u)):
            g.add_edge(a, b, osmid=100 + i, highway=hw, length=length, name=f"road {i}")
    return g


# Two named streets crossing at O, for addresses (metres relative to (X0, Y0)):
#   建设路 west-east along y=0: W(-400, 0)—O(0, 0)—A(300, 0)—E(600, 0), 1,000 m
#   雄石路 south-north along x=0: S(0, -300)—O—N(0, 500), 800 m
#   an unnamed alley A—B(300, -60) (highway=service, service=alley)
#   an unnamed branch road N—F(0, 900) (highway=tertiary)
CROSS_NODES = {"W": (-400, 0), "O": (0, 0), "A": (300, 0), "E": (600, 0),
               "S": (0, -300), "N": (0, 500), "B": (300, -60), "F": (0, 900)}
CROSS_EDGES = [
    ("W", "O", "residential", "建设路"), ("O", "A", "residential", "建设路"),
    ("A", "E", "residential", "建设路"), ("S", "O", "secondary", "雄石路"),
    ("O", "N", "secondary", "雄石路"), ("A", "B", "service", None),
    ("N", "F", "tertiary", None),
]


def cross_graph() -> nx.MultiDiGraph:
    """The crossing streets as an OSMnx-style graph (both directions per street)."""
    g = nx.MultiDiGraph(crs=HAND_CRS)
    ids = {key: i + 1 for i, key in enumerate(CROSS_NODES)}
    for key, (x, y) in CROSS_NODES.items():
        g.add_node(ids[key], x=X0 + x, y=Y0 + y)
    for i, (u, v, hw, name) in enumerate(CROSS_EDGES):
        (x1, y1), (x2, y2) = CROSS_NODES[u], CROSS_NODES[v]
        attrs = {"osmid": 200 + i, "highway": hw,
                 "length": ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5}
        if name is not None:
            attrs["name"] = name
        if hw == "service":
            attrs["service"] = "alley"
        for a, b in ((u, v), (v, u)):
            g.add_edge(ids[a], ids[b], **attrs)
    return g


def write_hand_stations(path: Path) -> Path:
    lines = ["name,lon,lat"]
    for name, x, y in HAND_STATIONS:
        if y is None:
            lon, _ = hand_lonlat(x, 0)
            lines.append(f"{name},{lon:.9f},")
        else:
            lon, lat = hand_lonlat(x, y)
            lines.append(f"{name},{lon:.9f},{lat:.9f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def shared_osm(name: str) -> Path:
    """Path of a real extract in ../shared/data/osm, or skip (fail under STATIONPLAN_STRICT)."""
    return _shared(SHARED_OSM / name, "real OSM extract")


def shared_sheet(name: str) -> Path:
    """A station sheet in ../shared/data/sheets, or skip (fail under STATIONPLAN_STRICT)."""
    return _shared(SHARED_OSM.parent / "sheets" / name, "station sheet")


def _shared(path: Path, what: str) -> Path:
    if not path.exists():
        reason = f"{what} {path} is not available (needs ../shared/data beside the repo)"
        if os.environ.get("STATIONPLAN_STRICT"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path
