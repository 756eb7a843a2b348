"""MACE: the month's meetings as a calendar, a meeting's page (agenda by risk, references
only; attendance; decisions; actions), the forms that publish the agenda, record the meeting
held, a decision per child and an action (done, or dropped with the reason), the invitation
(.ics) and a new series. Every read and write goes through the MACE service as the signed-in
user, which checks and audits it.
"""

from __future__ import annotations

import calendar as cal
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from engine.core.clock import LONDON, london_date, parse_date
from engine.core.errors import PermissionDeniedError, UsageError
from engine.domains.mace.base import MeetingNotFoundError
from engine.domains.mace.views import MeetingView
from web import deps, words
from web.deps import Ctx, SignedInUser
from web.forms import Field, Form, choices, page, split_logins, submit

router = APIRouter()
MACE = ("Home", "/"), ("MACE meetings", "/mace")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
STATE_TAGS = {"scheduled": "blue", "rescheduled": "blue", "agenda_published": "green",
              "held": "green", "minutes_circulated": "green", "closed": "grey",
              "cancelled": "grey"}
DONE = {"series": "The series has been created and its meetings generated.",
        "publish": "The agenda has been published to the members.",
        "hold": "The meeting has been recorded as held, with its attendance.",
        "decide": "The decision has been recorded and the child's CERAR case updated.",
        "action": "The action has been recorded; its owner is reminded before it is due.",
        "action_done": "The action has been recorded as done.",
        "action_dropped": "The action has been dropped; its owner gets no more reminders "
                          "about it."}
REASONS = {"listed": "listed for MACE", "review_due": "review due", "new_referral": "new referral",
           "level_changed": "level changed", "missing": "missing since the last meeting",
           "rhi_outstanding": "return home interview due",
           "strategy_meeting": "strategy meeting due", "placed_in_area": "placed in the area",
           "placed_out_of_area": "placed out of the area"}
DECISIONS = (("review_done", "Reviewed"), ("level_confirmed", "Level confirmed"),
             ("level_changed", "Level changed"), ("step_down", "Step down"))


def _month(text: str, today: dt.date) -> dt.date:
    if not text:
        return today.replace(day=1)
    try:
        first = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise UsageError(f"'{text[:20]}' is not a month: use YYYY-MM, e.g. 2024-03") from None
    if not 2000 <= first.year <= 2100:
        raise UsageError("choose a month between 2000 and 2100")
    return first


@router.get("/mace")
def month(ctx: SignedInUser, month: str = "", done: str = "") -> Response:
    today = london_date(ctx.app.clock.now())
    try:
        listed = ctx.app.mace.meetings(ctx.login)
    except PermissionDeniedError:
        return deps.not_found(ctx)  # not a MACE reader: no such page for them
    first = _month(month, today)
    meetings = [m for m in listed
                if (m.meeting_on.year, m.meeting_on.month) == (first.year, first.month)]
    by_day: dict[dt.date, list[MeetingView]] = {}
    for m in meetings:
        by_day.setdefault(m.meeting_on, []).append(m)
    weeks = [[(d if d.month == first.month else None) for d in week[:5]]
             for week in cal.Calendar().monthdatescalendar(first.year, first.month)]
    weeks = [w for w in weeks if any(w)]
    before = (first - dt.timedelta(days=1)).replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    menu = ctx.app.casework.menu(ctx.login)
    return deps.render(ctx, "mace_month.html", title=f"MACE meetings, {words.month_text(first)}",
                       first=first, weeks=weeks, by_day=by_day, meetings=meetings,
                       today=today, previous=f"{before:%Y-%m}", next=f"{after:%Y-%m}",
                       weekdays=WEEKDAYS, tags=STATE_TAGS, banner=DONE.get(done),
                       may_create="mace.series.create" in menu,
                       times={m.ref: f"{m.starts_at.astimezone(LONDON):%H:%M}"
                              for m in meetings})


# -- a meeting ------------------------------------------------------------------------------
def _meeting(ctx: Ctx, ref: str) -> MeetingView:
    try:
        return ctx.app.mace.meeting(ref, ctx.login)
    except MeetingNotFoundError:
        raise HTTPException(404) from None


