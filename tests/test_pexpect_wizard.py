"""The real `allegro-conn create` in a pseudo-terminal, driven with the keys a person presses.

prompt_toolkit asks the terminal where the cursor is (ESC [6n) and waits up to a second for
the answer at every prompt; `Terminal.expect` answers like a real terminal does, so the
whole wizard runs in a few seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from allegro_conn.emulator import Emulator
from tests.conftest import Cli, allegro_conn_cmd
from tests.helpers_flows import (
    APP_NAME,
    SECRET,
    USER_ID,
    USER_LOGIN,
    browser_script,
    emu_fixture,  # noqa: F401 (the emu fixture)
    listed,
    nothing_saved,
    redirect_uri,
    subprocess_env,
)

DOWN = "\x1b[B"
ENTER = "\r"
SPACE = " "
CTRL_C = "\x03"
CTRL_U = "\x15"  # clears a prefilled answer (unix-line-discard)
CPR_REQUEST = "\x1b\\[6n"


class Terminal:
    """A spawned allegro-conn in a 40x120 pseudo-terminal."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        cmd = allegro_conn_cmd()
        self.child = pexpect.spawn(
            cmd[0],
            [*cmd[1:], *args],
            env=env,
            dimensions=(40, 120),
            timeout=10,
            encoding="utf-8",
        )
        self.seen: list[str] = []

    def expect(self, pattern: str | type[pexpect.EOF]) -> None:
        """Wait for `pattern`, answering cursor-position requests on the way."""
        while True:
            index = self.child.expect([pattern, CPR_REQUEST])
            self.seen.append(str(self.child.before) + str(self.child.after))
            if index == 0:
                return
            self.child.send("\x1b[1;1R")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.child.send(key)
            time.sleep(0.05)  # one key at a time, as typed

    def answer(self, prompt: str, *keys: str) -> None:
        self.expect(prompt)
        self.keys(*keys)

    def finish(self) -> int:
        self.expect(pexpect.EOF)
        self.child.close()
        status = self.child.exitstatus
        assert status is not None, self.transcript
        return int(status)

    @property
    def transcript(self) -> str:
        return "".join(self.seen)

    def kill(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    spawned: list[Terminal] = []
    yield spawned
    for term in spawned:
        term.kill()


def tty_env(emu: Emulator, config_dir: Path, tmp_path: Path) -> dict[str, str]:
    env = subprocess_env(emu, config_dir, BROWSER=str(browser_script(tmp_path)), TERM="xterm")
    env.pop("NO_COLOR", None)  # colours and the spinner, as on a real terminal
    return env


def test_whole_wizard_with_arrow_keys_space_and_enter(
    cli: Cli,
    emu: Emulator,
    config_dir: Path,
    tmp_path: Path,
    terminals: list[Terminal],
) -> None:
    uri = redirect_uri()
    emu.add_client("typed-client-id", SECRET, redirect_uris=[uri], app_name=APP_NAME)
    term = Terminal(tty_env(emu, config_dir, tmp_path), "create")
    terminals.append(term)

    term.answer("Connection name", "a/b", ENTER)
    term.answer("cannot contain '/'", CTRL_U, "shop", ENTER)  # asked again, with the reason
    term.answer("Environment", DOWN, ENTER)  # Production, Sandbox
    term.answer("Add a new OAuth client", ENTER)  # the only choice for sandbox yet
    term.answer("Client name", "web", ENTER)
    term.answer("Application type", ENTER)  # browser, the default
    term.answer("Redirect URI", CTRL_U, uri, ENTER)
    term.answer("Application name as registered", CTRL_U, APP_NAME, ENTER)
    term.answer("Client ID", "typed-client-id", ENTER)
    term.answer("Client secret", SECRET, ENTER)
    term.answer("Add all scopes", DOWN, ENTER)  # > Choose scopes
    # the first two scopes: profile:read and profile:write (headings are skipped)
    term.answer("Choose scopes", ENTER)  # nothing ticked yet: refused
    term.answer("Pick at least one", SPACE, DOWN, SPACE, ENTER)
    term.answer("Authorize this connection now", "y")
    term.expect("Connected 'shop'")
    status = term.finish()

    assert status == 0, term.transcript
    assert "paste exactly " + uri in term.transcript  # the registration guide
    assert SECRET not in term.transcript  # the hidden prompt did not echo it
    (conn,) = listed(cli)
    assert conn["name"] == "shop" and conn["client"] == "web"
    assert conn["environment"] == "sandbox"
    assert conn["scopes"] == ["allegro:api:profile:read", "allegro:api:profile:write"]
    assert conn["account"] == {"id": USER_ID, "login": USER_LOGIN}


def test_ctrl_c_at_a_prompt_exits_130_and_saves_nothing(
    cli: Cli,
    emu: Emulator,
    config_dir: Path,
    tmp_path: Path,
    terminals: list[Terminal],
) -> None:
    term = Terminal(tty_env(emu, config_dir, tmp_path), "create")
    terminals.append(term)
    term.answer("Connection name", "shop", ENTER)
    term.answer("Environment", CTRL_C)
    status = term.finish()
    assert status == 130, term.transcript
    assert "Cancelled" in term.transcript
    assert "Traceback" not in term.transcript
    assert nothing_saved(config_dir)
    assert listed(cli) == []
    assert emu.requests == []


def test_ctrl_c_while_waiting_for_the_browser_exits_130_and_saves_nothing(
    cli: Cli,
    emu: Emulator,
    config_dir: Path,
    tmp_path: Path,
    terminals: list[Terminal],
) -> None:
    """The browser never comes back; Ctrl-C during the wait cancels cleanly."""
    uri = redirect_uri()
    emu.add_client("web-client-id", SECRET, redirect_uris=[uri], app_name=APP_NAME)
    add = cli(
        "client", "add", "web", "--env", "sandbox", "--client-id", "web-client-id",
        "--client-secret-stdin", "--redirect-uri", uri, "--app-name", APP_NAME,
        input=SECRET + "\n",
    )  # fmt: skip
    assert add.exit_code == 0, add.stderr
    env = tty_env(emu, config_dir, tmp_path)
    env["BROWSER"] = "true"  # "opens" nothing
    term = Terminal(env, "create", "shop", "--client", "web", "--all-scopes")
    terminals.append(term)
    term.answer("Authorize this connection now", "y")
    term.expect("Waiting for consent")
    term.keys(CTRL_C)
    status = term.finish()
    assert status == 130, term.transcript
    assert "Traceback" not in term.transcript
    assert nothing_saved(config_dir)
