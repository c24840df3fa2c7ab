"""Holding SIGINT and SIGTERM back while a single-use refresh token may be in flight."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

_STOPPING = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _masked(how: int) -> Iterator[None]:
    try:
        previous = signal.pthread_sigmask(how, _STOPPING)
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def held() -> contextlib.AbstractContextManager[None]:
    """SIGINT/SIGTERM wait until the block ends (then they are delivered)."""
    return _masked(signal.SIG_BLOCK)


def released() -> contextlib.AbstractContextManager[None]:
    """SIGINT/SIGTERM come through for a while, even inside `held()`."""
    return _masked(signal.SIG_UNBLOCK)
