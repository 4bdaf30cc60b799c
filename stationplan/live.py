"""Coverage kept current while a planner adds, moves and deletes stations.

:class:`LiveCoverage` holds a street network (its demand marked, as
:func:`~stationplan.pipeline.coverage_network` builds it), the stations and their
coverage. Each edit returns a :class:`Change`: the pieces of the streets whose coverage
was recomputed and the city-wide figures after it. The figures are the exact engine's
(:func:`~stationplan.compute_coverage` on the same network and station set gives the
same pieces).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from .coverage import Coverage, CoverageRule, compute_coverage
from .network import StreetNetwork
from .stations import snap_stations

__all__ = ["Change", "Figures", "LiveCoverage"]


@dataclass(frozen=True)
class Figures:
    """City-wide figures of one coverage state (metres; ``share`` in 0..1).

    ``share`` is ``covered_m / demand_m`` (0 when there is no demand), the figure
    ``stationplan coverage`` writes as ``share`` in ``summary.json``.
    """

    covered_m: float
    gap_m: float
    demand_m: float
    share: float
    stations_ok: int
    stations: int

    @classmethod
    def of(cls, cov: Coverage) -> Figures:
        """The figures of a :class:`~stationplan.Coverage`."""
        covered, gap = cov.covered_m, cov.gap_m
        demand = covered + gap
        ok = int((cov.stations["status"] == "ok").sum())
        return cls(covered, gap, demand, covered / demand if demand > 0 else 0.0, ok,
                   len(cov.stations))


@dataclass(frozen=True)
class Change:
    """What one edit changed.

    Attributes
    ----------
    edges
        Edge ids (rows of ``network.edges``) whose pieces were recomputed.
    pieces
        Their new pieces (network CRS, columns as :attr:`Coverage.pieces`).
    figures
        The city-wide figures after the edit.
    station
        The edited station's row after the edit (snapped; status "ok" or why not), or
        ``None`` after a delete.
    compute_s
        Seconds spent computing.
    """

    edges: np.ndarray
    pieces: gpd.GeoDataFrame
    figures: Figures
    station: pd.Series | None
    compute_s: float


class LiveCoverage:
    """Exact coverage of a network by an editable set of stations.

    Parameters
    ----------
    network
        The network, its demand marked (:func:`~stationplan.pipeline.coverage_network`).
    stations
        Stations as :func:`~stationplan.read_stations` returns them (any CRS, a
        ``status`` column, a unique ``station_id``).
    rule
        The coverage rule (default ``CoverageRule.for_mode(network.mode.name)``).
    max_snap_m
        Snap distance for every station, the one the stations were read with.
    """

    def __init__(self, network: StreetNetwork, stations: gpd.GeoDataFrame, *,
                 rule: CoverageRule | None = None, max_snap_m: float = 100.0) -> None:
        self.network = network
        self.rule = rule or CoverageRule.for_mode(network.mode.name)
        self.max_snap_m = max_snap_m
        read = stations.to_crs(4326) if stations.crs is not None else stations
        if read["station_id"].astype(str).duplicated().any():
            msg = "station ids repeat; every station needs its own id"
            raise InputError(msg)
        self._read = read.reset_index(drop=True)
        self._cov = self._full()

    # -- state ----------------------------------------------------------------------
    @property
    def coverage(self) -> Coverage:
        """The current coverage."""
        return self._cov

    @property
    def stations(self) -> gpd.GeoDataFrame:
        """The current stations, snapped (network CRS), in their order."""
        return self._cov.stations

    @property
    def figures(self) -> Figures:
        """The current city-wide figures."""
        return Figures.of(self._cov)

    # -- edits ----------------------------------------------------------------------
    def add(self, station_id: str, lon: float, lat: float, *, name: str = "",
            attrs: dict[str, Any] | None = None) -> Change:
        """Add a station at WGS-84 ``lon``, ``lat``."""
        sid = str(station_id)
        if (self._read["station_id"].astype(str) == sid).any():
            msg = f"station {sid!r} exists already"
            raise InputError(msg)
        row: dict[str, Any] = {c: None for c in self._read.columns if c != "geometry"}
        row.update(attrs or {})
        row.update(station_id=sid, name=name, status="ok", reason=None)
        new = gpd.GeoDataFrame([row], geometry=[shapely.Point(lon, lat)], crs=4326)
        self._read = pd.concat([self._read, new], ignore_index=True)
        return self._edit(sid)

    def move(self, station_id: str, lon: float, lat: float) -> Change:
        """Move a station to WGS-84 ``lon``, ``lat``."""
        i = self._row(station_id)
        geom = self._read.geometry.to_numpy().copy()
        geom[i] = shapely.Point(lon, lat)
        self._read = self._read.set_geometry(gpd.GeoSeries(geom, crs=4326))
        if self._read.loc[i, "status"] == "invalid":
            self._read.loc[i, ["status", "reason"]] = ["ok", None]
        return self._edit(str(station_id))

    def delete(self, station_id: str) -> Change:
        """Delete a station."""
        i = self._row(station_id)
        self._read = self._read.drop(index=i).reset_index(drop=True)
        return self._edit(None)

    # -- internals ------------------------------------------------------------------
    def _row(self, station_id: str) -> int:
        hit = np.flatnonzero(self._read["station_id"].astype(str).to_numpy() == str(station_id))
        if len(hit) == 0:
            msg = f"no station {station_id!r}"
            raise KeyError(msg)
        return int(hit[0])

    def _full(self) -> Coverage:
        snapped = snap_stations(self.network, self._read, max_snap_m=self.max_snap_m)
        return compute_coverage(self.network, snapped, rule=self.rule)

    def _edit(self, station_id: str | None) -> Change:
        t0 = time.perf_counter()
        self._cov = self._full()
        pieces = self._cov.pieces
        station = None
        if station_id is not None:
            st = self._cov.stations
            station = st.loc[st["station_id"].astype(str) == station_id].iloc[0]
        return Change(np.arange(len(self.network.edges)), pieces, self.figures, station,
                      time.perf_counter() - t0)
