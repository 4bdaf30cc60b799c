"""Write a coverage run to a folder: GeoJSON layers, summary.json and the HTML map."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd

from ._errors import InputError
from ._io import atomic_write_text, geojson_text, json_text
from .coverage import Coverage
from .maps import coverage_map

log = logging.getLogger(__name__)

COVERAGE_FILES = (
    "coverage.geojson", "stations.geojson", "gaps.geojson", "summary.json", "coverage_map.html",
)
_PIECE_COLUMNS = ["edge_id", "start_m", "end_m", "length_m", "status", "dist_m", "station_id",
                  "osmid", "highway", "name", "component"]


def write_coverage_outputs(
    out_dir: str | Path,
    coverage: Coverage,
    gaps: gpd.GeoDataFrame,
    summary: dict[str, Any],
    *,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write ``coverage.geojson``, ``stations.geojson``, ``gaps.geojson``, ``summary.json``
    and ``coverage_map.html`` to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder, created if missing.
    coverage, gaps, summary
        Results of the pipeline stages.
    overwrite
        Replace earlier outputs in ``out_dir``; without it, existing outputs are an error.

    Returns
    -------
    dict
        File name -> path written.
    """
    out = Path(out_dir)
    existing = [f for f in COVERAGE_FILES if (out / f).exists()]
    if existing and not overwrite:
        msg = f"{out}: already holds {', '.join(existing)}; pass --overwrite or pick another folder"
        raise InputError(msg)
    out.mkdir(parents=True, exist_ok=True)
    pieces = coverage.pieces[[*_PIECE_COLUMNS, "geometry"]]
    stations = coverage.stations
    texts = {
        "coverage.geojson": geojson_text(pieces),
        "stations.geojson": geojson_text(stations),
        "gaps.geojson": geojson_text(gaps),
        "summary.json": json_text(summary),
        "coverage_map.html": coverage_map(coverage, gaps).get_root().render(),
    }
    paths = {name: atomic_write_text(out / name, text) for name, text in texts.items()}
    log.info("wrote %d files to %s", len(paths), out)
    return paths
