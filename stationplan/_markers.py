"""The station table the map exports write (:mod:`stationplan.export`): read stations with
the status of a plan (existing, proposed, rejected).

:func:`station_markers` is public through :mod:`stationplan.stations` and
:mod:`stationplan.export`; it lives below both so that neither imports the other.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from ._errors import InputError
from ._read.stations import TEXT_FIELDS
from ._text import cell_text

# Statuses of station plans as exported (export.py) or typed by people, by their meaning.
_PLAN_STATUS = {
    "existing": "existing", "现有站点": "existing", "现有": "existing", "已建": "existing",
    "已建成": "existing", "proposed": "proposed", "拟建站点": "proposed", "拟建": "proposed",
    "规划": "proposed", "rejected": "rejected", "未采用站点": "rejected", "未采用": "rejected",
    "too_far_from_street": "rejected",
}


def station_markers(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn read (or snapped) stations into the table the map exports write.

    A status typed in the file (``existing``/``proposed``/``rejected`` or 现有站点/拟建站点/
    未采用站点, e.g. from a proposals file) is kept; otherwise a usable station is
    ``"existing"`` and any other (invalid, too far from a street) is ``"rejected"``.

    Parameters
    ----------
    stations
        Output of :func:`~stationplan.stations.read_stations` or
        :func:`~stationplan.stations.snap_stations`, or any GeoDataFrame with
        ``station_id``, ``name`` and ``status``.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 with ``station_id``, ``name``, ``status`` (existing, proposed,
        rejected), ``address``, ``phone``, ``hours``, ``services``, ``reason`` (the
        file's reason if it had one, else why the row could not be used) and the
        geometry; ``attrs["read_report"]`` of read stations is kept (the exports refuse
        coordinates in China whose system nothing named).
    """
    if stations.crs is None:
        msg = "stations have no CRS; set it, e.g. stations.set_crs(4326)"
        raise InputError(msg)
    n = len(stations)

    def column(name: str) -> list[str]:
        return [cell_text(v) for v in stations[name]] if name in stations.columns else [""] * n

    read_status, given = column("status"), column("input_status")
    reason, given_reason = column("reason"), column("input_reason")
    status = []
    for now, typed in zip(read_status, given, strict=True):
        plan = _PLAN_STATUS.get(typed.strip().lower(), "")
        status.append(plan or _PLAN_STATUS.get(now, "existing" if now == "ok" else "rejected"))
    frame = pd.DataFrame({
        "station_id": column("station_id"), "name": column("name"), "status": status,
        **{f: column(f) for f in (*TEXT_FIELDS, "services")},
        "reason": [g or (r if now != "ok" else "")
                   for g, r, now in zip(given_reason, reason, read_status, strict=True)],
    })
    markers = gpd.GeoDataFrame(frame, geometry=stations.geometry.to_crs(4326).to_numpy(),
                               crs=4326)
    if "read_report" in stations.attrs:  # where the coordinates' system came from
        markers.attrs["read_report"] = stations.attrs["read_report"]
    return markers
