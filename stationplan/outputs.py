"""Write a coverage run to a folder: GeoJSON layers, summary.json, the HTML map and a PNG."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd

from ._errors import InputError
from ._io import atomic_write_bytes, atomic_write_text, geojson_text, json_text
from .coverage import Coverage
from .maps import coverage_map
from .staticmap import coverage_png

log = logging.getLogger(__name__)

COVERAGE_FILES = (
    "coverage.geojson", "stations.geojson", "gaps.geojson", "summary.json", "coverage_map.html",
    "coverage_map.png",
)
# Above this many street pieces the HTML map is not written. The map merges pieces by
# distance band and street name, so the 10^6-segment synthetic city (1.2 million pieces)
# still makes a 44 MB page (benchmarks/results/limits.md); far beyond that a browser can
# no longer draw it. The GeoJSON layers and the PNG still hold everything.
MAP_MAX_PIECES = 2_000_000
_PIECE_COLUMNS = ["edge_id", "start_m", "end_m", "length_m", "status", "dist_m", "station_id",
                  "osmid", "highway", "name", "component"]


def write_coverage_outputs(
    out_dir: str | Path,
    coverage: Coverage,
    gaps: gpd.GeoDataFrame,
    summary: dict[str, Any],
    *,
    overwrite: bool = False,
    proposals: gpd.GeoDataFrame | None = None,
    area: Any = None,
    lang: str | None = None,
    basemap: str = "osm",
    tianditu_key: str | None = None,
) -> dict[str, Path]:
    """Write ``coverage.geojson``, ``stations.geojson``, ``gaps.geojson``, ``summary.json``,
    ``coverage_map.html`` and ``coverage_map.png`` to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder, created if missing.
    coverage, gaps, summary
        Results of the pipeline stages.
    overwrite
        Replace earlier outputs in ``out_dir``; without it, existing outputs are an error.
    proposals, area, lang, basemap, tianditu_key
        Map options, see :func:`~stationplan.maps.coverage_map`.

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
    }
    if len(pieces) <= MAP_MAX_PIECES:
        texts["coverage_map.html"] = coverage_map(
            coverage, gaps, summary=summary, proposals=proposals, area=area, lang=lang,
            basemap=basemap, tianditu_key=tianditu_key,
        ).get_root().render()
    else:
        # summary.json is left as it is: it does not depend on the map.
        (out / "coverage_map.html").unlink(missing_ok=True)  # no stale map from a rerun
        log.warning("coverage map skipped: %s street pieces, more than %s a browser map can "
                    "show; coverage.geojson and gaps.geojson hold them all (open them in QGIS) "
                    "and coverage_map.png shows them; --area clips a part to map",
                    f"{len(pieces):,}", f"{MAP_MAX_PIECES:,}")
    png = coverage_png(coverage, gaps, summary=summary, proposals=proposals, area=area, lang=lang)
    paths = {name: atomic_write_text(out / name, text) for name, text in texts.items()}
    paths["coverage_map.png"] = atomic_write_bytes(out / "coverage_map.png", png)
    log.info("wrote %d files to %s", len(paths), out)
    return paths



PLAN_FILES = ("proposals.geojson", "plan_summary.json", "timings.json", "coverage_curve.csv",
              "coverage_curve.png")


def write_plan_outputs(
    out_dir: str | Path,
    result: Any,
    *,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write a siting result: ``proposals.geojson``, ``plan_summary.json``, ``timings.json``
    and the coverage curve as ``coverage_curve.csv`` / ``coverage_curve.png``.

    Parameters
    ----------
    out_dir
        Folder, created if missing.
    result
        A :class:`~stationplan.siting.SitingResult`.
    overwrite
        Replace earlier outputs in ``out_dir``.

    Returns
    -------
    dict
        File name -> path written.
    """
    out = Path(out_dir)
    existing = [f for f in PLAN_FILES if (out / f).exists()]
    if existing and not overwrite:
        msg = f"{out}: already holds {', '.join(existing)}; pass --overwrite or pick another folder"
        raise InputError(msg)
    out.mkdir(parents=True, exist_ok=True)
    curve = result.curve
    texts = {
        "proposals.geojson": geojson_text(result.proposals.assign(status="proposed")),
        "plan_summary.json": json_text(result.summary),
        "timings.json": json_text({k: round(v, 3) for k, v in result.timings.items()}),
        "coverage_curve.csv": curve.to_csv(index=False, lineterminator="\n"),
    }
    paths = {name: atomic_write_text(out / name, text) for name, text in texts.items()}
    paths["coverage_curve.png"] = atomic_write_bytes(out / "coverage_curve.png",
                                                      _curve_png(curve, result.summary))
    return paths


def _curve_png(curve, summary) -> bytes:
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=120)
    ax = fig.add_subplot()
    ax.plot(curve["new_sites"], 100 * curve["coverage_share"], marker=".", color="#2166ac")
    chosen = summary.get("new_sites")
    if chosen is not None:
        ax.axvline(chosen, color="#d73027", linestyle="--", linewidth=1,
                   label=f"proposal: {chosen} new sites")
        ax.legend(loc="lower right")
    ax.set_xlabel("new sites (greedy order)")
    ax.set_ylabel("coverage of coverable street length (%)")
    ax.set_ylim(0, 100.5)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
