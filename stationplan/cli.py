"""The command line: parses arguments, calls :mod:`stationplan.pipeline` and prints.

Only light modules are imported here; the pipeline (and with it geopandas, OSMnx and
numba) is imported inside the commands, so ``stationplan --help`` starts quickly.

Exit codes: 0 success, 1 other stationplan error, 2 bad input, 3 missing data,
4 network unavailable, 5 too large for the memory available, 6 outputs cannot be written,
130 interrupted by Ctrl-C (143 by SIGTERM), 70 internal error (traceback with ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import _options as opt
from ._errors import InputError, StationplanError
from ._i18n import resolve_lang, text
from ._i18n.cli import (
    LogFormatter,
    error_text,
    help_lang,
    localize_parser,
    sheet_lang,
    usage_error_text,
)
from ._options import CenterlineOptions, CheckOptions, MapOptions, NetworkOptions, StationOptions
from ._outdir import DISK_FULL
from ._process import run_settings
from ._version import __version__

log = logging.getLogger("stationplan")
DEMO_OUT = "maps/demo"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code."""
    return _main(argv)[0]


def _main(argv: Sequence[str] | None) -> tuple[int, argparse.Namespace | None]:
    """The exit code and the parsed arguments, which hold the run's result (``result``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(help_lang(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a one-line usage error (2)
        return (exc.code if isinstance(exc.code, int) else 0), None
    if args.lang is None:  # every command has --lang; the whole run speaks the sheet's
        args.lang = sheet_lang(getattr(args, "stations", None), getattr(args, "sheet", None))
    code: int | None = None
    try:
        with (_logging_to_stderr(quiet=args.quiet, debug=args.debug, lang=_lang(args)),
              _sigterm_interrupts(), run_settings()):
            code = _run(args)
    except KeyboardInterrupt as exc:  # while the run's settings were made or put back
        if args.debug:
            raise
        if code is None:  # before the run: nothing was done
            code = _interrupted(args, exc)
        # after it: the run is complete, its outputs in place, and its own code stands
    return code, args


def _lang(args: argparse.Namespace, coverage: Any = None) -> str:
    """The language of the run's messages: ``--lang`` or the station sheet's (see main),
    else, given the run's coverage (after the run), the run's own; English while unknown."""
    lang = args.lang
    if lang is None and coverage is not None:
        from ._i18n import run_lang

        lang = run_lang(None, coverage)
    return lang or "en"


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a run cleans up the same way."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` for one run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:
        if args.debug:
            raise
        return _interrupted(args, exc)
    except StationplanError as exc:
        if args.debug:
            raise
        lang = _lang(args)
        sep = "：" if lang == "zh" else ": "
        own = exc.zh if lang == "zh" and exc.zh else None  # the raiser's own Chinese
        message = " ".join(own.split()) if own else error_text(_one_line(exc), lang)
        print(f"stationplan: {text('cli.error', lang)}{sep}{message}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        if args.debug:
            raise
        interrupt = _interrupt_behind(exc)
        if interrupt is not None:
            return _interrupted(args, interrupt)
        if isinstance(exc, OSError) and exc.errno is not None:
            # the machine's, not a bug: a file that cannot be read, a full disk
            print(f"stationplan: error: {_os_problem(exc)}", file=sys.stderr)
            return 6 if exc.errno in DISK_FULL else 3
        # (an OSError without an error number, such as a library's timeout, is one too)
        print(f"stationplan: {text('cli.internal', _lang(args), msg=_one_line(exc))}",
              file=sys.stderr)
        return 70


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM) an error came from, or None.

    A compiled routine running when the key is pressed may return with the interruption
    set, which Python reports as a SystemError ("returned a result with an exception
    set"); an error raised while the run was being interrupted is that interruption too.

    >>> try:
    ...     try:
    ...         raise KeyboardInterrupt
    ...     except KeyboardInterrupt as key:
    ...         raise SystemError("returned a result with an exception set") from key
    ... except SystemError as exc:
    ...     type(_interrupt_behind(exc)).__name__, _interrupt_behind(ValueError("x"))
    ('KeyboardInterrupt', None)
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _interrupted(args: argparse.Namespace, exc: KeyboardInterrupt) -> int:
    """Say that the run was interrupted (Ctrl-C) or terminated; return its exit code."""
    what = "cli.terminated" if isinstance(exc, _Terminated) else "cli.interrupted"
    if args.command == "serve":  # no output folder: the project keeps every edit
        what += "_serve"
    print(f"stationplan: {text(what, _lang(args))}", file=sys.stderr)
    return 143 if isinstance(exc, _Terminated) else 130


def main_entry() -> None:
    """Console-script entry point.

    The process ends as soon as the run is done and its output flushed, without freeing
    the run's objects one by one (as mypy's command line does): on a 10^6-segment city
    that took two seconds after the last line was printed. Every output file is complete
    by then (written and renamed into place), and the command's own clean-ups (progress
    bars, clusters, temporary folders) have run.
    """
    code, args = _main(None)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
            stream.flush()
    if args is None:  # --help, --version or a usage error: nothing large was made
        sys.exit(code)
    os._exit(code)


def _cmd_coverage(args: argparse.Namespace) -> int:
    _check_out(args)
    kwargs = _run_kwargs(args)
    from .pipeline import COVERAGE_STAGES, run_coverage

    with _stage_bar("coverage", COVERAGE_STAGES, quiet=args.quiet, lang=_lang(args)) as on_stage:
        run = run_coverage(args.network, args.stations, out=args.out, overwrite=args.overwrite,
                           demand=_demand_options(args), at=args.at, by_hour=args.by_hour,
                           rules=args.rules, dense_area=args.dense_area,
                           districts=args.districts or None, district_col=args.district_col,
                           districts_crs=args.districts_crs, on_stage=on_stage, **kwargs)
    args.result = run  # freed with the process (see main_entry)
    print(text("cli.coverage", _lang(args, run.coverage), path=_map_path(run.paths)))
    return 0


def _cmd_partition(args: argparse.Namespace) -> int:
    _check_out(args)
    opt.check_regions(args.regions)  # before the network is read
    from . import batch
    from .pipeline import coverage_network

    # the demand (planning area, road classes, carriageway pairs) of the coverage command,
    # marked once on the whole network
    net = coverage_network(args.network, network_options=_network_options(args))
    units = batch.region_units(net, args.regions, source=args.network,
                               id_column=args.id_column, name_column=args.name_column,
                               crs=args.regions_crs)
    table = batch.partition(net, units, args.out, halo_m=args.halo_m,
                            sources=[args.network, args.regions],
                            max_unit_edges=args.max_unit_edges, overwrite=args.overwrite)
    tiled = table.loc[table["region_id"] != "", "region_id"]
    print(text("cli.partition" if len(tiled) else "cli.partition_whole", _lang(args),
               units=len(table), halo=f"{args.halo_m:g}",
               out=args.out, tiles=len(tiled), regions=tiled.nunique(),
               budget=args.max_unit_edges))
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    if args.scheduler != "serial" and not args.debug:
        with contextlib.suppress(ModuleNotFoundError):
            # importing distributed sets its loggers' levels: set ours after it.
            # _logging_to_stderr puts the level back when the command ends
            import distributed  # noqa: F401

            logging.getLogger("distributed").setLevel(logging.ERROR)
    from . import batch
    from .coverage import CoverageRule
    from .stations import read_stations

    if args.task == "allocate":
        return _cmd_batch_allocate(args)
    if args.stations is None or args.out is None:
        msg = f"batch {args.task} needs UNITS STATIONS --out OUT"
        raise InputError(msg)
    if args.quota is not None or args.fair:
        msg = "--quota and --fair are for batch allocate (batch plan takes --quota-curve N)"
        raise InputError(msg)
    if _same_path(args.out, args.units):
        msg = (f"--out {args.out} is the units folder, an input of this run; give another "
               "folder for the batch outputs")
        raise InputError(msg)
    _check_out(args, overwrite=args.overwrite or args.resume)  # --resume continues that run
    rule = CoverageRule.for_mode(
        args.mode, radius_m=args.radius_m,
        max_minutes=None if args.no_time_limit else args.max_minutes, speed_kmh=args.speed_kmh)
    extracts = batch.read_units(args.units, lazy=True)
    stations = read_stations(args.stations, **_station_options(args).read_kwargs())
    if args.task == "plan":
        return _cmd_batch_plan(args, extracts, stations, rule)
    with _unit_bar(len(extracts), quiet=args.quiet, lang=_lang(args)) as on_unit:
        res = batch.batch_coverage_extracts(
            extracts, stations, rule=rule, max_snap_m=args.max_snap_m, out=args.out,
            scheduler=args.scheduler, workers=args.workers, resume=args.resume,
            lang=args.lang, overwrite=args.overwrite, on_unit=on_unit)
    total = res.league.iloc[-1]
    print(text("cli.batch_coverage", _lang(args), units=len(res.league) - 1,
               covered=f"{total['covered_km']:.1f}", demand=f"{total['demand_km']:.1f}",
               failed=len(res.failed), tasks=len(extracts), reused=len(res.reused),
               path=res.paths["league_csv"]))
    return 1 if res.failed else 0


def _cmd_batch_plan(args: argparse.Namespace, extracts: Any, stations: Any, rule: Any) -> int:
    from . import batch
    from .stations import read_stations

    n = args.quota_curve if args.sites is None else args.sites
    ks = tuple(range(n + 1)) if args.sites is None else (0, n)
    options = batch.PlanOptions(
        ks=ks, candidate_spacing_m=args.candidate_spacing_m, min_spacing_m=args.min_spacing_m,
        spacing=args.spacing, min_gain_m=args.min_gain_m, time_limit_s=args.time_limit_s,
        seed=args.seed)
    hosts = None
    if args.hosts is not None:
        hosts = read_stations(args.hosts, **_station_options(args).read_kwargs())
        hosts = hosts[hosts["status"] == "ok"]
    with _unit_bar(len(extracts), quiet=args.quiet, lang=_lang(args)) as on_unit:
        res = batch.batch_plan_extracts(
            extracts, stations, rule=rule, max_snap_m=args.max_snap_m, options=options,
            hosts=hosts, candidate_snap_m=args.candidate_snap_m, out=args.out,
            scheduler=args.scheduler, workers=args.workers, resume=args.resume,
            overwrite=args.overwrite, lang=args.lang, on_unit=on_unit)
    last = res.curves[res.curves["k"] == n]
    print(text("cli.batch_plan", _lang(args), units=res.curves["unit_id"].nunique(), n=n,
               optimal=int((last["certified"] == "optimal").sum()), failed=len(res.failed),
               reused=len(res.reused), path=res.paths["curves_csv"]))
    return 1 if res.failed else 0


def _cmd_batch_allocate(args: argparse.Namespace) -> int:
    from . import batch

    if args.stations is not None:
        msg = "batch allocate takes one folder: batch allocate PLAN_OUT --quota N"
        raise InputError(msg)
    if args.quota is None:
        msg = "batch allocate needs --quota N (new stations to share out)"
        raise InputError(msg)
    from ._outdir import ALLOCATION_FILES, check_out_dir

    check_out_dir(args.out or args.units, ALLOCATION_FILES, overwrite=args.overwrite)
    res = batch.batch_allocate(args.units, args.quota, fair=args.fair, out=args.out,
                               overwrite=args.overwrite, lang=args.lang)
    s = res.summary
    lang = resolve_lang(args.lang, res.table["name"].tolist())  # Chinese for Chinese units
    print(text("cli.batch_allocate_fair" if s["fair"] else "cli.batch_allocate", lang,
               placed=s["placed"], quota=s["quota"], km=f"{s['covered_m'] / 1000:.3f}",
               certified=text(f"certified.{s['certified']}", lang),
               bound_km=f"{s['upper_bound'] / 1000:.3f}",
               bound_pct=f"{100 * s['upper_bound']:.2f}", path=res.paths["allocation_csv"]))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    # the default folder is the demo's own: a rerun replaces it; a folder given is guarded
    if args.out is None:
        args.out, args.overwrite = DEMO_OUT, True
    _check_out(args)
    kwargs = _run_kwargs(args)
    from ._demo import demo_network_path, demo_stations_path
    from .pipeline import COVERAGE_STAGES, run_coverage

    with _stage_bar("coverage", COVERAGE_STAGES, quiet=args.quiet, lang=_lang(args)) as on_stage:
        run = run_coverage(demo_network_path(), demo_stations_path(), out=args.out,
                           overwrite=args.overwrite, on_stage=on_stage, **kwargs)
    args.result = run
    print(text("cli.demo", _lang(args, run.coverage), path=_map_path(run.paths, resolve=True)))
    return 0


def _cmd_network(args: argparse.Namespace) -> int:
    _check_out(args)
    network_options = _network_options(args)
    from .pipeline import run_network

    run = run_network(args.network, out=args.out, overwrite=args.overwrite,
                      network_options=network_options)
    args.result = run
    net, paths = run.network, run.paths
    isl = net.islands()
    print(text("cli.network", _lang(args), path=paths["network.gpkg"],
               segments=len(net.edges), km=f"{net.total_length_m / 1000:.1f}",
               demand=f"{net.demand_length_m / 1000:.1f}", islands=isl["count"],
               island_km=f"{isl['length_m'] / 1000:.1f}"))
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    _check_out(args)
    if args.exclude:
        from ._paths import input_file

        input_file(args.exclude, "--exclude file", hint="; give a polygon file (GeoJSON, "
                   "GeoPackage, Shapefile) of the places where no station may go")
    kwargs = _run_kwargs(args)
    target, k = _objective(args)
    weights = _weights(args.weights)
    from .pipeline import PLAN_STAGES, run_plan

    with (_stage_bar("plan", PLAN_STAGES, quiet=args.quiet, lang=_lang(args)) as on_stage,
          _progress("coverage sets", quiet=args.quiet, lang=_lang(args)) as progress,
          _progress("certificate", quiet=args.quiet, unit="s",
                    lang=_lang(args)) as certificate_progress):
        run = run_plan(
            args.network, args.stations, out=args.out, overwrite=args.overwrite,
            target_share=target, new_sites=k, candidates=args.candidates, hosts=args.hosts,
            candidate_spacing_m=args.candidate_spacing_m,
            candidate_snap_m=args.candidate_snap_m, exclude=args.exclude or None,
            resolution_m=args.resolution_m, class_weights=weights,
            min_spacing_m=args.min_spacing_m, spacing=args.spacing,
            min_gain_m=args.min_gain_m, time_limit_s=args.time_limit_s, seed=args.seed,
            districts=args.districts or None,
            district_col=args.district_col, districts_crs=args.districts_crs,
            demand=_demand_options(args), at=args.at, on_stage=on_stage, progress=progress,
            certificate_progress=certificate_progress, **kwargs,
        )
    args.result = run
    from ._i18n import percent_text, plan_certificate, plan_shortfall

    s, lang = run.plan.summary, _lang(args, run.coverage)
    print(text("cli.plan", lang, n=s["new_sites"], before=percent_text(s["coverage_before"]),
               after=percent_text(s["coverage_after"]), km=f"{s['demand_m'] / 1000:.1f}",
               certificate=plan_certificate(s, lang), path=_map_path(run.paths)))
    if s.get("cover", 1) > 1:
        print(text("cli.plan_cover", lang, k=s["cover"]))
    if s.get("at"):
        from ._i18n import time_label

        print(text("cli.plan_at", lang, label=time_label(s["at"]["label"], lang)))
    shortfall = plan_shortfall(s, lang)
    if shortfall:
        print(text("cli.not_reached", lang, why=shortfall))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    _check_out(args)
    kwargs = {**_run_kwargs(args), "check_options": _check_options(args)}
    from .pipeline import CHECK_STAGES, run_check

    with _stage_bar("check", CHECK_STAGES, quiet=args.quiet, lang=_lang(args)) as on_stage:
        run = run_check(args.network, args.stations, args.proposals, out=args.out,
                        overwrite=args.overwrite, on_stage=on_stage, **kwargs)
    args.result = run
    from ._i18n import percent_text, verdict_counts_text

    summary, lang = run.check_summary, _lang(args, run.coverage)
    counts = verdict_counts_text(summary["by_verdict"], lang)
    before, after = (percent_text(summary[k]) for k in ("coverage_before", "coverage_after"))
    print(text("cli.check", lang, n=summary["proposals"], counts=counts, before=before,
               after=after, path=run.paths["check.csv"]))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    _check_out(args)
    kwargs = {**_run_kwargs(args), "check_options": _check_options(args)}
    from .pipeline import REPORT_STAGES, run_report

    with _stage_bar("report", REPORT_STAGES, quiet=args.quiet, lang=_lang(args)) as on_stage:
        run = run_report(args.network, args.stations, out=args.out, overwrite=args.overwrite,
                         proposals=args.proposals or None, districts=args.districts or None,
                         district_col=args.district_col, districts_crs=args.districts_crs,
                         demand=_demand_options(args), rules=args.rules,
                         dense_area=args.dense_area, on_stage=on_stage, **kwargs)
    args.result = run
    print(text("cli.report", _lang(args, run.coverage), path=run.paths["report.html"]))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    serve(args.project_dir, host=args.host, port=args.port, open_browser=not args.no_browser,
          lang=args.lang)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ._outdir import check_export_suffix, check_out_file

    check_out_file(args.out, overwrite=args.overwrite, inputs=[args.stations])
    check_export_suffix(args.out, args.format)
    from .export import write_stations
    from .stations import read_stations, station_markers

    markers = station_markers(read_stations(args.stations, **_station_options(args).read_kwargs()))
    path = write_stations(markers, args.out, format=args.format, lang=_lang(args))
    counts = markers["status"].value_counts()
    log.info("exported %s", ", ".join(f"{n} {s}" for s, n in counts.items()))
    print(text("cli.export", _lang(args), format=args.format, path=path))
    return 0


# --- from arguments to pipeline options ------------------------------------------------

def _check_out(args: argparse.Namespace, *, overwrite: bool | None = None) -> None:
    """The pipeline's overwrite guard, run before the pipeline is imported, so that a run
    into a full folder fails at once rather than after seconds of imports."""
    from ._outdir import check_out_dir

    check_out_dir(args.out, overwrite=args.overwrite if overwrite is None else overwrite)


def _same_path(a: str | None, b: str | None) -> bool:
    """Whether two paths given on the command line name the same place."""
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def _run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The rule, network, station-file and map options shared by the pipeline's runs."""
    from .coverage import CoverageRule

    a = vars(args)
    rule = CoverageRule.for_mode(
        args.mode, radius_m=args.radius_m,
        max_minutes=None if args.no_time_limit else args.max_minutes, speed_kmh=args.speed_kmh,
        cover=a.get("cover", 1), reach_col=a.get("station_radius_col"))
    return {"rule": rule, "network_options": _network_options(args),
            "station_options": _station_options(args), "map_options": _map_options(args)}


