"""The app factory: ``create_app(app)`` serves an :class:`engine.app.App` over HTTP.

One router per area (sign-in, tasks, cases), the package's own static files (no CDN, no build
step), and the one mapping of errors to pages: a sign-in redirect, 403 for a form without its
CSRF token, 404 for a page that does not exist, and a 500 page with a reference whose detail
goes only to the server log.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.app import App
from engine.core.errors import EngineError
from web import deps
from web.api import create_api
from web.routes import admin, auth, cases, cdop, cerar, figures, mace, plan, reports, tasks

SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"))


class SecurityHeaders:
    """The same headers on every response, unless a route set its own. A plain ASGI
    middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(app: App, *, serving: bool = False) -> FastAPI:
    """The web application over ``app``. ``serving``: a long-running server, which mirrors
    the audit head to its file from a thread of its own (the response does not wait for the
    file; what waits is written when the server stops)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        app.engine.gate.drain()

    if serving:
        app.engine.gate.mirror_in_background(app.db.sync_wal)
    web = FastAPI(title="safeguard", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan)
    web.state.safeguard = app
    web.mount("/static", StaticFiles(directory=str(deps.HERE / "static")), name="static")
    web.include_router(auth.router)
    web.include_router(tasks.router)
    web.include_router(cases.router)
    web.include_router(admin.router)
    web.mount("/api/v1", create_api(app))  # the JSON API: its own errors and OpenAPI schema
    web.include_router(cerar.router)
    web.include_router(mace.router)
    web.include_router(cdop.router)
    web.include_router(reports.router)
    web.include_router(plan.router)
    web.include_router(figures.router)

    web.add_middleware(SecurityHeaders)

    @web.exception_handler(deps.SignInRequired)
    async def sign_in(request: Request, exc: deps.SignInRequired) -> Response:
        return deps.sign_in_redirect(exc.next_path)

    @web.exception_handler(deps.PasswordChangeRequired)
    async def change(request: Request, exc: deps.PasswordChangeRequired) -> Response:
        return deps.redirect("/account/password")

    # The handlers that render a page are plain functions: Starlette runs them in the thread
    # pool, since the page's header reads the user's task count.
    @web.exception_handler(deps.CsrfRefused)
    def csrf(request: Request, exc: deps.CsrfRefused) -> Response:
        return deps.render(deps.maybe_user(request), "error.html", 403,
                           title="This form has expired",
                           message="The form was not sent from this site or has expired, so "
                                   "nothing was saved. Go back, reload the page and try again.")

    @web.exception_handler(deps.FormTooLarge)
    def too_large(request: Request, exc: deps.FormTooLarge) -> Response:
        return deps.render(deps.maybe_user(request), "error.html", 400,
                           title="There is a problem",
                           message=f"A value sent is too long (at most {deps.MAX_FIELD} "
                                   "characters); nothing was saved.")

    @web.exception_handler(EngineError)
    def engine_error(request: Request, exc: EngineError) -> Response:
        return deps.error_page(deps.maybe_user(request), exc)

    @web.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        ctx = deps.maybe_user(request)
        if exc.status_code == 404:
            return deps.not_found(ctx)
        return deps.render(ctx, "error.html", exc.status_code, title="There is a problem",
                           message=str(exc.detail))

    @web.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return deps.render(deps.maybe_user(request), "error.html", 400,
                           title="There is a problem",
                           message="The address or form was not understood; nothing was saved.")

    @web.exception_handler(Exception)
    def server_error(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(4)
        deps.log.exception("unhandled error, reference %s", reference)
        try:
            return deps.render(deps.Ctx(request, app), "error.html", 500,
                               title="Sorry, there is a problem with the service",
                               message=f"Nothing was saved. Quote reference {reference} to "
                                       "your administrator.")
        except Exception:  # the page itself failed: plain text, still no detail
            return HTMLResponse(f"Server error, reference {reference}", status_code=500)

    return web


__all__ = ["create_app"]
