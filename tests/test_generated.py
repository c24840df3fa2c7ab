"""Files generated from the app stay up to date: completions/* and README.md's reference.

When one of these fails, run `python -m allegro_conn.cli.gendocs` and commit the result.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from allegro_conn.cli import gendocs

REPO = Path(__file__).resolve().parents[1]
FIX = "run: python -m allegro_conn.cli.gendocs"


@pytest.mark.parametrize("shell", sorted(gendocs.COMPLETION_FILES))
def test_committed_completion_scripts_are_what_the_app_generates(shell: str) -> None:
    path = REPO / "completions" / gendocs.COMPLETION_FILES[shell]
    assert path.exists(), f"{path} is missing; {FIX}"
    assert path.read_text(encoding="utf-8") == gendocs.completion_script(shell), (
        f"{path.name} is out of date; {FIX}"
    )


def test_completion_scripts_call_back_with_the_complete_variable() -> None:
    for shell in gendocs.COMPLETION_FILES:
        script = gendocs.completion_script(shell)
        assert f"_ALLEGRO_CONN_COMPLETE=complete_{shell}" in script
    assert gendocs.completion_script("zsh").startswith("#compdef allegro-conn\n")


def test_the_readme_reference_is_what_help_prints() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.count(gendocs.BEGIN) == 1 and readme.count(gendocs.END) == 1
    start, end = readme.index(gendocs.BEGIN), readme.index(gendocs.END) + len(gendocs.END)
    assert readme[start:end] == gendocs.reference(), f"README.md's reference is stale; {FIX}"


def test_the_reference_covers_every_command_in_plain_text() -> None:
    reference = gendocs.reference()
    for path in ("", " api", " env", " exec", " token", " client", " client add", " demo"):
        assert f"### `allegro-conn{path}`\n" in reference
    assert "\x1b" not in reference  # no colours
    assert not re.search(r"[╭╮╰╯│─]", reference)  # no rich boxes
    body = [line for line in reference.splitlines() if not line.startswith("<!--")]
    assert max(len(line) for line in body) <= gendocs.WIDTH
    assert "allegro-\n" not in reference  # the program's name is never cut at its hyphen


def test_the_documented_command_checks_in_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "allegro_conn.cli.gendocs", "--check", "--root", str(REPO)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_names_stale_files_and_regenerating_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "completions").mkdir()
    (tmp_path / "completions" / "allegro-conn.bash").write_text("old\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n\n{gendocs.BEGIN}\nold\n{gendocs.END}\n\nafter\n")
    assert gendocs.main(["--check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    for name in ("completions/allegro-conn.bash", "completions/_allegro-conn", "README.md"):
        assert f"{name}: out of date" in out
    assert (tmp_path / "completions" / "allegro-conn.bash").read_text() == "old\n"  # untouched

    assert gendocs.main(["--root", str(tmp_path)]) == 0
    assert gendocs.main(["--check", "--root", str(tmp_path)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n\n<!-- BEGIN COMMAND REFERENCE -->")
    assert text.endswith("<!-- END COMMAND REFERENCE -->\n\nafter\n")
    assert gendocs.main(["reference", "--check", "--root", str(tmp_path)]) == 0


def test_a_readme_without_the_markers_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("# no markers\n")
    assert gendocs.main(["reference", "--root", str(tmp_path)]) == 1
    assert "BEGIN COMMAND REFERENCE" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "# no markers\n"
