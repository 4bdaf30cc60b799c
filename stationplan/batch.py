"""Coverage of many units (counties, tiles) as independent tasks, stitched back exactly.

Each unit is its core polygon plus a halo (:mod:`stationplan.halo`): the task gets the
streets within the halo and the stations near enough to matter, computes coverage with
the exact engine, and keeps the pieces its core owns. The units' pieces, put together,
are the whole-network coverage; the totals are the sums of the units.

Tasks run one after the other (``scheduler="serial"``), on an in-process Dask client
(``"inprocess"``), on a :class:`dask.distributed.LocalCluster` started for the run
(``"local"``), or on a running Dask scheduler (``"tcp://HOST:PORT"``). The written files
do not depend on which: units are stitched in unit order, pieces in edge order.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from .coverage import _EPS_M, CoverageRule, _substrings, compute_coverage
from .halo import PIECE_COLUMNS, clip_to_core, required_halo_m, unit_network, unit_stations
from .network import StreetNetwork
from .stations import snap_stations

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "Unit", "UnitExtract", "batch_coverage", "batch_coverage_extracts",
           "grid_units", "league_table", "partition", "read_units", "region_units",
           "unit_extract"]

SCHEDULERS = ("serial", "inprocess", "local")
LEAGUE_COLUMNS = ["unit_id", "name", "demand_km", "covered_km", "covered_share", "gap_km",
                  "stations", "proposed_sites", "cross_border_km"]
# The columns of the pieces and gaps datasets (GeoParquet, one folder per unit), with their
# types fixed: a unit without a covered piece would otherwise give a column of nulls.
PIECE_SCHEMA = {"edge_id": "int64", "start_m": "float64", "end_m": "float64",
                "length_m": "float64", "status": "string", "dist_m": "float64",
                "station_id": "string", "cross_border": "bool"}


@dataclass(frozen=True)
class Unit:
    """One unit of a partition: an id, a name and a core polygon in the network CRS."""

    unit_id: str
    name: str
    core: Any


@dataclass(frozen=True)
class BatchResult:
    """What :func:`batch_coverage` computed and wrote.

    Parameters
    ----------
    pieces
        The owned pieces of every unit that finished (``unit_id`` first, then the
        columns of :func:`stationplan.halo.clip_to_core`), in unit and edge order.
    league
        One row per finished unit (:data:`LEAGUE_COLUMNS`) and a last ``total`` row,
        the sum of the units (:func:`league_table`).
    failed
        Unit id to the error message of each unit that failed.
    reused
        Ids of units whose result was read back from an earlier run (``resume``).
    paths
        Files written, by name.
    """

    pieces: pd.DataFrame
    league: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    reused: tuple[str, ...] = ()
    paths: dict[str, Path] = field(default_factory=dict)


def grid_units(network: StreetNetwork, *, km: float) -> list[Unit]:
    """Square tiles of ``km`` kilometres over the network's extent (network CRS).

    Tiles without a street are left out; ids are ``r{row}c{col}`` from the south-west.
    The tiles share their sides, so every street metre has exactly one owner.
    """
    if not np.isfinite(km) or km <= 0:
        msg = f"grid tiles must be a number of km > 0, not {km!r}"
        raise InputError(msg)
    size = km * 1000.0
    x0, y0, x1, y1 = network.edges.total_bounds
    nx_, ny_ = max(1, int(np.ceil((x1 - x0) / size))), max(1, int(np.ceil((y1 - y0) / size)))
    lines = network.edges.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    units = []
    for r in range(ny_):
        for c in range(nx_):
            box = shapely.box(x0 + c * size, y0 + r * size, x0 + (c + 1) * size,
                              y0 + (r + 1) * size)
            if len(tree.query(box, predicate="intersects")):
                units.append(Unit(f"r{r}c{c}", f"tile {r},{c}", box))
    return units


def _unit_task(sub: StreetNetwork, rows: np.ndarray, stations: gpd.GeoDataFrame, core: Any,
               rule: CoverageRule, max_snap_m: float) -> pd.DataFrame:
    """One unit's owned pieces (runs on a worker)."""
    snapped = snap_stations(sub, stations, max_snap_m=max_snap_m)
    cov = compute_coverage(sub, snapped, rule=rule)
    pieces = clip_to_core(cov, core, rows)
    # which serving stations stand outside the core: cross-border coverage
    pts = snapped.geometry.to_crs(sub.crs).to_numpy()
    inside = dict(zip(snapped["station_id"].tolist(),
                      shapely.covers(core, pts).tolist(), strict=True))
    pieces["cross_border"] = [isinstance(s, str) and not inside.get(s, True)
                              for s in pieces["station_id"].tolist()]
    return pieces


