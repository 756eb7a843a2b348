"""The annual report as a Word document (python-docx): the chapters as headings, the
partnership's narrative as paragraphs, every section's figures and tables as Word tables
(RAG and status words shaded in their colour) and the charts as PNG images, so a
partnership can finish and sign off the report in Word. python-docx is imported here only.
"""

from __future__ import annotations

import io
from typing import Any

from engine.apps.report import render as r
from engine.apps.report.document import AnnualReport, SectionResult
from engine.apps.report.figures import chart_of

STYLES = {"bullet": "List Bullet", "number": "List Number", "quote": "Quote"}


def docx_bytes(report: AnnualReport) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(10)
    doc.core_properties.title = r.title(report)
    doc.add_heading(r.title(report), 0)
    doc.add_paragraph(f"{r.subtitle(report)}. {r.NOTICE}")
    for chapter in report.chapters:
        doc.add_heading(chapter.heading, 1)
        if chapter.narrative is not None:
            _narrative(doc, chapter.narrative)
        elif chapter.placeholder:
            para = doc.add_paragraph()
            run = para.add_run(f"[{chapter.placeholder}]")
            run.bold = True
            _shade_paragraph(para, "FCD6C3")
        for s in chapter.sections:
            _section(doc, s, report)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _narrative(doc: Any, text: str) -> None:
    from engine.apps.report.narrative import blocks

    for kind, words in blocks(text):
        if kind.startswith("heading"):
            doc.add_heading(words, min(int(kind[7:]) - 1, 9))  # heading3 -> Word's 2
        else:
            doc.add_paragraph(words, style=STYLES.get(kind))


def _section(doc: Any, s: SectionResult, report: AnnualReport) -> None:
    from docx.shared import Inches

    from engine.apps.report import charts

    doc.add_heading(f"{s.number} {s.title}", 2)
    if s.empty:
        doc.add_paragraph(r.NO_RECORDS).runs[0].italic = True
        return
    _table(doc, "Figures", *r.figure_table(s, report))
    if r.by_area(s, report):
        _table(doc, r.BY_AREA, *r.area_table(s, report))
    elif report.areas:
        doc.add_paragraph(r.NOT_BY_AREA).runs[0].italic = True
    chart = chart_of(s.current)
    if chart is not None:
        doc.add_picture(io.BytesIO(charts.png(chart)), width=Inches(6.3))
    for title, columns, rows in r.tables(s.current):
        _table(doc, title, columns, rows)


def _table(doc: Any, caption: str, columns: list[str], rows: list[list[str]]) -> None:
    doc.add_paragraph(caption, style="Caption")
    table = doc.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, columns, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        _shade(cell, "F3F2F1")
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    for row in rows:
        cells = table.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = text
            if i and r.numeric(text):
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            word = r.tag_of(text)
            if word:
                fill, ink = r.TAGS[word]
                _shade(cell, fill.lstrip("#").upper())
                run = cell.paragraphs[0].runs[0]
                run.bold = True
                from docx.shared import RGBColor

                run.font.color.rgb = RGBColor.from_string(ink.lstrip("#").upper())


def _shading(fill: str) -> Any:
    """A ``w:shd`` element: a plain background of colour ``fill`` (hex, no '#')."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    return shading


def _shade(cell: Any, fill: str) -> None:
    cell._tc.get_or_add_tcPr().append(_shading(fill))


def _shade_paragraph(para: Any, fill: str) -> None:
    para._p.get_or_add_pPr().append(_shading(fill))
