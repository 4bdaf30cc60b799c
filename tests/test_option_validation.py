"""Every option is checked once, with one rule per option (:data:`stationplan._options.RANGES`).

On the command line a bad value stops at parse time: exit 2, one line on stderr naming the
option, nothing written to ``--out``. In the Python API the same values raise
:class:`~stationplan.InputError` naming the parameter.
"""

from __future__ import annotations

import itertools
import math
import re

import osmnx as ox
import pytest
from handnet import hand_graph, write_hand_stations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stationplan as sp
from stationplan.candidates import street_candidates
from stationplan.cli import _parser, main
from stationplan.siting import plan_sites

RULE = ("coverage", "plan", "check", "report", "demo", "batch")
NETWORK = ("coverage", "network", "plan", "check", "report", "partition")
COUNT = ("coverage", "plan", "report")  # --cover: k-coverage
BENCHMARK = ("plan", "check", "report")  # --candidate-spacing-m, --time-limit-s, --weights
SITING = ("plan", "batch")  # batch plan: the siting options of plan, per unit
POSITIVE = ["nan", "inf", "-inf", "-1", "0", "-0", "abc", "", "1e999"]
NON_NEGATIVE = ["nan", "inf", "-inf", "-1", "-0.5", "abc", ""]
AT_LEAST_ONE = ["nan", "inf", "0.5", "0", "-1", "abc"]
CRS = ["gcj2", "wsg84", "EPSG:999999", "abc", ""]
# option -> (the commands that take it, values each of them refuses)
BAD = {
    "--radius-m": (RULE, POSITIVE),
    "--max-minutes": (RULE, POSITIVE),
    "--speed-kmh": (RULE, POSITIVE),
    "--max-snap-m": (RULE, POSITIVE),
    "--margin-m": (NETWORK, NON_NEGATIVE),
    "--join-tolerance-m": (NETWORK, NON_NEGATIVE),
    "--carriageway-pair-m": (NETWORK, [*NON_NEGATIVE, "201"]),
    # a time to evaluate opening hours at (stationplan.hours.parse_at)
    "--at": (("coverage", "plan"), ["25:00", "Sat", "noon", "", "2025-13-01 07:00"]),
    # rule packs: an unknown rule, a rule twice, a missing file, an empty name
    "--rules": (("coverage", "report"), ["xinel", "xinle,xinle", "./missing.toml", "", ","]),
    # the rules a new site must meet: the same options in plan and check
    "--min-gain-m": (("plan", "check", "report", "batch"), NON_NEGATIVE),
    "--min-spacing-m": (("plan", "check", "report", "batch"), NON_NEGATIVE),
    "--candidate-spacing-m": ((*BENCHMARK, "batch"), AT_LEAST_ONE),
    "--time-limit-s": ((*BENCHMARK, "batch"), POSITIVE),
    "--weights": (BENCHMARK, ["primary=inf", "primary=-1", "primary=nan", "primary=x", "primary",
                              "=2", "primary=1,primary=2"]),
    "--kernel-m": (("coverage", "plan", "report"), POSITIVE),
    "--candidate-snap-m": (SITING, POSITIVE),
    "--resolution-m": (("plan",), AT_LEAST_ONE),
    "--seed": (SITING, ["-1", "1.5", "1e3", "nan", "inf", "abc", ""]),
    "--halo-m": (("partition",), POSITIVE),
    # a task's street budget: at least 1,000 street segments, a whole number
    "--max-unit-edges": (("partition",), ["999", "0", "-1", "1500.5", "nan", "inf", "abc", ""]),
    "--workers": (("batch",), AT_LEAST_ONE),
    "--scheduler": (("batch",), ["locla", "", "cluster", "Local "]),
    "--quota-curve": (("batch",), ["0", "-1", "1.5", "nan", "inf", "abc", ""]),
    "--sites": (("batch",), ["0", "-1", "1.5", "nan", "inf", "abc", ""]),
    "--quota": (("batch",), ["-1", "1.5", "nan", "inf", "abc", ""]),
    "--cover": (COUNT, ["0", "-1", "1.5", "nan", "inf", "abc", "", "21", "1e30"]),
    "--new-sites": (("plan",), ["0", "-1", "1.5", "nan", "inf", "abc", ""]),
    # stationplan serve: a TCP port
    "--port": (("serve",), ["0", "-1", "65536", "1.5", "nan", "inf", "abc", ""]),
    "--target": (("plan",), ["nan%", "150%", "-5%", "0", "0%", "101", "inf", "-0.5", "abc",
                             "%"]),
    # coordinate systems: a misspelt name, an unknown code, a blank
    "--crs": (("coverage", "demo", "plan", "export", "check", "report", "batch"), CRS),
    "--proposal-crs": (("check", "report"), CRS),
    "--area-crs": ((*NETWORK,), CRS),
    "--districts-crs": (("coverage", "plan", "report"), CRS),
    "--demand-crs": (("coverage", "plan", "report"), CRS),
    "--regions-crs": (("partition",), CRS),
}
CASES = [(command, option, value) for option, (commands, values) in BAD.items()
         for command in commands for value in values]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hand")
    net = d / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    stations = write_hand_stations(d / "stations.csv")
    proposals = d / "proposals.csv"
    proposals.write_text("\n".join(stations.read_text(encoding="utf-8").splitlines()[:3]) + "\n",
                         encoding="utf-8")
    paris = d / "paris.csv"
    paris.write_text("name,lon,lat\nParis,2.3522,48.8566\n", encoding="utf-8")
    return {"net": net, "stations": stations, "proposals": proposals, "paris": paris,
            "regions": "grid:1", "task": "coverage", "units": d / "units"}


