"""What a fire does to a case's deadlines. Pure: snapshots in, operations out.

The service reads the case's deadlines, asks :func:`plan_deadlines` what changes, and writes
the operations in the same transaction as the event. The rules, in order:

1. An open deadline whose clock is met by this fire is met, at the time its ``met_on`` field
   says (or now); met after its due point it is recorded as ``breached``. A recurring clock
   starts its next cycle from the day it was met.
2. An open deadline is cancelled when its clock says so, when a recurring clock's case leaves
   the state it runs in, or when the case reaches a final state.
3. A deadline whose anchor field changed (a later fire or a correction) is recomputed; a met
   one is re-judged, and so is one whose ``met_on`` field was corrected.
4. A clock this fire starts gets a deadline, unless one of that clock is already open.

Parametrised rules ('every review_weeks[risk_level] weeks while in assessed') are bound to the
case's data when a deadline starts, and the bound text is recorded. When the field that picks
the amount changes (the risk level, say), an open deadline of that clock is rescheduled: a
recurring one from the day of the change, any other from its anchor.

A keyed clock (``keyed_by: episode``) runs one deadline per value of its key field: a fire
starts, meets or cancels only the deadline whose key is the value the fire carries, so several
(one per missing episode) can be open at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.core.calendar import WorkingCalendar
from engine.core.clock import as_utc, end_of_day, london_date, start_of_day
from engine.core.definition import CORRECT_TRIGGER, ClockDef, WorkflowDef
from engine.core.errors import FieldError
from engine.core.fields import typed
from engine.core.rules import Due, bind_rule, compute_due

OPEN, MET, BREACHED, CANCELLED = "open", "met", "breached", "cancelled"


@dataclass(frozen=True)
class DeadlineSnapshot:
    """What planning needs to know of a stored deadline."""

    id: int
    name: str
    cycle: int
    status: str
    anchor_value: str
    due_at: dt.datetime
    met_at: dt.datetime | None = None
    key: str | None = None


@dataclass(frozen=True)
class StartDeadline:
    name: str
    cycle: int
    rule: str
    anchor_field: str | None
    anchor_value: str
    due: Due
    owner: str | None
    key: str | None = None


@dataclass(frozen=True)
class CloseDeadline:
    """Met (on time or late) or cancelled."""

    id: int
    name: str
    status: str
    met_at: dt.datetime | None


@dataclass(frozen=True)
class Reschedule:
    id: int
    name: str
    anchor_value: str
    due: Due
    status: str
    met_at: dt.datetime | None
    rule: str | None = None  # the newly bound rule text, when the amount changed


DeadlineOp = StartDeadline | CloseDeadline | Reschedule


def effective_status(status: str, due_at: dt.datetime, now: dt.datetime,
                     hourly: bool = False) -> str:
    """An open deadline past its due point shows as breached; stored status otherwise. An
    hour rule's due instant is still in time ("within 72 hours" includes the 72nd hour's
    end); a day rule's due point is the start of the day after its due day."""
    if status != OPEN:
        return status
    late = as_utc(now) > as_utc(due_at) if hourly else as_utc(now) >= as_utc(due_at)
    return BREACHED if late else status


def _met_at(definition: WorkflowDef, clock: ClockDef, data: Mapping[str, str],
            now: dt.datetime) -> dt.datetime:
    if clock.met_on and data.get(clock.met_on):
        value = typed(definition.fields[clock.met_on], data[clock.met_on])
        return value if isinstance(value, dt.datetime) else start_of_day(value)  # type: ignore[arg-type]
    return as_utc(now)


def _judge(met_at: dt.datetime, due: dt.datetime, clock: ClockDef) -> str:
    """Met before the due point; an hour rule met at its due instant is met too."""
    if clock.rule.kind == "hours_after":
        return MET if as_utc(met_at) <= as_utc(due) else BREACHED
    return MET if as_utc(met_at) < as_utc(due) else BREACHED


