"""The annual report as a document: per area and previous-year figures counted by hand from
the known dataset (``dataset.py``), charts, narrative, empty years, and its formats (the
.docx read back with python-docx, the HTML rendered in Chromium to a PNG to look at)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.app import App
from engine.apps.report.document import AnnualReport, previous_period
from engine.apps.report.figures import Chart, Section
from engine.apps.report.render import render
from engine.apps.report.service import annual_report
from engine.apps.report.sources import default_sources
from engine.core.clock import FixedClock
from engine.core.store.database import Database
from tests.conftest import london, make_app, seed_access
from tests.report.dataset import END, PREVIOUS, START, build

CHROMIUM = Path("/usr/bin/chromium")
NARRATIVE = {"foreword": "This year the partnership **listened**.\n\n- one\n- two\n",
             "priorities": "## Next year\n\n1. Neglect\n2. Exploitation\n\n<script>x</script>\n"}
CF, WF = "Cumberland", "Westmorland and Furness"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The known dataset on SQLite, once for the module's read-only tests."""
    folder = tmp_path_factory.mktemp("annual")
    database = Database(f"sqlite:///{folder / 'report.db'}")
    database.upgrade()
    seed_access(database)
    clock = FixedClock(london("2024-06-03 09:00"))
    app = make_app(database, clock, folder / "head.json")
    build(app, clock)
    clock.set(london("2025-04-07 09:00"))
    yield app
    app.close()
    database.dispose()


@pytest.fixture(scope="module")
def report(built: App) -> AnnualReport:
    return annual_report(built.engine, "mgr", START, END, NARRATIVE)


