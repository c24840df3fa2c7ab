"""The HTTP side: one ``ThreadingHTTPServer`` answering for both the auth and the REST host."""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from allegro_conn.emulator import device, oauth, pages, rest
from allegro_conn.emulator.responses import Response, errors_response
from allegro_conn.emulator.state import EmulatorState, FailureRule, RecordedRequest

MAX_BODY = 10 * 1024 * 1024
_FAILURES = {
    # §8.2 (#4630): Allegro's 429 body.
    429: ("RateLimitExceedException", "An error has occurred", "Przekroczony limit zapytań."),
    500: ("InternalServerErrorException", "Internal server error", "Wystąpił błąd."),
    502: ("BadGatewayException", "Bad gateway", "Wystąpił błąd."),
    503: ("ServiceUnavailableException", "Service unavailable", "Serwis jest niedostępny."),
    504: ("GatewayTimeoutException", "Gateway timeout", "Wystąpił błąd."),
}


def failure_response(rule: FailureRule) -> Response:
    code, message, user_message = _FAILURES.get(
        rule.status, (f"Http{rule.status}Exception", "An error has occurred", "Wystąpił błąd.")
    )
    headers = []
    if rule.retry_after is not None:
        headers.append(("Retry-After", f"{rule.retry_after:g}"))
    return errors_response(rule.status, code, message, user_message=user_message, headers=headers)


def route(state: EmulatorState, req: RecordedRequest) -> Response:
    path = req.path
    if path == "/auth/oauth/authorize":
        return oauth.authorize(state, req)
    if path == pages.DECISION_PATH:
        return oauth.decision(state, req)
    if path == "/auth/oauth/token":
        return oauth.token(state, req)
    if path == device.DEVICE_PATH:
        return device.device_authorization(state, req)
    if path == pages.DEVICE_PAGE_PATH:
        return device.verification_page(state, req)
    if path.startswith("/auth/"):
        return errors_response(404, "NotFoundException", "Not found", path=path)
    return rest.handle(state, req)


def dispatch(state: EmulatorState, req: RecordedRequest) -> Response:
    """Record, maybe fail on purpose, answer; atomically under the state lock."""
    with state.lock:
        state.requests.append(req)
        rule = state.take_failure(req.path)
        try:
            response = failure_response(rule) if rule else route(state, req)
        except Exception as exc:  # an emulator bug: keep serving, keep the evidence
            state.errors.append(exc)
            response = errors_response(500, "InternalServerErrorException", "Emulator error")
        req.status = response.status
    return response


def _pairs(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True)


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in pairs:
        result.setdefault(key, value)
    return result


class Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "AllegroEmulator/0.1"
    timeout = 30  # idle keep-alive connections do not hold a thread forever
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, *args: Any) -> None:
        """Quiet: never write to stderr."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        form_pairs: list[tuple[str, str]] = []
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form_pairs = _pairs(body.decode("utf-8", "replace"))
        query_pairs = _pairs(url.query)
        req = RecordedRequest(
            method=self.command,
            path=url.path,
            query=_first(query_pairs),
            form=_first(form_pairs),
            headers=headers,
            body=body,
            trace_id=secrets.token_hex(16),
            query_list=query_pairs,
        )
        response = dispatch(self.server.state, req)
        self.send_response(response.status)
        self.send_header("Trace-Id", req.trace_id)  # §8.2: every response carries one
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, state: EmulatorState) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.state = state
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on kept-alive clients too, so a stopped emulator really is gone."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client hanging up is normal; anything else is kept for tests to see."""
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, (ConnectionError, TimeoutError)):
            self.state.errors.append(exc)
