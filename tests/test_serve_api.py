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
    # undo of the delete put station 1 back; redo deleted it again
    assert (update["op"], update["station_id"]) == ("delete", "1")
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


def catchments(pieces: list[dict[str, Any]]) -> dict[str, float]:
    """Covered metres per serving station."""
    out: dict[str, float] = {}
    for p in pieces:
        if p["status"] == "covered":
            out[str(p["station_id"])] = out.get(str(p["station_id"]), 0.0) + p["length_m"]
    return out


def test_an_undone_delete_puts_the_station_back_in_its_place(guixi, tmp_path):
    """Two stations on one spot serve in their order: the first one serves, the second
    none. Delete the first and undo: it is back first and serves again, as a full run on
    the stored list says (its pieces are not handed to the twin added after it)."""
    client, osm, sheet, _ = guixi
    if not client.get("/api/state").json()["stations"]:  # run on its own: the sheet first
        with sheet.open("rb") as fh:
            read = client.post("/api/sheets", files={"file": (sheet.name, fh)}).json()
        client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "gcj02"})
    first = next(s for s in client.get("/api/state").json()["stations"]
                 if s["status"] == "ok")
    r = client.post("/api/stations", json={"lon": first["lon"], "lat": first["lat"],
                                           "name": "twin"})
    twin = r.json()["station_id"]
    assert r.headers["server-timing"] == f"compute;dur={r.json()['compute_ms']:.3f}"
    client.delete(f"/api/stations/{first['station_id']}")
    client.post("/api/undo")
    state = client.get("/api/state").json()
    ids = [s["station_id"] for s in state["stations"]]
    assert ids.index(first["station_id"]) < ids.index(twin)
    served = catchments([f["properties"] for f in
                         client.get("/api/coverage").json()["features"]])
    path = write_csv(state["stations"], tmp_path / "stations.csv")
    run = pipeline.run_coverage(osm, path, station_options=StationOptions(crs="wgs84"))
    full = catchments(run.coverage.pieces.to_dict("records"))
    assert served[first["station_id"]] > 100 and twin not in served
    assert served.keys() == full.keys()
    assert all(abs(served[k] - full[k]) < 1e-6 for k in full)
    client.delete(f"/api/stations/{twin}")


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
    named = [{"station_id": victim, "name": base["stations"][0]["name"]}]
    assert cmp["a"]["added"] == named and cmp["b"]["removed"] == named
    assert cmp["b"]["stations"] == cmp["a"]["stations"] - 1
    client.post(f"/api/scenarios/{first}/open")
    assert client.get("/api/state").json()["stations"] == base["stations"]


def test_a_file_that_is_no_network_fails_its_job_and_is_not_kept(tmp_path):
    client = TestClient(create_app(tmp_path / "proj", lang="en"))
    r = client.post("/api/network", files={"file": ("streets.osm", b"this is not OSM")})
    job = wait(client, r.json()["job"])
    assert job["state"] == "failed" and "\n" not in job["message"] and job["message"]
    assert client.get("/api/networks").json() == {"cached": []}
    state = client.get("/api/state").json()
    assert state["network"] is None and state["loading"] is None and state["lang"] == "en"
    r = client.post("/api/stations", json={"lon": 117.2, "lat": 28.3})
    assert r.status_code == 409
    assert r.json() == {"error": "no network is loaded yet; choose a network first",
                        "code": "no_network"}


def test_the_language_chosen_on_the_page_is_kept(tmp_path):
    folder = tmp_path / "proj"
    client = TestClient(create_app(folder))
    assert client.get("/api/state").json()["lang"] == "zh"
    assert client.get("/", params={"lang": "en"}).status_code == 200
    assert TestClient(create_app(folder)).get("/api/state").json()["lang"] == "en"
    assert client.post("/api/lang", json={"lang": "zh"}).json() == {"lang": "zh"}
    assert TestClient(create_app(folder)).get("/api/state").json()["lang"] == "zh"


