"""The SpiffWorkflow side of benchmarks/lifecycle.py does the lifecycle it is timed on: each
command moves the stored instance through the engine's states, the stored JSON is a real
instance, a trigger with no ready task is refused without a trace, and the check after a
run stops on an unfinished case (else the comparison with the engine would mean nothing)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("SpiffWorkflow")

from benchmarks.lifecycle import (
    _STATES,
    OPEN,
    STEPS,
    SpiffProcess,
    _SpiffSide,
    spiff_done,
)


@pytest.fixture(scope="module")
def process() -> SpiffProcess:
    return SpiffProcess()


@pytest.fixture
def side(tmp_path: Path, process: SpiffProcess) -> Iterator[_SpiffSide]:
    spiff = _SpiffSide(str(tmp_path / "spiff.db"), "NORMAL", process)
    yield spiff
    spiff.close()


def stored(side: _SpiffSide, ref: str) -> tuple[str, str]:
    state, serialization = side.con.execute(
        "SELECT state, serialization FROM process_instance WHERE ref = ?", (ref,)).fetchone()
    return state, serialization


def test_each_command_moves_the_stored_instance_through_the_engines_states(
        side: _SpiffSide, process: SpiffProcess, tmp_path: Path) -> None:
    for ref in ("PR-0", "PR-1"):
        side.open(ref, OPEN)
        assert stored(side, ref)[0] == _STATES[0]
        for step, (trigger, values) in enumerate(STEPS, start=1):
            side.fire(ref, trigger, values)
            assert stored(side, ref)[0] == _STATES[step]
    expected = {**OPEN, **{k: v for _, values in STEPS for k, v in values.items()}}
    for ref in ("PR-0", "PR-1"):
        serialization = stored(side, ref)[1]
        workflow = process.serializer.deserialize_json(serialization)
        assert workflow.is_completed()
        assert workflow.data == expected
        assert process.serializer.serialize_json(workflow) == serialization
    spiff_done(str(tmp_path / "spiff.db"), 2, process)  # passes: nothing to stop on


@pytest.mark.parametrize("trigger", ["no_such_trigger", "publish"])  # unknown; not yet ready
def test_a_trigger_with_no_ready_task_is_refused_and_changes_nothing(
        side: _SpiffSide, trigger: str) -> None:
    side.open("PR-0", OPEN)
    before = stored(side, "PR-0")
    with pytest.raises(LookupError, match=trigger):
        side.fire("PR-0", trigger, {"x": "1"})
    assert stored(side, "PR-0") == before
    side.fire("PR-0", *STEPS[0])  # the transaction was closed: the next command runs
    assert stored(side, "PR-0")[0] == _STATES[1]


def test_the_check_after_a_run_stops_on_an_unfinished_case(
        side: _SpiffSide, process: SpiffProcess, tmp_path: Path) -> None:
    path = str(tmp_path / "spiff.db")
    side.open("PR-0", OPEN)
    for trigger, values in STEPS[:-1]:
        side.fire("PR-0", trigger, values)
    with pytest.raises(SystemExit, match="did not finish case PR-0"):
        spiff_done(path, 1, process)
    # the row claims the last state, but the instance stored is not finished
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE process_instance SET state = ?", (_STATES[-1],))
    con.close()
    with pytest.raises(SystemExit, match="did not finish case PR-0"):
        spiff_done(path, 1, process)
    side.fire("PR-0", *STEPS[-1])
    spiff_done(path, 1, process)
    with pytest.raises(SystemExit, match="stored 1 cases, not 2"):
        spiff_done(path, 2, process)
    # finished, but without the values it was opened with
    side.open("PR-1", {})
    for trigger, values in STEPS:
        side.fire("PR-1", trigger, values)
    with pytest.raises(SystemExit, match="did not finish case PR-1"):
        spiff_done(path, 2, process)
