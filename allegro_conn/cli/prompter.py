"""The questionary adapter of the Prompter protocol. Draws on stderr; Ctrl-C cancels.

questionary (and prompt_toolkit) are imported on the first question, not before: most
commands run on a terminal never ask anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allegro_conn.prompts import Choice, Validator
from allegro_conn.runtime import Runtime


def _questionary() -> Any:
    import questionary

    return questionary


class QuestionaryPrompter:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _kwargs(self) -> dict[str, Any]:
        from prompt_toolkit.output import create_output

        return {"output": create_output(stdout=self.rt.err), "qmark": "?"}

    @staticmethod
    def _choices(choices: Sequence[Choice]) -> list[Any]:
        questionary = _questionary()
        result: list[Any] = []
        for c in choices:
            if c.separator:
                result.append(questionary.Separator(c.title))
            else:
                result.append(
                    questionary.Choice(
                        c.title, value=c.value, checked=c.checked, description=c.description
                    )
                )
        return result

    def text(self, message: str, default: str = "", validate: Validator | None = None) -> str:
        check = None
        if validate is not None:
            v = validate

            def check(answer: str) -> bool | str:
                return v(answer) or True

        answer = _questionary().text(message, default=default, validate=check, **self._kwargs())
        return str(answer.unsafe_ask())

    def secret(self, message: str) -> str:
        return str(_questionary().password(message, **self._kwargs()).unsafe_ask())

    def select(self, message: str, choices: Sequence[Choice], default: Any = None) -> Any:
        options = self._choices(choices)
        picked = next((o for o in options if getattr(o, "value", None) == default), None)
        return (
            _questionary()
            .select(message, choices=options, default=picked, **self._kwargs())
            .unsafe_ask()
        )

    def checkbox(self, message: str, choices: Sequence[Choice]) -> list[Any]:
        def at_least_one(picked: list[Any]) -> bool | str:
            return True if picked else "Pick at least one (space to toggle)."

        answer = (
            _questionary()
            .checkbox(
                message, choices=self._choices(choices), validate=at_least_one, **self._kwargs()
            )
            .unsafe_ask()
        )
        return list(answer)

    def confirm(self, message: str, default: bool = True) -> bool:
        return bool(_questionary().confirm(message, default=default, **self._kwargs()).unsafe_ask())
