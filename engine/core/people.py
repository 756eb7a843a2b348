"""People named in a command are registered users: a chair, a member, an attendee, an action
owner, a reviewer. One check for every service, so an unknown login is refused the same way
everywhere ("did you mean"), before anything is written, and mail is addressed only to the
registered address of a user (or a configured agency mailbox).

Reads the directory through :class:`~engine.core.store.directory.Directory` on the command's
own connection; must not write anything nor decide who may see what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection

from engine.core.errors import UsageError, did_you_mean
from engine.core.store.directory import Directory, Person


def registered(conn: Connection, logins: Sequence[str], what: str,
               mailboxes: Iterable[str] = ()) -> dict[str, Person]:
    """The users ``logins`` (as ``what``, e.g. "--member"), each once; an unknown or disabled
    login, or one named twice, is a :class:`UsageError` that names it and what is allowed.
    A name in ``mailboxes`` (a configured agency mailbox) stands for itself."""
    directory = Directory(conn)
    # One person (a reviewer appointed) is read by login; several, with everyone at once.
    people = directory.people() if len(logins) > 1 else None
    boxes = set(mailboxes)
    seen: dict[str, Person] = {}
    for raw in logins:
        login = raw.strip()
        if login in seen:
            raise UsageError(f"{what} '{login}' is named twice: name each person once")
        if login in boxes:
            seen[login] = Person(login, login, None, True)
            continue
        person = directory.person(login) if people is None else people.get(login)
        if person is None:
            people = directory.people()  # whom to suggest instead
            active = [p.login for p in people.values() if p.active]
            raise UsageError(f"{what} '{login}' is not a registered user"
                             f"{did_you_mean(login, [*active, *boxes])}: name a login from "
                             "'safeguard user list' (an administrator adds people with "
                             "'safeguard user add')")
        if not person.active:
            raise UsageError(f"{what} '{login}' is disabled: name an active user")
        seen[login] = person
    return seen


def unaddressed(people: Mapping[str, Person]) -> list[str]:
    """The logins among ``people`` with no registered address mail can reach."""
    return sorted(login for login, p in people.items() if p.email is None)


__all__ = ["registered", "unaddressed"]
