"""Test doubles shared by the test modules.

`ScriptedPrompter` answers the questions of `allegro_conn.prompts.Prompter` by their message
text, the way gh's PrompterMock does:

    prompter = ScriptedPrompter({
        "Client name (local):": ["bad/name", "shopapp"],  # text: re-asked until one validates
        "Environment:": "sandbox",                         # select: the choice *value*
        "Scopes:": ["allegro:api:orders:read"],            # checkbox: a list of values
        "Delete connection 'shop' and its tokens?": False, # confirm: a bool
        "Client secret (hidden):": "s3cret",               # secret: a str
        "Redirect URI:": DEFAULT,                          # accept the prompt's default
        "Client ID:": KeyboardInterrupt(),                 # an exception is raised (Ctrl-C)
    })
    result = cli("client", "add", prompter=prompter, stdin_tty=True)
    prompter.assert_done()

A question without a scripted answer, an answer of the wrong kind, a value that is not among
the offered choices, or a text answer its validator rejects raises AssertionError naming the
prompt. The app turns unexpected exceptions into "internal error" (exit 1), so every such
failure is also kept in `.errors` and raised again by `assert_done()`, which also fails when
a scripted answer was never used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from allegro_conn.prompts import Choice, Validator


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()
"""A scripted answer meaning "press Enter": the prompt's default is returned."""


class ScriptedPrompter:
    """A Prompter whose answers are scripted by prompt message."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers: dict[str, Any] = dict(answers)
        self.asked: list[str] = []
        self.choices: dict[str, list[Choice]] = {}
        self.defaults: dict[str, Any] = {}
        # text prompts: the answers the validator rejected, with its message, in order
        self.rejected: dict[str, list[tuple[str, str]]] = {}
        self.errors: list[AssertionError] = []
        self._used: set[str] = set()

    # -- the Prompter protocol ---------------------------------------------------------------

    def text(self, message: str, default: str = "", validate: Validator | None = None) -> str:
        answer = self._answer(message, default)
        candidates = answer if isinstance(answer, list) else [answer]
        if not candidates or not all(isinstance(a, str) for a in candidates):
            self._fail(f"text prompt {message!r} needs a str or a list of str, got {answer!r}")
        if validate is None:
            if len(candidates) != 1:
                self._fail(f"text prompt {message!r} has no validator, so it asks only once")
            return str(candidates[0])
        rejected = self.rejected.setdefault(message, [])
        for index, candidate in enumerate(candidates):
            problem = validate(candidate)
            if problem is None:
                unused = candidates[index + 1 :]
                if unused:
                    self._fail(
                        f"text prompt {message!r} accepted {candidate!r}, so {unused!r} "
                        "were never asked for"
                    )
                return str(candidate)
            rejected.append((candidate, problem))
        self._fail(f"text prompt {message!r} rejected every scripted answer: {rejected!r}")

    def secret(self, message: str) -> str:
        answer = self._answer(message, None)
        if not isinstance(answer, str):
            self._fail(f"secret prompt {message!r} needs a str, got {answer!r}")
        return answer

    def select(self, message: str, choices: Sequence[Choice], default: Any = None) -> Any:
        self.choices[message] = list(choices)
        answer = self._answer(message, default)
        offered = self.values(message)
        if answer not in offered:
            self._fail(f"select prompt {message!r}: {answer!r} is not among {offered!r}")
        return answer

    def checkbox(self, message: str, choices: Sequence[Choice]) -> list[Any]:
        self.choices[message] = list(choices)
        default = [c.value for c in choices if c.checked and not c.separator]
        answer = self._answer(message, default)
        offered = self.values(message)
        if not isinstance(answer, list):
            self._fail(f"checkbox prompt {message!r} needs a list of values, got {answer!r}")
        strays = [a for a in answer if a not in offered]
        if strays:
            self._fail(f"checkbox prompt {message!r}: {strays!r} are not among {offered!r}")
        return list(answer)

    def confirm(self, message: str, default: bool = True) -> bool:
        answer = self._answer(message, default)
        if not isinstance(answer, bool):
            self._fail(f"confirm prompt {message!r} needs a bool, got {answer!r}")
        return answer

    # -- for tests -----------------------------------------------------------------------------

    def values(self, message: str) -> list[Any]:
        """The values a select or checkbox prompt offered (headings left out)."""
        return [c.value for c in self.choices.get(message, []) if not c.separator]

    def assert_done(self) -> None:
        """Fail on any error seen while answering, or on a scripted answer never asked for."""
        if self.errors:
            raise self.errors[0]
        unused = [m for m in self.answers if m not in self._used]
        assert not unused, f"scripted answers never asked for: {unused!r} (asked: {self.asked!r})"

    # -- internals -------------------------------------------------------------------------------

    def _fail(self, message: str) -> NoReturn:
        error = AssertionError(message)
        self.errors.append(error)
        raise error

    def _answer(self, message: str, default: Any) -> Any:
        self.asked.append(message)
        self.defaults[message] = default
        if message in self._used:
            self._fail(f"prompt {message!r} was asked a second time")
        if message not in self.answers:
            scripted = list(self.answers)
            self._fail(f"unexpected prompt {message!r} (scripted: {scripted!r})")
        self._used.add(message)
        answer = self.answers[message]
        if isinstance(answer, BaseException) or (
            isinstance(answer, type) and issubclass(answer, BaseException)
        ):
            raise answer
        return default if answer is DEFAULT else answer
