"""Write the network a run will use, so a planner can inspect it before trusting results."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from .._figures import round_m
from .._io import atomic_write_text, json_text
from .._outdir import NETWORK_FILES, open_out_dir
from .._streets import StreetNetwork
from ..carriageways import pair_layer

log = logging.getLogger(__name__)



def network_summary(network: StreetNetwork) -> dict[str, Any]:
    """Describe a network as plain, JSON-ready data.

    Parameters
    ----------
    network
        The street network.

    Returns
    -------
    dict
        ``source``, ``mode``, ``crs``, ``nodes``, ``edges``, ``one_way_edges``,
        ``total_m``, ``demand_m``, ``demand`` (area and road classes), ``by_road_class``
        (edges, total and demand metres per class), ``islands`` (pieces not connected to
        the largest: count and length; all kept) and ``loading`` (counts from reading).
    """
    from .._version import __version__

    e = network.edges
    classes = (e["road_class"] if "road_class" in e else e["highway"]).fillna("unknown")
    demand = e["demand"] if "demand" in e else e["length_m"] > -1
    # dual carriageways count once: the paired metres are not demand
    pairs = network.carriageways
    paired = (np.bincount(pairs["edge_id"].to_numpy(np.int64),
                          weights=(pairs["end_m"] - pairs["start_m"]).to_numpy(float),
                          minlength=len(e)) if pairs is not None and len(pairs)
              else np.zeros(len(e)))
    by_class = {}
    for cls in sorted(classes.unique()):
        sel = classes == cls
        by_class[cls] = {
            "edges": int(sel.sum()),
            "total_m": round_m(e.loc[sel, "length_m"].sum()),
            "demand_m": round_m(e.loc[sel & demand, "length_m"].sum()
                                - paired[sel.to_numpy()].sum()),
        }
    return {
        "stationplan_version": __version__,
        "source": network.source,
        "mode": network.mode.name,
        "mode_description": network.mode.description,
        "crs": network.crs.to_string(),
        "nodes": len(network.nodes),
        "edges": len(e),
        "one_way_edges": int((e["fwd"] != e["bwd"]).sum()),
        "total_m": round_m(network.total_length_m),
        "demand_m": round_m(network.demand_length_m),
        "carriageway_pairs": _pair_summary(network),
        "demand": network.demand.describe(),
        "by_road_class": by_class,
        "islands": _in_mm(network.islands()),
        "loading": _in_mm(network.stats),
    }


def _in_mm(figures: Mapping[str, Any]) -> dict[str, Any]:
    """``figures`` with the metres (keys ending in ``_m``) rounded to the millimetre.

    >>> _in_mm({"length_m": 1.23456, "count": 2, "name_m": None})
    {'length_m': 1.235, 'count': 2, 'name_m': None}
    """
    return {k: round_m(v) if k.endswith("_m") and isinstance(v, int | float) else v
            for k, v in figures.items()}


def _pair_summary(network: StreetNetwork) -> dict[str, Any]:
    """Dual carriageways counted once: stretches, metres not counted twice, roads."""
    pairs = network.carriageways
    if pairs is None or len(pairs) == 0:
        return {"stretches": 0, "paired_m": 0.0, "roads": []}
    metres = (pairs["end_m"] - pairs["start_m"]).groupby(
        pairs["name"].fillna(pairs["ref"]).fillna("")).sum()
    return {"stretches": int(pairs["run"].nunique()),
            "paired_m": round_m(metres.sum()),
            "roads": [{"name": str(k), "paired_m": round_m(v)}
                      for k, v in metres.sort_index().items()]}


def write_network(
    out_dir: str | Path, network: StreetNetwork, *, overwrite: bool = False
) -> dict[str, Path]:
    """Write ``network.gpkg`` (layers ``edges``, ``nodes`` and, if set, ``area``) and
    ``network_summary.json`` to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder, created if missing.
    network
        The street network, written in its own (metric) CRS.
    overwrite
        Replace earlier outputs; without it, existing outputs are an error.

    Returns
    -------
    dict
        File name -> path written.
    """
    out = open_out_dir(out_dir, NETWORK_FILES, overwrite=overwrite)
    gpkg = out / "network.gpkg"
    fd, tmp_name = tempfile.mkstemp(prefix=".network.", suffix=".gpkg", dir=out)
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        tmp.unlink()  # GDAL creates the file itself
        with _fixed_gpkg_date():
            network.edges.to_file(tmp, layer="edges", driver="GPKG", engine="pyogrio")
            network.node_points().to_file(tmp, layer="nodes", driver="GPKG",
                                          engine="pyogrio")
            pairs = pair_layer(network)
            if len(pairs):  # dual carriageways counted once: the side not counted
                pairs.to_file(tmp, layer="carriageway_pairs", driver="GPKG", engine="pyogrio")
            if network.demand.area is not None:
                area = gpd.GeoDataFrame({"name": [network.demand.area_label]},
                                        geometry=[network.demand.area], crs=4326)
                area.to_file(tmp, layer="area", driver="GPKG", engine="pyogrio")
        tmp.replace(gpkg)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    summary = atomic_write_text(out / "network_summary.json", json_text(network_summary(network)))
    log.debug("wrote %s (%d edges, %d nodes) and %s", gpkg, len(network.edges),
             len(network.nodes), summary.name)
    return {"network.gpkg": gpkg, "network_summary.json": summary}


# GDAL stamps each GeoPackage table with the time it was written (gpkg_contents.last_change),
# so two identical runs would give different files; a fixed stamp keeps reruns identical.
GPKG_DATE = "2000-01-01T00:00:00.000Z"


@contextlib.contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    """Have GDAL stamp GeoPackage tables with :data:`GPKG_DATE` while writing, then put
    its setting back."""
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
