"""Use cases for OAuth clients and stored connections: no typer, no prompts, no printing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from allegro_conn.errors import NotFound, StoreError, UsageError
from allegro_conn.models import Connection, OAuthClient, TokenSet
from allegro_conn.store import Store
from allegro_conn.validate import (
    check_client_type,
    check_environment,
    check_name,
    check_no_controls,
    check_redirect_uri,
)

REFRESH_END_WARNING = 10 * 86400  # the refresh token ends within ten days


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _find(names: dict[str, Any], name: str) -> str | None:
    """The stored name equal to `name` ignoring case (names are unique that way)."""
    folded = name.casefold()
    for existing in names:
        if existing.casefold() == folded:
            return existing
    return None


# -- OAuth clients ---------------------------------------------------------------------------


@dataclass
class ClientSpec:
    """A complete client as the user described it (flags, prompts or both)."""

    name: str
    environment: str
    client_id: str
    client_secret: str
    type: str = "browser"
    redirect_uri: str | None = None
    app_name: str | None = None


def normalize_client(spec: ClientSpec) -> OAuthClient:
    name = check_name(spec.name, "client")
    kind = check_client_type(spec.type)
    check_no_controls(spec.client_id.strip(), "client id", "--client-id")
    check_no_controls((spec.app_name or "").strip(), "application name", "--app-name")
    if not spec.client_id.strip():
        raise UsageError("The client id cannot be empty.", "Pass --client-id.")
    if not spec.client_secret:
        raise UsageError(
            "The client secret cannot be empty.",
            "Pass it on stdin with --client-secret-stdin or in ALLEGRO_CONN_CLIENT_SECRET.",
        )
    redirect = None
    if kind == "browser":
        from allegro_conn.models import DEFAULT_REDIRECT_URI

        redirect = check_redirect_uri(spec.redirect_uri or DEFAULT_REDIRECT_URI)
    return OAuthClient(
        name=name,
        environment=check_environment(spec.environment),
        client_id=spec.client_id.strip(),
        client_secret=spec.client_secret,
        type=kind,
        redirect_uri=redirect,
        app_name=(spec.app_name or "").strip() or name,
    )


def add_client(store: Store, spec: ClientSpec) -> OAuthClient:
    client = normalize_client(spec)
    with store.locked():
        clients = store.load_clients()
        clash = _find(clients, client.name)
        if clash:
            raise UsageError(
                f"A client named {clash!r} already exists.",
                f"Pick another name, or change it with 'allegro-conn client edit {clash}'.",
            )
        clients[client.name] = client
        store.save_clients(clients)
    return client


def get_client(store: Store, name: str) -> OAuthClient:
    clients = store.load_clients()
    found = _find(clients, name)
    if found is None:
        hint = "Run 'allegro-conn client list' to see them, or add one with 'client add'."
        raise NotFound(f"No OAuth client named {name!r}.", hint)
    return clients[found]


def clients_used_by(store: Store) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for conn in store.load_connections().values():
        used.setdefault(conn.client, []).append(conn.name)
    return used


def edit_client(store: Store, name: str, changes: dict[str, Any]) -> OAuthClient:
    """Apply `changes` (field -> new value, None = keep) and check the result as `add` does."""
    with store.locked():
        clients = store.load_clients()
        current = get_client(store, name)
        fields = {k: v for k, v in changes.items() if v is not None}
        merged = replace(current, **fields)
        if merged.type == "device":
            merged.redirect_uri = None
        updated = normalize_client(
            ClientSpec(
                name=current.name,
                environment=merged.environment,
                client_id=merged.client_id,
                client_secret=merged.client_secret,
                type=merged.type,
                redirect_uri=merged.redirect_uri,
                app_name=merged.app_name,
            )
        )
        users = clients_used_by(store).get(current.name, [])
        if users and updated.environment != current.environment:
            raise UsageError(
                f"Client {current.name!r} is used by {', '.join(users)} in "
                f"{current.environment}; its environment cannot change.",
                "Add a new client for the other environment instead.",
            )
        clients[current.name] = updated
        store.save_clients(clients)
    return updated


def delete_client(store: Store, name: str, force: bool = False) -> OAuthClient:
    with store.locked():
        clients = store.load_clients()
        client = get_client(store, name)
        users = clients_used_by(store).get(client.name, [])
        if users and not force:
            raise UsageError(
                f"Client {client.name!r} is used by {', '.join(sorted(users))}.",
                "Delete those connections first, or pass --force.",
            )
        del clients[client.name]
        store.save_clients(clients)
    return client


def client_view(client: OAuthClient, used_by: list[str]) -> dict[str, Any]:
    """What list/show print: every field but the secret."""
    return {
        "name": client.name,
        "environment": client.environment,
        "client_id": client.client_id,
        "type": client.type,
        "redirect_uri": client.redirect_uri,
        "app_name": client.app_name,
        "used_by": sorted(used_by),
    }


# -- connections -----------------------------------------------------------------------------


def get_connection(store: Store, name: str) -> Connection:
    connections = store.load_connections()
    found = _find(connections, name)
    if found is None:
        raise NotFound(
            f"No connection named {name!r}.",
            "Run 'allegro-conn list' to see them, or 'allegro-conn create' to make one.",
        )
    return connections[found]


def resolve_name(store: Store, name: str | None) -> str:
    """`name`, or the default connection when it is omitted."""
    if name:
        return get_connection(store, name).name
    default = store.default_name()
    if default is None:
        raise UsageError(
            "No connection named and no default connection set.",
            "Name one, or set a default with 'allegro-conn default NAME'.",
        )
    return get_connection(store, default).name


def connection_view(
    conn: Connection, tokens: TokenSet | None, default: str | None
) -> dict[str, Any]:
    """A connection with the contract's JSON keys; tokens never included."""
    return {
        "name": conn.name,
        "environment": conn.environment,
        "client": conn.client,
        "scopes": list(conn.scopes),
        "account": {"id": conn.account.id, "login": conn.account.login} if conn.account else None,
        "expires_at": iso(tokens.expires_at) if tokens else None,
        "refresh_expires_at": iso(tokens.refresh_expires_at) if tokens else None,
        "default": conn.name == default,
        "last_test": {
            "at": conn.last_test.at,
            "ok": conn.last_test.ok,
            "error": conn.last_test.error,
        }
        if conn.last_test
        else None,
        "needs_reauth": bool(tokens is None or tokens.needs_reauth),
    }


