"""Destructive downgrades: which statements of a down script drop or empty
tables that hold rows, counted on the live database before the script runs.

``DROP SCHEMA``, ``DROP TABLE``, ``TRUNCATE`` (with ``CASCADE``: the tables
referencing it too) and ``DROP OWNED`` are found with PostgreSQL's own parser
(``rlskit.pgsql``). Dynamic SQL (``EXECUTE`` in a ``DO`` block) cannot be seen.
The runtime calls :func:`check_down` before it runs a down script.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlskit import pgsql
from rlskit.errors import DataLoss, DestructiveDowngrade, DestructiveStatement

if TYPE_CHECKING:
    from alembic.config import Config

    from rlskit.sqlfile import SqlFile

ATTR_ACCEPT = "rlskit.accept_data_loss"  # True, or a set of schema.table names confirmed
COUNT_LIMIT = 1_000_000  # count at most this many rows per table


@dataclass(frozen=True)
class Target:
    """Something a statement removes: a schema, a table, or a role's objects."""

    kind: str  # "schema", "table", "truncate", "truncate-cascade", "owned"
    name: tuple[str, ...]  # (schema,), (schema?, table) or (role,)


def _sval(node: dict[str, Any]) -> str:
    return str(node.get("String", {}).get("sval", ""))


def _names(obj: dict[str, Any]) -> tuple[str, ...]:
    if "List" in obj:
        return tuple(_sval(i) for i in obj["List"].get("items", []))
    return (_sval(obj),)


def targets(statement: str) -> list[Target]:
    """What ``statement`` drops or empties (pure: parses, never connects)."""
    try:
        stmts = pgsql.parse_json(statement)
    except pgsql.ParseError:
        return []
    out: list[Target] = []
    for raw in stmts:
        node = raw.get("stmt", {})
        if "DropStmt" in node:
            d = node["DropStmt"]
            kind = {"OBJECT_SCHEMA": "schema", "OBJECT_TABLE": "table"}.get(d.get("removeType"))
            if kind:
                out += [Target(kind, _names(o)) for o in d.get("objects", [])]
        elif "TruncateStmt" in node:
            t = node["TruncateStmt"]
            kind = "truncate-cascade" if t.get("behavior") == "DROP_CASCADE" else "truncate"
            for rel in t.get("relations", []):
                rv = rel.get("RangeVar", {})
                name = (
                    (rv["schemaname"], rv["relname"]) if rv.get("schemaname") else (rv["relname"],)
                )
                out.append(Target(kind, name))
        elif "DropOwnedStmt" in node:
            for role in node["DropOwnedStmt"].get("roles", []):
                spec = role.get("RoleSpec", {})
                if spec.get("rolename"):
                    out.append(Target("owned", (spec["rolename"],)))
    return out


def search_path_set(statement: str) -> str | None:
    """The value a ``SET [LOCAL] search_path`` statement sets, quoted; else None."""
    from rlskit.quoting import quote_ident

    try:
        stmts = pgsql.parse_json(statement)
    except pgsql.ParseError:
        return None
    for raw in stmts:
        node = raw.get("stmt", {}).get("VariableSetStmt")
        if not node or node.get("name") != "search_path":
            continue
        if node.get("kind") != "VAR_SET_VALUE":
            return ""  # RESET / DEFAULT: the server's default
        names = [a.get("A_Const", {}).get("sval", {}).get("sval") for a in node.get("args", [])]
        return ", ".join(quote_ident(n) for n in names if n)
    return None


