"""PKCE (S256 only: Allegro removed `plain` in 2024) and the `state` value."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_verifier() -> str:
    """43-128 characters of the unreserved set; 64 random bytes give 86."""
    return _b64url(secrets.token_bytes(64))


def challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class AuthRequest:
    """One authorization attempt: what goes into the URL and what must come back."""

    auth_base: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    verifier: str = field(default_factory=make_verifier)
    prompt_confirm: bool = True

    @property
    def url(self) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge_method": "S256",
            "code_challenge": challenge(self.verifier),
            "state": self.state,
        }
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        if self.prompt_confirm:
            # lets the user pick the account when several are signed in (allegro-api.md §2.1)
            params["prompt"] = "confirm"
        # spaces as %20, never '+': Allegro wants the scope list "%20"-separated (§2.1)
        query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
        return f"{self.auth_base}/auth/oauth/authorize?{query}"

    def state_matches(self, candidate: str | None) -> bool:
        return candidate is not None and secrets.compare_digest(
            candidate.encode("utf-8"), self.state.encode("utf-8")
        )
