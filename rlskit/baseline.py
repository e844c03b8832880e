"""Adopt an existing database: write its authorization state as the first revision.

The objects inside the chosen schemas (tables, types, functions with SECURITY
DEFINER and SET options, triggers, RLS flags, policies, owners, comments,
grants, per-schema default privileges) come from ``pg_dump --schema-only``,
PostgreSQL's own tool, so dependency order and quoting are the server's. What
pg_dump leaves out of a per-schema dump comes from the catalog: roles (created
only where missing), memberships, extensions, global default privileges,
triggers and policies the application put on other schemas' tables (a
platform's ``auth.users``), publications and ``ALTER DATABASE ... SET``.

Privileges are made exact: right before the dump's GRANT/REVOKE section the
revision resets every object in the adopted schemas to PostgreSQL's built-in
default, so whatever default privileges the target database applies at
creation time, the result has the source's privileges, never wider ones.

:func:`fingerprint` and :func:`compare_fingerprints` are an independent check
(``pg_dump`` plus whole-catalog rows, sharing no code with ``drift``) that
``rlskit baseline`` runs on a rebuild before it writes anything.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from rlskit.catalog import DefaultPrivilege, Membership, Policy, Relation, Role, fetch
from rlskit.drift import MIGRATOR, create_policy, role_attrs
from rlskit.errors import RlskitError
from rlskit.quoting import comment_text, quote_ident, quote_literal, quote_qualified
from rlskit.urls import libpq_env, mask_url

# pg_dump's session settings: the timeouts and client options are the deploy's
# business and are dropped; the ones the DDL needs are set transaction-locally
# and put back at the end of the revision, so they do not leak into later ones.
_SET = re.compile(r"^SET (\w+) = (.*);$")
_DROP_SETTINGS = {
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "transaction_timeout",
    "client_encoding",
    "client_min_messages",
    "row_security",
}
_DROP_LINES = (
    re.compile(r"^SELECT pg_catalog\.set_config\('search_path', '', false\);$"),
    re.compile(r"^\\(un)?restrict\b"),  # psql meta-commands of newer pg_dump versions
)
_TOC = re.compile(
    r"^-- (?:Name|Data for Name): (?P<name>.*); Type: (?P<type>.*); "
    r"Schema: (?P<schema>.*); Owner: (?P<owner>.*)$"
)
_DOLLAR = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")
_LIST_SETTINGS = {
    "search_path",
    "temp_tablespaces",
    "session_preload_libraries",
    "local_preload_libraries",
    "shared_preload_libraries",
}
_OBJTYPES = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}

# Reset every object in the adopted schemas to PostgreSQL's built-in privileges
# (or, for the public schema, its initial ones) before the dump's GRANTs run:
# the target's default privileges may have granted more at creation time.
_RESET_ACL = """\
DECLARE
    item record;
