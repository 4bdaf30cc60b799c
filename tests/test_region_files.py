"""Region files as county and street offices have them: ids and names from Chinese columns,
ids read as numbers, no id column at all, and the mistakes (a repeated id, an id that cannot
name a file, a file without a CRS) as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from test_batch import _lonlat, _network

from stationplan._errors import InputError
from stationplan._i18n.cli import error_text
from stationplan.batch import region_units
from stationplan.network import StreetNetwork


@pytest.fixture(scope="module")
def net() -> StreetNetwork:
    return _network()


def _halves() -> list[shapely.Polygon]:
    """The grid of test_batch (about 1 km square) cut into a west and an east half."""
    return [shapely.Polygon([_lonlat(x0, -100), _lonlat(x1, -100), _lonlat(x1, 1100),
                             _lonlat(x0, 1100)]) for x0, x1 in ((-100, 480), (480, 1100))]


def _file(tmp_path: Path, columns: dict[str, list[object]], name: str = "regions.gpkg",
          crs: object = 4326) -> Path:
    path = tmp_path / name
    gpd.GeoDataFrame(columns, geometry=_halves(), crs=crs).to_file(path)
    return path


def test_chinese_columns_give_ids_and_names(net: StreetNetwork, tmp_path: Path) -> None:
    path = _file(tmp_path, {"区划代码": [360681.0, 360682.0], "名称": ["贵溪市", "月湖区"]})
    units = region_units(net, path)
    assert [(u.unit_id, u.name) for u in units] == [("360681", "贵溪市"), ("360682", "月湖区")]
    # the cores: the polygons in the network's CRS, by pyproj directly
    to_utm = pyproj.Transformer.from_crs(4326, net.crs, always_xy=True)
    for unit, poly in zip(units, _halves(), strict=True):
        want = shapely.transform(poly, lambda xy: np.column_stack(
            to_utm.transform(xy[:, 0], xy[:, 1])))
        assert unit.core.hausdorff_distance(want) < 1e-6
    # named columns win; a column that is not there is named in the error
    path = _file(tmp_path, {"code": ["a", "b"], "街道": ["雄石街道", "东门街道"],
                            "label": ["x", "y"]}, "named.gpkg")
    assert [(u.unit_id, u.name) for u in region_units(net, path)] == [
        ("a", "雄石街道"), ("b", "东门街道")]
    assert [(u.unit_id, u.name) for u in region_units(
        net, path, id_column="label", name_column="code")] == [("x", "a"), ("y", "b")]
    with pytest.raises(InputError, match=r"no column 'lable'; the columns are \['code', "):
        region_units(net, path, id_column="lable")


def test_without_an_id_column_the_names_are_the_ids(net: StreetNetwork, tmp_path: Path) -> None:
    path = _file(tmp_path, {"街道": ["雄石街道", "东门街道"]}, "jiedao.geojson")
    assert [(u.unit_id, u.name) for u in region_units(net, path)] == [
        ("雄石街道", "雄石街道"), ("东门街道", "东门街道")]


@pytest.mark.parametrize(("columns", "message", "chinese"), [
    ({"街道": ["东门街道", "东门街道"]},
     "regions 1 and 2 have the same id '东门街道' (column '街道'); ids must be unique",
     "第 1 个和第 2 个区域的编号都是 '东门街道'（'街道' 列）；编号不能重复"),
    ({"id": ["a/b", "c"], "name": ["A", "C"]},
     "region id 'a/b' (column 'id') cannot name a file",
     "区域编号 'a/b'（'id' 列）不能用作文件名"),
    ({"id": [None, "c"], "name": ["A", "C"]},
     "region 1 has no id (column 'id'); give every region one",
     "第 1 个区域没有编号（'id' 列）"),
    ({"area_km2": [1.5, 2.5]},
     "no column with names among ['area_km2']; name one with --name-column",
     "找不到名称列；请用 --name-column 指定"),
])
def test_mistakes_are_one_line_errors_in_both_languages(
        net: StreetNetwork, tmp_path: Path, columns: dict[str, list[object]], message: str,
        chinese: str) -> None:
    path = _file(tmp_path, columns)
    with pytest.raises(InputError) as got:
        region_units(net, path)
    text = str(got.value)
    assert message in text and "\n" not in text
    assert chinese in error_text(text, "zh")


def test_a_file_without_crs_needs_one_named(net: StreetNetwork, tmp_path: Path) -> None:
    path = _file(tmp_path, {"name": ["W", "E"]}, "regions.shp")
    path.with_suffix(".prj").unlink()  # a Shapefile sent without its .prj
    with pytest.raises(InputError, match=r"the region file has no CRS.*--regions-crs"):
        region_units(net, path)
    assert [u.unit_id for u in region_units(net, path, crs="EPSG:4326")] == ["W", "E"]
    # in GCJ-02 (as drawn on Amap): converted vertex by vertex to where the streets are
    from stationplan.chinacrs import wgs84_to_gcj02

    gcj = [shapely.transform(p, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
           for p in _halves()]
    gpath = tmp_path / "gcj.geojson"
    gpd.GeoDataFrame({"name": ["W", "E"]}, geometry=gcj, crs=4326).to_file(gpath)
    wgs = region_units(net, _file(tmp_path, {"name": ["W", "E"]}, "wgs.geojson"))
    as_wgs = region_units(net, gpath)  # the mistake: GCJ-02 read as WGS-84
    for a, b, c in zip(wgs, region_units(net, gpath, crs="gcj02"), as_wgs, strict=True):
        assert a.core.hausdorff_distance(b.core) < 0.05  # metres
        assert a.core.hausdorff_distance(c.core) > 100


def test_the_shared_street_office_file_partitions_guixi(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from handnet import shared_osm, shared_sheet

    from stationplan.cli import main

    osm, jiedao = shared_osm("guixi_county_city.osm.bz2"), shared_sheet(
        "guixi_jiedao_approx.geojson")
    names = [f["properties"]["街道"] for f in
             json.loads(jiedao.read_text(encoding="utf-8"))["features"]]
    assert main(["partition", str(osm), str(jiedao), "--out", str(tmp_path / "u"),
                 "--lang", "zh", "--quiet"]) == 0
    said = capsys.readouterr().out
    assert said.strip() == f"已把 {len(names)} 个单元（缓冲带 745 米）写入 {tmp_path / 'u'}"
    table = pd.read_csv(tmp_path / "u" / "units.csv", dtype=str)
    assert table["unit_id"].tolist() == names and table["name"].tolist() == names
    # a mistake in Chinese, on one line: a repeated name
    dup = tmp_path / "dup.geojson"
    data = json.loads(jiedao.read_text(encoding="utf-8"))
    data["features"][1]["properties"]["街道"] = names[0]
    dup.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert main(["partition", str(osm), str(dup), "--out", str(tmp_path / "v"),
                 "--lang", "zh", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"第 1 个和第 2 个区域的编号都是 '{names[0]}'" in err
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(("regions", "said"), [
    ("grid:abc", "grid:KM needs the tiles' side in km, a number > 0, not 'abc'"),
    ("grid:-2", "not '-2'"),
    ("osm-admin:six", "osm-admin:LEVEL needs an admin level, a whole number"),
    ("counties.gpkg", "counties.gpkg：找不到区域文件（或写 grid:公里数、osm-admin:行政级别）"),
])
def test_a_wrong_regions_argument_stops_before_the_network_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], regions: str, said: str) -> None:
    from stationplan.cli import main

    lang = "zh" if regions.endswith(".gpkg") else "en"
    # the network does not exist either: the regions are refused first
    assert main(["partition", str(tmp_path / "no-such.osm.pbf"), regions, "--out",
                 str(tmp_path / "u"), "--lang", lang]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err


def test_the_league_of_street_offices_is_the_reports_district_table(tmp_path: Path) -> None:
    """The same 街道 polygons, two ways: batch units with halos (the league) and the
    report's district table of the whole-city run (pieces cut by the polygons). Each
    街道's demand, covered metres and stations agree."""
    from handnet import shared_osm, shared_sheet

    from stationplan import StationOptions, batch, read_stations
    from stationplan._options import HALO_M, MAX_SNAP_M
    from stationplan.pipeline import coverage_network, run_coverage
    from stationplan.report import district_table, read_districts

    osm, sheet = shared_osm("guixi_county_city.osm.bz2"), shared_sheet("guixi_stations.xlsx")
    jiedao = shared_sheet("guixi_jiedao_approx.geojson")
    whole = run_coverage(osm, sheet, station_options=StationOptions(crs="gcj02"))
    table = district_table(whole.coverage, read_districts(jiedao))
    net = coverage_network(osm)
    batch.partition(net, region_units(net, jiedao), tmp_path / "units", halo_m=HALO_M)
    res = batch.batch_coverage_extracts(
        batch.read_units(tmp_path / "units"), read_stations(sheet, crs="gcj02"),
        rule=whole.coverage.rule, max_snap_m=MAX_SNAP_M, scheduler="serial")
    league = res.league.set_index("unit_id")
    assert len(table["rows"]) == len(league) - 1 == 3
    for row in table["rows"]:  # the report gives metres to the millimetre
        got = league.loc[row["district"]]
        assert got["demand_km"] * 1000 == pytest.approx(row["demand_m"], abs=5e-4)
        assert got["covered_km"] * 1000 == pytest.approx(row["covered_m"], abs=5e-4)
        assert got["stations"] == row["stations"]
