"""Properties of the station readers on generated files (CSV, XLSX, GeoJSON).

Each example is a random station table, described first (what each row *is*: a valid
point, a bad cell, an out-of-range number, swapped columns, a duplicate, a blank line)
and then written in a random layout: file format, encoding, delimiter, line ends, title
row, header language, column order, one "lng,lat" column or two, coordinate system and
cell notation. The expected result of every row comes from that description, not from
the reader: the row number is counted while the file is written; an accepted point,
converted forward to the file's system (GCJ-02, BD-09 or a projection, by the forward
formula or PROJ), must give back the written coordinates; and a row with a bad cell must
come back invalid with a reason naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import openpyxl
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stationplan as sp
from stationplan import chinacrs

SETTINGS = settings(max_examples=40, deadline=None)

# Header spellings the reader documents (README, read_stations), per field.
LON_HEADERS = ("lon", "lng", "Longitude", "经度", "东经", "ｌｏｎ", "经度(WGS84)")
LAT_HEADERS = ("lat", "Latitude", "纬度", "北纬", "ｌａｔ", "纬度(WGS84)")
PAIR_HEADERS = ("lng,lat", "经纬度", "坐标", "lnglat", "location")
PAIR_LAT_FIRST_HEADERS = ("lat,lng", "纬度,经度", "latlng")
ID_HEADERS = ("id", "编号", "station_id", "站点编号")
NAME_HEADERS = ("name", "名称", "站点名称", "驿站名称")
ADDRESS_HEADERS = ("address", "地址", "详细地址")

NAMES = ("爱心驿站", "长寿街 爱心驿站", "Kauppatori", "站🚻", "☕ café", "户外劳动者服务站（一）",
         "名, with comma", 'quote "q"', "two\nlines", " padded ", "𠀀 rare", "", "N/A", "1234")

# Cells that are no coordinate at all (each is reported, never silently dropped).
BAD_CELLS = ("", "abc", "nan", "inf", "-inf", "1e400", "#N/A", "null", "📍", "12abc", "1,5",
             "114 61 0", "--")
# Numbers out of range that no swap rescues (the swap rule only fires inside China).
BAD_LON = (181.0, -180.5, 1e300, -1e300, 500.25)
BAD_LAT = (-90.5, 150.25, 1e300, -1e300, -181.0)

# The GCJ-02 rectangle (chinacrs docs); GCJ/BD points are drawn well inside it.
CHINA = ((73.5, 134.5), (3.0, 53.0))
CHINA_RECT = ((72.004, 137.8347), (0.8293, 55.8271))
FORWARD = {"wgs84": lambda x, y: (x, y), "gcj02": chinacrs.wgs84_to_gcj02,
           "bd09": chinacrs.wgs84_to_bd09}


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


# --- what a table is ---------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One generated data row and what the reader must make of it.

    ``x``/``y`` are the cells as written (in the file's CRS and notation); ``lon``/``lat``
    the point they mean in that CRS, after undoing a swap (``None`` for an invalid row):
    the WGS-84 point read back must convert forward to it;
    ``bad`` names the column(s) a reason must mention.
    """

    sid: str
    name: str
    x: object
    y: object
    lon: float | None
    lat: float | None
    bad: tuple[str, ...] = ()
    swapped: bool = False