BEGIN
    FOR item IN
        WITH ext AS (SELECT objid FROM pg_catalog.pg_depend WHERE deptype = 'e'),
        objects AS (
            SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END
                   || c.oid::pg_catalog.regclass::text AS object,
                   c.relowner AS owner, c.relacl AS acl
            FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (schemas) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND c.oid NOT IN (SELECT objid FROM ext)
            UNION ALL
            SELECT 'TABLE ' || c.oid::pg_catalog.regclass::text, c.relowner, a.attacl
            FROM pg_catalog.pg_attribute a
            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (schemas) AND a.attacl IS NOT NULL
              AND c.oid NOT IN (SELECT objid FROM ext)
            UNION ALL
            SELECT 'ROUTINE ' || p.oid::pg_catalog.regprocedure::text, p.proowner,
                   pg_catalog.acldefault('f', p.proowner)
            FROM pg_catalog.pg_proc p
            JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY (schemas) AND p.oid NOT IN (SELECT objid FROM ext)
            UNION ALL
            SELECT 'ROUTINE ' || p.oid::pg_catalog.regprocedure::text, p.proowner, p.proacl
            FROM pg_catalog.pg_proc p
            JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY (schemas) AND p.oid NOT IN (SELECT objid FROM ext)
            UNION ALL
            SELECT CASE WHEN t.typtype = 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END
                   || t.oid::pg_catalog.regtype::text, t.typowner,
                   coalesce(t.typacl, pg_catalog.acldefault('T', t.typowner))
            FROM pg_catalog.pg_type t
            JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = ANY (schemas) AND t.typtype IN ('d', 'e', 'r', 'm')
              AND t.oid NOT IN (SELECT objid FROM ext)
            UNION ALL
            SELECT 'SCHEMA ' || pg_catalog.quote_ident(n.nspname), n.nspowner, n.nspacl
            FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY (schemas)
        )
        SELECT DISTINCT o.object, a.grantee
        FROM objects o, pg_catalog.aclexplode(o.acl) a
        WHERE a.grantee <> o.owner
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %s', item.object,
            CASE WHEN item.grantee = 0 THEN 'PUBLIC'
                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(item.grantee)) END);
    END LOOP;
    FOR item IN  -- the built-in defaults: PUBLIC may execute routines and use types
        SELECT 'ROUTINE ' || p.oid::pg_catalog.regprocedure::text AS object, 'EXECUTE' AS privilege
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY (schemas)
          AND p.oid NOT IN (SELECT objid FROM pg_catalog.pg_depend WHERE deptype = 'e')
        UNION ALL
        SELECT CASE WHEN t.typtype = 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END
               || t.oid::pg_catalog.regtype::text, 'USAGE'
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = ANY (schemas) AND t.typtype IN ('d', 'e', 'r', 'm')
          AND t.oid NOT IN (SELECT objid FROM pg_catalog.pg_depend WHERE deptype = 'e')
        UNION ALL  -- a schema's initial privileges (public: USAGE for PUBLIC)
        SELECT 'SCHEMA ' || pg_catalog.quote_ident(n.nspname), a.privilege_type
        FROM pg_catalog.pg_namespace n
        JOIN pg_catalog.pg_init_privs i
          ON i.objoid = n.oid AND i.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass,
             pg_catalog.aclexplode(i.initprivs) a
        WHERE n.nspname = ANY (schemas) AND a.grantee = 0
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s TO PUBLIC', item.privilege, item.object);
    END LOOP;
END"""


@dataclass(frozen=True)
class Extra:
    kind: str
    schema: str
    name: str
    detail: str
    value: str
    function_schema: str


@dataclass(frozen=True)
class Platform:
    """What a database has before the project's migrations (``scratch_setup``)."""

    extras: frozenset[Extra]
    policies: frozenset[Policy]
    tables: frozenset[tuple[str, str]]
    roles: frozenset[Role] = frozenset()
    memberships: frozenset[tuple[str, str]] = frozenset()
    default_privileges: frozenset[DefaultPrivilege] = frozenset()


def read_platform(conn: Any, schemas: list[str]) -> Platform:
    """Read what ``conn``'s database (scratch_setup applied, nothing else) provides."""
    return Platform(
        frozenset(fetch(conn, "baseline_extras", Extra, {"schemas": schemas})),
        frozenset(fetch(conn, "policies", Policy)),
        frozenset((r.schema, r.name) for r in fetch(conn, "relations", Relation)),
        frozenset(fetch(conn, "roles", Role)),
        frozenset((m.role, m.member) for m in fetch(conn, "memberships", Membership)),
        frozenset(fetch(conn, "default_privileges", DefaultPrivilege)),
    )


# pg_dump's DEFAULT ACL entry names -> pg_default_acl.defaclobjtype
_DEFAULT_ACL_TYPES = {
    "TABLES": "r",
    "SEQUENCES": "S",
    "FUNCTIONS": "f",
    "TYPES": "T",
    "SCHEMAS": "n",
}


