"""The dashboard's accounts: ``touchpath users create|list|delete``. Thin: each calls
:mod:`touchpath.web.dashboard.auth`. The server owns the store while it runs, so stop it first.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from touchpath.cli import _errors, app, open_store, out
from touchpath.errors import ValidationError

users_app = typer.Typer(help="Dashboard accounts (local administrators).", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise ValidationError("the password is empty", field="password")
    return password


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="The account's user name.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input "
        "(for scripts) instead of prompting.")] = False,
) -> None:
    """Create a dashboard account, or set a new password for an existing one (which ends its
    sessions). The password is prompted for (twice) unless --password-stdin."""
    from touchpath.web.dashboard.auth import create_user

    with _errors():
        password = _read_password(password_stdin)
        with open_store() as store:
            user = create_user(store, username, password)
    out.print(f"dashboard user {escape(repr(user.username))} is ready: log in at /dashboard")


@users_app.command("list")
def users_list() -> None:
    """Every dashboard account with its last login."""
    from touchpath.web.dashboard.auth import list_users

    with _errors(), open_store() as store:
        users = list_users(store)
    table = Table("user", "created", "last login")
    for user in users:
        table.add_row(escape(user.username), user.created_at.isoformat(timespec="seconds"),
                      user.last_login.isoformat(timespec="seconds") if user.last_login else "")
    out.print(table)


@users_app.command("delete")
def users_delete(username: Annotated[str, typer.Argument(help="The account to delete.")]) -> None:
    """Delete a dashboard account and end its sessions."""
    from touchpath.web.dashboard.auth import delete_user

    with _errors(), open_store() as store:
        delete_user(store, username)
    out.print(f"deleted dashboard user {escape(repr(username))}")