@dataclass(frozen=True)
class Layout:
    """How a table is written."""

    fmt: str  # csv, xlsx, geojson
    crs: str  # wgs84, gcj02, bd09
    encoding: str
    lon_header: str
    lat_header: str
    pair_header: str | None
    lat_first_column: bool
    id_header: str
    name_header: str
    address_header: str
    notation: str  # repr, fixed, fullwidth, dms, hemisphere, number (xlsx floats)
    pair_sep: str
    newline: str
    delimiter: str  # CSV only: "," (.csv), ";" (.csv, European Excel), tab (.txt)
    title_row: bool

    @property
    def pair_lat_first(self) -> bool:
        return self.pair_header in PAIR_LAT_FIRST_HEADERS

    @property
    def lon_column(self) -> str:
        """The header text a reason names for a bad longitude."""
        if self.fmt == "geojson":
            return "longitude"
        return self.pair_header or self.lon_header

    @property
    def lat_column(self) -> str:
        if self.fmt == "geojson":
            return "latitude"
        return self.pair_header or self.lat_header


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _cell(value: float, axis: str, notation: str) -> tuple[object, float]:
    """A valid coordinate written in a notation, and the exact value that text means."""
    if notation == "number":
        return value, value
    if notation == "repr":
        return repr(value), value
    fixed = f"{value:.6f}"
    if notation == "fixed":
        return fixed, float(fixed)
    if notation == "fullwidth":
        return _fullwidth(fixed), float(fixed)
    if notation == "hemisphere":
        letter = ("E" if value >= 0 else "W") if axis == "lon" else ("N" if value >= 0 else "S")
        return f"{letter}{abs(value):.6f}", math.copysign(float(f"{abs(value):.6f}"), value)
    # degrees, minutes and hundredths of seconds, counted in integers so that no part is 60
    total = round(abs(value) * 360_000)
    degrees, rest = divmod(total, 360_000)
    minutes, centi = divmod(rest, 6_000)
    sign = "-" if value < 0 and total else ""
    exact = degrees + minutes / 60 + centi / 100 / 3600
    return f"{sign}{degrees}°{minutes}′{centi / 100:.2f}″", -exact if sign else exact


@st.composite
def layouts(draw, fmt: str | None = None, crs: str | None = None) -> Layout:
    fmt = fmt or draw(st.sampled_from(["csv", "csv", "xlsx", "geojson"]))
    crs = crs or draw(st.sampled_from(["wgs84", "gcj02", "bd09"]))
    tabular = fmt != "geojson"
    pair = draw(st.sampled_from([None, None, *PAIR_HEADERS, *PAIR_LAT_FIRST_HEADERS])) \
        if tabular else None
    notations = ["repr", "fixed", "fullwidth", "dms", "hemisphere"]
    if fmt == "xlsx" and pair is None:
        notations.append("number")
    if fmt == "geojson":
        notations = ["number", "number", "repr"]
    # A header that names its system (经度(WGS84)) conflicts with another crs option.
    untagged_lon = [h for h in LON_HEADERS if "(" not in h]
    untagged_lat = [h for h in LAT_HEADERS if "(" not in h]
    return Layout(
        fmt=fmt, crs=crs,
        encoding=draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk"])),
        lon_header=draw(st.sampled_from(LON_HEADERS if crs == "wgs84" else untagged_lon)),
        lat_header=draw(st.sampled_from(LAT_HEADERS if crs == "wgs84" else untagged_lat)),
        pair_header=pair,
        lat_first_column=draw(st.booleans()),
        id_header=draw(st.sampled_from(ID_HEADERS)),
        name_header=draw(st.sampled_from(NAME_HEADERS)),
        address_header=draw(st.sampled_from(ADDRESS_HEADERS)),
        notation=draw(st.sampled_from(notations)),
        pair_sep=draw(st.sampled_from([",", "，", ";", " "])),
        newline=draw(st.sampled_from(["\n", "\r\n"])),
        delimiter=draw(st.sampled_from([",", ",", ";", "\t"])),
        title_row=tabular and draw(st.booleans()),
    )


def _point(draw, crs: str) -> tuple[float, float]:
    if crs == "wgs84":
        if draw(st.booleans()):  # Helsinki, where the demo lives
            return (draw(st.floats(24.7, 25.2)), draw(st.floats(60.1, 60.3)))
        return (draw(st.floats(-180, 180)), draw(st.floats(-90, 90)))
    return (draw(st.floats(*CHINA[0])), draw(st.floats(*CHINA[1])))