def _start_text(m: MeetingView) -> str:
    local = m.starts_at.astimezone(LONDON)
    return f"{words.day_text(m.meeting_on)} at {local:%H:%M}"


@router.get("/mace/{ref}")
def meeting_page(ref: str, ctx: SignedInUser, done: str = "") -> Response:
    try:
        meeting, agenda, case_page = ctx.app.mace.meeting_page(ref, ctx.login)
    except MeetingNotFoundError:
        raise HTTPException(404) from None
    steps = {s.trigger.name for s in case_page.steps if s.allowed and not s.missing}
    now = ctx.app.clock.now()
    calendar = ctx.app.engine.calendar
    deadlines = [words.deadline_row(d, now, calendar) for d in case_page.view.deadlines
                 if d.status != "cancelled"]
    return deps.render(ctx, "mace_meeting.html", title=f"{case_page.title} {ref}", m=meeting,
                       when=_start_text(meeting), agenda=agenda, reasons=REASONS,
                       steps=steps, deadlines=deadlines, tags=STATE_TAGS,
                       decisions=dict(DECISIONS), banner=DONE.get(done),
                       month=f"{meeting.meeting_on:%Y-%m}",
                       use="cdop" if case_page.view.workflow == "cdop_meeting" else "mace")


@router.get("/mace/{ref}/invitation.ics")
def invitation(ref: str, ctx: SignedInUser) -> Response:
    try:
        _method, payload = ctx.app.mace.invitation(ref, ctx.login)
    except MeetingNotFoundError:
        raise HTTPException(404) from None
    return Response(payload, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{ref}.ics"',
        "Cache-Control": "no-store"})


@router.post("/mace/{ref}/publish")
async def publish(ref: str, request: Request, ctx: SignedInUser) -> Response:
    assert ctx.session is not None
    await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        try:
            ctx.app.mace.publish(ref, ctx.login)
        except MeetingNotFoundError:
            raise HTTPException(404) from None
        return deps.redirect(f"/mace/{ref}?done=publish")

    return await run_in_threadpool(work)


def _crumbs(m: MeetingView, last: str) -> tuple[tuple[str, str | None], ...]:
    return (*MACE, (m.ref, f"/mace/{m.ref}"), (last, None))


# -- recording the meeting held -------------------------------------------------------------
def _invited(ctx: Ctx, m: MeetingView) -> list[str]:
    series = ctx.app.mace.series(m.series, ctx.login)
    return list(dict.fromkeys([series.chair, *series.members]))


def _hold_form(m: MeetingView, people: list[str], today: dt.date) -> Form:
    rows: list[Field] = []
    for i, login in enumerate(people, start=1):
        rows.append(Field(f"present-{i}", f"{login} attended", "checkbox", value=login))
        rows.append(Field(f"agency-{i}", f"Agency {login} represented",
                          max_length=80, width="input--w20", indent=True))
    return Form(
        title="Record the meeting held", action=f"/mace/{m.ref}/hold", submit="Record the meeting",
        cancel=f"/mace/{m.ref}", breadcrumbs=_crumbs(m, "Held"),
        caption=f"MACE meeting {m.ref}, {_start_text(m)}",
        lead="Who attended, by agency, and the agencies that sent apologies. The minutes are "
             "then due.",
        fields=(Field("held_on", "Held on", "date"), *rows,
                Field("apologies", "Apologies from agencies", optional=True, max_length=300,
                      hint="Agencies, separated by commas. For example, health, education")),
        about={"attended": "present-1", "represented": "present-1", "held": "held_on",
               "day to come": "held_on", "apolog": "apologies", "agency": "apologies",
               "present": "present-1"},
        defaults={"held_on": today.isoformat()})


@router.get("/mace/{ref}/hold")
def hold_page(ref: str, ctx: SignedInUser) -> Response:
    m = _meeting(ctx, ref)
    return page(ctx, _hold_form(m, _invited(ctx, m), london_date(ctx.app.clock.now())))


