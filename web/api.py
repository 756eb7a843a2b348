"""The JSON API, ``/api/v1/...``: the same services as the pages, as the token's user.

A sub-application of its own, mounted by :func:`web.app.create_app`, so that only the API
has an OpenAPI schema (``/api/v1/openapi.json``) and its errors are ``application/problem+json``
(RFC 9457: ``type``, ``title``, ``status``, ``detail``, the detail being the engine's one-line
message) while the pages keep theirs. A caller authenticates with ``Authorization: Bearer
TOKEN`` (``safeguard user token LOGIN``); cookies are ignored, so no CSRF token is needed.
Every permission check, transaction and audit record is the service's, as for the pages; a
case the caller may not see is answered exactly as a case that does not exist.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from engine.app import App
from engine.core.accounts import SignInError
from engine.core.errors import (
    ConcurrencyError,
    EngineError,
    GuardFailedError,
    TransitionNotAllowedError,
)
from engine.core.views import CaseView, DeadlineView
from web import deps

log = logging.getLogger("safeguard.web.api")
PROBLEM = "application/problem+json"
MAX_LIMIT = 500
MAX_BODY = 1_000_000  # bytes: a step's fields are at most MAX_FIELDS of MAX_FIELD characters
# The problem types: relative URIs under the API (RFC 9457 allows a URI reference).
TITLES = {400: ("bad-request", "The request is not valid"),
          401: ("unauthorized", "An API token is needed"),
          403: ("forbidden", "You may not do that"),
          404: ("not-found", "Not found"),
          409: ("conflict", "That cannot be done now"),
          500: ("server-error", "Something went wrong")}


# -- the response and request models (what the OpenAPI schema documents) ---------------
class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = Field(examples=["/api/v1/problems/not-found"])
    title: str
    status: int
    detail: str = Field(description="What was wrong and what is allowed, in one line.")


class Deadline(BaseModel):
    name: str
    cycle: int
    key: str | None = Field(description="Which one, for a deadline kept per key "
                                        "(a missing episode, an action).")
    rule: str = Field(description="The rule that produced the date.")
    due: str = Field(description="An ISO date (working-day deadlines) or datetime.")
    status: str = Field(description="open, met, breached or cancelled.")
    met_on: str | None
    owner: str | None = Field(description="The role that must meet it.")

    @classmethod
    def of(cls, d: DeadlineView) -> Deadline:
        return cls(name=d.name, cycle=d.cycle, key=d.key, rule=d.rule, due=d.due,
                   status=d.status, met_on=d.met_on, owner=d.owner)


class CaseSummary(BaseModel):
    ref: str
    workflow: str
    state: str
    version: int
    updated_at: dt.datetime
    next_deadline: Deadline | None
    overdue: int = Field(description="How many of its deadlines are past due.")


class CaseList(BaseModel):
    total: int = Field(description="How many cases match, on every page.")
    offset: int
    limit: int
    cases: list[CaseSummary]


class Trigger(BaseModel):
    name: str
    to: str | None = Field(description="The state it moves to; null when it only records.")
    requires: list[str]
    accepts: list[str]
    description: str
    via: str | None = Field(description="The command that records it, when a domain "
                                        "service owns it (the generic fire refuses it).")
    allowed: bool = Field(description="Whether this caller may take it now.")
    missing: str | None = Field(description="What it still needs, when a guard stops it.")


class Event(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    trigger: str
    from_state: str | None
    to_state: str
    changes: dict[str, Any] = Field(description="Field: [before, after]; personal fields "
                                                "say only that they changed.")
    note: str | None


class Case(BaseModel):
    ref: str
    workflow: str
    workflow_version: int
    title: str
    state: str
    state_description: str
    final: bool
    version: int = Field(description="Send it back as expected_version when firing.")
    opened_at: dt.datetime
    updated_at: dt.datetime
    data: dict[str, str] = Field(description="Personal fields read 'restricted' for "
                                             "roles without access to them.")
    deadlines: list[Deadline]
    steps: list[Trigger] = Field(description="The steps this caller may take now.")
    events: list[Event]


class Fire(BaseModel):
    trigger: str = Field(max_length=64, examples=["notify"])
    data: dict[str, Annotated[str, Field(max_length=deps.MAX_FIELD)]] = Field(
        default_factory=dict, max_length=deps.MAX_FIELDS, examples=[{"notified_on": "2024-06-04"}])
    note: str | None = Field(default=None, max_length=deps.MAX_FIELD)
    expected_version: int | None = Field(
        default=None, ge=1, description="The case's version when you read it: if it has "
                                        "changed since, nothing is written (409).")


class FiredCase(BaseModel):
    ref: str
    workflow: str
    state: str
    version: int
    data: dict[str, str]
    deadlines: list[Deadline]
    triggers: list[str] = Field(description="The triggers available in the new state.")


class Task(BaseModel):
    ref: str
    workflow: str
    state: str
    deadline: str
    key: str | None
    rule: str
    due_at: dt.datetime
    due_day: dt.date | None
    owner: str | None
    meets: str | None = Field(description="The step that meets it, if this caller may "
                                          "take it now.")


class TaskList(BaseModel):
    tasks: list[Task]


class Child(BaseModel):
    ref: str
    child_ref: str
    state: str
    risk_level: str | None
    next_review: str | None
    open_rhis: int
    strategy_meeting_due: str | None
    placement: str | None
    overdue: int


class Register(BaseModel):
    children: list[Child]


class Meeting(BaseModel):
    ref: str
    series: str
    state: str
    slot_on: dt.date
    meeting_on: dt.date
    starts_at: str
    moved: bool
    agenda_published_at: str | None
    deadlines: list[dict[str, Any]]


class Meetings(BaseModel):
    meetings: list[Meeting]


# -- errors -----------------------------------------------------------------------------
def problem(status: int, detail: str, kind: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    slug, title = TITLES.get(status, (phrase.lower().replace(" ", "-"), phrase))
    return JSONResponse({"type": f"/api/v1/problems/{kind or slug}", "title": title,
                         "status": status, "detail": detail}, status_code=status,
                        media_type=PROBLEM, headers=headers)


class Unauthorized(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _engine_problem(exc: EngineError) -> JSONResponse:
    status = deps.status_for(exc)
    kind = ("version-conflict" if isinstance(exc, ConcurrencyError) else
            "state-conflict" if isinstance(exc, TransitionNotAllowedError | GuardFailedError)
            else None)
    # A case the caller may not see reads exactly as one that does not exist (the engine
    # words both alike); the refusal is audited by the service.
    return problem(status, str(exc), kind)


# -- who is calling ---------------------------------------------------------------------
bearer = HTTPBearer(auto_error=False, description="A token from 'safeguard user token LOGIN'.")


def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                    Depends(bearer)]) -> str:
    """The login the bearer token acts as (401 without one, or with one that is unknown,
    revoked or whose user is disabled)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer TOKEN' (an administrator issues "
                           "tokens with 'safeguard user token LOGIN')")
    address = request.client.host if request.client else "-"
    try:
        return deps.application(request).accounts.api_user(credentials.credentials, address)
    except SignInError as exc:
        raise Unauthorized(str(exc)) from None


