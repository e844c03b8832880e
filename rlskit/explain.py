"""``rlskit explain``: why an actor sees, changes or cannot change these rows.

The layers are walked in PostgreSQL's order: privileges (table, then column),
whether row-level security applies (enabled, forced, superuser/BYPASSRLS/owner
exemptions), the policies for the role and command, then row by row which
policy expression admitted or filtered each existing row, and which WITH CHECK
a new row fails, with the values that decided it.

How rows are judged: the table's rows are copied (as the connecting superuser,
so RLS hides none) into a temporary table that has no RLS, and every policy
expression is evaluated on that copy *as the actor*, with its role and
settings, so ``current_user``, settings and the policies' subqueries behave as
they do in the real statement. New rows come from running the statement, as
the actor, against a temporary copy. Finally the statement itself runs as the
actor and the explanation says whether PostgreSQL agreed. Everything happens in
one transaction that is rolled back (sequences an INSERT advances stay
advanced, as PostgreSQL never rolls them back). BEFORE triggers are not
simulated on the copies.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from rlskit import pgsql
from rlskit.errors import SpecError
from rlskit.quoting import quote_ident, quote_literal
from rlskit.review import TableRow, check_of, table_rows

MAX_ROWS = 10_000  # rows judged; beyond that the verdict is not predicted
SHOWN_ROWS = 50  # rows the text output lists
NOT_PREDICTED = "not predicted (too many rows)"
LEAVE = "ROLLBACK TO SAVEPOINT rlskit_explain; RELEASE SAVEPOINT rlskit_explain"


@dataclass
class Judgement:
    """One policy expression on one row: its result and the operands' values."""

    policy: str
    permissive: bool
    clause: str  # USING or WITH CHECK
    result: bool | str | None  # None: SQL NULL (fails); str: an error
    values: list[tuple[str, str | None]] = field(default_factory=list)
    group: str = ""  # the command whose policies it belongs to (SELECT for read rights)


@dataclass
class RowReport:
    key: str
    matches_where: bool | None
    passes: bool  # existing row: admitted by USING; new row: passes WITH CHECK
    judgements: list[Judgement]
    new: bool = False
    chosen: bool = True  # shown (--row picks rows to show; every row is judged)


@dataclass
class Explanation:
    actor: str
    role: str
    settings: dict[str, str]
    statement: str
    command: str
    table: str
    privileges: list[str]
    missing: list[str]
    rls: str
    rls_applies: bool
    filters: list[dict[str, Any]]  # policies whose USING filters existing rows
    checks: list[dict[str, Any]]  # policies whose WITH CHECK new rows must pass
    not_applying: list[str]
    rows: list[RowReport]
    predicted: str
    actual: str
    agrees: bool
    notes: list[str] = field(default_factory=list)


def _outcome(kind: str, count: int) -> str:
    return f"{count} row(s)" if kind == "ok" else kind


def _try(conn: Any, query: Any, params: Any = None) -> list[tuple[Any, ...]] | str:
    """Rows of ``query``, or the error's text; a failure leaves the transaction usable."""
    import psycopg

    try:
        with conn.transaction():
            cur = conn.execute(query, params)
            return list(cur.fetchall()) if cur.description is not None else []
    except psycopg.Error as exc:
        return f"error: {exc.diag.message_primary or exc}"


def _passes(judgements: list[Judgement], groups: set[str]) -> bool:
    """Per group: permissive results OR-ed (none: fails), AND-ed with every
    restrictive one; every group must pass."""
    for g in groups:
        js = [j for j in judgements if j.group == g]
        if not any(j.result is True for j in js if j.permissive):
            return False
        if not all(j.result is True for j in js if not j.permissive):
            return False
    return True


