"""The annual report page: the report in the site's layout, with CSV, JSON and Word
downloads of the same report."""

from __future__ import annotations

import io
import json

from fastapi.testclient import TestClient

from engine.app import App
from engine.apps.report.docx_out import docx_bytes
from engine.apps.report.render import render
from engine.apps.report.service import annual_report
from engine.core.clock import FixedClock
from tests.conftest import london
from tests.report.dataset import END, START, build
from tests.web.conftest import give_password, sign_in
from web import create_app

PERIOD = "from=2024-04-01&to=2025-03-31"


def test_the_page_and_its_downloads(app: App, clock: FixedClock) -> None:
    from docx import Document

    build(app, clock)
    clock.set(london("2025-04-07 09:00"))
    give_password(app, "mgr")
    client = sign_in(TestClient(create_app(app), raise_server_exceptions=False), "mgr")
    page = client.get(f"/reports/annual?{PERIOD}")
    assert page.status_code == 200
    assert "Westmorland and Furness" in page.text and "<svg" in page.text
    assert "4 Missing, Exploited and Trafficked Children" in page.text
    assert "7.1 Child death reviews" in page.text and "C.1 Business plan delivery" in page.text
    assert 'class="tag" style="background:#f4cdc6;color:#942514">Red</strong>' in page.text
    assert f'href="/reports/annual.docx?{PERIOD.replace("&", "&amp;")}"' in page.text
    expected = annual_report(app.engine, "mgr", START, END)
    word = client.get(f"/reports/annual.docx?{PERIOD}")
    assert word.status_code == 200 and word.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert 'filename="annual-report-2024-04-01-to-2025-03-31.docx"' in \
        word.headers["content-disposition"]

    def cells(data: bytes) -> list[list[str]]:
        return [[c.text for row in t.rows for c in row.cells]
                for t in Document(io.BytesIO(data)).tables]

    assert cells(word.content) == cells(docx_bytes(expected))
    data = json.loads(client.get(f"/reports/annual.json?{PERIOD}").text)
    assert data == json.loads(render(expected, "json"))
    assert client.get(f"/reports/annual.pdf?{PERIOD}").status_code == 404
