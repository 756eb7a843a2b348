"""No duplicate email from a slow SMTP server, with no crash: two schedulers deliver from one
outbox while the server stalls on every message for longer than the lease. Each message
carries its own lease, renewed while it is being sent, and a sender whose lease was taken
over does not send it; every message arrives exactly once.

The stall and the lease are scaled down (1.5 s per message, a 1 s lease) to keep the test
short; without the per-message renewal a second scheduler takes over messages the first
still holds and resends them (the probe saw 25 wanted emails arrive as 31, and 22 as 50).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from engine.core.clock import UTC, FixedClock
from engine.core.service import Engine
from engine.core.store.database import Database
from notifications.service import DispatchResult, Notifier
from notifications.transports import SmtpTransport
from tests.conftest import london, make_app
from tests.notifications.conftest import (
    OPEN_FIELDS,
    Mailbox,
    SmtpServer,
    _Handler,
    free_port,
    settings,
)

STALL_SECONDS = 1.5
LEASE_SECONDS = 1


class _StallingHandler(_Handler):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(STALL_SECONDS)  # a slow server: accepts, but takes its time
        return await super().handle_DATA(server, session, envelope)


class _StallingServer(SmtpServer):
    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(_StallingHandler(self.box), hostname="127.0.0.1",
                                     port=self.box.port, ready_timeout=10)
        self.controller.start()


class _RunningClock:
    """Simulated time that runs at the wall clock's pace from a fixed start (the leases are
    compared with it, so they must run out while a send is stalled)."""

    def __init__(self, start: dt.datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self.t0)


@pytest.fixture
def slow_smtp() -> Iterator[SmtpServer]:
    server = _StallingServer(Mailbox(free_port()))
    server.start()
    yield server
    server.stop()


def test_two_schedulers_and_a_stalling_server_send_each_message_once(
        engine: Engine, clock: FixedClock, db: Database, slow_smtp: SmtpServer) -> None:
    for i in range(6):
        engine.open_case("practice_review", f"PR-{i}", OPEN_FIELDS, actor="amy")
    clock.set(london("2024-06-06 08:00"))
    port = slow_smtp.box.port
    notes = settings(transport="smtp", lease_seconds=LEASE_SECONDS)
    wanted = Notifier(engine, notes, lambda: SmtpTransport("127.0.0.1", port, timeout=30)) \
        .sweep().messages
    assert wanted >= 5

    running = _RunningClock(clock.now().astimezone(UTC))
    results: list[DispatchResult] = []
    lock = threading.Lock()
    stop = time.monotonic() + 20 + wanted * STALL_SECONDS

    def scheduler() -> None:
        # Each scheduler has its own application and database handle, as a process would.
        own = Database(db.url)
        app = make_app(own, running)  # type: ignore[arg-type]
        notifier = Notifier(app.engine, notes,
                            lambda: SmtpTransport("127.0.0.1", port, timeout=30))
        try:
            while time.monotonic() < stop:
                result = notifier.dispatch()
                with lock:
                    results.append(result)
                if notifier.counts() == {"sent": wanted}:
                    return
                time.sleep(0.1)
        finally:
            own.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = slow_smtp.box.message_ids()
    repeated = {k: n for k, n in Counter(ids).items() if n > 1}
    taken_over = sum(r.taken_over for r in results)
    print(f"slow server: wanted {wanted}, received {len(ids)} ({len(set(ids))} distinct), "
          f"duplicates {sum(repeated.values()) - len(repeated)}, left to the other scheduler "
          f"{taken_over}")
    assert not repeated
    assert len(ids) == wanted
    assert sum(r.sent for r in results) == wanted
