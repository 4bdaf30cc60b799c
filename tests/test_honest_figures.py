"""Honest figures: a plan's shares are the coverage engine's, for the whole city.

The references are independent of the siting model: the coverage engine run on the
existing stations plus *every* candidate gives the street any plan can cover at most, and
the engine run on the existing stations plus the proposals gives what the plan covers.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from handnet import shared_osm, shared_sheet

import stationplan as sp
from stationplan.candidates import street_candidates
from stationplan.cli import main
from stationplan.siting import plan_sites, stations_with_proposals

EXTRACTS = ["guixi_county_city.osm.bz2", "beijing_zhongguancun.osm.bz2",
            "shenzhen_longgang_heao.osm.bz2", "monaco.osm.bz2", "krems.osm.bz2",
            "chengdu_center.osm.bz2"]
GUIXI = "guixi_county_city.osm.bz2"
# These tests are about covering every reachable metre and preferring hosts, so they plan
# without the rule for new sites (spacing and minimum gain; tests/test_office.py has it).
NO_RULES = {"min_spacing_m": 0, "min_gain_m": 0}
NO_RULES_CLI = ["--min-spacing-m", "0", "--min-gain-m", "0"]


def _as_stations(cands: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidate sites as snapped, usable stations (for the engine)."""
    return gpd.GeoDataFrame(
        {"station_id": cands["candidate_id"].astype(str).to_numpy(), "name": "",
         "status": "ok", "reason": "", "edge_id": cands["edge_id"].to_numpy(np.int64),
         "offset_m": cands["offset_m"].to_numpy(float), "snap_dist_m": 0.0},
        geometry=cands.geometry.to_numpy(), crs=cands.crs).to_crs(4326)


@pytest.mark.parametrize("name", EXTRACTS)
def test_full_target_covers_all_coverable_street_exactly(name):
    """plan --target 100 %, then the engine with the proposals added: every metre any
    candidate can reach is covered (to 1e-9 of the total length), and the plan's figures
    are the engine's."""
    net = sp.load_network(shared_osm(name))
    cands = street_candidates(net, spacing_m=200)
    existing = _as_stations(cands.iloc[::97])  # some existing stations, fixed
    rule = sp.CoverageRule(radius_m=500, max_minutes=None)
    res = plan_sites(net, existing, cands, rule=rule, target_share=1.0, time_limit_s=5,
                     **NO_RULES)
    after = sp.compute_coverage(net, stations_with_proposals(existing, res.proposals), rule=rule)
    everything = sp.compute_coverage(
        net, pd_concat(existing, _as_stations(cands)), rule=rule)
    total = after.demand_m
    assert abs(after.covered_m - everything.covered_m) <= 1e-9 * total
    s = res.summary
    assert s["model"]["kind"] == "exact"
    # 100 % of all demand is reached exactly when every metre is within some candidate's reach
    assert s["target_reached"] == (everything.covered_m >= total - 1e-9 * total)
    assert s["unreachable_m"] == pytest.approx(total - everything.covered_m, abs=1e-3)
    assert s["covered_m_after"] == pytest.approx(after.covered_m, abs=1e-3)
    assert s["reachable_m"] == pytest.approx(everything.covered_m, abs=1e-3)
    assert s["demand_m"] == pytest.approx(total, abs=1e-3)
    before = sp.compute_coverage(net, existing, rule=rule)
    assert s["covered_m_before"] == pytest.approx(before.covered_m, abs=1e-3)
    # the curve is the plan's: it ends where the plan ends
    assert res.curve["covered_m"].iloc[-1] == pytest.approx(after.covered_m, abs=1e-3)
    assert len(res.curve) == s["new_sites"] + 1


def pd_concat(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), crs=4326)


@pytest.fixture(scope="module")
def guixi_plan(tmp_path_factory):
    """The default candidates (no --candidates) on the POI-poor Guixi extract and its
    sheet, without the rule for new sites."""
    out = tmp_path_factory.mktemp("plan") / "out"
    args = ["plan", str(shared_osm(GUIXI)), str(shared_sheet("guixi_stations.xlsx")),
            "--crs", "gcj02", "--out", str(out), "--quiet", "--time-limit-s", "10",
            "--lang", "en", *NO_RULES_CLI]  # the sheet is Chinese; the tests read English
    return out, args


