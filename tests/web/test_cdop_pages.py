"""The web case page shows a child death's link with its practice review on both cases: a
link to the other case for a reader who may see it, only its reference for one who may not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine.app import App
from tests.web.conftest import add_user, csrf_of

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
    assert "CDOP series Panel" in page.text


# -- the forms: a death walked from notification to closure --------------------------------
DEATH = "CDR-C-40"


def _audit(app: App, action: str, outcome: str = "ok") -> int:
    from sqlalchemy import func, select

    from engine.core.store.models import AuditRecord

    with app.db.begin_read() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == action, AuditRecord.outcome == outcome)).scalar_one())


def _records(app: App) -> int:
    from sqlalchemy import func, select

    from engine.core.store.models import AuditRecord

    with app.db.begin_read() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditRecord)).scalar_one())


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    """Post the form at ``path`` as the page offers it; one that succeeds writes exactly one
    audit record (its command's), one that fails none that is ``ok``."""
    app: App = client.app.state.safeguard  # type: ignore[attr-defined]
    form = client.get(path)
    assert form.status_code == 200, form.text
    before = _records(app)
    response = client.post(path, data={"csrf_token": csrf_of(form.text), **data},
                           follow_redirects=False)
    if response.status_code == 303:
        assert _records(app) == before + 1
    return response


def _state(app: App, ref: str = DEATH) -> str:
    return app.cdop.show(ref, "amy").state


NOTIFY = {"died_on": "2024-06-02", "age_band": "1_to_4_years", "sex": "female",
          "expected": "no", "jar_needed": "no", "notified_at": "2024-06-03T08:30", "note": ""}


def test_a_death_from_notification_to_closure_through_the_forms(client_for: Client,
                                                                app: App) -> None:
    add_user(app.db, "coordinator", [("cdop_coordinator", "cumberland")])
    add_user(app.db, "panel", [("cdop_chair", "cumberland")])
    coordinator, chair = client_for("coordinator"), client_for("panel")

    register = coordinator.get("/cdop")
    assert register.status_code == 200 and 'href="/cdop/new"' in register.text
    assert 'href="/cdop">Child deaths</a>' in register.text  # the nav link
    opened = _post(coordinator, "/cdop/new", {"child_ref": "C-40", "area": "cumberland",
                                              "death_known_at": "2024-06-03T08:00"})
    assert opened.status_code == 303 and opened.headers["location"] == f"/cdop/{DEATH}/notify"
    assert _audit(app, "cdop.open") == 1

    # an error beside its field, the values kept, nothing written
    wrong = _post(coordinator, f"/cdop/{DEATH}/notify", {**NOTIFY, "jar_needed": "yes"})
    assert wrong.status_code == 400
    assert 'id="jar_reason-error"' in wrong.text and "needs its reason" in wrong.text
    assert "--jar-reason" not in wrong.text  # the CLI's hint stays on the command line
    assert 'value="2024-06-02"' in wrong.text and 'value="female" checked' in wrong.text
    assert _audit(app, "cdop.notify") == 0 and _state(app) == "awaiting_notification"
    future = _post(coordinator, f"/cdop/{DEATH}/notify", {**NOTIFY, "died_on": "2024-07-01"})
    assert future.status_code == 400 and 'id="died_on-error"' in future.text
    assert "The date of death 2024-07-01 is still to come" in future.text

    done = _post(coordinator, f"/cdop/{DEATH}/notify", NOTIFY)
    assert done.headers["location"] == f"/cases/{DEATH}?done=notify"
    assert _audit(app, "cdop.notify") == 1 and _state(app) == "gathering_information"
    case = coordinator.get(f"/cases/{DEATH}?done=notify")
    assert "The notification has been recorded." in case.text
    assert f'href="/cdop/{DEATH}/request"' in case.text
    assert f'href="/cdop/{DEATH}/meeting"' in case.text
    assert f'href="/cases/{DEATH}/steps/' not in case.text  # every step on its CDOP form
    # no form is awaited yet: recording one received is not offered, and the page says why
    assert f'href="/cdop/{DEATH}/received"' not in case.text
    assert "reporting form asked for and not yet received" in case.text
    assert f'href="/cdop/{DEATH}/meeting"' in coordinator.get("/").text  # My tasks too
    assert "area Cumberland" in case.text and "area cumberland" not in case.text  # timeline
    # the details in the CDOP's words: the area by its name, the bands as the NCMD has them
    assert "<dd class=\"summary-list__value\">1-4 years</dd>" in case.text
    assert "<dd class=\"summary-list__value\">Cumberland</dd>" in case.text

    for agency in ("Police", "GP"):
        asked = _post(coordinator, f"/cdop/{DEATH}/request",
                      {"request_agency": agency, "requested_on": "2024-06-03"})
        assert asked.status_code == 303
    again = _post(coordinator, f"/cdop/{DEATH}/request",
                  {"request_agency": "police", "requested_on": "2024-06-03"})
    assert again.status_code == 400 and 'id="request_agency-error"' in again.text
    assert "Police was already asked" in again.text and 'value="police"' in again.text
    awaited = coordinator.get(f"/cases/{DEATH}").text
    assert f'href="/cdop/{DEATH}/received"' in awaited and "not yet received" not in awaited
    assert _audit(app, "cdop.request") == 2
    form = coordinator.get(f"/cdop/{DEATH}/received")
    assert 'value="Police"' in form.text and 'value="GP"' in form.text
    got = _post(coordinator, f"/cdop/{DEATH}/received",
                {"request_agency": "Police", "received_on": "2024-06-03"})
    assert got.status_code == 303 and _audit(app, "cdop.received") == 1
    assert [r.open_requests for r in app.cdop.deaths("amy")] == [1]

    held = _post(coordinator, f"/cdop/{DEATH}/meeting", {"cdr_meeting_on": "2024-06-03"})
    assert held.status_code == 303 and _state(app) == "awaiting_cdop"
    assert _audit(app, "cdop.meeting") == 1

    # the chair reviews: modifiable factors name their domains
    review = {"category": "8", "modifiable_factors": "yes", "cdop_reviewed_on": "2024-06-03",
              "learning_points": "Safe sleep advice"}
    missing = _post(chair, f"/cdop/{DEATH}/review", review)
    assert missing.status_code == 400 and 'id="modifiable_domains-error"' in missing.text
    assert "Safe sleep advice" in missing.text and 'value="8" checked' in missing.text
    reviewed = _post(chair, f"/cdop/{DEATH}/review",
                     {**review, "modifiable_domains-parenting": "parenting"})
    assert reviewed.status_code == 303 and _state(app) == "reviewed"
    data = app.cdop.show(DEATH, "amy").data
    assert data["category"] == "perinatal_neonatal" and data["modifiable_domains"] == "parenting"

    closing = coordinator.get(f"/cases/{DEATH}")
    assert "Not yet possible" in closing.text  # closing waits for the NCMD form
    assert _post(coordinator, f"/cdop/{DEATH}/ncmd",
                 {"ncmd_submitted_on": "2024-06-03"}).status_code == 303
    closed = _post(coordinator, f"/cdop/{DEATH}/close", {"closed_on": "2024-06-03"})
    assert closed.status_code == 303 and _state(app) == "closed"
    assert _audit(app, "cdop.ncmd") == 1 and _audit(app, "cdop.close") == 1
    listed = coordinator.get("/cdop?stage=closed&area=cumberland")
    assert DEATH in listed.text and "Cumberland" in listed.text


def test_forbidden_roles_meet_the_not_found_page(client_for: Client, app: App) -> None:
    app.cdop.open("C-41", "cumberland", None, "amy")
    add_user(app.db, "cerar", [("cerar_coordinator", "cumberland")])
    add_user(app.db, "panel", [("cdop_chair", "cumberland")])
    cerar, chair = client_for("cerar"), client_for("panel")
    missing = cerar.get("/cdop/CDR-NONE/notify")
    assert missing.status_code == 404
    for path in ("/cdop", "/cdop/new", "/cdop/CDR-C-41/notify", "/cdop/CDR-C-41/request"):
        page = cerar.get(path)
        assert page.status_code == 404 and page.text == missing.text.replace(
            "CDR-NONE", "CDR-C-41"), path
    assert 'href="/cdop"' not in cerar.get("/").text  # no nav link
    # the chair reads the death but may not record its notification: no form, and a forged
    # post is refused (audited) with nothing written
    assert chair.get("/cdop").status_code == 200
    assert chair.get("/cdop/CDR-C-41/notify").status_code == 404
    token = csrf_of(chair.get("/cdop").text)
    forged = chair.post("/cdop/CDR-C-41/notify", data={"csrf_token": token, **NOTIFY},
                        follow_redirects=False)
    assert forged.status_code == 404 and _state(app, "CDR-C-41") == "awaiting_notification"
    assert _audit(app, "cdop.notify", "denied") + _audit(app, "cdop.notify", "refused") == 1
    # without its CSRF token a form writes nothing
    app.cdop.notify("CDR-C-41", "2024-06-02", "1_to_4_years", "male", True, False, "amy")
    coordinator = client_for("amy")
    bare = coordinator.post("/cdop/CDR-C-41/request", data={"request_agency": "Police"},
                            follow_redirects=False)
    assert bare.status_code == 403 and _audit(app, "cdop.request") == 0


def test_refer_opens_the_linked_practice_review(client_for: Client, app: App) -> None:
    app.cdop.open("C-42", "cumberland", None, "amy")
    app.cdop.notify("CDR-C-42", "2024-06-02", "1_to_4_years", "male", False, True, "amy",
                    jar_reason="suspicious_circumstances", abuse_or_neglect="suspected")
    amy = client_for("amy")
    case = amy.get("/cases/CDR-C-42")
    assert 'href="/cdop/CDR-C-42/refer"' in case.text and 'href="/cdop/CDR-C-42/link"' in case.text
    bad = _post(amy, "/cdop/CDR-C-42/link", {"other": "CDR-C-42"})
    assert bad.status_code == 400 and 'id="other-error"' in bad.text
    opened = _post(amy, "/cdop/CDR-C-42/refer", {"review_ref": "PR-42", "label": "",
                                                 "became_aware_on": "2024-06-03"})
    assert opened.status_code == 303 and opened.headers["location"] == "/cases/PR-42?opened=1"
    assert '<a href="/cases/CDR-C-42">CDR-C-42</a>' in amy.get("/cases/PR-42").text
    assert _audit(app, "cdop.refer") == 1


def test_a_cdop_coordinator_creates_a_cdop_series(client_for: Client, app: App) -> None:
    add_user(app.db, "coordinator", [("cdop_coordinator", "cumberland")])
    coordinator = client_for("coordinator")
    form = coordinator.get("/mace/series/new")
    assert form.status_code == 200 and "Create a meeting series" in form.text
    token = csrf_of(form.text)
    created = coordinator.post("/mace/series", data={
        "csrf_token": token, "name": "Panel", "every": "1m", "weekday": "wednesday",
        "time": "14:00", "duration": "120", "chair": "chair", "members": "amy",
        "on_holiday": "next", "area": "cumberland"}, follow_redirects=False)
    assert created.status_code == 303, created.text
    refs = [m.ref for m in app.mace.meetings("amy")]
    assert refs and all(r.startswith("CDOP-Panel-") for r in refs)


def test_a_death_not_reviewed_here_closes_with_its_reason(client_for: Client,
                                                          app: App) -> None:
    app.cdop.open("C-43", "cumberland", None, "amy")
    add_user(app.db, "panel", [("cdop_chair", "cumberland")])
    chair = client_for("panel")
    assert 'href="/cdop/CDR-C-43/close"' in chair.get("/cases/CDR-C-43").text
    bare = _post(chair, "/cdop/CDR-C-43/close", {"closed_on": "2024-06-03",
                                                 "close_reason": ""})
    assert bare.status_code == 400 and 'id="close_reason-error"' in bare.text
    closed = _post(chair, "/cdop/CDR-C-43/close", {"closed_on": "2024-06-03",
                                                   "close_reason": "Not normally resident"})
    assert closed.status_code == 303 and _state(app, "CDR-C-43") == "closed"
    assert app.cdop.show("CDR-C-43", "amy").data["close_reason"] == "Not normally resident"
    assert _audit(app, "cdop.close") == 1
