"""`token`, `refresh` and `test`: valid tokens for scripts, and proof that they work."""

from __future__ import annotations

from typing import Annotated

import typer

from allegro_conn import checks, lifecycle, service
from allegro_conn.cli import options, render
from allegro_conn.errors import ExitCode, UsageError
from allegro_conn.runtime import Runtime


def token(
    ctx: typer.Context,
    name: options.OptConnName = None,
    min_ttl: options.MinTtl = lifecycle.DEFAULT_MIN_TTL,
    force_refresh: Annotated[
        bool, typer.Option("--force-refresh", help="Refresh now, even if the token is valid.")
    ] = False,
    json_: options.Json = False,
) -> None:
    """Print a valid access token (and nothing else) on stdout, refreshing it when needed.

    Example: curl -H "Authorization: Bearer $(allegro-conn token shop)" ...
    """
    rt: Runtime = ctx.obj
    live = lifecycle.ensure_fresh(
        rt, service.resolve_name(rt.store, name), min_ttl, force=force_refresh
    )
    for warning in live.warnings:
        render.info(rt, warning)
    if json_:
        render.print_json(rt, lifecycle.token_document(live.tokens))
    else:
        print(live.tokens.access_token, file=rt.out)


def refresh(ctx: typer.Context, name: options.ConnName, json_: options.Json = False) -> None:
    """Refresh a connection's tokens now (Allegro then invalidates the previous pair).

    Example: allegro-conn refresh shop
    """
    rt: Runtime = ctx.obj
    live = lifecycle.ensure_fresh(rt, name, force=True)
    conn = live.connection
    if json_:
        view = service.connection_view(conn, live.tokens, rt.store.default_name())
        render.print_json(rt, view)
        return
    until = service.iso(live.tokens.expires_at)
    render.info(rt, f"Refreshed {conn.name!r}; the access token is valid until {until}.")


def test(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Connections to test (default: the default connection).",
            autocompletion=options.complete_connection,
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Test every connection.")] = False,
    json_: options.Json = False,
) -> None:
    """Prove connections work: refresh if needed, call Allegro, report the account.

    Exit 0 when all pass, 4 when one needs consent, 5 when Allegro is unreachable, else 1.

    Example: allegro-conn test --all --json | jq '.[] | select(.ok | not)'
    """
    rt: Runtime = ctx.obj
    store = rt.store
    if all_ and names:
        raise UsageError("Pass connection names or --all, not both.")
    if all_:
        targets = sorted(store.load_connections())
        if not targets:
            raise UsageError("There are no connections to test.", "Make one: allegro-conn create")
    else:
        targets = [service.resolve_name(store, n) for n in names] if names else []
        targets = targets or [service.resolve_name(store, None)]
    results = [checks.check(rt, n) for n in targets]
    if json_:
        render.print_json(rt, [r.to_json() for r in results])
    else:
        for r in results:
            _print_result(rt, r)
    code = checks.overall_exit(results)
    if code:
        raise typer.Exit(code)


def _print_result(rt: Runtime, r: checks.TestResult) -> None:
    now = rt.clock()
    if r.ok:
        who = f"{r.account.login or '?'} (id {r.account.id})" if r.account else "unknown"
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "-"
        print(f"ok    {r.name}: {who}, {r.environment}, {latency}", file=rt.out)
    else:
        print(f"FAIL  {r.name}: {r.error}", file=rt.out)
        if r.hint:
            print(f"      {r.hint}", file=rt.out)
        if r.trace_id:
            print(f"      Trace-Id: {r.trace_id}", file=rt.out)
    if r.exit_code == ExitCode.AUTH_NEEDED:
        return  # the stored expiry times no longer mean anything: consent is needed now
    if r.expires_at is not None:
        print(f"      access token expires {render.relative(r.expires_at - now)}", file=rt.out)
    if r.refresh_issued_at is not None and r.refresh_expires_at is not None:
        age = render.relative(r.refresh_issued_at - now)
        end = service.iso(r.refresh_expires_at)
        print(f"      refresh token issued {age}; consent needed again by {end}", file=rt.out)


def register(app: typer.Typer) -> None:
    app.command("token")(token)
    app.command("refresh")(refresh)
    app.command("test")(test)
