"""The ASGI application for a worker process: the settings from the environment
(``SAFEGUARD_DATABASE_URL``, ``SAFEGUARD_CONFIG``), the wall clock unless ``SAFEGUARD_NOW``
fixes it (a demonstration database). ``safeguard serve --workers N`` starts N of these."""

from __future__ import annotations

import os

from fastapi import FastAPI


def factory() -> FastAPI:
    from engine.app import build_app
    from engine.core.clock import FixedClock, SystemClock, parse_instant
    from engine.core.settings import load_settings
    from web.app import create_app

    now = os.environ.get("SAFEGUARD_NOW")
    clock = FixedClock(parse_instant(now)) if now else SystemClock()
    settings = load_settings(os.environ.get("SAFEGUARD_CONFIG"),
                             os.environ.get("SAFEGUARD_DATABASE_URL"))
    return create_app(build_app(settings, clock), serving=True)
