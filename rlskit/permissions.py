"""What can this role do? Per table: RLS flags, privileges (direct and
inherited), column privileges, the policies that apply, and optionally how many
rows the role would see, update and delete under given settings."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from rlskit.catalog import fetch
from rlskit.errors import RlskitError
from rlskit.term import escape

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class _Row:
    schema: str
    name: str
    rls_enabled: bool
    rls_forced: bool
    owner: str
    acts_as_owner: bool
    privileges: tuple[str, ...]
    direct: tuple[str, ...]
    public: tuple[str, ...]
    column_privileges: tuple[str, ...]
    policies: tuple[str, ...]
    schema_usage: bool


#: how a privilege without USAGE on its schema is shown (it cannot be used)
NO_USAGE = "no USAGE on schema"


@dataclass(frozen=True)
class FunctionAccess:
    """A function or procedure the role may execute, and how it got EXECUTE."""

    schema: str
    signature: str
    security_definer: bool  # runs as its owner, whatever the caller may do
    owner: str
    how: str  # "direct" | "PUBLIC" | "inherited"
    schema_usage: bool  # False: EXECUTE is granted, but the role cannot reach the function


ATTRIBUTES = ("login", "inherit", "superuser", "bypassrls", "createrole", "createdb")


def attribute_words(attrs: dict[str, bool]) -> str:
    """``LOGIN, NOINHERIT, BYPASSRLS``: login/inherit always, the others when set."""
    words = [("" if attrs.get(a) else "NO") + a.upper() for a in ("login", "inherit")]
    words += [a.upper() for a in ATTRIBUTES[2:] if attrs.get(a)]
    return ", ".join(words)


@dataclass
class TableAccess:
    """One table as seen by the role."""

    table: str
    rls_enabled: bool
    rls_forced: bool
    owner: str
    bypasses_rls: str | None  # why RLS does not apply to this role, if it does not
    privileges: dict[str, str]  # privilege -> "direct" | "PUBLIC" | "inherited"
    column_privileges: list[str]
    policies: dict[str, list[dict[str, Any]]]  # command -> policies that apply
    counts: dict[str, int | str] = field(default_factory=dict)
    schema_usage: bool = True  # False: no USAGE on the schema, no privilege can be used
    schema: str = ""

    def verdict(self, command: str) -> str:
        """A short answer: all rows, policy-filtered rows, none, or denied."""
        if not self.schema_usage:
            return f"denied ({NO_USAGE})"
        if command not in self.privileges:
            cols = [c for c in self.column_privileges if c.startswith(command)]
            if not cols:
                return "denied"
        if self.bypasses_rls or not self.rls_enabled:
            return "all rows"
        if not self.policies.get(command):
            return "no rows" if command != "INSERT" else "no rows (fails)"
        return "policy"


@dataclass
class Report:
    role: str
    attributes: dict[str, bool]
    member_of: list[str]
    settings: dict[str, str]
    tables: list[TableAccess]
    functions: list[FunctionAccess] = field(default_factory=list)  # it may EXECUTE
    member_attributes: dict[str, dict[str, bool]] = field(default_factory=dict)
    # EXECUTE granted, but no USAGE on the function's schema: cannot be called
    unusable_functions: list[FunctionAccess] = field(default_factory=list)

    def failed_counts(self) -> list[str]:
        """``table COMMAND: error`` for each count that failed."""
        return [
            f"{t.table} {c}: {n}"
            for t in self.tables
            for c, n in t.counts.items()
            if isinstance(n, str) and n.startswith("error")
        ]


def _attributes(conn: Any, role: str) -> dict[str, bool] | None:
    row = conn.execute(
        "SELECT rolcanlogin, rolinherit, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
        "FROM pg_roles WHERE rolname = %s",
        (role,),
    ).fetchone()
    return None if row is None else dict(zip(ATTRIBUTES, map(bool, row), strict=True))


def report(
    conn: Any,
    role: str,
    settings: dict[str, str] | None = None,
    schemas: list[str] | None = None,
    count: bool = False,
) -> Report:
    """Build the report for ``role`` (conn: psycopg, a role that can read the catalog)."""
    from rlskit.session import check_setting_name

    for name in settings or {}:
        check_setting_name(name)
    attrs = _attributes(conn, role)
    if attrs is None:
        raise RlskitError(
            f"Role {role!r} does not exist in this database's cluster.",
            "`\\du` in psql lists the roles.",
        )
    member_of = [
        r[0]
        for r in conn.execute(
            "SELECT b.rolname FROM pg_roles b WHERE pg_has_role(%s, b.oid, 'MEMBER') "
            "AND b.rolname <> %s ORDER BY 1",
            (role, role),
        ).fetchall()
    ]
    rows = fetch(conn, "permissions", _Row, {"role": role, "schemas": schemas or []})
    tables = []
    for r in rows:
        why = (
            "superuser"
            if attrs["superuser"]
            else "BYPASSRLS"
            if attrs["bypassrls"]
            else "owner without FORCE"
            if r.acts_as_owner and not r.rls_forced
            else None
        )
        pols: dict[str, list[dict[str, Any]]] = {c: [] for c in COMMANDS}
        for p in r.policies:
            data = json.loads(p)
            for c in COMMANDS if data["command"] == "ALL" else [data["command"]]:
                pols[c].append(data)
        tables.append(
            TableAccess(
                f"{r.schema}.{r.name}",
                r.rls_enabled,
                r.rls_forced,
                r.owner,
                why,
                {
                    p: "direct" if p in r.direct else "PUBLIC" if p in r.public else "inherited"
                    for p in r.privileges
                },
                list(r.column_privileges),
                pols,
                schema_usage=r.schema_usage,
                schema=r.schema,
            )
        )
    functions = fetch(
        conn, "permissions_functions", FunctionAccess, {"role": role, "schemas": schemas or []}
    )
    members = {m: _attributes(conn, m) or {} for m in member_of}
    rep = Report(
        role,
        attrs,
        member_of,
        dict(settings or {}),
        tables,
        [f for f in functions if f.schema_usage],
        members,
        [f for f in functions if not f.schema_usage],
    )
    if count:
        _count(conn, rep)
    return rep


def _count(conn: Any, rep: Report) -> None:
    """Rows the role sees, and would update and delete, counted with SELECTs only.

    A real UPDATE or DELETE, even rolled back, fires triggers whose side effects
    outlive the transaction (sequences, dblink, NOTIFY). So UPDATE and DELETE are
    counted as ``SELECT count(*)`` as the role (which applies the SELECT policies)
    filtered by the USING clauses of the policies of that command (permissive ones
    OR'ed, restrictive ones AND'ed, none: no row): the rows that ``UPDATE``/``DELETE
    ... WHERE <a condition on its columns>`` reach, as applications write them. The
    transaction is READ ONLY and rolled back."""
    import psycopg
    from psycopg import sql

    from rlskit.session import setup_statement

    setup = setup_statement(rep.role, rep.settings)
    for t in rep.tables:
        schema, name = t.table.split(".", 1)
        ident = sql.Identifier(schema, name)
        col = conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
            "AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = '' AND a.attgenerated = '' "
            "AND has_column_privilege(%s, a.attrelid, "
            "a.attnum, 'UPDATE') ORDER BY a.attnum LIMIT 1",
            (sql.Identifier(schema, name).as_string(conn), rep.role),
        ).fetchone()
        for command in ("SELECT", "UPDATE", "DELETE"):
            if t.verdict(command).startswith("denied") or (command == "UPDATE" and col is None):
                t.counts[command] = "denied"
                continue
            where = (
                sql.SQL("true")
                if command == "SELECT" or t.bypasses_rls or not t.rls_enabled
                else _using(t.policies[command])
            )
            probe = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(ident, where)
            try:
                with conn.transaction(force_rollback=True):
                    conn.execute("SET TRANSACTION READ ONLY")
                    conn.execute("SET LOCAL statement_timeout = '10s'")
                    conn.execute("SET LOCAL lock_timeout = '1s'")
                    with psycopg.Cursor(conn) as cur:
                        cur.execute(*setup)
                    t.counts[command] = conn.execute(probe).fetchone()[0]
            except psycopg.Error as exc:
                t.counts[command] = f"error: {exc.diag.message_primary or exc}"


def _using(policies: list[dict[str, Any]]) -> Any:
    """The row filter of a command's policies, as PostgreSQL combines them: the
    permissive USING clauses OR'ed (a policy without one adds no row), AND'ed with
    every restrictive USING clause; no permissive clause: no row. The clauses are
    the server's own text (``pg_get_expr``), not user input."""
    from psycopg import sql

    permissive = [p["using"] for p in policies if p.get("permissive", True) and p["using"]]
    restrictive = [p["using"] for p in policies if not p.get("permissive", True) and p["using"]]
    if not permissive:
        return sql.SQL("false")
    parts: list[sql.Composable] = [sql.SQL(" OR ").join(sql.SQL(f"({u})") for u in permissive)]
    parts += [sql.SQL(f"({u})") for u in restrictive]
    return sql.SQL(" AND ").join(sql.SQL("({})").format(p) for p in parts)


