"""Folium coverage maps: covered streets, gaps, stations, a layer control and a legend."""

from __future__ import annotations

import html
from typing import Any

import geopandas as gpd
import numpy as np

from .coverage import Coverage

COVERED_COLOUR = "#1a9850"
GAP_COLOUR = "#d73027"
STATION_COLOUR = "#2166ac"
REJECTED_COLOUR = "#7f7f7f"


def coverage_map(coverage: Coverage, gaps: gpd.GeoDataFrame, *, precision: int = 6) -> Any:
    """Draw covered streets, gaps and stations on a Folium map.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.
    gaps
        Result of :func:`~stationplan.find_gaps`.
    precision
        Decimal places kept in coordinates (6 ≈ 0.1 m), to keep the HTML small.

    Returns
    -------
    folium.Map
        Layers "Covered streets", "Gaps", "Stations" and "Rejected stations" in a
        layer control, and a legend. Text from input files is HTML-escaped.
    """
    try:
        import folium
    except ImportError as exc:  # pragma: no cover - folium is a required dependency
        msg = "maps need folium: pip install folium"
        raise ImportError(msg) from exc

    pieces = coverage.pieces.to_crs(4326)
    west, south, east, north = pieces.total_bounds
    fmap = folium.Map(tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(fmap)
    folium.TileLayer(
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        name="CartoDB Positron",
        attr="&copy; OpenStreetMap contributors &copy; CARTO",
        show=False,
    ).add_to(fmap)
    fmap.fit_bounds([[south, west], [north, east]])

    for status, label, colour, weight in (
        ("covered", "Covered streets", COVERED_COLOUR, 3),
        ("gap", "Gaps", GAP_COLOUR, 4),
    ):
        sel = pieces[pieces["status"] == status]
        layer = folium.FeatureGroup(name=f"{label} ({sel['length_m'].sum() / 1000:.1f} km)")
        if not sel.empty:
            folium.GeoJson(
                _lines_geojson(sel, precision),
                style_function=lambda _f, c=colour, w=weight: {"color": c, "weight": w, "opacity": 0.85},
                tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
            ).add_to(layer)
        layer.add_to(fmap)

    stations = coverage.stations
    ok = stations[stations["status"] == "ok"]
    bad = stations[(stations["status"] != "ok") & stations.geometry.notna() & ~stations.geometry.is_empty]
    for frame, label, colour, show in (
        (ok, "Stations", STATION_COLOUR, True),
        (bad, "Rejected stations", REJECTED_COLOUR, True),
    ):
        layer = folium.FeatureGroup(name=f"{label} ({len(frame)})", show=show)
        for row in frame.to_crs(4326).itertuples():
            name = html.escape(str(row.name) or str(row.station_id))
            detail = "" if row.status == "ok" else f"<br>{html.escape(str(row.reason))}"
            snap = "" if np.isnan(row.snap_dist_m) else f"<br>snapped {row.snap_dist_m:.0f} m"
            folium.Marker(
                [round(row.geometry.y, precision), round(row.geometry.x, precision)],
                tooltip=folium.Tooltip(name),
                popup=folium.Popup(f"<b>{name}</b>{snap}{detail}", max_width=300),
                icon=folium.Icon(color="blue" if row.status == "ok" else "gray",
                                 icon="mug-hot" if row.status == "ok" else "ban", prefix="fa"),
            ).add_to(layer)
        layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(_legend_html(coverage, len(gaps))))
    return fmap


def _lines_geojson(pieces: gpd.GeoDataFrame, precision: int) -> dict[str, Any]:
    """Slim GeoJSON of pieces with a ready-made, escaped tooltip label."""
    feats = []
    for row in pieces.itertuples():
        street = html.escape(str(row.name)) if isinstance(row.name, str) else "unnamed street"
        dist = "beyond reach" if np.isnan(row.dist_m) else f"{row.dist_m:.0f} m to a station"
        coords = np.round(np.asarray(row.geometry.coords), precision).tolist()
        feats.append({
            "type": "Feature",
            "properties": {"label": f"{street}: {row.length_m:.0f} m, {dist}"},
            "geometry": {"type": "LineString", "coordinates": coords},
        })
    return {"type": "FeatureCollection", "features": feats}


def _legend_html(coverage: Coverage, n_gaps: int) -> str:
    share = 100 * coverage.covered_m / max(coverage.network.total_length_m, 1e-9)
    rule = coverage.rule
    limit = f"{rule.limit_m:.0f} m ({rule.binding})"
    return f"""
<div id="stationplan-legend" style="position: fixed; bottom: 24px; left: 12px; z-index: 9999;
     background: white; padding: 8px 12px; border-radius: 6px; font: 13px sans-serif;
     box-shadow: 0 1px 4px rgba(0,0,0,.3);">
  <b>Care-station coverage</b><br>
  <span style="display:inline-block;width:18px;height:4px;background:{COVERED_COLOUR};
        vertical-align:middle"></span> within {limit} of a station<br>
  <span style="display:inline-block;width:18px;height:4px;background:{GAP_COLOUR};
        vertical-align:middle"></span> gap: farther ({n_gaps} clusters)<br>
  <i class="fa fa-mug-hot" style="color:{STATION_COLOUR}"></i> station
  &nbsp;<i class="fa fa-ban" style="color:{REJECTED_COLOUR}"></i> rejected<br>
  covered {share:.1f} % of {coverage.network.total_length_m / 1000:.1f} km
  ({html.escape(coverage.network.mode.name)})
</div>"""
