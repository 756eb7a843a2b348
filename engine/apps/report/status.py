"""`safeguard status`: the morning dashboard. What is due this week and overdue (by workflow
and owner role), alerts not yet delivered, the next MACE meeting and whether its agenda is
out, practice reviews past their 6-month publication target, dead-lettered notifications.

Only what the actor may see: the cases come from :meth:`Engine.cases` (which applies the
actor's roles, areas and involvement, and audits the listing); outbox rows that belong to
no case, and dead letters, only for business support and partnership managers. Text is
laid out for 80 columns. No personal data: references, deadline names and dates only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select

from engine.core.clock import end_of_day, london_date, show_instant
from engine.core.policy import MAIL_READERS, areas_for
from engine.core.service import Engine
from engine.core.store.cases import CASES, DEADLINES
from engine.core.store.directory import Directory
from engine.core.store.models import MaceMeeting, OutboxMessage
from engine.core.unit import Unit

# Read with Core on the unit's connection, as the engine's own listings are: rows, not ORM
# objects (a command that loads no ORM entity never configures the mappers).
MEETINGS: Table = MaceMeeting.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]

WIDTH = 80


@dataclass
class Dashboard:
    now: dt.datetime
    week_end: dt.date
    overdue: list[dict[str, Any]] = field(default_factory=list)
    due_this_week: list[dict[str, Any]] = field(default_factory=list)
    undelivered: list[dict[str, Any]] = field(default_factory=list)
    next_meeting: dict[str, Any] | None = None
    past_target: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    sees_outbox: bool = False
    # Users mail should reach who have no usable address: logins and why (no case data).
    unaddressed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"now": show_instant(self.now), "today": london_date(self.now).isoformat(),
                "week_ends": self.week_end.isoformat(),
                "overdue": self.overdue, "due_this_week": self.due_this_week,
                "overdue_by_workflow_owner": _grouped(self.overdue),
                "due_by_workflow_owner": _grouped(self.due_this_week),
                "undelivered_alerts": self.undelivered if self.sees_outbox else None,
                "next_mace_meeting": self.next_meeting,
                "past_publication_target": self.past_target,
                "dead_letters": self.dead_letters if self.sees_outbox else None,
                "unaddressed_users": self.unaddressed}


def _grouped(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = Counter((i["workflow"], i["owner"] or "-") for i in items)
    return [{"workflow": w, "owner": o, "count": n} for (w, o), n in sorted(counts.items())]


def _due_text(due_day: dt.date | None, due_at: dt.datetime) -> str:
    return due_day.isoformat() if due_day else show_instant(due_at)


def dashboard(engine: Engine, actor: str) -> Dashboard:
    """The dashboard as ``actor`` may see it: one unit of work, checked and audited."""
    with engine.unit(actor, "status") as unit:
        unit.require()
        return _dashboard(engine, unit)


def _dashboard(engine: Engine, unit: Unit) -> Dashboard:
    # Only what the actor may read, filtered in the database: each query below reads the
    # due, overdue and open items it shows, however many closed cases are stored.
    visible = engine.readable(unit)
    now = engine.clock.now()
    today = london_date(now)
    week_end = today + dt.timedelta(days=6 - today.weekday())
    board = Dashboard(now, week_end)
    conn = unit.conn
    principal = unit.principal
    board.sees_outbox = any(r in principal.grants for r in MAIL_READERS)
    mail_areas = areas_for(principal, MAIL_READERS)
    d, c = DEADLINES.c, CASES.c
    rows = conn.execute(
        select(d.name, d.key, d.owner_role, d.due_at, d.due_day, c.ref, c.workflow)
        .join_from(DEADLINES, CASES, c.id == d.case_id)
        .where(d.status == "open", d.due_at < end_of_day(week_end), visible)
        .order_by(d.due_at, d.id))
    listed: set[str] = set()
    for row in rows:
        listed.add(f"{row.workflow}:{row.ref}")
        item = {"workflow": row.workflow, "owner": row.owner_role, "ref": row.ref,
                "deadline": row.name + (f" {row.key}" if row.key else ""),
                "due": _due_text(row.due_day, row.due_at)}
        (board.overdue if row.due_at <= now else board.due_this_week).append(item)
    late = conn.execute(
        select(d.due_at, d.due_day, c.ref)
        .join_from(DEADLINES, CASES, c.id == d.case_id)
        .where(c.workflow == "practice_review", d.name == "publication",
               d.met_at.is_(None), d.status.in_(["open", "breached"]), d.due_at <= now,
               visible)
        .order_by(d.due_at))
    for past in late:
        listed.add(f"practice_review:{past.ref}")
        board.past_target.append({"ref": past.ref, "due": _due_text(past.due_day, past.due_at),
                                  "days_past": (today - (past.due_day or today)).days})
    meetings = conn.execute(
        select(MEETINGS.c.agenda, c.id, c.ref, c.state, c.data)
        .join_from(MEETINGS, CASES, c.id == MEETINGS.c.case_id)
        .where(c.state.in_(["scheduled", "rescheduled", "agenda_published"]),
               c.workflow == "mace_meeting", visible))
    upcoming = sorted(((m.data["starts_at"], m) for m in meetings
                       if m.data.get("meeting_on", "") >= today.isoformat()),
                      key=lambda t: t[0])
    if upcoming:
        _, meeting = upcoming[0]
        agenda_due = conn.execute(select(d.status, d.due_at, d.due_day).where(
            d.case_id == meeting.id, d.name == "agenda")).first()
        published = meeting.state == "agenda_published"
        board.next_meeting = {
            "ref": meeting.ref, "meeting_on": meeting.data["meeting_on"],
            "starts_at": meeting.data["starts_at"], "agenda_out": published,
            "agenda_due": _due_text(agenda_due.due_day, agenda_due.due_at) if agenda_due
            else None,
            "agenda_overdue": bool(not published and agenda_due is not None
                                   and agenda_due.status == "open"
                                   and agenda_due.due_at <= now),
            "children_on_agenda": len((meeting.agenda or {}).get("children", []))
            if published else None}
    unit.note(listed=len(listed))
    if board.sees_outbox:
        # Only mail about cases in the reader's areas (none about no case unless they
        # read mail for every area), as 'notifications list' shows it.
        o = OUTBOX.c
        messages = conn.execute(
            select(o.id, o.template, o.to_address, o.attempts, o.status, o.last_error, c.ref,
                   c.area)
            .outerjoin_from(OUTBOX, CASES, c.id == o.case_id)
            .where(o.status.in_(["pending", "sending", "failed"]))
            .order_by(o.id))
        for m in messages:
            if mail_areas is not None and (m.ref is None or m.area not in mail_areas):
                continue
            item = {"id": m.id, "ref": m.ref, "template": m.template, "to": m.to_address,
                    "attempts": m.attempts, "status": m.status,
                    "last_error": m.last_error}
            (board.dead_letters if m.status == "failed" else board.undelivered).append(
                item)
    board.unaddressed = [{"login": login, "as": why} for login, why
                         in Directory(conn).unaddressed()]
    return board


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "~"


def _lines(items: list[dict[str, Any]], limit: int = 12) -> list[str]:
    out = []
    for i in items[:limit]:
        out.append(_cut(f"    {i['due']:<25} {i['ref']:<24} {i['deadline']}", WIDTH))
    if len(items) > limit:
        out.append(f"    ... and {len(items) - limit} more ('safeguard status --json')")
    return out


def dashboard_text(board: Dashboard) -> str:
    today = london_date(board.now)
    out = [f"safeguard status, {today:%A %d %B %Y} (week to {board.week_end.isoformat()})",
           "=" * 64]
    for title, items in (("Overdue", board.overdue),
                         ("Due this week", board.due_this_week)):
        out.append(f"\n{title}: {len(items)}")
        for group in _grouped(items):
            out.append(_cut(f"  {group['workflow']:<16} owner {group['owner']:<22} "
                            f"{group['count']:>4}", WIDTH))
            out += _lines([i for i in items if i["workflow"] == group["workflow"]
                           and (i["owner"] or "-") == group["owner"]], 5)
    out.append("\nNext MACE meeting:")
    m = board.next_meeting
    if m is None:
        out.append("  none scheduled that you may see")
    else:
        start = show_instant(dt.datetime.fromisoformat(m["starts_at"])).replace("T", " ")[:16]
        agenda = (f"agenda out ({m['children_on_agenda']} children)" if m["agenda_out"]
                  else f"agenda NOT out (due {m['agenda_due']}"
                  + (", OVERDUE)" if m["agenda_overdue"] else ")"))
        out.append(_cut(f"  {m['ref']}  {start}  {agenda}", WIDTH))
    out.append(f"\nReviews past their 6-month publication target: {len(board.past_target)}")
    out += [f"  {p['ref']:<24} due {p['due']}  ({p['days_past']} days ago)"
            for p in board.past_target]
    if board.sees_outbox:
        out.append(f"\nAlerts not yet delivered: {len(board.undelivered)}")
        for u in board.undelivered[:8]:
            out.append(_cut(f"  #{u['id']:<6} {u['ref'] or '-':<24} {u['template']:<11} "
                            f"{u['to']}", WIDTH))
        if len(board.undelivered) > 8:
            out.append(f"  ... and {len(board.undelivered) - 8} more "
                       "('safeguard notifications list --status pending')")
        out.append(f"\nDead-lettered notifications: {len(board.dead_letters)}")
        for f_ in board.dead_letters[:8]:
            out.append(_cut(f"  #{f_['id']:<6} {f_['to']:<30} {f_['last_error'] or ''}",
                            WIDTH))
        if board.dead_letters:
            out.append("  put them back with 'safeguard notifications retry --all-failed'")
    if board.unaddressed:
        out.append(f"\nPEOPLE EMAIL CANNOT REACH (no registered address): "
                   f"{len(board.unaddressed)}")
        for u in board.unaddressed[:12]:
            out.append(_cut(f"  {u['login']:<20} {u['as']}", WIDTH))
        out.append("  nothing is sent to them until they have a registered address "
                   "('safeguard user update LOGIN --email ADDRESS')")
    return "\n".join(out)
