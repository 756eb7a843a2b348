"""Renderers of an :class:`~engine.apps.report.document.AnnualReport`: Markdown, HTML (charts as
inline SVG drawn on the server; no script, no network; a print stylesheet), CSV and JSON.
The Word document is :mod:`engine.apps.report.docx_out`, the PDF :mod:`engine.apps.report.pdf`.
Presentation only: every number comes from the report as it is given.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from typing import Any

from engine.apps.report.document import AnnualReport, Chapter, Compared, SectionResult
from engine.apps.report.figures import STATUS_PALETTE, Section, chart_of

FORMATS = ("markdown", "html", "csv", "json", "docx", "pdf")
TEXT_FORMATS = ("markdown", "html", "csv", "json")
NONE = "not available"
NO_RECORDS = "No records in this period."
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
NOTICE = "Counts and case references only: no child-identifying data."

# RAG and status words as tags: the palette's light fill and dark ink, with the word itself.
TAGS = {word: (fill, ink) for word, (_, fill, ink) in STATUS_PALETTE.items()}
RAG_WORDS = ("Red", "Amber", "Green", "Blue")


def render(report: AnnualReport, fmt: str) -> str:
    if fmt == "markdown":
        return markdown(report)
    if fmt == "html":
        return html_page(report)
    if fmt == "csv":
        return csv_text(report)
    return json.dumps(report.to_json(), indent=2, default=str) + "\n"


def show(value: Any) -> str:
    """A value as people read it: 'not available' for None, one decimal place, dates in
    words ('21 June 2024')."""
    if value is None:
        return NONE
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
        return f"{day.day} {day:%B %Y}"
    return str(value)


def show_change(value: Any) -> str:
    if value is None:
        return NONE
    if value == 0:
        return "no change"
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return f"+{text}" if value > 0 else text


def area_cell(c: Compared | None) -> str:
    """An area's figure with its change on the previous year, in one cell."""
    if c is None:
        return "no records"
    if c.value is None:
        return NONE
    if c.previous is None:  # nothing to compare with: the value alone
        return show(c.value)
    return f"{show(c.value)} (change: {show_change(c.change)})"


BY_AREA = "By area (change on the previous year in brackets)"
NOT_BY_AREA = "Counted for the partnership only, not by area."


def by_area(s: SectionResult, report: AnnualReport) -> bool:
    """Whether the section has an area's figure to show (the business plan, say, belongs
    to the partnership: a table of 'no records' for every area would say nothing)."""
    return bool(report.areas) and any(c is not None for r in s.rows for c in r.areas.values())


def tag_of(text: str) -> str | None:
    """The RAG or status word a cell shows, if any: the word itself, or a rating in words
    ('Amber (at risk)', 'Red (past its timescale of ...)')."""
    if text in TAGS:
        return text
    word = text.split(" (", 1)[0]
    return word if word in RAG_WORDS and text.startswith(f"{word} (") else None


def title(report: AnnualReport) -> str:
    return f"Annual report {report.label}"


def subtitle(report: AnnualReport) -> str:
    return (f"{report.start.day} {report.start:%B %Y} to {report.end.day} "
            f"{report.end:%B %Y}, compared with {report.previous_label}")


def figure_table(s: SectionResult, report: AnnualReport) -> tuple[list[str], list[list[str]]]:
    columns = ["Figure", report.label, report.previous_label, "Change"]
    if s.previous.empty:
        columns[2] += " (no records)"
    rows = [[r.label, show(r.partnership.value), show(r.partnership.previous),
             show_change(r.partnership.change)] for r in s.rows]
    return columns, rows


def area_table(s: SectionResult, report: AnnualReport) -> tuple[list[str], list[list[str]]]:
    names = [name for _, name in report.areas]
    rows = [[r.label, *(area_cell(r.areas.get(n)) for n in names)] for r in s.rows]
    return ["Figure", *names], rows


GROUPED = 2  # leading word columns shown once for a run of rows (priority, outcome)


