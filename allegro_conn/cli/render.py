"""Output: JSON documents, rich tables on a terminal, tab-separated lines when piped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from allegro_conn.runtime import Runtime


def print_json(rt: Runtime, data: Any) -> None:
    indent = 2 if rt.out_is_tty else None
    print(json.dumps(data, indent=indent, ensure_ascii=False), file=rt.out)


RICH_TABLE_LIMIT = 300


def print_table(
    rt: Runtime, headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str
) -> None:
    """A table for people on a terminal; header-less tab-separated lines for pipes."""
    if not rows:
        info(rt, empty)
        return
    if not rt.out_is_tty:
        for row in rows:
            print("\t".join(_one_line(cell) for cell in row), file=rt.out)
        return
    if len(rows) > RICH_TABLE_LIMIT:
        _plain_table(rt, headers, rows)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: '[x]' in a name is not markup
    console = Console(file=rt.out, no_color=bool(rt.env.get("NO_COLOR")), highlight=False)
    console.print(table)


def _plain_table(rt: Runtime, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns without rich: laying out thousands of rows in rich takes seconds."""
    cells = [list(headers)] + [[_one_line(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=rt.out)


def _one_line(cell: str) -> str:
    """A cell of a tab-separated line: no tabs or line breaks inside."""
    return cell.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def print_fields(rt: Runtime, pairs: Sequence[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        print(f"{key + ':':<{width + 1}} {value}", file=rt.out)


def info(rt: Runtime, message: str) -> None:
    """Progress, hints and confirmations: stderr, never stdout; nothing with --quiet,
    except warnings (messages starting with 'warning:')."""
    if rt.quiet and not message.startswith(("warning:", "error:")):
        return
    print(message, file=rt.err)


def needed(rt: Runtime, message: str) -> None:
    """What the user must act on (a URL to open, a code to type): stderr, even with --quiet."""
    print(message, file=rt.err, flush=True)


def relative(seconds: float) -> str:
    """'in 3 h', '5 min ago': coarse, for people."""
    future = seconds >= 0
    s = abs(seconds)
    if s < 90:
        text = f"{int(s)} s"
    elif s < 90 * 60:
        text = f"{round(s / 60)} min"
    elif s < 48 * 3600:
        text = f"{round(s / 3600)} h"
    else:
        text = f"{round(s / 86400)} days"
    return f"in {text}" if future else f"{text} ago"