def _judge(
    conn: Any,
    enter: Any,
    source: Any,
    ids: str,
    policies: list[dict[str, Any]],
    clause: str,
    before: Any = None,
) -> dict[str, list[Judgement]]:
    """Evaluate each policy's USING (or WITH CHECK) on every row of ``source`` as the
    actor: row id -> judgements."""
    from psycopg import sql

    out: dict[str, list[Judgement]] = {}
    for p in policies:
        expr = p["using"] if clause == "USING" else check_of(p)
        if expr is None:
            continue  # adds nothing (a permissive policy without it admits nothing)
        ops = pgsql.operands(expr)
        label = "USING (on the new row)" if clause != "USING" and p["group"] == "SELECT" else clause
        cols = sql.SQL(", ").join(
            [sql.SQL(ids), sql.SQL(f"({expr})::boolean")] + [sql.SQL(f"({o})::text") for o in ops]
        )
        enter()
        try:
            if before is not None:
                done = _try(conn, before)
                if isinstance(done, str):
                    raise SpecError(f"The statement cannot run on a copy of the table: {done}.")
            rows = _try(conn, sql.SQL("SELECT {} FROM {}").format(cols, source))
        finally:
            conn.execute(LEAVE)
        if isinstance(rows, str):
            failed = Judgement(p["name"], p["permissive"], label, rows, [], p["group"])
            out.setdefault("*", []).append(failed)
            continue
        for r in rows:
            out.setdefault(str(r[0]), []).append(
                Judgement(
                    p["name"],
                    p["permissive"],
                    label,
                    r[1],
                    list(zip(ops, [None if v is None else str(v) for v in r[2:]], strict=True)),
                    p["group"],
                )
            )
    return out


