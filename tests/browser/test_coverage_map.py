"""The coverage map in headless Chromium: it renders, counts add up, layers, popups, safety."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from handnet import hand_lonlat
from mapcases import (
    HAND_COVERED_FEATURES,
    HAND_GAP_RUNS,
    HAND_REJECTED_WITH_POINT,
    HAND_SERVICE_AREAS,
    HAND_STATIONS_OK,
    XSS_IMG,
    XSS_PROPOSAL,
    XSS_SCRIPT,
    hand_case,
)

from stationplan.chinacrs import wgs84_to_gcj02
from stationplan.cli import main
from stationplan.maps import coverage_map

pytestmark = pytest.mark.browser

STATIONS = ".leaflet-marker-pane > .sp-station"
PROPOSALS = ".leaflet-marker-pane > .sp-proposal"
REJECTED = ".leaflet-marker-pane > .sp-rejected"


def _count(map_page, selector: str) -> int:
    return map_page.page.locator(selector).count()


def _popup_title(map_page) -> str:
    """The first line of the open popup, once the previous one (fading out) is gone."""
    map_page.page.wait_for_function(
        "document.querySelectorAll('.leaflet-popup-content').length === 1"
    )
    return map_page.page.locator(".leaflet-popup-content").inner_text().splitlines()[0].strip()


def _overlay(map_page, text: str):
    return map_page.page.locator(".leaflet-control-layers-overlays label", has_text=text).locator(
        "input"
    )


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return hand_case(tmp_path_factory.mktemp("hand"))


NOTE = ".sp-nobase"


@pytest.fixture(scope="module")
def hand_html(hand, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("handmap") / "coverage_map.html"
    fmap = coverage_map(hand.coverage, hand.gaps, summary=hand.summary,
                        proposals=hand.proposals, area=hand.area, lang="en")
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    return path


def _assert_every_feature(map_page) -> None:
    assert _count(map_page, STATIONS) == len(HAND_STATIONS_OK)
    assert _count(map_page, PROPOSALS) == 2
    assert _count(map_page, REJECTED) == HAND_REJECTED_WITH_POINT
    assert map_page.marker_count() == len(HAND_STATIONS_OK) + 2 + HAND_REJECTED_WITH_POINT
    assert _count(map_page, "path.sp-covered") == HAND_COVERED_FEATURES
    assert _count(map_page, "path.sp-gap") == HAND_GAP_RUNS
    assert _count(map_page, "path.sp-service") == HAND_SERVICE_AREAS
    assert _count(map_page, "path.sp-area") == 1


def test_hand_map_renders_every_feature(open_map, hand_html: Path, tmp_path: Path) -> None:
    map_page = open_map(hand_html)

    assert map_page.console_errors == []
    # no script, style sheet, font or data file asked for: only tiles
    assert map_page.blocked_requests == []
    assert map_page.tile_requests, "no tile was requested: the map did not lay out"
    # the hand streets are in China: Gaode's tiles by default
    assert all("autonavi.com" in url for url in map_page.tile_requests)
    _assert_every_feature(map_page)
    # Proposals are numbered in rank order.
    assert map_page.page.locator(PROPOSALS).all_inner_texts() == ["1", "2"]
    panel = map_page.page.locator("#stationplan-legend")
    assert "68.6 % covered" in panel.inner_text()  # 3500 of 5100 m
    assert "2 proposed sites (94.1 % with proposals)" in panel.inner_text()

    # the station icons are drawn (a CSS mask of an inlined SVG, one em square or so)
    icon = map_page.page.locator(f"{STATIONS} i.sp-i").first.bounding_box()
    assert icon is not None and icon["width"] > 8 and icon["height"] > 8
    # the scale bar is metric only
    scale = map_page.page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(scale) == 1 and scale[0].split()[1] in {"m", "km"}
    # tiles load: no note
    assert _count(map_page, NOTE) == 0

    png = map_page.screenshot(tmp_path / "coverage_map.png")
    assert png.stat().st_size > 10_000
    assert map_page.console_errors == []


def test_without_tiles_every_layer_shows_with_a_note(open_map, hand_html: Path,
                                                     tmp_path: Path) -> None:
    map_page = open_map(hand_html, tiles="blocked")
    page = map_page.page
    assert map_page.tile_requests, "no tile was asked for"
    page.locator(NOTE).wait_for()
    assert page.locator(NOTE).all_inner_texts() == ["basemap needs the internet"]
    _assert_every_feature(map_page)
    # popups and the search work without the basemap
    page.locator('[data-sp="proposal-1"]').click()
    assert _popup_title(map_page).startswith("#1 Corner shop")
    page.locator(".sp-search input.sp-search-input").press_sequentially("S4")
    page.locator(".sp-search-tips .sp-search-tip").first.click()
    assert _popup_title(map_page) == "S4"
    map_page.screenshot(tmp_path / "no_tiles.png")
    assert _count(map_page, NOTE) == 1  # once, however many tiles failed
    assert map_page.blocked_requests == []
    assert map_page.page_errors == []
    assert map_page.console_errors == []


def test_chinese_note_and_search_box(open_map, hand, tmp_path) -> None:
    path = tmp_path / "zh.html"
    path.write_text(coverage_map(hand.coverage, hand.gaps, lang="zh").get_root().render(),
                    encoding="utf-8")
    map_page = open_map(path, tiles="blocked")
    page = map_page.page
    page.locator(NOTE).wait_for()
    assert page.locator(NOTE).inner_text() == "底图需联网"
    box = page.locator(".sp-search input.sp-search-input")
    assert box.get_attribute("placeholder") == "搜索驿站"
    # the whole placeholder fits: the box is wider than the text
    fits = box.evaluate("""(el) => {
      const c = document.createElement("canvas").getContext("2d");
      c.font = getComputedStyle(el).font;
      const pad = parseFloat(getComputedStyle(el).paddingLeft) * 2;
      return c.measureText(el.placeholder).width + pad <= el.clientWidth;
    }""")
    assert fits
    box.press_sequentially("无此站")
    assert page.locator(".sp-search-tips li").all_inner_texts() == ["未找到"]
    # the scale bar in the map's words (Leaflet's own writes "1 km"), Leaflet's widths
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1 and scale.inner_text().split()[1] in {"米", "公里"}
    assert 0 < scale.bounding_box()["width"] <= 150
    zoom_out = "() => { const m = window[document.querySelector('.folium-map').id];" \
               " m.setZoom(12, {animate: false}); }"
    page.evaluate(zoom_out)
    assert scale.inner_text().split()[1] == "公里"
    assert map_page.console_errors == []


# The screen position where a moved WGS-84 tile layer draws a WGS-84 point, minus where the
# map draws that point's GCJ-02 position: the layer's misalignment in pixels.
_MISALIGNMENT = """([host, lat, lng, glat, glng]) => {
  const map = window[document.querySelector('.folium-map').id];
  let layer = null;
  map.eachLayer((l) => { if (l._url && l._url.includes(host)) layer = l; });
  const z = layer._tileZoom, p = map.project(L.latLng(lat, lng), z);
  const t = p.divideBy(256).floor(), tile = layer._tiles[t.x + ":" + t.y + ":" + z];
  if (!tile) return null;
  const r = tile.el.getBoundingClientRect(), c = map.getContainer().getBoundingClientRect();
  const k = r.width / 256;
  const want = map.latLngToContainerPoint(L.latLng(glat, glng));
  return [r.left - c.left + (p.x - t.x * 256) * k - want.x,
          r.top - c.top + (p.y - t.y * 256) * k - want.y];
}"""


def test_osm_tiles_move_onto_the_gcj02_layers(open_map, hand_html: Path) -> None:
    map_page = open_map(hand_html)
    page = map_page.page
    lng, lat = hand_lonlat(1700, 5000)  # a street corner, away from the data's centre
    glng, glat = wgs84_to_gcj02(lng, lat)
    # Gaode's tiles are GCJ-02, like the layers: drawn where they are
    gaode = page.evaluate(_MISALIGNMENT, ["autonavi", glat, glng, glat, glng])
    assert max(map(abs, gaode)) <= 1
    page.locator(".leaflet-control-layers-base label", has_text="OpenStreetMap").click()
    page.wait_for_function("document.querySelector('img.leaflet-tile[src*=openstreetmap]')")
    map_page.settle()
    dx, dy = page.evaluate(_MISALIGNMENT, ["openstreetmap", lat, lng, glat, glng])
    # moved by ~500 m (dozens of pixels here), they match the layers to a pixel or two
    assert abs(dx) <= 2 and abs(dy) <= 2
    assert any("tile.openstreetmap.org" in url for url in map_page.tile_requests)
    assert map_page.console_errors == []


LAYERS = [  # label in the layer control, what it draws, how many
    ("Service areas", "path.sp-service", HAND_SERVICE_AREAS),
    ("Streets by distance", "path.sp-covered", HAND_COVERED_FEATURES),
    ("Gaps", "path.sp-gap", HAND_GAP_RUNS),
    ("Stations", STATIONS, len(HAND_STATIONS_OK)),
    ("Proposed sites", PROPOSALS, 2),
    ("Rejected inputs", REJECTED, HAND_REJECTED_WITH_POINT),
    ("Planning area", "path.sp-area", 1),
]


def test_toggling_a_layer_hides_it(open_map, hand_html) -> None:
    map_page = open_map(hand_html)
    for label, selector, count in LAYERS:
        checkbox = _overlay(map_page, label)
        assert checkbox.count() == 1, label
        checkbox.uncheck()
        assert _count(map_page, selector) == 0, label
        # The other layers stay.
        others = [(s, n) for lab, s, n in LAYERS if lab != label]
        assert [_count(map_page, s) for s, _ in others] == [n for _, n in others], label
        checkbox.check()
        assert _count(map_page, selector) == count, label
    assert map_page.console_errors == []


def test_station_popup_shows_name_services_and_amap_link(open_map, hand_html) -> None:
    map_page = open_map(hand_html)
    map_page.page.locator('[data-sp="station-2"]').click()

    popup = map_page.page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert text.splitlines()[0].strip() == "S3"
    assert "S3 street 1 & <b>2</b>" in text  # the address, as text
    assert "drinking water" in text and "massage" in text
    assert "08:00-22:00" in text
    assert "1.0 km" in text  # S3's catchment: 1000 m of street
    assert popup.locator("i.sp-i-glass-water").count() == 1
    href = popup.locator("a").get_attribute("href")
    assert href.startswith("https://uri.amap.com/marker?position=")
    assert href.endswith("&name=S3&coordinate=wgs84")
    assert map_page.console_errors == []


def test_proposal_popup_shows_rank_gain_and_host(open_map, hand_html) -> None:
    map_page = open_map(hand_html)
    map_page.page.locator('[data-sp="proposal-1"]').click()

    popup = map_page.page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert text.startswith("#1 Corner shop 便利店")
    assert "+700 m of covered street" in text
    assert "82.4 %" in text  # 4200 of 5100 m
    assert "shop=convenience" in text


def test_hostile_names_are_text_not_script(open_map, hand_html) -> None:
    map_page = open_map(hand_html)
    page = map_page.page
    for sp_id, name in (("station-1", XSS_IMG), ("station-4", XSS_SCRIPT),
                        ("proposal-2", f"#2 {XSS_PROPOSAL}")):
        marker = page.locator(f'[data-sp="{sp_id}"]')
        marker.hover()
        # the tooltip of the marker hovered before may still be leaving: wait for this one
        page.wait_for_function(
            "name => [...document.querySelectorAll('.leaflet-tooltip')]"
            ".some(t => t.innerText.trim() === name)", arg=name)
        # (the one leaving may be the last in the page: take this marker's by its text)
        tooltip = page.locator(".leaflet-tooltip", has_text=name).last
        assert tooltip.inner_text().strip() == name
        assert tooltip.locator("img, script").count() == 0
        marker.click()
        assert _popup_title(map_page) == name
    # The search list shows names as text too.
    page.locator(".sp-search input.sp-search-input").press_sequentially("img")
    tip = page.locator(".sp-search-tips .sp-search-tip")
    tip.first.wait_for()
    assert tip.all_inner_texts() == [XSS_IMG]
    map_page.settle()
    assert page.locator(".leaflet-container img[src='x'], .leaflet-container script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert map_page.console_errors == []


def test_search_opens_the_station(open_map, hand_html) -> None:
    map_page = open_map(hand_html)
    page = map_page.page
    page.locator(".sp-search input.sp-search-input").press_sequentially("S4")
    tip = page.locator(".sp-search-tips .sp-search-tip")
    tip.first.wait_for()
    assert tip.all_inner_texts() == ["S4"]
    tip.first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.inner_text().splitlines()[0].strip() == "S4"
    assert map_page.console_errors == []


def test_clustered_stations_and_search(open_map, hand, tmp_path) -> None:
    path = tmp_path / "clustered.html"
    fmap = coverage_map(hand.coverage, hand.gaps, lang="zh", cluster_threshold=2)
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    map_page = open_map(path)
    page = map_page.page
    assert map_page.console_errors == []
    # Zoomed out, the stations (1 to 5 km apart) merge into bubbles.
    page.evaluate(
        "() => { window[document.querySelector('.folium-map').id].setZoom(10, {animate: false}); }"
    )
    # The clusters fade in and the markers they replace fade out.
    page.wait_for_function(
        f"document.querySelectorAll('{STATIONS}').length < {len(HAND_STATIONS_OK)}"
    )
    assert _count(map_page, ".leaflet-marker-pane > .sp-cluster") >= 1
    # The panel is in Chinese.
    assert "爱心驿站覆盖" in page.locator("#stationplan-legend").inner_text()
    page.locator(".sp-search input.sp-search-input").press_sequentially("S1")
    page.locator(".sp-search-tips .sp-search-tip").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.inner_text().splitlines()[0].strip() == "S1"
    assert map_page.console_errors == []


def test_osm_map_loads_only_osm_tiles(open_map, hand, tmp_path) -> None:
    path = tmp_path / "osm.html"
    fmap = coverage_map(hand.coverage, hand.gaps, basemap="osm")
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    map_page = open_map(path)
    assert map_page.console_errors == []
    assert map_page.tile_requests
    assert all("tile.openstreetmap.org" in url for url in map_page.tile_requests)
    assert _count(map_page, STATIONS) == len(HAND_STATIONS_OK)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    return out


def test_helsinki_demo_map(open_map, demo_out: Path, tmp_path: Path) -> None:
    def features(name: str) -> list[dict]:
        return json.loads((demo_out / name).read_text(encoding="utf-8"))["features"]

    stations = features("stations.geojson")
    ok = [f for f in stations if f["properties"]["status"] == "ok"]
    rejected = [f for f in stations if f["properties"]["status"] != "ok" and f["geometry"]]
    gaps = features("gaps.geojson")
    covered = features("coverage.geojson")
    n_covered_streets = len({f["properties"]["name"] for f in covered
                             if f["properties"]["status"] == "covered"})
    map_page = open_map(demo_out / "coverage_map.html")

    assert map_page.console_errors == []
    assert map_page.blocked_requests == []
    assert _count(map_page, STATIONS) == len(ok) == 4
    assert _count(map_page, REJECTED) == len(rejected)
    assert _count(map_page, PROPOSALS) == 0
    assert _count(map_page, "path.sp-gap") == len(gaps)
    # One feature per street and distance band: at least one per covered street name.
    assert _count(map_page, "path.sp-covered") >= n_covered_streets
    assert _count(map_page, "path.sp-service") == len(ok)
    panel = map_page.page.locator("#stationplan-legend").inner_text()
    assert "Care-station coverage" in panel  # Finnish names: English
    map_page.page.locator('[data-sp="station-0"]').click()
    popup = map_page.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.inner_text().splitlines()[0].strip() == ok[0]["properties"]["name"]
    map_page.screenshot(tmp_path / "helsinki.png")
    assert (demo_out / "coverage_map.png").stat().st_size > 10_000
    assert map_page.console_errors == []
