"""`env` and `exec`: a valid token for shells and programs, quoted exactly; signals passed on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from allegro_conn import shellquote
from tests.conftest import allegro_conn_cmd

if TYPE_CHECKING:
    from tests.helpers_scripting import Connected

pytest_plugins = ["tests.helpers_scripting"]  # the `connected` fixtures

NASTY = "tok'en\"with $HOME `id` ;|&<>*?~#!{}()[] \\n\\ back\\slash\nnew line\ttab 'end"
VARS = ("ALLEGRO_ACCESS_TOKEN", "ALLEGRO_API_URL", "ALLEGRO_CONNECTION")


def seed_token(connected: Connected, token: str, name: str = "shop") -> None:
    """Store `token` as the connection's access token, valid for a day (no refresh)."""
    store = connected.store
    tokens = store.read_tokens(name)
    assert tokens is not None
    store.write_tokens(name, replace(tokens, access_token=token, expires_at=time.time() + 86400))


def read_back_with_sh(shell: str, script: str) -> list[str]:
    """What `eval "$(allegro-conn env ...)"` leaves in the variables, read by `shell`."""
    probe = 'eval "$ASSIGNMENTS"; printf "%s\\0" "$ALLEGRO_ACCESS_TOKEN" "$ALLEGRO_API_URL" '
    probe += '"$ALLEGRO_CONNECTION"'
    proc = subprocess.run(
        [shell, "-c", probe],
        env={"PATH": os.environ.get("PATH", os.defpath), "ASSIGNMENTS": script, "HOME": "/x"},
        capture_output=True,
        timeout=10,
        check=True,
    )
    return proc.stdout.decode("utf-8").split("\0")[:3]


def parse_dotenv(text: str) -> dict[str, str]:
    """A reader with python-dotenv's quoting rules: '...' literal; "..." with escapes."""
    values = {}
    for line in text.splitlines():
        name, _, raw = line.partition("=")
        if raw.startswith("'"):
            assert raw.endswith("'") and "'" not in raw[1:-1]
            values[name] = raw[1:-1]
        else:
            assert raw.startswith('"') and raw.endswith('"')
            escapes = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
            out, chars = [], iter(raw[1:-1])
            for ch in chars:
                out.append(escapes[next(chars)] if ch == "\\" else ch)
            values[name] = "".join(out)
    return values


