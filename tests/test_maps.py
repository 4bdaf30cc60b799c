"""Map layers without a browser: bands on paper, service areas, escaping, GCJ-02, PNG, CLI.

The browser proofs (rendering, counts in the DOM, toggling, popups) are in
tests/browser/test_coverage_map.py.
"""

from __future__ import annotations

import dataclasses
import html
import io
import itertools
import json
import re
from urllib.parse import urlsplit

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
import shapely.ops
from handnet import HAND_CRS, X0, Y0, hand_graph, shared_osm
from mapcases import (
    HAND_BAND_M,
    HAND_COVERED_FEATURES,
    HAND_GAP_RUNS,
    HAND_SERVICE_AREAS,
    HAND_STATIONS_OK,
    XSS_IMG,
    XSS_PROPOSAL,
    XSS_SCRIPT,
    hand_case,
    hostile_stations_csv,
)

import stationplan as sp
from stationplan import maps
from stationplan._i18n import run_lang
from stationplan._render import mapdata as md
from stationplan._render import mapjs as mapjs
from stationplan._render import mapstyle as ms
from stationplan._render.mapassets import inline_assets
from stationplan.chinacrs import wgs84_to_gcj02
from stationplan.cli import main
from stationplan.export import _SERVICE_LABELS_ZH
from stationplan.staticmap import coverage_png

EDGES = [100.0, 200.0, 300.0, 400.0, 500.0]


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return hand_case(tmp_path_factory.mktemp("hand"))


def _calls(fmap, function: str) -> list[tuple]:
    """Arguments of every data call of one kind in the map, in tree order."""
    out, stack = [], [fmap]
    while stack:
        element = stack.pop()
        if isinstance(element, maps.MapCall) and element.function == function:
            out.append(element.args)
        stack.extend(reversed(list(element._children.values())))
    return out


def _layer(fmap, class_name: str) -> list[list]:
    """Feature rows (style, type, coordinates, tooltip, popup) of one line layer."""
    for args in _calls(fmap, mapjs.GEOJSON):
        if args[3][0]["className"] == class_name:
            return args[2]
    return []


def _markers(fmap, cls: str) -> list[list]:
    for args in _calls(fmap, mapjs.MARKERS):
        if args[2]["cls"] == cls:
            return args[1]
    return []


# --- bands, lines, areas -----------------------------------------------------------------

def test_band_lengths_match_paper(hand):
    bands = md.distance_bands(hand.coverage, EDGES)
    got = bands.groupby("band")["length_m"].sum().to_dict()
    assert got == pytest.approx(HAND_BAND_M, abs=1e-3)
    assert bands.geometry.length.sum() == pytest.approx(hand.coverage.covered_m, abs=1e-3)


def test_band_pieces_lie_at_their_distance(hand):
    # Component 1 runs along y = 0 with S1 at x = 650: the distance at x is |x - 650|.
    bands = md.distance_bands(hand.coverage, EDGES)
    bands = bands[bands["name"].isin(["road 0", "road 1", "road 2"])]
    xs = shapely.get_coordinates(bands.geometry.interpolate(0.5, normalized=True))[:, 0] - X0
    dist = np.abs(xs - 650)
    lo = np.array([0, *EDGES])[bands["band"].to_numpy()]
    hi = np.array(EDGES)[bands["band"].to_numpy()]
    assert ((dist >= lo - 1e-6) & (dist <= hi + 1e-6)).all()
    assert len(bands) == 12  # road 0: bands 3, 4; road 1: 0-3 on each side; road 2: 3, 4


def test_directions_known_on_real_one_way_network(tmp_path):
    net = sp.load_network(shared_osm("guixi_county_city.osm.bz2"), mode="ebike")
    stations = _grid_stations(net, tmp_path / "stations.csv", every=40)
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(stations)))
    covered = cov.pieces[cov.pieces["status"] == "covered"]
    # a piece covered through its twin carriageway has no distance along its own edge
    own = covered[~covered["via_twin"]]
    assert covered["via_twin"].any() and (md.piece_directions(cov, own) != 0).all()
    bands = md.distance_bands(cov, ms.band_edges(cov.rule.limit_m))
    assert bands["length_m"].sum() == pytest.approx(cov.covered_m, rel=1e-9)


def _grid_stations(net, path, *, every: int):
    """A station CSV with a station at the middle of every ``every``-th street segment."""
    mids = net.edges.geometry.iloc[::every].interpolate(0.5, normalized=True)
    lonlat = gpd.GeoSeries(mids, crs=net.crs).to_crs(4326)
    lines = ["name,lon,lat", *(f"站点{i},{p.x:.7f},{p.y:.7f}" for i, p in enumerate(lonlat))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_substrings_match_shapely():
    net = sp.load_network(shared_osm("krems.osm.bz2"), mode="walk")
    lines = net.edges.geometry.to_numpy()[:400]
    rng = np.random.default_rng(3)
    which = rng.integers(0, len(lines), 2000)
    length = shapely.length(lines[which])
    a, b = np.sort(rng.uniform(0, 1, (2, 2000)), axis=0) * length
    a[:50], b[50:100] = 0.0, length[50:100]  # whole-line ends
    got = md.substrings(lines, which, a, b)
    want = [shapely.ops.substring(lines[w], x, y) for w, x, y in zip(which, a, b, strict=True)]
    assert shapely.length(got) == pytest.approx(b - a, abs=1e-6)
    assert max(shapely.hausdorff_distance(g, w) for g, w in zip(got, want, strict=True)) < 1e-6


def test_encoded_geometries_round_trip():
    ring = [(0, 0), (3, 0), (3, 3), (0, 3), (0, 0)]
    hole = [(1, 1), (2, 1), (2, 2), (1, 1)]
    geoms = [
        shapely.LineString([(104.123456, 30.654321), (104.2, 30.7)]),
        shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3), (4, 5)]]),
        shapely.Polygon(ring, [hole]),
        shapely.MultiPolygon([shapely.Polygon(ring, [hole]), shapely.box(10, 10, 11, 11)]),
        shapely.Point(1, 1),
        shapely.LineString(),
    ]
    encoded = md.encode_geometries(geoms, 6)
    assert [e and e["type"] for e in encoded] == [
        "LineString", "MultiLineString", "Polygon", "MultiPolygon", None, None]
    for geom, enc in zip(geoms[:4], encoded, strict=False):
        assert md.decode_geometry(enc, 6).equals_exact(geom, 1e-9)
    # Deltas are small where the steps are: the second point of the line.
    assert encoded[0]["coordinates"] == [104123456, 30654321, 76544, 45679]


