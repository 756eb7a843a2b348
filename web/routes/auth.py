"""Signing in and out, one-time sign-in links and changing your own password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from engine.core.accounts import SignedIn, SignInError
from engine.core.errors import UsageError
from web import deps
from web.deps import MaybeUser, SignedInUser

router = APIRouter()


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


def _signed_in(request: Request, signed: SignedIn, next_path: str) -> Response:
    target = "/account/password" if signed.must_change else deps.safe_next(next_path)
    response = deps.redirect(target)
    deps.set_cookie(request, response, deps.SESSION_COOKIE, signed.token)
    response.delete_cookie(deps.PRE_COOKIE, path="/")
    return response


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    ctx = deps.maybe_user(request)
    if ctx.session is not None:
        return deps.redirect(deps.safe_next(next))
    return deps.render(ctx, "sign_in.html", title="Sign in", next=deps.safe_next(next),
                       errors={}, login="")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    ctx = deps.Ctx(request, deps.application(request))
    values = await deps.form(request, request.cookies.get(deps.PRE_COOKIE))

    def work() -> Response:  # off the event loop: the service may wait for a lock
        login, password = values.get("login", ""), values.get("password", "")
        next_path = deps.safe_next(values.get("next"))
        try:
            signed = ctx.app.accounts.sign_in(login, password, _address(request))
        except SignInError as exc:
            return deps.render(ctx, "sign_in.html", 400, title="Sign in", next=next_path,
                               errors={"login": str(exc)}, login=login[:64])
        return _signed_in(request, signed, next_path)

    return await run_in_threadpool(work)


@router.get("/sign-in/link/{token}")
def link_page(request: Request, token: str) -> Response:
    return deps.render(deps.Ctx(request, deps.application(request)), "link.html",
                       title="Sign in with your link", token=token[:200])


@router.post("/sign-in/link/{token}")
async def follow_link(request: Request, token: str) -> Response:
    ctx = deps.Ctx(request, deps.application(request))
    await deps.form(request, request.cookies.get(deps.PRE_COOKIE))

    def work() -> Response:  # off the event loop: the service may wait for a lock
        try:
            signed = ctx.app.accounts.sign_in_with_link(token, _address(request))
        except SignInError as exc:
            return deps.render(ctx, "error.html", 400, title="This link cannot be used",
                               message=str(exc))
        return _signed_in(request, signed, "/")

    return await run_in_threadpool(work)


@router.post("/sign-out")
async def sign_out(request: Request, ctx: MaybeUser) -> Response:
    if ctx.session is not None:
        await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        if ctx.session is not None:
            ctx.app.accounts.sign_out(request.cookies.get(deps.SESSION_COOKIE, ""))
        response = deps.redirect("/sign-in")
        response.delete_cookie(deps.SESSION_COOKIE, path="/")
        return response

    return await run_in_threadpool(work)


@router.get("/account/password")
def password_page(ctx: SignedInUser) -> Response:
    return deps.render(ctx, "password.html", title="Change your password", errors={})


@router.post("/account/password")
async def change_password(request: Request, ctx: SignedInUser) -> Response:
    assert ctx.session is not None
    values = await deps.form(request, ctx.session.csrf)

    def work() -> Response:  # off the event loop: the service may wait for a lock
        new, again = values.get("new_password", ""), values.get("confirm_password", "")
        errors: dict[str, str] = {}
        if new != again:
            errors["confirm_password"] = "The two new passwords are not the same"
        else:
            try:
                ctx.app.accounts.change_password(request.cookies.get(deps.SESSION_COOKIE, ""),
                                                 values.get("current_password", ""), new)
            except UsageError as exc:
                key = "current_password" if "current" in str(exc) else "new_password"
                errors[key] = str(exc)
        if errors:
            return deps.render(ctx, "password.html", 400, title="Change your password",
                               errors=errors)
        return deps.redirect("/?changed=1")

    return await run_in_threadpool(work)