@st.composite
def tables(draw, layout: Layout, *, min_rows: int = 1, max_rows: int = 12,
           kinds: tuple[str, ...] = ("ok", "ok", "ok", "bad_cell", "bad_range", "swapped",
                                     "duplicate")) -> list[Row]:
    """Rows of one table; every row has a unique id."""
    n = draw(st.integers(min_rows, max_rows))
    names = [n for n in NAMES if _encodable(n, layout.encoding)]
    bad_cells = [c for c in BAD_CELLS if _encodable(c, layout.encoding)
                 # "1,5 38.0" is a fair "lng,lat" pair: 1, 5°38′ (DMS with spaces)
                 and not (c == "1,5" and layout.pair_header and layout.pair_sep == " ")]
    if layout.fmt == "xlsx" and layout.pair_header is None:  # typed cells, not text
        bad_cells += [True, dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 8, 30)]
    if layout.fmt == "geojson":  # JSON values: a boolean, null, a number no float holds
        bad_cells += [True, None, 10**400]
    rows: list[Row] = []
    forward = FORWARD[layout.crs]
    for i in range(n):
        kind = draw(st.sampled_from(kinds))
        if kind == "duplicate" and not any(r.lon is not None for r in rows):
            kind = "ok"
        name = draw(st.sampled_from(names))
        sid = f"S{i}"
        if kind == "duplicate":
            source = draw(st.sampled_from([r for r in rows if r.lon is not None]))
            rows.append(replace(source, sid=sid, name=name))
            continue
        lon, lat = _point(draw, layout.crs)
        if kind == "swapped" and layout.fmt != "geojson":
            lon, lat = (draw(st.floats(*CHINA[0])), draw(st.floats(*CHINA[1])))
        sx, sy = (float(v) for v in forward(lon, lat))
        x, vx = _cell(sx, "lon", layout.notation)
        y, vy = _cell(sy, "lat", layout.notation)
        if kind == "swapped" and layout.fmt != "geojson":
            rows.append(Row(sid, name, y, x, vx, vy, swapped=True))
        elif kind in ("ok", "swapped") and not _in_rect(vx, vy) and _in_rect(vy, vx):
            # The documented rule: a point that only lies in China swapped is swapped
            # (a few Arctic islands between 0.8 and 55.8 E above 72 N are read so).
            rows.append(Row(sid, name, x, y, vy, vx, swapped=True))
        elif kind == "bad_cell":
            which = draw(st.sampled_from(["x", "y", "both"]))
            bad_x = draw(st.sampled_from(bad_cells)) if which != "y" else x
            bad_y = draw(st.sampled_from(bad_cells)) if which != "x" else y
            named = (("x",) if which != "y" else ()) + (("y",) if which != "x" else ())
            rows.append(Row(sid, name, bad_x, bad_y, None, None, bad=named))
        elif kind == "bad_range":
            if draw(st.booleans()):
                rows.append(Row(sid, name, _number(draw(st.sampled_from(BAD_LON)), layout), y,
                                None, None, bad=("x",)))
            else:
                rows.append(Row(sid, name, x, _number(draw(st.sampled_from(BAD_LAT)), layout),
                                None, None, bad=("y",)))
        else:
            rows.append(Row(sid, name, x, y, vx, vy))
    return rows


def _number(value: float, layout: Layout) -> object:
    return value if layout.notation == "number" else repr(value)


def _in_rect(x: float, y: float) -> bool:
    (west, east), (south, north) = CHINA_RECT
    return west <= x <= east and south <= y <= north


# --- writing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Written:
    path: Path
    rows: dict[str, int]  # station id -> row number the reader must report
    blank_rows: int


def _cells_of(row: Row, layout: Layout) -> list[object]:
    address = f"{row.name}路{row.sid}号"
    if layout.pair_header is not None:
        a, b = (row.y, row.x) if layout.pair_lat_first else (row.x, row.y)
        coords = [f"{a}{layout.pair_sep}{b}"]
    else:
        coords = [row.y, row.x] if layout.lat_first_column else [row.x, row.y]
    return [row.sid, row.name, *coords, address]


def _header(layout: Layout) -> list[str]:
    if layout.pair_header is not None:
        coords = [layout.pair_header]
    elif layout.lat_first_column:
        coords = [layout.lat_header, layout.lon_header]
    else:
        coords = [layout.lon_header, layout.lat_header]
    return [layout.id_header, layout.name_header, *coords, layout.address_header]


def write_table(folder: Path, rows: list[Row], layout: Layout, *, blank_after: frozenset[int]
                = frozenset(), stem: str = "stations") -> Written:
    """Write ``rows``; blank lines after the given row positions."""
    if layout.fmt == "csv":
        suffix = ".txt" if layout.delimiter == "\t" else ".csv"
        return _write_csv(folder / f"{stem}{suffix}", rows, layout, blank_after)
    if layout.fmt == "xlsx":
        return _write_xlsx(folder / f"{stem}.xlsx", rows, layout, blank_after)
    return _write_geojson(folder / f"{stem}.geojson", rows)


