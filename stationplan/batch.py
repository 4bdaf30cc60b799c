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

import contextlib
import dataclasses
import hashlib
import itertools
import logging
import pickle
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError, StationplanError
from ._i18n import resolve_lang
from ._offset import OffsetDistances, offset_distances, offset_verdict
from ._options import (
    CANDIDATE_SNAP_M,
    CANDIDATE_SPACING_M,
    MAX_UNIT_EDGES,
    MIN_GAIN_M,
    MIN_SPACING_M,
    RESOLUTION_M,
    SEED,
    SPACING,
    TIME_LIMIT_S,
    check_option,
    check_regions,
    check_scheduler,
)
from ._outdir import ALLOCATION_FILES, moved, output_folder
from ._process import ProcessSettings, apply, current
from ._read.stations import usable_points
from .coverage import EPS_M, CoverageRule, compute_coverage, substrings
from .halo import (
    PIECE_COLUMNS,
    clip_to_core,
    owned,
    pair_distance_m,
    required_halo_m,
    unit_network,
    unit_stations,
)
from .network import StreetNetwork
from .stations import settle_offset, snap_stations, station_file, unusable_error

log = logging.getLogger(__name__)

__all__ = ["BatchPlan", "BatchResult", "PlanOptions", "QuotaSplit", "Unit", "UnitExtract",
           "UnitRef", "batch_allocate", "batch_coverage", "batch_coverage_extracts",
           "batch_plan_extracts", "core_network", "grid_units", "league_table",
           "local_cluster", "partition", "read_curves", "read_units", "region_units",
           "station_table", "unit_extract"]

LEAGUE_COLUMNS = ["unit_id", "name", "demand_km", "covered_km", "covered_share", "gap_km",
                  "stations", "proposed_sites", "cross_border_km"]
# The columns of the pieces and gaps datasets (GeoParquet, one folder per unit), with their
# types fixed: a unit without a covered piece would otherwise give a column of nulls.
PIECE_SCHEMA = {"edge_id": "int64", "start_m": "float64", "end_m": "float64",
                "length_m": "float64", "status": "string", "dist_m": "float64",
                "station_id": "string", "cross_border": "bool"}


@dataclass(frozen=True)
class Unit:
    """One unit of a partition: an id, a name and a core polygon in the network CRS.

    A region too large for one task is computed as tiles (:func:`split_units`): each tile
    is a unit whose ``region_id``, ``region_name`` and ``region_core`` are the region's;
    the league has one row per region (:meth:`region`), and coverage by a station outside
    the region, not the tile, is cross-border.
    """

    unit_id: str
    name: str
    core: Any
    region_id: str = ""
    region_name: str = ""
    region_core: Any = None

    def region(self) -> Unit:
        """The region the unit belongs to: itself, unless it is a tile of one.

        >>> import shapely
        >>> Unit("a~1", "A (1/2)", shapely.box(0, 0, 1, 1), "a", "A",
        ...      shapely.box(0, 0, 2, 1)).region().unit_id
        'a'
        """
        if not self.region_id:
            return self
        return Unit(self.region_id, self.region_name, self.region_core)


@dataclass(frozen=True)
class BatchResult:
    """What :func:`batch_coverage` computed and wrote.

    Parameters
    ----------
    pieces_
        The owned pieces of every unit that finished (``unit_id`` first, then the
        columns of :func:`stationplan.halo.clip_to_core`), in unit and edge order, or a
        function that reads them; :attr:`pieces` gives them.
    league
        One row per finished unit (:data:`LEAGUE_COLUMNS`) and a last ``total`` row,
        the sum of the units (:func:`league_table`).
    failed
        Unit id to the error message of each unit that failed.
    reused
        Ids of units whose result was read back from an earlier run (``resume``).
    paths
        Files written, by name.
    stations
        Every row of the station table with its status and unit (:func:`station_table`).
    """

    pieces_: pd.DataFrame | Callable[[], pd.DataFrame] = field(repr=False)
    league: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    reused: tuple[str, ...] = ()
    paths: dict[str, Path] = field(default_factory=dict)
    stations: pd.DataFrame | None = None

    @property
    def pieces(self) -> pd.DataFrame:
        """The owned pieces. With an output folder they are read from its store
        (``OUT/units/``) on first use: the units' results need not pass through the main
        process while the batch runs."""
        if callable(self.pieces_):
            object.__setattr__(self, "pieces_", self.pieces_())
        return cast(pd.DataFrame, self.pieces_)


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
               rule: CoverageRule, max_snap_m: float, border: Any = None) -> pd.DataFrame:
    """One unit's owned pieces (runs on a worker).

    The stages of :func:`stationplan.pipeline.run_coverage` on the unit's streets: the
    stations snapped (:func:`~stationplan.snap_stations`), coverage by the engine
    (:func:`~stationplan.compute_coverage`, carriageway pairs and demand as marked on the
    whole network), then the pieces the core owns (:func:`~stationplan.halo.clip_to_core`).
    Coverage by a station outside ``border`` (the core, or the region of a tile) is
    cross-border.
    """
    # the offset check weighs every unit's stations together (_settle_offsets)
    snapped = snap_stations(sub, stations, max_snap_m=max_snap_m, check_offset=False)
    cov = compute_coverage(sub, snapped, rule=rule)
    pieces = clip_to_core(cov, core, rows)
    # which serving stations stand outside the core: cross-border coverage
    pts = snapped.geometry.to_crs(sub.crs).to_numpy()
    ok = ~shapely.is_missing(pts)
    inside = pd.Series(False, index=snapped["station_id"].astype(str).to_numpy())
    inside[ok] = shapely.covers(core if border is None else border, pts[ok])
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
        shapely.to_wkb(near.geometry.to_crs(4326).to_numpy()).tolist(),
        # a tile's cross-border coverage is by stations outside its region
        *([shapely.to_wkb(unit.region_core)] if unit.region_core is not None else []))
    return (sub, rows, near, unit.core, rule, max_snap_m, unit.region_core), key


def _check_halo(extracts: Sequence[UnitExtract | UnitRef], *, reach_m: float,
                max_snap_m: float, what: str) -> float:
    """The halo the units need (:func:`~stationplan.halo.required_halo_m`: ``reach_m``,
    twice ``max_snap_m`` and the distance between twin carriageways), checked against the
    halo they were cut with. ``what`` begins the error's reason (``{halo}`` is the need).

    Raises
    ------
    InputError
        A unit's halo is shorter: one line with the ``--halo-m`` to partition again with.
    """
    pair_m = max((x.pair_m for x in extracts), default=0.0)
    halo_m = required_halo_m(reach_m=reach_m, max_snap_m=max_snap_m, pair_m=pair_m)
    short = [x for x in extracts if x.halo_m < halo_m - 1e-9]
    if short:
        msg = (f"the units were cut with a halo of {min(x.halo_m for x in short):g} m; "
               f"{what.format(halo=halo_m)} + 2 x snap {max_snap_m:g} m + {pair_m:.1f} m "
               f"between twin carriageways): partition again with --halo-m "
               f"{float(np.ceil(halo_m)):g}")
        raise InputError(msg)
    return halo_m


def local_cluster(workers: int | None = None) -> Any:
    """The ``local`` scheduler's cluster: a ``dask.distributed.LocalCluster`` of
    ``workers`` processes (default: one per core), one thread each.

    Dask starts its worker processes with ``MALLOC_TRIM_THRESHOLD_`` set, which makes the
    C allocator hand memory back to the system after every large array and fetch it again,
    zeroed, for the next: a unit's task then took 10 % more time on a worker than in
    this process. The workers here allocate as this process does (the other settings,
    one thread for the numeric libraries, are kept).
    """
    import dask
    from dask.distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    # Ctrl-C reaches every process of the terminal's group: the workers started here
    # ignore it (they inherit an ignored SIGINT, and Python then installs no handler of
    # its own), so that they do not each print a traceback; this process stops the run
    # and closes the cluster. A Ctrl-C while the workers start is therefore not seen.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), _sigint_ignored():
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=":0")


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile, where this thread may set signals (the main thread)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _process_settings(settings: ProcessSettings, dask_level: int = logging.NOTSET) -> Any:
    """A Dask worker plugin that applies the caller's process settings in each worker
    (:mod:`stationplan._process`), and the level of the caller's ``distributed`` logger
    (the command line shows Dask's lines only with ``--debug``)."""
    from dask.distributed import WorkerPlugin

    class ApplySettings(WorkerPlugin):  # sent by value (cloudpickle)
        def setup(self, worker: Any) -> None:
            apply(settings)
            if dask_level != logging.NOTSET:
                logging.getLogger("distributed").setLevel(dask_level)

    return ApplySettings()


