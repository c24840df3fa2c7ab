"""`test`: prove that a connection works by calling the REST API with it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from allegro_conn import allegro, service
from allegro_conn.allegro import ApiError
from allegro_conn.errors import AppError, AuthNeeded, ExitCode, StoreError, Unavailable
from allegro_conn.lifecycle import Live, with_token
from allegro_conn.models import Account, LastTest
from allegro_conn.runtime import Runtime
from allegro_conn.scopes import PROFILE_READ


@dataclass
class TestResult:
    name: str
    ok: bool
    environment: str | None = None
    account: Account | None = None
    error: str | None = None
    hint: str | None = None
    exit_code: ExitCode = ExitCode.OK
    latency_ms: float | None = None
    trace_id: str | None = None
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    refresh_issued_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The contract's keys: name, ok, account, error, latency_ms.

        `error` carries the hint and the Trace-Id too: there is no other line to read them
        from (e.g. which `reauth` fixes an exit 4).
        """
        account = {"id": self.account.id, "login": self.account.login} if self.account else None
        latency = round(self.latency_ms, 1) if self.latency_ms is not None else None
        error = self.error
        if error is not None and self.hint:
            error += " " + self.hint
        if error is not None and self.trace_id and self.trace_id not in error:
            error += f" (Trace-Id {self.trace_id})"
        return {
            "name": self.name,
            "ok": self.ok,
            "account": account,
            "error": error,
            "latency_ms": latency,
        }


def _explain(exc: ApiError) -> tuple[str, str | None]:
    text = " ".join(exc.lines).lower()
    if exc.status == 401 and "cannot convert access token" in text:
        return (
            "Allegro does not know this token here: wrong environment (a sandbox token on "
            "production or the other way round).",
            "Check ALLEGRO_CONN_API_URL and the connection's environment.",
        )
    if exc.status == 403:
        return (
            f"Access denied ({'; '.join(exc.lines) or 'HTTP 403'}): a scope is missing, or "
            "Allegro blocked the account or the app.",
            "Check the app's scopes on Allegro and run reauth; if they are fine, ask Allegro "
            "support with the Trace-Id.",
        )
    return exc.message, None


def _probe(rt: Runtime, live: Live) -> tuple[dict[str, Any], float, str]:
    """GET /me when profile:read was granted; otherwise GET /marketplaces (no scope needed)."""
    path = "/me" if PROFILE_READ in live.connection.scopes else "/marketplaces"
    body, latency = allegro.get(
        rt, live.client, live.connection.environment, live.tokens.access_token, path
    )
    return body, latency, path


def check(rt: Runtime, name: str) -> TestResult:
    """Test one connection and store the outcome as its last_test."""
    store = rt.store
    conn = service.get_connection(store, name)
    result = TestResult(name=conn.name, ok=False, environment=conn.environment)
    try:
        body, latency, path = with_token(rt, conn.name, lambda live: _probe(rt, live))
        result.ok = True
        result.latency_ms = latency
        result.account = conn.account
        if path == "/me" and body.get("id"):
            result.account = Account(id=str(body["id"]), login=body.get("login"))
    except ApiError as exc:
        result.error, result.hint = _explain(exc)
        result.trace_id = exc.trace_id
        result.exit_code = ExitCode.FAILURE
    except (AuthNeeded, Unavailable) as exc:
        result.error, result.hint, result.exit_code = exc.message, exc.hint, exc.exit_code
    except AppError as exc:
        result.error, result.hint = exc.message, exc.hint
        result.exit_code = ExitCode.FAILURE
    try:
        tokens = store.read_tokens(conn.name)
    except StoreError:
        tokens = None  # already the test's error; the other connections still get tested
    if tokens is not None:
        result.expires_at = tokens.expires_at
        result.refresh_expires_at = tokens.refresh_expires_at
        result.refresh_issued_at = tokens.refresh_issued_at
    _record(rt, result)
    return result


def _record(rt: Runtime, result: TestResult) -> None:
    last = LastTest(at=service.iso(rt.clock()) or "", ok=result.ok, error=result.error)
    with rt.store.locked():
        connections = rt.store.load_connections()
        conn = connections.get(result.name)
        if conn is None:
            return  # deleted meanwhile: nothing to record
        account = result.account if result.ok and result.account else conn.account
        connections[result.name] = replace(conn, last_test=last, account=account)
        rt.store.save_connections(connections)


def overall_exit(results: list[TestResult]) -> ExitCode:
    """0 all pass; 4 if one needs consent; 5 if Allegro was unreachable; else 1."""
    codes = {r.exit_code for r in results if not r.ok}
    for code in (ExitCode.AUTH_NEEDED, ExitCode.UNAVAILABLE, ExitCode.FAILURE):
        if code in codes:
            return code
    return ExitCode.OK
