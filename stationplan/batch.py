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
from .halo import PIECE_COLUMNS, clip_to_core, required_halo_m, unit_network, unit_stations
from .network import StreetNetwork
from .stations import snap_stations

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "Unit", "batch_coverage", "grid_units", "league_table"]

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


def _unit_inputs(network: StreetNetwork, stations: gpd.GeoDataFrame, unit: Unit,
                 rule: CoverageRule, max_snap_m: float, halo_m: float
                 ) -> tuple[tuple[Any, ...], str]:
    sub, rows = unit_network(network, unit.core, halo_m=halo_m)
    near = unit_stations(stations, unit.core, halo_m=halo_m, max_snap_m=max_snap_m,
                         crs=network.crs)
    e = sub.edges
    key = _content_hash(
        unit.unit_id, shapely.to_wkb(unit.core), halo_m, max_snap_m, rule.describe(),
        rows.tobytes(), shapely.to_wkb(e.geometry.to_numpy()).tolist(),
        e[["u", "v", "fwd", "bwd"]].to_numpy().tobytes(),
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
    halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m)
    folder = Path(out) if out is not None else None
    cache = folder / "units" if folder is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, pd.DataFrame] = {}
    failed: dict[str, str] = {}
    reused: list[str] = []
    todo: dict[str, tuple[tuple[Any, ...], str]] = {}
    for unit in units:
        args, key = _unit_inputs(network, stations, unit, rule, max_snap_m, halo_m)
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
    league = league_table(pieces, done, stations, network.crs)
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


def _write(folder: Path, pieces: pd.DataFrame, league: pd.DataFrame,
           failed: dict[str, str]) -> dict[str, Path]:
    paths = {"pieces_csv": folder / "pieces.csv", "pieces_parquet": folder / "pieces.parquet",
             "league_csv": folder / "league.csv", "league_xlsx": folder / "league.xlsx",
             "failed_csv": folder / "failed.csv"}
    pieces.to_csv(paths["pieces_csv"], index=False, float_format="%.9f")
    pieces.to_parquet(paths["pieces_parquet"], index=False, partition_cols=None)
    league.to_csv(paths["league_csv"], index=False, float_format="%.9f")
    league.to_excel(paths["league_xlsx"], index=False)
    pd.DataFrame({"unit_id": list(failed), "error": list(failed.values())}).to_csv(
        paths["failed_csv"], index=False)
    return paths
