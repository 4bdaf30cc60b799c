"""LiveCoverage: after every edit, the incremental pieces equal a full recompute.

The reference is independent of the engine's state: the test keeps its own list of
stations (id, lon, lat, in the order a full run sees them: an add appends, a move keeps
the row, a delete drops it), snaps them with :func:`snap_stations` on the whole network
and runs :func:`compute_coverage` on the whole network, then compares piece for piece.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from handnet import shared_osm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationplan._errors import InputError
from stationplan._streets import network_from_segments, travel_mode
from stationplan.area import with_demand
from stationplan.coverage import CoverageRule, compute_coverage
from stationplan.live import LiveCoverage
from stationplan.network import StreetNetwork
from stationplan.stations import snap_stations

SNAP_M = 100.0


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR")


# -- the reference ------------------------------------------------------------------

@dataclass
class Reference:
    """The station list as a full run sees it, kept apart from the engine."""

    network: StreetNetwork
    rule: CoverageRule
    snap_m: float = SNAP_M
    rows: list[tuple[str, float, float]] = field(default_factory=list)

    def frame(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"station_id": [r[0] for r in self.rows], "name": "",
             "status": "ok", "reason": None},
            geometry=gpd.points_from_xy([r[1] for r in self.rows], [r[2] for r in self.rows]),
            crs=4326)

    def coverage(self) -> Any:
        snapped = snap_stations(self.network, self.frame(), max_snap_m=self.snap_m)
        return compute_coverage(self.network, snapped, rule=self.rule)

    def add(self, sid: str, lon: float, lat: float, at: int | None = None) -> None:
        self.rows.insert(len(self.rows) if at is None else at, (sid, lon, lat))

    def move(self, sid: str, lon: float, lat: float) -> None:
        self.rows = [(s, lon, lat) if s == sid else (s, x, y) for s, x, y in self.rows]

    def delete(self, sid: str) -> None:
        self.rows = [r for r in self.rows if r[0] != sid]


def _labels(column: pd.Series) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in column.tolist()]


def same_pieces(got: pd.DataFrame, ref: pd.DataFrame) -> str | None:
    """Why two piece tables differ, or None when they agree piece for piece."""
    if len(got) != len(ref):
        return f"{len(got)} pieces, full recompute {len(ref)}"
    if not np.array_equal(got["edge_id"].to_numpy(np.int64), ref["edge_id"].to_numpy(np.int64)):
        return "edges differ"
    for col in ("start_m", "end_m", "length_m"):
        d = np.abs(got[col].to_numpy(float) - ref[col].to_numpy(float))
        if np.max(d, initial=0.0) > 1e-6:
            return f"{col} differs by {np.max(d)}"
    for col in ("status", "station_id", "highway", "name"):
        if _labels(got[col]) != _labels(ref[col]):
            return f"{col} differs"
    for col in ("via_twin", "demand", "component"):
        if got[col].tolist() != ref[col].tolist():
            return f"{col} differs"
    if [str(x) for x in got["osmid"]] != [str(x) for x in ref["osmid"]]:
        return "osmid differs"
    if list(got.columns) != list(ref.columns):
        return f"columns differ: {list(got.columns)}"
    a, b = got["dist_m"].to_numpy(float), ref["dist_m"].to_numpy(float)
    if (np.isnan(a) != np.isnan(b)).any() or np.nanmax(np.abs(a - b), initial=0.0) > 1e-6:
        return "dist_m differs"
    if ("stations_reaching" in ref) != ("stations_reaching" in got):
        return "stations_reaching present in one only"
    if "stations_reaching" in ref and got["stations_reaching"].tolist() != \
            ref["stations_reaching"].tolist():
        return "stations_reaching differs"
    if not all(shapely.equals_exact(got.geometry.to_numpy(), ref.geometry.to_numpy(), 1e-6)):
        return "geometry differs"
    return None


def check_state(lc: LiveCoverage, ref: Reference, change: Any = None) -> None:
    """The engine's state (and the last change) against a full recompute."""
    full = ref.coverage()
    why = same_pieces(lc.coverage.pieces, full.pieces)
    assert why is None, why
    covered, gap = full.covered_m, full.gap_m
    fig = lc.figures
    assert fig.covered_m == pytest.approx(covered, abs=1e-6)
    assert fig.gap_m == pytest.approx(gap, abs=1e-6)
    assert abs(fig.share - covered / (covered + gap)) <= 1e-9 if covered + gap else \
        fig.share == 0.0
    assert fig.stations == len(ref.rows)
    assert fig.stations_ok == int((full.stations["status"] == "ok").sum())
    # the stations snapped as snap_stations snaps them
    got_st, ref_st = lc.stations, full.stations
    assert got_st["station_id"].astype(str).tolist() == ref_st["station_id"].astype(str).tolist()
    assert got_st["status"].tolist() == ref_st["status"].tolist()
    assert got_st["edge_id"].tolist() == ref_st["edge_id"].tolist()
    np.testing.assert_allclose(got_st["offset_m"].to_numpy(float),
                               ref_st["offset_m"].to_numpy(float), atol=1e-9)
    np.testing.assert_allclose(got_st["snap_lon"].to_numpy(float),
                               ref_st["snap_lon"].to_numpy(float), atol=1e-12)
    # the nodes' nearest stations and distances
    ok = np.isfinite(full.node_dist_m)
    assert (np.isfinite(lc.coverage.node_dist_m) == ok).all()
    np.testing.assert_allclose(lc.coverage.node_dist_m[ok], full.node_dist_m[ok], atol=1e-6)
    assert (lc.coverage.node_station == full.node_station).all()
    if change is not None:
        assert fig == change.figures
        edges = change.edges
        assert (np.diff(edges) > 0).all()
        part = full.pieces[full.pieces["edge_id"].isin(edges)].reset_index(drop=True)
        why = same_pieces(change.pieces.reset_index(drop=True), part)
        assert why is None, f"change pieces: {why}"


