"""Check proposed sites: where each one lands, what it adds, and a verdict with its reason.

Districts and merchants propose sites; a planner must say yes or no to each. Every
proposal keeps its row. Lengths are street metres of the demand streets, measured
exactly (the same way :func:`~stationplan.compute_coverage` measures them); distances
between sites are network distances along the streets in either direction.

Verdicts, in the order they are decided:

``invalid``
    The row has no usable position (see :func:`~stationplan.read_stations`).
``off_network``
    Farther than ``max_snap_m`` from every street.
``outside_area``
    On a street outside the planning area.
``redundant``
    Adds less than ``min_gain_m`` of uncovered street to the existing stations on its
    own, or once the better proposals before it are accepted.
``too_close``
    Would add enough, but is closer than ``min_spacing_m`` to an existing station or to a
    better proposal that is accepted. Exactly ``min_spacing_m`` apart is not too close.
``accept``
    Adds at least ``min_gain_m`` and keeps the spacing.

Proposals that pass the first three checks are decided in the greedy order: always the
one that adds most to the existing stations plus the proposals accepted so far, so a
conflict between two proposals goes to the one that adds more.

``min_gain_m``, ``min_spacing_m`` and ``spacing`` are the rules of
:func:`~stationplan.plan_sites` too, with the same defaults, and a plan ranks its sites
in this same order: a plan's ``proposals.geojson`` checked against the same stations
gets ``accept`` for every site. That file also carries each site's street position
(``edge_id``, ``offset_m``); where it lies within ``POSITION_MATCH_M`` of the row's
point on this network it is used as it is, so a plan's sites are measured at their
exact positions, not at their coordinates rounded to 6 decimals (about 0.1 m).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable, Mapping
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _route
from ._errors import InputError
from ._figures import round_m, share
from ._i18n import resolve_lang, section, text
from ._options import (
    CANDIDATE_SPACING_M,
    MIN_GAIN_M,
    MIN_SPACING_M,
    SPACING,
    TIME_LIMIT_S,
    TOLERANCE_M,
    check_class_weights,
    check_option,
    check_spacing,
)
from ._route import catchment as ct
from ._text import cell_text, isolate_bidi
from ._version import __version__
from .carriageways import fold_catchments, road_positions
from .coverage import CoverageRule, reach_limits
from .demand import demand_weights
from .network import StreetNetwork
from .stations import snap_stations

log = logging.getLogger(__name__)

VERDICTS = ("accept", "redundant", "too_close", "off_network", "outside_area", "invalid")
CHECK_COLUMNS = (
    "proposal_id", "name", "row", "verdict", "reason", "gain_m", "gain_weight", "catchment_m",
    "redundancy", "greedy_rank", "greedy_gain_m", "greedy_gain_weight", "verdict_gain_m",
    "snap_dist_m", "street", "road_class", "in_area", "component", "component_m", "on_island",
    "nearest_station_id", "nearest_station", "dist_station_m", "nearest_proposal_id",
    "dist_proposal_m", "spacing_conflict", "conflict_with", "conflict_kind", "conflict_m",
    "input_problem", "lon", "lat", "snap_lon", "snap_lat", "edge_id", "offset_m", "address",
)
_METRE_COLUMNS = ("gain_m", "gain_weight", "catchment_m", "greedy_gain_m", "greedy_gain_weight",
                  "verdict_gain_m", "snap_dist_m", "component_m", "dist_station_m",
                  "dist_proposal_m", "conflict_m", "offset_m")
# A street position given in the proposal file (edge_id, offset_m, as stationplan writes
# them) is used when its point is this close to the row's point (6 decimals: ~0.1 m).
POSITION_MATCH_M = 0.5


def check_sites(
    network: StreetNetwork,
    stations: gpd.GeoDataFrame,
    proposals: gpd.GeoDataFrame,
    *,
    rule: CoverageRule | None = None,
    min_gain_m: float = MIN_GAIN_M,
    min_spacing_m: float | None = MIN_SPACING_M,
    spacing: str = SPACING,
    max_snap_m: float = 100.0,
    class_weights: Mapping[str, float] | None = None,
) -> gpd.GeoDataFrame:
    """Give every proposed site a verdict with its reason and the figures behind it.

    Parameters
    ----------
    network
        The street network (edges with ``demand`` and ``in_area`` when an area is set).
    stations
        Snapped existing stations (:func:`~stationplan.snap_stations`); rows with status
        "ok" are used.
    proposals
        Proposed sites as read by :func:`~stationplan.read_stations` (any CRS; rows
        whose ``status`` is not "ok" become ``invalid``).
    rule
        The coverage rule (default: the mode's 500 m / 5 min).
    min_gain_m
        Street metres a site must add to be accepted.
    min_spacing_m
        Minimum distance to existing stations and accepted proposals: ``None`` (the
        default) for the coverage limit, 0 for none. Exactly this far apart is allowed.
    spacing
        "network" (along the streets, either direction) or "straight" distance for
        ``min_spacing_m``.
    max_snap_m
        Proposals farther than this from every street are ``off_network``.
    class_weights
        Demand weight per road class (``highway``) for the ``*_weight`` columns and the
        greedy order; default 1.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per proposal in input order (EPSG:4326, the input point; ``None`` for
        invalid rows) with the columns of :data:`CHECK_COLUMNS`: ``gain_m`` /
        ``gain_weight`` (what it adds alone to the existing stations), ``catchment_m``
        (demand metres it reaches), ``redundancy`` (share of that already covered),
        ``greedy_rank`` / ``greedy_gain_m`` (order and gain when all proposals are built,
        best first), ``verdict_gain_m`` (what it adds when its verdict is decided),
        ``dist_station_m`` / ``dist_proposal_m`` (network metres to the nearest
        existing station and other proposal; empty when none is connected),
        ``spacing_conflict`` (either is closer than ``min_spacing_m``, measured as
        ``spacing`` says), ``conflict_with`` / ``conflict_kind`` / ``conflict_m`` (the
        station or proposal that makes it ``too_close``; for any other verdict with
        ``spacing_conflict``, the nearest one closer than ``min_spacing_m``; empty
        without a conflict). ``attrs["check_settings"]``
        holds the settings; ``attrs["crs_warning"]`` a suspected coordinate-system mix-up.
    """
    rule = rule or CoverageRule.for_mode(network.mode.name)
    if rule.cover != 1:  # verdicts are about single coverage; the stations' reaches hold
        rule = dataclasses.replace(rule, cover=1)
    limit = rule.limit_m
    check_option("min_gain_m", min_gain_m)
    if min_spacing_m is not None:
        check_option("min_spacing_m", min_spacing_m)
    check_spacing(spacing)
    check_option("max_snap_m", max_snap_m)
    if class_weights is not None:
        check_class_weights(class_weights)
    if proposals.crs is None:
        msg = "proposals have no CRS; set it, e.g. proposals.set_crs(4326)"
        raise InputError(msg)
    spacing_m = limit if min_spacing_m is None else float(min_spacing_m)
    settings = {"rule": rule.describe(), "min_gain_m": float(min_gain_m),
                "min_spacing_m": spacing_m, "spacing": spacing, "max_snap_m": float(max_snap_m),
                "class_weights": dict(class_weights or {}),
                "tolerance_m": TOLERANCE_M}

    p = _proposal_frame(proposals)
    snapped, given = _given_positions(network, proposals.reset_index(drop=True), p,
                                      snap_stations(network, p, max_snap_m=None))
    k = len(p)
    valid = (p["status"] == "ok").to_numpy() & (snapped["edge_id"].to_numpy() >= 0)
    snap = snapped["snap_dist_m"].to_numpy(float)
    on_net = valid & (snap <= max_snap_m + TOLERANCE_M)
    edge = np.where(on_net, snapped["edge_id"].to_numpy(np.int64), -1)
    off = np.where(on_net, snapped["offset_m"].to_numpy(float), np.nan)
    idx = np.flatnonzero(on_net)

    out = _where_it_lands(network, p, snapped, on_net, edge)
    ok = stations[stations["status"] == "ok"]
    st_edge, st_off = ok["edge_id"].to_numpy(np.int64), ok["offset_m"].to_numpy(float)
    d_station, near_station, d_pair = _separations(network, st_edge, st_off, edge[idx], off[idx])
    _add_distances(out, idx, ok, d_station, near_station, d_pair, p["proposal_id"].to_numpy())
    if spacing == "straight":  # the rule's distances; the columns keep the network ones
        d_rule_station, rule_station, d_pair = _straight_separations(network, ok, snapped, idx)
    else:
        d_rule_station = out["dist_station_m"].to_numpy(float)
        rule_station = out["nearest_station_id"].to_numpy(object)

    metres, weight = demand_weights(network, class_weights)
    existing = ct.Covered.of(fold_catchments(network, ct.on_edges(  # their own reaches
        ct.site_intervals(network, st_edge, st_off, limit_m=reach_limits(ok, rule)),
        metres > 0)))
    iv = fold_catchments(network, ct.on_edges(
        ct.site_intervals(network, edge[idx], off[idx], limit_m=limit), metres > 0))
    m = len(idx)
    catch = ct.lengths_by_site(iv, metres, m)
    gain_m = ct.gains(iv, existing, metres, m)
    gain_w = ct.gains(iv, existing, weight, m)
    out.loc[idx, "catchment_m"] = catch
    out.loc[idx, "gain_m"] = gain_m
    out.loc[idx, "gain_weight"] = gain_w
    with np.errstate(invalid="ignore", divide="ignore"):
        out.loc[idx, "redundancy"] = np.where(catch > TOLERANCE_M,
                                              np.clip(1 - gain_m / catch, 0, 1), np.nan)
    for rank, (s, g_w, g_m, _) in enumerate(ct.greedy_order(iv, existing, weight, metres,
                                                            list(range(m))), start=1):
        out.loc[idx[s], ["greedy_rank", "greedy_gain_m", "greedy_gain_weight"]] = (rank, g_m, g_w)

    _decide(out, idx, iv, existing, weight, metres, d_rule_station, rule_station, d_pair,
            valid, on_net, settings)
    out["reason"] = [reason_text(r, settings, "en") for r in out.to_dict("records")]
    for col in ("greedy_rank", "component"):
        out[col] = out[col].astype("Int64")
    for col in _METRE_COLUMNS:  # to the millimetre, and no "-0.0"
        out[col] = np.round(out[col].to_numpy(float), 3) + 0.0
    out["redundancy"] = np.round(out["redundancy"].to_numpy(float), 6) + 0.0
    frame = gpd.GeoDataFrame(out[list(CHECK_COLUMNS)], geometry=p.geometry.to_crs(4326).to_numpy(),
                             crs=4326)
    frame.attrs["check_settings"] = settings
    frame.attrs["positions_given"] = given
    if snapped.attrs.get("crs_warning"):
        frame.attrs["crs_warning"] = snapped.attrs["crs_warning"]
    counts = frame["verdict"].value_counts()
    log.info("checked %d proposals: %s", k,
             ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS if counts.get(v, 0)))
    return frame


# --- reasons ---------------------------------------------------------------------------

# The verdict labels, kept here for ``stationplan.check.VERDICT_LABELS``; the words live in
# the one zh/en table.
VERDICT_LABELS = MappingProxyType({lang: section("verdict", lang) for lang in ("en", "zh")})


def _quoted(text: str) -> str:
    """`text` for quoting inside a sentence: isolated (FSI … PDI) when it has bidi controls.

    >>> _quoted("S1"), _quoted("a\\u202eb")
    ('S1', '\\u2068a\\u202eb\\u2069')
    """
    return isolate_bidi(text)


def reason_text(row: Mapping[Hashable, Any], settings: Mapping[str, Any], lang: str = "en") -> str:
    """The reason for a row's verdict, in English or Chinese, from the row's figures.

    Examples
    --------
    >>> reason_text({"verdict": "off_network", "snap_dist_m": 512.4},
    ...             {"max_snap_m": 100.0}, "en")
    '512 m from the nearest street (more than 100 m): check the coordinates and their system'
    >>> reason_text({"verdict": "off_network", "snap_dist_m": float("nan")}, {"max_snap_m": 100.0})
    'no street in the network: check the coordinates and their system'
    """
    lang = resolve_lang(lang)
    v = row["verdict"]
    if v == "invalid":
        why = _quoted(cell_text(row.get("input_problem"))) or text("reason.no_position", lang)
        return text("reason.invalid", lang, why=why)
    if v == "off_network":
        snap = row.get("snap_dist_m")
        if snap is None or not np.isfinite(snap):
            return text("reason.no_street", lang)
        return text("reason.off_network", lang, snap=snap, max_snap=settings["max_snap_m"])
    street = _quoted(cell_text(row.get("street")))
    if v == "outside_area":
        return text("reason.outside_area", lang,
                    street=street or text("reason.unnamed_street", lang))
    gain, alone = row.get("verdict_gain_m"), row.get("gain_m")
    need = settings["min_gain_m"]
    if v == "redundant":
        if alone is not None and alone < need - TOLERANCE_M:
            red = row.get("redundancy")
            already = "" if red is None or not np.isfinite(red) else text(
                "reason.already_covered", lang, red=red)
            return text("reason.redundant_alone", lang, alone=alone, need=need, already=already)
        return text("reason.redundant_after", lang, gain=gain, need=need)
    spacing = settings["min_spacing_m"]
    if v == "too_close":
        other = _quoted(cell_text(row.get("conflict_with")))
        d = row.get("conflict_m")
        how = text(f"reason.spacing.{settings.get('spacing', 'network')}", lang)
        if row.get("conflict_kind") == "proposal":
            return text("reason.too_close_proposal", lang, d=d, other=other, spacing=spacing,
                        how=how)
        name = _quoted(cell_text(row.get("nearest_station"))) or other
        return text("reason.too_close_station", lang, d=d, name=name, spacing=spacing,
                    alone=alone, how=how)
    island = text("reason.on_island", lang) if row.get("on_island") else ""
    return text("reason.accept", lang, gain=gain) + island


# --- steps -----------------------------------------------------------------------------

def _proposal_frame(proposals: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The proposals with ``proposal_id``, ``status`` and ``reason``, positions kept."""
    p = proposals.reset_index(drop=True).copy()
    n = len(p)
    if "status" not in p:
        p["status"] = "ok"
    if "reason" not in p:
        p["reason"] = ""
    ids = p["station_id"] if "station_id" in p else pd.Series(np.arange(1, n + 1))
    p["proposal_id"] = [cell_text(x) or str(i + 1) for i, x in enumerate(ids)]
    p["name"] = [cell_text(x) for x in p["name"]] if "name" in p else [""] * n
    geoms = p.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad = missing & (p["status"] == "ok").to_numpy()
    p.loc[bad, "status"] = "invalid"
    p.loc[bad, "reason"] = "no position"
    # snap_stations adds its own columns; drop any from an earlier snap.
    return p.drop(columns=[c for c in ("snap_dist_m", "edge_id", "offset_m", "snap_lon",
                                       "snap_lat") if c in p])


def _where_it_lands(network, p, snapped, on_net, edge) -> pd.DataFrame:
    e = network.edges
    n = len(p)
    comp_len = e.groupby("component")["length_m"].sum()
    main = comp_len.idxmax()
    safe = np.maximum(edge, 0)
    pts = p.geometry.to_crs(4326).to_numpy()
    has_pt = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    xy = np.full((n, 2), np.nan)
    if has_pt.any():
        xy[has_pt] = shapely.get_coordinates(pts[has_pt])
    classes = e["road_class"] if "road_class" in e else e["highway"]
    in_area = e["in_area"].to_numpy(bool) if "in_area" in e else np.ones(len(e), bool)
    comp = e["component"].to_numpy()[safe]
    return pd.DataFrame({
        "proposal_id": p["proposal_id"].to_numpy(),
        "name": p["name"].to_numpy(),
        "row": p["row"].to_numpy() if "row" in p else np.arange(1, n + 1),
        "verdict": "", "reason": "", "input_problem": [cell_text(x) for x in p["reason"]],
        "gain_m": np.nan, "gain_weight": np.nan, "catchment_m": np.nan, "redundancy": np.nan,
        "greedy_rank": np.nan, "greedy_gain_m": np.nan, "greedy_gain_weight": np.nan,
        "verdict_gain_m": np.nan,
        "snap_dist_m": snapped["snap_dist_m"].to_numpy(float),
        "street": np.where(on_net, [cell_text(x) for x in e["name"].to_numpy()[safe]], ""),
        "road_class": np.where(on_net, [cell_text(x) for x in classes.to_numpy()[safe]], ""),
        "in_area": np.where(on_net, in_area[safe], False),
        "component": np.where(on_net, comp, np.nan),
        "component_m": np.where(on_net, comp_len.reindex(comp).to_numpy(), np.nan),
        "on_island": on_net & (comp != main),
        "nearest_station_id": "", "nearest_station": "", "dist_station_m": np.nan,
        "nearest_proposal_id": "", "dist_proposal_m": np.nan, "spacing_conflict": False,
        "conflict_with": "", "conflict_kind": "", "conflict_m": np.nan,
        "lon": xy[:, 0], "lat": xy[:, 1],
        "snap_lon": np.where(on_net, snapped["snap_lon"].to_numpy(float), np.nan),
        "snap_lat": np.where(on_net, snapped["snap_lat"].to_numpy(float), np.nan),
        "edge_id": edge,
        "offset_m": np.where(on_net, snapped["offset_m"].to_numpy(float), np.nan),
        "address": [cell_text(x) for x in p["address"]] if "address" in p else [""] * n,
    })


def _given_positions(network: StreetNetwork, given: pd.DataFrame, p: gpd.GeoDataFrame,
                     snapped: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """``snapped`` with the street positions the file gives (``edge_id``, ``offset_m``, as
    a plan's ``proposals.geojson`` has them) where they lie within ``POSITION_MATCH_M``
    of the row's point, and how many: a plan's sites are measured where the plan put
    them."""
    if not {"edge_id", "offset_m"} <= set(given.columns) or not len(given):
        return snapped, 0
    e = network.edges
    edge = pd.to_numeric(given["edge_id"], errors="coerce").to_numpy(float)
    off = pd.to_numeric(given["offset_m"], errors="coerce").to_numpy(float)
    length = e["length_m"].to_numpy(float)
    ok = (np.isfinite(edge) & np.isfinite(off) & (edge >= 0) & (edge < len(e))
          & (edge == np.round(edge)) & (p["status"] == "ok").to_numpy())
    safe = np.where(ok, edge, 0).astype(np.int64)
    ok &= (off >= 0) & (off <= length[safe] + TOLERANCE_M)
    rows = np.flatnonzero(ok)
    if not len(rows):
        return snapped, 0
    at = shapely.line_interpolate_point(e.geometry.to_numpy()[safe[rows]], off[rows])
    points = p.geometry.to_crs(network.crs).to_numpy()[rows]
    dist = shapely.distance(at, points)
    near = dist <= POSITION_MATCH_M
    rows, at, dist = rows[near], at[near], dist[near]
    if not len(rows):
        return snapped, 0
    out = snapped.copy()
    lonlat = shapely.get_coordinates(gpd.GeoSeries(at, crs=network.crs).to_crs(4326).to_numpy())
    out.loc[out.index[rows], "edge_id"] = safe[rows]
    out.loc[out.index[rows], "offset_m"] = off[rows]
    out.loc[out.index[rows], "snap_dist_m"] = dist
    out.loc[out.index[rows], "snap_lon"] = lonlat[:, 0]
    out.loc[out.index[rows], "snap_lat"] = lonlat[:, 1]
    log.debug("check: %d proposals at the street positions their file gives", len(rows))
    return out, len(rows)


def _straight_separations(network, ok, snapped, idx):
    """Straight-line distances for ``spacing="straight"``: each row to the nearest
    existing station (NaN off the network) and that station's id ("" for none), and
    between every two sites (as placed on their streets), like
    :func:`~stationplan.plan_sites` measures them."""
    k = len(snapped)
    d_station = np.full(k, np.nan)
    near = np.full(k, "", dtype=object)
    e = network.edges
    at = shapely.line_interpolate_point(
        e.geometry.to_numpy()[snapped["edge_id"].to_numpy(np.int64)[idx]],
        snapped["offset_m"].to_numpy(float)[idx])
    xy = shapely.get_coordinates(at).reshape(-1, 2)
    if len(ok) and len(idx):
        st = shapely.get_coordinates(ok.to_crs(network.crs).geometry.to_numpy())
        d = np.sqrt(((xy[:, None, :] - st[None, :, :]) ** 2).sum(-1))
        j = d.argmin(axis=1)
        d_station[idx] = d[np.arange(len(idx)), j]
        near[idx] = ok["station_id"].astype(str).to_numpy()[j]
    d_pair = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d_pair, np.inf)
    return d_station, near, d_pair


def _separations(network, st_edge, st_off, pr_edge, pr_off):
    """Network distances (either direction): each proposal to the nearest station (and
    which), and between every two proposals (``inf`` when not connected)."""
    n = len(network.nodes)
    ks, kp = len(st_edge), len(pr_edge)
    graph = _route.site_graph(network, np.concatenate([st_edge, pr_edge]),
                              np.concatenate([st_off, pr_off]), kind="undirected")
    pr_nodes = n + ks + np.arange(kp)
    d_station = np.full(kp, np.inf)
    near = np.full(kp, -1, dtype=np.int64)
    if ks and kp:
        dist, src = _route.nearest_distances(graph, n + np.arange(ks))
        d_station = dist[pr_nodes]
        near = np.where(np.isfinite(d_station), src[pr_nodes], -1)
    d_pair = _route.pair_distances(graph, pr_nodes)
    np.fill_diagonal(d_pair, np.inf)
    # dual carriageways (the plan's rule, siting._conflicts): sites are also as close as
    # their positions along the road, a paired carriageway's measured at the twin position
    r_st = road_positions(network, st_edge, st_off)
    r_pr = road_positions(network, pr_edge, pr_off)
    moved = not (np.array_equal(r_st[0], st_edge) and np.array_equal(r_st[1], st_off)
                 and np.array_equal(r_pr[0], pr_edge) and np.array_equal(r_pr[1], pr_off))
    if moved:
        # moved positions are on counted carriageways: the call below moves nothing
        d2, near2, pair2 = _separations(network, *r_st, *r_pr)
        closer = d2 < d_station
        d_station = np.where(closer, d2, d_station)
        near = np.where(closer, near2, near)
        d_pair = np.minimum(d_pair, pair2)
    return d_station, near, d_pair



def _add_distances(out, idx, ok, d_station, near_station, d_pair, ids) -> None:
    st_ids = ok["station_id"].astype(str).to_numpy()
    st_names = np.array([cell_text(x) for x in ok["name"]], dtype=object) if "name" in ok else \
        st_ids
    has = near_station >= 0
    out.loc[idx, "dist_station_m"] = np.where(has, d_station, np.nan)
    out.loc[idx, "nearest_station_id"] = np.where(has, st_ids[np.maximum(near_station, 0)]
                                                  if len(st_ids) else "", "")
    out.loc[idx, "nearest_station"] = np.where(has, st_names[np.maximum(near_station, 0)]
                                               if len(st_ids) else "", "")
    if len(idx):
        j = d_pair.argmin(axis=1)
        d = d_pair[np.arange(len(idx)), j]
        other = np.isfinite(d)
        out.loc[idx, "dist_proposal_m"] = np.where(other, d, np.nan)
        out.loc[idx, "nearest_proposal_id"] = np.where(other, ids[idx][j], "")


def _decide(out, idx, iv, existing, weight, metres, d_station, near_station, d_pair, valid,
            on_net, settings) -> None:
    """Fill ``verdict``, ``verdict_gain_m`` and the conflict columns (``d_station``,
    ``near_station``: per row, the distance of the spacing rule to the nearest existing
    station and its id; ``d_pair``: per site, the distances of the spacing rule between
    sites).

    The conflict columns name the station or proposal that makes a site ``too_close``;
    on every other row whose ``spacing_conflict`` is true, the nearest one closer than
    the spacing (a redundant duplicate of a station is flagged and names that station).
    """
    need, spacing = settings["min_gain_m"], settings["min_spacing_m"]
    tol = TOLERANCE_M
    in_area = out["in_area"].to_numpy(bool)
    verdict = np.where(~valid, "invalid", np.where(~on_net, "off_network", ""))
    verdict = np.where(on_net & ~in_area, "outside_area", verdict).astype(object)
    d_st = np.asarray(d_station, dtype=float)
    d_pr = np.full(len(out), np.nan)
    if len(idx):
        d_pr[idx] = d_pair.min(axis=1, initial=np.inf)
    with np.errstate(invalid="ignore"):
        out["spacing_conflict"] = (np.nan_to_num(np.fmin(d_st, d_pr), nan=np.inf)
                                   < spacing - tol)
    gain = out["gain_m"].to_numpy(float)
    out.loc[on_net, "verdict_gain_m"] = gain[on_net]
    pos = {int(r): s for s, r in enumerate(idx)}  # row -> site index
    rest = []
    for r in idx:
        if verdict[r]:
            continue
        if gain[r] < need - tol:
            verdict[r] = "redundant"
        elif d_st[r] < spacing - tol:
            verdict[r] = "too_close"
            out.loc[r, ["conflict_with", "conflict_kind", "conflict_m"]] = (
                near_station[r], "station", d_st[r])
        else:
            rest.append(pos[int(r)])

    def decide(s: int, _gain_w: float, gain_m: float, taken: list[int]) -> bool:
        r = idx[s]
        out.loc[r, "verdict_gain_m"] = gain_m
        near = [t for t in taken if d_pair[s, t] < spacing - tol]
        if near:
            t = min(near, key=lambda t: (d_pair[s, t], t))
            verdict[r] = "too_close"
            out.loc[r, ["conflict_with", "conflict_kind", "conflict_m"]] = (
                out.loc[idx[t], "proposal_id"], "proposal", d_pair[s, t])
            return False
        if gain_m < need - tol:
            verdict[r] = "redundant"
            return False
        verdict[r] = "accept"
        return True

    ct.greedy_order(iv, existing, weight, metres, rest, decide=decide)
    out["verdict"] = verdict
    # the flag with no conflict named yet (not too_close): the nearest within the spacing
    unnamed = out["spacing_conflict"].to_numpy(bool) & (out["conflict_kind"] == "").to_numpy()
    for r in np.flatnonzero(unnamed):
        d_s = d_st[r] if np.isfinite(d_st[r]) else np.inf
        if d_s <= d_pr[r]:
            out.loc[r, ["conflict_with", "conflict_kind", "conflict_m"]] = (
                near_station[r], "station", d_s)
        else:
            s = pos[int(r)]
            t = int(np.argmin(d_pair[s]))
            out.loc[r, ["conflict_with", "conflict_kind", "conflict_m"]] = (
                out.loc[idx[t], "proposal_id"], "proposal", d_pair[s, t])


# --- summary: coverage before and after, and the solver's benchmark -------------------

def check_summary(
    network: StreetNetwork,
    stations: gpd.GeoDataFrame,
    checked: gpd.GeoDataFrame,
    *,
    benchmark: bool = False,
    candidate_spacing_m: float = CANDIDATE_SPACING_M,
    time_limit_s: float = TIME_LIMIT_S,
) -> dict[str, Any]:
    """Coverage before and after the accepted sites, and the solver's answer if asked.

    Parameters
    ----------
    network, stations
        As given to :func:`check_sites`.
    checked
        The result of :func:`check_sites` (its ``attrs["check_settings"]`` are used).
    benchmark
        Also let the solver (:func:`~stationplan.siting.plan_sites`) place as many new
        sites as were accepted, once among street positions every ``candidate_spacing_m``
        and once among the proposals themselves; without spacing or minimum-gain rules,
        so it shows the most those sites could cover. Off by default: it runs the solver twice.
    candidate_spacing_m
        Distance between the solver's street candidates.
    time_limit_s
        Time limit of the solver's exact search.

    Returns
    -------
    dict
        JSON-ready: ``proposals``, ``by_verdict`` (every verdict, zeros included),
        ``accepted`` (ids), ``demand_m``, ``covered_m_before`` / ``covered_m_after``
        (exact street metres, the same measure as ``summary.json``), ``coverage_before``
        / ``coverage_after`` (shares of the demand streets), ``gain_m``, ``benchmark``
        (per candidate set: ``new_sites``, ``covered_m_after``, ``coverage_after``,
        ``shortfall_m`` = solver minus accepted, ``quality``; ``None`` when nothing was
        accepted or ``benchmark`` is false), ``settings``, ``rule``, ``crs_warning``,
        ``positions_given`` (proposals measured at the street positions their file gives,
        as a plan's ``proposals.geojson`` does, rather than snapped from their point).
    """
    settings = checked.attrs.get("check_settings")
    if settings is None:
        msg = "checked has no attrs['check_settings']; pass the result of check_sites"
        raise InputError(msg)
    rule = CoverageRule(**{k: settings["rule"][k] for k in ("radius_m", "max_minutes",
                                                            "speed_kmh")},
                        reach_col=settings["rule"].get("reach_col"))
    metres, _ = demand_weights(network)
    ok = stations[stations["status"] == "ok"]
    st_edge, st_off = ok["edge_id"].to_numpy(np.int64), ok["offset_m"].to_numpy(float)
    existing = ct.Covered.of(fold_catchments(network, ct.on_edges(
        ct.site_intervals(network, st_edge, st_off, limit_m=reach_limits(ok, rule)),
        metres > 0)))
    before = existing.length(metres)
    acc = checked[checked["verdict"] == "accept"]
    after = _covered_with(network, existing, acc["edge_id"].to_numpy(np.int64),
                          acc["offset_m"].to_numpy(float), rule, metres)
    demand = network.demand_length_m  # dual carriageways count once
    counts = checked["verdict"].value_counts()
    summary: dict[str, Any] = {
        "stationplan_version": __version__,
        "rule": settings["rule"],
        "settings": {k: v for k, v in settings.items() if k != "rule"},
        "proposals": len(checked),
        "by_verdict": {v: int(counts.get(v, 0)) for v in VERDICTS},
        "accepted": [str(x) for x in acc["proposal_id"]],
        "stations_used": len(ok),
        "demand_m": round_m(demand),
        "covered_m_before": round_m(before),
        "covered_m_after": round_m(after),
        "coverage_before": share(before, demand),
        "coverage_after": share(after, demand),
        "gain_m": round_m(after - before),
        "benchmark": None,
        "crs_warning": checked.attrs.get("crs_warning"),
        # proposals measured at the street positions their file gives (a plan's own file)
        "positions_given": int(checked.attrs.get("positions_given", 0)),
    }
    if benchmark and len(acc):
        summary["benchmark"] = _siting_benchmark(
            network, stations, checked, existing, rule, metres, demand, after, settings,
            candidate_spacing_m, time_limit_s)
    return summary


def _covered_with(network, existing, edge_id, offset_m, rule, metres) -> float:
    if len(edge_id) == 0:
        return existing.length(metres)
    iv = fold_catchments(network, ct.on_edges(
        ct.site_intervals(network, edge_id, offset_m, limit_m=rule.limit_m), metres > 0))
    return existing.add(iv).length(metres)


def _siting_benchmark(network, stations, checked, existing, rule, metres, demand, after,
                      settings, candidate_spacing_m, time_limit_s) -> dict[str, Any]:
    """What the solver covers with as many new sites as were accepted (``benchmark=True``).

    It runs :func:`~stationplan.siting.plan_sites` twice, among street positions every
    ``candidate_spacing_m`` and among the eligible proposals, without spacing or
    minimum-gain rules;
    ``shortfall_m`` is the solver's covered metres minus those of the accepted sites.
    """
    from .candidates import street_candidates
    from .siting import plan_sites

    k = int((checked["verdict"] == "accept").sum())
    eligible = checked[checked["verdict"].isin(["accept", "redundant", "too_close"])]
    own = gpd.GeoDataFrame(
        {
            "candidate_id": eligible["proposal_id"].astype(str).to_numpy(),
            "name": eligible["name"].to_numpy(),
            "kind": "proposal",
            "host_tag": "",
            "edge_id": eligible["edge_id"].to_numpy(np.int64),
            "offset_m": eligible["offset_m"].to_numpy(float),
            "snap_dist_m": eligible["snap_dist_m"].to_numpy(float),
        },
        geometry=shapely.line_interpolate_point(
            network.edges.geometry.to_numpy()[eligible["edge_id"].to_numpy(np.int64)],
            eligible["offset_m"].to_numpy(float)),
        crs=network.crs,
    )
    sets = {"street": street_candidates(network, spacing_m=candidate_spacing_m),
            "proposals": own}
    out: dict[str, Any] = {"new_sites": k, "spacing": None,
                           "candidate_spacing_m": candidate_spacing_m}
    for name, cands in sets.items():
        res = plan_sites(network, stations, cands, rule=rule, new_sites=k,
                         class_weights=settings["class_weights"] or None,
                         min_spacing_m=0, min_gain_m=0, time_limit_s=time_limit_s)
        props = res.proposals
        covered = _covered_with(network, existing, props["edge_id"].to_numpy(np.int64),
                                props["offset_m"].to_numpy(float), rule, metres)
        out[name] = {
            "candidates": len(cands),
            "new_sites": len(props),
            "covered_m_after": round_m(covered),
            "coverage_after": share(covered, demand),
            "shortfall_m": round_m(covered - after),
            "certified": res.summary["certified"],
            "optimality_gap": res.summary["optimality_gap"],
            "sites": [str(x) for x in props["candidate_id"]] if name == "proposals" else None,
        }
    return out