def tables(section: Section) -> list[tuple[str, list[str], list[list[str]]]]:
    """The section's tables as the document shows them: values in words, and in the first
    two columns (words, not numbers) a value the row above already shows left blank, so a
    plan's priority and outcome read once for their actions (CSV and JSON keep every
    value)."""
    out = []
    for t, c, rows in section.tables:
        if not rows:
            continue
        shown = [[show(v) for v in r] for r in rows]
        words = [i for i in range(min(GROUPED, len(c)))
                 if not any(numeric(r[i]) for r in shown)]
        grouped = [list(r) for r in shown]
        for above, row, out_row in zip(shown, shown[1:], grouped[1:], strict=False):
            for i in words:
                if i != words.index(i) or row[:i + 1] != above[:i + 1]:
                    break  # only a leading run, and only while the columns before repeat
                out_row[i] = ""
        out.append((t, list(c), grouped))
    return out


# -- Markdown -----------------------------------------------------------------------------
def _md_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    def cell(v: str) -> str:
        return v.replace("|", "\\|")
    def align(i: int) -> str:  # numbers to the right, words to the left
        return "---:|" if i and rows and all(numeric(r[i]) for r in rows) else "---|"
    return ["| " + " | ".join(cell(c) for c in columns) + " |",
            "|" + "".join(align(i) for i in range(len(columns))),
            *("| " + " | ".join(cell(v) for v in r) + " |" for r in rows), ""]


def markdown(report: AnnualReport) -> str:
    out = [f"# {title(report)}", "", subtitle(report) + ".", "", NOTICE, ""]
    for chapter in report.chapters:
        out += [f"## {chapter.heading}", ""]
        if chapter.narrative is not None:
            from engine.apps.report.narrative import demoted

            out += [demoted(chapter.narrative.strip()), ""]
        elif chapter.placeholder:
            out += [f"> **[{chapter.placeholder}]**", ""]
        for s in chapter.sections:
            out += [f"### {s.number} {s.title}", ""]
            if s.empty:
                out += [NO_RECORDS, ""]
                continue
            out += _md_table(*figure_table(s, report))
            if by_area(s, report):
                out += ["**By area** (change on the previous year in brackets)", ""]
                out += _md_table(*area_table(s, report))
            elif report.areas:
                out += [NOT_BY_AREA, ""]
            for t, columns, rows in tables(s.current):
                out += [f"**{t}**", ""] + _md_table(columns, rows)
    return "\n".join(out)


# -- CSV ----------------------------------------------------------------------------------
def csv_text(report: AnnualReport) -> str:
    """One row per figure and scope (the partnership, then each area): its value, the
    previous year's and the change (empty when not available); then the tables' rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "figure", "label", "scope", "value", "previous", "change"])

    def blank(v: Any) -> Any:
        return "" if v is None else v

    for s in report.sections:
        for r in s.rows:
            p = r.partnership
            writer.writerow([s.key, r.key, r.label, "Partnership", blank(p.value),
                             blank(p.previous), blank(p.change)])
            for name, c in r.areas.items():
                if c is not None:
                    writer.writerow([s.key, r.key, r.label, name, blank(c.value),
                                     blank(c.previous), blank(c.change)])
    for s in report.sections:
        for t, columns, rows in s.current.tables:
            for row in rows:
                writer.writerow([s.key, t, *[f"{c}={show(v)}" for c, v in
                                             zip(columns, row, strict=True)]])
    return buffer.getvalue()


# -- HTML ---------------------------------------------------------------------------------
CSS = """
.report-doc { font-family: Arial, Helvetica, sans-serif; color: #0b0c0c; line-height: 1.4; }
.report-doc h2 { font-size: 1.5em; border-bottom: 2px solid #1d70b8; padding-bottom: 0.2em;
  margin-top: 1.6em; }
.report-doc h3 { font-size: 1.15em; margin-top: 1.2em; }
.report-doc table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.9em; }
.report-doc caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
.report-doc th, .report-doc td { border: 1px solid #b1b4b6; padding: 0.25em 0.6em;
  text-align: left; vertical-align: top; }
