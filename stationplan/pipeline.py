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
import datetime
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _limits
from ._errors import InputError, MissingDataError
from ._figures import round_m
from ._i18n import names_of, resolve_lang, run_lang
from ._options import (
    CANDIDATE_SNAP_M,
    CANDIDATE_SPACING_M,
    CANDIDATES,
    MAX_MINUTES,
    MIN_GAIN_M,
    MIN_SPACING_M,
    NETWORK_MARGIN_M,
    OSM_SUFFIXES,
    RADIUS_M,
    RESOLUTION_M,
    SEED,
    SPACING,
    TIME_LIMIT_S,
    CheckOptions,
    DemandOptions,
    MapOptions,
    NetworkOptions,
    StationOptions,
    check_plan_options,
)
from ._outdir import moved, output_folder
from ._paths import input_file, word_hint
from ._render.netout import write_network
from .area import BRIEF_ROAD_CLASSES, read_vector
from .coverage import Coverage, CoverageRule, compute_coverage
from .gaps import find_gaps, search_ahead
from .network import StreetNetwork, load_network
from .outputs import (
    gaps_written_early,
    pieces_written_early,
    write_check_outputs,
    write_coverage_outputs,
    write_hours_outputs,
    write_plan_outputs,
    write_report_outputs,
    write_timings,
)
from .stations import read_stations, require_usable, snap_stations
from .summary import summarize

log = logging.getLogger(__name__)

