"""`list`, `show`, `rename`, `delete`, `default`: the stored connections."""

from __future__ import annotations

from typing import Annotated

import typer

from allegro_conn import service
from allegro_conn.cli import options, render
from allegro_conn.errors import Cancelled, Failure, UsageError
from allegro_conn.models import LINKED_APPS_PAGES, Connection, TokenSet
from allegro_conn.runtime import Runtime


def _account(conn: Connection) -> str:
    if conn.account is None:
        return "-"
    return f"{conn.account.login or '?'} ({conn.account.id})"


def _expiry(tokens: TokenSet | None, now: float) -> str:
    return render.relative(tokens.expires_at - now) if tokens else "-"


def _last_test(conn: Connection) -> str:
    if conn.last_test is None:
        return "never"
    result = "ok" if conn.last_test.ok else f"failed: {conn.last_test.error}"
    return f"{result} ({conn.last_test.at})"


def _consent_ends(tokens: TokenSet | None, now: float) -> str:
    """When the refresh token (about 3 months, renewed by every refresh) runs out."""
    end = tokens.refresh_expires_at if tokens else None
    return render.relative(end - now) if end is not None else "-"


def _consent_until(tokens: TokenSet | None, now: float) -> str:
    end = tokens.refresh_expires_at if tokens else None
    if end is None:
        return "-"
    return f"{service.iso(end)} ({render.relative(end - now)})"


def list_(ctx: typer.Context, json_: options.Json = False) -> None:
    """List connections (tokens are never shown).

    Example: allegro-conn list --json | jq -r '.[] | select(.last_test.ok == false) | .name'
    """
    rt: Runtime = ctx.obj
    default = rt.store.default_name()
    problems: list[str] = []
    items = service.list_connections(rt.store, problems)
    for problem in problems:
        render.info(rt, f"warning: {problem}")
    if json_:
        render.print_json(rt, [service.connection_view(c, t, default) for c, t in items])
        return
    now = rt.clock()
    rows = [
        [
            ("* " if c.name == default and rt.out_is_tty else "") + c.name,
            c.environment,
            _account(c),
            str(len(c.scopes)),
            _expiry(t, now),
            _consent_ends(t, now),
            service.connection_status(c, t, now),
        ]
        for c, t in items
    ]
    headers = [
        "NAME",
        "ENVIRONMENT",
        "ACCOUNT",
        "SCOPES",
        "TOKEN EXPIRES",
        "CONSENT ENDS",
        "STATUS",
    ]
    render.print_table(rt, headers, rows, "No connections yet. Make one: allegro-conn create")


def show(ctx: typer.Context, name: options.ConnName, json_: options.Json = False) -> None:
    """Show one connection (tokens are never shown).

    Example: allegro-conn show shop --json | jq .account.login
    """
    rt: Runtime = ctx.obj
    conn = service.get_connection(rt.store, name)
    tokens = rt.store.read_tokens(conn.name)
    default = rt.store.default_name()
    if json_:
        render.print_json(rt, service.connection_view(conn, tokens, default))
        return
    now = rt.clock()
    pairs = [
        ("name", conn.name + (" (default)" if conn.name == default else "")),
        ("environment", conn.environment),
        ("client", conn.client),
        ("account", _account(conn)),
        ("status", service.connection_status(conn, tokens, now)),
        ("access token", "******** (expires " + _expiry(tokens, now) + ")"),
        ("consent needed again", _consent_until(tokens, now)),
        ("scopes", " ".join(conn.scopes) or "-"),
        ("last test", _last_test(conn)),
    ]
    missing = [s for s in conn.requested_scopes if s not in conn.scopes]
    if missing:
        pairs.append(("not granted", " ".join(missing)))
    render.print_fields(rt, pairs)


def rename(
    ctx: typer.Context,
    old: options.ConnName,
    new: Annotated[str, typer.Argument(help="The new name.")],
) -> None:
    """Rename a connection (its tokens and default status move with it).

    Example: allegro-conn rename shop shop-pl
    """
    rt: Runtime = ctx.obj
    conn = service.rename_connection(rt.store, old, new)
    render.info(rt, f"Renamed {old!r} to {conn.name!r}.")


def delete(
    ctx: typer.Context,
    name: options.ConnName,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a connection and its tokens from this machine.

    Allegro has no revoke endpoint: to cut the app off, unlink it on Allegro too.

    Example: allegro-conn delete shop --yes
    """
    rt: Runtime = ctx.obj
    conn = service.get_connection(rt.store, name)
    if not yes:
        if not rt.interactive:
            raise UsageError(f"Deleting {conn.name!r} needs confirmation.", "Pass --yes.")
        if not rt.ask().confirm(f"Delete connection {conn.name!r} and its tokens?", False):
            raise Cancelled("Nothing deleted.")
    service.delete_connection(rt.store, conn.name)
    render.info(rt, f"Deleted connection {conn.name!r} from this machine.")
    render.info(
        rt,
        "Its tokens stay valid on Allegro until they expire; to revoke the app's access, "
        f"unlink it at {LINKED_APPS_PAGES[conn.environment]}",
    )


def default(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="The connection to make the default.",
            autocompletion=options.complete_connection,
        ),
    ] = None,
) -> None:
    """Show or set the default connection (used when token, test or api get no name).

    Example: allegro-conn default shop
    """
    rt: Runtime = ctx.obj
    if name is None:
        current = rt.store.default_name()
        if current is None:
            raise Failure("No default connection is set.", "Set one: allegro-conn default NAME")
        print(current, file=rt.out)
        return
    conn = service.set_default(rt.store, name)
    render.info(rt, f"{conn.name!r} is now the default connection.")


def register(app: typer.Typer) -> None:
    app.command("list")(list_)
    app.command("show")(show)
    app.command("rename")(rename)
    app.command("delete")(delete)
    app.command("default")(default)
