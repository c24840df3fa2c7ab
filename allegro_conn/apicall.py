"""`api`: one authenticated REST call (or every page of a list), with Allegro's headers.

No typer, no printing: the command in cli/api.py parses flags into an `ApiRequest`, calls
`call()` and renders the `ApiResult`. Notes meant for people (a 429 being waited out) go
through a callback; HTTP errors are raised as `allegro.ApiError` (exit 1) or `Unavailable`
(exit 5). The access token is only ever put in the Authorization header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO
from urllib.parse import parse_qsl, urlsplit

from allegro_conn import allegro, lifecycle, service
from allegro_conn.errors import Failure, Unavailable, UsageError
from allegro_conn.lifecycle import Live
from allegro_conn.runtime import Runtime

if TYPE_CHECKING:
    import httpx

MAX_RETRIES = 3  # 429s waited out per request before giving up (exit 5)
MAX_WAIT = 60.0  # longest single wait on Retry-After, in seconds
DEFAULT_WAIT = 1.0  # wait when a 429 has no usable Retry-After (doubled each time)
MAX_PAGES = 1000  # --paginate stops here and says so
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_TOKEN_CHARS = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token
PROTECTED_HEADERS = ("authorization", "host", "content-length")


@dataclass
class ApiRequest:
    path: str  # /path?query, or a full URL under the REST base
    method: str | None = None  # default: POST with a body, else GET
    body: bytes | None = None
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    paginate: bool = False


@dataclass
class Page:
    """One HTTP answer, as `-i` shows it."""

    http_version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]


@dataclass
class ApiResult:
    status: int
    content_type: str
    body: bytes  # the raw body (for --paginate: the merged document, as JSON)
    data: Any = None  # the parsed JSON body, when it is JSON
    is_json: bool = False
    pages: int = 1
    truncated: bool = False  # --paginate stopped at MAX_PAGES
    list_field: str | None = None


# -- parsing what the user typed ----------------------------------------------------------------


def parse_query(items: Sequence[str]) -> list[tuple[str, str]]:
    """`KEY=VALUE` strings (the value may be empty or contain '=')."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(
                f"Bad query parameter {item!r}.", "Use -q KEY=VALUE, e.g. -q limit=50."
            )
        pairs.append((key, value))
    return pairs


def parse_headers(items: Sequence[str]) -> list[tuple[str, str]]:
    """`Name: value` strings; the Authorization header is the connection's to set."""
    pairs = []
    for item in items:
        name, sep, value = item.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _TOKEN_CHARS.match(name):
            raise UsageError(f"Bad header {item!r}.", "Use -H 'Name: value'.")
        if any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in value):
            raise UsageError(f"The value of header {name!r} contains control characters.")
        if name.lower() in PROTECTED_HEADERS:
            raise UsageError(
                f"The {name} header cannot be set with -H.",
                "The Authorization header carries the connection's token; pick it with --conn.",
            )
        pairs.append((name, value))
    return pairs


def read_body(spec: str, stdin: TextIO) -> bytes:
    """-d: literal text, `@FILE` (bytes as they are) or `@-` (all of stdin)."""
    if spec == "@-":
        binary: BinaryIO | None = getattr(stdin, "buffer", None)
        return binary.read() if binary is not None else stdin.read().encode("utf-8")
    if spec.startswith("@"):
        path = spec[1:]
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise UsageError(
                f"Cannot read the body from {path!r}: {exc.strerror or exc}.",
                "Use -d @FILE with a readable file, -d @- for stdin, or -d 'JSON'.",
            ) from None
    return spec.encode("utf-8")


def check_method(method: str | None, has_body: bool) -> str:
    chosen = (method or ("POST" if has_body else "GET")).upper()
    if chosen not in METHODS:
        raise UsageError(f"Unknown HTTP method {method!r}.", f"Use one of: {', '.join(METHODS)}.")
    return chosen