def _default_acl_key(e: _Entry) -> tuple[str, str, str] | None:
    """(role, schema, object type) of a pg_dump DEFAULT ACL entry."""
    m = _TOC.match(e.lines[1]) if len(e.lines) > 1 else None
    kind = e.name.rsplit(" ", 1)[-1]
    if m is None or kind not in _DEFAULT_ACL_TYPES:
        return None
    return m["owner"], e.schema, _DEFAULT_ACL_TYPES[kind]


@dataclass(frozen=True)
class DefaultAcl:
    role: str
    is_me: bool
    objtype: str
    privilege: str
    grantee: str
    grantable: bool
    granted: bool


@dataclass(frozen=True)
class Baseline:
    up: str
    down: str
    roles: list[str]
    schemas: list[str]
    notes: list[str] = field(default_factory=list)  # what the revision leaves out or changes


@dataclass(frozen=True)
class _Entry:
    name: str
    type: str
    schema: str
    lines: list[str]


def dollar_quote(body: str) -> str:
    """``body`` between dollar quotes whose tag does not occur in it."""
    tag, n = "rlskit", 0
    while f"${tag}$" in body:
        n += 1
        tag = f"rlskit{n}"
    return f"${tag}$\n{body}\n${tag}$"


def do_block(body: str) -> str:
    return f"DO {dollar_quote(body)};"


def _role_statement(r: Role) -> str:
    name = quote_literal(r.rolname)
    same = (
        f"rolsuper = {str(r.rolsuper).lower()} AND rolinherit = {str(r.rolinherit).lower()}"
        f" AND rolcreaterole = {str(r.rolcreaterole).lower()}"
        f" AND rolcreatedb = {str(r.rolcreatedb).lower()}"
        f" AND rolcanlogin = {str(r.rolcanlogin).lower()}"
        f" AND rolbypassrls = {str(r.rolbypassrls).lower()} AND rolconnlimit = {int(r.rolconnlimit)}"
    )
    attrs = role_attrs(r)
    return do_block(
        "BEGIN\n"
        f"    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {name}) THEN\n"
        f"        CREATE ROLE {quote_ident(r.rolname)} {attrs};\n"
        f"    ELSIF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {name}\n"
        f"                      AND {same}) THEN\n"
        f"        RAISE NOTICE 'role % exists with other attributes: made %', {name}, "
        f"{quote_literal(attrs)};\n"
        f"        ALTER ROLE {quote_ident(r.rolname)} {attrs};\n"
        "    END IF;\n"
        "END"
    )


def _parse_dump(dump: str) -> tuple[list[str], list[_Entry]]:
    lines = dump.splitlines()
    preamble: list[str] = []
    entries: list[_Entry] = []
    i = 0
    while i < len(lines):
        m = _TOC.match(lines[i])
        if m:
            # the "--" line before the header belongs to the new entry
            if entries and entries[-1].lines and entries[-1].lines[-1] == "--":
                entries[-1].lines.pop()
            elif not entries and preamble and preamble[-1] == "--":
                preamble.pop()
            entries.append(_Entry(m["name"], m["type"], m["schema"], ["--", lines[i]]))
        elif entries:
            entries[-1].lines.append(lines[i])
        else:
            preamble.append(lines[i])
        i += 1
    return preamble, entries


def _statement_lines(lines: Iterable[str]) -> Iterable[tuple[bool, str]]:
    """Each line, and whether it starts outside a dollar-quoted body (only those
    lines are pg_dump's own statements; a function's body is left untouched).
    Quoted names and strings are skipped, so a ``$`` in a name opens nothing."""
    tag: str | None = None
    for line in lines:
        yield tag is None, line
        i = 0
        while i < len(line):
            if tag is not None:
                j = line.find(tag, i)
                if j < 0:
                    break
                i, tag = j + len(tag), None
                continue
            c = line[i]
            if c in "'\"":
                j = i + 1
                while j < len(line):
                    if line[j] == c and line[j + 1 : j + 2] == c:
                        j += 2
                    elif line[j] == c:
                        break
                    else:
                        j += 1
                i = j + 1
            elif line.startswith("--", i):
                break
            elif c == "$" and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
                m = _DOLLAR.match(line, i)
                if m:
                    tag = m.group(0)
                    i = m.end()
                else:
                    i += 1
            else:
                i += 1