def test_downloads_carry_the_current_stations(guixi, tmp_path):
    """The Amap sheet gives back the office sheet's own GCJ-02 numbers (6 decimals) for
    the stations imported from it; the GeoPackage and the tables hold the current set."""
    import io

    import openpyxl
    import pyogrio

    client, _, sheet, folder = guixi
    if not any(s["source"] == "sheet" for s in client.get("/api/state").json()["stations"]):
        with sheet.open("rb") as fh:  # run alone: the office sheet first
            read = client.post("/api/sheets", files={"file": (sheet.name, fh)}).json()
        client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "gcj02"})
    hostile = '=HYPERLINK("http://evil.example")<script>\u202e'
    r = client.post("/api/stations", json={"lon": SITE_B[0], "lat": SITE_B[1], "name": hostile})
    assert r.status_code == 200 and r.json()["station"]["name"] == hostile
    state = client.get("/api/state").json()
    r = client.get("/api/download/amap.xlsx")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="amap.xlsx"'
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0].values)
    header, body = rows[0], rows[1:]
    got = {row[header.index("名称")]: (row[header.index("经度")], row[header.index("纬度")])
           for row in body}
    office = list(openpyxl.load_workbook(sheet).worksheets[0].values)
    top = next(i for i, row in enumerate(office) if row and "站点名称" in row)
    cols = office[top]
    given = {row[cols.index("站点名称")]: (row[cols.index("经度")], row[cols.index("纬度")])
             for row in office[top + 1:] if row and row[cols.index("站点名称")]
             and isinstance(row[cols.index("经度")], float)}
    names = {s["name"] for s in state["stations"]}
    assert set(got) == names
    shared = names & set(given)
    assert len(shared) >= 8
    for name in shared:
        assert got[name] == pytest.approx(given[name], abs=1.5e-6), name
    assert (folder / "downloads" / "amap.xlsx").read_bytes() == r.content

    r = client.get("/api/download/project.gpkg")
    path = tmp_path / "p.gpkg"
    path.write_bytes(r.content)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["stations", "pieces", "gaps"]
    st = pyogrio.read_dataframe(path, layer="stations")
    assert sorted(st["station_id"]) == sorted(s["station_id"] for s in state["stations"])
    pieces = pyogrio.read_dataframe(path, layer="pieces")
    covered = pieces.loc[pieces["status"] == "covered", "length_m"].sum()
    assert covered == pytest.approx(state["figures"]["covered_m"], abs=1e-6)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/download/tables.xlsx").content))
    cells = [row for row in book["站点"].iter_rows(min_row=2) if row[1].value == hostile]
    assert len(cells) == 1 and cells[0][1].data_type == "s"  # text, never a formula
    assert client.get("/api/download/nothing.exe").status_code == 404
    assert sorted(p.name for p in (folder / "downloads").iterdir()) == [
        "amap.xlsx", "project.gpkg", "tables.xlsx"]  # no temporary file left behind


def test_propose_and_accept_then_check_a_proposals_sheet(tmp_path, monkeypatch):
    """On a fresh project with the office sheet: "propose 2" runs the planner in the
    background; accepting its first site gives the share the plan says rank 1 reaches and
    the command line computes; the proposals sheet gets the verdicts its README states."""
    osm, sheet = shared_osm(GUIXI), shared_sheet(SHEET)
    proposals = shared_sheet("guixi_proposals.xlsx")
    client = TestClient(create_app(tmp_path / "proj"))
    with osm.open("rb") as fh:
        assert wait(client, client.post("/api/network", files={"file": (osm.name, fh)})
                    .json()["job"])["state"] == "done"
    with sheet.open("rb") as fh:
        read = client.post("/api/sheets", files={"file": (sheet.name, fh)}).json()
    client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "gcj02"})

    job = client.post("/api/plan", json={"k": 2}).json()["job"]
    plan = wait(client, job)
    assert plan["state"] == "done", plan["message"]
    sites = plan["result"]["proposals"]
    assert [p["rank"] for p in sites] == [1, 2] and all(p["gain_m"] > 0 for p in sites)
    assert plan["result"]["certified"] in ("optimal", "within")
    r = client.post(f"/api/proposals/{job}/1/accept")
    assert r.status_code == 200
    share = r.json()["figures"]["share"]
    assert share == pytest.approx(sites[0]["cumulative_share"], abs=1e-6)
    state = client.get("/api/state").json()
    assert abs(share - coverage_share(osm, state["stations"], tmp_path / "acc")) <= 1e-9
    again = client.post(f"/api/proposals/{job}/1/accept")  # a double click changes nothing
    assert again.status_code == 200 and again.json()["figures"]["share"] == share
    assert client.post(f"/api/proposals/{job}/2/reject").json()["status"] == "rejected"
    listed = client.get(f"/api/jobs/{job}").json()["result"]["proposals"]
    assert [(p["status"], p["station_id"]) for p in listed] == [
        ("accepted", "plan-1"), ("rejected", None)]
    assert client.post("/api/undo").json()["figures"]["share"] == pytest.approx(
        plan["result"]["share_before"], abs=1e-6)

    with proposals.open("rb") as fh:
        job = client.post("/api/check", files={"file": (proposals.name, fh)},
                          data={"crs": "gcj02"}).json()["job"]
    check = wait(client, job)
    assert check["state"] == "done", check["message"]
    verdicts = [s["verdict"] for s in check["result"]["sites"]]
    # by hand (haversine on the sheets' GCJ-02 numbers, whose offset cancels over a few
    # hundred metres): #1 is 7 m from station 1, #4 is 199 m from it (the spacing rule is
    # 500 m), #5 924 m; #2 stands in the rail yard ~420 m from any street (sheet README)
    assert verdicts[0] in ("redundant", "too_close") and verdicts[1] == "off_network"
    assert verdicts[2:] == ["accept", "too_close", "accept"]
    assert all(s["reason"] for s in check["result"]["sites"])