# -- env ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["sh", "bash", "dash"])
def test_env_sh_reads_back_exactly_in_posix_shells(connected: Connected, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    seed_token(connected, NASTY)
    assert connected.run("rename", "shop", 'it\'s $HOME "shop"').exit_code == 0
    result = connected.run("env", 'it\'s $HOME "shop"')
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("export ALLEGRO_ACCESS_TOKEN=")
    assert read_back_with_sh(shell, result.stdout) == [
        NASTY,
        connected.emu.url,
        'it\'s $HOME "shop"',
    ]
    assert result.stderr == ""


def test_env_fish_reads_back_exactly(connected: Connected) -> None:
    seed_token(connected, NASTY)
    result = connected.run("env", "shop", "--format", "fish")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3  # one line per variable, even with a newline in the value
    assert all(line.startswith("set -gx ALLEGRO_") and line.endswith(";") for line in lines)
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed (the format was checked, not run)")
    probe = 'printf "%s\\0" "$ALLEGRO_ACCESS_TOKEN" "$ALLEGRO_API_URL" "$ALLEGRO_CONNECTION"'
    proc = subprocess.run(
        [fish, "--no-config", "-c", f"printf '%s' $ASSIGNMENTS | source; {probe}"],
        env={**os.environ, "ASSIGNMENTS": result.stdout},
        capture_output=True,
        timeout=10,
        check=True,
    )
    assert proc.stdout.decode("utf-8").split("\0")[:3] == [NASTY, connected.emu.url, "shop"]


def test_fish_quote_escapes_only_what_fish_escapes() -> None:
    assert shellquote.fish_quote("a'b\\c") == "'a\\'b\\\\c'"
    assert shellquote.fish_quote("x\ny") == "'x'\\n'y'"
    assert shellquote.fish_quote("$HOME (ls) *") == "'$HOME (ls) *'"


def test_env_json(connected: Connected) -> None:
    seed_token(connected, NASTY)
    result = connected.run("env", "shop", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ALLEGRO_ACCESS_TOKEN": NASTY,
        "ALLEGRO_API_URL": connected.emu.url,
        "ALLEGRO_CONNECTION": "shop",
    }


def test_env_dotenv(connected: Connected) -> None:
    seed_token(connected, NASTY)
    result = connected.run("env", "shop", "--format", "dotenv")
    assert result.exit_code == 0, result.stderr
    assert parse_dotenv(result.stdout) == {
        "ALLEGRO_ACCESS_TOKEN": NASTY,
        "ALLEGRO_API_URL": connected.emu.url,
        "ALLEGRO_CONNECTION": "shop",
    }
    # an ordinary token stays single-quoted: read literally by every dotenv dialect
    seed_token(connected, "eyJ.abc-_.xyz")
    result = connected.run("env", "shop", "--format", "dotenv")
    assert "ALLEGRO_ACCESS_TOKEN='eyJ.abc-_.xyz'\n" in result.stdout


def test_env_gives_the_stored_token_and_the_rest_base(connected: Connected) -> None:
    result = connected.run("env", "shop")
    assert result.exit_code == 0, result.stderr
    assert read_back_with_sh("sh", result.stdout) == [
        connected.access_token(),
        connected.emu.url,
        "shop",
    ]
    assert connected.emu.requests == []  # valid for long enough: nothing was sent


def test_env_without_the_override_gives_allegros_rest_base(connected: Connected) -> None:
    seed_token(connected, "t")
    result = connected.run("env", "shop", "-f", "json", env={"ALLEGRO_CONN_API_URL": ""})
    assert (
        json.loads(result.stdout)["ALLEGRO_API_URL"] == "https://api.allegro.pl.allegrosandbox.pl"
    )


def test_env_refreshes_a_token_that_expires_within_min_ttl(fresh_connected: Connected) -> None:
    before = fresh_connected.access_token()
    # an hour later the 12-hour token has 11 hours left: less than the 11.5 asked for
    later = time.time() + 3600
    result = fresh_connected.run(
        "env", "shop", "--format", "json", "--min-ttl", str(41400), clock=lambda: later
    )
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    token = json.loads(result.stdout)["ALLEGRO_ACCESS_TOKEN"]
    assert token != before
    assert token == fresh_connected.access_token()
    assert fresh_connected.emu.count(grant_type="refresh_token") == 1


def test_env_hints_how_to_load_on_a_terminal_unless_quiet(connected: Connected) -> None:
    result = connected.run("env", "shop", stdout_tty=True)
    assert 'eval "$(allegro-conn env shop)"' in result.stderr
    result = connected.run("--quiet", "env", "shop", stdout_tty=True)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.count("export ") == 3


@pytest.mark.parametrize("args", [["env", "shop", "--format", "csh"], ["env", "nope"], ["env"]])
def test_env_usage_errors(connected: Connected, args: list[str]) -> None:
    result = connected.run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_env_of_a_connection_needing_consent_exits_4(connected: Connected) -> None:
    tokens = connected.store.read_tokens("shop")
    assert tokens is not None
    connected.store.write_tokens("shop", replace(tokens, needs_reauth="refresh token rejected"))
    result = connected.run("env", "shop")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "reauth shop" in result.stderr


# -- exec, in process ------------------------------------------------------------------------------


def test_exec_exits_with_the_commands_exit_code(connected: Connected) -> None:
    result = connected.run("exec", "shop", "--", "sh", "-c", "exit 7")
    assert result.exit_code == 7
    assert connected.run("exec", "shop", "--", "true").exit_code == 0


def test_exec_gives_the_command_the_variables(
    connected: Connected, capfd: pytest.CaptureFixture[str]
) -> None:
    script = 'echo "$ALLEGRO_API_URL"; echo "$ALLEGRO_CONNECTION"; echo "$ALLEGRO_ACCESS_TOKEN"'
    result = connected.run("exec", "shop", "--", "sh", "-c", script)
    assert result.exit_code == 0, result.stderr
    out = capfd.readouterr().out
    assert out.splitlines() == [connected.emu.url, "shop", connected.access_token()]


def test_exec_keeps_the_rest_of_the_environment(
    connected: Connected, capfd: pytest.CaptureFixture[str]
) -> None:
    result = connected.run(
        "exec", "shop", "--", "sh", "-c", 'echo "$MY_SETTING"', env={"MY_SETTING": "kept"}
    )
    assert result.exit_code == 0
    assert capfd.readouterr().out == "kept\n"


def test_exec_passes_options_after_the_command_to_it(
    connected: Connected, capfd: pytest.CaptureFixture[str]
) -> None:
    result = connected.run("exec", "shop", "sh", "-c", "echo -n $ALLEGRO_CONNECTION; exit 4")
    assert result.exit_code == 4
    assert capfd.readouterr().out == "shop"


@pytest.mark.parametrize(
    "command", [[], ["--"], ["--", "no-such-command-xyz"], ["--", "/nonexistent/bin/tool"]]
)
def test_exec_without_a_runnable_command_is_a_usage_error(
    connected: Connected, command: list[str]
) -> None:
    result = connected.run("exec", "shop", *command)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    if command[1:]:
        assert command[1] in result.stderr
        assert "not found" in result.stderr
    else:
        assert "exec NAME -- CMD" in result.stderr
    connected.assert_no_secret(result.stdout, result.stderr)


def test_exec_of_an_unknown_connection_runs_nothing(connected: Connected, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = connected.run("exec", "nope", "--", "touch", str(marker))
    assert result.exit_code == 2
    assert not marker.exists()


# -- exec, as a real process -------------------------------------------------------------------


def spawn(connected: Connected, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*allegro_conn_cmd(), *args],
        env={**os.environ, **connected.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


CHILD = """
import signal, sys, time
def handle(signum, frame):
    print("child got", signal.Signals(signum).name, flush=True)
    sys.exit(3)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, handle)
print("ready", flush=True)
time.sleep(20)
sys.exit(9)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_exec_forwards_signals_and_exits_with_the_childs_code(
    connected: Connected, sig: signal.Signals
) -> None:
    proc = spawn(connected, "exec", "shop", "--", sys.executable, "-c", CHILD)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert out == f"child got {sig.name}\n"
    assert proc.returncode == 3, err
    assert "Traceback" not in err


def test_exec_exits_128_plus_n_when_a_signal_ends_the_command(connected: Connected) -> None:
    proc = spawn(connected, "exec", "shop", "--", "sh", "-c", "kill -TERM $$")
    proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_exec_never_puts_the_token_in_a_command_line(connected: Connected) -> None:
    script = 'tr "\\0" " " < /proc/$PPID/cmdline; echo; tr "\\0" " " < /proc/$$/cmdline; echo'
    proc = spawn(connected, "exec", "shop", "--", "sh", "-c", script)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "exec shop" in out
    assert connected.access_token() not in out + err


def test_a_long_token_is_printed_whole_on_one_line_even_on_a_terminal(
    connected: Connected,
) -> None:
    long_token = "eyJ" + "A" * 3000
    seed_token(connected, long_token)
    for tty in (False, True):
        result = connected.run("token", "shop", stdout_tty=tty, env={"COLUMNS": "40"})
        assert result.stdout == long_token + "\n"
        result = connected.run("env", "shop", "-f", "json", stdout_tty=tty, env={"COLUMNS": "40"})
        assert json.loads(result.stdout)["ALLEGRO_ACCESS_TOKEN"] == long_token


def test_a_min_ttl_longer_than_any_token_lives_is_halved_with_a_warning(
    fresh_connected: Connected,
) -> None:
    before = fresh_connected.access_token()
    result = fresh_connected.run("env", "shop", "--format", "json", "--min-ttl", "50000")
    assert result.exit_code == 0, result.stderr
    assert "warning: --min-ttl 50000" in result.stderr
    # a fresh 12-hour token has more than half its life left: no refresh burnt
    assert json.loads(result.stdout)["ALLEGRO_ACCESS_TOKEN"] == before
    assert fresh_connected.emu.count(grant_type="refresh_token") == 0
