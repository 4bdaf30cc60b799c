"""Hostile text in every output: HTML/JS, Markdown, spreadsheet formulas, control characters.

One small street line (12 streets of 500 m, each named by a hostile string) with a station
file whose names, addresses and services carry the strings below, a proposal file (used
as the check proposals and as the plan's candidate hosts) and a district file with the
same kind of names. ``coverage``, ``plan``, ``check``, ``report`` and ``export`` run on
them in-process. Then:

* every HTML output opens in Chromium with a trap on ``window.__pwned`` and a dialog
  handler installed before the page's own scripts; every popup and tooltip of every
  Leaflet layer is opened, the station search is used, and each hostile string must be
  visible as text, with no script run, no dialog, no console error and no element the
  strings describe (``img``, ``svg``, ``script``, event-handler attributes,
  ``javascript:`` links);
* ``report.md`` is checked against CommonMark's rules (see :func:`_md_literal_cell`);
* CSV files (export, Amap sheet, check.csv) never hold a cell a spreadsheet would run;
* KML and GPX parse as XML with the strings intact as text.

What the outputs may change is documented and applied to the expectations here: the
station reader strips surrounding whitespace and splits service lists at ``; , 、 / |``
(stationplan.services); browsers drop NUL and show runs of whitespace (space, tab, LF, CR)
as one space; KML/GPX drop the C0 controls XML 1.0 cannot hold and turn CR into LF
(stationplan.export); ``report.md`` shows each text on one line, with C0/C1 controls as
spaces (stationplan._render.reportdoc.md_escape).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pytest
import shapely
from handnet import HAND_CRS, X0, Y0, hand_lonlat

from stationplan.cli import main

pytestmark = pytest.mark.browser

CONTROLS = "ctl" + "".join(map(chr, range(0x20))) + "\x7f|end"
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '" onerror="window.__pwned=1',
    "'><svg onload=window.__pwned=1>",
    "</div></script><script>window.__pwned=1</script>",
    "javascript:window.__pwned=1",
    "[click](javascript:window.__pwned=1)",
    "**bold** | table | pipe",
    '=HYPERLINK("http://x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    CONTROLS,
    "rtl \u202eevil 爱心驿站",  # an override that is never closed
    "爱心驿站·<b>东门</b> `${x}` &amp; <!--",
]
N = len(HOSTILE)
STREET_M = 500.0
N_STREETS = 12
# Street names: GraphML is XML and cannot hold the C0 controls. The unclosed override is in.
STREETS = [h for h in HOSTILE if h != CONTROLS][-N_STREETS:]
FAR = "<img src=x onerror=\"window.__pwned='far'\"> too far"  # 2 km off the street
NO_POSITION = "<svg onload=\"window.__pwned='nopos'\"> no lat"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# What would be executable or active if a hostile string reached the page as HTML.
ACTIVE = ("script, img, svg, iframe, object, embed, [onerror], [onload], "
          "a[href^='javascript:' i]")
# The same anywhere in a page (which has scripts and, in the report, images of its own).
PAGE_ACTIVE = ("img[src='x'], svg:not(.leaflet-zoom-animated):not(.leaflet-attribution-flag), "
               "iframe, object, embed, [onerror], [onload], a[href^='javascript:' i]")


# --- expectations ------------------------------------------------------------------------

def read_back(text: str) -> str:
    """What the station reader keeps of a cell: surrounding whitespace is stripped."""
    return text.strip()


def shown(text: str) -> str:
    """How a browser shows a text node: NUL dropped, runs of CSS white space (space, tab,
    LF, CR) as one space; other controls (FF included) are kept as characters. The
    invisible isolation marks the maps put around text with bidi controls (FSI … PDI,
    see maps.esc) are left out; test_bidi_override_stays_inside_the_name checks them."""
    text = text.replace("\x00", "").replace("\u2068", "").replace("\u2069", "")
    return re.sub(r"[\t\n\r ]+", " ", text).strip()


def xml_kept(text: str) -> str:
    """What KML/GPX keep: no C0 controls but tab and LF; CR becomes LF."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)


