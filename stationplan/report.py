"""The planning report: one self-contained HTML page and a Markdown file a meeting can read.

:func:`report_data` gathers every figure into plain data (written as ``report.json``):
the figures of ``summary.json``, ``plan_summary.json`` and ``check_summary.json`` are
copied, never recomputed, and the report's own tables (districts, the largest gaps,
service audit, streets only one station serves, check rows) are computed here.
:func:`write_report` renders the same data as HTML (inline CSS, images as ``data:``
URIs, no network access) and as Markdown. Every number the HTML shows carries the file
and key it comes from (``data-src``, ``data-key``, ``data-value``), so a test can check
the report against the JSON outputs. Every text from input files is escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from ._figures import round_m, share
from ._i18n import run_lang
from ._outdir import REPORT_FILES, open_out_dir
from ._paths import input_file, shown_source
from ._route import catchment as ct
from ._text import plain_text
from ._version import __version__
from .carriageways import fold_catchments
from .coverage import Coverage
from .gaps import gap_areas
from .services import service_audit

log = logging.getLogger(__name__)

DISTRICT_NAME_COLUMNS = ("name", "名称", "街道", "社区", "街道名称", "社区名称", "乡镇", "镇街",
                         "乡镇街道", "区县", "县区", "区县名称", "县名", "县", "district",
                         "subdistrict", "community", "county", "区划名称", "行政区划", "xzqmc",
                         "jdmc", "sqmc")
_TOP_GAPS = 10
_TOP_AREAS = 5
_TOP_SOLE = 15
_STREETS_PER_ROW = 5


def guess_lang(coverage: Coverage, *frames: pd.DataFrame) -> str:
    """"zh" when station or street names contain Chinese characters, else "en".

    The rule every output of a run follows (the maps too), so ``frames`` (proposals, say)
    are accepted for compatibility but not read: the coverage map, drawn without them,
    would otherwise speak another language than the report of the same run.
    """
    return run_lang(None, coverage)


def read_districts(path: str | Path, *, name_col: str | None = None,
                   crs: Any = None, id_col: str | Sequence[str] | None = None,
                   crs_param: str = "districts_crs", what: str = "district file",
                   name_option: str = "--district-col") -> gpd.GeoDataFrame:
    """Read district polygons (街道/社区 boundaries) with a name column.

    Parameters
    ----------
    path
        Polygon file in any CRS (GeoJSON, GeoPackage, Shapefile, ...).
    name_col
        Column with the district names; by default the first of
        :data:`DISTRICT_NAME_COLUMNS` present, else the first text column.
    crs
        The file's coordinate system when it is not the file's own: "wgs84", "gcj02"
        (Amap, Tencent), "bd09" (Baidu), "cgcs2000" or "EPSG:<code>"; GCJ-02 and BD-09
        polygons are converted vertex by vertex (command line: ``--districts-crs``).
    id_col
        Column with ids, kept as ``district_id`` (text; whole numbers without ".0"), or
        the names to look for, the first present kept (none present: no ids).
    crs_param, what, name_option
        The parameter that sets ``crs`` (its command-line option is ``--`` and the name
        with dashes), what the file is, and the option that names the name column, for
        messages.

    Returns
    -------
    geopandas.GeoDataFrame
        ``district`` (name), ``district_id`` (with ``id_col``) and the polygon, in file
        order, EPSG:4326. ``attrs`` name the columns read (``name_column``,
        ``id_column``).
    """
    from .area import not_degrees, polygons_to_lonlat, read_vector

    path = input_file(path, what)
    frame = read_vector(path)
    option = "--" + crs_param.replace("_", "-")
    if frame.crs is None and crs is None:
        msg = (f"{path}: the {what} has no CRS; set it (QGIS: Layer > Set CRS), or "
               f"pass {option}")
        raise InputError(msg)
    if crs is None and (wrong := not_degrees(frame, path)) is not None:
        raise InputError(f"{wrong}; pass {option} EPSG:<code>")
    polys = frame[frame.geometry.notna() & frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        msg = f"{path}: no polygons in the {what}"
        raise InputError(msg)
    columns = [c for c in polys.columns if c != polys.geometry.name]
    lower = {str(c).strip().lower(): c for c in columns}
    ids = None
    if isinstance(id_col, str):
        ids = _column(path, columns, id_col)
    elif id_col is not None:
        ids = next((lower[n] for n in id_col if n in lower), None)
    if name_col is not None:
        col = _column(path, columns, name_col)
    else:
        found = [lower[n] for n in DISTRICT_NAME_COLUMNS if n in lower]
        text = [c for c in columns if c != ids and (
            pd.api.types.is_string_dtype(polys[c]) or polys[c].dtype == object)]
        if not found and not text and ids is None:
            msg = f"{path}: no column with names among {columns}; name one with {name_option}"
            raise InputError(msg)
        col = (found or text or [ids])[0]
    names = [_cell(x) or f"#{i + 1}" for i, x in enumerate(polys[col])]
    polys = polygons_to_lonlat(polys, crs, param=crs_param, what=path.name)
    table = {"district": names}
    if ids is not None:
        table["district_id"] = [_cell(x) for x in polys[ids]]
    out = gpd.GeoDataFrame(table, geometry=shapely.make_valid(polys.geometry.to_numpy()),
                           crs=4326)
    out.attrs["name_column"] = str(col)
    out.attrs["id_column"] = None if ids is None else str(ids)
    if ids is None:
        log.info("districts %s: %d polygons named by column %r", path.name, len(out), col)
    else:
        log.info("regions %s: %d polygons named by column %r, ids from column %r", path.name,
                 len(out), col, ids)
    return out


def _column(path: Path, columns: list[Any], name: str) -> Any:
    if name not in columns:
        msg = f"{path}: no column {name!r}; the columns are {columns}"
        raise InputError(msg)
    return name


def _cell(value: Any) -> str:
    """A cell as text: whole numbers without ".0" (ids read as floats), missing as "".

    >>> _cell(360681.0), _cell(" 东门街道 "), _cell(None), _cell(float("nan")), _cell(2.5)
    ('360681', '东门街道', '', '', '2.5')
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def district_table(coverage: Coverage, districts: gpd.GeoDataFrame) -> dict[str, Any]:
    """Street length to serve, covered and not, and stations per district.

    Returns
    -------
    dict
        ``column`` (the name column), ``rows`` (``district``, ``demand_m``, ``covered_m``,
        ``covered_share``, ``gap_m``, ``stations`` (existing stations) and ``proposed``
        (the coverage's stations of ``kind`` "proposed", a plan's new sites, which the
        figures include); file order) and ``outside`` (the same for streets in no
        district, without the counts).
    """
    crs = coverage.network.crs
    pieces = coverage.pieces[coverage.pieces["status"].isin(["covered", "gap"])]
    geoms = pieces.geometry.to_numpy()
    covered = (pieces["status"] == "covered").to_numpy()
    tree = shapely.STRtree(geoms)
    st = coverage.stations
    st = st[(st["status"] == "ok") & st.geometry.notna()]
    new = st["kind"].eq("proposed").to_numpy() if "kind" in st else np.zeros(len(st), bool)
    st_pts = st.to_crs(crs).geometry.to_numpy()
    polys = districts.to_crs(crs).geometry.to_numpy()
    rows = []
    for name, poly in zip(districts["district"], polys, strict=True):
        idx = tree.query(poly, predicate="intersects")
        length = shapely.length(shapely.intersection(geoms[idx], poly))
        c = float(length[covered[idx]].sum())
        total = float(length.sum())
        rows.append({"district": str(name), "demand_m": round_m(total), "covered_m": round_m(c),
                     "covered_share": share(c, total), "gap_m": round_m(total - c),
                     **_counts_in(poly, st_pts, new)})
    union = shapely.union_all(polys)
    inside = shapely.length(shapely.intersection(geoms, union))
    out_total = float(pieces["length_m"].sum() - inside.sum())
    out_cov = float(pieces["length_m"].to_numpy()[covered].sum() - inside[covered].sum())
    outside = {"demand_m": round_m(max(out_total, 0.0)), "covered_m": round_m(max(out_cov, 0.0)),
               "covered_share": share(out_cov, out_total) if out_total > 1e-3 else 0.0,
               "gap_m": round_m(max(out_total - out_cov, 0.0))}
    return {"column": districts.attrs.get("name_column"), "rows": rows, "outside": outside}


