"""Workflow definitions as plain, frozen data. No I/O, no database, no ``transitions``.

A :class:`WorkflowDef` is what a YAML file in ``workflows/`` says once it has been checked
by :mod:`engine.core.loader`. A running case is a different thing (a database row); it refers to
a definition by name and version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

FieldType = Literal["date", "datetime", "text", "choice"]
FIELD_TYPES: tuple[FieldType, ...] = ("date", "datetime", "text", "choice")

RuleKind = Literal[
    "working_days_after", "working_days_before", "months_after", "hours_after", "every_weeks"
]

GuardOp = Literal["present", "absent", "equals", "in", "not_in"]
GUARD_OPS: tuple[GuardOp, ...] = ("present", "absent", "equals", "in", "not_in")

# In a transition's ``notify:``, 'involved:KIND' names the people involved in the case that
# way (e.g. 'involved:mace_invitee', a MACE meeting's chair and members), not a role.
INVOLVED = "involved:"

# The event name that opening a case counts as, for clocks that start "on open".
OPEN_TRIGGER = "open"
# The internal trigger that corrects case fields without moving the case.
CORRECT_TRIGGER = "correct"


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    description: str = ""
    choices: tuple[str, ...] = ()
    personal: bool = False
    max_length: int | None = None
    pattern: str | None = None
    involves: str | None = None  # the value names a user involved in the case (this kind)
    # How people see the field: a form's label and hint, and the words an email uses for it
    # (``label:`` and ``hint:`` in the YAML; the label defaults to the name in words).
    label: str = ""
    hint: str = ""

    @property
    def title(self) -> str:
        """The label, or the name in words when the YAML gives none."""
        return self.label or label_for(self.name)


@dataclass(frozen=True)
class StateDef:
    name: str
    description: str
    initial: bool = False
    final: bool = False


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str | None  # None: an internal transition that records without moving
    requires: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()  # optional fields
    guards: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    description: str = ""
    notify: tuple[str, ...] = ()  # roles told by email when it happens (case_event)
    notice: str = ""  # what the people told read in that email: what it means, what to do
    # The command of the domain service that owns this trigger (``via:`` in the YAML), e.g.
    # "safeguard mace decide": the domain keeps records or rules of its own for it, so the
    # generic route (``case advance``) refuses it and names this command instead.
    via: str | None = None

    @property
    def internal(self) -> bool:
        return self.dest is None

    @property
    def fields(self) -> tuple[str, ...]:
        return self.requires + self.accepts


@dataclass(frozen=True)
class GuardCheck:
    field: str
    op: GuardOp
    value: str | tuple[str, ...] | None = None


@dataclass(frozen=True)
class GuardDef:
    name: str
    description: str
    checks: tuple[GuardCheck, ...]


@dataclass(frozen=True)
class RuleDef:
    """A deadline rule, e.g. '5 working days after became_aware_on'."""

    text: str
    kind: RuleKind
    amount: int
    anchor: str | None = None  # the case field counted from (None for 'every')
    state: str | None = None  # the state an 'every N weeks while in STATE' rule runs in
    # The amount may be a parameter of the workflow instead of a number: 'param' names it,
    # and 'key_field' (for a table parameter, 'review_weeks[risk_level]') the choice field
    # whose value picks the row. ``amount`` is 0 until the rule is bound to a case's data.
    param: str | None = None
    key_field: str | None = None

    @property
    def recurring(self) -> bool:
        return self.kind == "every_weeks"

    @property
    def parametrised(self) -> bool:
        return self.param is not None


@dataclass(frozen=True)
class EventSet:
    """Things that happen to a case: entering one of ``enter`` or firing one of ``fire``."""

    enter: frozenset[str] = frozenset()
    fire: frozenset[str] = frozenset()

    def matches(self, trigger: str, entered: str | None) -> bool:
        return trigger in self.fire or (entered is not None and entered in self.enter)

    def __bool__(self) -> bool:
        return bool(self.enter or self.fire)


AlertKind = Literal["reminder", "due", "overdue", "escalation"]
ALERT_KINDS: tuple[AlertKind, ...] = ("reminder", "due", "overdue", "escalation")
# In an alert rung's ``to``, the role that owns the clock.
OWNER = "owner"


@dataclass(frozen=True)
class AlertRungDef:
    """One rung of a clock's alert ladder: when (working days from the due day) and to whom.

    ``offset`` is negative before the due day, 0 on it, positive after it.
    """

    offset: int
    kind: AlertKind
    to: tuple[str, ...] = (OWNER,)
    text: str = ""

    @property
    def key(self) -> str:
        """Stable name of the rung; an alert row is unique per (deadline, key)."""
        if self.offset == 0:
            return "due"
        return f"{abs(self.offset)}wd-{'before' if self.offset < 0 else 'after'}"


# The ladder of a clock that declares none (issue 4): 5 and 2 working days before, on the
# day, 1 working day late to the owner, 3 working days late escalated.
# In a rung's ``to:``, the user the domain made responsible for this one deadline (a MACE
# action's owner): a case involvement of kind ``assignee:KEY`` (``assignee`` when unkeyed).
ASSIGNEE = "assignee"


def assignee_kind(key: str | None) -> str:
    """The involvement kind that names who answers for the deadline keyed ``key``."""
    return f"{ASSIGNEE}:{key}" if key else ASSIGNEE


DEFAULT_ALERTS: tuple[AlertRungDef, ...] = (
    AlertRungDef(-5, "reminder", (OWNER,), "5 working days before"),
    AlertRungDef(-2, "reminder", (OWNER,), "2 working days before"),
    AlertRungDef(0, "due", (OWNER,), "due"),
    AlertRungDef(1, "overdue", (OWNER,), "1 working day after"),
    AlertRungDef(3, "escalation", (OWNER, "partnership_manager"), "3 working days after"),
)


@dataclass(frozen=True)
class ClockDef:
    name: str
    rule: RuleDef
    starts: EventSet
    met: EventSet
    cancelled: EventSet = EventSet()
    met_on: str | None = None  # the field whose value says when it was met
    owner: str | None = None  # the role that owns meeting it
    description: str = ""
    alerts: tuple[AlertRungDef, ...] = DEFAULT_ALERTS  # the alert ladder (issue 4)
    # A keyed clock runs one deadline per value of this field (one per missing episode, say):
    # several may be open at once, and a fire meets only the one its value names.
    keyed_by: str | None = None
    # A recurring clock's first cycle counts from this date field (the day of the assessment,
    # say) when it has a value, rather than from the day the start is recorded.
    first_from: str | None = None
    # A keyed clock whose deadlines are the items of the case's plan (an action plan): what
    # each item's summary, owner and drop reason are recorded in (see PlanDef).
    plan: PlanDef | None = None
    # A deadline this clock starts is never born breached: when the rule's date has already
    # passed at the start, it is due at the end of the day it started instead.
    not_before_start: bool = False
    # When the field that picks a recurring clock's interval changes (the level of concern),
    # the next cycle counts from this date field (the day of the change), else from today.
    changed_on: str | None = None
    # What emails and pages call the deadline ("return home interview"), its rule in words
    # (empty: worded from the rule and the fields' labels), what to do to meet it (empty:
    # the meeting transitions' descriptions), and for a keyed clock the fields of the step
    # that started each deadline which name its item (an action's summary, an episode's
    # return time). All data a partnership may edit (``label``, ``rule_label``,
    # ``what_to_do``, ``item_fields`` in the YAML).
    label: str = ""
    rule_label: str = ""
    what_to_do: str = ""
    item_fields: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.label or self.description or label_for(self.name)


@dataclass(frozen=True)
class PlanDef:
    """The fields a plan's items are recorded in: each item is one deadline of a keyed clock
    (its key the item's reference); ``summary``, ``owner`` and ``reason`` (why an item was
    dropped) are read from the fire that started or cancelled it. Any may be None."""

    summary: str | None = None
    owner: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AccessDef:
    """Who may read a workflow's cases, correct them, and see their personal fields."""

    read: tuple[str, ...] = ()
    correct: tuple[str, ...] = ()
    personal: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetentionDef:
    """Personal fields are erased ``years`` after ``from_field`` (or after closure)."""

    years: int
    from_field: str | None = None


