"""``safeguard user`` and ``safeguard area``: users, their roles and the partnership areas
(administrators)."""

from __future__ import annotations

import click

from commands._common import _emit, _runtime, json_option


@click.group()
def user() -> None:
    """Users and their roles (administrators)."""


@user.command("add")
@click.argument("login")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--email", required=True)
@click.option("--agency", required=True, help="e.g. 'Cumberland Council', 'Police', 'ICB'.")
def user_add(login: str, display_name: str, email: str, agency: str) -> None:
    """Register a user."""
    runtime = _runtime()
    runtime.app().admin.add_user(runtime.actor_name, login, display_name, email, agency)
    click.echo(f"Added user {login}.")


@user.command("list")
@json_option
def user_list(as_json: bool) -> None:
    """List users and their roles."""
    from engine.core.present import table

    runtime = _runtime()
    users = runtime.app().admin.users(runtime.actor_name)
    _emit(as_json, [u.to_json() for u in users], lambda: table(
        ("LOGIN", "NAME", "AGENCY", "STATUS", "ROLES"),
        [(u.login, u.display_name, u.agency, "disabled" if u.disabled else "active",
          ", ".join(f"{r}@{a or 'all'}" for r, a in u.roles)) for u in users]))


def _role_command(name: str, verb: str, summary: str) -> None:
    # The help is given here: a docstring set after the decorator never reaches click.
    @user.command(name, help=summary)
    @click.argument("login")
    @click.argument("role")
    @click.option("--area", help="One area (default: all areas).")
    def command(login: str, role: str, area: str | None) -> None:
        runtime = _runtime()
        getattr(runtime.app().admin, name)(runtime.actor_name, login, role, area)
        click.echo(f"{verb} {role} {'in ' + area if area else 'for all areas'}: {login}.")


_role_command("grant", "Granted", "Grant ROLE to user LOGIN, in one area (--area) or all.")
_role_command("revoke", "Revoked", "Revoke ROLE from user LOGIN, in one area (--area) or all.")


@user.command("update")
@click.argument("login")
@click.option("--name", "display_name", help="New display name.")
@click.option("--email", help="New email address (where reminders and invitations go).")
@click.option("--agency", help="New agency.")
def user_update(login: str, display_name: str | None, email: str | None,
                agency: str | None) -> None:
    """Change a user's name, email address or agency."""
    runtime = _runtime()
    changed = runtime.app().admin.update_user(runtime.actor_name, login, display_name, email,
                                              agency)
    words = {"display_name": "name", "email": "email address", "agency": "agency"}
    click.echo(f"Updated {login}: {', '.join(words[c] for c in changed)}." if changed
               else f"{login} already had those details: nothing changed.")


@user.command("enable")
@click.argument("login")
def user_enable(login: str) -> None:
    """Let a disabled user sign in and be named again."""
    runtime = _runtime()
    runtime.app().admin.enable(runtime.actor_name, login)
    click.echo(f"Enabled user {login}.")


@user.command("disable")
@click.argument("login")
def user_disable(login: str) -> None:
    """Disable a user: they can do nothing more; their history remains."""
    runtime = _runtime()
    runtime.app().admin.disable(runtime.actor_name, login)
    click.echo(f"Disabled {login}.")


@user.command("password")
@click.argument("login")
@click.option("--link", is_flag=True,
              help="Print a one-time sign-in link that expires, instead of a password.")
def user_password(login: str, link: bool) -> None:
    """Set a one-time password for LOGIN's web sign-in (changed at first sign-in), or
    print a one-time sign-in link; their sessions end."""
    from engine.core.clock import show_instant

    runtime = _runtime()
    accounts = runtime.app().accounts
    if link:
        token, expires = accounts.issue_link(runtime.actor_name, login)
        base = accounts.settings.base_url.rstrip("/")
        click.echo(f"{base}/sign-in/link/{token}")
        click.echo(f"(one use; expires {show_instant(expires).replace('T', ' ')})", err=True)
        return
    password = accounts.set_password(runtime.actor_name, login)
    click.echo(password)
    click.echo(f"(a one-time password for {login}: they choose their own at first sign-in)",
               err=True)


@user.command("token")
@click.argument("login")
@click.option("--name", help="What the token is for (e.g. 'case dashboard'); default 'api'.")
@click.option("--revoke", "revoke", type=click.IntRange(1), metavar="ID",
              help="Revoke LOGIN's token ID instead: it stops working at once.")
@click.option("--list", "listing", is_flag=True, help="List LOGIN's tokens instead.")
@json_option
def user_token(login: str, name: str | None, revoke: int | None, listing: bool,
               as_json: bool) -> None:
    """Issue LOGIN a JSON API token (printed once; only its hash is kept), or list or
    revoke their tokens (administrators)."""
    from engine.core.errors import UsageError
    from engine.core.present import table

    if revoke is not None and listing:
        raise UsageError("give --revoke ID or --list, not both")
    runtime = _runtime()
    accounts = runtime.app().accounts
    if listing:
        tokens = accounts.tokens(runtime.actor_name, login)
        _emit(as_json, [t.to_json() for t in tokens], lambda: table(
            ("ID", "NAME", "CREATED", "BY", "LAST USED", "REVOKED"),
            [(str(t.id), t.name, f"{t.created_at:%Y-%m-%d %H:%M}", t.created_by,
              f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
              f"{t.revoked_at:%Y-%m-%d %H:%M} by {t.revoked_by}" if t.revoked_at else "-")
             for t in tokens]))
        return
    if revoke is not None:
        accounts.revoke_token(runtime.actor_name, login, revoke)
        click.echo(f"Revoked {login}'s API token {revoke}.")
        return
    ident, token = accounts.issue_token(runtime.actor_name, login, name)
    click.echo(token)
    click.echo(f"(API token {ident} for {login}: shown once; send it as 'Authorization: "
               f"Bearer ...'; revoke it with 'safeguard user token {login} --revoke {ident}')",
               err=True)


@click.group()
def area() -> None:
    """Partnership areas."""


@area.command("add")
@click.argument("code")
@click.option("--name", required=True)
def area_add(code: str, name: str) -> None:
    """Add a partnership area (administrators)."""
    runtime = _runtime()
    runtime.app().admin.add_area(runtime.actor_name, code, name)
    click.echo(f"Added area {code}.")


@area.command("list")
@json_option
def area_list(as_json: bool) -> None:
    """List the partnership areas."""
    from engine.core.present import table

    runtime = _runtime()
    areas = runtime.app().admin.areas(runtime.actor_name)
    _emit(as_json, [{"code": c, "name": n} for c, n in areas],
          lambda: table(("CODE", "NAME"), areas))
