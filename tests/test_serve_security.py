"""Security of the planner's page server (stationplan serve): the access token beyond
loopback, the upload limit, upload names, and two tabs editing at once."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from handnet import hand_lonlat, shared_osm
from starlette.testclient import TestClient

from stationplan._workbench import station_frame
from stationplan.project import Project
from stationplan.serve import create_app

TOKEN = "s3cret-token-for-tests"
PATHS = ["/", "/static/index.html", "/assets/leaflet/leaflet.js",
         "/assets/markercluster/leaflet.markercluster.js", "/api/state", "/api/networks",
         "/api/download/amap.xlsx"]


def sheet_bytes(n_rows: int = 3) -> bytes:
    lines = ["name,lon,lat"]
    for i in range(n_rows):
        lon, lat = hand_lonlat(100.0 * i, 0.0)
        lines.append(f"s{i},{lon:.7f},{lat:.7f}")
    return ("\n".join(lines) + "\n").encode()


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


# --- the token ---------------------------------------------------------------------------

@pytest.fixture
def exposed(tmp_path):
    """An app bound beyond loopback (0.0.0.0) with a known token."""
    return create_app(tmp_path / "proj", host="0.0.0.0", token=TOKEN)


@pytest.mark.parametrize("path", PATHS)
def test_without_the_token_everything_is_refused(exposed, path):
    client = TestClient(exposed)
    r = client.get(path)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden" and "\n" not in r.json()["error"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.post("/api/stations", json={"lon": 1, "lat": 2}).status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_a_wrong_token_is_refused_in_every_place(exposed, path):
    client = TestClient(exposed)
    for wrong in ("s3cret", TOKEN + "x", TOKEN.upper(), ""):
        assert client.get(path, params={"token": wrong}).status_code == 403
        assert client.get(path, headers={"X-Stationplan-Token": wrong}).status_code == 403
        client.cookies.set("stationplan_token", wrong)
        assert client.get(path).status_code == 403
        client.cookies.clear()


def test_the_token_opens_the_page_and_sets_a_strict_cookie(exposed):
    client = TestClient(exposed)
    r = client.get("/", params={"token": TOKEN})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"stationplan_token={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # the page's own requests then carry the cookie only
    assert client.get("/api/state").status_code == 200
    assert client.get("/assets/leaflet/leaflet.js").status_code == 200
    fresh = TestClient(exposed)
    assert fresh.get("/api/state", headers={"X-Stationplan-Token": TOKEN}).status_code == 200
    assert fresh.get("/api/state").status_code == 403


def test_a_token_is_made_when_none_is_given_and_none_is_needed_on_loopback(tmp_path):
    app = create_app(tmp_path / "a", host="192.168.1.20")
    assert len(app.state.token) >= 24
    assert TestClient(app).get("/api/state").status_code == 403
    for host in ("127.0.0.1", "localhost", "::1"):
        local = create_app(tmp_path / host.replace(":", "_"), host=host, token="ignored")
        assert local.state.token is None
        r = TestClient(local).get("/api/state")
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert "https://tile.openstreetmap.org" in csp


def test_other_web_sites_cannot_change_the_project(tmp_path):
    """A page of another site in the same browser (a form post, a no-cors fetch) sends
    its Origin: refused, nothing stored. The page itself (same origin) and scripts
    without an Origin are served."""
    folder = tmp_path / "proj"
    client = TestClient(create_app(folder), base_url="http://127.0.0.1:8765")
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Origin": "http://127.0.0.1:9999"}, {"Sec-Fetch-Site": "cross-site"}):
        r = client.post("/api/sheets", files={"file": ("s.csv", sheet_bytes())},
                        headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "cross_site", headers
        r = client.post("/api/undo", content=b"{}", headers=headers)
        assert r.status_code == 403
    assert list((folder / "inputs").iterdir()) == []
    r = client.post("/api/sheets", files={"file": ("s.csv", sheet_bytes())},
                    headers={"Origin": "http://127.0.0.1:8765", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200
    assert client.post("/api/undo").status_code == 409  # no network yet: refused, in JSON


def test_a_site_pointing_its_name_at_this_computer_gets_nothing(tmp_path):
    """DNS rebinding: evil.example resolving to 127.0.0.1 reaches the port, but its Host
    is not this computer's name; without a token the server answers loopback names and
    IP addresses only."""
    app = create_app(tmp_path / "proj")
    for host in ("evil.example", "evil.example:8765", "localhost.evil.example"):
        r = TestClient(app, base_url=f"http://{host}").get("/api/state")
        assert r.status_code == 403 and r.json()["code"] == "bad_host", host
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        assert TestClient(app, base_url=f"http://{host}").get("/api/state").status_code == 200


def test_unknown_paths_answer_in_json(tmp_path):
    client = TestClient(create_app(tmp_path / "proj"))
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json() == {"error": "未找到：/api/nothing-here",
                                                 "code": "http_404"}
    assert client.get("/assets/leaflet/../../../etc/passwd").status_code == 404
    assert client.put("/api/state").status_code == 405


# --- uploads -------------------------------------------------------------------------------

def test_an_upload_above_the_limit_is_refused_and_nothing_is_stored(tmp_path):
    folder = tmp_path / "proj"
    app = create_app(folder, max_upload_bytes={"sheet": 2048, "network": 4096})
    client = TestClient(app)
    before = files_under(folder)
    big = sheet_bytes(200)
    assert len(big) > 4096
    r = client.post("/api/sheets", files={"file": ("big.csv", big)})
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert r.json()["error"] == "上传的文件超过 0.00195312 MB（站点表的上限）"
    r = client.post("/api/network", files={"file": ("big.osm", big)})
    assert r.status_code == 413
    # no Content-Length: the limit holds while the body streams in
    boundary = "sp-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"streamed.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(100):
            yield b"x" * 100
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/api/sheets", content=body(),
                    headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413
    assert files_under(folder) - before <= {"project.sqlite-shm", "project.sqlite-wal"}
    assert list((folder / "inputs").iterdir()) == []
    # below the limit: accepted
    r = client.post("/api/sheets", files={"file": ("small.csv", sheet_bytes(3))})
    assert r.status_code == 200 and r.json()["rows"] == 3
    assert [p.name for p in (folder / "inputs").iterdir()] == ["small.csv"]


@pytest.mark.parametrize("name", ["../../evil.csv", "..\\..\\evil.csv", "C:\\evil.csv",
                                  "/ABSOLUTE/evil.csv", "....//evil.csv", "sub/../../evil.csv"])
def test_upload_names_never_leave_the_project(tmp_path, name):
    folder = tmp_path / "a" / "b" / "proj"
    client = TestClient(create_app(folder))
    absolute = tmp_path / "outside"
    given = name.replace("/ABSOLUTE", str(absolute))
    r = client.post("/api/sheets", files={"file": (given, sheet_bytes())})
    assert r.status_code == 200, r.text
    assert r.json()["file"] == "evil.csv"
    assert (folder / "inputs" / "evil.csv").read_bytes() == sheet_bytes()
    # nothing anywhere else: only the project's own files exist under tmp_path
    outside = {p for p in tmp_path.rglob("*") if p.is_file()
               and not p.is_relative_to(folder)}
    assert outside == set()


def test_a_cached_network_name_cannot_point_outside_inputs(tmp_path):
    folder = tmp_path / "proj"
    client = TestClient(create_app(folder))
    (tmp_path / "net.osm").write_text("<osm/>")
    for name in ("../net.osm", "../../net.osm", str(tmp_path / "net.osm"), "..",
                 "../project.sqlite"):
        r = client.post("/api/network", json={"cached": name})
        assert r.status_code == 404 and r.json()["code"] == "no_cached", name


# --- two tabs at once, on a real server ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """``app`` on uvicorn in a thread, on a free port: its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    t0 = time.monotonic()
    while not server.started:
        assert time.monotonic() - t0 < 20 and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_two_tabs_editing_at_once_leave_a_consistent_project(tmp_path, monkeypatch):
    """Two tabs send edits at the same time while each save is slowed down (so that one
    arrives while the other is being saved): every edit is answered, each answer is a
    state that existed, and afterwards the database, the live state and a full
    recomputation agree."""
    from stationplan.live import LiveCoverage
    from stationplan.pipeline import coverage_network

    osm = shared_osm("guixi_county_city.osm.bz2")
    folder = tmp_path / "proj"
    app = create_app(folder)
    session = app.state.session
    session.load_network(osm)

    real_add, real_move = LiveCoverage.add, LiveCoverage.move

    def slow_add(self: Any, *a: Any, **k: Any) -> Any:
        time.sleep(0.05)  # the first tab's save is still running when the second comes
        return real_add(self, *a, **k)

    def slow_move(self: Any, *a: Any, **k: Any) -> Any:
        time.sleep(0.05)
        return real_move(self, *a, **k)

    monkeypatch.setattr(LiveCoverage, "add", slow_add)
    monkeypatch.setattr(LiveCoverage, "move", slow_move)
    # street points of the Guixi centre, WGS-84
    sites = [(117.2284 + 0.002 * i, 28.2937 - 0.001 * i) for i in range(6)]
    answers: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def tab(tag: str, offset: int) -> None:
        try:
            with httpx.Client(base_url=base, timeout=60) as c:
                mine = []
                for i in range(3):
                    lon, lat = sites[(offset + i) % len(sites)]
                    r = c.post("/api/stations", json={"lon": lon, "lat": lat,
                                                      "name": f"{tag}{i}"})
                    assert r.status_code == 200, r.text
                    answers[tag].append(r.json())
                    mine.append(r.json()["station"]["station_id"])
                r = c.patch(f"/api/stations/{mine[0]}",
                            json={"lon": sites[offset][0] + 0.0005, "lat": sites[offset][1]})
                assert r.status_code == 200, r.text
                answers[tag].append(r.json())
                r = c.delete(f"/api/stations/{mine[1]}")
                assert r.status_code == 200, r.text
                answers[tag].append(r.json())
        except BaseException as exc:
            errors.append(exc)

    with running(app) as base:
        threads = [threading.Thread(target=tab, args=("a", 0)),
                   threading.Thread(target=tab, args=("b", 3))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with httpx.Client(base_url=base) as c:
            state = c.get("/api/state").json()
    # every answer has its own version: the edits were applied one after the other
    versions = [a["version"] for a in answers["a"] + answers["b"]]
    assert len(set(versions)) == len(versions) == 10
    # the database (opened afresh), the live state and a full recomputation agree
    stored = Project(folder).stations()
    assert len(stored) == 4  # 6 added, 2 deleted
    assert sorted((s.station_id, s.lon, s.lat) for s in stored) == sorted(
        (s["station_id"], s["lon"], s["lat"]) for s in state["stations"])
    live_ids = sorted(session.live.stations["station_id"].astype(str))
    assert live_ids == sorted(s.station_id for s in stored)
    monkeypatch.setattr(LiveCoverage, "add", real_add)
    fresh = LiveCoverage(coverage_network(osm), station_frame(stored)).figures
    assert abs(fresh.share - state["figures"]["share"]) <= 1e-9
    assert fresh.covered_m == pytest.approx(state["figures"]["covered_m"], abs=1e-6)
    assert fresh.stations_ok == state["figures"]["stations_ok"]


def test_the_command_prints_the_address_with_the_token_beyond_loopback(tmp_path, capsys):
    """``stationplan serve DIR --host 0.0.0.0``: the start address on stderr carries the
    token, which opens the API; without it, 403."""
    import os
    import re
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stationplan", "serve", str(tmp_path / "proj"), "--host",
             "0.0.0.0", "--port", str(port), "--no-browser", "--lang", "en"],
            cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL, stderr=err)
    try:
        t0 = time.monotonic()
        while not (m := re.search(r"http://0\.0\.0\.0:(\d+)/\?token=([\w-]+)",
                                  log.read_text(encoding="utf-8"))):
            assert proc.poll() is None and time.monotonic() - t0 < 60, log.read_text()
            time.sleep(0.1)
        assert int(m[1]) == port
        token = m[2]
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                r = httpx.get(f"{base}/api/state", params={"token": token}, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() - t0 < 60
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["lang"] == "en"
        assert httpx.get(f"{base}/api/state", timeout=5).status_code == 403
        assert httpx.get(f"{base}/", timeout=5).status_code == 403
        text = log.read_text(encoding="utf-8")
        assert "every request needs the token" in text
        # a second server on the same project is refused: one line, exit 2
        from stationplan.cli import main

        assert main(["serve", str(tmp_path / "proj"), "--port", str(free_port()),
                     "--no-browser", "--lang", "en"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "another stationplan serve runs on this project" in err[0]
        assert f"(pid {proc.pid})" in err[0]
        # stopped by SIGTERM: exit 143, one line saying the project keeps every edit
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(20) == 143
        last = log.read_text(encoding="utf-8").strip().splitlines()[-1]
        assert last == ("stationplan: terminated; every edit the page confirmed is saved "
                        "in the project")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(20)


def test_a_port_in_use_is_one_line_before_anything_starts(tmp_path, capsys):
    """Another program holds the port: exit 2 with one line, the project folder is not
    loaded and no start address is announced."""
    import socket

    from stationplan.cli import main

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        code = main(["serve", str(tmp_path / "proj"), "--port", str(port), "--no-browser",
                     "--lang", "en"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"stationplan: error: cannot listen on 127.0.0.1:{port}: the port is in "
                   "use by another program; choose another with --port"]
    assert not (tmp_path / "proj" / "project.sqlite").exists()