def test_a_second_server_on_the_folder_restores_the_project(guixi):
    """A server started on the project folder again (as after a restart) loads the
    recorded network in the background and comes back with the same stations, figures
    and undo history."""
    client, _, _, folder = guixi
    before = client.get("/api/state").json()
    again = TestClient(create_app(folder))
    first = again.get("/api/state").json()
    assert first["loading"] is not None  # the page answers while the network loads
    assert [s["station_id"] for s in first["stations"]] == [
        s["station_id"] for s in before["stations"]]
    assert wait(again, first["loading"])["state"] == "done"
    after = again.get("/api/state").json()
    for key in ("stations", "figures", "can_undo", "can_redo", "network", "scenario"):
        assert after[key] == before[key], key


def with_network(folder: Path) -> TestClient:
    """A new project on the Guixi network, no station yet."""
    osm = shared_osm(GUIXI)
    client = TestClient(create_app(folder))
    with osm.open("rb") as fh:
        assert wait(client, client.post("/api/network", files={"file": (osm.name, fh)})
                    .json()["job"])["state"] == "done"
    return client


def fresh_project(folder: Path) -> TestClient:
    """A new project on the Guixi network with the office sheet imported (GCJ-02)."""
    sheet = shared_sheet(SHEET)
    client = with_network(folder)
    with sheet.open("rb") as fh:
        read = client.post("/api/sheets", files={"file": (sheet.name, fh)}).json()
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "gcj02"})
    assert r.status_code == 200
    return client


def counts(client: TestClient, folder: Path) -> dict[int, int]:
    """Stations per scenario, counted in the project database itself."""
    import sqlite3

    with sqlite3.connect(folder / "project.sqlite") as db:
        return dict(db.execute("SELECT scenario_id, COUNT(*) FROM stations "
                               "GROUP BY scenario_id ORDER BY scenario_id").fetchall())


def test_an_edit_from_a_tab_showing_another_scenario_is_refused(tmp_path):
    """Tab B shows scenario 空白 (a copy of 现状); tab A then opens 现状. B's delete, undo,
    add, plan and check name the scenario B shows: they are refused with a message naming
    both scenarios, and no scenario changes. Once B opens its scenario again, its delete
    lands there and only there (sweep item 1)."""
    folder = tmp_path / "proj"
    client = fresh_project(folder)
    base = client.get("/api/state").json()["scenario"]["id"]
    blank = client.post("/api/scenarios", json={"name": "空白", "from": base}).json()
    tab_b = blank["scenario"]["id"]
    assert counts(client, folder) == {base: 11, tab_b: 11}  # the sheet's 11 rows
    client.post(f"/api/scenarios/{base}/open")  # tab A switches
    before = client.get("/api/state").json()
    victim = before["stations"][7]["station_id"]
    for method, path, kw in (
            ("DELETE", f"/api/stations/{victim}", {}),
            ("PATCH", f"/api/stations/{victim}", {"json": {"lon": SITE_A[0], "lat": SITE_A[1]}}),
            ("POST", "/api/stations", {"json": {"lon": SITE_A[0], "lat": SITE_A[1]}}),
            ("POST", "/api/undo", {}), ("POST", "/api/plan", {"json": {"k": 2}})):
        r = client.request(method, path, params={"scenario": tab_b}, **kw)
        assert r.status_code == 409, (method, path, r.text)
        assert r.json()["code"] == "scenario_changed"
        assert "空白" in r.json()["error"] and "现状" in r.json()["error"]
    with shared_sheet("guixi_proposals.xlsx").open("rb") as fh:
        r = client.post("/api/check", params={"scenario": tab_b},
                        files={"file": ("p.xlsx", fh)}, data={"crs": "gcj02"})
    assert r.status_code == 409
    assert counts(client, folder) == {base: 11, tab_b: 11}
    after = client.get("/api/state").json()
    assert after["stations"] == before["stations"] and after["figures"] == before["figures"]
    # the edit named the scenario A shows: it goes there
    r = client.delete(f"/api/stations/{victim}", params={"scenario": base})
    assert r.status_code == 200
    assert counts(client, folder) == {base: 10, tab_b: 11}
    # B opens its own scenario again: its delete lands in 空白
    client.post(f"/api/scenarios/{tab_b}/open")
    assert client.delete(f"/api/stations/{victim}", params={"scenario": tab_b}).status_code == 200
    assert counts(client, folder) == {base: 10, tab_b: 10}
    assert client.post("/api/undo", params={"scenario": base}).status_code == 409
    assert counts(client, folder) == {base: 10, tab_b: 10}
    # a download names the scenario too: a tab showing another one gets no file of a
    # scenario it does not see; the one shown gets its own (the Amap sheet's 10 rows)
    r = client.get("/api/download/amap.xlsx", params={"scenario": base})
    assert r.status_code == 409 and r.json()["code"] == "scenario_changed"
    r = client.get("/api/download/amap.xlsx", params={"scenario": tab_b})
    assert r.status_code == 200
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sum(1 for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]) == 10