def _demand_options(args: argparse.Namespace) -> Any:
    """``--demand`` and its options as :class:`~stationplan.DemandOptions`."""
    from ._options import DemandOptions

    return DemandOptions(source=args.demand, kernel_m=args.kernel_m,
                         weight_col=args.demand_weight_col, crs=args.demand_crs)


def _network_options(args: argparse.Namespace) -> NetworkOptions:
    """The network options of ``args`` (commands without some get their defaults)."""
    a = vars(args)
    return NetworkOptions(
        mode=a.get("mode", opt.MODE), area=a.get("area") or opt.AREA, area_crs=a.get("area_crs"),
        area_place=a.get("area_place"),
        margin_m=a.get("margin_m"), roads=_roads(args), centerline=_centerline_options(args),
        cache_dir=a.get("cache_dir"), overpass_url=a.get("overpass_url"),
        nominatim_url=a.get("nominatim_url"),
        pair_carriageways_m=a.get("pair_carriageways_m", opt.PAIR_CARRIAGEWAYS_M))


def _roads(args: argparse.Namespace) -> Any:
    """``--serve``/``--ignore`` over the brief's classes (each replaces its own half);
    ``None`` (neither given) is the brief's classes."""
    serve, ignore = getattr(args, "serve", None), getattr(args, "ignore", None)
    if serve is None and ignore is None:
        return None
    from .area import RoadClasses

    return RoadClasses(serve=serve if serve is not None else opt.BRIEF_SERVE,
                       ignore=ignore if ignore is not None else opt.BRIEF_IGNORE)