def _content_hash(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(pickle.dumps(part, protocol=5))
    return h.hexdigest()[:16]


def _unit_inputs(x: UnitExtract, stations: gpd.GeoDataFrame, rule: CoverageRule,
                 max_snap_m: float, halo_m: float) -> tuple[tuple[Any, ...], str]:
    """The task's arguments (streets within the rule's halo, stations near enough) and
    their content hash."""
    unit = x.unit
    sub, keep = unit_network(x.network, unit.core, halo_m=halo_m)
    rows = x.rows[keep]
    near = unit_stations(stations, unit.core, halo_m=halo_m, max_snap_m=max_snap_m,
                         crs=x.network.crs)
    e = sub.edges
    key = _content_hash(
        unit.unit_id, shapely.to_wkb(unit.core), halo_m, max_snap_m, rule.describe(),
        rows.tobytes(), shapely.to_wkb(e.geometry.to_numpy()).tolist(),
        # column by column with fixed types: a mixed frame's array would hold pointers
        *(e[c].to_numpy(np.int64).tobytes() for c in ("u", "v", "fwd", "bwd")),
        near["station_id"].astype(str).tolist(),
        shapely.to_wkb(near.geometry.to_crs(4326).to_numpy()).tolist())
    return (sub, rows, near, unit.core, rule, max_snap_m), key


def _client(scheduler: Any, workers: int | None) -> tuple[Any, Callable[[], None]]:
    """A Dask client for the scheduler name or address, and how to close it."""
    from dask.distributed import Client, LocalCluster

    if not isinstance(scheduler, str):  # a Client made by the caller
        return scheduler, lambda: None
    if scheduler == "inprocess":
        client = Client(processes=False, n_workers=1, threads_per_worker=workers or 1,
                        dashboard_address=None)
        return client, client.close
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    client = Client(scheduler)
    return client, client.close


def batch_coverage(
    network: StreetNetwork,
    stations: gpd.GeoDataFrame,
    units: Sequence[Unit],
    *,
    rule: CoverageRule,
    max_snap_m: float,
    out: str | Path | None = None,
    scheduler: Any = "serial",
    workers: int | None = None,
    resume: bool = False,
    lang: str | None = None,
) -> BatchResult:
    """Coverage unit by unit with halos, stitched (see the module text).

    Parameters
    ----------
    network
        The whole street network.
    stations
        Unsnapped stations (any CRS, ``station_id`` and ``status`` columns).
    units
        The units (:func:`grid_units`, or :class:`Unit` per county polygon); their cores
        should tile the area, sharing sides.
    rule, max_snap_m
        The coverage rule and the snap distance; the halo is
        :func:`~stationplan.halo.required_halo_m` of them.
    out
        Folder for ``pieces.csv``, the GeoParquet datasets ``pieces/`` and ``gaps/``
        (one file per unit), ``league.csv``, ``league.xlsx``, ``province_map.html``,
        ``province_map.png``, ``failed.csv`` and the per-unit results under ``units/``
        (named by content hash); ``None`` writes nothing (docs/outputs.md).
    scheduler
        "serial", "inprocess", "local" (a LocalCluster of ``workers`` processes), a
        scheduler address ``tcp://HOST:PORT``, or a ``dask.distributed.Client``.
    workers
        Worker processes for "local" (default: Dask's choice for the machine).
    resume
        Read the result of every unit whose content hash is already under
        ``out/units/`` instead of computing it again.
    lang
        Language of the province map: "zh", "en", or ``None`` for Chinese when a unit's
        name is Chinese.

    Returns
    -------
    BatchResult
    """
    if isinstance(scheduler, str) and scheduler not in SCHEDULERS and "://" not in scheduler:
        msg = (f"scheduler must be one of {', '.join(SCHEDULERS)} or an address "
               f"tcp://HOST:PORT, not {scheduler!r}")
        raise InputError(msg)
    ids = [u.unit_id for u in units]
    if len(set(ids)) != len(ids):
        msg = "unit ids must be unique"
        raise InputError(msg)
    halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m)
    extracts = [unit_extract(network, u, halo_m=halo_m) for u in units]
    return batch_coverage_extracts(extracts, stations, rule=rule, max_snap_m=max_snap_m,
                                   out=out, scheduler=scheduler, workers=workers,
                                   resume=resume, lang=lang)


