"""stationplan: plan care-station coverage along street networks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stationplan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from ._errors import InputError, MissingDataError, NetworkUnavailableError, StationplanError
from .coverage import Coverage, CoverageRule, compute_coverage, station_distances
from .gaps import find_gaps
from .network import MODES, StreetNetwork, TravelMode, load_network, network_from_graph
from .stations import read_stations, snap_stations
from .summary import summarize

__all__ = [
    "MODES",
    "Coverage",
    "CoverageRule",
    "InputError",
    "MissingDataError",
    "NetworkUnavailableError",
    "StationplanError",
    "StreetNetwork",
    "TravelMode",
    "__version__",
    "compute_coverage",
    "find_gaps",
    "load_network",
    "network_from_graph",
    "read_stations",
    "snap_stations",
    "station_distances",
    "summarize",
]
