"""Render policy blocks into SQL objects (each with its CREATE and DROP).

Every name goes through :mod:`rlskit.quoting`; every value through
``quote_literal``; types come from allow-lists. The shapes follow FINDINGS
§8: the row's column stands bare on one side of ``=``/``= ANY`` and the other
side is row-independent and wrapped in ``(SELECT ...)`` so it runs once.
Pure: no database access. Output is deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from rlskit.errors import IdentifierError, SpecError
from rlskit.policies.spec import (
    COMMANDS,
    AllowAll,
    Custom,
    Identity,
    LoadedBlock,
    OwnerOnly,
    PolicySet,
    Rbac,
    RoleHierarchy,
    RowFilter,
    ShadowRoles,
    SignedIdentity,
    TenantIsolation,
    split_table,
)
from rlskit.quoting import (
    MAX_IDENTIFIER_BYTES,
    comment_text,
    dollar_quote,
    quote_ident,
    quote_literal,
    sql_comment,
)

KIND_ORDER = (
    "schema",
    "extension",
    "role",
    "membership",
    "table",
    "rls",
    "function",
    "grant",
    "policy",
    "trigger",
    "index",
    "custom",
)
SEARCH_PATH = "SET search_path = pg_catalog, pg_temp"
# An admin gets every row, but not TRUNCATE/TRIGGER/REFERENCES, which RLS does not govern.
ADMIN_TABLE = "SELECT, INSERT, UPDATE, DELETE"
ADMIN_SEQUENCE = "USAGE, SELECT, UPDATE"


@dataclass(frozen=True)
class SqlObject:
    """One database object a template manages."""

    kind: str
    key: str
    create: str
    drop: str
    source: str
    replace: str | None = None  # how to change it in place (CREATE OR REPLACE, ALTER)

    @property
    def order(self) -> tuple[int, str]:
        """Sort key: dependencies first."""
        return (KIND_ORDER.index(self.kind), self.key)


def qtable(name: str) -> str:
    """Quote ``schema.table``."""
    schema, table = split_table(name)
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def roles_sql(roles: Iterable[str]) -> str:
    """``TO`` list: quoted roles, PUBLIC kept as the keyword."""
    return ", ".join("PUBLIC" if r.upper() == "PUBLIC" else quote_ident(r) for r in roles)


def derived_name(*parts: str) -> str:
    """A generated object name; shortened with a hash (never cut silently) when too long."""
    name = "_".join(parts)
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = name.encode()[: MAX_IDENTIFIER_BYTES - 9].decode("utf-8", "ignore")
    return f"{head}_{digest}"


def setting_expr(name: str, type_: str) -> str:
    """An unset or empty setting reads as NULL, which denies (FINDINGS §9)."""
    return f"nullif(current_setting({quote_literal(name)}, true), '')::{type_}"


def identity_expr(identity: Identity) -> str:
    """The caller's id, from a setting or from a role named ``<prefix><id>``."""
    if identity.setting is not None:
        return setting_expr(identity.setting, identity.type)
    if identity.claim is not None:
        fn = f"{quote_ident(identity.claims_schema)}.{quote_ident('claim')}"
        return f"{fn}({quote_literal(identity.claim)})::{identity.type}"
    assert identity.role_prefix is not None
    prefix = quote_literal(identity.role_prefix)
    start = len(identity.role_prefix) + 1
    rest = f"substr(current_user::text, {start})"
    guard = {
        "bigint": f" AND {rest} ~ '^[0-9]{{1,18}}$'",
        "integer": f" AND {rest} ~ '^[0-9]{{1,9}}$'",
        "uuid": f" AND {rest} ~* '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$'",
        "text": "",
    }[identity.type]
    return (
        f"CASE WHEN starts_with(current_user::text, {prefix}){guard} "
        f"THEN {rest}::{identity.type} END"
    )


def _value(v: str | int | bool) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return quote_literal(v)


