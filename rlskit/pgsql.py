"""The only module that imports pglast (GPL-3.0-or-later): PostgreSQL's own
scanner and parser, used to split files into statements, fingerprint them,
and parse them for lint rules.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pglast
    from pglast import parser as _parser
else:

    class _Lazy:
        """A module imported on first use: a deploy with nothing to do never parses."""

        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attr: str) -> Any:
            mod = self.__dict__.get("_mod")
            if mod is None:
                import importlib

                mod = self.__dict__["_mod"] = importlib.import_module(self._name)
            return getattr(mod, attr)

    pglast = _Lazy("pglast")
    _parser = _Lazy("pglast.parser")


def __getattr__(name: str) -> Any:
    if name == "ParseError":
        return _parser.ParseError
    raise AttributeError(name)


@dataclass(frozen=True)
class Statement:
    """One statement of a SQL file, with where it starts."""

    text: str
    offset: int  # character offset in the normalised file text
    line: int  # 1-based line of its first character


COMMENT_TOKENS = ("SQL_COMMENT", "C_COMMENT")


class SplitError(Exception):
    """The text cannot be split into statements."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def split(text: str) -> list[Statement]:
    """Split SQL text into statements, the way the server will see them.

    The parser-based split understands ``BEGIN ATOMIC`` bodies; if the parser
    rejects the text (a newer syntax, or a real error the server will name
    precisely) the scanner-based split is used and the server decides.
    """
    try:
        slices = list(pglast.split(text, with_parser=True, only_slices=True))
    except _parser.ParseError:
        slices = _split_by_tokens(text)
    out = []
    line, pos = 1, 0
    for s in slices:
        start = s.start or 0
        stmt = text[s]
        if stmt.strip():
            line += text.count("\n", pos, start)  # incremental: linear in the file size
            pos = start
            out.append(Statement(stmt, start, line))
    return out


def _split_by_tokens(text: str) -> list[slice]:
    """Split at top-level ``;`` tokens, using PostgreSQL's scanner for quoting."""
    try:
        tokens = _parser.scan(text)
    except _parser.ParseError as exc:
        raise SplitError(str(exc), getattr(exc, "location", 0) or 0) from exc
    slices: list[slice] = []
    start: int | None = None
    end = 0
    for t in tokens:
        if t.name in COMMENT_TOKENS:
            continue
        if t.name == "ASCII_59":
            if start is not None:
                slices.append(slice(start, end))
            start = None
            continue
        if start is None:
            start = t.start
        end = t.end + 1
    if start is not None:
        slices.append(slice(start, end))
    return slices


def ends_with_semicolon(text: str) -> bool:
    """True when the last token that is not a comment is ``;``."""
    tokens = [t for t in _parser.scan(text) if t.name not in COMMENT_TOKENS]
    return bool(tokens) and tokens[-1].name == "ASCII_59"


FINGERPRINT_VERSION = "v2"


def fingerprint_v1(text: str) -> str:
    """The first checksum algorithm (kept to verify old records): SHA-256 over the
    token stream, whitespace-insensitive, but the words of comments count."""
    h = hashlib.sha256()
    try:
        tokens = _parser.scan(text)
    except _parser.ParseError:
        h.update(" ".join(text.split()).encode("utf-8"))
        return f"v1:{h.hexdigest()}"
    parts = []
    for t in tokens:
        tok = text[t.start : t.end + 1]
        if t.name in COMMENT_TOKENS:
            tok = " ".join(tok.split())  # whitespace inside a comment is formatting
        parts.append(tok)
    h.update("".join(p + "\x1f" for p in parts).encode("utf-8"))
    return f"v1:{h.hexdigest()}"


def fingerprint(text: str, directives: tuple[str, ...] = ()) -> str:
    """SHA-256 over what the server executes: the token stream without comments
    (whitespace, line endings and comments do not count; string constants,
    identifiers and keywords do), plus the ``directives`` that change how the
    file runs (e.g. ``no-transaction``)."""
    h = hashlib.sha256()
    for d in sorted(directives):
        h.update(f"rlskit:{d}\x1e".encode())
    try:
        tokens = _parser.scan(text)
    except _parser.ParseError:
        # Unscannable text still gets a stable, whitespace-insensitive checksum.
        h.update(" ".join(text.split()).encode("utf-8"))
        return f"{FINGERPRINT_VERSION}:{h.hexdigest()}"
    parts = [text[t.start : t.end + 1] for t in tokens if t.name not in COMMENT_TOKENS]
    h.update("".join(p + "\x1f" for p in parts).encode("utf-8"))
    # Versioned, so a change of the algorithm can still verify old records.
    return f"{FINGERPRINT_VERSION}:{h.hexdigest()}"


def leading_comments(text: str) -> list[tuple[str, int]]:
    """The comments before the first statement, with their character offsets."""
    try:
        tokens = _parser.scan(text)
    except _parser.ParseError:
        return []
    out = []
    for t in tokens:
        if t.name not in COMMENT_TOKENS:
            break
        out.append((text[t.start : t.end + 1], t.start))
    return out


