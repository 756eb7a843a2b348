"""The web front end: server-rendered pages over the same services as the CLI.

A page parses the request, calls one service as the signed-in user and renders a template.
Every permission check, transaction and audit record happens in the services; nothing here
reads the database or decides who may do what.
"""

from web.app import create_app

__all__ = ["create_app"]
