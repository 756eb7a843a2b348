"""The business plan and figures pages over the services (TestClient), on SQLite and
PostgreSQL: a plan imported by upload is shown as Appendix C; an owner updates their own
action and cannot reach another's; an action past its timescale is red by rule at the app's
clock; a figures file with a bad row is refused whole (the row named in the error summary),
then a good one is imported and shown by period and area with its source."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.app import App
from engine.core.store.models import AuditRecord, Case, ImportedFigure
from tests.conftest import london
from tests.web.conftest import add_user, csrf_of

Client = Callable[[str], TestClient]
MARKER = "<script>alert('x')</script>"
PLAN = ("ref,priority,outcome,action,timescale,responsible,owner\n"
        "BP-1,Neglect,Neglect is identified early,Embed the assessment tools,2024-05,"
        "Area groups,owen\n"
        "BP-2,Neglect,Neglect is identified early,Scrutiny of neglect practice,2025-03-31,"
        "Business group,olga\n"
        "BP-3,Exploitation,Risks outside the home are reduced,Review the MET group,"
        "2025-01-31,MET strategic group,owen\n")


def _count(app: App, model: type, *where: object) -> int:
    with app.db.begin_read() as conn:
        query = select(func.count()).select_from(model)
        for w in where:
            query = query.where(w)  # type: ignore[arg-type]
        return int(conn.execute(query).scalar_one())


def _audit(app: App, action: str, outcome: str = "ok") -> int:
    return _count(app, AuditRecord, AuditRecord.action == action,
                  AuditRecord.outcome == outcome)


def _upload(client: TestClient, path: str, name: str, text: str,
            data: dict[str, str] | None = None) -> object:
    page = client.get(path)
    assert page.status_code == 200, page.text
    assert 'enctype="multipart/form-data"' in page.text and 'type="file"' in page.text
    return client.post(path, data={"csrf_token": csrf_of(page.text), **(data or {})},
                       files={"file": (name, text.encode(), "text/csv")},
                       follow_redirects=False)


@pytest.fixture
def people(app: App) -> None:
    add_user(app.db, "pm", [("partnership_manager", None)])
    add_user(app.db, "owen", [("business_group_member", None)])
    add_user(app.db, "olga", [("business_group_member", None)])
    add_user(app.db, "bgchair", [("business_group_chair", None)])
    add_user(app.db, "social", [("case_review_member", None)])


def _import(app: App, pm: TestClient) -> None:
    imported = _upload(pm, "/plan/import", "plan.csv", PLAN, {"plan_from": "2024-04-01"})
    assert imported.status_code == 303, imported.text  # type: ignore[attr-defined]
    assert imported.headers["location"] == "/plan?done=import&added=3&unchanged=0"  # type: ignore[attr-defined]
    assert _audit(app, "plan.import") == 1


def test_import_the_plan_by_upload_and_see_appendix_c(app: App, people: None,
                                                      client_for: Client) -> None:
    pm = client_for("pm")
    home = pm.get("/").text
    assert 'href="/plan">Business plan' in home
    plan = pm.get("/plan")
    assert "There is no business plan yet" in plan.text and 'href="/plan/import"' in plan.text
    _import(app, pm)
    page = pm.get("/plan?done=import&added=3&unchanged=0").text
    assert "The plan has been imported: 3 actions added." in page
    # Grouped by priority, in the plan's order, with the seed report's columns.
    assert page.index("Priority: Neglect") < page.index("Priority: Exploitation")
    for column in ("Outcome", "Action", "Timescale", "Group, agency or individual "
                   "responsible", "Update", "RAG"):
        assert f'<th scope="col">{column}</th>' in page
    assert "Neglect is identified early" in page and "MET strategic group" in page
    # Not yet rated: a grey tag with its words, never colour alone.
    assert '<strong class="tag tag--grey">Not yet rated</strong>' in page
    # Re-importing the same file changes nothing.
    again = _upload(pm, "/plan/import", "plan.csv", PLAN)
    assert again.headers["location"].endswith("added=0&unchanged=3")  # type: ignore[attr-defined]
    # A bad row: one line naming it in the error summary, nothing imported.
    bad = _upload(pm, "/plan/import", "plan.csv",
                  PLAN.replace("BP-3,", "BP-4,").replace("2025-01-31", "soon"))
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert 'class="error-summary"' in bad.text  # type: ignore[attr-defined]
    assert "Row 4: the timescale &#39;soon&#39; is not a date" in bad.text  # type: ignore[attr-defined]
    assert _count(app, Case, Case.workflow == "business_plan_action") == 3
    # Someone without a plan role: no link, and the pages are not there.
    social = client_for("social")
    assert 'href="/plan"' not in social.get("/").text
    assert social.get("/plan").status_code == 404
    assert social.get("/plan/import").status_code == 404
    assert social.get("/plan/BP-1").status_code == 404


YAML_PLAN = """
priorities:
  - priority: Improving responses to neglect
    outcomes:
      - outcome: Practitioners identify neglect early
        actions:
          - {ref: BP-06, action: Embed the assessment tools, timescale: 2025-03,
             responsible: Area safeguarding groups, owner: olga}
