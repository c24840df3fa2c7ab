"""Exit codes and the typed errors that carry them.

Every expected failure is raised as an `AppError` subclass; `cli` turns it into one line on
stderr (plus an optional hint) and the exit code, in one place.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    AUTH_NEEDED = 4
    UNAVAILABLE = 5
    CANCELLED = 130


class AppError(Exception):
    """An expected failure: a message for the user, a hint, and an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class Failure(AppError):
    """The operation failed (Allegro said no, a connection that does not work)."""


class UsageError(AppError):
    """Bad input: a missing or invalid value, an unknown name."""

    exit_code = ExitCode.USAGE


class NotFound(UsageError):
    """An unknown connection or client."""


class StoreError(AppError):
    """A config file that cannot be read or written."""


class AuthNeeded(AppError):
    """The refresh token was rejected or expired: the user must consent again."""

    exit_code = ExitCode.AUTH_NEEDED


class Unavailable(AppError):
    """Allegro or the network cannot be reached right now."""

    exit_code = ExitCode.UNAVAILABLE


class Cancelled(AppError):
    """The user cancelled (Ctrl-C, or answered no)."""

    exit_code = ExitCode.CANCELLED

    def __init__(self, message: str = "Cancelled.", hint: str | None = None) -> None:
        super().__init__(message, hint)


DEBUG_ENV = "ALLEGRO_CONN_DEBUG"


def error_line(error: AppError) -> str:
    """One line naming the problem and the fix."""
    return f"error: {error.message}" + (f" {error.hint}" if error.hint else "")


def internal_error_line(error: BaseException) -> str:
    """For the unexpected: the type only, never the message or traceback (they could hold
    a secret), unless ALLEGRO_CONN_DEBUG asks for the traceback."""
    return (
        f"error: internal error ({type(error).__name__}). Set {DEBUG_ENV}=1 to see the "
        "traceback, and please report it."
    )
