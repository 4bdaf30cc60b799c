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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from .coverage import CoverageRule, compute_coverage
from .halo import (
    PIECE_COLUMNS,
    clip_to_core,
    pair_distance_m,
    required_halo_m,
    unit_network,
    unit_stations,
)
from .network import StreetNetwork
from .stations import snap_stations

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "Unit", "UnitExtract", "batch_coverage", "batch_coverage_extracts",
           "grid_units", "league_table", "partition", "read_units", "region_units",
           "unit_extract"]

SCHEDULERS = ("serial", "inprocess", "local")
LEAGUE_COLUMNS = ["unit_id", "name", "demand_km", "covered_km", "covered_share", "gap_km",
                  "stations", "cross_border_km"]


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
        the sum of the units.
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
    # the last tile ends beyond the last street (not on it): a street along the outer
    # side would have no owner (see stationplan.halo.owned)
    nx_, ny_ = int((x1 - x0) // size) + 1, int((y1 - y0) // size) + 1
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
    """One unit's owned pieces (runs on a worker).

    The stages of :func:`stationplan.pipeline.run_coverage` on the unit's streets: the
    stations snapped (:func:`~stationplan.snap_stations`), coverage by the engine
    (:func:`~stationplan.compute_coverage`, carriageway pairs and demand as marked on the
    whole network), then the pieces the core owns (:func:`~stationplan.halo.clip_to_core`).
    """
    snapped = snap_stations(sub, stations, max_snap_m=max_snap_m)
    cov = compute_coverage(sub, snapped, rule=rule)
    pieces = clip_to_core(cov, core, rows)
    # which serving stations stand outside the core: cross-border coverage
    pts = snapped.geometry.to_crs(sub.crs).to_numpy()
    ok = ~shapely.is_missing(pts)
    inside = pd.Series(False, index=snapped["station_id"].astype(str).to_numpy())
    inside[ok] = shapely.covers(core, pts[ok])
    inside = inside[~inside.index.duplicated()]
    served = pieces["station_id"].to_numpy(object)
    has = np.array([isinstance(v, str) for v in served], dtype=bool)
    cross = np.zeros(len(pieces), dtype=bool)
    if has.any():
        cross[has] = ~inside.reindex(served[has].astype(str), fill_value=True).to_numpy(bool)
    pieces["cross_border"] = cross
    return pieces


def _content_hash(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(pickle.dumps(part, protocol=5))
    return h.hexdigest()[:16]


def _unit_inputs(x: UnitExtract, stations: gpd.GeoDataFrame, rule: CoverageRule,
                 max_snap_m: float, halo_m: float) -> tuple[tuple[Any, ...], str]:
    """The task's arguments (streets within the rule's halo with their demand and
    carriageway pairs, stations near enough) and their content hash."""
    unit = x.unit
    sub, keep = unit_network(x.network, unit.core, halo_m=halo_m)
    rows = x.rows[keep]
    near = unit_stations(stations, unit.core, halo_m=halo_m, max_snap_m=max_snap_m,
                         crs=x.network.crs)
    e = sub.edges
    pairs = sub.carriageways
    flags = [c for c in ("demand", "in_area") if c in e]
    key = _content_hash(
        unit.unit_id, shapely.to_wkb(unit.core), halo_m, max_snap_m, rule.describe(),
        rows.tobytes(), shapely.to_wkb(e.geometry.to_numpy()).tolist(),
        # column by column with fixed types: a mixed frame's array would hold pointers
        *(e[c].to_numpy(np.int64).tobytes() for c in ("u", "v", "fwd", "bwd")),
        *(e[c].to_numpy(bool).tobytes() for c in flags), flags,
        # the demand (planning area, road classes) and the carriageway pairs change pieces
        repr(sorted(sub.demand.describe().items())),
        None if pairs is None else [pairs[c].to_numpy(np.int64).tobytes()
                                    for c in ("edge_id", "twin_edge_id", "run")],
        None if pairs is None else [pairs[c].to_numpy(float).tobytes()
                                    for c in ("start_m", "end_m", "twin_start_m",
                                              "twin_end_m")],
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
        Folder for ``pieces.csv``, ``pieces.parquet``, ``league.csv``, ``league.xlsx``,
        ``failed.csv`` and the per-unit results under ``units/`` (named by content
        hash); ``None`` writes nothing.
    scheduler
        "serial", "inprocess", "local" (a LocalCluster of ``workers`` processes), a
        scheduler address ``tcp://HOST:PORT``, or a ``dask.distributed.Client``.
    workers
        Worker processes for "local" (default: Dask's choice for the machine).
    resume
        Read the result of every unit whose content hash is already under
        ``out/units/`` instead of computing it again.

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
    pair_m = pair_distance_m(network)
    halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m, pair_m=pair_m)
    extracts = [unit_extract(network, u, halo_m=halo_m, pair_m=pair_m) for u in units]
    return batch_coverage_extracts(extracts, stations, rule=rule, max_snap_m=max_snap_m,
                                   out=out, scheduler=scheduler, workers=workers,
                                   resume=resume)


@dataclass(frozen=True)
class UnitExtract:
    """A unit with its streets: those within ``halo_m`` of the core, whole.

    ``rows`` maps the extract's edges to the whole network's; ``crs`` is the network's.
    The streets carry the whole network's demand (planning area cut, served classes) and
    its carriageway pairs among them; ``pair_m`` is the whole network's
    :func:`~stationplan.halo.pair_distance_m`, which the halo must also cover.
    """

    unit: Unit
    network: StreetNetwork
    rows: np.ndarray
    halo_m: float
    pair_m: float = 0.0


def unit_extract(network: StreetNetwork, unit: Unit, *, halo_m: float,
                 pair_m: float | None = None) -> UnitExtract:
    """The unit's extract: the streets within ``halo_m`` of its core, with their demand
    and carriageway pairs; ``pair_m`` defaults to the network's
    :func:`~stationplan.halo.pair_distance_m`."""
    sub, rows = unit_network(network, unit.core, halo_m=halo_m)
    if pair_m is None:
        pair_m = pair_distance_m(network)
    return UnitExtract(unit, sub, rows, float(halo_m), float(pair_m))


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
) -> BatchResult:
    """:func:`batch_coverage` on extracts made before (:func:`partition`).

    Raises
    ------
    InputError
        An extract's halo is shorter than the rule's reach plus twice ``max_snap_m`` plus
        the distance between twin carriageways (``UnitExtract.pair_m``).
    """
    pair_m = max((x.pair_m for x in extracts), default=0.0)
    halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m, pair_m=pair_m)
    short = [x.unit.unit_id for x in extracts if x.halo_m < halo_m - 1e-9]
    if short:
        need = float(np.ceil(halo_m))
        msg = (f"the units were cut with a halo of {min(x.halo_m for x in extracts):g} m; "
               f"this rule needs {halo_m:.1f} m (reach {rule.limit_m:g} m + 2 x snap "
               f"{max_snap_m:g} m + {pair_m:.1f} m between twin carriageways): partition "
               f"again with --halo-m {need:g}")
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
    if scheduler == "serial":
        for uid, (args, _) in todo.items():
            try:
                results[uid] = _unit_task(*args)
            except Exception as exc:  # one unit failing is reported
                failed[uid] = f"{type(exc).__name__}: {exc}"
    elif todo:
        client, close = _client(scheduler, workers)
        try:
            futures = {uid: client.submit(_unit_task, *args, key=f"unit-{uid}-{key}",
                                          pure=False)
                       for uid, (args, key) in todo.items()}
            for uid, fut in futures.items():
                try:
                    results[uid] = fut.result()
                except Exception as exc:  # one unit failing is reported
                    failed[uid] = f"{type(exc).__name__}: {exc}"
        finally:
            close()
    for uid, (_, key) in todo.items():
        if cache is not None and uid in results:
            results[uid].to_parquet(cache / f"{uid}-{key}.parquet", index=False)
    for uid, err in failed.items():
        log.warning("unit %s failed: %s", uid, err)
    done = [u for u in units if u.unit_id in results]
    pieces = pd.concat([results[u.unit_id].assign(unit_id=u.unit_id) for u in done]
                       or [_empty().assign(unit_id="")], ignore_index=True)
    pieces = pieces[["unit_id", *PIECE_COLUMNS, "cross_border"]]
    crs = extracts[0].network.crs if extracts else None
    league = league_table(pieces, done, stations, crs)
    paths: dict[str, Path] = {}
    if folder is not None:
        paths = _write(folder, pieces, league, failed)
    return BatchResult(pieces, league, failed, tuple(reused), paths)


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in PIECE_COLUMNS})
    frame["cross_border"] = pd.Series([], dtype=bool)
    return frame


