"""What ``rlskit status`` reports: one record per revision and its text form
(light: the fast entry formats it without click or Alembic)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rlskit.term import escape, table


@dataclass(frozen=True)
class RevisionInfo:
    """One revision of the project, oldest first in listings."""

    revision: str
    down_revision: tuple[str, ...]
    message: str
    up: str | None
    down: str | None
    is_head: bool
    applied: bool | None = None  # None: not asked
    applied_at: str | None = None
    edited: bool = False
    down_missing: bool = False  # an SQL revision without its .down.sql


def status_text(infos: Sequence[RevisionInfo]) -> tuple[str, str, int]:
    """(stdout, stderr, exit code without ``--check``) of ``rlskit status``."""
    pending = sum(1 for i in infos if not i.applied)
    edited = [i for i in infos if i.edited]
    no_down = [i for i in infos if i.down_missing]
    rows = []
    for i in infos:
        state = "applied" if i.applied else "pending"
        if i.edited:
            state += " (EDITED)"
        if i.down_missing:
            state += " (NO .down.sql)"
        rows.append((i.revision, state, i.up or "-", i.applied_at or "", i.message))
    out = table(("revision", "state", "file", "applied at", "message"), rows) + "\n"
    out += (
        f"{len(infos) - pending} applied, {pending} pending"
        + (f", {len(edited)} edited after apply" if edited else "")
        + (f", {len(no_down)} without a .down.sql" if no_down else "")
        + "\n"
    )
    err = "".join(
        f"missing: {escape(i.down or '')} (revision {escape(i.revision)} cannot be "
        "downgraded; write it, even if it only holds a comment)\n"
        for i in no_down
    )
    return out, err, 5 if edited else 0
