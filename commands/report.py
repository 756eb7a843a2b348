"""``safeguard status`` (the morning dashboard) and ``safeguard report`` (the annual
report's figures)."""

from __future__ import annotations

import click

from commands._common import _app, _emit, _runtime, json_option


@click.command()
@json_option
def status(as_json: bool) -> None:
    """The morning dashboard: due, overdue, undelivered, next MACE, late reviews."""
    from engine.apps.report.status import dashboard, dashboard_text

    runtime = _runtime()
    board = dashboard(_app().engine, runtime.actor_name)
    _emit(as_json, board.to_json(), lambda: dashboard_text(board))


@click.group()
def report() -> None:
    """Reports: the annual report's figures."""


@report.command("annual")
@click.option("--from", "from_date", required=True, metavar="DATE",
              help="First day of the period (e.g. 2023-04-01).")
@click.option("--to", "to_date", required=True, metavar="DATE",
              help="Last day of the period (e.g. 2024-03-31).")
@click.option("--format", "fmt", default="markdown", show_default=True,
              type=click.Choice(["markdown", "html", "csv", "json"]))
def report_annual(from_date: str, to_date: str, fmt: str) -> None:
    """The figures partnerships publish every year, for the period (counts and references
    only; partnership managers)."""
    from engine.apps.report.figures import check_period
    from engine.apps.report.render import render
    from engine.apps.report.service import annual_report
    from engine.core.clock import parse_date

    start, end = parse_date(from_date), parse_date(to_date)
    check_period(start, end)
    result = annual_report(_app().engine, _runtime().actor_name, start, end)
    click.echo(render(result, fmt), nl=False)