# -- formats -------------------------------------------------------------------------
def as_json(rep: Report) -> str:
    return json.dumps(asdict(rep), indent=2, default=str)


def _cell(t: TableAccess, command: str) -> str:
    v = t.verdict(command)
    n = t.counts.get(command)
    if isinstance(n, str) and n.startswith("error"):
        return v + " (count failed)"
    return v + (f" ({n})" if isinstance(n, int) else "")


def _members(rep: Report) -> str:
    return ", ".join(
        f"{m} ({attribute_words(rep.member_attributes.get(m, {}))})" for m in rep.member_of
    )


def _no_usage(t: TableAccess) -> str:
    return f"{NO_USAGE} {t.schema}"


def _how(f: FunctionAccess) -> str:
    return ("" if f.how == "direct" else f" ({f.how})") + (
        f"  SECURITY DEFINER (runs as {f.owner})" if f.security_definer else ""
    )


def as_text(rep: Report) -> str:
    lines = [
        f"Role {rep.role}: "
        + attribute_words(rep.attributes)
        + (f"; can act as {_members(rep)}" if rep.member_of else ""),
        f"Settings: {rep.settings or 'none'}",
        "",
    ]
    for t in rep.tables:
        flags = "RLS " + ("forced" if t.rls_forced else "enabled" if t.rls_enabled else "off")
        lines.append(
            f"{t.table}  [{flags}]"
            + (f"  RLS does not apply: {t.bypasses_rls}" if t.bypasses_rls else "")
            + ("" if t.schema_usage else f"  {_no_usage(t)}: its privileges cannot be used")
        )
        privs = ", ".join(
            f"{p}{'' if how == 'direct' else f' ({how})'}" for p, how in t.privileges.items()
        )
        lines.append(f"  privileges: {privs or 'none'}")
        if t.column_privileges:
            lines.append(f"  column privileges: {'; '.join(t.column_privileges)}")
        for c in COMMANDS:
            pol = "; ".join(
                f"{p['name']}: "
                + " / ".join(
                    x
                    for x in (
                        p["using"] and f"USING {p['using']}",
                        p["check"] and f"CHECK {p['check']}",
                    )
                    if x
                )
                for p in t.policies[c]
            )
            lines.append(f"  {c:<7} {_cell(t, c):<22} {pol}")
    if rep.functions:
        lines += ["", "Functions it may EXECUTE:"]
        lines += [f"  {f.signature}{_how(f)}" for f in rep.functions]
    if rep.unusable_functions:
        lines += ["", "EXECUTE granted, but it cannot call them:"]
        lines += [
            f"  {f.signature}{_how(f)}  ({NO_USAGE} {f.schema})" for f in rep.unusable_functions
        ]
    failed = rep.failed_counts()
    if failed:
        lines += ["", "Count failed for:"] + [f"  {x}" for x in failed]
    return "\n".join(escape(line) for line in lines)  # a name cannot add or rewrite lines


