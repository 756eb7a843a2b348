"""How fast are the pages, and does My tasks grow with history? Over HTTP, beside a floor.

    python benchmarks/web.py [--cases 100000] [--small 1000] [--requests 200] [--db URL]
                             [--reuse DIR] --json

For each of two databases (``benchmarks/scale.py``'s: the demonstration year plus ``--small``
and ``--cases`` closed cases of earlier years), starts ``safeguard serve`` on it as a separate
process (one worker, the demo's "today" as its clock) and a **floor**: a Starlette app in
another process whose pages each run ONE SQL query reading the same rows (the open deadlines
with their cases for My tasks; the case with its deadlines and events for a case page; one
UPDATE of the case's version for a submission) and return them as plain HTML, running the
query in the thread pool as a correct server must (the app does too: a query that waits for a
lock must not stall the event loop, see tests/web/test_event_loop.py). Then, signed in
as the demo's case review group chair (``crg.chair``, every area), it
requests each page ``--requests`` times in turn over one keep-alive connection per server,
the app's and the floor's requests interleaved (so a change of load falls on both), and reports
p50 and p95 latency (ms) and requests per second for:

* ``tasks``: My tasks (``GET /``);
* ``case``: a case page (``GET /cases/REF``, an open case of the demo year);
* ``submit``: a step form's submission (``POST /cases/REF/steps/receive_draft`` on a case in
  review: an internal step, so it can be repeated; each bumps the case's version, audited);

with the floor's figures and the ratios; beside them each server's CPU per request of each page
(``server_cpu_ms``, read from /proc around each request: work a server defers past its
response, such as the app's audit head mirror, is not in it) and their ratio, and each
server's CPU seconds over the whole run (deferred work included). Targets (issue 10):
case page p95 at most 100 ms and at most 3x the floor; My tasks at ``--cases`` within noise
of My tasks at ``--small``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark-password-1"
USER = "crg.chair"  # the demo's case review group chair (all areas)
REVIEW_REF = "PR-BENCH-1"


# -- the floor: one query per page ---------------------------------------------------------
FLOOR_TASKS = """
SELECT c.ref, c.workflow, c.state, d.name, d.due_at, d.status FROM deadline d
JOIN "case" c ON c.id = d.case_id
WHERE d.status IN ('open', 'breached') ORDER BY d.due_at LIMIT 50"""
FLOOR_CASE = """
SELECT c.ref, c.state, c.data, d.name, d.rule, d.due_at, d.status, e.trigger, e.at, e.actor
FROM "case" c LEFT JOIN deadline d ON d.case_id = c.id LEFT JOIN case_event e ON e.case_id = c.id
WHERE c.ref = :ref"""
FLOOR_SUBMIT = 'UPDATE "case" SET version = version + 1 WHERE ref = :ref'


def floor_app(url: str) -> Any:
    from sqlalchemy import create_engine, text
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    engine = create_engine(url)

    def table(rows: Any) -> HTMLResponse:
        body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
        return HTMLResponse(f"<!doctype html><table>{body}</table>")

    # Like the app, the floor queries off the event loop (plain functions run in the thread
    # pool): a server whose query waits for a lock must go on answering other requests.
    def tasks(request: Request) -> HTMLResponse:
        with engine.connect() as conn:
            return table(conn.execute(text(FLOOR_TASKS)).all())

    def case(request: Request) -> HTMLResponse:
        with engine.connect() as conn:
            return table(conn.execute(text(FLOOR_CASE),
                                      {"ref": request.path_params["ref"]}).all())

    def update(ref: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(FLOOR_SUBMIT), {"ref": ref})

    async def submit(request: Request) -> HTMLResponse:
        await request.form()
        await run_in_threadpool(update, request.path_params["ref"])
        return HTMLResponse("", status_code=303, headers={"Location": "/"})

    return Starlette(routes=[Route("/", tasks), Route("/cases/{ref}", case),
                             Route("/cases/{ref}/steps/{trigger}", submit, methods=["POST"])])


# -- setting up a database -------------------------------------------------------------------
def prepare(url: str, out: Path, now: str, you: str) -> None:
    """A password for the OS login, and a review in review for the repeated submission."""
    from engine.app import build_app
    from engine.apps.demo.year import demo_settings
    from engine.core.clock import FixedClock
    from engine.core.store.account_store import AccountStore

    clock = FixedClock(_parse(now))
    app = build_app(demo_settings(url, out / "outbox"), clock)
    try:
        with app.db.begin() as conn:
            AccountStore(conn).set_password(USER, app.accounts.hasher.hash(PASSWORD), False,
                                            clock.now())
        day = clock.now().date().isoformat()
        engine = app.engine
        engine.open_case("practice_review", REVIEW_REF, {
            "became_aware_on": day, "child_ref": "C-90001", "label": "Benchmark"}, USER,
            area="cumberland")
        for trigger, values in (
                ("notify", {"notified_on": day}),
                ("submit_rapid_review", {"rr_submitted_on": day, "rr_recommendation": "lcspr"}),
                ("record_panel_response", {"panel_response": "agreed",
                                           "panel_response_on": day}),
                ("commission_lcspr", {"decision_on": day}),
                ("appoint_reviewer", {"reviewer": "reviewer.a", "reviewer_appointed_on": day})):
            engine.fire(REVIEW_REF, trigger, values,
                        "support" if trigger == "notify" else USER)
    finally:
        app.close()


def _parse(text: str) -> Any:
    import datetime as dt

    from engine.core.clock import LONDON

    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- timing ----------------------------------------------------------------------------------
def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2),
            "rps": round(len(ordered) / sum(ordered), 1)}


class _Target:
    """One server under test, over one keep-alive connection: its requests and timings."""

    def __init__(self, base: str, pid: int, ref: str, review: str, *,
                 signed_in: bool) -> None:
        import re

        import httpx2 as httpx

        self.client = httpx.Client(base_url=base, timeout=60, follow_redirects=True)
        self.ref, self.review, self.version, self.token = ref, review, 0, ""
        self.timings: dict[str, list[float]] = {name: [] for name in PAGES}
        # The server's CPU seconds spent on each page (read from /proc around each request:
        # the clock ticks are coarse, but summed over many requests the error averages out).
        self.pid, self.cpu = pid, dict.fromkeys(PAGES, 0.0)
        if not signed_in:
            return
        page = self.client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no sign-in form"
        landed = self.client.post("/sign-in", data={"login": USER, "password": PASSWORD,
                                                     "next": "/", "csrf_token": token.group(1)})
        assert landed.status_code == 200 and "Sign out" in landed.text, landed.text[-1500:]
        form = self.client.get(f"/cases/{REVIEW_REF}/steps/receive_draft")
        assert form.status_code == 200, form.status_code
        found = re.search(r'name="version" value="(\d+)"', form.text)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert found and csrf
        self.version, self.token = int(found.group(1)), csrf.group(1)

    def request(self, name: str, keep: bool) -> None:
        cpu = _cpu(self.pid)
        started = time.perf_counter()
        if name == "tasks":
            response = self.client.get("/")
        elif name == "case":
            response = self.client.get(f"/cases/{self.ref}")
        else:
            response = self.client.post(
                f"/cases/{self.review}/steps/receive_draft", follow_redirects=False,
                data={"csrf_token": self.token, "version": str(self.version),
                      "draft_received_on": "2024-04-15"})
            self.version += 1
        elapsed = time.perf_counter() - started
        assert response.status_code in (200, 303), (name, response.status_code,
                                                    response.text[:300])
        if keep:
            self.timings[name].append(elapsed)
            self.cpu[name] += _cpu(self.pid) - cpu

    def figures(self) -> dict[str, dict[str, float]]:
        return {name: {**_percentiles(samples),
                       "server_cpu_ms": round(self.cpu[name] / len(samples) * 1000, 2)}
                for name, samples in self.timings.items()}


PAGES = ("tasks", "case", "submit")


def measure(app: _Target, floor: _Target, requests: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each page ``requests`` times on the app and on the floor, interleaved request by
    request (the order alternating), so that a change in the machine's load while this runs
    falls on both alike and the ratio keeps its meaning. The first 10 of each warm up."""
    for i in range(requests + 10):
        for name in PAGES:
            for target in (app, floor) if i % 2 else (floor, app):
                target.request(name, keep=i >= 10)
    return app.figures(), floor.figures()


