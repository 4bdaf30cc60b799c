"""Candidate sites for new stations: host shops from OSM, street positions, or a user file.

Every candidate ends up snapped onto a street segment (``edge_id``, ``offset_m``), the same
way stations are, so the solver measures its coverage exactly like a real station's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError, MissingDataError
from ._options import check_option
from .network import StreetNetwork

log = logging.getLogger(__name__)

# Businesses that could host a care station (water, seats, charging) — documented default.
HOST_TAGS: dict[str, tuple[str, ...]] = {
    "shop": ("convenience", "supermarket", "kiosk", "general", "bakery", "department_store",
             "mall", "beverages", "greengrocer", "mobile_phone"),
    "amenity": ("restaurant", "fast_food", "cafe", "fuel", "community_centre", "pharmacy",
                "bank", "post_office", "library", "townhall", "police", "social_facility"),
}
# Places riders pick up orders: used as an activity proxy for demand weights.
ACTIVITY_TAGS: dict[str, tuple[str, ...]] = {
    "amenity": ("restaurant", "fast_food", "cafe", "food_court", "bar", "pub"),
    "shop": ("convenience", "supermarket", "bakery", "deli", "greengrocer", "butcher"),
}
# No station on an expressway or its ramps.
EXCLUDED_ROAD_CLASSES = ("motorway", "motorway_link", "trunk", "trunk_link")

CANDIDATE_COLUMNS = ("candidate_id", "name", "kind", "host_tag", "edge_id", "offset_m",
                     "snap_dist_m")


def street_candidates(
    network: StreetNetwork,
    *,
    spacing_m: float = 50.0,
    excluded_classes: tuple[str, ...] = EXCLUDED_ROAD_CLASSES,
) -> gpd.GeoDataFrame:
    """Candidate positions every ``spacing_m`` along every street, plus every junction.

    Parameters
    ----------
    network
        The street network.
    spacing_m
        Distance between candidates along a street.
    excluded_classes
        Road classes (``highway`` values) where no station may stand.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`CANDIDATE_COLUMNS`, Point geometry on the street (network CRS).
    """
    check_option("spacing_m", spacing_m, kind="candidate_spacing_m")
    edges = network.edges
    ok = ~edges["highway"].isin(excluded_classes).to_numpy()
    length = edges["length_m"].to_numpy()
    eid = np.flatnonzero(ok)
    count = np.maximum(np.floor(length[eid] / spacing_m).astype(np.int64), 0)
    edge_of = np.repeat(eid, count)
    first = np.repeat(np.cumsum(count) - count, count)
    step = np.arange(len(edge_of)) - first
    offsets = (step + 0.5) * length[edge_of] / np.repeat(np.maximum(count, 1), count)
    # Junctions: the u end of the first allowed edge at each node.
    u = edges["u"].to_numpy()[eid]
    nodes, first_edge = np.unique(u, return_index=True)
    edge_of = np.concatenate([eid[first_edge], edge_of])
    offsets = np.concatenate([np.zeros(len(nodes)), offsets])
    kind = np.array(["junction"] * len(nodes) + ["street"] * (len(edge_of) - len(nodes)))
    return _frame(network, edge_of, offsets, np.zeros(len(edge_of)), kind,
                  names=np.full(len(edge_of), "", dtype=object),
                  tags=np.full(len(edge_of), "", dtype=object))


def osm_candidates(
    network: StreetNetwork,
    osm_path: str | Path,
    *,
    host_tags: Mapping[str, tuple[str, ...]] = HOST_TAGS,
    max_snap_m: float = 50.0,
    excluded_classes: tuple[str, ...] = EXCLUDED_ROAD_CLASSES,
    required: bool = True,
) -> gpd.GeoDataFrame:
    """Shops and amenities from an OSM file that could host a station, snapped to streets.

    Parameters
    ----------
    network
        The street network.
    osm_path
        The OSM file (XML or PBF) to read points of interest from.
    host_tags
        ``{key: values}`` of the businesses that count as hosts (default :data:`HOST_TAGS`).
    max_snap_m
        Businesses farther than this from a street are left out (and counted in the log).
    excluded_classes
        Road classes a candidate may not snap to.
    required
        Whether a file without any such business is an error (else: no candidates).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`CANDIDATE_COLUMNS`; ``name`` is the business's name.
    """
    pois = read_osm_pois(osm_path, host_tags)
    if pois.empty and not required:
        return _frame(network, np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                      np.zeros(0, dtype=object), names=np.zeros(0, dtype=object),
                      tags=np.zeros(0, dtype=object))
    if pois.empty:
        msg = (f"{osm_path}: no shops or amenities that could host a station; "
               "use --candidates streets or a candidate file")
        raise MissingDataError(msg)
    return snap_candidates(network, pois, kind="osm", max_snap_m=max_snap_m,
                           excluded_classes=excluded_classes)


def snap_candidates(
    network: StreetNetwork,
    points: gpd.GeoDataFrame,
    *,
    kind: str,
    max_snap_m: float = 50.0,
    excluded_classes: tuple[str, ...] = EXCLUDED_ROAD_CLASSES,
) -> gpd.GeoDataFrame:
    """Snap candidate points (``name``, optional ``host_tag``) to allowed streets.

    Points farther than ``max_snap_m`` from every allowed street are dropped and counted.
    """
    check_option("max_snap_m", max_snap_m, kind="candidate_snap_m")
    if points.crs is None:
        msg = "candidate points have no CRS; set it, e.g. .set_crs(4326)"
        raise InputError(msg)
    ok = ~network.edges["highway"].isin(excluded_classes).to_numpy()
    allowed = np.flatnonzero(ok)
    lines = network.edges.geometry.to_numpy()[allowed]
    pts = points.to_crs(network.crs).geometry.to_numpy()
    valid = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    tree = shapely.STRtree(lines)
    (pi, li), dist = tree.query_nearest(pts[valid], max_distance=max_snap_m,
                                        return_distance=True, all_matches=True)
    order = np.lexsort((li, pi))
    pi, li, dist = pi[order], li[order], dist[order]
    first = np.unique(pi, return_index=True)[1]
    pi, li, dist = pi[first], li[first], dist[first]
    rows = np.flatnonzero(valid)[pi]
    offsets = shapely.line_locate_point(lines[li], pts[rows])
    dropped = len(points) - len(rows)
    if dropped:
        log.info("%d of %d %s candidates are farther than %g m from an allowed street; left out",
                 dropped, len(points), kind, max_snap_m)
    names = points["name"].fillna("").astype(str).to_numpy()[rows] if "name" in points else \
        np.full(len(rows), "", dtype=object)
    tags = points["host_tag"].fillna("").astype(str).to_numpy()[rows] if "host_tag" in points \
        else np.full(len(rows), "", dtype=object)
    return _frame(network, allowed[li], offsets, dist, np.full(len(rows), kind), names=names,
                  tags=tags)


def join_candidates(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Candidate frames one after another (same CRS), numbered ``C1``, ``C2``, ... anew.

    Order matters: the solver prefers lower numbers among equal choices, so hosts go first.
    """
    parts = [p for p in parts if len(p)] or parts[:1]
    if not parts:
        msg = "no candidate frames to join"
        raise MissingDataError(msg)
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
    frame["candidate_id"] = [f"C{i + 1}" for i in range(len(frame))]
    return frame


