"""The planner's page API (stationplan serve) on the shared Guixi extract and office sheet:
after every step the page's share is the command line's (``stationplan coverage`` run on
the same station set, exported as a CSV) to 1e-9."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
from handnet import shared_osm, shared_sheet
from starlette.testclient import TestClient

from stationplan import pipeline
from stationplan._options import StationOptions
from stationplan.cli import main
from stationplan.serve import create_app

GUIXI = "guixi_county_city.osm.bz2"
SHEET = "guixi_stations.xlsx"
# Two of the Guixi proposal sites (guixi_proposals.xlsx #3 and #4, as WGS-84 after the
# GCJ-02 shift, rounded), both on streets the office stations leave uncovered.
SITE_A = (117.246958, 28.284816)
SITE_B = (117.237791, 28.294212)


def wait(client: TestClient, job: int, timeout_s: float = 120.0) -> dict[str, Any]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        j = client.get(f"/api/jobs/{job}").json()
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish")


def write_csv(stations: list[dict[str, Any]], path: Path) -> Path:
    """The page's stations as a CSV the command line reads (lon/lat with every digit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["station_id", "name", "lon", "lat"])
        for s in stations:
            w.writerow([s["station_id"], s["name"], repr(s["lon"]), repr(s["lat"])])
    return path


def engine_share(run: Any) -> float:
    cov = run.coverage
    return cov.covered_m / (cov.covered_m + cov.gap_m)


def coverage_share(network: Path, stations: list[dict[str, Any]], folder: Path) -> float:
    """What ``stationplan coverage NETWORK stations.csv --crs wgs84`` computes
    (:func:`stationplan.pipeline.run_coverage`, the command's whole job, without writing
    its files), unrounded."""
    path = write_csv(stations, folder / "stations.csv")
    return engine_share(pipeline.run_coverage(
        network, path, station_options=StationOptions(crs="wgs84")))


def cli_share(network: Path, stations: Path, folder: Path, monkeypatch: pytest.MonkeyPatch,
              *args: str) -> tuple[float, dict[str, Any]]:
    """``stationplan coverage NETWORK STATIONS *args --out FOLDER`` run by the command
    line: the share of its own run (captured unrounded as the command gets it back) and
    its summary.json."""
    runs: list[Any] = []
    real = pipeline.run_coverage

    def spy(*a: Any, **k: Any) -> Any:
        runs.append(real(*a, **k))
        return runs[-1]

    monkeypatch.setattr(pipeline, "run_coverage", spy)
    code = main(["coverage", str(network), str(stations), *args, "--out", str(folder),
                 "--quiet"])
    monkeypatch.setattr(pipeline, "run_coverage", real)
    assert code == 0
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return engine_share(runs[0]), summary


@pytest.fixture(scope="module")
def guixi(tmp_path_factory):
    osm, sheet = shared_osm(GUIXI), shared_sheet(SHEET)
    folder = tmp_path_factory.mktemp("guixi-project")
    client = TestClient(create_app(folder))
    with osm.open("rb") as fh:
        r = client.post("/api/network", files={"file": (osm.name, fh)})
    assert r.status_code == 200
    job = wait(client, r.json()["job"])
    assert job["state"] == "done", job["message"]
    return client, osm, sheet, folder


def test_the_whole_flow_matches_the_command_line(guixi, tmp_path, monkeypatch):
    client, osm, sheet, _ = guixi
    state = client.get("/api/state").json()
    assert state["network"]["file"] == osm.name and state["lang"] == "zh"
    assert state["stations"] == [] and state["figures"]["share"] == 0.0

    # the sheet is read, not imported: nothing computed before the system is confirmed
    with sheet.open("rb") as fh:
        r = client.post("/api/sheets", files={"file": (sheet.name, fh)})
    assert r.status_code == 200
    read = r.json()
    assert (read["rows"], read["crs_read"], read["crs_from"], read["suggest"]) == (
        11, "gcj02", "note", "gcj02")
    after_read = client.get("/api/state").json()
    assert after_read["stations"] == [] and after_read["figures"]["share"] == 0.0
    assert not after_read["can_undo"]

    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "gcj02"})
    assert r.status_code == 200
    state = r.json()["state"]
    assert len(state["stations"]) == 11 and r.json()["rejected"] == []
    # the command line on the office sheet itself, read as GCJ-02
    share, _ = cli_share(osm, sheet, tmp_path / "office", monkeypatch, "--crs", "gcj02")
    assert abs(state["figures"]["share"] - share) <= 1e-9

    steps = [
        ("add", lambda: client.post("/api/stations", json={"lon": SITE_A[0], "lat": SITE_A[1],
                                                           "name": "菜市场"})),
        ("move", lambda: client.patch("/api/stations/new-1",
                                      json={"lon": SITE_B[0], "lat": SITE_B[1]})),
        ("delete", lambda: client.delete("/api/stations/1")),
        ("undo", lambda: client.post("/api/undo")),
        ("redo", lambda: client.post("/api/redo")),
    ]
    shares = [state["figures"]["share"]]
    for i, (what, call) in enumerate(steps):
        r = call()
        assert r.status_code == 200, (what, r.text)
        update = r.json()
        state = client.get("/api/state").json()
        assert update["figures"] == state["figures"] and update["version"] == state["version"]
        share = coverage_share(osm, state["stations"], tmp_path / f"{i}-{what}")
        assert abs(update["figures"]["share"] - share) <= 1e-9, what
        shares.append(share)
    # the steps did change the coverage: the new site adds, deleting station 1 takes away
    assert shares[1] > shares[0] and shares[3] < shares[2]
    assert shares[4] == pytest.approx(shares[2], abs=1e-12)
    assert shares[5] == pytest.approx(shares[3], abs=1e-12)
    # and the command line itself on the last station set, with its rounded summary
    share, summary = cli_share(osm, write_csv(state["stations"], tmp_path / "last.csv"),
                               tmp_path / "last", monkeypatch, "--crs", "wgs84")
    assert abs(update["figures"]["share"] - share) <= 1e-9
    assert summary["covered_share"] == round(update["figures"]["share"], 6)
    assert summary["stations_used"] == update["figures"]["stations_ok"]
    # the Update's pieces are the recomputed edges' pieces, in WGS-84
    feats = update["pieces"]["features"]
    assert {f["properties"]["edge_id"] for f in feats} <= set(update["edges"])
    lon, lat = feats[0]["geometry"]["coordinates"][0]
    assert 117.1 < lon < 117.4 and 28.1 < lat < 28.4


