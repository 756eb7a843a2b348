"""Fixtures for the alerts, outbox and scheduler tests: a notifier with an in-memory
transport, recipients for every role, and a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.core.service import Engine
from engine.core.settings import NotificationSettings
from notifications.service import Notifier
from notifications.transports import MemoryTransport

RECIPIENTS = {
    "business_support": ["support@example.org"],
    "case_review_chair": ["chair@example.org"],
    "partnership_manager": ["manager@example.org"],
}
OPEN_FIELDS = {"became_aware_on": "2024-06-03", "child_ref": "C-1001", "label": "Test"}


def settings(**over: Any) -> NotificationSettings:
    values: dict[str, Any] = {"transport": "memory", "recipients": RECIPIENTS,
                              "recipients_from": "settings",
                              "sender": "safeguard@example.org",
                              "base_url": "https://sg.example.org"}
    values.update(over)
    return NotificationSettings(**values)


@pytest.fixture
def memory() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def notifier(engine: Engine, memory: MemoryTransport) -> Notifier:
    return Notifier(engine, settings(), lambda: memory)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the loopback SMTP server accepted, and which recipients it refuses."""

    port: int
    refuse: set[str] = field(default_factory=set)
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def message_ids(self) -> list[str]:
        import email

        out = []
        with self.lock:
            for _, data in self.messages:
                out.append(str(email.message_from_bytes(data)["Message-ID"]))
        return out


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address in self.box.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.box.lock:
            self.box.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, box: Mailbox) -> None:
        self.box = box
        self.controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(_Handler(self.box), hostname="127.0.0.1",
                                     port=self.box.port, ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(Mailbox(free_port()))
    server.start()
    yield server
    server.stop()
