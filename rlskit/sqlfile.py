"""Reading a migration's .sql file: decode, normalise, split, checksum.

Pure: no database access. ``SqlFile.script`` is what offline mode writes and
``SqlFile.statements`` is what online mode runs, one statement per call, so
both paths execute the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rlskit import pgsql
from rlskit.errors import SqlSyntaxError

NO_TRANSACTION = re.compile(r"^\s*--\s*rlskit:\s*no-transaction\b", re.MULTILINE)


def normalise(raw: str) -> str:
    """Strip a BOM and turn CRLF/CR line endings into LF."""
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    return raw.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class SqlFile:
    """A parsed migration file."""

    path: Path
    display: str  # path as shown to users, relative to the project
    text: str  # normalised text
    statements: tuple[pgsql.Statement, ...]
    checksum: str
    transactional: bool

    @classmethod
    def from_text(cls, text: str, display: str, path: Path | None = None) -> SqlFile:
        """Build from text already read."""
        text = normalise(text)
        try:
            statements = tuple(pgsql.split(text))
        except pgsql.SplitError as exc:
            line = text.count("\n", 0, exc.offset) + 1
            raise SqlSyntaxError(display, line, f"cannot split into statements: {exc}") from exc
        for st in statements:
            if st.text.lstrip().startswith("\\"):
                raise SqlSyntaxError(
                    display, st.line, "psql meta-commands (\\...) are not supported in migrations"
                )
        return cls(
            path=path or Path(display),
            display=display,
            text=text,
            statements=statements,
            checksum=pgsql.fingerprint(text),
            transactional=NO_TRANSACTION.search(text) is None,
        )

    @classmethod
    def load(cls, path: Path, display: str) -> SqlFile:
        """Read and parse ``path``; ``display`` names it in messages."""
        data = path.read_bytes()
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SqlSyntaxError(display, line, "the file is not valid UTF-8") from exc
        return cls.from_text(raw, display, path)

    @property
    def script(self) -> str:
        """The text for an offline script: verbatim, always ending in ``;``."""
        body = self.text.rstrip()
        if not body:
            return ""
        if not pgsql.ends_with_semicolon(body):
            body += "\n;"
        return body + "\n"

    def line_of(self, statement: pgsql.Statement, position: int | None) -> int:
        """Line of a 1-based character ``position`` inside ``statement``."""
        if not position:
            return statement.line
        return statement.line + statement.text.count("\n", 0, max(position - 1, 0))