def test_a_sheet_in_amap_coordinates_without_a_note_asks_first(guixi, tmp_path):
    """The sheet's numbers without its note: read as WGS-84 they sit ~620 m off the
    streets; the detector fires and suggests GCJ-02 before anything is computed."""
    from stationplan.stations import read_stations

    client, _, sheet, _ = guixi
    rows = read_stations(sheet)
    path = tmp_path / "no-note.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["名称", "经度", "纬度"])
        for _, r in rows.iterrows():
            w.writerow([r["name"], r["src_lon"], r["src_lat"]])
    before = client.get("/api/state").json()
    with path.open("rb") as fh:
        r = client.post("/api/sheets", files={"file": ("no-note.csv", fh)})
    read = r.json()
    assert read["crs_from"] == "assumed" and read["crs_read"] == "wgs84"
    assert read["detector"]["fired"] and read["suggest"] == "gcj02"
    assert "GCJ-02" in read["detector"]["message"]
    after = client.get("/api/state").json()
    assert after["stations"] == before["stations"] and after["figures"] == before["figures"]


def test_gaps_and_coverage_layers(guixi):
    client, *_ = guixi
    fc = client.get("/api/coverage").json()
    props = [f["properties"] for f in fc["features"]]
    state = client.get("/api/state").json()
    covered = sum(p["length_m"] for p in props if p["status"] == "covered")
    gap = sum(p["length_m"] for p in props if p["status"] == "gap")
    assert covered == pytest.approx(state["figures"]["covered_m"], abs=1e-6)
    assert gap == pytest.approx(state["figures"]["gap_m"], abs=1e-6)
    gaps = client.get("/api/gaps").json()["gaps"]
    lengths = [g["length_m"] for g in gaps]
    assert lengths == sorted(lengths, reverse=True) and [g["gap_id"] for g in gaps][:1] == [1]
    assert sum(lengths) == pytest.approx(gap, rel=1e-9)


def test_errors_are_one_line_in_the_project_language(guixi):
    client, *_ = guixi
    r = client.delete("/api/stations/no-such")
    assert r.status_code == 404
    assert r.json() == {"error": "本方案中没有站点 no-such", "code": "no_station"}
    r = client.post("/api/stations", json={"lon": "east", "lat": 28})
    assert r.status_code == 400 and "\n" not in r.json()["error"]
    assert r.json()["code"] == "bad_lonlat"
    r = client.post("/api/plan", json={"k": 0})
    assert r.status_code == 400 and r.json()["code"] == "bad_plan"
    r = client.post("/api/sheets/999/confirm", json={"crs": "gcj02"})
    assert r.status_code == 404 and r.json()["error"] == "没有编号为 999 的站点表"


def test_scenarios_compare_with_their_own_figures(guixi):
    client, *_ = guixi
    base = client.get("/api/state").json()
    first = base["scenario"]["id"]
    r = client.post("/api/scenarios", json={"name": "少一站", "from": first})
    second = r.json()["scenario"]["id"]
    victim = base["stations"][0]["station_id"]
    client.delete(f"/api/stations/{victim}")
    cmp = client.get(f"/api/compare?a={first}&b={second}").json()
    assert cmp["a"]["share"] == base["figures"]["share"]
    assert cmp["b"]["share"] == client.get("/api/state").json()["figures"]["share"]
    assert cmp["a"]["added"] == [victim] and cmp["b"]["removed"] == [victim]
    assert cmp["b"]["stations"] == cmp["a"]["stations"] - 1
    client.post(f"/api/scenarios/{first}/open")
    assert client.get("/api/state").json()["stations"] == base["stations"]
