"""stationplan: plan care-station coverage along street networks."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("stationplan")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from ._errors import InputError, MissingDataError, NetworkUnavailableError, StationplanError
from .coverage import Coverage, CoverageRule, compute_coverage, station_distances
from .gaps import find_gaps
from .network import MODES, StreetNetwork, TravelMode, load_network, network_from_graph
from .stations import read_stations, snap_stations
from .summary import summarize

__all__ = [
    "Coverage",
    "CoverageRule",
    "InputError",
    "MODES",
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