LATE_START = " (started after that day: due the day it started)"


def _floored(clock: ClockDef, due: Due, text: str, now: dt.datetime) -> tuple[Due, str]:
    """A ``not_before_start`` clock's deadline whose rule date has already passed when it
    starts (or moves) is due at the end of that day instead, never born breached."""
    if not clock.not_before_start or as_utc(due.at) > as_utc(now):
        return due, text
    today = london_date(now)
    return Due(at=end_of_day(today), day=today if due.day is not None else None), \
        text + LATE_START


def _anchor(definition: WorkflowDef, clock: ClockDef, data: Mapping[str, str],
            now: dt.datetime) -> tuple[str, dt.date | dt.datetime]:
    """The stored and typed anchor value a clock counts from."""
    if clock.rule.anchor is None:  # 'every N weeks while in STATE': from first_from, or today
        if clock.first_from and data.get(clock.first_from):
            day = dt.date.fromisoformat(data[clock.first_from])
            return day.isoformat(), day
        today = london_date(now)
        return today.isoformat(), today
    stored = data.get(clock.rule.anchor)
    if not stored:
        anchor = definition.fields.get(clock.rule.anchor)
        raise FieldError(clock.rule.anchor, f"the deadline '{clock.title}' counts from "
                         f"'{anchor.title if anchor else clock.rule.anchor}', which has no "
                         "value", cli=f"add --set {clock.rule.anchor}=...")
    return stored, typed(definition.fields[clock.rule.anchor], stored)  # type: ignore[return-value]


def _key(clock: ClockDef, data: Mapping[str, str]) -> str | None:
    """The key a fire carries for a keyed clock (None for an unkeyed one)."""
    if clock.keyed_by is None:
        return None
    value = data.get(clock.keyed_by)
    if not value:
        raise FieldError(clock.keyed_by, f"the deadline '{clock.title}' is kept per "
                         f"'{clock.keyed_by}', which has no value",
                         cli=f"add --set {clock.keyed_by}=...")
    return value


def _mine(clock: ClockDef, d: DeadlineSnapshot, new_data: Mapping[str, str]) -> bool:
    """Whether this fire is about deadline ``d`` (always, unless its clock is keyed)."""
    if clock.keyed_by is None:
        return True
    return d.key is not None and new_data.get(clock.keyed_by) == d.key


