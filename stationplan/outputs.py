"""Write the results of a run to a folder: every file a command writes is written here.

Coverage (GeoJSON layers, ``summary.json``, the HTML map and a PNG), a siting plan, the
verdicts of a check and the report. The writers write into a folder as they are told;
the pipeline makes a run's folder one transaction (:func:`~stationplan._outdir.output_folder`:
refusals before any computation, a lock, staging and one move).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from collections.abc import Generator, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._options import FORK_ABOVE_PIECES, GAP_TABLE_MAX_ROWS, PARQUET_ABOVE_PIECES, MapOptions
from ._outdir import (
    CHECK_FILES,
    COVERAGE_FILES,
    LARGE_FILES,
    PLAN_FILES,
    open_out_dir,
)

if TYPE_CHECKING:  # the writers import their heavy modules when they run
    import geopandas as gpd

    from ._process import Forked
    from .coverage import Coverage
    from .maps import StreetLayers

log = logging.getLogger(__name__)

# Above this many street pieces the HTML map is not written. The map merges pieces by
# distance band and street name, so the 10^6-segment synthetic city (1.2 million pieces)
# still makes a 44 MB page (benchmarks/results/limits.md); far beyond that a browser can
# no longer draw it. The GeoJSON layers and the PNG still hold everything.
MAP_MAX_PIECES = 2_000_000
# The order of the files write_coverage_outputs returns (its names, as before the GeoParquet
# files and the streams).
_FILE_ORDER = ("coverage.geojson", "stations.geojson", "gaps.geojson", "gap_areas.geojson",
               "coverage.parquet", "gaps.parquet", "gap_areas.parquet", "summary.json",
               "coverage_map.html", "gaps.csv", "gaps.xlsx", "coverage_map.png")
_PIECE_COLUMNS = ["edge_id", "start_m", "end_m", "length_m", "status", "dist_m", "station_id",
                  "osmid", "highway", "name", "component", "via_twin",
                  "stations_reaching"]  # k-coverage only


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
    density: Any = None,
    rules: Any = None,
    before_gaps: gpd.GeoDataFrame | None = None,
    pieces_written: Forked | None = None,
    gaps_written: Forked | None = None,
) -> dict[str, Path]:
    """Write ``coverage.geojson``, ``stations.geojson``, ``gaps.geojson`` (the gap runs),
    ``gaps.csv`` / ``gaps.xlsx`` (the same runs as a table to print), ``gap_areas.geojson``,
    ``summary.json``, ``coverage_map.html`` and ``coverage_map.png`` to ``out_dir``.

    The street pieces, gap runs and gap areas are GeoParquet instead (``coverage.parquet``,
    ``gaps.parquet``, ``gap_areas.parquet``, in the network CRS) with
    ``map_options.file_format`` "parquet", or "auto" above
    :data:`~stationplan._options.PARQUET_ABOVE_PIECES` street pieces. Above
    :data:`~stationplan._options.GAP_TABLE_MAX_ROWS` gap runs, ``gaps.csv`` and
    ``gaps.xlsx`` are not written (logged); above
    :data:`~stationplan._options.MAP_MERGED_ABOVE_PIECES` street pieces the map draws
    merged, screen-simplified layers (see :func:`~stationplan.maps.coverage_map`).

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
    density
        Demand weights (:class:`~stationplan.weights.DemandDensity`) for the map's
        weights layer, or ``None``.
    rules
        The rules' verdicts for the map's rule layers (see
        :func:`~stationplan.maps.coverage_map`), or ``None``.
    before_gaps
        The gaps of ``before`` when already found (else the map finds them).
    pieces_written
        The writer of the street pieces' table started by :func:`pieces_written_early`
        (then it is not written here), or ``None``.
    gaps_written
        The writer of the gap runs' layers started by :func:`gaps_written_early` (then
        they are not written here), or ``None``.

    Returns
    -------
    dict
        File name -> path written.
    """
    from ._io import atomic_write_text, json_text, write_geojson
    from ._process import forked
    from ._render import mapdata, mapstyle
    from .gaps import gap_areas
    from .maps import coverage_map

    out = open_out_dir(out_dir, (*COVERAGE_FILES, *LARGE_FILES), overwrite=overwrite)
    map_options, lang = _with_run_lang(map_options, coverage)
    n_pieces = len(coverage.pieces)
    fmt = table_format(map_options.file_format, n_pieces)
    if fmt == "parquet" and map_options.file_format == "auto":
        log.info("street pieces, gap runs and gap areas written as GeoParquet "
                 "(coverage.parquet, gaps.parquet, gap_areas.parquet): %s street pieces, "
                 "more than %s; --format geojson writes GeoJSON",
                 f"{n_pieces:,}", f"{PARQUET_ABOVE_PIECES:,}")
    # Above FORK_ABOVE_PIECES street pieces forked child processes write the gap runs'
    # layer, their gap areas and their table to print (from the start) and the PNG (the
    # street pieces' writer, sent the gap runs, or a child of its own) while this one
    # draws the HTML map and writes the rest: two cores, where threads would take turns
    # on the interpreter (GeoParquet's encoding, the PNG's drawing and the map all hold
    # it much of the time). Each file has one writer: the same bytes.
    fork = n_pieces > FORK_ABOVE_PIECES
    # forked, the gap runs' writer finds their gap areas (the map finds them again only
    # where it draws them: not when merged)
    areas = None if fork else gap_areas(gaps)
    with contextlib.ExitStack() as writers:
        layers = {"gaps": gaps} | ({} if areas is None else {"gap_areas": areas}) | (
            {} if pieces_written is not None else {"coverage": _pieces(coverage)})
        children = [gaps_written if gaps_written is not None else writers.enter_context(
            forked(partial(_write_gap_layers, out, layers, fmt), fork=fork))]
        if len(gaps) <= GAP_TABLE_MAX_ROWS:  # the gap runs as a table to print
            children.append(writers.enter_context(
                forked(partial(_write_gap_table, out, gaps, lang), fork=fork)))
        # the distance bands both maps draw, cut once: by the street pieces' writer when
        # there is one (it made the map's streets' layers, and it draws the PNG, sent the
        # gap runs' points)
        png = {"summary": summary, "proposals": proposals, "area": area, "lang": lang}
        streets = bands = None
        if pieces_written is None:
            bands = mapdata.distance_bands(coverage, mapstyle.band_edges(coverage.rule.limit_m))
            paths_early = {}
            children.append(writers.enter_context(forked(partial(
                _write_png, out, coverage=coverage, gaps=gaps, bands=bands, **png),
                fork=fork)))
        else:
            paths_early, streets = pieces_written.receive()
            pieces_written.send({"gaps": mapdata.gap_lines(gaps), **png})
            children.append(pieces_written)
        paths = {**paths_early,
                 "stations.geojson": write_geojson(out / "stations.geojson", coverage.stations)}
        paths["summary.json"] = atomic_write_text(out / "summary.json", json_text(summary))
        if n_pieces <= MAP_MAX_PIECES:
            paths["coverage_map.html"] = atomic_write_text(
                out / "coverage_map.html", coverage_map(
                    coverage, gaps, summary=summary, proposals=proposals, before=before,
                    before_gaps=before_gaps, plan_summary=plan_summary, area=area,
                    map_options=map_options, density=density, areas=areas, rules=rules,
                    bands=bands, street_layers=streets,
                ).get_root().render())
        else:
            # summary.json is left as it is: it does not depend on the map.
            (out / "coverage_map.html").unlink(missing_ok=True)  # no stale map from a rerun
            log.warning("coverage map skipped: %s street pieces, more than %s a browser map "
                        "can show; the coverage and gaps layers (.geojson or .parquet) hold "
                        "them all (open them in QGIS) and coverage_map.png shows them; --area "
                        "clips a part to map",
                        f"{n_pieces:,}", f"{MAP_MAX_PIECES:,}")
        for child in children:
            paths |= child.result()
    if len(gaps) > GAP_TABLE_MAX_ROWS:
        log.warning("gaps.csv and gaps.xlsx skipped: %s gap runs, more than %s a table to "
                    "print holds; the gap layer (%s) holds every run",
                    f"{len(gaps):,}", f"{GAP_TABLE_MAX_ROWS:,}",
                    "gaps.parquet" if "gaps.parquet" in paths else "gaps.geojson")
    log.debug("wrote %d files to %s", len(paths), out)
    return {name: paths[name] for name in sorted(paths, key=_FILE_ORDER.index)}


@contextlib.contextmanager
def pieces_written_early(out_dir: str | Path | None, coverage: Coverage, *,
                         map_options: MapOptions | None = None, area: Any = None
                         ) -> Iterator[Forked | None]:
    """Start writing the street pieces' table (``coverage.parquet``) while the caller goes
    on (finding the gaps), when :func:`write_coverage_outputs` would write it as GeoParquet
    above :data:`~stationplan._options.FORK_ABOVE_PIECES` pieces: a forked child writes it
    (see :func:`stationplan._process.forked`) and the block gets its writer, for
    ``write_coverage_outputs(pieces_written=...)``; else the block gets ``None``.

    The writer then cuts the distance bands and makes the map's streets' layers and the
    PNG's lines of them (:func:`_write_pieces`), paints the PNG's lines under the gap runs
    (in the planning area ``area``, as ``write_coverage_outputs(area=...)``), and draws
    the PNG once :func:`write_coverage_outputs` has sent it the gap runs.
    """
    from ._process import forked

    fmt = table_format((map_options or MapOptions()).file_format, len(coverage.pieces))
    if out_dir is None or fmt != "parquet" or len(coverage.pieces) <= FORK_ABOVE_PIECES:
        yield None
        return
    out = open_out_dir(out_dir, ("coverage.parquet",), overwrite=True)
    if len(coverage.pieces) <= MAP_MAX_PIECES:
        # imported once, before the fork, for the child's streets' layers and this
        # process's map (folium and its templates: 0.3 s each time)
        from . import maps  # noqa: F401
    with forked(partial(_write_pieces, out, coverage, fmt, map_options, area)) as child:
        yield child


@contextlib.contextmanager
def gaps_written_early(out_dir: str | Path | None, coverage: Coverage, gaps: gpd.GeoDataFrame,
                       *, map_options: MapOptions | None = None,
                       pieces_written: Forked | None = None) -> Iterator[Forked | None]:
    """Start writing the gap runs' layers (``gaps.parquet``, and ``gap_areas.parquet`` of
    their gap areas) while the caller goes on (the summary, then the other files), where
    the street pieces' writer of :func:`pieces_written_early` runs (``pieces_written``):
    a forked child writes them, as :func:`write_coverage_outputs` would, and the block
    gets it, for ``write_coverage_outputs(gaps_written=...)``; else the block gets
    ``None``. The second core, idle while the summary is made, writes them.
    """
    from ._process import forked

    if out_dir is None or pieces_written is None:
        yield None
        return
    fmt = table_format((map_options or MapOptions()).file_format, len(coverage.pieces))
    out = open_out_dir(out_dir, ("gaps.parquet", "gap_areas.parquet"), overwrite=True)
    with forked(partial(_write_gap_layers, out, {"gaps": gaps}, fmt)) as child:
        yield child


def _with_run_lang(map_options: MapOptions | None, coverage: Coverage
                   ) -> tuple[MapOptions, str]:
    """``map_options`` (default ones) with the run's language, picked once for the PNG,
    the map and the table (when not given, from the names of every station and street),
    and that language."""
    from ._i18n import run_lang

    map_options = map_options or MapOptions()
    lang = run_lang(map_options.lang, coverage)
    return dataclasses.replace(map_options, lang=lang), lang


def _write_pieces(out: Path, coverage: Coverage, fmt: str, map_options: MapOptions | None,
                  area: Any) -> Generator[tuple[dict[str, Path], StreetLayers | None],
                                          dict[str, Any], dict[str, Path]]:
    """Write the street pieces' table (:func:`_write_layers`, its columns selected
    there); then cut the distance bands and make the HTML map's streets' layers of them
    (:func:`~stationplan.maps.street_layers`; ``None`` when no map is drawn) and the
    PNG's lines of them (:func:`~stationplan._render.mapdata.band_lines`), paint the
    PNG's lines under the gap runs (:func:`~stationplan.staticmap.lines_under_gaps`, in
    the planning area ``area``), and yield the paths written and the streets' layers (the
    PNG's lines stay here, for the PNG drawn here). The value sent back is the
    rest of :func:`_write_png`'s arguments (the gap runs, their summary ...): the PNG is
    drawn and written, and its path returned.
    """
    from ._render import mapdata, mapstyle
    from .maps import street_layers

    paths = _write_layers(out, {"coverage": _pieces(coverage)}, fmt)
    bands = mapdata.distance_bands(coverage, mapstyle.band_edges(coverage.rule.limit_m))
    map_options, lang = _with_run_lang(map_options, coverage)
    streets = (None if len(coverage.pieces) > MAP_MAX_PIECES else street_layers(
        coverage, map_options=map_options, bands=bands))
    lines = mapdata.band_lines(bands)
    from .staticmap import lines_under_gaps  # (matplotlib: imported while the gaps are found)

    under = lines_under_gaps(coverage, area=area, lang=lang, bands=lines)
    png = yield paths, streets
    return _write_png(out, coverage=coverage, bands=lines, under=under, **png)


def _pieces(coverage: Coverage) -> gpd.GeoDataFrame:
    """The street pieces' table as written: its columns of :data:`_PIECE_COLUMNS`."""
    return coverage.pieces[[c for c in _PIECE_COLUMNS if c in coverage.pieces]
                           + ["geometry"]]