# The stages of each job, in order, as ``on_stage`` names them and ``timings`` keys them
# (name + "_s").
COVERAGE_STAGES = ("load_network", "stations", "coverage", "gaps", "write_outputs")
PLAN_STAGES = ("load_network", "stations", "candidates", "siting", "addresses",
               "coverage_after", "write_outputs")
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
    network_options: NetworkOptions | None = None,
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
    network_options
        How the network is loaded (:class:`~stationplan.NetworkOptions`); its ``margin_m``
        defaults to 500 m here.
    on_stage
        Called with each stage's name as it starts.

    Returns
    -------
    NetworkRun
    """
    netopt = network_options or NetworkOptions()
    stage = _Stages(on_stage)
    paths: dict[str, Path] = {}
    with _output(out, overwrite, network, netopt.area_input) as folder:
        with stage("load_network"):
            net = _load(network, netopt, default_margin_m=NETWORK_MARGIN_M)
        if folder is not None:
            with stage("write_outputs"):
                paths = write_network(folder, net, overwrite=True)
    return NetworkRun(net, _final(paths, out), stage.timings)


def run_coverage(
    network: Any,
    stations: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    rule: CoverageRule | None = None,
    network_options: NetworkOptions | None = None,
    station_options: StationOptions | None = None,
    map_options: MapOptions | None = None,
    demand: DemandOptions | str | Path | None = None,
    at: str | datetime.datetime | None = None,
    by_hour: bool = False,
    rules: str | Sequence[Any] | None = None,
    dense_area: str | Path | gpd.GeoDataFrame | None = None,
    districts: str | Path | gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    districts_crs: Any = None,
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
    rule
        The coverage rule (:class:`~stationplan.CoverageRule`); default: 500 m and 5
        minutes at the speed of the network options' mode
        (``CoverageRule.for_mode(mode)``). ``max_minutes=None`` is the command line's
        ``--no-time-limit``.
    network_options
        How the network is loaded (:class:`~stationplan.NetworkOptions`); roads default
        to :data:`~stationplan.BRIEF_ROAD_CLASSES` and ``margin_m`` to the coverage limit,
        like the command line's.
    station_options
        How the station file is read and snapped (:class:`~stationplan.StationOptions`).
    map_options
        Language and basemap of the map (:class:`~stationplan.MapOptions`).
    demand
        Demand weights (:class:`~stationplan.DemandOptions`, the command line's
        ``--demand``; "riders" or a path is short for ``DemandOptions(source=...)``):
        with "riders" or a file, ``summary.json`` gets ``demand_weights``
        (weighted coverage beside the street-length share, a model figure) and the map a
        layer of the weights. Default: street length only.
    at
        Coverage by the stations open at this time (the command line's ``--at``: "22:00",
        "Sat 07:00", "周六 07:00", "2025-10-01 07:00", or a datetime; see
        :func:`stationplan.hours.parse_at`): the engine runs on the stations whose
        opening hours say open then (hours not given count as open; unreadable ones do
        not, see :mod:`stationplan.hours`); every station row stays in the outputs with
        its state in ``open_at``, and ``summary.json`` gets ``hours``.
    by_hour
        Also the exact coverage at each full hour of the day (the day of ``at``, else
        :data:`stationplan.hours.REFERENCE_DAY`, a Wednesday): ``hours.csv`` /
        ``hours.xlsx`` and ``summary.json``'s ``hours.by_hour``.
    rules
        Rules to give a verdict on (the command line's ``--rules``): built-in rule ids and
        rule files, comma-separated ("xinle,acftu-15min,./mine.toml"), or a sequence of
        them or of :class:`~stationplan.rules.RulePack`. Each runs the exact engine with
        its own rule on every usable station (opening hours aside); ``summary.json``
        gets ``rules`` and the map a layer per rule. The headline figures stay the run's
        ``rule``. Default: none (the outputs are as without rules).
    dense_area
        Polygons (a file in any CRS, or a GeoDataFrame) where a rule's stricter
        ``[dense]`` threshold applies (Shandong's 0.5 km); without it that part of a
        rule is not checked and its verdict says so.
    districts, district_col, districts_crs
        District polygons for the rules' verdicts per district (see :func:`run_plan`);
        they need ``rules`` (a table of coverage per district is :func:`run_report`'s).
    on_stage
        Called with each stage's name (:data:`COVERAGE_STAGES`) as it starts.

    Returns
    -------
    CoverageRun
    """
    job = _Job.make(rule, network_options, station_options, map_options, on_stage)
    when = _at(at)  # a bad --at stops the run before anything is loaded
    packs = _rule_packs(rules)
    if districts is not None and not packs:  # read, then unused: say so before anything
        msg = ("districts give the rules' verdicts per district: pass rules too (--rules), "
               "or run stationplan report --districts FILE for coverage per district")
        raise InputError(msg)
    stage = job.stage
    paths: dict[str, Path] = {}
    by_hour_table = None
    verdicts: list[Any] = []
    with job.output(out, overwrite, network, stations, *_rule_inputs(rules, dense_area),
                    districts) as folder, contextlib.ExitStack() as writers:
        districts = _districts(districts, district_col, districts_crs)
        dense = _dense_area(dense_area, packs)
        net, snapped = job.network_and_stations(network, stations)
        _check_coverage_memory(net, snapped)
        with stage("coverage"):
            density = _density(demand, net, network)
            if when is None and not by_hour:
                cov = _coverage_searching_ahead(net, snapped, job.rule)
            else:
                cov, by_hour_table = _hours_coverage(net, snapped, job.rule, when, by_hour)
        # the run's language, picked once (else every stage, and the pieces' writer, scans
        # every name again)
        lang = run_lang(job.map_options.lang, cov)
        job = replace(job, map_options=replace(job.map_options, lang=lang))
        # a large run's street pieces are written while the gaps are found
        pieces_written = writers.enter_context(
            pieces_written_early(folder, cov, map_options=job.map_options,
                                 area=net.demand.area))
        with stage("gaps"):
            gaps = find_gaps(cov, lang=lang)
            # a large run's gap runs are written while the summary is made
            gaps_written = writers.enter_context(
                gaps_written_early(folder, cov, gaps, map_options=job.map_options,
                                   pieces_written=pieces_written))
            summary = _summarize(cov, gaps, density)
            if when is not None or by_hour:
                summary = _hours_summary(summary, cov, when, by_hour_table)
            if packs:
                # with --at the rules count the stations open then, as the headline does
                from .hours import stations_open_at

                # (cov.stations already hold the hours as read: not read and logged again)
                verdicts = _verdicts(net, snapped if when is None else stations_open_at(
                    cov.stations, when), packs, cov, dense, districts, lang)
                summary = _rules_summary(summary, verdicts, cov)
        figures = (100 * summary["covered_share"], summary["total_m"] / 1000,
                   summary["gap_runs"], summary["gap_areas"])
        if when is None:
            log.info("covered %.1f %% of %.1f km; %d gap runs in %d gap areas; %d of %d "
                     "stations used", *figures, summary["stations_used"],
                     summary["stations_read"])
        else:  # the share is that of the stations open then
            then = summary["hours"]["at"]
            log.info("covered %.1f %% of %.1f km; %d gap runs in %d gap areas; %d of %d "
                     "usable stations open at %s count", *figures,
                     then["stations_open"] + then["stations_assumed_open"],
                     summary["stations_used"], then["label"])
        if job.rule.cover > 1:  # the share above is K-fold coverage: say so
            log.info("covered means reached by at least %d stations; by one or more: %.1f %%",
                     job.rule.cover, 100 * summary["station_count"]["share_at_least"]["1"])
        if folder is not None:
            with stage("write_outputs"):
                paths = write_coverage_outputs(folder, cov, gaps, summary, overwrite=True,
                                               area=net.demand.area,
                                               map_options=job.map_options, density=density,
                                               pieces_written=pieces_written,
                                               gaps_written=gaps_written,
                                               **_rule_layers(verdicts))
                if by_hour_table is not None:
                    paths |= write_hours_outputs(folder, by_hour_table, lang)
            paths["timings.json"] = write_timings(folder, stage.timings)
    return CoverageRun(net, snapped, cov, gaps, summary, _final(paths, out), stage.timings)


