"""`allegro-conn client add|list|show|edit|delete`, as a user sees them."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from allegro_conn.models import Connection, TokenSet
from allegro_conn.runtime import Runtime
from allegro_conn.store import Store
from tests.conftest import Cli, Result, allegro_conn_cmd, assert_failed_naming, assert_usage_error
from tests.fakes import DEFAULT, ScriptedPrompter

SECRET = "s3cret-Client-Secret-0xC0FFEE"
VIEW_KEYS = {"name", "environment", "client_id", "type", "redirect_uri", "app_name", "used_by"}
REDIRECT = "http://localhost:8976/callback"
ADD_SHOPAPP = (
    "client",
    "add",
    "shopapp",
    "--env",
    "sandbox",
    "--client-id",
    "X",
    "--client-secret-stdin",
    "--type",
    "browser",
    "--redirect-uri",
    REDIRECT,
    "--app-name",
    "Shop App",
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def add(cli: Cli, name: str = "shopapp", *extra: str, env: str = "sandbox") -> Result:
    """`client add NAME --env ENV --client-id id-NAME` with the secret on stdin."""
    args = ["client", "add", name, "--env", env, "--client-id", f"id-{name}"]
    args += ["--client-secret-stdin", *extra]
    result = cli(*args, input=f"{SECRET}-{name}\n")
    return result


def stored(config_dir: Path) -> dict[str, Any]:
    """clients.json as written on disk."""
    data: dict[str, Any] = json.loads((config_dir / "clients.json").read_text())["clients"]
    return data


def use_client(config_dir: Path, client: str, *connections: str, env: str = "sandbox") -> None:
    """Seed connections that use `client`, with tokens, straight through the store."""
    store = Store(config_dir)
    conns = store.load_connections()
    for name in connections:
        conns[name] = Connection(name=name, environment=env, client=client)
        store.write_tokens(name, TokenSet("AT-" + name, "RT-" + name, 2_000_000_000.0))
    store.save_connections(conns)


def assert_no_secret(result: Result, secret: str = SECRET) -> None:
    assert secret not in result.stdout
    assert secret not in result.stderr


def run_real(
    args: list[str], config_dir: Path, input: str = "", **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ALLEGRO_CONN_CONFIG_DIR=str(config_dir))
    return subprocess.run(
        [*allegro_conn_cmd(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
        **kwargs,
    )


# -- add, list, show -----------------------------------------------------------------------------


def test_add_stores_the_client_and_prints_only_on_stderr(cli: Cli, config_dir: Path) -> None:
    result = cli(*ADD_SHOPAPP, input=SECRET + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "shopapp" in result.stderr
    assert_no_secret(result)
    assert stored(config_dir)["shopapp"] == {
        "name": "shopapp",
        "environment": "sandbox",
        "client_id": "X",
        "client_secret": SECRET,
        "type": "browser",
        "redirect_uri": REDIRECT,
        "app_name": "Shop App",
    }


def test_list_json_carries_exactly_the_contract_keys_and_no_secret(cli: Cli) -> None:
    cli(*ADD_SHOPAPP, input=SECRET + "\n")
    result = cli("client", "list", "--json")
    assert result.exit_code == 0
    assert_no_secret(result)
    assert result.stderr == ""
    assert json.loads(result.stdout) == [
        {
            "name": "shopapp",
            "environment": "sandbox",
            "client_id": "X",
            "type": "browser",
            "redirect_uri": REDIRECT,
            "app_name": "Shop App",
            "used_by": [],
        }
    ]


def test_show_json_carries_exactly_the_contract_keys_and_no_secret(cli: Cli) -> None:
    cli(*ADD_SHOPAPP, input=SECRET + "\n")
    result = cli("client", "show", "shopapp", "--json")
    assert result.exit_code == 0
    assert_no_secret(result)
    view = json.loads(result.stdout)
    assert set(view) == VIEW_KEYS
    assert view["client_id"] == "X" and view["app_name"] == "Shop App"


def test_show_plain_masks_the_secret(cli: Cli) -> None:
    cli(*ADD_SHOPAPP, input=SECRET + "\n")
    result = cli("client", "show", "shopapp")
    assert result.exit_code == 0
    assert_no_secret(result)
    assert "********" in result.stdout
    assert REDIRECT in result.stdout and "Shop App" in result.stdout


def test_show_finds_the_client_ignoring_case(cli: Cli) -> None:
    add(cli, "shopapp")
    result = cli("client", "show", "SHOPAPP", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == "shopapp"


def test_list_piped_is_tab_separated_without_header_sorted_by_name(cli: Cli) -> None:
    add(cli, "zeta", "--type", "device")
    add(cli, "alpha")
    result = cli("client", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["alpha", "zeta"]
    assert lines[0].split("\t")[:4] == ["alpha", "sandbox", "browser", "id-alpha"]
    assert "NAME" not in result.stdout
    assert SECRET not in result.stdout


def test_list_json_of_no_clients_is_an_empty_array(cli: Cli) -> None:
    result = cli("client", "list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_list_of_no_clients_prints_a_hint_on_stderr_only(cli: Cli) -> None:
    result = cli("client", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "client add" in result.stderr


def test_list_and_show_name_the_connections_using_a_client(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    use_client(config_dir, "shopapp", "shop-b", "shop-a")
    listed = json.loads(cli("client", "list", "--json").stdout)
    assert listed[0]["used_by"] == ["shop-a", "shop-b"]
    shown = json.loads(cli("client", "show", "shopapp", "--json").stdout)
    assert shown["used_by"] == ["shop-a", "shop-b"]


def test_add_without_redirect_uri_uses_the_default(cli: Cli, config_dir: Path) -> None:
    assert add(cli, "shopapp").exit_code == 0
    assert stored(config_dir)["shopapp"]["redirect_uri"] == REDIRECT
    assert stored(config_dir)["shopapp"]["app_name"] == "shopapp"


def test_add_device_client_has_no_redirect_uri(cli: Cli, config_dir: Path) -> None:
    result = add(cli, "dev", "--type", "device")
    assert result.exit_code == 0, result.stderr
    assert stored(config_dir)["dev"]["type"] == "device"
    assert stored(config_dir)["dev"]["redirect_uri"] is None
    assert "No redirect URI is needed" in result.stderr


def test_add_non_interactive_prints_the_registration_guide_on_stderr(cli: Cli) -> None:
    result = cli(*ADD_SHOPAPP, input=SECRET + "\n")
    assert "https://apps.developer.allegro.pl.allegrosandbox.pl/" in result.stderr
    assert f"paste exactly {REDIRECT}" in result.stderr
    assert result.stdout == ""


# -- files and modes -----------------------------------------------------------------------------


def test_add_in_a_real_process_under_umask_000_writes_0600_in_0700(
    config_dir: Path,
) -> None:
    proc = run_real(
        list(ADD_SHOPAPP),
        config_dir,
        input=SECRET + "\n",
        preexec_fn=lambda: os.umask(0),
    )
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert mode(config_dir) == 0o700
    assert mode(config_dir / "clients.json") == 0o600
    assert mode(config_dir / "tokens") == 0o700
    for path in config_dir.rglob("*"):
        assert mode(path) & 0o077 == 0, path


def test_add_tightens_a_world_readable_dir_and_file(cli: Cli, config_dir: Path) -> None:
    assert add(cli, "first").exit_code == 0
    config_dir.chmod(0o755)
    (config_dir / "clients.json").chmod(0o644)
    assert add(cli, "second").exit_code == 0
    assert mode(config_dir) == 0o700
    assert mode(config_dir / "clients.json") == 0o600
    assert set(stored(config_dir)) == {"first", "second"}


def test_list_tightens_a_world_readable_clients_file(cli: Cli, config_dir: Path) -> None:
    add(cli, "first")
    (config_dir / "clients.json").chmod(0o644)
    assert cli("client", "list").exit_code == 0
    assert mode(config_dir / "clients.json") == 0o600


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("http://127.0.0.1:8976/callback", "127.0.0.0/8"),
        ("http://127.0.0.2:8976/callback", "127.0.0.0/8"),
        ("http://[::1]:8976/callback", "::1"),
        ("https://localhost:8976/callback", "http://"),
        ("http://example.com:8976/callback", "'example.com'"),
        ("http://192.168.1.10:8976/callback", "private"),
        ("http://localhost/callback", "port"),
        ("http://localhost:0/callback", "port"),
        ("http://localhost:8976/callback#top", "fragment"),
        ("localhost:8976/callback", "not an absolute"),
        ("http://localhost:99999/callback", "not a valid URL"),
    ],
)
def test_add_refuses_a_redirect_uri_allegro_would_reject(
    cli: Cli, config_dir: Path, uri: str, problem: str
) -> None:
    result = add(cli, "shopapp", "--redirect-uri", uri)
    assert_usage_error(result, problem, "--redirect-uri http://localhost:8976/callback")
    assert not (config_dir / "clients.json").exists()


@pytest.mark.parametrize("clash", ["shopapp", "ShopApp", "SHOPAPP"])
def test_add_refuses_a_duplicate_name_ignoring_case(cli: Cli, config_dir: Path, clash: str) -> None:
    add(cli, "shopapp")
    before = (config_dir / "clients.json").read_bytes()
    result = add(cli, clash)
    assert_usage_error(result, "'shopapp' already exists")
    assert (config_dir / "clients.json").read_bytes() == before


@pytest.mark.parametrize(
    "name", ["", "x" * 65, "a/b", "tab\there", "bell\x07", "csi\x9b2J", "del\x7f", " padded"]
)
def test_add_refuses_an_invalid_name(cli: Cli, config_dir: Path, name: str) -> None:
    assert_usage_error(add(cli, name), "name")
    assert not (config_dir / "clients.json").exists()


def test_add_accepts_a_64_character_name(cli: Cli, config_dir: Path) -> None:
    assert add(cli, "x" * 64).exit_code == 0
    assert list(stored(config_dir)) == ["x" * 64]


def test_a_blank_app_name_falls_back_to_the_local_name(cli: Cli, config_dir: Path) -> None:
    assert add(cli, "shopapp", "--app-name", "   ").exit_code == 0
    assert stored(config_dir)["shopapp"]["app_name"] == "shopapp"
    assert cli("client", "edit", "shopapp", "--app-name", " ").exit_code == 0
    assert stored(config_dir)["shopapp"]["app_name"] == "shopapp"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--app-name", "Shop\nApp"), ("--app-name", "Shop\x1b[31m"), ("--client-id", "X\r\nY")],
)
def test_add_refuses_control_characters_in_id_and_app_name(
    cli: Cli, config_dir: Path, flag: str, value: str
) -> None:
    assert_usage_error(add(cli, "shopapp", flag, value), "control characters", flag)
    assert not (config_dir / "clients.json").exists()


def test_add_strips_a_client_id_pasted_with_a_line_break(cli: Cli, config_dir: Path) -> None:
    assert add(cli, "shopapp", "--client-id", " X-1\n").exit_code == 0
    assert stored(config_dir)["shopapp"]["client_id"] == "X-1"


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [("--env", "staging", "Unknown environment"), ("--type", "server", "Unknown client type")],
)
def test_add_refuses_an_unknown_env_or_type(cli: Cli, flag: str, value: str, needle: str) -> None:
    result = cli(
        "client",
        "add",
        "shopapp",
        "--client-id",
        "X",
        "--client-secret-stdin",
        *(["--env", "sandbox"] if flag != "--env" else []),
        flag,
        value,
        input=SECRET + "\n",
    )
    assert_usage_error(result, needle)


def test_add_accepts_environment_aliases(cli: Cli, config_dir: Path) -> None:
    assert add(cli, "p", env="prod").exit_code == 0
    assert stored(config_dir)["p"]["environment"] == "production"


def test_add_without_a_terminal_names_the_missing_env_flag(cli: Cli) -> None:
    result = cli("client", "add", "x", "--client-id", "X", "--client-secret-stdin", input="s\n")
    assert_usage_error(result, "--env")


def test_add_without_a_terminal_names_the_missing_name(cli: Cli) -> None:
    result = cli("client", "add", "--env", "sandbox", "--client-id", "X")
    assert_usage_error(result, "NAME")


def test_add_without_any_secret_source_names_both(cli: Cli, config_dir: Path) -> None:
    result = cli("client", "add", "x", "--env", "sandbox", "--client-id", "X")
    assert_usage_error(result, "--client-secret-stdin", "ALLEGRO_CONN_CLIENT_SECRET")
    assert not (config_dir / "clients.json").exists()


def test_add_with_an_empty_secret_line_is_refused(cli: Cli, config_dir: Path) -> None:
    result = cli(
        "client", "add", "x", "--env", "sandbox", "--client-id", "X", "--client-secret-stdin"
    )
    assert_usage_error(result, "--client-secret-stdin")
    assert not (config_dir / "clients.json").exists()


def test_add_with_a_blank_client_id_is_refused(cli: Cli, config_dir: Path) -> None:
    result = cli(
        "client",
        "add",
        "x",
        "--env",
        "sandbox",
        "--client-id",
        "  ",
        "--client-secret-stdin",
        input=SECRET + "\n",
    )
    assert_usage_error(result, "client id")
    assert not (config_dir / "clients.json").exists()


def test_add_without_a_terminal_fails_at_once_naming_client_id(config_dir: Path) -> None:
    """A real process with stdin an open pipe: it must not sit waiting for input."""
    env = dict(os.environ, ALLEGRO_CONN_CONFIG_DIR=str(config_dir))
    proc = subprocess.Popen(
        [*allegro_conn_cmd(), "client", "add", "x", "--env", "sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        code = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("client add waited for input on a pipe instead of failing")
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert code == 2
    assert "--client-id" in stderr
    assert stdout == ""
    assert "Traceback" not in stderr


# -- the secret ----------------------------------------------------------------------------------


def test_secret_from_the_environment_variable(cli: Cli, config_dir: Path) -> None:
    result = cli(
        "client",
        "add",
        "shopapp",
        "--env",
        "sandbox",
        "--client-id",
        "X",
        env={"ALLEGRO_CONN_CLIENT_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.stderr
    assert_no_secret(result)
    assert stored(config_dir)["shopapp"]["client_secret"] == SECRET


def test_secret_from_stdin_wins_over_the_environment(cli: Cli, config_dir: Path) -> None:
    result = cli(*ADD_SHOPAPP, input=SECRET + "\r\n", env={"ALLEGRO_CONN_CLIENT_SECRET": "env"})
    assert result.exit_code == 0
    assert stored(config_dir)["shopapp"]["client_secret"] == SECRET


@pytest.mark.parametrize("form", ["split", "equals"])
def test_there_is_no_flag_taking_the_secret_on_the_command_line(
    config_dir: Path, form: str
) -> None:
    secret_args = ["--client-secret", SECRET] if form == "split" else [f"--client-secret={SECRET}"]
    proc = run_real(
        ["client", "add", "x", "--env", "sandbox", "--client-id", "X", *secret_args], config_dir
    )
    assert proc.returncode == 2, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert not (config_dir / "clients.json").exists()


def test_help_of_add_offers_no_secret_flag_but_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    from allegro_conn.cli import app

    with pytest.raises(SystemExit) as info:
        app(args=["client", "add", "--help"], prog_name="allegro-conn")
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--client-secret-stdin" in text
    assert "--client-secret" not in text.replace("--client-secret-stdin", "")


# -- interactive add -----------------------------------------------------------------------------


def interactive_answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "Client name (local):": "shopapp",
        "Environment:": "production",
        "Application type:": "browser",
        "Redirect URI:": "http://localhost:9000/cb",
        "Application name as registered on Allegro:": "Shop App",
        "Client ID:": "X",
        "Client secret (hidden):": SECRET,
    }
    answers.update(overrides)
    return answers


def test_interactive_add_stores_everything_and_guides_on_stderr(cli: Cli, config_dir: Path) -> None:
    prompter = ScriptedPrompter(interactive_answers())
    result = cli("client", "add", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 0, result.stderr
    prompter.assert_done()
    assert result.stdout == ""
    assert_no_secret(result)
    assert stored(config_dir)["shopapp"] == {
        "name": "shopapp",
        "environment": "production",
        "client_id": "X",
        "client_secret": SECRET,
        "type": "browser",
        "redirect_uri": "http://localhost:9000/cb",
        "app_name": "Shop App",
    }
    assert "https://apps.developer.allegro.pl/" in result.stderr
    assert "paste exactly http://localhost:9000/cb" in result.stderr
    assert "2FA" in result.stderr
    assert prompter.values("Environment:") == ["production", "sandbox"]
    assert prompter.values("Application type:") == ["browser", "device"]


def test_interactive_add_sandbox_guide_has_no_2fa_note(cli: Cli) -> None:
    prompter = ScriptedPrompter(interactive_answers(**{"Environment:": "sandbox"}))
    result = cli("client", "add", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 0, result.stderr
    assert "https://apps.developer.allegro.pl.allegrosandbox.pl/" in result.stderr
    assert "2FA" not in result.stderr


def test_interactive_add_guide_comes_before_the_client_id_question() -> None:
    """The user needs the guide to get a Client ID, so it is printed before that question."""
    from allegro_conn.cli import app

    err = io.StringIO()
    seen: dict[str, str] = {}

    class Watching(ScriptedPrompter):
        def text(self, message: str, default: str = "", validate: Any = None) -> str:
            seen.setdefault(message, err.getvalue())
            return str(super().text(message, default, validate))

    prompter = Watching(interactive_answers())
    rt = Runtime(stdin=io.StringIO(), stdout=io.StringIO(), stderr=err, stdin_tty=True)
    rt.prompter = prompter
    with pytest.raises(SystemExit) as info:
        app(args=["client", "add"], obj=rt, prog_name="allegro-conn")
    assert info.value.code == 0, err.getvalue()
    assert "paste exactly" not in seen["Client name (local):"]
    assert "paste exactly http://localhost:9000/cb" in seen["Client ID:"]


def test_interactive_add_offers_the_defaults(cli: Cli, config_dir: Path) -> None:
    answers = interactive_answers(
        **{"Redirect URI:": DEFAULT, "Application name as registered on Allegro:": DEFAULT}
    )
    prompter = ScriptedPrompter(answers)
    assert cli("client", "add", prompter=prompter, stdin_tty=True).exit_code == 0
    assert prompter.defaults["Application type:"] == "browser"
    assert stored(config_dir)["shopapp"]["redirect_uri"] == REDIRECT
    assert stored(config_dir)["shopapp"]["app_name"] == "shopapp"


def test_interactive_add_asks_again_for_an_invalid_or_taken_name(
    cli: Cli, config_dir: Path
) -> None:
    add(cli, "shopapp")
    answers = interactive_answers(**{"Client name (local):": ["a/b", "", "ShopApp", "shop2"]})
    prompter = ScriptedPrompter(answers)
    result = cli("client", "add", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 0, result.stderr
    prompter.assert_done()
    problems = [problem for _, problem in prompter.rejected["Client name (local):"]]
    assert len(problems) == 3
    assert "'/'" in problems[0] and "empty" in problems[1] and "already exists" in problems[2]
    assert set(stored(config_dir)) == {"shopapp", "shop2"}


def test_interactive_add_asks_again_for_a_loopback_ip_redirect(cli: Cli) -> None:
    answers = interactive_answers(
        **{"Redirect URI:": ["http://127.0.0.1:8976/callback", "http://localhost:8976/callback"]}
    )
    prompter = ScriptedPrompter(answers)
    assert cli("client", "add", prompter=prompter, stdin_tty=True).exit_code == 0
    [(_, problem)] = prompter.rejected["Redirect URI:"]
    assert "127.0.0.0/8" in problem


def test_interactive_add_device_client_skips_the_redirect_uri(cli: Cli, config_dir: Path) -> None:
    answers = interactive_answers(**{"Application type:": "device"})
    del answers["Redirect URI:"]
    prompter = ScriptedPrompter(answers)
    result = cli("client", "add", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 0, result.stderr
    prompter.assert_done()
    assert stored(config_dir)["shopapp"]["redirect_uri"] is None


def test_interactive_add_asks_only_for_what_flags_left_out(cli: Cli, config_dir: Path) -> None:
    prompter = ScriptedPrompter({"Client secret (hidden):": SECRET})
    result = cli(
        "client",
        "add",
        "shopapp",
        "--env",
        "sandbox",
        "--type",
        "browser",
        "--redirect-uri",
        REDIRECT,
        "--app-name",
        "Shop App",
        "--client-id",
        "X",
        prompter=prompter,
        stdin_tty=True,
    )
    assert result.exit_code == 0, result.stderr
    prompter.assert_done()
    assert stored(config_dir)["shopapp"]["client_secret"] == SECRET


def test_interactive_add_checks_flags_before_asking(cli: Cli, config_dir: Path) -> None:
    prompter = ScriptedPrompter({})
    result = cli(
        "client",
        "add",
        "--redirect-uri",
        "http://127.0.0.1:1/cb",
        prompter=prompter,
        stdin_tty=True,
    )
    assert_usage_error(result, "127.0.0.0/8")
    assert prompter.asked == []


def test_interactive_add_cancelled_with_ctrl_c_exits_130_and_stores_nothing(
    cli: Cli, config_dir: Path
) -> None:
    prompter = ScriptedPrompter(interactive_answers(**{"Client ID:": KeyboardInterrupt()}))
    del prompter.answers["Client secret (hidden):"]
    result = cli("client", "add", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 130
    assert not (config_dir / "clients.json").exists()


# -- edit ----------------------------------------------------------------------------------------


def test_edit_changes_the_given_fields_only(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    result = cli(
        "client",
        "edit",
        "shopapp",
        "--redirect-uri",
        "http://localhost:9000/cb",
        "--app-name",
        "New Name",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    record = stored(config_dir)["shopapp"]
    assert record["redirect_uri"] == "http://localhost:9000/cb"
    assert record["app_name"] == "New Name"
    assert record["client_id"] == "id-shopapp"
    assert record["client_secret"] == f"{SECRET}-shopapp"


def test_edit_replaces_the_secret_from_stdin(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    result = cli("client", "edit", "shopapp", "--client-secret-stdin", input="new-secret\n")
    assert result.exit_code == 0, result.stderr
    assert_no_secret(result, "new-secret")
    assert stored(config_dir)["shopapp"]["client_secret"] == "new-secret"


def test_edit_to_device_drops_the_redirect_uri(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    assert cli("client", "edit", "shopapp", "--type", "device").exit_code == 0
    assert stored(config_dir)["shopapp"]["type"] == "device"
    assert stored(config_dir)["shopapp"]["redirect_uri"] is None


def test_edit_from_device_to_browser_gets_the_default_redirect_uri(
    cli: Cli, config_dir: Path
) -> None:
    add(cli, "dev", "--type", "device")
    assert cli("client", "edit", "dev", "--type", "browser").exit_code == 0
    assert stored(config_dir)["dev"]["redirect_uri"] == REDIRECT


def test_edit_finds_the_client_ignoring_case(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    assert cli("client", "edit", "SHOPAPP", "--client-id", "Y").exit_code == 0
    assert list(stored(config_dir)) == ["shopapp"]
    assert stored(config_dir)["shopapp"]["client_id"] == "Y"


def test_edit_refuses_a_loopback_ip_redirect_and_changes_nothing(
    cli: Cli, config_dir: Path
) -> None:
    add(cli, "shopapp")
    before = (config_dir / "clients.json").read_bytes()
    result = cli("client", "edit", "shopapp", "--redirect-uri", "http://127.0.0.1:8976/callback")
    assert_usage_error(result, "127.0.0.0/8")
    assert (config_dir / "clients.json").read_bytes() == before


def test_edit_without_flags_and_without_a_terminal_names_the_flags(cli: Cli) -> None:
    add(cli, "shopapp")
    result = cli("client", "edit", "shopapp")
    assert_usage_error(result, "--env", "--client-id", "--client-secret-stdin", "--redirect-uri")


def test_edit_environment_of_an_unused_client(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    assert cli("client", "edit", "shopapp", "--env", "production").exit_code == 0
    assert stored(config_dir)["shopapp"]["environment"] == "production"


def test_edit_refuses_to_move_a_used_client_to_another_environment(
    cli: Cli, config_dir: Path
) -> None:
    add(cli, "shopapp")
    use_client(config_dir, "shopapp", "shop")
    before = (config_dir / "clients.json").read_bytes()
    result = cli("client", "edit", "shopapp", "--env", "production")
    assert_usage_error(result, "shop", "environment")
    assert (config_dir / "clients.json").read_bytes() == before


def test_edit_of_a_used_client_may_keep_its_environment(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    use_client(config_dir, "shopapp", "shop")
    result = cli("client", "edit", "shopapp", "--env", "sandbox", "--app-name", "Renamed")
    assert result.exit_code == 0, result.stderr
    assert stored(config_dir)["shopapp"]["app_name"] == "Renamed"


def test_interactive_edit_shows_current_values_and_keeps_an_empty_secret(
    cli: Cli, config_dir: Path
) -> None:
    add(cli, "shopapp", "--app-name", "Shop App")
    prompter = ScriptedPrompter(
        {
            "Application type:": DEFAULT,
            "Redirect URI:": "http://localhost:9100/cb",
            "Application name as registered on Allegro:": DEFAULT,
            "Client ID:": "new-id",
            "Client secret (hidden; empty keeps the current one):": "",
        }
    )
    result = cli("client", "edit", "shopapp", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 0, result.stderr
    prompter.assert_done()
    assert prompter.defaults["Application type:"] == "browser"
    assert prompter.defaults["Redirect URI:"] == REDIRECT
    assert prompter.defaults["Client ID:"] == "id-shopapp"
    record = stored(config_dir)["shopapp"]
    assert record["redirect_uri"] == "http://localhost:9100/cb"
    assert record["app_name"] == "Shop App"
    assert record["client_id"] == "new-id"
    assert record["client_secret"] == f"{SECRET}-shopapp"


def test_interactive_edit_replaces_the_secret(cli: Cli, config_dir: Path) -> None:
    add(cli, "dev", "--type", "device")
    prompter = ScriptedPrompter(
        {
            "Application type:": "device",
            "Application name as registered on Allegro:": DEFAULT,
            "Client ID:": DEFAULT,
            "Client secret (hidden; empty keeps the current one):": "fresh-secret",
        }
    )
    result = cli("client", "edit", "dev", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 0, result.stderr
    prompter.assert_done()
    assert_no_secret(result, "fresh-secret")
    assert stored(config_dir)["dev"]["client_secret"] == "fresh-secret"


# -- delete --------------------------------------------------------------------------------------


def test_delete_an_unused_client(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    add(cli, "other")
    result = cli("client", "delete", "ShopApp")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert set(stored(config_dir)) == {"other"}


def test_delete_refuses_while_connections_use_it_and_names_them(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    use_client(config_dir, "shopapp", "shop-b", "shop-a")
    before = (config_dir / "clients.json").read_bytes()
    result = cli("client", "delete", "shopapp")
    assert_usage_error(result, "shop-a, shop-b", "--force")
    assert (config_dir / "clients.json").read_bytes() == before


def test_delete_force_removes_a_used_client_and_keeps_the_connections(
    cli: Cli, config_dir: Path
) -> None:
    add(cli, "shopapp")
    use_client(config_dir, "shopapp", "shop")
    result = cli("client", "delete", "shopapp", "--force")
    assert result.exit_code == 0, result.stderr
    assert stored(config_dir) == {}
    assert list(Store(config_dir).load_connections()) == ["shop"]


@pytest.mark.parametrize(
    "args",
    [
        ("client", "show", "nope"),
        ("client", "show", "nope", "--json"),
        ("client", "edit", "nope", "--app-name", "x"),
        ("client", "delete", "nope"),
        ("client", "delete", "nope", "--force"),
    ],
)
def test_unknown_client_is_a_usage_error(cli: Cli, args: tuple[str, ...]) -> None:
    add(cli, "shopapp")
    assert_usage_error(cli(*args), "'nope'", "client list")


# -- corrupt files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"version": 1, "clients": {"shopapp": {"name": "shop',
        b"",
        b"[1, 2]",
        b'{"version": 7, "clients": {}}',
        b'{"version": 1, "clients": {"shopapp": 3}}',
    ],
    ids=["truncated", "empty", "array", "future", "bad-record"],
)
@pytest.mark.parametrize(
    "args",
    [
        ("client", "list"),
        ("client", "list", "--json"),
        ("client", "show", "shopapp"),
        ("client", "edit", "shopapp", "--app-name", "x"),
        ("client", "delete", "shopapp"),
    ],
)
def test_corrupt_clients_file_fails_naming_it_and_is_left_unchanged(
    cli: Cli, config_dir: Path, content: bytes, args: tuple[str, ...]
) -> None:
    add(cli, "shopapp")
    path = config_dir / "clients.json"
    path.write_bytes(content)
    assert_failed_naming(cli(*args), path)
    assert path.read_bytes() == content


def test_add_over_a_corrupt_clients_file_leaves_it_unchanged(cli: Cli, config_dir: Path) -> None:
    add(cli, "shopapp")
    path = config_dir / "clients.json"
    content = path.read_bytes()[:40]
    path.write_bytes(content)
    assert_failed_naming(add(cli, "other"), path)
    assert path.read_bytes() == content


def test_corrupt_clients_file_in_a_real_process_prints_no_traceback(config_dir: Path) -> None:
    config_dir.mkdir()
    path = config_dir / "clients.json"
    path.write_bytes(b'{"version": 1, "clients": {')
    proc = run_real(["client", "list"], config_dir)
    assert proc.returncode == 1
    assert str(path) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert path.read_bytes() == b'{"version": 1, "clients": {'