@dataclass(frozen=True)
class TransactionControl:
    """A statement that starts, ends or nests a transaction."""

    kind: str  # BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, ROLLBACK TO, PREPARE TRANSACTION, ...
    plain: bool  # no options (isolation level, AND CHAIN, ...)
    in_body: bool = False  # COMMIT/ROLLBACK inside a DO block's body


_TX_KINDS = {
    "TRANS_STMT_BEGIN": "BEGIN",
    "TRANS_STMT_START": "BEGIN",
    "TRANS_STMT_COMMIT": "COMMIT",
    "TRANS_STMT_ROLLBACK": "ROLLBACK",
    "TRANS_STMT_SAVEPOINT": "SAVEPOINT",
    "TRANS_STMT_RELEASE": "RELEASE",
    "TRANS_STMT_ROLLBACK_TO": "ROLLBACK TO",
    "TRANS_STMT_PREPARE": "PREPARE TRANSACTION",
    "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED",
    "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED",
}
_TX_WORDS = {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"}
_TX_WORDS |= {"prepare", "do"}


_PLAIN_WORD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_$]*)(?![A-Za-z0-9_$])")


def _first_word(text: str) -> str:
    plain = _PLAIN_WORD.match(text)  # most statements start with a bare keyword
    if plain:
        return plain.group(1).lower()
    try:
        tokens = _parser.scan(text)
    except _parser.ParseError:
        return ""
    for t in tokens:
        if t.name not in COMMENT_TOKENS:
            return text[t.start : t.end + 1].lower()
    return ""


def transaction_control(statement: str) -> TransactionControl | None:
    """What ``statement`` does to the transaction, if anything (parser-based:
    ``BEGIN ATOMIC`` bodies, strings and ``PREPARE name AS`` do not count)."""
    word = _first_word(statement)
    if word not in _TX_WORDS:
        return None
    try:
        stmts = parse_json(statement)
    except _parser.ParseError:
        return None
    if len(stmts) != 1:
        return None
    node = stmts[0].get("stmt", {})
    tx = node.get("TransactionStmt")
    if tx is not None:
        kind = _TX_KINDS.get(tx.get("kind", ""), tx.get("kind", "?"))
        return TransactionControl(kind, not tx.get("options") and not tx.get("chain"))
    if "DoStmt" in node:
        found = _plpgsql_transaction_control(statement)
        if found:
            return TransactionControl(found, False, in_body=True)
    return None


def client_copy(statement: str) -> bool:
    """Whether ``statement`` is ``COPY ... FROM STDIN`` or ``TO STDOUT``: data only a
    client such as psql sends or reads, which a migration has not."""
    if _first_word(statement) != "copy":
        return False
    try:
        stmts = parse_json(statement)
    except _parser.ParseError:
        return False
    copy = stmts[0].get("stmt", {}).get("CopyStmt") if len(stmts) == 1 else None
    return copy is not None and not copy.get("filename")


def _plpgsql_transaction_control(statement: str) -> str | None:
    import json

    try:
        data = json.loads(_parser.parse_plpgsql_json(statement))
    except (_parser.ParseError, ValueError):
        return None

    def walk(node: Any) -> str | None:
        if isinstance(node, dict):
            if "PLpgSQL_stmt_commit" in node:
                return "COMMIT"
            if "PLpgSQL_stmt_rollback" in node:
                return "ROLLBACK"
            for v in node.values():
                hit = walk(v)
                if hit:
                    return hit
        elif isinstance(node, list):
            for v in node:
                hit = walk(v)
                if hit:
                    return hit
        return None

    return walk(data)


def relations_of(statement: str) -> list[str]:
    """Names (``schema.table`` or ``table``) of the relations a statement refers to."""
    try:
        tree = pglast.parse_sql(statement)
    except _parser.ParseError:
        return []
    from pglast.visitors import Visitor

    found: list[str] = []

    class _Collect(Visitor):
        def visit_RangeVar(self, ancestors: Any, node: Any) -> None:
            name = f"{node.schemaname}.{node.relname}" if node.schemaname else node.relname
            if name not in found:
                found.append(name)

    _Collect()(tree)
    return found


def parse(text: str) -> Any:
    """Parse SQL into pglast's AST (a tuple of RawStmt nodes)."""
    return pglast.parse_sql(text)


def parse_json(text: str) -> list[dict[str, Any]]:
    """Parse SQL into plain dicts (the JSON form of PostgreSQL's parse tree).

    Each item has ``stmt`` (one key: the node type), ``stmt_location`` and
    ``stmt_len``. Lint rules work on these dicts, so only this module knows pglast.
    """
    import json

    data = json.loads(_parser.parse_sql_json(text))
    stmts: list[dict[str, Any]] = data.get("stmts", [])
    return stmts


def parse_expression(text: str) -> dict[str, Any] | None:
    """Parse one SQL expression (e.g. a policy's ``pg_get_expr`` text) into dicts."""
    try:
        stmts = parse_json(f"SELECT {text}")
    except _parser.ParseError:
        return None
    target = stmts[0]["stmt"]["SelectStmt"]["targetList"][0]["ResTarget"]["val"]
    assert isinstance(target, dict)
    return target


