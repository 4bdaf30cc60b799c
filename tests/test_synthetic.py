"""The seeded synthetic city: deterministic, of the size asked, shaped like a city, and
covered exactly as networkx computes it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_coverage import _nx_reference

import stationplan as sp
from stationplan._synthetic import synthetic_city


@pytest.fixture(scope="module")
def city():
    return synthetic_city(5_000, seed=7)


def test_same_seed_same_network_other_seed_other_network(city):
    again = synthetic_city(5_000, seed=7)
    for col in ("u", "v", "length_m", "highway", "fwd", "bwd"):
        assert again.edges[col].equals(city.edges[col]), col
    assert again.edges.geometry.geom_equals_exact(city.edges.geometry, tolerance=0).all()
    other = synthetic_city(5_000, seed=8)
    assert not np.array_equal(other.edges["length_m"].to_numpy()[:100],
                              city.edges["length_m"].to_numpy()[:100])


@pytest.mark.parametrize("n_edges", [1_000, 10_000, 100_000])
def test_size_within_ten_percent(n_edges):
    net = synthetic_city(n_edges, seed=1)
    assert 0.9 * n_edges <= len(net.edges) <= 1.1 * n_edges
    assert net.stats["edges"] == len(net.edges)


def test_projected_and_well_formed(city):
    e, n = city.edges, city.nodes
    assert city.crs.is_projected and city.crs.to_epsg() == 32650
    assert e["u"].between(0, len(n) - 1).all() and e["v"].between(0, len(n) - 1).all()
    assert (e["u"] != e["v"]).all()
    assert (e["length_m"] > 5).all()
    assert np.allclose(e["length_m"], e.geometry.length)
    # every junction is used, and each edge's geometry runs from its u to its v
    assert len(np.unique(np.concatenate([e["u"], e["v"]]))) == len(n)
    start = np.array([g.coords[0] for g in e.geometry.iloc[:500]])
    assert np.allclose(start, n[["x", "y"]].to_numpy()[e["u"].to_numpy()[:500]])
    assert e["demand"].all() and e["fwd"].all() and e["bwd"].all()  # walk: both ways


def test_connected_except_rare_islands(city):
    isl = city.islands()
    assert isl["length_m"] <= 0.01 * city.total_length_m
    per = city.edges.groupby("component").size()
    assert per.max() >= 0.99 * len(city.edges)


def test_city_shape_cul_de_sacs_diagonals_irregular_blocks(city):
    e = city.edges
    degree = np.bincount(np.concatenate([e["u"], e["v"]]), minlength=len(city.nodes))
    dead_ends = degree == 1
    assert dead_ends.sum() > 0.02 * len(city.nodes)
    assert (e["highway"] == "service").sum() == city.stats["synthetic"]["cul_de_sacs"] > 50
    # diagonal arterials: primary edges that run neither east-west nor north-south
    xy = np.array([(g.coords[0], g.coords[-1]) for g in e.geometry])
    dx, dy = np.abs(xy[:, 1, 0] - xy[:, 0, 0]), np.abs(xy[:, 1, 1] - xy[:, 0, 1])
    diagonal = (np.minimum(dx, dy) > 0.4 * np.maximum(dx, dy)) & (e["highway"] == "primary")
    assert diagonal.sum() > 30
    assert set(e["highway"]) == {"primary", "secondary", "tertiary", "residential", "service"}
    # irregular blocks: street spacing varies, some streets bend
    assert e["length_m"].std() > 0.2 * e["length_m"].mean()
    assert (e.geometry.apply(lambda g: len(g.coords)) == 3).sum() > 100


def test_one_way_streets_only_in_modes_that_keep_them():
    bike = synthetic_city(3_000, seed=2, mode="bike")
    one_way = ~bike.edges["bwd"]
    assert one_way.sum() > 50
    assert set(bike.edges.loc[one_way, "highway"]) == {"residential"}


def test_bad_arguments():
    with pytest.raises(sp.InputError, match="n_edges"):
        synthetic_city(10)
    with pytest.raises(sp.InputError, match="block_m"):
        synthetic_city(1_000, block_m=0)


@pytest.mark.parametrize("mode", ["walk", "bike"])
def test_coverage_matches_networkx(mode, tmp_path):
    net = synthetic_city(3_000, seed=4, mode=mode)
    rng = np.random.default_rng(3)
    k = 40
    edge = rng.integers(0, len(net.edges), k)
    edge[:6] = edge[0]  # several stations on one edge
    lines = net.edges.geometry.to_numpy()[edge]
    import geopandas as gpd
    import shapely

    pts = shapely.line_interpolate_point(lines, rng.random(k), normalized=True)
    ll = gpd.GeoSeries(pts, crs=net.crs).to_crs(4326)
    rows = [f"s{i},{p.x:.9f},{p.y:.9f}" for i, p in enumerate(ll)]
    (tmp_path / "s.csv").write_text("name,lng,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    stations = sp.snap_stations(net, sp.read_stations(tmp_path / "s.csv"))
    rule = sp.CoverageRule(radius_m=500, max_minutes=None)
    cov = sp.compute_coverage(net, stations, rule=rule)
    ref_dist, ref_covered = _nx_reference(net, stations, rule.limit_m)
    ref = np.array([ref_dist.get(n, math.inf) for n in range(len(net.nodes))])
    assert np.array_equal(np.isinf(ref), np.isinf(cov.node_dist_m))
    finite = np.isfinite(ref)
    assert np.max(np.abs(ref[finite] - cov.node_dist_m[finite])) < 1e-6
    assert cov.covered_m == pytest.approx(ref_covered, rel=1e-9)
    assert cov.pieces["length_m"].sum() == pytest.approx(net.total_length_m, rel=1e-12)
    assert 0 < cov.covered_m < net.total_length_m
