"""A static PNG of the coverage map for reports and slides (matplotlib, no tiles).

The same layers and colours as the interactive map, drawn in the network's projected CRS
(so a metre is a metre in both directions) on a plain background: service areas, streets
by distance band, gaps with widths by run length, stations, numbered proposals, rejected
inputs and the planning-area outline, with a legend, a scale bar and the figures.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import shapely
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import fontManager
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ._errors import InputError
from ._i18n import length_text, percent_text, run_lang, section
from ._i18n import text as text_of
from ._options import PNG_STROKED_ABOVE_PIECES
from ._render import mapdata as md
from ._render import mapstyle as ms
from .coverage import Coverage

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

log = logging.getLogger(__name__)

# Fonts that hold Chinese characters, most common first; without one the PNG is in English.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK JP",
             "Noto Sans CJK TC", "Noto Serif CJK SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
             "Hiragino Sans GB", "Heiti SC", "AR PL UMing CN", "Droid Sans Fallback")
_WARNING_COLOUR = "#b30000"  # the HTML map's and the report's warning red
_PX_TO_PT = 0.45  # line widths of the HTML map (pixels) to points at report size
_GAP_ZORDER = 3  # the gap runs' lines: the lines under them are known before the gaps


def coverage_png(
    coverage: Coverage,
    gaps: gpd.GeoDataFrame | md.GapLines,
    *,
    summary: dict[str, Any] | None = None,
    proposals: gpd.GeoDataFrame | None = None,
    area: Any = None,
    lang: str | None = None,
    width_in: float = 10.0,
    dpi: int = 150,
    merged_above: int = PNG_STROKED_ABOVE_PIECES,
    bands: gpd.GeoDataFrame | md.BandLines | None = None,
    under: LinesUnder | None = None,
) -> bytes:
    """Draw the coverage map as a PNG image.

    Above ``merged_above`` street pieces the solid lines of each class (a distance band,
    a gap width, the service areas, ...) are stroked by stationplan's compiled kernel into
    one picture under the stations, the legend and the texts (a third of a second for a
    million pieces, where Agg takes seconds), each class painted once where its lines
    overlap, as Agg paints a compound path; the dotted lines of paired carriageways are
    one compound path drawn by Agg on a page of its own and laid in its place in that
    picture, and the planning area's dashed outline is drawn over it.

    Parameters
    ----------
    coverage, gaps
        Results of :func:`~stationplan.compute_coverage` and :func:`~stationplan.find_gaps`;
        with ``summary`` given, the gap runs may be their points
        (:func:`~stationplan._render.mapdata.gap_lines`), all the picture draws of them.
    summary
        Result of :func:`~stationplan.summarize`, for the title and the run's warnings
        (``warnings``, shown in red under the title); computed when ``None``.
    proposals
        Proposed sites (any CRS) with ``rank``, drawn numbered; or ``None``.
    area
        Planning area (GeoDataFrame/GeoSeries with a CRS, or a WGS-84 shapely geometry).
    lang
        "zh" or "en"; by default Chinese for Chinese names. Chinese needs a CJK font
        (e.g. Debian ``fonts-noto-cjk``); without one the text is English.
    width_in, dpi
        Image width in inches and resolution.
    merged_above
        Street pieces above which the lines are stroked into one picture (default
        :data:`~stationplan._options.PNG_STROKED_ABOVE_PIECES`).
    bands
        :func:`~stationplan._render.mapdata.distance_bands` of ``coverage`` at the
        map's band edges, or their points (:func:`~stationplan._render.mapdata.band_lines`),
        when already computed (else computed here).
    under
        The lines under the gap runs painted ahead (:func:`lines_under_gaps` of the same
        coverage and bands): used where they were painted for this page, else painted
        here.

    Returns
    -------
    bytes
        The PNG file's bytes; the same inputs give the same bytes.
    """
    fig = coverage_figure(coverage, gaps, summary=summary, proposals=proposals, area=area,
                          lang=lang, width_in=width_in, dpi=dpi, merged_above=merged_above,
                          bands=bands, under=under)
    buf = io.BytesIO()  # no "Software" stamp: the same figure gives the same bytes
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def coverage_figure(
    coverage: Coverage,
    gaps: gpd.GeoDataFrame | md.GapLines,
    *,
    summary: dict[str, Any] | None = None,
    proposals: gpd.GeoDataFrame | None = None,
    area: Any = None,
    lang: str | None = None,
    width_in: float = 10.0,
    dpi: int = 150,
    merged_above: int = PNG_STROKED_ABOVE_PIECES,
    bands: gpd.GeoDataFrame | md.BandLines | None = None,
    under: LinesUnder | None = None,
) -> Figure:
    """Build the figure :func:`coverage_png` draws (same parameters), e.g. to read its texts."""
    lang = run_lang(lang, coverage)
    font = cjk_font() if lang == "zh" else None
    if lang == "zh" and font is None:
        log.info("no Chinese font found (install fonts-noto-cjk); the PNG is in English")
        lang = "en"
    text = section("map", lang)
    if summary is None:
        from .summary import summarize

        if isinstance(gaps, md.GapLines):
            msg = "the gap runs' points (GapLines) are drawn with their summary given"
            raise TypeError(msg)
        summary = summarize(coverage, gaps)
    crs = coverage.network.crs
    outline = _area_outline(area, crs)
    boxes = [coverage.network.edges.geometry.total_bounds]
    if outline is not None:
        boxes.append(shapely.bounds(outline))
    box = np.array(boxes)
    west, south = box[:, 0].min(), box[:, 1].min()
    east, north = box[:, 2].max(), box[:, 3].max()
    span_x, span_y = max(east - west, 1.0), max(north - south, 1.0)
    height_in = float(np.clip(width_in * span_y / span_x, 0.5 * width_in, 1.4 * width_in))

    rc: dict[RcKeyType, Any] = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    title, sub = _titles(coverage, summary, proposals, text, lang)
    sub_lines = textwrap.wrap(sub, width=int(width_in * (8 if lang == "zh" else 15)))
    # the run's warnings (a suspected coordinate mix-up ...) under the title, as the HTML
    # map's panel shows them: the picture is handed around without the page
    warn_lines = [line for w in warning_texts(summary, lang)
                  for line in textwrap.wrap(w, width=int(width_in * (7 if lang == "zh" else 12)))]
    warn_in = 0.19 * len(warn_lines) + (0.06 if warn_lines else 0.0)
    top = 1 - (0.5 + warn_in + 0.17 * len(sub_lines)) / height_in
    with mpl.rc_context(rc):
        fig.text(0.01, 1 - 0.12 / height_in, title, ha="left", va="top", fontsize=14,
                 fontweight="bold")
        if warn_lines:
            fig.text(0.01, 1 - 0.42 / height_in, "\n".join(warn_lines), ha="left", va="top",
                     fontsize=9.5, fontweight="bold", color=_WARNING_COLOUR, linespacing=1.4,
                     gid="stationplan-warning")
        fig.text(0.01, 1 - (0.42 + warn_in) / height_in, "\n".join(sub_lines), ha="left",
                 va="top", fontsize=8.5, color="#333333", linespacing=1.4)
        ax = fig.add_axes((0.01, 0.01, 0.98, top - 0.01))
        ax.set_aspect("equal")
        ax.set_axis_off()
        limit = coverage.rule.limit_m
        edges = ms.band_edges(limit)

        pieces = coverage.pieces
        strokes = _Strokes(ax, under=under) if len(pieces) > merged_above else None
        lines = _line_collection if strokes is None else _compound_lines
        solid = lines if strokes is None else strokes.add
        other = pieces.geometry.to_numpy()[(pieces["status"] == "ignored").to_numpy()]
        if len(other):
            xy, part, _ = md.line_vertices(other)
            _add(ax, solid(xy, part, colors=ms.OTHER_COLOUR, linewidths=0.6, zorder=1.5))
        # the other carriageway of a road counted once: thin and dotted
        paired = pieces.geometry.to_numpy()[(pieces["status"] == "paired").to_numpy()]
        if len(paired):
            xy, part, _ = md.line_vertices(paired)
            dotted = lines(xy, part, colors=ms.OTHER_COLOUR, linewidths=0.6,
                           linestyles="dotted", zorder=1.5)
            if strokes is None:
                _add(ax, dotted)
            else:
                strokes.add_artist(dotted)
        if bands is None:
            bands = md.distance_bands(coverage, edges)
        # the points of each layer's lines read once, then drawn class by class
        xy, part, band = bands if isinstance(bands, md.BandLines) else md.band_lines(bands)
        for k, colour in enumerate(ms.BAND_COLOURS[:len(edges)]):
            at = band == k
            _add(ax, solid(xy[at], part[at], colors=colour, linewidths=1.1,
                           capstyle="round", zorder=2))
        xy, part, run_m = gaps if isinstance(gaps, md.GapLines) else md.gap_lines(gaps)
        weight = ms.gap_weights(run_m, limit)  # (of each point)
        for w in np.unique(weight):
            at = weight == w
            _add(ax, solid(xy[at], part[at], colors=ms.GAP_COLOUR,
                           linewidths=w * _PX_TO_PT, capstyle="round", zorder=_GAP_ZORDER))
        if outline is not None:
            xy, part, _ = md.line_vertices([outline])
            _add(ax, lines(xy, part, colors=ms.AREA_COLOUR, linewidths=1.2,
                           linestyles=(0, (5, 4)), zorder=4))
        _points(ax, coverage, proposals, crs)
        ax.set_xlim(west - 0.02 * span_x, east + 0.02 * span_x)
        ax.set_ylim(south - 0.06 * span_y, north + 0.02 * span_y)
        _service_areas(ax, fig, pieces, solid)
        if strokes is not None:
            fig.add_artist(strokes)
        _scale_bar(ax, span_x, west, south, span_y, lang)
        _legend(ax, text, edges, lang, with_proposals=proposals is not None and len(proposals) > 0,
                with_area=outline is not None, with_other=len(other) > 0,
                with_paired=len(paired) > 0,
                with_closed=bool((summary.get("hours") or {}).get("at")))
        if ms.is_osm_source(coverage.network.source):
            fig.text(0.99, 0.005, text["osm"], ha="right", va="bottom", fontsize=7,
                     color="#555555")
    return fig


class LinesUnder(NamedTuple):
    """The lines a PNG draws under the gap runs (service areas, streets not counted,
    distance bands), painted ahead by :func:`lines_under_gaps`: the picture (RGB from 0
    to 1, float32) and what the painting depends on (the page's size, the axes' place
    and limits, the layers' styles and sizes)."""

    page: tuple[Any, ...]
    image: np.ndarray


def lines_under_gaps(
    coverage: Coverage,
    *,
    area: Any = None,
    lang: str | None = None,
    width_in: float = 10.0,
    dpi: int = 150,
    merged_above: int = PNG_STROKED_ABOVE_PIECES,
    bands: gpd.GeoDataFrame | md.BandLines | None = None,
) -> LinesUnder | None:
    """Paint the lines of :func:`coverage_png`'s picture that lie under the gap runs
    before the gap runs are found (same parameters), for ``coverage_png(under=...)``;
    ``None`` when the lines are not stroked (up to ``merged_above`` pieces).

    The page's texts are not known yet (the summary comes with the gap runs): the page
    is laid out for texts of the coverage's figures, and the picture is used only where
    the final page comes out the same (else that PNG paints all its lines itself).
    """
    covered, gap = coverage.covered_m, coverage.gap_m
    guess = {"covered_m": covered, "gap_m": gap, "total_m": covered + gap,
             "covered_share": covered / (covered + gap) if covered + gap else 0.0,
             "warnings": coverage.stations.attrs.get("warnings") or []}
    no_gaps = md.GapLines(np.empty((0, 2)), np.empty(0, dtype=np.int64), np.empty(0))
    fig = coverage_figure(coverage, no_gaps, summary=guess, area=area, lang=lang,
                          width_in=width_in, dpi=dpi, merged_above=merged_above, bands=bands)
    strokes = next((a for a in fig.artists if isinstance(a, _Strokes)), None)
    if strokes is None or not isinstance(fig.canvas, FigureCanvasAgg):
        return None
    renderer = fig.canvas.get_renderer()  # (savefig's, at the figure's dpi)
    page = strokes.page(renderer)
    return LinesUnder(page, strokes.paint(renderer, page, below=_GAP_ZORDER))


def cjk_font(*, manager: Any = None, font_files: Iterable[str | os.PathLike[str]] | None = None,
             ) -> str | None:
    """The name of a font with Chinese characters, or None.

    Matplotlib's font cache is built once, so a font installed after it (``apt-get install
    fonts-noto-cjk``) is not in it; then the first of ``font_files`` that exists and has
    Chinese characters is added to ``manager`` (the user's cache file is left alone).

    Parameters
    ----------
    manager
        The font manager to look in and add to; default matplotlib's ``fontManager``.
    font_files
        Font files to try when no font in ``manager`` has Chinese; default the usual
        places of common CJK fonts (:data:`CJK_FONT_FILES`) and those ``fc-list`` names.

    Returns
    -------
    str or None
        A font family name for ``font.family``.
    """
    manager = fontManager if manager is None else manager
    names = {f.name for f in manager.ttflist}
    found = next((name for name in CJK_FONTS if name in names), None)
    if found is not None:
        return found
    for path in (_cjk_font_files() if font_files is None else font_files):
        name = _add_cjk_font(manager, os.fspath(path))
        if name is not None:
            return name
    return None


# Where common CJK fonts are installed (Debian/Ubuntu, Fedora, macOS, Windows).
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


def _cjk_font_files() -> list[str]:
    """The known CJK font files, then those ``fc-list`` lists for Chinese (if it exists)."""
    import shutil
    import subprocess

    files = list(CJK_FONT_FILES)
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            done = subprocess.run([fc_list, ":lang=zh", "file"], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return files
        files += sorted(line.strip().rstrip(":") for line in done.stdout.splitlines()
                        if line.strip())
    return files


def _add_cjk_font(manager: Any, path: str) -> str | None:
    """Add the font file ``path`` to ``manager`` if it exists and has Chinese characters;
    return its family name (a simplified-Chinese face when the file has several)."""
    from matplotlib import ft2font

    if not Path(path).is_file():
        return None
    try:
        if ft2font.FT2Font(path).get_char_index(ord("中")) == 0:
            return None
        before = len(manager.ttflist)
        manager.addfont(path)
    except (OSError, RuntimeError, ValueError):  # not a font FreeType can read
        return None
    bold = Path(path.replace("Regular", "Bold"))  # titles are bold (Noto CJK ships both)
    if bold.is_file() and str(bold) != path:
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            manager.addfont(str(bold))
    added = [f.name for f in manager.ttflist[before:]]
    log.debug("added the Chinese font file %s (%s)", path, ", ".join(added))
    return next((name for name in CJK_FONTS if name in added), added[0] if added else None)


def _add(ax: Any, artist: Any) -> None:
    """Add lines to the axes: a collection as a collection (the data limits follow), a
    compound path as a plain artist (its limits are set by the caller), strokes not at all
    (:meth:`_Strokes.draw` draws them)."""
    if artist is None:
        return
    if isinstance(artist, LineCollection):
        ax.add_collection(artist)
    else:
        ax.add_artist(artist)


def _line_collection(xy: np.ndarray, part: np.ndarray, *, colors: str, linewidths: float,
                     **style: Any) -> Any:
    """The lines of the points ``xy`` of the parts ``part`` (:func:`_line_coordinates`)
    as a LineCollection."""
    return LineCollection(_segments(xy, part), colors=colors, linewidths=linewidths, **style)


def _compound_lines(xy: np.ndarray, part: np.ndarray, *, colors: str, linewidths: float,
                    linestyles: Any = "solid", capstyle: str = "butt",
                    joinstyle: str = "round", zorder: float = 2) -> Any:
    """The lines of the points ``xy`` of the parts ``part`` (:func:`_line_coordinates`)
    as one compound path stroked once (see :func:`coverage_png`)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    xy, start = _rows_first(xy, np.flatnonzero(np.r_[True, part[1:] != part[:-1]][:len(xy)]))
    codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
    codes[start] = MplPath.MOVETO
    return PathPatch(MplPath(xy, codes), fill=False, edgecolor=colors, linewidth=linewidths,
                     linestyle=linestyles, capstyle=capstyle, joinstyle=joinstyle,
                     zorder=zorder)


class _Strokes(Artist):
    """Lines of many pieces drawn into one picture of the page under the axes ``ax``'s
    other artists, class by class in the order of their ``zorder`` (then of their adding):
    solid lines stroked by the compiled kernels
    (:func:`~stationplan._render.kernels.stroke_cover`), other artists (dotted lines) by
    Agg on a page of their own, laid in their place among the strokes.

    A figure-level artist under the axes (which draw no background): the picture is made
    when the figure is drawn by Agg, at the axes' final place and limits and the
    renderer's size and resolution (``savefig(dpi=...)`` included); on a vector page (PDF,
    SVG) the lines are drawn as paths instead, one compound path a class.
    """

    def __init__(self, ax: Any, *, under: LinesUnder | None = None) -> None:
        super().__init__()
        self._ax = ax
        self._under = under
        self.layers: list[tuple[float, int, Any]] = []
        self.set_zorder(-1)

    def add(self, xy: np.ndarray, part: np.ndarray, *, colors: str, linewidths: float,
            zorder: float, capstyle: str = "round", joinstyle: str = "round") -> None:
        """Keep a class of lines (as :func:`_compound_lines` takes them); every stroke has
        round caps and joins."""
        self.layers.append((zorder, len(self.layers), (xy, part, colors, linewidths)))

    def add_artist(self, artist: Any) -> None:
        """Keep an artist (a dotted compound path) that Agg draws, at its ``zorder``."""
        self.layers.append((artist.get_zorder(), len(self.layers), artist))

    def draw(self, renderer: Any) -> None:
        """Draw the picture of the page on ``renderer``."""
        if not self.get_visible():
            return
        if not isinstance(renderer, RendererAgg):
            self._ax.apply_aspect()
            self._draw_paths(renderer)
            return
        page = self.page(renderer)
        under = self._under if self._under is not None and self._under.page == page else None
        if self._under is not None and under is None:
            log.debug("the lines under the gap runs were painted ahead for another page: "
                      "painted again")
        image = self.paint(renderer, page, start=under)
        height, width = image.shape[:2]
        picture = np.full((height, width, 4), 255, dtype=np.uint8)
        picture[..., :3] = np.round(image * 255)
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, np.ascontiguousarray(picture[::-1]))  # bottom row first
        gc.restore()

    def page(self, renderer: Any) -> tuple[Any, ...]:
        """What the picture on ``renderer`` depends on, the lines' points aside: the
        page's size, the axes' clip, their data-to-pixel matrix (after their aspect is
        applied) and the order, styles and sizes of the layers under the gap runs."""
        ax = self._ax
        ax.apply_aspect()
        width, height = (int(v) for v in renderer.get_canvas_width_height())
        box = ax.bbox  # Agg clips to it, rounded
        clip = np.array([round(box.x0), height - round(box.y1), round(box.x1),
                         height - round(box.y0)], dtype=np.int64)
        clip = np.clip(clip, 0, [width, height, width, height])
        layers = tuple((z, *((len(layer[0]), *layer[2:]) if isinstance(layer, tuple)
                             else (type(layer).__name__,)))
                       for z, _, layer in sorted(self.layers, key=lambda k: k[:2])
                       if z < _GAP_ZORDER)
        return (width, height, tuple(clip.tolist()), ax.transData.get_matrix().tobytes(),
                float(renderer.points_to_pixels(1.0)), layers)

    def paint(self, renderer: Any, page: tuple[Any, ...], *, start: LinesUnder | None = None,
              below: float = np.inf) -> np.ndarray:
        """The picture of the layers under ``below`` (by their ``zorder``) on the page
        ``page`` (:meth:`page`); from ``start`` (those under the gap runs painted) on."""
        from ._render.kernels import paint_cover, stroke_cover

        ax = self._ax
        width, height, clip = page[0], page[1], np.array(page[2], dtype=np.int64)
        image = (np.ones((height, width, 3), dtype=np.float32) if start is None  # white
                 else start.image.copy())
        cover = np.zeros((height, width), dtype=np.float32)
        px_per_pt = renderer.points_to_pixels(1.0)
        for zorder, _, layer in sorted(self.layers, key=lambda k: k[:2]):
            if zorder >= below:
                break
            if start is not None and zorder < _GAP_ZORDER:
                continue
            if not isinstance(layer, tuple):  # Agg's, on a clear page: laid over (its alpha)
                drawn = _agg_page(ax, layer, width, height)
                share = drawn[..., 3:] / np.float32(255)
                image += (drawn[..., :3] / np.float32(255) - image) * share
                continue
            xy, part, colour, width_pt = layer
            if len(xy) == 0:
                continue
            on_page = ax.transData.transform(xy)
            # line by line in the order of their places on the page: fewer trips to memory
            on_page, at = _rows_first(on_page,
                                      np.flatnonzero(np.r_[True, part[1:] != part[:-1]]))
            at = np.r_[at, len(on_page)]
            stroke_cover(cover, on_page[:, 0], height - on_page[:, 1], at,
                         width_pt * px_per_pt / 2, clip)
            paint_cover(image, cover, *mpl.colors.to_rgb(colour))
        return image

    def _draw_paths(self, renderer: Any) -> None:
        """Draw the layers on a vector page as paths in the axes (clipped to them)."""
        ax = self._ax
        for zorder, _, layer in sorted(self.layers, key=lambda k: k[:2]):
            if isinstance(layer, tuple):
                xy, part, colour, width_pt = layer
                if len(xy) == 0:
                    continue
                layer = _compound_lines(xy, part, colors=colour, linewidths=width_pt,
                                        capstyle="round", zorder=zorder)
            layer.set_figure(self.figure)
            layer.set_transform(ax.transData)
            layer.set_clip_path(ax.patch)
            layer.draw(renderer)


def _agg_page(ax: Any, artist: Any, width: int, height: int) -> np.ndarray:
    """``artist`` drawn by Agg alone on a clear page ``width`` × ``height`` pixels at the
    resolution of ``ax``'s figure, in axes at ``ax``'s place (its aspect applied) with its
    limits: the page's RGBA (alpha not premultiplied)."""
    dpi = ax.figure.dpi
    page = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="none")
    canvas = FigureCanvasAgg(page)
    under = page.add_axes(ax.get_position())
    under.set_axis_off()
    under.set_xlim(ax.get_xlim())
    under.set_ylim(ax.get_ylim())
    under.add_artist(artist)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def _rows_first(xy: np.ndarray, start: np.ndarray, *, cells: int = 256
                ) -> tuple[np.ndarray, np.ndarray]:
    """The parts of ``xy`` (starting at the indices ``start``) in the order of their
    first points' cells on a ``cells`` × ``cells`` grid: row by row, west to east in a row.

    Agg adds up the cells of a page each part of a compound path covers, and sorts them
    row by row, so the pixels do not depend on the order of the parts; parts close on the
    page are sorted in less time (a million gap runs in the order of their lengths drew
    in 1.05 s, in this order in 0.85 s). ``cells`` is at most 256 (a 16-bit key).

    >>> xy = np.array([[5.0, 0], [6, 0], [0, 9], [1, 9], [2, 9], [0, 0], [1, 1]])
    >>> xy, start = _rows_first(xy, np.array([0, 2, 5]))
    >>> xy[:, 0].tolist(), start.tolist()
    ([0.0, 1.0, 5.0, 6.0, 0.0, 1.0, 2.0], [0, 2, 4])
    """
    if len(start) < 2:
        return xy, start
    cell = np.zeros(len(start), dtype=np.uint16)
    for axis, scale in ((1, cells), (0, 1)):  # row by row, then west to east
        v = xy[start, axis]
        lo = v.min()
        span = v.max() - lo
        if np.isfinite(span) and span > 0:  # else (NaN or infinite points) in any order
            at = np.minimum(np.floor((v - lo) * (cells / span)), cells - 1)
            cell += (at * scale).astype(np.uint16)
    order = np.argsort(cell, kind="stable")  # a radix sort for 16-bit keys
    n = np.diff(np.r_[start, len(xy)])[order]
    new_start = np.cumsum(n) - n
    at = np.repeat(start[order] - new_start, n) + np.arange(len(xy))
    return np.take(xy, at, axis=0), new_start