def _csv_text(cells: list[object], newline: str, delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline, delimiter=delimiter).writerow(cells)
    return out.getvalue()


def _write_csv(path: Path, rows: list[Row], layout: Layout, blank_after: frozenset[int]
               ) -> Written:
    nl, sep = layout.newline, layout.delimiter
    parts = []
    if layout.title_row:
        parts.append(_csv_text(["爱心驿站名单（测试）"], nl, sep))
    parts.append(_csv_text(_header(layout), nl, sep))
    line = len(parts) + 1
    numbers, blanks = {}, 0
    for k, row in enumerate(rows):
        text = _csv_text(_cells_of(row, layout), nl, sep)
        numbers[row.sid] = line
        line += text.count("\n")  # names may hold a line break inside quotes
        parts.append(text)
        if k in blank_after:
            parts.append(nl if k % 2 else sep * 4 + nl)
            line += 1
            blanks += 1
    path.write_bytes("".join(parts).encode(layout.encoding))
    return Written(path, numbers, blanks)


def _write_xlsx(path: Path, rows: list[Row], layout: Layout, blank_after: frozenset[int]
                ) -> Written:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "站点"
    if layout.title_row:
        sheet.append(["爱心驿站名单（测试）"])
    sheet.append(_header(layout))
    numbers, blanks = {}, 0
    for k, row in enumerate(rows):
        sheet.append(_cells_of(row, layout))
        numbers[row.sid] = sheet.max_row
        if k in blank_after:
            sheet.append([None] * 5)
            blanks += 1
    book.save(path)
    return Written(path, numbers, blanks)


