"""Restart: the server killed mid-session (SIGKILL, by its process id, one edit in flight)
and started again keeps every edit it acknowledged, and its figures are a full
recomputation's."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from handnet import shared_osm

from stationplan.project import Station

ROOT = Path(__file__).resolve().parents[1]
GUIXI = "guixi_county_city.osm.bz2"
# street points of the Guixi centre, WGS-84
SITES = [(117.2284 + 0.002 * i, 28.2937 - 0.001 * i) for i in range(8)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``python -m stationplan serve FOLDER --port PORT --no-browser``, its stderr in
    ``log``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "stationplan", "serve", str(folder), "--port", str(port),
             "--no-browser"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)


def wait_up(proc: subprocess.Popen[bytes], base: str, log: Path,
            timeout_s: float = 90) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise AssertionError(log.read_text(encoding="utf-8", errors="replace"))
        try:
            if httpx.get(f"{base}/api/state", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not start")


def test_a_killed_server_comes_back_with_every_acknowledged_edit(tmp_path):
    from stationplan._workbench import station_frame
    from stationplan.live import LiveCoverage
    from stationplan.pipeline import coverage_network

    osm = shared_osm(GUIXI)
    folder = tmp_path / "proj"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = start(folder, port, log)
    try:
        wait_up(proc, base, log)
        c = httpx.Client(base_url=base, timeout=60)
        with osm.open("rb") as fh:
            job = c.post("/api/network", files={"file": (osm.name, fh)}).json()["job"]
        while (j := c.get(f"/api/jobs/{job}").json())["state"] not in ("done", "failed"):
            time.sleep(0.1)
        assert j["state"] == "done", j["message"]
        acked: dict[str, tuple[float, float]] = {}
        for lon, lat in SITES[:4]:
            r = c.post("/api/stations", json={"lon": lon, "lat": lat, "name": "站"})
            assert r.status_code == 200
            acked[r.json()["station"]["station_id"]] = (lon, lat)
        moved = next(iter(acked))
        r = c.patch(f"/api/stations/{moved}", json={"lon": SITES[5][0], "lat": SITES[5][1]})
        assert r.status_code == 200
        acked[moved] = SITES[5]
        gone = list(acked)[1]
        assert c.delete(f"/api/stations/{gone}").status_code == 200
        del acked[gone]
        # one more edit in flight when the server is killed
        in_flight: list[Any] = []

        def last_edit() -> None:
            try:
                in_flight.append(httpx.post(f"{base}/api/stations", timeout=30, json={
                    "lon": SITES[6][0], "lat": SITES[6][1], "name": "在途"}))
            except httpx.HTTPError as exc:
                in_flight.append(exc)

        t = threading.Thread(target=last_edit)
        t.start()
        # and one whose body is still arriving: certainly not acknowledged
        body = json.dumps({"lon": SITES[7][0], "lat": SITES[7][1], "name": "半途"}).encode()
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"POST /api/stations HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % (port, len(body)) + body[:10])
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        half.close()
        proc.wait(10)
        t.join(30)
        c.close()
        if isinstance(in_flight[0], httpx.Response) and in_flight[0].status_code == 200:
            acked[in_flight[0].json()["station"]["station_id"]] = SITES[6]

        proc = start(folder, port, log)
        wait_up(proc, base, log)
        t0 = time.monotonic()  # the recorded network loads in the background
        while (state := httpx.get(f"{base}/api/state", timeout=30).json())["loading"]:
            assert time.monotonic() - t0 < 90
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(20)
    stations = {s["station_id"]: (s["lon"], s["lat"]) for s in state["stations"]}
    for sid, where in acked.items():  # every acknowledged edit is there
        assert stations[sid] == where
    assert gone not in stations
    # at most the edit in flight besides them (not the one half sent), and the network
    assert set(stations) - set(acked) <= {"new-5"}
    assert "半途" not in {s["name"] for s in state["stations"]}
    assert state["network"]["file"] == osm.name and state["can_undo"]
    stored = [Station(s["station_id"], s["name"], s["lon"], s["lat"])
              for s in state["stations"]]
    full = LiveCoverage(coverage_network(osm), station_frame(stored)).figures
    assert abs(full.share - state["figures"]["share"]) <= 1e-9
    assert full.stations == state["figures"]["stations"] == len(stations)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for key in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
