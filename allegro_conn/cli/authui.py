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

    def show_url(self, url: str, flow: str) -> None:
        render.needed(self.rt, "Open this address to let allegro-conn access your Allegro account:")
        render.needed(self.rt, f"  {url}")
        if flow == "paste":
            render.needed(
                self.rt,
                "After you approve, the browser goes to a localhost page that will not load "
                "there: copy that address from the address bar (quickly, the code lives ~10 s).",
            )

    def show_device_code(self, code: DeviceCode) -> None:
        render.needed(self.rt, f"On any device, open {code.verification_uri}")
        render.needed(self.rt, f"and enter the code:  {code.pretty_user_code}")
        if code.verification_uri_complete:
            render.needed(self.rt, f"(or open {code.verification_uri_complete})")

    def browser_opened(self, opened: bool, available: bool) -> None:
        if opened:
            render.info(self.rt, "(opened in your browser)")
        elif not available:
            render.info(
                self.rt,
                "No browser here (an SSH session without a display?): open the address on a "
                "machine whose localhost reaches this one (ssh -L PORT:localhost:PORT), or "
                "press Ctrl-C and use --flow paste or --flow device.",
            )
        else:
            render.info(self.rt, "(could not open a browser: open the address yourself)")

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
            return self.rt.ask().text(prompt, validate=_pasted_problem)
        render.info(self.rt, prompt)
        line = self.rt.inp.readline()
        if not line.strip():
            raise UsageError(
                "No address was pasted on stdin.",
                "Pipe the address the browser was redirected to into the command.",
            )
        return line


def _pasted_problem(answer: str) -> str | None:
    """On a terminal a mistyped paste is asked again instead of ending the flow."""
    if "code=" in answer or "error=" in answer:
        return None
    return "Paste the whole address from the address bar (it contains code=...)."