def _list_literal(name: str, value: str) -> str:
    """A stored setting value as SQL: list settings element by element."""
    if name not in _LIST_SETTINGS:
        return quote_literal(value)
    items: list[str] = []
    for m in re.finditer(r'\s*("(?:[^"]|"")*"|[^,]*)\s*(?:,|$)', value):
        raw = m.group(1).strip()
        if not raw and m.end() >= len(value):
            break
        if raw.startswith('"') and raw.endswith('"'):
            raw = raw[1:-1].replace('""', '"')
        items.append(quote_literal(raw))
    return ", ".join(items)


def _pg_dump(url: str, schemas: list[str], pg_dump: str) -> str:
    conninfo, env = libpq_env(url)  # the password goes in the child's environment only
    cmd = [pg_dump, "--schema-only", "--quote-all-identifiers", "-d", conninfo]
    for s in schemas:  # a pattern: double quotes make the name literal
        cmd += ["--schema", '"' + s.replace('"', '""') + '"']
    proc = subprocess.run(
        cmd, capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    if proc.returncode != 0:
        err = " ".join(proc.stderr.split()).replace(conninfo, mask_url(conninfo))
        raise RlskitError(
            f"pg_dump could not read the schemas: {err}.",
            "The role in the URL needs to read the catalog and the schemas; nothing was written.",
        )
    return proc.stdout


def build(
    conn: Any, url: str, schemas: list[str], pg_dump: str, platform: Platform | None = None
) -> Baseline:
    """Read the source through ``conn`` and pg_dump; return the revision's SQL.

    ``platform``: what the target has before the revision (the project's
    ``scratch_setup``); what it already has is not repeated, and triggers and
    policies the application put on its tables are carried.
    """
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
    me = conn.execute("SELECT current_user").fetchone()[0]
    # an empty search_path makes the server qualify every name it prints
    conn.execute("SELECT pg_catalog.set_config('search_path', '', false)")
    params = {"schemas": schemas}
    roles = fetch(conn, "baseline_roles", Role, params)
    names = {r.rolname for r in roles}
    members = [
        m
        for m in fetch(conn, "memberships", Membership)
        if m.role in names and m.member in names and not m.creator_grant
    ]
    extras = fetch(conn, "baseline_extras", Extra, params)
    default_acls = fetch(conn, "baseline_default_acl", DefaultAcl)
    foreign_policies = [
        p
        for p in fetch(conn, "policies", Policy)
        if p.schema not in schemas and p.schema not in ("pg_catalog", "information_schema")
    ]
    preamble, entries = _parse_dump(_pg_dump(url, schemas, pg_dump))
    notes: list[str] = []

    # settings: saved first, set locally, put back at the end
    settings: list[str] = []

    def convert(line: str) -> str | None:
        if any(p.match(line) for p in _DROP_LINES):
            return None
        m = _SET.match(line)
        if m:
            if m.group(1) in _DROP_SETTINGS:
                return None
            if m.group(1) not in settings:
                settings.append(m.group(1))
            return f"SET LOCAL {m.group(1)} = {m.group(2)};"
        owner = re.match(r'^ALTER .* OWNER TO ("(?:[^"]|"")*"|\S+);$', line)
        if owner and owner.group(1) == quote_ident(me):
            return None  # owned by whoever runs the migration, as on the source
        policy = _POLICY_TO.match(line)
        if policy:  # a policy for the role running the migration: TO CURRENT_USER, as
            # the templates write it, so the revision does not name the source's migrator
            to = [
                "CURRENT_USER" if r == quote_ident(me) else r
                for r in re.findall(_ROLE, policy.group(2))
            ]
            return policy.group(1) + ", ".join(to) + policy.group(3)
        mine = f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(me)} "
        if line.startswith(mine):
            return "ALTER DEFAULT PRIVILEGES " + line[len(mine) :]
        return line

    def body(es: Iterable[_Entry]) -> list[str]:
        out: list[str] = []
        for e in es:
            for top, line in _statement_lines(e.lines):
                x = convert(line) if top else line
                if x is not None:
                    out.append(x)
        return out

    def public_schema_itself(e: _Entry) -> bool:
        return (e.type == "SCHEMA" and e.name in ("public", '"public"')) or (
            e.type == "COMMENT" and e.name in ("SCHEMA public", 'SCHEMA "public"')
        )

    acl_types = {"ACL", "DEFAULT ACL"}
    objects = [e for e in entries if e.type not in acl_types and not public_schema_itself(e)]
    acls = [e for e in entries if e.type in acl_types]
    if platform is not None:
        # default privileges the platform sets (its roles' in public, say), unchanged by
        # the application: the target has them already, and a migrating role that is
        # not a superuser may not set another role's
        same = {
            (d.role, d.schema, d.object_type)
            for d in fetch(conn, "default_privileges", DefaultPrivilege)
            if d in platform.default_privileges
        }
        acls = [e for e in acls if e.type != "DEFAULT ACL" or _default_acl_key(e) not in same]
        default_acls = [d for d in default_acls if (d.role, "", d.objtype) not in same]
    pre = [x for x in (convert(line) for line in preamble) if x is not None and x.strip()]

    up = [
        "-- Baseline: the roles, schemas, tables, functions, triggers, grants and",
        "-- policies of "
        + comment_text(", ".join(schemas))
        + ", as they were in the source database.",
    ]
    secdef = [e for e in extras if e.kind == "secdef"]
    if secdef:
        fns = ", ".join(f"{e.schema}.{e.name}({e.detail})" for e in secdef)
        notes.append(
            f"SECURITY DEFINER functions owned by {me} (the role that read the source) will be "
            f"owned by, and run as, the role that applies the revision: {fns}."
        )
    role_settings = [e for e in extras if e.kind == "role setting" and e.name in names]
    for e in role_settings:
        notes.append(f"Not carried: ALTER ROLE {e.name} SET {e.value} (role settings).")
    for e in extras:
        if e.kind == "publication" and e.value == "all tables":
            notes.append(f"Not carried: publication {e.name} FOR ALL TABLES.")
        elif e.kind == "publication" and e.value.endswith(" filtered"):
            notes.append(
                f"Publication {e.name}: the row filter or column list of {e.schema}.{e.detail} "
                "is not carried (the table is added whole)."
            )
    header_end = len(up)
    up.append("")
    up += ["-- roles (created where missing; attributes made as on the source)"]
    platform_roles = platform.roles if platform is not None else frozenset()
    platform_members = platform.memberships if platform is not None else frozenset()
    for r in roles:
        if r not in platform_roles:  # the platform's, with these attributes: nothing to do
            up.append(_role_statement(r))
    for m in members:
        if (m.role, m.member) in platform_members:
            continue
        opt = " WITH ADMIN OPTION" if m.admin_option else ""
        up.append(f"GRANT {quote_ident(m.role)} TO {quote_ident(m.member)}{opt};")
    for e in extras:
        if e.kind == "role comment" and e.name in names:
            up.append(f"COMMENT ON ROLE {quote_ident(e.name)} IS {quote_literal(e.value)};")
    up.append("")

    if platform is not None:  # the platform's own extensions and settings are not repeated
        extras = [
            e
            for e in extras
            if e.kind not in ("extension", "db setting", "role setting") or e not in platform.extras
        ]
    exts = []
    for e in extras:
        if e.kind != "extension":
            continue
        if e.schema in schemas or e.schema == "public":
            exts.append(e)
        else:
            notes.append(
                f"Not created: extension {e.name} in schema {e.schema}, which the baseline "
                "does not adopt; the target must provide it (on scratch databases: "
                "[rlskit] scratch_setup)."
            )
    late_ext = {e.schema for e in exts if e.schema in schemas and e.schema != "public"}
    if any(e.schema not in late_ext for e in exts):
        up.append("-- extensions")
        for e in exts:
            if e.schema not in late_ext:
                up.append(
                    f"CREATE EXTENSION IF NOT EXISTS {quote_ident(e.name)} "
                    f"WITH SCHEMA {quote_ident(e.schema)};"
                )
        up.append("")
    dumped = body(objects)
    if late_ext:  # extensions living in an adopted schema: right after it is created
        out: list[str] = []
        for line in dumped:
            out.append(line)
            made = re.match(r'^CREATE SCHEMA "((?:[^"]|"")*)";$', line)
            if made and made.group(1).replace('""', '"') in late_ext:
                s = made.group(1).replace('""', '"')
                out += [
                    f"CREATE EXTENSION IF NOT EXISTS {quote_ident(e.name)} "
                    f"WITH SCHEMA {quote_ident(e.schema)};"
                    for e in exts
                    if e.schema == s
                ]
        dumped = out
    body_lines = [*pre, *dumped]
    # the settings the dump changes are saved before it and restored after it
    save = [
        f"SELECT pg_catalog.set_config({quote_literal('rlskit.baseline_' + s)}, "
        f"pg_catalog.current_setting({quote_literal(s)}), true);"
        for s in settings
    ]
    up += ["-- settings the statements below need, put back at the end of this file", *save]
    up += ["", *body_lines, ""]

    triggers: list[Extra] = []
    for e in extras:
        if e.kind != "foreign trigger":
            continue
        where = f"trigger {e.name} on {e.schema}.{e.detail}"
        if platform is not None and e in platform.extras:
            continue  # the platform's own
        on_platform_table = platform is not None and (e.schema, e.detail) in platform.tables
        app_function = platform is None and e.function_schema in schemas
        if on_platform_table or app_function:
            triggers.append(e)
        else:
            notes.append(f"Not carried: {where} (a table outside the adopted schemas).")
    kept_policies: list[Policy] = []
    for p in foreign_policies:
        if platform is not None and p in platform.policies:
            continue
        if platform is not None and (p.schema, p.table_name) in platform.tables:
            kept_policies.append(p)
        else:
            notes.append(
                f"Not carried: policy {p.name} on {p.schema}.{p.table_name} (a table outside "
                "the adopted schemas; declare the platform in [rlskit] scratch_setup to carry "
                "what the application added to its tables)."
            )
    foreign_policies = kept_policies
    rls: list[str] = []
    if platform is not None:  # RLS switched on/off on the platform's tables
        theirs = {(e.schema, e.name): e for e in platform.extras if e.kind == "foreign rls"}
        for e in extras:
            was = theirs.get((e.schema, e.name))
            if e.kind != "foreign rls" or was is None or was == e:
                continue
            table = quote_qualified(e.schema, e.name)
            if e.detail != was.detail:
                rls.append(f"ALTER TABLE {table} {e.detail} ROW LEVEL SECURITY;")
            if e.value != was.value:
                rls.append(f"ALTER TABLE {table} {e.value} ROW LEVEL SECURITY;")
    if triggers or foreign_policies or rls:
        up.append("-- row level security, triggers and policies on tables of other schemas")
        up += rls
        up += [e.value for e in triggers]
        up += [
            create_policy(replace(p, roles=tuple(MIGRATOR if r == me else r for r in p.roles)))
            for p in foreign_policies
        ]
        up.append("")

    pubs: dict[str, list[Extra]] = {}
    for e in extras:
        if e.kind == "publication" and e.value != "all tables":
            pubs.setdefault(e.name, []).append(e)
    if pubs:
        up.append("-- publications")
    for pub, rows in pubs.items():
        ops = rows[0].value.removesuffix(" filtered")
        create = f"CREATE PUBLICATION {quote_ident(pub)} WITH (publish = {quote_literal(ops)});"
        up.append(
            do_block(
                "BEGIN\n"
                f"    IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = "
                f"{quote_literal(pub)}) THEN\n        {create}\n    END IF;\nEND"
            )
        )
        for e in rows:
            if e.value == "schema":
                up.append(
                    f"ALTER PUBLICATION {quote_ident(pub)} ADD TABLES IN SCHEMA "
                    f"{quote_ident(e.schema)};"
                )
            else:
                up.append(
                    f"ALTER PUBLICATION {quote_ident(pub)} ADD TABLE "
                    f"{quote_qualified(e.schema, e.detail)};"
                )

    db_settings = [e for e in extras if e.kind == "db setting"]
    if db_settings:
        up.append("-- ALTER DATABASE ... SET (on whatever database this runs in)")
    for e in db_settings:
        tail = f" SET {quote_ident(e.name)} = {_list_literal(e.name, e.value)}"
        up.append(
            do_block(
                "BEGIN\n    EXECUTE pg_catalog.format('ALTER DATABASE %I', "
                f"pg_catalog.current_database()) || {quote_literal(tail)};\nEND"
            )
        )

    db_acl = [e for e in extras if e.kind == "database acl"]
    if platform is not None:
        db_acl = [e for e in db_acl if e not in platform.extras]
    if db_acl:
        up.append("-- privileges on the database itself (whatever it is called)")
    for e in db_acl:
        grantee = "PUBLIC" if e.name == "PUBLIC" else quote_ident(e.name)
        to = "TO" if e.value == "GRANT" else "FROM"
        tail = f" {to} {grantee}"
        up.append(
            do_block(
                f"BEGIN\n    EXECUTE pg_catalog.format({quote_literal(e.value + ' ' + e.detail)} "
                f"|| ' ON DATABASE %I', pg_catalog.current_database()) || {quote_literal(tail)};\nEND"
            )
        )

    schema_array = "ARRAY[" + ", ".join(quote_literal(s) for s in schemas) + "]::text[]"
    up += [
        "",
        "-- privileges: first back to PostgreSQL's defaults (the target's default privileges",
        "-- may have granted more when the objects were created), then exactly the source's",
        do_block(_RESET_ACL.replace("ANY (schemas)", f"ANY ({schema_array})")),
        *body(acls),
    ]
    if default_acls:
        up.append("-- default privileges for all schemas")
    for d in default_acls:
        who = "" if d.is_me else f"FOR ROLE {quote_ident(d.role)} "
        grantee = "PUBLIC" if d.grantee == "PUBLIC" else quote_ident(d.grantee)
        what = f"{d.privilege} ON {_OBJTYPES.get(d.objtype, 'TABLES')}"
        if d.granted:
            opt = " WITH GRANT OPTION" if d.grantable else ""
            up.append(f"ALTER DEFAULT PRIVILEGES {who}GRANT {what} TO {grantee}{opt};")
        else:
            up.append(f"ALTER DEFAULT PRIVILEGES {who}REVOKE {what} FROM {grantee};")
    up += [
        "",
        *(
            f"SELECT pg_catalog.set_config({quote_literal(s)}, "
            f"pg_catalog.current_setting({quote_literal('rlskit.baseline_' + s)}), true);"
            for s in settings
        ),
    ]

    down = ["-- Remove what the baseline created."]
    for s in schemas:
        if s == "public":  # keep the schema itself, drop what is in it
            down += _public_drops(conn)
        else:
            down.append(f"DROP SCHEMA {quote_ident(s)} CASCADE;")
    for r in reversed(roles):
        if r not in platform_roles:
            down.append(f"DROP ROLE IF EXISTS {quote_ident(r.rolname)};")
    up[header_end:header_end] = ["-- NOTE: " + comment_text(note) for note in notes]
    text = "\n".join(up)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return Baseline(text, "\n".join(down) + "\n", sorted(names), schemas, notes)


