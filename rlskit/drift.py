"""Compare two catalog snapshots: what the migrations produce vs the live database.

Pure: works on :class:`~rlskit.catalog.Snapshot` values, so formatting of the
SQL that made them never counts. Owner names differ between a scratch cluster
and production, so owners, grantors and the owner's implicit privileges are
left out of the comparison. Each difference comes with the SQL that restores
the expected state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from rlskit.catalog import (
    ColumnPrivilege,
    Function,
    Membership,
    Policy,
    Relation,
    Role,
    Snapshot,
    TablePrivilege,
    Trigger,
)
from rlskit.quoting import printable_sql, quote_ident, quote_literal

T = TypeVar("T")


@dataclass(frozen=True)
class Difference:
    """One way the live database differs from the migrations."""

    kind: str  # role, membership, rls, grant, column grant, policy, function, trigger
    object: str
    change: str  # missing, unexpected, changed
    detail: str
    restore: str

    def line(self) -> str:
        return f"{self.change:<10} {self.kind:<12} {self.object}: {self.detail}"


def q(*parts: str) -> str:
    return ".".join(quote_ident(p) for p in parts)


def _role_sql(name: str) -> str:
    if name == MIGRATOR:  # restore SQL is run by the migrating role, as the migrations are
        return "CURRENT_USER"
    return "PUBLIC" if name == "PUBLIC" else quote_ident(name)


# -- normalisation ------------------------------------------------------------------
def _strip_owner_acl(acl: tuple[str, ...], owner: str) -> tuple[str, ...]:
    out = []
    for item in acl:
        grantee = item.split("=", 1)[0].strip('"')
        if grantee == owner:
            continue
        out.append(item.split("/", 1)[0])  # grantor names differ between clusters
    return tuple(sorted(out))


MIGRATOR = "<migrator>"


def normalise(snap: Snapshot, roles_in_scope: set[str] | None = None, me: str = "") -> Snapshot:
    """Remove what differs only because of who ran the migrations: ``me`` (the
    role that ran them, on this side) shows as ``<migrator>``, as owner and in a
    policy's roles (``TO CURRENT_USER`` in a migration); owners' implicit
    privileges and grantors are left out."""

    def who(name: str) -> str:
        return MIGRATOR if me and name == me else name

    owners = {(r.schema, r.name): r.owner for r in snap.relations}
    relations = tuple(replace(r, owner=who(r.owner)) for r in snap.relations)
    tprivs = tuple(
        replace(p, grantor="")
        for p in snap.table_privileges
        if p.grantee != owners.get((p.schema, p.name))
    )
    cprivs = tuple(p for p in snap.column_privileges if p.grantee != owners.get((p.schema, p.name)))
    functions = tuple(
        replace(f, owner=who(f.owner), acl=_strip_owner_acl(f.acl, f.owner)) for f in snap.functions
    )
    schemas = tuple(
        replace(x, owner=who(x.owner), acl=_strip_owner_acl(x.acl, x.owner)) for x in snap.schemas
    )
    defaults = tuple(
        replace(d, role=who(d.role), acl=_strip_owner_acl(d.acl, d.role))
        for d in snap.default_privileges
    )
    scope = roles_in_scope if roles_in_scope is not None else {r.rolname for r in snap.roles}
    scope.discard(me)
    roles = tuple(r for r in snap.roles if r.rolname in scope)
    memberships = tuple(
        m
        for m in snap.memberships
        if (m.role in scope or m.member in scope) and not m.creator_grant
    )
    policies = tuple(
        replace(p, roles=tuple(sorted(who(r) for r in p.roles))) for p in snap.policies
    )
    return replace(
        snap,
        relations=relations,
        policies=policies,
        table_privileges=tprivs,
        column_privileges=cprivs,
        functions=functions,
        roles=roles,
        memberships=memberships,
        schemas=schemas,
        default_privileges=defaults,
    )


def only_schemas(snap: Snapshot, schemas: set[str]) -> Snapshot:
    """The part of ``snap`` in the project's schemas (other schemas are not its business)."""
    return replace(
        snap,
        relations=tuple(r for r in snap.relations if r.schema in schemas),
        table_privileges=tuple(p for p in snap.table_privileges if p.schema in schemas),
        column_privileges=tuple(p for p in snap.column_privileges if p.schema in schemas),
        policies=tuple(p for p in snap.policies if p.schema in schemas),
        functions=tuple(f for f in snap.functions if f.schema in schemas),
        triggers=tuple(t for t in snap.triggers if t.schema in schemas),
        schemas=tuple(x for x in snap.schemas if x.name in schemas),
        default_privileges=tuple(
            d for d in snap.default_privileges if not d.schema or d.schema in schemas
        ),
        extensions=tuple(e for e in snap.extensions if e.schema in schemas),
    )


