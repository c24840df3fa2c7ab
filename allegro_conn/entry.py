"""The console script. `token` never loads typer: a valid cached token is answered with the
standard library only (`fastpath`), a refresh by `tokenpath`; everything else, and any
`token` command line that `fastpath` does not parse (help, typos), loads the typer app."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "token" in args:
        from allegro_conn.fastpath import parse_token_args, serve_token

        parsed = parse_token_args(args)
        if parsed is not None:
            code = serve_token(parsed)
            if code is not None:
                return code
            from allegro_conn.tokenpath import run_token

            return run_token(parsed)
    from allegro_conn.cli import run

    return run(args)
