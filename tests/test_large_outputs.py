"""Outputs of large runs (issue 18, item 5): GeoParquet tables, GeoJSON streams, the merged
screen-simplified map, the gap table's size limit and the vectorised gap areas."""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from mapcases import hand_case, street_stations_csv

import stationplan as sp
from stationplan import maps, outputs
from stationplan._i18n import run_lang, section
from stationplan._io import geojson_chunks, geojson_text, write_geojson
from stationplan._render import mapdata as md
from stationplan._render import mapjs
from stationplan._synthetic import synthetic_city


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return hand_case(tmp_path_factory.mktemp("hand"))


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A synthetic city of 3,000 segments with 12 stations on its streets."""
    net = synthetic_city(3_000, seed=3)
    path = street_stations_csv(net, tmp_path_factory.mktemp("city") / "st.csv", 12, seed=1)
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(path)))
    return cov, sp.find_gaps(cov)


def _calls(fmap, function):
    out, stack = [], [fmap]
    while stack:
        element = stack.pop()
        if isinstance(element, maps.MapCall) and element.function == function:
            out.append(element.args)
        stack.extend(reversed(list(element._children.values())))
    return out


def _drawn(fmap, class_name, crs):
    """The lines of one layer, decoded and projected back to ``crs``."""
    for args in _calls(fmap, mapjs.GEOJSON):
        if args[3][0]["className"] == class_name:
            precision = round(np.log10(args[5]))
            geoms = [md.decode_geometry({"type": maps._GEOM_TYPES[r[1]], "coordinates": r[2]},
                                        precision) for r in args[2]]
            return gpd.GeoSeries(geoms, crs=4326).to_crs(crs).to_numpy()
    return np.empty(0, dtype=object)


def test_merged_map_lies_within_a_pixel_of_the_exact_pieces(city):
    cov, gaps = city
    crs = cov.network.crs
    west, south, east, north = cov.network.edges.total_bounds
    pixel = max(east - west, north - south) / 1024  # the map opens fitted to the network
    exact = maps.coverage_map(cov, gaps, basemap="osm")
    merged = maps.coverage_map(cov, gaps, basemap="osm", merged_above=100)
    pieces = cov.pieces
    for cls, status in (("sp-covered", "covered"), ("sp-gap", "gap")):
        drawn = shapely.get_parts(_drawn(merged, cls, crs))
        truth = pieces.loc[pieces["status"] == status].geometry.to_numpy()
        # every vertex of the exact pieces lies within a pixel of a drawn line ...
        pts = shapely.points(shapely.get_coordinates(truth))
        near = shapely.STRtree(drawn).query(pts, predicate="dwithin", distance=pixel + 0.5)
        assert len(np.unique(near[0])) == len(pts), cls
        # ... and every drawn vertex lies on an exact piece (within the 6-decimal rounding)
        pts = shapely.points(shapely.get_coordinates(drawn))
        near = shapely.STRtree(truth).query(pts, predicate="dwithin", distance=0.5)
        assert len(np.unique(near[0])) == len(pts), cls
        # one line per colour class: bands, gap widths
        assert len(drawn) >= 1
        assert len(_calls(merged, mapjs.GEOJSON)) < len(_calls(exact, mapjs.GEOJSON))
    rows = {cls: next(a[2] for a in _calls(merged, mapjs.GEOJSON)
                      if a[3][0]["className"] == cls) for cls in ("sp-covered", "sp-gap")}
    assert len(rows["sp-covered"]) <= 5 and len(rows["sp-gap"]) <= 4
    assert all(r[4] is None for r in rows["sp-gap"])  # no popups
    # the panel's figures are the exact engine's either way
    words = section("map", run_lang(None, cov))["service_legend"]
    assert words not in _calls(merged, mapjs.PANEL)[0][1]  # no service areas when merged
    assert words in _calls(exact, mapjs.PANEL)[0][1]
    figures = [a[1].split("<h4>")[0] for a in _calls(merged, mapjs.PANEL)]
    assert figures == [a[1].split("<h4>")[0] for a in _calls(exact, mapjs.PANEL)]
    assert f"{100 * cov.covered_m / cov.demand_m:.1f} %" in figures[0]
    assert not [a for a in _calls(merged, mapjs.GEOJSON)
                if a[3][0]["className"] in ("sp-service", "sp-gap-area")]
    small = len(merged.get_root().render())
    assert small < len(exact.get_root().render()) / 2


def test_parquet_tables_hold_the_pieces_and_runs(hand, tmp_path):
    paths = outputs.write_coverage_outputs(
        tmp_path, hand.coverage, hand.gaps, hand.summary,
        map_options=sp.MapOptions(basemap="osm", file_format="parquet"))
    assert {"coverage.parquet", "gaps.parquet", "gap_areas.parquet"} <= set(paths)
    assert not (tmp_path / "coverage.geojson").exists()
    assert not (tmp_path / "gaps.geojson").exists()
    back = gpd.read_parquet(tmp_path / "coverage.parquet")
    assert back.crs == hand.coverage.network.crs
    pieces = hand.coverage.pieces
    assert len(back) == len(pieces)
    # lengths: the pieces' geometry measured by shapely, against the engine's column
    assert back.geometry.length.to_numpy() == pytest.approx(pieces["length_m"], abs=1e-6)
    assert back.loc[back["status"] == "covered", "length_m"].sum() == pytest.approx(
        hand.summary["covered_m"], abs=1e-3)  # summary.json: to the millimetre
    gaps = gpd.read_parquet(tmp_path / "gaps.parquet")
    assert gaps["length_m"].sum() == pytest.approx(hand.coverage.gap_m, abs=1e-6)
    areas = gpd.read_parquet(tmp_path / "gap_areas.parquet")
    assert len(areas) == hand.gaps["area_id"].nunique()


def test_gap_runs_written_early_are_the_files_written_at_the_end(city, tmp_path, monkeypatch):
    """The gap runs' writer started as soon as they are found (beside the pieces' writer)
    writes the files write_coverage_outputs writes when it starts it itself."""
    import contextlib

    from stationplan.summary import summarize

    cov, gaps = city
    monkeypatch.setattr(outputs, "FORK_ABOVE_PIECES", 0)
    opts = sp.MapOptions(basemap="osm", file_format="parquet")
    summary = summarize(cov, gaps)
    with contextlib.ExitStack() as writers:  # no pieces' writer: nothing started early
        assert writers.enter_context(outputs.gaps_written_early(
            tmp_path / "none", cov, gaps, map_options=opts)) is None
    with contextlib.ExitStack() as writers:
        pieces = writers.enter_context(outputs.pieces_written_early(
            tmp_path / "early", cov, map_options=opts))
        early = writers.enter_context(outputs.gaps_written_early(
            tmp_path / "early", cov, gaps, map_options=opts, pieces_written=pieces))
        assert early is not None
        outputs.write_coverage_outputs(tmp_path / "early", cov, gaps, summary,
                                       map_options=opts, pieces_written=pieces,
                                       gaps_written=early)
    outputs.write_coverage_outputs(tmp_path / "late", cov, gaps, summary, map_options=opts)
    files = {n: {p.name: p.read_bytes() for p in (tmp_path / n).iterdir()}
             for n in ("early", "late")}
    assert {"gaps.parquet", "gap_areas.parquet"} <= set(files["early"])
    assert files["early"] == files["late"]


def test_auto_format_follows_the_piece_count(hand, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "PARQUET_ABOVE_PIECES", len(hand.coverage.pieces) - 1)
    paths = outputs.write_coverage_outputs(tmp_path / "a", hand.coverage, hand.gaps,
                                           hand.summary, map_options=sp.MapOptions(basemap="osm"))
    assert "coverage.parquet" in paths and "coverage.geojson" not in paths
    monkeypatch.setattr(outputs, "PARQUET_ABOVE_PIECES", len(hand.coverage.pieces))
    paths = outputs.write_coverage_outputs(tmp_path / "b", hand.coverage, hand.gaps,
                                           hand.summary, map_options=sp.MapOptions(basemap="osm"))
    assert "coverage.geojson" in paths and "coverage.parquet" not in paths
    with pytest.raises(sp.InputError, match="file format 'csv'"):
        sp.MapOptions(file_format="csv")


def test_cli_format_option(tmp_path):
    from stationplan.cli import main

    code = main(["coverage", "a.osm", "b.csv", "--out", str(tmp_path), "--format", "xml"])
    assert code == 2


def test_gap_table_left_out_above_its_limit(hand, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(outputs, "GAP_TABLE_MAX_ROWS", len(hand.gaps) - 1)
    with caplog.at_level(logging.WARNING, logger="stationplan.outputs"):
        paths = outputs.write_coverage_outputs(tmp_path, hand.coverage, hand.gaps,
                                               hand.summary,
                                               map_options=sp.MapOptions(basemap="osm"))
    assert "gaps.csv" not in paths and "gaps.xlsx" not in paths
    assert "gaps.csv and gaps.xlsx skipped" in caplog.text
    assert "gaps.geojson" in paths


def test_geojson_stream_is_the_text(hand, tmp_path):
    pieces = hand.coverage.pieces
    text = geojson_text(pieces)
    assert "".join(geojson_chunks(pieces, chunk=7)) == text
    assert write_geojson(tmp_path / "a.geojson", pieces).read_text(encoding="utf-8") == text
    parsed = json.loads(text)
    assert len(parsed["features"]) == len(pieces)
    empty = pieces.iloc[:0]
    assert json.loads("".join(geojson_chunks(empty, chunk=3)))["features"] == []


def test_gap_areas_sum_their_runs(city):
    _, gaps = city
    areas = sp.gap_areas(gaps)
    # per area, by plain pandas grouping of the runs
    by = gaps.groupby("area_id")
    assert areas["area_id"].tolist() == sorted(gaps["area_id"].unique())
    assert areas["length_m"].to_numpy() == pytest.approx(by["length_m"].sum().to_numpy())
    assert areas["runs"].tolist() == by.size().tolist()
    assert areas["pieces"].tolist() == by["pieces"].sum().tolist()
    for row in areas.itertuples():
        runs = gaps[gaps["area_id"] == row.area_id]
        assert row.geometry.length == pytest.approx(runs.geometry.length.sum())
        far = runs["farthest_m"]
        if runs["farthest_more_than_m"].notna().any():
            assert np.isnan(row.farthest_m)
        else:
            assert row.farthest_m == far.max()
            assert row.farthest_lon == runs.loc[far.idxmax(), "farthest_lon"]
        named = runs[runs["named"]].groupby("street")["length_m"].sum()
        top = named.sort_values(ascending=False, kind="stable").index[:8]
        assert row.streets == "; ".join(top)
        assert row.point_lon == runs.loc[runs["length_m"].idxmax(), "point_lon"]
    assert isinstance(areas, pd.DataFrame)


def test_png_of_many_pieces_draws_the_lines_agg_draws(city):
    """Above ``merged_above`` pieces the lines are stroked by the compiled kernel into one
    picture; Agg's own strokes of the same lines (a collection each) are the reference."""
    import io

    import matplotlib.image as mpimg

    from stationplan.staticmap import coverage_png

    cov, gaps = city
    agg = mpimg.imread(io.BytesIO(coverage_png(cov, gaps, lang="en", merged_above=10**9)))
    ours = mpimg.imread(io.BytesIO(coverage_png(cov, gaps, lang="en", merged_above=0)))
    assert agg.shape == ours.shape
    drawn, much, some = _differing(agg, ours)
    assert drawn > 0.05
    assert much < 0.002 * drawn  # anti-aliasing where lines meet
    assert some < 0.01 * drawn