def _argv(files, command, out, *extra):
    positional = {"coverage": ["net", "stations"], "network": ["net"], "demo": [],
                  "plan": ["net", "stations"], "check": ["net", "stations", "proposals"],
                  "report": ["net", "stations"], "partition": ["net", "regions"],
                  "batch": ["task", "units", "stations"], "serve": [],
                  "export": ["stations"]}[command]
    return [command, *(str(files[k]) for k in positional), "--out", str(out), "--quiet", *extra]


def _run(argv, capsys):
    """Exit code and stderr lines of ``main(argv)`` (which returns argparse's exit code)."""
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.splitlines()


def _written(out):
    return out.exists() and any(out.iterdir())


@pytest.mark.parametrize(("command", "option", "value"), CASES)
def test_a_bad_value_stops_at_parse_time(files, tmp_path, capsys, command, option, value):
    out = tmp_path / "out"
    code, err = _run(_argv(files, command, out, f"{option}={value}"), capsys)
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"stationplan {command}: error: argument {option}: "), err[0]
    assert err[0].endswith(f"(see stationplan {command} --help)")
    if option != "--weights":  # its message quotes the bad part
        assert f"not {value!r}" in err[0]
    assert not out.exists()


def test_every_numeric_option_of_every_command_is_tested():
    """Every argument with a type (a number, --target, --weights) is in BAD for its command."""
    parser = _parser()
    typed = {(name, option) for name, command in parser.commands.items()
             for action in command._actions if action.type is not None
             for option in action.option_strings}
    tested = {(command, option) for option, (commands, _) in BAD.items() for command in commands}
    assert typed == tested


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--max-snap-m", "-5", "must be a number > 0 (metres from a station to its street), not '-5'"),
    ("--max-snap-m", "nan", "must be a number > 0 (metres from a station to its street), "
                            "not 'nan'"),
    ("--min-spacing-m", "-5", "must be a number >= 0 (metres between stations; 0 for no "
                              "minimum), not '-5'"),
    ("--seed", "-1", "must be a whole number >= 0 (seed of the local search), not '-1'"),
    ("--weights", "primary=inf", "the weight of primary must be a number >= 0 (demand weight "
                                 "of a road class, 1 when not given), not 'inf'"),
    ("--target", "150%", "must be a number > 0 and <= 1 (share of all demand street) or a "
                         "percentage like 95%, not '150%'"),
    ("--candidate-spacing-m", "nan", "must be a number >= 1 (metres between street "
                                     "candidates), not 'nan'"),
])
def test_the_message_names_the_rule(files, tmp_path, capsys, option, value, words):
    """The value as a separate word, as people type it (``--max-snap-m -5``)."""
    out = tmp_path / "out"
    code, err = _run(_argv(files, "plan", out, option, value), capsys)
    assert (code, len(err)) == (2, 1)
    assert err[0] == (f"stationplan plan: error: argument {option}: {words} "
                      "(see stationplan plan --help)")
    assert not out.exists()


