"""`env` and `exec`: hand a valid token to other programs through environment variables."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Annotated

import typer

from allegro_conn import lifecycle, service, shellquote
from allegro_conn.cli import options, render
from allegro_conn.errors import UsageError
from allegro_conn.runtime import Runtime

TOKEN_VAR = "ALLEGRO_ACCESS_TOKEN"
API_URL_VAR = "ALLEGRO_API_URL"
CONNECTION_VAR = "ALLEGRO_CONNECTION"
FORWARDED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _complete_format(incomplete: str) -> list[str]:
    return [f for f in shellquote.FORMATS if f.startswith(incomplete)]


def handoff_vars(rt: Runtime, name: str, min_ttl: float) -> dict[str, str]:
    """The variables: the token (valid `min_ttl` s at least), the REST base, the name."""
    live = lifecycle.ensure_fresh(rt, service.resolve_name(rt.store, name), min_ttl)
    for warning in live.warnings:
        render.info(rt, warning)
    return {
        TOKEN_VAR: live.tokens.access_token,
        API_URL_VAR: rt.api_base(live.connection.environment),
        CONNECTION_VAR: live.connection.name,
    }


def env(
    ctx: typer.Context,
    name: options.ConnName,
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="sh|fish|json|dotenv",
            help="sh (bash, zsh, dash...: eval), fish (| source), json, or dotenv.",
            autocompletion=_complete_format,
        ),
    ] = "sh",
    min_ttl: options.MinTtl = lifecycle.DEFAULT_MIN_TTL,
) -> None:
    """Print ALLEGRO_ACCESS_TOKEN, ALLEGRO_API_URL and ALLEGRO_CONNECTION for a shell.

    Values are quoted so the shell reads them back exactly. The token is valid for at least
    --min-ttl seconds (300), refreshed first when needed.

    Example: eval "$(allegro-conn env shop)"; curl -H "Authorization: Bearer
    $ALLEGRO_ACCESS_TOKEN" "$ALLEGRO_API_URL/me" (fish: allegro-conn env shop -f fish | source)
    """
    rt: Runtime = ctx.obj
    fmt = format_.strip().lower()
    if fmt not in shellquote.FORMATS:
        raise UsageError(
            f"Unknown format {format_!r}.", f"Use --format {' | '.join(shellquote.FORMATS)}."
        )
    variables = handoff_vars(rt, name, min_ttl)
    rt.out.write(shellquote.render(variables, fmt))
    rt.out.flush()
    if rt.out_is_tty and fmt in ("sh", "fish"):
        import shlex

        words = ["allegro-conn"]
        if rt.config_dir:
            words += ["--config-dir", rt.config_dir]
        words += ["env", variables[CONNECTION_VAR]]
        command = shlex.join(words)
        load = f'eval "$({command})"' if fmt == "sh" else f"{command} --format fish | source"
        render.info(rt, f"# Load these into your shell with: {load}")


def _terminal_signals_child() -> bool:
    """True when a Ctrl-C on our terminal reaches the child by itself: we (and so the child,
    in our process group) are the terminal's foreground group."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except OSError:
            continue
    return False


@contextlib.contextmanager
def _forwarding(holder: list[subprocess.Popen[bytes]]) -> Iterator[list[int]]:
    """Pass SIGINT, SIGTERM and SIGHUP on to the child in `holder` while the block runs.

    A signal that comes before the child exists is kept in the yielded list, for the caller
    to send once it does. A Ctrl-C typed on the terminal already reaches the child (it is in
    our foreground process group), so SIGINT is then not sent a second time.
    """
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending  # signal handlers can only be set in the main thread
        return
    skip_sigint = _terminal_signals_child()

    def forward(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and skip_sigint:
            return
        if not holder:
            pending.append(signum)
            return
        with contextlib.suppress(OSError):
            if holder[0].poll() is None:
                holder[0].send_signal(signum)

    previous = {}
    try:
        for signum in FORWARDED:
            previous[signum] = signal.signal(signum, forward)
        yield pending
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _resolve(command: str, path: str | None) -> str:
    if os.sep in command:
        found = command if os.path.isfile(command) and os.access(command, os.X_OK) else None
    else:
        found = shutil.which(command, path=path)
    if found is None:
        raise UsageError(
            f"Command not found: {command!r}.",
            "Check its name and PATH. Usage: allegro-conn exec NAME -- CMD [ARGS]...",
        )
    return found


def exec_(
    ctx: typer.Context,
    name: options.ConnName,
    command: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="-- CMD [ARGS]",
            help="The command to run, after '--'.",
            show_default=False,
        ),
    ] = None,
    min_ttl: options.MinTtl = lifecycle.DEFAULT_MIN_TTL,
) -> None:
    """Run a command with ALLEGRO_ACCESS_TOKEN, ALLEGRO_API_URL and ALLEGRO_CONNECTION set.

    The token is never put in the command line. SIGINT, SIGTERM and SIGHUP are passed on;
    the exit code is the command's (128+N when a signal N ends it); an unknown command
    exits 2. For jobs longer than the token lives (12 h), call 'allegro-conn token' inside.

    Example: allegro-conn exec shop -- sh -c 'curl -H "Authorization: Bearer
    $ALLEGRO_ACCESS_TOKEN" "$ALLEGRO_API_URL/me"'
    """
    rt: Runtime = ctx.obj
    if not command:
        raise UsageError(
            "Name the command to run.", "Usage: allegro-conn exec NAME -- CMD [ARGS]..."
        )
    variables = handoff_vars(rt, name, min_ttl)
    child_env = {**rt.env, **variables}
    executable = _resolve(command[0], child_env.get("PATH", os.defpath))
    for stream in (rt.out, rt.err):
        stream.flush()
    holder: list[subprocess.Popen[bytes]] = []
    with _forwarding(holder) as pending:
        try:
            holder.append(subprocess.Popen(command, executable=executable, env=child_env))
        except OSError as exc:
            raise UsageError(f"Cannot run {command[0]!r}: {exc.strerror or exc}.") from None
        for signum in pending:
            holder[0].send_signal(signum)
        code = holder[0].wait()
    if code < 0:
        code = 128 - code
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("env")(env)
    app.command(
        "exec",
        context_settings={"ignore_unknown_options": True},
    )(exec_)
