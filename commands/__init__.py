"""The `safeguard` commands, one module per command group (``cli.py`` loads them lazily from
its table): each command parses its options, makes one engine call and prints.

``_common`` holds what several groups share and ``runtime`` the global options' state. No
module imports the engine, SQLAlchemy or the notifications package at import time.
"""