def _write_geojson(path: Path, rows: list[Row]) -> Written:
    features = []
    for row in rows:
        coords = [row.x, row.y]
        features.append({"type": "Feature", "properties": {"id": row.sid, "name": row.name},
                         "geometry": {"type": "Point", "coordinates": coords}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return Written(path, {r.sid: k for k, r in enumerate(rows, start=1)}, 0)


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def read(written: Written, layout: Layout):
    crs = None if layout.crs == "wgs84" else layout.crs
    # A GeoJSON declares WGS-84 (RFC 7946): only an option about that file (force_crs)
    # reads its coordinates as GCJ-02/BD-09.
    return sp.read_stations(written.path, crs=crs, force_crs=layout.fmt == "geojson")


def _same_point(geometry, row: Row, layout: Layout) -> bool:
    """Whether a WGS-84 point read back converts forward to the written source point.

    WGS-84 text is read exactly; the GCJ-02/BD-09 inverse is iterative (< 1 mm, 1e-8 deg).
    """
    x, y = (float(v) for v in FORWARD[layout.crs](geometry.x, geometry.y))
    tol = 1e-12 if layout.crs == "wgs84" else 1e-8  # 1e-12: DMS sums in another order
    return abs(x - row.lon) <= tol and abs(y - row.lat) <= tol


# --- properties --------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_every_row_comes_back_once_with_its_number_status_and_position(data):
    layout = data.draw(layouts())
    rows = data.draw(tables(layout))
    blank_after = frozenset(data.draw(st.sets(st.integers(0, len(rows) - 1), max_size=2)))
    with folder() as tmp:
        written = write_table(tmp, rows, layout, blank_after=blank_after)
        st_ = read(written, layout)
    name = written.path.name
    assert sorted(st_["station_id"]) == sorted(r.sid for r in rows)  # each row exactly once
    assert st_["station_id"].tolist() == [r.sid for r in rows]  # in file order
    assert st_.attrs["read_report"]["blank_rows_skipped"] == written.blank_rows
    unit = "feature" if layout.fmt == "geojson" else "row"
    for row, (_, got) in zip(rows, st_.iterrows(), strict=True):
        number = written.rows[row.sid]
        assert got["row"] == number
        assert got["name"] == row.name.strip()
        if row.lon is None:
            assert got["status"] == "invalid", (row, got["reason"])
            assert got.geometry is None
            assert got["reason"].startswith(f"{name} {unit} {number}: "), got["reason"]
            for axis in row.bad:
                column = layout.lon_column if axis == "x" else layout.lat_column
                assert f"'{column}'" in got["reason"], (column, got["reason"])
        else:
            assert got["status"] == "ok", (row, got["reason"])
            assert got["reason"] == ""
            assert _same_point(got.geometry, row, layout), (got.geometry, row, layout)
            if row.swapped:
                assert "swapped" in got["note"]
    report = st_.attrs["read_report"]
    assert report["ok"] == sum(r.lon is not None for r in rows)
    assert report["invalid"] == sum(r.lon is None for r in rows)


@SETTINGS
@given(data=st.data())
def test_valid_rows_are_never_lost_because_of_bad_rows(data):
    layout = data.draw(layouts())
    rows = data.draw(tables(layout, min_rows=2))
    good = [r for r in rows if r.lon is not None]
    if not good:
        return
    with folder() as tmp:
        mixed = read(write_table(tmp, rows, layout, stem="mixed"), layout)
        clean = read(write_table(tmp, good, layout, stem="clean"), layout)
    mixed = mixed[mixed["status"] == "ok"]
    assert mixed["station_id"].tolist() == clean["station_id"].tolist()
    assert (clean["status"] == "ok").all()
    for a, b in zip(mixed.geometry, clean.geometry, strict=True):
        assert (a.x, a.y) == (b.x, b.y)


@SETTINGS
@given(data=st.data())
def test_results_do_not_depend_on_row_order(data):
    layout = data.draw(layouts())
    rows = data.draw(tables(layout, min_rows=2))
    shuffled = data.draw(st.permutations(rows))

    def outcome(frame):
        return sorted((sid, status, None if g is None else (g.x, g.y))
                      for sid, status, g in zip(frame["station_id"], frame["status"],
                                                frame.geometry, strict=True))

    with folder() as tmp:
        first = read(write_table(tmp, rows, layout, stem="a"), layout)
        second = read(write_table(tmp, list(shuffled), layout, stem="b"), layout)
    assert outcome(first) == outcome(second)


@SETTINGS
@given(data=st.data())
def test_duplicate_points_are_both_kept_and_noted(data):
    layout = data.draw(layouts(fmt="csv"))
    rows = data.draw(tables(layout, min_rows=2, kinds=("ok", "duplicate")))
    with folder() as tmp:
        written = write_table(tmp, rows, layout)
        st_ = read(written, layout)
    assert (st_["status"] == "ok").all()
    notes = dict(zip(st_["station_id"], st_["note"], strict=True))
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if (a.x, a.y) == (b.x, b.y):
                assert f"row {written.rows[b.sid]} " in notes[a.sid]
                assert f"row {written.rows[a.sid]} " in notes[b.sid]


@SETTINGS
@given(data=st.data())
def test_blank_ids_get_row_numbers_that_never_clash_with_typed_ids(data):
    """A 序号 column 1, 2, 3 ... with a blank cell must not make the file unreadable."""
    n = data.draw(st.integers(2, 12))
    blank = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1))
    lines = ["序号,名称,经度,纬度"]
    lines += [f"{'' if i in blank else i + 1},站{i},{24.9 + i / 100},60.17" for i in range(n)]
    with folder() as tmp:
        path = tmp / "s.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        st_ = sp.read_stations(path)
    assert len(st_) == n and (st_["status"] == "ok").all()
    assert st_["station_id"].is_unique
    typed = [str(i + 1) for i in range(n) if i not in blank]
    assert [s for s, i in zip(st_["station_id"], range(n), strict=True) if i not in blank] \
        == typed


EMPTY_CSV = {
    "nothing": b"", "bom only": b"\xef\xbb\xbf", "blank lines": b"\n\r\n\n",
    "empty cells": b",,,\n,,\n", "header only": "名称,经度,纬度\n".encode(),
    "header and blanks": b"name,lon,lat\n,,\n\n#N/A,,\n",
    "gbk header only": "站点名称,经度,纬度\r\n".encode("gbk"),
    "title and header": "名单\n名称,lng,lat\n".encode(),
}


@pytest.mark.parametrize("content", EMPTY_CSV.values(), ids=EMPTY_CSV.keys())
def test_empty_csv_is_a_clear_missing_data_error_naming_the_file(tmp_path, content):
    """A planner with no stations has nothing to plan from: say so, name the file."""
    path = tmp_path / "驿站.csv"
    path.write_bytes(content)
    with pytest.raises(sp.MissingDataError, match=r"驿站\.csv: .*no station"):
        sp.read_stations(path)


