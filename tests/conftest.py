"""Shared fixtures: every test gets its own config directory and a fresh Runtime."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from allegro_conn.runtime import Runtime


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ALLEGRO_CONN_CONFIG_DIR at a temporary directory for every test."""
    path = tmp_path / "config"
    monkeypatch.setenv("ALLEGRO_CONN_CONFIG_DIR", str(path))
    for var in ("ALLEGRO_CONN_AUTH_URL", "ALLEGRO_CONN_API_URL", "ALLEGRO_CONN_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return path


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


class Cli:
    """Runs the app in-process with a Runtime of fakes; stdout and stderr kept apart."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir

    def __call__(
        self,
        *args: str,
        input: str = "",
        env: dict[str, str] | None = None,
        **runtime: Any,
    ) -> Result:
        from allegro_conn.cli import app

        out, err = io.StringIO(), io.StringIO()
        environ = dict(os.environ)
        environ.update(env or {})
        rt = Runtime(
            stdin=io.StringIO(input),
            stdout=out,
            stderr=err,
            env=environ,
            stdin_tty=runtime.pop("stdin_tty", False),
            stdout_tty=runtime.pop("stdout_tty", False),
            stderr_tty=runtime.pop("stderr_tty", False),
            **runtime,
        )
        # typer's own usage errors and --version write to sys.stderr / sys.stdout
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                app(args=list(args), obj=rt, prog_name="allegro-conn", standalone_mode=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(config_dir: Path) -> Iterator[Cli]:
    yield Cli(config_dir)


def allegro_conn_cmd() -> list[str]:
    """The installed console script, for tests that need a real process."""
    exe = Path(sys.executable).with_name("allegro-conn")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "allegro_conn"]


def assert_usage_error(result: Result, *needles: str) -> None:
    """Exit 2, nothing on stdout, one `error:` line on stderr naming each needle."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    for needle in needles:
        assert needle in result.stderr


def assert_failed_naming(result: Result, path: Path) -> None:
    """Exit 1 naming the file, with no traceback and nothing on stdout."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert str(path) in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr
    assert result.stdout == ""