def _differing(agg, ours):
    """The share of ``agg``'s pixels with ink, and of the pixels of the two pictures that
    differ by more than 0.25 and by more than 0.1 (in any channel)."""
    differ = np.abs(agg - ours).max(axis=2)
    return ((agg[..., :3].min(axis=2) < 0.9).mean(), (differ > 0.25).mean(),
            (differ > 0.1).mean())


@pytest.mark.parametrize("dpi", [75, 300])
def test_figure_of_many_pieces_saved_at_another_resolution_draws_the_lines_in_place(city,
                                                                                     dpi):
    """The stroked picture is made when the figure is drawn: ``coverage_figure`` saved at
    another resolution than its own (150 dpi) has the lines where Agg's collections are."""
    import io

    import matplotlib.image as mpimg

    from stationplan.staticmap import coverage_figure

    cov, gaps = city
    drawn = []
    for merged_above in (10**9, 0):
        buf = io.BytesIO()
        coverage_figure(cov, gaps, lang="en", merged_above=merged_above).savefig(
            buf, format="png", dpi=dpi)
        drawn.append(mpimg.imread(io.BytesIO(buf.getvalue())))
    inked, much, some = _differing(*drawn)
    assert much < 0.002 * inked
    assert some < 0.03 * inked


def test_figure_of_many_pieces_on_a_vector_page_draws_paths(city):
    """Saved as SVG the figure's lines are paths, one a class (each gap width, each band,
    the service areas), not a picture; Agg's collections give a path a line."""
    import io

    from stationplan._render import mapstyle
    from stationplan.staticmap import coverage_figure

    cov, gaps = city
    svg = {}
    for merged_above in (10**9, 0):
        buf = io.BytesIO()
        coverage_figure(cov, gaps, lang="en", merged_above=merged_above).savefig(
            buf, format="svg")
        svg[merged_above] = buf.getvalue().decode()
    gap_stroke = f"stroke: {mapstyle.GAP_COLOUR}"
    widths = np.unique(mapstyle.gap_weights(gaps["length_m"].to_numpy(float),
                                            cov.rule.limit_m))
    assert "<image" not in svg[0]
    assert svg[0].count(gap_stroke) == len(widths) + 1  # (+1: the legend's line)
    assert svg[10**9].count(gap_stroke) == len(gaps) + 1