def _centerline_options(args: argparse.Namespace) -> CenterlineOptions | None:
    """The centerline options, or ``None`` when none was given."""
    a = vars(args)
    given: dict[str, Any] = {"split_at_crossings": a.get("split_at_crossings") or None,
             "join_tolerance_m": a.get("join_tolerance_m"),
             "class_column": a.get("class_column"), "oneway_column": a.get("oneway_column")}
    given = {k: v for k, v in given.items() if v is not None}
    return CenterlineOptions(**given) if given else None


def _station_options(args: argparse.Namespace) -> StationOptions:
    """The station-file options of ``args``."""
    a = vars(args)
    given = {name: a.get(name)
             for name in ("crs", "encoding", "sheet", "lon_col", "lat_col", "name_col")}
    return StationOptions(**given, max_snap_m=a.get("max_snap_m", opt.MAX_SNAP_M))


def _map_options(args: argparse.Namespace) -> MapOptions:
    """The map options of ``args``, checked before the long part of a run."""
    return MapOptions(lang=getattr(args, "lang", None),
                      basemap=getattr(args, "basemap", opt.BASEMAP),
                      tianditu_key=getattr(args, "tianditu_key", None),
                      file_format=getattr(args, "file_format", opt.OUTPUT_FORMAT))


def _add_siting_rules(g: argparse._ArgumentGroup, verb: str) -> None:
    """The rules a new site must meet: the same options, defaults and words in plan and
    check, so that a plan's sites pass its own check."""
    g.add_argument("--min-gain-m", type=_number("min_gain_m"), default=opt.MIN_GAIN_M,
                   help=f"street metres (>= 0) a new site must add, in rank order, to be "
                        f"{verb} (default {opt.MIN_GAIN_M:g}; the same rule in plan and check)")
    g.add_argument("--min-spacing-m", type=_number("min_spacing_m"), default=opt.MIN_SPACING_M,
                   help="minimum distance in metres (>= 0) between stations, new or existing; "
                        "exactly this far is allowed; 0 for none (default: the coverage "
                        "limit; the same rule in plan and check)")
    g.add_argument("--spacing", choices=opt.SPACING_METHODS, default=opt.SPACING,
                   help="how --min-spacing-m is measured: along the streets or in a straight "
                        f"line (default {opt.SPACING})")