def _client(scheduler: Any, workers: int | None) -> tuple[Any, Callable[[], None]]:
    """A Dask client for the scheduler name or address, and how to close it."""
    try:
        from dask.distributed import Client
    except ModuleNotFoundError as exc:  # the batch extra is not installed
        msg = (f"--scheduler {scheduler} needs Dask distributed: pip install "
               "'stationplan[batch]' (or run the units one after another with --scheduler "
               "serial)")
        zh = (f"--scheduler {scheduler} 需要 Dask distributed：pip install "
              "'stationplan[batch]'（或用 --scheduler serial 逐个计算各单元）")
        raise StationplanError(msg, zh=zh) from exc

    if not isinstance(scheduler, str):  # a Client made by the caller
        return scheduler, lambda: None
    if scheduler == "inprocess":
        client = Client(processes=False, n_workers=1, threads_per_worker=workers or 1,
                        dashboard_address=":0")
        return client, client.close
    if scheduler == "local":
        cluster = local_cluster(workers)
        client = Client(cluster)
        # the workers collect garbage and allocate Arrow memory as this process does (the
        # command line sets both for its run, see _process); a restarted worker too
        client.register_plugin(
            _process_settings(current(), logging.getLogger("distributed").getEffectiveLevel()),
            name="stationplan-process")

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    try:
        client = Client(scheduler)
    except OSError as exc:  # no scheduler there (Dask waits distributed.comm.timeouts.connect)
        why = " ".join(str(exc).split())
        msg = (f"--scheduler {scheduler}: no Dask scheduler answers there ({why}); start one "
               "(dask scheduler) and its workers, check the address, or use --scheduler local")
        zh = (f"--scheduler {scheduler}：该地址没有 Dask 调度器应答（{why}）；请先启动调度器"
              "（dask scheduler）和工作进程、检查地址，或改用 --scheduler local")
        raise StationplanError(msg, zh=zh) from exc
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
    overwrite: bool = False,
    on_unit: Callable[[str], None] | None = None,
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
        ``out/units/`` instead of computing it again; the run continues the one in
        ``out``, so its outputs are replaced as with ``overwrite``.
    lang
        Language of the province map: "zh", "en", or ``None`` for Chinese when a unit's
        name is Chinese.
    overwrite
        Replace the outputs of an earlier run in ``out``. ``out`` is one transaction
        (:func:`~stationplan._outdir.output_folder`): it holds the earlier outputs or the
        complete new ones, never a mix, whatever stops the run; the per-unit results
        under ``out/units/`` stay for ``resume``.
    on_unit
        Called with a unit's id as it ends (finished or failed), in the order units end:
        a progress bar's step.

    Returns
    -------
    BatchResult
    """
    check_scheduler(scheduler)
    ids = [u.unit_id for u in units]
    if len(set(ids)) != len(ids):
        msg = "unit ids must be unique"
        raise InputError(msg)
    pair_m = pair_distance_m(network)
    halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m, pair_m=pair_m)
    extracts = [unit_extract(network, u, halo_m=halo_m, pair_m=pair_m) for u in units]
    return batch_coverage_extracts(extracts, stations, rule=rule, max_snap_m=max_snap_m,
                                   out=out, scheduler=scheduler, workers=workers,
                                   resume=resume, lang=lang, overwrite=overwrite,
                                   on_unit=on_unit)


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


@dataclass(frozen=True)
class UnitRef:
    """A unit of a partition folder, its extract left on disk (``read_units(lazy=True)``).

    The task that computes the unit loads the extract itself (:meth:`load`), so that the
    main process holds no street. ``core`` is in ``crs``, the network's; ``halo_m`` and
    ``pair_m`` are those of the extract (``units.csv``).
    """

    unit: Unit
    path: Path
    halo_m: float
    pair_m: float
    crs: Any

    def load(self) -> UnitExtract:
        """The extract (:class:`UnitExtract`)."""
        with self.path.open("rb") as fh:
            x = pickle.load(fh)  # our own extracts, not a download
        if not isinstance(x, UnitExtract):
            msg = f"{self.path}: not a unit extract"
            raise InputError(msg)
        return x


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
    extracts: Sequence[UnitExtract | UnitRef],
    stations: gpd.GeoDataFrame,
    *,
    rule: CoverageRule,
    max_snap_m: float,
    out: str | Path | None = None,
    scheduler: Any = "serial",
    workers: int | None = None,
    resume: bool = False,
    lang: str | None = None,
    overwrite: bool = False,
    on_unit: Callable[[str], None] | None = None,
) -> BatchResult:
    """:func:`batch_coverage` on extracts made before (:func:`partition`).

    ``extracts`` are extracts or references to their files (:func:`read_units` with
    ``lazy=True``): each task then loads its own unit, and the main process only stitches
    the units' output files.

    ``lang`` is the language of the province map ("zh", "en"; by default Chinese when a
    unit's name is Chinese); ``out``, ``resume``, ``overwrite`` and ``on_unit`` are as for
    :func:`batch_coverage`.

    Raises
    ------
    InputError
        An extract's halo is shorter than the rule's reach plus twice ``max_snap_m`` plus
        the distance between twin carriageways (``UnitExtract.pair_m``).
    """
    check_scheduler(scheduler)
    halo_m = _check_halo(extracts, reach_m=rule.limit_m, max_snap_m=max_snap_m,
                         what=f"this rule needs {{halo:.1f}} m (reach {rule.limit_m:g} m")
    folder = Path(out) if out is not None else None
    with _outputs(folder, extracts, overwrite=overwrite or resume) as staging, \
            _store_unless_refused(folder):
        return _coverage_run(extracts, stations, rule=rule, max_snap_m=max_snap_m,
                             halo_m=halo_m, folder=folder, staging=staging,
                             scheduler=scheduler, workers=workers, resume=resume, lang=lang,
                             on_unit=on_unit)


def _outputs(folder: Path | None, extracts: Sequence[UnitExtract | UnitRef], *,
             overwrite: bool) -> contextlib.AbstractContextManager[Path | None]:
    """The output transaction of a batch run into ``folder`` (its staging folder), or
    nothing to write (``None``) without a folder. The units folder of ``extracts`` is an
    input: the outputs may not replace it."""
    if folder is None:
        return contextlib.nullcontext(None)
    units = {x.path.parent for x in extracts if isinstance(x, UnitRef)}
    return output_folder(folder, overwrite=overwrite,
                         inputs=[*units, *(u.parent / "units.csv" for u in units)])


@contextlib.contextmanager
def _store_unless_refused(folder: Path | None) -> Iterator[None]:
    """The units' store (``folder/units``) as a run leaves it: kept whatever happens, for
    ``resume``, unless the run is refused for its input (an :class:`InputError`, such as
    the CRS check or no usable station). What that run stored was computed from the
    stations refused and would never be reused: it is removed, with the store's folders
    if that leaves them empty, so a refused run leaves the output folder as it was."""
    cache = folder / "units" if folder is not None else None
    before = set(cache.rglob("*")) if cache is not None and cache.exists() else set()
    try:
        yield
    except InputError:
        if cache is not None and cache.exists():
            for path in sorted(set(cache.rglob("*")) - before, reverse=True):  # files first
                with contextlib.suppress(OSError):
                    if path.is_dir():
                        path.rmdir()
                    else:
                        path.unlink()
            for empty in (cache / "parts", cache):
                with contextlib.suppress(OSError):
                    empty.rmdir()
        raise


def _coverage_run(extracts: Sequence[UnitExtract | UnitRef], stations: gpd.GeoDataFrame, *,
                  rule: CoverageRule, max_snap_m: float, halo_m: float, folder: Path | None,
                  staging: Path | None, scheduler: Any, workers: int | None, resume: bool,
                  lang: str | None, on_unit: Callable[[str], None] | None) -> BatchResult:
    """The run of :func:`batch_coverage_extracts`: the units' results in ``folder/units``
    (kept whatever happens), the stitched outputs in ``staging``."""
    cache = folder / "units" if folder is not None else None
    if cache is not None:
        (cache / "parts").mkdir(parents=True, exist_ok=True)
    # each task loads its unit (an extract or its file), hashes it, reuses or computes
    # its result and writes its output parts: the main process only stitches files
    todo = {x.unit.unit_id: (x, rule, max_snap_m, halo_m,
                             None if cache is None else str(cache), resume, _unit_task)
            for x in _largest_first(extracts)}
    results, failed = _map_units(_coverage_unit, todo, scheduler, workers,
                                 shared=(stations,), on_unit=on_unit)
    found = _settle_offsets(stations, [r[4] for r in results.values()])
    units = [x.unit for x in extracts]
    failed = {u.unit_id: failed[u.unit_id] for u in units if u.unit_id in failed}
    for uid, err in failed.items():
        log.warning("unit %s failed: %s", uid, err)
    done = _whole_regions(extracts, results, failed)
    reused = [x.unit.unit_id for x in done if results[x.unit.unit_id][2]]

    def pieces() -> pd.DataFrame:
        frames = [(results[x.unit.unit_id][0] if cache is None else pd.read_parquet(
            _stored(cache, x.unit.unit_id, results[x.unit.unit_id][1])))
            .assign(unit_id=x.unit.unit_id) for x in done]
        out = pd.concat(frames or [_empty().assign(unit_id="")], ignore_index=True)
        return out[["unit_id", *PIECE_COLUMNS, "cross_border"]]

    crs = _crs_of(extracts[0]) if extracts else None
    sums = np.array([results[x.unit.unit_id][3] for x in done], dtype=float).reshape(-1, 3)
    league = _league(sums, [x.unit for x in done], stations, crs)
    table = station_table(stations, units, crs, found, max_snap_m=max_snap_m)
    _require_usable(table, stations, max_snap_m=max_snap_m)
    paths: dict[str, Path] = {}
    if folder is not None and cache is not None and staging is not None:
        parts = {x.unit.unit_id: _part_paths(cache / "parts", x.unit.unit_id,
                                             results[x.unit.unit_id][1]) for x in done}
        paths = moved(_write(staging, parts, league, failed, [x.unit for x in done], crs,
                             table, lang=lang), folder)
    return BatchResult(pieces if cache is not None else pieces(), league, failed,
                       tuple(reused), paths, table)


def _whole_regions(extracts: Sequence[UnitExtract | UnitRef], results: Mapping[str, Any],
                   failed: Mapping[str, str]) -> list[UnitExtract | UnitRef]:
    """The finished units, less every tile of a region with a failed tile: a region is
    stitched whole or not at all (its finished tiles stay stored for ``resume``)."""
    bad = {x.unit.region().unit_id for x in extracts if x.unit.unit_id in failed}
    for rid in sorted(bad - set(failed)):
        log.warning("region %s is left out of the outputs: one of its tiles failed", rid)
    return [x for x in extracts
            if x.unit.unit_id in results and x.unit.region().unit_id not in bad]


def _stored(cache: Path, uid: str, key: str) -> Path:
    """Where a unit's result is kept, by its content hash."""
    return cache / f"{uid}-{key}.parquet"


def _largest_first(extracts: Sequence[UnitExtract | UnitRef]
                   ) -> list[UnitExtract | UnitRef]:
    """The units, largest first (streets, or the extract file's size), so that workers do
    not wait on a large unit started last; the outputs keep the units' order."""
    def size(x: UnitExtract | UnitRef) -> int:
        return x.path.stat().st_size if isinstance(x, UnitRef) else len(x.rows)

    return sorted(extracts, key=size, reverse=True)


def _crs_of(x: UnitExtract | UnitRef) -> Any:
    return x.crs if isinstance(x, UnitRef) else x.network.crs


def _load(x: UnitExtract | UnitRef) -> UnitExtract:
    return x.load() if isinstance(x, UnitRef) else x


def _part_paths(folder: Path, uid: str, key: str) -> dict[str, Path]:
    """A unit's output parts in the cache: its rows of ``pieces.csv`` and its GeoParquet
    pieces and gaps (absent when the unit has none)."""
    return {name: folder / f"{uid}-{key}-{name}" for name in
            ("pieces.csv", "pieces.parquet", "gaps.parquet")}


def _coverage_unit(stations: gpd.GeoDataFrame, source: UnitExtract | UnitRef,
                   rule: CoverageRule, max_snap_m: float, halo_m: float, cache: str | None,
                   resume: bool, task: Callable[..., pd.DataFrame]
                   ) -> tuple[pd.DataFrame | None, str, bool, list[float], OffsetDistances]:
    """One unit of :func:`batch_coverage_extracts`, whole (runs on a worker).

    Loads the unit, computes its inputs and their content hash, reads its result back
    (``resume``) or computes it (``task``, :func:`_unit_task`) and stores it, then writes
    its output parts. Returns the owned pieces (``None`` when they are stored: the main
    process then needs only the sums), the content hash, whether the result was reused
    and the unit's covered, gap and cross-border metres (:func:`_unit_sums`), and the
    offset check's distances of the stations in its core (:func:`_unit_offsets`, also
    for a unit reused). Every scheduler runs this same function.
    """
    x = _load(source)
    uid = x.unit.unit_id
    offsets = _unit_offsets(x, stations)
    args, key = _unit_inputs(x, stations, rule, max_snap_m, halo_m)
    path = _stored(Path(cache), uid, key) if cache is not None else None
    reused = bool(resume and path is not None and path.exists())
    if reused and path is not None:
        frame = pd.read_parquet(path)
    elif len(args[1]) == 0:
        frame = _empty()
    else:
        frame = task(*args)
        if path is not None:  # stored as soon as it is done: a run stopped later keeps it
            _store(frame, path)
    if cache is not None:
        _write_parts(x, frame, _part_paths(Path(cache) / "parts", uid, key),
                     reuse=reused)
    return None if cache is not None else frame, key, reused, _unit_sums(frame), offsets


def _unit_offsets(x: UnitExtract, stations: gpd.GeoDataFrame) -> OffsetDistances:
    """The offset check's distances (:func:`stationplan._offset.offset_distances`) of the
    stations standing in the unit's core, to the unit's streets (its extract: the halo
    holds the nearest street of any station in the core)."""
    tree = shapely.STRtree(x.network.edges.geometry.to_numpy())
    xy = _station_xy(stations, x.network.crs)
    return offset_distances(x.network, stations, tree,
                            rows=np.flatnonzero(_owned_by(x.unit.core, xy)))


def _station_xy(stations: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    """The stations' coordinates (as read) in ``crs``; NaN where a row has no point."""
    pts = stations.geometry.to_crs(crs).to_numpy()
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    xy = np.full((len(pts), 2), np.nan)
    if ok.any():
        xy[ok] = shapely.get_coordinates(pts[ok])
    return xy


def _owned_by(core: Any, xy: np.ndarray) -> np.ndarray:
    """Which of the points ``xy`` (NaN: none) ``core`` owns (:func:`stationplan.halo.owned`:
    of cores sharing a side, one owns a point on it)."""
    inside = np.zeros(len(xy), dtype=bool)
    ok = ~np.isnan(xy[:, 0])
    if ok.any():
        inside[ok] = owned(core, xy[ok, 0], xy[ok, 1])
    return inside


STATION_COLUMNS = ["row", "station_id", "name", "status", "reason", "unit_id", "snap_dist_m",
                   "wgs84_lon", "wgs84_lat", "gcj02_lon", "gcj02_lat"]


def station_table(stations: gpd.GeoDataFrame, units: Sequence[Unit], crs: Any,
                  found: OffsetDistances, *, max_snap_m: float) -> pd.DataFrame:
    """Every row of the station table, in its order, with what the batch run made of it
    (``stations.csv``, :data:`STATION_COLUMNS`).

    ``status`` is the reader's for a row it could not use (``reason`` says why); else
    ``outside_units`` when no unit's core holds the station, ``too_far_from_street``
    when its nearest street is farther than ``max_snap_m`` (``snap_dist_m``: the
    distance to it, found by the unit's task; empty for a unit that failed), else
    ``ok``. ``unit_id`` is the region whose core holds the station (a tile's region).
    """
    n = len(stations)
    status = stations["status"].astype(str).to_numpy(object).copy()
    reason = (stations["reason"].fillna("").astype(str).to_numpy(object).copy()
              if "reason" in stations else np.full(n, "", dtype=object))
    unit_of = np.full(n, "", dtype=object)
    usable = usable_points(stations)
    if len(units):
        xy = _station_xy(stations, crs)  # projected once, not once per unit
        for u in units:
            free = np.flatnonzero(usable & (unit_of == ""))
            unit_of[free[_owned_by(u.core, xy[free])]] = u.region().unit_id
    dist = np.full(n, np.nan)
    dist[found.rows] = found.dist
    outside = usable & (unit_of == "")
    status[outside], reason[outside] = "outside_units", "in no unit's core"
    far = usable & ~outside & (dist > max_snap_m)
    status[far] = "too_far_from_street"
    reason[far] = f"more than {max_snap_m:g} m from every street of the network"
    from .chinacrs import wgs84_to_gcj02

    ll = stations.geometry.to_crs(4326)
    missing = (ll.isna() | ll.is_empty).to_numpy()
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon[~missing], lat[~missing] = ll.x.to_numpy()[~missing], ll.y.to_numpy()[~missing]
    glon, glat = (np.asarray(v, dtype=float) for v in wgs84_to_gcj02(lon, lat))
    return pd.DataFrame({
        "row": stations["row"].to_numpy() if "row" in stations else np.arange(1, n + 1),
        "station_id": stations["station_id"].astype(str).to_numpy(),
        "name": stations["name"].to_numpy(object) if "name" in stations else "",
        "status": status, "reason": reason, "unit_id": unit_of, "snap_dist_m": dist,
        "wgs84_lon": lon, "wgs84_lat": lat, "gcj02_lon": glon, "gcj02_lat": glat},
        columns=STATION_COLUMNS)


def _require_usable(table: pd.DataFrame, stations: gpd.GeoDataFrame, *,
                    max_snap_m: float) -> None:
    """Refuse a batch run none of whose stations was used, as ``stationplan coverage``
    refuses one (:func:`~stationplan.stations.require_usable`): a league at 0 % from a
    sheet of another town, or of unreadable rows, is not a result."""
    if len(table) == 0 or (table["status"] == "ok").any():
        return
    far = table["status"] == "too_far_from_street"
    raise unusable_error(table, file=station_file(stations), max_snap_m=max_snap_m,
                         nearest_m=float(table.loc[far, "snap_dist_m"].min()) if far.any()
                         else float("nan"))


def _settle_offsets(stations: gpd.GeoDataFrame, parts: Sequence[OffsetDistances]
                    ) -> OffsetDistances:
    """The offset check of a batch run: every unit's stations (each in one core) weighed
    together by the single run's rule (:func:`~stationplan.stations.settle_offset`: an
    InputError when they look read in the wrong system and nothing named it, a warning
    when the file named it). Returns the distances weighed."""
    found = OffsetDistances.concat(parts)
    settle_offset(stations, offset_verdict(stations, found))
    return found


def _unit_sums(frame: pd.DataFrame) -> list[float]:
    """A unit's covered, gap and cross-border metres, summed as :func:`league_table`
    sums them (``bincount``, in piece order), so that the league is the same whether the
    pieces or only these sums reach the main process."""
    length = frame["length_m"].to_numpy(float)
    status = frame["status"].to_numpy(object)
    cov = status == "covered"
    masks = (cov, status == "gap", cov & frame["cross_border"].to_numpy(bool))
    return [float(np.bincount(np.zeros(int(m.sum()), dtype=np.int64), weights=length[m],
                              minlength=1)[0]) for m in masks]


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    part = path.with_name(path.name + ".part")
    write(part)
    part.replace(path)


def _write_parts(x: UnitExtract, frame: pd.DataFrame, paths: Mapping[str, Path], *,
                 reuse: bool = False) -> None:
    """The unit's rows of ``pieces.csv`` (no header) and its GeoParquet pieces and gaps,
    each written whole or not at all; the rows last, so that they mark the parts done.
    With ``reuse`` (a result read back), parts already written are kept."""
    if reuse and paths["pieces.csv"].exists():
        return
    for path in paths.values():  # a part of an earlier run must not stay beside new ones
        path.unlink(missing_ok=True)
    mine = frame.assign(unit_id=x.unit.unit_id)[["unit_id", *PIECE_COLUMNS, "cross_border"]]
    if len(mine):
        geo = piece_geometries(x, mine[list(PIECE_SCHEMA)]).to_crs(4326)
        gaps = geo[geo["status"] == "gap"]
        if len(gaps):
            _atomic(paths["gaps.parquet"], lambda p: _geoparquet(gaps, p, x.network.crs))
        _atomic(paths["pieces.parquet"], lambda p: _geoparquet(geo, p, x.network.crs))
    _atomic(paths["pieces.csv"], lambda p: _csv_rows(mine, p))


def _csv_rows(frame: pd.DataFrame, path: Path) -> None:
    """``frame``'s rows as CSV without a header, written by Arrow: metres rounded to the
    nanometre as the shortest text of that number, text in double quotes, ``true`` and
    ``false``, empty for none (pandas' writer takes 7 times as long, which two units
    writing at once on two cores feel most)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    floats = frame.select_dtypes("float").columns
    table = pa.Table.from_pandas(frame.assign(**{c: frame[c].round(9) for c in floats}),
                                 preserve_index=False)
    pacsv.write_csv(table, str(path), pacsv.WriteOptions(include_header=False,
                                                          quoting_style="needed"))


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
    """One row per unit (:data:`LEAGUE_COLUMNS`; the tiles of a region added up into one
    row, :meth:`Unit.region`) and a ``total`` row, their sum.

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

    sums = np.column_stack([per_unit(cov), per_unit(gap), per_unit(cross)])
    return _league(sums, units, stations, crs, proposed=proposed)


def _league(sums: np.ndarray, units: Sequence[Unit], stations: gpd.GeoDataFrame, crs: Any,
            *, proposed: Mapping[str, int] | None = None) -> pd.DataFrame:
    """:func:`league_table` from each unit's covered, gap and cross-border metres: one
    row per region (a tile's metres and proposed sites added to its region's, in unit
    order; a unit that is no tile is its own region)."""
    regions: dict[str, Unit] = {}
    for u in units:
        regions.setdefault(u.region().unit_id, u.region())
    index = {rid: i for i, rid in enumerate(regions)}
    code = np.array([index[u.region().unit_id] for u in units], dtype=np.int64)
    by_region = np.zeros((len(regions), 3))
    for i, c in enumerate(code.tolist()):
        by_region[c] += sums[i]
    proposed = {rid: sum(int((proposed or {}).get(u.unit_id, 0)) for u in units
                         if u.region().unit_id == rid) for rid in regions}
    units = list(regions.values())
    ids = [u.unit_id for u in units]
    covered, gap_m, cross_m = (by_region[:, i] for i in range(3))
    demand = covered + gap_m
    pts = stations.geometry.to_crs(crs).to_numpy() if len(ids) else np.array([])
    ok = ((stations["status"] == "ok").to_numpy() & ~shapely.is_missing(pts)
          if len(ids) else np.array([], dtype=bool))
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


# How the workbooks show a column (the cells hold the CSV's exact values): shares as
# percentages, degrees with 6 decimals (about 0.1 m), kilometres to the metre, metres to
# the decimetre
_XLSX_FORMATS = {"covered_share": "0.0%", "share": "0.0%", "wgs84_lon": "0.000000",
                 "wgs84_lat": "0.000000", "gcj02_lon": "0.000000", "gcj02_lat": "0.000000",
                 **dict.fromkeys(("demand_km", "covered_km", "gap_km", "cross_border_km"),
                                 "0.000"),
                 **dict.fromkeys(("covered_m", "demand_m", "marginal_m", "bound_m"), "0.0")}


def _csv(frame: pd.DataFrame, path: Path, *, float_format: str | None = "%.9f") -> None:
    """``frame`` as CSV in UTF-8 with a BOM, which Excel on a Chinese office PC opens as
    UTF-8 (without it, as GBK: the names garbled); numbers with 9 decimals."""
    frame.to_csv(path, index=False, float_format=float_format, encoding="utf-8-sig")


def _write_xlsx(frame: pd.DataFrame, path: Path, *, sheet: str, lang: str) -> None:
    """``frame`` as a workbook of one sheet (:func:`stationplan._io.xlsx_bytes`: typed
    cells, text never a formula, the same bytes for the same table), its sheet name and
    headers in ``lang`` (the CSV's column codes in English)."""
    from ._i18n import WORDS, text
    from ._io import xlsx_bytes

    # a column of one sheet that means something else there has its own words
    header = [text(f"batch_col.{sheet}.{c}" if f"batch_col.{sheet}.{c}" in WORDS["en"]
                   else f"batch_col.{c}", lang) for c in frame.columns]
    cells = frame.astype(object).where(frame.notna(), None)
    if "certified" in cells:  # the verdict in words, as the closing line says it
        cells["certified"] = [text(f"certified.{v}", lang) if v else v
                              for v in cells["certified"]]
    rows = cells.to_numpy().tolist()
    formats = {h: _XLSX_FORMATS[c] for c, h in zip(frame.columns, header, strict=True)
               if c in _XLSX_FORMATS}
    path.write_bytes(xlsx_bytes([(text(f"batch_sheet.{sheet}", lang), [header, *rows])],
                                number_formats=formats))


def piece_geometries(x: UnitExtract, pieces: pd.DataFrame) -> gpd.GeoDataFrame:
    """A unit's pieces (``edge_id`` of the whole network) with their street geometry.

    Each piece is its street from ``start_m`` to ``end_m``, cut as the coverage engine
    cuts its pieces (:func:`stationplan.coverage.substrings`); a piece that is the whole
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
    split = np.flatnonzero((start > EPS_M) | (end < length - EPS_M))
    if len(split):
        geoms[split] = substrings(lines, local[split], start[split], end[split])
    return gpd.GeoDataFrame(pieces.reset_index(drop=True),
                            geometry=gpd.array.GeometryArray(geoms, crs=x.network.crs),
                            crs=x.network.crs)


def _geoparquet(frame: gpd.GeoDataFrame, path: Path, network_crs: Any) -> None:
    """``frame`` (in WGS-84) as GeoParquet, columns typed by :data:`PIECE_SCHEMA`, with
    the network's projected CRS in the file's metadata (``stationplan:network_crs``)."""
    import io
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    typed = frame.astype({c: ("object" if t == "string" else t)
                          for c, t in PIECE_SCHEMA.items()})
    # geopandas' own GeoParquet table (its "geo" metadata), by its public writer
    buf = io.BytesIO()
    typed.to_parquet(buf, index=False)
    table = pq.read_table(io.BytesIO(buf.getvalue()))
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


def _link(src: Path, dst: Path) -> None:
    """``dst`` as a hard link to ``src`` (the cache keeps its file), else a copy."""
    import os
    import shutil

    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _write(folder: Path, parts: Mapping[str, Mapping[str, Path]], league: pd.DataFrame,
           failed: dict[str, str], units: Sequence[Unit], crs: Any,
           stations: pd.DataFrame, *, lang: str | None = None) -> dict[str, Path]:
    """Stitch the units' parts (:func:`_write_parts`, in unit order) into ``pieces.csv``
    and the datasets ``pieces/`` and ``gaps/`` (``unit_id=ID/part.parquet``), and write the
    league, the stations, ``failed.csv`` and the province map."""
    import shutil
    from urllib.parse import quote

    from ._render.province import province_map, province_png

    paths = {"pieces_csv": folder / "pieces.csv", "league_csv": folder / "league.csv",
             "league_xlsx": folder / "league.xlsx", "failed_csv": folder / "failed.csv",
             "province_map": folder / "province_map.html",
             "province_png": folder / "province_map.png",
             "stations_csv": folder / "stations.csv"}
    with paths["pieces_csv"].open("wb") as out:
        out.write((",".join(["unit_id", *PIECE_COLUMNS, "cross_border"]) + "\n")
                  .encode("utf-8-sig"))
        for unit in units:
            with parts[unit.unit_id]["pieces.csv"].open("rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
    sets = {"pieces": folder / "pieces", "gaps": folder / "gaps"}
    for path in sets.values():  # an earlier run's units must not stay in the dataset
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
    for unit in units:
        part = f"unit_id={quote(unit.unit_id, safe='')}"
        for name, path in sets.items():
            src = parts[unit.unit_id][f"{name}.parquet"]
            if src.exists():
                (path / part).mkdir()
                _link(src, path / part / "part.parquet")
    paths.update(sets)
    _csv(league, paths["league_csv"])
    _write_xlsx(league, paths["league_xlsx"], sheet="league",
                lang=resolve_lang(lang, [u.name for u in units]))
    _csv(stations, paths["stations_csv"])
    _csv(pd.DataFrame({"unit_id": list(failed), "error": list(failed.values())}),
         paths["failed_csv"])
    regions = list({u.region().unit_id: u.region() for u in units}.values())
    province_map(regions, league, crs=crs, lang=lang, failed=len(failed)).save(
        str(paths["province_map"]))
    paths["province_png"].write_bytes(province_png(regions, league, crs=crs, lang=lang))
    return paths


# The columns of a region file that hold the units' ids, the first present taken (lower
# case); the names are found as the report's district names
# (stationplan.report.DISTRICT_NAME_COLUMNS: name, 名称, 街道, 乡镇, 区县, ...).
REGION_ID_COLUMNS = ("id", "unit_id", "code", "adcode", "区划代码", "行政区划代码", "xzqdm",
                     "代码", "编码", "编号")
# What no file name may hold (Windows' rule, the strictest): a unit id names its extract.
_NOT_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def region_units(network: StreetNetwork, regions: str | Path,
                 source: str | Path | None = None, *, id_column: str | None = None,
                 name_column: str | None = None, crs: Any = None) -> list[Unit]:
    """Units from ``grid:KM``, ``osm-admin:LEVEL`` (the administrative boundaries of that
    level in the OSM file ``source``; those the file holds only in part are left out, with
    a warning) or a polygon file.

    A polygon file is read as :func:`~stationplan.report.read_districts` reads district
    files (any CRS the file names, or ``crs``: "gcj02", "EPSG:4549", ...): the names from
    ``name_column`` or the first name column found (``name``, ``名称``, ``街道``, ``区县``,
    ...), the ids from ``id_column`` or the first of :data:`REGION_ID_COLUMNS` present,
    else the names themselves. Ids must be unique and usable as file names.
    """
    text = str(regions)
    check_regions(text)
    if text.startswith("osm-admin:"):
        return _admin_units(network, text[len("osm-admin:"):], source)
    if text.startswith("grid:"):
        return grid_units(network, km=float(text[5:]))
    from .report import read_districts

    path = Path(text)
    frame = read_districts(path, name_col=name_column, crs=crs,
                           id_col=id_column or REGION_ID_COLUMNS, crs_param="regions_crs",
                           what="region file", name_option="--name-column")
    names = frame["district"].tolist()
    id_col = frame.attrs["id_column"]
    ids = frame["district_id"].tolist() if id_col is not None else names
    where = f"column {id_col or frame.attrs['name_column']!r}"
    for i, uid in enumerate(ids):
        if not uid:
            msg = f"{path}: region {i + 1} has no id ({where}); give every region one"
            raise InputError(msg)
        if _NOT_IN_FILE_NAMES.search(uid) or uid in (".", ".."):
            msg = (f"{path}: region id {uid!r} ({where}) cannot name a file; use ids "
                   "without < > : \" / \\ | ? * (or name another column with --id-column)")
            raise InputError(msg)
    seen: dict[str, int] = {}
    for i, uid in enumerate(ids):
        if uid in seen:
            msg = (f"{path}: regions {seen[uid] + 1} and {i + 1} have the same id {uid!r} "
                   f"({where}); ids must be unique (name another column with --id-column)")
            raise InputError(msg)
        seen[uid] = i
    frame = frame.to_crs(network.crs)
    return [Unit(uid, name, g) for uid, name, g in
            zip(ids, names, frame.geometry.to_numpy(), strict=True)]


def split_units(network: StreetNetwork, units: Sequence[Unit], *, halo_m: float,
                max_edges: int) -> list[Unit]:
    """Each of ``units`` as tiles whose extracts (:func:`unit_extract`) hold at most
    ``max_edges`` street segments each, or as itself when its own does; in order.

    The core is halved across its longer side at the median midpoint of the streets it
    holds, again and again, until each tile's extract fits (a tile narrower than twice
    the halo, or holding streets no cut can part, is kept as it is). Tiles share their
    sides, so every street metre keeps one owner (:func:`~stationplan.halo.clip_to_core`).
    Tile ids are ``{unit_id}~{k}``, names ``{name} (k/n)``; each carries its region
    (:meth:`Unit.region`). One spatial index of the streets serves every unit, and the
    streets' midpoints are found only when a unit is halved.
    """
    lines = network.edges.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    mids: list[np.ndarray] = []

    def extract_edges(core: Any) -> int:
        return len(tree.query(core, predicate="dwithin", distance=halo_m))

    def halves(core: Any) -> list[Any] | None:
        x0, y0, x1, y1 = shapely.bounds(core)
        if max(x1 - x0, y1 - y0) < 2 * halo_m:  # the halo's own streets: halving no longer
            return None                           # makes the extract much smaller
        axis = 0 if x1 - x0 >= y1 - y0 else 1
        inside = tree.query(core, predicate="intersects")
        if not mids:
            mids.append(shapely.line_interpolate_point(lines, 0.5, normalized=True))
        pts = mids[0][inside]
        pts = pts[shapely.covers(core, pts)]
        if len(pts) < 2:
            return None
        cut = float(np.median(shapely.get_coordinates(pts)[:, axis]))
        lo, hi = (x0, y0)[axis], (x1, y1)[axis]
        if not lo < cut < hi:
            return None
        pad = 1.0 + max(x1 - x0, y1 - y0)
        boxes = ((shapely.box(x0 - pad, y0 - pad, cut, y1 + pad),
                  shapely.box(cut, y0 - pad, x1 + pad, y1 + pad)) if axis == 0 else
                 (shapely.box(x0 - pad, y0 - pad, x1 + pad, cut),
                  shapely.box(x0 - pad, cut, x1 + pad, y1 + pad)))
        parts = [_polygonal(shapely.intersection(core, b)) for b in boxes]
        return parts if all(p is not None for p in parts) else None

    def tiles(unit: Unit) -> list[Unit]:
        done: list[Any] = []
        todo = [unit.core]
        while todo:
            core = todo.pop(0)
            parts = halves(core) if extract_edges(core) > max_edges else None
            if parts is None:
                done.append(core)
            else:
                todo[:0] = parts  # depth first: tiles stay in order along the cuts
        over = [c for c in done if extract_edges(c) > max_edges]
        if over:
            log.warning("%s: %d of its %d tiles still hold more than %d street segments (a "
                        "tile's halo alone has that many); they run as they are",
                        unit.unit_id, len(over), len(done), max_edges)
        if len(done) == 1:
            return [unit]
        n = len(done)
        return [Unit(f"{unit.unit_id}~{k}", f"{unit.name} ({k}/{n})", core, unit.unit_id,
                     unit.name, unit.core) for k, core in enumerate(done, start=1)]

    return [t for unit in units for t in tiles(unit)]


def _polygonal(geom: Any) -> Any:
    """The polygons of ``geom`` (an intersection may add lines or points), or ``None``."""
    polys = [g for g in shapely.get_parts(geom)
             if shapely.get_type_id(g) in (3, 6) and not g.is_empty]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


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
              halo_m: float, sources: Sequence[str | Path] = (),
              max_unit_edges: int | None = MAX_UNIT_EDGES,
              overwrite: bool = False) -> pd.DataFrame:
    """Write one extract per unit (its streets within ``halo_m``) and ``units.csv``.

    ``out`` is one transaction (:func:`~stationplan._outdir.output_folder`): it holds the
    units of an earlier partition (replaced only with ``overwrite``) or all of the new
    ones, never a mix, whatever stops the run.

    A unit whose extract would hold more than ``max_unit_edges`` street segments (the
    task budget) is split into tiles (:func:`split_units`), each written as a unit of its
    region.

    ``network`` is the whole network as ``stationplan coverage`` computes on it
    (:func:`stationplan.pipeline.coverage_network`): its demand marked once, for the whole
    area (the planning area, ``auto``, a file or none, cut at its boundary; the served road
    classes) and its dual carriageways paired once. Each extract keeps that demand and the
    pairs among its streets, so a unit's demand is its core within the planning area.

    ``units.csv`` has ``unit_id``, ``name``, ``core_wkt`` (lon/lat), ``halo_m``,
    ``edges``, ``street_km``, ``pair_m`` (the largest distance between twin carriageway
    positions, :func:`~stationplan.halo.pair_distance_m`, which the halo must cover too),
    ``area`` (where the planning area came from: ``auto``, a file name, or empty for the
    whole network), ``input_sha256`` (the hashes of ``sources``, the input files), ``crs``
    (the network's), ``core_wkb`` (the core in that CRS, hex WKB: exactly the
    extract's), and for tiles ``region_id``, ``region_name`` and ``region_core_wkb`` (empty
    for a unit that is its own region). Extracts are ``extracts/{unit_id}.pkl``, read back
    by :func:`read_units`.
    """
    if not np.isfinite(halo_m) or halo_m <= 0:
        msg = f"halo_m must be a number > 0 (metres), not {halo_m!r}"
        raise InputError(msg)
    if max_unit_edges is not None:
        check_option("max_unit_edges", max_unit_edges)
        units = split_units(network, units, halo_m=halo_m, max_edges=int(max_unit_edges))
    with output_folder(out, overwrite=overwrite, inputs=sources) as staging:
        return _write_units(network, units, staging, halo_m=halo_m, sources=sources)


def _write_units(network: StreetNetwork, units: Sequence[Unit], folder: Path, *,
                 halo_m: float, sources: Sequence[str | Path]) -> pd.DataFrame:
    """The extracts and ``units.csv`` of :func:`partition`, written to ``folder``."""
    (folder / "extracts").mkdir()
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
                     "input_sha256": hashes, "crs": _crs_text(network.crs),
                     "core_wkb": shapely.to_wkb(unit.core, hex=True),
                     "region_id": unit.region_id, "region_name": unit.region_name,
                     "region_core_wkb": "" if unit.region_core is None else
                     shapely.to_wkb(unit.region_core, hex=True)})
    table = pd.DataFrame(rows)
    _csv(table, folder / "units.csv", float_format=None)
    return table


def read_units(folder: str | Path, *, lazy: bool = False
               ) -> list[UnitExtract] | list[UnitRef]:
    """The extracts :func:`partition` wrote, in the order of ``units.csv``.

    With ``lazy``, references to the extract files (:class:`UnitRef`) read from
    ``units.csv`` alone, for tasks that load their own unit; a folder written before
    ``units.csv`` had the ``crs`` and ``core_wkb`` columns is read whole instead.
    """
    import pyproj

    folder = Path(folder)
    table_path = folder / "units.csv"
    if not table_path.is_file():
        msg = f"{folder}: no units.csv here; make the units with stationplan partition"
        raise InputError(msg)
    table = pd.read_csv(table_path, dtype={"unit_id": str, "name": str, "crs": str,
                                           "core_wkb": str, "region_id": str,
                                           "region_name": str, "region_core_wkb": str},
                        keep_default_na=False)
    for col in ("region_id", "region_name", "region_core_wkb"):  # older folders: no tiles
        if col not in table:
            table[col] = ""
    paths = [folder / "extracts" / f"{uid}.pkl" for uid in table["unit_id"].tolist()]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        msg = f"{missing[0]}: no such extract ({len(missing)} missing); partition again"
        raise InputError(msg)
    if lazy and {"crs", "core_wkb", "halo_m", "pair_m"} <= set(table.columns):
        crs = {c: pyproj.CRS.from_user_input(c) for c in set(table["crs"])}
        return [UnitRef(Unit(str(uid), str(name), shapely.from_wkb(str(wkb)), str(rid),
                             str(rname), shapely.from_wkb(str(rwkb)) if rwkb else None),
                        p, float(halo), float(pair), crs[str(c)])
                for uid, name, wkb, rid, rname, rwkb, halo, pair, c, p in zip(
                    table["unit_id"], table["name"], table["core_wkb"], table["region_id"],
                    table["region_name"], table["region_core_wkb"], table["halo_m"],
                    table["pair_m"], table["crs"], paths, strict=True)]
    return [UnitRef(Unit("", "", None), p, 0.0, 0.0, None).load() for p in paths]


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


# --- plans per unit and a quota split across units ---------------------------------------
#
# Added beside coverage; the coverage functions above are unchanged. ``_map_units`` is the
# coverage run's task loop (serial, or futures on a Dask client with each unit's failure
# caught), taken out so that plans run the same way.

CURVE_COLUMNS = ["unit_id", "name", "k", "sites", "covered_m", "bound_m", "certified",
                 "gap_m", "demand_m", "reachable_m"]
SITE_COLUMNS = ["unit_id", "k", "rank", "candidate_id", "kind", "name", "marginal_m",
                "wgs84_lon", "wgs84_lat", "gcj02_lon", "gcj02_lat"]
ALLOCATION_COLUMNS = ["unit_id", "name", "stations", "covered_m", "demand_m", "share",
                      "marginal_m", "bound_m", "certified"]


@dataclass(frozen=True)
class PlanOptions:
    """The siting options of every unit's plans (see :func:`stationplan.plan_sites`).

    ``ks`` are the numbers of new sites planned per unit, 0 first: ``range(N + 1)`` for
    the best-K curve.
    """

    ks: tuple[int, ...]
    candidate_spacing_m: float = CANDIDATE_SPACING_M
    min_spacing_m: float | None = MIN_SPACING_M
    spacing: str = SPACING
    min_gain_m: float = MIN_GAIN_M
    resolution_m: float = RESOLUTION_M
    time_limit_s: float = TIME_LIMIT_S
    seed: int = SEED

    def spacing_m(self, rule: CoverageRule) -> float:
        """The spacing between stations the plans keep (the coverage limit by default)."""
        return rule.limit_m if self.min_spacing_m is None else float(self.min_spacing_m)


@dataclass(frozen=True)
class BatchPlan:
    """What :func:`batch_plan_extracts` computed and wrote.

    Parameters
    ----------
    curves
        One row per finished unit and K (:data:`CURVE_COLUMNS`), in unit order.
    sites
        The sites of each unit's K-plan (:data:`SITE_COLUMNS`), in unit, K and rank order.
    failed, reused, paths, stations
        As in :class:`BatchResult`.
    """

    curves: pd.DataFrame
    sites: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    reused: tuple[str, ...] = ()
    paths: dict[str, Path] = field(default_factory=dict)
    stations: pd.DataFrame | None = None


def core_network(sub: StreetNetwork, core: Any) -> StreetNetwork:
    """``sub`` cut where its streets cross the core's boundary, demand only what the core
    owns.

    The cut and the ownership are :func:`~stationplan.halo.clip_to_core`'s: a street part
    belongs to the core that covers its midpoint. Parts outside the core keep carrying
    paths and stations but are neither demand nor in the planning area (``in_area``), so
    a plan proposes no site there. The dual carriageways paired on the whole network stay
    paired, on the parts (:func:`~stationplan.carriageways.pairs_on_parts`): a paired
    stretch in the core is not demand and its primary side serves it, as in the league.
    """
    from .area import with_demand
    from .carriageways import pairs_on_parts

    e = sub.edges
    n = len(e)
    before = e.assign(unit_demand=e["demand"].to_numpy(bool) if "demand" in e
                      else np.ones(n, bool),
                      unit_in_area=e["in_area"].to_numpy(bool) if "in_area" in e
                      else np.ones(n, bool),
                      unit_row=np.arange(n, dtype=np.int64))
    # the planning area's cut: streets crossing the boundary are cut, a part is inside
    # when the core covers its midpoint (the rule of clip_to_core)
    net = with_demand(dataclasses.replace(sub, edges=before, carriageways=None),
                      area=gpd.GeoDataFrame(geometry=[core], crs=sub.crs),
                      area_label="unit core", pair_carriageways_m=0.0)
    edges = net.edges
    edges = edges.assign(in_area=edges["in_area"].to_numpy(bool)
                         & edges["unit_in_area"].to_numpy(bool),
                         demand=edges["demand"].to_numpy(bool)
                         & edges["unit_demand"].to_numpy(bool))
    parent = edges["unit_row"].to_numpy(np.int64)
    length = edges["length_m"].to_numpy(float)
    # where each part begins along its street: the lengths of the parts before it
    ends = np.cumsum(length)
    first = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])
    offset = ends - length - np.repeat(ends[first] - length[first], np.diff(np.r_[first,
                                                                                  len(parent)]))
    pairs = sub.carriageways
    if pairs is not None and len(pairs):
        pairs = pairs_on_parts(pairs, parent, offset)
    edges = edges.drop(columns=["unit_demand", "unit_in_area", "unit_row"])
    return dataclasses.replace(net, edges=edges, carriageways=pairs)


def _lonlat_columns(frame: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    from .chinacrs import wgs84_to_gcj02

    pts = frame.geometry.to_crs(4326)
    lon, lat = pts.x.to_numpy(float), pts.y.to_numpy(float)
    glon, glat = wgs84_to_gcj02(lon, lat) if len(lon) else (lon, lat)
    return {"wgs84_lon": lon, "wgs84_lat": lat, "gcj02_lon": np.asarray(glon, float),
            "gcj02_lat": np.asarray(glat, float)}


def _plan_task(sub: StreetNetwork, near: gpd.GeoDataFrame, core: Any, rule: CoverageRule,
               max_snap_m: float, opts: PlanOptions, hosts: gpd.GeoDataFrame | None,
               candidate_snap_m: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One unit's plans for every K of ``opts.ks`` (runs on a worker): its curve rows and
    sites, without ``unit_id`` and ``name``.

    Each K is :func:`~stationplan.plan_sites` with ``new_sites=K`` on the core network
    (:func:`core_network`); its covered metres are the coverage engine's for the existing
    stations and the K-plan's sites, on the demand the core owns. The bound is the plan's
    certificate (the street the existing stations cover plus the proved bound on what new
    sites add), capped by all that the candidates can reach, and tightened by the bound of
    any larger K; with fewer sites allowed no plan covers more.
    """
    from . import _limits
    from .candidates import join_candidates, snap_candidates, street_candidates
    from .siting import plan_sites, stations_with_proposals

    net = core_network(sub, core)
    snapped = snap_stations(net, near, max_snap_m=max_snap_m, check_offset=False)
    parts = [street_candidates(net, spacing_m=opts.candidate_spacing_m)]
    if hosts is not None and len(hosts):
        parts.insert(0, snap_candidates(net, hosts, kind="file", max_snap_m=candidate_snap_m))
    cands = join_candidates(parts)
    # candidates only on streets the core owns (and inside the planning area), renumbered
    cands = join_candidates([cands.loc[net.edges["in_area"].to_numpy(bool)[
        cands["edge_id"].to_numpy(np.int64)]]])
    before = compute_coverage(net, snapped, rule=rule).covered_m
    demand_m = float(net.edges.loc[net.edges["demand"], "length_m"].sum())
    if net.carriageways is not None and len(net.carriageways):  # counted on the twin
        p = net.carriageways
        on = net.edges["demand"].to_numpy(bool)[p["edge_id"].to_numpy(np.int64)]
        demand_m -= float((p["end_m"] - p["start_m"]).to_numpy(float)[on].sum())
    rows: list[dict[str, Any]] = []
    sites: list[pd.DataFrame] = []
    best_sites = pd.DataFrame(columns=SITE_COLUMNS[1:])
    exact = len(cands) > 0 and _limits.siting_model(
        net, cands, limit_m=rule.limit_m, resolution_m=opts.resolution_m) == "exact"
    reachable = before
    for k in opts.ks:
        if k == 0 or len(cands) == 0:
            covered, bound, kept = before, before, best_sites.iloc[:0]
        else:
            res = plan_sites(net, snapped, cands, rule=rule, new_sites=k,
                             model="exact" if exact else "units",
                             resolution_m=opts.resolution_m, min_spacing_m=opts.min_spacing_m,
                             spacing=opts.spacing, min_gain_m=opts.min_gain_m,
                             time_limit_s=opts.time_limit_s, seed=opts.seed)
            s = res.summary
            props = res.proposals
            covered = compute_coverage(net, stations_with_proposals(snapped, props),
                                       rule=rule).covered_m
            bound = demand_m
            if exact:  # the exact model's metres are the engine's (to rounding)
                reachable = max(reachable, float(s["reachable_m"]))
                bound = reachable
                if s["bound"] is not None:  # metres the new sites add, at most
                    bound = min(bound, before + float(s["bound"]))
            kept = pd.DataFrame({
                "k": k, "rank": props["rank"].to_numpy(np.int64),
                "candidate_id": props["candidate_id"].astype(str).to_numpy(),
                "kind": props["kind"].astype(str).to_numpy(),
                "name": props["name"].fillna("").astype(str).to_numpy(),
                "marginal_m": props["marginal_m"].to_numpy(float),
                **_lonlat_columns(props)})
        if rows and covered < rows[-1]["covered_m"]:
            # the smaller plan covers more and has at most k sites: it is the k-plan
            covered, kept = rows[-1]["covered_m"], best_sites.assign(k=k)
        best_sites = kept
        rows.append({"k": k, "sites": len(kept), "covered_m": covered, "bound_m": bound})
        sites.append(kept.assign(k=k))
    curve = pd.DataFrame(rows)
    # a bound for more sites bounds fewer too: a plan of at most K - 1 sites is one of at
    # most K; a bound below the engine's figure is rounding (the model's are to the mm)
    bounds = np.minimum.accumulate(curve["bound_m"].to_numpy(float)[::-1])[::-1]
    curve["bound_m"] = np.maximum(bounds, curve["covered_m"].to_numpy(float))
    gap = curve["bound_m"] - curve["covered_m"]
    curve["certified"] = np.where(gap <= 1e-3, "optimal", "within")
    curve["gap_m"] = gap
    curve["demand_m"] = demand_m
    curve["reachable_m"] = max(reachable, before)
    site_frame = pd.concat(sites, ignore_index=True)
    return curve, _typed(site_frame, SITE_COLUMNS[1:])


_TYPES = {"unit_id": str, "name": str, "k": np.int64, "sites": np.int64, "rank": np.int64,
          "candidate_id": str, "kind": str, "certified": str}


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame[columns]`` with fixed types (whole numbers, text, else float), so that a
    table written from fresh results and one read back from the cache are the same bytes."""
    return pd.DataFrame({c: frame[c].to_numpy().astype(_TYPES.get(c, np.float64))
                         if len(frame) else pd.Series([], dtype=_TYPES.get(c, np.float64))
                         for c in columns})


def _map_units(task: Callable[..., Any], todo: Mapping[str, tuple[Any, ...]],
               scheduler: Any, workers: int | None, *, shared: tuple[Any, ...] = (),
               on_unit: Callable[[str], None] | None = None,
               ) -> tuple[dict[str, Any], dict[str, str]]:
    """Run ``task(*shared, *args)`` for every unit of ``todo`` (unit id to arguments):
    serially, or as futures on :func:`_client`'s client, ``shared`` sent once to every
    worker. A unit that raises is reported (its error message) and the others finish.
    ``on_unit(unit_id)`` is called as each unit ends (finished or failed)."""
    import uuid

    results: dict[str, Any] = {}
    failed: dict[str, str] = {}
    done = on_unit or (lambda uid: None)
    if scheduler == "serial":
        with _extract_lines_held():
            for uid, args in todo.items():
                try:
                    results[uid] = task(*shared, *args)
                except Exception as exc:  # one unit failing is reported
                    failed[uid] = f"{type(exc).__name__}: {exc}"
                done(uid)
        return results, failed
    if not todo:
        return results, failed
    client, close = _client(scheduler, workers)
    try:
        with _extract_lines_held():
            sent = [None if obj is None else client.scatter(obj, broadcast=True, hash=False)
                    for obj in shared]
            name = getattr(task, "__name__", "task").strip("_")
            run = uuid.uuid4().hex[:12]
            futures = {client.submit(task, *sent, *args, key=f"{name}-{uid}-{run}",
                                     pure=False): uid
                       for uid, args in todo.items()}
            from dask.distributed import as_completed

            for fut in as_completed(futures):  # in the order they end: the bar moves
                uid = futures[fut]
                try:
                    results[uid] = fut.result()
                except Exception as exc:  # one unit failing is reported
                    failed[uid] = f"{type(exc).__name__}: {exc}"
                done(uid)
    finally:
        close()
    return results, failed


@contextlib.contextmanager
def _extract_lines_held() -> Iterator[None]:
    """Hold back the pipeline's INFO lines while units run in this process (serial, or
    the threads of an in-process client): each would give the figures of a unit's
    extract, its halo's streets and stations included ("4.9 of 42.9 km covered"), not the
    unit's, which are the league's and the curves'. Warnings still show, and so does
    everything at DEBUG (``--debug``); the level is restored after."""
    package = logging.getLogger("stationplan")
    level = package.level
    if package.getEffectiveLevel() == logging.INFO:
        package.setLevel(logging.WARNING)
    try:
        yield
    finally:
        package.setLevel(level)


def _plan_unit(stations: gpd.GeoDataFrame, hosts: gpd.GeoDataFrame | None,
               source: UnitExtract | UnitRef, rule: CoverageRule, max_snap_m: float,
               halo_m: float, options: PlanOptions, candidate_snap_m: float,
               cache: str | None, resume: bool, task: Callable[..., Any]
               ) -> tuple[pd.DataFrame, pd.DataFrame, bool, OffsetDistances]:
    """One unit of :func:`batch_plan_extracts`, whole (runs on a worker): loads the unit,
    hashes its inputs, reads its curve and sites back (``resume``) or plans them
    (``task``, :func:`_plan_task`) and stores them. Returns them, whether they were
    reused, and the offset check's distances of the stations in its core."""
    x = _load(source)
    uid = x.unit.unit_id
    offsets = _unit_offsets(x, stations)
    ks = tuple(int(k) for k in options.ks)
    args, base = _unit_inputs(x, stations, rule, max_snap_m, halo_m)
    sub, near, core = args[0], args[2], args[3]
    unit_hosts = None
    if hosts is not None:
        unit_hosts = unit_stations(hosts, core, halo_m=candidate_snap_m,
                                   max_snap_m=0.0, crs=x.network.crs)
    # "pairs on parts": plans stored before the core network kept its carriageway pairs
    # are not reused
    host_wkb = None if unit_hosts is None else shapely.to_wkb(
        unit_hosts.geometry.to_crs(4326).to_numpy()).tolist()
    key = _content_hash(base, "plan", "pairs on parts", ks, options, candidate_snap_m,
                        host_wkb)
    paths = [Path(cache) / f"{uid}-{key}-{part}.parquet" for part in ("curve", "sites")] \
        if cache is not None else []
    if resume and paths and all(p.exists() for p in paths):
        return pd.read_parquet(paths[0]), pd.read_parquet(paths[1]), True, offsets
    if len(args[1]) == 0:  # no street near the core: nothing to cover, no site
        return (pd.DataFrame({"k": ks, "sites": 0, "covered_m": 0.0, "bound_m": 0.0,
                              "certified": "optimal", "gap_m": 0.0, "demand_m": 0.0,
                              "reachable_m": 0.0}),
                pd.DataFrame(columns=SITE_COLUMNS[1:]), False, offsets)
    curve, sites = task(sub, near, core, rule, max_snap_m, options, unit_hosts,
                        candidate_snap_m)
    for frame, path in zip((curve, sites), paths, strict=False):
        _store(frame, path)
    return curve, sites, False, offsets