def run_plan(
    network: Any,
    stations: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    rule: CoverageRule | None = None,
    network_options: NetworkOptions | None = None,
    station_options: StationOptions | None = None,
    map_options: MapOptions | None = None,
    target_share: float | None = None,
    new_sites: int | None = None,
    candidates: str | Path = CANDIDATES,
    candidate_spacing_m: float = CANDIDATE_SPACING_M,
    candidate_snap_m: float = CANDIDATE_SNAP_M,
    hosts: str | Path | None = None,
    exclude: str | Path | gpd.GeoDataFrame | None = None,
    resolution_m: float = RESOLUTION_M,
    class_weights: Mapping[str, float] | None = None,
    min_spacing_m: float | None = MIN_SPACING_M,
    spacing: str = SPACING,
    min_gain_m: float = MIN_GAIN_M,
    time_limit_s: float = TIME_LIMIT_S,
    seed: int = SEED,
    districts: str | Path | gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    districts_crs: Any = None,
    demand: DemandOptions | str | Path | None = None,
    at: str | datetime.datetime | None = None,
    on_stage: StageCallback | None = None,
    progress: ProgressCallback | None = None,
    certificate_progress: ProgressCallback | None = None,
) -> PlanRun:
    """Propose new station sites and certify them (``stationplan plan``).

    Parameters
    ----------
    network, stations, out, overwrite, rule, network_options, station_options, map_options
        As for :func:`run_coverage`; ``out`` also gets the plan files and the report.
    target_share, new_sites
        The goal (give at most one): the fewest new sites reaching ``target_share`` (0 to
        1) of all demand street, or the ``new_sites`` sites covering the most; default
        ``target_share`` 1.0 (the command line's ``--target 100%``). When the candidates
        cannot reach the goal, the plan covers all they can and its summary says so
        (``target_reached``, ``unreachable_m``, ``sites_possible``).
    candidates
        "auto" (host shops in the OSM file where the network is one, the ``hosts`` file
        when given, and street positions every ``candidate_spacing_m`` metres, so that
        every street can be reached; hosts are preferred among equal choices), "osm"
        (host shops only), "streets" (street positions only), or a file of sites (read
        with the station options; only those).
    hosts
        A file of willing hosts (read with the station options) added to the "auto",
        "osm" or "streets" candidates.
    candidate_spacing_m, candidate_snap_m
        Metres between street candidates; hosts farther than ``candidate_snap_m`` from
        a street are left out.
    exclude
        Polygons (a file or a GeoDataFrame, any CRS) where no station may go.
    resolution_m, class_weights, min_spacing_m, spacing, min_gain_m, time_limit_s, seed
        As for :func:`~stationplan.siting.plan_sites` (``class_weights`` is the command
        line's ``--weights``). ``min_spacing_m`` (default: the coverage limit),
        ``spacing`` and ``min_gain_m`` are :class:`CheckOptions`'s rules with the same
        defaults, so :func:`run_check` accepts every proposed site. The siting model is
        exact unless it would not fit in memory; then midpoint units of ``resolution_m``
        are used and the summary says so.
    districts, district_col, districts_crs
        District polygons (a file, read with :func:`~stationplan.read_districts`, or a
        GeoDataFrame) for a per-district table in the report; ``districts_crs`` is the
        district file's coordinate system when it is not the file's own (e.g. "gcj02").
    demand
        Demand weights (see :func:`run_coverage`): the plan then covers, or reaches
        ``target_share`` of, the weighted demand, and its summary's ``weighted_by`` says
        so; street metres and shares stay street length.
    at
        Plan for the stations open at this time (the command line's ``--at``; see
        :func:`run_coverage`): the sites that close the gap left then (a night gap at
        "22:00"). Existing stations closed then, or with unreadable hours, do not count;
        the new sites are planned to be open then. Every station row stays in the outputs
        with its state in ``open_at``, and every figure (before and after) is the
        coverage at that time.
    on_stage
        Called with each stage's name (:data:`PLAN_STAGES`) as it starts.
    progress
        Called as ``progress(done, total)`` while coverage sets are computed in siting.
    certificate_progress
        Called as ``certificate_progress(seconds, time_limit_s)`` about once a second
        while the plan is certified.

    Returns
    -------
    PlanRun
    """
    check_plan_options(
        target_share=target_share, new_sites=new_sites, candidate_spacing_m=candidate_spacing_m,
        candidate_snap_m=candidate_snap_m, resolution_m=resolution_m, class_weights=class_weights,
        min_spacing_m=min_spacing_m, spacing=spacing, min_gain_m=min_gain_m,
        time_limit_s=time_limit_s, seed=seed)
    from .addresses import read_landmarks, site_addresses
    from .siting import plan_sites, stations_with_proposals

    job = _Job.make(rule, network_options, station_options, map_options, on_stage)
    when = _at(at)  # a bad --at stops the run before anything is loaded
    stage, rule = job.stage, job.rule
    paths: dict[str, Path] = {}
    with job.output(out, overwrite, network, stations, candidates, hosts, exclude,
                    districts) as folder:
        districts = _districts(districts, district_col, districts_crs)
        _check_candidate_files(candidates, hosts)
        net, snapped = job.network_and_stations(network, stations)
        read, snapped = snapped, _open_at(snapped, when)
        if when is not None:
            from .hours import COUNTED, at_label

            usable = (read["status"] == "ok").to_numpy()
            log.info("plan at %s: %d of %d usable stations open count; the new sites are "
                     "planned to be open then", at_label(when),
                     int((usable & snapped["open_at"].isin(COUNTED).to_numpy()).sum()),
                     int(usable.sum()))
        with stage("candidates"):
            density = _density(demand, net, network)
            cands, source = _candidates(net, network, job, candidates, hosts=hosts,
                                        spacing_m=candidate_spacing_m, snap_m=candidate_snap_m,
                                        exclude=exclude)
        model = _limits.siting_model(net, cands, limit_m=rule.limit_m,
                                     resolution_m=resolution_m)
        _check_coverage_memory(net, snapped)
        with stage("siting"):
            result = plan_sites(
                net, snapped, cands, rule=rule,
                target_share=1.0 if target_share is None and new_sites is None else target_share,
                new_sites=new_sites, model=model, resolution_m=resolution_m,
                class_weights=dict(class_weights or {}), density=density,
                min_spacing_m=min_spacing_m, spacing=spacing, min_gain_m=min_gain_m,
                time_limit_s=time_limit_s, seed=seed,
                progress=progress, certificate_progress=certificate_progress,
            )
        with stage("addresses"):  # street, address and a landmark, for the field team
            marks = (read_landmarks(network, within=net)
                     if str(network).lower().endswith(OSM_SUFFIXES) else None)
            lang = resolve_lang(job.map_options.lang, names_of(snapped, net))
            result = replace(result, proposals=site_addresses(
                net, result.proposals, lang=lang, landmarks=marks))
        with stage("coverage_after"):
            cov_before = compute_coverage(net, snapped, rule=rule)
            gaps_before = find_gaps(cov_before, lang=lang)
            before = _summarize(cov_before, gaps_before, density)
            after = stations_with_proposals(snapped, result.proposals)
            if when is not None:  # the new sites are planned to serve at that time
                after["open_at"] = after["open_at"].fillna("open")
            cov = compute_coverage(net, after, rule=rule)
            if when is not None:  # closed stations are usable ones, not rejected rows
                cov = replace(cov, stations=_as_read(cov.stations, read))
            gaps = find_gaps(cov, lang=lang)
            summary = _summarize(cov, gaps, density)
            result = _engine_figures(result, before, summary, source)
            if when is not None:
                summary = _plan_hours(summary, read, snapped, when, cov.stations)
                result = replace(result, summary={**result.summary,
                                                  "at": summary["hours"]["at"]})
        timings = {**stage.timings, **result.timings}
        if folder is not None:
            with stage("write_outputs"):
                paths = write_coverage_outputs(folder, cov, gaps, summary, overwrite=True,
                                               proposals=result.proposals,
                                               before=cov_before,
                                               before_gaps=gaps_before,
                                               plan_summary=result.summary,
                                               area=net.demand.area,
                                               map_options=job.map_options, density=density)
                paths |= write_plan_outputs(folder, result, overwrite=True,
                                            lang=run_lang(job.map_options.lang, cov))
                paths = write_report_outputs(folder, cov, gaps, summary, paths, plan=result,
                                             districts=districts, lang=job.map_options.lang,
                                             overwrite=True)
            timings = {**stage.timings, **result.timings}
            paths["timings.json"] = write_timings(folder, timings)
    return PlanRun(net, snapped, cands, result, cov, gaps, summary, _final(paths, out),
                   timings)