def _figures(data: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    section = next(s for s in data["sections"] if s["key"] == key)
    return {f["key"]: f for f in section["figures"]}


def test_previous_year_and_change_for_the_partnership(report: AnnualReport) -> None:
    data = json.loads(render(report, "json"))
    assert data["period"] == "2024/25" and data["previous"] == {
        "from": "2023-04-01", "to": "2024-03-31", "period": "2023/24"}
    rr = _figures(data, "rapid_reviews")
    # 2023/24: PR-E only (notified and sent on time, no further review).
    assert [(rr[k]["value"], rr[k]["previous"], rr[k]["change"]) for k in (
        "notifications", "notifications_on_time", "held", "on_time",
        "outcome_no_further_review", "outcome_lcspr")] == [
        (4, 1, 3), (3, 1, 2), (3, 1, 2), (2, 1, 1), (1, 1, 0), (2, 0, 2)]
    cerar = _figures(data, "cerar")
    # 2023/24: K6 referred and closed; none open at its end. 2024/25: K1-K5 and W1.
    assert [(cerar[k]["value"], cerar[k]["previous"], cerar[k]["change"]) for k in (
        "open_at_end", "referrals", "closed", "level_medium")] == [
        (5, 0, 5), (6, 1, 5), (0, 1, -1), (2, 0, 2)]
    # No missing episode, MACE meeting or LCSPR in 2023/24: not available, not zero.
    missing = _figures(data, "missing")
    assert missing["episodes"]["value"] == 5 and missing["episodes"]["previous"] is None
    assert missing["episodes"]["change"] is None
    assert missing["rhi_within_72h"]["value"] == 2  # K1's, W1's
    assert missing["rhi_within_72h_pct"]["value"] == 40.0
    sections = {s["key"]: s for s in data["sections"]}
    assert sections["missing"]["previous_empty"] and sections["mace"]["previous_empty"]
    assert not sections["cerar"]["previous_empty"]
    # Child deaths. 2024/25: D3, D4 (Cumberland), D5 (W&F) notified; D2 (a death of
    # 2023/24), D3, D4 reviewed on two days. 2023/24: D1, D2 notified; D1 reviewed.
    deaths = _figures(data, "child_deaths")
    assert {k: (f["value"], f["previous"], f["change"]) for k, f in deaths.items()} == {
        "deaths_notified": (3, 2, 1), "unexpected": (1, 1, 0),
        "joint_agency_responses": (1, 1, 0), "reviews_completed": (3, 1, 2),
        "reviews_of_deaths_in_period": (2, 1, 1), "reviews_of_earlier_deaths": (1, 0, 1),
        "modifiable_factors": (2, 0, 2), "cdop_meetings": (2, 1, 1)}
    # MASH contacts: the areas' sum (7124 + 5502, 6900 + 5600); training: the partnership's.
    other = _figures(data, "other_systems")
    assert {k: (f["value"], f["previous"], f["change"]) for k, f in other.items()} == {
        "mash_contacts": (12626, 12500, 126), "training_events": (91, 80, 11)}
    # The plan began in April 2024: nothing to compare with.
    plan = _figures(data, "business_plan")
    assert sections["business_plan"]["previous_empty"]
    assert {k: (f["value"], f["previous"]) for k, f in plan.items()} == {
        "actions": (5, None), "rag_blue": (1, None), "rag_green": (1, None),
        "rag_amber": (1, None), "rag_red": (1, None), "red_by_rule": (1, None),
        "not_rated": (1, None), "withdrawn": (0, None)}
    rows = {r[2].split(".")[0]: r[-1] for r in sections["business_plan"]["tables"][0]["rows"]}
    assert rows == {"BP-1": "Red (past its timescale of 30 September 2024, no update since "
                            "3 June 2024)",
                    "BP-2": "Amber (at risk)", "BP-3": "Blue (complete)",
                    "BP-4": "Not yet rated", "BP-5": "Green (on track)"}


def test_every_figure_per_area(report: AnnualReport) -> None:
    def by_area(name: str) -> dict[str, Any]:
        return {f"{s.key}.{r.key}": (c.value, c.previous, c.change)
                for s in report.sections for r in s.rows
                if (c := r.areas.get(name)) is not None}

    wf, cf = by_area(WF), by_area(CF)
    # Westmorland and Furness: W1 (medium; one episode, RHI the same day) this year; PR-E
    # last year, so its CERAR and missing figures have no previous year to compare with.
    assert {k: v for k, v in wf.items() if k.startswith(("cerar.", "missing."))} == {
        "cerar.open_at_end": (1, None, None), "cerar.level_high": (0, None, None),
        "cerar.level_medium": (1, None, None), "cerar.level_low": (0, None, None),
        "cerar.level_not_assessed": (0, None, None), "cerar.referrals": (1, None, None),
        "cerar.stepped_down": (0, None, None), "cerar.closed": (0, None, None),
        "cerar.level_changes": (0, None, None), "cerar.reviews": (0, None, None),
        "missing.episodes": (1, None, None), "missing.children": (1, None, None),
        "missing.rhi_within_72h": (1, None, None), "missing.rhi_late": (0, None, None),
        "missing.rhi_declined": (0, None, None), "missing.rhi_outstanding": (0, None, None),
        "missing.rhi_within_72h_pct": (100.0, None, None),
        "missing.strategy_meetings": (0, None, None)}
    assert not any(k.startswith(("rapid_reviews.", "lcspr.", "mace.", "placed.")) for k in wf)
    rapid = next(s for s in report.sections if s.key == "rapid_reviews")
    assert rapid.area_empty == {CF: False, WF: True}
    # Cumberland: everything else; K6 (referred, closed) its only case last year.
    assert cf["rapid_reviews.notifications"] == (4, None, None)
    assert cf["cerar.open_at_end"] == (4, 0, 4) and cf["cerar.referrals"] == (5, 1, 4)
    assert cf["cerar.closed"] == (0, 1, -1) and cf["missing.episodes"] == (4, None, None)
    assert cf["missing.rhi_within_72h_pct"] == (25.0, None, None)
    assert cf["placed.placed_in_area_at_risk"] == (1, None, None)
    assert cf["actions.review_rag_red"] == (1, None, None)
    # MACE meetings serve the partnership: counted for it, not by area.
    assert cf["mace.held"] == (None, None, None) and cf["mace.decision_level_changed"][0] == 1
    # Child deaths: Cumberland D3, D4 this year (reviewed together), D1 last year; W&F D5
    # notified and D2 (last year's death) reviewed this year, D2 notified last year. The
    # panel serves the partnership: its meetings are not counted by area.
    assert {k: v for k, v in cf.items() if k.startswith("child_deaths.")} == {
        "child_deaths.deaths_notified": (2, 1, 1), "child_deaths.unexpected": (1, 0, 1),
        "child_deaths.joint_agency_responses": (1, 0, 1),
        "child_deaths.reviews_completed": (2, 1, 1),
        "child_deaths.reviews_of_deaths_in_period": (2, 1, 1),
        "child_deaths.reviews_of_earlier_deaths": (0, 0, 0),
        "child_deaths.modifiable_factors": (1, 0, 1),
        "child_deaths.cdop_meetings": (None, None, None)}
    assert {k: v for k, v in wf.items() if k.startswith("child_deaths.")} == {
        "child_deaths.deaths_notified": (1, 1, 0), "child_deaths.unexpected": (0, 1, -1),
        "child_deaths.joint_agency_responses": (0, 1, -1),
        "child_deaths.reviews_completed": (1, 0, 1),
        "child_deaths.reviews_of_deaths_in_period": (0, 0, 0),
        "child_deaths.reviews_of_earlier_deaths": (1, 0, 1),
        "child_deaths.modifiable_factors": (1, 0, 1),
        "child_deaths.cdop_meetings": (None, None, None)}
    # Figures from other systems: each area's MASH contacts; training events are the
    # partnership's only (not available by area, not 'no records').
    assert {k: v for k, v in cf.items() if k.startswith("other_systems.")} == {
        "other_systems.mash_contacts": (7124, 6900, 224),
        "other_systems.training_events": (None, None, None)}
    assert {k: v for k, v in wf.items() if k.startswith("other_systems.")} == {
        "other_systems.mash_contacts": (5502, 5600, -98),
        "other_systems.training_events": (None, None, None)}
    # The business plan is the partnership's: no area has its figures.
    assert not any(k.startswith("business_plan.") for k in (*cf, *wf))
    plan = next(s for s in report.sections if s.key == "business_plan")
    assert plan.area_empty == {CF: True, WF: True}
    # The areas add up to the partnership where a figure is counted by area.
    whole = report.flat()
    for key in ("cerar.open_at_end", "cerar.referrals", "missing.episodes",
                "rapid_reviews.held", "child_deaths.deaths_notified",
                "child_deaths.reviews_completed", "child_deaths.modifiable_factors",
                "other_systems.mash_contacts"):
        assert whole[key] == cf[key][0] + wf.get(key, (0,))[0], key


def test_charts_for_the_trends(report: AnnualReport) -> None:
    charts = {s["key"]: s["chart"] for s in json.loads(render(report, "json"))["sections"]}
    months = charts["missing"]
    assert months["categories"][0] == "Apr 2024" and months["categories"][-1] == "Mar 2025"
    # Returns: K1 11 and 21 Sep, K2 16 Sep; W1 5 Nov; K5 31 Mar.
    counts = dict(zip(months["categories"], months["series"][0]["values"], strict=True))
    assert {k: v for k, v in counts.items() if v} == {"Sep 2024": 3, "Nov 2024": 1,
                                                      "Mar 2025": 1}
    quarters = charts["cerar"]
    assert quarters["stacked"] and quarters["categories"] == [
        "Apr to Jun 2024", "Jul to Sep 2024", "Oct to Dec 2024", "Jan to Mar 2025"]
    levels = {s["name"]: s["values"] for s in quarters["series"]}
    # 30 Sep: K1, K2 high (K2 changed at MACE), K5 medium, K3 low, K4 not assessed;
    # from October K3 stepped down and W1 medium.
    assert levels == {"High": [0, 2, 2, 2], "Medium": [0, 1, 2, 2], "Low": [0, 1, 0, 0],
                      "Not yet assessed": [0, 1, 1, 1]}
    # Red: PR-A's A2 and MACE A3; amber, green: PR-A's A3, A4; blue: PR-A's A1, MACE A1, A2.
    assert charts["actions"]["series"][0]["values"] == [2, 1, 1, 3]
    # The child death trend: 2020/21 and 2021/22 hold nothing (left out, not zeros);
    # 2022/23 is imported (category 8: 2, category 10: 1); then the recorded reviews.
    trend = charts["child_deaths"]
    assert trend["kind"] == "bars" and len(trend["categories"]) == 10
    assert trend["categories"][7] == "8. Perinatal/neonatal event"
    by_year = {s["name"]: s["values"] for s in trend["series"]}
    assert list(by_year) == ["2022/23", "2023/24", "2024/25"]
    assert by_year["2022/23"] == [0, 0, 0, 0, 0, 0, 0, 2, 0, 1]
    assert by_year["2023/24"] == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]  # D1
    assert by_year["2024/25"] == [0, 0, 1, 1, 0, 0, 0, 0, 0, 1]  # D3, D4, D2
    section = next(s for s in report.sections if s.key == "child_deaths")
    _, columns, _ = section.current.tables[-1]
    assert columns == ("Category", "2020/21", "2021/22", "2022/23 from CDOP records",
                       "2023/24", "2024/25")
    plan = charts["business_plan"]
    assert plan["categories"] == ["Blue", "Green", "Amber", "Red"]
    assert plan["series"][0]["values"] == [1, 1, 1, 1]


