"""Shell completion through typer's protocol: connection and client names, scopes, choices.

The shells call `allegro-conn` back with `_ALLEGRO_CONN_COMPLETE=complete_bash` (and
COMP_WORDS/COMP_CWORD), `complete_zsh` or `complete_fish` (and _TYPER_COMPLETE_ARGS).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from allegro_conn.models import Connection, OAuthClient
from allegro_conn.store import Store
from tests.conftest import allegro_conn_cmd

REPO = Path(__file__).resolve().parents[1]
CONNECTIONS = ["shop", "shop-pl", "warehouse"]
CLIENTS = ["dev", "web"]
OFFERS_SCOPES = ["allegro:api:sale:offers:read", "allegro:api:sale:offers:write"]


def seed(root: Path, connections: list[str] = CONNECTIONS) -> None:
    store = Store(root)
    store.save_clients(
        {name: OAuthClient(name, "sandbox", f"id-{name}", "secret") for name in CLIENTS}
    )
    store.save_connections({name: Connection(name, "sandbox", "web") for name in connections})


@pytest.fixture(autouse=True)
def stored(config_dir: Path) -> None:
    seed(config_dir)


def complete(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    line: str,
    shell: str = "bash",
) -> list[str]:
    """What the app offers for `line` (cursor at its end), asked in-process like `shell` asks."""
    from allegro_conn.cli import run

    monkeypatch.setenv("_ALLEGRO_CONN_COMPLETE", f"complete_{shell}")
    if shell == "bash":
        # bash splits words at ':' too (COMP_WORDBREAKS); the script joins them with newlines
        words = re.findall(r"[^\s:]+|:", line) + ([""] if line.endswith(" ") else [])
        monkeypatch.setenv("COMP_WORDS", "\n".join(words))
        monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    else:
        monkeypatch.setenv("_TYPER_COMPLETE_ARGS", line)
        monkeypatch.setenv("_TYPER_COMPLETE_FISH_ACTION", "get-args")
    capsys.readouterr()
    assert run([]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return [line for line in out.out.splitlines() if line]  # "nothing" is one empty line


# -- names where a name is expected ------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "allegro-conn token ",
        "allegro-conn show ",
        "allegro-conn delete ",
        "allegro-conn rename ",
        "allegro-conn reauth ",
        "allegro-conn refresh ",
        "allegro-conn default ",
        "allegro-conn test ",
        "allegro-conn env ",
        "allegro-conn exec ",
        "allegro-conn api /me --conn ",
        "allegro-conn token --min-ttl 60 ",
    ],
)
def test_connection_names_are_offered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    assert complete(monkeypatch, capsys, line) == CONNECTIONS


def test_connection_names_by_prefix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert complete(monkeypatch, capsys, "allegro-conn token sh") == ["shop", "shop-pl"]
    assert complete(monkeypatch, capsys, "allegro-conn token shop-") == ["shop-pl"]
    assert complete(monkeypatch, capsys, "allegro-conn token x") == []


def test_test_offers_the_connections_not_yet_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert complete(monkeypatch, capsys, "allegro-conn test shop ") == ["shop-pl", "warehouse"]


def test_a_new_name_is_not_completed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert complete(monkeypatch, capsys, "allegro-conn rename shop ") == []


def test_names_come_from_the_config_dir_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    seed(other, ["elsewhere"])
    line = f"allegro-conn --config-dir {other} token "
    assert complete(monkeypatch, capsys, line) == ["elsewhere"]


def test_an_unreadable_store_offers_nothing_and_never_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    (config_dir / "connections.json").write_text("{not json")
    assert complete(monkeypatch, capsys, "allegro-conn token ") == []


@pytest.mark.parametrize(
    "line",
    [
        "allegro-conn client show ",
        "allegro-conn client edit ",
        "allegro-conn client delete ",
        "allegro-conn create --client ",
        "allegro-conn create shop2 --env sandbox --client ",
    ],
)
def test_client_names_are_offered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    assert complete(monkeypatch, capsys, line) == CLIENTS


# -- scopes and fixed choices --------------------------------------------------------------------


def test_every_scope_is_offered_for_scope(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from allegro_conn.scopes import SCOPES

    offered = complete(monkeypatch, capsys, "allegro-conn create --scope ")
    assert offered == [s.name for s in SCOPES]
    assert complete(monkeypatch, capsys, "allegro-conn reauth shop --scope ") == offered


def test_scopes_complete_across_bash_colon_splitting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # bash replaces only what follows the last ':', so that is what comes back
    line = "allegro-conn create --scope allegro:api:sale:offers:"
    assert complete(monkeypatch, capsys, line) == [":read", ":write"]
    line = "allegro-conn create --scope allegro:api:sale:offers:r"
    assert complete(monkeypatch, capsys, line) == ["read"]
    line = "allegro-conn create --scope allegro:api:sale:o"
    assert complete(monkeypatch, capsys, line) == ["offers:read", "offers:write"]
    line = "allegro-conn create x --scope allegro:api:bids --scope allegro:api:sale:o"
    assert complete(monkeypatch, capsys, line) == ["offers:read", "offers:write"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("allegro-conn create --env ", ["production", "sandbox"]),
        ("allegro-conn client add --env s", ["sandbox"]),
        ("allegro-conn client add x --type ", ["browser", "device"]),
        ("allegro-conn create --flow ", ["browser", "device", "paste"]),
        ("allegro-conn env shop --format ", ["sh", "fish", "json", "dotenv"]),
        ("allegro-conn api /me -X P", ["POST", "PUT", "PATCH"]),
    ],
)
def test_fixed_choices(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    line: str,
    expected: list[str],
) -> None:
    assert complete(monkeypatch, capsys, line) == expected


def test_commands_are_offered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    offered = complete(monkeypatch, capsys, "allegro-conn ")
    for command in ("api", "env", "exec", "token", "client", "create", "list"):
        assert command in offered
    assert complete(monkeypatch, capsys, "allegro-conn client ") == [
        "add",
        "list",
        "show",
        "edit",
        "delete",
    ]


# -- zsh and fish ------------------------------------------------------------------------------


def test_zsh_protocol(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    offered = "\n".join(complete(monkeypatch, capsys, "allegro-conn token ", shell="zsh"))
    assert all(f'"{name}"' in offered for name in CONNECTIONS)
    scopes = "\n".join(
        complete(monkeypatch, capsys, "allegro-conn create --scope allegro:api:sale:o", "zsh")
    )
    assert '"allegro\\\\:api\\\\:sale\\\\:offers\\\\:read":"' in scopes  # zsh escapes ':'


def test_fish_protocol(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert complete(monkeypatch, capsys, "allegro-conn token ", shell="fish") == CONNECTIONS
    offered = complete(
        monkeypatch, capsys, "allegro-conn create --scope allegro:api:sale:o", "fish"
    )
    assert [line.split("\t")[0] for line in offered] == OFFERS_SCOPES
    assert all("\t" in line for line in offered)  # with the scope's description


# -- the real program, the real scripts ----------------------------------------------------------


def real_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(allegro_conn_cmd()[0]).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def test_the_real_program_answers_the_bash_protocol() -> None:
    proc = subprocess.run(
        allegro_conn_cmd(),
        env=real_env(
            COMP_WORDS="allegro-conn token ", COMP_CWORD="2", _ALLEGRO_CONN_COMPLETE="complete_bash"
        ),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == CONNECTIONS
    assert proc.stderr == ""


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_committed_bash_script_completes_in_bash() -> None:
    script = REPO / "completions" / "allegro-conn.bash"
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(allegro-conn token sh); COMP_CWORD=2\n"
        "_allegro_conn_completion allegro-conn\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        "COMP_WORDS=(allegro-conn create --scope allegro : api : sale : offers : r); "
        "COMP_CWORD=11\n"
        "_allegro_conn_completion allegro-conn\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", probe],
        env=real_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["shop", "shop-pl", "read"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_tab_in_an_interactive_bash(config_dir: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = real_env(PS1="$ ", TERM="dumb", INPUTRC="/dev/null", HISTFILE="/dev/null")
    bash = pexpect.spawn("bash", ["--norc", "--noprofile"], env=env, encoding="utf-8", timeout=20)
    try:
        bash.sendline(f"source {REPO / 'completions' / 'allegro-conn.bash'}")
        for typed, expected in [
            ("allegro-conn token wa", "allegro-conn token warehouse "),
            (
                "allegro-conn create --scope allegro:api:sale:offers:w",
                "allegro-conn create --scope allegro:api:sale:offers:write ",
            ),
        ]:
            # Tab, then turn the line into: printf '%s%s\n' XY "<the completed line>"
            bash.send(typed + "\t")
            bash.send("\x01printf '%s%s\\n' XY \"\x05\"\n")
            bash.expect(r"XYallegro-conn([^\r\n]*)\r\n")
            assert "allegro-conn" + bash.match.group(1) == expected
    finally:
        bash.close(force=True)


def test_show_and_install_completion_keep_working(tmp_path: Path) -> None:
    env = real_env(HOME=str(tmp_path), _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    committed = (REPO / "completions" / "allegro-conn.bash").read_text().splitlines()[1:]
    shown = subprocess.run(
        [*allegro_conn_cmd(), "--show-completion", "bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == committed
    installed = subprocess.run(
        [*allegro_conn_cmd(), "--install-completion", "bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "allegro-conn.sh"
    assert script.read_text().splitlines() == committed
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