def parse_plpgsql(create_function_sql: str) -> dict[str, Any] | None:
    """Parse a ``CREATE FUNCTION ... LANGUAGE plpgsql`` (or ``DO``) body into dicts."""
    import json

    try:
        data = json.loads(_parser.parse_plpgsql_json(create_function_sql))
    except (_parser.ParseError, ValueError):
        return None
    if not data:
        return None
    fn = data[0].get("PLpgSQL_function")
    return fn if isinstance(fn, dict) else None


def tokens(text: str) -> list[tuple[str, str]]:
    """PostgreSQL's scanner over ``text``: ``(token name, token text)`` pairs,
    comments included (``SQL_COMMENT``, ``C_COMMENT``)."""
    return [(t.name, text[t.start : t.end + 1]) for t in _parser.scan(text)]


def raw_tokens(text: str) -> list[tuple[str, int, int]]:
    """PostgreSQL's scanner over ``text``: ``(token name, start, end)`` with ``end``
    exclusive, so ``text[start:end]`` is the token."""
    return [(t.name, t.start, t.end + 1) for t in _parser.scan(text)]


@dataclass(frozen=True)
class Dml:
    """What ``rlskit explain`` needs to know about one statement."""

    command: str  # SELECT, INSERT, UPDATE or DELETE
    schema: str | None
    table: str
    alias: str | None
    where: str | None  # the WHERE clause's text, deparsed
    returning: bool
    set_columns: tuple[str, ...]  # UPDATE ... SET targets
    insert_columns: tuple[str, ...]  # INSERT (...) column list
    columns_read: tuple[str, ...]  # column names the statement mentions (any table)
    star: bool  # SELECT * / RETURNING *


def dml(statement: str) -> Dml | None:
    """Describe a single-table SELECT/INSERT/UPDATE/DELETE; None for anything else."""
    from pglast import ast
    from pglast.stream import RawStream
    from pglast.visitors import Visitor

    try:
        tree = pglast.parse_sql(statement)
    except _parser.ParseError:
        return None
    if len(tree) != 1:
        return None
    stmt: Any = tree[0].stmt
    names: list[str] = []
    star = False

    class _Cols(Visitor):
        def visit_ColumnRef(self, ancestors: Any, node: Any) -> None:
            nonlocal star
            last = node.fields[-1]
            if isinstance(last, ast.A_Star):
                star = True
            elif isinstance(last, ast.String) and last.sval and last.sval not in names:
                names.append(last.sval)

    def text(node: Any) -> str | None:
        return None if node is None else str(RawStream()(node))

    if isinstance(stmt, ast.SelectStmt):
        if not stmt.fromClause or len(stmt.fromClause) != 1:
            return None
        rel = stmt.fromClause[0]
        if not isinstance(rel, ast.RangeVar):
            return None
        command, where, returning = "SELECT", stmt.whereClause, False
        sets: tuple[str, ...] = ()
        cols: tuple[str, ...] = ()
    elif isinstance(stmt, ast.UpdateStmt | ast.DeleteStmt | ast.InsertStmt):
        rel = stmt.relation
        command = type(stmt).__name__[:-4].upper()
        where = getattr(stmt, "whereClause", None)
        returning = stmt.returningClause is not None
        dml_stmt: Any = stmt
        sets = tuple(t.name for t in dml_stmt.targetList or ()) if command == "UPDATE" else ()
        cols = tuple(t.name for t in dml_stmt.cols or ()) if command == "INSERT" else ()
    else:
        return None
    _Cols()(stmt)
    return Dml(
        command,
        rel.schemaname,
        rel.relname,
        rel.alias.aliasname if rel.alias else None,
        text(where),
        returning,
        sets,
        cols,
        tuple(names),
        star,
    )


def retarget(statement: str, schema: str, name: str, alias: str) -> str:
    """The same INSERT/UPDATE/DELETE on another relation, aliased as ``alias`` so
    the statement's qualified column references still resolve."""
    from pglast import ast
    from pglast.stream import RawStream

    tree = pglast.parse_sql(statement)
    stmt: Any = tree[0].stmt
    old = stmt.relation
    stmt.relation = ast.RangeVar(
        schemaname=schema,
        relname=name,
        inh=True,
        relpersistence="p",
        alias=old.alias or ast.Alias(aliasname=alias),
    )
    return str(RawStream()(tree[0]))


def operands(expression: str) -> list[str]:
    """The top-level operands of an expression (``a = b`` -> ``[a, b]``; ``x AND y``
    -> ``[x, y]``), to show the values that decided it; [] when there are none."""
    from pglast import ast
    from pglast.stream import RawStream

    try:
        tree = pglast.parse_sql(f"SELECT {expression}")
    except _parser.ParseError:
        return []
    select: Any = tree[0].stmt
    node = select.targetList[0].val
    if isinstance(node, ast.A_Expr) and node.lexpr is not None and node.rexpr is not None:
        parts = [node.lexpr, node.rexpr]
    elif isinstance(node, ast.BoolExpr):
        parts = list(node.args or ())
    else:
        return []
    return [str(RawStream()(p)) for p in parts if not isinstance(p, ast.A_Const)]
