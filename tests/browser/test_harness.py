"""Prove the browser harness on plain folium maps: assets load offline, and the map works."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import folium
import folium.plugins
import pytest

pytestmark = pytest.mark.browser

CENTRE = (52.52, 13.40)
STATIONS = [  # name, (lat, lon), popup text
    ("Ward A", (52.520, 13.375), "Ward A care station: open 08:00-20:00"),
    ("Ward B", (52.530, 13.420), "Ward B care station: open 24 h"),
    ("Ward C", (52.508, 13.430), "Ward C care station: closed Sundays"),
]
ROUTES = [  # lon, lat as GeoJSON wants
    [(13.375, 52.520), (13.400, 52.525), (13.420, 52.530)],
    [(13.420, 52.530), (13.430, 52.508)],
]
VOLUNTEERS = [(52.5100, 13.3600), (52.5101, 13.3602), (52.5099, 13.3601)]  # one cluster
PHARMACIES = [("North Pharmacy", (52.535, 13.390)), ("South Pharmacy", (52.503, 13.405))]
DEPOT = (52.525, 13.345)  # folium's default icon: Bootstrap 3 glyphicons

# Marker icons on the map at the start: stations, cluster bubble, pharmacies, depot.
EXPECTED_MARKERS = len(STATIONS) + 1 + len(PHARMACIES) + 1
# Leaflet.awesome-markers 2.0.2 replaces Leaflet's icon classes, so folium.Icon markers lack
# `.leaflet-marker-icon`; only the cluster bubble and the default pharmacy pins carry it.
EXPECTED_LEAFLET_ICONS = 1 + len(PHARMACIES)
STATION_ICONS = ".leaflet-marker-pane > .awesome-marker-icon-red"


def _point_collection(points: list[tuple[str, tuple[float, float]]]) -> dict:
    features = [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }
        for name, (lat, lon) in points
    ]
    return {"type": "FeatureCollection", "features": features}


def _line_collection(lines: list[list[tuple[float, float]]]) -> dict:
    features = [
        {
            "type": "Feature",
            "properties": {"route": i},
            "geometry": {"type": "LineString", "coordinates": [list(p) for p in line]},
        }
        for i, line in enumerate(lines)
    ]
    return {"type": "FeatureCollection", "features": features}


def _harness_map() -> folium.Map:
    m = folium.Map(location=CENTRE, zoom_start=13)
    stations = folium.FeatureGroup(name="Stations").add_to(m)
    for name, location, text in STATIONS:
        folium.Marker(
            location,
            tooltip=folium.Tooltip(html.escape(name)),
            popup=folium.Popup(html.escape(text)),
            icon=folium.Icon(icon="hospital", prefix="fa", color="red"),
            title=name,  # Leaflet puts it on the icon element: a handle for the test
        ).add_to(stations)
    folium.Marker(DEPOT, icon=folium.Icon(icon="home", color="green"), title="Depot").add_to(m)
    folium.GeoJson(_line_collection(ROUTES), name="Routes").add_to(m)
    volunteers = folium.plugins.MarkerCluster(name="Volunteers").add_to(m)
    for location in VOLUNTEERS:
        folium.Marker(location, icon=folium.Icon(icon="user", prefix="fa")).add_to(volunteers)
    pharmacies = folium.GeoJson(_point_collection(PHARMACIES), name="Pharmacies").add_to(m)
    folium.plugins.Search(
        layer=pharmacies, search_label="name", placeholder="Search pharmacies"
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


@pytest.fixture
def harness_map(tmp_path: Path) -> Path:
    path = tmp_path / "coverage_map.html"
    _harness_map().save(path)
    return path


def _count(map_page, selector: str) -> int:
    return map_page.page.locator(selector).count()


def test_map_renders_offline(open_map, harness_map: Path, tmp_path: Path) -> None:
    map_page = open_map(harness_map)

    assert map_page.console_errors == []
    assert map_page.unmatched_requests == []
    assert map_page.page.evaluate("typeof window.L") == "object"
    assert map_page.tile_requests, "no tile was requested: the map did not lay out"
    # The icon fonts came from the local copies, through the CSS files' relative URLs.
    loaded_fonts = map_page.page.evaluate(
        "[...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family)"
    )
    assert {"Font Awesome 6 Free", "Glyphicons Halflings"} <= set(loaded_fonts)
    assert map_page.marker_count() == EXPECTED_MARKERS
    assert _count(map_page, ".leaflet-marker-icon") == EXPECTED_LEAFLET_ICONS
    assert _count(map_page, STATION_ICONS) == len(STATIONS)  # the cluster hides the volunteers
    assert _count(map_page, ".marker-cluster") == 1
    assert _count(map_page, "path.leaflet-interactive") == len(ROUTES)

    png = map_page.screenshot(tmp_path / "coverage_map.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000  # a blank page is a few KB
    assert map_page.console_errors == []


def test_layer_control_hides_feature_group(open_map, harness_map: Path) -> None:
    map_page = open_map(harness_map)
    checkbox = map_page.page.locator(
        ".leaflet-control-layers-overlays label", has_text="Stations"
    ).locator("input")

    checkbox.uncheck()
    assert _count(map_page, STATION_ICONS) == 0
    assert map_page.marker_count() == EXPECTED_MARKERS - len(STATIONS)

    checkbox.check()
    assert _count(map_page, STATION_ICONS) == len(STATIONS)
    assert map_page.marker_count() == EXPECTED_MARKERS
    assert map_page.console_errors == []


@pytest.mark.parametrize(
    ("name", "text"), [(name, text) for name, _, text in STATIONS[:2]], ids=["A", "B"]
)
def test_marker_click_opens_popup(open_map, harness_map: Path, name: str, text: str) -> None:
    map_page = open_map(harness_map)
    map_page.page.locator(f'.leaflet-marker-pane > [title="{name}"]').click()

    popup = map_page.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.count() == 1
    assert popup.inner_text().strip() == text
    assert map_page.console_errors == []


def test_search_finds_pharmacy(open_map, harness_map: Path) -> None:
    map_page = open_map(harness_map)
    map_page.page.locator(".leaflet-control-search input.search-input").press_sequentially(
        "North"
    )  # typed key by key: the plugin listens for keyup

    tip = map_page.page.locator(".search-tooltip .search-tip")
    tip.first.wait_for()
    assert tip.all_inner_texts() == ["North Pharmacy"]
    assert map_page.console_errors == []
    assert map_page.unmatched_requests == []


PAYLOAD = '<img src=x onerror="window.__pwned=1">'


@pytest.mark.parametrize("escape", [True, False], ids=["escaped", "raw-control"])
def test_tooltip_html_injection(open_map, tmp_path: Path, escape: bool) -> None:
    # The raw case is the control: it shows that the check would notice script execution.
    text = html.escape(PAYLOAD) if escape else PAYLOAD
    m = folium.Map(location=CENTRE, zoom_start=13)
    folium.Marker(CENTRE, tooltip=folium.Tooltip(text), title="target").add_to(m)
    path = tmp_path / "injection.html"
    m.save(path)

    map_page = open_map(path)
    map_page.page.locator('.leaflet-marker-pane > [title="target"]').hover()
    tooltip = map_page.page.locator(".leaflet-tooltip")
    tooltip.wait_for()

    if escape:
        map_page.settle()  # an <img> would have loaded or failed by now
        assert tooltip.inner_text().strip() == PAYLOAD
        assert tooltip.locator("img").count() == 0
        assert map_page.page.evaluate("typeof window.__pwned") == "undefined"
        assert map_page.console_errors == []
    else:
        map_page.page.wait_for_function("window.__pwned === 1")


def test_unmapped_cdn_asset_fails_naming_url(open_map, tmp_path: Path) -> None:
    url = "https://cdn.jsdelivr.net/npm/not-pinned-plugin@0.0.1/dist/plugin.min.js"
    path = tmp_path / "plugin.html"
    path.write_text(f'<!DOCTYPE html><html><head><script src="{url}"></script></head></html>')

    with pytest.raises(pytest.fail.Exception, match=re.escape(url)):
        open_map(path)


def test_other_hosts_are_aborted_and_recorded(open_map, tmp_path: Path) -> None:
    tile = "https://tile.openstreetmap.org/13/4400/2686.png"
    other = "https://example.invalid/logo.png"
    path = tmp_path / "hosts.html"
    path.write_text(
        f'<!DOCTYPE html><html><body><img src="{tile}"><img src="{other}"></body></html>'
    )

    map_page = open_map(path)
    assert map_page.tile_requests == [tile]
    assert map_page.unmatched_requests == [other]
    assert map_page.page.evaluate("document.images[0].naturalWidth") == 1


def test_folium_cdn_urls_have_local_copies(local_cdn_copy: Callable[[str], Path | None]) -> None:
    # Every CDN file folium 0.20 writes for a map and the plugins we use, checked without
    # needing a page to ask for it (glyphicon fonts are only fetched when an icon uses one).
    layer = folium.GeoJson(_point_collection(PHARMACIES))
    elements = [folium.Map(), folium.plugins.MarkerCluster(), folium.plugins.Search(layer)]
    urls = [url for e in elements for _, url in [*e.default_js, *e.default_css]]
    urls.append(
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/glyphicons-halflings-regular.woff2"
    )
    missing = [url for url in urls if not ((local := local_cdn_copy(url)) and local.is_file())]
    assert missing == []