def explain(
    conn: Any,
    role: str,
    settings: dict[str, str],
    statement: str,
    row_filter: dict[str, str] | None = None,
    actor_name: str | None = None,
) -> Explanation:
    """Explain ``statement`` run as ``role`` with ``settings`` on ``conn`` (a superuser
    connection inside no transaction, or one that may be rolled back)."""
    from psycopg import sql

    from rlskit.access import _run_probe, enter_as

    d = pgsql.dml(statement)
    if d is None:
        raise SpecError(
            "rlskit explain takes one SELECT, INSERT, UPDATE or DELETE on one table.",
            "Explain a join table by table.",
        )
    attrs = conn.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    if attrs is None:
        raise SpecError(f"Role {role!r} does not exist in the scratch database's cluster.")
    target = f"{d.schema}.{d.table}" if d.schema else d.table
    found = conn.execute(
        "SELECT n.nspname, c.relname, c.oid FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        (target,),
    ).fetchone()
    if found is None:
        raise SpecError(f"Table {target} does not exist.")
    schema, name, oid = found
    table = next(t for t in table_rows(conn, role) if (t.schema, t.name) == (schema, name))
    columns = [
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            (oid,),
        ).fetchall()
    ]
    # Columns of the target the statement reads (an INSERT reads its target only
    # through RETURNING; its other column references are another table's).
    read = [c for c in d.columns_read if c in columns] if d.command != "INSERT" else []
    if d.star and (d.command == "SELECT" or d.returning):
        read = columns
    reads = bool(read) or d.returning
    privileges, missing = _privileges(conn, role, oid, d, table, columns, read)

    exempt = (
        "superuser" if attrs[0] else "BYPASSRLS" if attrs[1] else table.exempt
    )  # table.exempt also says owner
    if not table.rls_enabled:
        rls = "row-level security is not enabled: every row the WHERE matches is in play"
    elif exempt is not None:
        rls = (
            f"row-level security is enabled{' and forced' if table.rls_forced else ''}, "
            f"but does not apply to {role}: {exempt}"
            + (" (the table has no FORCE ROW LEVEL SECURITY)" if exempt == "owner" else "")
        )
    else:
        rls = (
            f"row-level security is enabled{' and forced' if table.rls_forced else ''} and "
            f"applies to {role} (not superuser, no BYPASSRLS, not an owner exempt from it)"
        )
    applies = table.rls_enabled and exempt is None

    own = table.policies_for(d.command)
    select = table.policies_for("SELECT")
    filters: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    if applies:
        if d.command in ("SELECT", "UPDATE", "DELETE"):
            filters = [{**p, "group": d.command} for p in own]
            if d.command != "SELECT" and reads:
                filters += [{**p, "group": "SELECT"} for p in select]
        if d.command in ("INSERT", "UPDATE"):
            checks = [{**p, "group": d.command} for p in own]
            if reads:
                checks += [{**p, "group": "SELECT", "check": None} for p in select]
    filter_groups = {d.command} | ({"SELECT"} if reads else set())
    check_groups = {d.command} | ({"SELECT"} if reads else set())
    applying = {p["name"] for p in (*filters, *checks)}
    not_applying = [
        f"{r[0]} (FOR {r[1]} TO {', '.join(r[2])})"
        for r in conn.execute(
            "SELECT polname, CASE polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' "
            "WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, "
            "ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END "
            "FROM unnest(polroles) AS r ORDER BY 1) FROM pg_policy WHERE polrelid = %s "
            "ORDER BY 1",
            (oid,),
        ).fetchall()
        if r[0] not in applying
    ]

    def enter() -> None:
        enter_as(conn, role, dict(settings), "rlskit_explain")

    alias = d.alias or name
    ident = sql.Identifier(schema, name)
    keys = _key_columns(conn, oid) or columns[:1]
    key_sql = (
        "concat_ws(', ', "
        + ", ".join(
            f"{quote_literal(k + '=')} || coalesce({quote_ident(k)}::text, 'NULL')" for k in keys
        )
        + ")"
    )
    rows: list[RowReport] = []
    notes: list[str] = []
    failed = False  # the WHERE or a policy expression raised an error as the actor
    truncated = False
    old = sql.SQL("pg_temp.rlskit_old AS {}").format(sql.Identifier(alias))
    new = sql.SQL("pg_temp.rlskit_new AS {}").format(sql.Identifier(alias))

    conn.execute("SAVEPOINT rlskit_explain_all")
    try:
        if d.command != "INSERT":
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE rlskit_old ON COMMIT DROP AS "
                    "SELECT *, row_number() OVER () AS rlskit_row FROM {} LIMIT {}"
                ).format(ident, sql.Literal(MAX_ROWS + 1))
            )
            chosen: set[str] | None = None
            if row_filter:  # --row: which rows to show (every row is judged)
                cond = sql.SQL(" AND ").join(
                    sql.SQL("{}::text = %s").format(sql.Identifier(c)) for c in row_filter
                )
                found_rows = _try(
                    conn,
                    sql.SQL("SELECT rlskit_row FROM pg_temp.rlskit_old WHERE ") + cond,
                    list(row_filter.values()),
                )
                if isinstance(found_rows, str):
                    raise SpecError(f"--row cannot select rows: {found_rows}.")
                chosen = {str(r[0]) for r in found_rows}
            conn.execute("GRANT ALL ON pg_temp.rlskit_old TO PUBLIC")
            enter()
            try:
                base = _try(
                    conn,
                    sql.SQL("SELECT rlskit_row, {}, {} FROM {} ORDER BY rlskit_row").format(
                        sql.SQL(key_sql),
                        sql.SQL(f"({d.where})::boolean" if d.where else "true"),
                        old,
                    ),
                )
            finally:
                conn.execute(LEAVE)
            if isinstance(base, str):
                notes.append(f"the statement's WHERE fails as {role}: {base}")
                failed = True
                base = []
            if len(base) > MAX_ROWS:
                notes.append(
                    f"only the first {MAX_ROWS} rows are judged, so no verdict is predicted"
                )
                truncated = True
                base = base[:MAX_ROWS]
            judged = _judge(conn, enter, old, "rlskit_row", filters, "USING") if applies else {}
            by_row: dict[str, RowReport] = {}
            for r in base:
                js = judged.get(str(r[0]), []) + judged.get("*", [])
                ok = _passes(js, filter_groups) if applies else True
                by_row[str(r[0])] = RowReport(
                    r[1], r[2], ok, js, chosen=chosen is None or str(r[0]) in chosen
                )
            rows = list(by_row.values())
            if d.command == "UPDATE":
                conn.execute(
                    "CREATE TEMP TABLE rlskit_new ON COMMIT DROP AS SELECT * FROM pg_temp.rlskit_old"
                )
                conn.execute("GRANT ALL ON pg_temp.rlskit_new TO PUBLIC")
                update = pgsql.retarget(statement, "pg_temp", "rlskit_new", alias)
                wanted = [k for k, v in by_row.items() if v.passes and v.matches_where]
                if applies and wanted:
                    src = sql.SQL("{} WHERE rlskit_row = ANY({})").format(
                        new, sql.Literal([int(k) for k in wanted])
                    )
                    checked = _judge(conn, enter, src, "rlskit_row", checks, "WITH CHECK", update)
                    for k in wanted:
                        js = checked.get(k, []) + checked.get("*", [])
                        ok = _passes(js, check_groups)
                        rows.append(RowReport(by_row[k].key, True, ok, js, True, by_row[k].chosen))
        else:
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE rlskit_new (LIKE {} INCLUDING DEFAULTS INCLUDING IDENTITY "
                    "INCLUDING GENERATED) ON COMMIT DROP"
                ).format(ident)
            )
            conn.execute("GRANT ALL ON pg_temp.rlskit_new TO PUBLIC")
            insert = pgsql.retarget(statement, "pg_temp", "rlskit_new", alias)
            if applies:
                checked = _judge(
                    conn,
                    enter,
                    new,
                    "row_number() OVER (ORDER BY ctid)",
                    checks,
                    "WITH CHECK",
                    insert,
                )
                for k, js in sorted(checked.items()):
                    if k == "*":
                        continue
                    ok = _passes(js + checked.get("*", []), check_groups)
                    rows.append(RowReport(f"new row {k}", None, ok, js, new=True))
                if not checks:
                    rows.append(RowReport("every new row", None, False, [], new=True))
    finally:
        conn.execute(
            "ROLLBACK TO SAVEPOINT rlskit_explain_all; RELEASE SAVEPOINT rlskit_explain_all"
        )

    errors = sorted(
        {f"{j.policy}: {j.result}" for r in rows for j in r.judgements if isinstance(j.result, str)}
    )
    notes += [f"policy expression failed as {role}: {e}" for e in errors]
    predicted = (
        NOT_PREDICTED
        if truncated and not missing
        else "error"
        if (failed or errors) and not missing
        else _predict(d.command, missing, applies, rows)
    )
    enter()
    try:
        kind, count, _ids, message, _broke = _run_probe(conn, statement, role)
    finally:
        conn.execute(LEAVE)
    actual = _outcome(kind, count) + (f" ({message})" if message else "")
    agrees = predicted == _outcome(kind, count)
    if not applies and not missing and d.command == "INSERT" and kind == "ok":
        agrees = predicted == "all new rows"
        predicted = "all new rows"
    return Explanation(
        actor_name or role,
        role,
        dict(settings),
        " ".join(statement.split()),
        d.command,
        f"{schema}.{name}",
        privileges,
        missing,
        rls,
        applies,
        [_describe(p, "USING") for p in filters],
        [_describe(p, "WITH CHECK") for p in checks],
        not_applying,
        rows,
        predicted,
        actual,
        agrees,
        notes,
    )


