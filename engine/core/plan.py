"""A case's plan as items (an action plan): what each item is, and what a fire may do to them.
Pure: a definition, the case's events and deadlines in; items, or a refusal, out.

A workflow declares its plan on a keyed clock (``plan:`` in the YAML): each deadline of that
clock is one item, its key the item's reference (A1, A2, ...). The item's summary and owner
are the values the fire that started it recorded, and a dropped item's reason the value the
fire that cancelled it recorded; events record only the fields a fire changed, so the case's
data is replayed event by event to read them.

Rules a fire must keep (:func:`check_fire`):

* a fire that meets or cancels an item names one the plan holds, still open;
* a fire that starts an item names a reference not used yet;
* the case reaches a final state only once no item is open (each is done or dropped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.core.clock import london_date
from engine.core.deadlines import BREACHED, CANCELLED, MET, OPEN, effective_status
from engine.core.definition import WorkflowDef
from engine.core.errors import UsageError

# How an item stands: open, done, overdue (open past its due point), dropped (cancelled with
# a reason), cancelled (ended without one: a case closed before items had to be finished).
DONE, OVERDUE, DROPPED = "done", "overdue", "dropped"


@dataclass(frozen=True)
class PlanItem:
    ref: str
    summary: str | None
    owner: str | None
    due: dt.date | None
    status: str
    done_on: dt.date | None = None
    late: bool = False  # done after its due date
    reason: str | None = None  # why it was dropped

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "summary": self.summary, "owner": self.owner,
                "due": self.due.isoformat() if self.due else None, "status": self.status,
                "done_on": self.done_on.isoformat() if self.done_on else None,
                "late": self.late, "reason": self.reason}


def _replay(events: Iterable[Any]) -> list[tuple[str, dict[str, str]]]:
    """(trigger, the case's data after it) for each event, oldest first."""
    data: dict[str, str] = {}
    out = []
    for e in events:
        for name, change in (e.changes or {}).items():
            new = change[1] if isinstance(change, list | tuple) else None
            if new is None:
                data.pop(name, None)
            else:
                data[name] = str(new)
        out.append((e.trigger, dict(data)))
    return out


def items(definition: WorkflowDef, events: Iterable[Any], deadlines: Sequence[Any],
          now: dt.datetime) -> tuple[PlanItem, ...]:
    """The plan's items in the order they were added, each judged against ``now``."""
    clock = definition.plan_clock()
    if clock is None or clock.keyed_by is None or clock.plan is None:
        return ()
    plan, key_field = clock.plan, clock.keyed_by
    started: dict[str, dict[str, str]] = {}
    reasons: dict[str, str] = {}
    for trigger, data in _replay(events):
        key = data.get(key_field)
        if not key:
            continue
        if trigger in clock.starts.fire and key not in started:
            started[key] = data
        elif trigger in clock.cancelled.fire and plan.reason:
            reasons[key] = data.get(plan.reason, "")
    latest: dict[str, Any] = {}
    for d in deadlines:
        if d.name == clock.name and d.key is not None:
            latest[d.key] = d  # later cycles (none for a keyed clock today) win
    out = []
    for key in list(started) + [k for k in latest if k not in started]:
        d, data = latest.get(key), started.get(key, {})
        out.append(_item(key, d, data, plan.summary, plan.owner, reasons.get(key), now))
    return tuple(out)


def _item(key: str, d: Any, data: Mapping[str, str], summary: str | None, owner: str | None,
          reason: str | None, now: dt.datetime) -> PlanItem:
    due = None if d is None else (d.due_day or london_date(d.due_at))
    status, done_on, late = OPEN, None, False
    if d is not None:
        stored = d.status
        if stored in (MET, BREACHED) and d.met_at is not None:
            status, done_on, late = DONE, london_date(d.met_at), stored == BREACHED
        elif stored == CANCELLED:
            status = DROPPED if reason is not None else CANCELLED
        elif effective_status(stored, d.due_at, now, d.due_day is None) == BREACHED:
            status = OVERDUE
    return PlanItem(key, data.get(summary) if summary else None,
                    data.get(owner) if owner else None, due, status, done_on, late,
                    reason if status == DROPPED else None)


def _describe(keys: Sequence[str], what: str) -> str:
    return f"{what}: {', '.join(keys)}" if keys else f"no {what}"


def check_fire(definition: WorkflowDef, ref: str, trigger: str, entered: str | None,
               final: bool, data: Mapping[str, str], deadlines: Sequence[Any]) -> None:
    """Refuse a fire that names an item the plan does not hold open, reuses a reference, or
    closes the case with items still open (one line naming them and what to do)."""
    clock = definition.plan_clock()
    if clock is None or clock.keyed_by is None:
        return
    mine = [d for d in deadlines if d.name == clock.name and d.key is not None]
    open_keys = [d.key for d in mine if d.status == OPEN]
    key = data.get(clock.keyed_by)
    noun = clock.keyed_by.removesuffix("_ref") or "item"
    if key and (clock.met.matches(trigger, entered) or clock.cancelled.matches(trigger, entered)):
        known = {d.key: d for d in mine}
        if key not in known:
            raise UsageError(f"case '{ref}' has no {noun} '{key}' in its plan; "
                             f"{_describe(open_keys, f'open {noun}s')}")
        if known[key].status != OPEN:
            done = "dropped" if known[key].status == CANCELLED else "done"
            raise UsageError(f"{noun} '{key}' of case '{ref}' is already {done}; "
                             f"{_describe(open_keys, f'open {noun}s')}")
    if key and clock.starts.matches(trigger, entered) and any(d.key == key for d in mine):
        raise UsageError(f"case '{ref}' already has {noun} '{key}': give the new one another "
                         f"reference ({', '.join(sorted({str(d.key) for d in mine}))} are used)")
    if final and open_keys:
        drop = next((t.trigger for t in definition.transitions
                     if t.trigger in clock.cancelled.fire), None)
        done = next(iter(sorted(clock.met.fire)), "")
        how = f"record each done ({done})" + (f" or drop it with a reason ({drop})"
                                              if drop else "")
        raise UsageError(f"case '{ref}' cannot reach '{entered}' while {noun}s are open "
                         f"({', '.join(str(k) for k in open_keys)}): {how} first")


__all__ = ["DONE", "DROPPED", "OVERDUE", "PlanItem", "check_fire", "items"]
