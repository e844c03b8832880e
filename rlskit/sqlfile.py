"""Reading a migration's .sql file: decode, normalise, split, checksum.

Pure: no database access. ``SqlFile.script`` is what offline mode writes and
``SqlFile.statements`` is what online mode runs, one statement per call, so
both paths execute the same text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path

from rlskit import pgsql
from rlskit.bookkeeping import content_hash
from rlskit.errors import SqlSyntaxError, TransactionControlInFile

# A directive counts only in the file's leading comment block (before the first statement).
NO_TRANSACTION = re.compile(r"^--\s*rlskit:\s*no-transaction\b")

_FIX_TX = (
    "rlskit runs each revision in a transaction of its own (all-or-nothing): remove "
    "the statement. A file may only start with BEGIN and end with COMMIT (rlskit leaves "
    "that pair out and says so); for statements that cannot run in a transaction, "
    "put them in a revision of their own marked `-- rlskit: no-transaction` on its first line."
)
_FIX_NOTX = (
    "A no-transaction revision runs statement by statement in autocommit: remove the "
    "statement, or move the statements that belong together into a transactional revision."
)


def normalise(raw: str) -> str:
    """Strip a BOM and turn CRLF/CR line endings into LF."""
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def directives_of(text: str) -> tuple[str, ...]:
    """The ``-- rlskit:`` directives that change how the file runs (leading comments only)."""
    found = []
    for comment, _ in pgsql.leading_comments(text):
        if NO_TRANSACTION.match(comment):
            found.append("no-transaction")
    return tuple(sorted(set(found)))


@dataclass(frozen=True)
class SqlFile:
    """A parsed migration file."""

    path: Path
    display: str  # path as shown to users, relative to the project
    text: str  # normalised text
    statements: tuple[pgsql.Statement, ...]  # what runs (a stripped BEGIN/COMMIT left out)
    transactional: bool
    stripped: tuple[pgsql.Statement, ...] = ()  # the file's own BEGIN and COMMIT, left out
    content_hash: str = ""  # sha256 of the file's bytes: unchanged bytes need no re-parse
    directives: tuple[str, ...] = ()

    @functools.cached_property
    def checksum(self) -> str:
        """The token fingerprint (comments and layout do not count); computed on first use."""
        return pgsql.fingerprint(self.text, self.directives)

    @classmethod
    def from_text(cls, text: str, display: str, path: Path | None = None) -> SqlFile:
        """Build from text already read."""
        text = normalise(text)
        nul = text.find("\x00")
        if nul != -1:  # libpq and the parser stop reading there: the rest would be lost
            line = text.count("\n", 0, nul) + 1
            raise SqlSyntaxError(display, line, "the file holds a NUL character (0x00)")
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
            if pgsql.client_copy(st.text):
                raise SqlSyntaxError(
                    display,
                    st.line,
                    "COPY ... FROM STDIN / TO STDOUT needs a client to send or read its rows, "
                    "which a migration has not: insert the rows with INSERT, or COPY from a "
                    "file on the server",
                )
        # the directives live in the comments before the first statement: scan only those
        directives = directives_of(text[: statements[0].offset] if statements else text)
        transactional = "no-transaction" not in directives
        statements, stripped = _transaction_control(statements, display, transactional)
        return cls(
            path=path or Path(display),
            display=display,
            text=text,
            statements=statements,
            directives=directives,
            transactional=transactional,
            stripped=stripped,
        )

    @classmethod
    def load(cls, path: Path, display: str) -> SqlFile:
        """Read and parse ``path``; ``display`` names it in messages."""
        return cls.from_bytes(path.read_bytes(), path, display)

    @classmethod
    def from_bytes(cls, data: bytes, path: Path, display: str) -> SqlFile:
        """Parse the bytes read from ``path``."""
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SqlSyntaxError(display, line, "the file is not valid UTF-8") from exc
        return _parsed(raw, display, path, content_hash(data))

    def checksum_as(self, version: str) -> str | None:
        """The checksum under algorithm ``version`` (``v1``, ``v2``), None if unknown."""
        if version == self.checksum.split(":")[0]:
            return self.checksum
        if version == "v1":
            return pgsql.fingerprint_v1(self.text)
        return None

    @functools.cached_property
    def script(self) -> str:
        """The text for an offline script: verbatim (a stripped BEGIN/COMMIT turned
        into a comment), always ending in ``;``."""
        return _script(self.text, self.statements, self.stripped)

    def line_of(self, statement: pgsql.Statement, position: int | None) -> int:
        """Line of a 1-based character ``position`` inside ``statement``."""
        if not position:
            return statement.line
        return statement.line + statement.text.count("\n", 0, max(position - 1, 0))


def _script(
    text: str, statements: tuple[pgsql.Statement, ...], stripped: tuple[pgsql.Statement, ...]
) -> str:
    body = text
    end = 0  # where the last statement that runs ends in ``body``: the rest is scanned for ';'
    for st in sorted((*statements, *stripped), key=lambda s: s.offset):
        if st in stripped:
            note = f"/* rlskit: the file's own {st.text.split()[0].upper()} left out */"
            shift = len(body) - len(text)
            start = st.offset + shift
            body = body[:start] + note + body[start + len(st.text) :]
        else:
            end = st.offset + len(body) - len(text) + len(st.text)
    body = body.rstrip()
    if not body:
        return ""
    if not pgsql.ends_with_semicolon(body[min(end, len(body)) :]):
        body += "\n;"
    return body + "\n"


@functools.lru_cache(maxsize=64)
def _parsed(raw: str, display: str, path: Path, digest: str) -> SqlFile:
    """Parse once per process: an upgrade checks every file before running it."""
    return replace(SqlFile.from_text(raw, display, path), content_hash=digest)


def _transaction_control(
    statements: tuple[pgsql.Statement, ...], display: str, transactional: bool
) -> tuple[tuple[pgsql.Statement, ...], tuple[pgsql.Statement, ...]]:
    """Strip a leading BEGIN + trailing COMMIT pair; refuse any other transaction control."""
    found = [(i, st, pgsql.transaction_control(st.text)) for i, st in enumerate(statements)]
    controls = [(i, st, tc) for i, st, tc in found if tc is not None]
    if not controls:
        return statements, ()
    stripped: tuple[pgsql.Statement, ...] = ()
    if transactional and len(statements) >= 2:
        first, last = controls[0], controls[-1]
        if (
            first[0] == 0
            and first[2].kind == "BEGIN"
            and first[2].plain
            and last[0] == len(statements) - 1
            and last[2].kind == "COMMIT"
            and last[2].plain
        ):
            stripped = (first[1], last[1])
            controls = controls[1:-1]
    if controls:
        i, st, tc = controls[0]
        if tc.in_body:
            reason = f"a DO block that runs {tc.kind} would end rlskit's transaction"
        elif tc.kind == "BEGIN" and not transactional:
            reason = "BEGIN in a no-transaction file"
        elif tc.kind == "BEGIN" and not tc.plain:
            reason = "BEGIN/START TRANSACTION with options (isolation level, ...)"
        elif tc.kind == "BEGIN" and i != 0:
            reason = "BEGIN after the file's first statement"
        elif tc.kind == "BEGIN":
            reason = "BEGIN without a plain COMMIT as the file's last statement"
        elif tc.kind == "COMMIT" and not tc.plain:
            reason = "COMMIT AND CHAIN would commit and continue outside rlskit's transaction"
        else:
            reason = f"{tc.kind} would end or nest rlskit's transaction"
        raise TransactionControlInFile(
            display, st.line, st.text, reason, _FIX_TX if transactional else _FIX_NOTX
        )
    inner = tuple(st for st in statements if st not in stripped)
    return inner, stripped