def test_the_plan_and_check_come_back_after_a_restart_and_one_plan_runs_at_once(
        tmp_path, monkeypatch):
    """A double click sends two plans: the second gets the running job, and only one plan
    job exists. A reload during the plan finds that job. After a restart the page gets the
    plan with the statuses given (accepted, rejected, proposed) and the check's verdicts
    back. The plan is the command line's (`plan --new-sites 3`): same sites, same share,
    and its certificate sentence in the page's language (sweep items 2, 3, 4)."""
    import sqlite3

    from stationplan._i18n import plan_certificate

    folder = tmp_path / "proj"
    client = fresh_project(folder)
    sc = client.get("/api/state").json()["scenario"]["id"]
    assert client.get(f"/api/scenarios/{sc}/latest").json() == {"plan": None, "check": None}
    first = client.post("/api/plan", json={"k": 3}, params={"scenario": sc}).json()
    second = client.post("/api/plan", json={"k": 3}, params={"scenario": sc}).json()
    assert second == {"job": first["job"], "running": True} and not first["running"]
    running = client.get(f"/api/scenarios/{sc}/latest").json()["plan"]
    assert running["id"] == first["job"] and running["state"] in ("queued", "running", "done")
    job = first["job"]
    plan = wait(client, job)
    assert plan["state"] == "done", plan["message"]
    with sqlite3.connect(folder / "project.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM jobs WHERE kind='plan'").fetchone()[0] == 1

    # the command line on the same stations
    out = tmp_path / "cli-plan"
    stations = write_csv(client.get("/api/state").json()["stations"], tmp_path / "s.csv")
    assert main(["plan", str(shared_osm(GUIXI)), str(stations), "--crs", "wgs84",
                 "--new-sites", "3", "--out", str(out), "--quiet"]) == 0
    cli = json.loads((out / "plan_summary.json").read_text(encoding="utf-8"))
    cli_sites = json.loads((out / "proposals.geojson").read_text(encoding="utf-8"))
    res = plan["result"]
    assert res["share_after"] == pytest.approx(cli["coverage_after"], abs=1e-9)
    assert [(round(p["lon"], 6), round(p["lat"], 6)) for p in res["proposals"]] == [
        tuple(round(c, 6) for c in f["geometry"]["coordinates"]) for f in cli_sites["features"]]
    assert res["optimal_for"] == plan_certificate(cli, "zh")
    if cli["certified"] == "optimal":
        assert res["optimal_for"].startswith("已证明最优")

    client.post(f"/api/proposals/{job}/1/accept", params={"scenario": sc})
    client.post(f"/api/proposals/{job}/2/reject", params={"scenario": sc})
    with shared_sheet("guixi_proposals.xlsx").open("rb") as fh:
        check = client.post("/api/check", params={"scenario": sc},
                            files={"file": ("guixi_proposals.xlsx", fh)},
                            data={"crs": "gcj02"}).json()["job"]
    verdicts = [s["verdict"] for s in wait(client, check)["result"]["sites"]]

    again = TestClient(create_app(folder))  # a restart
    latest = again.get(f"/api/scenarios/{sc}/latest").json()
    assert latest["plan"]["id"] == job and latest["plan"]["state"] == "done"
    assert [p["status"] for p in latest["plan"]["result"]["proposals"]] == [
        "accepted", "rejected", "proposed"]
    assert latest["plan"]["result"]["proposals"][0]["station_id"] == "plan-1"
    assert latest["check"]["id"] == check
    assert [s["verdict"] for s in latest["check"]["result"]["sites"]] == verdicts
    assert len(verdicts) == 5  # the five rows of guixi_proposals.xlsx
    # another scenario has no plan of its own
    other = again.post("/api/scenarios", json={"name": "新", "from": sc}).json()
    assert again.get(f"/api/scenarios/{other['scenario']['id']}/latest").json() == {
        "plan": None, "check": None}


