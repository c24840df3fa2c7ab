"""In-memory state of the emulator: clients, users, codes, tokens, device codes.

Every mutable thing lives in :class:`EmulatorState`; callers hold ``state.lock`` while they
read or change it (the HTTP handler takes it once per request, so each request is atomic).
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from allegro_conn.emulator.tokens import TokenSigner

# allegro-api.md §7: the 22 scopes of the TUT-PL table.
ALL_SCOPES: tuple[str, ...] = (
    "allegro:api:profile:read",
    "allegro:api:profile:write",
    "allegro:api:sale:offers:read",
    "allegro:api:sale:offers:write",
    "allegro:api:orders:read",
    "allegro:api:orders:write",
    "allegro:api:shipments:read",
    "allegro:api:shipments:write",
    "allegro:api:ratings",
    "allegro:api:disputes",
    "allegro:api:bids",
    "allegro:api:messaging",
    "allegro:api:billing:read",
    "allegro:api:payments:read",
    "allegro:api:payments:write",
    "allegro:api:sale:settings:read",
    "allegro:api:sale:settings:write",
    "allegro:api:campaigns",
    "allegro:api:fulfillment:read",
    "allegro:api:fulfillment:write",
    "allegro:api:affiliate:read",
    "allegro:api:affiliate:write",
)
# §7: legacy, undocumented; accepted only when a client declares it explicitly.
LEGACY_SCOPES: tuple[str, ...] = ("allegro:api:ads",)
CLIENT_TYPES: tuple[str, ...] = ("browser", "device")
DEFAULT_USER_ID = "44213570"
DEFAULT_USER_LOGIN = "demo-seller"
_USER_CODE_ALPHABET = string.ascii_lowercase + string.digits


def order_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Deduplicate scopes and put them in catalogue order (legacy and unknown ones last)."""
    known = ALL_SCOPES + LEGACY_SCOPES
    unique = set(scopes)
    return tuple(sorted(unique, key=lambda s: (known.index(s) if s in known else len(known), s)))


@dataclass
class EmulatorClient:
    """An application registered in the emulator's "Developer Apps"."""

    client_id: str
    client_secret: str
    type: str
    redirect_uris: list[str]
    app_name: str
    scopes: tuple[str, ...]

    def user_agent_names(self) -> set[str]:
        """Names accepted before ``/`` in User-Agent (§8: spaces may become ``-`` or ``_``)."""
        name = self.app_name
        return {name, name.replace(" ", "-"), name.replace(" ", "_")}


@dataclass
class User:
    id: str
    login: str
    first_name: str = "Jan"
    last_name: str = "Kowalski"
    email: str = ""
    company: dict[str, str] | None = None
    features: list[str] = field(default_factory=list)

    def to_me(self) -> dict[str, Any]:
        """The body of ``GET /me`` (§8.1)."""
        return {
            "id": self.id,
            "login": self.login,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "baseMarketplace": {"id": "allegro-pl"},
            "company": self.company,
            "features": list(self.features),
        }


@dataclass
class AuthRequest:
    """A consent screen waiting for Allow/Deny."""

    request_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    extra: list[tuple[str, str]]
    expires_at: float


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class TokenRecord:
    jti: str
    kind: str  # "access" or "refresh"
    client_id: str
    user_id: str | None
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False
    first_used_at: float | None = None  # refresh tokens: when first exchanged
    pair_jti: str | None = None  # refresh tokens: the access token issued with it


@dataclass
class DeviceAuth:
    device_code: str
    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    interval: int
    status: str = "pending"  # "pending", "approved", "denied"
    user_id: str | None = None
    last_poll: float | None = None
    used: bool = False


