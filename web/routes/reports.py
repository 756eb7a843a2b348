"""The dashboard (what ``safeguard status`` shows) and the annual report (its HTML body in the
site's layout, with CSV, JSON and Word downloads). Both come from the report services, which check
who may see them and audit it; a user without the role gets the not-found page, as for any
page they may not see.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response
from markupsafe import Markup

from engine.apps.report.document import AnnualReport
from engine.apps.report.render import html_body, render
from engine.apps.report.service import annual_report
from engine.apps.report.status import dashboard
from engine.core.clock import london_date, parse_date
from engine.core.errors import PermissionDeniedError, UsageError
from web import deps, words
from web.deps import Ctx, SignedInUser

router = APIRouter()
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@router.get("/dashboard")
def dashboard_page(ctx: SignedInUser) -> Response:
    try:
        board = dashboard(ctx.app.engine, ctx.login)
    except PermissionDeniedError:
        return deps.not_found(ctx)
    data = board.to_json()
    meeting = data["next_mace_meeting"]
    return deps.render(ctx, "dashboard.html", title="Dashboard", board=board, data=data,
                       today=words.day_text(london_date(board.now)),
                       week_end=words.day_text(board.week_end),
                       meeting_when=words.when_text(dt.datetime.fromisoformat(
                           meeting["starts_at"])) if meeting else None)


def _period(ctx: Ctx) -> tuple[str, str]:
    """The period asked in the query string (``from`` is a Python keyword, so it is read
    here, not as a parameter), or the last complete financial year (April to March)."""
    start = ctx.request.query_params.get("from", "")[:40]
    end = ctx.request.query_params.get("to", "")[:40]
    if start or end:
        return start, end
    today = london_date(ctx.app.clock.now())
    year = today.year - 1 if today.month >= 4 else today.year - 2
    return f"{year}-04-01", f"{year + 1}-03-31"


def _report(ctx: Ctx, start: str, end: str) -> AnnualReport:
    first, last = parse_date(start), parse_date(end)
    if first > last:  # the service refuses it too, in the CLI's words
        raise UsageError(f"the period starts ({words.day_text(first)}) after it ends "
                         f"({words.day_text(last)}): choose a start on or before the end")
    return annual_report(ctx.app.engine, ctx.login, first, last)


@router.get("/reports/annual")
def annual_page(ctx: SignedInUser) -> Response:
    start, end = _period(ctx)
    try:
        report = _report(ctx, start, end)
    except PermissionDeniedError:
        return deps.not_found(ctx)
    except UsageError as exc:
        if "report.annual" not in ctx.app.casework.menu(ctx.login):
            return deps.not_found(ctx)  # a bad period says nothing to those who may not ask
        key = "to" if "after it ends" in str(exc) or f"'{end}'" in str(exc) else "from"
        return deps.render(ctx, "annual.html", 400, title="Annual report", report=None,
                           body=None, start=start, end=end,
                           errors={key: words.sentence(str(exc))})
    return deps.render(ctx, "annual.html", title="Annual report", report=report,
                       body=Markup(html_body(report)),  # escaped by the renderer
                       start=start, end=end, errors={})


@router.get("/reports/annual.{fmt}")
def annual_download(ctx: SignedInUser, fmt: str) -> Response:
    if fmt not in MEDIA:
        return deps.not_found(ctx)
    start, end = _period(ctx)
    try:
        report = _report(ctx, start, end)
    except PermissionDeniedError:
        return deps.not_found(ctx)
    if fmt == "docx":
        from engine.apps.report.docx_out import docx_bytes

        body: str | bytes = docx_bytes(report)
    else:
        body = render(report, fmt)
    return Response(body, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="annual-report-{start}-to-{end}.{fmt}"',
        "Cache-Control": "no-store"})
