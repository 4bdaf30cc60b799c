"""Prove the browser harness: a page gets nothing but tiles, and what it asked for is told."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

TILE = "https://tile.openstreetmap.org/13/4400/2686.png"
# What a page that is not self-contained asks for: each must be aborted and recorded.
ASSETS = {
    "script": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
    "stylesheet": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
    "font": "https://fonts.gstatic.com/s/x/font.woff2",
    "image": "https://example.invalid/logo.png",
    "fetch": "https://stationplan.test/data.json",  # the page's own host counts too
}
PAGE = f"""<!DOCTYPE html><html><head>
<script src="{ASSETS["script"]}"></script>
<link rel="stylesheet" href="{ASSETS["stylesheet"]}">
<style>@font-face {{font-family: X; src: url({ASSETS["font"]})}} body {{font-family: X}}</style>
</head><body>text<img src="{TILE}"><img src="{ASSETS["image"]}">
<script>fetch("{ASSETS["fetch"]}").catch(() => {{}}); window.ran = true;</script>
</body></html>"""


@pytest.fixture
def page_html(tmp_path: Path) -> Path:
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    return path


def test_only_tiles_are_answered(open_map, page_html: Path) -> None:
    map_page = open_map(page_html)
    map_page.page.wait_for_function("window.ran === true")
    map_page.page.wait_for_timeout(200)  # the fetch is aborted after the load event
    assert map_page.tile_requests == [TILE]
    assert map_page.page.evaluate("document.images[0].naturalWidth") == 1  # the blank tile
    blocked = sorted(url for entry in map_page.blocked_requests for url in [entry.split()[1]])
    assert blocked == sorted(ASSETS.values())
    assert map_page.page_errors == []


def test_blocked_tiles_fail_quietly(open_map, page_html: Path) -> None:
    map_page = open_map(page_html, tiles="blocked")
    assert map_page.tile_requests == [TILE]
    assert map_page.page.evaluate("document.images[0].naturalWidth") == 0
    # the failed tile is no console error; the other failed loads are
    assert not any("openstreetmap" in e for e in map_page.console_errors)
    assert any("example.invalid" in e for e in map_page.console_errors)


def test_page_errors_are_recorded(open_map, tmp_path: Path) -> None:
    path = tmp_path / "broken.html"
    path.write_text("<!DOCTYPE html><script>undefinedFunction();</script>", encoding="utf-8")
    map_page = open_map(path)
    assert len(map_page.page_errors) == 1
    assert "undefinedFunction" in map_page.page_errors[0]
