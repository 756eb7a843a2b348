"""Forms of the CERAR and MACE pages as data: each field's label, hint and input, one page
template (``form_page.html``) for all of them, and the one way a submission becomes either a
redirect or the same form again with the engine's message at the top and beside its field.

The rules are the services': a form only carries what the user typed to one service call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from engine.core.errors import (
    DuplicateCaseError,
    EngineError,
    FieldError,
    GuardFailedError,
    PermissionDeniedError,
    TransitionNotAllowedError,
    UsageError,
)
from web import deps, words
from web.deps import Ctx

# What a form shows again with its error; anything else (a refusal, a case that is not
# there) is the application's error page.
FORM_ERRORS = (UsageError, DuplicateCaseError, GuardFailedError, TransitionNotAllowedError)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, email, textarea, date, datetime, time, number, radios, select,
    #                    checkbox, checkboxes (one box per choice, sent as NAME-VALUE)
    hint: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    max_length: int | None = None
    width: str = ""  # input--w10 or input--w20
    indent: bool = False  # belongs to the field above it (a checkbox's detail)
    value: str = "yes"  # what a ticked checkbox sends
    accept: str = ""  # a file input's endings, e.g. ".csv,.yaml"


@dataclass(frozen=True)
class Form:
    title: str
    action: str
    submit: str
    cancel: str
    fields: tuple[Field, ...]
    breadcrumbs: tuple[tuple[str, str | None], ...] = ()
    caption: str = ""
    lead: str = ""
    # Words in an engine message -> the field it is about (else the first field).
    about: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    upload: bool = False  # a file input: sent as multipart, read by deps.upload


def error_field(form: Form, exc: EngineError) -> str:
    names = [f.name for f in form.fields]
    if isinstance(exc, FieldError) and exc.field in names:
        return exc.field
    text = str(exc).lower()
    for phrase, name in form.about.items():
        if phrase in text:
            return name
    return names[0]


def page(ctx: Ctx, form: Form, values: Mapping[str, str] | None = None,
         errors: Mapping[str, str] | None = None, status: int = 200) -> Response:
    return deps.render(ctx, "form_page.html", status, title=form.title, form=form,
                       values=dict(form.defaults) if values is None else dict(values),
                       errors=dict(errors or {}), breadcrumbs=list(form.breadcrumbs))


# How a form is shown again: ``page`` (form_page.html), or a page of its own around it.
Show = Callable[[Ctx, Form, Mapping[str, str], Mapping[str, str], int], Response]


async def submit(request: Request, ctx: Ctx, form: Callable[[], Form],
                 act: Callable[[dict[str, str]], str], show: Show = page) -> Response:
    """Check the CSRF token, run ``act`` (one service call, so one audit record) with the
    posted values and go where it says; a usage error comes back as the form (made by
    ``form`` only then, shown by ``show``), values kept, nothing written."""
    assert ctx.session is not None
    values = await deps.form(request, ctx.session.csrf)
    # The service call (and the form again, on an error) runs off the event loop: it may
    # wait for the database's write lock, and other requests must not wait with it.
    return await run_in_threadpool(
        _run, ctx, form, values, lambda: act({k: v.strip() for k, v in values.items()}), show)


async def submit_upload(request: Request, ctx: Ctx, form: Callable[[], Form],
                        act: Callable[[dict[str, str], str, str], str],
                        show: Show = page) -> Response:
    """As :func:`submit` for a form with a file: ``act(values, file name, text)``. A file
    the site does not take (none, too large, not text) is the form again with the reason
    beside the file input; the service's first problem (one line naming the row) likewise."""
    assert ctx.session is not None
    try:
        sent = await deps.upload(request, ctx.session.csrf)
    except deps.UploadRefused as exc:
        return await run_in_threadpool(show, ctx, form(), {}, {"file": str(exc)}, 400)
    values = {k: v.strip() for k, v in sent.values.items()}
    return await run_in_threadpool(
        _run, ctx, form, values, lambda: act(values, sent.name, sent.text), show)


def _run(ctx: Ctx, form: Callable[[], Form], values: dict[str, str],
         call: Callable[[], str], show: Show) -> Response:
    try:
        target = call()
    except FORM_ERRORS as exc:
        again = form()
        message = words.sentence(str(exc))
        return show(ctx, again, values, {error_field(again, exc): message},
                    deps.status_for(exc))
    except PermissionDeniedError as exc:
        if deps.status_for(exc) == 404:
            raise
        # A choice on the form the user's roles do not allow (a level change at MACE, say):
        # refused and audited by the service; the form again, values kept.
        again = form()
        message = words.sentence(str(exc))
        return show(ctx, again, values, {error_field(again, exc): message}, 403)
    return deps.redirect(target)


def split_logins(text: str) -> list[str]:
    """'amy, bob carol' -> ['amy', 'bob', 'carol']."""
    return [p for p in text.replace(",", " ").split() if p]


def choices(values: Sequence[str], label: Callable[[str], str]) -> tuple[tuple[str, str], ...]:
    return tuple((v, label(v)) for v in values)


__all__ = ["Field", "Form", "Show", "choices", "error_field", "page", "split_logins", "submit",
           "submit_upload"]
