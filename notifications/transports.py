"""How a message leaves: SMTP, a folder of ``.eml`` files, or an in-memory fake.

One small interface (:class:`Transport`): ``send`` hands over one message or raises
:class:`~engine.core.errors.DeliveryError` (``permanent`` when the server refused for good, 5xx);
``close`` ends a session. This module does network and file I/O; nothing else does.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from engine.core.errors import DeliveryError


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class SmtpTransport:
    """SMTP with optional STARTTLS and login; one connection reused for a delivery pass."""

    # A remote server can stall for longer than a lease: the dispatcher renews each
    # message's lease before and while sending it (local transports finish at once).
    remote = True

    def __init__(self, host: str, port: int, starttls: bool = False, user: str | None = None,
                 password: str | None = None, timeout: float = 30.0) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self._user, self._password, self.timeout = user, password, timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            try:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._user:
                    smtp.login(self._user, self._password or "")
            except smtplib.SMTPAuthenticationError as exc:
                raise DeliveryError(f"SMTP login to {self.host}:{self.port} refused: "
                                    f"{exc.smtp_code}") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryError(f"cannot reach SMTP server {self.host}:{self.port}: "
                                    f"{exc}", unreachable=True) from None
            self._smtp = smtp
        return self._smtp

    def send(self, message: EmailMessage) -> None:
        smtp = self._connect()
        try:
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"recipient refused: {exc.recipients}",
                                permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                                permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"SMTP connection to {self.host}:{self.port} lost: {exc}") \
                from None
        if refused:  # several recipients, some refused: we send one address per message
            raise DeliveryError(f"recipient refused: {refused}", permanent=True)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class EmlFolderTransport:
    """Each message becomes FOLDER/<message-id>.eml (the embedded setup's default). Writing
    the same message again replaces the file, so a resend after a crash is harmless."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        name = _UNSAFE.sub("_", str(message["Message-ID"]).strip("<>")) + ".eml"
        try:  # the folder and its files readable by their owner only
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = self.folder / f".{name}.tmp"
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(message.as_bytes())
            os.replace(temporary, self.folder / name)
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.folder / name}: {exc.strerror}") from None

    def close(self) -> None:
        return None


class MemoryTransport:
    """Keeps what it is given. ``fail_with`` makes every send raise (to test retries)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.fail_with: DeliveryError | None = None

    def send(self, message: EmailMessage) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)

    def close(self) -> None:
        return None


__all__ = ["EmlFolderTransport", "MemoryTransport", "SmtpTransport", "Transport"]
