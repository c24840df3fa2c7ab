"""The root app, global options and the one place where errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from allegro_conn import __version__
from allegro_conn.errors import (
    DEBUG_ENV,
    AppError,
    Cancelled,
    ExitCode,
    error_line,
    internal_error_line,
)
from allegro_conn.runtime import Runtime


def report(rt: Runtime, error: AppError) -> None:
    """One line naming the problem and the fix, on stderr."""
    print(error_line(error), file=rt.err)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _runtime(ctx: Any) -> Runtime:
    """The command's Runtime, or a plain one when the failure came before the callback."""
    return ctx.obj if isinstance(ctx.obj, Runtime) else Runtime()


class AppGroup(TyperGroup):
    """Runs every command; typed errors and Ctrl-C end here as a line and an exit code."""

    def _main_shell_completion(self, *args: Any, **kwargs: Any) -> None:
        from allegro_conn.cli.options import use_completion_classes

        use_completion_classes()  # bash: scope names keep their ':'
        super()._main_shell_completion(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            report(_runtime(ctx), Cancelled())
            raise typer.Exit(ExitCode.CANCELLED) from None
        except AppError as exc:
            report(_runtime(ctx), exc)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # `allegro-conn list | head -1`: the reader left; say nothing more
            _silence_stdout()
            raise typer.Exit(ExitCode.FAILURE) from None
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise  # typer's own usage errors keep their exit code 2
        except Exception as exc:
            # Unexpected: never a traceback (its locals could hold secrets) unless asked for.
            if os.environ.get(DEBUG_ENV):
                raise
            print(internal_error_line(exc), file=_runtime(ctx).err)
            raise typer.Exit(ExitCode.FAILURE) from None


app = typer.Typer(
    cls=AppGroup,
    name="allegro-conn",
    help="Create and manage OAuth 2.0 connections to Allegro, and hand valid tokens to scripts.",
    epilog="Example: allegro-conn create shop --env sandbox --client web --all-scopes",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"allegro-conn {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config_dir: Annotated[
        str | None,
        typer.Option(
            "--config-dir",
            metavar="DIR",
            help="Config directory (default: $ALLEGRO_CONN_CONFIG_DIR, else the user config dir).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", help="No progress or hints on stderr (errors and warnings stay)."),
    ] = False,
) -> None:
    """Create and manage OAuth 2.0 connections to Allegro, and hand valid tokens to scripts."""
    rt = _runtime(ctx)
    if config_dir:
        rt.config_dir = config_dir
    if quiet:
        rt.quiet = True
    if rt.prompter is None and rt.interactive:
        from allegro_conn.cli.prompter import QuestionaryPrompter

        rt.prompter = QuestionaryPrompter(rt)
    ctx.obj = rt


def _register() -> None:
    from allegro_conn.cli import api, clients, connections, create, demo, handoff, misc, tokens

    create.register(app)
    connections.register(app)
    tokens.register(app)
    api.register(app)
    handoff.register(app)
    app.add_typer(clients.app, name="client")
    misc.register(app)
    demo.register(app)


_register()


def run(argv: list[str] | None = None) -> int:
    """Run the app the way the console script does, returning the exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="allegro-conn", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    return 0