def batch_plan_extracts(
    extracts: Sequence[UnitExtract | UnitRef],
    stations: gpd.GeoDataFrame,
    *,
    rule: CoverageRule,
    max_snap_m: float,
    options: PlanOptions,
    hosts: gpd.GeoDataFrame | None = None,
    candidate_snap_m: float = CANDIDATE_SNAP_M,
    out: str | Path | None = None,
    scheduler: Any = "serial",
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    lang: str | None = None,
    on_unit: Callable[[str], None] | None = None,
) -> BatchPlan:
    """Every unit's best plans of K new sites (``options.ks``), each certified.

    Each unit plans on its extract: the existing stations anywhere in its halo count,
    candidates stand only on streets its core owns, and the demand is the street its core
    owns (:func:`core_network`), so a unit's covered metres are the ones
    :func:`batch_coverage` credits to it. The halo must be at least the larger of the
    coverage limit and the spacing between stations, plus twice ``max_snap_m``.

    Parameters
    ----------
    extracts
        The units (:func:`read_units`).
    stations
        Unsnapped existing stations (any CRS).
    rule, max_snap_m
        The coverage rule and the snap distance of the stations.
    options
        The K to plan for and the siting options; ``options.time_limit_s`` is the limit
        of each K's exact search.
    hosts, candidate_snap_m
        Willing hosts (unsnapped points, any CRS), added to the street candidates, and
        the farthest they may stand from a street.
    out
        Folder for ``curves.csv``, ``sites.csv``, ``sites.xlsx``, ``failed.csv`` and the
        per-unit results under ``units/`` (named by content hash); ``None`` writes nothing.
    scheduler, workers, resume, overwrite, on_unit
        As for :func:`batch_coverage` (``out`` is one transaction).
    lang
        Language of ``sites.xlsx``'s sheet and headers: "zh", "en", or ``None`` for
        Chinese when a unit's name is Chinese.

    Returns
    -------
    BatchPlan

    Raises
    ------
    InputError
        A bad scheduler, K or option, or units cut with too short a halo.
    """
    check_scheduler(scheduler)
    ks = tuple(int(k) for k in options.ks)
    if not ks or ks[0] != 0 or any(b <= a for a, b in itertools.pairwise(ks)):
        msg = f"the K of a plan curve must rise from 0, not {options.ks!r}"
        raise InputError(msg)
    for k in ks[1:]:
        check_option("new_sites", k)
    check_option("candidate_spacing_m", options.candidate_spacing_m)
    check_option("time_limit_s", options.time_limit_s)
    halo_m = _check_halo(extracts, reach_m=max(rule.limit_m, options.spacing_m(rule)),
                         max_snap_m=max_snap_m,
                         what=(f"plans need {{halo:.1f}} m (the larger of reach "
                               f"{rule.limit_m:g} m and spacing {options.spacing_m(rule):g} m"))
    folder = Path(out) if out is not None else None
    with _outputs(folder, extracts, overwrite=overwrite or resume) as staging, \
            _store_unless_refused(folder):
        cache = folder / "units" if folder is not None else None
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
        todo = {x.unit.unit_id: (x, rule, max_snap_m, halo_m, options, candidate_snap_m,
                                 None if cache is None else str(cache), resume, _plan_task)
                for x in _largest_first(extracts)}
        got, failed = _map_units(_plan_unit, todo, scheduler, workers,
                                 shared=(stations, hosts), on_unit=on_unit)
        found = _settle_offsets(stations, [r[3] for r in got.values()])
        table = station_table(stations, [x.unit for x in extracts],
                              _crs_of(extracts[0]) if extracts else None, found,
                              max_snap_m=max_snap_m)
        _require_usable(table, stations, max_snap_m=max_snap_m)
        plan = dataclasses.replace(_plan_outputs(extracts, got, failed), stations=table)
        if staging is not None and folder is not None:
            written = _write_plan(staging, plan, lang=resolve_lang(
                lang, [x.unit.name for x in extracts]))
            plan = dataclasses.replace(plan, paths=moved(written, folder))
    return plan


