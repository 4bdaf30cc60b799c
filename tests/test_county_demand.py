"""Demand shaped like a county, on the shared Guixi and Shenzhen extracts.

Two checks by plain geometry, independent of how stationplan pairs carriageways:

- the gap table does not list one named road twice side by side (its two carriageways);
- a plan never puts new sites on the two carriageways of one road within the spacing, and,
  with no spacing rule at all, never on both sides of one road at one place (the second
  site would add nothing once each road counts once).

"On the two carriageways of one road" is told here from the OSM ways themselves: two
proposals on different one-way streets of the same name (or both unnamed), whose lines run
within 40 m of each other.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from handnet import shared_osm, shared_sheet

import stationplan as sp

SIDE_BY_SIDE_M = 40.0  # two carriageways of one road run this close, or closer


@pytest.fixture(scope="module", params=["guixi", "shenzhen"])
def county(request, tmp_path_factory):
    if request.param == "guixi":
        net = shared_osm("guixi_county_city.osm.bz2")
        stations = shared_sheet("guixi_stations.xlsx")
        crs = "gcj02"
    else:
        net = shared_osm("shenzhen_longgang_heao.osm.bz2")
        stations = tmp_path_factory.mktemp("sz") / "one_station.csv"
        stations.write_text("name,lon,lat\n站点1,114.2100,22.6880\n", encoding="utf-8")
        crs = "wgs84"
    return request.param, net, stations, sp.StationOptions(crs=crs)


def _same_road_side_by_side(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Metres of ``a`` that run within SIDE_BY_SIDE_M of ``b``."""
    return float(shapely.intersection(a, shapely.buffer(b, SIDE_BY_SIDE_M)).length)


def test_no_named_road_is_listed_twice_side_by_side(county):
    _, net, stations, opts = county
    run = sp.run_coverage(net, stations, station_options=opts)
    gaps = run.gaps[run.gaps["named"]]
    assert len(gaps) > 10
    worst = 0.0
    for _, grp in gaps.groupby("street"):
        for a, b in itertools.combinations(grp.geometry.to_numpy(), 2):
            # runs of one street meet at a junction (a few metres within the band around
            # the other), never alongside it for a stretch
            worst = max(worst, min(_same_road_side_by_side(a, b), _same_road_side_by_side(b, a)))
    assert worst < 2 * SIDE_BY_SIDE_M
    # and the paired side of a road is never a gap: each road once
    pieces = run.coverage.pieces
    assert not ((pieces["status"] == "paired") & pieces["demand"]).any()
    assert run.summary["demand"]["paired_m"] > 1000  # both extracts have divided roads


def _opposite_carriageway_pairs(network: sp.StreetNetwork, proposals) -> list[tuple[int, int]]:
    """Proposal pairs on one-way streets of one name (or both unnamed) whose lines run
    side by side within SIDE_BY_SIDE_M metres: the two carriageways of one road."""
    edges = network.edges
    line = edges.geometry.to_numpy()
    out = []
    eid = proposals["edge_id"].to_numpy()
    for i, j in itertools.combinations(range(len(proposals)), 2):
        ei, ej = int(eid[i]), int(eid[j])
        if ei == ej or not (edges["oneway"].iat[ei] and edges["oneway"].iat[ej]):
            continue
        ni, nj = edges["name"].iat[ei], edges["name"].iat[ej]
        if (ni if isinstance(ni, str) else None) != (nj if isinstance(nj, str) else None):
            continue
        if shapely.distance(line[ei], line[ej]) <= SIDE_BY_SIDE_M:
            out.append((i, j))
    return out


def _site_xy(network: sp.StreetNetwork, proposals) -> np.ndarray:
    lines = network.edges.geometry.to_numpy()[proposals["edge_id"].to_numpy()]
    pts = shapely.line_interpolate_point(lines, proposals["offset_m"].to_numpy(float))
    return shapely.get_coordinates(pts)


@pytest.mark.parametrize("spacing_m", [None, 0.0])
def test_no_new_sites_on_both_carriageways_of_a_road(county, spacing_m):
    name, net, stations, opts = county
    run = sp.run_plan(net, stations, station_options=opts, new_sites=30,
                      min_spacing_m=spacing_m, min_gain_m=0, time_limit_s=5)
    proposals = run.plan.proposals
    assert len(proposals) >= 20
    xy = _site_xy(run.network, proposals)
    close = [(i, j, float(np.hypot(*(xy[i] - xy[j]))))
             for i, j in _opposite_carriageway_pairs(run.network, proposals)]
    # the spacing (None: the coverage limit, 500 m) holds along the road across the
    # median, so in a straight line the two stand at least the spacing less the width
    # between the carriageways apart; with no spacing, never both sides of one place
    least = (run.summary["rule"]["limit_m"] - SIDE_BY_SIDE_M) if spacing_m is None else 50.0
    assert all(d >= least for _, _, d in close), (name, close)
