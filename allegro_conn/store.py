"""The config directory: versioned JSON files, atomic writes, locks and file modes.

Layout (every file 0600, every directory 0700):

    clients.json        {"version": 1, "clients": {NAME: OAuthClient}}       (holds secrets)
    connections.json    {"version": 1, "connections": {NAME: Connection}}
    settings.json       {"version": 1, "default": NAME | null}
    tokens/NAME.json    {"version": 1, ...TokenSet}                           (holds secrets)
    config.lock, tokens/NAME.lock   lock files, never deleted
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from allegro_conn import paths
from allegro_conn.errors import StoreError
from allegro_conn.locks import file_lock
from allegro_conn.models import Connection, OAuthClient, TokenSet

SCHEMA_VERSION = 1
LOCK_TIMEOUT = 10.0
STALE_TEMP_AGE = 600.0  # a live writer holds its temp file for milliseconds


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` so that readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):  # mkstemp made it 0600 already; Windows has no fchmod
                os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    _remove_stale_temps(path)


def _remove_stale_temps(path: Path) -> None:
    """Temp files of writers that were killed mid-write (they may hold secrets)."""
    import time

    cutoff = time.time() - STALE_TEMP_AGE
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < cutoff:
                stale.unlink()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _tighten(path: Path, mode: int) -> None:
    """Make `path` no more open than `mode` (0600 files, 0700 directories).

    Best effort: a read-only mount or a file owned by someone else stays as it is, and is
    still read; new files are written 0600 whatever happens here.
    """
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            path.chmod(current & mode)
    except OSError:
        return


def _what(exc: Exception) -> str:
    """What is wrong with a record, without echoing its values (a field could hold a secret)."""
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} field"
    return "a field holds a value of the wrong type"


class Store:
    """Everything allegro-conn keeps on disk, below one directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.clients_file = self.root / paths.CLIENTS_FILE
        self.connections_file = self.root / paths.CONNECTIONS_FILE
        self.settings_file = self.root / paths.SETTINGS_FILE
        self.tokens_dir = self.root / paths.TOKENS_DIR
        self.lock_file = self.root / paths.LOCK_FILE

    # -- directories, files and locks ------------------------------------------------------

    def _check_shared_root(self) -> None:
        """Refuse to tighten a directory that is not ours alone (/tmp, a home directory).

        Our own directory (empty, or holding only our files) loose from an old umask or a
        copy is tightened to 0700; a loose directory with other content is left alone.
        """
        try:
            mode = stat.S_IMODE(self.root.stat().st_mode)
            if not mode & 0o077:
                return
            entries = [p.name for p in self.root.iterdir()]
        except OSError:
            return  # missing (created below) or unreadable (reported when used)
        ours = {
            paths.CLIENTS_FILE,
            paths.CONNECTIONS_FILE,
            paths.SETTINGS_FILE,
            paths.TOKENS_DIR,
            paths.LOCK_FILE,
        }
        foreign = [e for e in entries if e not in ours and not e.endswith(".tmp")]
        if foreign or mode & stat.S_ISVTX:
            raise StoreError(
                f"The config directory {self.root} is shared (mode {mode:o}, and it holds "
                "other files): allegro-conn keeps secrets only in a 0700 directory of its own.",
                "Point --config-dir or ALLEGRO_CONN_CONFIG_DIR at a new directory.",
            )

    def ensure_dirs(self) -> None:
        self._check_shared_root()
        for directory in (self.root, self.tokens_dir):
            try:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the config directory {directory}: {exc.strerror}.",
                    "Pass a writable one with --config-dir or ALLEGRO_CONN_CONFIG_DIR.",
                ) from None
            _tighten(directory, 0o700)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the config lock: use it around every read-modify-write."""
        self.ensure_dirs()
        with file_lock(str(self.lock_file), LOCK_TIMEOUT, "the config directory"):
            yield

    def token_file(self, connection: str) -> Path:
        return self.tokens_dir / paths.token_file_name(connection)

    def token_lock_file(self, connection: str) -> Path:
        return self.token_file(connection).with_suffix(".lock")

    @contextlib.contextmanager
    def token_lock(self, connection: str, timeout: float) -> Iterator[None]:
        """Held across a refresh, so that one process refreshes and the others wait."""
        self.ensure_dirs()
        lock = str(self.token_lock_file(connection))
        with file_lock(lock, timeout, f"connection {connection!r}"):
            yield

    def _read(self, path: Path, key: str | None) -> dict[str, Any]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"Cannot read {path}: {exc.strerror}.") from None
        _tighten(path, 0o600)
        hint = "Fix the file or move it away; allegro-conn left it unchanged."
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise StoreError(f"{path} is not valid JSON{where}.", hint) from None
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise StoreError(f"{path} is not an allegro-conn file (no schema version).", hint)
        if data["version"] > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer allegro-conn (schema {data['version']}).",
                "Upgrade allegro-conn to read it.",
            )
        if key is not None and not isinstance(data.get(key), dict):
            raise StoreError(f"{path} has no {key!r} object.", hint)
        return data

    def _write(self, path: Path, body: dict[str, Any]) -> None:
        self.ensure_dirs()
        document = {"version": SCHEMA_VERSION, **body}
        data = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise StoreError(f"Cannot write {path}: {exc.strerror}.") from None

    def _records(self, path: Path, key: str) -> dict[str, dict[str, Any]]:
        data = self._read(path, key)
        records: dict[str, dict[str, Any]] = data.get(key, {})
        return records

    # -- OAuth clients -----------------------------------------------------------------------

    def load_clients(self) -> dict[str, OAuthClient]:
        records = self._records(self.clients_file, "clients")
        try:
            return {name: OAuthClient.from_dict(rec) for name, rec in records.items()}
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(
                f"{self.clients_file} has a malformed client ({_what(exc)})."
            ) from None

    def save_clients(self, clients: dict[str, OAuthClient]) -> None:
        body = {"clients": {name: c.to_dict() for name, c in clients.items()}}
        self._write(self.clients_file, body)

    # -- connections -----------------------------------------------------------------------

    def load_connections(self) -> dict[str, Connection]:
        records = self._records(self.connections_file, "connections")
        try:
            return {name: Connection.from_dict(rec) for name, rec in records.items()}
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(
                f"{self.connections_file} has a malformed connection ({_what(exc)})."
            ) from None

    def save_connections(self, connections: dict[str, Connection]) -> None:
        body = {"connections": {name: c.to_dict() for name, c in connections.items()}}
        self._write(self.connections_file, body)

    def default_name(self) -> str | None:
        value = self._read(self.settings_file, None).get("default")
        return value if isinstance(value, str) else None

    def set_default(self, name: str | None) -> None:
        self._write(self.settings_file, {"default": name})

    # -- tokens ----------------------------------------------------------------------------

    def read_tokens(self, connection: str) -> TokenSet | None:
        path = self.token_file(connection)
        data = self._read(path, None)
        if not data:
            return None
        try:
            return TokenSet.from_dict(data)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{path} is not a valid token file ({_what(exc)}).") from None

    def write_tokens(self, connection: str, tokens: TokenSet) -> None:
        self._write(self.token_file(connection), tokens.to_dict())

    def delete_tokens(self, connection: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.token_file(connection).unlink()

    def rename_tokens(self, old: str, new: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.token_file(old), self.token_file(new))