def reach_edges(net: StreetNetwork, lc: LiveCoverage, points: list[Any]) -> set[int]:
    """The edges within the engine's reach of the given snapped points (hand geometry:
    straight-line distance to every edge)."""
    lines = net.edges.geometry.to_numpy()
    out: set[int] = set()
    for p in points:
        out |= set(np.flatnonzero(shapely.distance(lines, p) <= lc.reach_m).tolist())
    return out


def snapped_point(net: StreetNetwork, row: pd.Series) -> Any:
    if row["status"] != "ok":
        return None
    line = net.edges.geometry.to_numpy()[int(row["edge_id"])]
    return shapely.line_interpolate_point(line, float(row["offset_m"]))


# -- random edits --------------------------------------------------------------------

class Editor:
    """Random edits near the streets, on twin carriageways, off the streets, far away."""

    def __init__(self, net: StreetNetwork, seed: int) -> None:
        self.net = net
        self.rng = np.random.default_rng(seed)
        self.lines = net.edges.geometry.to_numpy()
        self.to_ll = pyproj.Transformer.from_crs(net.crs, 4326, always_xy=True)
        pairs = net.carriageways
        self.twins = (np.unique(np.concatenate([pairs["edge_id"].to_numpy(),
                                                pairs["twin_edge_id"].to_numpy()]))
                      if pairs is not None and len(pairs) else np.zeros(0, dtype=np.int64))
        self.bounds = net.edges.total_bounds
        self.n = 0
        self.deleted: tuple[str, float, float, int] | None = None

    def point(self) -> tuple[float, float]:
        r = self.rng.random()
        if r < 0.10:  # off the streets: too far to snap (or near a street by chance)
            x0, y0, x1, y1 = self.bounds
            x = self.rng.uniform(x0 - 300, x1 + 300)
            y = self.rng.uniform(y0 - 300, y1 + 300)
        else:
            pool = self.twins if (r < 0.45 and len(self.twins)) else np.arange(len(self.lines))
            k = int(self.rng.choice(pool))
            p = shapely.line_interpolate_point(self.lines[k], self.rng.random(), normalized=True)
            off = self.rng.normal(0, 25, size=2) if r < 0.9 else self.rng.normal(0, 150, size=2)
            x, y = p.x + off[0], p.y + off[1]
        lon, lat = self.to_ll.transform(x, y)
        return float(lon), float(lat)

    def new_id(self) -> str:
        self.n += 1
        return f"N{self.n}"

    def edit(self, lc: LiveCoverage, ref: Reference) -> tuple[str, Any, list[Any]]:
        """Apply one random edit to both; returns its kind, the change and the snapped
        points (old and new) the edit may reach from."""
        ids = [r[0] for r in ref.rows]
        kind = self.rng.choice(["add", "move", "delete"], p=[0.4, 0.4, 0.2]) if ids else "add"
        if self.deleted is not None and self.rng.random() < 0.3:
            # undo the last delete: the station back in its row
            sid, lon, lat, at = self.deleted
            at = min(at, len(ids))  # rows deleted since
            self.deleted = None
            ref.add(sid, lon, lat, at)
            change = lc.add(sid, lon, lat, at=at)
            after = [] if change.station is None else [snapped_point(self.net, change.station)]
            return "restore", change, [p for p in after if p is not None]
        if kind == "delete" and self.rng.random() < 0.3:
            sid = ids[-1]  # the last station
        else:
            sid = str(self.rng.choice(ids)) if ids else ""
        before = []
        if kind != "add":
            row = lc.stations.loc[lc.stations["station_id"].astype(str) == sid].iloc[0]
            before = [snapped_point(self.net, row)]
        if kind == "add":
            sid = self.new_id()
            lon, lat = self.point()
            ref.add(sid, lon, lat)
            change = lc.add(sid, lon, lat)
        elif kind == "move":
            lon, lat = self.point()
            ref.move(sid, lon, lat)
            change = lc.move(sid, lon, lat)
        else:
            at = ids.index(sid)
            self.deleted = (sid, *next((x, y) for s, x, y in ref.rows if s == sid), at)
            ref.delete(sid)
            change = lc.delete(sid)
        after = [] if change.station is None else [snapped_point(self.net, change.station)]
        return str(kind), change, [p for p in before + after if p is not None]


