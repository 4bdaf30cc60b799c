"""The default planning area (``--area auto``): the built-up area derived from the extract,
checked against osmnx's reading of the same files; and ``--area-place`` answered offline
from the extract's own administrative boundaries."""

from __future__ import annotations

import json
import socket
import warnings

import geopandas as gpd
import numpy as np
import osmnx as ox
import pyogrio
import pytest
import shapely
from handnet import hand_graph, shared_osm, shared_sheet

import stationplan as sp
from stationplan.cli import main

EXTRACTS = ["guixi_county_city.osm.bz2", "shenzhen_longgang_heao.osm.bz2",
            "beijing_zhongguancun.osm.bz2",
            pytest.param("chengdu_center.osm.bz2", marks=pytest.mark.slow)]
CITY_ALL_OVER = ("beijing", "chengdu")  # extracts of a city centre: town everywhere


def _osmnx_edges(path):
    """Streets of ``path`` as osmnx reads them, in their UTM zone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = ox.graph_from_xml(path, simplify=False, retain_all=True)
    e = ox.graph_to_gdfs(g, nodes=False)
    e = e[e["highway"].notna()]
    return e.to_crs(e.estimate_utm_crs())


def _residential(path, crs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            f = ox.features_from_xml(path, tags={"landuse": "residential"})
        except ox._errors.InsufficientResponseError:
            return None
    f = f[f.geom_type.isin(["Polygon", "MultiPolygon"])]
    return None if f.empty else shapely.union_all(f.to_crs(crs).geometry.to_numpy())


def _far_decile(edges):
    """The tenth of the street length farthest from the length-weighted median point."""
    mid = edges.geometry.interpolate(0.5, normalized=True)
    x, y, w = mid.x.to_numpy(), mid.y.to_numpy(), edges.length.to_numpy()

    def median(v):
        o = np.argsort(v)
        c = np.cumsum(w[o])
        return v[o][np.searchsorted(c, c[-1] / 2)]

    d = np.hypot(x - median(x), y - median(y))
    o = np.argsort(-d)
    c = np.cumsum(w[o])
    return edges.iloc[o[: np.searchsorted(c, 0.1 * c[-1]) + 1]]


def _in_area_share(edges, area):
    return float(edges.geometry.intersection(area).length.sum() / edges.length.sum())


def _run_auto(path):
    net = sp.load_network(path, area="auto")
    assert net.demand.area_label == "auto" and net.demand.area_source == "auto"
    return net


@pytest.mark.parametrize("name", EXTRACTS)
def test_auto_area_holds_the_residential_land_and_leaves_the_far_roads(name):
    path = shared_osm(name)
    net = _run_auto(path)
    edges = _osmnx_edges(path)
    area = gpd.GeoSeries([net.demand.area], crs=4326).to_crs(edges.crs).iloc[0]
    assert net.demand.area_km2 == pytest.approx(area.area / 1e6, rel=1e-3)
    residential = _residential(path, edges.crs)
    if residential is not None:  # Guixi maps no residential land
        assert residential.intersection(area).area >= 0.9 * residential.area
    if name.startswith(CITY_ALL_OVER):  # town all over: nearly every street
        assert _in_area_share(edges, area) > 0.9
    else:  # the roads out of town are not demand
        assert _in_area_share(_far_decile(edges), area) < 0.2
        assert _in_area_share(edges, area) < 0.85
    # demand: the served streets inside, measured on the engine's own edges
    inside = net.edges.geometry.intersection(
        gpd.GeoSeries([net.demand.area], crs=4326).to_crs(net.crs).iloc[0]).length
    assert net.demand_length_m <= inside.sum() + 1.0


def test_auto_area_of_guixi_holds_the_office_core():
    """The office's own core polygon (used here only to compare): the auto area holds more
    than 85 % of the core's streets (89.6 %) and far less of the whole extract."""
    path = shared_osm("guixi_county_city.osm.bz2")
    net = _run_auto(path)
    edges = _osmnx_edges(path)
    core = gpd.read_file(shared_sheet("guixi_core_wgs.geojson")).to_crs(edges.crs)
    core_streets = edges.geometry.intersection(core.geometry.iloc[0])
    core_streets = core_streets[~core_streets.is_empty]
    area = gpd.GeoSeries([net.demand.area], crs=4326).to_crs(edges.crs).iloc[0]
    held = core_streets.intersection(area).length.sum() / core_streets.length.sum()
    assert held > 0.85
    whole = sp.load_network(path, area=None)
    assert net.demand_length_m < 0.75 * whole.demand_length_m


def test_sparse_or_small_networks_stay_whole():
    """The hand network (a few streets kilometres apart) has no built-up part: the whole
    network is demand, the same as without an area."""
    auto = sp.load_network(hand_graph(), area="auto")
    whole = sp.load_network(hand_graph())
    assert auto.demand.area is None and auto.demand.area_source == "auto"
    assert auto.demand_length_m == whole.demand_length_m


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_area_place_reads_the_extract_boundary_offline(offline):
    path = shared_osm("guixi_county_city.osm.bz2")
    net = sp.load_network(path, area_place="东门街道")
    assert net.demand.area_source == "place_in_file"
    # osmnx assembles the same relation from the same file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ox.features_from_xml(path, tags={"boundary": "administrative"})
    want = b[b["name"] == "东门街道"].geometry.iloc[0]
    got = net.demand.area
    assert shapely.symmetric_difference(got, want).area < 1e-3 * want.area
    # the English name and the name without its suffix find it too
    for name in ("Dongmen Subdistrict", "东门"):
        again = sp.load_network(path, area_place=name)
        assert again.demand_length_m == pytest.approx(net.demand_length_m, abs=1e-6)