def _check_options(args: argparse.Namespace) -> CheckOptions:
    return CheckOptions(
        proposal_crs=args.proposal_crs, min_gain_m=args.min_gain_m,
        min_spacing_m=args.min_spacing_m, spacing=args.spacing,
        class_weights=_weights(args.weights), benchmark=not args.no_benchmark,
        candidate_spacing_m=args.candidate_spacing_m, time_limit_s=args.time_limit_s)


def _map_path(paths: dict, *, resolve: bool = False) -> str:
    """The map's path for the closing line, or why there is none (skipped when huge)."""
    path = paths.get("coverage_map.html")
    if path is None:
        return "map skipped (too many street pieces; see the warning above)"
    return str(path.resolve() if resolve else path)


def _objective(args: argparse.Namespace) -> tuple[float | None, int | None]:
    """The plan's goal: ``(target_share, None)`` or ``(None, new_sites)``, checked when
    the arguments were parsed."""
    if args.new_sites is not None:
        return None, args.new_sites
    return args.target, None


def _target(text: str) -> float:
    """The argument type of ``--target``: a share (0.95) or a percentage (95% or 95).

    >>> _target("95%"), _target("0.5"), _target("100")
    (0.95, 0.5, 1.0)
    >>> _target("150%")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number > 0 and <= 1 (share ...) or a percentage \
like 95%, not '150%'
    """
    body = text.strip()
    try:
        value = float(body.removesuffix("%"))
    except ValueError:
        value = float("nan")
    share = value / 100 if body.endswith("%") or value > 1 else value
    rng = opt.RANGES["target_share"]
    if not rng.holds(share):
        msg = f"{rng.rule} or a percentage like 95%, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return share


def _weights(text: str | None) -> dict[str, float]:
    """Parse ``primary=2,secondary=1.5`` into a dict (each weight a number >= 0).

    >>> _weights("primary=2, footway=0")
    {'primary': 2.0, 'footway': 0.0}
    >>> _weights("primary=-1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: the weight of primary must be a number >= 0 ..., not '-1'
    """
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = (word.strip() for word in part.partition("="))
        if not (sep and key):
            msg = f"{part.strip()!r} is not CLASS=NUMBER (e.g. primary=2)"
            raise InputError(msg)
        if key in out:
            msg = f"{key} is given twice"
            raise InputError(msg)
        try:
            out[key] = opt.RANGES["class_weight"].parse(value)
        except InputError as exc:
            msg = f"the weight of {key} {exc}"
            raise InputError(msg) from None
    return out


def _weights_text(text: str) -> str:
    """The argument type of ``--weights``: the text, once :func:`_weights` has read it."""
    try:
        _weights(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _number(name: str) -> Callable[[str], Any]:
    """The argument type of the numeric option ``name``: its value, checked with the
    option's range in :data:`stationplan._options.RANGES` (the library's own check).

    >>> _number("seed")("7"), _number("radius_m")("1e3")
    (7, 1000.0)
    >>> _number("max_snap_m")("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number > 0 (metres from a station to its street), \
not 'nan'
    """
    rng = opt.RANGES[name]

    def number(text: str) -> Any:
        try:
            return rng.parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return number


def _scheduler(text: str) -> str:
    """The argument type of ``batch --scheduler``: a scheduler name or a Dask address,
    checked as the library checks it (:func:`stationplan._options.check_scheduler`)."""
    try:
        opt.check_scheduler(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("scheduler ")) from None
    return text


def _crs_text(value: str) -> str:
    """The argument type of ``--crs`` and every other coordinate-system option: the text,
    once the library reads it as a system (a misspelt name gets the closest one)."""
    from ._read.coords import closest_crs, resolve_crs

    try:
        if not value.strip():
            raise InputError(value)
        resolve_crs(value)
    except InputError:
        msg = ("must be wgs84, gcj02 (Amap, Tencent), bd09 (Baidu), cgcs2000 or EPSG:<code>, "
               f"not {value!r}")
        close = closest_crs(value)
        if close:
            msg += f"; did you mean {close}?"
        raise argparse.ArgumentTypeError(msg) from None
    return value


# --- progress on stderr ----------------------------------------------------------------

def _tqdm(**options: Any) -> Any:
    """A tqdm bar without tqdm's monitor thread: a run's writing stage forks its writer
    only from a process running one thread (:func:`stationplan._process.forked`)."""
    return _quiet_tqdm()(**options)


@functools.cache
def _quiet_tqdm() -> type:
    """tqdm's bar class without its monitor thread (which only tunes bars updated less
    often than every 10 s: these are redrawn at each step)."""
    from tqdm import tqdm

    return type("_Tqdm", (tqdm,), {"monitor_interval": 0})


@contextlib.contextmanager
def _progress(label: str, *, quiet: bool,
              lang: str = "en",
              unit: str = "site") -> Iterator[Callable[[int, int], None] | None]:
    """A tqdm progress bar on stderr as a ``progress(done, total)`` callback.

    The bar appears at the first call (when siting starts computing coverage sets, or
    certifying: then it counts seconds of the time limit) and closes when done.
    """
    if quiet:
        yield None
        return
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(_tqdm(desc=_progress_word(label, lang), unit=unit, file=sys.stderr,
                              leave=False,
                              disable=None))  # TTY only
        bars[0].total = total
        bars[0].update(done - bars[0].n)
        if done >= total:  # finished: the next stage's log lines need the line
            bars.pop().close()

    try:
        yield update
    finally:
        for bar in bars:
            bar.close()


@contextlib.contextmanager
def _stage_bar(label: str, stages: Sequence[str], *, quiet: bool,
               lang: str = "en") -> Iterator[Callable[[str], None] | None]:
    """A tqdm bar on stderr counting the stages of a run (none with --quiet).

    Yields the ``on_stage(name)`` callback for the pipeline.
    """
    if quiet:
        yield None
        return
    bar = _tqdm(total=len(stages), desc=label, unit="step", file=sys.stderr, leave=False,
               disable=None, bar_format="{desc} {n_fmt}/{total_fmt} [{elapsed}]")
    started: list[str] = []

    def on_stage(name: str) -> None:
        if started:  # the stage before this one has ended
            bar.update(1)
        started.append(name)
        sep = "：" if lang == "zh" else ": "
        bar.set_description_str(f"{_progress_word(label, lang)}{sep}"
                                f"{_progress_word(name, lang).replace('_', ' ')}")

    try:
        yield on_stage
    finally:
        bar.close()


@contextlib.contextmanager
def _unit_bar(total: int, *, quiet: bool, lang: str = "en"
              ) -> Iterator[Callable[[str], None] | None]:
    """A tqdm bar on stderr counting the units of a batch run as they end (none with
    --quiet); yields the ``on_unit(unit_id)`` callback."""
    if quiet:
        yield None
        return
    bar = _tqdm(total=total, desc=_progress_word("units", lang), unit="unit",
                file=sys.stderr, leave=False, disable=None,
                bar_format="{desc} {n_fmt}/{total_fmt} [{elapsed}<{remaining}]")
    def on_unit(uid: str) -> None:
        bar.update(1)

    try:
        yield on_unit
    finally:
        bar.close()


def _progress_word(word: str, lang: str) -> str:
    from ._i18n.cli import PROGRESS_ZH

    return PROGRESS_ZH.get(word, word) if lang == "zh" else word


def _add_rule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=opt.MODE_NAMES, default=opt.MODE,
                   help=f"travel mode (default {opt.MODE})")
    p.add_argument("--radius-m", type=_number("radius_m"), default=opt.RADIUS_M,
                   help=f"network distance limit in metres, > 0 (default {opt.RADIUS_M:g})")
    p.add_argument("--max-minutes", type=_number("max_minutes"), default=opt.MAX_MINUTES,
                   help=f"travel-time limit in minutes, > 0 (default {opt.MAX_MINUTES:g}); both "
                        "limits must hold")
    p.add_argument("--speed-kmh", type=_number("speed_kmh"), default=None,
                   help="speed for the time limit, > 0 (default: walk 6, bike 15, ebike 20)")
    p.add_argument("--no-time-limit", action="store_true", help="use the distance limit only")
    p.add_argument("--max-snap-m", type=_number("max_snap_m"), default=opt.MAX_SNAP_M,
                   help="stations farther than this many metres (> 0) from every street are "
                        f"not used (default {opt.MAX_SNAP_M:g})")