def start_stations(editor: Editor, n: int) -> list[tuple[str, float, float]]:
    return [(editor.new_id(), *editor.point()) for _ in range(n)]


def run_edits(net: StreetNetwork, rule: CoverageRule, *, seed: int, n_edits: int,
              n_start: int) -> dict[str, int]:
    editor = Editor(net, seed)
    ref = Reference(net, rule, rows=start_stations(editor, n_start))
    lc = LiveCoverage(net, ref.frame(), rule=rule, max_snap_m=SNAP_M)
    check_state(lc, ref)
    seen: dict[str, int] = {}
    for i in range(n_edits):
        if i == n_edits // 2:  # delete every station, the last one included
            for sid in [r[0] for r in ref.rows]:
                ref.delete(sid)
                change = lc.delete(sid)
            check_state(lc, ref, change)
            seen["emptied"] = 1
        kind, change, points = editor.edit(lc, ref)
        check_state(lc, ref, change)
        # only streets within reach of the old and new snapped points were recomputed
        assert set(change.edges.tolist()) <= reach_edges(net, lc, points)
        seen[kind] = seen.get(kind, 0) + 1
        if change.station is not None:
            seen[change.station["status"]] = seen.get(change.station["status"], 0) + 1
        if change.pieces["via_twin"].any():
            seen["via_twin"] = seen.get("via_twin", 0) + 1
    return seen


@pytest.fixture(scope="module")
def guixi() -> StreetNetwork:
    from stationplan.pipeline import coverage_network

    return coverage_network(shared_osm("guixi_county_city.osm.bz2"))


def test_guixi_has_twin_carriageways(guixi: StreetNetwork) -> None:
    assert guixi.carriageways is not None and len(guixi.carriageways) > 0


def test_100_random_edits_on_guixi_equal_full_recompute(guixi: StreetNetwork) -> None:
    seen = run_edits(guixi, CoverageRule.for_mode(guixi.mode.name), seed=7, n_edits=100,
                     n_start=25)
    # the edits were of every kind, some off the streets, some on twin carriageways
    assert {"add", "move", "delete", "restore", "too_far_from_street", "ok",
            "via_twin"} <= set(seen)


