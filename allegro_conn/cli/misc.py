"""`scopes` and `paths`: reference information."""

from __future__ import annotations

import typer

from allegro_conn.cli import options, render
from allegro_conn.runtime import Runtime
from allegro_conn.scopes import SCOPES


def scopes(ctx: typer.Context, json_: options.Json = False) -> None:
    """List every Allegro scope with a one-line description.

    Example: allegro-conn scopes --json | jq -r '.[].name'
    """
    rt: Runtime = ctx.obj
    if json_:
        render.print_json(rt, [s._asdict() for s in SCOPES])
        return
    rows = [[s.name, s.group, s.description] for s in SCOPES]
    render.print_table(rt, ["SCOPE", "GROUP", "DESCRIPTION"], rows, "")


def paths(ctx: typer.Context, json_: options.Json = False) -> None:
    """Print where the config and the secrets are kept.

    Example: ls -l "$(allegro-conn paths --json | jq -r .config_dir)"
    """
    rt: Runtime = ctx.obj
    store = rt.store
    where = {
        "config_dir": str(store.root),
        "clients": str(store.clients_file),
        "connections": str(store.connections_file),
        "settings": str(store.settings_file),
        "tokens": str(store.tokens_dir),
    }
    if json_:
        render.print_json(rt, where)
        return
    render.print_fields(rt, [(k.replace("_", " "), v) for k, v in where.items()])
    render.info(rt, "Client secrets and tokens: 0600 files in a 0700 directory.")


def register(app: typer.Typer) -> None:
    app.command("scopes")(scopes)
    app.command("paths")(paths)
