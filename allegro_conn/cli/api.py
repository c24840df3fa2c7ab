"""`api`: an authenticated REST call with the right headers; the JSON body on stdout."""

from __future__ import annotations

from typing import Annotated

import typer

from allegro_conn import apicall, service
from allegro_conn.allegro import ApiError
from allegro_conn.cli import options, render
from allegro_conn.errors import ExitCode
from allegro_conn.runtime import Runtime


def _complete_method(incomplete: str) -> list[str]:
    return [m for m in apicall.METHODS if m.startswith(incomplete.upper())]


def _show_page(rt: Runtime, page: apicall.Page) -> None:
    """-i: the status line and the response headers, on stderr."""
    lines = [f"{page.http_version} {page.status} {page.reason}".strip()]
    lines += [f"{name}: {value}" for name, value in page.headers]
    print("\n".join(lines) + "\n", file=rt.err, flush=True)


def _print_body(rt: Runtime, result: apicall.ApiResult) -> None:
    if result.is_json:
        render.print_json(rt, result.data)
        return
    if not result.body:
        return
    rt.out.flush()
    binary = getattr(rt.out, "buffer", None)
    if binary is not None:
        binary.write(result.body)
        binary.flush()
    else:
        rt.out.write(result.body.decode("utf-8", errors="replace"))


def _report_http_error(rt: Runtime, method: str, path: str, exc: ApiError) -> None:
    """Allegro's errors[] as `code: userMessage` lines, then the Trace-Id; on stderr."""
    print(f"error: Allegro answered HTTP {exc.status} to {method} {path}", file=rt.err)
    for line in exc.lines:
        print(line, file=rt.err)
    if exc.trace_id:
        print(f"Trace-Id: {exc.trace_id}", file=rt.err)


def api(
    ctx: typer.Context,
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH",
            help="The resource, e.g. /sale/offers (or a full URL under the REST base).",
            show_default=False,
        ),
    ],
    conn: Annotated[
        str | None,
        typer.Option(
            "--conn",
            metavar="NAME",
            help="The connection to call with (default: the default connection).",
            autocompletion=options.complete_connection,
        ),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            "-X",
            "--method",
            metavar="METHOD",
            help="HTTP method (default: POST with -d, else GET).",
            autocompletion=_complete_method,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "-d",
            "--data",
            metavar="BODY|@FILE|@-",
            help="Request body: literal JSON, @FILE, or @- for stdin.",
        ),
    ] = None,
    query: Annotated[
        list[str] | None,
        typer.Option("-q", "--query", metavar="KEY=VALUE", help="A query parameter (repeatable)."),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "-H",
            "--header",
            metavar="'NAME: VALUE'",
            help="A request header (repeatable); replaces a default of the same name.",
        ),
    ] = None,
    include: Annotated[
        bool,
        typer.Option(
            "-i", "--include", help="Show the status line and response headers on stderr."
        ),
    ] = False,
    paginate: Annotated[
        bool,
        typer.Option(
            "--paginate",
            help=f"Follow offset/limit to the end (at most {apicall.MAX_PAGES} pages) and "
            "print one document whose list holds every item.",
        ),
    ] = False,
) -> None:
    """Call Allegro's REST API with a connection's token; print the JSON body on stdout.

    Sends Accept and Content-Type application/vnd.allegro.public.v1+json and the
    User-Agent Allegro requires; refreshes the token when needed. JSON is pretty on a
    terminal and one line when piped. An HTTP error prints Allegro's errors (code: message)
    and the Trace-Id on stderr and exits 1; 5xx, or 429 still after 3 waits, exits 5.

    Example: allegro-conn api /sale/offers --conn shop -q limit=100 --paginate | jq '.offers[].id'
    """
    rt: Runtime = ctx.obj
    name = service.resolve_name(rt.store, conn)
    body = apicall.read_body(data, rt.inp) if data is not None else None
    request = apicall.ApiRequest(
        path=path,
        method=method,
        body=body,
        query=apicall.parse_query(query or []),
        headers=apicall.parse_headers(header or []),
        paginate=paginate,
    )
    shown_method = apicall.check_method(method, body is not None)
    try:
        result = apicall.call(
            rt,
            name,
            request,
            notify=lambda message: render.info(rt, message),
            on_page=(lambda page: _show_page(rt, page)) if include else None,
        )
    except ApiError as exc:
        _report_http_error(rt, shown_method, path.split("?", 1)[0], exc)
        raise typer.Exit(ExitCode.FAILURE) from None
    _print_body(rt, result)
    if result.truncated:
        print(
            f"warning: --paginate stopped after {result.pages} pages "
            f"({len(result.data[result.list_field])} items); the list is incomplete. "
            "Narrow the query, or continue with -q offset=N.",
            file=rt.err,
        )
        raise typer.Exit(ExitCode.FAILURE)


def register(app: typer.Typer) -> None:
    app.command("api")(api)
