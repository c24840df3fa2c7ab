"""`create --flow paste` (the redirect address pasted on stdin) and the device flow.

The device flow runs on a fake clock shared by allegro-conn and the emulator: `sleep`
advances it, so the polls are as far apart as the client thinks and no test waits."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from allegro_conn.emulator import ALL_SCOPES, Emulator
from tests.conftest import Cli, allegro_conn_cmd
from tests.helpers_flows import (
    DEVICE,
    DEVICE_GRANT,
    TOKEN,
    USER_ID,
    USER_LOGIN,
    Browser,
    FakeClock,
    Later,
    SequencePrompter,
    add_client,
    assert_no_secrets,
    bypass_proxies,
    callback_location,
    emu_env,
    emu_fixture,  # noqa: F401 (the emu fixture)
    fetch,
    listed,
    nothing_saved,
    query_of,
    stored_tokens,
    subprocess_env,
    with_query,
)

PASTE = ("create", "shop", "--client", "web", "--all-scopes", "--flow", "paste", "--no-browser")
PASTE_PROMPT = "Paste the address your browser was sent to (it starts with the redirect URI):"
DEVICE_CREATE = ("create", "shop", "--client", "tv", "--all-scopes", "--no-browser")

# -- paste ---------------------------------------------------------------------------------------


@dataclass
class Pasted:
    returncode: int
    stdout: str
    stderr: str
    url: str


def run_paste(
    emu: Emulator, config_dir: Path, make_paste: Callable[[str], str], *extra: str
) -> Pasted:
    """Run a real `create --flow paste` whose stdin is a pipe: wait for the authorize URL on
    stderr, then paste what `make_paste(url)` returns."""
    proc = subprocess.Popen(
        [*allegro_conn_cmd(), *PASTE, *extra],
        env=subprocess_env(emu, config_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stderr is not None
    lines: list[str] = []
    url = ""
    try:
        deadline = time.monotonic() + 20
        while not url and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "/auth/oauth/authorize?" in line:
                url = line.strip()
        assert url, "".join(lines)
        proc.stdin.write(make_paste(url) + "\n")
        proc.stdin.close()
        out = proc.stdout.read() if proc.stdout else ""
        rest = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Pasted(proc.returncode, out, "".join(lines) + rest, url)


def test_paste_flow_saves_the_connection(cli: Cli, emu: Emulator, config_dir: Path) -> None:
    add_client(cli, emu)
    result = run_paste(emu, config_dir, callback_location)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Paste the address" in result.stderr
    assert query_of(result.url)["code_challenge_method"] == "S256"
    (conn,) = listed(cli)
    assert conn["name"] == "shop"
    assert conn["scopes"] == list(ALL_SCOPES)
    assert conn["account"] == {"id": USER_ID, "login": USER_LOGIN}
    for secret in stored_tokens(config_dir, "shop"):
        assert secret not in result.stdout + result.stderr


def test_paste_flow_with_a_wrong_state_fails_and_exchanges_nothing(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)

    def forged(url: str) -> str:
        return with_query(callback_location(url), state="someone-elses-state")

    result = run_paste(emu, config_dir, forged)
    assert result.returncode == 1
    assert "does not belong to this sign-in" in result.stderr
    assert result.stdout == ""
    assert emu.count(path=TOKEN) == 0
    assert nothing_saved(config_dir)


def test_paste_flow_with_an_error_redirect_fails(cli: Cli, emu: Emulator, config_dir: Path) -> None:
    uri = add_client(cli, emu)

    def denied(url: str) -> str:
        return with_query(uri, error="access_denied", state=query_of(url)["state"])

    result = run_paste(emu, config_dir, denied)
    assert result.returncode == 1
    assert "access_denied" in result.stderr
    assert nothing_saved(config_dir)


@pytest.mark.parametrize(
    "pasted, needle",
    [
        ("garbage\n", "not the address"),
        ("http://localhost:1/callback\n", "not the address"),
        ("\n", "No address was pasted"),
        ("", "No address was pasted"),
    ],
    ids=["garbage", "no-query", "empty-line", "eof"],
)
def test_paste_flow_with_garbage_is_a_usage_error(
    cli: Cli, emu: Emulator, config_dir: Path, pasted: str, needle: str
) -> None:
    add_client(cli, emu)
    browser = Browser()
    result = cli(*PASTE, input=pasted, env=emu_env(emu), browser=browser)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert result.stdout == ""
    assert not browser.called
    assert emu.count(path=TOKEN) == 0
    assert nothing_saved(config_dir)


def test_paste_flow_with_a_device_client_is_a_usage_error(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, "tv", kind="device")
    result = cli("create", "shop", "--client", "tv", "--all-scopes", "--flow", "paste")
    assert result.exit_code == 2
    assert "--flow device" in result.stderr
    assert emu.requests == []


# -- device --------------------------------------------------------------------------------------


class Recorder(httpx.BaseTransport):
    """Real HTTP to the emulator, noting each device poll: (clock, status, error).

    `rewrite` may change the device endpoint's answer before allegro-conn sees it."""

    def __init__(
        self, clock: FakeClock, rewrite: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.inner = httpx.HTTPTransport(verify=False)  # plain http on loopback
        self.clock = clock
        self.rewrite = rewrite
        self.polls: list[tuple[float, int, str | None]] = []
        self.device_answers: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        form = {k: v[0] for k, v in parse_qs(request.read().decode()).items()}
        if request.url.path == DEVICE and response.status_code == 200:
            answer = json.loads(body)
            self.device_answers.append(dict(answer))
            if self.rewrite is not None:
                self.rewrite(answer)
                return httpx.Response(200, json=answer)
        if request.url.path == TOKEN and form.get("grant_type") == DEVICE_GRANT:
            error = json.loads(body).get("error") if response.status_code != 200 else None
            self.polls.append((self.clock(), response.status_code, error))
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def close(self) -> None:
        """Kept open across allegro-conn's short-lived clients."""

    @property
    def errors(self) -> list[str | None]:
        return [error for _, _, error in self.polls]

    @property
    def gaps(self) -> list[float]:
        times = [t for t, _, _ in self.polls]
        return [b - a for a, b in itertools.pairwise(times)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def demu(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on the fake clock that waits for someone to approve device codes."""
    bypass_proxies(monkeypatch)
    with Emulator(port=0, auto_approve=False, clock=clock, device_interval=5) as emulator:
        yield emulator
    assert not emulator.errors, emulator.errors


def decide_on_sleep(emu: Emulator, clock: FakeClock, at: int, approve: bool = True) -> list[str]:
    """At the `at`-th sleep, approve (or deny) the pending user code; returns [that code]."""
    seen: list[str] = []

    def on_sleep(count: int) -> None:
        if count == at:
            (code,) = emu.pending_user_codes()
            seen.append(code)
            decide = emu.approve_device if approve else emu.deny_device
            assert decide(code)

    clock.on_sleep = on_sleep
    return seen


def device_cli(
    cli: Cli, emu: Emulator, clock: FakeClock, recorder: Recorder, *args: str, **kw: Any
) -> Any:
    kw.setdefault("browser", Browser())
    return cli(
        *(args or DEVICE_CREATE),
        env=emu_env(emu),
        clock=clock,
        sleep=clock.sleep,
        transport=recorder,
        **kw,
    )


def test_device_flow_completes_without_a_browser_and_never_polls_too_fast(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    add_client(cli, demu, "tv", kind="device")
    codes = decide_on_sleep(demu, clock, at=3)
    recorder = Recorder(clock)
    browser = Browser()
    started = time.monotonic()
    result = device_cli(cli, demu, clock, recorder, browser=browser)
    assert time.monotonic() - started < 5  # the fake clock did the waiting

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert not browser.called
    assert "opened in your browser" not in result.stderr
    # the code as Allegro suggests showing it, and where to type it
    (code,) = codes
    shown = " ".join([code[0:3], code[3:6], code[6:9]]).upper()
    assert re.search(r"\b[A-Z0-9]{3} [A-Z0-9]{3} [A-Z0-9]{3}\b", result.stderr)
    assert shown in result.stderr
    assert f"open {demu.url}/skojarz-aplikacje" in result.stderr
    assert f"{demu.url}/skojarz-aplikacje?code={code}" in result.stderr
    # polled every `interval` seconds, never provoking slow_down
    assert recorder.errors == ["authorization_pending", "authorization_pending", None]
    assert all(gap >= 5 for gap in recorder.gaps)
    assert clock.sleeps == [5, 5, 5]
    assert demu.count(path=TOKEN, grant_type=DEVICE_GRANT, status=400) == 2
    # the device request itself
    (start,) = demu.find(path=DEVICE)
    assert start.method == "POST" and start.form["client_id"] == "tv-client-id"
    assert "scope" not in start.form  # --all-scopes

    (conn,) = listed(cli)
    assert conn["name"] == "shop" and conn["client"] == "tv"
    assert conn["scopes"] == list(ALL_SCOPES)
    assert conn["account"] == {"id": USER_ID, "login": USER_LOGIN}
    assert_no_secrets(result, *stored_tokens(config_dir, "shop"))


def test_device_flow_requests_the_chosen_scopes(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    add_client(cli, demu, "tv", kind="device")
    decide_on_sleep(demu, clock, at=1)
    recorder = Recorder(clock)
    args = ("create", "shop", "--client", "tv", "--scope", "orders:read", "--no-browser")
    result = device_cli(cli, demu, clock, recorder, *args)
    assert result.exit_code == 0, result.stderr
    assert demu.find(path=DEVICE)[0].form["scope"] == "allegro:api:orders:read"
    assert listed(cli)[0]["scopes"] == ["allegro:api:orders:read"]


def test_device_flow_opens_the_complete_verification_uri_when_allowed(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    add_client(cli, demu, "tv", kind="device")

    def approve_in_browser(url: str) -> bool:
        page = fetch(url)
        assert page.status_code == 200 and "Pozwól" in page.text
        code = query_of(url)["code"]
        done = fetch(url.split("?")[0], "POST", data={"code": code, "decision": "allow"})
        assert done.status_code == 200
        return True

    recorder = Recorder(clock)
    args = ("create", "shop", "--client", "tv", "--all-scopes")
    result = device_cli(cli, demu, clock, recorder, *args, browser=approve_in_browser)
    assert result.exit_code == 0, result.stderr
    assert "(opened in your browser)" in result.stderr
    assert recorder.errors == [None]  # approved before the first poll


def test_device_flow_slows_down_by_5_seconds_when_told(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    """Allegro enforces 5 s but the answer says 1: the second poll earns slow_down."""
    add_client(cli, demu, "tv", kind="device")
    decide_on_sleep(demu, clock, at=4)

    def claim_one_second(answer: dict[str, Any]) -> None:
        answer["interval"] = 1

    recorder = Recorder(clock, claim_one_second)
    result = device_cli(cli, demu, clock, recorder)
    assert result.exit_code == 0, result.stderr
    assert recorder.errors == ["authorization_pending", "slow_down", "authorization_pending", None]
    assert clock.sleeps == [1, 1, 6, 6]
    assert recorder.gaps == [1, 6, 6]
    assert [c["name"] for c in listed(cli)] == ["shop"]


def test_device_flow_interval_as_a_string_is_understood(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    """Allegro's docs show "interval": "5" and "expires_in": "3600" as strings."""
    add_client(cli, demu, "tv", kind="device")
    decide_on_sleep(demu, clock, at=2)

    def as_strings(answer: dict[str, Any]) -> None:
        answer["interval"] = str(answer["interval"])
        answer["expires_in"] = str(answer["expires_in"])

    recorder = Recorder(clock, as_strings)
    result = device_cli(cli, demu, clock, recorder)
    assert result.exit_code == 0, result.stderr
    assert clock.sleeps == [5, 5]
    assert "slow_down" not in recorder.errors


def test_device_flow_access_denied_fails_with_its_own_message(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    add_client(cli, demu, "tv", kind="device")
    decide_on_sleep(demu, clock, at=2, approve=False)
    recorder = Recorder(clock)
    result = device_cli(cli, demu, clock, recorder)
    assert result.exit_code == 1
    assert "Access was denied on Allegro; nothing was saved." in result.stderr
    assert result.stdout == ""
    assert recorder.errors == ["authorization_pending", "access_denied"]
    assert nothing_saved(config_dir)


def test_device_flow_invalid_device_code_fails_with_its_own_message(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    add_client(cli, demu, "tv", kind="device")

    def break_code(answer: dict[str, Any]) -> None:
        answer["device_code"] = "not-a-device-code"

    recorder = Recorder(clock, break_code)
    result = device_cli(cli, demu, clock, recorder)
    assert result.exit_code == 1
    assert "no longer knows this device code" in result.stderr
    assert "Run the command again" in result.stderr
    assert recorder.errors == ["invalid_request"]  # Allegro: "Invalid device code"
    assert nothing_saved(config_dir)


def test_device_flow_expiry_fails_with_its_own_message(
    cli: Cli, clock: FakeClock, config_dir: Path
) -> None:
    """Nobody approves within expires_in: allegro-conn stops polling by itself."""
    with Emulator(port=0, clock=clock, device_interval=5, device_ttl=12) as emu:
        add_client(cli, emu, "tv", kind="device")
        recorder = Recorder(clock)
        result = device_cli(cli, emu, clock, recorder)
    assert result.exit_code == 1
    assert "The device code expired before it was approved." in result.stderr
    assert recorder.errors == ["authorization_pending", "authorization_pending"]
    assert clock.sleeps == [5, 5, 5]
    assert nothing_saved(config_dir)


def test_device_flow_expired_on_allegros_side_fails_with_its_own_message(
    cli: Cli, clock: FakeClock, config_dir: Path
) -> None:
    """Allegro says the code expired (its answer is only "some other 400")."""
    with Emulator(port=0, clock=clock, device_interval=5, device_ttl=7) as emu:
        add_client(cli, emu, "tv", kind="device")

        def claim_an_hour(answer: dict[str, Any]) -> None:
            answer["expires_in"] = 3600

        recorder = Recorder(clock, claim_an_hour)
        result = device_cli(cli, emu, clock, recorder)
    assert result.exit_code == 1
    assert "expired or was refused (expired_token)" in result.stderr
    assert recorder.errors == ["authorization_pending", "expired_token"]
    assert nothing_saved(config_dir)


def test_device_flow_stops_at_the_timeout(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    add_client(cli, demu, "tv", kind="device")
    recorder = Recorder(clock)
    result = device_cli(cli, demu, clock, recorder, *DEVICE_CREATE, "--timeout", "12")
    assert result.exit_code == 1
    assert "not approved within 12 s" in result.stderr and "--timeout" in result.stderr
    assert "expired" not in result.stderr  # the code itself was still valid
    assert len(recorder.polls) == 2
    assert sum(clock.sleeps) <= 15
    assert nothing_saved(config_dir)


def test_device_flow_with_a_web_type_app_on_allegro_says_so(
    cli: Cli, demu: Emulator, clock: FakeClock, config_dir: Path
) -> None:
    """Registered locally as device, but the app on Allegro is the browser type."""
    add_client(cli, None, "tv", kind="device")
    demu.add_client("tv-client-id", "s3cret-client-Secret-42", type="browser")
    result = device_cli(cli, demu, clock, Recorder(clock))
    assert result.exit_code == 1
    assert "not allowed this grant" in result.stderr
    assert "works without a browser" in result.stderr
    assert clock.sleeps == []
    assert nothing_saved(config_dir)


def test_device_flow_with_a_browser_client_is_a_usage_error(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    browser = Browser()
    args = ("create", "shop", "--client", "web", "--all-scopes", "--flow", "device")
    result = cli(*args, env=emu_env(emu), browser=browser)
    assert result.exit_code == 2
    assert "browser-type app" in result.stderr and "--flow browser" in result.stderr
    assert not browser.called
    assert emu.requests == []
    assert nothing_saved(config_dir)


def test_paste_flow_on_a_terminal_asks_for_the_address(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    browser = Browser("nothing")  # opens the page; the user copies the address bar
    prompter = SequencePrompter(
        {
            "Authorize this connection now?": True,
            PASTE_PROMPT: Later(lambda: "  " + callback_location(browser.urls[0]) + "  "),
        }
    )
    args = ("create", "shop", "--client", "web", "--all-scopes", "--flow", "paste")
    result = cli(*args, env=emu_env(emu), browser=browser, prompter=prompter, stdin_tty=True)
    prompter.assert_done()
    assert result.exit_code == 0, result.stderr
    assert "flow:        paste" in result.stderr
    assert [c["name"] for c in listed(cli)] == ["shop"]


def test_paste_flow_on_a_terminal_asks_again_after_a_mistyped_address(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    browser = Browser("nothing")
    prompter = SequencePrompter(
        {
            "Authorize this connection now?": True,
            PASTE_PROMPT: Later(
                lambda: ["http://localhost/oops", callback_location(browser.urls[0])]
            ),
        }
    )
    args = ("create", "shop", "--client", "web", "--all-scopes", "--flow", "paste")
    result = cli(*args, env=emu_env(emu), browser=browser, prompter=prompter, stdin_tty=True)
    prompter.assert_done()
    assert result.exit_code == 0, result.stderr
    assert [problem for _, problem in prompter.rejected[PASTE_PROMPT]] == [
        "Paste the whole address from the address bar (it contains code=...)."
    ]
