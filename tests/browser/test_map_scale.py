"""City-scale maps in the browser: size and load time (slow; run with ``-m slow``).

Two cases: the largest real extract (Chengdu centre, 875 km of walkable streets) with 300
stations placed on its streets, and a synthetic city of 50,880 street segments (about
78,000 coverage pieces) with 1,000 stations. The figures are printed (``-s``) for the
notes; the assertions keep them within what a planner's laptop handles well.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from handnet import shared_osm
from mapcases import grid_graph, street_stations_csv

import stationplan as sp
from stationplan.maps import coverage_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Zoom by one step, then wait two animation frames: Leaflet has drawn the new view. (It
# returns nothing: Playwright would otherwise serialise the whole map object.)
_ZOOM = """(step) => {
  const map = window[document.querySelector('.folium-map').id];
  map.setZoom(map.getZoom() + step, {animate: false});
  return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())));
}"""


def _measure(open_map, html: Path) -> dict[str, float]:
    start = time.perf_counter()
    map_page = open_map(html)
    load_s = time.perf_counter() - start
    page = map_page.page
    assert map_page.console_errors == []
    zooms = []
    for _ in range(3):  # zoom in and out without animation: every path is redrawn
        start = time.perf_counter()
        page.evaluate(_ZOOM, 1)
        page.evaluate(_ZOOM, -1)
        zooms.append((time.perf_counter() - start) / 2)
    assert map_page.console_errors == []
    return {"html_mb": html.stat().st_size / 1e6, "load_s": load_s, "zoom_s": min(zooms)}


def _write(path: Path, net: sp.StreetNetwork, stations_csv: Path) -> tuple[Path, int, float]:
    stations = sp.snap_stations(net, sp.read_stations(stations_csv))
    cov = sp.compute_coverage(net, stations)
    gaps = sp.find_gaps(cov)
    start = time.perf_counter()
    html = coverage_map(cov, gaps, summary=sp.summarize(cov, gaps)).get_root().render()
    build_s = time.perf_counter() - start
    path.write_text(html, encoding="utf-8")
    return path, len(cov.pieces), build_s


def test_chengdu_with_300_stations(open_map, tmp_path: Path) -> None:
    net = sp.load_network(shared_osm("chengdu_center.osm.bz2"), mode="walk")
    csv = street_stations_csv(net, tmp_path / "stations.csv", 300, seed=1)
    html, n_pieces, build_s = _write(tmp_path / "chengdu.html", net, csv)
    figures = _measure(open_map, html)
    print(f"\nChengdu centre: {net.total_length_m / 1000:.0f} km, {n_pieces} pieces, "
          f"300 stations: build {build_s:.1f} s, {figures}")
    assert figures["html_mb"] < 3
    assert figures["load_s"] < 10


def test_synthetic_city_of_78000_pieces_and_1000_stations(open_map, tmp_path: Path) -> None:
    net = sp.network_from_graph(grid_graph(160))
    csv = street_stations_csv(net, tmp_path / "stations.csv", 1000, seed=2)
    html, n_pieces, build_s = _write(tmp_path / "grid.html", net, csv)
    assert n_pieces > 50_000
    figures = _measure(open_map, html)
    print(f"\nsynthetic grid: {net.total_length_m / 1000:.0f} km, {n_pieces} pieces, "
          f"1000 stations: build {build_s:.1f} s, {figures}")
    assert figures["html_mb"] < 10
    assert figures["load_s"] < 20
    assert figures["zoom_s"] < 3