@dataclass(frozen=True)
class UnitExtract:
    """A unit with its streets: those within ``halo_m`` of the core, whole.

    ``rows`` maps the extract's edges to the whole network's; ``crs`` is the network's.
    """

    unit: Unit
    network: StreetNetwork
    rows: np.ndarray
    halo_m: float


def unit_extract(network: StreetNetwork, unit: Unit, *, halo_m: float) -> UnitExtract:
    """The unit's extract: the streets within ``halo_m`` of its core."""
    sub, rows = unit_network(network, unit.core, halo_m=halo_m)
    return UnitExtract(unit, sub, rows, float(halo_m))


def batch_coverage_extracts(
    extracts: Sequence[UnitExtract],
    stations: gpd.GeoDataFrame,
    *,
    rule: CoverageRule,
    max_snap_m: float,
    out: str | Path | None = None,
    scheduler: Any = "serial",
    workers: int | None = None,
    resume: bool = False,
    lang: str | None = None,
) -> BatchResult:
    """:func:`batch_coverage` on extracts made before (:func:`partition`).

    ``lang`` is the language of the province map ("zh", "en"; by default Chinese when a
    unit's name is Chinese).

    Raises
    ------
    InputError
        An extract's halo is shorter than the rule's reach plus twice ``max_snap_m``.
    """
    halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m)
    short = [x.unit.unit_id for x in extracts if x.halo_m < halo_m - 1e-9]
    if short:
        msg = (f"the units were cut with a halo of {min(x.halo_m for x in extracts):g} m; "
               f"this rule needs {halo_m:g} m (reach {rule.limit_m:g} m + 2 x snap "
               f"{max_snap_m:g} m): partition again with --halo-m {halo_m:g}")
        raise InputError(msg)
    units = [x.unit for x in extracts]
    folder = Path(out) if out is not None else None
    cache = folder / "units" if folder is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, pd.DataFrame] = {}
    failed: dict[str, str] = {}
    reused: list[str] = []
    todo: dict[str, tuple[tuple[Any, ...], str]] = {}
    for x in extracts:
        unit = x.unit
        args, key = _unit_inputs(x, stations, rule, max_snap_m, halo_m)
        path = cache / f"{unit.unit_id}-{key}.parquet" if cache is not None else None
        if resume and path is not None and path.exists():
            results[unit.unit_id] = pd.read_parquet(path)
            reused.append(unit.unit_id)
        elif len(args[1]) == 0:
            results[unit.unit_id] = _empty()
        else:
            todo[unit.unit_id] = (args, key)
    def finished(uid: str, frame: pd.DataFrame) -> None:
        # stored as soon as it returns, so that a run stopped later keeps it for --resume
        results[uid] = frame
        if cache is not None:
            _store(frame, cache / f"{uid}-{todo[uid][1]}.parquet")

    if scheduler == "serial":
        for uid, (args, _) in todo.items():
            try:
                frame = _unit_task(*args)
            except Exception as exc:  # one unit failing is reported
                failed[uid] = f"{type(exc).__name__}: {exc}"
            else:
                finished(uid, frame)
    elif todo:
        from dask.distributed import as_completed

        client, close = _client(scheduler, workers)
        try:
            futures = {client.submit(_unit_task, *args, key=f"unit-{uid}-{key}",
                                     pure=False): uid
                       for uid, (args, key) in todo.items()}
            for fut in as_completed(list(futures)):
                uid = futures[fut]
                try:
                    frame = fut.result()
                except Exception as exc:  # one unit failing is reported
                    failed[uid] = f"{type(exc).__name__}: {exc}"
                else:
                    finished(uid, frame)
        finally:
            close()
    failed = {u.unit_id: failed[u.unit_id] for u in units if u.unit_id in failed}
    for uid, err in failed.items():
        log.warning("unit %s failed: %s", uid, err)
    done = [x for x in extracts if x.unit.unit_id in results]
    pieces = pd.concat([results[x.unit.unit_id].assign(unit_id=x.unit.unit_id) for x in done]
                       or [_empty().assign(unit_id="")], ignore_index=True)
    pieces = pieces[["unit_id", *PIECE_COLUMNS, "cross_border"]]
    crs = extracts[0].network.crs if extracts else None
    league = league_table(pieces, [x.unit for x in done], stations, crs)
    paths: dict[str, Path] = {}
    if folder is not None:
        paths = _write(folder, pieces, league, failed, done, lang=lang)
    return BatchResult(pieces, league, failed, tuple(reused), paths)