_KEYS: dict[str, Callable[[Any], Any]] = {
    "roles": lambda r: r.rolname,
    "memberships": lambda m: (m.role, m.member),
    "schemas": lambda x: x.name,
    "relations": lambda r: (r.schema, r.name),
    "table_privileges": lambda p: (p.schema, p.name, p.grantee, p.privilege),
    "column_privileges": lambda p: (p.schema, p.name, p.column_name, p.grantee, p.privilege),
    "policies": lambda p: (p.schema, p.table_name, p.name),
    "functions": lambda f: (f.schema, f.name, f.arguments),
    "triggers": lambda t: (t.schema, t.table_name, t.name),
    "default_privileges": lambda d: (d.role, d.schema, d.object_type),
    "extensions": lambda e: e.name,
}


def without_platform(
    expected: Snapshot, live: Snapshot, platform: Snapshot
) -> tuple[Snapshot, Snapshot]:
    """Leave out what the platform (``scratch_setup``) provides and the migrations
    did not change: the platform's own objects are not the project's business,
    even where the real platform differs from the stand-in."""
    exp: dict[str, Any] = {}
    liv: dict[str, Any] = {}
    mine_keys: dict[str, set[Any]] = {}
    for name, key in _KEYS.items():
        theirs = set(getattr(platform, name))
        theirs_keys = {key(x) for x in theirs}
        mine = tuple(x for x in getattr(expected, name) if x not in theirs)
        mine_keys[name] = {key(x) for x in mine}
        exp[name] = mine
        liv[name] = tuple(
            x for x in getattr(live, name) if key(x) not in theirs_keys or key(x) in mine_keys[name]
        )
    # what is in the platform's schemas, on its tables or in its roles and the
    # migrations did not make: the platform's (the real one has more than the stand-in)
    tables = {(r.schema, r.name) for r in platform.relations}
    used = {r.schema for r in exp["relations"]} | {f.schema for f in exp["functions"]}
    schemas = {x.name for x in platform.schemas} - used
    roles = {r.rolname for r in platform.roles}

    def ours(name: str, x: Any, where: bool) -> bool:
        return not where or _KEYS[name](x) in mine_keys[name]

    liv["functions"] = tuple(
        f for f in liv["functions"] if ours("functions", f, f.schema in schemas)
    )
    liv["relations"] = tuple(
        r for r in liv["relations"] if ours("relations", r, r.schema in schemas)
    )
    liv["extensions"] = tuple(
        e for e in liv["extensions"] if ours("extensions", e, e.schema in schemas)
    )
    for name in ("policies", "triggers"):
        liv[name] = tuple(x for x in liv[name] if ours(name, x, (x.schema, x.table_name) in tables))
    for name in ("table_privileges", "column_privileges"):
        liv[name] = tuple(x for x in liv[name] if ours(name, x, (x.schema, x.name) in tables))
    liv["memberships"] = tuple(
        m for m in liv["memberships"] if ours("memberships", m, m.role in roles)
    )
    return replace(expected, **exp), replace(live, **liv)


def roles_in_scope(expected: Snapshot, live: Snapshot) -> set[str]:
    """The project's roles: every role the migrations create, plus every live role
    that holds a privilege, policy or membership on the project's objects."""
    superusers = {r.rolname for r in expected.roles if r.rolsuper}
    scope = {r.rolname for r in expected.roles} - superusers
    tables = {(r.schema, r.name) for r in expected.relations}
    scope |= {p.grantee for p in live.table_privileges if (p.schema, p.name) in tables}
    scope |= {p.grantee for p in live.column_privileges if (p.schema, p.name) in tables}
    scope |= {r for p in live.policies for r in p.roles}
    scope |= {m.member for m in live.memberships if m.role in scope}
    scope.discard("PUBLIC")
    return scope


