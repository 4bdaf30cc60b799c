"""Start-up time (issue 13): ``import stationplan`` and ``stationplan --help``.

Usage: ``python benchmarks/startup.py [--repeats 5] [--out benchmarks/results/startup.md]``

Every command runs in a fresh interpreter from the checkout's root, so the checkout's
package is the one imported. Wall times are the best of ``--repeats`` runs (the machine is
shared; the best run is the one least disturbed). Baselines from the same run, ``python -c
"pass"`` and ``python -c "import numpy"``, give ratios that carry across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import machine

ROOT = Path(__file__).resolve().parent.parent
TARGETS_S = {"import stationplan": 1.0, "stationplan --help": 0.5}
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    "import stationplan": [sys.executable, "-c", "import stationplan"],
    "stationplan --help": [sys.executable, "-m", "stationplan", "--help"],
}


def best_wall_s(cmd: list[str], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``cmd``, in seconds."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return min(times)


def import_profile() -> dict:
    """Module count and cumulative time of ``python -X importtime -c 'import stationplan'``."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import stationplan"],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("import time:")]
    rows = [ln.split("|") for ln in lines[1:]]  # the first line is the header
    cumulative = {r[2].strip(): int(r[1]) for r in rows}
    # stationplan's own imports are listed just before it, one level deeper (3 spaces)
    end = next(i for i, r in enumerate(rows) if r[2].strip() == "stationplan")
    start = max((i for i in range(end) if not rows[i][2].startswith("  ")), default=-1) + 1
    slowest = sorted((int(r[1]), r[2].strip()) for r in rows[start:end]
                     if r[2].startswith("   ") and not r[2].startswith("     "))[::-1]
    return {"modules": len(rows), "stationplan_cumulative_s": cumulative["stationplan"] / 1e6,
            "slowest_direct_imports": [[name, us / 1e6] for us, name in slowest[:5]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "startup.md"))
    args = parser.parse_args()

    profile = import_profile()
    wall = {name: best_wall_s(cmd, args.repeats) for name, cmd in COMMANDS.items()}
    base, numpy_s = wall["python -c pass"], wall["python -c 'import numpy'"]
    rows = []
    for name, seconds in wall.items():
        target = TARGETS_S.get(name)
        rows.append({"command": name, "best_s": seconds, "x_python": seconds / base,
                     "x_numpy": seconds / numpy_s, "target_s": target,
                     "meets_target": None if target is None else seconds < target})
    result = {"machine": machine(), "load_average": os.getloadavg(), "repeats": args.repeats,
              "import_profile": profile, "wall": rows}

    lines = [
        "# stationplan start-up (issue 13)",
        "",
        f"Command: `python benchmarks/startup.py --repeats {args.repeats}`  ",
        f"Machine: {json.dumps(result['machine'])}  ",
        "Load average at the end (1, 5, 15 min): "
        + ", ".join(f"{x:.1f}" for x in result["load_average"]) + "  ",
        f"Wall time: best of {args.repeats} fresh interpreters, run from the checkout's root.",
        "",
        f"`python -X importtime -c \"import stationplan\"`: {profile['modules']:,} modules, "
        f"{profile['stationplan_cumulative_s']:.3f} s cumulative for `stationplan`.",
        "",
        "| command | best wall s | x `python -c pass` | x `import numpy` | target s | meets |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        target = "-" if r["target_s"] is None else f"< {r['target_s']}"
        meets = "-" if r["meets_target"] is None else ("yes" if r["meets_target"] else "NO")
        lines.append(f"| `{r['command']}` | {r['best_s']:.3f} | {r['x_python']:.1f} | "
                     f"{r['x_numpy']:.1f} | {target} | {meets} |")
    lines += ["", "Slowest direct imports of `stationplan` (cumulative s):", ""]
    lines += [f"- `{name}`: {s:.3f}" for name, s in profile["slowest_direct_imports"]]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
