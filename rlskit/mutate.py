"""Would the access-matrix tests notice? Coverage and mutation testing.

``coverage``: for every policy x command x role it is granted to, whether some
case exercised it and whether the cases saw it both admit and filter a row
(each case is explained with :mod:`rlskit.explain`, which evaluates every
applicable policy on every row as the actor).

``mutate``: small wrong versions of each policy and grant (USING -> true,
USING -> false, WITH CHECK dropped, command swapped, a role added to TO,
permissive <-> restrictive, a grant added or revoked). Each is applied in a
savepoint of the fixtures' transaction, the cases touching its table run again,
and the savepoint is rolled back. A mutant no case fails survives: a hole in
the matrices. The score is killed / (killed + survived).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rlskit import pgsql
from rlskit.access import (
    Case,
    Expectation,
    Suite,
    _check,
    _run_probe,
    _structure,
    enter_as,
)
from rlskit.catalog import Policy, fetch
from rlskit.quoting import quote_ident, quote_qualified
from rlskit.review import LEAVE, actor_key, actor_matrix, actor_settings, compare

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
SWAP = {"SELECT": "UPDATE", "UPDATE": "SELECT", "DELETE": "SELECT", "INSERT": "UPDATE"}


@dataclass(frozen=True)
class Mutant:
    """One wrong version of a policy or a grant, and the SQL that makes it."""

    table: str
    target: str  # "policy NAME" or "grant"
    operator: str
    sql: str
    # True when the access matrix sees all the mutant changes (it changes no WITH
    # CHECK): then an unchanged matrix proves the mutant equivalent on the fixtures.
    matrix_sees_all: bool = False

    @property
    def label(self) -> str:
        return f"{self.table} {self.target}: {self.operator}"


@dataclass
class MutantResult:
    mutant: Mutant
    killed_by: str | None = None  # "file::case [actor]"
    invalid: str | None = None  # the mutant's SQL failed: not counted
    equivalent: str | None = None  # changes nothing any actor can do: not counted
    changes: list[str] = field(default_factory=list)  # what a survivor changes (review's words)


@dataclass
class MutationReport:
    results: list[MutantResult] = field(default_factory=list)
    seconds: float = 0.0
    baseline_failures: list[str] = field(default_factory=list)

    @property
    def killed(self) -> list[MutantResult]:
        return [r for r in self.results if r.killed_by and not r.invalid]

    @property
    def survived(self) -> list[MutantResult]:
        return [r for r in self.results if not r.killed_by and not r.invalid and not r.equivalent]

    @property
    def score(self) -> float:
        counted = len(self.killed) + len(self.survived)
        return 1.0 if counted == 0 else len(self.killed) / counted


def _roles_sql(roles: tuple[str, ...] | list[str]) -> str:
    return ", ".join("PUBLIC" if r == "PUBLIC" else quote_ident(r) for r in roles)


def create_policy(
    p: Policy,
    *,
    command: str | None = None,
    permissive: bool | None = None,
    roles: list[str] | None = None,
    using: str | bool | None = False,
    check: str | bool | None = False,
) -> str:
    """``DROP POLICY`` + ``CREATE POLICY`` for ``p`` with some parts replaced
    (``False``: keep; ``None``: leave the clause out). Expressions are the
    server's own deparsed text."""
    table = quote_qualified(p.schema, p.table_name)
    u = p.using_expr if using is False else using
    c = p.check_expr if check is False else check
    perm = p.permissive if permissive is None else permissive
    out = (
        f"DROP POLICY {quote_ident(p.name)} ON {table}; "
        f"CREATE POLICY {quote_ident(p.name)} ON {table} "
        f"AS {'PERMISSIVE' if perm else 'RESTRICTIVE'} FOR {command or p.command} "
        f"TO {_roles_sql(roles or list(p.roles))}"
    )
    if u is not None:
        out += f" USING ({u})"
    if c is not None:
        out += f" WITH CHECK ({c})"
    return out