def one_line(text: str) -> str:
    """A search entry of the map: whitespace and control runs as one space."""
    return re.sub(r"[\s\x00-\x1f\x7f-\x9f]+", " ", text).strip()


def md_shown(text: str) -> str:
    """The text report.md shows: controls and whitespace runs as one space, one line."""
    return re.sub(r"[\s\x00-\x1f\x7f-\x9f]+", " ", text).strip()


# --- input files -------------------------------------------------------------------------

def street_line() -> nx.MultiDiGraph:
    """12 streets of 500 m along y=0 (hand frame), named by hostile strings."""
    g = nx.MultiDiGraph(crs=HAND_CRS)
    for i in range(N_STREETS + 1):
        g.add_node(i, x=X0 + STREET_M * i, y=Y0)
    for i in range(N_STREETS):
        for a, b in ((i, i + 1), (i + 1, i)):
            g.add_edge(a, b, osmid=100 + i, highway="residential", length=STREET_M,
                       name=STREETS[i])
    return g


def station_rows() -> list[list[str]]:
    """Stations every 150 m along the first 2.4 km; each cell a hostile string."""
    rows = [["name", "lon", "lat", "address", "services", "phone"]]
    for i, name in enumerate(HOSTILE):
        lon, lat = hand_lonlat(150 * i + 20, 10)
        # Some service lists start with the hostile item, others with a known service.
        services = HOSTILE[(i + 2) % N] if i % 3 == 0 else f"饮水;{HOSTILE[(i + 2) % N]}"
        rows.append([name, f"{lon:.9f}", f"{lat:.9f}", HOSTILE[(i + 1) % N], services,
                     HOSTILE[(i + 3) % N]])
    lon, lat = hand_lonlat(500, 2000)
    rows.append([FAR, f"{lon:.9f}", f"{lat:.9f}", HOSTILE[0], "", ""])
    rows.append([NO_POSITION, f"{lon:.9f}", "", HOSTILE[1], "", ""])
    return rows


def proposal_rows() -> list[list[str]]:
    """One proposal per hostile string in the uncovered part; every third off the street."""
    rows = [["name", "lon", "lat"]]
    for i, name in enumerate(HOSTILE):
        lon, lat = hand_lonlat(2600 + 200 * i, 2000 if i % 3 == 2 else 15)
        rows.append([name, f"{lon:.9f}", f"{lat:.9f}"])
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_districts(path: Path) -> Path:
    boxes = [shapely.box(X0 - 50, Y0 - 100, X0 + 1500, Y0 + 100),
             shapely.box(X0 + 1500, Y0 - 100, X0 + 6100, Y0 + 100)]
    names = [HOSTILE[1], HOSTILE[15]]
    gpd.GeoDataFrame({"name": names}, geometry=boxes, crs=HAND_CRS).to_crs(4326).to_file(
        path, driver="GeoJSON")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("injection")
    net = d / "streets.graphml"
    ox.save_graphml(street_line(), net)
    stations = write_csv(d / "stations.csv", station_rows())
    proposals = write_csv(d / "proposals.csv", proposal_rows())
    districts = write_districts(d / "districts.geojson")
    common = ["--quiet", "--no-time-limit", "--lang", "en"]
    out = {name: d / name for name in ("coverage", "plan", "check", "report")}
    assert main(["coverage", str(net), str(stations), "--out", str(out["coverage"]),
                 *common]) == 0
    assert main(["plan", str(net), str(stations), "--out", str(out["plan"]), "--new-sites",
                 "3", "--candidates", str(proposals), "--time-limit-s", "5", *common]) == 0
    assert main(["check", str(net), str(stations), str(proposals), "--out", str(out["check"]),
                 "--no-benchmark", *common]) == 0
    assert main(["report", str(net), str(stations), "--proposals", str(proposals),
                 "--districts", str(districts), "--out", str(out["report"]), "--no-benchmark",
                 "--quiet", "--no-time-limit", "--lang", "zh"]) == 0
    suffix = {"amap": "xlsx"}
    for fmt in ("geojson", "csv", "kml", "gpx", "amap", "xlsx"):
        out[fmt] = d / f"export_{fmt}.{suffix.get(fmt, fmt)}"  # not stations.csv: the input
        # the sheet's coordinates are WGS-84 in China: export asks that they be named
        assert main(["export", str(stations), "--format", fmt, "--out", str(out[fmt]),
                     "--crs", "wgs84", "--quiet"]) == 0
    # West and south of Greenwich: negative coordinates must stay numbers in the sheets.
    south = [[r[0], *(("-58.3816", "-34.6037") if i else r[1:3]), *r[3:]]
             for i, r in enumerate(station_rows()[:N + 1])]
    south_csv = write_csv(d / "south.csv", south)
    for fmt in ("csv", "amap"):
        out[f"south_{fmt}"] = d / f"south_export_{fmt}.{suffix.get(fmt, fmt)}"
        assert main(["export", str(south_csv), "--format", fmt, "--out",
                     str(out[f"south_{fmt}"]), "--quiet"]) == 0
    out["stations"], out["proposals"], out["root"] = stations, proposals, d
    return out


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_reader_keeps_the_strings(runs) -> None:
    """The baseline of every other check: what the station reader made of each cell."""
    props = [f["properties"] for f in _features(runs["coverage"] / "stations.geojson")]
    assert [p["name"] for p in props] == [read_back(h) for h in [*HOSTILE, FAR, NO_POSITION]]
    assert [p["address"] for p in props[:N]] == [read_back(HOSTILE[(i + 1) % N])
                                                  for i in range(N)]
    assert [p["status"] for p in props[N:]] == ["too_far_from_street", "invalid"]