def test_files_the_page_cannot_use_are_said_in_the_page_words(tmp_path):
    """Under zh a wrong file gets a Chinese message that names the file as the user gave
    it: no server path, no Python argument, no command-line option (sweep item 5); the
    detector's advice is the dialog's choice, not --crs (item 6)."""
    folder = tmp_path / "proj"
    client = fresh_project(folder)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    forbidden = (str(folder), "inputs/", "--", "crs=", "lon_col", "_col", "pass ")

    # the only Latin words: file names and types, and the formats a planner knows
    allowed = {"png", "csv", "xlsx", "xls", "osm", "pbf", "bz", "gpkg", "shp", "geojson",
               "Excel", "WPS", "CSV", "GeoJSON", "KML", "GPX", "lon", "lat", "empty",
               "wrong_headers", "OSM"}

    def clean(message: str) -> str:
        import re

        assert not any(w in message for w in forbidden), message
        assert set(re.findall(r"[A-Za-z_]+", message)) <= allowed, message
        return message

    r = client.post("/api/sheets", files={"file": ("截图.png", png)})
    assert r.status_code == 400
    assert clean(r.json()["error"]).startswith("截图.png 不是站点表格")
    r = client.post("/api/sheets", files={"file": ("wrong_headers.csv",
                                                   "单位,负责人,备注\n甲,乙,丙\n".encode())})
    assert r.status_code == 400
    assert "表格中找不到经度/纬度列" in clean(r.json()["error"])
    r = client.post("/api/sheets", files={"file": ("empty.csv", b"")})
    assert r.status_code == 400 and clean(r.json()["error"]).startswith("empty.csv")
    with shared_sheet(SHEET).open("rb") as fh:  # a station sheet given as the network
        job = client.post("/api/network", files={"file": ("驿站.xlsx", fh)}).json()["job"]
    failed = wait(client, job)
    assert failed["state"] == "failed"
    assert clean(failed["message"]).startswith("驿站.xlsx 不是路网文件")
    # the network stays the one loaded before
    assert client.get("/api/state").json()["network"]["file"] == GUIXI
    job = client.post("/api/check", files={"file": ("截图.png", png)},
                      data={"crs": "gcj02"}).json()["job"]
    failed = wait(client, job)
    assert failed["state"] == "failed"
    assert clean(failed["message"]).startswith("截图.png 不是站点表格")

    # the sheet's numbers without its note, read as WGS-84: the detector says what to
    # choose in the dialog
    from stationplan.stations import read_stations

    rows = read_stations(shared_sheet(SHEET))
    text = "名称,经度,纬度\n" + "".join(f"{r['name']},{r['src_lon']},{r['src_lat']}\n"
                                      for _, r in rows.iterrows())
    read = client.post("/api/sheets", files={"file": ("no-note.csv", text.encode())}).json()
    message = read["detector"]["message"]
    assert read["detector"]["fired"] and "请在下面选择 GCJ-02" in message
    assert "--crs" not in message and "crs=" not in message and "） " not in message