def test_encoded_paths_are_the_json_of_python_lists_of_the_deltas():
    # the merged map's coordinates, written as JSON text by a compiled loop, against
    # json.dumps of the lists of whole numbers they stand for (first point, then steps),
    # with negative steps, numbers of many digits, groups of one line and none at all
    from stationplan._io import script_json

    rng = np.random.default_rng(5)
    for _ in range(200):
        n_lines = int(rng.integers(0, 12))
        size = rng.integers(2, 6, n_lines)
        group = np.sort(rng.integers(0, 5, n_lines))
        xy = rng.uniform(-180, 180, (int(size.sum()), 2)) * 10.0 ** rng.integers(-3, 3)
        n_groups = 6
        alone = rng.random(n_groups) < 0.5
        got = md.encode_paths(md.Paths(xy, size, group), n_groups, 5, alone=alone)
        ints = np.round(xy * 1e5).astype(np.int64).tolist()
        lines, at = [], 0
        for k in size.tolist():  # first point, then the steps from the point before
            pts = ints[at:at + k]
            flat = list(pts[0])
            for (x0, y0), (x1, y1) in itertools.pairwise(pts):
                flat += [x1 - x0, y1 - y0]
            lines.append(flat)
            at += k
        for g in range(n_groups):
            mine = [line for line, of in zip(lines, group.tolist(), strict=True) if of == g]
            if not mine:
                assert got[g] is None
                continue
            one = bool(alone[g]) and len(mine) == 1
            want = {"type": "LineString" if one else "MultiLineString",
                    "coordinates": mine[0] if one else mine}
            assert script_json(got[g]) == json.dumps(want, separators=(",", ":"))
            assert md.decode_geometry(got[g], 5).geom_type == want["type"]

def test_merged_street_features_and_gaps(hand):
    bands = md.merge_lines(md.distance_bands(hand.coverage, EDGES), ["band", "name"])
    assert len(bands) == HAND_COVERED_FEATURES
    # Road 6 holds bands 1-4 from S3 and from S6: one MultiLineString of two parts each.
    road6 = bands[bands["name"] == "road 6"]
    assert road6.geometry.geom_type.tolist() == ["MultiLineString"] * 4
    assert road6["length_m"].tolist() == pytest.approx([200.0] * 4)


def test_service_areas_follow_streets_not_hulls(hand):
    areas = md.service_areas(hand.coverage)
    assert len(areas) == HAND_SERVICE_AREAS
    assert dict(zip(areas["station_id"], areas["catchment_m"], strict=True)) == pytest.approx(
        {"2": 1000.0, "3": 600.0, "4": 1000.0, "5": 300.0, "7": 600.0}, abs=1e-3
    )
    pieces = hand.coverage.pieces
    for sid, poly in zip(areas["station_id"], areas.geometry, strict=True):
        own = pieces[(pieces["status"] == "covered") & (pieces["station_id"] == sid)]
        assert poly.buffer(1e-6).covers(shapely.union_all(own.geometry.to_numpy()))
        # 30 m each side of the streets and round ends: about 60 m per metre of street.
        assert poly.area == pytest.approx(60 * own["length_m"].sum() + np.pi * 900, rel=0.03)


def test_service_areas_on_a_real_grid_are_far_smaller_than_hulls(tmp_path):
    net = sp.load_network(shared_osm("guixi_county_city.osm.bz2"), mode="walk")
    stations = _grid_stations(net, tmp_path / "stations.csv", every=60)
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(stations)))
    areas = md.service_areas(cov)
    hulls = [shapely.convex_hull(shapely.union_all(g.geometry.to_numpy()))
             for _, g in cov.pieces[cov.pieces["status"] == "covered"].groupby("station_id")]
    assert areas.area.sum() < 0.8 * sum(h.area for h in hulls)


# --- the Folium map ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def hand_map(hand):
    # WGS-84 on OpenStreetMap: the hand streets lie in China, where Gaode is the default
    return maps.coverage_map(hand.coverage, hand.gaps, summary=hand.summary,
                             proposals=hand.proposals, area=hand.area, lang="en",
                             basemap="osm")


def test_map_layers_hold_every_feature(hand, hand_map):
    assert len(_layer(hand_map, "sp-covered")) == HAND_COVERED_FEATURES
    assert len(_layer(hand_map, "sp-gap")) == HAND_GAP_RUNS
    assert len(_layer(hand_map, "sp-service")) == HAND_SERVICE_AREAS
    assert len(_layer(hand_map, "sp-area")) == 1
    assert len(_markers(hand_map, "sp-station")) == 5
    assert [r[4] for r in _markers(hand_map, "sp-proposal")] == ["proposal-1", "proposal-2"]
    assert len(_markers(hand_map, "sp-rejected")) == 1
    # Gap widths grow with the run: 700 m and 600 m runs are wider than 150 m ones.
    gaps = _layer(hand_map, "sp-gap")
    assert [row[0] for row in gaps] == [1, 1, 0, 0]


