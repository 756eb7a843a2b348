"""Two processes fire on one case at the same moment: one wins, the other loses cleanly.

Each child process sleeps between reading the case and writing it, so both have read version 1
before either writes. On PostgreSQL the loser's ``UPDATE ... WHERE version = 1`` then matches
no row; on SQLite the IMMEDIATE write transactions queue and the loser reads the new version.
Either way the loser gets an error and nothing of its fire is written.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.core.clock import FixedClock
from engine.core.errors import EngineError
from engine.core.service import Engine
from engine.core.store.database import Database
from engine.core.store.models import CaseEvent, Deadline
from tests.conftest import london, make_app

OPEN = {"became_aware_on": "2024-06-03", "child_ref": "C-9", "label": "Race"}


def _fire_in_child(url: str, barrier: Any, actor: str, expect: int | None, out: Any) -> None:
    original = Engine._commit

    def slow_commit(self: Engine, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.4)  # both processes have read the case by now
        return original(self, *args, **kwargs)

    Engine._commit = slow_commit  # type: ignore[method-assign]
    db = Database(url)
    engine = make_app(db, FixedClock(london("2024-06-07 10:00"))).engine
    barrier.wait()
    try:
        engine.fire("PR-RACE", "notify", {"notified_on": "2024-06-07"}, actor=actor,
                    expected_version=expect)
        out.put((actor, "ok", ""))
    except EngineError as exc:
        out.put((actor, type(exc).__name__, str(exc)))
    finally:
        db.dispose()


@pytest.mark.parametrize("expect", [1, None], ids=["expected-version", "plain"])
def test_concurrent_fires_one_wins_one_loses_cleanly(engine: Engine, db: Database,
                                                     db_url: str, expect: int | None) -> None:
    engine.open_case("practice_review", "PR-RACE", OPEN, actor="amy")
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    children = [ctx.Process(target=_fire_in_child, args=(db_url, barrier, name, expect, out))
                for name in ("amy", "bob")]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    results = sorted(out.get(timeout=5) for _ in children)
    outcomes = sorted(r[1] for r in results)
    assert outcomes.count("ok") == 1, results
    loser = next(r for r in results if r[1] != "ok")
    allowed = {"ConcurrencyError"} if expect else {"ConcurrencyError",
                                                   "TransitionNotAllowedError"}
    assert loser[1] in allowed, results
    view = engine.case("PR-RACE", "amy")
    assert (view.state, view.version) == ("rapid_review", 2)
    with db.read() as session:
        events = session.scalar(select(func.count()).select_from(CaseEvent))
        deadlines = session.scalar(select(func.count()).select_from(Deadline))
    assert (events, deadlines) == (2, 2)  # open + one notify; nothing from the loser
