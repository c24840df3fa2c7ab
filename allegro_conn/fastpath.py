"""`allegro-conn token` when the stored token is still valid: standard library only.

Anything else (a token about to expire, consent needed, an unreadable file, --json) goes
to `tokenpath`, which refreshes without typer; a command line this module does not parse
goes to the typer app.

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


class TokenArgs:
    """`[--config-dir D] [--quiet] token [NAME] [--min-ttl N] [--force-refresh] [--json]`."""

    __slots__ = ("as_json", "config_dir", "force", "min_ttl", "name", "quiet")

    def __init__(self) -> None:
        self.config_dir: str | None = None
        self.name: str | None = None
        self.min_ttl = DEFAULT_MIN_TTL
        self.force = False
        self.as_json = False
        self.quiet = False


def parse_token_args(args: list[str]) -> TokenArgs | None:
    """The `token` command line, or None for anything else (help, a typo, another command):
    typer then parses it and gives its usual messages."""
    parsed = TokenArgs()
    seen_token = False
    it = iter(args)
    for arg in it:
        if not seen_token:
            if arg == "token":
                seen_token = True
            elif arg == "--quiet":
                parsed.quiet = True
            elif arg == "--config-dir":
                parsed.config_dir = next(it, None)
                if parsed.config_dir is None:
                    return None
            elif arg.startswith("--config-dir="):
                parsed.config_dir = arg.split("=", 1)[1]
            else:
                return None
        elif arg == "--min-ttl" or arg.startswith("--min-ttl="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, None)
            try:
                parsed.min_ttl = float(value) if value is not None else -1.0
            except ValueError:
                return None
            if not 0 <= parsed.min_ttl < float("inf"):  # negative, inf, nan: typer decides
                return None
        elif arg == "--force-refresh":
            parsed.force = True
        elif arg == "--json":
            parsed.as_json = True
        elif arg.startswith("-") or parsed.name is not None:
            return None
        else:
            parsed.name = arg
    return parsed if seen_token else None


def serve_token(parsed: TokenArgs) -> int | None:
    """Print the cached token when it is valid long enough; None leaves it to `tokenpath`."""
    if parsed.force or parsed.as_json:
        return None
    config_dir, name, min_ttl = parsed.config_dir, parsed.name, parsed.min_ttl
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
        if data.get("refresh_started_at") is not None:
            return None  # a refresher died mid-way: this access token may be dead
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
