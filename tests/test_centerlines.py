"""Road-centerline files: junctions from geometry, any CRS, one-way and class columns."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from handnet import shared_osm

import stationplan as sp

GK_114 = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
X0, Y0 = 520_000.0, 4_240_000.0  # near Xinle, Hebei, in GK_114 metres
# Lengths are measured in the network's UTM zone (50N): up to 0.05 % longer here than in GK.
REL = 1e-3


def _frame(lines, crs=GK_114, **columns):
    origin = np.array([X0, Y0])
    geoms = [xy if isinstance(xy, shapely.Geometry) else
             shapely.LineString(np.asarray(xy, dtype=float) + origin) for xy in lines]
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)


def _save(frame, path):
    frame.to_file(path, engine="pyogrio")
    return path


def test_junctions_from_geometry_but_not_at_crossings(tmp_path):
    roads = _frame([
        [(0, 0), (200, 0)],               # A: a 200 m street
        [(100, 0), (100, 150)],           # B: a T drawn onto A's middle (no vertex on A)
        [(150, -50), (150, 50)],          # C: a bridge over A
        [(200.6, 0.3), (300, 0)],         # D: continues A, its end drawn 0.67 m off
        [(50, -0.6), (50, -100)],         # E: stops 0.6 m short of A: not joined
    ], highway=["residential", "residential", "primary", "residential", "service"])
    path = _save(roads, tmp_path / "roads.gpkg")
    net = sp.load_network(path)
    assert net.stats["ends_joined_to_lines"] == 1
    assert net.stats["ends_snapped_to_ends"] == 1
    assert len(net.edges) == 6  # A cut at the T; the bridge stays whole
    assert net.stats["components"] == 3  # {A, B, D}, {C}, {E}
    assert net.total_length_m == pytest.approx(200 + 150 + 100 + 100 + 99.4, rel=REL)

    crossed = sp.load_network(path, split_at_crossings=True)
    assert len(crossed.edges) == 8
    assert crossed.stats["components"] == 2
    assert crossed.total_length_m == pytest.approx(net.total_length_m, abs=1e-6)

    tight = sp.load_network(path, join_tolerance_m=0.5)
    assert tight.stats["components"] == 4


def test_shared_vertices_and_near_ends_make_junctions(tmp_path):
    roads = _frame([
        [(0, 0), (50, 0), (100, 0)],        # vertex at 50,0 shared with the next line
        [(50, -40), (50, 0), (50, 40)],
        [(100.4, 0.3), (180, 0)],           # starts 0.5 m from the first line's end
    ])
    net = sp.load_network(_save(roads, tmp_path / "r.geojson"))
    assert len(net.edges) == 5
    assert net.stats["components"] == 1
    assert len(net.nodes) == 6
    assert net.stats["ends_snapped_to_ends"] == 1


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_multilinestrings_any_crs_and_a_oneway_column(tmp_path, suffix):
    lonlat = pyproj.Transformer.from_crs(GK_114, "EPSG:4490", always_xy=True)
    xy = np.array([(0, 0), (300, 0), (300, 300)]) + np.array([X0, Y0])
    lon, lat = lonlat.transform(xy[:, 0], xy[:, 1])
    pts = list(zip(lon, lat, strict=True))
    # Shapefile field names hold 10 bytes, too few for 道路等级 in UTF-8
    cls = "道路等级" if suffix == ".gpkg" else "fclass"
    roads = _frame([shapely.MultiLineString([pts[:2], pts[1:]])], crs="EPSG:4490",
                   oneway=["yes"], **{cls: ["主干路"], "名称": ["长寿街"]})
    path = _save(roads, tmp_path / f"cgcs2000{suffix}")
    walk = sp.load_network(path)
    bike = sp.load_network(path, mode="bike")
    assert walk.total_length_m == pytest.approx(600, rel=REL)
    assert walk.edges["bwd"].all()  # walkers ignore one-way
    assert bike.edges["fwd"].all() and not bike.edges["bwd"].any()
    assert set(walk.edges["road_class"]) == {"主干路"}
    assert set(walk.edges["name"]) == {"长寿街"}
    # Chinese road classes are served by the brief's defaults
    briefed = sp.load_network(path, roads=sp.BRIEF_ROAD_CLASSES)
    assert briefed.demand_length_m == pytest.approx(briefed.total_length_m)


def test_utm_zone_as_geopandas_estimates_it():
    # the zone's arithmetic against PROJ's database (geopandas' query), at random places
    # and next to the zones' edges and the equator
    from stationplan._read.centerlines import _utm_of

    rng = np.random.default_rng(7)
    edges = np.arange(-180.0, 181.0, 6.0) + rng.uniform(-0.05, 0.05, 61)
    centres = np.concatenate([rng.uniform([-180, -80], [180, 84], (400, 2)),
                              np.stack(np.meshgrid(edges, [-0.01, 0.0, 0.01, 45.0]),
                                       axis=-1).reshape(-1, 2)])
    for lon, lat in centres:
        xy = np.clip([[lon - 0.01, lat - 0.01], [lon + 0.01, lat + 0.01]], [-180, -80],
                     [180, 84])
        want = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                             crs=4326).estimate_utm_crs()
        assert _utm_of(xy, pyproj.CRS(4326)).equals(want), (lon, lat)
    # a projected file's bounds go to lon/lat first
    xy = pyproj.Transformer.from_crs(4326, 32650, always_xy=True).transform([116.2, 116.5],
                                                                          [39.8, 40.1])
    assert _utm_of(np.array(xy).T, pyproj.CRS(32650)) == pyproj.CRS(32650)


def test_geoparquet(tmp_path):
    pytest.importorskip("pyarrow")
    roads = _frame([[(0, 0), (100, 0)], [(100, 0), (100, 100)]], highway=["service", "footway"])
    path = tmp_path / "roads.parquet"
    roads.to_parquet(path)
    assert sp.load_network(path).total_length_m == pytest.approx(200, rel=REL)
    bike = sp.load_network(path, mode="bike")  # OSM classes get the mode's tag filter
    assert set(bike.edges["highway"]) == {"service"}


def test_centerline_errors(tmp_path):
    roads = _frame([[(0, 0), (100, 0)]])
    path = _save(roads, tmp_path / "nocrs.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(sp.InputError, match=r"no CRS.*ogr2ogr -a_srs"):
        sp.load_network(path)
    points = _frame([shapely.Point(X0, Y0)])
    with pytest.raises(sp.MissingDataError, match="no LineString"):
        sp.load_network(_save(points, tmp_path / "points.gpkg"))
    with pytest.raises(sp.InputError, match="no column 'dldj'"):
        sp.load_network(_save(roads, tmp_path / "r.gpkg"), class_column="dldj")


@pytest.mark.parametrize(("name", "mode"), [("shenzhen_longgang_heao.osm.bz2", "walk"),
                                            ("shenzhen_longgang_heao.osm.bz2", "bike")])
def test_centerline_export_reloads_with_the_same_figures(name, mode, tmp_path):
    """Proof: an extract's edges written to a Gauss-Kruger GeoPackage and read back give
    the same total length and the same coverage figures as the OSM source (0.5 %)."""
    # every class served: the export keeps highway values, not OSM's subtags (service:alley)
    osm = sp.load_network(shared_osm(name), mode=mode, roads=sp.RoadClasses())
    e = osm.edges.to_crs(GK_114)
    # the ways' own one-way tags (in walk mode too: they pair the dual carriageways)
    roads = e[["highway", "name", "geometry"]].assign(
        oneway=np.select([osm.edges["oneway"] > 0, osm.edges["oneway"] < 0], ["yes", "-1"],
                         "no"))
    path = _save(roads, tmp_path / "centerlines_gk114.gpkg")
    cl = sp.load_network(path, mode=mode, roads=sp.RoadClasses())
    assert cl.crs == osm.crs
    assert cl.total_length_m == pytest.approx(osm.total_length_m, rel=5e-3)

    rng = np.random.default_rng(11)
    pick = rng.integers(0, len(osm.edges), 25)
    pts = shapely.line_interpolate_point(osm.edges.geometry.to_numpy()[pick], 0.37,
                                         normalized=True)
    lonlat = shapely.get_coordinates(gpd.GeoSeries(pts, crs=osm.crs).to_crs(4326).to_numpy())
    csv = tmp_path / "stations.csv"
    rows = [f"s{i},{x:.8f},{y:.8f}" for i, (x, y) in enumerate(lonlat)]
    csv.write_text("name,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    rule = sp.CoverageRule(radius_m=500, max_minutes=None)
    a = sp.compute_coverage(osm, sp.snap_stations(osm, sp.read_stations(csv)), rule=rule)
    b = sp.compute_coverage(cl, sp.snap_stations(cl, sp.read_stations(csv)), rule=rule)
    assert b.covered_m == pytest.approx(a.covered_m, rel=5e-3)
    assert b.gap_m == pytest.approx(a.gap_m, rel=5e-3)
    by_class = pd.DataFrame({"a": a.pieces.groupby("highway")["length_m"].sum(),
                             "b": b.pieces.groupby("highway")["length_m"].sum()})
    assert np.allclose(by_class["a"], by_class["b"], rtol=5e-3)


def test_centerlines_with_a_planning_area(tmp_path):
    roads = _frame([[(0, 0), (1000, 0)], [(500, -500), (500, 500)]])
    path = _save(roads, tmp_path / "roads.gpkg")
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 200, Y0 - 100, X0 + 600, Y0 + 100)],
                            crs=GK_114)
    net = sp.load_network(path, area=area, margin_m=150, split_at_crossings=True)
    # inside: 400 m of the first road and 200 m of the second; kept up to 150 m beyond
    assert net.demand_length_m == pytest.approx(600, rel=REL)
    assert net.total_length_m == pytest.approx(700 + 500, rel=REL)


def _assert_vertices_are_the_lines(net):
    # the vertices kept from reading are those of the lines (shapely reads them back)
    xy, which = shapely.get_coordinates(net.edges.geometry.to_numpy(), return_index=True)
    kept, starts = net.edge_vertices
    assert np.array_equal(kept, xy)
    assert np.array_equal(starts, np.searchsorted(which, np.arange(len(net.edges) + 1)))


def test_edge_vertices_kept_from_reading_are_the_lines_even_after_an_area_cut(tmp_path):
    roads = _frame([[(0, 0), (400, 0), (1000, 0)], [(500, -500), (500, 500)]])
    path = tmp_path / "roads.parquet"
    roads.to_parquet(path)
    whole = sp.load_network(path)
    assert "edge_vertices" in vars(whole)  # kept from reading, not read back
    _assert_vertices_are_the_lines(whole)
    # an area that cuts both roads: new lines, their vertices read from them
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 200, Y0 - 100, X0 + 600, Y0 + 100)],
                            crs=GK_114)
    cut = sp.load_network(path, area=area, margin_m=150)
    assert cut.stats["edges_cut_at_area_boundary"] > 0
    _assert_vertices_are_the_lines(cut)
    # an area around everything: nothing cut, the vertices kept
    around = gpd.GeoDataFrame(geometry=[shapely.box(X0 - 50, Y0 - 600, X0 + 1050, Y0 + 600)],
                              crs=GK_114)
    inside = sp.load_network(path, area=around, margin_m=150)
    assert inside.stats["edges_cut_at_area_boundary"] == 0
    assert "edge_vertices" in vars(inside)  # kept through the demand's new network
    _assert_vertices_are_the_lines(inside)


def _same_network(path, mode, **options):
    """The vectorised reader and the per-line reference give identical networks."""
    from _centerlines_reference import read_centerlines as per_line

    from stationplan._read.centerlines import read_centerlines
    from stationplan._streets import travel_mode

    fast = read_centerlines(path, travel_mode(mode), **options)
    slow = per_line(path, travel_mode(mode), **options)
    # the same table; coordinates to a micrometre: the reference goes to lon/lat and back
    # to metres twice, the reader projects once
    for a, b in ((fast.edges, slow.edges), (fast.node_points(), slow.node_points())):
        pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                      pd.DataFrame(b.drop(columns="geometry")),
                                      check_exact=False, rtol=0, atol=1e-6)
        assert a.crs == b.crs
        assert shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(),
                                    tolerance=1e-6).all()
    assert fast.stats == pytest.approx(slow.stats, rel=0, abs=1e-6)
    return fast


@pytest.mark.parametrize("mode", ["walk", "bike"])
def test_vectorised_reader_equals_the_per_line_reader_on_an_extract(mode, tmp_path):
    """Issue 18: the array reader (no per-line Python) builds the same network, bit for
    bit, as the per-line reader it replaced, on a real extract's edges written as
    centerlines (one-way lines both ways, T junctions, shared vertices)."""
    osm = sp.load_network(shared_osm("guixi_county_city.osm.bz2"), mode=mode,
                          roads=sp.RoadClasses())
    e = osm.edges.to_crs(GK_114)
    # merge each way's segments back into one line, so that lines meet at inner vertices
    roads = e[["highway", "name", "geometry"]].assign(
        oneway=np.select([osm.edges["oneway"] > 0, osm.edges["oneway"] < 0], ["yes", "-1"],
                         "no"))
    path = _save(roads, tmp_path / "centerlines.gpkg")
    net = _same_network(path, mode)
    assert len(net.edges) >= len(osm.edges)


@pytest.mark.parametrize("case", ["missing and empty", "3d", "big-endian", "other crs"])
def test_geoparquet_lines_the_own_parser_may_not_take_read_as_the_reference_reads_them(
        tmp_path, case):
    """GeoParquet files with missing or empty lines, 3-D lines, big-endian WKB or in
    degrees give the network the per-line reference reader (geopandas' WKB) gives."""
    lines = [[(0, 0), (100, 0), (200, 0)], [(50, 0), (50, 80)], [(200, 0), (200, 90)]]
    roads = _frame(lines, highway=["primary", "residential", "service"], name=["A", "B", None])
    if case == "missing and empty":
        roads = pd.concat([roads, gpd.GeoDataFrame(
            {"highway": ["primary", "primary"], "name": ["X", "Y"]},
            geometry=[None, shapely.LineString()], crs=GK_114)], ignore_index=True)
    elif case == "3d":
        roads = roads.set_geometry(shapely.force_3d(roads.geometry.to_numpy(), 5.0))
    elif case == "other crs":
        roads = roads.to_crs(4326)
    path = tmp_path / "roads.parquet"
    if case == "big-endian":
        import pyarrow as pa
        import pyarrow.parquet as pq

        roads.to_parquet(path)
        table = pq.read_table(path)
        wkb = pa.array(shapely.to_wkb(roads.geometry.to_numpy(), byte_order=0))
        big = table.set_column(table.schema.get_field_index("geometry"),
                               table.schema.field("geometry"), wkb)
        pq.write_table(big.replace_schema_metadata(table.schema.metadata), path)
        assert pq.read_table(path)["geometry"][0].as_py()[0] == 0  # big-endian WKB
    else:
        roads.to_parquet(path)
    net = _same_network(path, "walk")
    assert net.total_length_m == pytest.approx(200 + 80 + 90, rel=REL)


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet"])
def test_vectorised_reader_equals_the_per_line_reader_on_hand_lines(tmp_path, suffix):
    """Snapped near ends, T junctions (also two on one line), a reversed one-way line,
    a MultiLineString, repeated vertices, a too-short line and crossings, with and without
    splitting at crossings; from GeoPackage (read by GDAL) and from GeoParquet (its WKB
    read by the reader's own parser where it can)."""
    roads = _frame(
        [
            [(0, 0), (100, 0), (100, 0), (200, 0)],       # repeated vertex
            [(50, 0), (50, 80)],                         # T on the first line
            [(150, 0.0004), (150, -90)],                 # T within a millimetre
            [(200.4, 0.3), (300, 0)],                    # end 0.5 m from an end: snapped
            [(250, -50), (250, 50)],                     # crosses the line before
            [(0, 0), (0, 0)],                            # no length
            shapely.MultiLineString([[(X0 + 300, Y0), (X0 + 300, Y0 + 60)],
                                     [(X0 + 300, Y0 + 60), (X0 + 360, Y0 + 60)]]),
            [(360, 60), (360, 0), (300, 0)],             # closes a loop, one-way backwards
        ],
        oneway=["no", "yes", None, "no", "no", "no", "no", "-1"],
        highway=["primary", "residential", "footway", "secondary", None, "service",
                 "tertiary", "residential"],
        name=["A", None, "C", "D", "E", None, 7.0, "H"],
    )
    path = tmp_path / f"hand{suffix}"
    if suffix == ".parquet":  # a column of one type (7.0 becomes "7.0")
        roads.assign(name=roads["name"].map(lambda v: v if v is None else str(v))
                     ).to_parquet(path)
    else:
        _save(roads, path)
    _same_network(path, "bike")  # one-way kept: the last line is reversed
    plain = _same_network(path, "walk")
    split = _same_network(path, "walk", split_at_crossings=True)
    # the cases above occur: (50, 0) and (150, 0.0004) lie on the first line; (200.4, 0.3)
    # is snapped onto (200, 0); the cross street at x = 250 is cut where it crosses
    assert plain.stats["ends_joined_to_lines"] == 2
    assert plain.stats["ends_snapped_to_ends"] == 1
    assert split.stats["crossings_split"] >= 1
    assert len(split.edges) >= len(plain.edges) + 2