def test_wgs84_chosen_against_the_sheets_note_is_warned_and_its_rows_counted(tmp_path):
    """The office sheet says GCJ-02 in its note; confirmed as WGS-84 the import warns
    (as the command line does), and the three stations that then sit too far from every
    street are counted among the rows not used, with their sheet rows — those the
    command line's stations.geojson gives for `--crs wgs84` (sweep item 7)."""
    osm, sheet = shared_osm(GUIXI), shared_sheet(SHEET)
    client = with_network(tmp_path / "proj")
    with sheet.open("rb") as fh:
        read = client.post("/api/sheets", files={"file": (sheet.name, fh)}).json()
    assert (read["crs_read"], read["crs_from"]) == ("gcj02", "note")
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "wgs84"})
    assert r.status_code == 200
    warnings = r.json()["warnings"]
    assert any("说明写明坐标系为 GCJ-02" in w and "WGS-84" in w for w in warnings)
    assert any("这些坐标看起来是 GCJ-02" in w for w in warnings)
    assert not any("--" in w or "crs=" in w for w in warnings)
    out = tmp_path / "cli"
    assert main(["coverage", str(osm), str(sheet), "--crs", "wgs84", "--out", str(out),
                 "--quiet"]) == 0
    cli = json.loads((out / "stations.geojson").read_text(encoding="utf-8"))
    far = sorted((f["properties"]["row"], f["properties"]["station_id"])
                 for f in cli["features"] if f["properties"]["status"] != "ok")
    assert far == [(3, "1"), (8, "6"), (9, "7")]
    got = sorted((x["row"], x["station_id"]) for x in r.json()["rejected"])
    assert got == far
    line = r.json()["state"]["sheets"][-1]
    assert (line["rows"], line["ok"], line["rejected"]) == (11, 8, 3)


def test_a_sheet_whose_stations_are_there_already_is_not_doubled_silently(tmp_path):
    """The GBK CSV holds the same 11 stations as the office sheet (sheets README). Confirmed
    after the sheet, it is refused with the count, and nothing is imported; "skip" imports
    none of them, "keep" doubles them as asked (sweep item 8)."""
    folder = tmp_path / "proj"
    client = fresh_project(folder)
    sc = client.get("/api/state").json()["scenario"]["id"]

    def read_gbk() -> dict[str, Any]:
        with shared_sheet("guixi_stations_gbk.csv").open("rb") as fh:
            return client.post("/api/sheets", files={"file": ("guixi_stations_gbk.csv", fh)}
                               ).json()

    read = read_gbk()
    assert read["ok"] == 11
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "gcj02"})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_stations"
    assert r.json()["error"].startswith("表格的 11 个站点中有 11 个已在本方案中")
    assert counts(client, folder) == {sc: 11}
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm",
                    json={"crs": "gcj02", "duplicates": "skip"})
    assert r.status_code == 200 and counts(client, folder) == {sc: 11}
    read = read_gbk()
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm",
                    json={"crs": "gcj02", "duplicates": "keep"})
    assert r.status_code == 200 and counts(client, folder) == {sc: 22}
    # a station moved 300 m (the same name) is no repeat: that row imports without asking
    client.post("/api/undo")
    client.patch("/api/stations/1", json={"lon": 117.2436, "lat": 28.2868})
    client.delete("/api/stations/2")
    read = read_gbk()
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm", json={"crs": "gcj02"})
    assert r.status_code == 409 and "中有 9 个" in r.json()["error"]
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm",
                    json={"crs": "gcj02", "duplicates": "skip"})
    assert {s["name"] for s in r.json()["state"]["stations"] if s["source"] == "sheet"
            and s["station_id"].startswith(f"{read['sheet_id']}-")} == {
        "贵溪市总工会爱心驿站"} and counts(client, folder) == {sc: 12}