@pytest.mark.parametrize(("command", "option"), [
    ("coverage", "--crs"), ("check", "--proposal-crs"), ("coverage", "--area-crs"),
    ("report", "--districts-crs"), ("plan", "--demand-crs"), ("partition", "--regions-crs"),
])
def test_a_misspelt_crs_gets_the_closest_name(files, tmp_path, capsys, command, option):
    """Refused before anything is read, naming the option and the system meant, in English
    and in Chinese; an EPSG code, a PROJ string and the aliases are systems."""
    out = tmp_path / "out"
    code, err = _run(_argv(files, command, out, option, "gcj2"), capsys)
    assert (code, len(err)) == (2, 1)
    assert err[0].startswith(f"stationplan {command}: error: argument {option}: ")
    assert err[0].endswith("not 'gcj2'; did you mean gcj02? "
                           f"(see stationplan {command} --help)"), err[0]
    code, err = _run(_argv(files, command, out, option, "bd-9", "--lang", "zh"), capsys)
    assert (code, len(err)) == (2, 1)
    assert err[0] == (f"stationplan {command}: 错误：参数 {option}：'bd-9' 不是已知的坐标系；"
                      "请用 wgs84、gcj02（高德、腾讯）、bd09（百度）、cgcs2000 或 EPSG:代码；"
                      f"是不是要用 bd09？（见 stationplan {command} --help）")
    assert not out.exists()
    parser = _parser()
    for value in ("EPSG:4490", "epsg:32650", "GCJ-02", "高德", "baidu", "+proj=longlat"):
        assert getattr(parser.parse_args(_argv(files, command, out, option, value)),
                       option[2:].replace("-", "_")) == value


@pytest.mark.parametrize(("extra", "words"), [
    (["--radus-m", "5"], "unrecognized arguments: --radus-m 5; did you mean --radius-m?"),
    (["--max-snapm=3"], "unrecognized arguments: --max-snapm=3; did you mean --max-snap-m?"),
    (["--xyzzy"], "unrecognized arguments: --xyzzy (see"),
    (["--mode", "car"], "argument --mode: invalid choice: 'car' (choose from 'bike', 'ebike', "
                        "'walk')"),
    (["--basemap", "gaod"], "did you mean gaode?"),
])
def test_unknown_options_and_choices_are_one_line(files, tmp_path, capsys, extra, words):
    out = tmp_path / "out"
    code, err = _run(_argv(files, "coverage", out, *extra), capsys)
    assert (code, len(err)) == (2, 1)
    assert err[0].startswith("stationplan coverage: error: ")
    assert words in err[0]
    assert not out.exists()


@pytest.mark.parametrize(("argv", "words"), [
    (["plna"], "stationplan: error: argument command: invalid choice: 'plna'"),
    (["plna"], "did you mean plan?"),
    ([], "stationplan: error: the following arguments are required: command"),
    (["coverage", "net.osm"], "stationplan coverage: error: the following arguments are "
                              "required: stations, --out (see stationplan coverage --help)"),
    (["plan", "n", "s", "--out", "o", "--target", "50%", "--new-sites", "2"],
     "argument --new-sites: not allowed with argument --target"),
])
def test_other_usage_errors_are_one_line(capsys, argv, words):
    code, err = _run(argv, capsys)
    assert (code, len(err)) == (2, 1)
    assert words in err[0]


