"""Renderers of a :class:`~engine.apps.report.figures.Report`: Markdown, HTML (with bar charts as
inline SVG, drawn here on the server; no script, no network; print-friendly), CSV and JSON.
Presentation only: every number comes from the report as it is given.
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any

from engine.apps.report.figures import Report, Section

FORMATS = ("markdown", "html", "csv", "json")


def render(report: Report, fmt: str) -> str:
    if fmt == "markdown":
        return markdown(report)
    if fmt == "html":
        return html_page(report)
    if fmt == "csv":
        return csv_text(report)
    return json.dumps(report.to_json(), indent=2, default=str) + "\n"


def _show(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _title(report: Report) -> str:
    return (f"Annual report figures, {report.start.isoformat()} to "
            f"{report.end.isoformat()}")


def markdown(report: Report) -> str:
    out = [f"# {_title(report)}", "",
           "Counts and case references only: no child-identifying data.", ""]
    for s in report.sections:
        out += [f"## {s.title}", "", "| Figure | Value |", "|---|---:|"]
        out += [f"| {label} | {_show(v)} |" for _, label, v in s.figures]
        out.append("")
        for title, columns, rows in s.tables:
            if not rows:
                continue
            out += [f"**{title}**", "", "| " + " | ".join(columns) + " |",
                    "|" + "---|" * len(columns)]
            out += ["| " + " | ".join(_show(v) for v in r) + " |" for r in rows]
            out.append("")
    return "\n".join(out)


def csv_text(report: Report) -> str:
    """One row per figure (section, figure, label, value), then table rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "figure", "label", "value"])
    for s in report.sections:
        for key, label, value in s.figures:
            writer.writerow([s.key, key, label, "" if value is None else value])
    for s in report.sections:
        for title, columns, rows in s.tables:
            for r in rows:
                writer.writerow([s.key, title, *[f"{c}={v}" for c, v in
                                                  zip(columns, r, strict=True)]])
    return buffer.getvalue()


def bar_chart(title: str, bars: list[tuple[str, int]], width: int = 520) -> str:
    """A horizontal bar chart as inline SVG (greys and one colour; prints in black)."""
    row, label_w, pad = 26, 170, 8
    height = row * len(bars) + 40
    top = max([v for _, v in bars] + [1])
    scale = (width - label_w - 60) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-label="{html.escape(title)}">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold">'
             f'{html.escape(title)}</text>']
    for i, (label, value) in enumerate(bars):
        y = 30 + i * row
        w = max(int(value * scale), 1 if value else 0)
        parts.append(f'<text x="{label_w - pad}" y="{y + 16}" font-size="12" '
                     f'text-anchor="end">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{row - 10}" '
                     'fill="#1f5f8b" stroke="#000" stroke-width="0.5"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 16}" font-size="12">'
                     f'{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 50em; margin: 2em auto;
       color: #111; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #999; padding: 0.2em 0.6em; text-align: left; }
td.n { text-align: right; }
figure { margin: 0.5em 0 1em; }
@media print { body { margin: 0; max-width: none; } section { break-inside: avoid; }
  rect { fill: #555 !important; } }
"""


def _section_html(s: Section) -> str:
    parts = [f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>',
             "<table><tr><th>Figure</th><th>Value</th></tr>"]
    parts += [f"<tr><td>{html.escape(label)}</td><td class=\"n\">{html.escape(_show(v))}"
              "</td></tr>" for _, label, v in s.figures]
    parts.append("</table>")
    if s.chart is not None:
        parts.append(f"<figure>{bar_chart(*s.chart)}</figure>")
    for title, columns, rows in s.tables:
        if not rows:
            continue
        parts.append(f"<h3>{html.escape(title)}</h3><table><tr>"
                     + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(_show(v))}</td>" for v in r) + "</tr>"
                  for r in rows]
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def html_body(report: Report) -> str:
    """The report's sections as HTML (tables and inline SVG charts), for a page of its own
    or another site's layout (the web application's)."""
    return "\n".join(_section_html(s) for s in report.sections)


def html_page(report: Report) -> str:
    title = html.escape(_title(report))
    body = html_body(report)
    return (f"<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{CSS}</style></head><body>\n<h1>{title}</h1>\n"
            "<p>Counts and case references only: no child-identifying data.</p>\n"
            f"{body}\n</body></html>\n")
