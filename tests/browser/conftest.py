"""Open generated map pages in a real headless Chromium, cut off from every server.

A page is opened at ``http://stationplan.test/NAME`` and its own file answers that one
request. Every other request the page makes is intercepted and recorded: basemap tiles
get a blank PNG (or, with ``tiles="blocked"``, are aborted as on a PC without internet),
and anything else (a script, style sheet, font, image, data file, even on the page's own
host) is aborted. The maps must work so: they hold everything they need.

``bash tests/browser/setup.sh`` installs Debian's chromium (and CJK fonts). Without it
the tests skip, or fail under ``STATIONPLAN_STRICT=1`` (CI).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Route

HERE = Path(__file__).resolve().parent

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1024, "height": 768}
TIMEOUT_MS = 15_000
# The made-up origin the page is served from (.test is reserved: it never resolves).
ORIGIN = "http://stationplan.test/"

# Hostname suffixes of tile servers.
TILE_HOSTS = (
    "tile.openstreetmap.org",
    "basemaps.cartocdn.com",
    "tianditu.gov.cn",
    "autonavi.com",
)

STRICT = os.environ.get("STATIONPLAN_STRICT") == "1"

Tiles = Literal["blank", "blocked"]


def _png_pixel(rgb: tuple[int, int, int]) -> bytes:
    """Return a 1×1 PNG of one colour (Leaflet stretches it over the 256 px tile)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# OSM's land colour, so a screenshot shows that tiles were requested and drawn.
BLANK_TILE = _png_pixel((242, 239, 233))