def policy_mutants(p: Policy, actor_roles: list[str], conn: Any) -> list[Mutant]:
    """The mutants of one policy."""
    table = f"{p.schema}.{p.table_name}"
    target = f"policy {p.name}"
    out: list[Mutant] = []

    def add(operator: str, sql: str) -> None:
        no_check_change = p.command in ("SELECT", "DELETE") or (
            operator.startswith("USING") and p.check_expr is not None
        )
        out.append(Mutant(table, target, operator, sql, no_check_change))

    # A mutant equal to the original (USING true -> true) is not made.
    if p.using_expr is not None and p.using_expr != "true":
        add("USING → true", create_policy(p, using="true"))
    if p.using_expr is not None and p.using_expr != "false":
        add("USING → false", create_policy(p, using="false"))
    if p.check_expr is not None and p.check_expr != p.using_expr:
        add("WITH CHECK dropped", create_policy(p, check=None))
    cmd = p.command
    new = SWAP[cmd] if cmd != "ALL" else "SELECT" if p.using_expr is not None else "INSERT"
    using = p.using_expr if new != "INSERT" else None
    check = p.check_expr if new in ("INSERT", "UPDATE") else None
    if new == "INSERT" and check is None:
        check = p.using_expr
    if new == "UPDATE" and using is None:
        using = p.check_expr
    add(
        f"command {cmd} → {new}",
        create_policy(p, command=new, using=using, check=check),
    )
    add(
        "permissive → restrictive" if p.permissive else "restrictive → permissive",
        create_policy(p, permissive=not p.permissive),
    )
    if "PUBLIC" not in p.roles:
        for role in actor_roles:
            if role in p.roles:
                continue
            covered = conn.execute(
                "SELECT bool_or(pg_has_role(%s, r, 'USAGE')) FROM unnest(%s::text[]) AS r",
                (role, list(p.roles)),
            ).fetchone()[0]
            # Only a role that holds the policy's command on the table can tell.
            relevant = any(_holds(conn, role, table, c) for c in _commands(p.command))
            if not covered and relevant:
                add(f"TO + {role}", create_policy(p, roles=[*p.roles, role]))
    return out


def _commands(command: str) -> tuple[str, ...]:
    return COMMANDS if command == "ALL" else (command,)


def _holds(conn: Any, role: str, table: str, command: str) -> bool:
    """Whether ``role`` holds ``command`` on ``table`` (on some column, for a column grant)."""
    check = "has_table_privilege" if command == "DELETE" else "has_any_column_privilege"
    return bool(
        conn.execute(f"SELECT {check}(%s, %s::regclass, %s)", (role, table, command)).fetchone()[0]
    )


def grant_mutants(conn: Any, table: str, actor_roles: list[str]) -> list[Mutant]:
    """Revoke each grant the actors hold (directly, through a role, or PUBLIC; a
    column grant as a whole); grant to PUBLIC each table privilege an actor that can
    reach the schema lacks (one that cannot would notice nothing)."""
    out: list[Mutant] = []
    t = quote_qualified(*table.split(".", 1))
    held = conn.execute(
        "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, "
        "a.privilege_type FROM pg_class c, aclexplode(c.relacl) AS a "
        "WHERE c.oid = %s::regclass AND a.privilege_type IN ('SELECT','INSERT','UPDATE','DELETE') "
        "AND (a.grantee = 0 OR EXISTS (SELECT 1 FROM unnest(%s::text[]) AS r "
        "WHERE pg_has_role(r, a.grantee, 'USAGE'))) ORDER BY 1, 2",
        (table, actor_roles),
    ).fetchall()
    for grantee, priv in held:
        who = "PUBLIC" if grantee == "PUBLIC" else quote_ident(grantee)
        out.append(
            Mutant(
                table, "grant", f"REVOKE {priv} FROM {grantee}", f"REVOKE {priv} ON {t} FROM {who}"
            )
        )
    cols = conn.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, "
        "a.privilege_type, array_agg(att.attname::text ORDER BY att.attnum) "
        "FROM pg_attribute att, aclexplode(att.attacl) AS a WHERE att.attrelid = %s::regclass "
        "AND att.attnum > 0 AND a.privilege_type IN ('SELECT','INSERT','UPDATE') "
        "AND (a.grantee = 0 OR EXISTS (SELECT 1 FROM unnest(%s::text[]) AS r "
        "WHERE pg_has_role(r, a.grantee, 'USAGE'))) GROUP BY 1, 2 ORDER BY 1, 2",
        (table, actor_roles),
    ).fetchall()
    for grantee, priv, names in cols:
        who = "PUBLIC" if grantee == "PUBLIC" else quote_ident(grantee)
        out.append(
            Mutant(
                table,
                "grant",
                f"REVOKE {priv} ({', '.join(names)}) FROM {grantee}",
                f"REVOKE {priv} ({', '.join(quote_ident(c) for c in names)}) ON {t} FROM {who}",
            )
        )
    for priv in COMMANDS:
        lacking = conn.execute(
            # lacking: not on the table, and not on every column either (that is the same)
            "SELECT bool_or(NOT has_table_privilege(r, %(t)s::regclass, %(p)s) "
            "AND has_schema_privilege(r, %(s)s, 'USAGE') AND (%(p)s = 'DELETE' OR EXISTS ("
            "SELECT 1 FROM pg_attribute a WHERE a.attrelid = %(t)s::regclass AND a.attnum > 0 "
            "AND NOT a.attisdropped AND NOT has_column_privilege(r, a.attrelid, a.attnum, %(p)s))))"
            " FROM unnest(%(r)s::text[]) AS r",
            {"t": table, "p": priv, "s": table.split(".", 1)[0], "r": actor_roles},
        ).fetchone()[0]
        if lacking:
            out.append(
                Mutant(table, "grant", f"GRANT {priv} TO PUBLIC", f"GRANT {priv} ON {t} TO PUBLIC")
            )
    return out


