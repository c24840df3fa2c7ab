"""A tiny stand-in for a browser: fetch a URL and follow its redirects (for the demo and
tests, as `BROWSER="python -m allegro_conn.emulator.browser %s"`). Exits 0 when the final
page answered 2xx."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def follow(url: str, timeout: float = 30.0) -> int:
    """GET `url`, following redirects; the final HTTP status (or 0 when unreachable)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m allegro_conn.emulator.browser URL", file=sys.stderr)
        return 2
    status = follow(args[0])
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
