"""The loopback listener that catches Allegro's redirect.

Browsers resolve `localhost` to 127.0.0.1 or ::1, so it listens on both. Only the redirect
URI's path counts; a request without the right `state` is answered 400 and the wait goes
on, so a forged callback cannot end the flow. The code is handed to `on_code` at once,
inside the request (it lives about 10 seconds), and the page tells how that went.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlsplit

from allegro_conn.errors import AppError, Failure
from allegro_conn.oauth.pages import page


class ListenerTimeout(Exception):
    """No valid callback arrived in time."""


@dataclass
class Outcome:
    """How the callback ended: a result of `on_code`, or an error Allegro sent."""

    result: Any = None
    error: AppError | None = None


class _Server(ThreadingMixIn, HTTPServer):
    """A thread per connection: browsers open spare connections (preconnect) and send
    nothing on them, which would block a one-at-a-time server until the flow times out."""

    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: a browser hanging up is normal, and socketserver's default prints a
        traceback on the user's terminal (on_code's errors are handled in `handle`)."""

    def __init__(self, family: int, address: tuple[str, int], listener: Listener) -> None:
        self.address_family = family
        self.listener = listener
        super().__init__(address, _Handler, bind_and_activate=False)
        if family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            self.server_bind()
            self.server_activate()
        except BaseException:
            self.server_close()
            raise


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "allegro-conn"
    sys_version = ""
    timeout = 10  # an idle connection gives up its thread after this many seconds

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the query string carries the code."""

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        status, body = self.server.listener.handle(self.path)
        self._send(status, body)

    def do_HEAD(self) -> None:
        self._send(405, b"")

    do_POST = do_HEAD


class Listener:
    """Listens on the redirect URI's port on 127.0.0.1 and ::1 until one good callback."""

    def __init__(
        self,
        redirect_uri: str,
        state_ok: Callable[[str | None], bool],
        on_code: Callable[[str], Any],
        label: str,
    ) -> None:
        parts = urlsplit(redirect_uri)
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.state_ok = state_ok
        self.on_code = on_code
        self.label = label
        self.outcome: Outcome | None = None
        self._done = threading.Event()
        self._received = threading.Event()  # a valid callback came; its code is being used
        self._lock = threading.Lock()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Listener:
        """Bind both loopback addresses before anything is opened; a busy port fails now."""
        targets = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
        try:
            for family, host in targets:
                try:
                    self._servers.append(_Server(family, (host, self.port), self))
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE or exc.errno == errno.EACCES:
                        raise self._busy(exc) from None
                    if family == socket.AF_INET6:
                        continue  # no IPv6 on this machine: 127.0.0.1 alone will do
                    raise Failure(f"Cannot listen on 127.0.0.1:{self.port}: {exc}.") from None
        except BaseException:
            self.stop()
            raise
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _busy(self, exc: OSError) -> Failure:
        if exc.errno == errno.EACCES:
            return Failure(
                f"Not allowed to listen on port {self.port} (ports below 1024 need root).",
                "Register a redirect URI with a port above 1024 and update the client.",
            )
        return Failure(
            f"Port {self.port} of the redirect URI is already in use (another allegro-conn, "
            "or another program, is listening there).",
            "Stop that program and try again, or register a redirect URI with another port "
            "on Allegro and set it with 'allegro-conn client edit NAME --redirect-uri ...'.",
        )

    def stop(self) -> None:
        for server in self._servers:
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def bound(self) -> list[str]:
        return [str(s.server_address[0]) for s in self._servers]

    def wait(self, timeout: float, tick: Callable[[float], None] | None = None) -> Outcome:
        """Block until a valid callback was handled, calling `tick(seconds_left)` meanwhile.

        The timeout is for the callback to arrive: once it has, the exchange of its
        (single-use) code is waited for, however long its own HTTP timeouts let it take."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            step = 0.1 if self._received.is_set() else min(0.1, max(0.0, left))
            if self._done.wait(timeout=step):
                break
            left = deadline - time.monotonic()
            if left <= 0 and not self._received.is_set():
                raise ListenerTimeout()
            if tick is not None:
                tick(max(0.0, left))
        assert self.outcome is not None
        return self.outcome

    # -- requests ----------------------------------------------------------------------

    def handle(self, raw_path: str) -> tuple[int, bytes]:
        parts = urlsplit(raw_path)
        if parts.path != self.path:
            return 404, page("Not found", "This address is not part of the sign-in.", False)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if not self.state_ok(query.get("state")):
            return 400, page(
                "Unexpected sign-in response",
                "This response does not belong to the sign-in allegro-conn started "
                "(the state does not match). It was ignored; allegro-conn is still waiting.",
                False,
            )
        with self._lock:
            if self._done.is_set():
                return 409, page("Already finished", "This sign-in has already ended.", False)
            self._received.set()
            outcome = self._outcome(query)
            self.outcome = outcome
            self._done.set()
        if outcome.error is not None:
            return 200, page(f"Could not connect {self.label}", outcome.error.message, False)
        return 200, page(
            f"Connected {self.label} to Allegro",
            "You can close this tab and go back to the terminal.",
            True,
        )

    def _outcome(self, query: dict[str, str]) -> Outcome:
        if "error" in query:
            description = query.get("error_description") or ""
            text = query["error"] + (f": {description}" if description else "")
            if query["error"] == "access_denied":
                return Outcome(error=Failure(f"Consent was refused on Allegro ({text})."))
            return Outcome(error=Failure(f"Allegro sent an error instead of a code ({text})."))
        code = query.get("code")
        if not code:
            return Outcome(error=Failure("Allegro's redirect carried neither a code nor an error."))
        try:
            return Outcome(result=self.on_code(code))
        except AppError as exc:
            return Outcome(error=exc)
        except Exception as exc:  # the page must still answer; the CLI reports it
            return Outcome(error=Failure(f"Exchanging the code failed ({type(exc).__name__})."))