def _access(conn: Any, suite: Suite, display: str, table: str) -> dict[str, Any]:
    """Every actor's access to ``table`` (privileges, rows; see :mod:`rlskit.review`)."""
    out = {}
    for name, actor in suite.actors.items():
        entry = actor_matrix(conn, actor, only=table)
        for cells in entry.values():  # behaviour only: which policy admitted is not seen
            for cell in cells.values():
                if isinstance(cell, dict):
                    cell.pop("policies", None)
        out[actor_key(display, name)] = entry
    return out


def _privileges(conn: Any, table: str, roles: list[str]) -> list[tuple[Any, ...]]:
    """What each role may do on each column of ``table`` (and DELETE on it)."""
    return list(
        conn.execute(
            "SELECT r, a.attname, has_column_privilege(r, a.attrelid, a.attnum, 'SELECT'), "
            "has_column_privilege(r, a.attrelid, a.attnum, 'INSERT'), "
            "has_column_privilege(r, a.attrelid, a.attnum, 'UPDATE'), "
            "has_table_privilege(r, a.attrelid, 'DELETE') "
            "FROM unnest(%s::text[]) AS r, pg_attribute a WHERE a.attrelid = %s::regclass "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2",
            (roles, table),
        ).fetchall()
    )


def _tables_of(conn: Any, case: Case) -> list[str]:
    out = []
    for name in pgsql.relations_of(case.probe):
        row = conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            (name,),
        ).fetchone()
        if row is not None:
            out.append(row[0])
    return out


def _passes(conn: Any, suite: Suite, case: Case, actor: str, expected: Expectation) -> bool:
    who = suite.actors[actor]
    enter_as(conn, who.role, actor_settings(who), "rlskit_case")
    kind, count, ids, message, _broke = _run_probe(conn, case.probe, who.role)
    conn.execute(LEAVE)
    return _check(expected, kind, count, ids, message)[0]


def mutate(conn: Any, suites: list[tuple[Suite, str]]) -> MutationReport:
    """Mutation-test ``suites`` on ``conn``'s migrated database (everything rolled back)."""
    import psycopg

    started = time.perf_counter()
    report = MutationReport()
    results: dict[tuple[str, str, str], MutantResult] = {}
    for suite, display in suites:
        with conn.transaction(force_rollback=True):
            if suite.fixtures.strip():
                conn.execute(suite.fixtures)
            touching: dict[str, list[tuple[int, Case, str, Expectation]]] = {}
            for i, case in enumerate(suite.cases):
                for actor, expected in case.expect.items():
                    label = f"{display}::{case.name or f'case {i + 1}'} [{actor}]"
                    if not _passes(conn, suite, case, actor, expected):
                        report.baseline_failures.append(label)
                        continue
                    for table in _tables_of(conn, case):
                        touching.setdefault(table, []).append((i, case, actor, expected))
            shaped = {
                r.case for r in _structure(conn, display, suite) if r.ok
            }  # structure checks that pass unmutated
            for table in suite.structure:
                name = _tables_of(conn, Case(probe=f"SELECT FROM {table}", expect={}))
                touching.setdefault(name[0] if name else table, [])
            roles = sorted({a.role for a in suite.actors.values()})
            policies = [
                p
                for p in fetch(conn, "policies", Policy)
                if f"{p.schema}.{p.table_name}" in touching
            ]
            mutants = [m for p in policies for m in policy_mutants(p, roles, conn)]
            before = {t: _privileges(conn, t, roles) for t in touching}
            matrix = {t: _access(conn, suite, display, t) for t in touching}
            for table in sorted(touching):
                mutants += grant_mutants(conn, table, roles)
            for m in mutants:
                key = (m.table, m.target, m.operator)
                result = results.setdefault(key, MutantResult(m))
                if result.killed_by:
                    continue
                conn.execute("SAVEPOINT rlskit_mutant")
                try:
                    try:
                        with conn.transaction():
                            conn.execute(m.sql)
                    except psycopg.Error as exc:
                        result.invalid = exc.diag.message_primary or str(exc)
                        continue
                    result.invalid = None
                    if m.target == "grant":
                        if _privileges(conn, m.table, roles) == before[m.table]:
                            result.equivalent = "no actor's privileges change (a redundant grant)"
                            continue
                        result.equivalent = None
                    broken = [
                        r.case
                        for r in _structure(conn, display, suite)
                        if not r.ok and r.case in shaped
                    ]
                    if broken:
                        result.killed_by = f"{display}::{broken[0]}"
                        continue
                    for i, case, actor, expected in touching[m.table]:
                        if not _passes(conn, suite, case, actor, expected):
                            result.killed_by = (
                                f"{display}::{case.name or f'case {i + 1}'} [{actor}]"
                            )
                            break
                    else:
                        # No case noticed: does the mutant change anything an actor can
                        # do on these fixtures? If not, no case could notice it.
                        now = _access(conn, suite, display, m.table)
                        if m.matrix_sees_all and now == matrix[m.table]:
                            result.equivalent = (
                                "no actor's access to the table changes on these fixtures"
                            )
                        else:
                            result.equivalent = None
                            result.changes = [
                                f"{c.subject}: {c.text}"
                                for c in compare({"access": matrix[m.table]}, {"access": now})
                            ]
                finally:
                    conn.execute(
                        "ROLLBACK TO SAVEPOINT rlskit_mutant; RELEASE SAVEPOINT rlskit_mutant"
                    )
    # Policies on tables no case touches: every mutant of them survives unseen.
    seen_tables = {k[0] for k in results}
    for p in fetch(conn, "policies", Policy):
        table = f"{p.schema}.{p.table_name}"
        if table not in seen_tables:
            for m in policy_mutants(p, [], conn):
                results.setdefault((m.table, m.target, m.operator), MutantResult(m))
    report.results = sorted(results.values(), key=lambda r: r.mutant.label)
    report.seconds = time.perf_counter() - started
    return report


