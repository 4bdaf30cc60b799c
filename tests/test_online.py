"""Downloads through OSMnx, tested offline against a local server with recorded answers.

The server on 127.0.0.1 plays Overpass and Nominatim from tests/data (made from the Guixi
extract by tests/data/make_recordings.py): it answers each Overpass query with the
recorded ways that have a node inside the query's polygon, as Overpass does.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import osmnx as ox
import pytest
import shapely
from handnet import shared_osm

import stationplan as sp
from stationplan._read.osmfilter import tag_filter
from stationplan.cli import main

DATA = Path(__file__).resolve().parent / "data"
AREA = (117.228, 28.284, 117.242, 28.296)  # as in tests/data/make_recordings.py
PLACE = "贵溪测试区, 贵溪市, 江西省"
QUERY = re.compile(r"\(way(?P<filter>.*)\(poly:'(?P<poly>[^']*)'\);>;\);out;")
STATUS = ("Connected as: 1\nCurrent time: 2024-11-18T00:00:00Z\nAnnounced endpoint: none\n"
          "Rate limit: 2\n2 slots available now.\n")


class FakeOsm:
    """Overpass at ``/api``, Nominatim at ``/`` on one local port; counts requests."""

    def __init__(self) -> None:
        doc = json.loads(gzip.decompress((DATA / "overpass_guixi.json.gz").read_bytes()))
        self.nodes = {e["id"]: e for e in doc["elements"] if e["type"] == "node"}
        self.ways = [e for e in doc["elements"] if e["type"] == "way"]
        self.places = json.loads((DATA / "nominatim_guixi.json").read_text(encoding="utf-8"))
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):
                self._send(200, b"", "text/plain")

            def do_GET(self):
                url = urlparse(self.path)
                fake.requests.append(url.path)
                if url.path == "/api/status":
                    self._send(200, STATUS.encode(), "text/plain")
                elif url.path == "/search":
                    q = parse_qs(url.query).get("q", [""])[0]
                    found = fake.places if q == PLACE else []
                    self._send(200, json.dumps(found).encode(), "application/json")
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self):
                fake.requests.append(self.path)
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                answer = fake.overpass(parse_qs(body)["data"][0])
                self._send(200, json.dumps(answer).encode(), "application/json")

            def _send(self, code, data, kind):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def overpass(self, query: str) -> dict:
        m = QUERY.search(query)
        assert m, query
        keep = tag_filter(m.group("filter"))
        nums = [float(v) for v in m.group("poly").split()]
        poly = shapely.Polygon(list(zip(nums[1::2], nums[0::2], strict=True)))  # lat lon pairs
        inside = {r for r, n in self.nodes.items()
                  if poly.contains(shapely.Point(n["lon"], n["lat"]))}
        ways = [w for w in self.ways if keep(w["tags"]) and inside.intersection(w["nodes"])]
        refs = sorted({r for w in ways for r in w["nodes"] if r in self.nodes})
        return {"version": 0.6, "elements": [self.nodes[r] for r in refs] + ways}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def fake_osm():
    fake = FakeOsm()
    yield fake
    fake.close()


def _online(fake, tmp_path):
    return {"cache_dir": tmp_path / "cache", "overpass_url": f"{fake.base}/api",
            "nominatim_url": f"{fake.base}/"}


def _area_file(path: Path) -> Path:
    w, s, e, n = AREA
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}), encoding="utf-8")
    return path


def _edge_keys(net):
    xy = [shapely.get_coordinates(g)[[0, -1]].round(2) for g in net.edges.geometry]
    return {(int(o), *a.ravel().tolist()) for o, a in zip(net.edges["osmid"], xy, strict=True)}


def test_download_gives_the_same_streets_as_the_file(fake_osm, tmp_path):
    """Proof: the same area from the OSM file and from the recorded Overpass answer."""
    from_file = sp.load_network(shared_osm("guixi_county_city.osm.bz2"),
                                area=_area_file(tmp_path / "area.geojson"), margin_m=300)
    online = sp.load_network(sp.OsmQuery.bbox(*AREA), margin_m=300, **_online(fake_osm, tmp_path))
    assert len(online.edges) > 100
    assert _edge_keys(online) == _edge_keys(from_file)
    assert online.total_length_m == pytest.approx(from_file.total_length_m, rel=1e-3)
    assert online.demand_length_m == pytest.approx(from_file.demand_length_m, rel=1e-3)
    # streets beyond the area carry paths but are not demand
    assert 0 < online.demand_length_m < online.total_length_m
    assert "/api/interpreter" in fake_osm.requests


def test_second_run_neither_downloads_nor_rebuilds(fake_osm, tmp_path, caplog):
    def osmnx_settings():
        return ox.settings.overpass_url, ox.settings.cache_folder, ox.settings.use_cache

    settings_before = osmnx_settings()
    getaddrinfo = socket.getaddrinfo
    first = sp.load_network(f"place:{PLACE}", margin_m=300, **_online(fake_osm, tmp_path))
    assert {"/search", "/api/interpreter"} <= set(fake_osm.requests)
    # OSMnx's global settings and its DNS patch are put back
    assert osmnx_settings() == settings_before
    assert socket.getaddrinfo is getaddrinfo
    seen = len(fake_osm.requests)
    with caplog.at_level(logging.INFO, logger="stationplan"):
        again = sp.load_network(f"place:{PLACE}", margin_m=300, **_online(fake_osm, tmp_path))
    assert len(fake_osm.requests) == seen  # nothing asked of the server
    assert "no download, no rebuild" in caplog.text
    assert again.total_length_m == pytest.approx(first.total_length_m, abs=1e-9)
    assert again.demand.area_label == f"place {PLACE}"
    # the place polygon is the planning area
    assert again.demand_length_m == pytest.approx(first.demand_length_m, abs=1e-9)
    assert again.demand_length_m < again.total_length_m


def test_offline_uses_osmnx_cache_then_fails_clearly(fake_osm, tmp_path):
    online = _online(fake_osm, tmp_path)
    net = sp.load_network(sp.OsmQuery.bbox(*AREA), margin_m=300, **online)
    fake_osm.close()
    # our network cache gone, OSMnx's answer cache still there: rebuilt offline
    for f in (tmp_path / "cache" / "networks").iterdir():
        f.unlink()
    again = sp.load_network(sp.OsmQuery.bbox(*AREA), margin_m=300, **online)
    assert again.total_length_m == pytest.approx(net.total_length_m, abs=1e-9)
    # a query never made before: a clear error that suggests a local file
    with pytest.raises(sp.NetworkUnavailableError, match=r"unreachable.*local file"):
        sp.load_network(sp.OsmQuery.bbox(*AREA), margin_m=400, **online)


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def test_unreachable_server_is_a_one_line_cli_error(tmp_path, capsys):
    url = _closed_port_url()
    code = main(["network", "bbox:117.228,28.284,117.242,28.296", "--out", str(tmp_path / "o"),
                 "--overpass-url", url, "--cache-dir", str(tmp_path / "c")])
    assert code == 4
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1
    assert err[0].startswith("stationplan: error: cannot download bbox")
    assert ".osm.pbf" in err[0]


def test_network_command_downloads_and_writes(fake_osm, tmp_path, capsys):
    out = tmp_path / "net"
    args = ["network", "bbox:117.228,28.284,117.242,28.296", "--out", str(out), "--quiet",
            "--overpass-url", f"{fake_osm.base}/api", "--cache-dir", str(tmp_path / "c"),
            "--mode", "ebike"]
    assert main(args) == 0
    assert "network.gpkg" in capsys.readouterr().out
    summary = json.loads((out / "network_summary.json").read_text(encoding="utf-8"))
    assert summary["mode"] == "ebike"
    assert summary["demand"]["area"] == "bbox 117.228,28.284,117.242,28.296"
    assert "footway" not in summary["by_road_class"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("bbox:117.3,28.2,117.2,28.3", "west < east"),
        ("bbox:1,2,3", "WEST,SOUTH,EAST,NORTH"),
        ("point:38.3,114.7,500", "swapped"),
        ("point:114.7,98.3,500", "not a WGS-84"),
        ("point:114.7,38.3,-5", "positive"),
        ("place: ", "empty"),
    ],
)
def test_query_text_is_checked(text, words):
    with pytest.raises(sp.InputError, match=words):
        sp.OsmQuery.parse(text)


def test_area_place_geocoded_for_a_file(fake_osm, tmp_path):
    path = shared_osm("guixi_county_city.osm.bz2")
    by_place = sp.load_network(path, area_place=PLACE, margin_m=300, **_online(fake_osm, tmp_path))
    by_file = sp.load_network(path, area=_area_file(tmp_path / "a.geojson"), margin_m=300)
    assert by_place.demand.area_label == PLACE
    assert by_place.demand_length_m == pytest.approx(by_file.demand_length_m, rel=1e-9)
    assert by_place.total_length_m == pytest.approx(by_file.total_length_m, rel=1e-9)
    with pytest.raises(sp.MissingDataError, match="not found by the geocoder"):
        sp.load_network(path, area_place="Atlantis", **_online(fake_osm, tmp_path))


def test_polygon_and_point_queries(fake_osm, tmp_path):
    online = _online(fake_osm, tmp_path)
    area = _area_file(tmp_path / "area.geojson")
    by_polygon = sp.load_network(f"polygon:{area}", margin_m=300, **online)
    by_bbox = sp.load_network(sp.OsmQuery.bbox(*AREA), margin_m=300, **online)
    assert _edge_keys(by_polygon) == _edge_keys(by_bbox)
    assert by_polygon.demand_length_m == pytest.approx(by_bbox.demand_length_m, rel=1e-9)
    point = sp.load_network("point:117.235,28.29,300", margin_m=100, **online)
    square = point.demand.area
    assert square.bounds == pytest.approx((117.2319, 28.2873, 117.2381, 28.2927), abs=1e-4)
    assert 0 < point.demand_length_m < by_bbox.demand_length_m
