"""Figures from other systems: the imported figures by period and area (names, not codes),
each with its source, who imported it and when, and the figures it replaced; and the upload
of a figures CSV through the service `safeguard figures import` uses (every row checked
first: one line naming the bad row, nothing imported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.domains.figures.measures import reporting_label
from engine.domains.figures.service import FigureView
from web import deps
from web.deps import Ctx, SignedInUser
from web.forms import Field, Form, submit_upload

router = APIRouter()
FIGURES = ("Home", "/"), ("Figures from other systems", "/figures")


@dataclass
class Area:
    label: str
    rows: list[FigureView] = field(default_factory=list)


@dataclass
class PeriodGroup:
    label: str
    areas: list[Area] = field(default_factory=list)


def by_period(figures: list[FigureView]) -> list[PeriodGroup]:
    """Periods as the service orders them (by start), the partnership first then areas by
    name, and in each the measures with the current figure before those it replaced."""
    periods: dict[str, PeriodGroup] = {}
    areas: dict[tuple[str, str | None], Area] = {}
    for f in figures:
        group = periods.setdefault(f.period, PeriodGroup(reporting_label(f.period)))
        area = areas.get((f.period, f.area))
        if area is None:
            area = areas[(f.period, f.area)] = Area(f.area_label)
            group.areas.append(area)
        area.rows.append(f)
    for group in periods.values():
        group.areas.sort(key=lambda a: (a.label != "The partnership", a.label))
        for area in group.areas:
            area.rows.sort(key=lambda r: (r.label, r.replaced_at is not None,
                                          -(r.replaced_at or r.imported_at).timestamp()))
    return list(periods.values())


def _count(query: Mapping[str, str], name: str) -> int:
    value = query.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else 0


@router.get("/figures")
def figures_page(request: Request, ctx: SignedInUser, done: str = "") -> Response:
    menu = ctx.app.casework.menu(ctx.login)
    if "figures.list" not in menu:
        return deps.not_found(ctx)
    figures = ctx.app.figures.figures(ctx.login, include_replaced=True)
    banner = None
    if done == "import":
        q = request.query_params
        banner = (f"The figures have been imported: {_count(q, 'added')} added, "
                  f"{_count(q, 'replaced')} replaced, {_count(q, 'unchanged')} unchanged.")
    return deps.render(ctx, "figures.html", title="Figures from other systems",
                       periods=by_period(figures), banner=banner,
                       current=sum(1 for f in figures if f.replaced_at is None),
                       may_import="figures.import" in menu,
                       breadcrumbs=[FIGURES[0], (FIGURES[1][0], None)])


def _import_form() -> Form:
    return Form(
        title="Import figures", action="/figures/import", submit="Import the figures",
        cancel="/figures", breadcrumbs=(*FIGURES, ("Import", None)), upload=True,
        lead="A CSV file with the columns measure, area, period, value and source. Every row "
             "is checked first: if one is wrong, nothing is imported. A figure already held "
             "for the same measure, area and period is replaced, and the old one kept.",
        fields=(
            Field("file", "Figures file", "file", accept=".csv",
                  hint="A .csv file. Measure and area: the codes listed below. Period: "
                       "2023-24 (a reporting year), 2023-24 Q1 (its quarter) or 2024-01 (a "
                       "month). Value: a whole number for a count."),
        ))


def _import_page(ctx: Ctx, form: Form, values: Mapping[str, str] | None = None,
                 errors: Mapping[str, str] | None = None, status: int = 200) -> Response:
    """The upload form, and the measures and areas a file may name (the file's codes)."""
    return deps.render(ctx, "figures_import.html", status, title=form.title, form=form,
                       values=dict(values or {}), errors=dict(errors or {}),
                       breadcrumbs=list(form.breadcrumbs),
                       measures=list(ctx.app.figures.measures.values()),
                       areas=ctx.app.admin.areas(ctx.login))


@router.get("/figures/import")
def import_page(ctx: SignedInUser) -> Response:
    if "figures.import" not in ctx.app.casework.menu(ctx.login):
        return deps.not_found(ctx)
    return _import_page(ctx, _import_form())


@router.post("/figures/import")
async def import_figures(request: Request, ctx: SignedInUser) -> Response:
    def act(v: dict[str, str], name: str, text: str) -> str:
        result = ctx.app.figures.import_csv(text, ctx.login)
        return (f"/figures?done=import&added={result.added}&replaced={result.replaced}"
                f"&unchanged={result.unchanged}")

    return await submit_upload(request, ctx, _import_form, act, _import_page)