"""


def test_a_yaml_plan_and_a_bad_start_day(app: App, people: None, client_for: Client) -> None:
    pm = client_for("pm")
    bad_day = _upload(pm, "/plan/import", "plan.yaml", YAML_PLAN, {"plan_from": "someday"})
    assert bad_day.status_code == 400  # type: ignore[attr-defined]
    assert 'href="#plan_from"' in bad_day.text and 'value="someday"' in bad_day.text  # type: ignore[attr-defined]
    done = _upload(pm, "/plan/import", "plan.yaml", YAML_PLAN, {"plan_from": "2024-04-01"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    page = pm.get("/plan").text
    assert "Priority: Improving responses to neglect" in page
    assert "Monday 31 March 2025" in page  # a month's timescale: its last day
    wrong = _upload(pm, "/plan/import", "plan.yaml", YAML_PLAN.replace("ref: BP-06, ", ""))
    assert wrong.status_code == 400 and 'href="#file"' in wrong.text  # type: ignore[attr-defined]
    assert "Priorities[0].outcomes[0].actions[0]: the ref is missing" in wrong.text  # type: ignore[attr-defined]


def test_owner_updates_their_action_and_cannot_reach_anothers(app: App, people: None,
                                                              client_for: Client) -> None:
    _import(app, client_for("pm"))
    owen = client_for("owen")
    plan = owen.get("/plan").text
    assert "My actions" in plan and "BP-2" not in plan  # olga's: not his to see
    assert plan.index("BP-1") < plan.index("BP-3")
    mine = owen.get("/plan?show=mine").text
    assert "Priority: Exploitation" in mine
    page = owen.get("/plan/BP-3")
    assert page.status_code == 200 and "Record an update" in page.text
    assert "Green: on track" in page.text and "Blue: complete" in page.text
    before = _count(app, AuditRecord)
    # A missing note: the error summary, values kept, nothing written.
    bad = owen.post("/plan/BP-3", data={"csrf_token": csrf_of(page.text), "rag": "amber",
                                        "update_note": "", "updated_on": "2024-06-03"})
    assert bad.status_code == 400 and 'href="#update_note"' in bad.text
    assert 'value="amber" checked' in bad.text
    assert _audit(app, "plan.update") == 0 and "No update recorded yet" in bad.text
    before = _count(app, AuditRecord)
    done = owen.post("/plan/BP-3", data={
        "csrf_token": csrf_of(page.text), "rag": "amber", "updated_on": "2024-06-03",
        "update_note": f"Membership review delayed {MARKER}"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/plan/BP-3?done=update"
    assert _count(app, AuditRecord) == before + 1 and _audit(app, "plan.update") == 1
    after = owen.get("/plan/BP-3?done=update").text
    assert "The update has been recorded." in after
    assert '<strong class="tag tag--amber">Amber</strong>' in after
    assert MARKER not in after and "&lt;script&gt;" in after  # escaped
    history = after[after.index("RAG history"):]
    assert "Monday 3 June 2024" in history and "owen" in history
    # Another's action: the same page as one that does not exist, and a forged post
    # refused with nothing written.
    assert owen.get("/plan/BP-2").status_code == 404
    assert owen.get("/plan/BP-99").text == owen.get("/plan/BP-2").text
    forged = owen.post("/plan/BP-2", data={"csrf_token": csrf_of(page.text), "rag": "green",
                                           "update_note": "x", "updated_on": "2024-06-03"})
    assert forged.status_code == 404
    assert _audit(app, "plan.update") == 1 and _audit(app, "plan.update", "refused") == 1
    # The chair may update any action, and sees the update form on olga's.
    chair = client_for("bgchair")
    assert "Record the update" in chair.get("/plan/BP-2").text
    # A post without its CSRF token changes nothing.
    refused = owen.post("/plan/BP-3", data={"rag": "green", "update_note": "x",
                                            "updated_on": "2024-06-03"})
    assert refused.status_code == 403 and _audit(app, "plan.update") == 1


def test_red_by_rule_at_the_apps_clock(app: App, people: None, client_for: Client) -> None:
    app.clock.set(london("2024-05-20 09:00"))  # type: ignore[attr-defined]
    _import(app, client_for("pm"))
    before = client_for("bgchair").get("/plan/BP-1").text
    assert "y rule" not in before and "Not yet rated" in before
    app.clock.set(london("2024-06-03 09:00"))  # type: ignore[attr-defined]
    chair = client_for("bgchair")  # signed in again: the old session is idle
    page = chair.get("/plan").text
    assert "1 action is red by rule" in page
    assert ('<strong class="tag tag--red">Red</strong><br><span class="secondary rag-detail">'
            "By rule: past its timescale of 31 May 2024, no update</span>") in page
    action = chair.get("/plan/BP-1").text
    assert "by rule: past its timescale of 31 May 2024, no update" in action


FIGURES = ("measure,area,period,value,source\n"
           "mash_contacts,partnership,2023-24,4210,MASH system\n"
           "csc_referrals,cumberland,2023-24,1830,Children's social care\n")


def test_figures_upload_bad_row_then_good_file(app: App, people: None,
                                               client_for: Client) -> None:
    add_user(app.db, "support", [("business_support", None), ("case_review_member",
                                                                "cumberland")])
    support = client_for("support")
    empty = support.get("/figures")
    assert empty.status_code == 200 and "No figures have been imported yet" in empty.text
    bad = _upload(support, "/figures/import", "figures.csv",
                  FIGURES + "mash_contacts,cumberland,2023-24,-5,MASH system\n")
    assert bad.status_code == 400  # type: ignore[attr-defined]
    summary = bad.text[bad.text.index("error-summary"):]  # type: ignore[attr-defined]
    assert "Row 4: the value &#39;-5&#39; is negative" in summary
    assert 'href="#file"' in summary
    assert _count(app, ImportedFigure) == 0 and _audit(app, "figures.import") == 0
    # Not UTF-8 text: refused the same way. The form lists the codes a file may name.
    page = support.get("/figures/import")
    assert "<code>mash_contacts</code></td><td>Contacts into the Multi-Agency" in page.text
    assert "<code>cumberland</code> (Cumberland)" in page.text
    latin = support.post("/figures/import", data={"csrf_token": csrf_of(page.text)},
                         files={"file": ("f.csv", "caf\xe9".encode("latin-1"), "text/csv")})
    assert latin.status_code == 400 and "is not UTF-8 text" in latin.text
    good = _upload(support, "/figures/import", "figures.csv", FIGURES)
    assert good.status_code == 303  # type: ignore[attr-defined]
    assert _count(app, ImportedFigure) == 2 and _audit(app, "figures.import") == 1
    again = _upload(support, "/figures/import", "figures.csv",
                    FIGURES.replace("4210", "4215"))
    assert again.headers["location"].endswith("added=0&replaced=1&unchanged=1")  # type: ignore[attr-defined]
    shown = support.get("/figures").text
    assert "2023/24" in shown and "The partnership" in shown and "Cumberland" in shown
    assert "cumberland<" not in shown and "mash_contacts" not in shown  # names, not codes
    assert "Contacts into the Multi-Agency Safeguarding Hub" in shown
    assert "MASH system" in shown and "by support" in shown
    assert shown.index("4215") < shown.index("4210")  # the current before the replaced
    assert '<strong class="tag tag--grey">Replaced</strong>' in shown
    # The chair reads the figures but does not import them; others see neither.
    chair = client_for("bgchair")
    assert chair.get("/figures").status_code == 200
    assert 'href="/figures/import"' not in chair.get("/figures").text
    assert chair.get("/figures/import").status_code == 404
    assert client_for("owen").get("/figures").status_code == 404


def test_upload_too_large_is_refused_before_it_is_read(app: App, people: None,
                                                       client_for: Client) -> None:
    from web import deps

    pm = client_for("pm")
    page = pm.get("/figures/import")
    big = FIGURES + "x" * (deps.MAX_UPLOAD + 100_000)
    refused = pm.post("/figures/import", data={"csrf_token": csrf_of(page.text)},
                      files={"file": ("f.csv", big.encode(), "text/csv")})
    assert refused.status_code == 400 and "The file is larger than" in refused.text
    assert _count(app, ImportedFigure) == 0
    # Without its CSRF token: refused, nothing imported.
    no_token = pm.post("/figures/import", files={"file": ("f.csv", FIGURES.encode(),
                                                          "text/csv")})
    assert no_token.status_code == 403 and _count(app, ImportedFigure) == 0


def test_a_plan_import_by_a_user_without_a_plan_role_is_refused_and_audited(
        app: App, people: None) -> None:
    """Even a file whose actions are all in the plan (which opens no case): refused before
    the file is compared with the stored actions, and the refusal audited."""
    from engine.core.errors import PermissionDeniedError

    app.plan.import_plan("plan.csv", PLAN, "pm")
    with pytest.raises(PermissionDeniedError):
        app.plan.import_plan("plan.csv", PLAN, "social")
    changed = PLAN.replace("Embed the assessment tools", "Something else")
    with pytest.raises(PermissionDeniedError):  # not told the stored words
        app.plan.import_plan("plan.csv", changed, "social")
    assert _audit(app, "plan.import", "refused") + _audit(app, "plan.import", "denied") == 2
    assert _audit(app, "plan.import") == 1
