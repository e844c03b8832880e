"""Destructive downgrades: down scripts that drop or empty tables holding rows.

A transactional down script is *observed* (:class:`Watch`): before it runs,
every user table holding rows is recorded with its columns; a savepoint is
taken; after it ran, the tables that are gone (by oid), empty, or missing
columns are its losses. Unconfirmed losses roll back to the savepoint and
raise :class:`DestructiveDowngrade`, naming the statement found by running
the script again one statement at a time (also rolled back).

A no-transaction down script cannot be rolled back, so it is *predicted*
(:func:`check_down`): ``DROP SCHEMA``, ``DROP TABLE``, ``TRUNCATE`` (with
``CASCADE``: the tables referencing it too) and ``DROP OWNED`` are found with
PostgreSQL's own parser (``rlskit.pgsql``); dynamic SQL, renames and
``set_config`` are not seen there.
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

ATTR_ACCEPT = "rlskit.accept_data_loss"  # True, or a set of quoted "schema"."table" confirmed
COUNT_LIMIT = 1_000_000  # count at most this many rows per table


@dataclass(frozen=True)
class Target:
    """Something a statement removes: a schema, a table, or a role's objects."""

    kind: str  # "schema", "table", "truncate", "truncate-cascade", "owned"
    name: tuple[str, ...]  # (schema,), (schema?, table) or (role,)


_ROLE_KEYWORDS = {  # DROP OWNED BY CURRENT_USER and friends: resolved on the server
    "ROLESPEC_CURRENT_USER": "\0current_user",
    "ROLESPEC_CURRENT_ROLE": "\0current_role",
    "ROLESPEC_SESSION_USER": "\0session_user",
}


def qualified(schema: str, table: str) -> str:
    """A table's identity in messages and confirmations: ``"schema"."table"``."""
    from rlskit.quoting import quote_qualified

    return quote_qualified(schema, table)


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
                elif spec.get("roletype") in _ROLE_KEYWORDS:
                    out.append(Target("owned", (_ROLE_KEYWORDS[spec["roletype"]],)))
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
WHERE c.relkind = 'r' AND {where}
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
        role = target.name[0]
        if role.startswith("\0"):  # a keyword (CURRENT_USER ...), not a name
            role = str(cur.execute(f"SELECT {role[1:]}::text").fetchone()[0])
        where = (
            "(pg_get_userbyid(c.relowner) = %s OR pg_get_userbyid(n.nspowner) = %s) "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        )
        return list(cur.execute(_TABLES.format(where=where), (role, role)).fetchall())
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
            name = qualified(schema, table)
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


# -- observing a transactional down script ---------------------------------------------------
SAVEPOINT = "rlskit_downgrade_guard"
BATCH = 250  # EXISTS probes per query


@dataclass(frozen=True)
class TableState:
    """A table as the guard saw it: identity, rows (None: could not be checked), columns."""

    oid: int
    schema: str
    name: str
    rows: bool | None
    columns: tuple[tuple[int, str], ...]

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)


