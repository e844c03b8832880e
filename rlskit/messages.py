"""What ``rlskit upgrade``/``downgrade`` print for their events and summary.

One place for both writers of it: the click layer (:mod:`rlskit.cli`), which prints
each event as it happens, and the console script's express upgrade
(:mod:`rlskit.express`), which prints them once its transaction committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlskit.term import escape


def event_line(kind: str, message: str, data: dict[str, Any]) -> tuple[str, bool] | None:
    """(line, to stderr) for one event, None for an event that prints nothing."""
    if kind == "revision":
        return f"  {escape(message, keep_newlines=True)}", False
    if kind in ("retry", "waiting"):
        return f"  ... {escape(message, keep_newlines=True)}", True
    if kind == "connected":
        where = f"{data.get('url', '')} ({data.get('source', '')})"
        return f"Database: {escape(where)}", False
    if kind == "stripped":
        return f"  note: {escape(message, keep_newlines=True)}", False
    return None


def error_line(exc: Exception) -> str:
    """An error as one paragraph (its newlines kept, control characters escaped)."""
    return f"Error: {escape(str(exc), keep_newlines=True)}"


def summary_line(statements: Sequence[int], where: str, seconds: float, verb: str) -> str:
    """The last line: what ran (one count per revision) and where the database is."""
    if not statements:
        return f"Nothing to do: {where}."
    return (
        f"OK: {verb} ran {len(statements)} revision(s), {sum(statements)} statement(s) in "
        f"{seconds * 1000:.0f} ms; {where}."
    )
