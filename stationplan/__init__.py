"""stationplan: plan care-station coverage along street networks."""

from ._errors import (
    InputError,
    MissingDataError,
    NetworkUnavailableError,
    ResourceError,
    StationplanError,
)
from ._options import CenterlineOptions, MapOptions
from ._read.online import OsmQuery
from ._render.netout import network_summary, write_network
from ._version import __version__
from .area import BRIEF_ROAD_CLASSES, Demand, RoadClasses, read_area, with_demand
from .check import check_sites, check_summary
from .coverage import Coverage, CoverageRule, compute_coverage, station_distances
from .gaps import find_gaps
from .maps import coverage_map
from .network import MODES, StreetNetwork, TravelMode, load_network, network_from_graph
from .outputs import write_check_outputs
from .pipeline import run_check, run_coverage, run_network, run_plan, run_report
from .report import read_districts, report_data, write_report
from .services import service_audit
from .staticmap import coverage_png
from .stations import (
    OffsetCheck,
    check_offset,
    read_stations,
    snap_stations,
    station_markers,
)
from .summary import summarize

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "BRIEF_ROAD_CLASSES",
    "CenterlineOptions",
    "Coverage",
    "CoverageRule",
    "Demand",
    "InputError",
    "MODES",
    "MapOptions",
    "MissingDataError",
    "NetworkUnavailableError",
    "OffsetCheck",
    "OsmQuery",
    "ResourceError",
    "RoadClasses",
    "StationplanError",
    "StreetNetwork",
    "TravelMode",
    "__version__",
    "check_offset",
    "check_sites",
    "check_summary",
    "compute_coverage",
    "coverage_map",
    "coverage_png",
    "find_gaps",
    "load_network",
    "network_from_graph",
    "network_summary",
    "read_area",
    "read_districts",
    "read_stations",
    "report_data",
    "run_check",
    "run_coverage",
    "run_network",
    "run_plan",
    "run_report",
    "service_audit",
    "snap_stations",
    "station_distances",
    "station_markers",
    "summarize",
    "with_demand",
    "write_check_outputs",
    "write_network",
    "write_report",
]