def test_street_layers_made_ahead_draw_the_same_map(hand):
    # as the street pieces' writer makes them while the gaps are found
    ahead = maps.street_layers(hand.coverage, map_options=sp.MapOptions(lang="en",
                                                                        basemap="osm"))
    assert len(ahead.streets[0]) == HAND_COVERED_FEATURES
    kw = {"summary": hand.summary, "proposals": hand.proposals, "area": hand.area,
          "lang": "en", "basemap": "osm"}
    html = maps.coverage_map(hand.coverage, hand.gaps, **kw).get_root().render()
    drawn = maps.coverage_map(hand.coverage, hand.gaps, street_layers=ahead, **kw)
    assert drawn.get_root().render() == html
    # made for another map (Chinese words, Gaode's GCJ-02): not used, drawn again
    other = maps.street_layers(hand.coverage, map_options=sp.MapOptions(lang="zh"))
    assert other.made_with != ahead.made_with
    drawn = maps.coverage_map(hand.coverage, hand.gaps, street_layers=other, **kw)
    assert drawn.get_root().render() == html


def test_a_run_draws_the_street_layers_its_pieces_writer_made(hand, tmp_path, monkeypatch):
    # as the command does above FORK_ABOVE_PIECES (here in this process): the map takes
    # the writer's layers and look, and finds the streets' envelopes no second time
    from functools import partial

    from stationplan import outputs
    from stationplan._process import forked

    looks = []
    look_of = maps._Look.of
    monkeypatch.setattr(maps._Look, "of", lambda *a, **k: looks.append(a) or look_of(*a, **k))
    opts = sp.MapOptions(file_format="parquet")  # the language: the run's, as the command
    with forked(partial(outputs._write_pieces, tmp_path, hand.coverage, "parquet", opts,
                        None), fork=False) as early:
        outputs.write_coverage_outputs(tmp_path, hand.coverage, hand.gaps, hand.summary,
                                       overwrite=True, map_options=opts, pieces_written=early)
    assert len(looks) == 1
    assert (tmp_path / "coverage_map.html").exists()


def test_map_html_is_deterministic_and_escaped(hand, hand_map):
    html = hand_map.get_root().render()
    again = maps.coverage_map(hand.coverage, hand.gaps, summary=hand.summary,
                              proposals=hand.proposals, area=hand.area,
                              lang="en", basemap="osm").get_root().render()
    assert html == again
    assert not re.search(r"[0-9a-f]{32}", html)  # no uuid-style element ids
    for payload in (XSS_IMG, XSS_SCRIPT, XSS_PROPOSAL, "<b>2</b>"):
        assert payload not in html
    # Every </script> closes a block of the page's own (alone on its line: Leaflet, folium's
    # globals, the map): no name closed one early.
    closing = html.count("</script>")
    assert closing == len(re.findall(r"(?m)^[ \t]*</script>", html)) == 3
    assert "<\\/script><script>window.__pwned=2<\\/script>" in html  # a search key, as data


def test_station_popup_content(hand_map):
    rows = _markers(hand_map, "sp-station")
    lat, lng, tooltip, popup, sp_id = rows[2][:5]
    assert (tooltip, sp_id) == ("S3", "station-2")
    assert "S3 street 1 &amp; &lt;b&gt;2&lt;/b&gt;" in popup
    assert '<i class="sp-i sp-i-glass-water"></i> drinking water' in popup
    assert "08:00-22:00" in popup and "0311-1234567" in popup
    assert "<th>Streets served</th><td>1.0 km</td>" in popup
    link = re.search(r'href="([^"]+)"', popup).group(1)
    assert link == (f"https://uri.amap.com/marker?position={lng:.6f},{lat:.6f}"
                    "&amp;name=S3&amp;coordinate=wgs84")
    hostile = rows[1]
    assert hostile[2] == "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;"
    assert "name=%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D1%22%3E" in hostile[3]


def test_panel_in_both_languages(hand):
    def panel(fmap):
        return _calls(fmap, mapjs.PANEL)[0][1]

    en = panel(maps.coverage_map(hand.coverage, hand.gaps, lang="en"))
    assert "68.6 % covered" in en and "1.6 km gap in 4 runs" in en
    assert "5 existing stations, 2 rejected" in en and "binding: distance and time" in en
    zh = panel(maps.coverage_map(hand.coverage, hand.gaps, lang="zh"))
    assert "覆盖率 68.6 %" in zh and "未覆盖 1.6 公里（4 段）" in zh and "5 个现有驿站" in zh


def test_language_follows_names(hand):
    assert run_lang(None, hand.coverage) == "en"
    chinese = hand.coverage.stations.assign(name=["人民路驿站", *["x"] * 6])
    cov = dataclasses.replace(hand.coverage, stations=chinese)
    assert run_lang(None, cov) == "zh"
    with pytest.raises(sp.InputError, match="lang 'fr'"):
        maps.coverage_map(hand.coverage, hand.gaps, lang="fr")


def _coords(fmap) -> np.ndarray:
    """Every displayed lon/lat: line vertices and marker positions."""
    pts = []
    for args in _calls(fmap, mapjs.GEOJSON):
        precision = round(np.log10(args[5]))
        for row in args[2]:
            geom = {"type": maps._GEOM_TYPES[row[1]], "coordinates": row[2]}
            pts.append(shapely.get_coordinates(md.decode_geometry(geom, precision)))
    for args in _calls(fmap, mapjs.MARKERS):
        pts.append(np.array([[r[1], r[0]] for r in args[1]]).reshape(-1, 2))
    return np.concatenate(pts)


def _bounds(fmap) -> np.ndarray:
    """The fitted bounds as [[west, south], [east, north]]."""
    fit = next(c for c in fmap._children.values() if type(c).__name__ == "FitBounds")
    return np.array(fit.bounds)[:, ::-1]


