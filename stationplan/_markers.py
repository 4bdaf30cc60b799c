"""The station table the map exports write (:mod:`stationplan.export`): read stations with
the status of a plan (existing, proposed, rejected), what each row is (an existing station
or a proposal) and a proposal's rank.

:func:`station_markers` is public through :mod:`stationplan.stations` and
:mod:`stationplan.export`; it lives below both so that neither imports the other.
"""

from __future__ import annotations

from itertools import chain

import geopandas as gpd
import pandas as pd

from ._errors import InputError
from ._i18n import resolve_lang, text
from ._read.stations import TEXT_FIELDS
from ._text import cell_text

# Statuses of station plans as exported (export.py) or typed by people, by their meaning.
_PLAN_STATUS = {
    "existing": "existing", "现有站点": "existing", "现有": "existing", "已建": "existing",
    "已建成": "existing", "proposed": "proposed", "拟建站点": "proposed", "拟建": "proposed",
    "规划": "proposed", "rejected": "rejected", "未采用站点": "rejected", "未采用": "rejected",
    "too_far_from_street": "rejected",
}
# What a row is, from a ``kind`` column (a plan's stations.geojson: existing/proposed; the
# exports' 类型: 现有/拟建). Other kinds (a candidate's source: street, osm, host; a
# shop type) say nothing about it.
_PLAN_KIND = {
    "existing": "existing", "现有": "existing", "现有站点": "existing", "proposed": "proposed",
    "proposal": "proposed", "拟建": "proposed", "拟建站点": "proposed",
}
_KIND_COLUMNS = ("kind", "category", text("export.kind", "zh"))
# A proposal's rank in its plan: ``rank`` in the plan's files, 方案序号 in the Amap sheets.
_RANK_COLUMNS = ("rank", text("export.rank", "zh"))
MARKER_COLUMNS = ("station_id", "name", "status", "kind", "rank", *TEXT_FIELDS, "services",
                  "reason")


def station_markers(stations: gpd.GeoDataFrame, *, lang: str | None = None) -> gpd.GeoDataFrame:
    """Turn read (or snapped) stations into the table the map exports write.

    Every row is kept, in order. A status typed in the file (``existing``/``proposed``/
    ``rejected`` or 现有站点/拟建站点/未采用站点, e.g. from a proposals file) is kept;
    otherwise a usable station is ``"existing"`` and any other (invalid, too far from a
    street) is ``"rejected"``. A row is a proposal when its status says so or its ``kind``
    does (a plan's ``stations.geojson`` holds existing stations and proposals); a usable
    proposal is ``"proposed"``. A proposal keeps its plan's ``rank`` and is named by its
    ``candidate_id`` (a plan's ``proposals.geojson``); one without a name is called
    "拟建站点 #rank" ("Proposed site #rank") and its street, and one without an address gets its
    ``street``.

    Parameters
    ----------
    stations
        Output of :func:`~stationplan.stations.read_stations` or
        :func:`~stationplan.stations.snap_stations`, or any GeoDataFrame with
        ``station_id``, ``name`` and ``status``.
    lang
        Language of the names given to unnamed proposals, "zh" or "en"; by default
        Chinese when a name, address or street is Chinese.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 with ``station_id``, ``name``, ``status`` (existing, proposed,
        rejected), ``kind`` (existing or proposed), ``rank`` (a proposal's rank in its
        plan, else missing), ``address``, ``phone``, ``hours``, ``services``, ``reason``
        (the file's reason if it had one, else why the row could not be used) and the
        geometry; ``attrs["read_report"]`` of read stations is kept (the exports refuse
        coordinates in China whose system nothing named).

    Examples
    --------
    >>> import shapely
    >>> plan = gpd.GeoDataFrame(
    ...     {"station_id": ["1", "C9"], "name": ["驿站", ""], "status": ["ok", "ok"],
    ...      "kind": ["existing", "proposed"], "rank": [None, 1.0]},
    ...     geometry=[shapely.Point(117.2, 28.3), None], crs=4326)
    >>> station_markers(plan)[["station_id", "name", "status", "kind", "rank"]].values.tolist()
    [['1', '驿站', 'existing', 'existing', <NA>], ['C9', '拟建站点 #1', 'proposed', 'proposed', 1]]
    """
    if stations.crs is None:
        msg = "stations have no CRS; set it, e.g. stations.set_crs(4326)"
        raise InputError(msg)
    n = len(stations)

    def column(*names: str) -> list[str]:
        name = next((c for c in names if c in stations.columns), None)
        return [cell_text(v) for v in stations[name]] if name else [""] * n

    read_status, given = column("status"), column("input_status")
    reason, given_reason = column("reason"), column("input_reason")
    # The reader files a `kind` (or GPX `type`) column as the category; the exports write
    # 类型 too, which is then a column of its own.
    kinds = zip(*(column(c) for c in _KIND_COLUMNS), strict=True)
    status, kind = [], []
    for now, typed, typed_kinds in zip(read_status, given, kinds, strict=True):
        plan = _PLAN_STATUS.get(typed.strip().lower(), "")
        is_status = plan or _PLAN_STATUS.get(now, "existing" if now == "ok" else "rejected")
        is_kind = next((_PLAN_KIND[k] for k in (t.strip().lower() for t in typed_kinds)
                        if k in _PLAN_KIND), "proposed" if is_status == "proposed" else "existing")
        status.append("proposed" if is_kind == "proposed" and is_status == "existing"
                      else is_status)
        kind.append(is_kind)
    proposal = [k == "proposed" for k in kind]
    rank = [rank_number(r) if p else None for r, p in zip(column(*_RANK_COLUMNS), proposal,
                                                          strict=True)]
    ids = [c if p and c else s for s, c, p in zip(column("station_id"), column("candidate_id"),
                                                   proposal, strict=True)]
    streets = column("street")
    fields = {f: column(f) for f in (*TEXT_FIELDS, "services")}
    fields["address"] = [a or (s if p else "") for a, s, p in zip(fields["address"], streets,
                                                                   proposal, strict=True)]
    names = column("name")
    lang = resolve_lang(lang, chain(names, fields["address"], streets))
    # an unnamed proposal is named by its rank and street, as on the map ("#3 贵溪大道")
    names = [name or (f"{text('export.unnamed_proposal', lang, number=r if r is not None else i)}"
                      f" {street}".strip() if p else "")
             for name, r, i, p, street in zip(names, rank, ids, proposal, streets, strict=True)]
    frame = pd.DataFrame({
        "station_id": ids, "name": names, "status": status, "kind": kind,
        "rank": pd.array(rank, dtype="Int64"), **fields,
        "reason": [g or (r if now != "ok" else "")
                   for g, r, now in zip(given_reason, reason, read_status, strict=True)],
    })
    markers = gpd.GeoDataFrame(frame[list(MARKER_COLUMNS)],
                               geometry=stations.geometry.to_crs(4326).to_numpy(), crs=4326)
    if "read_report" in stations.attrs:  # where the coordinates' system came from
        markers.attrs["read_report"] = stations.attrs["read_report"]
    return markers


def rank_number(value: object) -> int | None:
    """A rank cell as a whole number, None when it is empty or not one.

    >>> rank_number("3"), rank_number(3.0), rank_number(""), rank_number(None)
    (3, 3, None, None)
    >>> rank_number("a"), rank_number(2.5), rank_number(float("nan"))
    (None, None, None)
    """
    try:
        number = float(cell_text(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None
