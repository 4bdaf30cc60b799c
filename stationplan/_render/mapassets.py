"""Everything a map page needs besides its data, inlined: the page asks no server but tiles.

folium links its pages to five CDN hosts (Leaflet, jQuery, Bootstrap, Font Awesome,
Leaflet.awesome-markers, glyphicons, its own CSS); behind an intranet or where a CDN is
blocked the page stays white. :func:`inline_assets` drops those links and writes instead,
into the page itself:

- Leaflet and Leaflet.markercluster from the XStatic packages (``xstatic-leaflet``,
  ``xstatic-leaflet-markercluster``), Leaflet's images as ``data:`` URLs;
- the few icons the maps use, from Font Awesome's SVG files (``xstatic-font-awesome``), as
  CSS masks (``<i class="sp-i sp-i-NAME">``): no web font, no request.

jQuery, Bootstrap, awesome-markers and glyphicons are not needed: the maps draw their
markers with ``L.divIcon`` and CSS and bring their own search box.
"""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

# folium's link names (folium.Map, folium.plugins.MarkerCluster) -> the inlined
# replacement, or None where the maps do without. A link not named here is an error: a
# new folium element would otherwise bring a CDN back unnoticed.
_LINKS: dict[str, str | None] = {
    "leaflet": "leaflet", "leaflet_css": "leaflet",
    "jquery": None, "bootstrap": None, "bootstrap_css": None, "glyphicons_css": None,
    "awesome_markers": None, "awesome_markers_css": None, "awesome_markers_font_css": None,
    "awesome_rotate_css": None,
    "markerclusterjs": "markercluster", "markerclustercss": "markercluster",
    "markerclusterdefaultcss": None,  # the maps style their cluster bubbles themselves
}
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)
_CSS_IMAGE = re.compile(r"url\((images/[\w.-]+\.png)\)")
_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')
_SVG_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


