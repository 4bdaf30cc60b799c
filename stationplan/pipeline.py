"""Whole jobs: each command of the command line as one function with the same inputs.

``stationplan coverage NETWORK STATIONS --out DIR`` is ``run_coverage(NETWORK, STATIONS,
out=DIR)``, with the same defaults (:mod:`stationplan._options` holds them once), so the
two give identical files and figures. Each function checks its options and the output
folder before any computation starts, runs the stages (network → stations → coverage →
gaps → siting / check → outputs) and returns a frozen result with what it computed, the
paths it wrote and the seconds each stage took.

Progress is reported through callbacks, never printed: ``on_stage(name)`` as each stage
starts, and ``progress(done, total)`` inside the long siting stage.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from . import _limits
from ._errors import InputError, MissingDataError
from ._options import (
    CANDIDATE_SNAP_M,
    CANDIDATE_SPACING_M,
    CANDIDATES,
    MAX_MINUTES,
    MAX_SNAP_M,
    MIN_GAIN_M,
    MODE,
    NETWORK_MARGIN_M,
    OSM_SUFFIXES,
    RADIUS_M,
    RESOLUTION_M,
    SEED,
    SPACING,
    TIME_LIMIT_S,
    CenterlineOptions,
    MapOptions,
)
from ._outdir import check_out_dir, run_files
from ._render.netout import write_network
from .area import BRIEF_ROAD_CLASSES, RoadClasses
from .coverage import Coverage, CoverageRule, compute_coverage
from .gaps import find_gaps
from .network import StreetNetwork, load_network
from .outputs import (
    write_check_outputs,
    write_coverage_outputs,
    write_plan_outputs,
    write_report_outputs,
    write_timings,
)
from .stations import read_stations, snap_stations
from .summary import summarize

log = logging.getLogger(__name__)

# The stages of each job, in order, as ``on_stage`` names them and ``timings`` keys them
# (name + "_s").
COVERAGE_STAGES = ("load_network", "stations", "coverage", "gaps", "write_outputs")
PLAN_STAGES = ("load_network", "stations", "candidates", "siting", "coverage_after",
               "write_outputs")
CHECK_STAGES = ("load_network", "stations", "check", "coverage", "write_outputs")
REPORT_STAGES = ("load_network", "stations", "coverage", "check", "write_outputs")


StageCallback = Callable[[str], None]
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class NetworkRun:
    """What :func:`run_network` built and wrote.

    Parameters
    ----------
    network
        The street network.
    paths
        File name -> path written (empty without ``out``).
    timings
        Seconds per stage.
    """

    network: StreetNetwork
    paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CoverageRun:
    """What :func:`run_coverage` computed and wrote.

    Parameters
    ----------
    network
        The street network.
    stations
        The stations read and snapped (every row, with its ``status``).
    coverage, gaps, summary
        Results of :func:`~stationplan.compute_coverage`, :func:`~stationplan.find_gaps`
        and :func:`~stationplan.summarize` (the data of ``summary.json``).
    paths
        File name -> path written (empty without ``out``).
    timings
        Seconds per stage (``<stage>_s``).
    """

    network: StreetNetwork
    stations: gpd.GeoDataFrame
    coverage: Coverage
    gaps: gpd.GeoDataFrame
    summary: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanRun:
    """What :func:`run_plan` computed and wrote.

    Parameters
    ----------
    network, stations
        As for :class:`CoverageRun` (the existing stations only).
    candidates
        The candidate sites the solver chose from.
    plan
        The :class:`~stationplan.siting.SitingResult` (proposals, curve, certificate).
    coverage, gaps, summary
        Coverage by the existing stations and the proposals together.
    paths
        File name -> path written (empty without ``out``).
    timings
        Seconds per stage, the siting result's own stages included.
    """

    network: StreetNetwork
    stations: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    plan: Any
    coverage: Coverage
    gaps: gpd.GeoDataFrame
    summary: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckRun:
    """What :func:`run_check` computed and wrote.

    Parameters
    ----------
    network, stations
        As for :class:`CoverageRun`.
    checked, check_summary
        Results of :func:`~stationplan.check_sites` and :func:`~stationplan.check_summary`.
    coverage, gaps
        Coverage by the existing stations, and its gaps.
    paths
        File name -> path written (empty without ``out``).
    timings
        Seconds per stage.
    """

    network: StreetNetwork
    stations: gpd.GeoDataFrame
    checked: gpd.GeoDataFrame
    check_summary: dict[str, Any]
    coverage: Coverage
    gaps: gpd.GeoDataFrame
    paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportRun:
    """What :func:`run_report` computed and wrote.

    Parameters
    ----------
    network, stations, coverage, gaps, summary
        As for :class:`CoverageRun`.
    checked, check_summary
        The checked proposals and their summary, or ``None`` without ``proposals``.
    paths
        File name -> path written (empty without ``out``).
    timings
        Seconds per stage.
    """

    network: StreetNetwork
    stations: gpd.GeoDataFrame
    coverage: Coverage
    gaps: gpd.GeoDataFrame
    summary: dict[str, Any]
    checked: gpd.GeoDataFrame | None = None
    check_summary: dict[str, Any] | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run_network(
    network: Any,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    mode: str = MODE,
    area: Any = None,
    area_place: str | None = None,
    margin_m: float = NETWORK_MARGIN_M,
    roads: RoadClasses | None = BRIEF_ROAD_CLASSES,
    centerline: CenterlineOptions | None = None,
    cache_dir: str | Path | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    on_stage: StageCallback | None = None,
) -> NetworkRun:
    """Build a street network and write it for inspection (``stationplan network``).

    Parameters
    ----------
    network
        Any source :func:`~stationplan.load_network` takes.
    out
        Folder for ``network.gpkg`` and ``network_summary.json``; ``None`` writes nothing.
    overwrite
        Replace earlier outputs in ``out`` (checked before the network is built).
    mode, area, area_place, margin_m, roads, centerline, cache_dir, overpass_url, nominatim_url
        As for :func:`~stationplan.load_network`; ``margin_m`` in metres.
    on_stage
        Called with each stage's name as it starts.

    Returns
    -------
    NetworkRun
    """
    if out is not None:
        check_out_dir(out, run_files("network"), overwrite=overwrite)
    stage = _Stages(on_stage)
    with stage("load_network"):
        net = load_network(
            network, mode=mode, area=area, area_place=area_place, margin_m=margin_m,
            roads=roads, centerline=centerline, cache_dir=cache_dir, overpass_url=overpass_url,
            nominatim_url=nominatim_url,
        )
    paths: dict[str, Path] = {}
    if out is not None:
        with stage("write_outputs"):
            paths = write_network(out, net, overwrite=overwrite)
    return NetworkRun(net, paths, stage.timings)


def run_coverage(
    network: Any,
    stations: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    mode: str = MODE,
    radius_m: float = RADIUS_M,
    max_minutes: float | None = MAX_MINUTES,
    speed_kmh: float | None = None,
    max_snap_m: float = MAX_SNAP_M,
    area: Any = None,
    area_place: str | None = None,
    margin_m: float | None = None,
    roads: RoadClasses | None = BRIEF_ROAD_CLASSES,
    centerline: CenterlineOptions | None = None,
    cache_dir: str | Path | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    map_options: MapOptions | None = None,
    on_stage: StageCallback | None = None,
) -> CoverageRun:
    """Coverage of a street network by existing stations (``stationplan coverage``).

    Parameters
    ----------
    network
        Any source :func:`~stationplan.load_network` takes: an OSM, centerline or GraphML
        file, a download (``place:NAME``, ``bbox:W,S,E,N``, ...) or an OSMnx graph.
    stations
        The station file (see :func:`~stationplan.read_stations`).
    out
        Output folder for the coverage files and ``timings.json``; ``None`` writes nothing.
    overwrite
        Replace earlier outputs in ``out``; without it, existing outputs are an error,
        raised before any computation starts.
    mode, radius_m, max_minutes, speed_kmh
        The coverage rule (:meth:`~stationplan.CoverageRule.for_mode`): travel mode, the
        network distance limit in metres and the travel-time limit in minutes (``None``:
        distance only, the command line's ``--no-time-limit``) at ``speed_kmh`` (default:
        the mode's speed).
    max_snap_m
        Stations farther than this many metres from every street are not used.
    area, area_place, roads, centerline, cache_dir, overpass_url, nominatim_url
        As for :func:`~stationplan.load_network`; ``roads`` defaults to
        :data:`~stationplan.BRIEF_ROAD_CLASSES`, like the command line's.
    margin_m
        Metres of streets kept beyond the area; default: the coverage limit.
    crs, encoding, sheet, lon_col, lat_col, name_col
        How the station file is read (see :func:`~stationplan.read_stations`).
    map_options
        Language and basemap of the map (:class:`~stationplan.MapOptions`).
    on_stage
        Called with each stage's name (:data:`COVERAGE_STAGES`) as it starts.

    Returns
    -------
    CoverageRun
    """
    map_options = map_options or MapOptions()
    rule = _rule(mode, radius_m, max_minutes, speed_kmh)
    if out is not None:
        check_out_dir(out, run_files("coverage"), overwrite=overwrite)
    stage = _Stages(on_stage)
    net, snapped = _network_and_stations(
        network, stations, rule, stage, max_snap_m=max_snap_m,
        net_kw=_net_kw(mode, area, area_place, margin_m, rule, roads, centerline, cache_dir,
                       overpass_url, nominatim_url),
        read_kw=_read_kw(crs, encoding, sheet, lon_col, lat_col, name_col))
    _check_coverage_memory(net, snapped)
    with stage("coverage"):
        cov = compute_coverage(net, snapped, rule=rule)
    with stage("gaps"):
        gaps = find_gaps(cov)
        summary = summarize(cov, gaps)
    log.info(
        "covered %.1f %% of %.1f km; %d gap clusters; %d of %d stations used",
        100 * summary["covered_share"], summary["total_m"] / 1000, summary["gap_clusters"],
        summary["stations_used"], summary["stations_read"],
    )
    paths: dict[str, Path] = {}
    if out is not None:
        with stage("write_outputs"):
            paths = write_coverage_outputs(out, cov, gaps, summary, overwrite=overwrite,
                                           map_options=map_options)
        paths["timings.json"] = write_timings(out, stage.timings)
    return CoverageRun(net, snapped, cov, gaps, summary, paths, stage.timings)


def run_plan(
    network: Any,
    stations: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    target_share: float | None = None,
    new_sites: int | None = None,
    candidates: str | Path = CANDIDATES,
    candidate_spacing_m: float = CANDIDATE_SPACING_M,
    candidate_snap_m: float = CANDIDATE_SNAP_M,
    exclude: str | Path | gpd.GeoDataFrame | None = None,
    resolution_m: float = RESOLUTION_M,
    class_weights: Mapping[str, float] | None = None,
    min_spacing_m: float | None = None,
    spacing: str = SPACING,
    time_limit_s: float = TIME_LIMIT_S,
    seed: int = SEED,
    districts: str | Path | gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    mode: str = MODE,
    radius_m: float = RADIUS_M,
    max_minutes: float | None = MAX_MINUTES,
    speed_kmh: float | None = None,
    max_snap_m: float = MAX_SNAP_M,
    area: Any = None,
    area_place: str | None = None,
    margin_m: float | None = None,
    roads: RoadClasses | None = BRIEF_ROAD_CLASSES,
    centerline: CenterlineOptions | None = None,
    cache_dir: str | Path | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    map_options: MapOptions | None = None,
    on_stage: StageCallback | None = None,
    progress: ProgressCallback | None = None,
) -> PlanRun:
    """Propose new station sites and certify them (``stationplan plan``).

    Parameters
    ----------
    network, stations, out, overwrite
        As for :func:`run_coverage`; ``out`` also gets the plan files and the report.
    target_share, new_sites
        The goal (give at most one): the fewest new sites reaching ``target_share`` (0 to
        1) of the coverable streets, or the ``new_sites`` sites covering the most; default
        ``target_share`` 1.0 (the command line's ``--target 100%``).
    candidates
        "osm" (host shops in the OSM file), "streets" (every ``candidate_spacing_m``
        metres), a file of willing hosts, or "auto": "osm" for OSM files, else "streets".
    candidate_spacing_m, candidate_snap_m
        Metres between street candidates; hosts farther than ``candidate_snap_m`` from
        a street are left out.
    exclude
        Polygons (a file or a GeoDataFrame, any CRS) where no station may go.
    resolution_m, class_weights, min_spacing_m, spacing, time_limit_s, seed
        As for :func:`~stationplan.siting.plan_sites` (``class_weights`` is the command
        line's ``--weights``).
    districts, district_col
        District polygons (a file, read with :func:`~stationplan.read_districts`, or a
        GeoDataFrame) for a per-district table in the report.
    mode, radius_m, max_minutes, speed_kmh, max_snap_m, area, area_place, margin_m, roads, \
centerline, cache_dir, overpass_url, nominatim_url, crs, encoding, sheet, lon_col, lat_col, \
name_col, map_options
        As for :func:`run_coverage`.
    on_stage
        Called with each stage's name (:data:`PLAN_STAGES`) as it starts.
    progress
        Called as ``progress(done, total)`` while coverage sets are computed in siting.

    Returns
    -------
    PlanRun
    """
    from .candidates import exclude_zones, osm_candidates, snap_candidates, street_candidates
    from .siting import plan_sites, stations_with_proposals

    map_options = map_options or MapOptions()
    if target_share is not None and new_sites is not None:
        msg = "give target_share or new_sites, not both"
        raise InputError(msg)
    rule = _rule(mode, radius_m, max_minutes, speed_kmh)
    if out is not None:
        check_out_dir(out, run_files("plan"), overwrite=overwrite)
    districts = _districts(districts, district_col)
    read_kw = _read_kw(crs, encoding, sheet, lon_col, lat_col, name_col)
    stage = _Stages(on_stage)
    net, snapped = _network_and_stations(
        network, stations, rule, stage, max_snap_m=max_snap_m, read_kw=read_kw,
        net_kw=_net_kw(mode, area, area_place, margin_m, rule, roads, centerline, cache_dir,
                       overpass_url, nominatim_url))
    with stage("candidates"):
        source = candidates
        if source == "auto":
            source = "osm" if str(network).lower().endswith(OSM_SUFFIXES) else "streets"
        if source == "streets":
            cands = street_candidates(net, spacing_m=candidate_spacing_m)
        elif source == "osm":
            cands = osm_candidates(net, network, max_snap_m=candidate_snap_m)
        else:
            points = read_stations(source, **read_kw)
            points = points[points["status"] == "ok"]
            cands = snap_candidates(net, points, kind="file", max_snap_m=candidate_snap_m)
        if exclude is not None:
            zones = exclude if isinstance(exclude, gpd.GeoDataFrame) else gpd.read_file(exclude)
            cands = exclude_zones(cands, zones)
        if cands.empty:
            msg = f"no candidate sites ({source}); try --candidates streets"
            raise MissingDataError(msg)
    _limits.check_siting(net, cands, limit_m=rule.limit_m, resolution_m=resolution_m)
    _check_coverage_memory(net, snapped)
    with stage("siting"):
        result = plan_sites(
            net, snapped, cands, rule=rule,
            target_share=1.0 if target_share is None and new_sites is None else target_share,
            new_sites=new_sites, resolution_m=resolution_m,
            class_weights=dict(class_weights or {}), min_spacing_m=min_spacing_m,
            spacing=spacing, time_limit_s=time_limit_s, seed=seed, progress=progress,
        )
    with stage("coverage_after"):
        after = stations_with_proposals(snapped, result.proposals)
        cov = compute_coverage(net, after, rule=rule)
        gaps = find_gaps(cov)
        summary = summarize(cov, gaps)
    paths: dict[str, Path] = {}
    if out is not None:
        with stage("write_outputs"):
            paths = write_coverage_outputs(out, cov, gaps, summary, overwrite=overwrite,
                                           proposals=result.proposals,
                                           map_options=map_options)
            paths |= write_plan_outputs(out, result, overwrite=overwrite)
            paths = write_report_outputs(out, cov, gaps, summary, paths, plan=result,
                                         districts=districts, lang=map_options.lang,
                                         overwrite=overwrite)
    timings = {**stage.timings, **result.timings}
    if out is not None:
        paths["timings.json"] = write_timings(out, timings)
    return PlanRun(net, snapped, cands, result, cov, gaps, summary, paths, timings)


def run_check(
    network: Any,
    stations: str | Path,
    proposals: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    proposal_crs: Any = None,
    min_gain_m: float = MIN_GAIN_M,
    spacing_m: float | None = None,
    class_weights: Mapping[str, float] | None = None,
    benchmark: bool = True,
    candidate_spacing_m: float = CANDIDATE_SPACING_M,
    time_limit_s: float = TIME_LIMIT_S,
    mode: str = MODE,
    radius_m: float = RADIUS_M,
    max_minutes: float | None = MAX_MINUTES,
    speed_kmh: float | None = None,
    max_snap_m: float = MAX_SNAP_M,
    area: Any = None,
    area_place: str | None = None,
    margin_m: float | None = None,
    roads: RoadClasses | None = BRIEF_ROAD_CLASSES,
    centerline: CenterlineOptions | None = None,
    cache_dir: str | Path | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    map_options: MapOptions | None = None,
    on_stage: StageCallback | None = None,
) -> CheckRun:
    """Verdicts on proposed sites (``stationplan check``).

    Parameters
    ----------
    network, stations, out, overwrite
        As for :func:`run_coverage`; ``out`` gets the check files.
    proposals
        The proposed sites: any station file format.
    proposal_crs
        Coordinate system of the proposal file when it differs from ``crs``.
    min_gain_m, spacing_m, class_weights
        As for :func:`~stationplan.check_sites` (``class_weights`` is the command line's
        ``--weights``).
    benchmark, candidate_spacing_m, time_limit_s
        As for :func:`~stationplan.check_summary`; on here as on the command line
        (``--no-benchmark`` turns it off).
    mode, radius_m, max_minutes, speed_kmh, max_snap_m, area, area_place, margin_m, roads, \
centerline, cache_dir, overpass_url, nominatim_url, crs, encoding, sheet, lon_col, lat_col, \
name_col, map_options
        As for :func:`run_coverage`.
    on_stage
        Called with each stage's name (:data:`CHECK_STAGES`) as it starts.

    Returns
    -------
    CheckRun
    """
    map_options = map_options or MapOptions()
    rule = _rule(mode, radius_m, max_minutes, speed_kmh)
    if out is not None:
        check_out_dir(out, run_files("check"), overwrite=overwrite)
    read_kw = _read_kw(crs, encoding, sheet, lon_col, lat_col, name_col)
    stage = _Stages(on_stage)
    net, snapped = _network_and_stations(
        network, stations, rule, stage, max_snap_m=max_snap_m, read_kw=read_kw,
        net_kw=_net_kw(mode, area, area_place, margin_m, rule, roads, centerline, cache_dir,
                       overpass_url, nominatim_url))
    _check_coverage_memory(net, snapped)
    with stage("check"):
        checked, summary = _check_proposals(
            net, snapped, proposals, rule, read_kw=read_kw, proposal_crs=proposal_crs,
            min_gain_m=min_gain_m, spacing_m=spacing_m, max_snap_m=max_snap_m,
            class_weights=class_weights, benchmark=benchmark,
            candidate_spacing_m=candidate_spacing_m, time_limit_s=time_limit_s)
    with stage("coverage"):
        cov = compute_coverage(net, snapped, rule=rule)
        gaps = find_gaps(cov)
    paths: dict[str, Path] = {}
    if out is not None:
        with stage("write_outputs"):
            paths = write_check_outputs(out, checked, summary, coverage=cov, gaps=gaps,
                                        overwrite=overwrite, area=net.demand.area,
                                        map_options=map_options)
    return CheckRun(net, snapped, checked, summary, cov, gaps, paths, stage.timings)


def run_report(
    network: Any,
    stations: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    proposals: str | Path | None = None,
    proposal_crs: Any = None,
    min_gain_m: float = MIN_GAIN_M,
    spacing_m: float | None = None,
    class_weights: Mapping[str, float] | None = None,
    benchmark: bool = True,
    candidate_spacing_m: float = CANDIDATE_SPACING_M,
    time_limit_s: float = TIME_LIMIT_S,
    districts: str | Path | gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    mode: str = MODE,
    radius_m: float = RADIUS_M,
    max_minutes: float | None = MAX_MINUTES,
    speed_kmh: float | None = None,
    max_snap_m: float = MAX_SNAP_M,
    area: Any = None,
    area_place: str | None = None,
    margin_m: float | None = None,
    roads: RoadClasses | None = BRIEF_ROAD_CLASSES,
    centerline: CenterlineOptions | None = None,
    cache_dir: str | Path | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    map_options: MapOptions | None = None,
    on_stage: StageCallback | None = None,
) -> ReportRun:
    """A planning report with the coverage outputs (``stationplan report``).

    Parameters
    ----------
    network, stations, out, overwrite
        As for :func:`run_coverage`; ``out`` gets the coverage files, the check files
        (with ``proposals``) and ``report.html``/``.md``/``.json``.
    proposals, proposal_crs, min_gain_m, spacing_m, class_weights, benchmark, \
candidate_spacing_m, time_limit_s
        Proposed sites to check and include, and how (see :func:`run_check`).
    districts, district_col
        District polygons for a per-district table (see :func:`run_plan`).
    mode, radius_m, max_minutes, speed_kmh, max_snap_m, area, area_place, margin_m, roads, \
centerline, cache_dir, overpass_url, nominatim_url, crs, encoding, sheet, lon_col, lat_col, \
name_col, map_options
        As for :func:`run_coverage`.
    on_stage
        Called with each stage's name (:data:`REPORT_STAGES`) as it starts.

    Returns
    -------
    ReportRun
    """
    map_options = map_options or MapOptions()
    rule = _rule(mode, radius_m, max_minutes, speed_kmh)
    if out is not None:
        check_out_dir(out, run_files("report", proposals=bool(proposals)),
                      overwrite=overwrite)
    districts = _districts(districts, district_col)
    read_kw = _read_kw(crs, encoding, sheet, lon_col, lat_col, name_col)
    stage = _Stages(on_stage)
    net, snapped = _network_and_stations(
        network, stations, rule, stage, max_snap_m=max_snap_m, read_kw=read_kw,
        net_kw=_net_kw(mode, area, area_place, margin_m, rule, roads, centerline, cache_dir,
                       overpass_url, nominatim_url))
    _check_coverage_memory(net, snapped)
    with stage("coverage"):
        cov = compute_coverage(net, snapped, rule=rule)
        gaps = find_gaps(cov)
        summary = summarize(cov, gaps)
    paths: dict[str, Path] = {}
    if out is not None:
        paths = write_coverage_outputs(out, cov, gaps, summary, overwrite=overwrite,
                                       map_options=map_options)
    check = None
    if proposals:
        with stage("check"):
            check = _check_proposals(
                net, snapped, proposals, rule, read_kw=read_kw, proposal_crs=proposal_crs,
                min_gain_m=min_gain_m, spacing_m=spacing_m, max_snap_m=max_snap_m,
                class_weights=class_weights, benchmark=benchmark,
                candidate_spacing_m=candidate_spacing_m, time_limit_s=time_limit_s)
    if out is not None:
        with stage("write_outputs"):
            if check is not None:
                paths |= write_check_outputs(out, *check, coverage=cov, gaps=gaps,
                                             overwrite=overwrite, area=net.demand.area,
                                             map_options=map_options)
            paths = write_report_outputs(out, cov, gaps, summary, paths, check=check,
                                         districts=districts, lang=map_options.lang,
                                         overwrite=overwrite)
    checked, check_summary = check if check is not None else (None, None)
    return ReportRun(net, snapped, cov, gaps, summary, checked, check_summary, paths,
                     stage.timings)


# --- helpers ---------------------------------------------------------------------------

class _Stages:
    """Time named stages into ``timings`` (``<name>_s``) and announce each to a callback."""

    def __init__(self, on_stage: StageCallback | None) -> None:
        self.timings: dict[str, float] = {}
        self._on_stage = on_stage

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self._on_stage is not None:
            self._on_stage(name)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[f"{name}_s"] = time.perf_counter() - t


def _rule(mode: str, radius_m: float, max_minutes: float | None,
          speed_kmh: float | None) -> CoverageRule:
    return CoverageRule.for_mode(mode, radius_m=radius_m, max_minutes=max_minutes,
                                 speed_kmh=speed_kmh)


def _net_kw(mode: str, area: Any, area_place: str | None, margin_m: float | None,
            rule: CoverageRule, roads: RoadClasses | None, centerline: CenterlineOptions | None,
            cache_dir: Any, overpass_url: str | None, nominatim_url: str | None,
            ) -> dict[str, Any]:
    """Keyword arguments of load_network; the margin defaults to the coverage limit."""
    return {"mode": mode, "area": area, "area_place": area_place,
            "margin_m": rule.limit_m if margin_m is None else margin_m, "roads": roads,
            "centerline": centerline, "cache_dir": cache_dir, "overpass_url": overpass_url,
            "nominatim_url": nominatim_url}


def _read_kw(crs: Any, encoding: str | None, sheet: str | int | None, lon_col: str | None,
             lat_col: str | None, name_col: str | None) -> dict[str, Any]:
    return {"crs": crs, "encoding": encoding, "sheet": sheet, "lon_col": lon_col,
            "lat_col": lat_col, "name_col": name_col}


def _network_and_stations(network: Any, stations: Any, rule: CoverageRule, stage: _Stages, *,
                          max_snap_m: float, net_kw: dict[str, Any],
                          read_kw: dict[str, Any]) -> tuple[StreetNetwork, gpd.GeoDataFrame]:
    with stage("load_network"):
        net = load_network(network, **net_kw)
    with stage("stations"):
        snapped = snap_stations(net, read_stations(stations, **read_kw), max_snap_m=max_snap_m)
    return net, snapped


def _check_proposals(net: StreetNetwork, snapped: gpd.GeoDataFrame, proposals: Any,
                     rule: CoverageRule, *, read_kw: dict[str, Any], proposal_crs: Any,
                     min_gain_m: float, spacing_m: float | None, max_snap_m: float,
                     class_weights: Mapping[str, float] | None, benchmark: bool,
                     candidate_spacing_m: float, time_limit_s: float,
                     ) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Read the proposal file (``proposal_crs`` or the station options) and check it."""
    from .check import check_sites, check_summary

    kwargs = dict(read_kw)
    if proposal_crs is not None:
        kwargs["crs"] = proposal_crs
    points = read_stations(proposals, **kwargs)
    checked = check_sites(net, snapped, points, rule=rule, min_gain_m=min_gain_m,
                          spacing_m=spacing_m, max_snap_m=max_snap_m,
                          class_weights=dict(class_weights or {}))
    summary = check_summary(net, snapped, checked, benchmark=benchmark,
                            candidate_spacing_m=candidate_spacing_m, time_limit_s=time_limit_s)
    return checked, summary


def _districts(districts: Any, district_col: str | None) -> gpd.GeoDataFrame | None:
    """District polygons, read before the long part of a run (``None`` stays ``None``)."""
    if districts is None or isinstance(districts, gpd.GeoDataFrame):
        return districts
    from .report import read_districts

    return read_districts(districts, name_col=district_col)


def _check_coverage_memory(net: StreetNetwork, snapped: gpd.GeoDataFrame) -> None:
    """Refuse (exit 5) a coverage run whose estimate exceeds the memory available."""
    _limits.check_coverage(len(net.edges), int((snapped["status"] == "ok").sum()))