def is_tile_host(host: str) -> bool:
    """Tell whether `host` serves basemap tiles.

    >>> is_tile_host("webrd01.is.autonavi.com"), is_tile_host("tile.openstreetmap.org")
    (True, True)
    >>> is_tile_host("cdn.jsdelivr.net"), is_tile_host("evilautonavi.com")
    (False, False)
    """
    return any(host == suffix or host.endswith("." + suffix) for suffix in TILE_HOSTS)


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it in strict mode (CI must run the browser tests)."""
    if STRICT:
        pytest.fail(f"{reason} (STATIONPLAN_STRICT=1, so this is an error)", pytrace=False)
    pytest.skip(reason)


@dataclass
class MapPage:
    """One opened map page and what happened on the way.

    `blocked_requests` holds every request other than the page and its tiles, as
    ``"TYPE URL"`` (all were aborted); `tile_requests` the tile URLs (answered with a blank
    PNG, or aborted when the tiles are blocked); `page_errors` uncaught exceptions;
    `console_errors` those and console messages of type error, except the failed loads of
    blocked tiles (Chromium logs each one).
    """

    page: Page
    url: str
    tiles: Tiles = "blank"
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    tile_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    _body: bytes = b""

    def marker_count(self) -> int:
        """Count the marker icons on the map: div icons and cluster bubbles."""
        return self.page.locator(".leaflet-marker-pane > *").count()

    def screenshot(self, path: Path | str) -> Path:
        """Wait for fonts and images, then write a PNG screenshot of the viewport to `path`."""
        self.settle()
        path = Path(path)
        # Finish the tiles' fade-in, or they are caught half transparent.
        self.page.screenshot(path=str(path), animations="disabled")
        return path

    def settle(self) -> None:
        """Wait until web fonts and all images in the document have loaded (or failed)."""
        self.page.evaluate(
            """async () => {
                document.body.getBoundingClientRect();  // lay out, so fonts start loading
                await new Promise((done) => requestAnimationFrame(() => done()));
                await document.fonts.ready;
                const pending = [...document.images].filter((img) => !img.complete);
                await Promise.all(pending.map((img) => new Promise((done) => {
                    img.addEventListener("load", done, {once: true});
                    img.addEventListener("error", done, {once: true});
                })));
            }"""
        )

    def _on_route(self, route: Route) -> None:
        request = route.request
        url = request.url
        self.requests.append(url)
        if url == self.url and request.resource_type == "document" and self._body:
            body, self._body = self._body, b""  # the page once; a reload would be a request
            route.fulfill(status=200, body=body, content_type="text/html; charset=utf-8")
            return
        if is_tile_host(urlsplit(url).hostname or ""):
            self.tile_requests.append(url)
            if self.tiles == "blocked":
                route.abort("internetdisconnected")
                return
            route.fulfill(status=200, body=BLANK_TILE, content_type="image/png",
                          headers={"Access-Control-Allow-Origin": "*"})
            return
        self.blocked_requests.append(f"{request.resource_type} {url}")
        route.abort("blockedbyclient")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if is_tile_host(urlsplit(where).hostname or "") and self.tiles == "blocked":
            return
        self.console_errors.append(f"{message.text} [{where}]" if where else message.text)

    def _on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))
        self.console_errors.append(f"pageerror: {error}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test in this folder needs the browser, so `-m "not browser"` leaves them out
    # even when a new test file forgets its `pytestmark`.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session, driven by Playwright."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing; run `bash tests/browser/setup.sh` as root")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing; pip install -e '.[test]'")
    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000
            )
        except Error as error:
            _unavailable(f"could not start {CHROMIUM}: {error.message.splitlines()[0]}")
        yield browser
        browser.close()
    finally:
        playwright.stop()


def _opener(chromium_browser: Browser, kind: type[MapPage], script: str | None,
            opened: list[MapPage]) -> Callable[..., MapPage]:
    def _open(html_path: Path | str, *, tiles: Tiles = "blank") -> MapPage:
        html_path = Path(html_path).resolve()
        if not html_path.is_file():
            raise FileNotFoundError(f"{html_path} does not exist")
        context = chromium_browser.new_context(viewport=VIEWPORT, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        if script:
            context.add_init_script(script)
        page = context.new_page()
        map_page = kind(page=page, url=ORIGIN + html_path.name, tiles=tiles,
                        _body=html_path.read_bytes())
        opened.append(map_page)
        context.route("**/*", map_page._on_route)
        page.on("console", map_page._on_console)
        page.on("pageerror", map_page._on_page_error)
        if isinstance(map_page, GuardedPage):
            guarded = map_page

            def on_dialog(dialog) -> None:
                guarded.dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.dismiss()

            page.on("dialog", on_dialog)
        page.goto(map_page.url, wait_until="load")
        map_page.settle()
        return map_page

    return _open


@pytest.fixture
def open_map(chromium_browser: Browser) -> Iterator[Callable[..., MapPage]]:
    """Return ``open_map(html_path, tiles="blank") -> MapPage``: load a page offline in a
    fresh browser context; ``tiles="blocked"`` aborts the tile requests too."""
    opened: list[MapPage] = []
    yield _opener(chromium_browser, MapPage, None, opened)
    for map_page in opened:
        map_page.page.context.close()


# Installed before any script of the page runs: assigning ``window.__pwned`` (what every
# hostile test string tries) is recorded instead of taking effect, so a test can tell that
# injected code ran even when it ran inside a popup that has since closed.
SCRIPT_TRAP = """(() => {
  const runs = [];
  Object.defineProperty(window, "__spScriptRuns", {value: runs});
  Object.defineProperty(window, "__pwned", {
    get() { return undefined; },
    set(value) { runs.push(String(value)); },
  });
})();"""


@dataclass
class GuardedPage(MapPage):
    """A `MapPage` opened with `SCRIPT_TRAP` installed; `dialogs` holds every alert, confirm
    or prompt the page opened (each was dismissed)."""

    dialogs: list[str] = field(default_factory=list)

    def script_runs(self) -> list[str]:
        """The values injected code assigned to ``window.__pwned``, in order."""
        return self.page.evaluate("window.__spScriptRuns.slice()")


@pytest.fixture
def open_guarded_map(chromium_browser: Browser) -> Iterator[Callable[..., GuardedPage]]:
    """Like `open_map`, but return a `GuardedPage`: script trap and dialog handler are in
    place before the page loads. Works for any local HTML file (maps, reports)."""
    opened: list[MapPage] = []
    yield _opener(chromium_browser, GuardedPage, SCRIPT_TRAP, opened)
    for map_page in opened:
        map_page.page.context.close()
