"""Plain-text rendering of CERAR and MACE views for the terminal. Pure (returns str)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from engine.core.clock import show_instant
from engine.core.present import case_text, table
from engine.core.views import CaseView
from engine.domains.cerar.service import ChildRow, ChildView
from engine.domains.mace.views import ActionView, MeetingView, SeriesView

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def child_text(view: ChildView) -> str:
    data = {k: v for k, v in view.case.data.items() if k != "child_name"}
    shown = CaseView(**{**view.case.__dict__, "data": data})
    lines = [case_text(shown)]
    if view.episodes:
        lines += ["", "Missing episodes:", table(
            ("EPISODE", "MISSING FROM", "RETURNED", "RHI"),
            [(e.episode, show_instant(e.missing_from), show_instant(e.returned_at),
              f"{e.rhi_outcome} {show_instant(e.rhi_at)}" if e.rhi_outcome and e.rhi_at
              else "due") for e in view.episodes], "  ")]
    if "strategy_meeting" in view.raised:
        lines += ["", "Repeated missing episodes: a strategy meeting is due and the child is "
                  "flagged for the next MACE."]
    return "\n".join(lines)


def children_text(rows: Sequence[ChildRow]) -> str:
    if not rows:
        return "No CERAR cases."
    return table(("CHILD", "CASE", "STATE", "LEVEL", "NEXT REVIEW", "RHIS DUE", "STRATEGY",
                  "PLACEMENT", "OVERDUE"),
                 [(r.child_ref, r.ref, r.state, r.risk_level or "", r.next_review or "",
                   r.open_rhis or "", r.strategy_meeting_due or "",
                   "" if r.placement in (None, "none") else r.placement, r.overdue or "")
                  for r in rows])


def meetings_text(meetings: Sequence[MeetingView]) -> str:
    if not meetings:
        return "No meetings."
    rows = []
    for m in meetings:
        pending = [d for d in m.deadlines if d["status"] in ("open", "breached")]
        first = min(pending, key=lambda d: d["due"]) if pending else None
        rows.append((m.ref, m.series, show_instant(m.starts_at).replace("T", " ")[:16],
                     m.state, f"moved from {m.slot_on.isoformat()}" if m.moved else "",
                     f"{first['name']} {first['due']}" if first else ""))
    return table(("MEETING", "SERIES", "STARTS (LONDON)", "STATE", "NOTE", "NEXT DEADLINE"),
                 rows)


def meeting_text(m: MeetingView) -> str:
    lines = [f"MACE meeting {m.ref} ({m.series})", f"State: {m.state}",
             f"Starts: {show_instant(m.starts_at).replace('T', ' ')[:16]} (Europe/London)"
             + (f", moved from {m.slot_on.isoformat()}" if m.moved else ""),
             f"Invitation: UID {m.uid}, sequence {m.sequence}", "", "Deadlines:"]
    rows = [(d["name"] + (f" {d['key']}" if d.get("key") else ""), d["due"], d["status"],
             d["met_on"] or "", d["rule"]) for d in m.deadlines]
    lines.append(table(("DEADLINE", "DUE", "STATUS", "MET ON", "RULE"), rows, "  ")
                 if rows else "  (none)")
    if m.attendance:
        lines += ["", "Attendance:"] + [
            f"  {a['agency']}: {a['person'] or ''} ({a['status']})".replace(":  (", ": (")
            for a in m.attendance]
    if m.decisions:
        lines += ["", "Decisions:", table(
            ("CHILD", "CASE", "DECISION", "LEVEL"),
            [(d["child_ref"] or "", d["case"], d["decision"], d["risk_level"] or "")
             for d in m.decisions], "  ")]
    if m.actions:
        lines += ["", "Actions:", table(
            ("ACTION", "CHILD", "OWNER", "AGENCY", "DUE", "STATUS", "SUMMARY"),
            [(a["ref"], a["child_ref"] or "", a["owner"], a["agency"], a["due_on"],
              _status(a["status"], a.get("dropped_on")),
              _summary(a["summary"], a.get("drop_reason"))) for a in m.actions], "  ")]
    return "\n".join(lines)


def _status(status: str, on: dt.date | str | None) -> str:
    """'done 2024-06-11', 'dropped 2024-06-10' or 'open' (a date's text is ISO)."""
    return f"{status} {on}" if on else status


def _summary(summary: str, drop_reason: str | None) -> str:
    """The summary, and why it was dropped (as the case page's plan says it)."""
    return f"{summary} (Dropped: {drop_reason})" if drop_reason else summary


def series_text(s: SeriesView) -> str:
    every = {"2w": "fortnightly", "4w": "every four weeks", "1m": "monthly"}.get(
        s.every, f"every {s.every}")
    lines = [f"{s.use.upper()} series {s.name}: {every} on {WEEKDAY_NAMES[s.weekday]} at "
             f"{s.start_time} ({s.duration_minutes} minutes), from {s.anchor_on.isoformat()}",
             f"Chair: {s.chair}; members: {', '.join(s.members) or '(none)'}",
             f"Bank holidays: {s.on_holiday}; generated {s.horizon_days} days ahead"]
    if s.skipped:
        lines.append(f"Skipped (bank holidays): {', '.join(d.isoformat() for d in s.skipped)}")
    lines += ["", meetings_text(s.meetings)]
    return "\n".join(lines)


def actions_text(actions: Sequence[ActionView]) -> str:
    if not actions:
        return "No actions."
    return table(("MEETING", "ACTION", "CHILD", "OWNER", "AGENCY", "DUE", "STATUS", "SUMMARY"),
                 [(a.meeting, a.ref, a.child_ref or "", a.owner, a.agency, a.due_on.isoformat(),
                   _status(a.status, a.done_on or a.dropped_on),
                   _summary(a.summary, a.drop_reason)) for a in actions])
