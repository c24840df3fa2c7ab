"""JWT-shaped tokens signed with HS256 (Allegro signs RS256; a shared random key is enough here)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def s256(verifier: str) -> str:
    """PKCE S256: BASE64URL(SHA256(ASCII(verifier))) without padding (§2.1)."""
    return b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


class TokenSigner:
    """Encodes and verifies tokens with a key that lives only as long as the emulator."""

    _HEADER = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def _sign(self, signing_input: str) -> str:
        return b64url(hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest())

    def encode(self, claims: dict[str, Any]) -> str:
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._HEADER}.{payload}"
        return f"{signing_input}.{self._sign(signing_input)}"

    def decode(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this signer made, or None (malformed or foreign)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}"
        expected = self._sign(signing_input).encode()
        if not hmac.compare_digest(expected, parts[2].encode("utf-8", "replace")):
            return None
        try:
            claims = json.loads(b64url_decode(parts[1]))
        except ValueError:
            return None
        return claims if isinstance(claims, dict) else None