def _add_count_options(p: argparse.ArgumentParser, *, cover: bool = True) -> None:
    """k-coverage (coverage, plan and report) and per-station reaches (and check)."""
    if cover:
        p.add_argument("--cover", type=_number("cover"), default=1,
                       help="stations that must reach a street for it to count as covered, a "
                            "whole number >= 1 (default %(default)s; 2: cross-coverage)")
    p.add_argument("--station-radius-col", metavar="NAME", default=None,
                   help="station column with each station's own reach (e.g. 服务半径): metres, "
                        "or with a unit (800米, 1.2km, 10分钟); blank or invalid cells take "
                        "the rule's limit")


NETWORK_HELP = ("OSM file (.osm, .osm.bz2, .osm.pbf, ...), centerline file (.gpkg, .shp, "
                ".geojson, .parquet), GraphML, or a download: place:NAME, bbox:W,S,E,N, "
                "point:LON,LAT,DIST_M, polygon:FILE")


def _add_network_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network", "where the streets come from and which must be served")
    area = g.add_mutually_exclusive_group()
    area.add_argument("--area", metavar="FILE|auto|none",
                      help="planning area: polygon file in any CRS; streets inside are the "
                           "demand; auto (default): the built-up area derived from the data "
                           "(land use, buildings, street density); none: the whole network")
    area.add_argument("--area-place", metavar="NAME",
                      help="planning area by place name: the OSM file's own administrative "
                           "boundary of that name (offline), else geocoded online (cached)")
    g.add_argument("--area-crs", default=None, type=_crs_text,
                   help="coordinate system of the --area file when it is not the file's own: "
                        "wgs84, gcj02 (a polygon drawn on Amap), bd09, cgcs2000 or EPSG:<code>")
    g.add_argument("--margin-m", type=_number("margin_m"), default=None,
                   help="metres (>= 0) of streets kept beyond the area to carry paths "
                        f"(default: the coverage limit; {opt.NETWORK_MARGIN_M:g} for the "
                        "network command)")
    g.add_argument("--carriageway-pair-m", dest="pair_carriageways_m",
                   type=_number("pair_carriageways_m"), default=opt.PAIR_CARRIAGEWAYS_M,
                   metavar="M",
                   help="count the two one-way carriageways of one road (same name or ref, "
                        "running opposite, side by side) once when they are at most this "
                        f"many metres apart; 0 counts both (default: "
                        f"{opt.PAIR_CARRIAGEWAYS_M:g})")
    g.add_argument("--serve", action="append", metavar="CLASSES",
                   help="road classes to serve, comma-separated, or 'all' "
                        f"(default: {','.join(opt.BRIEF_SERVE)})")
    g.add_argument("--ignore", action="append", metavar="CLASSES",
                   help="road classes that carry paths but are never gaps "
                        f"(default: {','.join(opt.BRIEF_IGNORE)})")
    g.add_argument("--split-at-crossings", action="store_true",
                   help="centerline files: join lines where they cross (default: only at "
                        "shared vertices, ends near ends, and ends lying on a line)")
    g.add_argument("--join-tolerance-m", type=_number("join_tolerance_m"), default=None,
                   help="centerline files: join line ends closer than this many metres, >= 0 "
                        f"(default {opt.JOIN_TOLERANCE_M:g})")
    g.add_argument("--class-column", help="centerline files: column with the road class")
    g.add_argument("--oneway-column", help="centerline files: column with the one-way flag")
    g.add_argument("--cache-dir", help="cache for downloads and built networks "
                                       "(default: the user cache directory)")
    g.add_argument("--overpass-url", help="Overpass API endpoint (default: OSMnx's)")
    g.add_argument("--nominatim-url", help="Nominatim endpoint (default: OSMnx's)")


def _add_station_options(p: argparse.ArgumentParser) -> None:
    """Options of every command that reads a station file."""
    g = p.add_argument_group("station file")
    g.add_argument("--crs", default=None, type=_crs_text,
                   help="coordinate system of the station file (and of plan's --hosts "
                        "file, read with the same options): wgs84, gcj02 (Amap, Tencent), "
                        "bd09 (Baidu), cgcs2000 or EPSG:<code>. A file that declares its own "
                        "(GeoJSON, GeoPackage, Shapefile .prj, tagged headers like "
                        "经度(GCJ-02)) keeps it; a sheet note naming one system counts when "
                        "--crs is not given. Without any of these wgs84 is assumed, and a "
                        "file that looks like GCJ-02/BD-09 stops the run")
    g.add_argument("--encoding", default=None,
                   help="text encoding of the station file (default: UTF-8, else GBK/GB18030)")
    g.add_argument("--sheet", default=None,
                   help="sheet of an .xlsx workbook or layer of a GeoPackage (default the first)")
    g.add_argument("--lon-col", default=None, help="name of the longitude (or 'lng,lat') column")
    g.add_argument("--lat-col", default=None, help="name of the latitude column")
    g.add_argument("--name-col", default=None, help="name of the station-name column")


def _add_map_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("map", "language and basemap of coverage_map.html")
    g.add_argument("--lang", choices=opt.LANGS, default=None,
                   help="language of everything the run shows: maps, PNGs, report, check.csv, "
                        "log and closing lines (default: Chinese when the station sheet has "
                        "Chinese headers or names, or the place names are Chinese)")
    g.add_argument("--basemap", choices=opt.BASEMAPS, default=opt.BASEMAP,
                   help="osm, carto (light), tianditu (needs --tianditu-key) or gaode (every "
                        "layer is then shifted to GCJ-02 to match the tiles); default: gaode "
                        "for data inside China, else osm")
    g.add_argument("--tianditu-key", default=None,
                   help="Tianditu browser key; it is written into the HTML")


def _add_format_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", dest="file_format", choices=opt.OUTPUT_FORMATS,
                   default=opt.OUTPUT_FORMAT,
                   help="file format of the street pieces, gap runs and gap areas: geojson, "
                        "parquet (GeoParquet) or auto (the default: parquet above "
                        f"{opt.PARQUET_ABOVE_PIECES:,} street pieces)")


def _add_check_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    g = p.add_argument_group("check", "verdicts on proposed sites")
    if required:
        p.add_argument("proposals", help="proposed sites: any station file format (see --crs "
                                         "and --proposal-crs)")
    else:
        g.add_argument("--proposals", metavar="FILE",
                       help="proposed sites to check and include in the report")
    g.add_argument("--proposal-crs", default=None, type=_crs_text,
                   help="coordinate system of the proposal file when it differs from the "
                        "station file's (wgs84, gcj02, bd09, cgcs2000, EPSG:<code>); it "
                        "replaces even a CRS the proposal file declares; default: --crs "
                        "(for files that do not declare one)")
    _add_siting_rules(g, "accepted")
    g.add_argument("--weights", type=_weights_text,
                   help="demand weight (>= 0) per road class, e.g. primary=2; others weigh 1")
    g.add_argument("--no-benchmark", action="store_true",
                   help="skip the solver's answer with the same number of new sites")
    g.add_argument("--candidate-spacing-m", type=_number("candidate_spacing_m"),
                   default=opt.CANDIDATE_SPACING_M,
                   help="benchmark: metres (>= 1) between the solver's street candidates "
                        f"(default {opt.CANDIDATE_SPACING_M:g})")
    g.add_argument("--time-limit-s", type=_number("time_limit_s"), default=opt.TIME_LIMIT_S,
                   help="benchmark: time limit of the exact search in seconds, > 0 "
                        f"(default {opt.TIME_LIMIT_S:g})")


