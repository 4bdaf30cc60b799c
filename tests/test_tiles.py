"""A region too large for one task is split into tiles and added up again: the league's
row for the region equals the whole-area run (``stationplan coverage``) and the same region
partitioned whole; coverage between two tiles of one region is not cross-border; a region
with a failed tile is left out whole."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from handnet import shared_osm

import stationplan.batch as batch
from stationplan.cli import main

BUDGET = 2000  # street segments a tile's extract may hold (Chengdu has 5,098)


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from stationplan.pipeline import coverage_network

    osm = shared_osm("chengdu_center.osm.bz2")
    root = tmp_path_factory.mktemp("tiles")
    net = coverage_network(osm)
    x0, y0, x1, y1 = net.edges.total_bounds
    core = shapely.box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    gpd.GeoDataFrame({"id": ["cd"], "name": ["武侯"]}, geometry=[core], crs=net.crs).to_file(
        root / "region.gpkg")
    # stations on random streets, spread over the whole region (so over several tiles)
    rng = np.random.default_rng(4)
    lines = net.edges.geometry.to_numpy()[rng.choice(len(net.edges), 40, replace=False)]
    pts = gpd.GeoSeries(shapely.line_interpolate_point(lines, 0.5, normalized=True),
                        crs=net.crs).to_crs(4326)
    pd.DataFrame({"station_id": [f"S{i}" for i in range(len(pts))], "lon": pts.x,
                  "lat": pts.y}).to_csv(root / "stations.csv", index=False)
    for name, extra in (("tiled", ["--max-unit-edges", str(BUDGET)]), ("whole", [])):
        assert main(["partition", str(osm), str(root / "region.gpkg"), "--out",
                     str(root / f"units-{name}"), "--quiet", *extra]) == 0
        assert main(["batch", "coverage", str(root / f"units-{name}"),
                     str(root / "stations.csv"), "--out", str(root / f"out-{name}"),
                     "--scheduler", "serial", "--crs", "wgs84", "--lang", "en",
                     "--quiet"]) == 0
    return {"root": root, "osm": osm}


def test_the_tiles_fit_the_budget_and_share_the_region(region: dict[str, Path]) -> None:
    root = region["root"]
    tiles = pd.read_csv(root / "units-tiled" / "units.csv", dtype=str, keep_default_na=False)
    assert len(tiles) >= 3
    assert set(tiles["region_id"]) == {"cd"} and set(tiles["region_name"]) == {"武侯"}
    assert tiles["unit_id"].tolist() == [f"cd~{k}" for k in range(1, len(tiles) + 1)]
    assert (tiles["edges"].astype(int) <= BUDGET).all()
    cores = shapely.from_wkb(tiles["core_wkb"].tolist())
    whole = shapely.from_wkb(tiles["region_core_wkb"].iloc[0])
    # the tiles cover the region exactly, without overlapping
    assert shapely.union_all(cores).symmetric_difference(whole).area < 1e-3
    assert sum(c.area for c in cores) == pytest.approx(whole.area, rel=1e-12)
    one = pd.read_csv(root / "units-whole" / "units.csv", dtype=str, keep_default_na=False)
    assert one["unit_id"].tolist() == ["cd"] and one["region_id"].tolist() == [""]
    assert int(one["edges"].iloc[0]) > BUDGET  # what made the tiles


def test_the_league_adds_the_tiles_up_to_the_whole_run(region: dict[str, Path]) -> None:
    from stationplan import StationOptions
    from stationplan.pipeline import run_coverage

    root = region["root"]
    tiled = pd.read_csv(root / "out-tiled" / "league.csv", dtype={"unit_id": str})
    whole = pd.read_csv(root / "out-whole" / "league.csv", dtype={"unit_id": str})
    assert tiled["unit_id"].tolist() == ["cd", "total"]
    assert tiled["name"].tolist() == ["武侯", "total"]
    for col in ("demand_km", "covered_km", "covered_share", "gap_km", "cross_border_km"):
        assert tiled[col].to_numpy() == pytest.approx(whole[col].to_numpy(), abs=1e-9), col
    assert tiled["stations"].tolist() == whole["stations"].tolist() == [40, 40]
    # a station in one tile serving the next is inside the region: not cross-border
    assert tiled["cross_border_km"].iloc[0] == 0.0
    ref = run_coverage(region["osm"], root / "stations.csv",
                       station_options=StationOptions(crs="wgs84"))
    assert tiled["covered_km"].iloc[0] * 1000 == pytest.approx(ref.coverage.covered_m,
                                                               abs=1e-6)
    assert tiled["demand_km"].iloc[0] * 1000 == pytest.approx(ref.coverage.demand_m, abs=1e-6)
    # the pieces of the tiles hold every demand metre once
    pieces = pd.read_csv(root / "out-tiled" / "pieces.csv", dtype={"unit_id": str})
    assert set(pieces["unit_id"]) == {f"cd~{k}" for k in range(1, len(set(pieces["unit_id"]))
                                                                + 1)}
    demand = pieces.loc[pieces["status"].isin(["covered", "gap"]), "length_m"].sum()
    assert demand == pytest.approx(ref.coverage.demand_m, abs=1e-6)


def test_a_region_with_a_failed_tile_is_left_out_whole(
        region: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root = region["root"]
    real = batch._unit_task
    second = batch.read_units(root / "units-tiled", lazy=True)[1].unit.core

    def second_tile_fails(sub, rows, stations, core, rule, snap,  # type: ignore[no-untyped-def,unused-ignore]
                          border):
        if core.equals(second):
            msg = "disk full"
            raise OSError(msg)
        return real(sub, rows, stations, core, rule, snap, border)

    monkeypatch.setattr(batch, "_unit_task", second_tile_fails)
    assert main(["batch", "coverage", str(root / "units-tiled"), str(root / "stations.csv"),
                 "--out", str(root / "out-failed"), "--scheduler", "serial", "--crs",
                 "wgs84", "--lang", "en", "--quiet"]) == 1
    failed = pd.read_csv(root / "out-failed" / "failed.csv")
    assert failed["unit_id"].tolist() == ["cd~2"]
    assert "disk full" in failed["error"].iloc[0]
    league = pd.read_csv(root / "out-failed" / "league.csv", dtype={"unit_id": str})
    assert league["unit_id"].tolist() == ["total"]
    assert league["demand_km"].iloc[0] == 0.0
    assert pd.read_csv(root / "out-failed" / "pieces.csv").empty
