"""How authorization talks to the user: URLs, device codes and a spinner, all on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from allegro_conn.cli import render
from allegro_conn.errors import UsageError
from allegro_conn.oauth.tokens import DeviceCode
from allegro_conn.runtime import Runtime


class TerminalAuthUI:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def show_url(self, url: str, opened: bool) -> None:
        render.info(self.rt, "Open this address to let allegro-conn access your Allegro account:")
        render.info(self.rt, f"  {url}")
        if opened:
            render.info(self.rt, "(opened in your browser)")

    def show_device_code(self, code: DeviceCode, opened: bool) -> None:
        render.info(self.rt, f"On any device, open {code.verification_uri}")
        render.info(self.rt, f"and enter the code:  {code.pretty_user_code}")
        if code.verification_uri_complete:
            render.info(self.rt, f"(or open {code.verification_uri_complete})")
        if opened:
            render.info(self.rt, "(opened in your browser)")

    @contextmanager
    def progress(self, message: str) -> Iterator[Callable[[float], None]]:
        if not self.rt.fancy:
            render.info(self.rt, f"{message}...")
            yield lambda left: None
            return
        from rich.console import Console

        console = Console(file=self.rt.err, highlight=False)
        with console.status(f"{message}...") as status:

            def tick(left: float) -> None:
                status.update(f"{message}... ({int(left // 60)}:{int(left % 60):02d} left)")

            yield tick

    def pasted_url(self) -> str:
        prompt = "Paste the address your browser was sent to (it starts with the redirect URI):"
        if self.rt.interactive:
            return self.rt.ask().text(prompt)
        render.info(self.rt, prompt)
        line = self.rt.inp.readline()
        if not line.strip():
            raise UsageError(
                "No address was pasted on stdin.",
                "Pipe the address the browser was redirected to into the command.",
            )
        return line
