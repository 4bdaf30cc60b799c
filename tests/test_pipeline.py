"""The public pipeline: the README's Python API gives the CLI's figures, results are frozen,
the overwrite guard fires before any computation, and options that do not apply fail."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from handnet import hand_graph, shared_osm, shared_sheet, write_hand_stations

import stationplan as sp
from stationplan import _options, pipeline
from stationplan.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
GUIXI = "guixi_county_city.osm.bz2"


def readme_blocks() -> list[str]:
    """The Python code blocks of the README's "Python API" section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_api_block_gives_the_cli_figures(tmp_path, monkeypatch):
    osm, sheet = shared_osm(GUIXI), shared_sheet("guixi_stations.xlsx")
    cli_out = tmp_path / "cli"
    assert main(["coverage", str(osm), str(sheet), "--crs", "gcj02", "--out", str(cli_out),
                 "--quiet"]) == 0
    cli = json.loads((cli_out / "summary.json").read_text(encoding="utf-8"))

    # the README's placeholders stand for these files; it writes to "out" in the cwd
    monkeypatch.chdir(tmp_path)
    whole, stages = readme_blocks()[:2]
    namespace: dict = {}
    for block in (whole, stages):
        code = block.replace("district.osm.pbf", str(osm)).replace("stations.csv", str(sheet))
        exec(compile(code, str(README), "exec"), namespace)

    api = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert api == cli
    # the stage-by-stage block: same figures, computed without the pipeline
    assert json.loads(json.dumps(namespace["summary"])) == cli
    assert namespace["run"].summary == namespace["summary"]
    # the brief's road classes in the built-up area (--area auto, the default), each dual
    # carriageway counted once: 29.1 %; the whole extract (--area none) gives 23.2 % (22.1 %
    # counting both carriageways), and every class there 21.7 %
    assert cli["demand"]["area"] == "auto"
    assert "sp-area" in (cli_out / "coverage_map.html").read_text(encoding="utf-8")  # outline
    assert round(100 * cli["covered_share"], 1) == 29.1


@pytest.fixture
def hand_run(tmp_path):
    stations = write_hand_stations(tmp_path / "stations.csv")
    return pipeline.run_coverage(hand_graph(), stations, out=tmp_path / "out")


def test_results_are_frozen(hand_run):
    assert set(hand_run.paths) == {*sp.outputs.COVERAGE_FILES, "timings.json"}
    assert all(p.exists() for p in hand_run.paths.values())
    assert set(hand_run.timings) == {f"{s}_s" for s in pipeline.COVERAGE_STAGES}
    for cls in (pipeline.CoverageRun, pipeline.PlanRun, pipeline.CheckRun, pipeline.ReportRun,
                pipeline.NetworkRun):
        assert cls.__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        hand_run.summary = {}  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sp.MapOptions().lang = "zh"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sp.CenterlineOptions().class_column = "x"  # type: ignore[misc]


def test_stage_callback_sees_every_stage(tmp_path):
    seen: list[str] = []
    stations = write_hand_stations(tmp_path / "stations.csv")
    pipeline.run_coverage(hand_graph(), stations, on_stage=seen.append)
    assert seen == ["load_network", "stations", "coverage", "gaps"]  # nothing written


def _refuse_to_load(*_args, **_kwargs):
    pytest.fail("the network was loaded before the overwrite guard")