def _add_demand_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("demand", "what the streets' demand is weighted by (a model; "
                                       "the headline share stays street length)")
    g.add_argument("--demand", default=opt.DEMAND, metavar="length|riders|FILE",
                   help="length (street metres), riders (weighted by restaurants, cafés, "
                        "supermarkets, parcel lockers ... of the OSM network file within "
                        "--kernel-m) or a file of weighted points (e.g. order counts) or grid "
                        f"cells (default {opt.DEMAND})")
    g.add_argument("--kernel-m", type=_number("kernel_m"), default=opt.KERNEL_M,
                   help="metres (> 0) over which a point's weight spreads along nearby "
                        f"streets (quartic kernel; default {opt.KERNEL_M:g})")
    g.add_argument("--demand-weight-col", default=None,
                   help="weight column of the --demand file (default: detected)")
    g.add_argument("--demand-crs", default=None, type=_crs_text,
                   help="coordinate system of the --demand file when it is not the file's "
                        "own: wgs84, gcj02, bd09, cgcs2000 or EPSG:<code>")


def _add_hours_options(p: argparse.ArgumentParser, *, by_hour: bool = True) -> None:
    g = p.add_argument_group("opening hours", "coverage by the stations open at a time "
                                              "(the sheet's 开放时间 / opening_hours)")
    g.add_argument("--at", type=_at_text, default=None, metavar="WHEN",
                   help="count only the stations open then (plan: the sites that close the "
                        "gap left then): 22:00 (a Wednesday), 'Sat 07:00', "
                        "'周六 07:00' or '2025-10-01 07:00'; hours not given count as open, "
                        "unreadable hours as not open (both listed in summary.json)")
    if not by_hour:
        return
    g.add_argument("--by-hour", action="store_true",
                   help="also the exact coverage at each full hour of the day (the day of "
                        "--at, else a Wednesday): hours.csv, hours.xlsx and summary.json")


def _at_text(value: str) -> str:
    """The argument type of ``--at``: the text, checked as the library reads it."""
    from .hours import parse_at

    try:
        parse_at(value)
    except InputError as exc:
        msg = f"{str(exc).removeprefix(f'--at {value!r}: ')}, not {value!r}"
        raise argparse.ArgumentTypeError(msg) from None
    return value


def _add_report_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("report", "report.html, report.md and report.json")
    _add_district_options(g, "a per-district table")


def _add_district_options(g: Any, used_for: str) -> None:
    """``--districts``, ``--district-col`` and ``--districts-crs`` in group ``g``."""
    g.add_argument("--districts", metavar="FILE",
                   help=f"district polygons (街道/社区) in any CRS for {used_for}")
    g.add_argument("--district-col", default=None,
                   help="column with the district names (default: name, 名称, 街道, 社区, ...)")
    g.add_argument("--districts-crs", default=None, type=_crs_text,
                   help="coordinate system of the --districts file when it is not the file's "
                        "own: wgs84, gcj02, bd09, cgcs2000 or EPSG:<code>")


def _add_rules_options(p: argparse.ArgumentParser, *, districts: bool) -> None:
    g = p.add_argument_group("rules", "verdicts on standards (rule packs)")
    g.add_argument("--rules", metavar="RULES", type=_rules_text, default=None,
                   help="rules to give a verdict on, comma-separated: built-in xinle, "
                        "acftu-15min, shandong, gb50180-5, gb50180-10, gb50180-15, or a .toml "
                        "rule file of your own (e.g. xinle,acftu-15min,./mine.toml); the "
                        "headline figures stay this run's rule")
    g.add_argument("--dense-area", metavar="FILE", default=None,
                   help="polygons (any CRS) where a rule's stricter dense-area threshold "
                        "applies (shandong: 0.5 km); without it that part is not checked")
    if districts:
        _add_district_options(g, "the rules' verdicts per district")


def _rules_text(value: str) -> str:
    """``--rules``: the rule packs must load (a one-line usage error otherwise)."""
    from .rules import load_rules

    try:
        load_rules(value)
    except InputError as exc:
        msg = f"{exc}, not {value!r}"
        raise argparse.ArgumentTypeError(msg) from None
    return value


class _Parser(argparse.ArgumentParser):
    """The argument parser of the command line and its commands: an error is one line on
    stderr naming the option (exit 2), with the closest option to a misspelt one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: Mapping[str, argparse.ArgumentParser] = {}  # set by _parser
        self.lang = "en"  # of the help and the errors; set by localize_parser

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one line and exit 2 (argparse prints the usage first)."""
        line = " ".join(_suggest(message).split())
        if self.lang == "zh":
            self.exit(2, f"{self.prog}: 错误：{usage_error_text(line)}（见 {self.prog} --help）\n")
        self.exit(2, f"{self.prog}: error: {line} (see {self.prog} --help)\n")

    # Any: typeshed overloads parse_args on the namespace's type; ours is the default.
    def parse_args(self, args: Iterable[str] | None = None, namespace: Any = None) -> Any:
        """Parse like argparse, but report unknown arguments from the command's parser, so
        that the suggestion is among the command's own options."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self.commands.get(getattr(parsed, "command", None) or "", self)
            parser.error(_unrecognized(parser, extras))
        return parsed


def _unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """The message for arguments ``parser`` does not know, with the closest known option."""
    # without the dashes, which every option shares and which would make all look close
    known = [s[2:] for s in parser._option_string_actions if s.startswith("--")]
    msg = f"unrecognized arguments: {' '.join(extras)}"
    for word in extras:
        if word.startswith("--"):
            close = difflib.get_close_matches(word[2:].split("=", 1)[0], known, n=1)
            if close:
                return f"{msg}; did you mean --{close[0]}?"
    return msg


def _suggest(message: str) -> str:
    """Add the closest choice to argparse's "invalid choice" message (a misspelt command)."""
    m = re.fullmatch(r"argument (.+): invalid choice: '(.*)' \(choose from (.*)\)", message)
    if m:
        close = difflib.get_close_matches(m[2], re.findall(r"'([^']*)'", m[3]), n=1)
        if close:
            return f"{message}; did you mean {close[0]}?"
    return message


