"""stationplan: plan care-station coverage along street networks."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("stationplan")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from ._errors import InputError, MissingDataError, NetworkUnavailableError, StationplanError
from ._netout import network_summary, write_network
from ._online import OsmQuery
from .area import BRIEF_ROAD_CLASSES, Demand, RoadClasses, read_area, with_demand
from .coverage import Coverage, CoverageRule, compute_coverage, station_distances
from .gaps import find_gaps
from .maps import coverage_map
from .network import MODES, StreetNetwork, TravelMode, load_network, network_from_graph
from .stations import read_stations, snap_stations
from .staticmap import coverage_png
from .summary import summarize

__all__ = [
    "BRIEF_ROAD_CLASSES",
    "Coverage",
    "CoverageRule",
    "Demand",
    "InputError",
    "MODES",
    "MissingDataError",
    "NetworkUnavailableError",
    "OsmQuery",
    "RoadClasses",
    "StationplanError",
    "StreetNetwork",
    "TravelMode",
    "__version__",
    "compute_coverage",
    "coverage_map",
    "coverage_png",
    "find_gaps",
    "load_network",
    "network_from_graph",
    "network_summary",
    "read_area",
    "read_stations",
    "snap_stations",
    "station_distances",
    "summarize",
    "with_demand",
    "write_network",
]