# --- browser -----------------------------------------------------------------------------

_COLLECT = """(active) => {
  const map = window[document.querySelector(".folium-map").id];
  const layers = [];
  map.eachLayer((l) => { if (l.getPopup && (l.getPopup() || l.getTooltip())) layers.push(l); });
  return layers.map((l) => {
    const el = l.getElement ? l.getElement() : null;
    const rec = {sp: el && el.getAttribute ? el.getAttribute("data-sp") : null,
                 cls: el && el.getAttribute ? el.getAttribute("class") : null,
                 tooltip: null, popup: null, title: null, active: 0};
    if (l.getTooltip()) {
      l.openTooltip();
      const tip = l.getTooltip().getElement();
      rec.tooltip = tip.innerText;
      rec.active += tip.querySelectorAll(active).length;
      l.closeTooltip();
    }
    if (l.getPopup()) {
      l.openPopup();
      const box = l.getPopup().getElement().querySelector(".leaflet-popup-content");
      rec.popup = box.innerText;
      rec.title = box.querySelector("b").innerText;
      rec.active += box.querySelectorAll(active).length;
      l.closePopup();
    }
    return rec;
  });
}"""


def _open_everything(guarded) -> list[dict]:
    """Open every popup and tooltip on the map; return what each showed."""
    records = guarded.page.evaluate(_COLLECT, ACTIVE)
    assert records, "the map has no popups or tooltips"
    return records


def _assert_nothing_ran(guarded) -> None:
    page = guarded.page
    page.wait_for_timeout(200)  # an injected <img src=x> fails (and fires onerror) late
    guarded.settle()
    assert guarded.script_runs() == []
    assert guarded.dialogs == []
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator(PAGE_ACTIVE).count() == 0
    assert guarded.console_errors == []
    assert guarded.blocked_requests == []


def _stations(run: Path) -> list[dict]:
    return [f["properties"] for f in _features(run / "stations.geojson")]


def _service_items(props: dict) -> list[str]:
    """The services the map shows by their own text (unknown keys), as the reader split them."""
    from stationplan.services import SERVICES

    return [s for s in (props.get("services") or "").split(";") if s and s not in SERVICES]


