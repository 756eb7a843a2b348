"""What queries return: plain, frozen read models with a JSON form. No database types leak out.

Dates for day-counted deadlines are ISO dates; hour-counted ones are ISO datetimes with the
Europe/London offset; instants elsewhere are ISO UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from engine.core.clock import show_instant
from engine.core.plan import PlanItem


@dataclass(frozen=True)
class TriggerInfo:
    name: str
    to: str | None  # None: internal
    requires: tuple[str, ...]
    accepts: tuple[str, ...]
    description: str
    # The domain command that records it ("safeguard mace decide"): a front end links to
    # that form; the generic route refuses it. None: a plain step.
    via: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "to": self.to, "internal": self.to is None,
                "requires": list(self.requires), "accepts": list(self.accepts),
                "description": self.description, "via": self.via}


@dataclass(frozen=True)
class DeadlineView:
    name: str
    cycle: int
    rule: str
    due_at: dt.datetime
    due_day: dt.date | None
    status: str  # open, met, breached, cancelled (open past due shows as breached)
    met_at: dt.datetime | None
    owner: str | None
    started_at: dt.datetime
    key: str | None = None  # which one, for a clock kept per key (a missing episode, say)

    @property
    def due(self) -> str:
        return self.due_day.isoformat() if self.due_day else show_instant(self.due_at)

    @property
    def met_on(self) -> str | None:
        if self.met_at is None:
            return None
        return show_instant(self.met_at)[:10] if self.due_day else show_instant(self.met_at)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "cycle": self.cycle, "due": self.due, "status": self.status,
                "rule": self.rule, "met_on": self.met_on, "owner": self.owner,
                "started_at": self.started_at.isoformat(), "key": self.key}


@dataclass(frozen=True)
class LinkView:
    """A case linked to this one: its reference always; its workflow's title and state only
    for a reader who may see that case (``visible``)."""

    ref: str
    workflow: str
    visible: bool
    title: str | None = None
    state: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ref": self.ref}
        if self.visible:
            out.update(workflow=self.workflow, title=self.title, state=self.state)
        return out


@dataclass(frozen=True)
class CaseView:
    ref: str
    workflow: str
    workflow_version: int
    state: str
    state_description: str
    final: bool
    data: dict[str, str]
    version: int
    opened_at: dt.datetime
    updated_at: dt.datetime
    available_triggers: tuple[TriggerInfo, ...]
    deadlines: tuple[DeadlineView, ...]
    # The plan's items (an action plan), for a workflow that declares one; () otherwise.
    plan: tuple[PlanItem, ...] = ()
    # Cases linked to this one (a child's death and its practice review).
    links: tuple[LinkView, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "workflow": self.workflow,
            "workflow_version": self.workflow_version, "state": self.state,
            "state_description": self.state_description, "final": self.final,
            "data": dict(self.data), "version": self.version,
            "opened_at": self.opened_at.isoformat(), "updated_at": self.updated_at.isoformat(),
            "available_triggers": [t.name for t in self.available_triggers],
            "triggers": [t.to_json() for t in self.available_triggers],
            "deadlines": [d.to_json() for d in self.deadlines],
            "plan": [i.to_json() for i in self.plan],
            "links": [link.to_json() for link in self.links],
        }


@dataclass(frozen=True)
class CaseSummary:
    ref: str
    workflow: str
    state: str
    version: int
    updated_at: dt.datetime
    next_deadline: DeadlineView | None
    overdue: int

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "workflow": self.workflow, "state": self.state,
                "version": self.version, "updated_at": self.updated_at.isoformat(),
                "next_deadline": self.next_deadline.to_json() if self.next_deadline else None,
                "overdue": self.overdue}


@dataclass(frozen=True)
class CasePage:
    """One page of a case listing and how many cases match in all."""

    cases: list[CaseSummary]
    total: int
    offset: int = 0
    limit: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "offset": self.offset, "limit": self.limit,
                "cases": [c.to_json() for c in self.cases]}


@dataclass(frozen=True)
class EventView:
    seq: int
    at: dt.datetime
    actor: str
    trigger: str
    from_state: str | None
    to_state: str
    changes: dict[str, Any]
    note: str | None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out
