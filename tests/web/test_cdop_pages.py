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


def test_a_cdop_meeting_page_shows_its_agenda_of_deaths(client_for: Client, app: App) -> None:
    import datetime as dt

    app.cdop.open("C-32", "cumberland", None, "amy")
    app.cdop.notify("CDR-C-32", "2024-06-02", "0_to_27_days", "female", True, False, "amy")
    app.cdop.step("CDR-C-32", "hold_cdr_meeting", {"cdr_meeting_on": "2024-06-03"}, "amy")
    series = app.mace.create_series("Panel", "1m", "wednesday", "14:00", "chair", ["amy"],
                                    "amy", starts_on=dt.date(2024, 6, 10), horizon_days=20,
                                    use="cdop")
    ref = series.meetings[0].ref
    app.mace.publish(ref, "amy")
    amy = client_for("amy")
    listing = amy.get("/mace")
    assert listing.status_code == 200 and ref in listing.text
    page = amy.get(f"/mace/{ref}")
    assert page.status_code == 200, page.text
    assert "CDR-C-32" in page.text and "Deaths ready for review" in page.text