def test_default_plan_reaches_the_target_with_street_positions(guixi_plan, capsys):
    out, args = guixi_plan
    assert main(args) == 0
    line = capsys.readouterr().out
    plan = json.loads((out / "plan_summary.json").read_text(encoding="utf-8"))
    after = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    by_kind = plan["candidates"]["by_kind"]
    assert plan["candidates"]["source"] == "auto"
    assert by_kind.get("osm", 0) == 2  # two town halls: the extract has few hosts
    assert by_kind["street"] > 100
    assert plan["target_reached"]
    assert plan["unreachable_m"] < 1e-3 * plan["demand_m"]
    # one truth: the plan's share is the city-wide share of summary.json
    assert plan["coverage_after"] == after["covered_share"]
    assert plan["covered_m_after"] == after["covered_m"]
    assert plan["demand_m"] == after["total_m"]
    assert f"-> {100 * after['covered_share']:.1f} %" in line
    # before: the same as a coverage run on the sheet alone
    cov_out = out.parent / "coverage"
    assert main(["coverage", *args[1:3], "--crs", "gcj02", "--out", str(cov_out),
                 "--quiet"]) == 0
    before = json.loads((cov_out / "summary.json").read_text(encoding="utf-8"))
    assert plan["coverage_before"] == before["covered_share"]
    assert plan["covered_m_before"] == before["covered_m"]
    assert plan["added_m"] == pytest.approx(after["covered_m"] - before["covered_m"], abs=2e-3)
    # the sheet's 11 stations: 28.1 % of the built-up area (--area auto, the default);
    # 22.1 % of the whole extract
    assert 0.26 < before["covered_share"] < 0.30
    assert after["covered_share"] == pytest.approx(plan["reachable_share"], abs=1e-6)


def test_unreachable_target_is_reported(tmp_path, capsys):
    """Only the two OSM hosts: 100 % cannot be reached; the summary and the final line say
    how much street no candidate can reach, measured by the engine."""
    out = tmp_path / "osm"
    assert main(["plan", str(shared_osm(GUIXI)), str(shared_sheet("guixi_stations.xlsx")),
                 "--crs", "gcj02", "--candidates", "osm", "--out", str(out), "--quiet",
                 "--lang", "en", *NO_RULES_CLI]) == 0
    text = capsys.readouterr().out
    plan = json.loads((out / "plan_summary.json").read_text(encoding="utf-8"))
    after = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert plan["target_reached"] is False
    assert plan["new_sites"] <= 2
    # all the candidates can reach is what the plan covers: the rest is unreachable
    assert plan["unreachable_m"] == pytest.approx(after["total_m"] - after["covered_m"],
                                                  abs=2e-3)
    assert plan["unreachable_m"] > 0.5 * after["total_m"]
    assert "Target 100 % cannot be reached" in text
    assert f"{plan['unreachable_m'] / 1000:.1f} km of street is out of reach" in text
    assert after["covered_share"] < 0.5  # never "100 %"
    assert f"-> {100 * after['covered_share']:.1f} %" in text


def test_more_sites_than_useful_is_reported(tmp_path, capsys):
    out = tmp_path / "k"
    assert main(["plan", str(shared_osm(GUIXI)), str(shared_sheet("guixi_stations.xlsx")),
                 "--crs", "gcj02", "--candidates", "osm", "--new-sites", "5", "--out", str(out),
                 "--quiet", "--lang", "en", *NO_RULES_CLI]) == 0
    text = capsys.readouterr().out
    plan = json.loads((out / "plan_summary.json").read_text(encoding="utf-8"))
    assert plan["new_sites"] < 5
    assert plan["target_reached"] is False
    assert plan["sites_possible"] == plan["new_sites"]
    assert f"5 new sites were asked for, but only {plan['new_sites']} new sites" in text