def _counts_in(poly: Any, points: np.ndarray, proposed: np.ndarray) -> dict[str, int]:
    """Existing stations and proposed sites among ``points`` that ``poly`` covers."""
    inside = shapely.covers(poly, points) if len(points) else np.zeros(0, bool)
    return {"stations": int((inside & ~proposed).sum()), "proposed": int((inside & proposed).sum())}


def sole_coverage(coverage: Coverage) -> dict[str, Any]:
    """What closing each station would uncover: the demand streets no other station reaches.

    Returns
    -------
    dict
        ``total_m`` (street length that depends on a single station), ``stations_with_sole``
        and ``stations``: per station with such streets (largest first) ``station_id``,
        ``name``, ``kind``, ``rank``, ``street`` and ``address`` (a proposed site's rank
        and where it stands, as the plan's table of sites shows them; ``None`` and ""
        for an existing station), ``sole_m`` and ``streets`` (named streets in it,
        longest first).
    """
    network = coverage.network
    st = coverage.stations
    ok = st[st["status"] == "ok"].reset_index(drop=True)
    e = network.edges
    metres = (e["demand"].to_numpy(bool) if "demand" in e else np.ones(len(e), bool)).astype(float)
    iv = fold_catchments(network, ct.on_edges(ct.site_intervals(
        network, ok["edge_id"].to_numpy(np.int64), ok["offset_m"].to_numpy(float),
        limit_m=coverage.rule.limit_m), metres > 0))
    per, pieces = ct.sole_coverage(iv, metres, len(ok))
    names = e["name"].to_numpy()[pieces.edge]
    frame = pd.DataFrame({"site": pieces.site, "name": names,
                          "length": pieces.end - pieces.start}).dropna(subset=["name"])
    streets = frame.groupby(["site", "name"])["length"].sum()
    rows = []
    for i in np.argsort(-per, kind="stable"):
        if per[i] <= 1e-3:
            break
        named = streets.loc[i].sort_values(ascending=False) if i in streets.index.levels[0] \
            else pd.Series(dtype=float)
        kind = plain_text(ok["kind"].iat[i]) if "kind" in ok else "existing"
        proposed = kind == "proposed"
        rank = ok["rank"].iat[i] if proposed and "rank" in ok else None
        rows.append({"station_id": str(ok["station_id"].iat[i]),
                     "name": plain_text(ok["name"].iat[i]),
                     "kind": kind,
                     # a proposed site is known by its rank in the plan, not its candidate id
                     "rank": None if rank is None or pd.isna(rank) else int(rank),
                     **{c: plain_text(ok[c].iat[i]) if proposed and c in ok else ""
                        for c in ("street", "address")},
                     "sole_m": round_m(per[i]),
                     "streets": [str(s) for s in named.index[:_STREETS_PER_ROW]]})
    return {"total_m": round_m(float(per.sum())), "stations_with_sole": len(rows), "stations": rows}


