"""The business plan (the annual report's Appendix C): the plan grouped by priority and
outcome with each action's RAG as a coloured tag and its word, the user's own actions first,
an action's page with its RAG history and the update form, and the import of a plan file.
Each page reads, and each form writes, through the plan service as the signed-in user; the
service decides who may see and update an action, and audits it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.core.clock import london_date
from engine.domains.plan.rag import MEANING, Rating
from engine.domains.plan.service import ActionView
from web import deps
from web.deps import Ctx, SignedInUser
from web.forms import Field, Form, page, submit, submit_upload

router = APIRouter()
PLAN = ("Home", "/"), ("Business plan", "/plan")
# The update form's choices: the rating's word and what it means, in the order people rate.
RAG_CHOICES = tuple((rag, f"{rag.title()}: {MEANING[rag]}")
                    for rag in ("green", "amber", "red", "blue"))


@dataclass(frozen=True)
class Tag:
    """A RAG as the pages show it: the coloured tag with its word, and the words under it."""

    colour: str
    word: str
    detail: str
    by_rule: bool


def rag_tag(rating: Rating) -> Tag:
    colour = rating.rag or "grey"
    if rating.rag is None:
        return Tag(colour, rating.text, "", False)
    inner = rating.text[rating.text.find("(") + 1:].rstrip(")")
    return Tag(colour, rating.word, inner, rating.by_rule)


@dataclass
class Outcome:
    text: str
    actions: list[ActionView] = field(default_factory=list)


@dataclass
class Priority:
    text: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(o.actions) for o in self.outcomes)


def appendix_c(actions: list[ActionView]) -> list[Priority]:
    """Priorities, then outcomes, in the order the plan first names them (the plan's refs)."""
    priorities: dict[str, Priority] = {}
    for action in actions:
        priority = priorities.setdefault(action.priority, Priority(action.priority))
        outcome = next((o for o in priority.outcomes if o.text == action.outcome), None)
        if outcome is None:
            outcome = Outcome(action.outcome)
            priority.outcomes.append(outcome)
        outcome.actions.append(action)
    return list(priorities.values())


def _count(query: Mapping[str, str], name: str) -> int:
    value = query.get(name, "")
    return int(value) if value.isdigit() and len(value) < 6 else 0


def _imported_banner(query: Mapping[str, str]) -> str:
    added, unchanged = _count(query, "added"), _count(query, "unchanged")
    text = f"The plan has been imported: {added} action{'s' if added != 1 else ''} added"
    if unchanged:
        text += f", {unchanged} already in the plan and unchanged"
    return text + "."


@router.get("/plan")
def plan_page(request: Request, ctx: SignedInUser, show: str = "all",
              done: str = "") -> Response:
    menu = ctx.app.casework.menu(ctx.login)
    if "plan.show" not in menu:
        return deps.not_found(ctx)  # no role that reads the plan: no plan for them
    actions = ctx.app.plan.actions(ctx.login)
    mine = [a for a in actions if a.owner == ctx.login]
    listed = mine if show == "mine" else actions
    banner = _imported_banner(request.query_params) if done == "import" else None
    today = london_date(ctx.app.clock.now())
    red_by_rule = sum(1 for a in actions if a.rating.by_rule)
    return deps.render(ctx, "plan.html", title="Business plan", actions=actions, mine=mine,
                       show="mine" if show == "mine" else "all",
                       priorities=appendix_c(listed), tag=rag_tag, today=today,
                       red_by_rule=red_by_rule, banner=banner,
                       may_import="open:business_plan_action" in menu,
                       may_figures="figures.list" in menu)


# -- importing the plan (before /plan/{ref}, which would take "import" for a ref) -----
def _import_form() -> Form:
    return Form(
        title="Import the business plan", action="/plan/import", submit="Import the plan",
        cancel="/plan", breadcrumbs=(*PLAN, ("Import", None)), upload=True,
        lead="A CSV file with the columns ref, priority, outcome, action, timescale, "
             "responsible and owner (one action a row), or the plan as YAML. Every row is "
             "checked first: if one is wrong, nothing is imported. Importing the same plan "
             "again changes nothing.",
        fields=(
            Field("file", "Plan file", "file", accept=".csv,.yaml,.yml",
                  hint="A .csv or .yaml file. A timescale is a day (2024-03-31) or a month "
                       "(2024-03: its last day); an owner is a user's sign-in name."),
            Field("plan_from", "The plan starts on", "date", optional=True,
                  hint="The quarterly updates fall due 13 weeks on. Leave empty for today."),
        ),
        # A row's problem is the file's; a bad start day is the day's.
        about={"row ": "file", "priorities": "file", "is not a date": "plan_from",
               "plan started": "plan_from"})


@router.get("/plan/import")
def import_page(ctx: SignedInUser) -> Response:
    if "open:business_plan_action" not in ctx.app.casework.menu(ctx.login):
        return deps.not_found(ctx)
    return page(ctx, _import_form())


@router.post("/plan/import")
async def import_plan(request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str], name: str, text: str) -> str:
        result = ctx.app.plan.import_plan(name, text, ctx.login, v.get("plan_from") or None)
        return (f"/plan?done=import&added={len(result.added)}"
                f"&unchanged={len(result.unchanged)}")

    return await submit_upload(request, ctx, _import_form, act)


# -- an action, its history and the update form -----------------------------------------
def _update_form(ref: str, today: dt.date) -> Form:
    return Form(
        title="Record an update", action=f"/plan/{ref}", submit="Record the update",
        cancel="/plan", breadcrumbs=(*PLAN, (ref, None)),
        fields=(
            Field("rag", "RAG rating", "radios", choices=RAG_CHOICES,
                  hint="Blue completes the action."),
            Field("update_note", "What has happened since the last update", "textarea",
                  max_length=2000, hint="This is the update the annual report shows. No "
                  "names of children."),
            Field("updated_on", "Updated on", "date",
                  hint="The day of the update: today or earlier. For example, "
                       f"{today.isoformat()}"),
        ),
        about={"rag": "rag", "rating": "rag", "note": "update_note",
               "update's day": "updated_on", "date": "updated_on"},
        defaults={"updated_on": today.isoformat()})


def _action_page(ctx: Ctx, ref: str, form: Form | None = None,
                 values: Mapping[str, str] | None = None,
                 errors: Mapping[str, str] | None = None, status: int = 200,
                 banner: str | None = None) -> Response:
    action = ctx.app.plan.actions(ctx.login, ref)[0]  # 404 when not there or not theirs
    today = london_date(ctx.app.clock.now())
    form = form or _update_form(action.ref, today)
    return deps.render(ctx, "plan_action.html", status, title=f"Action {action.ref}",
                       action=action, tag=rag_tag(action.rating), form=form,
                       values=dict(form.defaults) if values is None else dict(values),
                       errors=dict(errors or {}), banner=banner,
                       breadcrumbs=[*PLAN, (action.ref, None)])


@router.get("/plan/{ref}")
def action_page(ref: str, ctx: SignedInUser, done: str = "") -> Response:
    return _action_page(ctx, ref, banner="The update has been recorded."
                        if done == "update" else None)


@router.post("/plan/{ref}")
async def record_update(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        view = ctx.app.plan.update(ref, v.get("rag", ""), v.get("update_note", ""),
                                   ctx.login, v.get("updated_on") or None)
        return f"/plan/{view.ref}?done=update"

    today = london_date(ctx.app.clock.now())
    return await submit(request, ctx, lambda: _update_form(ref, today), act,
                        lambda c, f, v, e, s: _action_page(c, ref, f, v, e, s))