def test_png_of_many_pieces_keeps_dotted_carriageways_under_the_bands(tmp_path):
    """A real centre with dual carriageways (Chengdu): the other carriageway's dotted line
    (Agg's, on a page of its own) lies under the distance bands and gaps as in Agg's
    picture, not over them; the picture is Agg's to within anti-aliasing."""
    import io

    import matplotlib.image as mpimg
    from handnet import shared_osm

    from stationplan.pipeline import coverage_network
    from stationplan.staticmap import coverage_png

    net = coverage_network(shared_osm("chengdu_center.osm.bz2"))
    path = street_stations_csv(net, tmp_path / "st.csv", 40, seed=1)
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(path)))
    assert (cov.pieces["status"] == "paired").sum() > 500
    gaps = sp.find_gaps(cov)
    agg = mpimg.imread(io.BytesIO(coverage_png(cov, gaps, lang="en", merged_above=10**9)))
    ours = mpimg.imread(io.BytesIO(coverage_png(cov, gaps, lang="en", merged_above=0)))
    drawn, much, some = _differing(agg, ours)
    assert much < 0.002 * drawn
    assert some < 0.02 * drawn


def test_png_of_many_pieces_does_not_depend_on_the_order_of_the_parts(city, monkeypatch):
    """A pixel keeps the largest share of it any stroke of its class covers: the parts
    drawn row by row (:func:`~stationplan.staticmap._rows_first`) give the bytes of the
    parts in the order of the pieces, and of the parts in reverse."""
    from stationplan import staticmap

    cov, gaps = city
    ordered = staticmap.coverage_png(cov, gaps, lang="en", merged_above=0)
    monkeypatch.setattr(staticmap, "_rows_first", lambda xy, start: (xy, start))
    assert staticmap.coverage_png(cov, gaps, lang="en", merged_above=0) == ordered

    def reverse(xy, start):
        n = np.diff(np.r_[start, len(xy)])[::-1]
        new_start = np.cumsum(n) - n
        return xy[np.repeat(start[::-1] - new_start, n) + np.arange(len(xy))], new_start

    monkeypatch.setattr(staticmap, "_rows_first", reverse)
    assert staticmap.coverage_png(cov, gaps, lang="en", merged_above=0) == ordered