@pytest.mark.slow
def test_1000_random_edits_on_guixi_equal_full_recompute(guixi: StreetNetwork) -> None:
    seen = run_edits(guixi, CoverageRule.for_mode(guixi.mode.name), seed=2026, n_edits=1000,
                     n_start=40)
    assert {"add", "move", "delete", "restore", "too_far_from_street", "ok",
            "via_twin"} <= set(seen)


def test_many_edits_between_reads_of_the_coverage(guixi: StreetNetwork) -> None:
    """The piece frame is built when read: after 40 edits, some on the same streets."""
    rule = CoverageRule.for_mode(guixi.mode.name)
    editor = Editor(guixi, 3)
    ref = Reference(guixi, rule, rows=start_stations(editor, 20))
    lc = LiveCoverage(guixi, ref.frame(), rule=rule, max_snap_m=SNAP_M)
    touched = []
    for _ in range(40):
        _, change, _ = editor.edit(lc, ref)
        touched.append(set(change.edges.tolist()))
    assert any(a & b for a, b in itertools.pairwise(touched))  # overlaps
    check_state(lc, ref)


def test_cross_coverage_rule_edits_on_guixi(guixi: StreetNetwork) -> None:
    rule = CoverageRule.for_mode(guixi.mode.name, cover=2)
    run_edits(guixi, rule, seed=11, n_edits=20, n_start=25)


# -- small hand networks ----------------------------------------------------------------

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_400_000.0
TO_LONLAT = pyproj.Transformer.from_crs(CRS, 4326, always_xy=True)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def hand_network(seed: int, sep: float, spur_m: float) -> StreetNetwork:
    """A jittered grid with one-way streets, and south of it a dual carriageway: the
    counted one (E, east-bound, linked to the grid) and ``sep`` metres south of it the
    paired one (F, west-bound), from whose middle a spur ``spur_m`` long runs south."""
    rng = np.random.default_rng(seed)
    n, step = 5, 120.0
    xy = {i * n + j: (i * step + rng.uniform(-25, 25), j * step + rng.uniform(-25, 25))
          for i in range(n) for j in range(n)}
    segments: list[tuple[Any, ...]] = []
    way = 1
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= n or j + dj >= n or rng.random() < 0.2:
                    continue
                oneway = rng.random() < 0.3
                segments.append((way, {"highway": "residential"}, [i * n + j,
                                                                   (i + di) * n + j + dj],
                                 None, True, not oneway, 1 if oneway else 0))
                way += 1
    road = {"highway": "primary", "name": "Dual Road", "oneway": "yes"}
    xy.update({100: (-50.0, Y_DUAL), 101: (TIP_X, Y_DUAL), 102: (550.0, Y_DUAL),
               110: (550.0, Y_DUAL - sep), 111: (TIP_X, Y_DUAL - sep),
               112: (-50.0, Y_DUAL - sep), 113: (TIP_X, Y_DUAL - sep - spur_m)})
    segments += [(way, road, [100, 101], None, True, False, 1),
                 (way + 1, road, [101, 102], None, True, False, 1),
                 (way + 2, road, [110, 111], None, True, False, 1),
                 (way + 3, road, [111, 112], None, True, False, 1),
                 (way + 4, {"highway": "residential"}, [101, 2 * n], None, True, True, 0),
                 (way + 5, {"highway": "residential"}, [111, 113], None, True, True, 0)]
    coords = {k: _lonlat(*p) for k, p in xy.items()}
    net = network_from_segments(segments, coords, travel_mode("walk"), source="hand", stats={})
    return with_demand(net)


Y_DUAL, TIP_X, HAND_SNAP_M = -150.0, 250.0, 40.0


def tip_point(sep: float, spur_m: float) -> tuple[float, float]:
    """Beyond the spur's tip, half the snap distance: the station snaps to the tip."""
    return _lonlat(TIP_X, Y_DUAL - sep - spur_m - HAND_SNAP_M / 2)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), sep=st.floats(10.0, 30.0),
       reach=st.floats(60.0, 300.0), eps=st.floats(0.05, 5.0),
       cover=st.sampled_from([1, 1, 2]),
       edits=st.lists(st.tuples(st.sampled_from(["add", "move", "delete"]),
                                st.integers(0, 50), st.floats(-150.0, 650.0),
                                st.floats(-350.0, 650.0), st.booleans()),
                      min_size=1, max_size=10))