@pytest.mark.parametrize("case", ["empty", "header only", "header and blank rows"])
def test_empty_xlsx_is_a_clear_missing_data_error(tmp_path, case):
    book = openpyxl.Workbook()
    if case != "empty":
        book.active.append(["名称", "经度", "纬度"])
    if case == "header and blank rows":
        book.active.append([None, None, None])
        book.active.append(["", "", ""])
    path = tmp_path / "s.xlsx"
    book.save(path)
    with pytest.raises(sp.MissingDataError, match=r"s\.xlsx: .*no station"):
        sp.read_stations(path)


@pytest.mark.parametrize("doc", [{"type": "FeatureCollection", "features": []},
                                 {"type": "FeatureCollection"}])
def test_empty_geojson_is_a_clear_missing_data_error(tmp_path, doc):
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(sp.MissingDataError, match=r"s\.geojson: .*no station"):
        sp.read_stations(path)


def test_names_survive_every_encoding():
    for encoding in ("utf-8", "utf-8-sig", "gb18030", "gbk"):
        names = [n for n in NAMES if _encodable(n, encoding) and n.strip()]
        text = "name,lon,lat\n" + "".join(
            _csv_text([n, 24.9, 60.17 + k / 1000], "\n") for k, n in enumerate(names))
        with folder() as tmp:
            path = tmp / "s.csv"
            path.write_bytes(text.encode(encoding))
            got = sp.read_stations(path)["name"].tolist()
        assert got == [n.strip() for n in names], encoding
        assert all(unicodedata.is_normalized("NFC", n) for n in got)


# Projected x/y (a CRS code): Finland's national grid and UTM 50N around Beijing.
PROJECTED = {"EPSG:3067": ((21.0, 30.0), (60.0, 69.0)), "EPSG:32650": ((114.5, 119.5),
                                                                      (32.0, 44.0))}


@SETTINGS
@given(data=st.data())
def test_projected_coordinates_come_back_where_they_were(data):
    """x/y in metres: every row once; swapped columns fixed only where the swap is in China."""
    code = data.draw(st.sampled_from(sorted(PROJECTED)))
    (west, east), (south, north) = PROJECTED[code]
    to_xy = pyproj.Transformer.from_crs(4326, code, always_xy=True)
    xname, yname = data.draw(st.sampled_from([("x", "y"), ("X坐标", "Y坐标"), ("POINT_X",
                                                                               "POINT_Y")]))
    kinds = ["ok", "ok", "bad_cell", "far"] + (["swapped"] if code == "EPSG:32650" else [])
    n = data.draw(st.integers(1, 10))
    lines, expect = [f"id,{xname},{yname}"], []
    for i in range(n):
        kind = data.draw(st.sampled_from(kinds))
        x, y = to_xy.transform(data.draw(st.floats(west, east)), data.draw(st.floats(south,
                                                                                      north)))
        x, y = round(x, 3), round(y, 3)
        if kind == "bad_cell":
            lines.append(f"S{i},{data.draw(st.sampled_from(['', 'abc', 'inf']))},{y}")
        elif kind == "far":
            lines.append(f"S{i},{data.draw(st.sampled_from(['1e9', '-4e8']))},{y}")
        else:
            lines.append(f"S{i},{y},{x}" if kind == "swapped" else f"S{i},{x},{y}")
        expect.append((kind, x, y))
    with folder() as tmp:
        path = tmp / "xy.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        got = sp.read_stations(path, crs=code)
    assert got["row"].tolist() == list(range(2, n + 2))
    assert (got["src_crs"] == code).all()
    for (kind, x, y), (_, row) in zip(expect, got.iterrows(), strict=True):
        if kind in ("bad_cell", "far"):
            assert row["status"] == "invalid"
            assert row["reason"].startswith(f"xy.csv row {row['row']}: ")
            assert f"'{xname}'" in row["reason"]
            if kind == "far":
                assert f"outside the area of {code}" in row["reason"]
        else:
            assert row["status"] == "ok", row["reason"]
            back = to_xy.transform(row.geometry.x, row.geometry.y)
            assert back == pytest.approx((x, y), abs=1e-3)  # 1 mm
            assert ("swapped" in row["note"]) == (kind == "swapped")