# -- coverage -------------------------------------------------------------------------
@dataclass
class CoverageEntry:
    table: str
    policy: str
    command: str
    role: str
    cases: list[str] = field(default_factory=list)
    admitted: bool = False
    filtered: bool = False

    @property
    def status(self) -> str:
        if not self.cases:
            return "not exercised"
        if self.admitted and self.filtered:
            return "admits and filters"
        return "only admits" if self.admitted else "only filters" if self.filtered else "no rows"


def coverage(conn: Any, suites: list[tuple[Suite, str]]) -> tuple[list[CoverageEntry], list[str]]:
    """(entries, notes): every policy x command x TO-role and what the cases saw of it."""
    from rlskit.errors import SpecError
    from rlskit.explain import explain

    entries: dict[tuple[str, str, str, str], CoverageEntry] = {}
    policies = fetch(conn, "policies", Policy)
    for p in policies:
        owner = conn.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass",
            (quote_qualified(p.schema, p.table_name),),
        ).fetchone()[0]
        for command in COMMANDS if p.command == "ALL" else (p.command,):
            for role in p.roles:
                if role == owner:
                    continue  # the owner's own rows (the helpers' TO CURRENT_USER): no actor
                key = (f"{p.schema}.{p.table_name}", p.name, command, role)
                entries[key] = CoverageEntry(*key)
    notes: list[str] = []
    for suite, display in suites:
        with conn.transaction(force_rollback=True):
            if suite.fixtures.strip():
                conn.execute(suite.fixtures)
            for i, case in enumerate(suite.cases):
                label = f"{display}::{case.name or f'case {i + 1}'}"
                for actor_name in case.expect:
                    actor = suite.actors[actor_name]
                    settings = actor_settings(actor)
                    try:
                        e = explain(conn, actor.role, settings, case.probe, None, actor_name)
                    except SpecError as exc:
                        notes.append(f"{label} [{actor_name}]: not analysed ({exc.message})")
                        continue
                    if e.missing:
                        continue  # denied before any policy is consulted
                    for row in e.rows:
                        for j in row.judgements:
                            for (table, name, command, role), entry in entries.items():
                                if (table, name, command) != (e.table, j.policy, j.group):
                                    continue
                                if not _member(conn, actor.role, role):
                                    continue
                                if f"{label} [{actor_name}]" not in entry.cases:
                                    entry.cases.append(f"{label} [{actor_name}]")
                                if j.result is True:
                                    entry.admitted = True
                                else:
                                    entry.filtered = True
    return sorted(entries.values(), key=lambda x: (x.table, x.policy, x.command, x.role)), notes


def _member(conn: Any, role: str, of: str) -> bool:
    if of == "PUBLIC":
        return True
    return bool(
        conn.execute(
            "SELECT pg_has_role(%s, r.oid, 'USAGE') FROM pg_roles r WHERE r.rolname = %s",
            (role, of),
        ).fetchone()[0]
    )