# -- restore SQL --------------------------------------------------------------------
def create_policy(p: Policy) -> str:
    sql = (
        f"CREATE POLICY {quote_ident(p.name)} ON {q(p.schema, p.table_name)} "
        f"AS {'PERMISSIVE' if p.permissive else 'RESTRICTIVE'} FOR {p.command} "
        f"TO {', '.join(_role_sql(r) for r in p.roles)}"
    )
    if p.using_expr:
        sql += f" USING ({p.using_expr})"
    if p.check_expr:
        sql += f" WITH CHECK ({p.check_expr})"
    return sql + ";"


def drop_policy(p: Policy) -> str:
    return f"DROP POLICY {quote_ident(p.name)} ON {q(p.schema, p.table_name)};"


def role_attrs(r: Role) -> str:
    flags = [
        ("SUPERUSER", r.rolsuper),
        ("INHERIT", r.rolinherit),
        ("CREATEROLE", r.rolcreaterole),
        ("CREATEDB", r.rolcreatedb),
        ("LOGIN", r.rolcanlogin),
        ("BYPASSRLS", r.rolbypassrls),
    ]
    return (
        " ".join(name if on else f"NO{name}" for name, on in flags)
        + f" CONNECTION LIMIT {r.rolconnlimit}"
    )


def _acl_grantees(acl: tuple[str, ...]) -> set[str]:
    return {
        item.split("=", 1)[0].strip('"') or "PUBLIC" for item in acl if "X" in item.split("=", 1)[1]
    }


def _function_acl_restore(
    key: tuple[str, str, str], expected: tuple[str, ...], live: tuple[str, ...]
) -> str:
    fn = f"{q(key[0], key[1])}({key[2]})"
    want, have = _acl_grantees(expected), _acl_grantees(live)
    lines = [f"REVOKE EXECUTE ON FUNCTION {fn} FROM {_role_sql(g)};" for g in sorted(have - want)]
    lines += [f"GRANT EXECUTE ON FUNCTION {fn} TO {_role_sql(g)};" for g in sorted(want - have)]
    return "\n".join(lines)


def _keyed(items: Iterable[T], key: Callable[[T], Any]) -> dict[Any, T]:
    return {key(i): i for i in items}


