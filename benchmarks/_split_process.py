"""The coverage command's work measured from inside, for ``floor.py``'s bound.

    python benchmarks/_split_process.py CENTERLINES STATIONS OUT

Runs :func:`stationplan.pipeline.run_coverage` as ``stationplan coverage`` runs it (its
process settings, an output folder, the process ending without freeing its objects) and
prints one JSON line: the time (epoch seconds) at which the gaps stage starts and the
processor time this process had used by then (all its threads). Until the gaps stage the
run is this one process; from then on its writers run beside it.
"""

import json
import os
import resource
import sys
import time


def main() -> None:
    from stationplan._process import run_settings
    from stationplan.pipeline import run_coverage

    split: dict[str, float] = {}

    def on_stage(name: str) -> None:
        if name == "gaps":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            split.update(gaps_at=time.time(), cpu_before_gaps_s=usage.ru_utime + usage.ru_stime)

    network, stations, out = sys.argv[1:4]
    with run_settings():
        run_coverage(network, stations, out=out, overwrite=True, on_stage=on_stage)
    print(json.dumps(split), flush=True)
    os._exit(0)  # as the command ends: no teardown


if __name__ == "__main__":
    main()
