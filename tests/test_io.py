"""GeoJSON text: the column-wise writer against the per-feature json.dumps writer."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from stationplan import _io


def _per_feature(frame, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(_io, "_feature_lines", lambda *_: None)
        return _io.geojson_text(frame)


def _lines(n, rng):
    start = np.column_stack([114 + rng.random(n), 22 + rng.random(n)])
    mid = start + rng.normal(0, 1e-3, (n, 2))
    end = mid + rng.normal(0, 1e-3, (n, 2))
    return shapely.linestrings(np.stack([start, mid, end], axis=1)[:, : 2 + (n % 2)])


def test_column_writer_is_byte_identical_to_the_per_feature_writer(monkeypatch):
    """Issue 18: the fast writer (no per-feature json.dumps) gives the same bytes, over
    the value kinds pieces carry: floats with NaN, -0.0 and tiny values, ints, bools,
    Chinese text with quotes, missing text, pandas str columns, list cells."""
    rng = np.random.default_rng(5)
    n = 500
    i = np.arange(n)
    frame = gpd.GeoDataFrame(
        {"length_m": rng.random(n) * 300, "tiny": np.where(i % 7 == 0, np.nan, 1e-7 * i),
         "neg": -0.0, "edge_id": i, "fwd": i % 2 == 0,
         "name": np.where(i % 3 == 0, '解放"路', None).astype(object),
         "status": np.where(i % 2 == 0, "covered", "gap"),
         "highway": [["a", "b"] if k == 4 else "residential" for k in i]},
        geometry=_lines(n, rng), crs=4326)
    frame["status"] = frame["status"].astype("str")
    fast = _io.geojson_text(frame)
    assert _io._feature_lines(frame.geometry.to_numpy(), frame.drop(columns="geometry"))
    assert fast == _per_feature(frame, monkeypatch)
    # and it is the data: 6 decimals, NaN as null
    first = json.loads(fast)["features"][0]
    assert first["properties"]["tiny"] is None
    assert first["geometry"]["coordinates"][0] == pytest.approx(
        shapely.get_coordinates(frame.geometry.iloc[0])[0], abs=1e-6)


def test_points_projected_and_fallback_cases(monkeypatch):
    pts = gpd.GeoDataFrame({"name": ["站", None]},
                           geometry=[shapely.Point(257_000, 2_490_000),
                                     shapely.Point(258_000, 2_491_000)], crs=32650)
    assert _io.geojson_text(pts) == _per_feature(pts, monkeypatch)
    # mixed or missing geometries go the per-feature way, with the same result
    mixed = gpd.GeoDataFrame({"k": [1, 2, 3]}, geometry=[
        shapely.Point(114, 22), shapely.LineString([(114, 22), (114.1, 22)]), None], crs=4326)
    assert _io._feature_lines(mixed.geometry.to_numpy(), mixed[["k"]]) is None
    assert json.loads(_io.geojson_text(mixed))["features"][2]["geometry"] is None


_LINES = [shapely.LineString([(0.5, 1), (2, 3.25), (4, 5)]), shapely.LineString([(6, 7), (8, 9)])]
with np.errstate(invalid="ignore"):  # shapely notes a NaN as numpy's "invalid value"
    _NAN_LINE = shapely.LineString([(np.nan, 1), (2, 3)])


@pytest.mark.parametrize("geoms", [
    _LINES,  # written from the coordinates
    [*_LINES, shapely.LineString()],  # an empty line: a point count of 0
    [shapely.LineString(), shapely.LineString()],  # only empty lines: no bbox
    [shapely.LineString([(-3.5, 1e7), (2, -4)]), _LINES[1]],  # the box from both lines
    [_NAN_LINE, _LINES[1]],  # not finite: geopandas' box
    [*_LINES, None],  # missing: shapely writes them
    [shapely.LineString([(0, 1, 2), (3, 4, 5)]), _LINES[0]],  # 3-D
    [shapely.Point(1, 2), shapely.box(0, 0, 1, 1), _LINES[1]],  # mixed types
    [],
])
@pytest.mark.parametrize("crs", [32650, None])
def test_geoparquet_bytes_are_those_of_geopandas(tmp_path, geoms, crs):
    frame = gpd.GeoDataFrame({"n": np.arange(len(geoms)), "s": ["a", None, "c"][:len(geoms)]
                              + ["d"] * (len(geoms) - 3)},
                             geometry=gpd.GeoSeries(geoms, dtype="geometry"), crs=crs)
    frame.attrs["note"] = "x"
    # (dictionaries for the text columns only, as write_geoparquet asks)
    text = ["s"] if len(geoms) else []
    frame.to_parquet(tmp_path / "theirs.parquet", index=False, use_dictionary=text)
    ours = _io.write_geoparquet(tmp_path / "ours.parquet", frame)
    assert ours.read_bytes() == (tmp_path / "theirs.parquet").read_bytes()


def test_geoparquet_with_two_geometry_columns_is_geopandas_own(tmp_path):
    # lines (their metadata from their points) beside points (geopandas' own)
    frame = gpd.GeoDataFrame({"n": [1, 2], "at": gpd.GeoSeries(
        [shapely.Point(1, 2), shapely.Point(-5, 3)], crs=32650)}, geometry=_LINES, crs=32650)
    frame.to_parquet(tmp_path / "theirs.parquet", index=False, use_dictionary=[])  # no text
    ours = _io.write_geoparquet(tmp_path / "ours.parquet", frame)
    assert ours.read_bytes() == (tmp_path / "theirs.parquet").read_bytes()


def test_geoparquet_without_geopandas_writer_helpers_is_geopandas_own(tmp_path, monkeypatch):
    """A geopandas whose writer lacks the private helpers the fast table takes: the file is
    written by geopandas itself, the same bytes."""
    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=_LINES, crs=32650)
    frame.to_parquet(tmp_path / "theirs.parquet", index=False)
    monkeypatch.setattr(_io, "_GEOPANDAS_WRITER_HELPERS", ("_create_metadata", "_gone"))
    monkeypatch.setattr(_io, "geoparquet_table", None)  # not called
    ours = _io.write_geoparquet(tmp_path / "ours.parquet", frame)
    assert ours.read_bytes() == (tmp_path / "theirs.parquet").read_bytes()