def _store(frame: pd.DataFrame, path: Path) -> None:
    """Write a unit's result whole or not at all (a run killed mid-write leaves no file)."""
    part = path.with_name(path.name + ".part")
    frame.to_parquet(part, index=False)
    part.replace(path)


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in PIECE_COLUMNS})
    frame["cross_border"] = pd.Series([], dtype=bool)
    return frame


def league_table(pieces: pd.DataFrame, units: Sequence[Unit], stations: gpd.GeoDataFrame,
                 crs: Any, *, proposed: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per unit (:data:`LEAGUE_COLUMNS`) and a ``total`` row, their sum.

    ``demand_km`` is the unit's covered plus gap length, ``covered_share`` covered over
    demand (NaN without demand), ``stations`` counts the usable stations standing in the
    core, ``proposed_sites`` the new sites of a plan in the unit (``proposed``, unit id to
    count; 0 for a coverage run), and ``cross_border_km`` is the covered length served by a
    station standing outside the core. The total's share is its covered over its demand.
    """
    ids = [u.unit_id for u in units]
    code = pd.Categorical(pieces["unit_id"], categories=ids).codes.astype(np.int64)
    keep = code >= 0
    length = pieces["length_m"].to_numpy(float)
    status = pieces["status"].to_numpy(object)
    cov, gap = status == "covered", status == "gap"
    cross = cov & pieces["cross_border"].to_numpy(bool)

    def per_unit(mask: np.ndarray) -> np.ndarray:
        return np.bincount(code[keep & mask], weights=length[keep & mask], minlength=len(ids))

    covered, gap_m, cross_m = per_unit(cov), per_unit(gap), per_unit(cross)
    demand = covered + gap_m
    pts = stations.geometry.to_crs(crs).to_numpy() if len(ids) else np.array([])
    ok = ((stations["status"] == "ok").to_numpy() & ~shapely.is_missing(pts)
          if len(ids) else np.array([], dtype=bool))
    proposed = proposed or {}
    league = pd.DataFrame({
        "unit_id": ids, "name": [u.name for u in units], "demand_km": demand / 1000,
        "covered_km": covered / 1000,
        "covered_share": np.divide(covered, demand, out=np.full(len(ids), np.nan),
                                   where=demand > 0),
        "gap_km": gap_m / 1000,
        "stations": np.array([int(shapely.covers(u.core, pts[ok]).sum()) for u in units],
                             dtype=np.int64),
        "proposed_sites": np.array([int(proposed.get(i, 0)) for i in ids], dtype=np.int64),
        "cross_border_km": cross_m / 1000,
    }, columns=LEAGUE_COLUMNS)
    total: dict[str, Any] = {c: league[c].sum() for c in (
        "demand_km", "covered_km", "gap_km", "stations", "proposed_sites", "cross_border_km")}
    total.update(unit_id="total", name="total",
                 covered_share=(total["covered_km"] / total["demand_km"]
                                if total["demand_km"] > 0 else np.nan))
    return pd.concat([league, pd.DataFrame([total], columns=LEAGUE_COLUMNS)],
                     ignore_index=True)


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """``frame.to_excel`` with fixed timestamps, so that equal tables give equal bytes."""
    import io
    import re
    import zipfile

    buf = io.BytesIO()
    frame.to_excel(buf, index=False, engine="openpyxl")
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # the time of writing, twice
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*",
                              rb"\g<1>2000-01-01T00:00:00Z", data)
            dst.writestr(fixed, data)


def piece_geometries(x: UnitExtract, pieces: pd.DataFrame) -> gpd.GeoDataFrame:
    """A unit's pieces (``edge_id`` of the whole network) with their street geometry.

    Each piece is its street from ``start_m`` to ``end_m``, cut as the coverage engine
    cuts its pieces (:func:`stationplan.coverage._substrings`); a piece that is the whole
    street is the street itself. The CRS is the network's.
    """
    lines = x.network.edges.geometry.to_numpy()
    local = pd.Index(np.asarray(x.rows, dtype=np.int64)).get_indexer(
        pd.Index(pieces["edge_id"].to_numpy(np.int64)))
    if (local < 0).any():
        msg = f"unit {x.unit.unit_id}: a piece's street is not in the unit's extract"
        raise ValueError(msg)
    start, end = pieces["start_m"].to_numpy(float), pieces["end_m"].to_numpy(float)
    length = x.network.edges["length_m"].to_numpy(float)[local]
    geoms = lines[local]
    split = np.flatnonzero((start > _EPS_M) | (end < length - _EPS_M))
    if len(split):
        geoms[split] = _substrings(lines, local[split], start[split], end[split])
    return gpd.GeoDataFrame(pieces.reset_index(drop=True),
                            geometry=gpd.array.GeometryArray(geoms, crs=x.network.crs),
                            crs=x.network.crs)


def _geoparquet(frame: gpd.GeoDataFrame, path: Path, network_crs: Any) -> None:
    """``frame`` (in WGS-84) as GeoParquet, columns typed by :data:`PIECE_SCHEMA`, with
    the network's projected CRS in the file's metadata (``stationplan:network_crs``)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq
    from geopandas.io.arrow import _geopandas_to_arrow  # type: ignore[attr-defined]

    typed = frame.astype({c: ("object" if t == "string" else t)
                          for c, t in PIECE_SCHEMA.items()})
    table = _geopandas_to_arrow(typed, index=False)
    schema = pa.schema([pa.field(c, pa.string() if t == "string" else pa.from_numpy_dtype(
        np.dtype(t))) for c, t in PIECE_SCHEMA.items()] + [table.schema.field("geometry")])
    meta = dict(table.schema.metadata or {})
    meta[b"stationplan:network_crs"] = json.dumps(
        {"crs": _crs_text(network_crs)}).encode()
    table = table.select(list(schema.names)).cast(schema).replace_schema_metadata(meta)
    pq.write_table(table, path)


def _crs_text(crs: Any) -> str:
    """The CRS as ``AUTHORITY:CODE`` when it has one, else its WKT."""
    import pyproj

    crs = pyproj.CRS.from_user_input(crs)
    auth = crs.to_authority()
    return ":".join(auth) if auth else crs.to_wkt()


def _write_datasets(folder: Path, done: Sequence[UnitExtract],
                    pieces: pd.DataFrame) -> dict[str, Path]:
    """``pieces/`` and ``gaps/``: one GeoParquet file per unit, ``unit_id=ID/part.parquet``."""
    import shutil
    from urllib.parse import quote

    out = {"pieces": folder / "pieces", "gaps": folder / "gaps"}
    for path in out.values():  # an earlier run's units must not stay in the dataset
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
    counts = pieces["unit_id"].value_counts(sort=False)  # pieces come in unit order
    ends = np.cumsum([0, *(int(counts.get(x.unit.unit_id, 0)) for x in done)])
    cols = list(PIECE_SCHEMA)
    for x, a, b in zip(done, ends[:-1], ends[1:], strict=True):
        mine = pieces.iloc[a:b]
        if not len(mine):
            continue
        geo = piece_geometries(x, mine[cols]).to_crs(4326)
        part = f"unit_id={quote(x.unit.unit_id, safe='')}"
        for name, frame in (("pieces", geo), ("gaps", geo[geo["status"] == "gap"])):
            if len(frame):
                (out[name] / part).mkdir()
                _geoparquet(frame, out[name] / part / "part.parquet", x.network.crs)
    return out


def _write(folder: Path, pieces: pd.DataFrame, league: pd.DataFrame,
           failed: dict[str, str], done: Sequence[UnitExtract], *,
           lang: str | None = None) -> dict[str, Path]:
    from ._render.province import province_map, province_png

    paths = {"pieces_csv": folder / "pieces.csv", "league_csv": folder / "league.csv",
             "league_xlsx": folder / "league.xlsx", "failed_csv": folder / "failed.csv",
             "province_map": folder / "province_map.html",
             "province_png": folder / "province_map.png"}
    # metres rounded to the nanometre, written as the shortest text of that number: a
    # float_format would format each of millions of numbers in Python (30 s a million)
    floats = pieces.select_dtypes("float").columns
    pieces.assign(**{c: pieces[c].round(9) for c in floats}).to_csv(paths["pieces_csv"],
                                                                    index=False)
    paths.update(_write_datasets(folder, done, pieces))
    league.to_csv(paths["league_csv"], index=False, float_format="%.9f")
    _write_xlsx(league, paths["league_xlsx"])
    pd.DataFrame({"unit_id": list(failed), "error": list(failed.values())}).to_csv(
        paths["failed_csv"], index=False)
    units = [x.unit for x in done]
    crs = done[0].network.crs if done else None
    province_map(units, league, crs=crs, lang=lang, failed=len(failed)).save(
        str(paths["province_map"]))
    paths["province_png"].write_bytes(province_png(units, league, crs=crs, lang=lang))
    return paths


def region_units(network: StreetNetwork, regions: str | Path,
                 source: str | Path | None = None) -> list[Unit]:
    """Units from ``grid:KM``, ``osm-admin:LEVEL`` (the administrative boundaries of that
    level in the OSM file ``source``; those the file holds only in part are left out, with
    a warning) or a polygon file with ``id`` and ``name`` columns (any CRS the file names;
    lon/lat when it names none)."""
    text = str(regions)
    if text.startswith("osm-admin:"):
        return _admin_units(network, text[len("osm-admin:"):], source)
    if text.startswith("grid:"):
        try:
            km = float(text[5:])
        except ValueError:
            km = float("nan")
        return grid_units(network, km=km)
    from .area import read_vector

    path = Path(text)
    if not path.exists():
        msg = f"{path}: no such region file (or give grid:KM)"
        raise InputError(msg)
    frame = read_vector(path)
    cols = {c.lower(): c for c in frame.columns}
    if "id" not in cols:
        msg = f"{path}: no id column (columns: {', '.join(map(str, frame.columns))})"
        raise InputError(msg)
    if frame.crs is None:
        frame = frame.set_crs(4326)
    frame = frame.to_crs(network.crs)
    names = frame[cols["name"]] if "name" in cols else frame[cols["id"]]
    return [Unit(str(i), str(n), g) for i, n, g in
            zip(frame[cols["id"]].tolist(), names.tolist(), frame.geometry.to_numpy(),
                strict=True)]


def _file_hash(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        return ""
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def partition(network: StreetNetwork, units: Sequence[Unit], out: str | Path, *,
              halo_m: float, sources: Sequence[str | Path] = ()) -> pd.DataFrame:
    """Write one extract per unit (its streets within ``halo_m``) and ``units.csv``.

    ``units.csv`` has ``unit_id``, ``name``, ``core_wkt`` (lon/lat), ``halo_m``,
    ``edges``, ``street_km`` and ``input_sha256`` (the hashes of ``sources``, the input
    files). Extracts are ``extracts/{unit_id}.pkl``, read back by :func:`read_units`.
    """
    if not np.isfinite(halo_m) or halo_m <= 0:
        msg = f"halo_m must be a number > 0 (metres), not {halo_m!r}"
        raise InputError(msg)
    folder = Path(out)
    (folder / "extracts").mkdir(parents=True, exist_ok=True)
    hashes = ";".join(_file_hash(s) for s in sources)
    rows = []
    for unit in units:
        x = unit_extract(network, unit, halo_m=halo_m)
        with (folder / "extracts" / f"{unit.unit_id}.pkl").open("wb") as fh:
            pickle.dump(x, fh, protocol=5)
        core_ll = gpd.GeoSeries([unit.core], crs=network.crs).to_crs(4326).iloc[0]
        rows.append({"unit_id": unit.unit_id, "name": unit.name,
                     "core_wkt": shapely.to_wkt(core_ll, rounding_precision=7),
                     "halo_m": float(halo_m), "edges": len(x.rows),
                     "street_km": float(x.network.edges["length_m"].sum()) / 1000,
                     "input_sha256": hashes})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "units.csv", index=False)
    return table


def read_units(folder: str | Path) -> list[UnitExtract]:
    """The extracts :func:`partition` wrote, in the order of ``units.csv``."""
    folder = Path(folder)
    table_path = folder / "units.csv"
    if not table_path.is_file():
        msg = f"{folder}: no units.csv here; make the units with stationplan partition"
        raise InputError(msg)
    table = pd.read_csv(table_path, dtype={"unit_id": str})
    out = []
    for uid in table["unit_id"].tolist():
        with (folder / "extracts" / f"{uid}.pkl").open("rb") as fh:
            out.append(pickle.load(fh))  # our own extracts, not a download
    return out


def _admin_units(network: StreetNetwork, level: str, source: str | Path | None) -> list[Unit]:
    from ._read.osm import read_osm_areas

    if source is None or not Path(source).is_file():
        msg = "osm-admin:LEVEL reads the boundaries from the network's OSM file; give one"
        raise InputError(msg)
    found = [b for b in read_osm_areas(source).boundaries if str(b.admin_level) == level]
    whole = [b for b in found if b.geometry is not None]
    if len(whole) < len(found):
        log.warning("%d of %d boundaries of admin level %s are only partly in the file and "
                    "are left out: %s", len(found) - len(whole), len(found), level,
                    ", ".join(b.names[0] if b.names else str(b.osmid)
                              for b in found if b.geometry is None))
    if not whole:
        msg = f"{source}: no complete boundary of admin level {level} in the file"
        raise InputError(msg)
    cores = gpd.GeoSeries([b.geometry for b in whole], crs=4326).to_crs(network.crs)
    return [Unit(str(b.osmid), b.names[0] if b.names else str(b.osmid), core)
            for b, core in zip(whole, cores.to_numpy(), strict=True)]
