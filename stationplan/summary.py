"""The figures a planner quotes: totals, shares, per road class and per station."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from ._figures import round_m, share
from ._paths import shown_source
from ._version import __version__
from .coverage import Coverage
from .services import service_audit

#: The pieces' columns :func:`summarize` reads (``stations_reaching``: k-coverage only).
_SUMMED_COLUMNS = ("status", "length_m", "highway", "station_id", "stations_reaching")


def summarize(coverage: Coverage, gaps: gpd.GeoDataFrame) -> dict[str, Any]:
    """Summarise a coverage result as plain, JSON-ready data.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.
    gaps
        Result of :func:`~stationplan.find_gaps` (the gap runs) for the same coverage.

    Returns
    -------
    dict
        The data of ``summary.json``: lengths in metres, shares from 0 to 1, every share
        of the demand streets. Each key is documented in ``docs/outputs.md``.
    """
    all_pieces = coverage.pieces
    # only the columns read here (not a copy of all the pieces' columns: a million rows
    # on a large run)
    pieces = all_pieces[[c for c in _SUMMED_COLUMNS if c in all_pieces]]
    pieces = pieces[pieces["status"].isin(["covered", "gap"])]
    stations = coverage.stations
    total = float(pieces["length_m"].sum())
    covered = coverage.covered_m
    status = stations["status"]
    is_cov = pieces["status"] == "covered"

    by_class = {}
    road = pieces["highway"].fillna("unknown")
    for cls in sorted(road.unique()):
        sel = road == cls
        t = float(pieces.loc[sel, "length_m"].sum())
        c = float(pieces.loc[sel & is_cov, "length_m"].sum())
        by_class[cls] = {"total_m": round_m(t), "covered_m": round_m(c),
                         "covered_share": share(c, t)}

    catchment = pieces.loc[is_cov].groupby("station_id")["length_m"].sum()
    proposed = (stations["kind"] == "proposed").to_numpy() if "kind" in stations else \
        np.zeros(len(stations), dtype=bool)
    rejected = (status != "ok").to_numpy()
    per_station = [
        {
            "station_id": str(sid),
            "name": str(name),
            "kind": "proposed" if new else "existing",
            "status": str(st),
            "catchment_m": round_m(float(catchment.get(sid, 0.0))),
        }
        for sid, name, st, new in zip(stations["station_id"], stations["name"], status,
                                      proposed, strict=True)
    ]
    existing = stations[~proposed]
    out: dict[str, Any] = {
        "stationplan_version": __version__,
        "mode": coverage.network.mode.name,
        "mode_description": coverage.network.mode.description,
        "rule": coverage.rule.describe(),
        "total_m": round_m(total),
        "covered_m": round_m(covered),
        "covered_share": share(covered, total),
        "gap_m": round_m(coverage.gap_m),
        "gap_runs": len(gaps),
        "gap_areas": int(gaps["area_id"].nunique()) if len(gaps) else 0,
        "largest_gaps": [_gap_row(g) for g in gaps.head(10).itertuples()],
        "stations_read": len(existing),
        "stations_used": int((~rejected & ~proposed).sum()),
        "stations_rejected": int(rejected.sum()),
        "rejected_by_reason": {k: int(v) for k, v in
                               status[rejected].value_counts().sort_index().items()},
        "proposed_sites": int(proposed.sum()),
        # rows of the station file that are notes or totals (注：…, 合计), not stations
        "notes_skipped": list((stations.attrs.get("read_report") or {}).get("notes_skipped")
                              or []),
        "by_road_class": by_class,
        "demand": {
            **coverage.network.demand.describe(),
            "ignored_m": round_m(float(all_pieces.loc[all_pieces["status"] == "ignored",
                                                      "length_m"].sum())),
            # dual carriageways count once: the metres counted on the other carriageway
            "carriageway_pairs": int(coverage.network.stats.get("carriageway_pairs", 0)),
            "paired_m": round_m(float(all_pieces.loc[all_pieces["status"] == "paired",
                                                     "length_m"].sum())),
            "covered_via_twin_m": round_m(float(all_pieces.loc[
                all_pieces["via_twin"], "length_m"].sum()) if "via_twin" in all_pieces
                else 0.0),
        },
        "islands": _plain(coverage.network.islands()),
        "stations": per_station,
        "network": {"source": shown_source(coverage.network.source),
                    **_plain(coverage.network.stats)},
        "service_audit": service_audit(stations[~rejected & ~proposed]),
        "station_file": {
            "read_report": _plain(dict(stations.attrs.get("read_report") or {})),
            "crs_warning": stations.attrs.get("crs_warning"),
        },
        "warnings": [dict(w) for w in stations.attrs.get("warnings") or []],
    }
    if "stations_reaching" in pieces:  # k-coverage or per-station reaches
        out["station_count"] = station_count(pieces, total, coverage.rule.cover)
    return out


def station_count(pieces: Any, total: float, cover: int) -> dict[str, Any]:
    """How many stations reach the demand street: metres by count, and the share reached by
    at least 1, 2, ... stations (up to ``cover`` and at least 2).

    >>> import pandas as pd
    >>> p = pd.DataFrame({"stations_reaching": [0, 1, 2, 3], "length_m": [1.0, 2.0, 3.0, 4.0]})
    >>> station_count(p, 10.0, 2)
    {'cover': 2, 'by_count_m': {'0': 1.0, '1': 2.0, '2': 3.0, '3': 4.0}, \
'share_at_least': {'1': 0.9, '2': 0.7}}
    """
    n = pieces["stations_reaching"].to_numpy()
    metres = pieces["length_m"].to_numpy(float)
    top = int(n.max()) if len(n) else 0
    by_count = {str(c): round_m(float(metres[n == c].sum())) for c in range(top + 1)}
    at_least = {str(c): share(float(metres[n >= c].sum()), total)
                for c in range(1, max(cover, 2) + 1)}
    return {"cover": cover, "by_count_m": by_count, "share_at_least": at_least}


def _gap_row(g: Any) -> dict[str, Any]:
    """One gap run of ``largest_gaps``: where it is and how far it is from a station."""
    return {
        "gap_id": int(g.gap_id),
        "street": str(g.street),
        "from_street": str(g.from_street),
        "from_m": _metres(g.from_m),
        "to_street": str(g.to_street),
        "to_m": _metres(g.to_m),
        "length_m": round_m(g.length_m),
        "farthest_m": _metres(g.farthest_m),
        "farthest_more_than_m": _metres(g.farthest_more_than_m),
        "amap_url": str(g.amap_url),
        "area_id": int(g.area_id),
    }


def _metres(value: Any) -> float | None:
    """A distance rounded as the summary's, or None when missing (NaN)."""
    return None if value is None or value != value else round_m(float(value))


def _plain(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: (round_m(v) if isinstance(v, float | np.floating) else v) for k, v in stats.items()}