def test_the_paris_station_is_refused_with_nan_not_snapped(files, tmp_path, capsys):
    """A station 9,000 km from every street: nan used to switch the snap limit off."""
    out = tmp_path / "out"
    argv = _argv(files, "coverage", out, "--max-snap-m", "nan")
    argv[2] = str(files["paris"])
    code, err = _run(argv, capsys)
    assert (code, len(err)) == (2, 1)
    assert "--max-snap-m" in err[0]
    assert not out.exists()
    net = sp.network_from_graph(hand_graph())
    paris = sp.read_stations(files["paris"])
    for value in (math.nan, math.inf):
        with pytest.raises(sp.InputError, match="max_snap_m must be a number > 0"):
            sp.snap_stations(net, paris, max_snap_m=value)
    assert sp.snap_stations(net, paris)["status"].tolist() == ["too_far_from_street"]
    unlimited = sp.snap_stations(net, paris, max_snap_m=None)  # asked for in so many words
    assert unlimited["snap_dist_m"].iloc[0] > 5e6


# --- the Python API ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def hand(files):
    net = sp.network_from_graph(hand_graph())
    stations = sp.snap_stations(net, sp.read_stations(files["stations"]))
    return net, stations, street_candidates(net, spacing_m=200)


NAN, INF = math.nan, math.inf
NOT_NUMBERS = [NAN, INF, -INF, -1.0, "5", True]
# name in the message, how the API is called with a value, values refused besides NOT_NUMBERS
API = [
    ("margin_m", lambda v, **_: sp.NetworkOptions(margin_m=v), []),
    ("margin_m", lambda v, **_: sp.load_network(hand_graph(), margin_m=v), [None]),
    ("pair_carriageways_m", lambda v, **_: sp.NetworkOptions(pair_carriageways_m=v), [None, 201]),
    ("pair_carriageways_m",
     lambda v, **_: sp.load_network(hand_graph(), pair_carriageways_m=v), [None, 201]),
    ("join_tolerance_m", lambda v, **_: sp.CenterlineOptions(join_tolerance_m=v), [None]),
    ("max_snap_m", lambda v, **_: sp.StationOptions(max_snap_m=v), [0, None]),
    ("max_snap_m", lambda v, hand, **_: sp.snap_stations(hand[0], hand[1], max_snap_m=v), [0]),
    ("min_gain_m", lambda v, **_: sp.CheckOptions(min_gain_m=v), [None]),
    ("min_spacing_m", lambda v, **_: sp.CheckOptions(min_spacing_m=v), []),
    ("candidate_spacing_m", lambda v, **_: sp.CheckOptions(candidate_spacing_m=v), [0, 0.5]),
    ("time_limit_s", lambda v, **_: sp.CheckOptions(time_limit_s=v), [0, None]),
    ("class_weights['primary']", lambda v, **_: sp.CheckOptions(class_weights={"primary": v}),
     [None]),
    ("radius_m", lambda v, **_: sp.CoverageRule(radius_m=v), [0]),
    ("max_minutes", lambda v, **_: sp.CoverageRule(max_minutes=v), [0]),
    ("speed_kmh", lambda v, **_: sp.CoverageRule(speed_kmh=v), [0, None]),
    ("spacing_m", lambda v, **_: street_candidates(sp.network_from_graph(hand_graph()),
                                                   spacing_m=v), [0, 0.5]),
    ("min_gain_m", lambda v, hand, **_: sp.check_sites(hand[0], hand[1], hand[1], min_gain_m=v),
     [None]),
    ("min_spacing_m", lambda v, hand, **_: sp.check_sites(hand[0], hand[1], hand[1],
                                                          min_spacing_m=v), []),
    ("max_snap_m", lambda v, hand, **_: sp.check_sites(hand[0], hand[1], hand[1], max_snap_m=v),
     [0, None]),
]
PLAN = {  # siting options: values refused besides NOT_NUMBERS (None means "not given")
    "target_share": [0, 1.5], "new_sites": [0, 1.5, 2.0], "resolution_m": [0, 0.5, None],
    "class_weights": [], "min_spacing_m": [], "min_gain_m": [None], "time_limit_s": [0, None],
    "seed": [1.5, None],
    "candidate_spacing_m": [0, 0.5, None], "candidate_snap_m": [0, None],
}