def report_data(
    coverage: Coverage,
    gaps: gpd.GeoDataFrame,
    summary: Mapping[str, Any],
    *,
    plan: Any = None,
    check: tuple[gpd.GeoDataFrame, Mapping[str, Any]] | None = None,
    districts: gpd.GeoDataFrame | None = None,
    files: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """Gather everything the report shows, as JSON-ready data (``report.json``).

    Parameters
    ----------
    coverage, gaps, summary
        The coverage run and its ``summary.json`` data (when the run includes proposed
        sites, stations of ``kind`` "proposed" are counted as stations).
    plan
        A :class:`~stationplan.siting.SitingResult` (its summary and ``curve``, the plan's
        sites in rank order), or ``None``.
    check
        ``(checked, check_summary)`` from :mod:`stationplan.check`, or ``None``.
    districts
        District polygons from :func:`read_districts`, or ``None``.
    files
        Label -> relative path of the maps and files to link (e.g. ``coverage_map.html``).
    lang
        "zh" or "en"; default from the names in the data (:func:`guess_lang`).

    Returns
    -------
    dict
        ``lang``, ``summary`` / ``plan_summary`` / ``check_summary`` (copies of the JSON
        outputs), ``stations`` (usable ``existing`` stations and ``proposed`` sites among
        the coverage's stations, counted apart), ``districts``, ``largest_gaps`` (the
        longest gap runs: ``gap_id``, ``street``, ``from_street`` / ``from_m``,
        ``to_street`` / ``to_m``, ``length_m``, ``farthest_m`` / ``farthest_more_than_m``,
        ``lon`` / ``lat`` of the farthest point, or of the run's middle point when that
        is beyond the search, ``area_id``), ``gap_areas`` (the largest gap areas:
        ``area_id``, ``length_m``, ``runs``, ``streets``, ``farthest_m`` /
        ``farthest_more_than_m``),
        ``unused_stations`` (every station row not used, in file order: ``row``,
        ``station_id``, ``name``, ``status`` and ``reason`` in words of ``lang``),
        ``service_audit``, ``sole_coverage``, ``curve``, ``plan_rows`` (the plan's sites
        in rank order: ``rank``, ``candidate_id``, ``name``, ``street``, ``address``,
        ``near``, ``marginal_m``, ``lon``, ``lat``), ``check_rows`` and ``files``.
    """
    from .check import reason_text

    checked, csum = check if check is not None else (None, None)
    lang = run_lang(lang, coverage)
    st = coverage.stations
    ok = st[st["status"] == "ok"]
    existing = ok[ok["kind"] != "proposed"] if "kind" in ok else ok
    top = gaps.head(_TOP_GAPS)
    data: dict[str, Any] = {
        "stationplan_version": __version__,
        "lang": lang,
        "source": shown_source(coverage.network.source),
        "summary": dict(summary),
        "stations": {"existing": len(existing), "proposed": len(ok) - len(existing)},
        "unused_stations": unused_stations(st, lang),
        "plan_summary": None if plan is None else dict(plan.summary),
        "check_summary": None if csum is None else dict(csum),
        "largest_gaps": [_gap_row(g) for g in top.itertuples()],
        "gap_areas": [_area_row(a) for a in gap_areas(gaps).head(_TOP_AREAS).itertuples()],
        "service_audit": service_audit(existing),
        "sole_coverage": sole_coverage(coverage),
        "districts": None if districts is None else district_table(coverage, districts),
        "curve": None if plan is None else [
            {"new_sites": int(n), "coverage_share": float(s)}
            for n, s in zip(plan.curve["new_sites"], plan.curve["coverage_share"], strict=True)
        ],
        "plan_rows": None if plan is None else _plan_rows(plan.proposals),
        "check_rows": None,
        "files": dict(files or {}),
    }
    if checked is not None:
        settings = checked.attrs.get("check_settings", {})
        data["check_rows"] = [
            {"proposal_id": str(r["proposal_id"]), "name": plain_text(r["name"]),
             "verdict": r["verdict"], "reason": reason_text(r, settings, lang),
             "gain_m": None if not np.isfinite(r["gain_m"]) else round_m(r["gain_m"]),
             "dist_station_m": None if not np.isfinite(r["dist_station_m"])
             else round_m(r["dist_station_m"]),
             "street": plain_text(r["street"])}
            for r in checked.to_dict("records")
        ]
    return data


def unused_stations(stations: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    """The station rows a run does not use, with why, in ``lang`` (as the map's popups).

    >>> rows = pd.DataFrame({"row": [3, 5], "station_id": ["1", "3"], "name": ["甲", "乙"],
    ...                      "status": ["ok", "too_far_from_street"],
    ...                      "reason": ["", "more than 100 m from every street of the network"]})
    >>> unused_stations(rows, "zh")  # doctest: +NORMALIZE_WHITESPACE
    [{'row': 5, 'station_id': '3', 'name': '乙', 'status': '距街道过远',
      'reason': '距路网所有街道超过 100 米'}]
    """
    from ._i18n import station_reason_text, station_status_text

    bad = stations[stations["status"] != "ok"]
    rows = bad["row"] if "row" in bad else pd.Series([None] * len(bad), index=bad.index)
    names = bad["name"] if "name" in bad else pd.Series([""] * len(bad), index=bad.index)
    return [{"row": None if pd.isna(row) else int(row), "station_id": str(sid),
             "name": plain_text(name), "status": station_status_text(status, lang),
             "reason": station_reason_text(reason, lang)}
            for row, sid, name, status, reason in zip(rows, bad["station_id"], names,
                                                      bad["status"], bad["reason"], strict=True)]


def _plan_rows(proposals: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """The plan's sites for the report's table: where each stands and what it adds."""
    if proposals.empty:
        return []
    lonlat = shapely.get_coordinates(proposals.to_crs(4326).geometry.to_numpy())
    rows = []
    for (_, r), (lon, lat) in zip(proposals.iterrows(), lonlat.tolist(), strict=True):
        rows.append({"rank": int(r["rank"]), "candidate_id": plain_text(r.get("candidate_id")),
                     **{c: plain_text(r.get(c)) for c in ("name", "street", "address", "near")},
                     "marginal_m": round_m(r["marginal_m"]),
                     "lon": round(lon, 7), "lat": round(lat, 7)})
    return rows


def write_report(
    out_dir: str | Path,
    data: Mapping[str, Any],
    *,
    images: Mapping[str, bytes] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write ``report.html`` (self-contained), ``report.md`` and ``report.json``.

    Parameters
    ----------
    out_dir
        Folder, created if missing.
    data
        The result of :func:`report_data`.
    images
        File name -> PNG bytes of images to show (``coverage_map.png``,
        ``coverage_curve.png``); embedded in the HTML, linked from the Markdown.
    overwrite
        Replace an earlier report in ``out_dir``.

    Returns
    -------
    dict
        File name -> path written.
    """
    from ._io import atomic_write_text, json_text
    from ._render.reportdoc import render_html, render_markdown
    out = open_out_dir(out_dir, REPORT_FILES, overwrite=overwrite)
    images = dict(images or {})
    paths = {
        "report.json": atomic_write_text(out / "report.json", json_text(data)),
        "report.html": atomic_write_text(out / "report.html", render_html(data, images)),
        "report.md": atomic_write_text(out / "report.md", render_markdown(data, images)),
    }
    log.debug("wrote the report to %s", out / "report.html")
    return paths


def _metres(value: Any) -> float | None:
    return None if pd.isna(value) else round_m(float(value))


def _gap_row(g: Any) -> dict[str, Any]:
    """A gap run as the report's gap table shows it."""
    far = not pd.isna(g.farthest_lon)
    return {"gap_id": int(g.gap_id), "street": plain_text(g.street),
            "from_street": plain_text(g.from_street), "from_m": _metres(g.from_m),
            "to_street": plain_text(g.to_street), "to_m": _metres(g.to_m),
            "length_m": round_m(g.length_m), "farthest_m": _metres(g.farthest_m),
            "farthest_more_than_m": _metres(g.farthest_more_than_m),
            "lon": round(float(g.farthest_lon if far else g.point_lon), 7),
            "lat": round(float(g.farthest_lat if far else g.point_lat), 7),
            "area_id": int(g.area_id)}


def _area_row(a: Any) -> dict[str, Any]:
    """A gap area as the report's secondary gap table shows it."""
    return {"area_id": int(a.area_id), "length_m": round_m(a.length_m), "runs": int(a.runs),
            "streets": str(a.streets), "farthest_m": _metres(a.farthest_m),
            "farthest_more_than_m": _metres(a.farthest_more_than_m)}
