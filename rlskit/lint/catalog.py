"""Build the lint :class:`~rlskit.lint.model.Model` from an applied database."""

from __future__ import annotations

from dataclasses import dataclass

from rlskit import pgsql
from rlskit.catalog import (
    ColumnPrivilege,
    Connection,
    DefaultPrivilege,
    Membership,
    Policy,
    Role,
    TablePrivilege,
    fetch,
)
from rlskit.lint import model as m

_ACL = {
    "r": "SELECT",
    "a": "INSERT",
    "w": "UPDATE",
    "d": "DELETE",
    "D": "TRUNCATE",
    "x": "REFERENCES",
    "t": "TRIGGER",
    "X": "EXECUTE",
    "U": "USAGE",
    "C": "CREATE",
}


@dataclass(frozen=True)
class _Table:
    name: str
    rls_enabled: bool
    rls_forced: bool
    owner: str
    columns: tuple[str, ...]
    column_types: tuple[str, ...]
    index_leads: tuple[str, ...]
    parents: tuple[str, ...]


@dataclass(frozen=True)
class _View:
    name: str
    materialized: bool
    options: tuple[str, ...]
    definition: str
    reads: tuple[str, ...]


@dataclass(frozen=True)
class _Function:
    name: str
    language: str
    security_definer: bool
    search_path: str | None
    returns_trigger: bool
    body: str
    params: tuple[str, ...]
    definition: str
    public_execute: bool
    volatility: str
    leakproof: bool
    executors: tuple[str, ...]
    owner: str


def build(conn: Connection) -> m.Model:
    """Read tables, policies, grants, roles and functions into a lint model."""
    model = m.Model("catalog")
    with conn.cursor() as cur:
        cur.execute("SELECT current_user::text")
        row = cur.fetchone()
        model.migrator = str(row[0]) if row else None
    owners: dict[str, str] = {}
    for t in fetch(conn, "lint_tables", _Table):
        model.tables[t.name] = m.Table(
            t.name, set(t.columns), t.rls_enabled, t.rls_forced, t.owner, m.Loc(None, None, t.name)
        )
        model.tables[t.name].indexes = [(c,) for c in t.index_leads]
        model.tables[t.name].column_types = dict(zip(t.columns, t.column_types, strict=True))
        model.tables[t.name].parents = [p if "." in p else f"public.{p}" for p in t.parents]
        owners[t.name] = t.owner
    for p in fetch(conn, "policies", Policy):
        table = f"{p.schema}.{p.table_name}"
        using = pgsql.parse_expression(p.using_expr) if p.using_expr else None
        check = pgsql.parse_expression(p.check_expr) if p.check_expr else None
        pol = m.Policy(
            table,
            p.name,
            p.command,
            p.permissive,
            list(p.roles),
            using,
            check,
            m.Loc(None, None, f"{table} policy {p.name}"),
        )
        model.policies[pol.key] = pol
    for g in fetch(conn, "table_privileges", TablePrivilege):
        target = f"{g.schema}.{g.name}"
        if g.grantee == owners.get(target) or (g.grantee == g.grantor and target not in owners):
            continue  # the owner's implicit privileges
        kind = "table" if target in owners else "sequence"
        model.grants.append(
            m.Grant(kind, target, {g.privilege}, g.grantee, (), m.Loc(None, None, target))
        )
    for c in fetch(conn, "column_privileges", ColumnPrivilege):
        target = f"{c.schema}.{c.name}"
        if c.grantee == owners.get(target):
            continue
        model.grants.append(
            m.Grant(
                "table",
                target,
                {c.privilege},
                c.grantee,
                (c.column_name,),
                m.Loc(None, None, target),
            )
        )
    for r in fetch(conn, "roles", Role):
        model.roles[r.rolname] = m.Role(
            r.rolname,
            r.rolsuper,
            r.rolbypassrls,
            r.rolcanlogin,
            False,
            m.Loc(None, None, f"role {r.rolname}"),
        )
    for d in fetch(conn, "default_privileges", DefaultPrivilege):
        kinds = {"r": "table", "S": "sequence", "f": "function", "T": "type", "n": "schema"}
        for item in d.acl:
            grantee, _, rest = item.partition("=")
            privs = {_ACL[c] for c in rest.split("/", 1)[0] if c in _ACL}
            model.default_privileges.append(
                m.DefaultPrivilege(
                    kinds.get(d.object_type, d.object_type),
                    d.schema or None,
                    privs,
                    grantee.strip('"') or "PUBLIC",
                    m.Loc(None, None, f"default privileges of {d.role}"),
                    d.role,
                )
            )
    for v in fetch(conn, "lint_views", _View):
        opts = {o.split("=", 1)[0] for o in v.options if o.split("=", 1)[-1] in ("true", "on")}
        try:
            query = pgsql.parse_json(v.definition)[0]["stmt"]
        except (pgsql.ParseError, IndexError, KeyError):
            query = {}
        model.views[v.name] = m.View(
            v.name,
            v.materialized,
            opts,
            set(v.reads),
            m.Loc(None, None, v.name),
            m.view_filters_by_caller(query),
        )
    for mem in fetch(conn, "memberships", Membership):
        model.memberships.add((mem.role, mem.member))
    for f in fetch(conn, "lint_functions", _Function):
        plpgsql = pgsql.parse_plpgsql(f.definition) if f.language == "plpgsql" else None
        fn = m.Function(
            name=f.name,
            language=f.language,
            security_definer=f.security_definer,
            search_path=f.search_path,
            returns_trigger=f.returns_trigger,
            body=f.body,
            params=[p for p in f.params if p],
            plpgsql=plpgsql,
            public_execute=f.public_execute,
            inlinable=f.language == "sql" and not f.security_definer and f.volatility != "v",
            loc=m.Loc(None, None, f"function {f.name}"),
            volatility=f.volatility,
            leakproof=f.leakproof,
            executors=set(f.executors),
            owner=f.owner,
        )
        model.functions[f.name] = fn
        if plpgsql is not None:
            for kind, node in m.walk(plpgsql):
                if kind == "PLpgSQL_stmt_dynexecute":
                    q = node.get("query", {}).get("PLpgSQL_expr", {}).get("query", "")
                    model.dynamic_sql.append(
                        (f"function {f.name}", q, fn.loc, m.constant_variables(plpgsql))
                    )
    return model
