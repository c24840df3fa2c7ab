"""The shape of the package and of the command line: import rules, help, version, exit codes."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

import allegro_conn
from allegro_conn.cli import app
from tests.conftest import Cli, allegro_conn_cmd

PACKAGE = Path(allegro_conn.__file__).parent
UI_LIBRARIES = {"typer", "rich", "questionary", "prompt_toolkit", "click"}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> Iterator[tuple[str, int]]:
    """Every top-level package `path` imports, anywhere in the file (functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **env},
    )


# -- the dependency rule -------------------------------------------------------------------------


def test_the_package_has_modules_outside_cli() -> None:
    names = {p.name for p in modules() if "cli" not in p.relative_to(PACKAGE).parts}
    assert {"store.py", "service.py", "paths.py", "models.py", "errors.py"} <= names


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if "cli" not in p.relative_to(PACKAGE).parts],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_modules_outside_cli_import_no_ui_library(path: Path) -> None:
    found = [f"{name} (line {line})" for name, line in imported(path) if name in UI_LIBRARIES]
    assert found == [], f"{path.relative_to(PACKAGE)} imports {found}; only cli/ may"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_click(path: Path) -> None:
    found = [line for name, line in imported(path) if name == "click"]
    assert found == [], f"{path.relative_to(PACKAGE)} imports click at lines {found}; use typer"


def test_the_import_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from rich.console import Console\n    import click.core\n")
    assert sorted(imported(sample)) == [("click", 3), ("rich", 2)]


def test_the_token_fast_path_imports_only_the_standard_library() -> None:
    code = (
        "import sys, allegro_conn.entry, allegro_conn.fastpath\n"
        "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    loaded = set(run(sys.executable, "-c", code).stdout.split())
    assert "allegro_conn" in loaded
    heavy = {"typer", "rich", "questionary", "prompt_toolkit", "httpx", "platformdirs"}
    assert loaded & heavy == set()


def test_importing_the_package_loads_nothing_else() -> None:
    code = (
        "import sys; before = set(sys.modules); import allegro_conn\n"
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    assert run(sys.executable, "-c", code).stdout.split() == ["allegro_conn"]


# -- help, version ---------------------------------------------------------------------------------


def command_paths() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(root, ())
    return found


def test_the_foundation_commands_are_registered() -> None:
    paths = set(command_paths())
    for path in [
        ("client", "add"),
        ("client", "list"),
        ("client", "show"),
        ("client", "edit"),
        ("client", "delete"),
        ("list",),
        ("show",),
        ("rename",),
        ("delete",),
        ("default",),
        ("scopes",),
        ("paths",),
    ]:
        assert path in paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "(root)")
def test_every_command_has_help_with_an_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        app(args=[*path, "--help"], prog_name="allegro-conn")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Usage: allegro-conn" in out
    assert "Example" in out, f"'allegro-conn {' '.join(path)} --help' shows no example"


def test_help_in_a_real_process() -> None:
    proc = run(*allegro_conn_cmd(), "--help")
    assert proc.returncode == 0
    assert "Usage: allegro-conn" in proc.stdout
    assert "client" in proc.stdout and "paths" in proc.stdout


def test_python_dash_m_help() -> None:
    proc = run(sys.executable, "-m", "allegro_conn", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert "client" in proc.stdout


def test_no_arguments_shows_help() -> None:
    proc = run(*allegro_conn_cmd())
    assert "Usage: allegro-conn" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_version_prints_the_version_on_stdout() -> None:
    proc = run(*allegro_conn_cmd(), "--version")
    assert proc.returncode == 0
    assert proc.stdout == f"allegro-conn {allegro_conn.__version__}\n"
    assert proc.stderr == ""


# -- exit codes ----------------------------------------------------------------------------------


def assert_usage_exit(code: int, stderr: str) -> None:
    assert code == 2, stderr
    assert "internal error" not in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["list", "--bogus"],
        ["client", "list", "--bogus"],
        ["client", "add", "x", "--env", "sandbox", "--bogus"],
        ["paths", "--config-dir", "/tmp/x"],
    ],
    ids=["root", "list", "client-list", "client-add", "global-flag-after-command"],
)
def test_unknown_flag_exits_2(
    cli: Cli, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    result = cli(*args)
    assert_usage_exit(result.exit_code, result.stderr + capsys.readouterr().err)
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["bogus"], ["client", "bogus"]], ids=["root", "client"])
def test_unknown_command_exits_2(
    cli: Cli, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    result = cli(*args)
    assert_usage_exit(result.exit_code, result.stderr + capsys.readouterr().err)
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args", [["show"], ["rename", "only-one"], ["client", "show"]], ids=" ".join
)
def test_missing_argument_exits_2(
    cli: Cli, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    result = cli(*args)
    assert_usage_exit(result.exit_code, result.stderr + capsys.readouterr().err)


@pytest.mark.parametrize("args", [["--bogus"], ["client", "add", "x", "--bogus"]], ids=" ".join)
def test_unknown_flag_exits_2_in_a_real_process(args: list[str]) -> None:
    proc = run(*allegro_conn_cmd(), *args)
    assert_usage_exit(proc.returncode, proc.stderr)
    assert "--bogus" in proc.stderr
    assert proc.stdout == ""


# -- scopes --------------------------------------------------------------------------------------


def test_scopes_json_lists_every_scope(cli: Cli) -> None:
    result = cli("scopes", "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    scopes = json.loads(result.stdout)
    assert len(scopes) == 22
    names = [s["name"] for s in scopes]
    assert len(set(names)) == 22
    for scope in scopes:
        assert set(scope) == {"name", "group", "description"}
        assert scope["name"].startswith("allegro:api:")
        assert scope["group"] and scope["description"]
    assert {"allegro:api:profile:read", "allegro:api:orders:read", "allegro:api:bids"} <= set(names)


def test_scopes_piped_is_one_tab_separated_line_per_scope(cli: Cli) -> None:
    result = cli("scopes")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 22
    assert all(len(line.split("\t")) == 3 for line in lines)
    assert lines[0].startswith("allegro:api:")