Caller = Annotated[str, Depends(caller)]


def _app(request: Request) -> App:
    return deps.application(request)


Application = Annotated[App, Depends(_app)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": TITLES[code][1],
           "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for code in (400, 401, 403, 404, 409)}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: ERRORS[c] for c in (400, 401, *codes)}


# -- the application --------------------------------------------------------------------
def create_api(app: App) -> FastAPI:
    api = FastAPI(title="safeguard API", version="1", openapi_url="/openapi.json",
                  docs_url=None, redoc_url=None, servers=[{"url": "/api/v1"}],
                  description="The services of the safeguard web application as JSON, "
                              "for a token's user: the same permission checks and audit "
                              "records as the pages. Errors are application/problem+json.")
    api.state.safeguard = app

    @api.middleware("http")
    async def limits(request: Request, call_next: Any) -> Response:
        """No body past MAX_BODY is read; no answer is kept by a cache."""
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return problem(413, f"the request body is larger than {MAX_BODY} bytes; nothing "
                                "was written")
        response: Response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> Response:
        return problem(401, exc.detail, headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(EngineError)
    async def engine_error(request: Request, exc: EngineError) -> Response:
        return _engine_problem(exc)

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return problem(400, f"{where}: {first.get('msg', 'not understood')}; nothing was "
                            "written")

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = "there is nothing at this address" if exc.status_code == 404 else \
            str(exc.detail)
        return problem(exc.status_code, detail)

    @api.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(4)
        log.exception("unhandled API error, reference %s", reference)
        return problem(500, f"nothing was saved; quote reference {reference} to your "
                            "administrator")

    # -- cases --------------------------------------------------------------------------
    @api.get("/cases", response_model=CaseList, responses=_errors(),
             summary="The cases you may read, filtered, a page at a time")
    def cases(login: Caller, sg: Application,
              workflow: Annotated[str | None, Query(max_length=64)] = None,
              state: Annotated[str | None, Query(max_length=64)] = None,
              overdue: bool = False,
              limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
              offset: Annotated[int, Query(ge=0)] = 0) -> CaseList:
        page = sg.engine.case_page(login, workflow or None, state or None, overdue,
                                   command="api cases", limit=limit, offset=offset)
        return CaseList(total=page.total, offset=offset, limit=limit, cases=[
            CaseSummary(ref=c.ref, workflow=c.workflow, state=c.state, version=c.version,
                        updated_at=c.updated_at, overdue=c.overdue,
                        next_deadline=Deadline.of(c.next_deadline) if c.next_deadline
                        else None) for c in page.cases])

    @api.post("/cases/{ref:path}/fire", response_model=FiredCase, responses=_errors(
        403, 404, 409), summary="Take a step: fire a trigger with its fields")
    def fire(ref: str, body: Fire, login: Caller, sg: Application) -> FiredCase:
        view = sg.engine.fire(ref, body.trigger, {k: v.strip() for k, v in body.data.items()},
                              login, (body.note or "").strip() or None,
                              expected_version=body.expected_version,
                              command=f"api fire {body.trigger}")
        return _fired(view)

    @api.get("/cases/{ref:path}", response_model=Case, responses=_errors(404),
             summary="One case: its data, deadlines, steps and timeline")
    def case(ref: str, login: Caller, sg: Application) -> Case:
        page = sg.casework.page(ref, login, command="api case")
        view = page.view
        return Case(
            ref=view.ref, workflow=view.workflow, workflow_version=view.workflow_version,
            title=page.title, state=view.state, state_description=view.state_description,
            final=view.final, version=view.version, opened_at=view.opened_at,
            updated_at=view.updated_at, data=dict(view.data),
            deadlines=[Deadline.of(d) for d in view.deadlines],
            steps=[Trigger(name=s.trigger.name, to=s.trigger.to,
                           requires=list(s.trigger.requires), accepts=list(s.trigger.accepts),
                           description=s.trigger.description, via=s.trigger.via,
                           allowed=s.allowed, missing=s.missing) for s in page.steps],
            events=[Event(seq=e.seq, at=e.at, actor=e.actor, trigger=e.trigger,
                          from_state=e.from_state, to_state=e.to_state,
                          changes=dict(e.changes), note=e.note) for e in page.events])

    # -- tasks, registers, meetings -------------------------------------------------------
    @api.get("/tasks", response_model=TaskList, responses=_errors(),
             summary="Your open deadlines, soonest first")
    def tasks(login: Caller, sg: Application) -> TaskList:
        return TaskList(tasks=[
            Task(ref=t.ref, workflow=t.workflow, state=t.state, deadline=t.name, key=t.key,
                 rule=t.rule, due_at=t.due_at, due_day=t.due_day, owner=t.owner,
                 meets=t.meets) for t in sg.casework.tasks(login, command="api tasks")])

    @api.get("/cerar", response_model=Register, responses=_errors(403),
             summary="The CERAR register: children by level of concern, then next review")
    def cerar(login: Caller, sg: Application, include_closed: bool = False,
              level: Literal["low", "medium", "high"] | None = None) -> Register:
        rows = sg.cerar.children(login, include_closed, level or None)
        return Register(children=[Child(**r.to_json()) for r in rows])

    @api.get("/mace/meetings", response_model=Meetings, responses=_errors(403),
             summary="MACE meetings you may see, in date order")
    def meetings(login: Caller, sg: Application,
                 series: Annotated[str | None, Query(max_length=100)] = None,
                 upcoming: bool = False) -> Meetings:
        out = []
        for m in sg.mace.meetings(login, series or None, upcoming):
            j = m.to_json()
            out.append(Meeting(ref=m.ref, series=m.series, state=m.state, slot_on=m.slot_on,
                               meeting_on=m.meeting_on, starts_at=j["starts_at"],
                               moved=m.moved, agenda_published_at=j["agenda_published_at"],
                               deadlines=list(m.deadlines)))
        return Meetings(meetings=out)

    def schema() -> dict[str, Any]:
        """FastAPI's schema, without the 422 it adds to every route: bad input is a 400
        problem here."""
        if api.openapi_schema is None:
            document = FastAPI.openapi(api)
            for methods in document.get("paths", {}).values():
                for operation in methods.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                document.get("components", {}).get("schemas", {}).pop(name, None)
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = schema  # type: ignore[method-assign]
    return api


def _fired(view: CaseView) -> FiredCase:
    return FiredCase(ref=view.ref, workflow=view.workflow, state=view.state,
                     version=view.version, data=dict(view.data),
                     deadlines=[Deadline.of(d) for d in view.deadlines],
                     triggers=[t.name for t in view.available_triggers])


__all__ = ["create_api"]