def run_check(
    network: Any,
    stations: str | Path,
    proposals: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    rule: CoverageRule | None = None,
    network_options: NetworkOptions | None = None,
    station_options: StationOptions | None = None,
    map_options: MapOptions | None = None,
    check_options: CheckOptions | None = None,
    on_stage: StageCallback | None = None,
) -> CheckRun:
    """Verdicts on proposed sites (``stationplan check``).

    Parameters
    ----------
    network, stations, out, overwrite, rule, network_options, station_options, map_options
        As for :func:`run_coverage`; ``out`` gets the check files.
    proposals
        The proposed sites: any station file format, read with the station options
        (``check_options.proposal_crs`` replaces their ``crs``).
    check_options
        How the proposals are checked (:class:`~stationplan.CheckOptions`); the benchmark
        is on here as on the command line (``--no-benchmark`` turns it off).
    on_stage
        Called with each stage's name (:data:`CHECK_STAGES`) as it starts.

    Returns
    -------
    CheckRun
    """
    job = _Job.make(rule, network_options, station_options, map_options, on_stage)
    checkopt = check_options or CheckOptions()
    stage = job.stage
    paths: dict[str, Path] = {}
    with job.output(out, overwrite, network, stations, proposals) as folder:
        net, snapped = job.network_and_stations(network, stations)
        _check_coverage_memory(net, snapped)
        with stage("check"):
            checked, summary = job.check_proposals(net, snapped, proposals, checkopt)
        with stage("coverage"):
            cov = _coverage_searching_ahead(net, snapped, job.rule)
            gaps = find_gaps(cov, lang=run_lang(job.map_options.lang, cov))
        if folder is not None:
            with stage("write_outputs"):
                paths = write_check_outputs(folder, checked, summary, coverage=cov, gaps=gaps,
                                            overwrite=True, area=net.demand.area,
                                            map_options=job.map_options)
    return CheckRun(net, snapped, checked, summary, cov, gaps, _final(paths, out),
                    stage.timings)


def run_report(
    network: Any,
    stations: str | Path,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    rule: CoverageRule | None = None,
    network_options: NetworkOptions | None = None,
    station_options: StationOptions | None = None,
    map_options: MapOptions | None = None,
    proposals: str | Path | None = None,
    check_options: CheckOptions | None = None,
    districts: str | Path | gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    districts_crs: Any = None,
    demand: DemandOptions | str | Path | None = None,
    rules: str | Sequence[Any] | None = None,
    dense_area: str | Path | gpd.GeoDataFrame | None = None,
    on_stage: StageCallback | None = None,
) -> ReportRun:
    """A planning report with the coverage outputs (``stationplan report``).

    Parameters
    ----------
    network, stations, out, overwrite, rule, network_options, station_options, map_options
        As for :func:`run_coverage`; ``out`` gets the coverage files, the check files
        (with ``proposals``) and ``report.html``/``.md``/``.json``.
    proposals, check_options
        Proposed sites to check and include, and how (see :func:`run_check`).
    districts, district_col, districts_crs
        District polygons for a per-district table (see :func:`run_plan`).
    demand
        Demand weights (see :func:`run_coverage`); the report names the weighted share
        with its model.
    rules, dense_area
        Rules to give a verdict on (see :func:`run_coverage`): the report gets a verdict
        table with each rule's source (and per district with ``districts``).
    on_stage
        Called with each stage's name (:data:`REPORT_STAGES`) as it starts.

    Returns
    -------
    ReportRun
    """
    job = _Job.make(rule, network_options, station_options, map_options, on_stage)
    checkopt = check_options or CheckOptions()
    stage = job.stage
    paths: dict[str, Path] = {}
    check = None
    packs = _rule_packs(rules)
    verdicts: list[Any] = []
    with job.output(out, overwrite, network, stations, proposals, districts,
                    *_rule_inputs(rules, dense_area)) as folder:
        districts = _districts(districts, district_col, districts_crs)
        dense = _dense_area(dense_area, packs)
        net, snapped = job.network_and_stations(network, stations)
        _check_coverage_memory(net, snapped)
        with stage("coverage"):
            density = _density(demand, net, network)
            cov = _coverage_searching_ahead(net, snapped, job.rule)
            gaps = find_gaps(cov, lang=run_lang(job.map_options.lang, cov))
            summary = _summarize(cov, gaps, density)
            if packs:
                verdicts = _verdicts(net, snapped, packs, cov, dense, districts,
                                     run_lang(job.map_options.lang, cov))
                summary = _rules_summary(summary, verdicts, cov)
        if proposals:
            with stage("check"):
                check = job.check_proposals(net, snapped, proposals, checkopt)
        if folder is not None:
            with stage("write_outputs"):
                paths = write_coverage_outputs(folder, cov, gaps, summary, overwrite=True,
                                               area=net.demand.area,
                                               map_options=job.map_options, density=density,
                                               **_rule_layers(verdicts))
                if check is not None:
                    paths |= write_check_outputs(folder, *check, coverage=cov, gaps=gaps,
                                                 overwrite=True, area=net.demand.area,
                                                 map_options=job.map_options)
                paths = write_report_outputs(folder, cov, gaps, summary, paths, check=check,
                                             districts=districts, lang=job.map_options.lang,
                                             overwrite=True)
    checked, check_summary = check if check is not None else (None, None)
    return ReportRun(net, snapped, cov, gaps, summary, checked, check_summary,
                     _final(paths, out), stage.timings)


