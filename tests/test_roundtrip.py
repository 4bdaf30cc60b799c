"""Export then re-import: same stations, names and coordinates (0.5 m), every format and CRS."""

from __future__ import annotations

import json

import pyproj
import pytest

import stationplan as sp
from stationplan import chinacrs
from stationplan.cli import main

GEOD = pyproj.Geod(ellps="WGS84")
FORMATS = ["geojson", "csv", "xlsx", "kml", "gpx", "amap", "amap-maplab"]
SUFFIX = {"geojson": ".geojson", "csv": ".csv", "xlsx": ".xlsx", "kml": ".kml", "gpx": ".gpx",
          "amap": ".xlsx", "amap-maplab": ".csv"}
# The Amap sheets hold GCJ-02 under the templates' plain headers (经度/纬度, 经纬度).
READ_CRS = {"amap": "gcj02", "amap-maplab": "gcj02"}
# station_id, name, WGS-84 lon, lat, address, phone, hours, services
REF = [
    ("s1", "新乐市爱心驿站🚴‍♂️", 114.6812345678, 38.3456789012, "长寿街 1 号", "0311-88888888",
     "08:00-22:00", "drinking_water;seating;phone_charging"),
    ("s2", "外卖小哥之家 ☕「暖」", 114.5142387654, 38.0423071234, "", "13800138000", "",
     "microwave;toilet"),
    ("s3", "=HYPERLINK(\"x\") 站", 114.4898765432, 38.0511234567, "-12 号", "", "全天", ""),
]
BAD = ("s4", "坏站", "abc", "38.3")
SYSTEMS = ["wgs84", "gcj02", "bd09", "cgcs2000", "EPSG:32650", "EPSG:4547"]


def to_system(lon, lat, system):
    if system == "gcj02":
        return chinacrs.wgs84_to_gcj02(lon, lat)
    if system == "bd09":
        return chinacrs.wgs84_to_bd09(lon, lat)
    if system.startswith("EPSG"):
        return pyproj.Transformer.from_crs(4326, system, always_xy=True).transform(lon, lat)
    return lon, lat


def source_file(tmp_path, system):
    """The reference stations written in ``system``, as a planner's CSV would hold them."""
    x, y = ("x", "y") if system.startswith("EPSG") else ("lng", "lat")
    lines = [f"station_id,name,{x},{y},address,phone,hours,services"]
    for sid, name, lon, lat, address, phone, hours, services in REF:
        sx, sy = to_system(lon, lat, system)
        quoted = '"' + name.replace('"', '""') + '"'
        lines.append(f"{sid},{quoted},{sx!r},{sy!r},{address},{phone},{hours},{services}")
    lines.append(",".join([*BAD, "", "", "", ""]))
    path = tmp_path / f"src_{system.replace(':', '_')}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def export(src, fmt, out, *extra):
    assert main(["export", str(src), "--format", fmt, "--out", str(out), "--quiet", *extra]) == 0
    return out


def check_same_stations(back, fmt):
    by_id = back.set_index("station_id")
    markers = sp.station_markers(back).set_index("station_id")
    for sid, name, lon, lat, address, phone, hours, services in REF:
        row = by_id.loc[sid]
        assert row["status"] == "ok"
        assert row["name"] == name
        assert GEOD.inv(lon, lat, row.geometry.x, row.geometry.y)[2] < 0.5
        assert (row["address"], row["phone"], row["hours"]) == (address, phone, hours)
        assert row["services"] == services
        assert markers.loc[sid, "status"] == "existing"
    if fmt == "amap":  # stations without a location are on the workbook's second sheet
        assert set(by_id.index) == {r[0] for r in REF}
    else:
        assert set(by_id.index) == {*(r[0] for r in REF), BAD[0]}
        assert by_id.loc[BAD[0], "name"] == BAD[1]
        assert by_id.loc[BAD[0], "geometry"] is None
        assert markers.loc[BAD[0], "status"] == "rejected"
        assert "'abc' is not a number" in markers.loc[BAD[0], "reason"]


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_reimport(tmp_path, fmt, system):
    out = export(source_file(tmp_path, system), fmt, tmp_path / f"out{SUFFIX[fmt]}",
                 "--crs", system)
    back = sp.read_stations(out, crs=READ_CRS.get(fmt))  # the others name their system
    check_same_stations(back, fmt)
    if fmt in READ_CRS:
        assert set(back["src_crs"]) == {"gcj02"}


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_csv_export_read_back_in_each_system(tmp_path, system):
    """The CSV has WGS-84, GCJ-02 and BD-09 columns; crs= picks the matching pair."""
    out = export(source_file(tmp_path, "wgs84"), "csv", tmp_path / "out.csv", "--crs", "wgs84")
    back = sp.read_stations(out, crs=system)
    assert set(back["src_crs"].dropna()) == {system}
    check_same_stations(back, "csv")
    for sid, _, lon, lat, *_ in REF:
        row = back.set_index("station_id").loc[sid]
        # 6 decimals, as every table with a site (about 0.1 m)
        assert (row["src_lon"], row["src_lat"]) == pytest.approx(to_system(lon, lat, system),
                                                                 abs=5e-7)


# Not csv/xlsx/amap: their GCJ-02/BD-09 columns come from WGS-84 rounded to 6 decimals, so the
# last digit may change between rounds (well under the 0.5 m tested above).
@pytest.mark.parametrize("fmt", ["geojson", "kml", "gpx"])
def test_second_round_trip_gives_the_same_bytes(tmp_path, fmt):
    first = export(source_file(tmp_path, "gcj02"), fmt, tmp_path / f"a.{fmt}", "--crs", "gcj02")
    second = export(first, fmt, tmp_path / f"b.{fmt}")
    assert second.read_bytes() == first.read_bytes()


def test_statuses_of_plans_survive(tmp_path):
    """A proposals file keeps existing/proposed/rejected through every format."""
    plan = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"station_id": f"p{i}", "name": f"拟建{i}",
                                           "status": status, "reason": reason},
         "geometry": {"type": "Point", "coordinates": [114.5 + i / 100, 38.04]}}
        for i, (status, reason) in enumerate([("existing", None), ("proposed", "gap on 中山路"),
                                              ("rejected", "too close")])]}
    src = tmp_path / "proposals.geojson"
    src.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    for fmt in FORMATS:
        out = export(src, fmt, tmp_path / f"o-{fmt}{SUFFIX[fmt]}")
        back = sp.station_markers(sp.read_stations(out, crs=READ_CRS.get(fmt)))
        by_id = back.set_index("station_id")
        assert by_id["status"].to_dict() == {"p0": "existing", "p1": "proposed", "p2": "rejected"}
        assert by_id["reason"].to_dict() == {"p0": "", "p1": "gap on 中山路", "p2": "too close"}