@router.post("/mace/{ref}/hold")
async def hold(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        present = []
        for i in range(1, 51):  # each ticked box carries its person's login
            login = v.get(f"present-{i}", "")
            if login:
                agency = v.get(f"agency-{i}", "")
                if not agency:
                    raise UsageError(f"say which agency {login} represented")
                present.append((agency, login))
        if not present:
            raise UsageError("tick who attended, and say which agency each represented")
        apologies = [a.strip() for a in v.get("apologies", "").split(",") if a.strip()]
        held_on = parse_date(v["held_on"]) if v.get("held_on") else None
        ctx.app.mace.hold(ref, ctx.login, present, apologies, held_on)
        return f"/mace/{ref}?done=hold"

    def again() -> Form:
        m = _meeting(ctx, ref)
        return _hold_form(m, _invited(ctx, m), london_date(ctx.app.clock.now()))

    return await submit(request, ctx, again, act)


# -- a decision per child -------------------------------------------------------------------
def _children(ctx: Ctx, ref: str) -> list[dict[str, Any]]:
    agenda = ctx.app.mace.agenda(ref, ctx.login)
    return list(agenda.get("children", []))


def _decide_form(m: MeetingView, children: list[dict[str, Any]]) -> Form:
    return Form(
        title="Record a decision", action=f"/mace/{m.ref}/decide", submit="Record the decision",
        cancel=f"/mace/{m.ref}", breadcrumbs=_crumbs(m, "Decision"),
        caption=f"MACE meeting {m.ref}",
        lead="The child's CERAR case is updated in the same step: a review, a level change "
             "or a step down.",
        fields=(
            Field("case", "Child", "select", width="input--w20", choices=tuple(
                (c["case_ref"], f"{c['child_ref']} ({c['risk_level'] or 'not assessed'})")
                for c in children)),
            Field("decision", "Decision", "radios", choices=DECISIONS),
            Field("level", "New level of concern", "radios", optional=True,
                  hint="For a level change.",
                  choices=(("low", "Low"), ("medium", "Medium"), ("high", "High"))),
            Field("reason", "Reason or note", "textarea", optional=True, max_length=300,
                  hint="Needed for a level change. No names."),
            Field("step_down_to", "Step down to", "radios", optional=True,
                  hint="For a step down.",
                  choices=(("single_agency", "Single-agency support"),
                           ("early_help", "Early help"))),
            Field("receiving_service", "Receiving service", optional=True, max_length=120,
                  width="input--w20", hint="For a step down."),
        ),
        about={"--level": "level", "level": "level", "--to": "step_down_to",
               "step down": "step_down_to", "decision": "decision"})


@router.get("/mace/{ref}/decide")
def decide_page(ref: str, ctx: SignedInUser) -> Response:
    m = _meeting(ctx, ref)
    return page(ctx, _decide_form(m, _children(ctx, ref)))


@router.post("/mace/{ref}/decide")
async def decide(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        ctx.app.mace.decide(ref, v.get("case", ""), v.get("decision", ""), ctx.login,
                            v.get("level") or None, v.get("reason") or None,
                            v.get("step_down_to") or None, v.get("receiving_service") or None)
        return f"/mace/{ref}?done=decide"

    return await submit(request, ctx,
                        lambda: _decide_form(_meeting(ctx, ref), _children(ctx, ref)), act)


# -- an action ------------------------------------------------------------------------------
def _action_form(m: MeetingView, children: list[dict[str, Any]]) -> Form:
    return Form(
        title="Add an action", action=f"/mace/{m.ref}/actions", submit="Add the action",
        cancel=f"/mace/{m.ref}", breadcrumbs=_crumbs(m, "Action"),
        caption=f"MACE meeting {m.ref}",
        fields=(
            Field("summary", "What is to be done", "textarea", max_length=300,
                  hint="3 to 300 characters. References only, never a child's name."),
            Field("owner", "Owner", max_length=64, width="input--w20",
                  hint="The login of the person who will do it. They get its reminders."),
            Field("agency", "Agency", max_length=80, width="input--w20"),
            Field("due_on", "Due on", "date", hint="For example, 2024-06-19"),
            Field("child", "About child", "select", optional=True,
                  choices=(("", "No one child"), *(
                      (c["case_ref"], c["child_ref"]) for c in children))),
        ),
        about={"summary": "summary", "names a child": "summary", "owner": "owner",
               "user": "owner", "date": "due_on", "agency": "agency"})


@router.get("/mace/{ref}/actions")
def action_page(ref: str, ctx: SignedInUser) -> Response:
    m = _meeting(ctx, ref)
    return page(ctx, _action_form(m, _children(ctx, ref)))


@router.post("/mace/{ref}/actions")
async def add_action(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        if not v.get("agency"):
            raise UsageError("say which agency owns the action")
        due = parse_date(v.get("due_on", ""))
        ctx.app.mace.add_action(ref, v.get("summary", ""), v.get("owner", ""), v["agency"],
                                due, ctx.login, v.get("child") or None)
        return f"/mace/{ref}?done=action"

    return await submit(request, ctx,
                        lambda: _action_form(_meeting(ctx, ref), _children(ctx, ref)), act)


@router.post("/mace/{ref}/actions/{action}/done")
async def action_done(ref: str, action: str, request: Request, ctx: SignedInUser) -> Response:
    assert ctx.session is not None
    await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        try:
            ctx.app.mace.complete_action(ref, action, ctx.login)
        except MeetingNotFoundError:
            raise HTTPException(404) from None
        return deps.redirect(f"/mace/{ref}?done=action_done")

    return await run_in_threadpool(work)


def _action(m: MeetingView, action: str, open_only: bool = False) -> dict[str, Any]:
    """The meeting's action ``action`` (``open_only``: still open); else no such page."""
    found = next((a for a in m.actions if a["ref"] == action
                  and (a["status"] == "open" or not open_only)), None)
    if found is None:
        raise HTTPException(404)
    return found


def _drop_form(m: MeetingView, a: dict[str, Any]) -> Form:
    return Form(
        title=f"Drop action {a['ref']}", action=f"/mace/{m.ref}/actions/{a['ref']}/drop",
        submit="Drop the action", cancel=f"/mace/{m.ref}",
        breadcrumbs=_crumbs(m, f"Drop {a['ref']}"), caption=f"MACE meeting {m.ref}",
        lead=f"{a['ref']}: {a['summary']} ({a['owner']}, {a['agency']}), due "
             f"{words.day_text(dt.date.fromisoformat(a['due_on']))}. Once dropped, its owner "
             "gets no more reminders and it no longer holds up closing the meeting.",
        fields=(Field("reason", "Why is the action no longer needed?", "textarea",
                      max_length=300,
                      hint="3 to 300 characters. For example, the child moved out of the "
                           "area, or another meeting took the action over. References only, "
                           "never a child's name."),),
        about={"reason": "reason"})


@router.get("/mace/{ref}/actions/{action}/drop")
def drop_page(ref: str, action: str, ctx: SignedInUser) -> Response:
    try:
        m, _agenda, case_page = ctx.app.mace.meeting_page(ref, ctx.login)
    except MeetingNotFoundError:
        raise HTTPException(404) from None
    if not any(s.trigger.name == "drop_action" and s.allowed for s in case_page.steps):
        raise HTTPException(404)  # offered to those who may drop, on a meeting that can
    return page(ctx, _drop_form(m, _action(m, action, open_only=True)))


@router.post("/mace/{ref}/actions/{action}/drop")
async def drop_action(ref: str, action: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        ctx.app.mace.drop_action(ref, action, v.get("reason", ""), ctx.login)
        return f"/mace/{ref}?done=action_dropped"

    def again() -> Form:  # the form with the service's message (an action done meanwhile)
        m = _meeting(ctx, ref)
        return _drop_form(m, _action(m, action))

    return await submit(request, ctx, again, act)


# -- a new series ---------------------------------------------------------------------------
USES = (("mace", "MACE meetings"), ("cdop", "Child Death Overview Panel (CDOP) meetings"))


def _series_form(ctx: Ctx) -> Form:
    # A series has a use: MACE (the CERAR coordinator's) or the CDOP panel (the CDOP
    # coordinator's); the user chooses among the uses they coordinate.
    menu = ctx.app.casework.menu(ctx.login)
    uses = tuple((u, label) for u, label in USES if f"series.use.{u}" in menu)
    cdop = any(u == "cdop" for u, _ in uses)
    kinds = {"mace_meeting", "cdop_meeting"} if cdop else {"mace_meeting"}
    areas = tuple(dict.fromkeys(a for c in ctx.app.casework.open_choices(ctx.login)
                                if c.workflow in kinds for a in c.areas))
    use = (Field("use", "The series is for", "radios", choices=uses,
                 hint="The agenda of a CDOP meeting lists the deaths ready for review."),) \
        if len(uses) > 1 else ()
    return Form(
        title="Create a meeting series" if cdop else "Create a MACE series",
        action="/mace/series", submit="Create the series",
        cancel="/mace", breadcrumbs=(*MACE, ("New series", None)),
        lead="Meetings are generated ahead from the rule, and the invitations sent to the "
             "chair and members.",
        fields=(
            *use,
            Field("name", "Series name", max_length=80, width="input--w20",
                  hint="Used in meeting references, e.g. North makes MACE-North-2024-06-05."),
            Field("every", "How often", "radios", choices=(
                ("2w", "Fortnightly"), ("4w", "Every four weeks"),
                ("1m", "Monthly (the same weekday of the month)"))),
            Field("weekday", "Day of the week", "select", width="input--w10", choices=choices(
                [d.lower() for d in WEEKDAYS], str.capitalize)),
            Field("time", "Start time", "time", hint="24-hour, UK time. For example, 10:00"),
            Field("starts_on", "First meeting on or after", "date", optional=True,
                  hint="Leave empty to start from today."),
            Field("duration", "Length in minutes", "number", hint="15 to 480"),
            Field("chair", "Chair", max_length=64, width="input--w20",
                  hint="The chair's login."),
            Field("members", "Members", max_length=1000,
                  hint="Logins separated by commas. For example, amy, bob"),
            Field("location", "Location", optional=True, max_length=120, width="input--w20"),
            Field("on_holiday", "When a meeting falls on a bank holiday", "radios", choices=(
                ("next", "Move it to the next working day"),
                ("previous", "Move it to the working day before"),
                ("skip", "Skip that meeting"))),
            Field("area", "Area", "select", width="input--w20",
                  choices=choices(areas, words.humanise)),
        ),
        about={"frequency": "every", "weekday": "weekday", "working day": "weekday",
               "time": "time", "minutes": "duration", "chair": "chair",
               "member '": "members", "series": "name", "horizon": "name",
               "area": "area", "date": "starts_on", "holiday": "on_holiday"},
        defaults={"every": "2w", "weekday": "wednesday", "time": "10:00", "duration": "120",
                  "on_holiday": "next", "use": uses[0][0] if uses else "mace"})


def _only_use(ctx: Ctx) -> str:
    """The use of a series made by someone who coordinates one use only."""
    menu = ctx.app.casework.menu(ctx.login)
    return next((u for u, _ in USES if f"series.use.{u}" in menu), "mace")


@router.get("/mace/series/new")
def series_page(ctx: SignedInUser) -> Response:
    if "mace.series.create" not in ctx.app.casework.menu(ctx.login):
        raise HTTPException(404)  # the form is offered to those the policy lets create one
    return page(ctx, _series_form(ctx))


@router.post("/mace/series")
async def create_series(request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        if not v.get("duration", "").isdigit():
            raise UsageError("the length is a whole number of minutes, e.g. 120")
        starts_on = parse_date(v["starts_on"]) if v.get("starts_on") else None
        series = ctx.app.mace.create_series(
            v.get("name", ""), v.get("every", ""), v.get("weekday", ""), v.get("time", ""),
            v.get("chair", ""), split_logins(v.get("members", "")), ctx.login, starts_on,
            int(v["duration"]), v.get("location") or None, on_holiday=v.get("on_holiday", ""),
            area=v.get("area") or None, use=v.get("use") or _only_use(ctx))
        return f"/mace?month={series.anchor_on:%Y-%m}&done=series"

    return await submit(request, ctx, lambda: _series_form(ctx), act)