@pytest.mark.parametrize(("command", "existing"), [
    ("coverage", "summary.json"), ("plan", "plan_summary.json"), ("plan", "report.md"),
    ("check", "check.csv"), ("report", "report.html"), ("report", "check_summary.json"),
    ("network", "network.gpkg"),
])
def test_overwrite_guard_fires_before_computation(tmp_path, monkeypatch, capsys, command,
                                                  existing):
    monkeypatch.setattr(pipeline, "load_network", _refuse_to_load)
    monkeypatch.setattr(pipeline, "read_stations", _refuse_to_load)
    out = tmp_path / "out"
    out.mkdir()
    (out / existing).write_text("earlier run", encoding="utf-8")
    stations = write_hand_stations(tmp_path / "stations.csv")
    args = {"coverage": [str(stations)], "plan": [str(stations)],
            "check": [str(stations), str(stations)],
            "report": [str(stations), "--proposals", str(stations)], "network": []}[command]
    code = main([command, str(tmp_path / "net.osm"), *args, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (f"stationplan: error: {out}: already holds {existing}; pass --overwrite "
                   "or pick another folder")
    assert (out / existing).read_text(encoding="utf-8") == "earlier run"


def test_overwrite_guard_in_the_api(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "load_network", _refuse_to_load)
    (tmp_path / "coverage.geojson").write_text("{}", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"already holds coverage\.geojson"):
        sp.run_coverage(hand_graph(), "stations.csv", out=tmp_path)


OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="28.0" lon="117.0"/><node id="2" lat="28.001" lon="117.0"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
</osm>
"""


@pytest.mark.parametrize("option", [["--class-column", "dldj"], ["--split-at-crossings"],
                                    ["--join-tolerance-m", "2"], ["--oneway-column", "ow"]])
def test_centerline_option_with_an_osm_file_is_an_input_error(tmp_path, capsys, option):
    osm = tmp_path / "town.osm"
    osm.write_text(OSM, encoding="utf-8")
    stations = write_hand_stations(tmp_path / "stations.csv")
    code = main(["coverage", str(osm), str(stations), "--out", str(tmp_path / "out"), *option])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("stationplan: error: centerline options")
    assert "town.osm (an OSM file)" in err
    assert not (tmp_path / "out").exists()


def test_centerline_options_with_other_sources(tmp_path):
    osm = tmp_path / "town.osm"
    osm.write_text(OSM, encoding="utf-8")
    opts = sp.CenterlineOptions(class_column="dldj")
    with pytest.raises(sp.InputError, match=r"not to town.osm \(an OSM file\)"):
        sp.load_network(osm, centerline=opts)
    with pytest.raises(sp.InputError, match="not to an OSMnx graph"):
        sp.load_network(hand_graph(), centerline=opts)
    with pytest.raises(sp.InputError, match="not to an OSMnx graph"):
        sp.load_network(hand_graph(), split_at_crossings=True)
    graphml = tmp_path / "town.graphml"
    graphml.write_text("<graphml/>", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"town.graphml \(a GraphML file\)"):
        sp.load_network(graphml, centerline=opts)
    with pytest.raises(sp.InputError, match="not both"):
        sp.load_network(osm, centerline=opts, class_column="x")
    # an OSM file without centerline options reads as before
    assert len(sp.load_network(osm).edges) == 1


def test_options_are_checked_when_made():
    with pytest.raises(sp.InputError, match="needs a key"):
        sp.MapOptions(basemap="tianditu")
    with pytest.raises(sp.InputError, match="basemap 'google' is not known"):
        sp.MapOptions(basemap="google")
    with pytest.raises(sp.InputError, match="lang 'fr' is not supported"):
        sp.MapOptions(lang="fr")
    with pytest.raises(sp.InputError, match="join_tolerance_m"):
        sp.CenterlineOptions(join_tolerance_m=float("nan"))


@pytest.mark.parametrize(("make", "field"), [
    (lambda: sp.NetworkOptions(mode="car"), "mode 'car'"),
    (lambda: sp.NetworkOptions(margin_m=-1), "margin_m"),
    (lambda: sp.NetworkOptions(margin_m=float("nan")), "margin_m"),
    (lambda: sp.NetworkOptions(roads="primary"), "roads"),
    (lambda: sp.StationOptions(max_snap_m=-5), "max_snap_m"),
    (lambda: sp.StationOptions(lon_col=""), "lon_col"),
    (lambda: sp.StationOptions(sheet=1.5), "sheet"),
    (lambda: sp.CheckOptions(min_gain_m=-1), "min_gain_m"),
    (lambda: sp.CheckOptions(time_limit_s=float("inf")), "time_limit_s"),
])
def test_run_options_are_validated_when_made(make, field):
    with pytest.raises(sp.InputError, match=re.escape(field)):
        make()


def test_run_options_are_frozen():
    for options in (sp.NetworkOptions(), sp.StationOptions(), sp.CheckOptions()):
        assert type(options).__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        sp.NetworkOptions().mode = "bike"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sp.StationOptions().max_snap_m = 5  # type: ignore[misc]
    weights = {"primary": 2.0}
    opts = sp.CheckOptions(class_weights=weights)
    weights["primary"] = 9.0  # the options keep their own copy, read-only
    assert opts.class_weights["primary"] == 2.0
    with pytest.raises(TypeError):
        opts.class_weights["primary"] = 3.0  # type: ignore[index]


def test_rule_defaults_to_the_network_mode(tmp_path):
    stations = write_hand_stations(tmp_path / "stations.csv")
    bike = pipeline.run_coverage(hand_graph(), stations,
                                 network_options=sp.NetworkOptions(mode="bike"))
    assert bike.coverage.rule == sp.CoverageRule.for_mode("bike")
    with pytest.raises(sp.InputError, match="rule must be a CoverageRule"):
        pipeline.run_coverage(hand_graph(), stations, rule=500)  # type: ignore[arg-type]


def test_one_set_of_defaults():
    names, brief = _options.MODE_NAMES, (_options.BRIEF_SERVE, _options.BRIEF_IGNORE)
    assert tuple(sorted(sp.MODES)) == names
    assert sp.RoadClasses(serve=brief[0], ignore=brief[1]) == sp.BRIEF_ROAD_CLASSES
    # the CLI shows the pipeline's defaults
    parser = __import__("stationplan.cli", fromlist=["_parser"])._parser()
    plan = parser.parse_args(["plan", "n.osm", "s.csv", "--out", "o"])
    run_plan = pipeline.run_plan.__kwdefaults__
    for name in ("candidate_spacing_m", "candidate_snap_m", "resolution_m", "time_limit_s",
                 "seed", "spacing"):
        assert getattr(plan, name) == run_plan[name], name
    assert plan.mode == sp.NetworkOptions().mode
    assert plan.max_snap_m == sp.StationOptions().max_snap_m
    rule = sp.CoverageRule.for_mode(plan.mode, radius_m=plan.radius_m,
                                    max_minutes=plan.max_minutes)
    assert rule == pipeline._Job.make(None, None, None, None, None).rule
    check = parser.parse_args(["check", "n.osm", "s.csv", "p.csv", "--out", "o"])
    assert check.min_gain_m == sp.CheckOptions().min_gain_m == 150
    assert check.time_limit_s == sp.CheckOptions().time_limit_s
    assert sp.load_network.__kwdefaults__["roads"] == sp.BRIEF_ROAD_CLASSES