def league_table(pieces: pd.DataFrame, units: Sequence[Unit], stations: gpd.GeoDataFrame,
                 crs: Any) -> pd.DataFrame:
    """One row per unit (:data:`LEAGUE_COLUMNS`) and a ``total`` row, their sum.

    ``stations`` counts the usable stations standing in the core; ``cross_border_km`` is
    covered length served by a station standing outside the core.
    """
    pts = stations.geometry.to_crs(crs).to_numpy()
    ok = (stations["status"] == "ok").to_numpy() & ~shapely.is_missing(pts)
    rows = []
    for u in units:
        p = pieces[pieces["unit_id"] == u.unit_id]
        length = p["length_m"].to_numpy(float)
        cov = (p["status"] == "covered").to_numpy()
        gap = (p["status"] == "gap").to_numpy()
        covered, gap_m = float(length[cov].sum()), float(length[gap].sum())
        demand = covered + gap_m
        rows.append({
            "unit_id": u.unit_id, "name": u.name, "demand_km": demand / 1000,
            "covered_km": covered / 1000,
            "covered_share": covered / demand if demand > 0 else np.nan,
            "gap_km": gap_m / 1000,
            "stations": int(shapely.covers(u.core, pts[ok]).sum()),
            "cross_border_km": float(length[cov & p["cross_border"].to_numpy(bool)].sum())
            / 1000,
        })
    league = pd.DataFrame(rows, columns=LEAGUE_COLUMNS)
    total = {c: league[c].sum() for c in ("demand_km", "covered_km", "gap_km", "stations",
                                          "cross_border_km")}
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