def _public_drops(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' "
        "WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.relname "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i', 'e')) "
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
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e') "
        "ORDER BY 1"
    ).fetchall():
        out.append(f"DROP TYPE IF EXISTS {quote_ident('public')}.{quote_ident(name)} CASCADE;")
    return out


# -- the independent check ---------------------------------------------------------
@dataclass(frozen=True)
class FidelityRow:
    kind: str
    object: str
    value: str | None
    nsp: str | None
    rel: str | None


@dataclass(frozen=True)
class Fingerprint:
    """One database as the self-check compares it."""

    dump: list[str]
    rows: list[FidelityRow]


_CAST = re.compile(r"::(?:\"[^\"]*\"|character varying|[a-z_]+)(?:\[\])?")


def _check_expression(line: str) -> str:
    """A CHECK constraint line without casts and parentheses: PostgreSQL prints
    ``varchar IN (...)`` differently once its own output is parsed again (the
    casts move), so only the rest is compared."""
    if "CONSTRAINT" not in line or "CHECK (" not in line:
        return _policy_roles(line)
    return re.sub(r"[()\s]+", "", _CAST.sub("", line))


_ROLE = r'"(?:[^"]|"")*"|public'
_POLICY_TO = re.compile(
    r'^(CREATE POLICY "(?:[^"]|"")*" ON "(?:[^"]|"")*"\."(?:[^"]|"")*"'
    r"(?: AS (?:PERMISSIVE|RESTRICTIVE))?(?: FOR (?:ALL|SELECT|INSERT|UPDATE|DELETE))? TO )"
    rf"((?:{_ROLE})(?:, (?:{_ROLE}))*)(.*)$"
)


