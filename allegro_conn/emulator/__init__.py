"""A local stand-in for Allegro's OAuth and REST hosts (``allegro-conn emulator``, tests)."""

from allegro_conn.emulator.core import Emulator
from allegro_conn.emulator.demo import banner_lines, demo_clients, serve_forever
from allegro_conn.emulator.state import (
    ALL_SCOPES,
    EmulatorClient,
    RecordedRequest,
    User,
)

__all__ = [
    "ALL_SCOPES",
    "Emulator",
    "EmulatorClient",
    "RecordedRequest",
    "User",
    "banner_lines",
    "demo_clients",
    "serve_forever",
]