# A workflow parameter: a number, or a table of numbers keyed by a choice field's values.
Parameter = int | Mapping[str, int]


@dataclass(frozen=True)
class WorkflowDef:
    name: str
    version: int
    title: str
    fields: Mapping[str, FieldDef]
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    open_requires: tuple[str, ...] = ()
    open_accepts: tuple[str, ...] = ()
    open_roles: tuple[str, ...] = ()
    reference_field: str | None = None  # a case field that holds a reference, e.g. child_ref
    guards: Mapping[str, GuardDef] = field(default_factory=dict)
    clocks: Mapping[str, ClockDef] = field(default_factory=dict)
    access: AccessDef = field(default_factory=lambda: AccessDef())
    retention: RetentionDef | None = None
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    description: str = ""
    # The partnership's own cases (the business plan's actions): no area; only roles held
    # for all areas reach them.
    partnership_wide: bool = False
    source: str = ""  # the file it came from
    digest: str = ""  # sha256 of the source text

    @property
    def initial_state(self) -> str:
        return next(s.name for s in self.states.values() if s.initial)

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def transitions_from(self, state: str) -> list[TransitionDef]:
        return list(self._from_state.get(state, ()))

    # Derived once per definition (it is immutable): every fire and page asks for these.
    @cached_property
    def _from_state(self) -> dict[str, tuple[TransitionDef, ...]]:
        out: dict[str, list[TransitionDef]] = {}
        for t in self.transitions:
            for state in dict.fromkeys(t.sources):
                out.setdefault(state, []).append(t)
        return {state: tuple(ts) for state, ts in out.items()}

    @cached_property
    def involving_fields(self) -> tuple[FieldDef, ...]:
        """The fields whose value names a user involved in the case (a reviewer)."""
        return tuple(f for f in self.fields.values() if f.involves)

    def transition_for(self, state: str, trigger: str) -> TransitionDef | None:
        return next((t for t in self.transitions_from(state) if t.trigger == trigger), None)

    def via_for(self, trigger: str) -> str | None:
        """The domain command that owns ``trigger`` (from any state), or None if generic."""
        return self._vias.get(trigger)

    @cached_property
    def _vias(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for t in self.transitions:
            if t.via and t.trigger not in out:
                out[t.trigger] = t.via
        return out

    def is_final(self, state: str) -> bool:
        return self.states[state].final

    def plan_clock(self) -> ClockDef | None:
        """The keyed clock whose deadlines are the case's plan items (an action plan)."""
        return self._plan_clock

    @cached_property
    def _plan_clock(self) -> ClockDef | None:
        return next((c for c in self.clocks.values() if c.plan is not None), None)

    def personal_fields(self) -> frozenset[str]:
        return self._personal

    @cached_property
    def _personal(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields.values() if f.personal)


DateLike = dt.date | dt.datetime

# Words in field, clock and role names that are abbreviations, for the default labels.
ABBREVIATIONS = {"lcspr": "LCSPR", "rr": "rapid review", "rhi": "return home interview",
                 "mace": "MACE", "cerar": "CERAR", "dfe": "DfE", "ref": "reference",
                 "dob": "date of birth", "sin": "SIN", "icb": "ICB"}


def label_for(name: str) -> str:
    """'rr_submitted_on' -> 'rapid review submitted on': a name in words (lower case), the
    default label of a field or clock whose YAML gives none."""
    return " ".join(ABBREVIATIONS.get(word, word) for word in name.split("_") if word)


def names(items: Iterable[str]) -> str:
    return ", ".join(items)
