"""CERAR: the coordinator's register, a child's page, and the forms that record what the
CERAR service keeps (opening a case, a level change, a missing episode with its return, a
return home interview). Each page reads, and each form writes, through the CERAR service as
the signed-in user; the service checks, and audits, every one.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.core.clock import london_date
from engine.domains.cerar.service import ChildView
from web import deps, words
from web.deps import Ctx, SignedInUser
from web.forms import Field, Form, choices, page, submit

router = APIRouter()
LEVELS = (("high", "High"), ("medium", "Medium"), ("low", "Low"), (None, "Not yet assessed"))
LEVEL_TAGS = {"high": "red", "medium": "amber", "low": "green"}
DONE = {"opened": "The child is on the CERAR register.",
        "level": "The level of concern has been changed.",
        "missing": "The missing episode has been recorded: its return home interview is due "
                   "within 72 hours of the return.",
        "rhi": "The return home interview has been recorded."}
REGISTER = ("Home", "/"), ("CERAR register", "/cerar")


@router.get("/cerar")
def register(ctx: SignedInUser) -> Response:
    menu = ctx.app.casework.menu(ctx.login)
    if "read:cerar" not in menu:
        return deps.not_found(ctx)  # no role that reads CERAR cases: no register for them
    rows = ctx.app.cerar.children(ctx.login)
    today = london_date(ctx.app.clock.now())
    groups = [(label, LEVEL_TAGS.get(level or "", "grey"),
               [{"row": r, "review": words.relative_day(
                   dt.date.fromisoformat(r.next_review), today) if r.next_review else None}
                for r in rows if r.risk_level == level])
              for level, label in LEVELS]
    return deps.render(ctx, "cerar_register.html", title="CERAR register", groups=groups,
                       total=len(rows), may_open="open:cerar" in menu)


# -- registering a child --------------------------------------------------------------------
def _open_form(ctx: Ctx) -> Form:
    areas = next((c.areas for c in ctx.app.casework.open_choices(ctx.login)
                  if c.workflow == "cerar"), ())
    if not areas:
        from engine.core.errors import PermissionDeniedError

        raise PermissionDeniedError(ctx.login, "see the CERAR registration form",
                                    "a CERAR coordinator or manager")
    return Form(
        title="Register a child", action="/cerar/new", submit="Register the child",
        cancel="/cerar", breadcrumbs=(*REGISTER, ("Register a child", None)),
        lead="Open a CERAR case for a child whose exploitation concern has been screened.",
        fields=(
            Field("child_ref", "Child reference", hint="Letters, digits and hyphens with at "
                  "least one digit, e.g. C-58213. Never a name.", max_length=32,
                  width="input--w10"),
            Field("concern_received_on", "Concern received on", "date",
                  hint="For example, 2024-06-03"),
            Field("referring_agency", "Referring agency", max_length=80, width="input--w20"),
            Field("area", "Area", "select", width="input--w20",
                  choices=choices(areas, words.humanise)),
            Field("child_name", "Child's name", optional=True, max_length=80,
                  width="input--w20", hint="Personal: shown only to CERAR coordinators and "
                  "managers, never on agendas, invitations or emails."),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="Recorded in the case's timeline. No names."),
        ),
        about={"reference": "child_ref", "child_ref": "child_ref",
               "received": "concern_received_on", "date": "concern_received_on",
               "agency": "referring_agency", "area": "area",
               "already": "child_ref"})


@router.get("/cerar/new")
def open_page(ctx: SignedInUser) -> Response:
    return page(ctx, _open_form(ctx))


@router.post("/cerar/new")
async def open_child(request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        extra = {"child_name": v["child_name"]} if v.get("child_name") else {}
        view = ctx.app.cerar.open(v.get("child_ref", ""), v.get("concern_received_on", ""),
                                  v.get("referring_agency", ""), v.get("area", ""), ctx.login,
                                  None, extra, v.get("note") or None)
        return f"/cerar/{view.case.ref}?done=opened"

    return await submit(request, ctx, lambda: _open_form(ctx), act)


# -- a child's page -------------------------------------------------------------------------
@router.get("/cerar/{ref}")
def child_page(ref: str, ctx: SignedInUser, done: str = "") -> Response:
    child, case_page = ctx.app.cerar.page(ref, ctx.login)
    view = child.case
    now = ctx.app.clock.now()
    calendar = ctx.app.engine.calendar
    rhi = {d.key: d for d in view.deadlines if d.name == "rhi"}
    episodes = []
    for e in child.episodes:
        d = rhi.get(e.episode)
        episodes.append(words.deadline_row(d, now, calendar) | {"e": e} if d else
                        {"e": e, "d": None, "due": None, "tag": None})
    levels = [{"at": e.at, "actor": e.actor, "old": e.changes["risk_level"][0],
               "new": e.changes["risk_level"][1],
               "reason": (e.changes.get("level_change_reason") or [None, None])[1] or e.note,
               "how": e.trigger}
              for e in case_page.events if "risk_level" in e.changes]
    steps = {s.trigger.name for s in case_page.steps if s.allowed and not s.missing}
    other = [s for s in case_page.steps if s.allowed and not s.missing and not s.trigger.via]
    deadlines = [words.deadline_row(d, now, calendar) for d in view.deadlines
                 if d.status in ("open", "breached") and d.met_at is None]
    return deps.render(ctx, "cerar_child.html", title=f"CERAR: {view.data.get('child_ref', ref)}",
                       child=child, view=view, episodes=episodes, levels=levels,
                       steps=steps, other=other, deadlines=deadlines,
                       level_tag=LEVEL_TAGS.get(view.data.get("risk_level") or "", "grey"),
                       banner=DONE.get(done))


def _child(ctx: Ctx, ref: str) -> ChildView:
    return ctx.app.cerar.show(ref, ctx.login)  # 404 when it is not there or not theirs


def _crumbs(ref: str, last: str) -> tuple[tuple[str, str | None], ...]:
    return (*REGISTER, (ref, f"/cerar/{ref}"), (last, None))


# -- changing the level ---------------------------------------------------------------------
def _level_form(ref: str, current: str | None) -> Form:
    return Form(
        title="Change the level of concern", action=f"/cerar/{ref}/level",
        submit="Change the level", cancel=f"/cerar/{ref}", breadcrumbs=_crumbs(ref, "Level"),
        caption=f"CERAR case {ref}, now {current or 'not assessed'}",
        lead="The next review is rescheduled from today at the new level's interval.",
        fields=(
            Field("risk_level", "New level of concern", "radios",
                  choices=(("low", "Low"), ("medium", "Medium"), ("high", "High"))),
            Field("level_change_reason", "Why the level changed", "textarea", max_length=300,
                  hint="No names."),
        ),
        about={"reason": "level_change_reason", "level": "risk_level"})


@router.get("/cerar/{ref}/level")
def level_page(ref: str, ctx: SignedInUser) -> Response:
    child = _child(ctx, ref)
    return page(ctx, _level_form(ref, child.case.data.get("risk_level")))


@router.post("/cerar/{ref}/level")
async def change_level(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        ctx.app.cerar.fire(ref, "change_risk_level", {
            "risk_level": v.get("risk_level", ""),
            "level_change_reason": v.get("level_change_reason", "")}, ctx.login)
        return f"/cerar/{ref}?done=level"

    return await submit(request, ctx, lambda: _level_form(
        ref, _child(ctx, ref).case.data.get("risk_level")), act)


# -- a missing episode and its return -------------------------------------------------------
def _missing_form(ref: str) -> Form:
    return Form(
        title="Record a missing episode", action=f"/cerar/{ref}/missing",
        submit="Record the episode", cancel=f"/cerar/{ref}",
        breadcrumbs=_crumbs(ref, "Missing episode"), caption=f"CERAR case {ref}",
        lead="Record the episode once the child has returned: the return home interview is "
             "due within 72 hours of the return.",
        fields=(
            Field("missing_from", "Went missing at", "datetime",
                  hint="Date and time, UK time. For example, 2024-06-01 22:00"),
            Field("returned_at", "Returned at", "datetime",
                  hint="Date and time, UK time, of the child's return."),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="Recorded in the case's timeline. No names."),
        ),
        about={"future": "returned_at", "return before": "returned_at",
               "--returned": "returned_at", "--from": "missing_from"})


@router.get("/cerar/{ref}/missing")
def missing_page(ref: str, ctx: SignedInUser) -> Response:
    _child(ctx, ref)
    return page(ctx, _missing_form(ref))


@router.post("/cerar/{ref}/missing")
async def record_missing(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        ctx.app.cerar.record_missing(ref, v.get("missing_from", ""), v.get("returned_at", ""),
                                     ctx.login, v.get("note") or None)
        return f"/cerar/{ref}?done=missing"

    return await submit(request, ctx, lambda: _missing_form(ref), act)


# -- the return home interview --------------------------------------------------------------
def _rhi_form(ref: str, episode: str) -> Form:
    return Form(
        title=f"Record the return home interview of {episode}",
        action=f"/cerar/{ref}/rhi/{episode}", submit="Record the interview",
        cancel=f"/cerar/{ref}", breadcrumbs=_crumbs(ref, f"Return home interview {episode}"),
        caption=f"CERAR case {ref}, missing episode {episode}",
        fields=(
            Field("rhi_outcome", "Outcome", "radios",
                  choices=(("held", "Held"), ("declined", "Declined by the child"))),
            Field("rhi_at", "When it was held or declined", "datetime",
                  hint="Date and time, UK time."),
            Field("reason", "Reason", "textarea", optional=True, max_length=300,
                  hint="Needed when the child declined. No names."),
        ),
        about={"reason": "reason", "date": "rhi_at", "already": "rhi_outcome",
               "outcome": "rhi_outcome"})


@router.get("/cerar/{ref}/rhi/{episode}")
def rhi_page(ref: str, episode: str, ctx: SignedInUser) -> Response:
    _episode(_child(ctx, ref), episode)
    return page(ctx, _rhi_form(ref, episode))


def _episode(child: ChildView, episode: str) -> None:
    from starlette.exceptions import HTTPException

    if episode not in {e.episode for e in child.episodes}:
        raise HTTPException(404)


@router.post("/cerar/{ref}/rhi/{episode}")
async def record_rhi(ref: str, episode: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        ctx.app.cerar.record_rhi(ref, episode, v.get("rhi_outcome", ""), v.get("rhi_at", ""),
                                 ctx.login, v.get("reason") or None)
        return f"/cerar/{ref}?done=rhi"

    return await submit(request, ctx, lambda: _rhi_form(ref, episode), act)