def _check_coverage_map(guarded, run: Path, *, proposals: list[dict]) -> None:
    records = _open_everything(guarded)
    assert all(r["active"] == 0 for r in records), [r for r in records if r["active"]]
    by_sp = {r["sp"]: r for r in records if r["sp"]}
    stations = _stations(run)
    ok = [p for p in stations if p["status"] == "ok"]
    assert [p["name"] for p in ok[:N]] == [read_back(h) for h in HOSTILE]
    for i, props in enumerate(ok[:N]):
        rec = by_sp[f"station-{i}"]
        assert shown(rec["tooltip"]) == shown(props["name"]), i
        assert shown(rec["title"]) == shown(props["name"]), i
        assert shown(props["address"]) in shown(rec["popup"]), i
        for item in _service_items(props):
            assert shown(item) in shown(rec["popup"]), (i, item)
    far = by_sp["rejected-0"]
    assert shown(far["title"]) == shown(FAR)
    # Street names, in the tooltips of the streets and gaps.
    tips = " ‖ ".join(shown(r["tooltip"] or "") for r in records)
    for name in STREETS:
        assert shown(name) in tips, name
    for rank, props in enumerate(proposals, start=1):
        rec = by_sp[f"proposal-{rank}"]
        assert shown(rec["title"]) == shown(f"#{rank} {props['name']}")


def _search(guarded, typed: str, expected: str) -> None:
    """Type into the station search; the tips and the popup it opens show `expected`."""
    page = guarded.page
    box = page.locator(".sp-search input.sp-search-input")
    box.fill("")
    box.press_sequentially(typed)
    tips = page.locator(".sp-search-tips .sp-search-tip")
    tips.first.wait_for()
    texts = [shown(t) for t in tips.all_inner_texts()]
    assert one_line(expected) in texts, (typed, texts)
    tips.nth(texts.index(one_line(expected))).click()
    page.wait_for_function(
        "document.querySelectorAll('.leaflet-popup-content').length === 1")
    title = page.locator(".leaflet-popup-content b").first.inner_text()
    assert shown(title) == shown(expected)
    page.evaluate("window[document.querySelector('.folium-map').id].closePopup()")


def test_coverage_map(open_guarded_map, runs) -> None:
    guarded = open_guarded_map(runs["coverage"] / "coverage_map.html")
    _check_coverage_map(guarded, runs["coverage"], proposals=[])
    # Typed key by key, as a person would.
    for typed, name in (("<scr", HOSTILE[0]), ("<img", HOSTILE[1]), ("'><svg", HOSTILE[3]),
                        ("</div>", HOSTILE[4]), ("**bold", HOSTILE[7]), ("=HYP", HOSTILE[8]),
                        ("ctl", CONTROLS), ("rtl", HOSTILE[14]), ("<b>", HOSTILE[15])):
        _search(guarded, typed, name)
    _assert_nothing_ran(guarded)


_GLYPH_X = """(el) => {
  // x of each character's box in the tooltip's text, in text order
  const node = el.firstChild, out = [];
  for (let i = 0; i < node.length; i++) {
    const r = document.createRange();
    r.setStart(node, i); r.setEnd(node, i + 1);
    out.push(r.getBoundingClientRect().left);
  }
  return [node.data, out];
}"""


def test_bidi_override_stays_inside_the_name(open_guarded_map, runs) -> None:
    """A street name with an unclosed right-to-left override: the distance band after it
    in the tooltip still reads left to right ("0–100 m", not "m 001–0")."""
    guarded = open_guarded_map(runs["coverage"] / "coverage_map.html")
    page = guarded.page
    page.evaluate("""() => {
      const map = window[document.querySelector(".folium-map").id];
      map.eachLayer((l) => {
        const t = l.getTooltip && l.getTooltip();
        if (t && !l.getPopup() && String(t.getContent()).includes("evil")) l.openTooltip();
      });
    }""")
    tips = page.locator(".leaflet-tooltip", has_text="evil")
    assert tips.count() >= 1
    for k in range(tips.count()):
        text, xs = tips.nth(k).evaluate(_GLYPH_X)
        tail = text.rindex("爱心驿站") + 4  # what follows the name, e.g. ": 0–100 m"
        band = [x for ch, x in zip(text[tail:], xs[tail:], strict=True) if ch != " "]
        assert band == sorted(band) and len(set(band)) == len(band), (text, xs)
    _assert_nothing_ran(guarded)


