"""Every side effect in one object: streams, terminal flags, prompter, browser, HTTP,
clock and paths. Commands receive it; tests build one with fakes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from allegro_conn import paths
from allegro_conn.errors import UsageError
from allegro_conn.models import API_URLS, AUTH_URLS
from allegro_conn.prompts import Prompter
from allegro_conn.store import Store
from allegro_conn.validate import check_base_url

if TYPE_CHECKING:
    import httpx

ENV_AUTH_URL = "ALLEGRO_CONN_AUTH_URL"
ENV_API_URL = "ALLEGRO_CONN_API_URL"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def open_in_browser(url: str) -> bool:
    """Open `url` with the user's browser (`BROWSER` is honoured by webbrowser)."""
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


@dataclass
class Runtime:
    stdin: TextIO | None = None
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    config_dir: str | None = None
    stdin_tty: bool | None = None
    stdout_tty: bool | None = None
    stderr_tty: bool | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    browser: Callable[[str], bool] = open_in_browser
    transport: httpx.BaseTransport | None = None
    prompter: Prompter | None = None
    quiet: bool = False  # --quiet: render.info prints nothing; errors and warnings still do

    # streams are looked up late so that a test runner's swapped sys.stdout is used
    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    @property
    def inp(self) -> TextIO:
        return self.stdin or sys.stdin

    @property
    def interactive(self) -> bool:
        """May we ask questions? Only when stdin is a terminal."""
        return self.stdin_tty if self.stdin_tty is not None else _isatty(self.inp)

    @property
    def out_is_tty(self) -> bool:
        return self.stdout_tty if self.stdout_tty is not None else _isatty(self.out)

    @property
    def fancy(self) -> bool:
        """Colours and spinners on stderr: a terminal, and NO_COLOR not set."""
        tty = self.stderr_tty if self.stderr_tty is not None else _isatty(self.err)
        return tty and not self.env.get("NO_COLOR")

    @property
    def has_browser(self) -> bool:
        """False when there is evidently no browser: SSH without a display."""
        if self.env.get("BROWSER"):
            return True
        if sys.platform.startswith(("win", "darwin")):
            return True
        remote = self.env.get("SSH_CONNECTION") or self.env.get("SSH_TTY")
        display = self.env.get("DISPLAY") or self.env.get("WAYLAND_DISPLAY")
        return bool(display) or not remote

    @property
    def config_path(self) -> str:
        return paths.config_dir(self.config_dir, self.env)

    @property
    def store(self) -> Store:
        return Store(self.config_path)

    def auth_base(self, environment: str) -> str:
        override = self.env.get(ENV_AUTH_URL, "").strip()
        return check_base_url(override, ENV_AUTH_URL) if override else AUTH_URLS[environment]

    def api_base(self, environment: str) -> str:
        override = self.env.get(ENV_API_URL, "").strip()
        return check_base_url(override, ENV_API_URL) if override else API_URLS[environment]

    def ask(self) -> Prompter:
        if self.prompter is None:
            raise UsageError("Cannot ask questions here: stdin is not a terminal.")
        return self.prompter

    def http(self, timeout: float = 30.0) -> httpx.Client:
        import httpx

        return httpx.Client(
            transport=self.transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
        )
