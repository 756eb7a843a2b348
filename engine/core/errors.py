"""The one exception tree of safeguard.

Every error a user can cause or meet derives from :class:`EngineError` and carries a
message that says what was wrong and what is allowed. The CLI maps the whole tree to a
single ``Error: ...`` line in one place; nothing below it prints.

    EngineError
    ├── UsageError                 bad input: a value, an option (CLI exit 2)
    │   ├── FieldError             missing, unknown or malformed case field
    │   ├── BadDateError           an unparseable date or datetime
    │   └── DomainOwnedError       a trigger a domain command owns, fired on the generic route
    ├── DefinitionError            a workflow definition is invalid (carries Problems;
    │                              exit 2, one line per problem)
    ├── UnknownWorkflowError       no workflow by that name or version
    ├── CaseNotFoundError          no case with that reference
    │   └── HiddenCaseError        one the actor may not see: answered alike, audited refused
    ├── DuplicateCaseError         a case with that reference already exists
    ├── TransitionNotAllowedError  trigger not available from the case's state
    ├── GuardFailedError           trigger available but its guard is not satisfied
    ├── ConcurrencyError           the case changed under us; nothing was written
    ├── DatabaseNotReadyError      database missing or not at the latest schema
    ├── PermissionDeniedError      the actor's roles, area or involvement do not allow it (exit 3)
    ├── UnknownUserError           the acting user is not registered, or is disabled (exit 3)
    ├── DeploymentError            this command's configuration is not the deployment's: the
    │                              audit key, demo mode, the workflows folder (exit 3)
    ├── TemplateError              a notification template is missing or fails to render
    ├── DeliveryError              a message could not be handed to the mail server
    └── NotificationNotFoundError  no outbox message with that id
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix for a near miss, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(choices: Iterable[str]) -> str:
    names = sorted(choices)
    return ", ".join(names) if names else "(none)"


class EngineError(Exception):
    """Root of every error safeguard raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, cli: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # How to put it right on the command line ("add --present AGENCY=USER"): the CLI
        # adds it; a web form does not, as its fields are already on the page.
        self.cli = cli

    def __str__(self) -> str:
        return self.message

    def cli_text(self) -> str:
        return f"{self.message}: {self.cli}" if self.cli else self.message


class UsageError(EngineError):
    exit_code = 2


class FieldError(UsageError):
    def __init__(self, field: str, message: str, *, cli: str | None = None) -> None:
        super().__init__(message, cli=cli)
        self.field = field


class BadDateError(UsageError):
    pass


class DomainOwnedError(UsageError):
    """A trigger whose domain keeps records or rules of its own (``via:`` in the workflow),
    fired on the generic route: the message names the command that records it."""

    def __init__(self, trigger: str, via: str) -> None:
        super().__init__(f"'{trigger}' is recorded through '{via}', which also keeps the "
                         "records and checks that go with it: use that command")
        self.trigger, self.via = trigger, via


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition file, located by YAML path (and line if known)."""

    file: str
    path: str
    message: str
    hint: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}"
        return f"{text} [hint: {self.hint}]" if self.hint else text


class DefinitionError(EngineError):
    """Bad input in a definition file: the CLI prints one line per problem, exit 2."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid definition"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem(s))" if more > 0 else ""))


class UnknownWorkflowError(EngineError):
    def __init__(self, name: str, known: Iterable[str], version: int | None = None) -> None:
        known = list(known)
        what = f"workflow '{name}'" + (f" version {version}" if version is not None else "")
        super().__init__(
            f"unknown {what}{did_you_mean(name, known)}; known workflows: {one_of(known)}"
        )
        self.name = name


class CaseNotFoundError(EngineError):
    def __init__(self, ref: str, workflow: str | None = None) -> None:
        where = f" in workflow '{workflow}'" if workflow else ""
        super().__init__(f"no case '{ref}'{where}; 'safeguard case list' shows the cases")
        self.ref = ref


class HiddenCaseError(CaseNotFoundError):
    """A case the actor may not see: answered exactly as an unknown reference (so a refusal
    does not confirm that the case exists), and audited as a refusal with the real reason."""

    def __init__(self, ref: str, workflow: str | None, reason: str,
                 answer: str | None = None) -> None:
        super().__init__(ref, workflow)
        self.reason = reason
        if answer is not None:  # what the caller says of an unknown one (a MACE meeting)
            self.message = answer
            self.args = (answer,)


class DuplicateCaseError(EngineError):
    def __init__(self, ref: str, workflow: str) -> None:
        super().__init__(f"a {workflow} case '{ref}' already exists; choose another reference")
        self.ref = ref


class TransitionNotAllowedError(EngineError):
    def __init__(self, ref: str, trigger: str, state: str, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        super().__init__(
            f"case '{ref}' is '{state}': trigger '{trigger}' is not allowed there"
            f"{did_you_mean(trigger, allowed)}; allowed: {one_of(allowed)}"
        )
        self.ref, self.trigger, self.state = ref, trigger, state


class GuardFailedError(EngineError):
    def __init__(self, ref: str, trigger: str, guard: str, description: str) -> None:
        super().__init__(
            f"case '{ref}': '{trigger}' needs {description} (guard '{guard}' is not satisfied)"
        )
        self.ref, self.trigger, self.guard = ref, trigger, guard


class ConcurrencyError(EngineError):
    def __init__(self, ref: str, expected: int, actual: int | None = None) -> None:
        now = f" (it is now at version {actual})" if actual is not None else ""
        super().__init__(
            f"case '{ref}' was changed by someone else while you worked (expected version "
            f"{expected}){now}; nothing was written: look at it again and retry"
        )
        self.ref, self.expected, self.actual = ref, expected, actual


class DatabaseNotReadyError(EngineError):
    pass


class PermissionDeniedError(EngineError):
    """Refused: the message names the permission that is missing. The refusal is audited."""

    exit_code = 3

    def __init__(self, actor: str, action: str, needs: str, has: str = "") -> None:
        super().__init__(f"{actor} may not {action}: {needs}" + (f"; {actor} has {has}"
                                                                  if has else ""))
        self.actor, self.action, self.needs = actor, action, needs


class UnknownUserError(EngineError):
    exit_code = 3


class DeploymentError(EngineError):
    """The command runs with settings the database was not set up with (another audit key,
    demo mode, another workflows folder): refused before anything is written."""

    exit_code = 3
class TemplateError(EngineError):
    def __init__(self, template: str, message: str, known: Iterable[str] = ()) -> None:
        known = list(known)
        hint = f"{did_you_mean(template, known)}; templates: {one_of(known)}" if known else ""
        super().__init__(f"template '{template}': {message}{hint}")
        self.template = template


class DeliveryError(EngineError):
    """``permanent``: the server refused for good (5xx); otherwise worth retrying.
    ``unreachable``: no server to talk to, so the rest of a delivery pass would fail too."""

    def __init__(self, message: str, permanent: bool = False,
                 unreachable: bool = False) -> None:
        super().__init__(message)
        self.permanent, self.unreachable = permanent, unreachable


class NotificationNotFoundError(EngineError):
    def __init__(self, ident: int) -> None:
        super().__init__(f"no notification {ident}; 'safeguard notifications list' shows them")
        self.ident = ident
