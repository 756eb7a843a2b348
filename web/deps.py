"""What every route shares: the templates, the signed-in user, the CSRF check, form reading
and the one place engine errors become pages (404 for a case the user may not see, exactly
as for one that does not exist)."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from engine.app import App
from engine.core import wording
from engine.core.accounts import SessionInfo
from engine.core.errors import (
    CaseNotFoundError,
    ConcurrencyError,
    DuplicateCaseError,
    EngineError,
    GuardFailedError,
    PermissionDeniedError,
    TransitionNotAllowedError,
    UnknownUserError,
    UsageError,
)
from engine.core.store.directory import usable_email
from web import words

log = logging.getLogger("safeguard.web")
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "sg_session"
PRE_COOKIE = "sg_pre"  # the sign-in form's CSRF token, before there is a session
MAX_FIELD = 10_000  # characters in one form value
MAX_FIELDS = 100
# One uploaded file (a plan or a year's figures is a few kilobytes): the whole request is
# read up to this many bytes (and a little for the other fields), never spooled beyond it.
MAX_UPLOAD = 1_000_000
_UPLOAD_SLACK = 64_000

templates = Jinja2Templates(directory=str(HERE / "templates"))
# The package's templates do not change while it runs: compiled once, never re-checked on disk.
templates.env.auto_reload = False
templates.env.filters["humanise"] = words.humanise
templates.env.filters["when"] = words.when_text
templates.env.filters["sentence"] = words.sentence
templates.env.filters["day"] = words.iso_day_text
templates.env.filters["field_label"] = words.field_label
templates.env.filters["field_value"] = words.field_value
templates.env.filters["lower_first"] = wording.lower_first
templates.env.filters["reachable"] = usable_email  # the notifier's own test of an address


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


class FormTooLarge(Exception):
    pass


class UploadRefused(Exception):
    """An upload that is not a file this site takes (too large, none, not UTF-8 text): the
    one line the form shows beside its file input."""


@dataclass
class Ctx:
    """One request: the application, and who is signed in."""

    request: Request
    app: App
    session: SessionInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def login(self) -> str:
        assert self.session is not None
        return self.session.login


def application(request: Request) -> App:
    return request.app.state.safeguard  # type: ignore[no-any-return]


def _session(request: Request) -> SessionInfo | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    return application(request).accounts.session(token) if token else None


def maybe_user(request: Request) -> Ctx:
    return Ctx(request, application(request), _session(request))


def user(request: Request) -> Ctx:
    """The signed-in user, or a redirect to sign in (coming back here afterwards). A plain
    function, so FastAPI runs it in the thread pool: the session check reads (and may
    touch) the session row, and a database lock must never stall the event loop."""
    session = _session(request)
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path)
    if session.must_change and request.url.path != "/account/password":
        raise PasswordChangeRequired()
    return Ctx(request, application(request), session)


async def form(request: Request, csrf: str | None) -> dict[str, str]:
    """The posted form, its CSRF token checked against ``csrf`` (the session's or the
    sign-in cookie's); a value too long or too many fields is refused."""
    return checked(await posted(request), csrf)


async def posted(request: Request) -> dict[str, str]:
    """The posted form as sent, CSRF token included and NOT yet checked: for a handler that
    checks it (:func:`checked`) with the session it reads off the event loop."""
    data = await request.form(max_fields=MAX_FIELDS, max_files=0, max_part_size=MAX_FIELD * 4)
    values: dict[str, str] = {}
    for key, value in data.multi_items():
        if not isinstance(value, str):
            raise FormTooLarge()
        if len(value) > MAX_FIELD or len(key) > 100:
            raise FormTooLarge()
        values[key] = value
    return values


def checked(values: dict[str, str], csrf: str | None) -> dict[str, str]:
    """``values`` without its CSRF token, once the token matches ``csrf``."""
    values = dict(values)
    sent = values.pop("csrf_token", "")
    if not csrf or not sent or not hmac.compare_digest(sent.encode(), csrf.encode()):
        raise CsrfRefused()
    return values


@dataclass(frozen=True)
class Upload:
    values: dict[str, str]  # the other fields of the form
    name: str  # the file's name as sent (its ending says CSV or YAML)
    text: str


async def upload(request: Request, csrf: str | None, field_name: str = "file") -> Upload:
    """A posted form with one file (multipart), for the import pages only: the request body
    is read up to :data:`MAX_UPLOAD` (refused beyond, nothing parsed), then the fields as
    :func:`form` reads them, the CSRF token checked, and the file as UTF-8 text."""
    limit = MAX_UPLOAD + _UPLOAD_SLACK
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise UploadRefused(_too_large())
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadRefused(_too_large())
        chunks.append(chunk)
    body = b"".join(chunks)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    data = await Request(request.scope, replay).form(
        max_fields=MAX_FIELDS, max_files=1, max_part_size=MAX_FIELD * 4)
    try:
        values: dict[str, str] = {}
        content, name = b"", ""
        for key, value in data.multi_items():
            if isinstance(value, str):
                if len(value) > MAX_FIELD or len(key) > 100:
                    raise FormTooLarge()
                values[key] = value
            elif key == field_name:
                name = value.filename or ""
                content = await value.read(MAX_UPLOAD + 1)
        sent = values.pop("csrf_token", "")
        if not csrf or not sent or not hmac.compare_digest(sent.encode(), csrf.encode()):
            raise CsrfRefused()
    finally:
        await data.close()
    if not name or not content:
        raise UploadRefused("Choose a file to upload")
    if len(content) > MAX_UPLOAD:
        raise UploadRefused(_too_large())
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(f"{name} is not UTF-8 text: save it as CSV UTF-8 (or YAML) "
                            "and upload it again") from None
    return Upload(values, name, text)


def _too_large() -> str:
    return f"The file is larger than {MAX_UPLOAD // 1_000_000} MB: nothing was imported"


def render(ctx: Ctx, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    task_count = values.pop("task_count", None)
    menu: frozenset[str] = frozenset()
    if ctx.session is not None and not ctx.session.must_change:
        if task_count is None:  # a page that listed the tasks passes their number
            try:
                task_count = ctx.app.casework.task_count(ctx.login)
            except EngineError:
                task_count = None
        menu = ctx.app.casework.menu_for(ctx.session.roles)  # which header links to show
    # The sign-in form's token, only when signed out (a signed-in form carries the session's).
    pre = "" if ctx.session else (ctx.request.cookies.get(PRE_COOKIE)
                                  or secrets.token_urlsafe(24))
    response = templates.TemplateResponse(ctx.request, template, {
        "session": ctx.session, "task_count": task_count, "menu": menu,
        "csrf": ctx.session.csrf if ctx.session else pre, **values}, status_code=status)
    if ctx.session is None and ctx.request.cookies.get(PRE_COOKIE) != pre:
        set_cookie(ctx.request, response, PRE_COOKIE, pre)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def sign_in_redirect(next_path: str) -> RedirectResponse:
    return redirect(f"/sign-in?next={quote(next_path, safe='')}")


def safe_next(next_path: str | None) -> str:
    """Only a path on this site (never //elsewhere or a scheme)."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or \
            "\\" in next_path:
        return "/"
    return next_path


def status_for(exc: EngineError) -> int:
    if isinstance(exc, CaseNotFoundError) or (isinstance(exc, PermissionDeniedError)
                                              and exc.action.startswith("see ")):
        return 404
    if isinstance(exc, PermissionDeniedError | UnknownUserError):
        return 403
    if isinstance(exc, ConcurrencyError | TransitionNotAllowedError | GuardFailedError
                  | DuplicateCaseError):
        return 409
    if isinstance(exc, UsageError):
        return 400
    return 400


def error_page(ctx: Ctx, exc: EngineError) -> HTMLResponse:
    status = status_for(exc)
    if status == 404:
        return not_found(ctx)
    title = {403: "You cannot do that", 409: "That cannot be done now"}.get(
        status, "There is a problem")
    return render(ctx, "error.html", status, title=title, message=str(exc))


def not_found(ctx: Ctx) -> HTMLResponse:
    """The same page for a case that does not exist and one the user may not see."""
    return render(ctx, "error.html", 404, title="Page not found",
                  message="There is nothing at this address that you can see. If you typed "
                          "the address, check it is correct.")


SignedInUser = Annotated[Ctx, Depends(user)]
MaybeUser = Annotated[Ctx, Depends(maybe_user)]