def _write_gap_table(out: Path, gaps: gpd.GeoDataFrame, lang: str) -> dict[str, Path]:
    """Write ``gaps.csv`` and ``gaps.xlsx``: :func:`gap_table` of ``gaps`` in ``lang``."""
    codes, table = gap_table(gaps, lang=lang)
    return _write_table(out, "gaps", codes, table)


def _write_png(out: Path, **png: Any) -> dict[str, Path]:
    """Write ``coverage_map.png``: :func:`~stationplan.staticmap.coverage_png` called with
    ``png``."""
    from ._io import atomic_write_bytes
    from .staticmap import coverage_png

    return {"coverage_map.png": atomic_write_bytes(out / "coverage_map.png",
                                                   coverage_png(**png))}


def _write_gap_layers(out: Path, layers: Mapping[str, gpd.GeoDataFrame], fmt: str
                      ) -> dict[str, Path]:
    """:func:`_write_layers`, with the gap areas of the gap runs (``layers["gaps"]``)
    found first when they are not among the layers."""
    from .gaps import gap_areas

    if "gap_areas" not in layers:
        layers = {**layers, "gap_areas": gap_areas(layers["gaps"])}
    return _write_layers(out, layers, fmt)


def _write_layers(out: Path, layers: Mapping[str, gpd.GeoDataFrame], fmt: str
                  ) -> dict[str, Path]:
    """Write each layer as ``<name>.parquet`` (``fmt`` "parquet") or ``<name>.geojson``."""
    from ._io import write_geojson, write_geoparquet

    write = write_geoparquet if fmt == "parquet" else write_geojson
    return {f"{stem}.{fmt}": write(out / f"{stem}.{fmt}", frame)
            for stem, frame in layers.items()}