def run_one(cases: int, db: str | None, requests: int, you: str,
            reuse: Path | None = None) -> dict[str, Any]:
    from benchmarks.scale import build

    started = time.perf_counter()
    saved = reuse / f"{cases}" / "info.json" if reuse is not None and db is None else None
    if saved is not None and saved.exists():  # built by an earlier run with --reuse
        info = json.loads(saved.read_text())
        url, now = info["db"], info["now"]
    else:
        if saved is not None:
            out = saved.parent
            out.mkdir(parents=True, exist_ok=True)
        else:
            out = Path(tempfile.mkdtemp(prefix=f"sg-web-{cases}-"))
        info = build(db, out, cases, you)
        url, now = info["db"], info["now"]
        prepare(url, out, now, you)
        if saved is not None:
            saved.write_text(json.dumps(info))
    built = time.perf_counter() - started
    env = dict(os.environ, PYTHONPATH=str(ROOT), SAFEGUARD_DATABASE_URL=url)
    app_port, floor_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", "--db", url, "--now", now, "serve",
         "--port", str(app_port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    floor = subprocess.Popen(
        [sys.executable, str(Path(__file__)), "--floor-serve", url, str(floor_port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        _wait(app_port, server)
        _wait(floor_port, floor)
        cpu0 = (_cpu(server.pid), _cpu(floor.pid))
        app_figures, floor_figures = measure(
            _Target(f"http://127.0.0.1:{app_port}", server.pid, info["case_ref"], REVIEW_REF,
                    signed_in=True),
            # The floor bumps another case's version: the app's submissions check theirs.
            _Target(f"http://127.0.0.1:{floor_port}", floor.pid, info["case_ref"],
                    info["case_ref"], signed_in=False),
            requests)
        cpu = (round(_cpu(server.pid) - cpu0[0], 2), round(_cpu(floor.pid) - cpu0[1], 2))
    finally:
        for proc in (server, floor):
            proc.terminate()
            proc.wait(timeout=30)
    ratios = {name: round(app_figures[name]["p95_ms"] / floor_figures[name]["p95_ms"], 2)
              for name in app_figures}
    cpu_ratios = {name: round(app_figures[name]["server_cpu_ms"]
                              / max(floor_figures[name]["server_cpu_ms"], 0.01), 2)
                  for name in app_figures}
    return {"cases": info["cases"], "build_seconds": round(built, 1), "app": app_figures,
            "floor": floor_figures, "p95_ratio": ratios, "server_cpu_ratio": cpu_ratios,
            "server_cpu_seconds": {"app": cpu[0], "floor": cpu[1]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", help="a PostgreSQL URL (its tables are dropped); default "
                                     "SQLite files in a temporary folder")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="keep the SQLite databases in DIR and reuse them on later runs "
                             "(the build takes minutes)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--floor-serve", nargs=2, metavar=("URL", "PORT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_serve:
        import uvicorn

        uvicorn.run(floor_app(args.floor_serve[0]), host="127.0.0.1",
                    port=int(args.floor_serve[1]), log_level="warning")
        return
    you = getpass.getuser()
    results: dict[str, Any] = {
        "small": run_one(args.small, args.db, args.requests, you, args.reuse),
        "large": run_one(args.cases, args.db, args.requests, you, args.reuse)}
    small, large = results["small"]["app"]["tasks"], results["large"]["app"]["tasks"]
    results["tasks_p50_large_over_small"] = round(large["p50_ms"] / small["p50_ms"], 2)
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for size in ("small", "large"):
        r = results[size]
        print(f"{r['cases']} cases:")
        for page in ("tasks", "case", "submit"):
            print(f"  {page:<7} app {r['app'][page]}  floor {r['floor'][page]}  "
                  f"p95 ratio {r['p95_ratio'][page]}  server CPU ratio "
                  f"{r['server_cpu_ratio'][page]}")
    print(f"My tasks p50, large over small: {results['tasks_p50_large_over_small']}")


if __name__ == "__main__":
    main()