def _describe(p: dict[str, Any], clause: str) -> dict[str, Any]:
    expr = p["using"] if clause == "USING" else check_of(p)
    return {
        "name": p["name"],
        "command": p["command"],
        "permissive": p["permissive"],
        "from": p["group"],
        "clause": "USING" if clause == "USING" or p["check"] is None else "WITH CHECK",
        "expression": expr,
    }


def _key_columns(conn: Any, oid: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = %s AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (oid,),
        ).fetchall()
    ]


def _privileges(
    conn: Any,
    role: str,
    oid: int,
    d: pgsql.Dml,
    table: TableRow,
    columns: list[str],
    read: list[str],
) -> tuple[list[str], list[str]]:
    """(what is granted, what is missing), table privilege first, then per column."""
    granted: list[str] = []
    missing: list[str] = []

    def need(priv: str, cols: list[str], why: str) -> None:
        if priv in table.privileges:
            granted.append(f"{priv} on the table ({why}): granted")
            return
        if not cols:
            missing.append(f"{priv} on the table ({why})")
            return
        for c in cols:
            ok = conn.execute(
                "SELECT has_column_privilege(%s, %s::oid, %s, %s)", (role, oid, c, priv)
            ).fetchone()[0]
            (granted if ok else missing).append(
                f"{priv} ({c}) ({why})" + (": granted as a column privilege" if ok else "")
            )

    if d.command == "SELECT":
        need("SELECT", read, "read by the query")
    elif d.command == "INSERT":
        need("INSERT", list(d.insert_columns) or columns, "inserted columns")
    elif d.command == "UPDATE":
        need("UPDATE", list(d.set_columns), "SET columns")
    else:
        need("DELETE", [], "DELETE")
        if "DELETE" not in table.privileges:
            pass
    if d.command != "SELECT" and read:
        need("SELECT", read, "read by WHERE/SET/RETURNING")
    return granted, missing


