"""The template engine behind :func:`notifications.render.render`: Jinja2's sandbox, with
:class:`StrictUndefined` and HTML parts autoescaped, over ``notifications/templates/``.

Imported when the first email is rendered, not before (a command that only lists messages
loads no template engine). Nothing here decides what a template may be given:
:mod:`notifications.render` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2 import TemplateNotFound as TemplateNotFound
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import SandboxedEnvironment

from notifications.render import TEMPLATES

# An include alone on its line (what trim_blocks and lstrip_blocks would strip with it).
_INCLUDE = re.compile(r'^[ \t]*\{%-?\s*include\s+"([^"]+)"\s*-?%\}\n?', re.MULTILINE)


class _InliningLoader(FileSystemLoader):
    """Loads a template with its ``{% include "..." %}`` lines replaced by the included
    files' text, so an email renders in one Jinja context instead of one per include (about
    a quarter of the rendering time). The output is the same: an include passes the whole
    context, and the partials set no variables of their own."""

    def get_source(self, environment: Environment, template: str,
                   ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        inlined = _INCLUDE.sub(lambda m: self.get_source(environment, m.group(1))[0], source)
        return inlined, filename, uptodate


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """One environment per process. Templates are compiled once, includes inlined, and kept:
    no disk check per render (``auto_reload`` off, a cache for every file; an include's
    ``stat`` of its file was a sixth of the sweep's rendering time)."""
    return SandboxedEnvironment(
        loader=_InliningLoader(str(TEMPLATES)), undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False, cache_size=-1)


@lru_cache(maxsize=64)
def templates(name: str) -> tuple[Template, Template, Template]:
    """The subject, text and HTML templates of ``name``, compiled once per process."""
    env = environment()
    subject, text, html = (env.get_template(f"{name}.{suffix}")
                           for suffix in ("subject.txt", "txt", "html"))
    return subject, text, html


__all__ = ["JinjaTemplateError", "TemplateNotFound", "environment", "templates"]
