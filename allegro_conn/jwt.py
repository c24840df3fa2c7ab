"""Reading (not verifying) the claims of Allegro's JWT access tokens."""

from __future__ import annotations

import base64
import json
from typing import Any


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, or {} when `token` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return {}
    return data if isinstance(data, dict) else {}