def _probe(conn: Any, tables: list[tuple[int, str, str]]) -> dict[int, bool | None]:
    """Whether each (oid, schema, name) holds at least one row, row security off.

    Each batch runs in a savepoint that is rolled back, so its locks end with it;
    a batch that fails is split until the table that cannot be read is found (None).
    """
    import psycopg
    from psycopg import sql

    out: dict[int, bool | None] = {}
    todo = [tables[i : i + BATCH] for i in range(0, len(tables), BATCH)]
    while todo:
        batch = todo.pop()
        query = sql.SQL("SELECT ARRAY[{}]").format(
            sql.SQL(", ").join(
                sql.SQL("EXISTS (SELECT 1 FROM ONLY {})").format(sql.Identifier(s, n))
                for _, s, n in batch
            )
        )
        try:
            with conn.transaction(force_rollback=True), conn.cursor() as cur:
                cur.execute("RESET SESSION AUTHORIZATION; RESET ROLE")
                cur.execute("SELECT set_config('row_security', 'off', true)")
                found = cur.execute(query).fetchone()[0]
        except psycopg.Error:
            if len(batch) == 1:
                out[batch[0][0]] = None
            else:
                todo += [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
            continue
        out.update((t[0], bool(v)) for t, v in zip(batch, found, strict=True))
    return out


def observe(
    conn: Any, exclude: Iterable[str], oids: Iterable[int] | None = None
) -> dict[int, TableState]:
    """The tables holding rows (or that could not be checked), by oid, on ``conn`` now."""
    from rlskit.catalog import query_text

    params = {"exclude": list(exclude), "oids": None if oids is None else list(oids)}
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute("RESET SESSION AUTHORIZATION; RESET ROLE")
        rows = cur.execute(query_text("guard_tables"), params).fetchall()
    unknown = {int(r[0]) for r in rows if not r[5]}
    held = _probe(conn, [(int(r[0]), r[1], r[2]) for r in rows if r[5]])
    held.update((oid, None) for oid in unknown)
    return {
        int(r[0]): TableState(
            int(r[0]), r[1], r[2], held[int(r[0])], tuple(zip(r[3], r[4], strict=True))
        )
        for r in rows
        if held[int(r[0])] is not False
    }


def compare(
    before: dict[int, TableState], after: dict[int, TableState], exists: set[int]
) -> list[tuple[TableState, str, tuple[str, ...]]]:
    """(table, how, lost columns) for every table of ``before`` that lost rows.

    ``after``: the same tables now, holding rows; ``exists``: the oids still there.
    """
    out: list[tuple[TableState, str, tuple[str, ...]]] = []
    for oid, was in before.items():
        if oid not in exists:
            out.append((was, "dropped", ()))
            continue
        now = after.get(oid)
        if now is None:  # exists, and a check found no row
            if was.rows is True:
                out.append((was, "emptied", ()))
            continue
        kept = {num for num, _ in now.columns}
        gone = tuple(name for num, name in was.columns if num not in kept)
        if gone:
            out.append((was, "columns", gone))
    return out


class Watch:
    """Observe a transactional down script (see the module docstring)."""

    def __init__(self, conn: Any, exclude: Iterable[str]) -> None:
        self.conn = conn
        self.exclude = tuple(exclude)
        self.before = observe(conn, self.exclude)
        conn.execute(f"SAVEPOINT {SAVEPOINT}")

    def _lost(
        self, oids: Iterable[int] | None = None
    ) -> list[tuple[TableState, str, tuple[str, ...]]]:
        before = self.before if oids is None else {o: self.before[o] for o in oids}
        if not before:
            return []
        keys = list(before)
        with self.conn.transaction(force_rollback=True), self.conn.cursor() as cur:
            exists = {
                int(r[0])
                for r in cur.execute(
                    "SELECT oid::bigint FROM pg_class WHERE oid::bigint = ANY (%s)", (keys,)
                )
            }
        after = observe(self.conn, self.exclude, oids=keys) if exists else {}
        return compare(before, after, exists)

    def finish(
        self,
        statements: Iterable[pgsql.Statement],
        sqlfile: SqlFile,
        revision: str,
        accept: bool | Iterable[str],
        per_revision: bool = False,
    ) -> None:
        """After the script ran: keep its work, or roll it back and raise."""
        confirmed = set(accept) if not isinstance(accept, bool) else set()
        lost = [x for x in self._lost() if accept is not True and x[0].qualified not in confirmed]
        if not lost:
            self.conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return
        self.conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        counts = {t.oid: _count(self.conn, t.schema, t.name) for t, _, _ in lost}
        losses = {
            t.oid: DataLoss(t.qualified, counts[t.oid][0], counts[t.oid][1], how, cols)
            for t, how, cols in lost
        }
        found = self._attribute(list(statements), sqlfile, revision, losses)
        self.conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        raise DestructiveDowngrade(found, per_revision, observed=True)

    def _attribute(
        self,
        statements: list[pgsql.Statement],
        sqlfile: SqlFile,
        revision: str,
        losses: dict[int, DataLoss],
    ) -> list[DestructiveStatement]:
        """Run the script again one statement at a time to name the statement of each loss."""
        import psycopg

        found: list[DestructiveStatement] = []
        left = dict(losses)
        try:
            with self.conn.cursor() as cur:
                for st in statements:
                    if not left:
                        break
                    cur.execute(st.text)
                    hit = {t.oid for t, _, _ in self._lost(left)}
                    if hit:
                        found.append(
                            DestructiveStatement(
                                revision,
                                sqlfile.display,
                                st.line,
                                st.text,
                                tuple(
                                    left.pop(o) for o in sorted(hit, key=lambda o: losses[o].table)
                                ),
                            )
                        )
        except psycopg.Error:
            pass  # the losses not yet named are reported without a statement
        if left:
            found.append(
                DestructiveStatement(revision, sqlfile.display, 0, "", tuple(left.values()))
            )
        return found


def offline_warning(sqlfile: SqlFile) -> list[str]:
    """Comment lines for a down script written with ``--sql``: nothing is checked."""
    lines = [
        f"WARNING: {sqlfile.display} is written, not run: rlskit cannot check whether it "
        "drops or empties tables holding rows. Back up first.",
    ]
    for st in sqlfile.statements:
        if targets(st.text):
            text = " ".join(st.text.split())
            lines.append(f"WARNING: line {st.line} drops or empties: {text[:117]}")
    return lines