def _stroke_shares(points, half_width, size=24):
    """The compiled kernel's share of each pixel of a ``size`` square page covered by the
    line through ``points``, and the exact share: the area of the line buffered by
    ``half_width`` (round caps and joins) in the pixel."""
    from stationplan._render.kernels import stroke_cover

    points = np.asarray(points, dtype=float)
    cover = np.zeros((size, size))
    stroke_cover(cover, points[:, 0].copy(), points[:, 1].copy(),
                 np.array([0, len(points)]), half_width, np.array([0, 0, size, size]))
    rows, cols = np.mgrid[0:size, 0:size]
    pixels = shapely.box(cols.ravel(), rows.ravel(), cols.ravel() + 1, rows.ravel() + 1)
    stroke = shapely.buffer(shapely.LineString(points), half_width, quad_segs=64)
    return cover, shapely.area(shapely.intersection(pixels, stroke)).reshape(size, size)


def test_a_stroke_along_the_pixel_rows_covers_them_exactly():
    """A horizontal stroke 2.3 px wide centred on y = 7.35 spans rows 6.2 to 8.5: away
    from its ends it covers 0.8 of each pixel of row 6, all of row 7 and half of row 8."""
    cover, exact = _stroke_shares([(2.3, 7.35), (17.8, 7.35)], 1.15)
    middle = cover[:, 4:16]  # pixels at least a width away from the round ends
    assert np.allclose(middle[6], 0.8) and np.allclose(middle[7], 1.0)
    assert np.allclose(middle[8], 0.5)
    assert not middle[:6].any() and not middle[9:].any()
    assert np.allclose(middle, exact[:, 4:16])


