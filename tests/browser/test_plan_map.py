"""A real plan's coverage map in headless Chromium: existing stations and proposals apart.

The plan is run through the command line on the Guixi extract and station sheet, as a
county planner would. The counts are checked against the station sheet itself (read with
pandas, not stationplan) and against the run's other output files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from handnet import shared_osm, shared_sheet

from stationplan.cli import main

pytestmark = pytest.mark.browser

STATIONS = ".leaflet-marker-pane > .sp-station"
PROPOSALS = ".leaflet-marker-pane > .sp-proposal"
COVERED_AFTER = "path.sp-covered:not(.sp-today)"
COVERED_TODAY = "path.sp-covered.sp-today"
GAPS_AFTER = "path.sp-gap:not(.sp-today)"
GAPS_TODAY = "path.sp-gap.sp-today"


@pytest.fixture(scope="module")
def guixi_plan(tmp_path_factory) -> Path:
    osm = shared_osm("guixi_county_city.osm.bz2")
    sheet = shared_sheet("guixi_stations.xlsx")
    out = tmp_path_factory.mktemp("guixi_plan")
    assert main(["plan", str(osm), str(sheet), "--crs", "gcj02", "--out", str(out),
                 "--quiet", "--overwrite"]) == 0
    return out


def _features(out: Path, name: str) -> list[dict]:
    return json.loads((out / name).read_text(encoding="utf-8"))["features"]


def _sheet_rows_with_coordinates() -> int:
    """Rows of the station sheet whose longitude and latitude are both numbers."""
    # a title row above the header, a note row below the table
    sheet = pd.read_excel(shared_sheet("guixi_stations.xlsx"), header=1)
    lon = pd.to_numeric(sheet["经度"], errors="coerce")
    lat = pd.to_numeric(sheet["纬度"], errors="coerce")
    return int((lon.notna() & lat.notna()).sum())


def _count(map_page, selector: str) -> int:
    return map_page.page.locator(selector).count()


def _overlay(map_page, text: str):
    return map_page.page.locator(".leaflet-control-layers-overlays label", has_text=text)


def test_existing_stations_and_proposals_are_apart(open_map, guixi_plan: Path,
                                                   tmp_path: Path) -> None:
    stations = _features(guixi_plan, "stations.geojson")
    existing_ok = [f for f in stations if f["properties"]["status"] == "ok"
                   and f["properties"]["kind"] == "existing"]
    proposals = _features(guixi_plan, "proposals.geojson")
    assert len(existing_ok) == _sheet_rows_with_coordinates() == 11
    assert proposals, "the plan proposes no site: nothing to tell apart"

    map_page = open_map(guixi_plan / "coverage_map.html")
    assert map_page.console_errors == []
    assert map_page.blocked_requests == []
    # the layer control and the markers count the input stations only
    assert _overlay(map_page, f"现有驿站 ({len(existing_ok)})").count() == 1
    assert _overlay(map_page, f"拟建站点 ({len(proposals)})").count() == 1
    assert _count(map_page, STATIONS) == len(existing_ok)
    assert _count(map_page, PROPOSALS) == len(proposals)
    panel = map_page.page.locator("#stationplan-legend").inner_text()
    assert f"{len(existing_ok)} 个现有驿站" in panel
    assert f"{len(proposals)} 个拟建站点" in panel
    map_page.screenshot(tmp_path / "guixi_plan_map.png")

    # unticking the proposals removes every proposal marker, and only those
    _overlay(map_page, "拟建站点").locator("input").uncheck()
    assert _count(map_page, PROPOSALS) == 0
    assert _count(map_page, STATIONS) == len(existing_ok)
    _overlay(map_page, "拟建站点").locator("input").check()
    assert _count(map_page, PROPOSALS) == len(proposals)
    assert map_page.console_errors == []


def test_today_and_with_proposals_switch(open_map, guixi_plan: Path, tmp_path: Path) -> None:
    summary = json.loads((guixi_plan / "summary.json").read_text(encoding="utf-8"))
    gaps_after = _features(guixi_plan, "gaps.geojson")
    map_page = open_map(guixi_plan / "coverage_map.html")
    page = map_page.page
    panel = page.locator("#stationplan-legend")
    # the plan is shown first: its streets and gaps, none of today's
    assert panel.get_attribute("data-phase") == "after"
    after_streets = _count(map_page, COVERED_AFTER)
    assert after_streets > 0
    assert _count(map_page, GAPS_AFTER) == len(gaps_after)
    assert _count(map_page, COVERED_TODAY) == _count(map_page, GAPS_TODAY) == 0
    share = f"{100 * summary['covered_share']:.1f} %"
    assert f"覆盖率 {share}" in panel.inner_text()

    panel.locator("input[value=before]").check()
    assert panel.get_attribute("data-phase") == "before"
    assert _count(map_page, COVERED_AFTER) == _count(map_page, GAPS_AFTER) == 0
    assert _count(map_page, COVERED_TODAY) > 0
    # today has more gap street than the plan: the proposals close some of it
    assert _count(map_page, GAPS_TODAY) >= 1
    assert _count(map_page, PROPOSALS) == 0  # today has no proposed sites
    assert _count(map_page, STATIONS) == 11  # the existing stations stay
    # the layer control follows the switch
    assert _overlay(map_page, "现状：街道").locator("input").is_checked()
    assert not _overlay(map_page, "拟建站点").locator("input").is_checked()
    map_page.screenshot(tmp_path / "guixi_today.png")

    panel.locator("input[value=after]").check()
    assert _count(map_page, COVERED_AFTER) == after_streets
    assert _count(map_page, COVERED_TODAY) == 0
    assert _count(map_page, PROPOSALS) > 0
    assert map_page.console_errors == []


def test_plan_map_without_tiles(open_map, guixi_plan: Path, tmp_path: Path) -> None:
    proposals = _features(guixi_plan, "proposals.geojson")
    map_page = open_map(guixi_plan / "coverage_map.html", tiles="blocked")
    page = map_page.page
    # Guixi is in China: Gaode's tiles by default, and OSM on offer
    assert map_page.tile_requests
    assert all("autonavi.com" in url for url in map_page.tile_requests)
    assert _count(map_page, ".leaflet-control-layers-base label") == 3
    page.locator(".sp-nobase").wait_for()
    assert page.locator(".sp-nobase").all_inner_texts() == ["底图需联网"]
    assert _count(map_page, STATIONS) == 11
    assert _count(map_page, PROPOSALS) == len(proposals)
    assert _count(map_page, COVERED_AFTER) > 0
    page.locator('[data-sp="station-0"]').click()
    page.locator(".leaflet-popup-content").wait_for()
    map_page.screenshot(tmp_path / "guixi_no_tiles.png")
    assert map_page.blocked_requests == []
    assert map_page.page_errors == []
    assert map_page.console_errors == []
