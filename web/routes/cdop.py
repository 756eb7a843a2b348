"""Child death reviews: the CDOP register (the deaths the user may see) and a form for every
``cdop`` command: the death known and its notification, an agency's reporting form asked and
received (one deadline per agency), the child death review meeting, the CDOP review, the
NCMD form, closing, and the link with a practice review. The death itself is shown on its
case page, whose buttons lead here. Every page reads, and every form writes, through the
CDOP service as the signed-in user (one call, so one audit record, per form).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from engine.core.casework import CasePage
from engine.core.clock import LONDON, london_date, parse_instant
from engine.core.errors import FieldError
from engine.core.views import DeadlineView
from engine.domains.cdop.words import (
    ABUSE_OR_NEGLECT,
    AGE_BANDS,
    CATEGORIES,
    DOMAINS,
    JAR_REASONS,
    SEX,
    category_label,
)
from web import deps, words
from web.deps import Ctx, SignedInUser
from web.forms import Field, Form, page, submit

router = APIRouter()
WORKFLOW = "child_death_review"
REGISTER = ("Home", "/"), ("Child deaths", "/cdop")
YES_NO = (("yes", "Yes"), ("no", "No"))
ABUSE = ("suspected", "known")
# The workflow's steps and the form that records each (the case page links to them).
FORMS = {"notify": "notify", "request_information": "request",
         "receive_information": "received", "hold_cdr_meeting": "meeting", "review": "review",
         "record_ncmd": "ncmd", "close": "close", "close_without_review": "close"}
LABELS = {"notify": "Record the notification", "request_information": "Ask an agency for its form",
          "receive_information": "Record a form received",
          "hold_cdr_meeting": "Record the child death review meeting",
          "review": "Record the CDOP review", "record_ncmd": "Record the NCMD form sent",
          "close": "Close the case", "close_without_review": "Close without a review"}
DONE = {"notify": "The notification has been recorded.",
        "request": "The agency has been asked: its reporting form has its own deadline.",
        "received": "The agency's reporting form has been recorded as received.",
        "meeting": "The child death review meeting has been recorded: the death is ready "
                   "for the CDOP.",
        "review": "The CDOP review has been recorded: the NCMD analysis form is now due.",
        "ncmd": "The analysis form sent to the NCMD has been recorded.",
        "close": "The case has been closed.",
        "link": "The death has been linked to the practice review."}
STAGE_TAGS = {"awaiting_notification": "red", "gathering_information": "blue",
              "awaiting_cdop": "amber", "reviewed": "green", "closed": "grey"}


# Choices shown in the words the NCMD and the seed report use; the per-request fields live in
# the deadlines table (one row per agency), not in the details.
CHOICE_WORDS = {"age_band": AGE_BANDS, "sex": SEX, "jar_reason": JAR_REASONS,
                "abuse_or_neglect": ABUSE_OR_NEGLECT, "modifiable_domains": DOMAINS,
                "category": {code: category_label(code) for code in CATEGORIES}}
PER_REQUEST = ("request_agency", "requested_on", "received_on")


def details(rows: list[tuple[str, str, str, str]],
            area: tuple[str, str] | None) -> list[tuple[str, str]]:
    """A death's details for the case page: (field, label, value, value as shown) ->
    (label, value) in the CDOP's words, the area by its name (``area``: the case page's own
    code and name, read in its unit)."""
    out = []
    for field, label, raw, shown in rows:
        if field in PER_REQUEST:
            continue
        words_for = CHOICE_WORDS.get(field)
        if raw == "[restricted]":
            pass
        elif field == "area":
            shown = area[1] if area is not None and raw == area[0] else shown
        elif words_for is not None:
            shown = ", ".join(words_for.get(v, v) for v in raw.split(","))
        out.append((label, shown))
    return out


def unavailable(deadlines: Iterable[DeadlineView]) -> dict[str, str]:
    """For the case page: CDOP steps the workflow allows in this state but the death's
    deadlines rule out, with what they need (a form is recorded received only while one is
    awaited)."""
    if any(d.name == "information" and d.status in ("open", "breached") for d in deadlines):
        return {}
    return {"receive_information": "an agency's reporting form asked for and not yet "
                                   "received"}


def step_links(ref: str) -> dict[str, tuple[str, str]]:
    """For the case page: each CDOP step's form and button label."""
    return {t: (f"/cdop/{ref}/{form}", LABELS[t]) for t, form in FORMS.items()}


