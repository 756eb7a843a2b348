"""Dates and statuses in words, for pages. Pure."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from engine.core.calendar import WorkingCalendar
from engine.core.clock import LONDON, london_date
from engine.core.definition import FieldDef

STATUS_TAGS = {"open": ("Open", "blue"), "met": ("Met", "green"),
               "breached": ("Overdue", "red"), "cancelled": ("Cancelled", "grey"),
               "due_soon": ("Due this week", "amber")}


# Words in field, step and state names that are abbreviations (until the workflow YAML
# gives labels of its own).
WORDS = {"lcspr": "LCSPR", "rr": "rapid review", "rhi": "RHI", "mace": "MACE",
         "cerar": "CERAR", "dfe": "DfE", "ref": "reference", "dob": "date of birth",
         "cdop": "CDOP", "cdr": "child death review", "ncmd": "NCMD"}


@functools.lru_cache(maxsize=4096)  # a page asks for the same few names many times
def humanise(name: str) -> str:
    """'rr_submitted_on' -> 'Rapid review submitted on': a field or step name as a label."""
    text = " ".join(WORDS.get(word, word) for word in name.split("_") if word)
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """The first letter upper case, the rest as written ('the Panel' stays 'Panel')."""
    return text[:1].upper() + text[1:]


@functools.lru_cache(maxsize=4096)
def day_text(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@functools.lru_cache(maxsize=4096)
def when_text(at: dt.datetime) -> str:
    local = at.astimezone(LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def due_text(due_at: dt.datetime, due_day: dt.date | None, now: dt.datetime,
             calendar: WorkingCalendar) -> str:
    """'due Friday 12 April 2024, 3 working days left' / 'overdue by 2 working days'."""
    today = london_date(now)
    if due_day is not None:
        shown = f"due {day_text(due_day)}"
        left = calendar.working_days_between(today, due_day)
        if due_day == today:
            return f"{shown} (today)"
        if due_day < today:
            late = calendar.working_days_between(due_day, today)
            return f"{shown}, overdue by {late} working day{'s' if late != 1 else ''}"
        return f"{shown}, {left} working day{'s' if left != 1 else ''} left"
    shown = f"due {when_text(due_at)}"
    hours = int((due_at - now).total_seconds() // 3600)
    if hours < 0:
        return f"{shown}, overdue by {-hours} hour{'s' if hours != -1 else ''}"
    if hours == 0:
        return f"{shown}, less than an hour left"
    return f"{shown}, {hours} hour{'s' if hours != 1 else ''} left"


def bucket(due_at: dt.datetime, due_day: dt.date | None, now: dt.datetime) -> str:
    """overdue, week (to Sunday) or later."""
    today = london_date(now)
    day = due_day or london_date(due_at)
    if (due_day is not None and due_day < today) or (due_day is None and due_at < now):
        return "overdue"
    if day <= today + dt.timedelta(days=6 - today.weekday()):
        return "week"
    return "later"


def relative_day(day: dt.date, today: dt.date) -> str:
    """'Monday 1 July 2024, in 4 weeks' / ', today' / ', 3 days overdue'."""
    days = (day - today).days
    if days == 0:
        return f"{day_text(day)}, today"
    if days < 0:
        return f"{day_text(day)}, {-days} day{'s' if days != -1 else ''} overdue"
    if days >= 14:
        return f"{day_text(day)}, in {days // 7} weeks"
    return f"{day_text(day)}, in {days} day{'s' if days != 1 else ''}"


def iso_day_text(text: str | None) -> str:
    """'2024-07-02' -> 'Tuesday 2 July 2024' (anything else as it is)."""
    try:
        return day_text(dt.date.fromisoformat(str(text)[:10])) if text else ""
    except ValueError:
        return str(text)


def deadline_row(d: Any, now: dt.datetime, calendar: WorkingCalendar) -> dict[str, Any]:
    """A deadline for a table: when it is due in words and its status tag; one met late
    says so rather than counting the days it is overdue."""
    if d.met_at is not None:
        met = d.met_on or ""
        return {"d": d, "due": day_text(d.due_day) if d.due_day else when_text(d.due_at),
                "met": iso_day_text(met) if d.due_day else when_text(d.met_at),
                "tag": ("Met", "green") if d.status == "met" else ("Met late", "amber")}
    due = due_text(d.due_at, d.due_day, now, calendar) if d.status in ("open", "breached") \
        else (day_text(d.due_day) if d.due_day else when_text(d.due_at))
    return {"d": d, "due": due, "met": None,
            "tag": STATUS_TAGS.get(d.status, (d.status, "grey"))}


def month_text(day: dt.date) -> str:
    return f"{day:%B %Y}"


def field_label(field: FieldDef | None, name: str) -> str:
    """A field's label as a page shows it: the YAML's ``label:``, else its name in words."""
    if field is not None and field.label:
        return sentence(field.label)
    return humanise(name)


def field_value(field: FieldDef | None, value: object) -> str:
    """A stored value as people read it: dates in words, choices as words."""
    text = "" if value is None else str(value)
    if field is None or not text:
        return text
    try:
        if field.type == "date":
            return day_text(dt.date.fromisoformat(text))
        if field.type == "datetime":
            return when_text(dt.datetime.fromisoformat(text))
    except ValueError:
        return text
    if field.type == "choice":
        return humanise(text)
    return text