class DeathsSource:
    """A stand-in for the child death source: a table of category x year, drawn as a
    chart by naming the table; nothing for one area."""

    key, title = "child_deaths", "Child death reviews"

    def load(self, conn: Any, start: dt.date, end: dt.date) -> Any:
        return start.year

    def build(self, loaded: Any, start: dt.date, end: dt.date, area: str | None) -> Section:
        s = Section(self.key, self.title)
        if area == "westmorland_furness" or loaded < 2024:
            return s
        s.add("deaths", "Deaths notified", 3)
        s.tables.append(("Deaths by category", ("Category", "2023/24", "2024/25"),
                         [("Sudden unexpected death", 1, 2), ("Perinatal", 0, 1)]))
        s.chart = "Deaths by category"
        return s


def test_a_source_from_another_module_takes_its_place_and_its_table_becomes_a_chart(
        built: App) -> None:
    got = annual_report(built.engine, "mgr", START, END,
                        sources=[*default_sources(), DeathsSource()])
    chapter = next(c for c in got.chapters if c.sections and c.sections[0].key ==
                   "child_deaths")
    assert chapter.title.startswith("Child Death Review") and chapter.sections[0].number == \
        f"{chapter.number}.1"
    deaths = got.sections[[s.key for s in got.sections].index("child_deaths")]
    assert deaths.rows[0].partnership.previous is None  # none a year earlier
    assert deaths.rows[0].areas == {CF: deaths.rows[0].areas[CF], WF: None}
    chart = next(s for s in json.loads(render(got, "json"))["sections"]
                 if s["key"] == "child_deaths")["chart"]
    assert chart["categories"] == ["Sudden unexpected death", "Perinatal"]
    assert [s["name"] for s in chart["series"]] == ["2023/24", "2024/25"]
    assert 'aria-label="Deaths by category"' in render(got, "html")