def test_gaode_shifts_every_layer_to_gcj02(hand):
    kw = {"summary": hand.summary, "proposals": hand.proposals, "area": hand.area}
    wgs = maps.coverage_map(hand.coverage, hand.gaps, basemap="osm", **kw)
    gcj = maps.coverage_map(hand.coverage, hand.gaps, basemap="gaode", **kw)
    a, b = _coords(wgs), _coords(gcj)
    assert a.shape == b.shape
    lng, lat = wgs84_to_gcj02(a[:, 0], a[:, 1])
    assert np.abs(b - np.column_stack([lng, lat])).max() < 2e-6
    assert np.abs(b - a).max() > 1e-3  # near Shijiazhuang the shift is hundreds of metres
    # The view is fitted to the shifted streets: the shifted box, to the shift's own variation
    # across a few kilometres.
    corners = _bounds(wgs)
    shifted = np.column_stack(wgs84_to_gcj02(corners[:, 0], corners[:, 1]))
    assert np.abs(_bounds(gcj) - shifted).max() < 3e-4
    html_gcj, html_wgs = gcj.get_root().render(), wgs.get_root().render()
    assert "autonavi.com" in html_gcj and "cartocdn" not in html_gcj
    assert "autonavi.com" not in html_wgs and "tile.openstreetmap.org" in html_wgs
    # OpenStreetMap is offered on the GCJ-02 map, its tiles moved by the offset at the
    # streets' centre; none are moved on the WGS-84 map.
    (_, layers, _, moved, shift), = _calls(gcj, mapjs.BASEMAPS)
    assert layers[2].tiles == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert moved == [layers[2]]
    lat, lng, dlat, dlng = shift
    glng, glat = wgs84_to_gcj02(lng, lat)
    assert (dlat, dlng) == pytest.approx((glat - lat, glng - lng), abs=1e-7)
    assert _calls(wgs, mapjs.BASEMAPS)[0][3:] == (None, None)
    # The Amap links keep WGS-84 coordinates (coordinate=wgs84) on either basemap.
    assert _markers(gcj, "sp-station")[0][3] == _markers(wgs, "sp-station")[0][3]


def test_tianditu_needs_a_clean_key(hand):
    with pytest.raises(sp.InputError, match="--tianditu-key"):
        maps.coverage_map(hand.coverage, hand.gaps, basemap="tianditu")
    with pytest.raises(sp.InputError, match="letters and digits"):
        maps.coverage_map(hand.coverage, hand.gaps, tianditu_key="abc';alert(1)//xx")
    html = maps.coverage_map(hand.coverage, hand.gaps, basemap="tianditu",
                             tianditu_key="0123456789abcdef0123456789abcdef",
                             lang="zh").get_root().render()
    assert "tianditu.gov.cn/vec_w/wmts" in html and "tianditu.gov.cn/cva_w/wmts" in html
    assert "tk=0123456789abcdef0123456789abcdef" in html
    with pytest.raises(sp.InputError, match="basemap 'google'"):
        maps.coverage_map(hand.coverage, hand.gaps, basemap="google")


def test_clustering_above_threshold(hand):
    few = maps.coverage_map(hand.coverage, hand.gaps).get_root().render()
    many = maps.coverage_map(hand.coverage, hand.gaps, cluster_threshold=3).get_root().render()
    assert "markerClusterGroup" not in few
    assert many.count("L.markerClusterGroup(") == 1  # stations only: 1 rejected input


def test_search_keys_tell_same_names_apart():
    frame = gpd.GeoDataFrame({"station_id": ["a", "b", "c"], "name": ["X", "Y", "X"]},
                             geometry=[shapely.Point(0, 0)] * 3, crs=4326)
    assert maps._search_keys(frame) == [["X (a)", 0], ["Y", 1], ["X (c)", 2]]


def test_ignored_streets_are_drawn_grey(hand):
    pieces = hand.coverage.pieces.copy()
    pieces.loc[pieces["edge_id"] == 9, "status"] = "ignored"  # the U–V street
    cov = dataclasses.replace(hand.coverage, pieces=pieces)
    fmap = maps.coverage_map(cov, sp.find_gaps(cov))
    other = _layer(fmap, "sp-other")
    assert len(other) == 1
    assert len(_layer(fmap, "sp-gap")) == HAND_GAP_RUNS - 1


def test_bad_proposals_and_area_are_refused(hand):
    no_crs = hand.proposals.set_crs(None, allow_override=True)
    with pytest.raises(sp.InputError, match="proposals have no CRS"):
        maps.coverage_map(hand.coverage, hand.gaps, proposals=no_crs)
    with pytest.raises(sp.InputError, match="planning area has no CRS"):
        maps.coverage_map(hand.coverage, hand.gaps,
                          area=gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))
    # A shapely polygon is taken as WGS-84 lon/lat.
    lon, lat = hand.area.to_crs(4326).geometry.iloc[0].exterior.coords[0]
    fmap = maps.coverage_map(hand.coverage, hand.gaps, area=shapely.box(lon, lat, lon + .01,
                                                                         lat + .01))
    assert len(_layer(fmap, "sp-area")) == 1


def test_service_labels_match_the_exports():
    # every service with an icon shows, in a Chinese popup, the label the exports write
    assert set(ms.SERVICE_ICONS) == set(_SERVICE_LABELS_ZH)
    for key, label in _SERVICE_LABELS_ZH.items():
        assert f"</i> {label}</span>" in maps._services_html(key, "zh")
    assert "</i> drinking water</span>" in maps._services_html("drinking_water", "en")


# --- static PNG --------------------------------------------------------------------------