def as_markdown(rep: Report) -> str:
    out = [
        f"# Permissions of `{rep.role}`",
        "",
        f"Attributes: {attribute_words(rep.attributes)}. "
        f"Can act as: {_members(rep) or 'none'}. Settings: "
        f"{', '.join(f'`{k}={v}`' for k, v in rep.settings.items()) or 'none'}.",
        "",
        "| table | RLS | SELECT | INSERT | UPDATE | DELETE | column privileges |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in rep.tables:
        rls = "forced" if t.rls_forced else "on" if t.rls_enabled else "off"
        out.append(
            f"| `{t.table}`{'' if t.schema_usage else f' ({_no_usage(t)})'} | {rls} | "
            + " | ".join(_cell(t, c) for c in COMMANDS)
            + f" | {'; '.join(t.column_privileges)} |"
        )
    if rep.functions:
        out += ["", "| function (EXECUTE) | how | SECURITY DEFINER |", "|---|---|---|"]
        out += [
            f"| `{f.signature}` | {f.how} | {'yes, as ' + f.owner if f.security_definer else ''} |"
            for f in rep.functions
        ]
    if rep.unusable_functions:
        out += [
            "",
            "| function (EXECUTE granted, cannot be called) | how | SECURITY DEFINER |",
            "|---|---|---|",
        ]
        out += [
            f"| `{f.signature}` | {f.how}; {NO_USAGE} {f.schema} | "
            f"{'yes, as ' + f.owner if f.security_definer else ''} |"
            for f in rep.unusable_functions
        ]
    failed = rep.failed_counts()
    if failed:
        out += ["", "**Count failed for:**", ""] + [f"- {x}" for x in failed]
    return "\n".join(escape(line) for line in out) + "\n"


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse;width:100%;table-layout:fixed}
col.t{width:13%} col.r{width:6%} col.c{width:17%} col.p{width:13%}
th,td{border:1px solid #ccc;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f4f4f4} .denied{background:#fde2e2;color:#8a1c1c}
.all{background:#fff3cd} .policy{background:#e2f0d9} .none{background:#eee;color:#666}
.pol{font:11px monospace;color:#444;display:block;margin-top:3px;overflow-wrap:anywhere}
.tag{display:inline-block;padding:1px 6px;border-radius:8px;background:#ddd;font-size:12px}
"""


def as_html(rep: Report) -> str:
    e = html.escape
    rows = []
    for t in rep.tables:
        rls = "forced" if t.rls_forced else "enabled" if t.rls_enabled else "off"
        cells = []
        for c in COMMANDS:
            v = t.verdict(c)
            cls = (
                "denied"
                if v.startswith("denied")
                else {"all rows": "all", "policy": "policy"}.get(v, "none")
            )
            pols = "".join(
                f'<span class="pol">{e(p["name"])}: '
                f"{e(p['using'] or '')}{' ✓ ' + e(p['check']) if p['check'] else ''}</span>"
                for p in t.policies[c]
            )
            n = t.counts.get(c)
            count = (
                f" <b>{n}</b> rows"
                if isinstance(n, int)
                else f' <span class="tag">count failed: {e(n)}</span>'
                if isinstance(n, str) and n.startswith("error")
                else ""
            )
            cells.append(f'<td class="{cls}">{e(v)}{count}{pols}</td>')
        why = (
            f'<br><span class="tag">RLS bypassed: {e(t.bypasses_rls)}</span>'
            if t.bypasses_rls
            else ""
        ) + ("" if t.schema_usage else f'<br><span class="tag">{e(_no_usage(t))}</span>')
        cols = "<br>".join(e(x) for x in t.column_privileges)
        rows.append(
            f"<tr><th>{e(t.table)}{why}</th><td>{rls}</td>{''.join(cells)}<td>{cols}</td></tr>"
        )
    attrs = attribute_words(rep.attributes)
    funcs = "".join(
        f"<tr><td><code>{e(f.signature)}</code></td><td>{e(f.how)}</td><td>"
        f"{'yes, runs as ' + e(f.owner) if f.security_definer else ''}</td></tr>"
        for f in rep.functions
    )
    funcs = (
        "<h2>Functions it may EXECUTE</h2><table><tr><th>function</th><th>how</th>"
        f"<th>SECURITY DEFINER</th></tr>{funcs}</table>"
        if funcs
        else ""
    )
    unusable = "".join(
        f"<tr><td><code>{e(f.signature)}</code></td><td>{e(f.how)}; "
        f"{e(NO_USAGE)} {e(f.schema)}</td><td>"
        f"{'yes, runs as ' + e(f.owner) if f.security_definer else ''}</td></tr>"
        for f in rep.unusable_functions
    )
    if unusable:
        funcs += (
            "<h2>EXECUTE granted, but it cannot call them</h2><table><tr><th>function</th>"
            f"<th>how</th><th>SECURITY DEFINER</th></tr>{unusable}</table>"
        )
    settings = ", ".join(f"{e(k)} = {e(v)}" for k, v in rep.settings.items()) or "none"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Permissions of "
        f"{e(rep.role)}</title><style>{CSS}</style></head><body>"
        f"<h1>What can <code>{e(rep.role)}</code> do?</h1>"
        f"<p>{e(attrs)}; can act as {e(_members(rep) or 'no role')}. "
        f"Session settings: {settings}.</p>"
        "<table><colgroup><col class='t'><col class='r'><col class='c'><col class='c'>"
        "<col class='c'><col class='c'><col class='p'></colgroup><tr><th>table</th><th>RLS</th><th>SELECT</th><th>INSERT</th><th>UPDATE</th>"
        f"<th>DELETE</th><th>column privileges</th></tr>{''.join(rows)}</table>"
        "<p>Green: rows filtered by the listed policies. Yellow: every row. Red: no "
        "privilege. Grey: privilege but no policy, so no rows.</p>"
        f"{funcs}</body></html>"
    )
