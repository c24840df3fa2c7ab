"""`allegro-conn token` when the cached token will not do, still without typer.

`token` runs inside `$(...)` in scripts and cron jobs; loading typer (and pydantic with
it) would add about half a second to every refresh. The typer command in `cli/tokens.py`
calls the same `lifecycle` functions, and `--help` or a mistyped flag still goes to typer.
"""

from __future__ import annotations

import json
import os

from allegro_conn import lifecycle, service
from allegro_conn.errors import (
    DEBUG_ENV,
    AppError,
    Cancelled,
    ExitCode,
    error_line,
    internal_error_line,
)
from allegro_conn.fastpath import TokenArgs
from allegro_conn.runtime import Runtime


def run_token(parsed: TokenArgs) -> int:
    rt = Runtime(config_dir=parsed.config_dir)
    try:
        name = service.resolve_name(rt.store, parsed.name)
        live = lifecycle.ensure_fresh(rt, name, parsed.min_ttl, force=parsed.force)
        for warning in live.warnings:
            print(warning, file=rt.err)  # a warning prints even with --quiet
        if parsed.as_json:
            indent = 2 if rt.out_is_tty else None
            print(json.dumps(lifecycle.token_document(live.tokens), indent=indent), file=rt.out)
        else:
            print(live.tokens.access_token, file=rt.out)
        rt.out.flush()
    except AppError as exc:
        print(error_line(exc), file=rt.err)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(error_line(Cancelled()), file=rt.err)
        return int(ExitCode.CANCELLED)
    except BrokenPipeError:
        return int(ExitCode.FAILURE)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        print(internal_error_line(exc), file=rt.err)
        return int(ExitCode.FAILURE)
    return int(ExitCode.OK)