def test_png_is_deterministic(hand):
    png = coverage_png(hand.coverage, hand.gaps, proposals=hand.proposals, area=hand.area,
                       width_in=6, dpi=80)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == coverage_png(hand.coverage, hand.gaps, proposals=hand.proposals,
                               area=hand.area, width_in=6, dpi=80)
    from matplotlib.image import imread

    img = imread(io.BytesIO(png))
    assert img.shape[1] == 480
    # The gap red is there.
    red = np.array([0xE3, 0x1A, 0x1C]) / 255
    assert (np.abs(img[..., :3] - red).max(axis=-1) < 0.02).sum() > 50


def test_lines_painted_ahead_of_the_gaps_give_the_same_png(hand):
    # as the street pieces' writer paints them while the gaps are found (stroked: above
    # merged_above pieces): the same bytes, and used only for the page painted for
    from stationplan import staticmap

    kw = {"summary": hand.summary, "proposals": hand.proposals, "area": hand.area,
          "lang": "en", "merged_above": 0}
    png = coverage_png(hand.coverage, hand.gaps, **kw)
    under = staticmap.lines_under_gaps(hand.coverage, area=hand.area, lang="en",
                                       merged_above=0)
    assert under is not None
    assert coverage_png(hand.coverage, hand.gaps, under=under, **kw) == png
    # its picture is what the PNG starts from: painted black, the PNG shows black
    black = under._replace(image=np.zeros_like(under.image))
    assert coverage_png(hand.coverage, hand.gaps, under=black, **kw) != png
    # painted for another page (without the planning area: other limits): not used
    other = staticmap.lines_under_gaps(hand.coverage, lang="en", merged_above=0)
    assert other is not None and other.page != under.page
    other = other._replace(image=np.zeros_like(other.image))
    assert coverage_png(hand.coverage, hand.gaps, under=other, **kw) == png
    # not stroked (up to merged_above pieces, Agg draws): nothing painted ahead
    assert staticmap.lines_under_gaps(hand.coverage, merged_above=10**9) is None


def test_png_in_chinese_without_a_cjk_font_falls_back(hand, monkeypatch):
    monkeypatch.setattr("stationplan.staticmap.cjk_font", lambda: None)
    png = coverage_png(hand.coverage, hand.gaps, lang="zh", width_in=5, dpi=60)
    assert png[:4] == b"\x89PNG"


# --- command line ------------------------------------------------------------------------

@pytest.fixture
def hand_files(tmp_path):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    return net, hostile_stations_csv(tmp_path / "stations.csv")


def test_cli_map_options(tmp_path, hand_files, capsys):
    net, stations = hand_files
    out = tmp_path / "out"
    args = ["coverage", str(net), str(stations), "--out", str(out), "--quiet"]
    assert main([*args, "--basemap", "gaode", "--lang", "zh"]) == 0
    html = (out / "coverage_map.html").read_text(encoding="utf-8")
    assert "autonavi.com" in html and "爱心驿站覆盖" in html
    assert (out / "coverage_map.png").stat().st_size > 10_000
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["gap_runs"] == 4
    capsys.readouterr()

    assert main([*args, "--overwrite", "--basemap", "tianditu"]) == 2
    assert "--tianditu-key" in capsys.readouterr().err


def test_hand_crs_points_are_converted(hand):
    # Proposals come in the hand UTM CRS; the marker must sit at the same place in WGS-84.
    rows = _markers(maps.coverage_map(hand.coverage, hand.gaps, proposals=hand.proposals,
                                      basemap="osm"), "sp-proposal")
    expect = gpd.GeoSeries([shapely.Point(X0 + 5000, Y0 + 350)], crs=HAND_CRS).to_crs(4326)
    assert rows[0][1] == pytest.approx(expect.x.iloc[0], abs=1e-6)
    assert rows[0][0] == pytest.approx(expect.y.iloc[0], abs=1e-6)


# --- a plan: existing stations and proposals apart, today and with the proposals ----------

# plan_summary.json as the siting rewrite writes it; the hand proposals add 700 + 600 m to
# the 3500 m the stations cover, of 5100 m (handnet.py)
HAND_PLAN = {"objective": "target", "target_share": 1.0, "new_sites_requested": None,
             "new_sites": 2, "target_reached": False, "coverage_before": 3500 / 5100,
             "coverage_after": 4800 / 5100, "covered_m_before": 3500.0,
             "covered_m_after": 4800.0, "added_m": 1300.0, "demand_m": 5100.0,
             "reachable_m": 4800.0, "reachable_share": 4800 / 5100, "unreachable_m": 300.0,
             "sites_possible": None, "certified": "optimal", "optimality_gap": 0.0,
             "bound": 2.0, "bound_unit": "sites", "proof": "milp",
             "candidates": {"source": "osm", "total": 2}}


@pytest.fixture(scope="module")
def hand_after(hand):
    """Coverage by the hand stations plus the two proposals (kind "proposed")."""
    net = hand.coverage.network
    p = hand.proposals.to_crs(4326)
    new = sp.snap_stations(net, gpd.GeoDataFrame(
        {"station_id": p["candidate_id"], "name": p["name"], "status": "ok", "reason": ""},
        geometry=p.geometry, crs=4326))
    both = gpd.GeoDataFrame(
        pd.concat([hand.coverage.stations.assign(kind="existing"), new.assign(kind="proposed")],
                  ignore_index=True), crs=hand.coverage.stations.crs)
    cov = sp.compute_coverage(net, both)
    gaps = sp.find_gaps(cov)
    return cov, gaps, sp.summarize(cov, gaps)