def compare(
    expected: Snapshot,
    live: Snapshot,
    platform: Snapshot | None = None,
    migrators: tuple[str, str] = ("", ""),
) -> list[Difference]:
    """Differences between the expected (migrations) and the live snapshot.

    ``platform``: the scratch database before the migrations (``scratch_setup``);
    what it provides is left out unless the migrations changed it.
    ``migrators``: the role that ran the migrations on each side (owners and
    default privileges of that role compare equal).
    """
    live = only_schemas(live, {s.name for s in expected.schemas})
    if platform is not None:
        expected, live = without_platform(expected, live, platform)
    scope = roles_in_scope(expected, live)
    exp = normalise(expected, set(scope), migrators[0])
    liv = normalise(live, set(scope), migrators[1])
    out: list[Difference] = []

    # roles
    e, lv = _keyed(exp.roles, lambda r: r.rolname), _keyed(liv.roles, lambda r: r.rolname)
    for name in sorted(e.keys() - lv.keys()):
        out.append(
            Difference(
                "role",
                name,
                "missing",
                "the migrations create it",
                f"CREATE ROLE {quote_ident(name)} {role_attrs(e[name])};",
            )
        )
    for name in sorted(lv.keys() - e.keys()):
        out.append(
            Difference(
                "role",
                name,
                "unexpected",
                "holds privileges on the project's objects but no migration creates it",
                f"-- review, then: DROP OWNED BY {quote_ident(name)}; "
                f"DROP ROLE {quote_ident(name)};",
            )
        )
    for name in sorted(e.keys() & lv.keys()):
        if e[name] != lv[name]:
            changed = [
                f
                for f in (
                    "rolsuper",
                    "rolinherit",
                    "rolcreaterole",
                    "rolcreatedb",
                    "rolcanlogin",
                    "rolbypassrls",
                    "rolconnlimit",
                )
                if getattr(e[name], f) != getattr(lv[name], f)
            ]
            out.append(
                Difference(
                    "role",
                    name,
                    "changed",
                    ", ".join(
                        f"{f[3:]} {getattr(lv[name], f)} (expected {getattr(e[name], f)})"
                        for f in changed
                    ),
                    f"ALTER ROLE {quote_ident(name)} {role_attrs(e[name])};",
                )
            )

    # memberships
    em = set(exp.memberships)
    lm = set(liv.memberships)
    for m in sorted(em - lm):
        out.append(
            Difference(
                "membership",
                f"{m.member} in {m.role}",
                "missing",
                "",
                f"GRANT {quote_ident(m.role)} TO {quote_ident(m.member)};",
            )
        )
    for m in sorted(lm - em):
        key = (m.role, m.member)
        if any((x.role, x.member) == key for x in em):
            continue
        out.append(
            Difference(
                "membership",
                f"{m.member} in {m.role}",
                "unexpected",
                "",
                f"REVOKE {quote_ident(m.role)} FROM {quote_ident(m.member)};",
            )
        )

    # RLS flags
    er = _keyed(exp.relations, lambda r: (r.schema, r.name))
    lr = _keyed(liv.relations, lambda r: (r.schema, r.name))
    for key in sorted(er.keys() & lr.keys()):
        a, b = er[key], lr[key]
        t = q(*key)
        if a.rls_enabled != b.rls_enabled:
            out.append(
                Difference(
                    "rls",
                    ".".join(key),
                    "changed",
                    f"row level security {'disabled' if a.rls_enabled else 'enabled'} "
                    f"(expected {'enabled' if a.rls_enabled else 'disabled'})",
                    f"ALTER TABLE {t} {'ENABLE' if a.rls_enabled else 'DISABLE'} ROW LEVEL SECURITY;",
                )
            )
        if a.rls_forced != b.rls_forced:
            out.append(
                Difference(
                    "rls",
                    ".".join(key),
                    "changed",
                    f"row level security {'not forced' if a.rls_forced else 'forced'} "
                    f"(expected {'forced' if a.rls_forced else 'not forced'})",
                    f"ALTER TABLE {t} {'' if a.rls_forced else 'NO '}FORCE ROW LEVEL SECURITY;",
                )
            )
    for key in sorted(er.keys() - lr.keys()):
        out.append(
            Difference(
                "table",
                ".".join(key),
                "missing",
                "the migrations create it",
                "-- run the migration that creates it (rlskit upgrade)",
            )
        )

    # table privileges
    def tkey(p: TablePrivilege) -> tuple[str, str, str, str]:
        return (p.schema, p.name, p.grantee, p.privilege)

    kinds = {(r.schema, r.name): ("SEQUENCE" if r.kind == "S" else "TABLE") for r in exp.relations}
    et, lt = _keyed(exp.table_privileges, tkey), _keyed(liv.table_privileges, tkey)
    for k in sorted(et.keys() - lt.keys()):
        s, n, g, p = k
        out.append(
            Difference(
                "grant",
                f"{p} on {s}.{n} to {g}",
                "missing",
                "",
                f"GRANT {p} ON {kinds.get((s, n), 'TABLE')} {q(s, n)} TO {_role_sql(g)};",
            )
        )
    for k in sorted(lt.keys() - et.keys()):
        s, n, g, p = k
        if (s, n) not in er:
            continue  # a table the migrations do not know: not the project's
        out.append(
            Difference(
                "grant",
                f"{p} on {s}.{n} to {g}",
                "unexpected",
                "",
                f"REVOKE {p} ON {kinds.get((s, n), 'TABLE')} {q(s, n)} FROM {_role_sql(g)};",
            )
        )

    # column privileges
    def ckey(p: ColumnPrivilege) -> tuple[str, str, str, str, str]:
        return (p.schema, p.name, p.column_name, p.grantee, p.privilege)

    ec, lc = _keyed(exp.column_privileges, ckey), _keyed(liv.column_privileges, ckey)
    for k in sorted(ec.keys() - lc.keys()):
        s, n, c, g, p = k
        out.append(
            Difference(
                "column grant",
                f"{p} ({c}) on {s}.{n} to {g}",
                "missing",
                "",
                f"GRANT {p} ({quote_ident(c)}) ON {q(s, n)} TO {_role_sql(g)};",
            )
        )
    for k in sorted(lc.keys() - ec.keys()):
        s, n, c, g, p = k
        if (s, n) not in er:
            continue
        out.append(
            Difference(
                "column grant",
                f"{p} ({c}) on {s}.{n} to {g}",
                "unexpected",
                "",
                f"REVOKE {p} ({quote_ident(c)}) ON {q(s, n)} FROM {_role_sql(g)};",
            )
        )

    # policies
    def pkey(p: Policy) -> tuple[str, str, str]:
        return (p.schema, p.table_name, p.name)

    ep, lp = _keyed(exp.policies, pkey), _keyed(liv.policies, pkey)
    for k in sorted(ep.keys() - lp.keys()):
        out.append(Difference("policy", ".".join(k), "missing", "", create_policy(ep[k])))
    for k in sorted(lp.keys() - ep.keys()):
        out.append(Difference("policy", ".".join(k), "unexpected", "", drop_policy(lp[k])))
    for k in sorted(ep.keys() & lp.keys()):
        pa, pb = ep[k], lp[k]
        if pa != pb:
            fields = [
                f
                for f in ("command", "permissive", "roles", "using_expr", "check_expr")
                if getattr(pa, f) != getattr(pb, f)
            ]
            detail = "; ".join(
                f"{f} is {getattr(pb, f)!r}, expected {getattr(pa, f)!r}" for f in fields
            )
            out.append(
                Difference(
                    "policy",
                    ".".join(k),
                    "changed",
                    detail,
                    f"BEGIN;\n{drop_policy(pb)}\n{create_policy(pa)}\nCOMMIT;",
                )
            )

    # functions
    def fkey(f: Function) -> tuple[str, str, str]:
        return (f.schema, f.name, f.arguments)

    ef, lf = _keyed(exp.functions, fkey), _keyed(liv.functions, fkey)
    for k in sorted(ef.keys() - lf.keys()):
        out.append(
            Difference(
                "function", f"{k[0]}.{k[1]}({k[2]})", "missing", "", ef[k].definition.strip() + ";"
            )
        )
    for k in sorted(lf.keys() - ef.keys()):
        out.append(
            Difference(
                "function",
                f"{k[0]}.{k[1]}({k[2]})",
                "unexpected",
                "",
                f"DROP FUNCTION {q(k[0], k[1])}({k[2]});",
            )
        )
    for k in sorted(ef.keys() & lf.keys()):
        fa, fb = ef[k], lf[k]
        if replace(fa, owner="") != replace(fb, owner=""):  # owners: see _owners
            fields = [
                f
                for f in (
                    "security_definer",
                    "config",
                    "volatility",
                    "source",
                    "acl",
                    "language",
                    "result",
                )
                if getattr(fa, f) != getattr(fb, f)
            ]
            parts = [] if fields == ["acl"] else [fa.definition.strip() + ";"]
            if "acl" in fields:
                parts.append(_function_acl_restore(k, fa.acl, fb.acl))
            restore = "\n".join(parts)
            out.append(
                Difference(
                    "function",
                    f"{k[0]}.{k[1]}({k[2]})",
                    "changed",
                    ", ".join(f"{f} differs" for f in fields),
                    restore,
                )
            )

    # triggers
    def trkey(t: Trigger) -> tuple[str, str, str]:
        return (t.schema, t.table_name, t.name)

    etr, ltr = _keyed(exp.triggers, trkey), _keyed(liv.triggers, trkey)
    for k in sorted(etr.keys() - ltr.keys()):
        out.append(Difference("trigger", ".".join(k), "missing", "", etr[k].definition + ";"))
    for k in sorted(ltr.keys() - etr.keys()):
        out.append(
            Difference(
                "trigger",
                ".".join(k),
                "unexpected",
                "",
                f"DROP TRIGGER {quote_ident(k[2])} ON {q(k[0], k[1])};",
            )
        )
    for k in sorted(etr.keys() & ltr.keys()):
        ta, tb = etr[k], ltr[k]
        if ta.definition != tb.definition:
            out.append(
                Difference(
                    "trigger",
                    ".".join(k),
                    "changed",
                    "definition differs",
                    f"DROP TRIGGER {quote_ident(k[2])} ON {q(k[0], k[1])};\n{ta.definition};",
                )
            )
        elif ta.enabled != tb.enabled:
            state = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}
            out.append(
                Difference(
                    "trigger",
                    ".".join(k),
                    "changed",
                    f"{state.get(tb.enabled, tb.enabled).lower()}d (expected "
                    f"{state.get(ta.enabled, ta.enabled).lower()}d)",
                    f"ALTER TABLE {q(k[0], k[1])} {state.get(ta.enabled, 'ENABLE')} TRIGGER "
                    f"{quote_ident(k[2])};",
                )
            )
    # public exists in every database: it is the project's only if the migrations use it
    used = (
        {r.schema for r in exp.relations}
        | {f.schema for f in exp.functions}
        | {d.schema for d in exp.default_privileges}
    )
    if "public" not in used:

        def without_public(snap: Snapshot) -> Snapshot:
            return replace(
                snap,
                schemas=tuple(x for x in snap.schemas if x.name != "public"),
                relations=tuple(r for r in snap.relations if r.schema != "public"),
                extensions=tuple(e for e in snap.extensions if e.schema != "public"),
                default_privileges=tuple(
                    d for d in snap.default_privileges if d.schema != "public"
                ),
            )

        exp, liv = without_public(exp), without_public(liv)
    out += _owners(exp, liv)
    out += _schema_grants(exp, liv)
    out += _default_privileges(exp, liv)
    out += _new_relations(exp, liv)
    out += _extensions(exp, liv)
    out += _view_options(exp, liv)
    # Expressions and signatures come from the server (pg_get_expr), with raw names.
    return [replace(d, restore=printable_sql(d.restore)) for d in out]