@pytest.mark.parametrize(("half_width", "tolerance"), [(0.55, 0.15), (1.15, 0.1), (2.5, 0.1)])
def test_strokes_cover_each_pixel_about_as_much_as_the_stroke_does(half_width, tolerance):
    """Random segments at any angle against the exact area of the stroke in each pixel
    (shapely): each pixel within ``tolerance`` (the kernel takes the stroke's edge as
    straight across the pixel), and no pixel clear of the stroke touched; on lines of
    several segments a pixel at a join may be covered less (the larger of two strokes'
    shares, not their union's), never more."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        cover, exact = _stroke_shares(rng.uniform(4, 20, size=(2, 2)), half_width)
        assert np.abs(cover - exact).max() <= tolerance
        assert not cover[exact == 0].any()
        cover, exact = _stroke_shares(rng.uniform(4, 20, size=(5, 2)), half_width)
        assert (cover - exact).max() <= tolerance
        assert not cover[exact == 0].any()


def test_cross_street_searches_give_the_whole_graph_answer(tmp_path, monkeypatch):
    """find_gaps' cross streets from the compiled searches that stop at the nearest
    target equal those of whole-graph searches (scipy's Dijkstra from every end over the
    whole graph, then the nearest target of the end's street, ties to the lowest node)."""
    from scipy.sparse.csgraph import dijkstra

    from stationplan import _route

    net = synthetic_city(20_000, seed=5)
    path = street_stations_csv(net, tmp_path / "st.csv", 30, seed=2)
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(path)))
    local = sp.find_gaps(cov)

    def whole(graph, sources, source_set, set_ptr, set_nodes, *, limit_m):
        dist = np.atleast_2d(dijkstra(graph, indices=sources, limit=limit_m))
        node, best = np.full(len(sources), -1), np.full(len(sources), np.inf)
        for i, s in enumerate(source_set):
            targets = set_nodes[set_ptr[s]:set_ptr[s + 1]]
            if len(targets) and np.isfinite(dist[i, targets].min()):
                j = int(np.argmin(dist[i, targets]))  # targets ascending: the lowest first
                node[i], best[i] = targets[j], dist[i, targets[j]]
        return node, best

    monkeypatch.setattr(_route, "nearest_targets", whole)
    reference = sp.find_gaps(cov)
    assert len(local) > 100
    assert (local["from_m"] > 0).any()  # some ends needed a search
    pd.testing.assert_frame_equal(local.drop(columns="geometry"),
                                  reference.drop(columns="geometry"))
    assert local.geometry.equals(reference.geometry)


def _random_lines(rng, n, *, grid=None):
    """``n`` lines between a few shared nodes: on a small integer grid (ties, repeated
    and single points, lines back and forth) or at random float nodes, bent on the way."""
    if grid is not None:
        lines = [rng.integers(0, grid, size=(rng.integers(2, 5), 2)).astype(float)
                 for _ in range(n)]
        for xy in lines:
            if rng.random() < 0.1:
                xy[-1] = xy[0]  # a ring
        return np.array([shapely.LineString(xy) for xy in lines], dtype=object)
    nodes = rng.random((rng.integers(2, 12), 2)) * 100
    out = []
    for _ in range(n):
        a, b = rng.integers(0, len(nodes), 2)
        bends = rng.random((rng.integers(2 if a == b else 1, 4), 2)) * 100
        out.append(shapely.LineString(np.vstack([nodes[a], bends, nodes[b]])))
    return np.array(out, dtype=object)


