"""The output folder: which files each command writes, and the one guard against replacing them.

A leaf module (no heavy imports), so the command line can refuse a full folder before it
loads anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ._errors import InputError

COVERAGE_FILES = (
    "coverage.geojson", "stations.geojson", "gaps.geojson", "summary.json", "coverage_map.html",
    "coverage_map.png",
)
PLAN_FILES = ("proposals.geojson", "plan_summary.json", "timings.json", "coverage_curve.csv",
              "coverage_curve.png")
CHECK_FILES = ("check.csv", "check.geojson", "check_summary.json", "check_map.html")
NETWORK_FILES = ("network.gpkg", "network_summary.json")
REPORT_FILES = ("report.html", "report.md", "report.json")


def run_files(command: str, *, proposals: bool = False) -> tuple[str, ...]:
    """The files a command (a function of :mod:`stationplan.pipeline`) refuses to replace.

    ``timings.json`` is not among them: it is rewritten by every run.

    Parameters
    ----------
    command
        "coverage", "plan", "check", "report" or "network".
    proposals
        Whether a report run checks proposals (and writes the check files).

    Examples
    --------
    >>> run_files("report", proposals=True)[-4:]
    ('check_map.html', 'report.html', 'report.md', 'report.json')
    >>> run_files("network")
    ('network.gpkg', 'network_summary.json')
    """
    files = {
        "coverage": COVERAGE_FILES,
        "plan": (*COVERAGE_FILES, *PLAN_FILES, *REPORT_FILES),
        "check": CHECK_FILES,
        "report": (*COVERAGE_FILES, *(CHECK_FILES if proposals else ()), *REPORT_FILES),
        "network": NETWORK_FILES,
    }
    return tuple(n for n in dict.fromkeys(files[command]) if n != "timings.json")


def check_out_dir(out_dir: str | Path, names: Iterable[str], *, overwrite: bool) -> None:
    """Refuse to replace earlier outputs: raise InputError when ``out_dir`` holds any of
    ``names`` and ``overwrite`` is false.

    Parameters
    ----------
    out_dir
        The output folder (it need not exist).
    names
        File names a run would write there.
    overwrite
        Whether replacing them is allowed.

    Examples
    --------
    >>> check_out_dir("/nonexistent-folder", ["summary.json"], overwrite=False)
    """
    out = Path(out_dir)
    existing = [f for f in dict.fromkeys(names) if (out / f).exists()]
    if existing and not overwrite:
        msg = f"{out}: already holds {', '.join(existing)}; pass --overwrite or pick another folder"
        raise InputError(msg)


def open_out_dir(out_dir: str | Path, names: Iterable[str], *, overwrite: bool) -> Path:
    """The output folder, created, after :func:`check_out_dir` allowed writing ``names``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a" / "b"
    >>> open_out_dir(out, ["x.json"], overwrite=False).is_dir()
    True
    """
    out = Path(out_dir)
    check_out_dir(out, names, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    return out
