"""The web case page shows a child death's link with its practice review on both cases: a
link to the other case for a reader who may see it, only its reference for one who may not."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from engine.app import App
from tests.web.conftest import add_user

Client = Callable[[str], TestClient]


def test_the_link_is_on_both_case_pages(client_for: Client, app: App) -> None:
    app.cdop.open("C-31", "cumberland", None, "amy")
    app.cdop.notify("CDR-C-31", "2024-06-02", "1_to_4_years", "male", False, True, "amy",
                    jar_reason="suspicious_circumstances", abuse_or_neglect="suspected")
    app.cdop.refer("CDR-C-31", "PR-31", "amy")

    amy = client_for("amy")  # every role: reads both
    death = amy.get("/cases/CDR-C-31")
    assert death.status_code == 200 and "Linked cases" in death.text
    assert '<a href="/cases/PR-31">PR-31</a>' in death.text
    review = amy.get("/cases/PR-31")
    assert '<a href="/cases/CDR-C-31">CDR-C-31</a>' in review.text

    add_user(app.db, "coordinator", [("cdop_coordinator", "cumberland")])
    coordinator = client_for("coordinator")
    page = coordinator.get("/cases/CDR-C-31")
    assert page.status_code == 200 and "PR-31" in page.text
    assert 'href="/cases/PR-31"' not in page.text
    assert "you do not have access to this case" in page.text
    assert "Practice review" not in page.text
    assert coordinator.get("/cases/PR-31").status_code == 404