@pytest.mark.parametrize("grid", [None, 3, 6, 40])
def test_line_merge_by_chains_is_geos_line_merge(grid, monkeypatch):
    # GEOS's own merge of each group as one MultiLineString is the reference, byte for byte
    rng = np.random.default_rng(7)
    geos_merge, calls = shapely.line_merge, []
    monkeypatch.setattr(shapely, "line_merge", lambda g: calls.append(1) or geos_merge(g))
    for _ in range(400):
        n = int(rng.integers(1, 30))
        parts = _random_lines(rng, n, grid=grid)
        group = np.unique(rng.integers(0, rng.integers(1, 4), size=n), return_inverse=True)[1]
        group = np.sort(group)
        want = geos_merge(shapely.multilinestrings(parts, indices=group))
        calls.clear()
        got = md.line_merge_groups(parts, group)
        assert [g.wkb for g in got] == [g.wkb for g in want], [p.wkt for p in parts]
        if grid is None:  # no two edges leave a node in one direction: no group merged
            assert len(calls) <= 1  # whole, only the chains at once


def test_map_bounds_are_those_of_the_street_envelopes(city):
    # the envelope polygons of every street, drawn as the map draws lines
    cov, _ = city
    edges = cov.network.edges.geometry
    for gcj02 in (False, True):
        view = maps._View(gcj02=gcj02, precision=6)
        boxes = md.display_geoms(gpd.GeoSeries(shapely.envelope(edges.to_numpy()),
                                               crs=edges.crs), gcj02=gcj02, precision=6)
        west, south, east, north = shapely.total_bounds(boxes)
        # the envelopes' hull only is turned: the same view to its rounding (1e-6 degree)
        np.testing.assert_allclose(maps._bounds(cov, None, view),
                                   [[south, west], [north, east]], rtol=0, atol=1.01e-6)


def _segments(geom):
    """The segments of a line drawing, each as its two points in sorted order, counted."""
    from collections import Counter
    from itertools import pairwise

    out: Counter = Counter()
    for part in shapely.get_parts(geom):
        xy = [tuple(p) for p in shapely.get_coordinates(part).tolist()]
        out.update(tuple(sorted(s)) for s in pairwise(xy))
    return out


def test_chained_lines_are_the_same_segments_in_fewer_lines():
    # brute force: every segment of the merged lines drawn once, in chains of whole lines
    rng = np.random.default_rng(11)
    for _ in range(300):
        parts = _random_lines(rng, int(rng.integers(2, 25)), grid=int(rng.integers(3, 8)))
        parts = parts[shapely.get_num_coordinates(parts) > 1]
        geom = shapely.multilinestrings(parts)
        chained = maps._chained(geom)
        assert _segments(chained) == _segments(geom)
        assert len(shapely.get_parts(chained)) <= len(parts)


def test_chain_lines_keeps_each_groups_segments_and_no_more():
    # brute force per group: the segments drawn are the group's own, each once, and a
    # chain is never longer than the lines it joins
    rng = np.random.default_rng(12)
    for _ in range(200):
        parts = _random_lines(rng, int(rng.integers(2, 40)), grid=int(rng.integers(3, 8)))
        parts = parts[shapely.get_num_coordinates(parts) > 1]
        group = np.sort(rng.integers(0, 4, len(parts)))
        group = np.unique(group, return_inverse=True)[1]  # 0, 1, ... with none missing
        chained = md.chain_lines(parts, group)
        assert len(chained) == group.max() + 1
        for g, geom in enumerate(chained):
            own = parts[group == g]
            assert _segments(geom) == _segments(shapely.multilinestrings(own))
            assert len(shapely.get_parts(geom)) <= len(own)
            assert abs(geom.length - sum(p.length for p in own)) < 1e-9


def test_chain_walk_visits_each_line_once_leaving_by_its_other_end():
    from stationplan._render.kernels import chain_walk

    rng = np.random.default_rng(5)
    for _ in range(200):
        m = int(rng.integers(1, 30))
        ends = rng.permutation(2 * m)
        n_pairs = int(rng.integers(0, m + 1))
        mate = np.full(2 * m, -1)
        a, b = ends[:n_pairs], ends[n_pairs:2 * n_pairs]
        mate[a], mate[b] = b, a
        seq, chain = chain_walk(mate)
        line = np.where(seq < 0, -1 - seq, seq)
        assert sorted(line.tolist()) == list(range(m))
        for i in range(1, m):
            # a line entered by its start leaves by its end, and the next one is its mate
            out = line[i - 1] + m if seq[i - 1] >= 0 else line[i - 1]
            entry = line[i] if seq[i] >= 0 else line[i] + m
            assert (mate[out] == entry) == (chain[i] == chain[i - 1])
        # a chain starts at an end without a mate, or closes on its first line
        starts = np.flatnonzero(np.r_[True, chain[1:] != chain[:-1]])
        for i, j in zip(starts, [*(starts[1:] - 1), m - 1], strict=True):
            entry = line[i] if seq[i] >= 0 else line[i] + m
            out = line[j] + m if seq[j] >= 0 else line[j]
            assert mate[entry] < 0 or mate[out] == entry


