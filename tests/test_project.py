"""The project folder and its database (stationplan.project): edits, undo/redo, scenarios,
transactions and upload names, each against what a person expects by hand."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from stationplan._errors import InputError
from stationplan.project import DB_NAME, Project, Station, safe_name


def _ids(project: Project, scenario: int | None = None) -> list[tuple[str, float, float]]:
    return [(s.station_id, s.lon, s.lat) for s in project.stations(scenario)]


def _add(p: Project, sid: str, lon: float, lat: float, name: str = "") -> None:
    with p.edit("add", sid, None, Station(sid, name, lon, lat).as_dict()):
        pass


def test_a_new_project_has_its_folders_and_one_empty_scenario(tmp_path):
    p = Project(tmp_path / "proj")
    assert (tmp_path / "proj" / DB_NAME).is_file()
    assert (tmp_path / "proj" / "inputs").is_dir()
    assert (tmp_path / "proj" / "downloads").is_dir()
    assert [s["id"] for s in p.scenarios()] == [p.scenario_id]
    assert p.stations() == [] and not p.can_undo() and not p.can_redo()
    assert p.network is None
    mode = sqlite3.connect(tmp_path / "proj" / DB_NAME).execute(
        "PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_add_move_delete_then_undo_and_redo_step_by_step(tmp_path):
    p = Project(tmp_path)
    _add(p, "a", 117.0, 28.0, "甲")
    _add(p, "b", 117.1, 28.1)
    with p.edit("move", "a", {"lon": 117.0, "lat": 28.0}, {"lon": 117.5, "lat": 28.5}):
        pass
    b = p.stations()[1]
    with p.edit("delete", "b", b.as_dict(), None):
        pass
    assert _ids(p) == [("a", 117.5, 28.5)]
    assert [e["op"] for e in p.edits()] == ["add", "add", "move", "delete"]

    with p.undo() as step:  # the delete, undone: b is back, in its place
        assert step.op == "add" and step.station_id == "b"
    assert _ids(p) == [("a", 117.5, 28.5), ("b", 117.1, 28.1)]
    with p.undo() as step:  # the move, undone
        assert step.op == "move" and step.after == {"lon": 117.0, "lat": 28.0}
    assert _ids(p) == [("a", 117.0, 28.0), ("b", 117.1, 28.1)]
    assert p.can_redo()
    with p.redo() as step:  # the move again
        assert step.op == "move"
    assert _ids(p) == [("a", 117.5, 28.5), ("b", 117.1, 28.1)]
    with p.redo() as step:  # the delete again
        assert step.op == "delete"
    assert _ids(p) == [("a", 117.5, 28.5)]
    with p.redo() as step:
        assert step is None  # nothing left to redo
    for _ in range(4):
        with p.undo():
            pass
    assert _ids(p) == [] and not p.can_undo()
    with p.undo() as step:
        assert step is None


def test_a_new_edit_drops_the_redo_stack(tmp_path):
    p = Project(tmp_path)
    _add(p, "a", 1.0, 2.0)
    _add(p, "b", 3.0, 4.0)
    with p.undo():
        pass
    assert p.can_redo()
    _add(p, "c", 5.0, 6.0)
    assert not p.can_redo()
    assert [(e["station_id"], e["undone"]) for e in p.edits()] == [("a", 0), ("c", 0)]
    assert _ids(p) == [("a", 1.0, 2.0), ("c", 5.0, 6.0)]


def test_an_import_is_one_edit(tmp_path):
    p = Project(tmp_path)
    rows = [Station(str(i), f"s{i}", 100.0 + i, 30.0, "sheet", 1).as_dict() for i in range(3)]
    with p.edit("import", None, None, rows):
        pass
    assert [s.station_id for s in p.stations()] == ["0", "1", "2"]
    with p.undo():
        pass
    assert p.stations() == []
    with p.redo():
        pass
    assert _ids(p) == [("0", 100.0, 30.0), ("1", 101.0, 30.0), ("2", 102.0, 30.0)]


def test_a_failing_edit_leaves_no_trace(tmp_path):
    p = Project(tmp_path)
    _add(p, "a", 1.0, 2.0)
    version, edits = p.version, p.edits()
    with pytest.raises(RuntimeError), p.edit("add", "b", None, Station("b", "", 3, 4).as_dict()):
        raise RuntimeError("the coverage refused it")
    assert _ids(p) == [("a", 1.0, 2.0)]
    assert p.edits() == edits and p.version == version
    # a duplicate id is refused by the database: nothing stored either
    with pytest.raises(InputError, match="exists already"):
        _add(p, "a", 9.0, 9.0)
    assert _ids(p) == [("a", 1.0, 2.0)] and p.edits() == edits
    # moving a station that is not there
    with pytest.raises(KeyError), p.edit("move", "zz", {"lon": 0, "lat": 0},
                                         {"lon": 1, "lat": 1}):
        pass
    assert p.edits() == edits
    # and the redo stack survives a failed edit
    with p.undo():
        pass
    with pytest.raises(RuntimeError), p.edit("add", "c", None, Station("c", "", 3, 4).as_dict()):
        raise RuntimeError
    assert p.can_redo()


def test_scenarios_are_copies_with_their_own_history(tmp_path):
    p = Project(tmp_path)
    first = p.scenario_id
    _add(p, "a", 1.0, 2.0)
    second = p.copy_scenario("方案二", first)
    assert p.scenario_id == second
    assert _ids(p) == [("a", 1.0, 2.0)] and not p.can_undo()  # no history copied
    _add(p, "b", 3.0, 4.0)
    assert _ids(p, first) == [("a", 1.0, 2.0)]
    assert _ids(p, second) == [("a", 1.0, 2.0), ("b", 3.0, 4.0)]
    p.open_scenario(first)
    with p.undo():
        pass
    assert _ids(p, first) == [] and len(_ids(p, second)) == 2
    with pytest.raises(KeyError):
        p.open_scenario(99)


def test_accepting_a_proposal_and_undoing_it(tmp_path):
    p = Project(tmp_path)
    job = p.add_job("plan", {"k": 2})
    p.add_proposals(job, p.scenario_id, [{"rank": 1, "lon": 1.0, "lat": 2.0, "gain_m": 300.0},
                                         {"rank": 2, "lon": 3.0, "lat": 4.0, "gain_m": 200.0}])
    after = Station("plan-1", "#1", 1.0, 2.0, "proposal").as_dict() | {
        "proposal": {"job": job, "rank": 1}}
    with p.edit("accept", "plan-1", None, after,
                also=lambda db: p.set_proposal(db, job, 1, "accepted", "plan-1")):
        pass
    assert [(r["rank"], r["status"], r["station_id"]) for r in p.proposals(job)] == [
        (1, "accepted", "plan-1"), (2, "proposed", None)]
    with p.undo():
        pass
    assert p.stations() == []
    assert p.proposal(job, 1)["status"] == "proposed"
    with p.redo():
        pass
    assert p.proposal(job, 1)["status"] == "accepted" and _ids(p) == [("plan-1", 1.0, 2.0)]
    p.reject_proposal(job, 2)
    assert p.proposal(job, 2)["status"] == "rejected"


def test_the_state_survives_reopening(tmp_path):
    p = Project(tmp_path)
    _add(p, "a", 117.25, 28.25, "驿站<script>")
    _add(p, "b", 117.5, 28.5)
    with p.undo():
        pass
    job = p.add_job("plan", {})
    p.update_job(job, state="running", progress=0.5)
    p.close()
    q = Project(tmp_path)
    assert _ids(q) == [("a", 117.25, 28.25)] and q.stations()[0].name == "驿站<script>"
    assert q.can_undo() and q.can_redo()
    assert q.job(job)["state"] == "failed"  # it was running when the server stopped


def test_new_ids_are_never_reused(tmp_path):
    p = Project(tmp_path)
    sid = p.new_station_id()
    assert sid == "new-1"
    _add(p, sid, 0.0, 0.0)
    assert p.new_station_id() == "new-2"
    with p.undo():  # new-1 is gone but its edit may be redone: not free
        pass
    assert p.new_station_id() == "new-2"


def test_writers_in_two_connections_serialise(tmp_path):
    """Two Project objects on one file (as two processes would be): BEGIN IMMEDIATE makes
    their edits wait for each other; every one is stored."""
    Project(tmp_path).close()
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        p = Project(tmp_path)
        try:
            for i in range(25):
                _add(p, f"{tag}{i}", float(i), 0.0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            p.close()

    threads = [threading.Thread(target=writer, args=(t,)) for t in "xy"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    p = Project(tmp_path)
    assert sorted(s.station_id for s in p.stations()) == sorted(
        [f"x{i}" for i in range(25)] + [f"y{i}" for i in range(25)])
    assert len(p.edits()) == 50


@pytest.mark.parametrize(("given", "expected"), [
    ("../x.xlsx", "x.xlsx"),
    ("/etc/passwd", "passwd"),
    ("C:\\x", "x"),
    ("..\\..\\x", "x"),
    ("C:x.csv", "x.csv"),
    ("..", "upload"),
    ("", "upload"),
    ("a\x00b.csv", "ab.csv"),
    ("站点/驿站名录.xlsx", "驿站名录.xlsx"),
    (".hidden.csv", "hidden.csv"),
    ("a<b>:c.csv", "abc.csv"),
])
def test_upload_names_are_plain_file_names(given, expected):
    assert safe_name(given) == expected


@pytest.mark.parametrize("given", ["../x.xlsx", "/etc/passwd", "C:\\x", "..\\..\\x",
                                   "../../../../tmp/evil.csv", "\\\\server\\share\\x.csv"])
def test_uploads_land_inside_inputs(tmp_path, given):
    p = Project(tmp_path / "proj")
    path = p.input_path(given)
    assert path.parent == (tmp_path / "proj" / "inputs").resolve()
    path.write_text("x")
    assert p.input_path(given).name != path.name  # a second upload does not overwrite


def test_a_long_name_keeps_its_suffix():
    name = safe_name("很" * 300 + ".xlsx")
    assert len(name) == 120 and name.endswith(".xlsx")