.report-doc th { background: #f3f2f1; }
.report-doc td.n { text-align: right; white-space: nowrap; }
.report-doc .none { font-style: italic; color: #505a5f; }
.report-doc .placeholder { border: 2px dashed #f47738; background: #fff7f0; padding: 0.6em 1em;
  font-weight: bold; }
.report-doc ul.contents { list-style: none; padding-left: 0; }
.report-doc .tag { display: inline-block; padding: 0 0.4em; font-weight: bold; }
.report-doc figure { margin: 0.5em 0 1.2em; }
.report-doc figure svg { max-width: 100%; height: auto; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  .report-doc section.section { break-inside: avoid; }
  .report-doc h2 { break-before: page; }
  .report-doc h2.first { break-before: auto; }
  .report-doc .tag, .report-doc th { -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
  header, footer, form, nav.breadcrumbs, .no-print, .skip-link { display: none !important; }
}
"""

PAGE_CSS = """
body { max-width: 60em; margin: 2em auto; padding: 0 1em; }
"""


def tag(value: str, word: str | None = None) -> str:
    """A RAG or status word with its colour (the word is always there)."""
    fill, ink = TAGS[word or value]
    return (f'<strong class="tag" style="background:{fill};color:{ink}">'
            f"{html.escape(value)}</strong>")


def _cell(value: str, numeric: bool = False) -> str:
    word = tag_of(value)
    inner = tag(value, word) if word else html.escape(value)
    return f'<td class="n">{inner}</td>' if numeric else f"<td>{inner}</td>"


def _table(caption: str | None, columns: list[str], rows: list[list[str]],
           numeric_from: int = 1) -> str:
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f'<th scope="col">{html.escape(c)}</th>'
                                          for c in columns) + "</tr></thead><tbody>")
    for r in rows:
        parts.append("<tr>" + "".join(_cell(v, i >= numeric_from and numeric(v))
                                      for i, v in enumerate(r)) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def numeric(v: str) -> bool:
    """A cell to right-align: a number (with its change) or 'not available'."""
    head = v.split(" ")[0].lstrip("+-")
    return head.replace(".", "", 1).isdigit() or v in (NONE, "no change", "no records")


def _section_html(s: SectionResult, report: AnnualReport) -> str:
    from engine.apps.report import charts

    parts = [f'<section class="section" id="{html.escape(s.key)}">'
             f"<h3>{html.escape(s.number)} {html.escape(s.title)}</h3>"]
    if s.empty:
        parts.append(f'<p class="none">{NO_RECORDS}</p></section>')
        return "".join(parts)
    parts.append(_table("Figures", *figure_table(s, report)))
    if by_area(s, report):
        parts.append(_table(BY_AREA, *area_table(s, report)))
    elif report.areas:
        parts.append(f'<p class="none">{NOT_BY_AREA}</p>')
    chart = chart_of(s.current)
    if chart is not None:
        parts.append(f"<figure>{charts.svg(chart)}</figure>")
    for t, columns, rows in tables(s.current):
        parts.append(_table(t, columns, rows))
    parts.append("</section>")
    return "".join(parts)


def _chapter_html(chapter: Chapter, report: AnnualReport, first: bool) -> str:
    from engine.apps.report.narrative import to_html

    first_class = ' class="first"' if first else ""
    parts = [f'<h2{first_class} id="chapter-{chapter.number}">'
             f"{html.escape(chapter.heading)}</h2>"]
    if chapter.narrative is not None:
        parts.append(f'<div class="narrative">{to_html(chapter.narrative)}</div>')
    elif chapter.placeholder:
        parts.append(f'<p class="placeholder">[{html.escape(chapter.placeholder)}]</p>')
    parts += [_section_html(s, report) for s in chapter.sections]
    return "\n".join(parts)


def html_body(report: AnnualReport) -> str:
    """The report's chapters as HTML (tables and inline SVG charts), for a page of its own
    or another site's layout (the web application's), with its own styles."""
    contents = "".join(f'<li><a href="#chapter-{c.number}">{html.escape(c.heading)}</a></li>'
                       for c in report.chapters)
    chapters = "\n".join(_chapter_html(c, report, i == 0)
                         for i, c in enumerate(report.chapters))
    return (f'<style>{CSS}</style><div class="report-doc">'
            f'<nav aria-label="Contents"><h2 class="first">Contents</h2><ul class="contents">'
            f"{contents}</ul></nav>\n{chapters}</div>")


def html_page(report: AnnualReport) -> str:
    heading = html.escape(title(report))
    return (f"<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<title>{heading}</title><style>{PAGE_CSS}</style></head><body>\n"
            f'<h1 style="font-family: Arial, sans-serif">{heading}</h1>\n'
            f'<p style="font-family: Arial, sans-serif">{html.escape(subtitle(report))}. '
            f"{NOTICE}</p>\n{html_body(report)}\n</body></html>\n")