def test_point_numbers_are_first_appearance_numbers_of_equal_points():
    # against a Python dict of (x, y, group) keys, 0.0 and -0.0 one value as GEOS and
    # numpy compare them; many equal points, integral coordinates (hash bits all zero
    # at the bottom of the mantissa) and large tables that must probe past collisions
    from stationplan._render.kernels import point_numbers

    rng = np.random.default_rng(11)
    for n, spread in ((0, 1), (1, 1), (50, 3), (5000, 40), (200_000, 300)):
        xy = rng.integers(-spread, spread, size=(n, 2)).astype(float)
        xy[rng.random(n) < 0.3] *= 0.5  # some halves
        xy[rng.random(n) < 0.1] *= -1.0  # -0.0 where 0.0 was
        group = rng.integers(0, 3, n)
        seen: dict[tuple[float, float, int], int] = {}
        want = [seen.setdefault((x + 0.0, y + 0.0, g), len(seen))
                for x, y, g in zip(xy[:, 0].tolist(), xy[:, 1].tolist(), group.tolist(),
                                   strict=True)]
        got = point_numbers(xy[:, 0] + 0.0, xy[:, 1] + 0.0, group.astype(np.int64))
        assert got.tolist() == want
        node, count = md.same_points(xy, group)
        assert node.tolist() == want and count.tolist() == np.bincount(want).tolist()
        node, _ = md.same_points(xy)  # no groups
        seen.clear()
        assert node.tolist() == [seen.setdefault((x + 0.0, y + 0.0), len(seen))
                                 for x, y in zip(xy[:, 0].tolist(), xy[:, 1].tolist(),
                                                 strict=True)]


def test_hull_candidates_keep_every_hull_vertex():
    # the map's view is found from the hull of the street envelopes' corners; the
    # octagon filter may drop only points that are not on it (scipy's Qhull on all
    # points decides), and drops none of points on a line
    from scipy.spatial import ConvexHull, QhullError

    from stationplan._render.kernels import hull_candidates

    rng = np.random.default_rng(3)
    dropped = 0
    for trial in range(300):
        n = int(rng.integers(1, 300))
        xy = rng.normal(size=(n, 2)) * rng.random() * 1000
        if trial % 5 == 0:
            xy = np.round(xy)  # repeated points, ties for the extremes
        if trial % 7 == 0:
            xy[:, 1] = 2 * xy[:, 0] + 1  # all on a line
        xy[rng.random(n) < 0.05] = np.nan  # empty envelopes
        ok = np.flatnonzero(~np.isnan(xy[:, 0]))
        keep = hull_candidates(xy[:, 0].copy(), xy[:, 1].copy())
        assert set(keep.tolist()) <= set(ok.tolist())
        try:
            hull = set(ok[ConvexHull(xy[ok]).vertices].tolist())
        except (QhullError, ValueError):  # no area (or too few points): every point kept
            assert keep.tolist() == ok.tolist()
            continue
        assert hull <= set(keep.tolist())
        assert set(keep[ConvexHull(xy[keep]).vertices].tolist()) == hull
        dropped += len(ok) - len(keep)
    assert dropped > 2_000  # the filter does drop the inner points


def test_gap_weights_are_gap_weight_of_each_run():
    from stationplan._render import mapstyle as ms

    rng = np.random.default_rng(3)
    limit = 500.0
    edges = [f * limit for f, _ in ms.GAP_WEIGHTS[:-1]]
    lengths = np.r_[rng.random(200) * 5 * limit, edges, np.nextafter(edges, 0), 0.0,
                    np.nan, np.inf]
    assert ms.gap_weights(lengths, limit).tolist() == [ms.gap_weight(x, limit)
                                                         for x in lengths.tolist()]