def _plan_kwargs(name, value):
    if name == "class_weights":
        return {"new_sites": 1, "class_weights": {"primary": value}}
    if name == "target_share":
        return {"target_share": value}
    return {"new_sites": 1, name: value}


for _name, _extra in PLAN.items():
    _shown = "class_weights['primary']" if _name == "class_weights" else _name
    if _name not in ("candidate_spacing_m", "candidate_snap_m"):  # run_plan's own
        API.append((_shown, lambda v, hand, name=_name, **_: plan_sites(
            *hand, **_plan_kwargs(name, v)), _extra))
    API.append((_shown, lambda v, files, out, name=_name, **_: sp.run_plan(
        files["net"], files["stations"], out=out, **_plan_kwargs(name, v)), _extra))
API_CASES = [(name, call, value) for name, call, extra in API
             for value in [*NOT_NUMBERS, *extra]]


@pytest.mark.parametrize(("name", "call", "value"), API_CASES)
def test_the_api_refuses_the_same_values(files, hand, tmp_path, name, call, value):
    out = tmp_path / "out"
    with pytest.raises(sp.InputError, match=re.escape(name)):
        call(value, hand=hand, files=files, out=out)
    assert not out.exists()


def test_plan_options_are_reported_together(files, tmp_path):
    with pytest.raises(sp.InputError) as info:
        sp.run_plan(files["net"], files["stations"], out=tmp_path / "o", new_sites=0,
                    seed=-1, time_limit_s=NAN, spacing="taxicab", min_gain_m=-1)
    words = str(info.value)
    for name in ("new_sites", "seed", "time_limit_s", "spacing", "min_gain_m"):
        assert name in words


# --- any value of any option: 0, or 2 with one line naming it; never 70 or a traceback ---

NUMERIC = {  # options of the runs below (each a second or less on the hand network)
    "coverage": [o for o, (cmds, _) in BAD.items() if "coverage" in cmds],
    "check": [o for o, (cmds, _) in BAD.items() if "check" in cmds],
    "plan": [o for o, (cmds, _) in BAD.items() if "plan" in cmds],
}
VALUES = st.one_of(
    st.floats().map(repr),  # nan, inf, -0.0, 5e-324, 1.7976931348623157e+308, ...
    st.integers(min_value=-(10**6), max_value=10**30).map(str),
    st.floats(min_value=0.5, max_value=2000).map(lambda x: f"{x:g}"),
    st.sampled_from(["", "abc", "1,5", "5%", "95%", "0x10", "1e", " 7 ", "1_000", "١٢", "∞"]),
    st.text(max_size=6),
)
_outs = itertools.count()


@st.composite
def _options(draw):
    command = draw(st.sampled_from(sorted(NUMERIC)))
    given = []
    for option in draw(st.lists(st.sampled_from(NUMERIC[command]), min_size=1, max_size=2)):
        value = draw(VALUES)
        if option == "--weights":
            value = f"{draw(st.sampled_from(['primary', 'footway', 'x']))}={value}"
        given.append((option, value))
    return command, given


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(_options())
def test_any_option_value_is_run_or_refused_in_one_line(files, tmp_path, capsys, drawn):
    command, given = drawn
    out = tmp_path / f"o{next(_outs)}"
    extra = [f"{option}={value}" for option, value in given]
    if command == "plan":
        extra += ["--candidates", "streets"]
        if not any(option in ("--target", "--new-sites") for option, _ in given):
            extra += ["--new-sites", "1"]
    code, err = _run(_argv(files, command, out, *extra), capsys)
    assert code in (0, 2), err
    if code == 2:
        assert len(err) == 1, err
        names = {form for option, _ in given
                 for form in (option, option[2:].replace("-", "_"))}
        assert any(name in err[0] for name in names), err[0]
        assert not _written(out)
    else:
        assert _written(out)