def test_random_edits_on_hand_networks(seed: int, sep: float, reach: float, eps: float,
                                       cover: int,
                                       edits: list[tuple[str, int, float, float, bool]]
                                       ) -> None:
    """Stations anywhere, and at the spur's tip: from there the reach ends ``eps`` into
    F (reach - eps from the tip, in a straight line) and covers E through its twin
    (reach - eps + sep away): an edit there must recompute both."""
    spur = reach - eps
    net = hand_network(seed, sep, spur)
    assert net.carriageways is not None and len(net.carriageways) > 0  # the premise
    rule = CoverageRule(radius_m=reach, max_minutes=None, cover=cover)
    ref = Reference(net, rule, snap_m=HAND_SNAP_M)
    ref.add("A", *_lonlat(200.0, 200.0))
    lc = LiveCoverage(net, ref.frame(), rule=rule, max_snap_m=HAND_SNAP_M)
    check_state(lc, ref)
    made = 0
    for kind, pick, x, y, at_tip in edits:
        ids = [r[0] for r in ref.rows]
        lon, lat = tip_point(sep, spur) if at_tip else _lonlat(x, y)
        if kind == "add" or not ids:
            made += 1
            ref.add(f"H{made}", lon, lat)
            change = lc.add(f"H{made}", lon, lat)
        elif kind == "move":
            sid = ids[pick % len(ids)]
            ref.move(sid, lon, lat)
            change = lc.move(sid, lon, lat)
        else:
            sid = ids[pick % len(ids)]
            ref.delete(sid)
            change = lc.delete(sid)
        check_state(lc, ref, change)


def test_an_edit_at_the_tip_recomputes_the_twin_beyond_the_reach() -> None:
    """Hand geometry: a station at the spur's tip reaches 0.5 m into F, on the side
    from which F's one-way traffic runs to the spur (the east), so 0.5 m of F is
    covered, and E's twin stretch through it; E lies 200 - 0.5 + 20 m away."""
    sep, reach, eps = 20.0, 200.0, 0.5
    net = hand_network(5, sep, reach - eps)
    rule = CoverageRule(radius_m=reach, max_minutes=None)
    lc = LiveCoverage(net, Reference(net, rule).frame(), rule=rule, max_snap_m=HAND_SNAP_M)
    change = lc.add("T", *tip_point(sep, reach - eps))
    p = change.pieces
    twin = p[p["via_twin"]]
    assert twin["length_m"].sum() == pytest.approx(0.5, abs=1e-6)
    assert set(twin["station_id"]) == {"T"}
    e_edges = set(twin["edge_id"].tolist())
    assert change.station is not None
    tip = snapped_point(net, change.station)
    lines = net.edges.geometry.to_numpy()
    assert all(float(shapely.distance(lines[k], tip)) > reach for k in e_edges)
    ref = Reference(net, rule, rows=[("T", *tip_point(sep, reach - eps))])
    check_state(lc, ref, change)
    # and deleting it clears them again
    change = lc.delete("T")
    assert e_edges <= set(change.edges.tolist())
    assert not lc.coverage.pieces["via_twin"].any()


# -- the interface ------------------------------------------------------------------------

def test_edits_refuse_what_a_planner_may_get_wrong() -> None:
    net = hand_network(1, 15.0, 100.0)
    ref = Reference(net, CoverageRule(radius_m=200.0, max_minutes=None))
    ref.add("A", *_lonlat(100.0, 100.0))
    lc = LiveCoverage(net, ref.frame(), rule=ref.rule)
    with pytest.raises(InputError, match="exists already"):
        lc.add("A", *_lonlat(0.0, 0.0))
    with pytest.raises(KeyError):
        lc.move("B", *_lonlat(0.0, 0.0))
    with pytest.raises(KeyError):
        lc.delete("B")
    with pytest.raises(InputError, match="finite"):
        lc.move("A", float("nan"), 39.9)
    with pytest.raises(InputError, match="at must be a row from 0 to 1"):
        lc.add("B", *_lonlat(0.0, 0.0), at=2)
    check_state(lc, ref)  # nothing changed