class RawHTML(Element):
    """Text written into the page as it is (not read as a template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "StationplanAsset"
        self.text = text


class RawMacroElement(MacroElement):
    """A ``MacroElement`` whose rendered ``header``, ``html`` and ``script`` macros go into
    the page as they are.

    branca wraps each rendered macro in a new ``Element``, which reads the text as a Jinja
    template again: text from input files inside it (a station named "{{ 7*7 }}" became
    "49", and a template can run code) would be evaluated. Every element of these maps
    that carries such text derives from this class.
    """

    def render(self, **kwargs: Any) -> str:
        """Add the rendered macros to the page (nothing to return, as branca's own)."""
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:  # one closing newline dropped, as a template drops it
                text = str(macro(self, kwargs)).removesuffix("\n")
                getattr(figure, part).add_child(RawHTML(text), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)
        return ""


def layer_name(label: str) -> str:
    """A layer's name for the layer control, which shows it as HTML inside a script that
    branca reads as a template again: HTML and template braces escaped.

    >>> layer_name("<b>Gaps</b> {{ 7*7 }} & more")
    '&lt;b&gt;Gaps&lt;/b&gt; &#123;&#123; 7*7 &#125;&#125; &amp; more'
    """
    return html.escape(label, quote=False).replace("{", "&#123;").replace("}", "&#125;")


def _package_dir(module: str) -> Path:
    """The data folder of an XStatic package, with an install hint when it is missing."""
    import importlib

    try:
        package = importlib.import_module(f"xstatic.pkg.{module}")
    except ImportError as error:
        dist = "xstatic-" + module.replace("_", "-")
        msg = f"the maps need the {dist} package; pip install {dist}"
        raise ImportError(msg) from error
    return Path(package.BASE_DIR)


@functools.cache
def _read(module: str, name: str) -> str:
    return (_package_dir(module) / name).read_text(encoding="utf-8")


def _script(code: str) -> str:
    """``<script>`` holding ``code``; the closing tag on its own line (as folium writes it)."""
    code = _SOURCE_MAP.sub("", code).rstrip()
    if re.search(r"</script|<!--", code, re.IGNORECASE):  # pragma: no cover - not in 1.9.3
        msg = "an inlined script holds </script or <!--; it cannot be written into the page"
        raise ValueError(msg)
    return f"<script>\n{code}\n</script>"


def _style(css: str) -> str:
    """``<style>`` holding ``css`` without its comments (notes for the library's authors)."""
    return f"<style>\n{_CSS_COMMENT.sub('', css).strip()}\n</style>"


def _data_url(module: str, name: str) -> str:
    data = (_package_dir(module) / name).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@functools.cache
def leaflet_html() -> str:
    """Leaflet's style sheet (its images as ``data:`` URLs) and script, as page elements."""
    css = _CSS_IMAGE.sub(lambda m: f'url("{_data_url("leaflet", m.group(1))}")',
                         _read("leaflet", "leaflet.css"))
    return f"{_style(css)}\n{_script(_read('leaflet', 'leaflet.js'))}"


@functools.cache
def markercluster_html() -> str:
    """Leaflet.markercluster's style sheet (the animations; no default bubbles) and script."""
    css = _read("leaflet_markercluster", "MarkerCluster.css")
    js = _read("leaflet_markercluster", "leaflet.markercluster.js")
    return f"{_style(css)}\n{_script(js)}"


@functools.cache
def _icon_rule(name: str) -> str:
    svg = _read("font_awesome", f"svgs/solid/{name}.svg")
    size = _VIEWBOX.search(svg)
    if size is None:  # pragma: no cover - every Font Awesome 6 file has one
        msg = f"Font Awesome icon {name!r} has no viewBox"
        raise ValueError(msg)
    width = int(size.group(1)) / int(size.group(2))
    url = "data:image/svg+xml," + quote(_SVG_COMMENT.sub("", svg).strip(), safe=" /=:,.-")
    return f".sp-i-{name}{{width:{width:.3f}em;--sp-i:url(\"{url}\")}}"


def icon_css(names: Iterable[str]) -> str:
    """CSS that draws ``<i class="sp-i sp-i-NAME">`` as the Font Awesome icon NAME.

    The icon is a mask over the text colour, one em high and as wide as its drawing.

    >>> css = icon_css(["ban"])
    >>> css.splitlines()[1].startswith(".sp-i{")
    True
    >>> '.sp-i-ban{width:1.000em;--sp-i:url("data:image/svg+xml,%3Csvg' in css
    True
    """
    rules = [
        "/* Icons: Font Awesome Free 6 by Fonticons, Inc., CC BY 4.0 */",
        ".sp-i{display:inline-block;height:1em;vertical-align:-.125em;"
        "background-color:currentColor;-webkit-mask:var(--sp-i) center/contain no-repeat;"
        "mask:var(--sp-i) center/contain no-repeat}",
    ]
    rules += [_icon_rule(name) for name in sorted(set(names))]
    return "\n".join(rules)


def _elements(root: Any) -> Iterable[Any]:
    stack = [root]
    while stack:
        element = stack.pop()
        yield element
        stack.extend(element._children.values())


def inline_assets(root: Figure) -> None:
    """Replace folium's CDN links in the page of ``root`` by inlined copies.

    Every folium element in the tree that would link a script or style sheet loses its
    links; what the maps need of them is written once at the top of the page's head.
    Calling it again (after adding elements) is harmless.

    Raises
    ------
    RuntimeError
        When an element links a file this module does not know: it would reach a CDN.
    """
    needed: set[str] = set()
    for element in _elements(root):
        if not isinstance(element, JSCSSMixin):
            continue
        for name, url in [*element.default_js, *element.default_css]:
            if name not in _LINKS:
                msg = (f"{type(element).__name__} links {url} ({name!r}), which the maps "
                       "do not inline; add it to _render.mapassets or do without")
                raise RuntimeError(msg)
            if _LINKS[name]:
                needed.add(str(_LINKS[name]))
        # on the instance: the class lists stay as folium wrote them
        element.default_js = []
        element.default_css = []
    html = {"leaflet": leaflet_html, "markercluster": markercluster_html}
    header = root.header
    for kind in ("markercluster", "leaflet"):  # each moved to the front: leaflet first
        name = f"stationplan_{kind}"
        if kind in needed and name not in header._children:
            header.add_child(RawHTML(html[kind]()), name=name)
        if name in header._children:
            header._children.move_to_end(name, last=False)
