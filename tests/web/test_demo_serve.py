"""``safeguard demo --serve``: the README's first command builds the year and serves it with a
sign-in for every role; demonstration passwords exist only in demonstration databases."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from engine.app import App
from engine.apps.demo.year import DemoResult, demo_app, demo_sign_ins
from engine.core.errors import UsageError
from tests.web.conftest import sign_in
from web import create_app

ROOT = Path(__file__).resolve().parents[2]


def test_every_demo_sign_in_works_and_lands_on_tasks(demo_copy) -> None:  # type: ignore[no-untyped-def]
    app = demo_app(DemoResult(demo_copy.folder / "demo.db", demo_copy.url, demo_copy.emails))
    try:
        password, people = demo_sign_ins(app, "root")
        logins = [login for login, _ in people]
        assert {"support", "crg.chair", "cerar.coord", "mace.chair"} <= set(logins)
        client = TestClient(create_app(app))
        sign_in(client, "crg.chair", password)
        page = client.get("/")
        assert page.status_code == 200
        assert "Case review group chair" in page.text or "crg.chair" in page.text
        # The chair's tasks on the demo's last evening are the open deadlines it owns.
        assert "/cases/" in page.text
    finally:
        app.close()


def test_demo_passwords_are_refused_outside_a_demo_database(app: App) -> None:
    app.admin.bootstrap("root")
    with pytest.raises(UsageError, match="only in databases made by 'safeguard demo'"):
        app.accounts.set_demo_password("root", "root", "known")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """The server goes when the test's process goes, even if it is killed (Linux)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.mark.slow
def test_demo_serve_prints_sign_ins_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", "demo", "--out", str(tmp_path),
         "--serve", "--port", str(port)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=_die_with_parent)
    lines: list[str] = []

    def read() -> None:  # in a thread: a server that never prints again cannot hang the test
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    client = None
    try:
        deadline = time.monotonic() + 600
        while not any("Ctrl+C stops" in line for line in lines) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        output = "".join(lines)
        match = re.search(r"password (\S+) \(this demo database only\)", output)
        assert match, output
        assert "crg.chair" in output and "cerar.coord" in output
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True)
        for _ in range(100):
            try:
                page = client.get("/sign-in")
                break
            except httpx.ConnectError:
                time.sleep(0.2)
        assert page.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        signed = client.post("/sign-in", data={"login": "cerar.coord",
                                               "password": match.group(1),
                                               "csrf_token": token.group(1), "next": "/"})
        assert signed.status_code == 200
        assert "Sign out" in signed.text
    finally:
        if client is not None:
            client.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