# --- helpers ---------------------------------------------------------------------------

# --- rules (run_coverage's and run_report's rules; stationplan.rules) ---

def _rule_packs(rules: str | Sequence[Any] | None) -> tuple[Any, ...]:
    """The rule packs of ``rules`` (checked before anything is loaded), or ()."""
    if rules is None or (isinstance(rules, str) and not rules.strip()):
        return ()
    from .rules import load_rules

    return load_rules(rules)


def _rule_inputs(rules: str | Sequence[Any] | None, dense_area: Any) -> list[Any]:
    """The rule files and the dense-area file among a run's inputs (an output folder must
    not replace them)."""
    items = ([r.strip() for r in rules.split(",")] if isinstance(rules, str)
             else list(rules or ()))
    files = [r for r in items if isinstance(r, str) and r.lower().endswith(".toml")]
    return [*files, dense_area]


def _dense_area(dense_area: Any, packs: Sequence[Any]) -> gpd.GeoDataFrame | None:
    """The dense-area polygons (read before the long part of a run), or ``None``."""
    if dense_area is None:
        return None
    if not any(p.dense_radius_m is not None for p in packs):
        log.warning("--dense-area is used by rules with a dense-area threshold (shandong); "
                    "none of the rules given has one")
    if isinstance(dense_area, gpd.GeoDataFrame):
        return dense_area
    return read_vector(input_file(dense_area, "--dense-area file"))


def _verdicts(net: StreetNetwork, snapped: gpd.GeoDataFrame, packs: Sequence[Any],
              cov: Coverage | None, dense: gpd.GeoDataFrame | None,
              districts: gpd.GeoDataFrame | None, lang: str) -> list[Any]:
    """Each rule's verdict (:func:`stationplan.rules.rule_verdicts`), reusing the run's
    coverage when a rule's engine rule is the run's."""
    from .rules import rule_verdicts

    return rule_verdicts(net, snapped, packs, known=() if cov is None else (cov,),
                         dense_area=dense, districts=districts, lang=lang)


def _rules_summary(summary: dict[str, Any], verdicts: Sequence[Any],
                   cov: Coverage) -> dict[str, Any]:
    """``summary`` with its ``rules``: each rule's verdict, and whether the headline
    figures (the run's own rule) are the rule's."""
    out = dict(summary)
    out["rules"] = [{**v.summary, "headline": v.rule == cov.rule
                     and v.summary["covered_m"] == summary["covered_m"]
                     and v.summary["demand_m"] == summary["total_m"]} for v in verdicts]
    return out


def _rule_layers(verdicts: Sequence[Any]) -> dict[str, Any]:
    """The map's rule layers as :func:`~stationplan.outputs.write_coverage_outputs` takes
    them (nothing without rules, so the call is the same as before)."""
    if not verdicts:
        return {}
    return {"rules": [(v.summary, v.gaps, v.coverage.rule.limit_m) for v in verdicts]}


# --- opening hours (run_coverage's at / by_hour; stationplan.hours) ---

def _at(at: str | datetime.datetime | None) -> datetime.datetime | None:
    """The time of ``at`` (:func:`stationplan.hours.parse_at`), or ``None``."""
    if at is None:
        return None
    from .hours import parse_at

    return parse_at(at)


def _open_at(stations: gpd.GeoDataFrame, when: datetime.datetime | None
             ) -> gpd.GeoDataFrame:
    """The stations a plan counts at ``when`` (all without it): see
    :func:`stationplan.hours.stations_open_at`."""
    if when is None:
        return stations
    from .hours import station_hours, stations_open_at

    return stations_open_at(station_hours(stations), when)


