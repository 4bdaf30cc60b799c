"""Make the recorded Overpass/Nominatim answers that tests/test_online.py serves.

Run from the repository root: ``python tests/data/make_recordings.py``. The Overpass answer
holds every highway way of the Guixi extract (../shared/data/osm, © OpenStreetMap
contributors, ODbL) with a node inside the recorded box, and all of its nodes, in the
form Overpass gives for ``way["highway"](poly:...); >; out;``. The test server then
answers each query with the ways that have a node inside the query's polygon, as
Overpass does. The Nominatim answer is a made-up place whose boundary is the test area.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import osmium
import shapely

HERE = Path(__file__).resolve().parent
EXTRACT = HERE.parents[2] / "shared" / "data" / "osm" / "guixi_county_city.osm.bz2"
# The test's planning area (west, south, east, north) and the recorded box around it.
AREA = (117.228, 28.284, 117.242, 28.296)
RECORDED = (117.218, 28.275, 117.252, 28.305)
PLACE = "贵溪测试区, 贵溪市, 江西省"


def overpass_recording() -> dict:
    box = shapely.box(*RECORDED)
    nodes, ways = {}, []
    for obj in osmium.FileProcessor(str(EXTRACT), osmium.osm.NODE | osmium.osm.WAY):
        if obj.is_node():
            nodes[obj.id] = (round(obj.location.lat, 7), round(obj.location.lon, 7))
        elif "highway" in obj.tags:
            refs = [n.ref for n in obj.nodes]
            inside = [r in nodes and box.contains(shapely.Point(nodes[r][1], nodes[r][0]))
                      for r in refs]
            if any(inside):
                ways.append({"type": "way", "id": obj.id, "nodes": refs,
                             "tags": {t.k: t.v for t in obj.tags}})
    used = sorted({r for w in ways for r in w["nodes"] if r in nodes})
    elements = [{"type": "node", "id": n, "lat": nodes[n][0], "lon": nodes[n][1]} for n in used]
    return {
        "version": 0.6,
        "generator": "stationplan test recording from guixi_county_city.osm.bz2",
        "osm3s": {"copyright": "The data included in this document is from "
                  "www.openstreetmap.org. The data is made available under ODbL."},
        "elements": elements + sorted(ways, key=lambda w: w["id"]),
    }


def nominatim_recording() -> list:
    w, s, e, n = AREA
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return [{
        "place_id": 1, "licence": "test data", "osm_type": "relation", "osm_id": 1,
        "lat": str((s + n) / 2), "lon": str((w + e) / 2), "class": "boundary",
        "type": "administrative", "place_rank": 16, "importance": 0.5,
        "addresstype": "town", "name": PLACE.split(",")[0], "display_name": PLACE,
        "boundingbox": [str(s), str(n), str(w), str(e)],
        "geojson": {"type": "Polygon", "coordinates": [ring]},
    }]


if __name__ == "__main__":
    text = json.dumps(overpass_recording(), ensure_ascii=False, separators=(",", ":"))
    (HERE / "overpass_guixi.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    (HERE / "nominatim_guixi.json").write_text(
        json.dumps(nominatim_recording(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"overpass: {len(text)} characters")