_REL_KIND = {
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "f": "FOREIGN TABLE",
    "S": "SEQUENCE",
}
_PRIVS = {
    "r": "SELECT",
    "w": "UPDATE",
    "a": "INSERT",
    "d": "DELETE",
    "D": "TRUNCATE",
    "x": "REFERENCES",
    "t": "TRIGGER",
    "X": "EXECUTE",
    "U": "USAGE",
    "C": "CREATE",
    "m": "MAINTAIN",
}
_DEFACL_TYPES = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}


def _owner_sql(name: str) -> str:
    return "CURRENT_USER" if name == MIGRATOR else quote_ident(name)


def _owners(exp: Snapshot, liv: Snapshot) -> list[Difference]:
    """Who owns the project's tables, views, functions and schemas (sequences
    follow their table)."""
    out: list[Difference] = []
    lr = _keyed(liv.relations, lambda r: (r.schema, r.name))
    for r in sorted(exp.relations):
        b = lr.get((r.schema, r.name))
        if b is None or b.owner == r.owner or r.kind == "S":
            continue
        kw = _REL_KIND.get(r.kind, "TABLE")
        out.append(
            Difference(
                "owner",
                f"{kw.lower()} {r.schema}.{r.name}",
                "changed",
                f"owned by {b.owner} (expected {r.owner})",
                f"ALTER {kw} {q(r.schema, r.name)} OWNER TO {_owner_sql(r.owner)};",
            )
        )
    lf = _keyed(liv.functions, lambda f: (f.schema, f.name, f.arguments))
    for f in sorted(exp.functions):
        g = lf.get((f.schema, f.name, f.arguments))
        if g is None or g.owner == f.owner:
            continue
        out.append(
            Difference(
                "owner",
                f"function {f.schema}.{f.name}({f.arguments})",
                "changed",
                f"owned by {g.owner} (expected {f.owner})",
                f"ALTER FUNCTION {q(f.schema, f.name)}({f.arguments}) OWNER TO "
                f"{_owner_sql(f.owner)};",
            )
        )
    ls = _keyed(liv.schemas, lambda x: x.name)
    for x in sorted(exp.schemas):
        y = ls.get(x.name)
        if y is None or y.owner == x.owner:
            continue
        out.append(
            Difference(
                "owner",
                f"schema {x.name}",
                "changed",
                f"owned by {y.owner} (expected {x.owner})",
                f"ALTER SCHEMA {quote_ident(x.name)} OWNER TO {_owner_sql(x.owner)};",
            )
        )
    return out