@dataclass
class RecordedRequest:
    """One request as the emulator saw it; ``status`` is filled in when answered."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    trace_id: str = ""
    query_list: list[tuple[str, str]] = field(default_factory=list)
    status: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FailureRule:
    status: int
    remaining: int
    path_prefix: str
    retry_after: float | None


class EmulatorState:
    """All the emulator's data, guarded by ``lock``."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        auto_approve: bool,
        access_ttl: int,
        refresh_ttl: int,
        refresh_grace: float,
        device_interval: int,
        device_ttl: int,
        code_ttl: float,
        offers_count: int,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.auto_approve = auto_approve
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.refresh_grace = refresh_grace
        self.device_interval = device_interval
        self.device_ttl = device_ttl
        self.code_ttl = code_ttl
        self.offers_count = offers_count
        self.signer = TokenSigner()
        self.base_url = ""  # set when the server is bound; also the tokens' ``iss``
        self.errors: list[BaseException] = []
        self.clients: dict[str, EmulatorClient] = {}
        self.users: dict[str, User] = {}
        self.current_user_id = DEFAULT_USER_ID
        self.auth_requests: dict[str, AuthRequest] = {}
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.devices: dict[str, DeviceAuth] = {}
        self.requests: list[RecordedRequest] = []
        self.failures: list[FailureRule] = []
        self.created_offers: dict[str, dict[str, Any]] = {}
        self.add_user(User(id=DEFAULT_USER_ID, login=DEFAULT_USER_LOGIN, email="demo@example.com"))

    # --- registries -------------------------------------------------------------------
    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            self.current_user_id = user.id
            return user

    def current_user(self) -> User:
        return self.users[self.current_user_id]

    # --- codes --------------------------------------------------------------------------
    def new_code(self, request: AuthRequest, user_id: str) -> AuthCode:
        code = AuthCode(
            code=secrets.token_urlsafe(24),
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            user_id=user_id,
            scopes=request.scopes,
            code_challenge=request.code_challenge,
            expires_at=self.clock() + self.code_ttl,  # §2.2: valid for 10 seconds
        )
        self.codes[code.code] = code
        return code

    def new_user_code(self) -> str:
        live = {d.user_code for d in self.devices.values() if not d.used}
        while True:
            code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
            if code not in live:
                return code

    def decide_device(self, device: DeviceAuth, *, approve: bool) -> None:
        """What the verification page does, as the current user."""
        device.status = "approved" if approve else "denied"
        device.user_id = self.current_user_id

    def find_device_by_user_code(self, user_code: str) -> DeviceAuth | None:
        """Look a user code up the way a person types it: any case, spaces or dashes."""
        wanted = "".join(ch for ch in user_code.lower() if ch.isalnum())
        now = self.clock()
        for device in self.devices.values():
            if device.user_code == wanted and not device.used and device.expires_at > now:
                return device
        return None

    # --- tokens -------------------------------------------------------------------------
    def _claims(self, record: TokenRecord) -> dict[str, Any]:
        claims: dict[str, Any] = {}
        if record.user_id is not None:
            claims["user_name"] = record.user_id
        claims.update(
            {
                "scope": list(record.scopes),
                "allegro_api": True,
                "iss": self.base_url,
                "exp": int(record.expires_at),
                "jti": record.jti,
                "client_id": record.client_id,
            }
        )
        if record.kind == "refresh":
            claims["ati"] = record.pair_jti
        return claims

    def issue(
        self, client_id: str, user_id: str | None, scopes: tuple[str, ...], *, refresh: bool
    ) -> dict[str, Any]:
        """Mint an access token (and a refresh token) and return the §2.4 response body."""
        now = self.clock()
        access = TokenRecord(
            jti=str(uuid.uuid4()),
            kind="access",
            client_id=client_id,
            user_id=user_id,
            scopes=scopes,
            expires_at=now + self.access_ttl,
        )
        self.tokens[access.jti] = access
        body: dict[str, Any] = {
            "access_token": self.signer.encode(self._claims(access)),
            "token_type": "bearer",
        }
        if refresh:
            record = TokenRecord(
                jti=str(uuid.uuid4()),
                kind="refresh",
                client_id=client_id,
                user_id=user_id,
                scopes=scopes,
                expires_at=now + self.refresh_ttl,
                pair_jti=access.jti,
            )
            self.tokens[record.jti] = record
            body["refresh_token"] = self.signer.encode(self._claims(record))
        body.update(
            {
                "expires_in": int(self.access_ttl),
                "scope": " ".join(scopes),
                "allegro_api": True,
                "iss": self.base_url,
                "jti": access.jti,
            }
        )
        return body

    def live_token(self, token: str, kind: str) -> TokenRecord | None:
        """The record of a token that is well-signed, of ``kind``, not revoked nor expired."""
        claims = self.signer.decode(token)
        if claims is None:
            return None
        record = self.tokens.get(str(claims.get("jti")))
        if record is None or record.kind != kind or record.revoked:
            return None
        if record.expires_at <= self.clock():
            return None
        return record

    def revoke_user_tokens(self, user_id: str) -> int:
        """Kill every token of a user (§3: password change, logout everywhere, ...)."""
        killed = 0
        for record in self.tokens.values():
            if record.user_id == user_id and not record.revoked:
                record.revoked = True
                killed += 1
        return killed

    # --- failure injection --------------------------------------------------------------
    def take_failure(self, path: str) -> FailureRule | None:
        """The first injected failure matching ``path``, used up by one request."""
        for rule in self.failures:
            if path.startswith(rule.path_prefix):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.failures.remove(rule)
                return rule
        return None