def _segments(xy: np.ndarray, part: np.ndarray) -> list[np.ndarray]:
    """The points ``xy`` of each part ``part`` (:func:`_line_coordinates`), for a
    LineCollection."""
    if len(xy) == 0:
        return []
    return np.split(xy, np.flatnonzero(np.diff(part)) + 1)


def _service_areas(ax: Any, fig: Any, pieces: gpd.GeoDataFrame, lines: Any) -> None:
    """Service areas as covered streets drawn 2 × SERVICE_BUFFER_M wide in a pale colour,
    by ``lines`` (:func:`_line_collection`, or :meth:`_Strokes.add`).

    The same shape as the HTML map's buffered polygons, without the polygon work: opaque
    lines of one colour merge where they overlap.
    """
    covered = pieces.geometry.to_numpy()[(pieces["status"] == "covered").to_numpy()]
    if len(covered) == 0:
        return
    box = ax.get_position()
    width_pt = box.width * fig.get_figwidth() * 72
    height_pt = box.height * fig.get_figheight() * 72
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    pt_per_m = min(width_pt / (x1 - x0), height_pt / (y1 - y0))
    # to_hex takes any RGB sequence; the stubs list tuples only
    pale = mpl.colors.to_hex(0.18 * np.array(mpl.colors.to_rgb(ms.SERVICE_COLOUR))  # type: ignore[arg-type]
                             + 0.82)
    xy, part, _ = md.line_vertices(covered)
    _add(ax, lines(xy, part, colors=pale, linewidths=2 * md.SERVICE_BUFFER_M * pt_per_m,
                   capstyle="round", joinstyle="round", zorder=1))


