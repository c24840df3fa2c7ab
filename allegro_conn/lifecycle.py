"""Keeping a connection's tokens valid: one refresh however many processes ask at once.

Allegro's refresh tokens are single-use and a refresh kills the previous access token
(allegro-api.md §3). So a refresh happens under a per-connection lock; whoever gets the
lock reads the token file again and sends nothing when another process already refreshed;
and the new pair is saved before it is used, with SIGINT/SIGTERM held back meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from allegro_conn import service, signalmask
from allegro_conn.allegro import ApiError
from allegro_conn.errors import AuthNeeded
from allegro_conn.models import Connection, OAuthClient, TokenSet
from allegro_conn.oauth import tokens as oauth
from allegro_conn.runtime import Runtime

DEFAULT_MIN_TTL = 300.0
LOCK_WAIT = 60.0
REFRESH_WARN_AGE = 80 * 86400

T = TypeVar("T")


@dataclass
class Live:
    """A connection with its client and tokens valid for at least the asked time."""

    connection: Connection
    client: OAuthClient
    tokens: TokenSet
    refreshed: bool = False
    warnings: list[str] = field(default_factory=list)


def reauth_hint(name: str) -> str:
    return f"Run 'allegro-conn reauth {name}' to sign in again."


def _usable(tokens: TokenSet | None, name: str, force: bool = False) -> TokenSet:
    if tokens is None:
        raise AuthNeeded(f"Connection {name!r} has no tokens.", reauth_hint(name))
    if tokens.needs_reauth and not force:
        raise AuthNeeded(
            f"Connection {name!r} needs consent again: {tokens.needs_reauth}.", reauth_hint(name)
        )
    return tokens


def _mark_needs_reauth(rt: Runtime, name: str, tokens: TokenSet, reason: str) -> None:
    """Remember that consent is needed, so later calls say so without a request.

    The connection and its tokens stay: nothing the user stored is deleted.
    """
    rt.store.write_tokens(name, replace(tokens, needs_reauth=reason, refresh_started_at=None))


def refresh_locked(
    rt: Runtime,
    conn: Connection,
    client: OAuthClient,
    seen: TokenSet,
    min_ttl: float,
    force: bool = False,
) -> tuple[TokenSet, bool]:
    """Refresh under the connection's lock unless another process already did.

    `seen` is the token set read before the lock; returns (tokens, refreshed by us).
    """
    store = rt.store
    name = conn.name
    with store.token_lock(name, LOCK_WAIT):
        current = store.read_tokens(name)
        # another process refreshed (or re-authorized) while we waited for the lock
        if (
            current is not None
            and current.access_token != seen.access_token
            and not current.needs_reauth
            and current.expires_at - rt.clock() > min(min_ttl, 60)
        ):
            return current, False
        current = _usable(current, name, force)
        if not current.refresh_token:
            raise AuthNeeded(f"Connection {name!r} has no refresh token.", reauth_hint(name))
        base = rt.auth_base(conn.environment)
        with signalmask.held():
            # If we die after sending (SIGKILL, power), the next caller must not trust this
            # access token: Allegro may have rotated the pair and killed it.
            store.write_tokens(name, replace(current, refresh_started_at=rt.clock()))
            try:
                fresh = oauth.refresh(rt, client, base, current.refresh_token)
            except AuthNeeded as exc:
                _mark_needs_reauth(rt, name, current, exc.message.rstrip("."))
                raise AuthNeeded(
                    f"Allegro rejected the refresh token of {name!r}: consent is needed again.",
                    reauth_hint(name),
                ) from None
            if not fresh.scope:
                fresh = replace(fresh, scope=current.scope)
            if not fresh.refresh_token:
                # RFC 6749 §6: an answer without a new refresh token leaves the old one valid
                fresh = replace(
                    fresh,
                    refresh_token=current.refresh_token,
                    refresh_issued_at=current.refresh_issued_at,
                )
            store.write_tokens(name, fresh)
    return fresh, True


def ensure_fresh(
    rt: Runtime, name: str, min_ttl: float = DEFAULT_MIN_TTL, force: bool = False
) -> Live:
    """The connection's tokens, refreshed first when they expire within `min_ttl`."""
    store = rt.store
    conn = service.get_connection(store, name)
    client = service.get_client(store, conn.client)
    tokens = _usable(store.read_tokens(conn.name), conn.name, force)
    warnings = []
    lifetime = _lifetime(tokens)
    if lifetime is not None and min_ttl >= lifetime:
        # no token can satisfy it, and asking anyway would refresh (burning single-use
        # refresh tokens) on every call: ask for half a lifetime instead
        warnings.append(
            f"warning: --min-ttl {min_ttl:g} is not less than a token of {conn.name!r} lives "
            f"({lifetime:.0f} s); using {lifetime / 2:.0f} s."
        )
        min_ttl = lifetime / 2
    interrupted = tokens.refresh_started_at is not None  # a refresher died mid-way
    if force or interrupted or tokens.expires_at - rt.clock() < min_ttl:
        tokens, refreshed = refresh_locked(rt, conn, client, tokens, min_ttl, force)
    else:
        refreshed = False
    old_refresh = refresh_warning(tokens, conn.name, rt.clock())
    if old_refresh:
        warnings.append(old_refresh)
    return Live(conn, client, tokens, refreshed, warnings)


def _lifetime(tokens: TokenSet) -> float | None:
    """How long Allegro made the access token live (12 h), from when it was received."""
    if tokens.refresh_issued_at is None:
        return None
    lifetime = tokens.expires_at - tokens.refresh_issued_at
    return lifetime if lifetime > 0 else None


def token_document(tokens: TokenSet) -> dict[str, str | None]:
    """What `token --json` prints (the contract's keys)."""
    return {
        "access_token": tokens.access_token,
        "expires_at": service.iso(tokens.expires_at),
        "token_type": tokens.token_type,
    }


def refresh_warning(tokens: TokenSet, name: str, now: float) -> str | None:
    """A warning when the refresh token is old enough that consent runs out soon."""
    issued = tokens.refresh_issued_at
    if issued is None or now - issued < REFRESH_WARN_AGE:
        return None
    days = int((now - issued) // 86400)
    return (
        f"warning: the refresh token of {name!r} is {days} days old; Allegro ends it after "
        f"about 90 days. Use the connection (any refresh renews it) or run "
        f"'allegro-conn reauth {name}'."
    )


def with_token(rt: Runtime, name: str, call: Callable[[Live], T], min_ttl: float = 60.0) -> T:
    """Run an API call; on a 401 with a token that looked valid, re-read, refresh, retry once.

    Another process may have refreshed meanwhile, which killed our access token: then the
    file already holds the new one. Otherwise refresh once under the lock. A second 401 is
    an error, never a loop.
    """
    live = ensure_fresh(rt, name, min_ttl)
    try:
        return call(live)
    except ApiError as exc:
        if exc.status != 401:
            raise
    current = rt.store.read_tokens(live.connection.name)
    if current is not None and current.access_token != live.tokens.access_token:
        live = replace(live, tokens=_usable(current, name))
    else:
        fresh, _ = refresh_locked(rt, live.connection, live.client, live.tokens, min_ttl)
        live = replace(live, tokens=fresh, refreshed=True)
    return call(live)
