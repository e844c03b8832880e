"""Text for a terminal: names from the database or the project printed as they are
could move the cursor, clear lines or reverse text (``\\x1b[2K``, ``\\r``, C1
controls such as ``\\x9b``, bidi overrides such as U+202E). Every human-readable
output passes such values through :func:`escape`; JSON output stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence


def _escaped(c: str) -> str:
    return c.encode("unicode_escape").decode("ascii")


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character that is not printable written as an escape
    (``\\x1b``, ``\\x9b``, ``\\u202e``, ``\\n``); with ``keep_newlines``, line
    breaks and tabs of a multi-line text stay as they are."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c == " " or (keep_newlines and c in "\n\t") else _escaped(c)
        for c in text
    )


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """A plain text table: a header, a rule, one line per row (cells escaped)."""
    cells = [tuple(escape(c) for c in row) for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(tuple("-" * w for w in widths)), *map(line, cells)])