def table_format(file_format: str, pieces: int) -> str:
    """The format the geometry tables of a run with ``pieces`` street pieces are written
    in: ``file_format`` ("geojson" or "parquet"), or for "auto" GeoParquet above
    :data:`~stationplan._options.PARQUET_ABOVE_PIECES` pieces and GeoJSON up to it.

    >>> table_format("auto", 1000), table_format("auto", 10**6), table_format("parquet", 1)
    ('geojson', 'parquet', 'parquet')
    """
    if file_format != "auto":
        return file_format
    return "parquet" if pieces > PARQUET_ABOVE_PIECES else "geojson"


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
    """Write ``check.csv``, ``check.xlsx``, ``check.geojson``, ``check_summary.json`` and
    ``check_map.html``.

    ``check.csv`` and ``check.xlsx`` hold the same table. Their coordinate columns name
    their system: ``wgs84_lon``/``wgs84_lat`` and ``gcj02_lon``/``gcj02_lat`` (the
    proposal as given, for Amap) and ``wgs84_snap_lon``/``wgs84_snap_lat`` (where it
    meets the street), all with 6 decimals (about 0.1 m), so the table reads back in
    place (as WGS-84, or as GCJ-02 with ``crs="gcj02"``). In the workbook numbers and
    booleans are cells of their type, with the values the CSV shows (metres to the
    millimetre).

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
    from ._io import atomic_write_text, geojson_text, json_text
    from ._render.checkmap import check_map

    out = open_out_dir(out_dir, CHECK_FILES, overwrite=overwrite)
    codes, table = _check_table(checked,
                                lang=run_lang((map_options or MapOptions()).lang, coverage))
    fmap = check_map(coverage, gaps, checked, area=area, map_options=map_options,
                     summary=summary)
    paths = {
        "check.geojson": atomic_write_text(out / "check.geojson", geojson_text(checked)),
        "check_summary.json": atomic_write_text(out / "check_summary.json", json_text(summary)),
        "check_map.html": atomic_write_text(out / "check_map.html", fmap.get_root().render()),
    }
    paths |= _write_table(out, "check", codes, table)
    log.debug("wrote %d check files to %s", len(paths), out)
    return paths


_GAP_TABLE = ("gap_id", "description", "street", "from_street", "from_m", "to_street", "to_m",
              "length_m", "farthest_m", "farthest_more_than_m", "wgs84_lon", "wgs84_lat",
              "gcj02_lon", "gcj02_lat", "amap_url", "area_id")


def gap_table(gaps: gpd.GeoDataFrame, *, lang: str = "en") -> tuple[list[str], list[list[Any]]]:
    """The table of ``gaps.csv`` and ``gaps.xlsx``: header, then one gap run per row.

    A field team prints it: ``description`` says the run in one line ("建设路（人民路—解放路）
    1.3 公里，最远点距最近站点 820 米", :func:`~stationplan._i18n.gap_text`),
    then the run's columns of :func:`~stationplan.find_gaps` as numbers (metres to the
    millimetre), the farthest point in WGS-84 and GCJ-02 (6 decimals; empty when beyond
    the search) and the Amap link. Headers are words in Chinese (``lang="zh"``); the
    coordinate headers name their system either way.

    Returns
    -------
    codes : list of str
        The column codes (``gap_id``, ``wgs84_lon``, ...), whatever the language.
    table : list of list
        ``[header, *rows]``.
    """
    import numpy as np

    from . import chinacrs
    from ._i18n import gap_text, text

    records = gaps.drop(columns="geometry").to_dict("records")
    lon = gaps["farthest_lon"].to_numpy(float)
    lat = gaps["farthest_lat"].to_numpy(float)
    glon, glat = chinacrs.wgs84_to_gcj02(lon, lat) if len(lon) else (lon, lat)
    coords = {"wgs84_lon": lon, "wgs84_lat": lat, "gcj02_lon": np.asarray(glon),
              "gcj02_lat": np.asarray(glat)}
    rows = []
    for i, rec in enumerate(records):
        row: list[Any] = []
        for code in _GAP_TABLE:
            if code in coords:
                row.append(_degrees(float(coords[code][i])))
            elif code == "description":
                row.append(gap_text(rec, lang))
            else:
                row.append(_typed(rec[code]))
        rows.append(row)
    header = [text(f"gap_col.{c}", lang) for c in _GAP_TABLE]
    return list(_GAP_TABLE), [header, *rows]


# check.csv's coordinate columns: check.CHECK_COLUMNS' lon/lat become columns named by
# their system, so the table declares it (see stationplan.read_stations); GCJ-02 follows
# the proposal's WGS-84 pair.
_CHECK_COORDS = {"lon": ("wgs84_lon",), "lat": ("wgs84_lat", "gcj02_lon", "gcj02_lat"),
                 "snap_lon": ("wgs84_snap_lon",), "snap_lat": ("wgs84_snap_lat",)}


def _check_table(checked: gpd.GeoDataFrame, *,
                 lang: str = "en") -> tuple[list[str], list[list[Any]]]:
    """The table of ``check.csv`` and ``check.xlsx``: header, then one row per proposal.

    Values are typed and rounded as the CSV shows them: metres and other decimals to 3
    places, coordinates to 6 (GCJ-02 computed from WGS-84), whole numbers as ``int``,
    flags as ``bool``, missing values ``None``, text as it is. In Chinese (``lang="zh"``)
    the headers, verdicts, reasons, road classes, conflict kinds and yes/no are words;
    the coordinate headers name their system either way (``wgs84_lon``, ``经度(WGS-84)``),
    so the table reads back in place (see :func:`~stationplan.read_stations`).

    Parameters
    ----------
    checked
        Result of :func:`~stationplan.check_sites` (its ``check_settings`` attribute gives
        the reasons' figures).
    lang
        "en" or "zh".

    Returns
    -------
    codes : list of str
        The column codes (``verdict``, ``wgs84_lon``, ...), whatever the language.
    table : list of list
        ``[header, *rows]``.
    """
    import numpy as np

    from . import chinacrs
    from ._i18n import road_class_text, section, text
    from .check import CHECK_COLUMNS, reason_text

    frame = checked[list(CHECK_COLUMNS)]
    columns = {name: [_typed(v) for v in frame[name].tolist()] for name in CHECK_COLUMNS
               if name not in _CHECK_COORDS}
    if lang != "en":
        settings = checked.attrs.get("check_settings", {})
        verdicts, cells = section("verdict", lang), section("check_cell", lang)
        yes_no = {True: cells.get("true", "true"), False: cells.get("false", "false")}
        records = frame.to_dict("records")
        for name, values in columns.items():
            for i, value in enumerate(values):
                if isinstance(value, bool):
                    values[i] = yes_no[value]
                elif name == "verdict":
                    values[i] = verdicts.get(value, value)
                elif name == "reason" and settings:
                    values[i] = reason_text(records[i], settings, lang)
                elif name == "road_class" and isinstance(value, str) and value:
                    values[i] = road_class_text(value, lang)
                elif name == "conflict_kind" and isinstance(value, str):
                    values[i] = cells.get(value, value)
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    gcj = chinacrs.wgs84_to_gcj02(lon, lat) if len(lon) else (lon, lat)
    for name, coords in (("wgs84_lon", lon), ("wgs84_lat", lat), ("gcj02_lon", gcj[0]),
                         ("gcj02_lat", gcj[1]), ("wgs84_snap_lon", frame["snap_lon"]),
                         ("wgs84_snap_lat", frame["snap_lat"])):
        columns[name] = [_degrees(v) for v in np.asarray(coords, dtype=float).tolist()]
    codes = [c for name in CHECK_COLUMNS for c in _CHECK_COORDS.get(name, (name,))]
    header = [text(f"check_col.{_CHECK_KEYS.get(c, c)}", lang) for c in codes]
    return codes, [header, *([columns[c][i] for c in codes] for i in range(len(frame)))]


# The words of a check table's coordinate columns (see _i18n's check_col section).
_CHECK_KEYS = {"wgs84_lon": "lon", "wgs84_lat": "lat", "wgs84_snap_lon": "snap_lon",
               "wgs84_snap_lat": "snap_lat"}


def _write_table(out: Path, stem: str, codes: list[str], table: list[list[Any]]
                 ) -> dict[str, Path]:
    """Write one table as ``stem.csv`` (UTF-8 with BOM, texts as :func:`_csv_text` makes
    them) and ``stem.xlsx`` (one sheet ``stem``, degrees shown with 6 decimals)."""
    from ._io import atomic_write_bytes, csv_bytes
    from ._io import xlsx_bytes as workbook

    rows = [table[0], *([_csv_text(v, c) for v, c in zip(row, codes, strict=True)]
                        for row in table[1:])]
    formats = {h: "0.000000" for h, c in zip(table[0], codes, strict=True) if _is_degrees(c)}
    return {f"{stem}.csv": atomic_write_bytes(out / f"{stem}.csv", csv_bytes(rows)),
            f"{stem}.xlsx": atomic_write_bytes(out / f"{stem}.xlsx",
                                               workbook([(stem, table)], number_formats=formats))}


def _typed(value: Any) -> Any:
    """A check value as a typed cell: numbers rounded to 3 places as the CSV shows them.

    >>> _typed(1.23456), _typed(2.0), _typed(float("nan")), _typed(True), _typed(" a ")
    (1.235, 2.0, None, True, 'a')
    """
    import numpy as np
    import pandas as pd

    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA:
        return None
    if isinstance(value, str):
        return value.strip()  # as csv_cell writes it
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return round(value, 3) + 0.0 if math.isfinite(value) else None
    return None if pd.isna(value) else str(value)


def _degrees(value: Any) -> float | None:
    """A longitude or latitude rounded to 6 decimals (about 0.1 m), None when missing.

    >>> _degrees(117.24685812345), _degrees(float("nan")), _degrees(28)
    (117.246858, None, 28.0)
    """
    if not isinstance(value, float | int) or not math.isfinite(value):
        return None
    return round(float(value), 6)


def _is_degrees(header: str) -> bool:
    return header.startswith(("wgs84_", "gcj02_"))


def _csv_text(value: Any, header: str) -> str:
    """A cell of :func:`_check_table` (its column code ``header``) as check.csv text
    (coordinates with all 6 decimals).

    >>> _csv_text(117.2, "wgs84_lon"), _csv_text(1.5, "gain_m"), _csv_text(None, "x")
    ('117.200000', '1.5', '')
    >>> _csv_text("=1", "name"), _csv_text(False, "on_island")
    ("'=1", 'false')
    """
    from ._io import csv_cell, neutralise

    if value is not None and _is_degrees(header):
        return f"{value:.6f}"
    return neutralise(csv_cell(value))


# Files of a run linked from the report, in this order.
REPORT_LINKS = ("coverage_map.html", "check_map.html", "summary.json", "plan_summary.json",
                "check_summary.json", "check.csv", "check.xlsx", "proposals.geojson",
                "coverage.geojson", "gaps.geojson", "stations.geojson", "coverage_curve.csv",
                "coverage.parquet", "gaps.parquet")


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


def write_hours_outputs(folder: str | Path, table: Any, lang: str) -> dict[str, Path]:
    """Write the coverage by hour (:func:`stationplan.hours.coverage_by_hour`) as
    ``hours.csv`` (UTF-8 with BOM), ``hours.xlsx`` and ``hours.png`` (the curve).

    Parameters
    ----------
    folder
        The output folder.
    table
        One row per full hour: ``hour``, ``covered_share`` and the other columns of
        ``coverage_by_hour``.
    lang
        "zh" or "en": the column headers and the curve's words.

    Returns
    -------
    dict
        File name to path.
    """
    import numpy as np

    from ._i18n import text, time_label
    from ._io import atomic_write_bytes, csv_bytes, csv_cell, xlsx_bytes

    folder = Path(folder)
    header = [text(f"hours_col.{c}", lang) for c in table.columns]
    table = table.assign(time=[time_label(t, lang) for t in table["time"]])  # 周六 03:00
    records = [[v.item() if isinstance(v, np.generic) else v for v in row]
               for row in table.itertuples(index=False)]
    shares = list(table.columns).index("covered_share")
    cells = [[f"{v:.6f}" if i == shares else csv_cell(v) for i, v in enumerate(row)]
             for row in records]  # shares to 6 places: 0.1 % is 80 m in a county town
    return {
        "hours.csv": atomic_write_bytes(folder / "hours.csv", csv_bytes([header, *cells])),
        "hours.xlsx": atomic_write_bytes(folder / "hours.xlsx",
                                         xlsx_bytes([(text("hours_col.sheet", lang),
                                                      [header, *records])])),
        "hours.png": atomic_write_bytes(folder / "hours.png", hours_png(table, lang=lang)),
    }


def hours_png(table: Any, *, lang: str = "en") -> bytes:
    """Draw the coverage by hour as a PNG: the share of the streets to serve that the
    stations open at each full hour cover, held until the next hour.

    Parameters
    ----------
    table
        ``hour`` (0–23) and ``covered_share`` (0–1), as :func:`write_hours_outputs`.
    lang
        "zh" or "en" (Chinese needs a CJK font; without one the words are English).

    Returns
    -------
    bytes
        The PNG file's bytes; the same inputs give the same bytes.
    """
    import io

    buf = io.BytesIO()
    hours_figure(table, lang=lang).savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def hours_figure(table: Any, *, lang: str = "en") -> Any:
    """Build the matplotlib figure :func:`hours_png` draws (same parameters)."""
    import matplotlib as mpl
    import numpy as np
    from matplotlib.figure import Figure

    from ._i18n import section
    from .staticmap import cjk_font

    font = cjk_font() if lang == "zh" else None
    if lang == "zh" and font is None:
        lang = "en"
    t = section("hourcurve", lang)
    hour = np.asarray(table["hour"], dtype=float)
    share = 100 * np.asarray(table["covered_share"], dtype=float)
    with mpl.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        fig = Figure(figsize=(6, 3.6), dpi=120)
        ax = fig.add_subplot()
        # each hour's share holds until the next full hour (24:00 closes the day)
        ax.step(np.append(hour, 24.0), np.append(share, share[-1] if len(share) else 0.0),
                where="post", color="#2166ac")
        ax.set_xlim(0, 24)
        ax.set_ylim(0, 100.5)
        ax.set_xticks(range(0, 25, 3))
        ax.set_xlabel(t["x"])
        ax.set_ylabel(t["y"])
        ax.set_title(t["title"], fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
    return fig


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