def _layer_names(fmap) -> list[str]:
    return [e.layer_name for e in fmap._children.values() if hasattr(e, "layer_name")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_map_counts_existing_stations_and_proposals_apart(hand, hand_after, lang):
    cov, gaps, summary = hand_after
    # the coverage counts the proposals apart from the station file's stations
    assert (summary["stations_used"], summary["proposed_sites"]) == (5, 2)
    fmap = maps.coverage_map(cov, gaps, summary=summary, proposals=hand.proposals,
                             before=hand.coverage, plan_summary=HAND_PLAN, lang=lang)
    assert len(_markers(fmap, "sp-station")) == len(HAND_STATIONS_OK) == 5
    assert len(_markers(fmap, "sp-proposal")) == 2
    names = _layer_names(fmap)
    existing, proposed = (("现有驿站 (5)", "拟建站点 (2)") if lang == "zh"
                          else ("Existing stations (5)", "Proposed sites (2)"))
    assert existing in names and proposed in names
    panel = _calls(fmap, mapjs.PANEL)[0][1]
    text = html.unescape(re.sub("<[^>]+>", "", panel))
    if lang == "zh":
        assert "覆盖率 94.1 %（现状 68.6 %）" in text  # 4800 and 3500 of 5100 m
        assert "5 个现有驿站" in text and "2 个拟建站点" in text
        assert ("已证明最优（这些候选点所能达到的最大覆盖所需的最少新增站点数；"
                "整数规划证明）") in text
        assert ("目标 100 % 无法达到：有 300 米 街道任何候选点都覆盖不到；"
                "可改用 --candidates streets 或提供愿意设站的商户文件。") in text
        # no English in the Chinese panel: units, the rule's km/h and a command-line flag
        # (and GCJ-02, the name of the coordinates on Gaode's map, the default in China)
        assert set(re.findall("[A-Za-z]+", text)) <= {"km", "m", "h", "candidates", "streets",
                                                      "GCJ"}
    else:
        assert "94.1 % covered (68.6 % today)" in text
        assert "5 existing stations" in text and "2 proposed sites" in text
        assert "Target 100 % cannot be reached: 300 m of street" in text


def test_plan_map_switches_between_today_and_the_plan(hand, hand_after):
    cov, gaps, summary = hand_after
    fmap = maps.coverage_map(cov, gaps, summary=summary, proposals=hand.proposals,
                             before=hand.coverage, plan_summary=HAND_PLAN, lang="en")
    [(_, before, after)] = _calls(fmap, mapjs.PHASES)
    names = _layer_names(fmap)
    assert [g.layer_name for g in before] == [
        "Today: Service areas (5)", "Today: Streets by distance to a station (3.5 km)",
        "Today: Gaps: streets out of reach (1.6 km)"]
    assert [g.layer_name for g in after] == [
        "Service areas (7)", "Streets by distance to a station (4.8 km)",
        "Gaps: streets out of reach (0.3 km)", "Proposed sites (2)"]
    assert all(g.layer_name in names for g in before + after)
    assert [g.show for g in before] == [False] * 3  # today is hidden until chosen
    # today's shapes carry the class the switch and the tests tell them by
    today = [args for args in _calls(fmap, mapjs.GEOJSON)
             if args[1] in before]
    assert today and all("sp-today" in s["className"] for args in today for s in args[3])
    # a map without today's coverage has no switch
    plain = maps.coverage_map(cov, gaps, summary=summary, proposals=hand.proposals, lang="en")
    assert _calls(plain, mapjs.PHASES) == []


def test_png_title_counts_existing_stations_and_proposals_apart(hand, hand_after):
    from stationplan._i18n import section
    from stationplan.staticmap import _titles

    cov, _, summary = hand_after
    title, _ = _titles(cov, summary, hand.proposals, section("map", "zh"), "zh")
    assert title == "爱心驿站覆盖：覆盖率 94.1 %（5 个现有驿站 + 2 个拟建站点）"
    title, _ = _titles(cov, summary, hand.proposals, section("map", "en"), "en")
    assert title == "Care-station coverage: 94.1 % covered (5 existing stations + 2 proposed sites)"


def test_curve_png_in_the_runs_language_falls_back_without_a_font(monkeypatch):
    from stationplan.outputs import curve_png

    curve = pd.DataFrame({"new_sites": [0, 1, 2], "coverage_share": [0.22, 0.24, 0.25]})
    greedy = pd.DataFrame({"new_sites": [0, 1, 2], "coverage_share": [0.22, 0.235, 0.25]})
    en = curve_png(curve, greedy, lang="en")
    assert en.startswith(b"\x89PNG") and en == curve_png(curve, greedy, lang="en")
    assert en != curve_png(curve, lang="en")  # the dashed comparison line is drawn
    monkeypatch.setattr("stationplan.staticmap.cjk_font", lambda: None)
    assert curve_png(curve, greedy, lang="zh") == en  # no Chinese font: English words


# --- self-contained pages -----------------------------------------------------------------

# Not requests: the SVG namespace (Leaflet's code, the inlined icons) and Leaflet's name in
# its licence comment. Every other URL must be a tile template or the target of a link.
_NOT_FETCHED = {"http://www.w3.org/2000/svg", "https://leafletjs.com"}


def _foreign_urls(page: str) -> tuple[list[str], list[str]]:
    """(tile URL templates, every other http(s) URL) of a page, link targets left out."""
    tiles: list[str] = []

    def tile(match: re.Match) -> str:
        tiles.append(json.loads(match.group(1)))
        return "L.tileLayer("

    rest = re.sub(r'L\.tileLayer\(\s*("(?:[^"\\]|\\.)*")', tile, page)
    # <a href="..."> in popups and attributions, written as HTML or inside JSON strings
    rest = re.sub(r'<a href=\\?"https?://[^"\\]*', "<a href=", rest)
    rest = re.sub(r'\\u003ca href=\\"https?://[^"\\]*', "<a href=", rest)
    urls = re.findall(r"https?://[^\s\"'<>()\\%]+", rest)
    return tiles, sorted({u.rstrip(".,;") for u in urls} - _NOT_FETCHED)


def _assert_self_contained(page: str) -> list[str]:
    """Fail unless the page loads nothing; return its tile URL templates."""
    # in the markup (script blocks hold input names as data: shown as text, never parsed)
    markup = re.sub(r"(?s)<script>.*?</script>", "", page)
    assert not re.search(r"<(script|img|link|iframe|embed|object)\b[^>]*\b(src|href)\s*=",
                         markup, re.IGNORECASE)
    assert "@import" not in page and "sourceMappingURL" not in page
    # CSS: data: URLs only (and an IE-only behaviour name in Leaflet's style sheet)
    assert re.findall(r"url\(\s*(?![\"']?(?:data:|#default#VML\)))[^)]*\)", page) == []
    assert "fa-solid" not in page and "glyphicon" not in page  # no icon web font either
    tiles, others = _foreign_urls(page)
    assert others == []
    return tiles


def test_coverage_map_page_asks_no_server_but_tiles(hand):
    # the hand streets are in China: Gaode, OSM moved onto it, Tianditu with a key; clustered
    page = maps.coverage_map(hand.coverage, hand.gaps, proposals=hand.proposals, area=hand.area,
                             tianditu_key="0123456789abcdef0123456789abcdef", lang="zh",
                             cluster_threshold=2).get_root().render()
    tiles = _assert_self_contained(page)
    assert [urlsplit(t).hostname for t in tiles] == [
        "webrd0{s}.is.autonavi.com", "webst0{s}.is.autonavi.com", "tile.openstreetmap.org",
        "t{s}.tianditu.gov.cn", "t{s}.tianditu.gov.cn"]
    assert "L.markerClusterGroup(" in page and "<style>" in page
    # Leaflet itself, from the XStatic package, and the icons the popups use
    assert 't.version="1.9.3"' in page
    assert ".sp-i-glass-water{" in page and ".sp-i-hand-holding-heart{" in page
    wgs = maps.coverage_map(hand.coverage, hand.gaps, basemap="osm").get_root().render()
    assert [urlsplit(t).hostname for t in _assert_self_contained(wgs)] == [
        "tile.openstreetmap.org", "{s}.basemaps.cartocdn.com"]
    assert "L.markerClusterGroup" not in wgs  # no cluster, no cluster plugin


def test_legend_lists_proposed_sites_only_when_the_map_draws_them(hand):
    with_sites = maps.coverage_map(hand.coverage, hand.gaps, proposals=hand.proposals,
                                   lang="en").get_root().render()
    without = maps.coverage_map(hand.coverage, hand.gaps, lang="en").get_root().render()
    assert len(_markers(maps.coverage_map(hand.coverage, hand.gaps, proposals=hand.proposals,
                                          lang="en"), "sp-proposal")) == len(hand.proposals) > 0
    assert "Proposed site (rank)" in with_sites
    assert "Proposed site (rank)" not in without
    assert "Existing station" in without  # the markers it does draw keep their entries


def test_check_map_page_asks_no_server_but_tiles(tmp_path):
    from test_check import AREA, PROPOSALS, RULE, proposals_frame

    from stationplan._render.checkmap import check_map
    from stationplan.check import check_sites

    net = sp.with_demand(sp.network_from_graph(hand_graph()), area=AREA)
    stations = sp.snap_stations(net, sp.read_stations(hostile_stations_csv(tmp_path / "s.csv")))
    checked = check_sites(net, stations, proposals_frame(PROPOSALS), rule=RULE)
    cov = sp.compute_coverage(net, stations, rule=RULE)
    page = check_map(cov, sp.find_gaps(cov), checked).get_root().render()
    tiles = _assert_self_contained(page)
    assert [urlsplit(t).hostname for t in tiles] == [
        "webrd0{s}.is.autonavi.com", "webst0{s}.is.autonavi.com", "tile.openstreetmap.org"]
    assert "sp-check-accept" in page


def test_a_new_folium_link_is_refused(hand):
    fmap = maps.coverage_map(hand.coverage, hand.gaps)
    folium.plugins.Fullscreen().add_to(fmap)
    with pytest.raises(RuntimeError, match="Fullscreen links https://cdn"):
        inline_assets(fmap.get_root())


def _network_at(lon: float, lat: float):
    """A stand-in for a coverage whose network is one short street at lon, lat."""
    from types import SimpleNamespace

    edges = gpd.GeoDataFrame(geometry=[shapely.LineString([(lon, lat), (lon + 0.01, lat)])],
                             crs=4326)
    return SimpleNamespace(network=SimpleNamespace(edges=edges))


def test_basemap_follows_the_data(hand):
    assert maps.resolve_basemap(None, hand.coverage) == "gaode"  # near Tianjin
    assert maps.resolve_basemap(None, _network_at(117.2, 28.3)) == "gaode"  # Guixi
    assert maps.resolve_basemap(None, _network_at(24.94, 60.17)) == "osm"  # Helsinki
    assert maps.resolve_basemap(None, _network_at(15.6, 48.4)) == "osm"  # Krems
    assert maps.resolve_basemap("carto", hand.coverage) == "carto"  # as asked
    empty = _network_at(0, 0)
    empty.network.edges = empty.network.edges.iloc[:0]
    assert maps.resolve_basemap(None, empty) == "osm"
    assert sp.MapOptions().basemap is None


def test_scale_is_metric_and_note_and_search_words(hand):
    fmap = maps.coverage_map(hand.coverage, hand.gaps, lang="zh")
    assert "imperial: false" in mapjs.SCALE and _calls(fmap, mapjs.SCALE)
    assert "L.control.scale()" not in fmap.get_root().render()  # folium's: metric and feet
    (_, _, note, _, _), = _calls(fmap, mapjs.BASEMAPS)
    assert note == "底图需联网"
    (_, _, _, words), = _calls(fmap, mapjs.SEARCH)
    assert words == {"placeholder": "搜索驿站", "notFound": "未找到"}
    en = maps.coverage_map(hand.coverage, hand.gaps, lang="en")
    assert _calls(en, mapjs.BASEMAPS)[0][2] == "basemap needs the internet"


def test_template_text_in_names_stays_text(tmp_path):
    # Jinja delimiters in a station name, a street name and a layer name: branca reads each
    # rendered script as a template again, so "{{ 7*7 }}" became "49" (and a template can
    # run code); they must reach the page as the text they are
    import csv

    from handnet import write_hand_stations

    path = write_hand_stations(tmp_path / "st.csv") or tmp_path / "st.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[1][0] = "站{{ 7*7 }}A"
    rows[2][0] = "站{% if true %}XX{% endif %}B"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    graph = hand_graph()
    for _, _, data in graph.edges(data=True):
        data["name"] = "路{{ 6*7 }}"
    net = sp.network_from_graph(graph)
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(path)))
    gaps = sp.find_gaps(cov)
    page = maps.coverage_map(cov, gaps).get_root().render()
    assert "站{{ 7*7 }}A" in page and "站{% if true %}XX{% endif %}B" in page
    assert "路{{ 6*7 }}" in page
    assert "站49A" not in page and "站XXB" not in page and "路42" not in page
    fmap = folium.Map(tiles=None)
    maps.line_layer(fmap, "规则 {{ 5*5 }} <b>", "spGaps", ([], []), 6)
    folium.LayerControl().add_to(fmap)
    page = fmap.get_root().render()
    # the layer control's key, as JSON: shown as HTML, it reads "规则 {{ 5*5 }} <b>"
    key = json.loads(re.search(r'overlays :\s*\{\s*("[^"]*")', page).group(1))
    assert key == "规则 &#123;&#123; 5*5 &#125;&#125; &lt;b&gt;"
    assert html.unescape(key) == "规则 {{ 5*5 }} <b>"