def _as_read(rows: gpd.GeoDataFrame, read: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The station rows of a plan at a time (existing stations first, then the proposed
    sites) with the existing ones' status as read: a station closed then is a usable
    station that does not count at that time (``open_at``), as in coverage at a time,
    not a rejected row."""
    status = rows["status"].to_numpy().copy()
    status[:len(read)] = read["status"].to_numpy()
    return cast(gpd.GeoDataFrame, rows.assign(status=status))


def _plan_hours(summary: dict[str, Any], read: gpd.GeoDataFrame, rows: gpd.GeoDataFrame,
                when: datetime.datetime, after: gpd.GeoDataFrame) -> dict[str, Any]:
    """A plan's ``summary`` with its ``hours`` block: the existing stations' states at
    ``when`` (as read, before closed ones were set aside), and each station's and site's
    state in ``open_at`` (``after``: the rows of the coverage after the plan)."""
    from .hours import hours_summary

    as_read = rows.assign(status=read["status"].to_numpy())
    return {**summary, "hours": hours_summary(as_read, when=when, by_hour=None),
            "stations": _with_states(summary["stations"], after["open_at"])}


def _with_states(entries: list[dict[str, Any]], states: Any) -> list[dict[str, Any]]:
    """``summary.json``'s station entries, each with its state at the run's time."""
    return [{**entry, "open_at": str(state)}
            for entry, state in zip(entries, states, strict=True)]


def _hours_coverage(net: StreetNetwork, snapped: gpd.GeoDataFrame, rule: CoverageRule,
                    when: datetime.datetime | None, by_hour: bool
                    ) -> tuple[Coverage, pd.DataFrame | None]:
    """Coverage by the stations open at ``when`` (by all without it), every row with its
    hours read, and the table of coverage by hour when ``by_hour``."""
    from .hours import (
        COUNTED,
        REFERENCE_DAY,
        at_label,
        coverage_at,
        coverage_by_hour,
        station_hours,
    )

    rows = station_hours(snapped)
    if when is None:
        cov = compute_coverage(net, rows, rule=rule)
    else:
        cov = coverage_at(net, rows, when, rule=rule)
        states = cov.stations["open_at"]
        log.info("at %s: %d of %d usable stations open (%d by hours not given), %d closed, "
                 "%d unknown", at_label(when), int(states.isin(COUNTED).sum()),
                 int((rows["status"] == "ok").sum()), int((states == "assumed_open").sum()),
                 int((states == "closed").sum()),
                 int(((states == "unknown") & (rows["status"] == "ok")).sum()))
    if not by_hour:
        return cov, None
    known: dict[frozenset[int], Coverage] = {}
    if when is not None:  # its run serves every hour with the same open stations
        known[frozenset(np.flatnonzero(cov.stations["open_at"].isin(
            COUNTED).to_numpy()).tolist())] = cov
    day = when.date() if when is not None else REFERENCE_DAY
    return cov, coverage_by_hour(net, rows, day, rule=rule, known=known)


def _hours_summary(summary: dict[str, Any], cov: Coverage, when: datetime.datetime | None,
                   by_hour: pd.DataFrame | None) -> dict[str, Any]:
    """``summary`` with its ``hours`` block, and each station's ``open_at`` state."""
    from .hours import hours_summary

    out = dict(summary)
    out["hours"] = hours_summary(cov.stations, when=when, by_hour=by_hour)
    if "open_at" in cov.stations:
        out["stations"] = _with_states(summary["stations"], cov.stations["open_at"])
    return out


def _summarize(cov: Coverage, gaps: gpd.GeoDataFrame, density: Any) -> dict[str, Any]:
    """:func:`~stationplan.summarize`, plus ``demand_weights`` (the weighted coverage, a
    model figure, :func:`stationplan.weights.weighted_coverage`) with demand weights."""
    summary = summarize(cov, gaps)
    if density is not None:
        from .weights import weighted_coverage

        summary["demand_weights"] = weighted_coverage(density, cov.pieces)
    return summary


def _density(demand: DemandOptions | str | Path | None, net: StreetNetwork,
             source: Any) -> Any:
    """The demand weights ``demand`` asks for (:mod:`stationplan.weights`), or ``None``;
    "riders" or a path stand for ``DemandOptions(source=...)``."""
    if isinstance(demand, str | Path):
        demand = DemandOptions(source=str(demand))
    if demand is not None and not isinstance(demand, DemandOptions):
        msg = f"demand must be a DemandOptions, 'riders' or a weight file, not {demand!r}"
        raise InputError(msg)
    if demand is None or demand.source == "length":
        return None
    from .weights import load_density

    return load_density(demand, net, source)


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


def _output(out: str | Path | None, overwrite: bool,
            *inputs: object) -> contextlib.AbstractContextManager[Path | None]:
    """The run's output transaction (:func:`~stationplan._outdir.output_folder`): the
    staging folder to write to, or ``None`` when the run writes nothing."""
    if out is None:
        return contextlib.nullcontext()
    return output_folder(out, overwrite=overwrite, inputs=inputs)


def _final(paths: dict[str, Path], out: str | Path | None) -> dict[str, Path]:
    """The paths written, where they are once the transaction has moved them."""
    if out is None:
        return paths
    log.info("wrote %d files to %s", len(paths), out)
    return moved(paths, out)


def _coverage_searching_ahead(net: StreetNetwork, snapped: gpd.GeoDataFrame,
                              rule: CoverageRule) -> Coverage:
    """:func:`~stationplan.compute_coverage`, with the search :func:`find_gaps` makes next
    for the gaps' farthest points made beside it on a second thread (compiled code that
    releases the GIL; :func:`~stationplan.gaps.search_ahead`)."""
    with ThreadPoolExecutor(max_workers=1) as beside:
        ahead = beside.submit(search_ahead, net, snapped, rule=rule)
        cov = compute_coverage(net, snapped, rule=rule)
        ahead.result()
    return cov


def coverage_network(network: Any, *, rule: CoverageRule | None = None,
                     network_options: NetworkOptions | None = None) -> StreetNetwork:
    """The street network :func:`run_coverage` computes on, as its first stage builds it.

    Loaded with ``network_options`` (roads default to the brief's classes, the margin to
    the rule's limit), its demand marked: the planning area (``auto``: the built-up area
    derived from the data; a file; none) with edges cut at its boundary, the served road
    classes, and the dual carriageways paired (:func:`~stationplan.area.with_demand`).
    ``stationplan partition`` loads a province with it, so that its units compute the
    same demand as ``stationplan coverage``.

    Parameters
    ----------
    network
        Any source :func:`~stationplan.load_network` takes.
    rule
        The coverage rule (default as :func:`run_coverage`'s); its limit is the default
        margin.
    network_options
        How the network is loaded (default :class:`~stationplan.NetworkOptions`).

    Returns
    -------
    StreetNetwork
    """
    netopt = network_options or NetworkOptions()
    rule = _Job.make(rule, netopt, None, None, None).rule
    return _load(network, netopt, default_margin_m=rule.limit_m)


def _load(network: Any, opts: NetworkOptions, *, default_margin_m: float) -> StreetNetwork:
    """Load the network with ``opts``; ``roads=None`` there means the brief's classes."""
    return load_network(
        network, mode=opts.mode, area=opts.area, area_crs=opts.area_crs,
        area_place=opts.area_place,
        margin_m=default_margin_m if opts.margin_m is None else opts.margin_m,
        roads=BRIEF_ROAD_CLASSES if opts.roads is None else opts.roads,
        centerline=opts.centerline, cache_dir=opts.cache_dir, overpass_url=opts.overpass_url,
        nominatim_url=opts.nominatim_url, pair_carriageways_m=opts.pair_carriageways_m,
    )


@dataclass(frozen=True)
class _Job:
    """The options every run shares, with their defaults filled in, and its stage timer."""

    rule: CoverageRule
    network: NetworkOptions
    stations: StationOptions
    map_options: MapOptions
    stage: _Stages

    @classmethod
    def make(cls, rule: CoverageRule | None, network_options: NetworkOptions | None,
             station_options: StationOptions | None, map_options: MapOptions | None,
             on_stage: StageCallback | None) -> _Job:
        netopt = network_options or NetworkOptions()
        if rule is None:
            rule = CoverageRule.for_mode(netopt.mode, radius_m=RADIUS_M,
                                         max_minutes=MAX_MINUTES)
        elif not isinstance(rule, CoverageRule):
            msg = f"rule must be a CoverageRule, not {rule!r}"
            raise InputError(msg)
        # CoverageRule records no mode (only the speed it implies), so a rule cannot
        # disagree with netopt.mode; the mode decides the default rule's speed only.
        return cls(rule, netopt, station_options or StationOptions(),
                   map_options or MapOptions(), _Stages(on_stage))

    def output(self, out: str | Path | None, overwrite: bool,
               *inputs: object) -> contextlib.AbstractContextManager[Path | None]:
        """The run's output transaction (see :func:`_output`); the area file counts among
        the inputs."""
        return _output(out, overwrite, *inputs, self.network.area_input)

    def network_and_stations(self, network: Any, stations: Any,
                             ) -> tuple[StreetNetwork, gpd.GeoDataFrame]:
        """Load the network (margin: the coverage limit), read and snap the stations."""
        with self.stage("load_network"):
            net = coverage_network(network, rule=self.rule, network_options=self.network)
        with self.stage("stations"):
            points = read_stations(stations, **self.stations.read_kwargs())
            snapped = snap_stations(net, points, max_snap_m=self.stations.max_snap_m)
            # a run from no usable station is 0 % of nothing: refused before coverage
            require_usable(net, snapped, max_snap_m=self.stations.max_snap_m)
        return net, snapped

    def check_proposals(self, net: StreetNetwork, snapped: gpd.GeoDataFrame, proposals: Any,
                        opts: CheckOptions) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
        """Read the proposal file (``opts.proposal_crs`` or the station options), check it."""
        from .check import check_sites, check_summary

        kwargs = self.stations.read_kwargs()
        if opts.proposal_crs is not None:  # about this file: it beats the file's own CRS
            kwargs |= {"crs": opts.proposal_crs, "force_crs": True}
        points = read_stations(proposals, **kwargs)
        points.attrs["role"] = "proposals"  # for messages: which file, which option
        checked = check_sites(net, snapped, points, rule=self.rule, min_gain_m=opts.min_gain_m,
                              min_spacing_m=opts.min_spacing_m, spacing=opts.spacing,
                              max_snap_m=self.stations.max_snap_m,
                              class_weights=dict(opts.class_weights))
        summary = check_summary(net, snapped, checked, benchmark=opts.benchmark,
                                candidate_spacing_m=opts.candidate_spacing_m,
                                time_limit_s=opts.time_limit_s)
        return checked, summary


def _candidates(net: StreetNetwork, network: Any, job: _Job, candidates: str | Path, *,
                hosts: str | Path | None, spacing_m: float, snap_m: float,
                exclude: str | Path | gpd.GeoDataFrame | None
                ) -> tuple[gpd.GeoDataFrame, str]:
    """The candidate sites of a plan, hosts first (so they win ties), and their source."""
    from .candidates import (
        exclude_zones,
        join_candidates,
        osm_candidates,
        snap_candidates,
        street_candidates,
    )

    source = str(candidates)
    parts = []
    if source in ("auto", "osm"):
        if str(network).lower().endswith(OSM_SUFFIXES):
            parts.append(osm_candidates(net, network, max_snap_m=snap_m,
                                        required=source == "osm"))
        elif source == "osm":
            msg = (f"--candidates osm needs an OSM file as the network, not {network}; "
                   "use --candidates auto or streets, or --hosts FILE")
            raise InputError(msg)
    elif source != "streets":
        parts.append(snap_candidates(net, _site_points(net, source, job), kind="file",
                                     max_snap_m=snap_m))
    if hosts is not None:
        hosted = _site_points(net, hosts, job, "hosts")
        parts.insert(0, snap_candidates(net, hosted, kind="file", max_snap_m=snap_m))
    if source in ("auto", "streets"):
        parts.append(street_candidates(net, spacing_m=spacing_m))
    cands = join_candidates(parts)
    if exclude is not None:
        zones = exclude if isinstance(exclude, gpd.GeoDataFrame) else read_vector(
            input_file(exclude, "--exclude file"))
        cands = exclude_zones(cands, zones)
    cands = _inside_area(net, cands)
    if cands.empty:
        msg = f"no candidate sites ({source}); try --candidates auto or streets"
        raise MissingDataError(msg)
    return cands, source


def _inside_area(net: StreetNetwork, cands: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The candidates on streets inside the planning area: the check rejects a site outside
    it (``outside_area``), so the plan proposes none there (one rule for both)."""
    if "in_area" not in net.edges or len(cands) == 0:
        return cands
    inside = net.edges["in_area"].to_numpy(bool)[cands["edge_id"].to_numpy(np.int64)]
    if inside.all():
        return cands
    log.info("planning area: %d of %d candidate sites stand outside it and are left out",
             int((~inside).sum()), len(cands))
    kept = gpd.GeoDataFrame(cands.loc[inside].reset_index(drop=True), crs=cands.crs)
    kept["candidate_id"] = [f"C{i + 1}" for i in range(len(kept))]
    return kept


def _check_candidate_files(candidates: str | Path, hosts: str | Path | None) -> None:
    """Refuse a misspelt candidate source or a missing hosts file before any loading."""
    if str(candidates) not in ("auto", "osm", "streets") and not Path(candidates).is_file():
        hint = word_hint(candidates, ("auto", "osm", "streets"))
        msg = (f"candidates must be auto, osm, streets or a file of sites; {str(candidates)!r} "
               f"is none of these (no such file){hint}")
        raise InputError(msg)
    if hosts is not None:
        input_file(hosts, "hosts file")


def _site_points(net: StreetNetwork, path: str | Path, job: _Job, role: str = "candidates"
                 ) -> gpd.GeoDataFrame:
    """The usable points of a host or candidate file, read like a station file.

    They are snapped as stations are, so a file read in the wrong coordinate system stops
    the run (see :func:`~stationplan.snap_stations`) instead of moving every host.
    """
    points = read_stations(path, **job.stations.read_kwargs())
    points.attrs["role"] = role  # for messages: which file the points came from
    snap_stations(net, points, max_snap_m=job.stations.max_snap_m)
    usable: gpd.GeoDataFrame = points[points["status"] == "ok"]
    return usable


def _engine_figures(result: Any, before: dict[str, Any], after: dict[str, Any],
                    source: str) -> Any:
    """The plan's summary with its coverage figures from the coverage engine.

    The siting model's own figures agree with the engine's (to rounding, for the exact
    model); the summary carries the engine's, the same as ``summary.json``, so one share
    means one thing everywhere.
    """
    import dataclasses

    s = dict(result.summary)
    model_after = s["covered_m_after"]
    if abs(model_after - after["covered_m"]) > 1e-6 * max(after["total_m"], 1.0) + 1e-3:
        log.warning("siting model (%s) counted %.1f m covered, the coverage engine %.1f m; "
                    "the figures given are the engine's", s["model"]["kind"], model_after,
                    after["covered_m"])
    s["coverage_before"] = before["covered_share"]
    s["coverage_after"] = after["covered_share"]
    s["covered_m_before"] = before["covered_m"]
    s["covered_m_after"] = after["covered_m"]
    s["added_m"] = round_m(after["covered_m"] - before["covered_m"])
    s["demand_m"] = after["total_m"]
    s["candidates"] = {"source": source, **s["candidates"]}
    if "demand_weights" in after:  # the weighted demand (a model figure), engine's pieces
        s["weighted_coverage_before"] = before["demand_weights"]["covered_share_weighted"]
        s["weighted_coverage_after"] = after["demand_weights"]["covered_share_weighted"]
    return dataclasses.replace(result, summary=s)


def _districts(districts: Any, district_col: str | None, districts_crs: Any
               ) -> gpd.GeoDataFrame | None:
    """District polygons, read before the long part of a run (``None`` stays ``None``)."""
    if districts is None or isinstance(districts, gpd.GeoDataFrame):
        if districts_crs is not None:
            msg = "districts_crs applies to a district file; drop it or pass the file"
            raise InputError(msg)
        return districts
    from .report import read_districts

    return read_districts(districts, name_col=district_col, crs=districts_crs)


def _check_coverage_memory(net: StreetNetwork, snapped: gpd.GeoDataFrame) -> None:
    """Refuse (exit 5) a coverage run whose estimate exceeds the memory available."""
    _limits.check_coverage(len(net.edges), int((snapped["status"] == "ok").sum()))
