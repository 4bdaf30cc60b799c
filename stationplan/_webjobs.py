"""The page's background jobs: plans and checks on a scenario's stations, run in threads,
their progress and results stored with the job (:class:`~stationplan.project.Project`),
and the jobs as the API answers them (see docs/serve.md)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._errors import StationplanError
from ._i18n.cli import PROGRESS_ZH, serve_text
from ._io import json_ready
from ._workbench import (
    Workbench,
    error_message,
    file_error,
    number,
    point_of,
    stations_csv,
    text_of,
)

log = logging.getLogger(__name__)

__all__ = ["check_job", "job_json", "latest_job", "plan_job", "start_job"]

def start_job(session: Workbench, kind: str, params: Mapping[str, Any],
              work: Callable[[int, Callable[[float, str], None]], Any], *,
              on_start: Callable[[int], object] | None = None) -> int:
    """Run ``work(job_id, report)`` in a thread; its result or error is stored with the job.

    ``report(progress, message)`` stores the progress (0..1) a few times a second at
    most; ``on_start(job_id)`` is called before the thread starts."""
    project = session.project
    job = project.add_job(kind, params)
    last = [0.0]

    def report(progress: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] > 0.2 or progress >= 1:  # a few writes a second at most
            last[0] = now
            project.update_job(job, progress=max(0.0, min(1.0, progress)),
                               message=message or None)

    def run() -> None:
        project.update_job(job, state="running",
                           message=serve_text(f"job.{kind}", session.lang))
        try:
            result = work(job, report)
        except Exception as exc:
            message = error_message(exc, session.lang)
            log.warning("job %d (%s) failed: %s", job, kind, message)
            project.update_job(job, state="failed", message=message)
        else:
            project.update_job(job, state="done", progress=1.0,
                               message=serve_text("job.done", session.lang), result=result)

    if on_start is not None:
        on_start(job)
    threading.Thread(target=run, name=f"stationplan-job-{job}", daemon=True).start()
    return job


def job_json(session: Workbench, j: Mapping[str, Any]) -> dict[str, Any]:
    """A job as ``GET /api/jobs/{id}`` answers it: a plan's proposals with the statuses
    the project holds now, and its certificate (``optimal_for``) in the page's language."""
    lang = session.lang
    result = j["result"]
    if j["kind"] == "plan" and j["state"] == "done" and result is not None:
        from ._i18n import plan_certificate

        status = {p["rank"]: p for p in session.project.proposals(int(j["id"]))}
        for p in result.get("proposals", []):
            rec = status.get(p["rank"])
            if rec is not None:
                p["status"], p["station_id"] = rec["status"], rec["station_id"]
        if result.get("summary"):
            result["optimal_for"] = plan_certificate(result["summary"], lang)
            result["lang"] = lang
    message = j["message"]
    if message == "interrupted":
        message = serve_text("interrupted", lang)
    return {"id": j["id"], "kind": j["kind"], "state": j["state"], "progress": j["progress"],
            "scenario": (j.get("params") or {}).get("scenario"), "message": message,
            "result": result}


def latest_job(session: Workbench, kind: str, scenario: int) -> dict[str, Any] | None:
    """The job of ``kind`` a page of ``scenario`` shows: the one running, else the latest
    that finished (``None``: none did)."""
    jobs = session.project.jobs_of(kind, scenario)
    found = next((j for j in jobs if j["state"] in ("queued", "running")), None) or next(
        (j for j in jobs if j["state"] == "done"), None)
    return None if found is None else job_json(session, found)


def plan_job(session: Workbench, job: int, params: Mapping[str, Any],
          report: Callable[[float, str], None]) -> dict[str, Any]:
    """A plan on the current stations (``stationplan plan`` with the same defaults)."""
    from ._i18n import plan_certificate
    from ._options import MapOptions, StationOptions
    from .pipeline import PLAN_STAGES, run_plan

    scenario = int(params["scenario"])  # the scenario asked for, whatever is open now
    with session.lock:
        stations = session.project.stations(scenario)
        network = session.network_path
    stages = {name: i / len(PLAN_STAGES) for i, name in enumerate(PLAN_STAGES)}
    lang = session.lang

    def word(stage: str) -> str:
        return PROGRESS_ZH.get(stage, stage) if lang == "zh" else stage

    def on_stage(name: str) -> None:
        report(stages.get(name, 0.0), word(name))

    def progress(done: int, total: int) -> None:
        base = stages["siting"]
        report(base + (1 / len(PLAN_STAGES)) * (done / max(total, 1)), word("siting"))

    with stations_csv(stations) as csv_path:
        run = run_plan(network, csv_path, new_sites=params.get("k"),
                       target_share=params.get("target_share"),
                       station_options=StationOptions(crs="wgs84"),
                       map_options=MapOptions(lang=lang),  # addresses in the page's words
                       on_stage=on_stage, progress=progress)
    props = run.plan.proposals
    pts = props.geometry.to_crs(4326)
    sites = []
    for i, (_, r) in enumerate(props.iterrows()):
        rank = int(r["rank"]) if "rank" in props.columns else i + 1
        gain = number(r.get("marginal_m")) or 0.0
        name = text_of(r.get("name")) or text_of(r.get("address")) or f"#{rank}"
        lon, lat = point_of(pts.iloc[i])
        sites.append({"rank": rank, "lon": lon, "lat": lat,
                      "gain_m": gain, "status": "proposed", "name": name,
                      "address": text_of(r.get("address")), "kind": text_of(r.get("kind")),
                      "cumulative_share": number(r.get("cumulative_share"))})
    session.project.add_proposals(job, scenario, sites)
    s = run.plan.summary
    return {"proposals": sites, "share_after": s.get("coverage_after"),
            "share_before": s.get("coverage_before"),
            "certified": s.get("certified"), "optimal_for": plan_certificate(s, lang),
            "lang": lang,
            "summary": json_ready(s)}


def check_job(session: Workbench, path: Path, crs: str | None, scenario: int,
              report: Callable[[float, str], None], given: str | None = None
              ) -> dict[str, Any]:
    """Verdicts on a proposals sheet (``stationplan check``) against the stations of
    ``scenario``."""
    from ._options import CheckOptions, StationOptions
    from .check import reason_text
    from .pipeline import run_check

    with session.lock:
        stations = session.project.stations(scenario)
        network = session.network_path
    lang = session.lang
    report(0.1, "")
    with stations_csv(stations) as csv_path:
        try:
            run = run_check(network, csv_path, path,
                            station_options=StationOptions(crs="wgs84"),
                            check_options=CheckOptions(proposal_crs=crs))
        except StationplanError as exc:
            raise file_error(exc, path, given or path.name) from None
    checked = run.checked
    settings = run.check_summary.get("settings", {})
    pts = checked.geometry.to_crs(4326)
    sites = []
    for i, (_, r) in enumerate(checked.iterrows()):
        lon, lat = point_of(pts.iloc[i])
        sites.append({"row": int(r["row"]) if number(r.get("row")) is not None else None,
                      "name": text_of(r.get("name")), "lon": lon, "lat": lat,
                      "verdict": text_of(r.get("verdict")),
                      "reason": reason_text(r.to_dict(), settings, lang),
                      "gain_m": number(r.get("gain_m"))})
    return {"sites": sites, "summary": json_ready(run.check_summary)}