def connection_status(conn: Connection, tokens: TokenSet | None, now: float) -> str:
    if tokens is None or tokens.needs_reauth:
        return "needs reauth"
    refresh_end = tokens.refresh_expires_at
    if refresh_end is not None and refresh_end <= now:
        return "needs reauth"
    if conn.last_test is not None and not conn.last_test.ok:
        return "last test failed"
    if refresh_end is not None and refresh_end - now < REFRESH_END_WARNING:
        return "consent ends soon"
    if tokens.expires_at <= now:
        return "expired (refreshes on use)"
    return "ok"


def list_connections(
    store: Store, problems: list[str] | None = None
) -> list[tuple[Connection, TokenSet | None]]:
    """Every connection with its tokens; an unreadable token file lists as None (needs
    reauth) and its error goes to `problems`, so one bad file does not hide the others."""
    result: list[tuple[Connection, TokenSet | None]] = []
    for _, conn in sorted(store.load_connections().items()):
        try:
            tokens = store.read_tokens(conn.name)
        except StoreError as exc:
            tokens = None
            if problems is not None:
                problems.append(exc.message)
        result.append((conn, tokens))
    return result


def rename_connection(store: Store, old: str, new: str) -> Connection:
    check_name(new)
    with store.locked():
        connections = store.load_connections()
        conn = get_connection(store, old)
        clash = _find(connections, new)
        if clash is not None and clash != conn.name:
            raise UsageError(f"A connection named {clash!r} already exists.", "Pick another name.")
        renamed = replace(conn, name=new)
        del connections[conn.name]
        connections[new] = renamed
        with store.token_lock(conn.name, timeout=30.0):
            store.rename_tokens(conn.name, new)
            try:
                store.save_connections(connections)
            except BaseException:
                store.rename_tokens(new, conn.name)  # the record still has the old name
                raise
        if store.default_name() == conn.name:
            store.set_default(new)
    return renamed


def delete_connection(store: Store, name: str) -> Connection:
    with store.locked():
        connections = store.load_connections()
        conn = get_connection(store, name)
        # tokens first: a crash in between leaves a connection that asks for reauth,
        # never tokens served for a connection that no longer exists
        with store.token_lock(conn.name, timeout=30.0):
            store.delete_tokens(conn.name)
        del connections[conn.name]
        store.save_connections(connections)
        if store.default_name() == conn.name:
            store.set_default(None)
    return conn


def set_default(store: Store, name: str) -> Connection:
    with store.locked():
        conn = get_connection(store, name)
        store.set_default(conn.name)
    return conn


def check_new_connection_name(store: Store, name: str) -> str:
    check_name(name)
    clash = _find(store.load_connections(), name)
    if clash is not None:
        raise UsageError(
            f"A connection named {clash!r} already exists.",
            f"Pick another name, or authorize it again with 'allegro-conn reauth {clash}'.",
        )
    return name


def save_connection(store: Store, conn: Connection, tokens: TokenSet, new: bool) -> None:
    """Store a new or re-authorized connection: tokens first, then the record."""
    with store.locked():
        if new:
            check_new_connection_name(store, conn.name)
        connections = store.load_connections()
        with store.token_lock(conn.name, timeout=30.0):
            store.write_tokens(conn.name, tokens)
        connections[conn.name] = conn
        store.save_connections(connections)
        if store.default_name() is None:
            store.set_default(conn.name)