def test_plan_map(open_guarded_map, runs) -> None:
    proposals = [f["properties"] for f in _features(runs["plan"] / "proposals.geojson")]
    assert len(proposals) == 3
    assert {p["name"] for p in proposals} <= {read_back(h) for h in HOSTILE}
    guarded = open_guarded_map(runs["plan"] / "coverage_map.html")
    _check_coverage_map(guarded, runs["plan"], proposals=proposals)
    _assert_nothing_ran(guarded)


def test_check_map(open_guarded_map, runs) -> None:
    guarded = open_guarded_map(runs["check"] / "check_map.html")
    records = _open_everything(guarded)
    assert all(r["active"] == 0 for r in records), [r for r in records if r["active"]]
    checks = [f["properties"] for f in _features(runs["check"] / "check.geojson")]
    placed = [c for c in checks if c.get("lon") is not None]
    assert len(placed) == N
    circles = [r for r in records if r["cls"] and "sp-check" in r["cls"]]
    titles = sorted(shown(r["title"]) for r in circles)
    assert titles == sorted(shown(f"{c['proposal_id']} {c['name']}") for c in placed)
    tooltips = sorted(shown(r["tooltip"]) for r in circles)
    assert tooltips == titles
    # Reasons name existing stations (hostile too) inside a sentence.
    popups = " ‖ ".join(shown(r["popup"]) for r in circles)
    for c in placed:
        assert shown(c["reason"]) in popups
    _assert_nothing_ran(guarded)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs |= {name for name, _ in attrs}


@pytest.mark.parametrize("run", ["report", "plan"])
def test_report_html(open_guarded_map, runs, run) -> None:
    path = runs[run] / "report.html"
    parsed = _Tags()
    parsed.feed(path.read_text(encoding="utf-8"))
    assert not parsed.tags & {"script", "svg", "iframe", "object", "embed"}
    assert not {a for a in parsed.attrs if a.startswith("on")}
    guarded = open_guarded_map(path)
    page = guarded.page
    text = shown(page.locator("main").inner_text())
    data = json.loads((runs[run] / "report.json").read_text(encoding="utf-8"))
    names = [r["name"] for r in data["service_audit"]["stations_lacking"]]
    assert len(names) == N
    names += [r["name"] for r in data["sole_coverage"]["stations"]]
    names += [s for r in data["sole_coverage"]["stations"] for s in r["streets"]]
    names += [g[k] for g in data["largest_gaps"] for k in ("street", "from_street", "to_street")
              if g[k]]
    names += [a["streets"] for a in data["gap_areas"] if a["streets"]]
    if run == "report":
        names += [r["name"] for r in data["check_rows"]]
        names += [r["reason"] for r in data["check_rows"]]
        names += [r["district"] for r in data["districts"]["rows"]]
        assert len(data["check_rows"]) == N
    for name in names:
        assert shown(name) in text, name
    # Only the report's own images and links.
    assert page.locator("main img:not([src^='data:image/png;base64,'])").count() == 0
    hrefs = page.locator("main a").evaluate_all("(a) => a.map((x) => x.getAttribute('href'))")
    assert all(re.fullmatch(r"https://uri\.amap\.com/marker\?[^\"'<> ]+|[a-z_]+\.[a-z]+", h)
               for h in hrefs), hrefs
    _assert_nothing_ran(guarded)


# --- report.md -----------------------------------------------------------------------------

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
# Characters that can start Markdown or HTML syntax in inline text (CommonMark 0.31: emphasis,
# code spans, links, images, autolinks and raw HTML, entities, GFM tables and strikethrough).
_MD_ACTIVE = set("\\`*_[]()<>!|~&")