def test_png_shows_the_runs_crs_warning_in_its_language(tmp_path):
    """guixi_stations.xlsx holds GCJ-02 coordinates (the sheets' README); read as WGS-84
    the run warns (crs_offset), and coverage_map.png says so under its title, in red."""
    from handnet import shared_sheet
    from matplotlib.image import imread

    from stationplan.staticmap import cjk_font, coverage_figure

    if cjk_font() is None:
        pytest.skip("no Chinese font: the PNG is in English (install fonts-noto-cjk)")
    run = sp.run_coverage(str(shared_osm("guixi_county_city.osm.bz2")),
                          shared_sheet("guixi_stations.xlsx"), out=tmp_path / "o",
                          station_options=sp.StationOptions(crs="wgs84"),
                          map_options=sp.MapOptions(lang="zh"))
    (warning,) = run.summary["warnings"]
    assert warning["code"] == "crs_offset"
    fig = coverage_figure(run.coverage, run.gaps, summary=run.summary, lang="zh")
    (shown,) = [t for t in fig.texts if t.get_gid() == "stationplan-warning"]
    # wrapped into lines (a space at a break is dropped)
    assert re.sub(r"\s", "", shown.get_text()) == re.sub(r"\s", "", "警告：" + warning["zh"])
    # legible: inside the picture, above the subtitle, not over the title
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = shown.get_window_extent(renderer)
    title, sub = (t.get_window_extent(renderer) for t in fig.texts
                  if t.get_gid() != "stationplan-warning" and t.get_text().startswith(
                      ("爱心驿站覆盖", "已覆盖")))
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
    assert title.y0 >= box.y1 and box.y0 >= sub.y1

    def warning_red(png: bytes) -> int:
        img = imread(io.BytesIO(png))[..., :3]
        return int((np.abs(img - np.array([0xB3, 0, 0]) / 255).max(axis=-1) < 0.02).sum())

    written = (tmp_path / "o" / "coverage_map.png").read_bytes()
    assert warning_red(written) > 500
    quiet = coverage_png(run.coverage, run.gaps, summary={**run.summary, "warnings": []},
                         lang="zh")
    assert warning_red(quiet) == 0