def _policy_roles(line: str) -> str:
    """A CREATE POLICY line with its roles sorted (PostgreSQL lists them by OID)."""
    m = re.match(
        r'^(CREATE POLICY .*? TO )((?:"(?:[^"]|"")*"|public)(?:, (?:"(?:[^"]|"")*"|public))*)(.*)$',
        line,
    )
    if not m:
        return line
    roles = sorted(re.findall(r'"(?:[^"]|"")*"|public', m.group(2)))
    return m.group(1) + ", ".join(roles) + m.group(3)


def fingerprint(
    conn: Any, url: str, schemas: list[str], roles: list[str], pg_dump: str
) -> Fingerprint:
    """One database as comparable lines: its pg_dump of ``schemas`` (minimally
    normalised) and whole-catalog rows (owners, privileges, roles, memberships,
    default privileges, extensions, triggers, policies, comments, publications,
    database settings). The reading role shows as ``<migrator>``."""
    me = conn.execute("SELECT current_user").fetchone()[0]
    conn.execute("SELECT pg_catalog.set_config('search_path', '', false)")
    dump = _pg_dump(url, schemas, pg_dump)
    out = []
    for top, line in _statement_lines(dump.splitlines()):
        if top and (
            not line.strip()
            or line.startswith("--")
            or any(p.match(line) for p in _DROP_LINES)
            or _SET.match(line)
        ):
            continue
        out.append(_check_expression(line.replace(quote_ident(me), '"<migrator>"')))
    return Fingerprint(out, fetch(conn, "fidelity", FidelityRow, {"roles": roles}))


def compare_fingerprints(
    source: Fingerprint, rebuild: Fingerprint, schemas: list[str]
) -> list[str]:
    """Differences, ``-`` only in the source, ``+`` only in the rebuild. Outside the
    adopted schemas only objects both databases have are compared (triggers and
    policies the application put on a platform's tables)."""
    out = [
        "pg_dump: " + line
        for line in difflib.unified_diff(source.dump, rebuild.dump, n=0, lineterm="")
        if line[:1] in "+-" and not line.startswith(("---", "+++"))
    ]
    both = {r.rel for r in source.rows} & {r.rel for r in rebuild.rows}

    def lines(fp: Fingerprint) -> set[str]:
        return {
            f"{r.kind}: {r.object}: {r.value}"
            for r in fp.rows
            if r.nsp is None or r.nsp in schemas or r.rel in both
        }

    a, b = lines(source), lines(rebuild)
    out += [f"-{x}" for x in sorted(a - b)]
    out += [f"+{x}" for x in sorted(b - a)]
    return out