def read_osm_pois(osm_path: str | Path, tags: Mapping[str, tuple[str, ...]]) -> gpd.GeoDataFrame:
    """Nodes and ways (at their centroid) of an OSM file carrying any of ``tags``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_type``, ``osmid``, ``name``, ``host_tag`` ("key=value"), Points in EPSG:4326.
    """
    from ._read.osm import read_osm_points

    wanted = {k: set(v) for k, v in tags.items()}

    def pick(obj_tags: Any) -> tuple[str, ...] | None:
        match = next((f"{k}={obj_tags[k]}" for k in wanted
                      if k in obj_tags and obj_tags[k] in wanted[k]), None)
        return None if match is None else (obj_tags.get("name") or "", match)

    rows = read_osm_points(osm_path, pick)
    frame = pd.DataFrame(rows, columns=["osm_type", "osmid", "lon", "lat", "name", "host_tag"])
    log.info("%s: %d points of interest with the requested tags", Path(osm_path).name, len(frame))
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]),
                            geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)


def exclude_zones(candidates: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop candidates that lie inside any exclusion polygon (any CRS)."""
    if zones.crs is None:
        msg = "exclusion zones have no CRS; set it in the file (e.g. save as GeoPackage)"
        raise InputError(msg)
    if candidates.crs is None:
        msg = "candidate sites have no CRS; set it with .set_crs(...) first"
        raise InputError(msg)
    union = shapely.union_all(zones.to_crs(candidates.crs).geometry.to_numpy())
    inside = shapely.contains(union, candidates.geometry.to_numpy()) | shapely.touches(
        union, candidates.geometry.to_numpy())
    log.info("exclusion zones remove %d of %d candidates", int(inside.sum()), len(candidates))
    return candidates.loc[~inside].reset_index(drop=True).assign(
        candidate_id=lambda f: [f"C{i + 1}" for i in range(len(f))])


def _frame(network: StreetNetwork, edge_id: np.ndarray, offsets: np.ndarray, snap: np.ndarray,
           kind: Any, *, names: Any, tags: Any) -> gpd.GeoDataFrame:
    lines = network.edges.geometry.to_numpy()
    geom = shapely.line_interpolate_point(lines[edge_id], offsets)
    return gpd.GeoDataFrame(
        {
            "candidate_id": [f"C{i + 1}" for i in range(len(edge_id))],
            "name": names,
            "kind": kind,
            "host_tag": tags,
            "edge_id": np.asarray(edge_id, dtype=np.int64),
            "offset_m": np.asarray(offsets, dtype=float),
            "snap_dist_m": np.asarray(snap, dtype=float),
        },
        geometry=geom,
        crs=network.crs,
    )