# -- the register ---------------------------------------------------------------------------
@router.get("/cdop")
def register(ctx: SignedInUser, stage: str = "", area: str = "", done: str = "") -> Response:
    menu = ctx.app.casework.menu(ctx.login)
    if f"read:{WORKFLOW}" not in menu:
        return deps.not_found(ctx)  # no role that reads child deaths: no register for them
    definition = ctx.app.engine.registry.get(WORKFLOW)
    stages = list(definition.states)
    stage = stage if stage in stages else ""
    rows = ctx.app.cdop.deaths(ctx.login, include_closed=stage == "closed",
                               state=stage or None)
    areas = sorted({(r.area or "", r.area_name or "") for r in rows}, key=lambda a: a[1])
    shown = [r for r in rows if not area or r.area == area]
    notified = {r.ref: words.when_text(parse_instant(r.notified_at)) for r in shown
                if r.notified_at}
    return deps.render(ctx, "cdop_register.html", title="Child deaths", rows=shown,
                       notified=notified,
                       stages=stages, stage=stage, areas=areas, area=area,
                       bands=AGE_BANDS, tags=STAGE_TAGS, banner=DONE.get(done),
                       may_open=f"open:{WORKFLOW}" in menu)


# -- a death becomes known ------------------------------------------------------------------
def _open_form(ctx: Ctx) -> Form:
    areas = next((c.areas for c in ctx.app.casework.open_choices(ctx.login)
                  if c.workflow == WORKFLOW), ())
    if not areas:
        raise HTTPException(404)  # offered to those who may open a death
    names = dict(ctx.app.cdop.area_names())
    return Form(
        title="Notify a death", action="/cdop/new", submit="Continue", cancel="/cdop",
        breadcrumbs=(*REGISTER, ("Notify a death", None)),
        lead="A child's death has become known: open its review. The notification is due "
             "within 24 hours of the time it became known; you record it next.",
        fields=(
            Field("child_ref", "Child reference", hint="Letters, digits and hyphens with at "
                  "least one digit, e.g. C-58213. Never a name.", max_length=32,
                  width="input--w10"),
            Field("area", "Area", "select", width="input--w20",
                  hint="Where the child normally lived.",
                  choices=tuple((a, names.get(a, words.humanise(a))) for a in areas)),
            Field("death_known_at", "When the death became known", "datetime", optional=True,
                  hint="Date and time, UK time. Leave empty for now."),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="Recorded in the case's timeline. No names."),
        ),
        about={"reference": "child_ref", "already": "child_ref", "area": "area",
               "date": "death_known_at"})


@router.get("/cdop/new")
def open_page(ctx: SignedInUser) -> Response:
    return page(ctx, _open_form(ctx))


