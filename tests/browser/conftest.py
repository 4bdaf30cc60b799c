"""Open generated folium maps in a real headless Chromium, with no internet.

The page is served from a local ``http.server`` on 127.0.0.1. Every request the page makes is
intercepted: CDN files that folium references are answered from the pinned npm copies in
``_assets/node_modules`` (see ``CDN_MAP``), map tiles get a blank PNG, and anything else is
aborted and recorded. A CDN file that has no local copy fails the test and names the URL, so
a new folium plugin cannot break the maps unnoticed.

``bash tests/browser/setup.sh`` installs Debian's chromium and the npm copies. When either is
missing the tests skip, or fail under ``STATIONPLAN_STRICT=1`` (CI).
"""

from __future__ import annotations

import functools
import http.server
import json
import mimetypes
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Route

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "_assets"
NODE_MODULES = ASSETS / "node_modules"
STATIC = ASSETS / "static"

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

# CDN URL -> local copy. A key ending in "/" maps a folder (so files that CSS references
# relatively, such as fonts and marker images, resolve too); any other key maps one file.
# The versions in the URLs are the ones folium 0.20 writes (Map.default_js / default_css and
# plugins/*.py); _assets/package.json pins the same versions.
_AWESOME = "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
_AWESOME_LOCAL = NODE_MODULES / "drmonty-leaflet-awesome-markers"
_GLYPHICONS = NODE_MODULES / "@neos21/bootstrap3-glyphicons/dist"
CDN_MAP: dict[str, Path] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/": NODE_MODULES / "leaflet",
    "https://code.jquery.com/jquery-3.7.1.min.js": NODE_MODULES / "jquery/dist/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/": NODE_MODULES / "bootstrap",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/": (
        NODE_MODULES / "@fortawesome/fontawesome-free"
    ),
    # cdnjs lays the awesome-markers files flat; the npm package keeps them in js/ and css/.
    _AWESOME + "leaflet.awesome-markers.js": _AWESOME_LOCAL / "js/leaflet.awesome-markers.js",
    _AWESOME + "leaflet.awesome-markers.min.js": (
        _AWESOME_LOCAL / "js/leaflet.awesome-markers.min.js"
    ),
    _AWESOME + "leaflet.awesome-markers.css": _AWESOME_LOCAL / "css/leaflet.awesome-markers.css",
    _AWESOME + "images/": _AWESOME_LOCAL / "css/images",
    # Bootstrap 3.0.0 is not on npm; this is the glyphicons-only CSS of Bootstrap 3.3.7, whose
    # class names are a superset of 3.0.0's. Its fonts are at ../fonts/ as on the CDN.
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
        _GLYPHICONS / "css/bootstrap3-glyphicons.min.css"
    ),
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/": _GLYPHICONS / "fonts",
    # Served from folium's GitHub tree, not from npm: a committed stand-in of a few lines.
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": STATIC / "leaflet.awesome.rotate.min.css",
    # folium.plugins.MarkerCluster
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/": (
        NODE_MODULES / "leaflet.markercluster/dist"
    ),
    # folium.plugins.Search
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/": NODE_MODULES / "leaflet-search",
}
# Longest key first, so a file entry wins over the folder that contains it.
_CDN_KEYS = sorted(CDN_MAP, key=len, reverse=True)

# A request to one of these hosts, or for a script, stylesheet or font from anywhere, is an
# asset the map needs: without a local copy the test fails rather than rendering half a map.
CDN_HOSTS = frozenset(
    {
        "ajax.googleapis.com",
        "cdn.jsdelivr.net",
        "cdn.rawgit.com",
        "cdnjs.cloudflare.com",
        "code.jquery.com",
        "fastly.jsdelivr.net",
        "fonts.googleapis.com",
        "fonts.gstatic.com",
        "maxcdn.bootstrapcdn.com",
        "netdna.bootstrapcdn.com",
        "raw.githack.com",
        "raw.githubusercontent.com",
        "rawcdn.githack.com",
        "rawgit.com",
        "stackpath.bootstrapcdn.com",
        "unpkg.com",
    }
)
ASSET_TYPES = frozenset({"script", "stylesheet", "font"})
# Hostname suffixes of tile servers; their requests get a blank PNG.
TILE_HOSTS = (
    "tile.openstreetmap.org",
    "tile.openstreetmap.fr",
    "basemaps.cartocdn.com",
    "tianditu.gov.cn",
    "autonavi.com",
    "amap.com",
    "tile.opentopomap.org",
    "server.arcgisonline.com",
    "tiles.stadiamaps.com",
)
# Python 3.10's mimetypes table lacks some font types.
_CONTENT_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}

