"""The check map in headless Chromium: proposals coloured by verdict, layers, safe popups."""

from __future__ import annotations

import osmnx as ox
import pytest
from handnet import hand_graph, write_hand_stations
from test_check import PROPOSALS, write_proposals

from stationplan.cli import main

pytestmark = pytest.mark.browser

XSS = "</script><script>alert(1)</script>`${x}`"


@pytest.fixture(scope="module")
def check_html(tmp_path_factory):
    d = tmp_path_factory.mktemp("check")
    net = d / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    rows = [*PROPOSALS[:7], ("P8", XSS, 250, 10000), PROPOSALS[8]]
    props = write_proposals(d / "p.csv", rows)
    assert main(["check", str(net), str(write_hand_stations(d / "s.csv")), str(props),
                 "--out", str(d / "o"), "--quiet", "--no-time-limit", "--no-benchmark",
                 "--lang", "en"]) == 0
    return d / "o" / "check_map.html"


def test_proposals_are_drawn_by_verdict(open_map, check_html) -> None:
    page = open_map(check_html)
    assert page.console_errors == []
    assert page.blocked_requests == []
    count = {v: page.page.locator(f"path.sp-check-{v}").count()
             for v in ("accept", "redundant", "too_close", "off_network", "invalid")}
    # no planning area: X—Y is served and S4 covers it, so P8 is redundant
    assert count == {"accept": 3, "redundant": 3, "too_close": 1, "off_network": 1,
                     "invalid": 0}  # the invalid row has no position
    labels = page.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert {"accept (3)", "redundant (3)", "too close (1)", "invalid (1)"} <= {
        text.strip() for text in labels}
    assert "Proposals" in page.page.locator("#stationplan-check-legend").inner_text()


def test_popups_show_input_text_as_text(open_map, check_html) -> None:
    page = open_map(check_html)
    markers = page.page.locator("path.sp-check-redundant")
    for i in range(markers.count()):
        markers.nth(i).dispatch_event("click")
        page.page.wait_for_function(  # the previous popup fades out first
            "document.querySelectorAll('.leaflet-popup-content').length === 1")
        if XSS in page.page.locator(".leaflet-popup-content").inner_text():
            break
    else:
        pytest.fail("no popup shows the hostile name as text")
    assert page.console_errors == []
    assert page.page.locator(".leaflet-popup-content script").count() == 0


def test_check_map_without_tiles(open_map, check_html, tmp_path) -> None:
    page = open_map(check_html, tiles="blocked")
    page.page.locator(".sp-nobase").wait_for()
    assert page.page.locator(".sp-nobase").all_inner_texts() == ["basemap needs the internet"]
    assert page.page.locator("path[class*=sp-check-]").count() == 8  # P9 has no position
    assert page.page.locator(".leaflet-marker-pane > .sp-station").count() == 5  # S1-S5
    page.page.locator("path.sp-check-accept").first.dispatch_event("click")
    page.page.locator(".leaflet-popup-content").wait_for()
    page.screenshot(tmp_path / "check_no_tiles.png")
    assert page.blocked_requests == []
    assert page.page_errors == []
    assert page.console_errors == []
