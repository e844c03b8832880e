"""Catalog introspection: the authorization state of a database as typed rows.

Each query lives in ``queries/<name>.sql`` and returns rows of one frozen
dataclass. :func:`snapshot` reads them all; two snapshots compare equal when
the roles, memberships, grants, RLS flags, policies, functions and triggers
are the same, whatever the SQL text that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

QUERIES = Path(__file__).parent / "queries"


class _Cursor(Protocol):
    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...


class Connection(Protocol):
    """What the catalog needs: a DB-API connection (psycopg 3)."""

    def cursor(self) -> Any: ...


@cache
def query_text(name: str) -> str:
    """The text of ``queries/<name>.sql``."""
    return (QUERIES / f"{name}.sql").read_text()


@dataclass(frozen=True, order=True)
class Role:
    rolname: str
    rolsuper: bool
    rolinherit: bool
    rolcreaterole: bool
    rolcreatedb: bool
    rolcanlogin: bool
    rolbypassrls: bool
    rolconnlimit: int


@dataclass(frozen=True, order=True)
class Membership:
    role: str
    member: str
    admin_option: bool
    creator_grant: bool = False  # PostgreSQL 16+'s implicit grant to a CREATEROLE creator


@dataclass(frozen=True, order=True)
class Relation:
    schema: str
    name: str
    kind: str
    owner: str
    rls_enabled: bool
    rls_forced: bool
    options: tuple[str, ...] = ()


@dataclass(frozen=True, order=True)
class TablePrivilege:
    schema: str
    name: str
    grantee: str
    privilege: str
    grantable: bool
    grantor: str


@dataclass(frozen=True, order=True)
class ColumnPrivilege:
    schema: str
    name: str
    column_name: str
    grantee: str
    privilege: str
    grantable: bool


@dataclass(frozen=True, order=True)
class Policy:
    schema: str
    table_name: str
    name: str
    command: str
    permissive: bool
    roles: tuple[str, ...]
    using_expr: str | None
    check_expr: str | None


@dataclass(frozen=True, order=True)
class Function:
    schema: str
    name: str
    arguments: str
    result: str | None
    language: str
    security_definer: bool
    config: tuple[str, ...]
    volatility: str
    owner: str
    source: str
    acl: tuple[str, ...]
    definition: str


@dataclass(frozen=True, order=True)
class Trigger:
    schema: str
    table_name: str
    name: str
    definition: str
    enabled: str


@dataclass(frozen=True, order=True)
class Schema:
    name: str
    owner: str
    acl: tuple[str, ...]


@dataclass(frozen=True, order=True)
class DefaultPrivilege:
    role: str
    schema: str
    object_type: str
    acl: tuple[str, ...]


@dataclass(frozen=True, order=True)
class Extension:
    name: str
    schema: str


T = TypeVar("T")


def fetch(conn: Connection, name: str, row_type: type[T], params: Any = None) -> list[T]:
    """Run ``queries/<name>.sql`` and build one ``row_type`` per row."""
    names = [f.name for f in fields(row_type)]  # type: ignore[arg-type]
    with conn.cursor() as cur:
        cur.execute(query_text(name), params)
        out = []
        for row in cur.fetchall():
            values = [tuple(v) if isinstance(v, list) else v for v in row]
            out.append(row_type(**dict(zip(names, values, strict=True))))
        return out


@dataclass(frozen=True)
class Snapshot:
    """The authorization-relevant state of one database (and its cluster's roles)."""

    roles: tuple[Role, ...]
    memberships: tuple[Membership, ...]
    schemas: tuple[Schema, ...]
    relations: tuple[Relation, ...]
    table_privileges: tuple[TablePrivilege, ...]
    column_privileges: tuple[ColumnPrivilege, ...]
    policies: tuple[Policy, ...]
    functions: tuple[Function, ...]
    triggers: tuple[Trigger, ...]
    default_privileges: tuple[DefaultPrivilege, ...]
    extensions: tuple[Extension, ...] = ()

    def diff(self, other: Snapshot) -> list[str]:
        """Human-readable differences, ``-`` only in self, ``+`` only in other."""
        out: list[str] = []
        for f in fields(self):
            mine, theirs = set(getattr(self, f.name)), set(getattr(other, f.name))
            out += [f"- {f.name}: {r}" for r in sorted(mine - theirs)]
            out += [f"+ {f.name}: {r}" for r in sorted(theirs - mine)]
        return out


BOOKKEEPING_TABLES = ("alembic_version", "rlskit_applied_files")
BOOKKEEPING_SCHEMA = "rlskit"  # rlskit's own schema for them (Settings.version_table_schema)


def snapshot(conn: Connection, exclude: tuple[str, ...] = BOOKKEEPING_TABLES) -> Snapshot:
    """Read the whole authorization state of ``conn``'s database.

    Tables named in ``exclude`` (the migration tool's own bookkeeping) are left out.
    """

    def keep(rows: list[T]) -> tuple[T, ...]:
        return tuple(r for r in rows if getattr(r, "name", None) not in exclude)

    return Snapshot(
        roles=tuple(fetch(conn, "roles", Role)),
        memberships=tuple(fetch(conn, "memberships", Membership)),
        schemas=tuple(s for s in fetch(conn, "schemas", Schema) if s.name != BOOKKEEPING_SCHEMA),
        relations=keep(fetch(conn, "relations", Relation)),
        table_privileges=keep(fetch(conn, "table_privileges", TablePrivilege)),
        column_privileges=keep(fetch(conn, "column_privileges", ColumnPrivilege)),
        policies=tuple(fetch(conn, "policies", Policy)),
        functions=tuple(fetch(conn, "functions", Function)),
        triggers=tuple(fetch(conn, "triggers", Trigger)),
        default_privileges=tuple(fetch(conn, "default_privileges", DefaultPrivilege)),
        extensions=tuple(fetch(conn, "extensions", Extension)),
    )
