"""`allegro-conn client add|list|show|edit|delete`: the OAuth clients registered in Allegro."""

from __future__ import annotations

from typing import Annotated

import typer

from allegro_conn import service
from allegro_conn.cli import options, render
from allegro_conn.cli.wizard import ask_client, read_secret
from allegro_conn.errors import UsageError
from allegro_conn.guide import registration_guide
from allegro_conn.runtime import Runtime

app = typer.Typer(
    help="Register and manage the OAuth clients (apps) you created in Allegro's portal.",
    epilog="Example: allegro-conn client add shopapp --env sandbox --client-id ID",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="A local name for the client.")] = None,
    env: options.Env = None,
    client_id: options.ClientId = None,
    client_secret_stdin: options.SecretStdin = False,
    type_: options.ClientType = None,
    redirect_uri: options.RedirectUri = None,
    app_name: options.AppName = None,
) -> None:
    """Register an OAuth client locally; the secret never goes on the command line.

    Example: echo "$SECRET" | allegro-conn client add shopapp --env sandbox --client-id ID
    --client-secret-stdin --redirect-uri http://localhost:8976/callback --app-name "Shop App"
    """
    rt: Runtime = ctx.obj
    spec = ask_client(
        rt,
        name=name,
        environment=env,
        client_id=client_id,
        secret_stdin=client_secret_stdin,
        kind=type_,
        redirect_uri=redirect_uri,
        app_name=app_name,
    )
    client = service.add_client(rt.store, spec)
    if not rt.interactive:
        for line in registration_guide(client.environment, client.type, client.redirect_uri):
            render.info(rt, line)
    render.info(rt, f"Added OAuth client {client.name!r} ({client.environment}, {client.type}).")


@app.command("list")
def list_(ctx: typer.Context, json_: options.Json = False) -> None:
    """List OAuth clients (secrets are never shown).

    Example: allegro-conn client list --json | jq -r '.[].name'
    """
    rt: Runtime = ctx.obj
    used = service.clients_used_by(rt.store)
    views = [
        service.client_view(c, used.get(c.name, []))
        for _, c in sorted(rt.store.load_clients().items())
    ]
    if json_:
        render.print_json(rt, views)
        return
    rows = [
        [
            v["name"],
            v["environment"],
            v["type"],
            v["client_id"],
            v["redirect_uri"] or "-",
            v["app_name"],
            ",".join(v["used_by"]) or "-",
        ]
        for v in views
    ]
    headers = ["NAME", "ENVIRONMENT", "TYPE", "CLIENT ID", "REDIRECT URI", "APP NAME", "USED BY"]
    render.print_table(rt, headers, rows, "No OAuth clients yet. Add one: allegro-conn client add")


@app.command("show")
def show(ctx: typer.Context, name: options.ClientName, json_: options.Json = False) -> None:
    """Show one OAuth client (the secret is masked).

    Example: allegro-conn client show shopapp --json
    """
    rt: Runtime = ctx.obj
    client = service.get_client(rt.store, name)
    view = service.client_view(client, service.clients_used_by(rt.store).get(client.name, []))
    if json_:
        render.print_json(rt, view)
        return
    pairs = [(k.replace("_", " "), str(v)) for k, v in view.items() if k != "used_by"]
    pairs.insert(3, ("client secret", "********"))
    pairs.append(("used by", ", ".join(view["used_by"]) or "-"))
    render.print_fields(rt, pairs)


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: options.ClientName,
    env: options.Env = None,
    client_id: options.ClientId = None,
    client_secret_stdin: options.SecretStdin = False,
    type_: options.ClientType = None,
    redirect_uri: options.RedirectUri = None,
    app_name: options.AppName = None,
) -> None:
    """Change a client's fields; connections using it follow.

    Example: allegro-conn client edit shopapp --redirect-uri http://localhost:9000/cb
    """
    rt: Runtime = ctx.obj
    current = service.get_client(rt.store, name)
    secret = read_secret(rt, client_secret_stdin, ask=False) if client_secret_stdin else None
    changes = {
        "environment": env,
        "client_id": client_id,
        "client_secret": secret,
        "type": type_,
        "redirect_uri": redirect_uri,
        "app_name": app_name,
    }
    if all(v is None for v in changes.values()):
        if not rt.interactive:
            raise UsageError(
                f"Nothing to change for client {current.name!r}.",
                "Pass --env, --client-id, --client-secret-stdin, --type, --redirect-uri "
                "or --app-name.",
            )
        from allegro_conn.cli.wizard import ask_client_changes

        changes = ask_client_changes(rt, current)
    client = service.edit_client(rt.store, current.name, changes)
    render.info(rt, f"Updated OAuth client {client.name!r}.")


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: options.ClientName,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even while connections use it.")
    ] = False,
) -> None:
    """Delete a client; refuses while connections use it unless --force.

    Example: allegro-conn client delete oldapp
    """
    rt: Runtime = ctx.obj
    client = service.delete_client(rt.store, name, force=force)
    render.info(rt, f"Deleted OAuth client {client.name!r}.")