def _md_literal_cell(cell: str) -> str | None:
    """The literal text a CommonMark + GFM renderer shows for `cell`, or None if any part of
    it could be read as markup.

    Literal means: every ASCII punctuation character that can open markup is backslash-
    escaped (CommonMark 2.4: an escaped character is shown as itself and never starts
    markup), ``&`` appears only as ``&amp;`` or ``&lt;`` (entity references are literal
    text), and ``<`` never appears raw, so no raw HTML and no autolink can start.
    """
    out, i = [], 0
    while i < len(cell):
        ch = cell[i]
        if ch == "\\" and i + 1 < len(cell):
            out.append(cell[i + 1])
            i += 2
            continue
        if ch == "&":
            for entity, char in (("&amp;", "&"), ("&lt;", "<")):
                if cell.startswith(entity, i):
                    out.append(char)
                    i += len(entity)
                    break
            else:
                return None
            continue
        if ch in _MD_ACTIVE:
            return None
        out.append(ch)
        i += 1
    return "".join(out)


def _md_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in _UNESCAPED_PIPE.split(line)[1:-1]])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


@pytest.mark.parametrize("run", ["report", "plan"])
def test_report_markdown(runs, run) -> None:
    text = (runs[run] / "report.md").read_text(encoding="utf-8")
    assert "\u202e" in text  # not stripped: names are shown as written ...
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)  # ... but no control chars
    assert "<" not in text  # no raw HTML anywhere
    data = json.loads((runs[run] / "report.json").read_text(encoding="utf-8"))
    expected = [r["name"] for r in data["service_audit"]["stations_lacking"]]
    if run == "report":
        expected += [r["name"] for r in data["check_rows"]]
        expected += [r["district"] for r in data["districts"]["rows"]]
    literal = []
    for table in _md_tables(text):
        width = len(table[0])
        assert all(len(row) == width for row in table), table[0]  # no pipe split a row
        for row in table[2:]:
            for cell in row:
                if "uri.amap.com" in cell:  # the gap table's own link
                    continue
                shown_text = _md_literal_cell(cell)
                assert shown_text is not None, cell
                literal.append(shown_text)
    for name in expected:
        assert md_shown(name) in literal, name
    try:
        import markdown
    except ImportError:  # not a dependency; the rule check above stands on its own
        return
    rendered = markdown.markdown(text, extensions=["tables"])
    parsed = _Tags()
    parsed.feed(rendered)
    assert not parsed.tags & {"script", "svg", "strong", "em", "code", "b"}
    assert "javascript:" not in re.findall(r'href="([^"]*)"', rendered)


# --- CSV sheets, KML, GPX, GeoJSON ----------------------------------------------------------

def _csv_cells(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _spreadsheet_safe(cell: str) -> str:
    """The text a spreadsheet shows for `cell`, failing if it would run it as a formula."""
    if NUMBER.fullmatch(cell) or not cell:
        return cell
    assert not cell.startswith(FORMULA_START), repr(cell)
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]  # the documented neutralisation: a leading apostrophe
    return cell


@pytest.mark.parametrize("name", ["csv", "south_csv", "check.csv"])
def test_csv_cells_are_never_formulas(runs, name) -> None:
    path = runs["check"] / "check.csv" if name == "check.csv" else runs[name]
    rows = _csv_cells(path)
    header, body = rows[0], rows[1:]
    seen = [_spreadsheet_safe(cell) for row in body for cell in row]
    if name == "check.csv":
        names = [row[header.index("name")] for row in body]
        assert [_spreadsheet_safe(n) for n in names] == [read_back(h) for h in HOSTILE]
        return
    name_col = "name" if "name" in header else "名称"
    names = [_spreadsheet_safe(row[header.index(name_col)]) for row in body]
    assert names[:N] == [read_back(h) for h in HOSTILE]
    # Addresses, as read: hostile ones start with = + - @ and come back intact.
    addr_col = "address" if "address" in header else "地址"
    assert [_spreadsheet_safe(row[header.index(addr_col)]) for row in body[:N]] == [
        read_back(HOSTILE[(i + 1) % N]) for i in range(N)]
    assert {read_back(h) for h in HOSTILE} <= set(seen)
    # Coordinates stay plain numbers, negative ones included.
    lng_col = "wgs84_lng" if "wgs84_lng" in header else "经度(WGS-84)"  # a Chinese run
    lngs = [row[header.index(lng_col)] for row in body if row[header.index(lng_col)]]
    assert lngs and all(NUMBER.fullmatch(v) for v in lngs)
    if name.startswith("south"):
        assert all(v.startswith("-58.38") for v in lngs)


