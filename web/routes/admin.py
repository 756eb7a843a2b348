"""Administration: users (roles in areas, a one-time password or sign-in link, API tokens),
areas, and the audit trail with ``audit verify``.

Each page is one service call as the signed-in user; the service decides who may (the
administrators) and audits a refusal. A refused user sees the same 404 page as for an
address that does not exist, so the pages do not announce themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from engine.core.clock import show_instant
from engine.core.errors import PermissionDeniedError, UsageError
from web import deps
from web.deps import Ctx, SignedInUser
from web.forms import Field, Form, page, submit

router = APIRouter(prefix="/admin")
AUDIT_PAGE = 50
T = TypeVar("T")
# What a redirect after a change says (fixed texts: nothing from the address is echoed).
DONE = {"granted": "The role has been granted.", "revoked": "The role has been revoked.",
        "token": "The API token has been revoked: it no longer works.",
        "area": "The area has been added.", "added": "The user has been added.",
        "details": "The details have been saved.", "nothing": "Nothing was changed.",
        "disabled": "The user is disabled: they cannot sign in and are named nowhere new.",
        "enabled": "The user is enabled again, with the roles they held."}


class Refused(Exception):
    """The service refused (and audited) a user who is not an administrator."""


def _as_admin(call: Callable[[], T]) -> T:
    try:
        return call()
    except PermissionDeniedError:
        raise Refused() from None


# -- users ------------------------------------------------------------------------------
@router.get("/users")
def users(ctx: SignedInUser) -> Response:
    try:
        accounts = _as_admin(lambda: ctx.app.admin.accounts(ctx.login))
    except Refused:
        return deps.not_found(ctx)
    return deps.render(ctx, "admin_users.html", title="Users", accounts=accounts,
                       section="users")


def _details_fields(new: bool) -> tuple[Field, ...]:
    login = (Field("login", "Login", max_length=64, width="input--w20",
                   hint="Lower-case letters, digits, '.', '_' and '-'. For example, "
                        "jo.smith"),) if new else ()
    return (*login,
            Field("display_name", "Name", max_length=200, width="input--w20"),
            Field("email", "Email address", "email", max_length=200, width="input--w20",
                  hint="Reminders, digests and meeting invitations go here."),
            Field("agency", "Agency", max_length=200, width="input--w20",
                  hint="For example, Cumberland Council, Police, ICB."))


def _or_404(call: Callable[[], T]) -> T:
    """A form's service call: a refusal (audited by the service) is the 404 page, alike with
    an address that does not exist."""
    try:
        return call()
    except PermissionDeniedError:
        raise HTTPException(404) from None


def _is_admin(ctx: Ctx) -> bool:  # navigation only: the service decides (and audits)
    return ctx.session is not None and "administrator" in ctx.session.roles


def _new_user_form() -> Form:
    return Form(title="Add a user", action="/admin/users", submit="Add the user",
                cancel="/admin/users", breadcrumbs=(("Home", "/"), ("Administration",
                                                                  "/admin/users"),
                                                    ("Add a user", None)),
                lead="Then grant them roles on their page, and set a one-time password or "
                     "make a sign-in link.",
                fields=_details_fields(new=True),
                about={"login": "login", "user '": "login", "email": "email",
                       "name": "display_name", "agency": "agency"})


@router.get("/users/new")
def new_user_page(ctx: SignedInUser) -> Response:
    if not _is_admin(ctx):
        return deps.not_found(ctx)
    return page(ctx, _new_user_form())


@router.post("/users")
async def add_user(request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        login = v.get("login", "")
        _or_404(lambda: ctx.app.admin.add_user(ctx.login, login, v.get("display_name", ""),
                                               v.get("email", ""), v.get("agency", "")))
        return f"/admin/users/{login}?done=added"

    return await submit(request, ctx, _new_user_form, act)


def _details_form(login: str) -> Form:
    return Form(title=f"Change {login}'s details", action=f"/admin/users/{login}/details",
                submit="Save the details", cancel=f"/admin/users/{login}",
                breadcrumbs=(("Home", "/"), ("Administration", "/admin/users"),
                             (login, f"/admin/users/{login}"), ("Details", None)),
                fields=_details_fields(new=False),
                about={"email": "email", "name": "display_name", "agency": "agency"})


@router.get("/users/{login}/details")
def details_page(login: str, ctx: SignedInUser) -> Response:
    try:
        user = _as_admin(lambda: ctx.app.admin.user_page(ctx.login, login)).account.user
    except (Refused, UsageError):
        return deps.not_found(ctx)
    return page(ctx, replace(_details_form(login), defaults={
        "display_name": user.display_name, "email": user.email or "", "agency": user.agency}))


@router.post("/users/{login}/details")
async def change_details(request: Request, login: str, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str]) -> str:
        changed = _or_404(lambda: ctx.app.admin.update_user(
            ctx.login, login, v.get("display_name", ""), v.get("email", ""),
            v.get("agency", "")))
        return f"/admin/users/{login}?done={'details' if changed else 'nothing'}"

    return await submit(request, ctx, lambda: _details_form(login), act)


@router.post("/users/{login}/status")
async def change_status(request: Request, login: str, ctx: SignedInUser) -> Response:
    """Disable (``change=disable``) or enable (``change=enable``) a user."""
    assert ctx.session is not None
    values = await deps.form(request, ctx.session.csrf)

    enable = values.get("change") == "enable"
    change = ctx.app.admin.enable if enable else ctx.app.admin.disable
    return await _change_user(ctx, login, lambda: change(ctx.login, login), "status",
                              "enabled" if enable else "disabled")


def _user_page(ctx: Ctx, login: str, status: int = 200, **values: object) -> Response:
    try:
        page = _as_admin(lambda: ctx.app.admin.user_page(ctx.login, login))
    except (Refused, UsageError):  # not an administrator, or no such user: alike
        return deps.not_found(ctx)
    values.setdefault("errors", {})
    return deps.render(ctx, "admin_user.html", status, title=f"User {login}", page=page,
                       account=page.account, user=page.account.user, section="users",
                       **values)


@router.get("/users/{login}")
def user_page(login: str, ctx: SignedInUser, done: str = "") -> Response:
    return _user_page(ctx, login, banner=DONE.get(done))


@router.post("/users/{login}/roles")
async def change_role(request: Request, login: str, ctx: SignedInUser) -> Response:
    """Grant (``change=grant``) or revoke (``change=revoke``) a role in an area."""
    assert ctx.session is not None
    values = await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        role, area = values.get("role", ""), values.get("area", "") or None
        change = values.get("change", "grant")
        try:
            if change == "revoke":
                _as_admin(lambda: ctx.app.admin.revoke(ctx.login, login, role, area))
            else:
                _as_admin(lambda: ctx.app.admin.grant(ctx.login, login, role, area))
        except Refused:
            return deps.not_found(ctx)
        except UsageError as exc:
            key = "role" if change == "grant" else "roles"
            return _user_page(ctx, login, 400, errors={key: str(exc)},
                              chosen={"role": role, "area": area or ""})
        done = "revoked" if change == "revoke" else "granted"
        return deps.redirect(f"/admin/users/{login}?done={done}")

    return await run_in_threadpool(work)


@router.post("/users/{login}/password")
async def one_time_password(request: Request, login: str, ctx: SignedInUser) -> Response:
    """A one-time password (``kind=password``) or sign-in link (``kind=link``), shown on
    the page this once (never in an address, never in a log)."""
    assert ctx.session is not None
    values = await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        accounts = ctx.app.accounts
        try:
            if values.get("kind") == "link":
                token, expires = _as_admin(lambda: accounts.issue_link(ctx.login, login))
                secret = f"{accounts.settings.base_url.rstrip('/')}/sign-in/link/{token}"
                told = ("Send this one-time sign-in link to the user; it can be used once, until "
                        f"{show_instant(expires).replace('T', ' ')}.")
            else:
                secret = _as_admin(lambda: accounts.set_password(ctx.login, login))
                told = ("Give this one-time password to the user: they choose their own when they "
                        "first sign in. Their sessions have ended.")
        except Refused:
            return deps.not_found(ctx)
        except UsageError as exc:
            return _user_page(ctx, login, 400, errors={"password": str(exc)})
        return _user_page(ctx, login, secret=secret, secret_told=told)

    return await run_in_threadpool(work)


@router.post("/users/{login}/tokens/{token_id}/revoke")
async def revoke_token(request: Request, login: str, token_id: int,
                       ctx: SignedInUser) -> Response:
    assert ctx.session is not None
    await deps.form(request, ctx.session.csrf)

    return await _change_user(
        ctx, login, lambda: ctx.app.accounts.revoke_token(ctx.login, login, token_id),
        "tokens", "token")


async def _change_user(ctx: Ctx, login: str, change: Callable[[], object], field: str,
                       done: str) -> Response:
    """Make an administrator's change to a user, off the event loop (the service may wait
    for a lock): a refusal is the not-found page, bad input the user's page with the error
    beside ``field``, success back to that page saying ``done``."""
    def work() -> Response:
        try:
            _as_admin(change)
        except Refused:
            return deps.not_found(ctx)
        except UsageError as exc:
            return _user_page(ctx, login, 400, errors={field: str(exc)})
        return deps.redirect(f"/admin/users/{login}?done={done}")

    return await run_in_threadpool(work)


# -- areas ------------------------------------------------------------------------------
def _areas_page(ctx: Ctx, status: int = 200, **values: object) -> Response:
    try:
        rows = _as_admin(lambda: ctx.app.admin.area_overview(ctx.login))
    except Refused:
        return deps.not_found(ctx)
    values.setdefault("errors", {})
    values.setdefault("chosen", {})
    return deps.render(ctx, "admin_areas.html", status, title="Areas", areas=rows,
                       section="areas", **values)


@router.get("/areas")
def areas(ctx: SignedInUser, done: str = "") -> Response:
    return _areas_page(ctx, banner=DONE.get(done))


@router.post("/areas")
async def add_area(request: Request, ctx: SignedInUser) -> Response:
    assert ctx.session is not None
    values = await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        code, name = values.get("code", "").strip(), values.get("name", "").strip()
        try:
            if not name:
                raise UsageError("give the area a name, e.g. 'Westmorland and Furness'")
            _as_admin(lambda: ctx.app.admin.add_area(ctx.login, code, name))
        except Refused:
            return deps.not_found(ctx)
        except UsageError as exc:
            key = "name" if not name else "code"
            return _areas_page(ctx, 400, errors={key: str(exc)},
                               chosen={"code": code[:64], "name": name[:100]})
        return deps.redirect("/admin/areas?done=area")

    return await run_in_threadpool(work)


# -- the audit trail ----------------------------------------------------------------------
def _audit_page(ctx: Ctx, page: int, status: int = 200, **values: object) -> Response:
    page = max(1, min(page, 1_000_000))
    try:
        trail = _as_admin(lambda: ctx.app.audit.recent(
            ctx.login, AUDIT_PAGE, (page - 1) * AUDIT_PAGE))
    except Refused:
        return deps.not_found(ctx)
    pages = max(1, (trail.total + AUDIT_PAGE - 1) // AUDIT_PAGE)
    return deps.render(ctx, "admin_audit.html", status, title="Audit trail", trail=trail,
                       page=page, pages=pages, section="audit", **values)


@router.get("/audit")
def audit(ctx: SignedInUser, page: int = 1) -> Response:
    return _audit_page(ctx, page)


@router.post("/audit/verify")
async def verify(request: Request, ctx: SignedInUser) -> Response:
    """``audit verify``, as the signed-in user: the result on the page."""
    assert ctx.session is not None
    await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        try:
            verdict = _as_admin(lambda: ctx.app.audit.verify(ctx.login))
        except Refused:
            return deps.not_found(ctx)
        return _audit_page(ctx, 1, verdict=verdict)

    return await run_in_threadpool(work)


@router.get("")
def home(ctx: SignedInUser) -> Response:
    return deps.redirect("/admin/users")
