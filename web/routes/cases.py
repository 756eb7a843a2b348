"""Cases: the list, a case's page, a step's form and opening a case.

Each page reads or writes through one service call as the signed-in user; a refusal is the
service's (and audited there). A step's form carries the case version it was read at: if
someone changed the case meanwhile, nothing is written and the user sees who and when.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from engine.core import wording
from engine.core.casework import OpenChoice, StepForm
from engine.core.clock import LONDON
from engine.core.errors import (
    ConcurrencyError,
    DuplicateCaseError,
    FieldError,
    GuardFailedError,
    TransitionNotAllowedError,
    UsageError,
)
from web import deps, words
from web.deps import Ctx, SignedInUser
from web.routes import cdop

router = APIRouter()
PAGE_SIZE = 50
# Workflows whose cases are opened by their own pages (CERAR children, MACE meetings).
# An action plan item's status as a tag: text beside colour, one palette with the deadlines.
PLAN_TAGS = {"open": ("Open", "blue"), "overdue": ("Overdue", "red"), "done": ("Done", "green"),
             "dropped": ("Dropped", "grey")}
OPENED_ELSEWHERE = {"cerar": "the CERAR register", "mace_meeting": "a MACE series",
                    "cdop_meeting": "a CDOP meeting series"}


@router.get("/cases")
def case_list(ctx: SignedInUser, workflow: str = "", state: str = "",
              overdue: str = "", ref: str = "", page: int = 1) -> Response:
    ref = ref.strip()
    if ref:
        return deps.redirect(f"/cases/{ref}")
    summaries = ctx.app.engine.cases(ctx.login, workflow or None, state or None,
                                     overdue == "yes", command="web cases")
    page = max(1, page)
    pages = max(1, (len(summaries) + PAGE_SIZE - 1) // PAGE_SIZE)
    shown = summaries[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    registry = ctx.app.engine.registry
    states = sorted({s for d in registry if not workflow or d.name == workflow
                     for s in d.states}) if workflow in [*registry.names(), ""] else []
    return deps.render(ctx, "cases.html", title="Cases", cases=shown, page=page, pages=pages,
                       total=len(summaries), workflows=registry.names(), states=states,
                       workflow=workflow, state=state, overdue=overdue == "yes")


@router.get("/cases/new")
def open_choices(ctx: SignedInUser) -> Response:
    choices = [c for c in ctx.app.casework.open_choices(ctx.login)
               if c.workflow not in OPENED_ELSEWHERE]
    return deps.render(ctx, "open_choices.html", title="Open a case", choices=choices)


@router.get("/cases/new/{workflow}")
def open_form(workflow: str, ctx: SignedInUser) -> Response:
    choice = _choice(ctx, workflow)
    return deps.render(ctx, "open_form.html", title=f"Open a case: {choice.title}",
                       choice=choice, values={}, errors={})


def _choice(ctx: Ctx, workflow: str) -> OpenChoice:
    if workflow in OPENED_ELSEWHERE:
        raise UsageError(f"{workflow} cases are opened from {OPENED_ELSEWHERE[workflow]}")
    return ctx.app.casework.open_choice(ctx.login, workflow)


@router.post("/cases/new/{workflow}")
async def open_case(request: Request, workflow: str, ctx: SignedInUser,
                    ) -> Response:
    assert ctx.session is not None
    values = await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        choice = _choice(ctx, workflow)
        ref, area = values.pop("ref", "").strip(), values.pop("area", "") or None
        note = values.pop("note", "").strip() or None
        fields = {k: v.strip() for k, v in values.items() if v.strip()}
        try:
            ctx.app.engine.open_case(workflow, ref, fields, ctx.login, note,
                                     command="web open", area=area)
        except (UsageError, DuplicateCaseError) as exc:
            key = exc.field if isinstance(exc, FieldError) else "ref"
            return deps.render(ctx, "open_form.html", deps.status_for(exc),
                               title=f"Open a case: {choice.title}",
                               choice=choice, values={**values, "ref": ref, "area": area or "",
                                                      "note": note or "", **fields},
                               errors={key: str(exc)})
        return deps.redirect(f"/cases/{ref}?opened=1")

    return await run_in_threadpool(work)


@router.get("/cases/{ref:path}/steps/{trigger}")
def step_form(ref: str, trigger: str, ctx: SignedInUser) -> Response:
    form = ctx.app.casework.step(ref, trigger, ctx.login)
    return _step_page(ctx, form, {}, {}, None)


def _step_page(ctx: Ctx, form: StepForm, values: dict[str, str], errors: dict[str, str],
               conflict: str | None, status: int = 200) -> Response:
    view, transition = form.view, form.transition
    return deps.render(ctx, "step.html", status,
                       title=f"{words.humanise(transition.trigger)}: {view.ref}", form=form,
                       view=view, transition=transition, values=values, errors=errors,
                       conflict=conflict)


@router.post("/cases/{ref:path}/steps/{trigger}")
async def fire(request: Request, ref: str, trigger: str) -> Response:
    raw = await deps.posted(request)

    def work() -> Response:
        # Off the event loop (the service may wait for a lock), in one hop to the thread
        # pool: the session check, the CSRF token, the fire.
        ctx = deps.user(request)
        assert ctx.session is not None
        values = deps.checked(raw, ctx.session.csrf)
        raw_version = values.pop("version", "")
        note = values.pop("note", "").strip() or None
        fields = {k: v.strip() for k, v in values.items() if v.strip()}
        if not raw_version.isdigit():
            raise UsageError("the form did not say which version of the case it was read at")
        try:
            ctx.app.engine.fire(ref, trigger, fields, ctx.login, note,
                                expected_version=int(raw_version), command=f"web {trigger}")
        except ConcurrencyError:
            form = ctx.app.casework.step(ref, trigger, ctx.login)
            who = form.last_actor or "someone"
            at = f"{form.last_at.astimezone(LONDON):%H:%M}" if form.last_at else "?"
            return _step_page(ctx, form, {**values, "note": note or ""}, {},
                              f"This case was changed by {who} at {at} while you were working. "
                              "Nothing was saved: check the case as it is now and submit again.",
                              409)
        except (UsageError, GuardFailedError, TransitionNotAllowedError) as exc:
            form = ctx.app.casework.step(ref, trigger, ctx.login)
            key = exc.field if isinstance(exc, FieldError) else "form"
            return _step_page(ctx, form, {**values, "note": note or ""}, {key: str(exc)}, None,
                              deps.status_for(exc))
        return deps.redirect(f"/cases/{ref}?done={trigger}")

    return await run_in_threadpool(work)


@router.get("/cases/{ref:path}")
def case_page(ref: str, request: Request, done: str = "", opened: int = 0) -> Response:
    # A plain function, so it runs in the thread pool (its audit record may wait for a
    # lock); the session is checked here rather than by a dependency: one hop, not two.
    ctx = deps.user(request)
    page = ctx.app.casework.page(ref, ctx.login)
    now = ctx.app.clock.now()
    calendar = ctx.app.engine.calendar
    definition = page.definition
    clocks = definition.clocks if definition is not None else {}
    deadlines = [{"d": d, "due": words.due_text(d.due_at, d.due_day, now, calendar)
                  if d.status in ("open", "breached") else words.day_text(
                      d.due_day) if d.due_day else words.when_text(d.due_at),
                  "tag": words.STATUS_TAGS.get(d.status, (d.status, "grey")),
                  "name": words.sentence(clocks[d.name].title) if d.name in clocks
                  else words.humanise(d.name),
                  "rule": wording.rule_words(definition, clocks.get(d.name), d.rule)
                  if definition is not None else d.rule}
                 for d in page.view.deadlines]
    details = [(words.field_label(page.fields.get(key), key), value if value == "[restricted]"
                else words.field_value(page.fields.get(key), value))
               for key, value in page.view.data.items()]
    plan = [{"item": item, "due": words.day_text(item.due) if item.due else "",
             "tag": PLAN_TAGS.get(item.status, (words.humanise(item.status), "grey"))}
            for item in page.view.plan]
    banner = (f"Done: {words.humanise(done)}." if done else
              "The case has been opened." if opened else None)
    # A domain's steps lead to its own forms (the CDOP's, for a child death).
    step_links: dict[str, tuple[str, str]] = {}
    unavailable: dict[str, str] = {}
    if page.view.workflow == cdop.WORKFLOW:
        step_links = cdop.step_links(page.view.ref)
        unavailable = cdop.unavailable(page.view.deadlines)
        details = cdop.details([(key, label, str(page.view.data[key]), shown) for key, (
            label, shown) in zip(page.view.data, details, strict=True)], page.area)
        banner = cdop.DONE.get(done, banner)
    return deps.render(ctx, "case.html", title=f"Case {page.view.ref}", page=page,
                       view=page.view, deadlines=deadlines, details=details, plan=plan,
                       banner=banner, task_count=page.task_count, step_links=step_links,
                       unavailable=unavailable,
                       may_link=cdop.may_link(ctx, page),
                       opened_elsewhere=OPENED_ELSEWHERE)
