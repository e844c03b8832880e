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
from rlskit.quoting import printable_sql, quote_ident

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


def normalise(snap: Snapshot, roles_in_scope: set[str] | None = None) -> Snapshot:
    """Remove what differs only because of who owns the objects."""
    owners = {(r.schema, r.name): r.owner for r in snap.relations}
    all_owners = set(owners.values()) | {f.owner for f in snap.functions}
    relations = tuple(replace(r, owner="") for r in snap.relations)
    tprivs = tuple(
        replace(p, grantor="")
        for p in snap.table_privileges
        if p.grantee != owners.get((p.schema, p.name))
    )
    cprivs = tuple(p for p in snap.column_privileges if p.grantee != owners.get((p.schema, p.name)))
    functions = tuple(
        replace(f, owner="", acl=_strip_owner_acl(f.acl, f.owner)) for f in snap.functions
    )
    scope = roles_in_scope if roles_in_scope is not None else {r.rolname for r in snap.roles}
    scope -= all_owners
    roles = tuple(r for r in snap.roles if r.rolname in scope)
    memberships = tuple(m for m in snap.memberships if m.role in scope or m.member in scope)
    return replace(
        snap,
        relations=relations,
        table_privileges=tprivs,
        column_privileges=cprivs,
        functions=functions,
        roles=roles,
        memberships=memberships,
        schemas=(),
        default_privileges=(),
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
    )


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


def compare(expected: Snapshot, live: Snapshot) -> list[Difference]:
    """Differences between the expected (migrations) and the live snapshot."""
    live = only_schemas(live, {s.name for s in expected.schemas})
    scope = roles_in_scope(expected, live)
    exp, liv = normalise(expected, set(scope)), normalise(live, set(scope))
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
        if fa != fb:
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
    # Expressions and signatures come from the server (pg_get_expr), with raw names.
    return [replace(d, restore=printable_sql(d.restore)) for d in out]


__all__ = ["Difference", "Membership", "Relation", "compare", "normalise"]