_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {where}
ORDER BY 1, 2
"""
_REFERENCING = """
WITH RECURSIVE refs(oid) AS (
    SELECT %s::regclass::oid
    UNION
    SELECT con.conrelid FROM pg_constraint con JOIN refs ON con.confrelid = refs.oid
    WHERE con.contype = 'f'
)
SELECT n.nspname, c.relname FROM refs JOIN pg_class c ON c.oid = refs.oid
JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2
"""


def _tables(cur: Any, target: Target) -> list[tuple[str, str]]:
    """The tables ``target`` would take with it, as (schema, table)."""
    from psycopg import sql

    if target.kind == "schema":
        where = "n.nspname = %s"
        return list(cur.execute(_TABLES.format(where=where), (target.name[0],)).fetchall())
    if target.kind == "owned":
        where = (
            "pg_get_userbyid(c.relowner) = %s "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        )
        return list(cur.execute(_TABLES.format(where=where), (target.name[0],)).fetchall())
    ident = sql.Identifier(*target.name).as_string(cur.connection)
    if cur.execute("SELECT to_regclass(%s)", (ident,)).fetchone()[0] is None:
        return []  # DROP TABLE IF EXISTS of a table that is not there
    if target.kind == "truncate-cascade":
        return list(cur.execute(_REFERENCING, (ident,)).fetchall())
    row = cur.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        (ident,),
    ).fetchone()
    return [tuple(row)] if row else []


def _count(conn: Any, schema: str, table: str) -> tuple[int | None, bool]:
    """Rows of a table (at most COUNT_LIMIT + 1), ignoring row security; None if refused."""
    import psycopg
    from psycopg import sql

    query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) AS s").format(
        sql.Identifier(schema, table)
    )
    try:
        # A savepoint that is always rolled back: row_security = off (RLS must not hide
        # rows from the count; where it would, PostgreSQL refuses) ends with it.
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            cur.execute("SELECT set_config('row_security', 'off', true)")
            n = int(cur.execute(query, (COUNT_LIMIT + 1,)).fetchone()[0])
    except psycopg.Error:
        return None, False
    return (COUNT_LIMIT, True) if n > COUNT_LIMIT else (n, False)


def losses(conn: Any, statement: str, search_path: str | None = None) -> list[DataLoss]:
    """Tables holding rows that ``statement`` would drop or empty, on ``conn`` now.

    ``search_path``: the path an earlier statement of the script set, for bare names.
    """
    found: list[DataLoss] = []
    seen: set[str] = set()
    for target in targets(statement):
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            if search_path is not None:
                cur.execute("SELECT set_config('search_path', %s, true)", (search_path,))
            tables = _tables(cur, target)
        for schema, table in tables:
            name = f"{schema}.{table}"
            if name in seen:
                continue
            seen.add(name)
            rows, capped = _count(conn, schema, table)
            if rows is None or rows > 0:
                found.append(DataLoss(name, rows, capped))
    return found


def accepted(config: Config | None) -> bool | set[str]:
    """What the caller confirmed: ``--yes`` / ``-x yes=1`` (everything), or some tables.

    A program that passes its own connection or engine in
    ``config.attributes["connection"]`` (test suites, pytest-alembic) owns the
    transaction and decides itself, unless it sets ``ATTR_ACCEPT`` to False.
    """
    if config is None:
        return False
    value = config.attributes.get(ATTR_ACCEPT)
    if value is True:
        return True
    if isinstance(value, set | frozenset):
        return set(value)
    if value is None and config.attributes.get("connection") is not None:
        return True
    for item in getattr(config.cmd_opts, "x", None) or []:
        key, _, v = item.partition("=")
        if key.strip() == "yes" and v.strip().lower() in ("1", "true", "yes"):
            return True
    return False


def check_down(
    conn: Any,
    sqlfile: SqlFile,
    revision: str,
    accept: bool | Iterable[str],
    per_revision: bool = False,
) -> None:
    """Raise :class:`DestructiveDowngrade` before a down script loses rows not confirmed.

    ``conn``: the psycopg connection the script will run on (inside its transaction).
    """
    if accept is True:
        return
    confirmed = set(accept) if not isinstance(accept, bool) else set()
    found: list[DestructiveStatement] = []
    path: str | None = None
    for st in sqlfile.statements:
        new_path = search_path_set(st.text)
        if new_path is not None:
            path = (
                new_path
                or conn.execute(
                    "SELECT reset_val FROM pg_settings WHERE name = 'search_path'"
                ).fetchone()[0]
            )
            continue
        lost = [loss for loss in losses(conn, st.text, path) if loss.table not in confirmed]
        if lost:
            found.append(
                DestructiveStatement(revision, sqlfile.display, st.line, st.text, tuple(lost))
            )
    if found:
        raise DestructiveDowngrade(found, per_revision)
