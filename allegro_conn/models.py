"""The records allegro-conn keeps: OAuth clients, connections and their tokens."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ENVIRONMENTS = ("production", "sandbox")
CLIENT_TYPES = ("browser", "device")
FLOWS = ("browser", "device", "paste")

# Where the user signs in and where the REST API lives (allegro-api.md §1).
AUTH_URLS = {
    "production": "https://allegro.pl",
    "sandbox": "https://allegro.pl.allegrosandbox.pl",
}
API_URLS = {
    "production": "https://api.allegro.pl",
    "sandbox": "https://api.allegro.pl.allegrosandbox.pl",
}
APPS_PORTALS = {
    "production": "https://apps.developer.allegro.pl/",
    "sandbox": "https://apps.developer.allegro.pl.allegrosandbox.pl/",
}
# There is no revoke endpoint: only the user can unlink an app (allegro-api.md §1).
LINKED_APPS_PAGES = {
    "production": "https://allegro.pl/moje-allegro/moje-konto/powiazane-aplikacje",
    "sandbox": "https://allegro.pl.allegrosandbox.pl/moje-allegro/moje-konto/powiazane-aplikacje",
}
REFRESH_TOKEN_LIFETIME = 90 * 86400  # three months (allegro-api.md §3)
DEFAULT_REDIRECT_URI = "http://localhost:8976/callback"


@dataclass
class OAuthClient:
    name: str
    environment: str
    client_id: str
    client_secret: str
    type: str = "browser"
    redirect_uri: str | None = DEFAULT_REDIRECT_URI
    app_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OAuthClient:
        return cls(
            name=str(data["name"]),
            environment=str(data["environment"]),
            client_id=str(data["client_id"]),
            client_secret=str(data["client_secret"]),
            type=str(data.get("type", "browser")),
            redirect_uri=data.get("redirect_uri"),
            app_name=str(data.get("app_name") or data["name"]),
        )


@dataclass
class Account:
    id: str
    login: str | None = None


@dataclass
class LastTest:
    at: str
    ok: bool
    error: str | None = None


@dataclass
class Connection:
    name: str
    environment: str
    client: str
    requested_scopes: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    account: Account | None = None
    created_at: str | None = None
    last_test: LastTest | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Connection:
        account = data.get("account")
        last_test = data.get("last_test")
        return cls(
            name=str(data["name"]),
            environment=str(data["environment"]),
            client=str(data["client"]),
            requested_scopes=list(data.get("requested_scopes") or []),
            scopes=list(data.get("scopes") or []),
            account=Account(**account) if account else None,
            created_at=data.get("created_at"),
            last_test=LastTest(**last_test) if last_test else None,
        )


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, not {value!r}")
    return float(value)


@dataclass
class TokenSet:
    """What the token endpoint gave us, with times as epoch seconds."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    token_type: str = "bearer"
    scope: str = ""
    refresh_issued_at: float | None = None
    needs_reauth: str | None = None  # why consent is needed again; None while it works
    # set just before a refresh request is sent, cleared by the save of its answer: found
    # set, it means a refresher died after Allegro may have rotated (and so killed) this pair
    refresh_started_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenSet:
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=float(data["expires_at"]),
            token_type=str(data.get("token_type") or "bearer"),
            scope=str(data.get("scope") or ""),
            refresh_issued_at=_optional_float(data.get("refresh_issued_at")),
            needs_reauth=str(data["needs_reauth"]) if data.get("needs_reauth") else None,
            refresh_started_at=_optional_float(data.get("refresh_started_at")),
        )

    @property
    def refresh_expires_at(self) -> float | None:
        if self.refresh_issued_at is None:
            return None
        return self.refresh_issued_at + REFRESH_TOKEN_LIFETIME