def _area_outline(area: Any, crs: Any) -> Any:
    outline = md.area_outline(area)
    if outline is None:
        return None
    return outline.to_crs(crs).iloc[0]


def _xy(frame: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    if frame.empty:
        return np.empty((0, 2))
    if frame.crs is None:
        msg = "points without a CRS cannot be drawn; set their CRS first"
        raise InputError(msg)
    return shapely.get_coordinates(frame.to_crs(crs).geometry.to_numpy())


def _points(ax: Any, coverage: Coverage, proposals: gpd.GeoDataFrame | None, crs: Any) -> None:
    st = coverage.stations
    has_point = st.geometry.notna() & ~st.geometry.is_empty
    bad = _xy(st[(st["status"] != "ok") & has_point], crs)
    if len(bad):
        ax.scatter(bad[:, 0], bad[:, 1], s=40, marker="X", c=ms.REJECTED_COLOUR,
                   edgecolors="white", linewidths=0.6, zorder=5)
    usable = md.existing_stations(st)
    if "open_at" in usable.columns:  # --at: stations not open then are hollow rings
        open_now = usable["open_at"].isin(["open", "assumed_open"]).to_numpy()
        shut = _xy(usable[~open_now], crs)
        usable = usable[open_now]
        if len(shut):
            ax.scatter(shut[:, 0], shut[:, 1], s=46, facecolors="white",
                       edgecolors=ms.STATION_COLOUR, linewidths=1.2, zorder=6)
    ok = _xy(usable, crs)
    if len(ok):
        ax.scatter(ok[:, 0], ok[:, 1], s=46, c=ms.STATION_COLOUR, edgecolors="white",
                   linewidths=0.9, zorder=6)
    if proposals is not None and len(proposals):
        frame = proposals.sort_values("rank", kind="stable") if "rank" in proposals else proposals
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        xy = _xy(frame, crs)
        # larger than a station, square, with a dark edge: never mistaken for one
        ax.scatter(xy[:, 0], xy[:, 1], s=150, marker="s", c=ms.PROPOSAL_COLOUR,
                   edgecolors="#222222", linewidths=1.0, zorder=7)
        ranks = frame["rank"].tolist() if "rank" in frame else range(1, len(frame) + 1)
        for (x, y), rank in zip(xy, ranks, strict=True):
            ax.text(x, y, str(int(rank)), ha="center", va="center", fontsize=6.5,
                    color="white", fontweight="bold", zorder=8)


def _scale_bar(ax: Any, span_x: float, west: float, south: float, span_y: float,
               lang: str) -> None:
    target = span_x / 5
    nice = max(v for v in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
               if v <= max(target, 10))
    x0, y0 = west + 0.01 * span_x, south - 0.045 * span_y
    ax.plot([x0, x0 + nice], [y0, y0], color="#222222", linewidth=2.5, solid_capstyle="butt",
            zorder=9)
    label = (f"{nice / 1000:g} {text_of('unit.km', lang)}" if nice >= 1000
             else f"{nice} {text_of('unit.m', lang)}")
    ax.text(x0 + nice / 2, y0 + 0.008 * span_y, label, ha="center", va="bottom", fontsize=8,
            zorder=9)


def _legend(ax: Any, text: Mapping[str, str], edges: list[float], lang: str, *,
            with_proposals: bool,
            with_area: bool, with_other: bool, with_paired: bool = False,
            with_closed: bool = False) -> None:
    handles: list[Any] = []
    for k, colour in enumerate(ms.BAND_COLOURS[:len(edges)]):
        lo = 0.0 if k == 0 else edges[k - 1]
        handles.append(Line2D([], [], color=colour, linewidth=2,
                              label=f"{lo:.0f}–{edges[k]:.0f} {text_of('unit.m', lang)}"))
    handles.append(Line2D([], [], color=ms.GAP_COLOUR, linewidth=ms.GAP_WEIGHTS[1][1] * _PX_TO_PT,
                          label=text["gap_title"]))
    if with_other:
        handles.append(Line2D([], [], color=ms.OTHER_COLOUR, linewidth=1,
                              label=text["other_legend"]))
    if with_paired:
        handles.append(Line2D([], [], color=ms.OTHER_COLOUR, linewidth=1, linestyle="dotted",
                              label=text["paired_legend"]))
    handles.append(Patch(facecolor=ms.SERVICE_COLOUR, alpha=0.18, label=text["service_legend"]))
    handles.append(Line2D([], [], marker="o", linestyle="none", markersize=7,
                          markerfacecolor=ms.STATION_COLOUR, markeredgecolor="white",
                          label=text["station_legend"]))
    if with_closed:  # --at: the stations not open then
        handles.append(Line2D([], [], marker="o", linestyle="none", markersize=7,
                              markerfacecolor="white", markeredgecolor=ms.STATION_COLOUR,
                              label=text["closed_legend"]))
    if with_proposals:
        handles.append(Line2D([], [], marker="s", linestyle="none", markersize=8,
                              markerfacecolor=ms.PROPOSAL_COLOUR, markeredgecolor="#222222",
                              label=text["proposal_legend"]))
    handles.append(Line2D([], [], marker="X", linestyle="none", markersize=6,
                          markerfacecolor=ms.REJECTED_COLOUR, markeredgecolor="white",
                          label=text["rejected_legend"]))
    if with_area:
        handles.append(Line2D([], [], color=ms.AREA_COLOUR, linestyle=(0, (5, 4)),
                              label=text["area_legend"]))
    legend = ax.legend(handles=handles, loc="upper right", fontsize=7.5, framealpha=0.92,
                       title=text["band_title"], title_fontsize=8)
    legend.set_zorder(20)


def warning_texts(summary: Mapping[str, Any], lang: str) -> list[str]:
    """The run's warnings (``summary["warnings"]``) as the PNG writes them, in ``lang``.

    >>> warning_texts({"warnings": [{"code": "crs_offset", "en": "off", "zh": "偏"}]}, "zh")
    ['警告：偏']
    >>> warning_texts({}, "en")
    []
    """
    label = text_of("warning.title", lang) + text_of("sep.label", lang)
    return [label + (w.get(lang) or w.get("en", "")) for w in summary.get("warnings") or []]


def _titles(coverage: Coverage, summary: dict[str, Any], proposals: gpd.GeoDataFrame | None,
            text: Mapping[str, str], lang: str) -> tuple[str, str]:
    share = float(summary.get("covered_share", 0.0))
    covered = float(summary.get("covered_m", 0.0)) / 1000
    total = float(summary.get("total_m", 0.0)) / 1000
    gap = float(summary.get("gap_m", 0.0)) / 1000
    existing = len(md.existing_stations(coverage.stations))
    new = len(proposals) if proposals is not None else 0
    mode = ms.mode_words(coverage.network.mode.name, lang)
    limit = length_text(coverage.rule.limit_m, lang)
    at = (summary.get("hours") or {}).get("at")
    sites = (f"{existing} {text['existing_n']}" if not at else text_of(  # --at: those open
        "map.existing_open", lang, n=existing,
        open=int(at.get("stations_open", 0)) + int(at.get("stations_assumed_open", 0))))
    sites += f" + {new} {text['proposals_n']}" if new else ""
    if lang == "zh":
        title = f"{text['title']}：{text['coverage']} {percent_text(share)}（{sites}）"
        sub = (f"{text['covered']} {covered:.1f} 公里，{text['of']} {total:.1f} 公里；"
               f"{text['gap']} {gap:.1f} 公里；"
               f"{text['rule']}：{mode}{text['distance']} {limit} 以内")
    else:
        title = f"{text['title']}: {percent_text(share)} {text['covered']} ({sites})"
        sub = (f"{covered:.1f} of {total:.1f} km {text['covered']}, {gap:.1f} km {text['gap']}; "
               f"{text['rule']}: within {limit} {text['distance']} {mode}")
    if at:  # --at: the figures are those of the stations open then (as the HTML panel)
        sub = ms.at_time_text(at, lang) + ("；" if lang == "zh" else "; ") + sub
    return title, sub
