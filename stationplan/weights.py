"""Demand weights: where riders work, as a density along the demand streets.

Demand is street length by default. A *demand weight model* weighs each street position
by how many rider destinations and waiting points lie near it, so that a station in front
of a food court counts for more than one on a quiet lane. It is a model: its figures are
named as such (``demand_weights`` in ``summary.json``, "rider-weighted metres"), never
the headline, which stays the street-length share.

The model is exactly computable. Each demand edge is cut into equal units of at most
``unit_m`` (25 m) metres, as :func:`~stationplan.demand.demand_units` cuts it; a unit's
*density* is constant along it:

- for points (rider points read from the OSM file, or a user's points with a weight
  column), the sum over points ``k`` of ``w_k K(d_k)``, where ``d_k`` is the straight-line
  distance in metres from the unit's midpoint to the point and ``K`` the quartic
  (biweight) kernel ``K(d) = (1 - (d/h)^2)^2`` for ``d < h``, else 0, with ``h =
  kernel_m`` (300 m by default, about four minutes on foot);
- for polygons (grid cells with a weight column), the cell's weight spread evenly over
  the demand street inside the cell: every unit whose midpoint lies in the cell gets
  ``w / L``, where ``L`` is the length of those units, so the cell's street carries
  exactly its weight.

A stretch of street from ``a`` to ``b`` on an edge then weighs the integral of that
piecewise-constant density (:meth:`DemandDensity.integral`): the sum over units of the
overlap length times the unit's density. Straight-line distance is used for the kernel
because the kernel stands for "near", not for a walk: a restaurant across a fenced
block still has riders waiting on both streets. Streets with no point within
``kernel_m`` weigh 0: a plan by rider demand does not aim to cover them (the
street-length figures still count them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ._errors import InputError, MissingDataError
from ._figures import round_m, share
from ._options import DEMAND_UNIT_M, DemandOptions
from .network import StreetNetwork

log = logging.getLogger(__name__)

# Where riders and couriers pick up, drop off and wait (OSM key -> values). Restaurants,
# fast food, cafés and food courts are the food-delivery pick-ups; markets, supermarkets,
# convenience stores, malls and department stores the grocery and retail pick-ups (and
# their queues of riders); parcel lockers, post offices and courier offices the couriers'
# points. Each counts once (weight 1) whether mapped as a node or as an outline.
RIDER_TAGS: Mapping[str, tuple[str, ...]] = {
    "amenity": ("restaurant", "fast_food", "cafe", "food_court", "marketplace",
                "parcel_locker", "post_office"),
    "shop": ("supermarket", "convenience", "mall", "department_store"),
    "office": ("courier",),
}


def quartic_kernel(distance_m: Any, kernel_m: float) -> np.ndarray:
    """The quartic (biweight) kernel ``(1 - (d/h)^2)^2`` for ``d < h``, else 0.

    Parameters
    ----------
    distance_m
        Distances in metres (>= 0).
    kernel_m
        The kernel's width ``h`` in metres.

    Returns
    -------
    numpy.ndarray
        1 at distance 0, falling to 0 at ``kernel_m`` and beyond.

    Examples
    --------
    >>> quartic_kernel([0, 150, 300, 400], 300).tolist()
    [1.0, 0.5625, 0.0, 0.0]
    """
    r = np.asarray(distance_m, dtype=float) / kernel_m
    return np.where(r < 1, (1 - r * r) ** 2, 0.0)


@dataclass(frozen=True)
class DemandDensity:
    """A piecewise-constant demand density along the demand streets.

    Parameters
    ----------
    kind
        "riders" (points from the OSM file) or "file" (a user's points or cells).
    source
        Where the points came from (a file name), for reports.
    kernel_m
        Width of the quartic kernel in metres (points).
    unit_m
        Longest unit of constant density in metres.
    points
        The points or cells used (EPSG:4326), with a ``weight`` column (and ``host_tag``
        for rider points).
    first
        Per edge, the index of its first unit (length ``edges + 1``; an edge without
        units has ``first[e] == first[e + 1]``).
    size_m
        Per edge, the length of its units (0 without units).
    density
        Per unit, weight per street metre.
    cum
        Per unit, the integral of the density from the edge's ``u`` end to the unit's start.
    """

    kind: str
    source: str
    kernel_m: float
    unit_m: float
    points: gpd.GeoDataFrame = field(repr=False)
    first: np.ndarray = field(repr=False)
    size_m: np.ndarray = field(repr=False)
    density: np.ndarray = field(repr=False)
    cum: np.ndarray = field(repr=False)

    def integral(self, edge_id: Any, start_m: Any, end_m: Any) -> np.ndarray:
        """Weight of each stretch ``start_m``..``end_m`` of edge ``edge_id``: the exact
        integral of the density over it (0 on edges without units)."""
        edge = np.asarray(edge_id, dtype=np.int64)
        return (self._cumulative(edge, np.asarray(end_m, dtype=float))
                - self._cumulative(edge, np.asarray(start_m, dtype=float)))

    def _cumulative(self, edge: np.ndarray, x: np.ndarray) -> np.ndarray:
        first, n = self.first[edge], self.first[edge + 1] - self.first[edge]
        size = self.size_m[edge]
        has = n > 0
        j = np.floor(x / np.where(has, size, 1.0)).astype(np.int64)
        j = np.clip(j, 0, np.maximum(n - 1, 0))
        i = np.where(has, first + j, 0)
        if not len(self.density):
            return np.zeros(len(edge))
        return np.where(has, self.cum[i] + (x - j * size) * self.density[i], 0.0)

    def describe(self) -> dict[str, Any]:
        """The model's name and settings, for summaries."""
        return {"kind": self.kind, "source": self.source,
                "kernel_m": self.kernel_m if self.points.geom_type.eq("Point").any() else None,
                "unit_m": self.unit_m, "points": len(self.points),
                "total_weight": round_m(float(self.density @ self._unit_lengths()))}

    def units(self) -> pd.DataFrame:
        """The units: ``edge_id``, ``start_m``, ``end_m``, ``density`` (weight per metre)."""
        n = np.diff(self.first)
        edge = np.repeat(np.arange(len(n)), n)
        j = np.arange(len(edge)) - self.first[edge]
        start = j * self.size_m[edge]
        return pd.DataFrame({"edge_id": edge, "start_m": start,
                             "end_m": start + self.size_m[edge], "density": self.density})

    def _unit_lengths(self) -> np.ndarray:
        n = np.diff(self.first)
        return np.repeat(self.size_m, n)


def rider_points(osm_path: str | Path) -> gpd.GeoDataFrame:
    """Read the rider points (:data:`RIDER_TAGS`) of an OSM file, each of weight 1.

    Parameters
    ----------
    osm_path
        OSM XML (optionally .bz2/.gz) or PBF file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_type``, ``osmid``, ``name``, ``host_tag`` ("key=value"), ``weight`` and
        Points in EPSG:4326 (ways at the mean of their nodes).
    """
    from .candidates import read_osm_pois

    pois = read_osm_pois(osm_path, RIDER_TAGS)
    return pois.assign(weight=1.0)


def weight_file(path: str | Path, *, weight_col: str | None = None,
                crs: Any = None) -> gpd.GeoDataFrame:
    """Read a user's demand points or grid cells with a weight column.

    Parameters
    ----------
    path
        A vector file (GeoJSON, GeoPackage, Shapefile, GeoParquet, FlatGeobuf) of Points or
        Polygons, or a CSV with longitude/latitude columns (``lon``/``lng``/``x``/``经度``,
        ``lat``/``y``/``纬度``).
    weight_col
        The weight column; by default the one numeric column besides coordinates and ids,
        or one named ``weight``/``count``/``orders``/``权重``/``订单量``/``单量``.
    crs
        Coordinate system of the file's coordinates when it is not the file's own
        (e.g. "gcj02"), as for the area and station files.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows with a ``weight`` column (>= 0), in EPSG:4326.
    """
    from ._paths import input_file
    from .area import polygons_to_lonlat, read_vector

    path = Path(path)
    input_file(path, what="demand weight file")
    if path.suffix.lower() in (".csv", ".txt"):
        frame = read_vector(path, X_POSSIBLE_NAMES="lon*,lng*,x,longitude,经度",
                            Y_POSSIBLE_NAMES="lat*,y,latitude,纬度", KEEP_GEOM_COLUMNS="NO")
        if frame.crs is None and "geometry" in frame and frame.geometry.notna().any():
            frame = frame.set_crs(4326) if crs is None else frame
    else:
        frame = read_vector(path)
    if "geometry" not in frame or frame.geometry.isna().all():
        msg = f"{path}: no coordinates found; give lon/lat columns or a map file of points/cells"
        raise InputError(msg)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    kinds = set(frame.geom_type.replace({"MultiPolygon": "Polygon", "MultiPoint": "Point"}))
    if not kinds <= {"Point", "Polygon"} or len(kinds) != 1:
        msg = (f"{path}: demand weights must be all points or all polygons (grid cells), "
               f"found {', '.join(sorted(kinds))}")
        raise InputError(msg)
    col = _weight_column(frame, path, weight_col)
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(float)) | (values.to_numpy(float) < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = frame[col].iloc[row]
        shown = repr(cell.item() if hasattr(cell, "item") else cell)  # numpy -> plain
        msg = (f"{path}: column {col!r} row {row + 1}: weight {shown} is not a number >= 0 "
               f"({int(bad.sum())} such rows)")
        raise InputError(msg)
    out = gpd.GeoDataFrame({"weight": values.to_numpy(float)}, geometry=frame.geometry.to_numpy(),
                           crs=frame.crs)
    return polygons_to_lonlat(out, crs, param="demand_crs", what=path.name)


_WEIGHT_NAMES = ("weight", "weights", "count", "counts", "orders", "order_count", "value",
                 "权重", "订单量", "订单数", "单量", "数量")
_NOT_WEIGHTS = ("id", "fid", "osmid", "lon", "lng", "lat", "x", "y", "longitude", "latitude",
                "经度", "纬度", "编号", "序号")


def _weight_column(frame: gpd.GeoDataFrame, path: Path, weight_col: str | None) -> str:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if weight_col is not None:
        if weight_col not in columns:
            msg = (f"{path}: no column {weight_col!r} (--demand-weight-col); the columns are "
                   f"{', '.join(map(str, columns)) or 'none'}")
            raise InputError(msg)
        return weight_col
    named = [c for c in columns if str(c).strip().lower() in _WEIGHT_NAMES]
    if len(named) == 1:
        return str(named[0])
    numeric = [c for c in columns if str(c).strip().lower() not in _NOT_WEIGHTS
               and pd.to_numeric(frame[c], errors="coerce").notna().all()]
    if len(numeric) == 1 and not named:
        return str(numeric[0])
    msg = (f"{path}: which column holds the weights? give --demand-weight-col; the columns "
           f"are {', '.join(map(str, columns)) or 'none'}")
    raise InputError(msg)


def demand_density(network: StreetNetwork, points: gpd.GeoDataFrame, *, kind: str,
                   source: str, kernel_m: float, unit_m: float = DEMAND_UNIT_M
                   ) -> DemandDensity:
    """Spread weighted points or cells over the demand streets as a unit density.

    Parameters
    ----------
    network
        The street network (its demand edges carry the density).
    points
        Points or Polygons (any CRS) with a ``weight`` column (>= 0).
    kind, source
        The model's name ("riders" or "file") and where the points came from.
    kernel_m
        Width of the quartic kernel for points, in metres.
    unit_m
        Longest unit of constant density, in metres.

    Returns
    -------
    DemandDensity
    """
    from .demand import demand_units

    units = demand_units(network, resolution_m=unit_m)
    n_edges = len(network.edges)
    count = np.bincount(units.edge_id, minlength=n_edges)
    first = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(count, out=first[1:])
    size = np.zeros(n_edges)
    has = count > 0
    size[has] = network.edges["length_m"].to_numpy(float)[has] / count[has]
    lines = network.edges.geometry.to_numpy()[units.edge_id]
    frac = units.mid_m / network.edges["length_m"].to_numpy(float)[units.edge_id]
    mids = shapely.line_interpolate_point(lines, frac, normalized=True)
    mxy = shapely.get_coordinates(mids)
    local = points.to_crs(network.crs)
    weight = local["weight"].to_numpy(float)
    density = np.zeros(len(units))
    if len(local) and (local.geom_type == "Point").all():
        pxy = shapely.get_coordinates(local.geometry.to_numpy())
        pairs = cKDTree(mxy).sparse_distance_matrix(cKDTree(pxy), kernel_m,
                                                    output_type="ndarray")
        np.add.at(density, pairs["i"], weight[pairs["j"]] * quartic_kernel(pairs["v"], kernel_m))
    elif len(local):
        density = _cells(local, mids, units.length_m, weight)
    length = units.length_m
    within = density * length
    cum = np.cumsum(within) - within
    cum = cum - np.repeat(cum[first[:-1][has]], count[has])  # restart at each edge
    model = DemandDensity(kind, source, float(kernel_m), float(unit_m), points.to_crs(4326),
                          first, size, density, cum)
    total = float(within.sum())
    log.info("demand weights (%s): %d points, %.1f weighted metres on %.1f km of demand "
             "street", kind, len(points), total, float(length.sum()) / 1000)
    if not total > 0:
        msg = (f"{source}: no weighted point within {kernel_m:g} m of a demand street (or no "
               "cell with street in it); the demand weights would all be 0")
        raise MissingDataError(msg)
    return model


def _cells(cells: gpd.GeoDataFrame, mids: np.ndarray, length: np.ndarray,
           weight: np.ndarray) -> np.ndarray:
    """Each cell's weight over the units whose midpoint lies in it (first cell wins)."""
    tree = shapely.STRtree(cells.geometry.to_numpy())
    unit, cell = tree.query(mids, predicate="intersects")
    order = np.lexsort((cell, unit))
    unit, cell = unit[order], cell[order]
    keep = np.ones(len(unit), dtype=bool)
    keep[1:] = unit[1:] != unit[:-1]  # a midpoint on a shared border belongs to one cell
    unit, cell = unit[keep], cell[keep]
    street = np.bincount(cell, weights=length[unit], minlength=len(cells))
    empty = (street == 0) & (weight > 0)
    if empty.any():
        log.warning("demand weights: %d cells with weight hold no demand street; their "
                    "weight (%.1f) is left out", int(empty.sum()), float(weight[empty].sum()))
    density = np.zeros(len(length))
    density[unit] = weight[cell] / street[cell]
    return density


def load_density(options: DemandOptions, network: StreetNetwork, network_source: Any
                 ) -> DemandDensity | None:
    """The demand density ``options`` ask for, or ``None`` for street length.

    Parameters
    ----------
    options
        The demand options (``source`` "length", "riders" or a file).
    network
        The street network.
    network_source
        What the network was read from: "riders" reads its points from this OSM file.

    Returns
    -------
    DemandDensity or None
    """
    from ._options import OSM_SUFFIXES

    if options.source == "length":
        return None
    if options.source == "riders":
        if not str(network_source).lower().endswith(OSM_SUFFIXES):
            msg = ("--demand riders reads restaurants, shops and parcel points from the OSM "
                   f"file, but the network is {network_source!s}; give --demand FILE instead")
            raise InputError(msg)
        pts = rider_points(network_source)
        return demand_density(network, pts, kind="riders", source=Path(network_source).name,
                              kernel_m=options.kernel_m)
    pts = weight_file(options.source, weight_col=options.weight_col, crs=options.crs)
    return demand_density(network, pts, kind="file", source=Path(options.source).name,
                          kernel_m=options.kernel_m)


def weighted_coverage(density: DemandDensity, pieces: pd.DataFrame) -> dict[str, Any]:
    """Weighted and street-length coverage of the demand, side by side (model figures).

    Parameters
    ----------
    density
        The demand density.
    pieces
        Coverage pieces (``edge_id``, ``start_m``, ``end_m``, ``length_m``, ``status``), as
        in :attr:`~stationplan.Coverage.pieces`.

    Returns
    -------
    dict
        ``demand_weights`` of ``summary.json``: the model (:meth:`DemandDensity.describe`),
        ``total_weight``, ``covered_weight``, ``covered_share_weighted`` and, for
        comparison, ``covered_share_length``.
    """
    p = pieces[pieces["status"].isin(["covered", "gap"])]  # the demand, each road once
    w = density.integral(p["edge_id"].to_numpy(), p["start_m"].to_numpy(), p["end_m"].to_numpy())
    cov = (p["status"] == "covered").to_numpy()
    total, covered = float(w.sum()), float(w[cov].sum())
    length = p["length_m"].to_numpy(float)
    return {**density.describe(), "total_weight": round_m(total),
            "covered_weight": round_m(covered),
            "covered_share_weighted": share(covered, total),
            "covered_share_length": share(float(length[cov].sum()), float(length.sum()))}
