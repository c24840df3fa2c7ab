"""The console script. `token` with a valid cached token is answered here, with the standard
library only; everything else loads the typer app."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "token" in args:
        from allegro_conn.fastpath import serve_token

        code = serve_token(args)
        if code is not None:
            return code
    from allegro_conn.cli import run

    return run(args)