def _write(folder: Path, pieces: pd.DataFrame, league: pd.DataFrame,
           failed: dict[str, str]) -> dict[str, Path]:
    paths = {"pieces_csv": folder / "pieces.csv", "pieces_parquet": folder / "pieces.parquet",
             "league_csv": folder / "league.csv", "league_xlsx": folder / "league.xlsx",
             "failed_csv": folder / "failed.csv"}
    pieces.to_csv(paths["pieces_csv"], index=False, float_format="%.9f")
    pieces.to_parquet(paths["pieces_parquet"], index=False, partition_cols=None)
    league.to_csv(paths["league_csv"], index=False, float_format="%.9f")
    _write_xlsx(league, paths["league_xlsx"])
    pd.DataFrame({"unit_id": list(failed), "error": list(failed.values())}).to_csv(
        paths["failed_csv"], index=False)
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

    ``network`` is the whole network as ``stationplan coverage`` computes on it
    (:func:`stationplan.pipeline.coverage_network`): its demand marked once, for the whole
    area (the planning area, ``auto``, a file or none, cut at its boundary; the served road
    classes) and its dual carriageways paired once. Each extract keeps that demand and the
    pairs among its streets, so a unit's demand is its core within the planning area.

    ``units.csv`` has ``unit_id``, ``name``, ``core_wkt`` (lon/lat), ``halo_m``,
    ``edges``, ``street_km``, ``pair_m`` (the largest distance between twin carriageway
    positions, :func:`~stationplan.halo.pair_distance_m`, which the halo must cover too),
    ``area`` (where the planning area came from: ``auto``, a file name, or empty for the
    whole network) and ``input_sha256`` (the hashes of ``sources``, the input files).
    Extracts are ``extracts/{unit_id}.pkl``, read back by :func:`read_units`.
    """
    if not np.isfinite(halo_m) or halo_m <= 0:
        msg = f"halo_m must be a number > 0 (metres), not {halo_m!r}"
        raise InputError(msg)
    folder = Path(out)
    (folder / "extracts").mkdir(parents=True, exist_ok=True)
    hashes = ";".join(_file_hash(s) for s in sources)
    pair_m = pair_distance_m(network)  # once, for the whole network
    area = network.demand.area_label
    rows = []
    for unit in units:
        x = unit_extract(network, unit, halo_m=halo_m, pair_m=pair_m)
        with (folder / "extracts" / f"{unit.unit_id}.pkl").open("wb") as fh:
            pickle.dump(x, fh, protocol=5)
        core_ll = gpd.GeoSeries([unit.core], crs=network.crs).to_crs(4326).iloc[0]
        rows.append({"unit_id": unit.unit_id, "name": unit.name,
                     "core_wkt": shapely.to_wkt(core_ll, rounding_precision=7),
                     "halo_m": float(halo_m), "edges": len(x.rows),
                     "street_km": float(x.network.edges["length_m"].sum()) / 1000,
                     "pair_m": pair_m, "area": area or "",
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
