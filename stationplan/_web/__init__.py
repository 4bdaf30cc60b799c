"""Where the planner's page lives: its own files and the map libraries it loads.

The page (``static/``: index.html, app.js, app.css, i18n.json) is served by
:mod:`stationplan.serve` under ``/static/``; Leaflet and Leaflet.markercluster come from
the installed XStatic packages (``xstatic-leaflet``, ``xstatic-leaflet-markercluster``)
under ``/assets/leaflet/`` and ``/assets/markercluster/``, so the page needs no internet
(map tiles aside).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR", "asset_dirs"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def asset_dirs() -> dict[str, Path]:
    """The folders of the map libraries, by the name they are served under.

    >>> sorted(asset_dirs())
    ['leaflet', 'markercluster']
    >>> (asset_dirs()["leaflet"] / "leaflet.js").is_file()
    True
    """
    import xstatic.pkg.leaflet
    import xstatic.pkg.leaflet_markercluster

    return {"leaflet": Path(xstatic.pkg.leaflet.BASE_DIR),
            "markercluster": Path(xstatic.pkg.leaflet_markercluster.BASE_DIR)}
