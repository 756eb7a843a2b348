"""One ``transitions`` machine per workflow version, reused for every case.

A case row is never the ``transitions`` model: each fire binds a tiny :class:`CaseAdapter`
(state + proposed data) and triggers the event on it directly, so the per-fire cost does not
depend on how many cases exist, and nothing is attached to or removed from the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from transitions import EventData, Machine, MachineError

from engine.core.definition import GuardCheck, GuardDef, WorkflowDef


@dataclass
class CaseAdapter:
    """The model a machine fires on: the case's state and its data after the fire."""

    state: str
    data: Mapping[str, str]
    failed_guard: str | None = None


def check_passes(check: GuardCheck, data: Mapping[str, str]) -> bool:
    """Evaluate one guard check from an allow-list of operators; never ``eval``."""
    value = data.get(check.field)
    if check.op == "present":
        return value not in (None, "")
    if check.op == "absent":
        return value in (None, "")
    if check.op == "equals":
        return value == check.value
    if check.op == "in":
        return value in (check.value or ())
    return value not in (check.value or ())  # not_in


def guard_passes(guard: GuardDef, data: Mapping[str, str]) -> bool:
    return all(check_passes(check, data) for check in guard.checks)


class WorkflowMachine:
    """The compiled state graph of one workflow version."""

    def __init__(self, definition: WorkflowDef) -> None:
        self.definition = definition
        transitions: list[dict[str, Any]] = []
        for t in definition.transitions:
            transitions.append({
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "conditions": [self._condition(definition.guards[g]) for g in t.guards],
            })
        self._machine = Machine(
            model=None, states=list(definition.states), transitions=transitions,
            initial=definition.initial_state, auto_transitions=False, send_event=True,
        )

    @staticmethod
    def _condition(guard: GuardDef) -> Any:
        def condition(event: EventData) -> bool:
            adapter = event.model
            assert isinstance(adapter, CaseAdapter)
            if guard_passes(guard, adapter.data):
                return True
            adapter.failed_guard = guard.name
            return False

        return condition

    def fire(self, adapter: CaseAdapter, trigger: str) -> bool:
        """Run ``trigger`` on ``adapter``; False if a guard stopped it (see failed_guard).

        Raises KeyError for an unknown trigger and MachineError when it is not allowed from
        the adapter's state; the caller turns both into user-facing errors.
        """
        event = self._machine.events[trigger]
        return bool(event.trigger(adapter))

    def allowed(self, state: str) -> list[str]:
        return list(self._machine.get_triggers(state))


__all__ = ["CaseAdapter", "MachineError", "WorkflowMachine", "guard_passes"]
