"""Write the results of a run to a folder: every file a command writes is written here.

Coverage (GeoJSON layers, ``summary.json``, the HTML map and a PNG), a siting plan, the
verdicts of a check and the report. :func:`check_out_dir` is the one guard against
replacing earlier outputs; the pipeline calls it before any computation starts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._options import MapOptions
from ._outdir import (
    CHECK_FILES,
    COVERAGE_FILES,
    PLAN_FILES,
    open_out_dir,
)

if TYPE_CHECKING:  # the writers import their heavy modules when they run
    import geopandas as gpd

    from .coverage import Coverage

log = logging.getLogger(__name__)

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
    before: Coverage | None = None,
    plan_summary: Mapping[str, Any] | None = None,
    area: Any = None,
    map_options: MapOptions | None = None,
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
    proposals, before, plan_summary, area, map_options
        What the maps show and how, see :func:`~stationplan.maps.coverage_map`: for a
        plan, ``coverage`` is the coverage with the proposals, ``before`` the coverage by
        the existing stations only (the map's "today" view) and ``plan_summary`` the
        plan's summary (the panel's certificate).

    Returns
    -------
    dict
        File name -> path written.
    """
    from ._io import atomic_write_bytes, atomic_write_text, geojson_text, json_text
    from .maps import coverage_map
    from .staticmap import coverage_png

    out = open_out_dir(out_dir, COVERAGE_FILES, overwrite=overwrite)
    map_options = map_options or MapOptions()
    lang = map_options.lang
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
            coverage, gaps, summary=summary, proposals=proposals, before=before,
            plan_summary=plan_summary, area=area, map_options=map_options,
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