def _acl_map(acl: Iterable[str]) -> dict[str, set[str]]:
    """``grantee=privs/grantor`` items as {grantee: {privilege letter}} (PUBLIC for '')."""
    out: dict[str, set[str]] = {}
    for item in acl:
        grantee, _, privs = item.partition("=")
        name = grantee.strip('"').replace('""', '"') or "PUBLIC"
        out.setdefault(name, set()).update(c for c in privs if c in _PRIVS)
    return out


def _privs(letters: Iterable[str]) -> str:
    return ", ".join(_PRIVS[c] for c in sorted(letters, key=list(_PRIVS).index))


def _schema_grants(exp: Snapshot, liv: Snapshot) -> list[Difference]:
    out: list[Difference] = []
    ls = _keyed(liv.schemas, lambda x: x.name)
    for x in sorted(exp.schemas):
        y = ls.get(x.name)
        if y is None:
            continue
        want, have = _acl_map(x.acl), _acl_map(y.acl)
        for grantee in sorted(want.keys() | have.keys()):
            w, h = want.get(grantee, set()), have.get(grantee, set())
            for c in sorted(w - h):
                out.append(
                    Difference(
                        "schema grant",
                        f"{_PRIVS[c]} on schema {x.name} to {grantee}",
                        "missing",
                        "",
                        f"GRANT {_PRIVS[c]} ON SCHEMA {quote_ident(x.name)} TO "
                        f"{_role_sql(grantee)};",
                    )
                )
            for c in sorted(h - w):
                out.append(
                    Difference(
                        "schema grant",
                        f"{_PRIVS[c]} on schema {x.name} to {grantee}",
                        "unexpected",
                        "",
                        f"REVOKE {_PRIVS[c]} ON SCHEMA {quote_ident(x.name)} FROM "
                        f"{_role_sql(grantee)};",
                    )
                )
    return out


