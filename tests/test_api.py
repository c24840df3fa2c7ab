"""`api`: authenticated REST calls against the emulator, over real loopback HTTP."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from allegro_conn import apicall
from allegro_conn.allegro import MEDIA_TYPE
from allegro_conn.emulator.rest import OFFER_ID_BASE

if TYPE_CHECKING:
    from tests.helpers_scripting import Connected

pytest_plugins = ["tests.helpers_scripting"]  # the `connected` fixtures

OFFERS = "/sale/offers"


# -- GET, output -------------------------------------------------------------------------------


def test_get_prints_the_body_compact_when_piped(connected: Connected) -> None:
    result = connected.run("api", "/me")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one line: the whole document
    me = json.loads(result.stdout)
    assert me["login"] == "demo-seller"
    assert result.stderr == ""
    connected.assert_no_secret(result.stdout, result.stderr)


def test_get_is_pretty_on_a_terminal(connected: Connected) -> None:
    result = connected.run("api", "/me", stdout_tty=True)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("{\n  ")
    assert json.loads(result.stdout)["login"] == "demo-seller"


def test_get_sends_allegros_headers_and_the_connections_token(connected: Connected) -> None:
    result = connected.run("api", OFFERS, "--conn", "shop", "-q", "limit=3", "-q", "offset=5")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert [o["id"] for o in body["offers"]] == [str(OFFER_ID_BASE + n) for n in (6, 7, 8)]
    [request] = connected.emu.find(path=OFFERS)
    assert request.method == "GET"
    assert request.query == {"limit": "3", "offset": "5"}
    assert request.headers["accept"] == MEDIA_TYPE
    assert request.headers["authorization"] == f"Bearer {connected.access_token()}"
    assert request.headers["user-agent"].startswith("Shop-App/")
    assert "content-type" not in request.headers  # no body, no Content-Type


def test_the_query_may_also_be_in_the_path(connected: Connected) -> None:
    result = connected.run("api", f"{OFFERS}?limit=2", "-q", "offset=1")
    assert result.exit_code == 0, result.stderr
    [request] = connected.emu.find(path=OFFERS)
    assert request.query == {"limit": "2", "offset": "1"}


def test_a_full_url_under_the_rest_base_is_accepted(connected: Connected) -> None:
    result = connected.run("api", f"{connected.emu.url}/me")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["login"] == "demo-seller"


@pytest.mark.parametrize(
    "target",
    ["me", "https://example.com/me", "http://127.0.0.1:1/me", "//example.com/me", "/a b"],
)
def test_a_path_elsewhere_is_a_usage_error_and_nothing_is_sent(
    connected: Connected, target: str
) -> None:
    result = connected.run("api", target)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert connected.emu.requests == []


def test_without_conn_the_default_connection_is_used(connected: Connected) -> None:
    connected.create("other")
    assert connected.run("default", "other").exit_code == 0
    connected.emu.clear_requests()
    result = connected.run("api", "/me")
    assert result.exit_code == 0, result.stderr
    [request] = connected.emu.find(path="/me")
    assert request.headers["authorization"] == f"Bearer {connected.access_token('other')}"


def test_an_unknown_connection_is_a_usage_error(connected: Connected) -> None:
    result = connected.run("api", "/me", "--conn", "nope")
    assert result.exit_code == 2
    assert "nope" in result.stderr


# -- bodies ------------------------------------------------------------------------------------


def test_post_with_a_body_from_stdin(connected: Connected) -> None:
    payload = {"name": "Nowa oferta – żółć", "sellingMode": {"price": {"amount": "12.00"}}}
    text = json.dumps(payload, ensure_ascii=False)
    result = connected.run("api", "/sale/product-offers", "-d", "@-", input=text)
    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["name"] == payload["name"]
    [request] = connected.emu.find(path="/sale/product-offers")
    assert request.method == "POST"  # the default with a body
    assert request.headers["content-type"] == MEDIA_TYPE
    assert request.headers["accept"] == MEDIA_TYPE
    assert request.json() == payload


def test_body_literal_and_from_a_file_with_an_explicit_method(
    connected: Connected, tmp_path: Path
) -> None:
    result = connected.run("api", OFFERS, "-X", "post", "-d", '{"name": "literal"}')
    assert result.exit_code == 0, result.stderr
    body_file = tmp_path / "offer.json"
    body_file.write_bytes(b'{"name": "from a file"}')
    result = connected.run("api", OFFERS, "--method", "POST", "--data", f"@{body_file}")
    assert result.exit_code == 0, result.stderr
    names = [r.json()["name"] for r in connected.emu.find(path=OFFERS, method="POST")]
    assert names == ["literal", "from a file"]


def test_an_unreadable_body_file_is_a_usage_error(connected: Connected, tmp_path: Path) -> None:
    result = connected.run("api", OFFERS, "-d", f"@{tmp_path / 'missing.json'}")
    assert result.exit_code == 2
    assert "missing.json" in result.stderr
    assert connected.emu.requests == []


def test_an_unknown_method_is_a_usage_error(connected: Connected) -> None:
    result = connected.run("api", OFFERS, "-X", "FETCH")
    assert result.exit_code == 2
    assert "FETCH" in result.stderr


# -- headers, -i ---------------------------------------------------------------------------------


def test_header_adds_and_replaces_defaults_case_insensitively(connected: Connected) -> None:
    result = connected.run("api", "/me", "-H", "Accept-Language: en-US")
    assert result.exit_code == 0, result.stderr
    [request] = connected.emu.find(path="/me")
    assert request.headers["accept-language"] == "en-US"
    connected.emu.clear_requests()
    # the emulator insists on the vnd media type, like Allegro: replacing Accept shows as 406
    result = connected.run("api", "/me", "-H", "accept: application/json")
    assert result.exit_code == 1
    assert "NotAcceptableException" in result.stderr
    [request] = connected.emu.find(path="/me")
    assert request.headers["accept"] == "application/json"


@pytest.mark.parametrize(
    "header", ["Authorization: Bearer stolen", "no colon", "Bad Name: x", "Host: evil"]
)
def test_bad_or_forbidden_headers_are_usage_errors(connected: Connected, header: str) -> None:
    result = connected.run("api", "/me", "-H", header)
    assert result.exit_code == 2
    assert connected.emu.requests == []


def test_include_shows_status_and_headers_on_stderr_only(connected: Connected) -> None:
    result = connected.run("api", "/me", "-i")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("HTTP/1.1 200 OK\n")
    assert "Trace-Id: " in result.stderr
    assert f"Content-Type: {MEDIA_TYPE}" in result.stderr
    assert json.loads(result.stdout)["login"] == "demo-seller"
    connected.assert_no_secret(result.stdout, result.stderr)


# -- errors --------------------------------------------------------------------------------------


def test_a_404_prints_allegros_error_and_the_trace_id_and_exits_1(connected: Connected) -> None:
    result = connected.run("api", "/sale/offers/123")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "error: Allegro answered HTTP 404 to GET /sale/offers/123"
    assert "NotFoundException: Not found" in lines
    [request] = connected.emu.find(path="/sale/offers/123")
    assert f"Trace-Id: {request.trace_id}" in lines
    connected.assert_no_secret(result.stderr)


def test_a_422_names_allegros_code(connected: Connected) -> None:
    result = connected.run("api", OFFERS, "-q", "limit=0")
    assert result.exit_code == 1
    assert "VALIDATION_ERROR: Invalid value of 'limit'" in result.stderr


def test_a_429_is_waited_out_per_retry_after(connected: Connected) -> None:
    slept: list[float] = []
    connected.emu.fail_next(429, count=2, retry_after=1.5)
    result = connected.run("api", "/me", sleep=slept.append)
    assert result.exit_code == 0, result.stderr
    assert slept == [1.5, 1.5]
    assert json.loads(result.stdout)["login"] == "demo-seller"
    assert "rate-limiting" in result.stderr
    assert connected.emu.count(path="/me") == 3


def test_a_429_that_does_not_end_exits_5_after_three_waits(connected: Connected) -> None:
    slept: list[float] = []
    connected.emu.fail_next(429, count=100, retry_after=2)
    result = connected.run("api", "/me", sleep=slept.append)
    assert result.exit_code == 5
    assert slept == [2.0] * apicall.MAX_RETRIES
    assert connected.emu.count(path="/me") == apicall.MAX_RETRIES + 1
    assert result.stdout == ""
    assert "RateLimitExceedException" in result.stderr
    assert "Trace-Id" in result.stderr


def test_a_429_without_retry_after_backs_off(connected: Connected) -> None:
    slept: list[float] = []
    connected.emu.fail_next(429, count=3)
    result = connected.run("api", "/me", sleep=slept.append)
    assert result.exit_code == 0, result.stderr
    assert slept == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_exits_5_without_retrying(connected: Connected, status: int) -> None:
    connected.emu.fail_next(status)
    result = connected.run("api", "/me", sleep=lambda s: pytest.fail("no wait on 5xx"))
    assert result.exit_code == 5
    assert f"HTTP {status}" in result.stderr
    assert connected.emu.count(path="/me") == 1


def test_an_unreachable_host_exits_5(connected: Connected) -> None:
    from tests.helpers_scripting import free_port

    result = connected.run(
        "api", "/me", env={"ALLEGRO_CONN_API_URL": f"http://127.0.0.1:{free_port()}"}
    )
    assert result.exit_code == 5
    assert "127.0.0.1" in result.stderr
    connected.assert_no_secret(result.stderr)


def test_a_401_refreshes_once_and_retries(fresh_connected: Connected) -> None:
    store = fresh_connected.store
    tokens = store.read_tokens("shop")
    assert tokens is not None
    # a token that looks valid locally but that Allegro no longer knows
    store.write_tokens("shop", replace(tokens, access_token=tokens.access_token + "x"))
    result = fresh_connected.run("api", "/me")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["login"] == "demo-seller"
    assert fresh_connected.emu.count(grant_type="refresh_token") == 1
    assert [r.status for r in fresh_connected.emu.find(path="/me")] == [401, 200]
    fresh_connected.assert_no_secret(result.stdout, result.stderr)


def test_a_rejected_refresh_exits_4(fresh_connected: Connected) -> None:
    fresh_connected.emu.revoke_user_tokens()
    result = fresh_connected.run("api", "/me")
    assert result.exit_code == 4
    assert "reauth shop" in result.stderr


# -- --paginate ----------------------------------------------------------------------------------


def test_paginate_concatenates_every_page_into_one_document(connected: Connected) -> None:
    result = connected.run("api", OFFERS, "-q", "limit=50", "--paginate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    document = json.loads(result.stdout)
    ids = [o["id"] for o in document["offers"]]
    assert ids == [str(OFFER_ID_BASE + n) for n in range(1, 251)]  # every offer once, in order
    assert document["count"] == 250
    assert document["totalCount"] == 250
    offsets = [r.query["offset"] for r in connected.emu.find(path=OFFERS)]
    assert offsets == ["0", "50", "100", "150", "200"]
    assert all(r.query["limit"] == "50" for r in connected.emu.find(path=OFFERS))


def test_paginate_from_an_offset_with_an_uneven_last_page(connected: Connected) -> None:
    result = connected.run("api", OFFERS, "-q", "limit=100", "-q", "offset=30", "--paginate")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert len(document["offers"]) == 220
    assert document["offers"][0]["id"] == str(OFFER_ID_BASE + 31)
    assert connected.emu.count(path=OFFERS) == 3


def test_paginate_stops_at_the_page_bound_and_says_so(
    connected: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apicall, "MAX_PAGES", 2)
    result = connected.run("api", OFFERS, "-q", "limit=10", "--paginate")
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)["offers"]) == 20
    assert "stopped after 2 pages" in result.stderr
    assert connected.emu.count(path=OFFERS) == 2


def test_paginate_needs_a_document_with_one_list(connected: Connected) -> None:
    result = connected.run("api", "/sale/categories/5", "--paginate")
    assert result.exit_code == 1
    assert "one list field" in result.stderr
    assert result.stdout == ""


def test_paginate_only_with_get(connected: Connected) -> None:
    result = connected.run("api", OFFERS, "--paginate", "-d", "{}")
    assert result.exit_code == 2
    assert connected.emu.requests == []


def test_paginate_waits_out_a_429_in_the_middle(connected: Connected) -> None:
    slept: list[float] = []
    connected.run("api", OFFERS, "-q", "limit=100")  # warm-up: one page
    connected.emu.fail_next(429, retry_after=1, path_prefix=OFFERS)
    result = connected.run("api", OFFERS, "-q", "limit=100", "--paginate", sleep=slept.append)
    assert result.exit_code == 0, result.stderr
    assert slept == [1.0]
    assert len(json.loads(result.stdout)["offers"]) == 250


# -- the pure helpers ------------------------------------------------------------------------------


def test_split_target() -> None:
    base = "https://api.allegro.pl"
    assert apicall.split_target("/sale/offers?limit=5&x=", base) == (
        "/sale/offers",
        [("limit", "5"), ("x", "")],
    )
    assert apicall.split_target("https://api.allegro.pl/me", base) == ("/me", [])
    assert apicall.split_target("https://API.allegro.pl/me?a=1", base) == ("/me", [("a", "1")])
    for bad in ("me", "https://api.allegro.pl.evil.com/me", "http://api.allegro.pl/me"):
        with pytest.raises(apicall.UsageError):
            apicall.split_target(bad, base)


def test_parse_query_keeps_equals_signs_in_values() -> None:
    assert apicall.parse_query(["a=1", "b=x=y", "c="]) == [("a", "1"), ("b", "x=y"), ("c", "")]
    with pytest.raises(apicall.UsageError):
        apicall.parse_query(["novalue"])


# -- output scripts can trust ------------------------------------------------------------------


def test_quiet_drops_notes_but_keeps_errors(connected: Connected) -> None:
    slept: list[float] = []
    connected.emu.fail_next(429, retry_after=1)
    result = connected.run("--quiet", "api", "/me", sleep=slept.append)
    assert result.exit_code == 0
    assert slept == [1.0]
    assert result.stderr == ""  # the "retrying" note is progress: dropped
    result = connected.run("--quiet", "api", "/sale/offers/1")
    assert result.exit_code == 1
    assert "NotFoundException" in result.stderr


def test_piped_output_has_no_escape_codes_and_is_not_wrapped(connected: Connected) -> None:
    result = connected.run("api", OFFERS, "-q", "limit=200", env={"NO_COLOR": "", "COLUMNS": "20"})
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert result.stdout.count("\n") == 1
    assert len(json.loads(result.stdout)["offers"]) == 200