def test_a_year_with_no_data_says_so_section_by_section(built: App) -> None:
    empty = annual_report(built.engine, "mgr", dt.date(2019, 4, 1), dt.date(2020, 3, 31))
    assert all(s.empty for s in empty.sections) and empty.flat() == {}
    text = render(empty, "markdown")
    assert text.count("No records in this period.") == len(empty.sections) == len(
        default_sources())
    assert "| 0 |" not in text
    page = render(empty, "html")
    assert page.count("No records in this period.") == 10 and "<svg" not in page


def test_narrative_and_placeholders(report: AnnualReport) -> None:
    page = render(report, "html")
    assert "This year the partnership <strong>listened</strong>." in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # raw HTML shown as text
    assert "Placeholder: the independent scrutineer&#x27;s statement goes here" in page
    assert "<h4>Next year</h4>" in page  # its headings below its chapter's
    assert "scrutiny.md" in page and "learning.md" in page
    text = render(report, "markdown")
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles == ["## 1 Foreword", "## 2 Independent Scrutiny",
                      "## 3 Children and Young People in the Area",
                      "## 4 Missing, Exploited and Trafficked Children",
                      "## 5 Learning and Improvement",
                      "## 6 Local Child Safeguarding Practice Reviews (LCSPRs)",
                      "## 7 Child Death Review and the Child Death Overview Panel (CDOP)",
                      "## 8 Summary and Priorities for 2025/26",
                      "## Appendix C: Business Plan Delivery Plan, update as at 31 March "
                      "2025"]
    sections = [line for line in text.splitlines() if line.startswith("### ")]
    assert sections == ["### 3.1 Figures from other systems",
                        "### 4.1 Children at risk of exploitation (CERAR)",
                        "### 4.2 Missing episodes and return home interviews",
                        "### 4.3 MACE meetings",
                        "### 4.4 Children placed in the area by other authorities",
                        "### 5.1 Serious incidents and rapid reviews",
                        "### 6.1 Local child safeguarding practice reviews",
                        "### 6.2 Action plans and actions by RAG status",
                        "### 7.1 Child death reviews", "### C.1 Business plan delivery"]
    assert "#### Next year" in text
    # The plan is the partnership's: said once, not a table of 'no records' per area.
    assert text.count("Counted for the partnership only, not by area.") == 1


