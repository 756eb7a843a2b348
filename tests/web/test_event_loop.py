"""A request that waits for the database must not stall the server.

A page's unit of work writes its audit record, so it waits while another process holds the
database's write lock (SQLite) or the audit head's row lock (PostgreSQL). The handlers run
that work in the thread pool, never on the event loop; so, while one page waits, the server
still answers others. The test holds the lock from a separate connection, checks that the
case page is indeed waiting, that a stylesheet is served meanwhile, and that the page is then
served once the lock is let go. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from engine.app import App
from tests.web.test_browser import serving
from tests.web.test_pages import _open

Client = Callable[[str], TestClient]


@contextmanager
def database_locked(app: App) -> Iterator[None]:
    url = app.settings.database_url
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the write lock every audited command needs
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT seq FROM audit_head FOR UPDATE"))  # the chain's head
            try:
                yield
            finally:
                conn.rollback()
        engine.dispose()


def test_a_page_waiting_for_a_lock_does_not_stall_other_requests(client_for: Client,
                                                                 app: App) -> None:
    amy = client_for("amy")
    _open(amy)
    cookies = dict(amy.cookies)
    with serving(app) as base, concurrent.futures.ThreadPoolExecutor(1) as pool:
        with database_locked(app):
            waiting = pool.submit(lambda: httpx.get(f"{base}/cases/PR-1", cookies=cookies,
                                                    timeout=60))
            deadline = time.monotonic() + 5  # let the request reach the lock and wait there
            while time.monotonic() < deadline and not waiting.done():
                time.sleep(0.1)
            assert not waiting.done(), "the case page did not wait for the lock"
            css = httpx.get(f"{base}/static/style.css", timeout=10)
            assert css.status_code == 200 and ".tag--red" in css.text
            assert not waiting.done()  # still waiting: the stylesheet did not wait with it
        page = waiting.result(timeout=60)
    assert page.status_code == 200 and "PR-1" in page.text
