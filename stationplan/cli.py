"""The command line: a thin layer over the Python API.

Exit codes: 0 success, 1 other stationplan error, 2 bad input, 3 missing data,
4 network unavailable, 5 too large for the memory available, 70 internal error (traceback
with ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import __version__, _limits
from ._errors import InputError, MissingDataError, StationplanError
from ._netout import write_network
from .area import BRIEF_ROAD_CLASSES, RoadClasses
from .coverage import CoverageRule, compute_coverage
from .export import write_stations
from .gaps import find_gaps
from .maps import BASEMAPS, check_map_options
from .network import MODES, OSM_SUFFIXES, load_network
from .outputs import write_coverage_outputs
from .stations import read_stations, snap_stations, station_markers
from .summary import summarize

log = logging.getLogger("stationplan")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    with _logging_to_stderr(quiet=args.quiet, debug=args.debug):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.func(args)
    except StationplanError as exc:
        if args.debug:
            raise
        print(f"stationplan: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        if args.debug:
            raise
        print(f"stationplan: internal error: {_one_line(exc)} (rerun with --debug)",
              file=sys.stderr)
        return 70


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


def _cmd_coverage(args: argparse.Namespace) -> int:
    paths = _run_coverage(args.network, args.stations, args.out, args, overwrite=args.overwrite)
    print(f"coverage map: {_map_path(paths)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import demo_network_path, demo_stations_path

    network = demo_network_path()
    stations = demo_stations_path()
    paths = _run_coverage(network, stations, args.out, args, overwrite=True)
    print(f"demo map: {_map_path(paths, resolve=True)}")
    return 0


def _cmd_network(args: argparse.Namespace) -> int:
    net = _load_network(args, args.network,
                        margin_m=500.0 if args.margin_m is None else args.margin_m)
    paths = write_network(args.out, net, overwrite=args.overwrite)
    isl = net.islands()
    print(f"network: {paths['network.gpkg']} ({len(net.edges)} street segments, "
          f"{net.total_length_m / 1000:.1f} km, {net.demand_length_m / 1000:.1f} km to serve, "
          f"{isl['count']} islands with {isl['length_m'] / 1000:.1f} km)")
    return 0


def _load_network(args: argparse.Namespace, source, *, margin_m: float):
    """load_network with the network options of the command line (absent ones default)."""
    opt = vars(args)
    serve, ignore = opt.get("serve"), opt.get("ignore")
    roads = RoadClasses(
        serve=serve if serve is not None else BRIEF_ROAD_CLASSES.serve,
        ignore=ignore if ignore is not None else BRIEF_ROAD_CLASSES.ignore,
    )
    return load_network(
        source, mode=args.mode, area=opt.get("area"), area_place=opt.get("area_place"),
        margin_m=margin_m, roads=roads, split_at_crossings=opt.get("split_at_crossings", False),
        join_tolerance_m=opt.get("join_tolerance_m", 1.0),
        class_column=opt.get("class_column"), oneway_column=opt.get("oneway_column"),
        cache_dir=opt.get("cache_dir"), overpass_url=opt.get("overpass_url"),
        nominatim_url=opt.get("nominatim_url"),
    )


def _run_coverage(network, stations, out, args, *, overwrite):
    map_options = _map_options(args)
    rule = _rule(args)
    with _stages("coverage", 5, quiet=args.quiet) as (stage, timings):
        net, snapped = _network_and_stations(args, network, stations, rule, stage=stage)
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
        with stage("write_outputs"):
            paths = write_coverage_outputs(out, cov, gaps, summary, overwrite=overwrite,
                                           **map_options)
    paths["timings.json"] = _write_timings(out, timings)
    return paths


def _rule(args: argparse.Namespace) -> CoverageRule:
    return CoverageRule.for_mode(
        args.mode,
        radius_m=args.radius_m,
        max_minutes=None if args.no_time_limit else args.max_minutes,
        speed_kmh=args.speed_kmh,
    )


def _network_and_stations(args, network, stations, rule, *, stage=None):
    stage = stage or (lambda _name: contextlib.nullcontext())
    margin = getattr(args, "margin_m", None)
    with stage("load_network"):
        net = _load_network(args, network, margin_m=rule.limit_m if margin is None else margin)
    with stage("stations"):
        read = read_stations(stations, **_station_kwargs(args))
        snapped = snap_stations(net, read, max_snap_m=args.max_snap_m)
    return net, snapped


def _cmd_plan(args: argparse.Namespace) -> int:
    map_options = _map_options(args)
    target, k = _objective(args)
    districts = _districts(args)
    rule = _rule(args)
    with _stages("plan", 7, quiet=args.quiet) as (stage, timings):
        paths, result = _plan_stages(args, stage, map_options, target, k, districts, rule)
    paths["timings.json"] = _write_timings(args.out, {**timings, **result.timings})
    s = result.summary
    print(f"{s['new_sites']} new sites: coverage {100 * s['coverage_before']:.1f} % -> "
          f"{100 * s['coverage_after']:.1f} % ({s['quality']}); map: {_map_path(paths)}")
    return 0


def _plan_stages(args, stage, map_options, target, k, districts, rule):
    """The stages of ``plan``, each timed by ``stage``; returns (paths, siting result)."""
    from .candidates import exclude_zones, osm_candidates, snap_candidates, street_candidates
    from .outputs import write_plan_outputs
    from .siting import plan_sites, stations_with_proposals

    net, snapped = _network_and_stations(args, args.network, args.stations, rule, stage=stage)
    with stage("candidates"):
        source = args.candidates
        if source == "auto":
            source = "osm" if str(args.network).lower().endswith(OSM_SUFFIXES) else "streets"
        if source == "streets":
            cands = street_candidates(net, spacing_m=args.candidate_spacing_m)
        elif source == "osm":
            cands = osm_candidates(net, args.network, max_snap_m=args.candidate_snap_m)
        else:
            points = read_stations(source, **_station_kwargs(args))
            points = points[points["status"] == "ok"]
            cands = snap_candidates(net, points, kind="file", max_snap_m=args.candidate_snap_m)
        if args.exclude:
            import geopandas as gpd

            cands = exclude_zones(cands, gpd.read_file(args.exclude))
        if cands.empty:
            msg = f"no candidate sites ({source}); try --candidates streets"
            raise MissingDataError(msg)
    _check_siting_memory(net, snapped, cands, rule, args.resolution_m)
    with stage("siting"), _progress("coverage sets", quiet=args.quiet) as progress:
        result = plan_sites(
            net, snapped, cands, rule=rule, target_share=target, new_sites=k,
            resolution_m=args.resolution_m, class_weights=_weights(args.weights),
            min_spacing_m=args.min_spacing_m, spacing=args.spacing,
            time_limit_s=args.time_limit_s, seed=args.seed, progress=progress,
        )
    with stage("coverage_after"):
        after = stations_with_proposals(snapped, result.proposals)
        cov = compute_coverage(net, after, rule=rule)
        gaps = find_gaps(cov)
        summary = summarize(cov, gaps)
    with stage("write_outputs"):
        paths = write_coverage_outputs(args.out, cov, gaps, summary,
                                       overwrite=args.overwrite, proposals=result.proposals,
                                       **map_options)
        paths |= write_plan_outputs(args.out, result, overwrite=args.overwrite)
        _write_report(args.out, cov, gaps, summary, paths, plan=result, districts=districts,
                      lang=map_options["lang"], overwrite=args.overwrite)
    return paths, result


def _check_coverage_memory(net, snapped) -> None:
    """Refuse (exit 5) a coverage run whose estimate exceeds the memory available."""
    _limits.check_coverage(len(net.edges), int((snapped["status"] == "ok").sum()))


def _check_siting_memory(net, snapped, cands, rule, resolution_m: float) -> None:
    """Refuse (exit 5) siting, then coverage with the proposals, that would not fit."""
    _limits.check_siting(net, cands, limit_m=rule.limit_m, resolution_m=resolution_m)
    _check_coverage_memory(net, snapped)


def _map_path(paths: dict, *, resolve: bool = False) -> str:
    """The map's path for the closing line, or why there is none (skipped when huge)."""
    path = paths.get("coverage_map.html")
    if path is None:
        return "map skipped (too many street pieces; see the warning above)"
    return str(path.resolve() if resolve else path)