def test_simplified_points_are_those_geos_keeps():
    """The merged layers' Douglas-Peucker (a compiled loop over point arrays) keeps the
    points shapely.simplify (GEOS, preserve_topology=False) keeps, on random lines with
    repeated points, closed rings and collinear runs, at several tolerances."""
    from stationplan._render.kernels import simplified_points

    rng = np.random.default_rng(3)
    lines = []
    for _ in range(600):
        k = int(rng.integers(2, 40))
        xy = np.cumsum(rng.normal(size=(k, 2)) * rng.choice([0.5, 20.0, 300.0]), axis=0)
        if k > 3 and rng.random() < 0.2:
            xy[-1] = xy[0]  # closed
        if k > 4 and rng.random() < 0.2:
            xy[2] = xy[1]  # a repeated point
        if rng.random() < 0.1:
            xy[:, 1] = xy[:, 0] * 0.5  # collinear
        lines.append(shapely.LineString(xy))
    count = shapely.get_num_coordinates(np.array(lines))
    xy = shapely.get_coordinates(np.array(lines))
    for tolerance in (0.0, 1.0, 17.0, 250.0):
        keep, kept = simplified_points(xy[:, 0], xy[:, 1], count, tolerance)
        want = shapely.simplify(np.array(lines), tolerance, preserve_topology=False)
        assert kept.tolist() == shapely.get_num_coordinates(want).tolist()
        assert xy[keep].tobytes() == shapely.get_coordinates(want).tobytes()