def _predict(command: str, missing: list[str], applies: bool, rows: list[RowReport]) -> str:
    if missing:
        return "denied"
    old = [r for r in rows if not r.new and r.matches_where]
    if command == "INSERT":
        new = [r for r in rows if r.new]
        if not applies:
            return "all new rows"
        if any(not r.passes for r in new):
            return "rls_violation"
        return f"{len(new)} row(s)"
    admitted = [r for r in old if r.passes]
    if command == "UPDATE" and any(r.new and not r.passes for r in rows):
        return "rls_violation"
    return f"{len(admitted)} row(s)"


# -- output --------------------------------------------------------------------
def _value_text(j: Judgement) -> str:
    result = (
        j.result
        if isinstance(j.result, str)
        else "true"
        if j.result is True
        else "false"
        if j.result is False
        else "NULL (counts as false)"
    )
    vals = ", ".join(f"{_flat(k)} = {'NULL' if v is None else v}" for k, v in j.values)
    return f"{j.policy} {j.clause} → {result}" + (f"  [{vals}]" if vals else "")


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def as_text(e: Explanation) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in e.settings.items()) or "none"
    out = [
        f"{e.actor}: role {e.role}, settings {settings}",
        f"  {e.statement}",
        "",
        f"1. Privileges on {e.table}",
    ]
    out += [f"   ok       {p}" for p in e.privileges]
    out += [f"   MISSING  {p}" for p in e.missing]
    out += ["", f"2. Row-level security: {e.rls}", "", f"3. Policies for {e.command}"]
    if not e.rls_applies:
        out.append("   none apply (row-level security does not apply)")
    else:
        if e.command != "INSERT":
            if not e.filters:
                out.append("   existing rows: no policy applies, so no row is admitted")
            for p in e.filters:
                kind = "permissive" if p["permissive"] else "restrictive"
                out.append(
                    f"   existing rows ({p['from']}): {p['name']} ({kind}, {p['command']}) "
                    f"USING {_flat(p['expression'])}"
                )
        if e.command in ("INSERT", "UPDATE"):
            if not e.checks:
                out.append("   new rows: no policy applies, so every new row is rejected")
            for p in e.checks:
                kind = "permissive" if p["permissive"] else "restrictive"
                out.append(
                    f"   new rows ({p['from']}): {p['name']} ({kind}, {p['command']}) "
                    f"{p['clause']} {_flat(p['expression'])}"
                )
        out += [f"   does not apply: {n}" for n in e.not_applying]
        out.append("   (permissive policies are OR-ed, then AND-ed with every restrictive one)")
    out += ["", "4. Rows"]
    if not e.rows:
        out.append("   no rows" if e.command != "INSERT" else "   (no new row was judged)")
    picked = [r for r in e.rows if r.chosen]
    if len(picked) < len(e.rows):
        out.append(f"   ({len(e.rows) - len(picked)} row report(s) not picked by --row)")
    shown = [r for r in picked if r.new or r.matches_where]
    hidden = len(picked) - len(shown)
    if hidden:
        out.append(f"   ({hidden} row(s) the WHERE clause does not match are not listed)")
    for r in shown[:SHOWN_ROWS]:
        if r.new:
            verdict = "passes WITH CHECK" if r.passes else "REJECTED by WITH CHECK"
            out.append(
                f"   {r.key}{'' if r.key.startswith('new row') else ' (new row)'}: {verdict}"
            )
        elif not r.matches_where:
            out.append(f"   {r.key}: not matched by the WHERE clause")
            continue
        else:
            verdict = "admitted" if r.passes or not e.rls_applies else "FILTERED (silently)"
            out.append(f"   {r.key}: {verdict}")
        out += [f"      {_value_text(j)}" for j in r.judgements]
    if len(shown) > SHOWN_ROWS:
        out.append(f"   ... {len(shown) - SHOWN_ROWS} more (--format json lists every row)")
    out += ["", f"5. Verdict: {e.predicted}"]
    if e.predicted == NOT_PREDICTED:
        out.append(f"   running it as {e.role} (rolled back) gave {e.actual}")
    elif e.agrees:
        out.append(f"   PostgreSQL agrees: running it as {e.role} (rolled back) gave {e.actual}")
    else:
        out.append(
            f"   PostgreSQL DISAGREES: running it as {e.role} (rolled back) gave {e.actual}; "
            "something outside the policy layers decided (a trigger, a constraint, a rule)"
        )
    out += [f"   note: {n}" for n in e.notes]
    return "\n".join(out)


def as_json(e: Explanation) -> str:
    return json.dumps(asdict(e), indent=2, default=str, ensure_ascii=False)