STRICT = os.environ.get("STATIONPLAN_STRICT") == "1"


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


def cdn_file(url: str) -> Path | None:
    """Return the local path that `CDN_MAP` gives for `url`, or None when it has no entry.

    The path may not exist (npm copies not installed, or a file the package lacks).

    >>> cdn_file("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js?v=2").name
    'leaflet.js'
    >>> cdn_file("https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js") is None
    True
    >>> cdn_file("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/../../../etc/passwd") is None
    True
    """
    base = url.split("#", 1)[0].split("?", 1)[0]
    for key in _CDN_KEYS:
        local = CDN_MAP[key]
        if not key.endswith("/"):
            if base == key:
                return local
            continue
        if base.startswith(key):
            path = (local / base[len(key) :]).resolve()
            return path if path.is_relative_to(local.resolve()) else None
    return None


def _is_tile_host(host: str) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in TILE_HOSTS)


@functools.cache
def _file_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _content_type(path: Path) -> str:
    known = _CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return known or "application/octet-stream"


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it in strict mode (CI must run the browser tests)."""
    if STRICT:
        pytest.fail(f"{reason} (STATIONPLAN_STRICT=1, so this is an error)", pytrace=False)
    pytest.skip(reason)


def _missing_assets() -> str | None:
    """Say what is missing or stale in the npm copies, or return None when all is in place."""
    hint = "run `bash tests/browser/setup.sh`"
    pins = json.loads((ASSETS / "package.json").read_text(encoding="utf-8"))["dependencies"]
    problems = []
    for name, version in sorted(pins.items()):
        manifest = NODE_MODULES / name / "package.json"
        if not manifest.is_file():
            problems.append(f"{name} is not installed")
            continue
        installed = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        if installed != version:
            problems.append(f"{name} is {installed}, package.json pins {version}")
    if len(problems) == len(pins) and not NODE_MODULES.is_dir():
        problems = [f"{NODE_MODULES.name} does not exist"]
    if problems:
        return f"npm assets in {ASSETS} are missing or stale ({'; '.join(problems)}); {hint}"
    return None


@dataclass
class MapPage:
    """One opened map page and what happened on the way.

    `console_errors` holds console messages of type error and uncaught page exceptions;
    `unmatched_requests` the URLs that were neither local, mapped CDN files, nor tiles (they
    were aborted); `tile_requests` the tile URLs answered with a blank PNG.
    """

    page: Page
    url: str
    console_errors: list[str] = field(default_factory=list)
    unmatched_requests: list[str] = field(default_factory=list)
    tile_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    _unmapped_assets: list[str] = field(default_factory=list)

    def marker_count(self) -> int:
        """Count the marker icons on the map: pins, awesome markers, div icons, cluster bubbles.

        Not ``.leaflet-marker-icon``: folium.Icon markers (Leaflet.awesome-markers) lack it.
        """
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

    def check_assets(self) -> None:
        """Fail the test, naming the URLs, if the page asked for a CDN file with no local copy."""
        if not self._unmapped_assets:
            return
        urls, self._unmapped_assets[:] = list(self._unmapped_assets), []
        lines = "\n".join(f"  {url}" for url in urls)
        pytest.fail(
            f"{self.url} requested {len(urls)} CDN asset(s) with no local copy:\n{lines}\n"
            "Pin the package in tests/browser/_assets/package.json (same version as the URL) "
            "and map the URL in CDN_MAP in tests/browser/conftest.py.",
            pytrace=False,
        )

    def _on_route(self, route: Route) -> None:
        request = route.request
        url = request.url
        self.requests.append(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme in {"data", "blob"} or host == "127.0.0.1":
            route.continue_()
            return
        if _is_tile_host(host):
            self.tile_requests.append(url)
            route.fulfill(
                status=200,
                body=BLANK_TILE,
                content_type="image/png",
                headers={"Access-Control-Allow-Origin": "*"},
            )
            return
        local = cdn_file(url)
        if local is not None and local.is_file():
            # Fonts are cross-origin requests: without this header Chromium drops them.
            route.fulfill(
                status=200,
                body=_file_bytes(local),
                content_type=_content_type(local),
                headers={"Access-Control-Allow-Origin": "*"},
            )
            return
        self.unmatched_requests.append(url)
        if local is not None:
            self._unmapped_assets.append(f"{url} (CDN_MAP points at {local}, which is missing)")
        elif host in CDN_HOSTS or request.resource_type in ASSET_TYPES:
            self._unmapped_assets.append(url)
        route.abort("blockedbyclient")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.console_errors.append(f"{message.text} [{where}]" if where else message.text)

    def _on_page_error(self, error: Exception) -> None:
        self.console_errors.append(f"pageerror: {error}")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _LocalServer:
    """Serve one folder on 127.0.0.1 at a free port, from a background thread."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test in this folder needs the browser setup, so `-m "not browser"` leaves them out
    # even when a new test file forgets its `pytestmark`.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_assets() -> Path:
    """Check that the pinned npm copies of the CDN files are installed; return node_modules."""
    problem = _missing_assets()
    if problem:
        _unavailable(problem)
    return NODE_MODULES