def test_the_downloads_speak_the_page_language_and_mark_planned_sites(tmp_path):
    """Under zh the tables download has Chinese sheets; its gap sheet is the command
    line's gaps.xlsx for the same stations, its station sheet gives the office sheet's own
    GCJ-02 numbers, its share the command line's. In both it and the Amap sheet a station
    added on the map and an accepted proposal are planned (拟建), the proposal with its
    rank, not existing stations (sweep items 11, 12)."""
    import io

    import openpyxl

    folder = tmp_path / "proj"
    client = fresh_project(folder)
    osm, sheet = shared_osm(GUIXI), shared_sheet(SHEET)
    client.post("/api/stations", json={"lon": SITE_A[0], "lat": SITE_A[1], "name": "A加的"})
    job = client.post("/api/plan", json={"k": 2}).json()["job"]
    assert wait(client, job)["state"] == "done"
    accepted = client.post(f"/api/proposals/{job}/2/accept").json()["station"]
    state = client.get("/api/state").json()

    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/download/amap.xlsx").content))
    rows = list(book.worksheets[0].values)
    head = rows[0]
    kinds = {r[head.index("名称")]: (r[head.index("类型")], r[head.index("状态")],
                                    r[head.index("方案序号")]) for r in rows[1:]}
    assert kinds["A加的"] == ("拟建", "拟建站点", None)
    assert kinds[accepted["name"]] == ("拟建", "拟建站点", 2)
    office = {r[1] for r in list(openpyxl.load_workbook(sheet).worksheets[0].values)[2:14]
              if r and r[1]}
    assert len(office) == 11
    assert all(kinds[name] == ("现有", "现有站点", None) for name in office)

    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/download/tables.xlsx").content))
    assert book.sheetnames == ["站点", "缺口", "数字"]
    out = tmp_path / "cli"
    csv_path = write_csv(state["stations"], tmp_path / "s.csv")
    assert main(["coverage", str(osm), str(csv_path), "--crs", "wgs84", "--lang", "zh",
                 "--out", str(out), "--quiet"]) == 0
    cli_gaps = list(openpyxl.load_workbook(out / "gaps.xlsx").worksheets[0].values)
    assert list(book["缺口"].values) == cli_gaps
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    figures = dict(list(book["数字"].values)[1:])
    assert round(figures["覆盖率（0–1）"], 6) == summary["covered_share"]
    st = list(book["站点"].values)
    head = st[0]
    assert "经度(GCJ-02)" in head and "纬度(GCJ-02)" in head
    given = {r[1]: (r[3], r[4]) for r in list(openpyxl.load_workbook(sheet).worksheets[0]
                                               .values)[2:14] if r and r[1]}
    for r in st[1:]:
        name = r[head.index("名称")]
        if name in given:
            assert (r[head.index("经度(GCJ-02)")], r[head.index("纬度(GCJ-02)")]) == \
                pytest.approx(given[name], abs=1.5e-6), name
    by_name = {r[head.index("名称")]: r for r in st[1:]}
    assert by_name["A加的"][head.index("类型")] == "拟建"
    assert by_name[accepted["name"]][head.index("方案序号")] == 2