def write_plan_outputs(
    out_dir: str | Path,
    result: Any,
    *,
    overwrite: bool = False,
    lang: str | None = None,
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
    lang
        Language of the curve's words, "zh" or "en" (the run's: see
        :func:`~stationplan.run_lang`); default English.

    Returns
    -------
    dict
        File name -> path written.
    """
    from ._io import atomic_write_bytes, atomic_write_text, geojson_text, json_text

    out = open_out_dir(out_dir, PLAN_FILES, overwrite=overwrite)
    curve = result.curve
    texts = {
        "proposals.geojson": geojson_text(result.proposals.assign(status="proposed")),
        "plan_summary.json": json_text(result.summary),
        "timings.json": json_text({k: round(v, 3) for k, v in result.timings.items()}),
        "coverage_curve.csv": curve.to_csv(index=False, lineterminator="\n"),
    }
    paths = {name: atomic_write_text(out / name, text) for name, text in texts.items()}
    paths["coverage_curve.png"] = atomic_write_bytes(
        out / "coverage_curve.png",
        curve_png(curve, result.greedy_curve, lang=lang or "en"))
    return paths




def write_check_outputs(
    out_dir: str | Path,
    checked: gpd.GeoDataFrame,
    summary: dict[str, Any],
    *,
    coverage: Any,
    gaps: gpd.GeoDataFrame,
    overwrite: bool = False,
    area: Any = None,
    map_options: MapOptions | None = None,
) -> dict[str, Path]:
    """Write ``check.csv``, ``check.geojson``, ``check_summary.json`` and ``check_map.html``.

    ``check.csv`` names its coordinate columns ``wgs84_lon``/``wgs84_lat`` (and
    ``wgs84_snap_lon``/``wgs84_snap_lat``, 7 decimals), so it declares its system and
    reads back in place.

    Parameters
    ----------
    out_dir
        Folder, created if missing.
    checked, summary
        Results of :func:`~stationplan.check_sites` and :func:`~stationplan.check_summary`.
    coverage, gaps
        Coverage by the existing stations and its gaps, drawn under the proposals.
    overwrite
        Replace earlier outputs in ``out_dir``.
    area, map_options
        What the map shows and how, see :func:`~stationplan.coverage_map`.

    Returns
    -------
    dict
        File name -> path written.
    """
    from ._i18n import run_lang
    from ._io import atomic_write_bytes, atomic_write_text, csv_bytes, geojson_text, json_text
    from ._render.checkmap import check_map

    out = open_out_dir(out_dir, CHECK_FILES, overwrite=overwrite)
    rows = check_rows(checked, lang=run_lang((map_options or MapOptions()).lang, coverage))
    fmap = check_map(coverage, gaps, checked, area=area, map_options=map_options)
    paths = {
        "check.geojson": atomic_write_text(out / "check.geojson", geojson_text(checked)),
        "check_summary.json": atomic_write_text(out / "check_summary.json", json_text(summary)),
        "check_map.html": atomic_write_text(out / "check_map.html", fmap.get_root().render()),
    }
    paths["check.csv"] = atomic_write_bytes(out / "check.csv", csv_bytes(rows))
    log.info("wrote %d check files to %s", len(paths), out)
    return paths


def check_rows(checked: gpd.GeoDataFrame, *, lang: str = "en") -> list[list[str]]:
    """The table of checked proposals people open: a header row, then a row per proposal.

    ``check.csv`` is written from these rows (and any other table of the verdicts should
    be), so its headers, verdicts and reasons are in the run's language. Coordinate
    headers name their system (``wgs84_lon``, ``经度(WGS-84)``), so the file reads back as
    WGS-84 whatever crs option is given with it (see :func:`~stationplan.read_stations`).

    Parameters
    ----------
    checked
        Result of :func:`~stationplan.check_sites` (its ``check_settings`` attribute gives
        the reasons' figures).
    lang
        "en": the column names, verdict codes and reasons as :func:`check_sites` gives
        them; "zh": Chinese headers, verdict words, reasons, yes/no and road classes.

    Returns
    -------
    list of list of str
        Cells as text (formulas neutralised, metres to the millimetre, degrees to 7
        decimals).
    """
    from ._i18n import road_class_text, section, text
    from ._io import csv_cell, neutralise
    from .check import CHECK_COLUMNS, reason_text

    rows = [[text(f"check_col.{c}", lang) for c in CHECK_COLUMNS]]
    settings = checked.attrs.get("check_settings", {})
    verdicts = section("verdict", lang)
    cells = section("check_cell", lang)
    for rec in checked[list(CHECK_COLUMNS)].to_dict("records"):
        row = []
        for c in CHECK_COLUMNS:
            value = rec[c]
            if c in _DEGREE_COLUMNS:
                row.append(_degrees(value))
                continue
            if lang != "en":
                if c == "verdict":
                    value = verdicts.get(value, value)
                elif c == "reason" and settings:
                    value = reason_text(rec, settings, lang)
                elif c == "road_class" and isinstance(value, str) and value:
                    value = road_class_text(value, lang)
                elif c == "conflict_kind" and isinstance(value, str):
                    value = cells.get(value, value)
            cell = csv_cell(value)
            row.append(cells.get(cell, cell) if cell in ("true", "false") else neutralise(cell))
        rows.append(row)
    return rows


_DEGREE_COLUMNS = ("lon", "lat", "snap_lon", "snap_lat")


def _degrees(value: object) -> str:
    """A longitude or latitude as a CSV cell: 7 decimals (1 cm), empty when missing.

    >>> _degrees(117.24685812345), _degrees(float("nan")), _degrees(28.0)
    ('117.2468581', '', '28')
    """
    if not isinstance(value, float | int) or not math.isfinite(value):
        return ""
    return f"{float(value):.7f}".rstrip("0").rstrip(".")


# Files of a run linked from the report, in this order.
REPORT_LINKS = ("coverage_map.html", "check_map.html", "summary.json", "plan_summary.json",
                "check_summary.json", "check.csv", "proposals.geojson", "coverage.geojson",
                "gaps.geojson", "stations.geojson", "coverage_curve.csv")


def write_report_outputs(
    out_dir: str | Path,
    coverage: Coverage,
    gaps: gpd.GeoDataFrame,
    summary: dict[str, Any],
    paths: Mapping[str, Path],
    *,
    plan: Any = None,
    check: tuple[gpd.GeoDataFrame, dict[str, Any]] | None = None,
    districts: gpd.GeoDataFrame | None = None,
    lang: str | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write ``report.html``/``.md``/``.json`` beside the other outputs of a run.

    Parameters
    ----------
    out_dir
        The run's folder.
    coverage, gaps, summary
        The run's coverage, gaps and summary.
    paths
        Files already written (file name -> path): those in :data:`REPORT_LINKS` are
        linked from the report, and the coverage map and curve PNGs are embedded.
    plan, check, districts, lang
        As for :func:`~stationplan.report_data`.
    overwrite
        Replace an earlier report in ``out_dir``.

    Returns
    -------
    dict
        Every path of ``paths`` and the report's.
    """
    from .report import report_data, write_report

    files = {name: name for name in REPORT_LINKS if name in paths}
    images = {name: Path(paths[name]).read_bytes()
              for name in ("coverage_map.png", "coverage_curve.png") if name in paths}
    data = report_data(coverage, gaps, summary, plan=plan, check=check, districts=districts,
                       files=files, lang=lang)
    return {**paths, **write_report(out_dir, data, images=images, overwrite=overwrite)}


def write_timings(out_dir: str | Path, timings: Mapping[str, float]) -> Path:
    """Write ``timings.json``: seconds per stage (kept out of summary.json, which stays
    stable) and their total.

    Parameters
    ----------
    out_dir
        The run's folder.
    timings
        Stage name + ``_s`` -> seconds.

    Returns
    -------
    Path
        The file written.
    """
    from ._io import atomic_write_text, json_text

    data = {k: round(v, 3) for k, v in timings.items()}
    # the siting result's own stages lie inside the "siting" stage: not counted twice
    data["total_s"] = round(sum(v for k, v in timings.items() if not k.startswith(
        ("demand_", "spacing_", "coverage_sets_", "greedy_", "local_search_", "certificate_"))),
        3)
    return atomic_write_text(Path(out_dir) / "timings.json", json_text(data))


def curve_png(curve: Any, greedy: Any = None, *, lang: str = "en") -> bytes:
    """Draw a plan's coverage curve as a PNG: city-wide coverage as its sites are added.

    Parameters
    ----------
    curve
        The plan's sites in rank order: ``new_sites`` (0, 1, ...) and ``coverage_share``
        (0–1, city-wide; row 0 is the existing stations alone).
    greedy
        The same columns for the greedy order over all candidates, drawn dashed and
        labelled as a comparison; or ``None``.
    lang
        "zh" or "en". Chinese needs a CJK font (e.g. Debian ``fonts-noto-cjk``); without
        one the words are English.

    Returns
    -------
    bytes
        The PNG file's bytes; the same inputs give the same bytes.
    """
    import io

    buf = io.BytesIO()
    curve_figure(curve, greedy, lang=lang).savefig(buf, format="png",
                                                   metadata={"Software": None})
    return buf.getvalue()


def curve_figure(curve: Any, greedy: Any = None, *, lang: str = "en") -> Any:
    """Build the matplotlib figure :func:`curve_png` draws (same parameters)."""
    import matplotlib as mpl
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from ._i18n import section
    from .staticmap import cjk_font

    font = cjk_font() if lang == "zh" else None
    if lang == "zh" and font is None:
        log.info("no Chinese font found (install fonts-noto-cjk); the curve is in English")
        lang = "en"
    t = section("plan", lang)
    with mpl.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        fig = Figure(figsize=(6, 4), dpi=120)
        ax = fig.add_subplot()
        if greedy is not None and len(greedy):
            ax.plot(greedy["new_sites"], 100 * greedy["coverage_share"], color="#999999",
                    linestyle="--", linewidth=1, label=t["curve_greedy"])
        ax.plot(curve["new_sites"], 100 * curve["coverage_share"], marker=".", color="#2166ac",
                label=t["curve_plan"])
        if greedy is not None and len(greedy):
            ax.legend(loc="lower right")
        ax.set_xlabel(t["curve_x"])
        ax.set_ylabel(t["curve_y"])
        ax.set_ylim(0, 100.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        fig.tight_layout()
    return fig