def test_labels_not_codes(report: AnnualReport) -> None:
    from engine.apps.report.docx_out import docx_bytes

    docx_text = _docx_text(docx_bytes(report))
    for shown in (render(report, "html"), render(report, "markdown"), docx_text):
        for code in ("westmorland_furness", "cumberland", "no_further_review",
                     "not_assessed", "level_changed", "C-9A", "child_name",
                     "sudden_unexpected_unexplained", "trauma_external_factors",
                     "0_to_27_days", "sudden_unexplained", "mash_contacts",
                     "training_events", "child_deaths_category", "C-83"):
            assert code not in shown, code
    assert "Westmorland and Furness" in docx_text and "Local child safeguarding practice " \
        "review" in docx_text and "Inquest" in docx_text
    for words in ("10. Sudden unexpected or unexplained death", "0-27 days", "Girls",
                  "Contacts into the Multi-Agency Safeguarding Hub", "Learning system",
                  "Red (past its timescale of 30 September 2024"):
        assert words in docx_text, words


def _docx_text(data: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _grouped(rows: list[list[str]]) -> list[list[str]]:
    """A table's rows as the document shows them: in the leading word columns (of the
    first two), a value repeating the row above (with the columns before it) is blank."""
    def word(i: int) -> bool:
        return not any(r[i][:1].isdigit() or r[i] == "not available" for r in rows)

    leading = []
    for i in range(min(2, len(rows[0]))):
        if not word(i):
            break
        leading.append(i)
    out = [list(r) for r in rows]
    for n in range(1, len(rows)):
        for i in leading:
            if rows[n][:i + 1] != rows[n - 1][:i + 1]:
                break
            out[n][i] = ""
    return out


def test_the_word_document_holds_the_json_figures(report: AnnualReport) -> None:
    from docx import Document

    from engine.apps.report.docx_out import docx_bytes
    from engine.apps.report.render import show, show_change

    doc = Document(io.BytesIO(docx_bytes(report)))
    data = json.loads(render(report, "json"))
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    expected: list[list[list[str]]] = []
    for s in data["sections"]:
        if s["empty"]:
            continue
        expected.append([["Figure", "2024/25", "2023/24" + (" (no records)" if
                                                           s["previous_empty"] else ""),
                          "Change"]] + [[f["label"], show(f["value"]), show(f["previous"]),
                                        show_change(f["change"])] for f in s["figures"]])
        if any(a is not None for f in s["figures"] for a in f["areas"].values()):
            # An area's value, with its change when it has a previous year to compare with.
            expected.append([["Figure", CF, WF]] + [[f["label"], *(
                "no records" if (a := f["areas"][n]) is None else show(a["value"])
                if a["value"] is None or a["previous"] is None
                else f"{show(a['value'])} (change: {show_change(a['change'])})"
                for n in (CF, WF))] for f in s["figures"]])
        expected += [[t["columns"]] + _grouped([[show(v) for v in r] for r in t["rows"]])
                     for t in s["tables"] if t["rows"]]
    assert tables == expected
    # The plan's priority and outcome are shown once for their run of actions.
    plan_rows = next(t for t in tables if t[0][0] == "Priority")[1:]
    assert [r[:2] for r in plan_rows] == [
        ["Neglect", "Neglect identified early"], ["", ""],
        ["Exploitation", "Children safer outside the home"],
        ["Voice of the child", "Children's views shape services"],
        ["Learning", "Learning changes practice"]]
    assert [s["key"] for s in data["sections"] if not s["empty"]] == [
        "other_systems", "cerar", "missing", "mace", "placed", "rapid_reviews", "lcspr",
        "actions", "child_deaths", "business_plan"]
    # A by-area table for each section but the plan's (the partnership's only).
    assert sum(1 for t in tables if t[0] == ["Figure", CF, WF]) == 9
    deaths = next(t for t in tables if t[1][0] == "Deaths notified" and len(t[0]) == 3)
    assert deaths[1] == ["Deaths notified", "2 (change: +1)", "1 (change: no change)"]
    assert deaths[-1] == ["CDOP meetings held", "not available", "not available"]
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert "2 Independent Scrutiny" in headings and "4.1 Children at risk of exploitation " \
        "(CERAR)" in headings and "7.1 Child death reviews" in headings
    assert "Appendix C: Business Plan Delivery Plan, update as at 31 March 2025" in headings
    assert any(p.text == "Counted for the partnership only, not by area."
               for p in doc.paragraphs)
    charts = sum(1 for s in data["sections"] if s["chart"])
    assert len(doc.inline_shapes) == charts >= 8
    assert any("Placeholder: the independent scrutineer's statement" in p.text
               for p in doc.paragraphs)
    rag = next(t for t in doc.tables if t.rows[0].cells[0].text == "RAG status")
    red = rag.rows[1].cells[0]
    assert red.text == "Red" and 'w:fill="F4CDC6"' in red._tc.xml  # shaded, and in words
    plan = next(t for t in doc.tables if t.rows[0].cells[-1].text == "RAG")
    amber = plan.rows[2].cells[-1]
    assert amber.text == "Amber (at risk)" and 'w:fill="FCD6C3"' in amber._tc.xml


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_html_in_chromium(report: AnnualReport, tmp_path: Path) -> None:
    """Rendered to a PNG a reader can look at (the path is printed)."""
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "annual-report.html"
    page_file.write_text(render(report, "html"), encoding="utf-8")
    shot = tmp_path / "annual-report.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(page_file.as_uri())
            assert page.locator("figure svg").count() == sum(
                1 for s in report.sections if s.current.chart and not s.empty)
            assert page.locator("h2").count() == len(report.chapters) + 1  # and Contents
            # Every chart drawn inside the page's width.
            widths = page.eval_on_selector_all(
                "figure svg", "els => els.map(e => e.getBoundingClientRect().width)")
            assert widths and all(0 < w <= 1100 for w in widths)
            page.screenshot(path=str(shot), full_page=True)
            from axe_playwright_python.sync_playwright import Axe

            bad = [(v["id"], [n["target"] for n in v["nodes"]][:3])
                   for v in Axe().run(page).response["violations"]
                   if v["impact"] in ("serious", "critical")]
            assert bad == []
            page.emulate_media(media="print")
            page.screenshot(path=str(tmp_path / "annual-report-print.png"), full_page=True)
        finally:
            browser.close()
    print(f"\nThe annual report in Chromium: {shot}")
    assert shot.stat().st_size > 10_000


def test_previous_period_is_the_same_days_a_year_earlier() -> None:
    assert previous_period(START, END) == PREVIOUS
    assert previous_period(dt.date(2024, 2, 29), dt.date(2024, 3, 31)) == (
        dt.date(2023, 2, 28), dt.date(2023, 3, 31))


def test_a_chart_from_a_table() -> None:
    chart = Chart.from_table("Deaths", ("Category", "2023", "2024"), [("A", 1, 2), ("B", 0, 3)])
    assert chart.categories == ("A", "B") and chart.series == (("2023", (1.0, 0.0)),
                                                              ("2024", (2.0, 3.0)))


def test_matplotlib_and_python_docx_load_only_when_a_chart_or_document_is_made() -> None:
    import subprocess
    import sys

    code = ("import sys, cli, web, engine.apps.report.render, engine.apps.report.service; "
            "print(sorted(m for m in ('matplotlib', 'docx', 'markdown_it') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


class _JitProbe:
    """A real source that also notes whether PostgreSQL's JIT is on as it reads."""

    def __init__(self, source: Any) -> None:
        self.source, self.key, self.title = source, source.key, source.title
        self.seen: list[str] = []

    def load(self, conn: Any, start: dt.date, end: dt.date) -> Any:
        self.seen.append(conn.exec_driver_sql("SHOW jit").scalar())
        return self.source.load(conn, start, end)

    def build(self, loaded: Any, start: dt.date, end: dt.date, area: str | None) -> Section:
        return self.source.build(loaded, start, end, area)


@pytest.mark.postgres
def test_the_report_reads_postgresql_without_jit_in_its_own_transaction_only(
        pg_url: str, tmp_path: Path) -> None:
    """JIT compiled the practice reviews' aggregate for longer than it ran: the report turns
    it off for its transaction, and every other session keeps the server's setting (here
    on, as the URL asks, whatever the server's default)."""
    database = Database(pg_url + "?options=-c%20jit%3Don")
    seed_access(database)
    app = make_app(database, FixedClock(london("2025-04-07 09:00")), tmp_path / "head.json")
    try:
        probe = _JitProbe(default_sources()[0])
        annual_report(app.engine, "mgr", START, END,
                      sources=[probe, *default_sources()[1:]])
        assert probe.seen == ["off", "off"]  # the period, and the year before
        with database.begin_read() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "on"
    finally:
        app.close()
        database.dispose()
