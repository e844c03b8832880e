"""Adopt an existing database: write its authorization state as the first revision.

Roles and memberships come from the catalog; everything inside the chosen
schemas (tables, types, functions with SECURITY DEFINER and SET options,
triggers, RLS flags, policies, table/column/sequence/function grants) comes
from ``pg_dump --schema-only --no-owner``, PostgreSQL's own tool for exactly
this, so dependency order and quoting are the server's.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from rlskit.catalog import Membership, Role, fetch
from rlskit.drift import role_attrs
from rlskit.errors import RlskitError
from rlskit.quoting import quote_ident
from rlskit.urls import libpq_env, mask_url

# Session-level settings pg_dump writes at the top: made transaction-local, so they
# end with the migration's transaction. The empty search_path is dropped: the dump
# qualifies every name, and later revisions in the same transaction need theirs.
_SET = re.compile(r"^SET (\w+) = (.*);$")
_DROP_LINES = (
    re.compile(r"^SELECT pg_catalog\.set_config\('search_path', '', false\);$"),
    re.compile(r"^\\(un)?restrict\b"),  # psql meta-commands of newer pg_dump versions
    re.compile(r"^CREATE SCHEMA public;$"),
    re.compile(r"^COMMENT ON SCHEMA public IS"),
)


@dataclass(frozen=True)
class Baseline:
    up: str
    down: str
    roles: list[str]
    schemas: list[str]


def _clean_dump(dump: str) -> str:
    out = []
    for line in dump.splitlines():
        if any(p.match(line) for p in _DROP_LINES):
            continue
        m = _SET.match(line)
        if m:
            line = f"SET LOCAL {m.group(1)} = {m.group(2)};"
        out.append(line)
    return "\n".join(out).strip() + "\n"


def build(conn: Any, url: str, schemas: list[str], pg_dump: str) -> Baseline:
    """Read roles from ``conn`` and the schemas' objects with pg_dump."""
    existing = {
        r[0]
        for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY (%s)", (schemas,)
        ).fetchall()
    }
    missing = [s for s in schemas if s not in existing]
    if missing:
        raise RlskitError(
            f"Schema {missing[0]!r} does not exist in {mask_url(url)}.",
            "`\\dn` in psql lists the schemas; nothing was written.",
        )
    roles = fetch(conn, "baseline_roles", Role, {"schemas": schemas})
    names = {r.rolname for r in roles}
    members = [
        m for m in fetch(conn, "memberships", Membership) if m.role in names and m.member in names
    ]
    conninfo, env = libpq_env(url)  # the password goes in the child's environment only
    cmd = [
        pg_dump,
        "--schema-only",
        "--no-owner",
        "--no-comments",
        "--quote-all-identifiers",
        "-d",
        conninfo,
    ]
    for s in schemas:
        cmd += ["--schema", s]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    if proc.returncode != 0:
        err = " ".join(proc.stderr.split()).replace(conninfo, mask_url(conninfo))
        raise RlskitError(
            f"pg_dump could not read the schemas: {err}.",
            "The role in the URL needs to read the catalog and the schemas; nothing was written.",
        )
    up = [
        "-- Baseline: the roles, schemas, tables, functions, triggers, grants and",
        "-- policies of " + ", ".join(schemas) + ", as they were in the source database.",
        "",
    ]
    for r in roles:
        up.append(f"CREATE ROLE {quote_ident(r.rolname)} {role_attrs(r)};")
    for m in members:
        opt = " WITH ADMIN OPTION" if m.admin_option else ""
        up.append(f"GRANT {quote_ident(m.role)} TO {quote_ident(m.member)}{opt};")
    up += ["", _clean_dump(proc.stdout)]
    down = ["-- Remove what the baseline created."]
    for s in schemas:
        if s == "public":  # keep the schema itself, drop what is in it
            down += _public_drops(conn)
        else:
            down.append(f"DROP SCHEMA {quote_ident(s)} CASCADE;")
    for r in reversed(roles):
        down.append(f"DROP ROLE {quote_ident(r.rolname)};")
    return Baseline("\n".join(up), "\n".join(down) + "\n", sorted(names), schemas)


def _public_drops(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' "
        "WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.relname "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) "
        "ORDER BY 1, 2"
    ).fetchall()
    out = [
        f"DROP {kind} IF EXISTS {quote_ident('public')}.{quote_ident(name)} CASCADE;"
        for kind, name in rows
    ]
    for name, args in conn.execute(
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') "
        "ORDER BY 1, 2"
    ).fetchall():
        out.append(
            f"DROP FUNCTION IF EXISTS {quote_ident('public')}.{quote_ident(name)}({args}) CASCADE;"
        )
    for (name,) in conn.execute(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') "
        "AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') "
        "ORDER BY 1"
    ).fetchall():
        out.append(f"DROP TYPE IF EXISTS {quote_ident('public')}.{quote_ident(name)} CASCADE;")
    return out