def _default_privileges(exp: Snapshot, liv: Snapshot) -> list[Difference]:
    """ALTER DEFAULT PRIVILEGES: what future objects will grant. A global entry
    that is absent means PostgreSQL's built-in default (PUBLIC may execute
    functions and use types)."""
    builtin = {"f": {"PUBLIC": {"X"}}, "T": {"PUBLIC": {"U"}}}

    def table(snap: Snapshot) -> dict[tuple[str, str, str], dict[str, set[str]]]:
        return {(d.role, d.schema, d.object_type): _acl_map(d.acl) for d in snap.default_privileges}

    et, lt = table(exp), table(liv)
    out: list[Difference] = []
    for key in sorted(et.keys() | lt.keys()):
        role, schema, objtype = key
        default = {} if schema else builtin.get(objtype, {})
        want, have = et.get(key, default), lt.get(key, default)
        what = _DEFACL_TYPES.get(objtype, objtype)
        prefix = "ALTER DEFAULT PRIVILEGES"
        if role != MIGRATOR:
            prefix += f" FOR ROLE {quote_ident(role)}"
        if schema:
            prefix += f" IN SCHEMA {quote_ident(schema)}"
        for grantee in sorted(want.keys() | have.keys()):
            w, h = want.get(grantee, set()), have.get(grantee, set())
            if w == h:
                continue
            sql = []
            if w - h:
                sql.append(f"{prefix} GRANT {_privs(w - h)} ON {what} TO {_role_sql(grantee)};")
            if h - w:
                sql.append(f"{prefix} REVOKE {_privs(h - w)} ON {what} FROM {_role_sql(grantee)};")
            out.append(
                Difference(
                    "default privilege",
                    f"{role} in {schema or 'all schemas'} on {what} to {grantee}",
                    "changed",
                    f"new objects get {_privs(h) or 'nothing'} (expected {_privs(w) or 'nothing'})",
                    "\n".join(sql),
                )
            )
    return out


