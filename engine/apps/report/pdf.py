"""The annual report as PDF: its HTML page printed by headless Chromium (the print
stylesheet lays it out), when Chromium is installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from engine.core.errors import DeploymentError

CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def chromium() -> str | None:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium(browser: str | None = None) -> str:
    """Chromium's path, or one clear line saying it is not installed."""
    exe = browser or chromium()
    if exe is None or (not Path(exe).exists() and shutil.which(exe) is None):
        raise DeploymentError("PDF needs Chromium, which is not installed here: install "
                              "it, or use --format html and print that to PDF")
    return exe


def pdf_bytes(page: str, browser: str | None = None, timeout: float = 120.0) -> bytes:
    """``page`` (a whole HTML document) printed to PDF."""
    exe = require_chromium(browser)
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as folder:
        source, out = Path(folder) / "report.html", Path(folder) / "report.pdf"
        source.write_text(page, encoding="utf-8")
        try:
            subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-pdf-header-footer", f"--user-data-dir={folder}/profile",
                            f"--print-to-pdf={out}", source.as_uri()],
                           check=True, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise DeploymentError(f"Chromium could not print the report to PDF ({exc})"
                                  ) from None
        if not out.exists():
            raise DeploymentError("Chromium printed no PDF")
        return out.read_bytes()
