"""Variable assignments that shells (and dotenv readers) read back exactly, whatever the value.

eval "$(allegro-conn env shop)"                 # sh, bash, zsh, dash, ksh
allegro-conn env shop --format fish | source    # fish
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping

FORMATS = ("sh", "fish", "json", "dotenv")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a variable name: {name!r}")
    return name


def sh_quote(value: str) -> str:
    """POSIX sh: single quotes, with ' written as '\\'' (shlex.quote)."""
    return shlex.quote(value)


def fish_quote(value: str) -> str:
    """fish: single quotes, where only \\\\ and \\' are escapes; a newline is written as an
    unquoted \\n between quoted parts, so that every assignment stays on one line."""
    parts = value.split("\n")
    quoted = ["'" + p.replace("\\", "\\\\").replace("'", "\\'") + "'" for p in parts]
    return "\\n".join(quoted)


def dotenv_quote(value: str) -> str:
    """dotenv: single quotes (taken literally by python-dotenv, docker compose and node's
    dotenv) unless the value holds one; then double quotes with \\\\ \\" \\n \\r \\t escapes."""
    if "'" not in value and "\n" not in value and "\r" not in value:
        return "'" + value + "'"
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return '"' + escaped + '"'


def render(variables: Mapping[str, str], fmt: str) -> str:
    """The assignments of `variables` in format `fmt` (one of FORMATS), ending in a newline."""
    names = [_check_name(n) for n in variables]
    if fmt == "sh":
        lines = [f"export {n}={sh_quote(variables[n])}" for n in names]
    elif fmt == "fish":
        lines = [f"set -gx {n} {fish_quote(variables[n])};" for n in names]
    elif fmt == "dotenv":
        lines = [f"{n}={dotenv_quote(variables[n])}" for n in names]
    elif fmt == "json":
        lines = [json.dumps(dict(variables), indent=2, ensure_ascii=False)]
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return "\n".join(lines) + "\n"