def _plan_outputs(extracts: Sequence[UnitExtract | UnitRef], got: Mapping[str, Any],
                  failed: Mapping[str, str]) -> BatchPlan:
    """The curves and sites of the units planned (``got``), in the units' order."""
    results = {uid: (c, s) for uid, (c, s, *_) in got.items()}
    reused = [x.unit.unit_id for x in extracts if x.unit.unit_id in got
              and got[x.unit.unit_id][2]]
    failed = {x.unit.unit_id: failed[x.unit.unit_id] for x in extracts
              if x.unit.unit_id in failed}
    for uid, err in failed.items():
        log.warning("unit %s failed: %s", uid, err)
    units = [x.unit for x in extracts if x.unit.unit_id in results]
    curves = _typed(pd.concat([results[u.unit_id][0].assign(unit_id=u.unit_id, name=u.name)
                               for u in units] or [pd.DataFrame(columns=CURVE_COLUMNS)],
                              ignore_index=True), CURVE_COLUMNS)
    sites = _typed(pd.concat([results[u.unit_id][1].assign(unit_id=u.unit_id) for u in units]
                             or [pd.DataFrame(columns=SITE_COLUMNS)], ignore_index=True),
                   SITE_COLUMNS)
    return BatchPlan(curves, sites, failed, tuple(reused), {})