def _new_relations(exp: Snapshot, liv: Snapshot) -> list[Difference]:
    """Tables and views in the project's schemas that no migration creates."""
    known = {(r.schema, r.name) for r in exp.relations}
    out: list[Difference] = []
    for r in sorted(liv.relations):
        if (r.schema, r.name) in known or r.kind not in ("r", "p", "v", "m", "f"):
            continue
        kw = _REL_KIND[r.kind]
        rls = ""
        if r.kind in ("r", "p"):
            rls = "; row level security " + ("enabled" if r.rls_enabled else "DISABLED")
        out.append(
            Difference(
                "table",
                f"{r.schema}.{r.name}",
                "unexpected",
                f"{kw.lower()} not created by any migration{rls}",
                "-- not created by any migration: write one for it, or drop it\n"
                f"DROP {kw} {q(r.schema, r.name)};",
            )
        )
    return out


def _extensions(exp: Snapshot, liv: Snapshot) -> list[Difference]:
    ee, le = _keyed(exp.extensions, lambda e: e.name), _keyed(liv.extensions, lambda e: e.name)
    out: list[Difference] = []
    for name in sorted(ee.keys() - le.keys()):
        out.append(
            Difference(
                "extension",
                name,
                "missing",
                f"in schema {ee[name].schema}",
                f"CREATE EXTENSION IF NOT EXISTS {quote_ident(name)} "
                f"WITH SCHEMA {quote_ident(ee[name].schema)};",
            )
        )
    for name in sorted(le.keys() - ee.keys()):
        out.append(
            Difference(
                "extension",
                name,
                "unexpected",
                f"in schema {le[name].schema}, created by no migration",
                f"DROP EXTENSION {quote_ident(name)};",
            )
        )
    for name in sorted(ee.keys() & le.keys()):
        if ee[name].schema != le[name].schema:
            out.append(
                Difference(
                    "extension",
                    name,
                    "changed",
                    f"in schema {le[name].schema} (expected {ee[name].schema})",
                    f"ALTER EXTENSION {quote_ident(name)} SET SCHEMA "
                    f"{quote_ident(ee[name].schema)};",
                )
            )
    return out


def _view_options(exp: Snapshot, liv: Snapshot) -> list[Difference]:
    """security_invoker / security_barrier (and other options) of views."""
    lr = _keyed(liv.relations, lambda r: (r.schema, r.name))
    out: list[Difference] = []
    for r in sorted(exp.relations):
        b = lr.get((r.schema, r.name))
        if b is None or r.kind not in ("v", "m") or set(r.options) == set(b.options):
            continue
        want = dict(o.split("=", 1) for o in r.options)
        have = dict(o.split("=", 1) for o in b.options)
        kw = _REL_KIND[r.kind]
        sql = []
        if have.keys() - want.keys():
            keys = ", ".join(quote_ident(k) for k in sorted(have.keys() - want.keys()))
            sql.append(f"ALTER {kw} {q(r.schema, r.name)} RESET ({keys});")
        changed = {k: v for k, v in want.items() if have.get(k) != v}
        if changed:
            opts = ", ".join(
                f"{quote_ident(k)} = {quote_literal(v)}" for k, v in sorted(changed.items())
            )
            sql.append(f"ALTER {kw} {q(r.schema, r.name)} SET ({opts});")
        out.append(
            Difference(
                "view",
                f"{r.schema}.{r.name}",
                "changed",
                f"options {sorted(b.options)} (expected {sorted(r.options)})",
                "\n".join(sql),
            )
        )
    return out


__all__ = ["Difference", "Membership", "Relation", "compare", "normalise"]