@pytest.fixture(scope="session")
def local_cdn_copy(browser_assets: Path) -> Callable[[str], Path | None]:
    """The function that maps a CDN URL to its local copy (`cdn_file`)."""
    return cdn_file


@pytest.fixture(scope="session")
def chromium_browser(browser_assets: Path) -> Iterator[Browser]:
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


@pytest.fixture
def open_map(chromium_browser: Browser) -> Iterator[Callable[[Path | str], MapPage]]:
    """Return ``open_map(html_path) -> MapPage``: load a map file in a fresh browser context.

    Fails at once, naming the URLs, when the page asks for a CDN file with no local copy.
    """
    servers: dict[Path, _LocalServer] = {}
    opened: list[MapPage] = []

    def _open(html_path: Path | str) -> MapPage:
        html_path = Path(html_path).resolve()
        if not html_path.is_file():
            raise FileNotFoundError(f"open_map: {html_path} does not exist")
        folder = html_path.parent
        if folder not in servers:
            servers[folder] = _LocalServer(folder)
        url = servers[folder].base_url + html_path.name
        context = chromium_browser.new_context(viewport=VIEWPORT, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        map_page = MapPage(page=page, url=url)
        opened.append(map_page)
        context.route("**/*", map_page._on_route)
        page.on("console", map_page._on_console)
        page.on("pageerror", map_page._on_page_error)
        page.goto(url, wait_until="load")
        map_page.settle()
        map_page.check_assets()
        return map_page

    yield _open
    try:
        # Assets asked for after loading (a font on hover, a plugin on click) count too.
        for map_page in opened:
            map_page.check_assets()
    finally:
        for map_page in opened:
            map_page.page.context.close()
        for server in servers.values():
            server.stop()


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
def open_guarded_map(chromium_browser: Browser) -> Iterator[Callable[[Path | str], GuardedPage]]:
    """Like `open_map`, but return a `GuardedPage`: script trap and dialog handler are in
    place before the page loads. Works for any local HTML file (maps, reports)."""
    servers: dict[Path, _LocalServer] = {}
    opened: list[GuardedPage] = []

    def _open(html_path: Path | str) -> GuardedPage:
        html_path = Path(html_path).resolve()
        if not html_path.is_file():
            raise FileNotFoundError(f"open_guarded_map: {html_path} does not exist")
        folder = html_path.parent
        if folder not in servers:
            servers[folder] = _LocalServer(folder)
        url = servers[folder].base_url + html_path.name
        context = chromium_browser.new_context(viewport=VIEWPORT, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(SCRIPT_TRAP)
        page = context.new_page()
        guarded = GuardedPage(page=page, url=url)
        opened.append(guarded)

        def on_dialog(dialog) -> None:
            guarded.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        context.route("**/*", guarded._on_route)
        page.on("console", guarded._on_console)
        page.on("pageerror", guarded._on_page_error)
        page.on("dialog", on_dialog)
        page.goto(url, wait_until="load")
        guarded.settle()
        guarded.check_assets()
        return guarded

    yield _open
    try:
        for guarded in opened:
            guarded.check_assets()
    finally:
        for guarded in opened:
            guarded.page.context.close()
        for server in servers.values():
            server.stop()
