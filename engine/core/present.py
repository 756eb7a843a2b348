"""Plain-text rendering of views for the terminal: tables at 80 columns. Pure (returns str)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from engine.core.clock import show_instant
from engine.core.definition import WorkflowDef
from engine.core.plan import PlanItem
from engine.core.views import CasePage, CaseSummary, CaseView, DeadlineView, EventView


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "") -> str:
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return indent + "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _when(at: dt.datetime) -> str:
    return show_instant(at).replace("T", " ")[:16]


def deadlines_table(deadlines: Sequence[DeadlineView], indent: str = "  ") -> str:
    if not deadlines:
        return f"{indent}(none)"
    rows = [(d.name + (f" {d.key}" if d.key else f" #{d.cycle}" if d.cycle > 1 else ""),
             d.due, d.status.upper()
             if d.status == "breached" else d.status, d.met_on or "", d.rule)
            for d in deadlines]
    return table(("DEADLINE", "DUE", "STATUS", "MET ON", "RULE"), rows, indent)


def plan_table(plan: Sequence[PlanItem], indent: str = "  ") -> str:
    """The plan's items: reference, summary, owner, due date, status (done on, or why
    dropped)."""
    rows = [(i.ref, i.summary or "", i.owner or "", i.due.isoformat() if i.due else "",
             i.status.upper() if i.status == "overdue" else i.status,
             (f"{i.done_on.isoformat()}{' (late)' if i.late else ''}" if i.done_on
              else i.reason or "")) for i in plan]
    return table(("ACTION", "SUMMARY", "OWNER", "DUE", "STATUS", "DONE ON / REASON"), rows,
                 indent)


def case_text(view: CaseView) -> str:
    lines = [
        f"Case {view.ref}  ({view.workflow} v{view.workflow_version}, version {view.version})",
        f"State: {view.state}{' (final)' if view.final else ''} - {view.state_description}",
        "",
        "Data:",
    ]
    width = max((len(k) for k in view.data), default=0)
    lines += [f"  {k.ljust(width)}  {v}" for k, v in view.data.items()]
    lines += ["", "Deadlines:", deadlines_table(view.deadlines)]
    if view.plan:
        lines += ["", "Action plan:", plan_table(view.plan)]
    if view.links:
        lines += ["", "Linked cases:"]
        lines += [f"  {link.ref}" + (f"  {link.title} ({link.state})" if link.visible else "")
                  for link in view.links]
    lines += ["", "Next steps:"]
    if not view.available_triggers:
        lines.append("  (none)")
    for t in view.available_triggers:
        if t.via:  # recorded by a domain command, with options of its own
            lines.append(f"  {t.name} (via {t.via})")
            continue
        where = "records, stays" if t.to is None else f"-> {t.to}"
        needs = f"  needs {', '.join(t.requires)}" if t.requires else ""
        lines.append(f"  {t.name} ({where}){needs}")
    return "\n".join(lines)


def cases_text(summaries: Sequence[CaseSummary]) -> str:
    if not summaries:
        return "No cases."
    rows = [(s.ref, s.workflow, s.state,
             s.next_deadline.name if s.next_deadline else "",
             s.next_deadline.due if s.next_deadline else "",
             s.overdue or "") for s in summaries]
    return table(("REF", "WORKFLOW", "STATE", "NEXT DEADLINE", "DUE", "OVERDUE"), rows)


def case_page_text(page: CasePage) -> str:
    """A page of cases, then which of how many it shows and how to see the next."""
    if not page.cases:
        return "No cases." if not page.total else \
            f"No cases at offset {page.offset} (there are {page.total})."
    last = page.offset + len(page.cases)
    more = f"; the next page: --offset {last}" if last < page.total else ""
    return (f"{cases_text(page.cases)}\n"
            f"Cases {page.offset + 1} to {last} of {page.total}{more}")


def history_text(events: Sequence[EventView]) -> str:
    rows = []
    for e in events:
        move = e.to_state if e.from_state in (None, e.to_state) else \
            f"{e.from_state} -> {e.to_state}"
        changed = ", ".join(f"{k}={v[1]}" for k, v in e.changes.items())
        rows.append((e.seq, _when(e.at), e.actor, e.trigger, move, changed, e.note or ""))
    return table(("#", "AT (LONDON)", "ACTOR", "TRIGGER", "STATE", "CHANGED", "NOTE"), rows)


def workflow_text(d: WorkflowDef) -> str:
    lines = [f"{d.name} version {d.version}: {d.title}", ""]
    if d.description:
        lines += [d.description, ""]
    lines.append("States:")
    for s in d.states.values():
        mark = " (initial)" if s.initial else " (final)" if s.final else ""
        lines.append(f"  {s.name}{mark}: {s.description}")
    lines += ["", "Transitions:"]
    rows = [(t.trigger, ", ".join(t.sources), t.dest or "(internal)",
             ", ".join(t.requires), ", ".join(t.roles)) for t in d.transitions]
    lines.append(table(("TRIGGER", "FROM", "TO", "REQUIRES", "ROLES"), rows, "  "))
    lines += ["", "Clocks:"]
    clock_rows = [(c.name, c.rule.text, ", ".join(sorted(c.starts.enter | c.starts.fire)),
             ", ".join(sorted(c.met.enter | c.met.fire))) for c in d.clocks.values()]
    lines.append(table(("CLOCK", "RULE", "STARTS ON", "MET BY"), clock_rows, "  "))
    return "\n".join(lines)


def mermaid(d: WorkflowDef) -> str:
    """A Mermaid stateDiagram-v2 of the workflow (internal transitions as notes)."""
    lines = ["stateDiagram-v2", f"    [*] --> {d.initial_state}"]
    notes: dict[str, list[str]] = {}
    for t in d.transitions:
        for source in t.sources:
            if t.internal:
                notes.setdefault(source, []).append(t.trigger)
            else:
                lines.append(f"    {source} --> {t.dest}: {t.trigger}")
    for s in d.states.values():
        if s.final:
            lines.append(f"    {s.name} --> [*]")
    for state, triggers in notes.items():
        lines.append(f"    note right of {state}: records {', '.join(dict.fromkeys(triggers))}")
    return "\n".join(lines)