def _parser(lang: str = "en") -> argparse.ArgumentParser:
    """The command line's parser, its help in ``lang`` with a worked example per command."""
    parser = _Parser(
        prog="stationplan", description="Plan care-station coverage along street networks."
    )
    parser.add_argument("--version", action="version", version=f"stationplan {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="only errors")
    common.add_argument("--debug", action="store_true", help="debug log and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    cov = sub.add_parser("coverage", parents=[common],
                         help="coverage of a street network by existing stations")
    cov.add_argument("network", help=NETWORK_HELP)
    cov.add_argument("stations", help="station file: CSV, XLSX, GeoJSON, GeoPackage, Shapefile, "
                                      "KML or GPX (see --crs for Amap/Baidu coordinates)")
    cov.add_argument("--out", required=True, help="output folder")
    cov.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    _add_rule_options(cov)
    _add_count_options(cov)
    _add_map_options(cov)
    _add_format_option(cov)
    _add_network_options(cov)
    _add_station_options(cov)
    _add_demand_options(cov)
    _add_hours_options(cov)
    _add_rules_options(cov, districts=True)
    cov.set_defaults(func=_cmd_coverage)

    net = sub.add_parser("network", parents=[common],
                         help="build the street network only and write it for inspection")
    net.add_argument("network", help=NETWORK_HELP)
    net.add_argument("--out", required=True,
                     help="output folder (network.gpkg, network_summary.json)")
    net.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    net.add_argument("--mode", choices=opt.MODE_NAMES, default=opt.MODE,
                     help=f"travel mode (default {opt.MODE})")
    _add_network_options(net)
    net.set_defaults(func=_cmd_network)

    demo = sub.add_parser("demo", parents=[common],
                          help="run coverage on the bundled central-Helsinki extract")
    demo.add_argument("--out", default=None,
                      help=f"output folder (default {DEMO_OUT}, replaced by each demo run)")
    demo.add_argument("--overwrite", action="store_true",
                      help="replace earlier outputs in the --out folder given")
    _add_rule_options(demo)
    _add_map_options(demo)
    _add_station_options(demo)
    demo.set_defaults(func=_cmd_demo)

    plan = sub.add_parser("plan", parents=[common],
                          help="propose new station sites and certify how good they are")
    plan.add_argument("network", help=NETWORK_HELP)
    plan.add_argument("stations", help="existing stations (fixed in every solution)")
    plan.add_argument("--out", required=True, help="output folder")
    plan.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    goal = plan.add_mutually_exclusive_group()
    goal.add_argument("--target", type=_target, default=f"{100 * opt.TARGET_SHARE:g}%",
                      help="fewest new sites covering this share of all demand streets: a "
                           "percentage (95%%, or 95) or a fraction (0.95), above 0 and at "
                           f"most 100%% (default {100 * opt.TARGET_SHARE:g}%%)")
    goal.add_argument("--new-sites", type=_number("new_sites"), default=None, metavar="K",
                      help="the K new sites (a whole number >= 1) that cover the most street "
                           "length")
    g = plan.add_argument_group("siting")
    g.add_argument("--candidates", default=opt.CANDIDATES,
                   help="auto (host shops in the OSM file, --hosts, and street positions "
                        "every --candidate-spacing-m so every street can be reached; hosts "
                        "preferred among equal choices), osm (host shops only), streets "
                        "(street positions only), or a file of sites (only those); "
                        f"default {opt.CANDIDATES}")
    g.add_argument("--hosts", metavar="FILE",
                   help="willing hosts (a station-like sheet) added to the candidates")
    g.add_argument("--candidate-spacing-m", type=_number("candidate_spacing_m"),
                   default=opt.CANDIDATE_SPACING_M,
                   help="street candidates: metres (>= 1) between positions "
                        f"(default {opt.CANDIDATE_SPACING_M:g})")
    g.add_argument("--candidate-snap-m", type=_number("candidate_snap_m"),
                   default=opt.CANDIDATE_SNAP_M,
                   help="hosts farther than this many metres (> 0) from a street are left out "
                        f"(default {opt.CANDIDATE_SNAP_M:g})")
    g.add_argument("--exclude", metavar="FILE", help="polygons where no station may go")
    g.add_argument("--resolution-m", type=_number("resolution_m"), default=opt.RESOLUTION_M,
                   help="street unit in metres (>= 1) of the coarse siting model, used only "
                        f"when the exact model does not fit in memory "
                        f"(default {opt.RESOLUTION_M:g})")
    g.add_argument("--weights", type=_weights_text,
                   help="demand weight (>= 0) per road class, e.g. primary=2,secondary=1.5; "
                        "others weigh 1")
    _add_siting_rules(g, "proposed")
    g.add_argument("--time-limit-s", type=_number("time_limit_s"), default=opt.TIME_LIMIT_S,
                   help="time limit of the exact search in seconds, > 0 "
                        f"(default {opt.TIME_LIMIT_S:g})")
    g.add_argument("--seed", type=_number("seed"), default=opt.SEED,
                   help=f"seed of the local search, a whole number >= 0 (default {opt.SEED})")
    _add_rule_options(plan)
    _add_count_options(plan)
    _add_map_options(plan)
    _add_format_option(plan)
    _add_network_options(plan)
    _add_station_options(plan)
    _add_report_options(plan)
    _add_demand_options(plan)
    _add_hours_options(plan, by_hour=False)
    plan.set_defaults(func=_cmd_plan)

    exp = sub.add_parser("export", parents=[common],
                         help="write a station file as map markers or a sheet for map apps "
                              "(GeoJSON, CSV, Excel, KML, GPX, Amap 企业智图 / Map Lab)")
    exp.add_argument("stations", help="station file (CSV, XLSX, GeoJSON, GeoPackage, Shapefile, "
                                      "KML, GPX) or a stations/proposals.geojson of stationplan")
    exp.add_argument("--format", required=True, choices=opt.EXPORT_FORMATS,
                     help="geojson; csv or xlsx (WGS-84, GCJ-02 and BD-09 columns); kml; gpx; "
                          "amap (.xlsx point layer for Amap 企业智图: 名称, 地址, 经度, 纬度 in "
                          "GCJ-02, other fields, a 高德地图 link); amap-maplab (Amap Map Lab "
                          "upload, .xlsx or UTF-8 .csv: one 经纬度 column 'lng,lat' in GCJ-02)")
    exp.add_argument("--out", required=True,
                     help="file to write; its suffix must match --format (.geojson/.json, "
                          ".csv, .xlsx, .kml, .gpx)")
    exp.add_argument("--overwrite", action="store_true", help="replace the --out file if it exists")
    _add_station_options(exp)
    exp.set_defaults(func=_cmd_export)

    chk = sub.add_parser("check", parents=[common],
                         help="verdicts on proposed sites: what each adds, spacing, and why")
    chk.add_argument("network", help=NETWORK_HELP)
    chk.add_argument("stations", help="existing stations (any station file format)")
    _add_check_options(chk, required=True)
    chk.add_argument("--out", required=True,
                     help="output folder (check.csv, check.geojson, check_summary.json, "
                          "check_map.html)")
    chk.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    _add_rule_options(chk)
    _add_count_options(chk, cover=False)
    _add_map_options(chk)
    _add_network_options(chk)
    _add_station_options(chk)
    chk.set_defaults(func=_cmd_check)

    rep = sub.add_parser("report", parents=[common],
                         help="a planning report (HTML and Markdown) with the coverage outputs")
    rep.add_argument("network", help=NETWORK_HELP)
    rep.add_argument("stations", help="existing stations (any station file format)")
    rep.add_argument("--out", required=True, help="output folder")
    rep.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    _add_report_options(rep)
    _add_check_options(rep, required=False)
    _add_rule_options(rep)
    _add_count_options(rep)
    _add_map_options(rep)
    _add_format_option(rep)
    _add_network_options(rep)
    _add_station_options(rep)
    _add_demand_options(rep)
    _add_rules_options(rep, districts=False)
    rep.set_defaults(func=_cmd_report)

    part = sub.add_parser("partition", parents=[common],
                          help="cut a network into units (counties, tiles) with a halo")
    part.add_argument("network", help=NETWORK_HELP)
    part.add_argument("regions", help="polygon file of the regions (ids and names from its "
                                      "columns: id, code, 区划代码, ...; name, 名称, 区县, 街道, "
                                      "...), osm-admin:LEVEL (boundaries in the OSM file; "
                                      "counties are level 6 in China) or grid:KM")
    part.add_argument("--out", required=True, help="units folder (units.csv, extracts/)")
    part.add_argument("--overwrite", action="store_true",
                      help="replace the units of an earlier partition in --out")
    part.add_argument("--id-column", metavar="COLUMN",
                      help="the region file's column of unit ids (default: the first of id, "
                           "code, adcode, 区划代码, ...; else the names)")
    part.add_argument("--name-column", metavar="COLUMN",
                      help="the region file's column of unit names (default: the first of "
                           "name, 名称, 街道, 乡镇, 区县, ...)")
    part.add_argument("--regions-crs", metavar="CRS", type=_crs_text,
                      help="the region file's coordinate system when it is not the file's "
                           "own: wgs84, gcj02, bd09, cgcs2000 or EPSG:<code>")
    part.add_argument("--halo-m", type=_number("halo_m"), default=opt.HALO_M,
                      help="metres of streets kept around each unit, at least reach + 2 x "
                           "snap distance + the distance between twin carriageways "
                           f"(default {opt.HALO_M:g})")
    part.add_argument("--max-unit-edges", type=_number("max_unit_edges"),
                      default=opt.MAX_UNIT_EDGES,
                      help="street segments one task may hold, halo included: a larger "
                           "region is split into tiles, added up again in the league "
                           f"(default {opt.MAX_UNIT_EDGES:,})")
    part.add_argument("--mode", choices=opt.MODE_NAMES, default=opt.MODE,
                      help=f"travel mode (default {opt.MODE})")
    _add_network_options(part)
    part.set_defaults(func=_cmd_partition)

    bat = sub.add_parser("batch", parents=[common],
                         help="coverage or plans of every unit of a partition, stitched; a "
                              "quota of new stations split across the units")
    bat.add_argument("task", choices=("coverage", "plan", "allocate"),
                     help="coverage or plan: run per unit; allocate: split --quota over the "
                          "curves of a batch plan folder")
    bat.add_argument("units", help="units folder written by stationplan partition (allocate: "
                                   "the batch plan --out folder)")
    bat.add_argument("stations", nargs="?", default=None,
                     help="existing stations (any station file format; not for allocate)")
    bat.add_argument("--out", default=None,
                     help="output folder (coverage: pieces.csv, pieces/, gaps/, league.csv, "
                          "league.xlsx, province_map.html, province_map.png; plan: curves.csv, "
                          "sites.csv, sites.xlsx; both failed.csv and units/; allocate: default "
                          "the plan folder)")
    bat.add_argument("--scheduler", default="local", type=_scheduler,
                     help="serial, inprocess, local (a Dask LocalCluster, the default) or a "
                          "Dask scheduler address tcp://HOST:PORT")
    bat.add_argument("--workers", type=_number("workers"), default=None,
                     help="worker processes of the local cluster (default: one per core)")
    bat.add_argument("--resume", action="store_true",
                     help="continue an earlier run into --out: reuse the units it finished "
                          "and replace its outputs")
    bat.add_argument("--overwrite", action="store_true",
                     help="replace earlier outputs in --out (allocate: the allocation files)")
    g = bat.add_argument_group("plan", "batch plan: the certified best plans per unit")
    curve = g.add_mutually_exclusive_group()
    curve.add_argument("--quota-curve", type=_number("quota_curve"), default=opt.QUOTA_CURVE,
                       metavar="N",
                       help="plan every unit for 0, 1, ..., N new sites (a whole number >= 1; "
                            "the best-K curve batch allocate needs; default %(default)s)")
    curve.add_argument("--sites", type=_number("quota_curve"), default=None, metavar="K",
                       help="plan every unit for K new sites only (a whole number >= 1)")
    g.add_argument("--hosts", metavar="FILE",
                   help="willing hosts (a station-like sheet) added to the street candidates")
    g.add_argument("--candidate-spacing-m", type=_number("candidate_spacing_m"),
                   default=opt.CANDIDATE_SPACING_M,
                   help="street candidates: metres (>= 1) between positions "
                        f"(default {opt.CANDIDATE_SPACING_M:g})")
    g.add_argument("--candidate-snap-m", type=_number("candidate_snap_m"),
                   default=opt.CANDIDATE_SNAP_M,
                   help="hosts farther than this many metres (> 0) from a street are left out "
                        f"(default {opt.CANDIDATE_SNAP_M:g})")
    _add_siting_rules(g, "proposed")
    g.add_argument("--time-limit-s", type=_number("time_limit_s"), default=opt.TIME_LIMIT_S,
                   help="time limit of each exact search (each unit and K) in seconds, > 0 "
                        f"(default {opt.TIME_LIMIT_S:g})")
    g.add_argument("--seed", type=_number("seed"), default=opt.SEED,
                   help=f"seed of the local search, a whole number >= 0 (default {opt.SEED})")
    g = bat.add_argument_group("allocate", "batch allocate: split a quota across the units")
    g.add_argument("--quota", type=_number("quota"), default=None, metavar="N",
                   help="new stations to share out (a whole number >= 0)")
    g.add_argument("--fair", action="store_true",
                   help="maximise the lowest covered share of the units first, then the total")
    _add_rule_options(bat)
    _add_station_options(bat)
    bat.set_defaults(func=_cmd_batch)
    srv = sub.add_parser("serve", parents=[common],
                         help="open the planner's page: choose a network, drop in a station "
                              "sheet, add, move and delete stations and see the coverage at once")
    srv.add_argument("project_dir", nargs="?", default=".",
                     help="project folder (project.sqlite, inputs/, downloads/; created when "
                          "missing; default the current folder)")
    srv.add_argument("--port", type=_number("port"), default=opt.SERVE_PORT,
                     help="port (default %(default)s)")
    srv.add_argument("--host", default=opt.SERVE_HOST,
                     help="address to listen on (default %(default)s: this computer only; any "
                          "other address needs the access token printed at start)")
    srv.add_argument("--no-browser", action="store_true", help="do not open the browser")
    srv.add_argument("--lang", choices=opt.LANGS, default=None,
                     help="language of the page and the messages (default: the project's "
                          "choice, else Chinese for a network in China)")
    srv.set_defaults(func=_cmd_serve)
    for p in (net, exp, part, bat):  # the others have it among the map options
        p.add_argument("--lang", choices=opt.LANGS, default=None,
                       help="language of the messages (default: Chinese for a station file "
                            "with Chinese headers or names)")
    parser.commands = sub.choices
    localize_parser(parser, sub, lang)
    return parser


@contextlib.contextmanager
def _logging_to_stderr(*, quiet: bool, debug: bool, lang: str = "en") -> Iterator[None]:
    """Show the library's log on stderr for one run, in ``lang``, then put the logger back
    as it was.

    Log lines go through tqdm (``logging_redirect_tqdm``), so that they print above a
    progress bar instead of through it; with ``quiet`` there is no bar, and they are
    written as they are (tqdm made a lock between processes for its first line: 0.1 s).
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogFormatter(lang))
    saved = (log.level, log.propagate)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    # batch quiets Dask's own lines (a worker killed as the cluster closes after Ctrl-C)
    # unless --debug; their level is put back here
    dask_log = logging.getLogger("distributed")
    dask_level = dask_log.level
    try:
        with contextlib.nullcontext() if quiet else logging_redirect_tqdm(loggers=[log]):
            yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]
        dask_log.setLevel(dask_level)


def _os_problem(exc: OSError) -> str:
    """One line for an operating-system error: the file, what happened, what to do.

    >>> import errno
    >>> print(_os_problem(PermissionError(errno.EACCES, "Permission denied", "s.xlsx")))
    s.xlsx: Permission denied; check that the file can be read (close it in Excel/WPS, or ask \
for access) and rerun
    """
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno in DISK_FULL:
        hint = "free some space and rerun"
    else:
        hint = ("check that the file can be read (close it in Excel/WPS, or ask for access) "
                "and rerun")
    return f"{where}{exc.strerror or exc}; {hint}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    main_entry()
