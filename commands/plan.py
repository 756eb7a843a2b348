"""``safeguard plan`` and ``safeguard figures``: the business plan (Appendix C of the annual
report: priorities, outcomes, actions, quarterly RAG updates) and the figures the report takes
from other systems."""

from __future__ import annotations

from typing import Any

import click

from commands._common import _app, _emit, _runtime, json_option


def _read(path: str) -> str:
    """The file's text; a missing or unreadable file is one line, exit 2."""
    from pathlib import Path

    from engine.core.errors import UsageError

    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text (save it as UTF-8 CSV)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _action_lines(view: Any) -> list[str]:
    lines = [f"{view.ref}  {view.rating.text}",
             f"  Priority: {view.priority}",
             f"  Outcome: {view.outcome}",
             f"  Action: {view.summary}",
             f"  Timescale: {view.due_on.isoformat()}   Responsible: {view.responsible}   "
             f"Owner: {view.owner}"]
    if view.update:
        lines.append(f"  Update ({view.updated_on.isoformat()}): {view.update}")
    return lines


def _plan_text(views: list[Any], history: bool) -> str:
    if not views:
        return "No business plan actions (import a plan with 'safeguard plan import FILE')."
    lines: list[str] = []
    for view in views:
        lines += _action_lines(view)
        if history:
            lines.append("  RAG history:" if view.history else "  RAG history: no updates")
            from engine.core.clock import show_instant

            lines += [f"    {show_instant(h.at)} {h.by}: {h.rag.capitalize()}, {h.note}"
                      for h in view.history]
    counts: dict[str, int] = {}
    for view in views:
        counts[view.rating.word] = counts.get(view.rating.word, 0) + 1
    red_by_rule = sum(1 for v in views if v.rating.by_rule)
    lines.append(f"{len(views)} action(s): " + ", ".join(f"{n} {w}" for w, n in
                                                        sorted(counts.items()))
                 + (f" ({red_by_rule} red by rule)" if red_by_rule else ""))
    return "\n".join(lines)


@click.group()
def plan() -> None:
    """The business plan: priorities, outcomes and actions with quarterly RAG updates."""


@plan.command("import")
@click.argument("file", metavar="FILE.csv|FILE.yaml")
@click.option("--from", "plan_from", metavar="DATE",
              help="The day the plan starts (default: today): the first quarterly update "
                   "falls due 13 weeks after it.")
@json_option
def plan_import(file: str, plan_from: str | None, as_json: bool) -> None:
    """Import the plan's actions (all or none; the same plan again changes nothing)."""
    result = _app().plan.import_plan(file, _read(file), _runtime().actor_name, plan_from)
    _emit(as_json, result.to_json(), lambda: (
        f"{len(result.added)} action(s) added"
        + (f": {', '.join(result.added)}" if result.added else "")
        + (f"; {len(result.unchanged)} already in the plan, unchanged"
           if result.unchanged else "")))


@plan.command("show")
@click.argument("action", required=False)
@json_option
def plan_show(action: str | None, as_json: bool) -> None:
    """The plan as it stands today (or one ACTION with its RAG history)."""
    views = _app().plan.actions(_runtime().actor_name, action)
    _emit(as_json, [v.to_json() for v in views], lambda: _plan_text(views, action is not None))


@plan.command("update")
@click.argument("action")
@click.option("--rag", required=True, type=click.Choice(["blue", "green", "amber", "red"]),
              help="Blue complete (closes the action), green on track, amber at risk, red "
                   "off track.")
@click.option("--note", required=True, help="What has happened since the last update.")
@click.option("--on", "on", metavar="DATE", help="The day of the update (default: today).")
@json_option
def plan_update(action: str, rag: str, note: str, on: str | None, as_json: bool) -> None:
    """Record an action's update: its RAG rating and what has happened."""
    view = _app().plan.update(action, rag, note, _runtime().actor_name, on)
    _emit(as_json, view.to_json(), lambda: _plan_text([view], False))


@click.group()
def figures() -> None:
    """Figures from other systems (MASH contacts, children looked after, training, ...)."""


@figures.command("import")
@click.argument("file", metavar="FILE.csv")
@json_option
def figures_import(file: str, as_json: bool) -> None:
    """Import figures from a CSV: measure, area, period, value, source (all rows or none)."""
    result = _app().figures.import_csv(_read(file), _runtime().actor_name)
    _emit(as_json, result.to_json(), lambda: (
        f"{result.added} figure(s) added, {result.replaced} replaced (the old ones kept), "
        f"{result.unchanged} unchanged"))


@figures.command("list")
@click.option("--measure", help="Only this measure (its code).")
@click.option("--period", help="Only this period, e.g. 2023-24.")
@click.option("--all", "include_replaced", is_flag=True,
              help="Also the figures a later import replaced.")
@json_option
def figures_list(measure: str | None, period: str | None, include_replaced: bool,
                 as_json: bool) -> None:
    """The figures held, with their source and who imported them when."""
    rows = _app().figures.figures(_runtime().actor_name, measure, period, include_replaced)

    def text() -> str:
        if not rows:
            return "No figures (import them with 'safeguard figures import FILE.csv')."
        out = [f"{r.period:<11} {r.label} ({r.area_label}): {r.value}  "
               f"[{r.source}; {r.imported_by}, {r.imported_at:%Y-%m-%d %H:%M}"
               + (f"; replaced {r.replaced_at:%Y-%m-%d %H:%M}" if r.replaced_at else "")
               + "]" for r in rows]
        return "\n".join([*out, f"{len(rows)} figure(s)"])

    _emit(as_json, [r.to_json() for r in rows], text)
