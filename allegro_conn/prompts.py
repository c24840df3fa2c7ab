"""The narrow interface every question goes through.

The wizard only talks to a `Prompter`; the questionary adapter lives in `cli/`, and tests
use a scripted fake that answers by prompt text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Validator = Callable[[str], "str | None"]  # returns a problem, or None when the answer is fine


@dataclass(frozen=True)
class Choice:
    title: str
    value: Any
    description: str | None = None
    checked: bool = False
    separator: bool = False  # a heading line that cannot be picked


class Prompter(Protocol):
    def text(self, message: str, default: str = "", validate: Validator | None = None) -> str: ...

    def secret(self, message: str) -> str: ...

    def select(self, message: str, choices: Sequence[Choice], default: Any = None) -> Any: ...

    def checkbox(self, message: str, choices: Sequence[Choice]) -> list[Any]: ...

    def confirm(self, message: str, default: bool = True) -> bool: ...
