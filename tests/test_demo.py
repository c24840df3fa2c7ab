"""`allegro-conn demo`: the whole path against a built-in emulator, leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import allegro_conn_cmd


def test_demo_runs_with_no_settings_and_leaves_no_config_behind(tmp_path: Path) -> None:
    """Also behind an HTTP proxy (set, and dead here): the demo's traffic stays on loopback."""
    home = tmp_path / "home"
    xdg = tmp_path / "xdg-config"
    temp = tmp_path / "tmp"
    for directory in (home, xdg, temp):
        directory.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_CONN_")}
    env.update(
        {"HOME": str(home), "XDG_CONFIG_HOME": str(xdg), "TMPDIR": str(temp), "NO_COLOR": "1"}
    )
    env.pop("BROWSER", None)
    dead_proxy = "http://127.0.0.1:9"
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        env[var] = dead_proxy
    for var in ("no_proxy", "NO_PROXY"):
        env.pop(var, None)
    proc = subprocess.run(
        [*allegro_conn_cmd(), "demo"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # the demo narrates on stderr
    for step in ("client add demo", "create shop", "test shop", "token shop"):
        assert f"$ allegro-conn {step}" in proc.stderr
    assert "Connected 'shop'" in proc.stderr
    assert "Demo finished: every step worked" in proc.stderr
    assert "demo-cli-secret" not in proc.stderr  # the client secret went over stdin only
    # nothing in the user's config dir, nor in the temporary directory used on the way
    assert list(home.rglob("*")) == []
    assert list(xdg.rglob("*")) == []
    assert list(temp.iterdir()) == []