def split_target(target: str, base: str) -> tuple[str, list[tuple[str, str]]]:
    """(path, query pairs) of `/path?query` or of a full URL under `base`.

    A full URL elsewhere is refused: the token must never travel to another host.
    """
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in target):
        raise UsageError(f"The path {target!r} contains spaces or control characters.")
    if "://" in target.split("?", 1)[0]:
        url, root = urlsplit(target), urlsplit(base)
        same = (url.scheme, url.netloc.lower()) == (root.scheme, root.netloc.lower())
        prefix = root.path.rstrip("/")
        if not same or not (url.path == prefix or url.path.startswith(prefix + "/")):
            raise UsageError(
                f"{target!r} is not under the connection's REST base {base}.",
                "Pass a path such as /sale/offers; the token is only sent to that base.",
            )
        path = url.path[len(prefix) :] or "/"
        query = url.query
    elif target.startswith("/") and not target.startswith("//"):
        path, _, query = target.partition("?")
    else:
        raise UsageError(f"The path {target!r} must start with '/'.", "Example: /sale/offers")
    return path, parse_qsl(query, keep_blank_values=True)


# -- sending ----------------------------------------------------------------------------------


def retry_after(response: httpx.Response, attempt: int, now: float) -> float:
    """Seconds to wait before retrying a 429: Retry-After (seconds or a date), bounded."""
    raw = response.headers.get("Retry-After", "").strip()
    wait: float | None = None
    if raw:
        try:
            wait = float(raw)
        except ValueError:
            try:
                wait = parsedate_to_datetime(raw).timestamp() - now
            except (TypeError, ValueError, IndexError):
                wait = None
    if wait is None or wait != wait:  # missing, unparsable or NaN: back off
        wait = DEFAULT_WAIT * (2**attempt)
    return min(max(wait, 0.0), MAX_WAIT)


def _headers(live: Live, request: ApiRequest, has_body: bool) -> dict[str, str]:
    headers = allegro.api_headers(live.client, live.tokens.access_token)
    if has_body:
        headers["Content-Type"] = allegro.MEDIA_TYPE
    for name, value in request.headers:  # -H replaces a default of the same name
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value
    return headers


def _unavailable(status: int, response: httpx.Response, retries: int) -> Unavailable:
    lines, _ = allegro.error_lines(response)
    detail = f": {'; '.join(lines)}" if lines else ""
    trace = response.headers.get("Trace-Id")
    trace_text = f" (Trace-Id {trace})" if trace else ""
    if status == 429:
        message = f"Allegro is rate-limiting (HTTP 429, still after {retries} retries){detail}"
    else:
        message = f"Allegro is unavailable (HTTP {status}){detail}"
    return Unavailable(message + trace_text + ".", "Try again later.")


def _send(
    rt: Runtime,
    http: httpx.Client,
    live: Live,
    request: ApiRequest,
    method: str,
    url: str,
    query: list[tuple[str, str]],
    notify: Callable[[str], None],
    on_page: Callable[[Page], None] | None,
) -> httpx.Response:
    import httpx

    has_body = request.body is not None
    headers = _headers(live, request, has_body)
    attempt = 0
    while True:
        try:
            response = http.request(
                method, url, params=tuple(query), headers=headers, content=request.body
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"Cannot reach {httpx.URL(url).host} ({type(exc).__name__}).",
                "Check the network and try again later.",
            ) from None
        if response.status_code == 429 and attempt < MAX_RETRIES:
            wait = retry_after(response, attempt, rt.clock())
            attempt += 1
            notify(
                f"Allegro is rate-limiting (HTTP 429); retrying in {wait:g} s "
                f"({attempt}/{MAX_RETRIES})."
            )
            rt.sleep(wait)
            continue
        break
    if on_page is not None:
        on_page(
            Page(
                response.http_version,
                response.status_code,
                response.reason_phrase,
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
            )
        )
    status = response.status_code
    if status == 429 or status >= 500:
        raise _unavailable(status, response, attempt)
    if status >= 400:
        raise allegro.api_error(response)  # a 401 makes with_token refresh and retry once
    return response