def test_area_place_errors_are_one_line(offline, capsys, tmp_path):
    path = str(shared_osm("guixi_county_city.osm.bz2"))
    # 花园街道's relation lacks ways in this extract: no guessed polygon
    with pytest.raises(sp.InputError, match="only in part"):
        sp.load_network(path, area_place="花园街道")
    # a name the file does not hold goes to the geocoder, which cannot be reached
    code = main(["network", path, "--area-place", "不存在的街道", "--out", str(tmp_path / "o"),
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) >= 1 and "Traceback" not in "\n".join(err)


def test_cli_network_writes_the_auto_outline(tmp_path):
    path = str(shared_osm("guixi_county_city.osm.bz2"))
    assert main(["network", path, "--out", str(tmp_path / "auto"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "auto" / "network_summary.json").read_text("utf-8"))
    assert summary["demand"]["area"] == "auto"
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "auto" / "network.gpkg")]
    assert "area" in layers
    outline = gpd.read_file(tmp_path / "auto" / "network.gpkg", layer="area")
    km2 = outline.to_crs(outline.estimate_utm_crs()).area.iloc[0] / 1e6
    assert summary["demand"]["area_km2"] == pytest.approx(km2, rel=1e-3)
    # the outline is the same on every run: network.gpkg keeps identical bytes
    assert main(["network", path, "--out", str(tmp_path / "again"), "--quiet"]) == 0
    assert ((tmp_path / "again" / "network.gpkg").read_bytes()
            == (tmp_path / "auto" / "network.gpkg").read_bytes())
    assert main(["network", path, "--area", "none", "--out", str(tmp_path / "none"),
                 "--quiet"]) == 0
    whole = json.loads((tmp_path / "none" / "network_summary.json").read_text("utf-8"))
    assert whole["demand"]["area"] is None
    assert summary["demand_m"] < 0.75 * whole["demand_m"]


def test_land_use_makes_a_sparse_part_built_up():
    """A residential polygon where the streets are sparse: the area holds the polygon
    (drawn by hand, 1 km², its area known) and still leaves the far country roads."""
    import math

    import networkx as nx

    g = nx.MultiDiGraph(crs="EPSG:32650")

    def street(a, b):
        for x, y in (a, b):
            g.add_node(x * 100_000 + y, x=500_000.0 + x, y=4_400_000.0 + y)
        g.add_edge(a[0] * 100_000 + a[1], b[0] * 100_000 + b[1], osmid=len(g.edges),
                   highway="residential", length=math.dist(a, b))

    for k in range(0, 8001, 1000):  # roads 1 km apart: 2 km/km², never dense
        for j in range(0, 8000, 1000):
            street((k, j), (k, j + 1000))
            street((j, k), (j + 1000, k))
    net = sp.load_network(g)
    assert sp.area.built_up_area(net) is None  # too sparse: the whole network
    block = shapely.box(502_000, 4_402_000, 503_000, 4_403_000)  # 1 km², UTM 50N
    lonlat = gpd.GeoSeries([block], crs=32650).to_crs(4326).iloc[0]
    area = sp.area.built_up_area(net, landuse=[lonlat])
    area_xy = gpd.GeoSeries([area], crs=4326).to_crs(32650).iloc[0]
    assert area_xy.intersection(block).area == pytest.approx(1e6, rel=1e-3)
    assert area_xy.area < 1.5e6  # the polygon, closed: not the 64 km² of roads
    assert not area_xy.intersects(shapely.box(506_000, 4_406_000, 508_000, 4_408_000))


def test_cell_union_is_geos_coverage_union_of_the_boxes_bit_for_bit():
    """The built-up cells' union, given to GEOS as boundary boxes and inner squares, is the
    coverage union of every cell's box in row order, bit for bit: holes, cells touching at
    a corner, several parts, cells on the grid's edge, blocks of every neighbourhood."""
    from scipy import ndimage

    from stationplan.area import _cells_union

    rng = np.random.default_rng(3)
    for trial in range(60):
        shape = rng.integers(1, 120, 2)
        dense = rng.random(shape) < rng.uniform(0.05, 0.95)
        if trial % 2:  # blobs: inner squares next to squares and to single cells
            dense = ndimage.uniform_filter(dense.astype(float), int(rng.integers(1, 8))) > \
                rng.uniform(0.2, 0.8)
        if not dense.any():
            continue
        x0, y0, cell = rng.uniform(-1e6, 1e6), rng.uniform(-1e6, 1e6), rng.choice([0.1, 37.3,
                                                                                    100.0])
        iy, ix = np.nonzero(dense)
        boxes = shapely.box(x0 + ix * cell, y0 + iy * cell, x0 + (ix + 1) * cell,
                            y0 + (iy + 1) * cell)
        assert _cells_union(dense, x0, y0, cell).wkb == shapely.coverage_union_all(boxes).wkb