def row_filter_sql(f: RowFilter) -> str:
    """``"status" = 'published'`` / ``"status" IN ('a', 'b')``."""
    if f.in_ is not None:
        return f"{quote_ident(f.column)} IN ({', '.join(_value(v) for v in f.in_)})"
    assert f.equals is not None
    return f"{quote_ident(f.column)} = {_value(f.equals)}"


class Renderer:
    """Collects the objects of all blocks, refusing conflicting definitions."""

    def __init__(self, policy_set: PolicySet) -> None:
        self.set = policy_set
        self.objects: dict[str, SqlObject] = {}
        # tables a SECURITY DEFINER helper (or a migration-time DO block) reads -> source
        self.definer_reads: dict[str, str] = {}

    # -- helpers -------------------------------------------------------------
    def add(self, obj: SqlObject) -> None:
        old = self.objects.get(obj.key)
        if old is not None and (old.create, old.drop) != (obj.create, obj.drop):
            raise SpecError(
                f"{obj.source}: {obj.key} is already defined differently at {old.source}.",
                "Give one of the blocks another 'name', or merge them.",
            )
        if old is None:
            self.objects[obj.key] = obj

    def name(self, src: str, *parts: str) -> str:
        name = "_".join(parts)
        try:
            quote_ident(name)
        except IdentifierError as exc:
            raise SpecError(
                f"{src}: the generated name {name!r} is invalid: {exc.reason}.",
                "Set a shorter 'name' on the block; rlskit never truncates names.",
            ) from None
        return name

    def rls(self, table: str, src: str) -> None:
        t = qtable(table)
        self.add(
            SqlObject(
                "rls",
                f"rls:{table}",
                f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;\nALTER TABLE {t} FORCE ROW LEVEL SECURITY;",
                f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY;\nALTER TABLE {t} DISABLE ROW LEVEL SECURITY;",
                src,
            )
        )

    def policy(
        self,
        table: str,
        name: str,
        command: str,
        roles: list[str],
        src: str,
        using: str | None,
        check: str | None,
    ) -> None:
        t = qtable(table)
        sql = f"CREATE POLICY {quote_ident(name)} ON {t}\n    AS PERMISSIVE FOR {command} TO {roles_sql(roles)}"
        if using is not None:
            sql += f"\n    USING ({using})"
        if check is not None:
            sql += f"\n    WITH CHECK ({check})"
        self.add(
            SqlObject(
                "policy",
                f"policy:{table}:{name}",
                sql + ";",
                f"DROP POLICY IF EXISTS {quote_ident(name)} ON {t};",
                src,
            )
        )

    def per_command(
        self, table: str, prefix: str, commands: list[str], roles: list[str], src: str, expr: str
    ) -> None:
        """One policy per command; UPDATE checks the new row too, so rows cannot be handed over."""
        for cmd in COMMANDS:
            if cmd not in commands:
                continue
            name = self.name(src, prefix, cmd.lower())
            using = expr if cmd in ("SELECT", "UPDATE", "DELETE") else None
            check = expr if cmd in ("INSERT", "UPDATE") else None
            self.policy(table, name, cmd, roles, src, using, check)

    def index(self, table: str, column: str, src: str) -> None:
        schema, tname = split_table(table)
        name = derived_name(tname, column, "rls_idx")
        self.add(
            SqlObject(
                "index",
                f"index:{table}:{column}",
                f"CREATE INDEX IF NOT EXISTS {quote_ident(name)} ON {qtable(table)} ({quote_ident(column)});",
                f"DROP INDEX IF EXISTS {quote_ident(schema)}.{quote_ident(name)};",
                src,
            )
        )

    def function(
        self,
        schema: str,
        name: str,
        args: str,
        returns: str,
        language: str,
        body: str,
        src: str,
        execute_to: list[str] | None,
        volatility: str = "STABLE",
        reads: tuple[str, ...] = (),
    ) -> str:
        qname = f"{quote_ident(schema)}.{quote_ident(name)}"
        for table in reads:
            self.reads(table, src)
        # Read-only helpers must not keep queries on 1M-row tables from running in
        # parallel (a function is PARALLEL UNSAFE unless it says otherwise).
        parallel = " PARALLEL SAFE" if volatility == "STABLE" else ""
        arg_types = args  # unnamed parameters only: "text", "bigint"
        header = (
            f"CREATE OR REPLACE FUNCTION {qname}({args}) RETURNS {returns}\n"
            f"    LANGUAGE {language} {volatility}{parallel} SECURITY DEFINER\n"
            f"    {SEARCH_PATH}\n"
            f"AS {dollar_quote(body)};\n"
            f"REVOKE ALL ON FUNCTION {qname}({arg_types}) FROM PUBLIC;"
        )
        if execute_to:
            header += (
                f"\nGRANT EXECUTE ON FUNCTION {qname}({arg_types}) TO {roles_sql(execute_to)};"
            )
        self.add(
            SqlObject(
                "function",
                f"function:{schema}.{name}({arg_types})",
                header,
                f"DROP FUNCTION IF EXISTS {qname}({arg_types});",
                src,
                replace=header,
            )
        )
        return qname

    def reads(self, table: str, src: str) -> None:
        """Note that code running as the migrating role reads ``table``."""
        self.definer_reads.setdefault(table, src)

    def definer_policies(self) -> None:
        """A SELECT policy for the migrating role (``TO CURRENT_USER``, the owner of
        the SECURITY DEFINER helpers) on each table the helpers read that the set
        puts under FORCE RLS. A superuser bypasses RLS; a managed-PostgreSQL
        migrating role (no SUPERUSER, no BYPASSRLS) owns the tables and FORCE applies
        to it, so without this its helpers read no rows. No other role is named."""
        for table, src in sorted(self.definer_reads.items()):
            if f"rls:{table}" not in self.objects:
                continue  # no RLS from this set: the helper reads it as before
            name = derived_name(split_table(table)[1], "definer", "select")
            self.add(
                SqlObject(
                    "policy",
                    f"policy:{table}:{name}",
                    sql_comment(
                        "For the role running the migrations only: it owns the SECURITY DEFINER",
                        "helpers that read this table, and FORCE RLS applies to it (no superuser).",
                    )
                    + f"\nCREATE POLICY {quote_ident(name)} ON {qtable(table)}\n"
                    "    AS PERMISSIVE FOR SELECT TO CURRENT_USER\n    USING (true);",
                    f"DROP POLICY IF EXISTS {quote_ident(name)} ON {qtable(table)};",
                    src,
                )
            )

    # -- templates -----------------------------------------------------------
    def tenant_isolation(self, b: TenantIsolation, src: str) -> None:
        schema, tname = split_table(b.table)
        prefix = b.name or tname
        if b.setting is not None:
            declared = self.set.settings.get(b.setting)
            type_ = b.type or (declared.type if declared else "bigint")
            expr = f"{quote_ident(b.column)} = (SELECT {setting_expr(b.setting, type_)})"
        else:
            m = b.membership
            assert m is not None
            type_ = b.type or "bigint"
            fn = derived_name(prefix, "tenant_ids")
            # The caller's id is computed in the policy, outside the SECURITY DEFINER
            # function, where current_user would be the function's owner.
            body = (
                "BEGIN\n"
                f"    RETURN (SELECT coalesce(array_agg(m.{quote_ident(m.tenant_column)}), "
                f"'{{}}')::{type_}[]\n"
                f"            FROM {qtable(m.table)} AS m\n"
                f"            WHERE m.{quote_ident(m.user_column)} = $1);\n"
                "END"
            )
            qfn = self.function(
                schema,
                fn,
                m.user.type,
                f"{type_}[]",
                "plpgsql",
                body,
                src,
                b.roles,
                reads=(m.table,),
            )
            # The cast keeps "= ANY (array)" from being read as "= ANY (subquery)".
            expr = f"{quote_ident(b.column)} = ANY ((SELECT {qfn}({identity_expr(m.user)}))::{type_}[])"
        self.rls(b.table, src)
        self.per_command(b.table, self.name(src, prefix, "tenant"), b.commands, b.roles, src, expr)
        if b.index:
            self.index(b.table, b.column, src)

    def owner_only(self, b: OwnerOnly, src: str) -> None:
        schema, tname = split_table(b.table)
        prefix = b.name or tname
        ident = identity_expr(b.owner)
        if b.through is None:
            expr = f"{quote_ident(b.column)} = (SELECT {ident})"
        else:
            th = b.through
            fn = derived_name(prefix, "owned", split_table(th.table)[1], "ids")
            body = (
                "BEGIN\n"
                f"    RETURN (SELECT coalesce(array_agg(p.{quote_ident(th.key)}), "
                f"'{{}}')::{b.owner.type}[]\n"
                f"            FROM {qtable(th.table)} AS p\n"
                f"            WHERE p.{quote_ident(th.owner_column)} = $1);\n"
                "END"
            )
            qfn = self.function(
                schema,
                fn,
                b.owner.type,
                f"{b.owner.type}[]",
                "plpgsql",
                body,
                src,
                b.roles,
                reads=(th.table,),
            )
            expr = f"{quote_ident(b.column)} = ANY ((SELECT {qfn}({ident}))::{b.owner.type}[])"
        self.rls(b.table, src)
        self.per_command(b.table, self.name(src, prefix, "owner"), b.commands, b.roles, src, expr)
        if b.index:
            self.index(b.table, b.column, src)

    def rbac(self, b: Rbac, src: str) -> None:
        schema, tname = split_table(b.table)
        prefix = b.name or tname
        p = b.permissions
        fn = derived_name(prefix, "has_permission")
        body = (
            "BEGIN\n"
            "    RETURN EXISTS (\n"
            f"        SELECT 1 FROM {qtable(p.table)} AS p\n"
            f"        WHERE p.{quote_ident(p.role_column)}::text = "
            f"{setting_expr(b.role_setting, 'text')}\n"
            f"          AND p.{quote_ident(p.permission_column)}::text = $1);\n"
            "END"
        )
        # Positional $1: a parameter named like a column would silently lose to the column.
        # plpgsql: its query plan is cached for the session; a SQL function's body is
        # planned again in every query (measured: point queries 1.4x -> see bench).
        qfn = self.function(
            schema, fn, "text", "boolean", "plpgsql", body, src, b.roles, reads=(p.table,)
        )
        self.rls(b.table, src)
        for cmd in COMMANDS:
            rules = b.rules.get(cmd)
            if not rules:
                continue
            parts = []
            for r in sorted(rules, key=lambda r: (r.permission, r.where is not None)):
                has = f"(SELECT {qfn}({quote_literal(r.permission)}))"
                parts.append(f"({has} AND {row_filter_sql(r.where)})" if r.where else has)
            expr = "\n        OR ".join(parts)
            name = self.name(src, prefix, "rbac", cmd.lower())
            using = expr if cmd in ("SELECT", "UPDATE", "DELETE") else None
            check = expr if cmd in ("INSERT", "UPDATE") else None
            self.policy(b.table, name, cmd, b.roles, src, using, check)

    def allow_all(self, b: AllowAll, src: str) -> None:
        prefix = b.name or split_table(b.table)[1]
        self.rls(b.table, src)
        self.per_command(b.table, self.name(src, prefix, "all"), b.commands, b.roles, src, "true")

    def role_hierarchy(self, b: RoleHierarchy, src: str) -> None:
        for role, d in sorted(b.roles.items()):
            attrs = "NOLOGIN" + ("" if d.inherit else " NOINHERIT")
            self.add(
                SqlObject(
                    "role",
                    f"role:{role}",
                    f"CREATE ROLE {quote_ident(role)} {attrs};",
                    f"DROP ROLE {quote_ident(role)};",
                    src,
                    replace=f"ALTER ROLE {quote_ident(role)} {attrs};",
                )
            )
            for parent in sorted(d.member_of):
                self.add(
                    SqlObject(
                        "membership",
                        f"membership:{parent}>{role}",
                        f"GRANT {quote_ident(parent)} TO {quote_ident(role)};",
                        f"REVOKE {quote_ident(parent)} FROM {quote_ident(role)};",
                        src,
                    )
                )
        for g in b.grants:
            if g.schema_ is not None:
                target, what = f"SCHEMA {quote_ident(g.schema_)}", f"schema {g.schema_}"
            elif g.table is not None:
                target, what = f"TABLE {qtable(g.table)}", g.table
            else:
                target, what = f"SEQUENCE {qtable(g.sequence or '')}", g.sequence or ""
            privs = sorted({p.upper() for p in g.privileges or []})
            if privs:
                plist = ", ".join(privs)
                self.add(
                    SqlObject(
                        "grant",
                        f"grant:{what}:{g.to}:{plist}",
                        f"GRANT {plist} ON {target} TO {quote_ident(g.to)};",
                        f"REVOKE {plist} ON {target} FROM {quote_ident(g.to)};",
                        src,
                    )
                )
            for priv, cols in sorted((g.columns or {}).items()):
                clist = ", ".join(quote_ident(c) for c in sorted(cols))
                self.add(
                    SqlObject(
                        "grant",
                        f"grant:{what}:{g.to}:{priv.upper()}({','.join(sorted(cols))})",
                        f"GRANT {priv.upper()} ({clist}) ON {target} TO {quote_ident(g.to)};",
                        f"REVOKE {priv.upper()} ({clist}) ON {target} FROM {quote_ident(g.to)};",
                        src,
                    )
                )
        if b.admin is not None:
            a = b.admin
            for table in sorted(a.tables):
                self.add(
                    SqlObject(
                        "grant",
                        f"grant:{table}:{a.role}:ALL",
                        f"GRANT {ADMIN_TABLE} ON TABLE {qtable(table)} TO {quote_ident(a.role)};",
                        f"REVOKE {ADMIN_TABLE} ON TABLE {qtable(table)} FROM {quote_ident(a.role)};",
                        src,
                    )
                )
                self.rls(table, src)
                tname = split_table(table)[1]
                self.policy(
                    table,
                    self.name(src, tname, "admin", "all"),
                    "ALL",
                    [a.role],
                    src,
                    "true",
                    "true",
                )
            for seq in sorted(a.sequences):
                self.add(
                    SqlObject(
                        "grant",
                        f"grant:{seq}:{a.role}:ALL",
                        f"GRANT {ADMIN_SEQUENCE} ON SEQUENCE {qtable(seq)} TO {quote_ident(a.role)};",
                        f"REVOKE {ADMIN_SEQUENCE} ON SEQUENCE {qtable(seq)} FROM {quote_ident(a.role)};",
                        src,
                    )
                )

    def shadow_roles(self, b: ShadowRoles, src: str) -> None:
        schema, tname = split_table(b.users_table)
        prefix = b.name or tname
        pre = quote_literal(b.role_prefix)
        col = quote_ident(b.id_column)
        create_body = (
            "DECLARE\n"
            f"    role_name text := {pre} || NEW.{col};\n"
            "BEGIN\n"
            "    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN\n"
            "        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);\n"
            "    END IF;\n"
            f"    EXECUTE format('GRANT %I TO %I', {quote_literal(b.group_role)}, role_name);\n"
            f"    EXECUTE format('GRANT %I TO %I', role_name, {quote_literal(b.login_role)});\n"
            "    RETURN NULL;\n"
            "END"
        )
        create_fn = self.function(
            schema,
            derived_name(prefix, "create_role"),
            "",
            "trigger",
            "plpgsql",
            create_body,
            src,
            None,
            volatility="VOLATILE",
        )
        t = qtable(b.users_table)
        trig = derived_name(prefix, "create_role")
        backfill_body = (
            "DECLARE\n    r record;\nBEGIN\n"
            f"    FOR r IN SELECT {col} AS id FROM {t} LOOP\n"
            f"        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {pre} || r.id) THEN\n"
            f"            EXECUTE format('CREATE ROLE %I NOLOGIN', {pre} || r.id);\n"
            "        END IF;\n"
            f"        EXECUTE format('GRANT %I TO %I', {quote_literal(b.group_role)}, {pre} || r.id);\n"
            f"        EXECUTE format('GRANT %I TO %I', {pre} || r.id, {quote_literal(b.login_role)});\n"
            "    END LOOP;\nEND"
        )
        backfill = f"DO {dollar_quote(backfill_body)};"
        self.reads(b.users_table, src)  # the backfill runs as the migrating role
        self.add(
            SqlObject(
                "trigger",
                f"trigger:{b.users_table}:{trig}",
                f"CREATE TRIGGER {quote_ident(trig)} AFTER INSERT ON {t}\n"
                f"    FOR EACH ROW EXECUTE FUNCTION {create_fn}();\n" + backfill,
                f"DROP TRIGGER IF EXISTS {quote_ident(trig)} ON {t};",
                src,
            )
        )
        if b.drop_on_delete:
            drop_body = (
                "BEGIN\n"
                f"    EXECUTE format('DROP ROLE IF EXISTS %I', {pre} || OLD.{col});\n"
                "    RETURN NULL;\n"
                "END"
            )
            drop_fn = self.function(
                schema,
                derived_name(prefix, "drop_role"),
                "",
                "trigger",
                "plpgsql",
                drop_body,
                src,
                None,
                volatility="VOLATILE",
            )
            dtrig = derived_name(prefix, "drop_role")
            self.add(
                SqlObject(
                    "trigger",
                    f"trigger:{b.users_table}:{dtrig}",
                    f"CREATE TRIGGER {quote_ident(dtrig)} AFTER DELETE ON {t}\n"
                    f"    FOR EACH ROW EXECUTE FUNCTION {drop_fn}();",
                    f"DROP TRIGGER IF EXISTS {quote_ident(dtrig)} ON {t};",
                    src,
                )
            )

    def signed_identity(self, b: SignedIdentity, src: str) -> None:
        schema = quote_ident(b.schema_)
        keys = f"{schema}.{quote_ident('signing_keys')}"
        # pgcrypto's hmac() lives in this schema, so the functions can name it exactly
        # with a pinned search_path (it fails clearly if pgcrypto is installed elsewhere).
        self.add(
            SqlObject(
                "extension",
                f"extension:pgcrypto:{b.schema_}",
                f"CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA {schema};",
                "DROP EXTENSION IF EXISTS pgcrypto;",
                src,
            )
        )
        self.add(
            SqlObject(
                "schema",
                f"schema:{b.schema_}",
                f"CREATE SCHEMA IF NOT EXISTS {schema};\n"
                f"GRANT USAGE ON SCHEMA {schema} TO {roles_sql(b.roles)};",
                f"DROP SCHEMA IF EXISTS {schema};",
                src,
            )
        )
        self.add(
            SqlObject(
                "table",
                f"table:{b.schema_}.signing_keys",
                f"CREATE TABLE {keys} (\n    id integer PRIMARY KEY,\n    secret bytea NOT NULL "
                "CHECK (length(secret) >= 32),\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
                f"REVOKE ALL ON TABLE {keys} FROM PUBLIC;\n"
                + sql_comment(
                    "The secret is inserted by the database owner, out of band:",
                    f"  INSERT INTO {keys} (id, secret) VALUES (1, decode('<64 hex chars>', 'hex'));",
                ),
                f"DROP TABLE {keys};",
                src,
            )
        )
        verify_body = (
            "SELECT CASE WHEN k.secret IS NOT NULL\n"
            f"            AND encode({schema}.hmac(convert_to(split_part($1, '.', 1), 'UTF8'), "
            "k.secret, 'sha256'), 'hex')\n"
            "                = split_part($1, '.', 2)\n"
            "            AND (c.claims ->> 'exp')::bigint > extract(epoch FROM clock_timestamp())\n"
            "       THEN c.claims -> 'c' END\n"
            f"FROM (SELECT secret FROM {keys} ORDER BY id DESC LIMIT 1) AS k,\n"
            "     LATERAL (SELECT convert_from(decode(translate(split_part($1, '.', 1), '-_', '+/')\n"
            "              || repeat('=', (4 - length(split_part($1, '.', 1)) % 4) % 4), 'base64'),\n"
            "              'UTF8')::jsonb AS claims) AS c\n"
            "WHERE $1 ~ '^[A-Za-z0-9_-]+\\.[0-9a-f]{64}$'"
        )
        # named so that it sorts (and is created) before claim(), which calls it
        self.function(
            b.schema_,
            "check_token",
            "text",
            "jsonb",
            "sql",
            verify_body,
            src,
            None,
            reads=(f"{b.schema_}.signing_keys",),
        )
        claim_body = (
            f"SELECT {schema}.{quote_ident('check_token')}("
            f"nullif(current_setting({quote_literal(b.setting)}, true), '')) ->> $1"
        )
        self.function(b.schema_, "claim", "text", "text", "sql", claim_body, src, b.roles)

    def custom(self, lb: LoadedBlock, b: Custom) -> None:
        from rlskit.policies.custom import render_custom

        create, drop, reads = render_custom(lb.directory, b, self.set, lb.source)
        self.add(SqlObject("custom", f"custom:{b.name}", create, drop, lb.source))
        for table in reads:
            self.reads(table, lb.source)

    def render_block(self, lb: LoadedBlock) -> None:
        b, src = lb.block, lb.source
        try:
            if isinstance(b, TenantIsolation):
                self.tenant_isolation(b, src)
            elif isinstance(b, OwnerOnly):
                self.owner_only(b, src)
            elif isinstance(b, Rbac):
                self.rbac(b, src)
            elif isinstance(b, AllowAll):
                self.allow_all(b, src)
            elif isinstance(b, RoleHierarchy):
                self.role_hierarchy(b, src)
            elif isinstance(b, ShadowRoles):
                self.shadow_roles(b, src)
            elif isinstance(b, SignedIdentity):
                self.signed_identity(b, src)
            elif isinstance(b, Custom):
                self.custom(lb, b)
            else:  # pragma: no cover - every model is dispatched above
                raise SpecError(f"{src}: no renderer for {type(b).__name__}.")
        except IdentifierError as exc:
            raise SpecError(f"{src}: {exc}") from None


def render(policy_set: PolicySet) -> list[SqlObject]:
    """All objects of a policy set, in dependency order."""
    r = Renderer(policy_set)
    for lb in policy_set.blocks:
        r.render_block(lb)
    r.definer_policies()
    return sorted(r.objects.values(), key=lambda o: o.order)


def to_sql(objects: list[SqlObject]) -> str:
    """The full CREATE script for ``objects`` (deterministic)."""
    out = ["-- Rendered by rlskit from policies/*.yaml; do not edit by hand.\n"]
    for o in objects:
        out.append(f"-- {comment_text(o.key)}  ({comment_text(o.source)})\n{o.create}\n")
    return "\n".join(out)