def _parse_json(response: httpx.Response) -> tuple[bool, Any]:
    content_type = response.headers.get("Content-Type", "").lower()
    if not response.content or "json" not in content_type:
        return False, None
    try:
        return True, json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False, None


def list_field(document: Any) -> str:
    """The key of the one list-valued field of a page (e.g. `offers`)."""
    if not isinstance(document, dict):
        raise Failure("--paginate needs a JSON object with a list in it; this is not one.")
    lists = [key for key, value in document.items() if isinstance(value, list)]
    if len(lists) != 1:
        found = ", ".join(lists) if lists else "none"
        raise Failure(
            f"--paginate needs a document with exactly one list field (found: {found}).",
            "Call without --paginate and page with -q offset=N -q limit=M.",
        )
    return str(lists[0])


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def call(
    rt: Runtime,
    name: str,
    request: ApiRequest,
    notify: Callable[[str], None] = lambda _: None,
    on_page: Callable[[Page], None] | None = None,
) -> ApiResult:
    """Send `request` with connection `name`'s token, refreshed as needed."""
    conn = service.get_connection(rt.store, name)
    base = rt.api_base(conn.environment)
    path, query = split_target(request.path, base)
    query += request.query
    method = check_method(request.method, request.body is not None)
    if request.paginate and method != "GET":
        raise UsageError("--paginate works with GET only.")
    url = base + path
    with rt.http() as http:

        def send(pairs: list[tuple[str, str]]) -> httpx.Response:
            def attempt(live: Live) -> httpx.Response:
                return _send(rt, http, live, request, method, url, pairs, notify, on_page)

            return lifecycle.with_token(rt, conn.name, attempt)

        if not request.paginate:
            response = send(query)
            is_json, data = _parse_json(response)
            return ApiResult(
                status=response.status_code,
                content_type=response.headers.get("Content-Type", ""),
                body=response.content,
                data=data,
                is_json=is_json,
            )
        return _paginate(send, query)


def _paginate(
    send: Callable[[list[tuple[str, str]]], httpx.Response], query: list[tuple[str, str]]
) -> ApiResult:
    """Follow offset/limit until totalCount, an empty page, or a short page; one document."""
    fixed = [(k, v) for k, v in query if k != "offset"]
    offset = next((_int(v) for k, v in query if k == "offset"), 0)
    if offset is None:
        raise UsageError("-q offset must be a whole number to --paginate.")
    limits = [_int(v) for k, v in query if k == "limit"]
    limit = limits[-1] if limits else None
    document: dict[str, Any] | None = None
    key = ""
    items: list[Any] = []
    pages = 0
    truncated = False
    content_type = ""
    while True:
        if pages >= MAX_PAGES:
            truncated = True
            break
        response = send([*fixed, ("offset", str(offset))])
        pages += 1
        is_json, page = _parse_json(response)
        if not is_json:
            raise Failure(f"--paginate needs JSON pages; page {pages} is not JSON.")
        if document is None:
            key = list_field(page)
            document = page
            content_type = response.headers.get("Content-Type", "")
        elif not isinstance(page, dict) or not isinstance(page.get(key), list):
            raise Failure(f"Page {pages} has no {key!r} list; stopped.")
        chunk: list[Any] = page[key]
        items.extend(chunk)
        offset += len(chunk)
        total = _int(page.get("totalCount"))
        if not chunk:
            break
        if total is not None:
            if offset >= total:
                break
        elif limit is not None and len(chunk) < limit:
            break
    assert document is not None
    merged = dict(document)
    merged[key] = items
    if "count" in merged:
        merged["count"] = len(items)
    return ApiResult(
        status=200,
        content_type=content_type,
        body=json.dumps(merged, ensure_ascii=False).encode("utf-8"),
        data=merged,
        is_json=True,
        pages=pages,
        truncated=truncated,
        list_field=key,
    )