def _write_plan(folder: Path, plan: BatchPlan, *, lang: str) -> dict[str, Path]:
    """Write ``curves.csv``, ``sites.csv``, ``sites.xlsx`` (in ``lang``) and
    ``failed.csv``."""
    written = {"curves_csv": folder / "curves.csv", "sites_csv": folder / "sites.csv",
               "sites_xlsx": folder / "sites.xlsx", "failed_csv": folder / "failed.csv"}
    _csv(plan.curves, written["curves_csv"])
    _csv(plan.sites, written["sites_csv"])
    _write_xlsx(plan.sites, written["sites_xlsx"], sheet="sites", lang=lang)
    _csv(pd.DataFrame({"unit_id": list(plan.failed), "error": list(plan.failed.values())}),
         written["failed_csv"])
    if plan.stations is not None:
        written["stations_csv"] = folder / "stations.csv"
        _csv(plan.stations, written["stations_csv"])
    return written



@dataclass(frozen=True)
class QuotaSplit:
    """What :func:`batch_allocate` found and wrote.

    Parameters
    ----------
    table
        One row per unit (:data:`ALLOCATION_COLUMNS`), an ``unallocated`` row for the
        stations that add nothing anywhere (only when there are some), and a ``total`` row.
    sites
        The sites of each unit's chosen plan (:data:`SITE_COLUMNS`).
    summary
        ``quota``, ``placed``, ``covered_m`` (the allocation's value: the engine's metres
        of the unit plans), ``upper_bound_m`` (the same dynamic programme over the units'
        certified bounds: no split of the quota, with any plans, covers more),
        ``gap_m``, ``optimal_for`` and ``certified`` ("optimal" when the bound meets the
        value, else "within"), ``fair`` and ``lowest_share``.
    paths
        Files written, by name.
    """

    table: pd.DataFrame
    sites: pd.DataFrame
    summary: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def read_curves(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``curves.csv`` and ``sites.csv`` of a :func:`batch_plan_extracts` folder, checked:
    every unit's curve runs K = 0, 1, ..., N without a gap."""
    folder = Path(folder)
    path = folder / "curves.csv"
    if not path.is_file():
        msg = f"{folder}: no curves.csv here; make it with stationplan batch plan --quota-curve N"
        raise InputError(msg)
    curves = pd.read_csv(path, dtype={"unit_id": str, "name": str, "certified": str})
    missing = [c for c in CURVE_COLUMNS if c not in curves]
    if missing:
        msg = f"{path}: missing columns {', '.join(missing)}"
        raise InputError(msg)
    for uid, rows in curves.groupby("unit_id", sort=False):
        if rows["k"].tolist() != list(range(len(rows))):
            msg = (f"{path}: unit {uid} has plans for K = {rows['k'].tolist()}, not every K "
                   "from 0; make the curve with stationplan batch plan --quota-curve N")
            raise InputError(msg)
    sites_path = folder / "sites.csv"
    sites = (pd.read_csv(sites_path, dtype={"unit_id": str, "candidate_id": str, "kind": str,
                                            "name": str}, keep_default_na=False)
             if sites_path.is_file() else pd.DataFrame(columns=SITE_COLUMNS))
    return curves, sites


def batch_allocate(folder: str | Path, quota: int, *, fair: bool = False,
                   out: str | Path | None = None, overwrite: bool = False,
                   lang: str | None = None) -> QuotaSplit:
    """Split ``quota`` new stations across the units of a batch plan folder.

    The split maximises the total covered street over the units' curves (with ``fair``,
    the lowest covered share first, then the total) by the exact dynamic programme of
    :func:`stationplan.allocate.allocate_quota`. "Optimal" is optimal for the curves: the
    best plan found per unit and K. Where a curve's certified bound lies above its value
    the same programme over the bounds gives an upper bound for any split and any plans;
    both are in the summary.

    Parameters
    ----------
    folder
        A folder written by :func:`batch_plan_extracts` (``curves.csv``, ``sites.csv``).
    quota
        New stations to share out (whole, >= 0). More than the curves can use is fine:
        the rest add 0 m and are reported as ``unallocated``.
    fair
        Maximise the lowest covered share of the units first.
    out
        Folder for ``allocation.csv``/``.xlsx``, ``allocation_sites.csv``/``.xlsx`` and
        ``allocation.json``; default ``folder``. Written as one transaction
        (:func:`~stationplan._outdir.output_folder`) that replaces only these files.
    overwrite
        Replace the files of an earlier allocation in ``out``.
    lang
        Language of the workbooks' sheets and headers: "zh", "en", or ``None`` for
        Chinese when a unit's name is Chinese.

    Returns
    -------
    QuotaSplit
    """
    import json

    from ._options import check_option
    from .allocate import allocate_quota

    check_option("quota", quota)
    quota = int(quota)
    curves, sites = read_curves(folder)
    groups = {str(u): g for u, g in curves.groupby("unit_id", sort=False)}
    if not groups:
        msg = f"{folder}: curves.csv has no unit"
        raise InputError(msg)
    values = {u: g["covered_m"].to_numpy(float) for u, g in groups.items()}
    bounds = {u: g["bound_m"].to_numpy(float) for u, g in groups.items()}
    demand = {u: float(g["demand_m"].iloc[0]) for u, g in groups.items()}
    names = {u: str(g["name"].iloc[0]) for u, g in groups.items()}
    if fair and any(d <= 0 for d in demand.values()):
        msg = "a fair split needs demand in every unit; a unit without demand street has none"
        raise InputError(msg)
    got = allocate_quota(values, quota, demand_m=demand, fair=fair)
    top = allocate_quota(bounds, quota, demand_m=demand, fair=fair)
    rows = []
    for u, g in groups.items():
        k = got.stations[u]
        rows.append({"unit_id": u, "name": names[u], "stations": k,
                     "covered_m": got.covered_m[u], "demand_m": demand[u],
                     "share": got.covered_m[u] / demand[u] if demand[u] > 0 else np.nan,
                     "marginal_m": got.marginal_m[u],
                     "bound_m": float(g["bound_m"].iloc[k]),
                     "certified": str(g["certified"].iloc[k])})
    placed = sum(got.stations.values())
    short = [u for u, g in groups.items()
             if got.stations[u] == len(g) - 1 and len(g) > 1 and got.marginal_m[u] > 0]
    if quota > placed and short:
        log.warning("%d of the %d new stations are beyond the curves: unit(s) %s use every K "
                    "planned and still gain at the last; plan longer curves (batch plan "
                    "--quota-curve) to place them", quota - placed, quota, ", ".join(short))
    if quota > placed:  # no unit's curve gains from them: they add 0 m
        rows.append({"unit_id": "unallocated", "name": "unallocated",
                     "stations": quota - placed, "covered_m": 0.0, "demand_m": 0.0,
                     "share": np.nan, "marginal_m": 0.0, "bound_m": 0.0, "certified": ""})
    table = pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)
    total_demand = float(sum(demand.values()))
    total = {"unit_id": "total", "name": "total", "stations": int(table["stations"].sum()),
             "covered_m": float(table["covered_m"].sum()), "demand_m": total_demand,
             "share": (float(table["covered_m"].sum()) / total_demand if total_demand > 0
                       else np.nan),
             "marginal_m": np.nan, "bound_m": float(table["bound_m"].sum()),
             "certified": ""}
    table = pd.concat([table, pd.DataFrame([total], columns=ALLOCATION_COLUMNS)],
                      ignore_index=True)
    chosen = [sites[(sites["unit_id"] == u) & (sites["k"] == k)]
              for u, k in got.stations.items()]
    picked = pd.concat(chosen or [sites.iloc[:0]], ignore_index=True)[SITE_COLUMNS]
    upper = float((top.lowest_share or 0.0) if fair else top.total_m)
    value = float((got.lowest_share or 0.0) if fair else got.total_m)
    gap = max(0.0, upper - value)
    tol = 1e-9 if fair else 1e-3
    summary: dict[str, Any] = {
        "quota": quota, "placed": placed, "unallocated": quota - placed, "fair": fair,
        "objective": "lowest covered share, then total" if fair else "total covered metres",
        "covered_m": round(float(got.total_m), 3),
        "lowest_share": got.lowest_share,
        "upper_bound": upper, "upper_bound_unit": "share" if fair else "metres",
        "gap": gap,
        "optimal_for": "the curves: the best plan found for each unit and K",
        "certified": "optimal" if gap <= tol else "within",
    }
    target = Path(out) if out is not None else Path(folder)
    with output_folder(target, overwrite=overwrite, replaces=ALLOCATION_FILES,
                       inputs=[Path(folder) / "curves.csv", Path(folder) / "sites.csv"]
                       ) as staging:
        paths = {"allocation_csv": staging / "allocation.csv",
                 "allocation_xlsx": staging / "allocation.xlsx",
                 "allocation_sites_csv": staging / "allocation_sites.csv",
                 "allocation_sites_xlsx": staging / "allocation_sites.xlsx",
                 "allocation_json": staging / "allocation.json"}
        _csv(table, paths["allocation_csv"])
        lang = resolve_lang(lang, table["name"].tolist())
        _write_xlsx(table, paths["allocation_xlsx"], sheet="allocation", lang=lang)
        _csv(picked, paths["allocation_sites_csv"])
        _write_xlsx(picked, paths["allocation_sites_xlsx"], sheet="sites", lang=lang)
        paths["allocation_json"].write_text(json.dumps(summary, indent=2, ensure_ascii=False)
                                            + "\n", encoding="utf-8")
    paths = moved(paths, target)
    log.info("allocation: %d of %d new stations placed, %.1f km covered (%s for the curves)",
             placed, quota, got.total_m / 1000, summary["certified"])
    return QuotaSplit(table, picked, summary, paths)