def _objective(args: argparse.Namespace) -> tuple[float | None, int | None]:
    if args.new_sites is not None:
        return None, args.new_sites
    text = args.target.strip().rstrip("%")
    try:
        value = float(text)
    except ValueError:
        msg = f"--target {args.target!r}: give a share like 100% or 0.95"
        raise InputError(msg) from None
    share = value / 100 if args.target.strip().endswith("%") or value > 1 else value
    return share, None


def _weights(text: str | None) -> dict[str, float]:
    """Parse ``primary=2,secondary=1.5`` into a dict."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            msg = f"--weights: {part!r} is not CLASS=NUMBER (e.g. primary=2)"
            raise InputError(msg)
    return out


@contextlib.contextmanager
def _progress(label: str, *, quiet: bool) -> Iterator:
    """A tqdm progress bar on stderr as a ``progress(done, total)`` callback."""
    if quiet:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(desc=label, unit="site", file=sys.stderr, leave=False, disable=None)  # TTY only
    try:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update
    finally:
        bar.close()


def _cmd_check(args: argparse.Namespace) -> int:
    from .check import write_check_outputs

    map_options = _map_options(args)
    rule = _rule(args)
    net, snapped = _network_and_stations(args, args.network, args.stations, rule)
    _check_coverage_memory(net, snapped)
    checked, summary = _check_proposals(args, net, snapped, rule)
    cov = compute_coverage(net, snapped, rule=rule)
    paths = write_check_outputs(args.out, checked, summary, coverage=cov, gaps=find_gaps(cov),
                                overwrite=args.overwrite, area=net.demand.area, **map_options)
    counts = ", ".join(f"{n} {v}" for v, n in summary["by_verdict"].items() if n)
    print(f"{summary['proposals']} proposals: {counts}; coverage "
          f"{100 * summary['coverage_before']:.1f} % -> {100 * summary['coverage_after']:.1f} % "
          f"with the accepted ones; table: {paths['check.csv']}")
    return 0


def _check_proposals(args, net, snapped, rule):
    """Read the proposal file (``--proposal-crs`` or the station options) and check it."""
    from .check import check_sites, check_summary

    kwargs = _station_kwargs(args)
    if args.proposal_crs is not None:
        kwargs["crs"] = args.proposal_crs
    proposals = read_stations(args.proposals, **kwargs)
    checked = check_sites(net, snapped, proposals, rule=rule, min_gain_m=args.min_gain_m,
                          spacing_m=args.spacing_m, max_snap_m=args.max_snap_m,
                          class_weights=_weights(args.weights))
    summary = check_summary(net, snapped, checked, benchmark=not args.no_benchmark,
                            candidate_spacing_m=args.candidate_spacing_m,
                            time_limit_s=args.time_limit_s)
    return checked, summary


def _cmd_report(args: argparse.Namespace) -> int:
    from .check import write_check_outputs

    map_options = _map_options(args)
    districts = _districts(args)
    rule = _rule(args)
    net, snapped = _network_and_stations(args, args.network, args.stations, rule)
    _check_coverage_memory(net, snapped)
    cov = compute_coverage(net, snapped, rule=rule)
    gaps = find_gaps(cov)
    summary = summarize(cov, gaps)
    paths = write_coverage_outputs(args.out, cov, gaps, summary, overwrite=args.overwrite,
                                   **map_options)
    check = None
    if args.proposals:
        check = _check_proposals(args, net, snapped, rule)
        paths |= write_check_outputs(args.out, *check, coverage=cov, gaps=gaps,
                                     overwrite=args.overwrite, area=net.demand.area,
                                     **map_options)
    paths = _write_report(args.out, cov, gaps, summary, paths, check=check, districts=districts,
                          lang=map_options["lang"], overwrite=args.overwrite)
    print(f"report: {paths['report.html']}")
    return 0


def _districts(args: argparse.Namespace):
    """The ``--districts`` polygons, read before the long part of a run (or ``None``)."""
    if not getattr(args, "districts", None):
        return None
    from .report import read_districts

    return read_districts(args.districts, name_col=args.district_col)


# Files of a run linked from the report, in this order.
_REPORT_LINKS = ("coverage_map.html", "check_map.html", "summary.json", "plan_summary.json",
                 "check_summary.json", "check.csv", "proposals.geojson", "coverage.geojson",
                 "gaps.geojson", "stations.geojson", "coverage_curve.csv")


def _write_report(out, cov, gaps, summary, paths, *, plan=None, check=None, districts=None,
                  lang=None, overwrite=False):
    """Write report.html/.md/.json beside the other outputs; return every path written."""
    from .report import report_data, write_report

    files = {name: name for name in _REPORT_LINKS if name in paths}
    images = {name: Path(paths[name]).read_bytes()
              for name in ("coverage_map.png", "coverage_curve.png") if name in paths}
    data = report_data(cov, gaps, summary, plan=plan, check=check, districts=districts,
                       files=files, lang=lang)
    return {**paths, **write_report(out, data, images=images, overwrite=overwrite)}


@contextlib.contextmanager
def _stages(label: str, total: int, *, quiet: bool) -> Iterator:
    """Time the named stages of a run; show them as a tqdm bar on stderr (not with --quiet).

    Yields ``(stage, timings)``: ``with stage("name"):`` times a block into
    ``timings["name_s"]``.
    """
    timings: dict[str, float] = {}
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=label, unit="step", file=sys.stderr, leave=False, disable=None,
                   bar_format="{desc} {n_fmt}/{total_fmt} [{elapsed}]")

    @contextlib.contextmanager
    def stage(name: str) -> Iterator[None]:
        if bar is not None:
            bar.set_description_str(f"{label}: {name.replace('_', ' ')}")
        t = time.perf_counter()
        try:
            yield
        finally:
            timings[f"{name}_s"] = time.perf_counter() - t
            if bar is not None:
                bar.update(1)

    try:
        yield stage, timings
    finally:
        if bar is not None:
            bar.close()


def _write_timings(out: str | Path, timings: dict[str, float]) -> Path:
    """``timings.json``: seconds per stage (kept out of summary.json, which stays stable)."""
    from ._io import atomic_write_text, json_text

    data = {k: round(v, 3) for k, v in timings.items()}
    data["total_s"] = round(sum(v for k, v in timings.items() if not k.startswith(
        ("demand_", "spacing_", "coverage_sets_", "greedy_", "local_search_", "certificate_"))),
        3)
    return atomic_write_text(Path(out) / "timings.json", json_text(data))


def _add_rule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=sorted(MODES), default="walk",
                   help="travel mode (default walk)")
    p.add_argument("--radius-m", type=float, default=500.0,
                   help="network distance limit in metres (default 500)")
    p.add_argument("--max-minutes", type=float, default=5.0,
                   help="travel-time limit in minutes (default 5); both limits must hold")
    p.add_argument("--speed-kmh", type=float, default=None,
                   help="speed for the time limit (default: walk 6, bike 15, ebike 20)")
    p.add_argument("--no-time-limit", action="store_true", help="use the distance limit only")
    p.add_argument("--max-snap-m", type=float, default=100.0,
                   help="stations farther than this from every street are not used (default 100)")


NETWORK_HELP = ("OSM file (.osm, .osm.bz2, .osm.pbf, ...), centerline file (.gpkg, .shp, "
                ".geojson, .parquet), GraphML, or a download: place:NAME, bbox:W,S,E,N, "
                "point:LON,LAT,DIST_M, polygon:FILE")


def _add_network_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network", "where the streets come from and which must be served")
    area = g.add_mutually_exclusive_group()
    area.add_argument("--area", metavar="FILE",
                      help="planning area: polygon file in any CRS; streets inside are the demand")
    area.add_argument("--area-place", metavar="NAME",
                      help="planning area by place name, geocoded online (cached)")
    g.add_argument("--margin-m", type=float, default=None,
                   help="streets kept beyond the area to carry paths (default: the coverage "
                        "limit; 500 for the network command)")
    g.add_argument("--serve", action="append", metavar="CLASSES",
                   help="road classes to serve, comma-separated, or 'all' "
                        f"(default: {','.join(BRIEF_ROAD_CLASSES.serve)})")
    g.add_argument("--ignore", action="append", metavar="CLASSES",
                   help="road classes that carry paths but are never gaps "
                        f"(default: {','.join(BRIEF_ROAD_CLASSES.ignore)})")
    g.add_argument("--split-at-crossings", action="store_true",
                   help="centerline files: join lines where they cross (default: only at "
                        "shared vertices, ends near ends, and ends lying on a line)")
    g.add_argument("--join-tolerance-m", type=float, default=1.0,
                   help="centerline files: join line ends closer than this (default 1)")
    g.add_argument("--class-column", help="centerline files: column with the road class")
    g.add_argument("--oneway-column", help="centerline files: column with the one-way flag")
    g.add_argument("--cache-dir", help="cache for downloads and built networks "
                                       "(default: the user cache directory)")
    g.add_argument("--overpass-url", help="Overpass API endpoint (default: OSMnx's)")
    g.add_argument("--nominatim-url", help="Nominatim endpoint (default: OSMnx's)")


EXPORT_FORMATS = ("geojson", "csv", "kml", "gpx", "amap")


def _cmd_export(args: argparse.Namespace) -> int:
    markers = station_markers(read_stations(args.stations, **_station_kwargs(args)))
    path = write_stations(markers, args.out, format=args.format)
    counts = markers["status"].value_counts()
    log.info("exported %s", ", ".join(f"{n} {s}" for s, n in counts.items()))
    print(f"{args.format}: {path}")
    return 0


def _add_station_options(p: argparse.ArgumentParser) -> None:
    """Options of every command that reads a station file."""
    g = p.add_argument_group("station file")
    g.add_argument("--crs", default=None,
                   help="coordinate system of the station file: wgs84, gcj02 (Amap, Tencent), "
                        "bd09 (Baidu), cgcs2000 or EPSG:<code> (default: from the column "
                        "names or the file, else wgs84)")
    g.add_argument("--encoding", default=None,
                   help="text encoding of the station file (default: UTF-8, else GBK/GB18030)")
    g.add_argument("--sheet", default=None,
                   help="sheet of an .xlsx workbook or layer of a GeoPackage (default the first)")
    g.add_argument("--lon-col", default=None, help="name of the longitude (or 'lng,lat') column")
    g.add_argument("--lat-col", default=None, help="name of the latitude column")
    g.add_argument("--name-col", default=None, help="name of the station-name column")


def _station_kwargs(args: argparse.Namespace) -> dict[str, object]:
    """The station-file options of ``args`` as keyword arguments of ``read_stations``."""
    return {name: getattr(args, name, None)
            for name in ("crs", "encoding", "sheet", "lon_col", "lat_col", "name_col")}


def _add_map_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("map", "language and basemap of coverage_map.html")
    g.add_argument("--lang", choices=("zh", "en"), default=None,
                   help="language of the map (default: Chinese for Chinese place names)")
    g.add_argument("--basemap", choices=BASEMAPS, default="osm",
                   help="osm, carto (light), tianditu (needs --tianditu-key) or gaode (every "
                        "layer is then shifted to GCJ-02 to match the tiles); default osm")
    g.add_argument("--tianditu-key", default=None,
                   help="Tianditu browser key; it is written into the HTML")


def _map_options(args: argparse.Namespace) -> dict[str, object]:
    """The map options of ``args``, checked before the long part of a run."""
    opts = {"lang": getattr(args, "lang", None), "basemap": getattr(args, "basemap", "osm"),
            "tianditu_key": getattr(args, "tianditu_key", None)}
    check_map_options(**opts)
    return opts


def _add_check_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    g = p.add_argument_group("check", "verdicts on proposed sites")
    if required:
        p.add_argument("proposals", help="proposed sites: any station file format (see --crs "
                                         "and --proposal-crs)")
    else:
        g.add_argument("--proposals", metavar="FILE",
                       help="proposed sites to check and include in the report")
    g.add_argument("--proposal-crs", default=None,
                   help="coordinate system of the proposal file when it differs from the "
                        "station file's (wgs84, gcj02, bd09, cgcs2000, EPSG:<code>); "
                        "default: --crs")
    g.add_argument("--min-gain-m", type=float, default=150.0,
                   help="street metres a site must add to be accepted (default 150)")
    g.add_argument("--spacing-m", type=float, default=None,
                   help="minimum network distance to existing stations and accepted "
                        "proposals; exactly this far is allowed (default: the coverage limit)")
    g.add_argument("--weights", help="demand weight per road class, e.g. primary=2")
    g.add_argument("--no-benchmark", action="store_true",
                   help="skip the solver's answer with the same number of new sites")
    g.add_argument("--candidate-spacing-m", type=float, default=50.0,
                   help="benchmark: distance between the solver's street candidates (default 50)")
    g.add_argument("--time-limit-s", type=float, default=20.0,
                   help="benchmark: time limit of the exact search (default 20)")


def _add_report_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("report", "report.html, report.md and report.json")
    g.add_argument("--districts", metavar="FILE",
                   help="district polygons (街道/社区) in any CRS for a per-district table")
    g.add_argument("--district-col", default=None,
                   help="column with the district names (default: name, 名称, 街道, 社区, ...)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stationplan", description="Plan care-station coverage along street networks."
    )
    parser.add_argument("--version", action="version", version=f"stationplan {__version__}")
    common = argparse.ArgumentParser(add_help=False)
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
    _add_map_options(cov)
    _add_network_options(cov)
    _add_station_options(cov)
    cov.set_defaults(func=_cmd_coverage)

    net = sub.add_parser("network", parents=[common],
                         help="build the street network only and write it for inspection")
    net.add_argument("network", help=NETWORK_HELP)
    net.add_argument("--out", required=True,
                     help="output folder (network.gpkg, network_summary.json)")
    net.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    net.add_argument("--mode", choices=sorted(MODES), default="walk",
                     help="travel mode (default walk)")
    _add_network_options(net)
    net.set_defaults(func=_cmd_network)

    demo = sub.add_parser("demo", parents=[common],
                          help="run coverage on the bundled central-Helsinki extract")
    demo.add_argument("--out", default="maps/demo", help="output folder (default maps/demo)")
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
    goal.add_argument("--target", default="100%",
                      help="fewest new sites reaching this share of coverable streets "
                           "(default 100%%)")
    goal.add_argument("--new-sites", type=int, default=None,
                      help="the K new sites that cover the most street length")
    g = plan.add_argument_group("siting")
    g.add_argument("--candidates", default="auto",
                   help="osm (host shops in the OSM file), streets (every "
                        "--candidate-spacing-m), or a file of willing hosts; default osm for "
                        "OSM files, else streets")
    g.add_argument("--candidate-spacing-m", type=float, default=50.0,
                   help="street candidates: distance between positions (default 50)")
    g.add_argument("--candidate-snap-m", type=float, default=50.0,
                   help="hosts farther than this from a street are left out (default 50)")
    g.add_argument("--exclude", metavar="FILE", help="polygons where no station may go")
    g.add_argument("--resolution-m", type=float, default=25.0,
                   help="longest street unit of demand (default 25)")
    g.add_argument("--weights", help="demand weight per road class, e.g. primary=2,secondary=1.5")
    g.add_argument("--min-spacing-m", type=float, default=None,
                   help="minimum distance between stations (default none)")
    g.add_argument("--spacing", choices=("network", "straight"), default="network",
                   help="how --min-spacing-m is measured (default network)")
    g.add_argument("--time-limit-s", type=float, default=20.0,
                   help="time limit of the exact search (default 20)")
    g.add_argument("--seed", type=int, default=0, help="seed of the local search (default 0)")
    _add_rule_options(plan)
    _add_map_options(plan)
    _add_network_options(plan)
    _add_station_options(plan)
    _add_report_options(plan)
    plan.set_defaults(func=_cmd_plan)

    exp = sub.add_parser("export", parents=[common],
                         help="write a station file as map markers (GeoJSON, CSV, KML, GPX, "
                              "Amap listing sheet)")
    exp.add_argument("stations", help="station file (CSV, XLSX, GeoJSON, GeoPackage, Shapefile, "
                                      "KML, GPX) or a stations/proposals.geojson of stationplan")
    exp.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                     help="geojson, csv (WGS-84, GCJ-02 and BD-09 columns), kml, gpx, or amap "
                          "(GCJ-02 listing sheet of existing stations)")
    exp.add_argument("--out", required=True, help="file to write")
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
    _add_map_options(rep)
    _add_network_options(rep)
    _add_station_options(rep)
    rep.set_defaults(func=_cmd_report)
    return parser


@contextlib.contextmanager
def _logging_to_stderr(*, quiet: bool, debug: bool) -> Iterator[None]:
    """Show the library's log on stderr for one run, then put the logger back as it was."""
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    saved = (log.level, log.propagate)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    main_entry()
