"""``safeguard status`` (the morning dashboard) and ``safeguard report`` (the annual
report's figures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from commands._common import _app, _emit, _runtime, json_option

if TYPE_CHECKING:
    from engine.apps.report.document import AnnualReport


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
              type=click.Choice(["markdown", "html", "csv", "json", "docx", "pdf"]),
              help="docx (Word) and pdf are binary: write them with --out.")
@click.option("--narrative", metavar="DIR", type=click.Path(),
              help="Folder of the partnership's own words in Markdown: foreword.md, "
                   "scrutiny.md (the independent scrutineer's statement), learning.md "
                   "(learning from reviews), priorities.md (priorities for next year). A "
                   "missing file leaves a marked placeholder.")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write to FILE (default: stdout; docx and pdf never to a terminal).")
def report_annual(from_date: str, to_date: str, fmt: str, narrative: str | None,
                  out: str | None) -> None:
    """The partnership's annual report for the period: numbered chapters like the
    published report, every figure for the partnership and each area beside the previous
    year, charts, and the partnership's narrative (counts and references only;
    partnership managers)."""
    import sys

    from commands._common import _check_writable
    from engine.apps.report.figures import check_period
    from engine.apps.report.narrative import read_folder
    from engine.apps.report.service import annual_report
    from engine.core.clock import parse_date
    from engine.core.errors import UsageError

    start, end = parse_date(from_date), parse_date(to_date)
    check_period(start, end)
    binary = fmt in ("docx", "pdf")
    if binary and out in (None, "-") and _is_terminal():
        raise UsageError(f"--format {fmt} is a binary file: give --out FILE "
                         f"(e.g. --out report.{fmt}) rather than write it to a terminal")
    _check_writable(out)
    texts = read_folder(narrative)
    if fmt == "pdf":
        from engine.apps.report.pdf import require_chromium

        require_chromium()  # before anything is read or audited
    result = annual_report(_app().engine, _runtime().actor_name, start, end, texts)
    if binary:
        data = _binary(result, fmt)
        if out in (None, "-"):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            return
        with open(str(out), "wb") as handle:
            handle.write(data)
        click.echo(f"Wrote {out}.")
        return
    from engine.apps.report.render import render

    text = render(result, fmt)
    if out in (None, "-"):
        click.echo(text, nl=False)
        return
    with open(str(out), "w", encoding="utf-8") as handle:
        handle.write(text)
    click.echo(f"Wrote {out}.")


def _is_terminal() -> bool:
    import sys

    return sys.stdout.isatty()


def _binary(result: AnnualReport, fmt: str) -> bytes:
    if fmt == "docx":
        from engine.apps.report.docx_out import docx_bytes

        return docx_bytes(result)
    from engine.apps.report.pdf import pdf_bytes
    from engine.apps.report.render import html_page

    return pdf_bytes(html_page(result))
