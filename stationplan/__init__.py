"""stationplan: plan care-station coverage along street networks."""

# Public names load on first use (PEP 562), so ``import stationplan`` and the command line's
# ``--help`` stay quick: geopandas, numba kernels and OSMnx load only when a stage needs them.

import importlib as _importlib
import importlib.util as _importlib_util
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._version import __version__

if _TYPE_CHECKING:  # type checkers and IDEs see the names; at run time __getattr__ loads them
    from ._errors import (
        InputError,
        MissingDataError,
        NetworkUnavailableError,
        OutputError,
        ResourceError,
        StationplanError,
    )
    from ._options import (
        CenterlineOptions,
        CheckOptions,
        DemandOptions,
        MapOptions,
        NetworkOptions,
        StationOptions,
    )
    from ._read.online import OsmQuery
    from ._render.netout import network_summary, write_network
    from .area import BRIEF_ROAD_CLASSES, Demand, RoadClasses, read_area, with_demand
    from .check import check_sites, check_summary
    from .coverage import Coverage, CoverageRule, compute_coverage, station_distances
    from .gaps import find_gaps, gap_areas
    from .hours import coverage_at, coverage_by_hour, parse_hours, station_hours
    from .maps import coverage_map
    from .network import MODES, StreetNetwork, TravelMode, load_network, network_from_graph
    from .outputs import write_check_outputs
    from .pipeline import run_check, run_coverage, run_network, run_plan, run_report
    from .report import read_districts, report_data, write_report
    from .rules import RulePack, load_rules, rule_verdicts
    from .services import service_audit
    from .staticmap import coverage_png
    from .stations import OffsetCheck, check_offset, read_stations, snap_stations, station_markers
    from .summary import summarize

# Each public name and the module that defines it.
_SOURCES = {
    "BRIEF_ROAD_CLASSES": ".area",
    "CenterlineOptions": "._options",
    "CheckOptions": "._options",
    "Coverage": ".coverage",
    "CoverageRule": ".coverage",
    "Demand": ".area",
    "DemandOptions": "._options",
    "InputError": "._errors",
    "MODES": ".network",
    "MapOptions": "._options",
    "MissingDataError": "._errors",
    "NetworkOptions": "._options",
    "NetworkUnavailableError": "._errors",
    "OutputError": "._errors",
    "OffsetCheck": ".stations",
    "OsmQuery": "._read.online",
    "ResourceError": "._errors",
    "RoadClasses": ".area",
    "RulePack": ".rules",
    "StationOptions": "._options",
    "StationplanError": "._errors",
    "StreetNetwork": ".network",
    "TravelMode": ".network",
    "check_offset": ".stations",
    "check_sites": ".check",
    "check_summary": ".check",
    "compute_coverage": ".coverage",
    "coverage_map": ".maps",
    "coverage_png": ".staticmap",
    "find_gaps": ".gaps",
    "gap_areas": ".gaps",
    "coverage_at": ".hours",
    "coverage_by_hour": ".hours",
    "parse_hours": ".hours",
    "station_hours": ".hours",
    "load_network": ".network",
    "load_rules": ".rules",
    "network_from_graph": ".network",
    "network_summary": "._render.netout",
    "read_area": ".area",
    "read_districts": ".report",
    "read_stations": ".stations",
    "report_data": ".report",
    "rule_verdicts": ".rules",
    "run_check": ".pipeline",
    "run_coverage": ".pipeline",
    "run_network": ".pipeline",
    "run_plan": ".pipeline",
    "run_report": ".pipeline",
    "service_audit": ".services",
    "snap_stations": ".stations",
    "station_distances": ".coverage",
    "station_markers": ".stations",
    "summarize": ".summary",
    "with_demand": ".area",
    "write_check_outputs": ".outputs",
    "write_network": "._render.netout",
    "write_report": ".report",
}

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "BRIEF_ROAD_CLASSES",
    "CenterlineOptions",
    "CheckOptions",
    "Coverage",
    "CoverageRule",
    "Demand",
    "DemandOptions",
    "InputError",
    "MODES",
    "MapOptions",
    "MissingDataError",
    "NetworkOptions",
    "NetworkUnavailableError",
    "OffsetCheck",
    "OsmQuery",
    "OutputError",
    "ResourceError",
    "RoadClasses",
    "RulePack",
    "StationOptions",
    "StationplanError",
    "StreetNetwork",
    "TravelMode",
    "__version__",
    "check_offset",
    "check_sites",
    "check_summary",
    "compute_coverage",
    "coverage_at",
    "coverage_by_hour",
    "coverage_map",
    "coverage_png",
    "find_gaps",
    "gap_areas",
    "load_network",
    "load_rules",
    "network_from_graph",
    "network_summary",
    "parse_hours",
    "read_area",
    "read_districts",
    "read_stations",
    "report_data",
    "rule_verdicts",
    "run_check",
    "run_coverage",
    "run_network",
    "run_plan",
    "run_report",
    "service_audit",
    "snap_stations",
    "station_distances",
    "station_hours",
    "station_markers",
    "summarize",
    "with_demand",
    "write_check_outputs",
    "write_network",
    "write_report",
]


def __getattr__(name: str) -> _Any:
    """Load a public name, or a submodule such as ``stationplan.coverage``, on first use."""
    source = _SOURCES.get(name)
    if source is not None:
        value = getattr(_importlib.import_module(source, __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    # Submodules were attributes after the eager import too; keep ``stationplan.siting`` working.
    if not name.startswith("__") and _importlib_util.find_spec(f"{__name__}.{name}") is not None:
        return _importlib.import_module(f"{__name__}.{name}")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