@router.post("/cdop/new")
async def open_death(request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        view = ctx.app.cdop.open(v.get("child_ref", ""), v.get("area", ""),
                                 v.get("death_known_at") or None, ctx.login,
                                 note=v.get("note") or None)
        return f"/cdop/{view.ref}/notify"

    return await submit(request, ctx, lambda: _open_form(ctx), act)


# -- the steps of a death -------------------------------------------------------------------
def _allowed(ctx: Ctx, ref: str, *triggers: str) -> CasePage:
    """The death's page, if ``ref`` is a death this user may take one of ``triggers`` on
    now; otherwise the not-found page, alike for a missing case and a forbidden one."""
    case_page = ctx.app.casework.page(ref, ctx.login)
    if case_page.view.workflow != WORKFLOW:
        raise HTTPException(404)
    may = {s.trigger.name for s in case_page.steps if s.allowed and not s.missing}
    if not may.intersection(triggers):
        raise HTTPException(404)
    return case_page


def _crumbs(ref: str, last: str) -> tuple[tuple[str, str | None], ...]:
    return (*REGISTER, (ref, f"/cases/{ref}"), (last, None))


def _today(ctx: Ctx) -> str:
    return london_date(ctx.app.clock.now()).isoformat()


def _choices(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(labels.items())


def _yes_no(v: dict[str, str], name: str, question: str) -> bool:
    if v.get(name) not in ("yes", "no"):
        raise FieldError(name, f"say {question}")
    return v[name] == "yes"


def _notify_form(ctx: Ctx, ref: str) -> Form:
    _allowed(ctx, ref, "notify")
    now = ctx.app.clock.now().astimezone(LONDON)
    return Form(
        title="Record the notification of a death", action=f"/cdop/{ref}/notify",
        submit="Record the notification", cancel=f"/cases/{ref}",
        breadcrumbs=_crumbs(ref, "Notification"), caption=f"Child death review {ref}",
        lead="The facts of the notification form. References only: never a name.",
        fields=(
            Field("died_on", "Date of death", "date", hint="For example, 2024-06-02"),
            Field("age_band", "Age at death", "radios", choices=_choices(AGE_BANDS)),
            Field("sex", "Sex", "radios", choices=_choices(SEX)),
            Field("expected", "Was the death expected?", "radios", choices=YES_NO),
            Field("jar_needed", "Does the death need a joint agency response?", "radios",
                  choices=YES_NO, hint="Police, health and social care responding together."),
            Field("jar_reason", "Reason for a joint agency response", "radios", optional=True,
                  hint="Only when a joint agency response is needed.",
                  choices=_choices(JAR_REASONS)),
            Field("abuse_or_neglect", "Abuse or neglect", "radios", optional=True,
                  hint="When known or suspected, a practice review is linked to the death.",
                  choices=_choices(ABUSE_OR_NEGLECT)),
            Field("notified_at", "Notified at", "datetime",
                  hint="Date and time, UK time, the notification was received."),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="Recorded in the case's timeline. No names."),
        ),
        about={"date of death": "died_on", "age": "age_band", "sex": "sex",
               "notified": "notified_at"},
        defaults={"notified_at": f"{now:%Y-%m-%dT%H:%M}"})


@router.get("/cdop/{ref}/notify")
def notify_page(ref: str, ctx: SignedInUser) -> Response:
    return page(ctx, _notify_form(ctx, ref))


@router.post("/cdop/{ref}/notify")
async def notify(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        expected = _yes_no(v, "expected", "whether the death was expected")
        jar = _yes_no(v, "jar_needed", "whether the death needs a joint agency response")
        ctx.app.cdop.notify(ref, v.get("died_on", ""), v.get("age_band", ""),
                            v.get("sex", ""), expected, jar, ctx.login,
                            v.get("jar_reason") or None, v.get("abuse_or_neglect") or None,
                            v.get("notified_at") or None, v.get("note") or None)
        return f"/cases/{ref}?done=notify"

    return await submit(request, ctx, lambda: _notify_form(ctx, ref), act)


def _request_form(ctx: Ctx, ref: str) -> Form:
    case_page = _allowed(ctx, ref, "request_information")
    asked = [d.key for d in case_page.view.deadlines if d.name == "information" and d.key]
    return Form(
        title="Ask an agency for its reporting form", action=f"/cdop/{ref}/request",
        submit="Record the request", cancel=f"/cases/{ref}",
        breadcrumbs=_crumbs(ref, "Request"), caption=f"Child death review {ref}",
        lead="Each agency is asked once and has its own deadline. "
             + (f"Already asked: {', '.join(asked)}." if asked else "No agency asked yet."),
        fields=(
            Field("request_agency", "Agency", max_length=60, width="input--w20",
                  hint="For example, Police, GP, School"),
            Field("requested_on", "Asked on", "date"),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="No names."),
        ),
        about={"agency": "request_agency", "date": "requested_on"},
        defaults={"requested_on": _today(ctx)})


@router.get("/cdop/{ref}/request")
def request_page(ref: str, ctx: SignedInUser) -> Response:
    return page(ctx, _request_form(ctx, ref))


@router.post("/cdop/{ref}/request")
async def request_form(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        if not v.get("request_agency"):
            raise FieldError("request_agency", "say which agency was asked")
        ctx.app.cdop.request(ref, v["request_agency"], ctx.login,
                             v.get("requested_on") or None, v.get("note") or None)
        return f"/cases/{ref}?done=request"

    return await submit(request, ctx, lambda: _request_form(ctx, ref), act)


def _received_form(ctx: Ctx, ref: str) -> Form:
    case_page = _allowed(ctx, ref, "receive_information")
    awaited = [d.key for d in case_page.view.deadlines
               if d.name == "information" and d.key and d.status in ("open", "breached")
               and d.met_at is None]
    return Form(
        title="Record a reporting form received", action=f"/cdop/{ref}/received",
        submit="Record the form", cancel=f"/cases/{ref}",
        breadcrumbs=_crumbs(ref, "Form received"), caption=f"Child death review {ref}",
        lead="" if awaited else "No reporting form is awaited: ask an agency first.",
        fields=(
            Field("request_agency", "Agency", "radios",
                  choices=tuple((a, a) for a in awaited)),
            Field("received_on", "Received on", "date"),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="No names."),
        ),
        about={"agency": "request_agency", "awaited": "request_agency",
               "date": "received_on"},
        defaults={"received_on": _today(ctx)})


@router.get("/cdop/{ref}/received")
def received_page(ref: str, ctx: SignedInUser) -> Response:
    return page(ctx, _received_form(ctx, ref))


@router.post("/cdop/{ref}/received")
async def received(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        if not v.get("request_agency"):
            raise FieldError("request_agency", "choose the agency whose form arrived")
        ctx.app.cdop.received(ref, v["request_agency"], ctx.login,
                              v.get("received_on") or None, v.get("note") or None)
        return f"/cases/{ref}?done=received"

    return await submit(request, ctx, lambda: _received_form(ctx, ref), act)


@dataclass(frozen=True)
class DayStep:
    """A step that records one day (and, if ``note``, a note): its form and its routes are
    made from this row."""

    trigger: str
    field: str
    title: str
    label: str
    lead: str
    note: bool = True

    def form(self, ctx: Ctx, ref: str) -> Form:
        _allowed(ctx, ref, self.trigger)
        return Form(
            title=self.title, action=f"/cdop/{ref}/{FORMS[self.trigger]}",
            submit=LABELS[self.trigger], cancel=f"/cases/{ref}",
            breadcrumbs=_crumbs(ref, self.title), caption=f"Child death review {ref}",
            lead=self.lead,
            fields=(Field(self.field, self.label, "date"),
                    *((Field("note", "Note", "textarea", optional=True, max_length=2000,
                             hint="No names."),) if self.note else ())),
            about={"date": self.field}, defaults={self.field: _today(ctx)})


DAY_STEPS = (
    DayStep("hold_cdr_meeting", "cdr_meeting_on", "Record the child death review meeting",
            "Held on", "The meeting of the professionals involved with the child. The death is "
            "then ready for the CDOP."),
    DayStep("record_ncmd", "ncmd_submitted_on", "Record the analysis form sent to the NCMD",
            "Sent on", "The CDOP analysis form sent to the National Child Mortality Database. "
            "The case may then be closed.", note=False),
)


def _day_routes(step: DayStep) -> None:
    verb = FORMS[step.trigger]

    def form_page(ref: str, ctx: SignedInUser) -> Response:
        return page(ctx, step.form(ctx, ref))

    async def record(ref: str, request: Request, ctx: SignedInUser) -> Response:
        def act(v: dict[str, str]) -> str:
            ctx.app.cdop.step(ref, step.trigger, {step.field: v.get(step.field) or _today(ctx)},
                              ctx.login, (v.get("note") or None) if step.note else None)
            return f"/cases/{ref}?done={verb}"

        return await submit(request, ctx, lambda: step.form(ctx, ref), act)

    router.add_api_route(f"/cdop/{{ref}}/{verb}", form_page, methods=["GET"])
    router.add_api_route(f"/cdop/{{ref}}/{verb}", record, methods=["POST"])


for _step in DAY_STEPS:
    _day_routes(_step)


def _review_form(ctx: Ctx, ref: str) -> Form:
    _allowed(ctx, ref, "review")
    return Form(
        title="Record the CDOP review", action=f"/cdop/{ref}/review",
        submit="Record the review", cancel=f"/cases/{ref}",
        breadcrumbs=_crumbs(ref, "CDOP review"), caption=f"Child death review {ref}",
        lead="The panel's category of the death, whether there were modifiable factors and "
             "in which domains, and what it learned.",
        fields=(
            Field("category", "Category of death", "radios", choices=tuple(
                (str(n), f"{n}. {label}") for n, label in CATEGORIES.values())),
            Field("modifiable_factors", "Were there modifiable factors?", "radios",
                  choices=YES_NO),
            Field("modifiable_domains", "Domains of the modifiable factors", "checkboxes",
                  optional=True, hint="Only when there were modifiable factors: select all "
                  "that apply.", choices=_choices(DOMAINS)),
            Field("learning_points", "Learning points", "textarea", optional=True,
                  max_length=2000, hint="What the panel learned. No names."),
            Field("cdop_reviewed_on", "Reviewed on", "date"),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="Recorded in the case's timeline. No names."),
        ),
        about={"category": "category", "domain": "modifiable_domains",
               "date": "cdop_reviewed_on"},
        defaults={"cdop_reviewed_on": _today(ctx)})


@router.get("/cdop/{ref}/review")
def review_page(ref: str, ctx: SignedInUser) -> Response:
    return page(ctx, _review_form(ctx, ref))


@router.post("/cdop/{ref}/review")
async def review(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        if not v.get("category"):
            raise FieldError("category", "choose the category of death")
        modifiable = _yes_no(v, "modifiable_factors", "whether there were modifiable factors")
        domains = [d for d in DOMAINS if v.get(f"modifiable_domains-{d}") == d]
        ctx.app.cdop.review(ref, v["category"], modifiable, domains, ctx.login,
                            v.get("learning_points") or None,
                            v.get("cdop_reviewed_on") or None, v.get("note") or None)
        return f"/cases/{ref}?done=review"

    return await submit(request, ctx, lambda: _review_form(ctx, ref), act)


def _close_form(ctx: Ctx, ref: str) -> Form:
    case_page = _allowed(ctx, ref, "close", "close_without_review")
    reviewed = case_page.view.state == "reviewed"
    reason = () if reviewed else (Field(
        "close_reason", "Why the death is not reviewed here", "textarea", max_length=300,
        hint="For example, the child was not normally resident in the area. No names."),)
    return Form(
        title="Close the case" if reviewed else "Close without a review",
        action=f"/cdop/{ref}/close", submit="Close the case", cancel=f"/cases/{ref}",
        breadcrumbs=_crumbs(ref, "Close"), caption=f"Child death review {ref}",
        lead="The review is complete and the NCMD has the analysis form." if reviewed else
             "A death not reviewed by this partnership's CDOP closes with its reason.",
        fields=(Field("closed_on", "Closed on", "date"), *reason),
        about={"reason": "close_reason", "date": "closed_on"},
        defaults={"closed_on": _today(ctx)})


@router.get("/cdop/{ref}/close")
def close_page(ref: str, ctx: SignedInUser) -> Response:
    return page(ctx, _close_form(ctx, ref))


@router.post("/cdop/{ref}/close")
async def close(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        reviewed = "close_reason" not in v
        if not reviewed and not v.get("close_reason"):
            raise FieldError("close_reason", "say why the death is not reviewed here")
        ctx.app.cdop.close(ref, ctx.login, v.get("closed_on") or None,
                           None if reviewed else v["close_reason"])
        return f"/cases/{ref}?done=close"

    return await submit(request, ctx, lambda: _close_form(ctx, ref), act)


# -- the link with a practice review --------------------------------------------------------
def may_link(ctx: Ctx, case_page: CasePage) -> bool:
    """Whether the case page offers the link: a death recording known or suspected abuse or
    neglect, shown to the roles that may correct it (the service checks, and audits)."""
    definition = case_page.definition
    roles = ctx.session.roles if ctx.session is not None else ()
    return (case_page.view.workflow == WORKFLOW and not case_page.view.final
            and case_page.view.data.get("abuse_or_neglect") in ABUSE
            and definition is not None
            and any(r in roles for r in definition.access.correct))


def _linkable(ctx: Ctx, ref: str) -> None:
    if not may_link(ctx, ctx.app.casework.page(ref, ctx.login)):
        raise HTTPException(404)


def _link_form(ctx: Ctx, ref: str) -> Form:
    _linkable(ctx, ref)
    return Form(
        title="Link to a practice review", action=f"/cdop/{ref}/link",
        submit="Link the cases", cancel=f"/cases/{ref}", breadcrumbs=_crumbs(ref, "Link"),
        caption=f"Child death review {ref}",
        lead="A death with known or suspected abuse or neglect is linked to the practice "
             "review of the child's case: the link shows on both.",
        fields=(Field("other", "Practice review reference", max_length=64,
                      width="input--w20", hint="For example, PR-2024-07"),),
        about={"case": "other", "link": "other"})


@router.get("/cdop/{ref}/link")
def link_page(ref: str, ctx: SignedInUser) -> Response:
    return page(ctx, _link_form(ctx, ref))


@router.post("/cdop/{ref}/link")
async def link(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        if not v.get("other"):
            raise FieldError("other", "give the practice review's reference")
        ctx.app.cdop.link(ref, v["other"], ctx.login)
        return f"/cases/{ref}?done=link"

    return await submit(request, ctx, lambda: _link_form(ctx, ref), act)


def _refer_form(ctx: Ctx, ref: str) -> Form:
    _linkable(ctx, ref)
    return Form(
        title="Open a practice review", action=f"/cdop/{ref}/refer",
        submit="Open the practice review", cancel=f"/cases/{ref}",
        breadcrumbs=_crumbs(ref, "Practice review"), caption=f"Child death review {ref}",
        lead="Opens the practice review of this death in its area, linked to it. The rapid "
             "review process runs alongside the child death review.",
        fields=(
            Field("review_ref", "New practice review reference", max_length=64,
                  width="input--w20", hint="For example, PR-2024-07"),
            Field("label", "Short label", optional=True, max_length=80, width="input--w20",
                  hint=f"For lists. No names. Leave empty for 'Child death {ref}'."),
            Field("became_aware_on", "The local authority became aware on", "date"),
            Field("note", "Note", "textarea", optional=True, max_length=2000,
                  hint="No names."),
        ),
        about={"reference": "review_ref", "already": "review_ref", "date": "became_aware_on",
               "label": "label"},
        defaults={"became_aware_on": _today(ctx)})


@router.get("/cdop/{ref}/refer")
def refer_page(ref: str, ctx: SignedInUser) -> Response:
    return page(ctx, _refer_form(ctx, ref))


@router.post("/cdop/{ref}/refer")
async def refer(ref: str, request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        view = ctx.app.cdop.refer(ref, v.get("review_ref", ""), ctx.login,
                                  v.get("label") or None, v.get("became_aware_on") or None,
                                  v.get("note") or None)
        return f"/cases/{view.ref}?opened=1"

    return await submit(request, ctx, lambda: _refer_form(ctx, ref), act)


__all__ = ["details", "may_link", "router", "step_links", "unavailable"]
