"""The :class:`Emulator` object: configuration, lifecycle and the knobs tests turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from allegro_conn.emulator.server import EmulatorHTTPServer
from allegro_conn.emulator.state import (
    ALL_SCOPES,
    CLIENT_TYPES,
    LEGACY_SCOPES,
    EmulatorClient,
    EmulatorState,
    FailureRule,
    RecordedRequest,
    User,
    order_scopes,
)


class Emulator:
    """A local Allegro: auth host and REST host on one loopback port.

    >>> with Emulator(auto_approve=True) as emu:
    ...     emu.add_client("id", "secret", redirect_uris=["http://localhost:8976/callback"])
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_approve: bool = False,
        access_ttl: int = 43199,
        refresh_ttl: int = 90 * 86400,
        device_interval: int = 5,
        device_ttl: int = 3600,
        code_ttl: float = 10.0,
        clock: Callable[[], float] = time.time,
        offers: int = 250,
        refresh_grace: float = 60.0,
    ) -> None:
        self.host = host
        self.port = port
        self.state = EmulatorState(
            clock=clock,
            auto_approve=auto_approve,
            access_ttl=access_ttl,
            refresh_ttl=refresh_ttl,
            refresh_grace=refresh_grace,
            device_interval=device_interval,
            device_ttl=device_ttl,
            code_ttl=code_ttl,
            offers_count=offers,
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.state.base_url = self.url

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Emulator:
        """Serve in a daemon thread (port 0 picks a free port); returns self."""
        if self._server is not None:
            return self
        server = EmulatorHTTPServer(self.host, self.port, self.state)
        self.port = int(server.server_address[1])
        self.state.base_url = self.url
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"allegro-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if thread is not None:
            thread.join()

    def wait(self, timeout: float | None = None) -> None:
        """Block while the server thread runs (until :meth:`stop` or ``timeout``)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- settings that may change while running ------------------------------------------
    @property
    def auto_approve(self) -> bool:
        return self.state.auto_approve

    @auto_approve.setter
    def auto_approve(self, value: bool) -> None:
        with self.state.lock:
            self.state.auto_approve = value

    @property
    def offers_count(self) -> int:
        return self.state.offers_count

    @offers_count.setter
    def offers_count(self, value: int) -> None:
        with self.state.lock:
            self.state.offers_count = value

    @property
    def clock(self) -> Callable[[], float]:
        return self.state.clock

    # --- clients and users --------------------------------------------------------------
    def add_client(
        self,
        client_id: str,
        client_secret: str,
        type: str = "browser",  # Allegro's "app type"
        redirect_uris: Iterable[str] = (),
        app_name: str = "Shop App",
        scopes: Iterable[str] | None = None,
    ) -> EmulatorClient:
        """Register (or replace) an application; ``scopes=None`` declares every scope."""
        if type not in CLIENT_TYPES:
            raise ValueError(f"client type must be one of {CLIENT_TYPES}, not {type!r}")
        declared = ALL_SCOPES if scopes is None else order_scopes(scopes)
        unknown = set(declared) - set(ALL_SCOPES) - set(LEGACY_SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {sorted(unknown)}")
        client = EmulatorClient(
            client_id=client_id,
            client_secret=client_secret,
            type=type,
            redirect_uris=list(redirect_uris) if type == "browser" else [],
            app_name=app_name,
            scopes=declared,
        )
        with self.state.lock:
            self.state.clients[client_id] = client
        return client

    @property
    def clients(self) -> dict[str, EmulatorClient]:
        with self.state.lock:
            return dict(self.state.clients)

    def add_user(
        self,
        id: str,  # Allegro's field name
        login: str,
        first_name: str = "Jan",
        last_name: str = "Kowalski",
        email: str | None = None,
        company: dict[str, str] | None = None,
        features: Iterable[str] = (),
    ) -> User:
        """Add an account; it becomes :attr:`current_user` (who consents and approves)."""
        user = User(
            id=id,
            login=login,
            first_name=first_name,
            last_name=last_name,
            email=email if email is not None else f"{login}@example.com",
            company=company,
            features=list(features),
        )
        return self.state.add_user(user)

    @property
    def users(self) -> dict[str, User]:
        with self.state.lock:
            return dict(self.state.users)

    @property
    def current_user(self) -> User:
        with self.state.lock:
            return self.state.current_user()

    @current_user.setter
    def current_user(self, user: User | str) -> None:
        user_id = user.id if isinstance(user, User) else user
        with self.state.lock:
            if user_id not in self.state.users:
                raise KeyError(f"unknown user id {user_id!r}")
            self.state.current_user_id = user_id

    # --- what tests look at -------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self.state.lock:
            return list(self.state.requests)

    def clear_requests(self) -> None:
        with self.state.lock:
            self.state.requests.clear()

    def find(
        self,
        path: str | None = None,
        grant_type: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> list[RecordedRequest]:
        """Recorded requests matching every filter given."""
        return [
            r
            for r in self.requests
            if (path is None or r.path == path)
            and (grant_type is None or r.form.get("grant_type") == grant_type)
            and (method is None or r.method == method)
            and (status is None or r.status == status)
        ]

    def count(
        self,
        path: str | None = None,
        grant_type: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many recorded requests match, e.g. ``emu.count(grant_type="refresh_token")``."""
        return len(self.find(path, grant_type, method, status))

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside the emulator while serving (should stay empty)."""
        with self.state.lock:
            return list(self.state.errors)

    def decode_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this emulator issued (None if it did not)."""
        return self.state.signer.decode(token)

    # --- things that happen on Allegro's side -------------------------------------------
    def revoke_user_tokens(self, user_id: str | None = None) -> int:
        """Kill every access and refresh token of a user (default: the current user), as a
        password change does (§3). Returns how many tokens died."""
        with self.state.lock:
            return self.state.revoke_user_tokens(user_id or self.state.current_user_id)

    def fail_next(
        self,
        status: int,
        count: int = 1,
        path_prefix: str = "/",
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` requests under ``path_prefix`` with ``status`` in
        Allegro's errors[] shape (429 → RateLimitExceedException), before any other check.
        ``retry_after`` adds a ``Retry-After`` header (seconds)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self.state.lock:
            self.state.failures.append(FailureRule(status, count, path_prefix, retry_after))

    def pending_user_codes(self) -> list[str]:
        """User codes of device authorizations still waiting for approval."""
        with self.state.lock:
            now = self.state.clock()
            return [
                d.user_code
                for d in self.state.devices.values()
                if d.status == "pending" and not d.used and d.expires_at > now
            ]

    def approve_device(self, user_code: str) -> bool:
        """Approve a pending user code as the current user; False if there is none."""
        return self._decide_device(user_code, approve=True)

    def deny_device(self, user_code: str) -> bool:
        """Deny a pending user code; False if there is none."""
        return self._decide_device(user_code, approve=False)

    def _decide_device(self, user_code: str, *, approve: bool) -> bool:
        with self.state.lock:
            auth = self.state.find_device_by_user_code(user_code)
            if auth is None or auth.status != "pending":
                return False
            self.state.decide_device(auth, approve=approve)
            return True
