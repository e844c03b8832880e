"""Text for a terminal: names from the database or the project printed as they are
could move the cursor, clear lines or reverse text (``\\x1b[2K``, ``\\r``, C1
controls such as ``\\x9b``, bidi overrides such as U+202E). Every human-readable
output passes such values through :func:`escape`; JSON output stays exact.
"""

from __future__ import annotations


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
