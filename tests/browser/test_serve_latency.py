"""Smoke test of the page latency benchmark (benchmarks/serve_latency.py), so it cannot rot.

The benchmark's whole run on the shared Guixi extract, small: 15 stations uploaded as a
sheet through the API of a real ``stationplan serve`` process, 10 scripted edits through
the page in Chromium, the full-recompute baseline replayed, the results written. Checks
that every edit reached the map, that the timings are there and ordered, and that after
every edit the page's share equals a full recompute (``snap_stations`` +
``compute_coverage`` in this process, not the server's engine) to 1e-9.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from handnet import shared_osm

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_latency.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("serve_latency_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_edit_loop_on_guixi(chromium_browser: Any, tmp_path: Path) -> None:
    osm = shared_osm("guixi_county_city.osm.bz2")
    bench = _bench()
    out = tmp_path / "latency.md"
    res = bench.main(["--network", str(osm), "--stations", "15", "--edits", "10",
                      "--seed", "3", "--pause-ms", "0", "--no-cli-check",
                      "--work", str(tmp_path / "work"), "--out", str(out)],
                     browser=chromium_browser)

    edits = res["edits"]
    assert len(edits) == 10
    assert {e["op"] for e in edits} == {"add", "move", "delete"}
    assert res["stations_ok"] == 15
    # one version per edit, each one applied on the map
    versions = [e["version"] for e in edits]
    assert versions == list(range(versions[0], versions[0] + 10))
    for e in edits:
        assert e["compute_ms"] >= 0 and e["edges"] >= 1
        assert 0 < e["server_ms"] <= e["fetch_ms"]
        assert 0 < e["to_answer_ms"] <= e["to_redrawn_ms"]
        assert e["apply_ms"] >= 0 and e["frame_ms"] >= 0
        # the page's share, against a full recompute of the same station set
        assert abs(e["share"] - e["baseline_share"]) <= 1e-9, e
    check = res["check"]
    assert check["share_mismatches"] == 0 and check["ok"]
    assert abs(check["page_share"] - check["full_share"]) <= 1e-9
    assert check["stations"] == 15 + sum(
        {"add": 1, "delete": -1}.get(e["op"], 0) for e in edits)
    assert res["blocked"] == 0 and res["page_errors"] == []
    text = out.read_text(encoding="utf-8")
    assert "edit to redrawn map" in text and "equal to 1e-9" in text
    assert len(json.loads(out.with_suffix(".json").read_text())["edits"]) == 10
