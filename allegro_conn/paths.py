"""Where the config lives. Standard library only: the `token` fast path uses it.

Order: `--config-dir` > `ALLEGRO_CONN_CONFIG_DIR` > platformdirs' user config dir.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing (or collections.abc) costs `token` time
if TYPE_CHECKING:
    from collections.abc import Mapping

APP_NAME = "allegro-conn"
ENV_CONFIG_DIR = "ALLEGRO_CONN_CONFIG_DIR"

CLIENTS_FILE = "clients.json"
CONNECTIONS_FILE = "connections.json"
SETTINGS_FILE = "settings.json"
TOKENS_DIR = "tokens"
LOCK_FILE = "config.lock"

MAX_FILE_STEM = 200  # leaves room for ".json", ".lock" and temp-file affixes under 255 bytes
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def quick_default_dir(env: Mapping[str, str]) -> str | None:
    """platformdirs' answer on Linux/BSD without importing it; None elsewhere."""
    if sys.platform.startswith(("win", "darwin")):
        return None
    base = env.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: relative values are invalid and ignored
        base = _home(env).rstrip("/") + "/.config"
    return os.path.join(base, APP_NAME)


def _home(env: Mapping[str, str]) -> str:
    """$HOME when it is absolute; else (unset, empty, relative) the user database's entry,
    as platformdirs does (os.path.expanduser would use an empty or relative $HOME as is)."""
    home = env.get("HOME", "")
    if os.path.isabs(home):
        return home
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):  # pragma: no cover - no user database
        return os.path.expanduser("~")


def default_dir(env: Mapping[str, str]) -> str:
    quick = quick_default_dir(env)
    if quick is not None:
        return quick
    import platformdirs

    return str(platformdirs.user_config_dir(APP_NAME))


def config_dir(override: str | None, env: Mapping[str, str]) -> str:
    if override:
        return os.path.abspath(os.path.expanduser(override))
    from_env = env.get(ENV_CONFIG_DIR, "").strip()
    if from_env:
        return os.path.abspath(os.path.expanduser(from_env))
    return default_dir(env)


def token_file_name(connection: str) -> str:
    """A file name for a connection's tokens: unsafe bytes become %XX.

    Names are unique case-insensitively, so case-insensitive file systems are fine too.
    """
    out = []
    for ch in connection:
        if ch in _SAFE:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    name = "".join(out)
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > MAX_FILE_STEM:
        # 64 characters of %XX-encoded UTF-8 can pass the 255-byte limit of file names
        import hashlib

        digest = hashlib.sha256(connection.encode("utf-8")).hexdigest()[:16]
        cut = name[: MAX_FILE_STEM - 17]
        if "%" in cut[-2:]:  # never half of a %XX
            cut = cut[: cut.rindex("%")]
        name = cut + "~" + digest
    return name + ".json"
