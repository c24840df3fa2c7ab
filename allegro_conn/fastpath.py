"""`allegro-conn token` when the stored token is still valid: standard library only.

Anything unusual (another flag, a token about to expire, consent needed, an unreadable
file) returns None and the full app takes over, with its messages and refresh logic.

`token` runs inside `$(...)` in loops, so every import counts: the `json` package pulls in
`re`, `enum`, `functools` and `collections` (about as long as the interpreter's own start
without an editable install), so the files are parsed with `_json`'s C scanner, which
`json` itself uses; `json` is the fallback where `_json` is missing.
"""

from __future__ import annotations

import os
import sys
import time

from allegro_conn import paths

DEFAULT_MIN_TTL = 300.0
REFRESH_WARN_AGE = 80 * 86400


class _Decoder:
    """What `_json.make_scanner` reads from a `json.JSONDecoder`: plain JSON, no hooks."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        raise ValueError(f"{name} is not JSON")


def load_json(raw: bytes) -> object:
    """`json.loads(raw)` for the UTF-8 files the store writes; ValueError when malformed."""
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - not CPython
        import json

        return json.loads(raw)
    text = raw.decode("utf-8").strip(" \t\n\r")
    try:
        value, end = make_scanner(_Decoder)(text, 0)  # type: ignore[arg-type]
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("extra data after the JSON document")
    return value


def _parse(args: list[str]) -> tuple[str | None, str | None, float] | None:
    """(config dir, name, min ttl) for `[--config-dir D] token [NAME] [--min-ttl N]`."""
    config_dir = None
    name = None
    min_ttl = DEFAULT_MIN_TTL
    seen_token = False
    it = iter(args)
    for arg in it:
        if not seen_token:
            if arg == "token":
                seen_token = True
            elif arg == "--quiet":
                continue  # the fast path prints nothing on stderr anyway
            elif arg == "--config-dir":
                config_dir = next(it, None)
                if config_dir is None:
                    return None
            elif arg.startswith("--config-dir="):
                config_dir = arg.split("=", 1)[1]
            else:
                return None
        elif arg == "--min-ttl" or arg.startswith("--min-ttl="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, None)
            try:
                min_ttl = float(value) if value is not None else -1.0
            except ValueError:
                return None
            if not 0 <= min_ttl < float("inf"):  # negative, inf, nan: the full app decides
                return None
        elif arg.startswith("-") or name is not None:
            return None
        else:
            name = arg
    return (config_dir, name, min_ttl) if seen_token else None


def serve_token(args: list[str]) -> int | None:
    parsed = _parse(args)
    if parsed is None:
        return None
    config_dir, name, min_ttl = parsed
    env = os.environ
    explicit = config_dir or env.get(paths.ENV_CONFIG_DIR, "").strip()
    if not explicit and paths.quick_default_dir(env) is None:
        return None  # platformdirs would be needed: leave it to the full app
    root = paths.config_dir(config_dir, env)
    try:
        if name is None:
            with open(os.path.join(root, paths.SETTINGS_FILE), "rb") as fh:
                settings = load_json(fh.read())
            name = settings.get("default") if isinstance(settings, dict) else None
            if not isinstance(name, str):
                return None
        token_path = os.path.join(root, paths.TOKENS_DIR, paths.token_file_name(name))
        with open(token_path, "rb") as fh:
            data = load_json(fh.read())
        if not isinstance(data, dict):
            return None
        if data.get("version") != 1 or data.get("needs_reauth"):
            return None
        access = data["access_token"]
        now = time.time()
        if float(data["expires_at"]) - now < min_ttl:
            return None
        issued = data.get("refresh_issued_at")
        if issued is not None and now - float(issued) >= REFRESH_WARN_AGE:
            return None  # the full app prints the warning about consent running out
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(access, str) or not access:
        return None
    sys.stdout.write(access + "\n")
    sys.stdout.flush()
    return 0