def test_csv_opened_as_a_workbook_has_no_formulas(runs, tmp_path) -> None:
    """stationplan writes no XLSX (the Amap sheet is a CSV); this loads the CSV exports into
    openpyxl as a spreadsheet's CSV import does (numbers as numbers, the rest as typed) and
    checks that no cell becomes a formula."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # controls a worksheet cannot hold

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in _csv_cells(runs["csv"])[1:] + _csv_cells(runs["south_csv"])[1:]:
        ws.append([float(c) if NUMBER.fullmatch(c) else ILLEGAL_CHARACTERS_RE.sub("", c)
                   for c in row])
    wb.save(tmp_path / "opened.xlsx")
    back = openpyxl.load_workbook(tmp_path / "opened.xlsx")
    cells = [c for row in back.active.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert any(isinstance(c.value, float) and c.value < 0 for c in cells)


@pytest.mark.parametrize("name", ["amap", "south_amap", "xlsx"])
def test_workbook_exports_hold_the_strings_as_text(runs, name) -> None:
    """The real workbooks (Amap's 企业智图 sheet, the xlsx export): no cell is a formula,
    the hostile names and addresses are text cells as read (less what a worksheet cannot
    hold), and the coordinates are numbers, negative ones included."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    sheet = openpyxl.load_workbook(runs[name]).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows()]
    assert [c.coordinate for r in rows for c in r if c.data_type == "f"] == []
    header = [c.value for c in rows[0]]
    name_col, addr_col, lng_col = (
        ("name", "address", "wgs84_lng") if "name" in header
        else ("名称", "地址", "经度" if "经度" in header else "经度(WGS-84)"))
    body = rows[1:]
    # XML reads a carriage return as a line feed (end-of-line normalisation), Excel too
    kept = [ILLEGAL_CHARACTERS_RE.sub("", read_back(h)).replace("\r", "\n") for h in HOSTILE]
    assert [r[header.index(name_col)].value or "" for r in body[:N]] == kept
    assert [r[header.index(addr_col)].value or "" for r in body[:N]] == [
        kept[(i + 1) % N] for i in range(N)]
    lngs = [r[header.index(lng_col)].value for r in body if r[header.index(lng_col)].value]
    assert lngs and all(isinstance(v, float) for v in lngs)
    if name.startswith("south"):
        assert all(-58.5 < v < -58.3 for v in lngs)


def _xml_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [t for el in root.iter() for t in (el.text, *el.attrib.values()) if t]


def test_kml_holds_the_strings_as_text(runs) -> None:
    root = ET.parse(runs["kml"]).getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [el.text for el in root.iterfind(".//k:Placemark/k:name", ns)]
    assert sorted(names) == sorted(xml_kept(read_back(h)) for h in [*HOSTILE, FAR, NO_POSITION])
    for desc in root.iterfind(".//k:Placemark/k:description", ns):
        parsed = _Tags()
        parsed.feed(desc.text)  # the description is HTML: only its own <b> and <br>
        assert parsed.tags <= {"b", "br"}
        assert not parsed.attrs
    texts = _xml_texts(runs["kml"])
    for h in HOSTILE:
        assert any(xml_kept(read_back(h)) in t for t in texts), h


def test_gpx_holds_the_strings_as_text(runs) -> None:
    root = ET.parse(runs["gpx"]).getroot()
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    names = [el.text for el in root.iterfind("g:wpt/g:name", ns)]
    assert names == [xml_kept(read_back(h)) for h in [*HOSTILE, FAR]]
    texts = _xml_texts(runs["gpx"])
    assert any(xml_kept(read_back(NO_POSITION)) in t for t in texts)
    for h in HOSTILE:
        assert any(xml_kept(read_back(h)) in t for t in texts), h


def test_geojson_export_keeps_the_strings(runs) -> None:
    props = [f["properties"] for f in _features(runs["geojson"])]
    assert [p["name"] for p in props] == [read_back(h) for h in [*HOSTILE, FAR, NO_POSITION]]
