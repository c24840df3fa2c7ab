"""The interactive `create` wizard, driven by a scripted prompter, authorizing for real
against the emulator. An unexpected, repeated or unused answer fails the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from allegro_conn.emulator import ALL_SCOPES, Emulator
from allegro_conn.scopes import SCOPE_NAMES, SCOPES
from allegro_conn.store import Store
from tests.conftest import Cli, Result
from tests.fakes import DEFAULT
from tests.helpers_flows import (
    APP_NAME,
    AUTHORIZE,
    SECRET,
    USER_ID,
    USER_LOGIN,
    Browser,
    Seq,
    SequencePrompter,
    add_client,
    assert_no_secrets,
    emu_env,
    emu_fixture,  # noqa: F401 (the emu fixture)
    listed,
    nothing_saved,
    redirect_uri,
    stored_tokens,
)

ADD = "__add_client__"
EDIT = "__edit_client__"
ORDERS = "allegro:api:orders:read"
PROFILE = "allegro:api:profile:read"
CONFIRM = "Authorize this connection now?"
CHECKBOX = "Choose scopes (space toggles, enter confirms):"


def wizard(
    cli: Cli, emu: Emulator, answers: dict[str, Any], *args: str, browser: Browser | None = None
) -> tuple[Result, SequencePrompter, Browser]:
    prompter = SequencePrompter(answers)
    browser = browser or Browser()
    result = cli(
        "create", *args, env=emu_env(emu), prompter=prompter, stdin_tty=True, browser=browser
    )
    prompter.assert_done()
    return result, prompter, browser


def test_full_wizard_with_a_new_client_added_inline(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, "prodapp", env="production")  # must not be offered for sandbox
    uri = redirect_uri()
    emu.add_client("new-client-id", SECRET, redirect_uris=[uri], app_name=APP_NAME)
    answers = {
        "Connection name:": ["bad/name", " spaced ", "shop"],
        "Environment:": "sandbox",
        "OAuth client:": ADD,
        # the same questions as `client add`, minus the environment already chosen
        "Client name (local):": ["prodapp", "web"],
        "Application type:": "browser",
        "Redirect URI:": ["http://127.0.0.1:9/cb", uri],
        "Application name as registered on Allegro:": APP_NAME,
        "Client ID:": "new-client-id",
        "Client secret (hidden):": SECRET,
        "Scopes:": "all",
        CONFIRM: True,
    }
    result, prompter, browser = wizard(cli, emu, answers)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    # bad answers were asked again, with the reason
    assert [a for a, _ in prompter.rejected["Connection name:"]] == ["bad/name", " spaced "]
    assert "'/'" in prompter.rejected["Connection name:"][0][1]
    assert "already exists" in prompter.rejected["Client name (local):"][0][1]
    assert prompter.rejected["Redirect URI:"][0][0] == "http://127.0.0.1:9/cb"
    # only sandbox clients are offered; none exists yet, so adding one is the default
    assert prompter.values("OAuth client:") == [ADD]
    assert prompter.defaults["OAuth client:"] == ADD
    assert [c.title for c in prompter.choices["OAuth client:"]] == ["+ Add a new OAuth client"]
    assert prompter.values("Environment:") == ["production", "sandbox"]
    assert prompter.values("Scopes:") == ["all", "pick"]
    assert prompter.defaults["Scopes:"] == "all"
    titles = [c.title for c in prompter.choices["Scopes:"]]
    assert titles[0].startswith("» Add all scopes") and titles[1] == "> Choose scopes"
    # the registration guide, on stderr, before the client id was asked
    assert "https://apps.developer.allegro.pl.allegrosandbox.pl/" in result.stderr
    assert f"paste exactly {uri}" in result.stderr
    # the summary before authorizing
    assert "name:        shop" in result.stderr
    assert "client:      web (new-client-id)" in result.stderr
    assert "scopes:      all the app declares" in result.stderr
    assert "flow:        browser" in result.stderr

    assert "Added OAuth client 'web' (sandbox, browser)" in result.stderr
    assert browser.statuses == [200]
    (conn,) = listed(cli)
    assert conn["name"] == "shop" and conn["client"] == "web"
    assert conn["environment"] == "sandbox"
    assert conn["scopes"] == list(ALL_SCOPES)
    assert conn["account"] == {"id": USER_ID, "login": USER_LOGIN}
    client = Store(config_dir).load_clients()["web"]
    assert client.redirect_uri == uri and client.client_id == "new-client-id"
    assert client.environment == "sandbox" and client.app_name == APP_NAME
    assert_no_secrets(result, *stored_tokens(config_dir, "shop"))


def test_wizard_choose_scopes_offers_grouped_scopes_with_descriptions(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, "web")
    add_client(cli, emu, "prodapp", env="production")
    answers = {
        "Connection name:": "shop",
        "Environment:": "sandbox",
        "OAuth client:": "web",
        "Scopes:": "pick",
        CHECKBOX: [ORDERS, PROFILE],
        CONFIRM: True,
    }
    result, prompter, _ = wizard(cli, emu, answers)
    assert result.exit_code == 0, result.stderr

    choices = prompter.choices[CHECKBOX]
    assert prompter.values(CHECKBOX) == list(SCOPE_NAMES)  # every scope, once
    # grouped: each scope sits under the heading of its group, each group heads once
    group_of = {s.name: s.group for s in SCOPES}
    assert choices[0].separator
    heading = ""
    for choice in choices:
        if choice.separator:
            heading = choice.title
        else:
            assert group_of[choice.value] in heading, (choice.value, heading)
    headings = [c.title for c in choices if c.separator]
    assert len(headings) == len(set(group_of.values()))
    described = {c.value: c.description for c in choices if not c.separator}
    assert all(described.values())
    assert "login" in str(described[PROFILE])
    assert not any(c.checked for c in choices)

    (authorize,) = emu.find(path=AUTHORIZE)
    assert authorize.query["scope"] == f"{ORDERS} {PROFILE}"
    assert f"scopes:      {ORDERS} {PROFILE}" in result.stderr
    (conn,) = listed(cli)
    assert sorted(conn["scopes"]) == sorted([ORDERS, PROFILE])


def test_wizard_offers_only_clients_of_the_chosen_environment(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, "zweb")
    add_client(cli, emu, "aweb")
    add_client(cli, emu, "prodapp", env="production")
    answers = {
        "Connection name:": "shop",
        "Environment:": "sandbox",
        "OAuth client:": "zweb",
        "Scopes:": "all",
        CONFIRM: True,
    }
    result, prompter, _ = wizard(cli, emu, answers)
    assert result.exit_code == 0, result.stderr
    assert prompter.values("OAuth client:") == ["aweb", "zweb", ADD, EDIT]
    assert prompter.defaults["OAuth client:"] == "aweb"
    titles = [c.title for c in prompter.choices["OAuth client:"]]
    assert titles[0].startswith("aweb") and "aweb-client-id" in titles[0]
    assert titles[2] == "+ Add a new OAuth client"
    assert "Edit a client" in titles[3]
    assert listed(cli)[0]["client"] == "zweb"


def test_wizard_edit_a_client_then_use_it(cli: Cli, emu: Emulator, config_dir: Path) -> None:
    """The stored redirect URI is wrong; fix it in the wizard, then connect with it."""
    add_client(cli, emu, "web", uri=redirect_uri(), register_uri=False)
    good = redirect_uri()
    emu.add_client("web-client-id", SECRET, redirect_uris=[good], app_name=APP_NAME)
    answers = {
        "Connection name:": "shop",
        "Environment:": "sandbox",
        "OAuth client:": Seq(EDIT, "web"),
        "Client to edit:": "web",
        "Application type:": "browser",
        "Redirect URI:": good,
        "Application name as registered on Allegro:": DEFAULT,
        "Client ID:": DEFAULT,
        "Client secret (hidden; empty keeps the current one):": "",
        "Scopes:": "all",
        CONFIRM: True,
    }
    result, prompter, browser = wizard(cli, emu, answers)
    assert result.exit_code == 0, result.stderr
    assert "Updated OAuth client 'web'" in result.stderr
    assert prompter.values("Client to edit:") == ["web"]
    assert prompter.defaults["Client ID:"] == "web-client-id"
    assert prompter.defaults["Application name as registered on Allegro:"] == APP_NAME
    assert prompter.asked.count("OAuth client:") == 2
    client = Store(config_dir).load_clients()["web"]
    assert client.redirect_uri == good
    assert client.client_secret == SECRET  # empty answer kept it
    assert browser.statuses == [200]
    assert [c["name"] for c in listed(cli)] == ["shop"]


def test_wizard_answer_no_at_the_summary_exits_130_and_saves_nothing(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    answers = {
        "Connection name:": "shop",
        "Environment:": "sandbox",
        "OAuth client:": "web",
        "Scopes:": "all",
        CONFIRM: False,
    }
    result, prompter, browser = wizard(cli, emu, answers)
    assert result.exit_code == 130
    assert "No connection was saved" in result.stderr
    assert prompter.defaults[CONFIRM] is True
    assert result.stdout == ""
    assert not browser.called
    assert emu.requests == []
    assert nothing_saved(config_dir)


@pytest.mark.parametrize(
    "interrupted", ["Connection name:", "Environment:", "OAuth client:", "Scopes:", CONFIRM]
)
def test_wizard_ctrl_c_at_any_question_exits_130_and_saves_nothing(
    cli: Cli, emu: Emulator, config_dir: Path, interrupted: str
) -> None:
    add_client(cli, emu)
    answers: dict[str, Any] = {
        "Connection name:": "shop",
        "Environment:": "sandbox",
        "OAuth client:": "web",
        "Scopes:": "all",
        CONFIRM: True,
    }
    order = list(answers)
    answers = {k: answers[k] for k in order[: order.index(interrupted)]}
    answers[interrupted] = KeyboardInterrupt()
    result, _, browser = wizard(cli, emu, answers)
    assert result.exit_code == 130
    assert "Cancelled" in result.stderr
    assert result.stdout == ""
    assert not browser.called
    assert nothing_saved(config_dir)


def test_wizard_asks_only_what_the_flags_left_out(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    answers = {"Scopes:": "pick", CHECKBOX: [ORDERS], CONFIRM: DEFAULT}
    result, _, _ = wizard(cli, emu, answers, "shop", "--client", "web")
    assert result.exit_code == 0, result.stderr
    assert listed(cli)[0]["scopes"] == [ORDERS]


def test_wizard_with_every_flag_only_confirms(cli: Cli, emu: Emulator, config_dir: Path) -> None:
    add_client(cli, emu)
    result, _, _ = wizard(cli, emu, {CONFIRM: True}, "shop", "--client", "web", "--all-scopes")
    assert result.exit_code == 0, result.stderr


def test_wizard_refuses_a_taken_name_and_asks_again(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    first, _, _ = wizard(cli, emu, {CONFIRM: True}, "shop", "--client", "web", "--all-scopes")
    assert first.exit_code == 0, first.stderr
    answers = {"Connection name:": ["SHOP", "shop2"], CONFIRM: True}
    result, prompter, _ = wizard(cli, emu, answers, "--client", "web", "--all-scopes")
    assert result.exit_code == 0, result.stderr
    assert "already exists" in prompter.rejected["Connection name:"][0][1]
    assert [c["name"] for c in listed(cli)] == ["shop", "shop2"]


def test_wizard_with_a_device_client_uses_the_device_flow(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, "tv", kind="device")
    answers = {
        "Connection name:": "shop",
        "Environment:": "sandbox",
        "OAuth client:": "tv",
        "Scopes:": "all",
        CONFIRM: True,
    }
    prompter = SequencePrompter(answers)
    result = cli(
        "create",
        "--no-browser",
        env=emu_env(emu),
        prompter=prompter,
        stdin_tty=True,
        browser=Browser(),
        sleep=lambda seconds: None,  # the emulator approves at once
    )
    prompter.assert_done()
    assert result.exit_code == 0, result.stderr
    assert "flow:        device" in result.stderr
    assert "enter the code" in result.stderr
    assert listed(cli)[0]["client"] == "tv"


def test_wizard_env_flag_filters_the_clients_and_skips_the_question(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, "web")
    add_client(cli, emu, "prodapp", env="production")
    answers = {"Connection name:": "shop", "OAuth client:": ADD}
    answers_add = {
        "Client name (local):": KeyboardInterrupt(),  # enough: we only look at the menu
    }
    result, prompter, _ = wizard(cli, emu, {**answers, **answers_add}, "--env", "production")
    assert result.exit_code == 130
    assert prompter.values("OAuth client:") == ["prodapp", ADD, EDIT]
    assert nothing_saved(config_dir)


def test_wizard_no_at_the_summary_keeps_an_inline_added_client_and_says_so(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    answers = {
        "Connection name:": "shop",
        "Environment:": "sandbox",
        "OAuth client:": ADD,
        "Client name (local):": "web",
        "Application type:": "device",
        "Application name as registered on Allegro:": DEFAULT,
        "Client ID:": "dev-client-id",
        "Client secret (hidden):": SECRET,
        "Scopes:": "all",
        CONFIRM: False,
    }
    result, _, browser = wizard(cli, emu, answers)
    assert result.exit_code == 130
    assert "Added OAuth client 'web' (sandbox, device)" in result.stderr
    assert "No connection was saved" in result.stderr
    assert "Nothing was saved" not in result.stderr  # the client was
    assert "flow:        device" in result.stderr
    assert "No redirect URI is needed" in result.stderr  # the device-type guide
    assert not browser.called and emu.requests == []
    assert nothing_saved(config_dir)
    assert list(Store(config_dir).load_clients()) == ["web"]
    assert_no_secrets(result)
