"""`safeguard status`, `safeguard report annual` and `safeguard demo` through click's runner:
output, exit codes for bad input, and the demo's content and determinism. How long the demo
takes is measured by ``benchmarks/demo.py``, not asserted here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.core.store.database import Database
from tests.conftest import DEMO_SEED, DemoYear, seed_access


@pytest.fixture
def url(tmp_path: Path) -> str:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    database = Database(db_url)
    database.upgrade()
    seed_access(database)
    database.dispose()
    return db_url


def invoke(url: str, *args: str, actor: str = "mgr") -> object:
    return CliRunner().invoke(main, ["--db", url, "--as", actor, "--now", "2025-04-07T09:00",
                                     *args])


def _one_error(result: object, code: int, text: str) -> None:
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    lines = result.output.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and text in lines[0], lines


def test_report_bad_input(url: str) -> None:
    _one_error(invoke(url, "report", "annual", "--from", "2025-03-31", "--to", "2024-04-01"),
               2, "is after --to")
    _one_error(invoke(url, "report", "annual", "--from", "31/03/2025", "--to", "2025-04-01"),
               2, "is not a date")
    result = invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                    "--format", "rtf")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    _one_error(invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                      "--narrative", "/no/such/folder"), 2, "no such folder")


def test_report_formats(url: str) -> None:
    for fmt, check in (("json", lambda out: json.loads(out)["to"] == "2025-03-31"),
                       ("markdown", lambda out: out.startswith("# Annual report 2024/25")),
                       ("csv", lambda out: out.startswith(
                           "section,figure,label,scope,value,previous")),
                       ("html", lambda out: "No records in this period." in out)):
        result = invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                        "--format", fmt)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert check(result.output), fmt  # type: ignore[attr-defined]


def test_report_is_for_partnership_managers(url: str) -> None:
    from engine.core.clock import SystemClock
    from tests.conftest import make_app

    database = Database(url)
    admin = make_app(database, SystemClock()).admin
    admin.add_user("amy", "clerk", "Clerk", "clerk@example.org", "Partnership")
    admin.grant("amy", "clerk", "business_support", None)
    database.dispose()
    _one_error(invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                      actor="clerk"), 3, "partnership_manager")
    result = invoke(url, "status", "--json", actor="clerk")
    assert result.exit_code == 0 and json.loads(result.output)["overdue"] == []  # type: ignore[attr-defined]


def test_status_text(url: str) -> None:
    result = invoke(url, "status")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Overdue: 0" in result.output and "Next MACE meeting:" in result.output  # type: ignore[attr-defined]


@pytest.mark.slow  # it is the first to ask for the demo year, so it waits for the build
def test_the_demo_year_has_what_the_issue_asks_for(demo_year: DemoYear) -> None:
    figures = demo_year.figures
    assert figures["lcspr.published"] == 1 and figures["lcspr.deferred_criminal_proceedings"] == 1
    assert figures["rapid_reviews.outcome_no_further_review"] == 1
    assert figures["mace.held"] >= 20 and figures["mace.actions_agreed"] > 0
    assert figures["missing.episodes"] > 0 and figures["missing.strategy_meetings"] >= 1
    assert figures["placed.placed_in_area_at_risk"] > 0 and figures["cerar.level_changes"] > 0
    assert demo_year.counts["emails"] > 0 and any(demo_year.emails.glob("*.eml"))


@pytest.mark.slow
def test_demo_command_is_deterministic(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """`safeguard demo` with the default seed builds the same year as the session's build:
    the same figures and the same emails (their names are their stable Message-IDs)."""
    from engine.apps.demo.year import YEAR
    from tests.conftest import casework_figures

    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--seed",
                                       str(DEMO_SEED)])
    assert result.exit_code == 0, result.output
    assert "safeguard status," in result.output and "Emails (.eml files):" in result.output
    # The same seed builds the same year: the command's build and the shared one agree.
    demo_year: DemoYear = request.getfixturevalue("demo_year")
    database = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    with database.begin_read() as conn:
        figures = casework_figures(conn, *YEAR)
    database.dispose()
    assert figures == demo_year.figures
    emails = sorted(p.name for p in (tmp_path / "outbox").glob("*.eml"))
    assert emails and emails == sorted(p.name for p in demo_year.emails.glob("*.eml"))


def test_the_demo_can_be_explored_afterwards(demo_copy: DemoYear) -> None:
    """The README's commands on the demo database, as the OS login (its partnership manager);
    both audit, so they run on a copy."""
    follow = CliRunner().invoke(main, ["--db", demo_copy.url, "--now", "2024-04-15T18:30",
                                       "status", "--json"])
    assert follow.exit_code == 0, follow.output
    assert json.loads(follow.output)["past_publication_target"]
    report = CliRunner().invoke(main, ["--db", demo_copy.url, "report", "annual", "--from",
                                       "2023-04-01", "--to", "2024-03-31", "--format", "json"])
    assert report.exit_code == 0, report.output
    shown = {f"{section['key']}.{figure['key']}": figure["value"]
             for section in json.loads(report.output)["sections"]
             for figure in section["figures"]}
    new = ("child_deaths", "other_systems", "business_plan")
    casework = {k: v for k, v in shown.items() if k.split(".")[0] not in new}
    assert casework == json.loads(json.dumps(demo_copy.figures, default=str))
    # The sections from the other modules, as their sources count them on the same year.
    from engine.apps.demo.year import YEAR
    from engine.apps.report.sources import default_sources

    database = Database(demo_copy.url)
    with database.begin_read() as conn:
        others = {f"{src.key}.{k}": v for src in default_sources()
                  if src.key in new
                  for k, _, v in src.build(src.load(conn, *YEAR), *YEAR, None).figures}
    database.dispose()
    assert {k: v for k, v in shown.items() if k not in casework} == others
    # The demo's plan (20 actions), deaths (11 notified) and figures (MASH: both areas).
    assert (others["business_plan.actions"], others["child_deaths.deaths_notified"],
            others["other_systems.mash_contacts"]) == (20, 11, 7124 + 5502)


def test_report_word_and_pdf_files(url: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """docx and pdf go to --out (never to a terminal); the narrative folder's words go in;
    without Chromium, PDF is one clear line and nothing is read."""
    import io

    from docx import Document

    import commands.report
    import engine.apps.report.pdf

    words = tmp_path / "words"
    words.mkdir()
    (words / "foreword.md").write_text("A year of **learning**.\n", encoding="utf-8")
    out = tmp_path / "report.docx"
    result = invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                    "--format", "docx", "--narrative", str(words), "--out", str(out))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    doc = Document(io.BytesIO(out.read_bytes()))
    texts = [p.text for p in doc.paragraphs]
    assert "A year of learning." in texts and "1 Foreword" in texts
    assert any(t.startswith("[Placeholder: the independent scrutineer") for t in texts)
    monkeypatch.setattr(commands.report, "_is_terminal", lambda: True)
    _one_error(invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                      "--format", "docx"), 2, "give --out FILE")
    monkeypatch.setattr(engine.apps.report.pdf, "chromium", lambda: None)
    _one_error(invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                      "--format", "pdf", "--out", str(tmp_path / "r.pdf")), 3,
               "PDF needs Chromium")
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no chromium")
def test_report_pdf_printed_by_chromium(url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = invoke(url, "report", "annual", "--from", "2024-04-01", "--to", "2025-03-31",
                    "--format", "pdf", "--out", str(out))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert out.read_bytes().startswith(b"%PDF")