def _section(page: str, heading: str) -> str:
    """The HTML of a report's section, from its heading to the next one."""
    start = page.index(f"<h2>{heading}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start:end if end >= 0 else None]


def test_the_report_download_audits_the_sheets_services_and_links_nothing_missing(tmp_path):
    """The page's report on the office sheet (every row lists its 服务内容) has the command
    line's services check: ``stationplan report`` on the sheet itself gives the same
    section, which finds services in all 11 rows. The download is one file: it links
    none of the run's other files, which do not come with it (sweep item 13)."""
    import re

    folder = tmp_path / "proj"
    client = fresh_project(folder)
    osm, sheet = shared_osm(GUIXI), shared_sheet(SHEET)
    page = client.get("/api/download/report.html").content.decode("utf-8")
    out = tmp_path / "cli"
    assert main(["report", str(osm), str(sheet), "--crs", "gcj02", "--lang", "zh",
                 "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["service_audit"]["with_service_data"] == 11
    cli = (out / "report.html").read_text(encoding="utf-8")
    heading = "站点服务设施"
    assert "站点文件未列出服务设施" not in _section(cli, heading)
    assert _section(page, heading) == _section(cli, heading)
    # the command line's report links its files; the download links none
    assert 'href="summary.json"' in cli
    assert re.findall(r'href="(?!https?:|#|data:)([^"]*)"', page) == []


def test_the_gap_list_says_how_far_also_beyond_the_search(tmp_path):
    """Every gap whose farthest point lies beyond the search has no distance but says it
    is more than the search's limit, as the command line's gaps.csv for the same sheet
    gives it (1,500 m on Guixi): "超过 1.5 公里" (sweep item 18)."""
    folder = tmp_path / "proj"
    client = fresh_project(folder)
    osm, sheet = shared_osm(GUIXI), shared_sheet(SHEET)
    out = tmp_path / "cli"
    assert main(["coverage", str(osm), str(sheet), "--crs", "gcj02", "--lang", "en",
                 "--out", str(out), "--quiet"]) == 0
    with (out / "gaps.csv").open(encoding="utf-8-sig") as fh:
        beyond = {int(r["gap_id"]): float(r["farthest_more_than_m"])
                  for r in csv.DictReader(fh) if r["farthest_more_than_m"]}
    assert beyond and set(beyond.values()) == {1500.0}
    gaps = client.get("/api/gaps").json()["gaps"]
    got = {g["gap_id"]: (g["farthest_more_than_m"], g["beyond"]) for g in gaps
           if g["farthest_m"] is None}
    assert got == {k: (v, "超过 1.5 公里") for k, v in beyond.items()}
    assert all(g["beyond"] is None for g in gaps if g["farthest_m"] is not None)


def test_a_second_click_makes_no_twin_scenario_and_no_error_on_accept(tmp_path):
    """Two 另存为 with one name make one scenario (the second is refused in the page's
    words); accepting (or rejecting) a proposal twice answers both times and adds one
    station (sweep items 15, 16)."""
    import sqlite3

    folder = tmp_path / "proj"
    client = fresh_project(folder)
    first = client.post("/api/scenarios", json={"name": "双击测试", "from": 1})
    second = client.post("/api/scenarios", json={"name": "双击测试", "from": 1})
    assert first.status_code == 200
    assert (second.status_code, second.json()["code"]) == (409, "name_taken")
    assert second.json()["error"] == "已有名为“双击测试”的方案，请换一个名字"
    with sqlite3.connect(folder / "project.sqlite") as db:
        names = [r[0] for r in db.execute("SELECT name FROM scenarios")]
    assert names.count("双击测试") == 1
    scenario = first.json()["scenario"]["id"]

    job = client.post(f"/api/plan?scenario={scenario}", json={"k": 2}).json()["job"]
    assert wait(client, job)["state"] == "done"
    before = counts(client, folder)[scenario]
    answers = [client.post(f"/api/proposals/{job}/1/accept?scenario={scenario}")
               for _ in range(2)]
    assert [r.status_code for r in answers] == [200, 200], answers[1].text
    assert counts(client, folder)[scenario] == before + 1
    assert answers[1].json()["figures"] == answers[0].json()["figures"]
    assert answers[1].json()["station_id"] == answers[0].json()["station_id"]
    rejects = [client.post(f"/api/proposals/{job}/2/reject?scenario={scenario}")
               for _ in range(2)]
    assert [r.status_code for r in rejects] == [200, 200]
    assert counts(client, folder)[scenario] == before + 1


def test_the_same_network_uploaded_again_keeps_its_name_and_one_copy(tmp_path):
    """Choosing the network file the project has already (the same bytes) loads that
    file: the network keeps its name, inputs/ holds one copy, the figures stay (item 19)."""
    import hashlib

    folder = tmp_path / "proj"
    client = fresh_project(folder)
    osm = shared_osm(GUIXI)
    before = client.get("/api/state").json()
    with osm.open("rb") as fh:
        job = client.post("/api/network", files={"file": (osm.name, fh)}).json()["job"]
    assert wait(client, job)["state"] == "done"
    after = client.get("/api/state").json()
    assert after["network"]["file"] == osm.name
    assert after["figures"] == before["figures"]
    cached = client.get("/api/networks").json()["cached"]
    assert [c["name"] for c in cached] == [osm.name]
    digest = hashlib.sha256(osm.read_bytes()).hexdigest()
    copies = [p for p in (folder / "inputs").iterdir()
              if hashlib.sha256(p.read_bytes()).hexdigest() == digest]
    assert [p.name for p in copies] == [osm.name]


def test_the_sheet_list_holds_the_sheets_imported_into_the_scenario(tmp_path):
    """The sheet list names each sheet as the user gave it and holds only those imported
    into the scenario shown: not one read and cancelled, not an undone import, not one
    of another scenario (sweep item 9)."""
    folder = tmp_path / "proj"
    client = fresh_project(folder)  # guixi_stations.xlsx, imported
    sheet, gbk = shared_sheet(SHEET), shared_sheet("guixi_stations_gbk.csv")

    def listed() -> list[tuple[str, int]]:
        return [(s["file"], s["rows"]) for s in client.get("/api/state").json()["sheets"]]

    assert listed() == [(SHEET, 11)]
    with sheet.open("rb") as fh:  # read again (stored as guixi_stations-2.xlsx), cancelled
        read = client.post("/api/sheets", files={"file": (sheet.name, fh)}).json()
    assert read["file"] == SHEET
    assert sorted(p.name for p in (folder / "inputs").glob("guixi_stations*")) == [
        "guixi_stations-2.xlsx", "guixi_stations.xlsx"]
    assert listed() == [(SHEET, 11)]
    with gbk.open("rb") as fh:
        read = client.post("/api/sheets", files={"file": (gbk.name, fh)}).json()
    r = client.post(f"/api/sheets/{read['sheet_id']}/confirm",
                    json={"crs": "gcj02", "duplicates": "keep"})
    assert r.status_code == 200
    assert listed() == [(SHEET, 11), (gbk.name, 11)]
    assert client.post("/api/undo").status_code == 200
    assert listed() == [(SHEET, 11)]
    empty = client.post("/api/scenarios", json={"name": "空白", "from": 1}).json()
    for s in empty["stations"]:
        client.delete(f"/api/stations/{s['station_id']}")
    assert listed() == []
