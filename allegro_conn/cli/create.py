"""`create` (the wizard) and `reauth`: get consent and store the connection."""

from __future__ import annotations

import typer

from allegro_conn import authorize, service
from allegro_conn.cli import options, render
from allegro_conn.cli.authui import TerminalAuthUI
from allegro_conn.cli.wizard import ConnectionAnswers, ask_connection, confirm_summary
from allegro_conn.errors import UsageError
from allegro_conn.runtime import Runtime
from allegro_conn.scopes import check_scopes


def _report(rt: Runtime, result: authorize.Connected, json_: bool, verb: str) -> None:
    conn = result.connection
    who = f"{conn.account.login or conn.account.id}" if conn.account else "unknown account"
    render.info(
        rt,
        f"{verb} {conn.name!r} to Allegro {conn.environment} as {who} ({len(conn.scopes)} scopes).",
    )
    if result.account_problem:
        render.info(
            rt,
            f"warning: the account could not be read ({result.account_problem}); API calls "
            f"may fail the same way. Check with 'allegro-conn test {conn.name}'.",
        )
    if result.not_granted:
        render.info(
            rt,
            "warning: not granted: " + " ".join(result.not_granted) + ". Tick them in the "
            "app's settings on Allegro, then run 'allegro-conn reauth " + conn.name + "'.",
        )
    if json_:
        store = rt.store
        view = service.connection_view(conn, store.read_tokens(conn.name), store.default_name())
        render.print_json(rt, view)
    else:
        render.info(rt, f"Try it: allegro-conn test {conn.name}")


def create(
    ctx: typer.Context,
    name: options.OptNewName = None,
    env: options.Env = None,
    client: options.ClientOpt = None,
    scope: options.Scope = None,
    all_scopes: options.AllScopes = False,
    flow: options.Flow = None,
    no_browser: options.NoBrowser = False,
    timeout: options.Timeout = authorize.DEFAULT_TIMEOUT,
    json_: options.Json = False,
) -> None:
    """Create a connection: asks for what is missing, then authorizes in the browser.

    Example: allegro-conn create shop --env sandbox --client web --all-scopes
    """
    rt: Runtime = ctx.obj
    answers: ConnectionAnswers = ask_connection(
        rt, name=name, environment=env, client_name=client, scopes=scope, all_scopes=all_scopes
    )
    chosen_flow = authorize.check_flow(answers.client, flow)
    if rt.interactive:
        confirm_summary(rt, answers, chosen_flow)
    spec = authorize.ConnectSpec(
        name=answers.name,
        client=answers.client,
        scopes=answers.scopes,
        flow=chosen_flow,
        open_browser=not no_browser,
        timeout=timeout,
    )
    result = authorize.connect(rt, spec, TerminalAuthUI(rt), existing=None)
    _report(rt, result, json_, "Connected")


def reauth(
    ctx: typer.Context,
    name: options.ConnName,
    scope: options.Scope = None,
    all_scopes: options.AllScopes = False,
    flow: options.Flow = None,
    no_browser: options.NoBrowser = False,
    timeout: options.Timeout = authorize.DEFAULT_TIMEOUT,
    json_: options.Json = False,
) -> None:
    """Authorize a connection again, keeping its settings (scopes may change).

    Run it when a command exits 4 (consent needed).

    Example: allegro-conn reauth shop
    """
    rt: Runtime = ctx.obj
    conn = service.get_connection(rt.store, name)
    client = service.get_client(rt.store, conn.client)
    scopes = check_scopes(scope or [])
    if all_scopes and scopes:
        raise UsageError("--scope and --all-scopes exclude each other.", "Pass one of them.")
    if not scopes and not all_scopes:
        scopes = list(conn.requested_scopes)
    spec = authorize.ConnectSpec(
        name=conn.name,
        client=client,
        scopes=scopes if not all_scopes else [],
        flow=authorize.check_flow(client, flow),
        open_browser=not no_browser,
        timeout=timeout,
    )
    result = authorize.connect(rt, spec, TerminalAuthUI(rt), existing=conn)
    _report(rt, result, json_, "Re-authorized")


def register(app: typer.Typer) -> None:
    app.command("create")(create)
    app.command("reauth")(reauth)
