"""Options and arguments shared by several commands, with shell completion."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from allegro_conn.models import CLIENT_TYPES, ENVIRONMENTS, FLOWS


def _store_from(ctx: typer.Context) -> object:
    from allegro_conn import paths
    from allegro_conn.store import Store

    root = ctx.find_root()
    override = root.params.get("config_dir") if root.params else None
    return Store(paths.config_dir(override, os.environ))


def complete_connection(ctx: typer.Context, incomplete: str) -> list[str]:
    try:
        store = _store_from(ctx)
        names = list(store.load_connections())  # type: ignore[attr-defined]
    except Exception:
        return []
    return [n for n in sorted(names) if n.startswith(incomplete)]


def complete_client(ctx: typer.Context, incomplete: str) -> list[str]:
    try:
        store = _store_from(ctx)
        names = list(store.load_clients())  # type: ignore[attr-defined]
    except Exception:
        return []
    return [n for n in sorted(names) if n.startswith(incomplete)]


def complete_scope(incomplete: str) -> list[tuple[str, str]]:
    from allegro_conn.scopes import SCOPES

    return [(s.name, s.description) for s in SCOPES if s.name.startswith(incomplete)]


def _fixed(values: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Env = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="ENV",
        help="production or sandbox.",
        autocompletion=_fixed(ENVIRONMENTS),
    ),
]
ClientId = Annotated[
    str | None, typer.Option("--client-id", metavar="ID", help="The app's Client ID.")
]
SecretStdin = Annotated[
    bool,
    typer.Option(
        "--client-secret-stdin",
        help="Read the client secret from one line of stdin (or set ALLEGRO_CONN_CLIENT_SECRET).",
    ),
]
ClientType = Annotated[
    str | None,
    typer.Option(
        "--type",
        metavar="browser|device",
        help="Allegro app type: browser (code flow) or device (no browser).",
        autocompletion=_fixed(CLIENT_TYPES),
    ),
]
RedirectUri = Annotated[
    str | None,
    typer.Option(
        "--redirect-uri",
        metavar="URI",
        help="http://localhost:PORT/PATH, exactly as registered (default "
        "http://localhost:8976/callback).",
    ),
]
AppName = Annotated[
    str | None,
    typer.Option(
        "--app-name",
        metavar="NAME",
        help="The app's name as registered on Allegro (used in the User-Agent).",
    ),
]
ClientName = Annotated[
    str,
    typer.Argument(metavar="NAME", help="The client's local name.", autocompletion=complete_client),
]
ConnName = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The connection's name.", autocompletion=complete_connection
    ),
]
OptConnName = Annotated[
    str | None,
    typer.Argument(
        metavar="NAME",
        help="The connection's name (default: the default connection).",
        autocompletion=complete_connection,
    ),
]
Scope = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        metavar="SCOPE",
        help="A scope to request (repeatable); see 'allegro-conn scopes'.",
        autocompletion=complete_scope,
    ),
]
AllScopes = Annotated[bool, typer.Option("--all-scopes", help="Request every scope.")]
Flow = Annotated[
    str | None,
    typer.Option(
        "--flow",
        metavar="browser|device|paste",
        help="How to authorize (default: browser, or device for device-type clients).",
        autocompletion=_fixed(FLOWS),
    ),
]
NoBrowser = Annotated[
    bool, typer.Option("--no-browser", help="Print the URL instead of opening a browser.")
]
Timeout = Annotated[
    float,
    typer.Option("--timeout", metavar="SECONDS", help="How long to wait for consent.", min=1),
]
OptNewName = Annotated[
    str | None,
    typer.Argument(metavar="NAME", help="A name for the new connection (asked when missing)."),
]
ClientOpt = Annotated[
    str | None,
    typer.Option(
        "--client",
        metavar="CLIENT",
        help="The OAuth client to use (see 'allegro-conn client list').",
        autocompletion=complete_client,
    ),
]
