"""Gap runs and gap areas on the hand network (more: test_gap_runs.py)."""

from __future__ import annotations

import pytest
from handnet import hand_graph

import stationplan as sp


def test_gap_runs_on_paper(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    cov = sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(hand_stations_csv)))
    gaps = sp.find_gaps(cov)
    # U—V 700 m; middle of Q1—R 600 m (two pieces that touch); A-end 150 m; D-end 150 m
    assert gaps["length_m"].tolist() == pytest.approx([700, 600, 150, 150], abs=1e-3)
    assert gaps["gap_id"].tolist() == [1, 2, 3, 4]
    assert gaps["pieces"].tolist()[:2] == [1, 2]
    assert gaps["street"].iat[0] == "road 9"
    assert gaps["length_m"].sum() == pytest.approx(cov.gap_m)
    # each run lies in a component of its own: four gap areas, one run each
    areas = sp.gap_areas(gaps)
    assert areas["length_m"].tolist() == pytest.approx([700, 600, 150, 150], abs=1e-3)
    assert areas["runs"].tolist() == [1, 1, 1, 1]
    assert gaps["area_id"].tolist() == [1, 2, 3, 4]
    # representative points lie on the gap
    pts = gaps.set_crs(net.crs)
    import geopandas as gpd

    rep = gpd.GeoSeries(gpd.points_from_xy(gaps.point_lon, gaps.point_lat), crs=4326)
    rep = rep.to_crs(net.crs)
    assert (rep.distance(pts.geometry, align=False) < 1e-3).all()


def test_no_gaps_gives_empty_frame(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    st = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    cov = sp.compute_coverage(net, st, rule=sp.CoverageRule(radius_m=1e6, max_minutes=None))
    gaps = sp.find_gaps(cov)
    # U—V has no station on its piece: still a gap even with a huge radius
    assert len(gaps) == 1
    assert gaps["length_m"].iat[0] == pytest.approx(700)


def test_the_search_made_ahead_is_the_one_find_gaps_makes(hand_stations_csv, monkeypatch):
    # as a run makes it beside compute_coverage: find_gaps then searches no more, and its
    # runs are those of a find_gaps that searched itself
    from stationplan._route import kernels
    from stationplan.gaps import search_ahead

    net = sp.network_from_graph(hand_graph())
    st = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    rule = sp.CoverageRule()
    searched = sp.find_gaps(sp.compute_coverage(net, st, rule=rule))
    net = sp.network_from_graph(hand_graph())  # a fresh network: nothing kept
    st = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    limits = []
    search = kernels.nearest_source
    monkeypatch.setattr(kernels, "nearest_source",
                        lambda *a: limits.append(a[-1]) or search(*a))
    search_ahead(net, st, rule=rule)
    cov = sp.compute_coverage(net, st, rule=rule)
    gaps = sp.find_gaps(cov)
    # one search to 1,500 m (ahead) and one to 500 m (the coverage's), none again
    assert sorted(limits) == [rule.limit_m, 3 * rule.limit_m]
    assert gaps.drop(columns="geometry").equals(searched.drop(columns="geometry"))
    assert gaps.geometry.geom_equals_exact(searched.geometry, 0).all()