def test_a_sheet_row_without_a_location_can_be_moved_onto_the_streets() -> None:
    net = hand_network(2, 15.0, 100.0)
    rule = CoverageRule(radius_m=200.0, max_minutes=None)
    frame = gpd.GeoDataFrame({"station_id": ["A", "B"], "name": ["", ""],
                              "status": ["ok", "invalid"], "reason": [None, "no latitude"]},
                             geometry=np.array([shapely.Point(*_lonlat(100.0, 100.0)), None]),
                             crs=4326)
    lc = LiveCoverage(net, frame, rule=rule)
    assert lc.figures.stations_ok == 1 and lc.figures.stations == 2
    change = lc.move("B", *_lonlat(240.0, 240.0))
    assert change.station is not None and change.station["status"] == "ok"
    ref = Reference(net, rule, rows=[("A", *_lonlat(100.0, 100.0)),
                                     ("B", *_lonlat(240.0, 240.0))])
    check_state(lc, ref, change)


def test_a_rule_with_own_reaches_recomputes_everything() -> None:
    net = hand_network(3, 15.0, 100.0)
    rule = CoverageRule(radius_m=150.0, max_minutes=None, reach_col="reach")
    frame = gpd.GeoDataFrame({"station_id": ["A"], "status": ["ok"], "reach": ["300"]},
                             geometry=[shapely.Point(*_lonlat(100.0, 100.0))], crs=4326)
    lc = LiveCoverage(net, frame, rule=rule)
    change = lc.add("B", *_lonlat(400.0, 400.0), attrs={"reach": "250"})
    assert len(change.edges) == len(net.edges)
    both = pd.concat([frame, gpd.GeoDataFrame(
        {"station_id": ["B"], "status": ["ok"], "reach": ["250"]},
        geometry=[shapely.Point(*_lonlat(400.0, 400.0))], crs=4326)], ignore_index=True)
    full = compute_coverage(net, snap_stations(net, both), rule=rule)
    assert same_pieces(lc.coverage.pieces, full.pieces) is None


def test_a_row_refused_before_stays_refused_when_moved() -> None:
    """A table snapped before (status "too_far_from_street" on its row) keeps that row
    out, as snap_stations does: only rows "ok" (or "invalid", placed at last) snap."""
    net = hand_network(4, 15.0, 100.0)
    rule = CoverageRule(radius_m=200.0, max_minutes=None)
    frame = gpd.GeoDataFrame(
        {"station_id": ["A", "C"], "name": ["", ""],
         "status": ["ok", "too_far_from_street"], "reason": [None, "far"]},
        geometry=[shapely.Point(*_lonlat(100.0, 100.0)), shapely.Point(*_lonlat(9e3, 9e3))],
        crs=4326)
    lc = LiveCoverage(net, frame, rule=rule)
    change = lc.move("C", *_lonlat(240.0, 240.0))  # onto the streets: still not used
    assert change.station is not None and change.station["status"] == "too_far_from_street"
    assert len(change.edges) == 0
    moved = frame.set_geometry(gpd.GeoSeries(
        [frame.geometry.iloc[0], shapely.Point(*_lonlat(240.0, 240.0))], crs=4326))
    full = compute_coverage(net, snap_stations(net, moved), rule=rule)
    assert same_pieces(lc.coverage.pieces, full.pieces) is None
    assert lc.figures.stations_ok == 1


def test_an_edit_logs_no_figures_of_a_part_of_the_town(caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    net = hand_network(6, 15.0, 100.0)
    rule = CoverageRule(radius_m=200.0, max_minutes=None)
    ref = Reference(net, rule, rows=[("A", *_lonlat(100.0, 100.0))])
    lc = LiveCoverage(net, ref.frame(), rule=rule)
    caplog.set_level("INFO", logger="stationplan")
    caplog.clear()
    lc.add("B", *_lonlat(300.0, 300.0))
    assert not [r for r in caplog.records if r.name == "stationplan.coverage"]
    caplog.clear()
    compute_coverage(net, snap_stations(net, ref.frame()), rule=rule)  # a whole run does
    assert [r for r in caplog.records if r.name == "stationplan.coverage"]