def plan_deadlines(definition: WorkflowDef, trigger: str, entered: str | None,
                   state_after: str, old_data: Mapping[str, str], new_data: Mapping[str, str],
                   deadlines: Sequence[DeadlineSnapshot], now: dt.datetime,
                   cal: WorkingCalendar) -> list[DeadlineOp]:
    """The deadline operations of one fire (``entered`` is None for internal transitions)."""
    ops: list[DeadlineOp] = []
    open_after: set[tuple[str, str | None]] = set()
    cycles: dict[str, int] = {}
    final = definition.is_final(state_after)
    restart: list[tuple[ClockDef, dt.datetime]] = []
    params = definition.parameters
    # A closed deadline is history: only a correction may re-judge it, and only the latest
    # cycle of its clock (a later cycle recording the same field is not a correction).
    latest: dict[tuple[str, str | None], int] = {}
    for d in deadlines:
        latest[(d.name, d.key)] = max(latest.get((d.name, d.key), 0), d.cycle)
    correcting = trigger == CORRECT_TRIGGER

    for d in deadlines:
        cycles[d.name] = max(cycles.get(d.name, 0), d.cycle)
        clock = definition.clocks.get(d.name)
        if clock is None or d.status == CANCELLED:
            continue
        mine = _mine(clock, d, new_data)
        if d.status == OPEN and mine and clock.met.matches(trigger, entered):
            met_at = _met_at(definition, clock, new_data, now)
            ops.append(CloseDeadline(d.id, d.name, _judge(met_at, d.due_at, clock), met_at))
            if clock.rule.recurring and state_after == clock.rule.state:
                restart.append((clock, met_at))
            continue
        leaving = clock.rule.recurring and state_after != clock.rule.state
        cancelled = mine and clock.cancelled.matches(trigger, entered)
        if d.status == OPEN and (cancelled or leaving or final):
            ops.append(CloseDeadline(d.id, d.name, CANCELLED, None))
            continue
        anchor = clock.rule.anchor
        same_key = clock.keyed_by is None or (
            mine and old_data.get(clock.keyed_by) == new_data.get(clock.keyed_by))
        history = d.status != OPEN
        may_rejudge = not history or (correcting and d.cycle == latest[(d.name, d.key)])
        anchor_moved = same_key and may_rejudge and anchor is not None \
            and old_data.get(anchor) != new_data.get(anchor)
        evidence_moved = (same_key and history and may_rejudge and clock.met_on is not None
                          and old_data.get(clock.met_on) != new_data.get(clock.met_on))
        level = clock.rule.key_field
        level_moved = (d.status == OPEN and level is not None and same_key
                       and old_data.get(level) != new_data.get(level))
        if level_moved and anchor is None:  # recurring: the next cycle counts from the
            bound = bind_rule(clock.rule, params, new_data)  # day of the change, or today
            changed = new_data.get(clock.changed_on) if clock.changed_on else None
            today = dt.date.fromisoformat(changed) if changed else london_date(now)
            ops.append(Reschedule(d.id, d.name, today.isoformat(),
                                  compute_due(bound, today, cal), OPEN, None, bound.text))
        elif anchor_moved or evidence_moved or level_moved:
            bound = bind_rule(clock.rule, params, new_data)
            if anchor is None:  # a recurring cycle keeps the day it counted from
                stored, value = d.anchor_value, dt.date.fromisoformat(d.anchor_value)
            else:
                stored, value = _anchor(definition, clock, new_data, now)
            due = compute_due(bound, value, cal)
            rule_text = bound.text if clock.rule.parametrised else None
            if d.status == OPEN:
                if clock.not_before_start:  # the text says which date it is due on
                    due, rule_text = _floored(clock, due, bound.text, now)
                ops.append(Reschedule(d.id, d.name, stored, due, OPEN, None, rule_text))
            else:
                met_at = _met_at(definition, clock, new_data, now) if evidence_moved \
                    else (d.met_at or now)
                ops.append(Reschedule(d.id, d.name, stored, due,
                                      _judge(met_at, due.at, clock), met_at, rule_text))
        if d.status == OPEN:
            open_after.add((d.name, d.key))

    for clock, met_at in restart:
        cycles[clock.name] += 1
        day = london_date(met_at)
        bound = bind_rule(clock.rule, params, new_data)
        ops.append(StartDeadline(clock.name, cycles[clock.name], bound.text, None,
                                 day.isoformat(), compute_due(bound, day, cal), clock.owner))
        open_after.add((clock.name, None))

    if final:
        return ops
    for clock in definition.clocks.values():
        if not clock.starts.matches(trigger, entered):
            continue
        if clock.rule.recurring and state_after != clock.rule.state:
            continue
        key = _key(clock, new_data)
        if (clock.name, key) in open_after:
            continue
        stored, value = _anchor(definition, clock, new_data, now)
        bound = bind_rule(clock.rule, params, new_data)
        cycles[clock.name] = cycles.get(clock.name, 0) + 1
        due, text = _floored(clock, compute_due(bound, value, cal), bound.text, now)
        ops.append(StartDeadline(clock.name, cycles[clock.name], text,
                                 clock.rule.anchor, stored, due, clock.owner, key))
    return ops


__all__ = [
    "BREACHED", "CANCELLED", "MET", "OPEN", "CloseDeadline", "DeadlineOp", "DeadlineSnapshot",
    "Reschedule", "StartDeadline", "effective_status", "plan_deadlines",
]