def test_hosts_are_preferred_among_equal_choices():
    """Willing hosts beside street positions: no chosen street position could give way to
    an unchosen host that covers all the street it alone adds (checked with the engine:
    adding the street position to the others and the host adds something)."""
    from stationplan.candidates import join_candidates, snap_candidates

    net = sp.load_network(shared_osm(GUIXI))
    hosts = sp.read_stations(shared_sheet("guixi_willing_hosts.csv"), crs="gcj02")
    cands = join_candidates([snap_candidates(net, hosts[hosts["status"] == "ok"], kind="file"),
                             street_candidates(net, spacing_m=100)])
    stations = sp.snap_stations(net, sp.read_stations(shared_sheet("guixi_stations.xlsx"),
                                                      crs="gcj02"))
    rule = sp.CoverageRule(radius_m=500, max_minutes=None)
    res = plan_sites(net, stations, cands, rule=rule, new_sites=5, time_limit_s=5, **NO_RULES)
    props = res.proposals
    ok = stations[stations["status"] == "ok"].to_crs(4326)
    chosen = _as_stations(props.to_crs(cands.crs))
    taken = set(props["candidate_id"])
    checked = 0
    for i in np.flatnonzero((props["kind"] != "file").to_numpy()):
        rest = pd_concat(ok, chosen.drop(index=chosen.index[i]))
        for h in np.flatnonzero((cands["kind"] == "file").to_numpy()):
            if cands["candidate_id"].iat[h] in taken:
                continue
            with_host = pd_concat(rest, _as_stations(cands.iloc[[h]]))
            without = sp.compute_coverage(net, with_host, rule=rule).covered_m
            both = sp.compute_coverage(net, pd_concat(with_host, chosen.iloc[[i]]),
                                       rule=rule).covered_m
            assert both - without > 1e-9  # else the host would have been chosen
            checked += 1
    assert checked > 0


def test_a_host_twin_of_a_street_position_wins():
    """Hosts at the very places of some street positions, listed after them (so the index
    does not favour them): wherever the plan uses such a place, it names the host."""
    from stationplan.candidates import join_candidates

    # both carriageways counted (the scenario this test was written for: with dual
    # carriageways counted once the best plans happen to avoid the twinned places)
    net = sp.load_network(shared_osm(GUIXI), pair_carriageways_m=0)
    streets = street_candidates(net, spacing_m=100)
    twins = streets.iloc[::3].assign(kind="file", name="host")
    cands = join_candidates([streets, twins])
    stations = sp.snap_stations(net, sp.read_stations(shared_sheet("guixi_stations.xlsx"),
                                                      crs="gcj02"))
    rule = sp.CoverageRule(radius_m=500, max_minutes=None)
    for goal in ({"new_sites": 6}, {"target_share": 0.6}):
        props = plan_sites(net, stations, cands, rule=rule, time_limit_s=5, **NO_RULES,
                           **goal).proposals
        twin_at = {(e, round(o, 6)) for e, o in zip(twins["edge_id"], twins["offset_m"],
                                                    strict=True)}
        used = [(k, (e, round(o, 6))) for k, e, o in
                zip(props["kind"], props["edge_id"], props["offset_m"], strict=True)]
        on_twins = [k for k, place in used if place in twin_at]
        assert on_twins, "the plan should use some of the twinned places"
        assert set(on_twins) == {"file"}


def test_a_host_file_read_in_the_wrong_system_stops_the_plan(tmp_path, capsys):
    """The willing-hosts sheet is GCJ-02 with no note: read as WGS-84 every host would move
    about 600 m, so the plan stops (exit 2, nothing written) and names the fix."""
    out = tmp_path / "plan"
    assert main(["plan", str(shared_osm(GUIXI)), str(shared_sheet("guixi_stations.xlsx")),
                 "--hosts", str(shared_sheet("guixi_willing_hosts.csv")), "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "guixi_willing_hosts.csv" in err[0] and "--crs gcj02" in err[0]
    assert not out.exists()


def test_a_misspelt_candidate_source_is_refused_at_once(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["plan", "no-network.osm", "no-sheet.csv", "--candidates", "stret",
                 "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["stationplan: error: candidates must be auto, osm, streets or a file of "
                   "sites; 'stret' is none of these (no such file); did you mean streets?"]
    assert main(["plan", "no-network.osm", "no-sheet.csv", "--hosts", "nothere.csv",
                 "--out", str(out), "--quiet"]) == 3
    assert "nothere.csv: hosts file not found" in capsys.readouterr().err
    assert not out.exists()
