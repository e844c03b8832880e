"""Access-matrix tests: who can see and change which rows, declared in YAML.

    # tests/rls/customers.yaml
    fixtures: |
      INSERT INTO app.organisations (name) VALUES ('o1'), ('o2');
    actors:
      tenant1: {role: app_user, settings: {app.tenant_id: "1"}}
      nobody:  {role: app_user}
    cases:
      - name: tenants see their own customers
        probe: SELECT id FROM app.customers
        expect: {tenant1: {ids: [1, 2]}, nobody: 0}
      - probe: INSERT INTO app.customers (organisation_id, name) VALUES (2, 'x')
        expect: {tenant1: rls_violation}
    structure:
      app.customers: {rls: true, forced: true,
                      policies: {customers_tenant_isolation: {command: ALL, roles: [app_user]}}}

An expectation is a row count (rows returned, or affected), ``{ids: [...]}``
(the first column, as a set), ``rls_violation``, ``denied`` (missing
privilege) or ``{error: regex}``. The runner loads the fixtures as the
migrating role, runs each case in a savepoint of one transaction that is
rolled back, and refuses actors RLS would not apply to.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rlskit import pgsql
from rlskit.errors import RlskitError, SpecError
from rlskit.policies.yamlload import load_yaml
from rlskit.quoting import quote_ident

OUTCOMES = ("rls_violation", "denied")


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: str
    settings: dict[str, str | int | bool] = Field(default_factory=dict)
    # JWT-style claims: request.jwt.claims and request.jwt.claim.* (PostgREST, Supabase)
    claims: dict[str, Any] = Field(default_factory=dict)

    @field_validator("role")
    @classmethod
    def _role(cls, v: str) -> str:
        from rlskit.session import check_role_name

        try:
            return check_role_name(v)
        except SpecError as exc:
            raise ValueError(exc.message) from None

    @field_validator("settings")
    @classmethod
    def _settings(cls, v: dict[str, str | int | bool]) -> dict[str, str | int | bool]:
        from rlskit.session import check_setting_name

        for name in v:
            try:
                check_setting_name(name)
            except SpecError as exc:
                raise ValueError(exc.message) from None
        return v


def actor_settings(actor: Actor) -> dict[str, str]:
    """What an actor's transaction sets: its claims' settings, then its own settings."""
    from rlskit.session import claims_settings

    out = claims_settings(actor.claims) if actor.claims else {}
    out.update({k: str(v) for k, v in actor.settings.items()})
    return out


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ids: list[Any] | None = None
    rows: int | None = None
    error: str | None = None


Expectation = int | str | Expect


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    probe: str
    expect: dict[str, Expectation]

    @field_validator("expect")
    @classmethod
    def _outcomes(cls, v: dict[str, Expectation]) -> dict[str, Expectation]:
        for actor, e in v.items():
            if isinstance(e, str) and e not in OUTCOMES:
                raise ValueError(
                    f"{actor}: expected a count, {{ids: [...]}}, "
                    f"{' or '.join(OUTCOMES)} or {{error: ...}}, not {e!r}"
                )
        return v


class TableShape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rls: bool | None = None
    forced: bool | None = None
    policies: dict[str, dict[str, Any]] | None = None


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fixtures: str = ""
    actors: dict[str, Actor]
    cases: list[Case] = Field(default_factory=list)
    structure: dict[str, TableShape] = Field(default_factory=dict)


def load_suite(path: Path, display: str) -> Suite:
    located = load_yaml(path.read_text(encoding="utf-8"), display)
    try:
        suite = Suite.model_validate(located.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        raise SpecError(
            f"{display}:{located.line(loc)}: {'.'.join(map(str, loc))}: {err['msg']}"
        ) from None
    if any("TransactionStmt" in st.get("stmt", {}) for st in _parsed(suite.fixtures)):
        raise SpecError(
            f"{display}:{located.line(('fixtures',))}: the fixtures use transaction control "
            "(BEGIN, COMMIT, ROLLBACK, SAVEPOINT)",
            "The runner rolls the fixtures back after the file: remove those statements. "
            "Nothing was run.",
        )
    for i, case in enumerate(suite.cases):
        reason = probe_refusal(case.probe)
        if reason is not None:
            raise SpecError(
                f"{display}:{located.line(('cases', i, 'probe'))}: "
                f"{case.name or f'case {i + 1}'}: the probe {reason}.",
                "A probe runs inside the case's savepoint as the actor: it may not end "
                "the transaction, leave the savepoint or change role. Nothing was run.",
            )
        for actor in case.expect:
            if actor not in suite.actors:
                raise SpecError(
                    f"{display}:{located.line(('cases', i, 'expect', actor))}: "
                    f"unknown actor {actor!r}",
                    f"Actors: {', '.join(suite.actors)}.",
                )
    return suite


# -- what a probe may not do -------------------------------------------------------------
_ROLE_SETTINGS = ("role", "session_authorization")


def _parsed(sql: str) -> list[dict[str, Any]]:
    try:
        return pgsql.parse_json(sql) if sql.strip() else []
    except pgsql.ParseError:
        return []  # the server reports the syntax error


def probe_refusal(probe: str) -> str | None:
    """Why ``probe`` may not run (None: it may): transaction control (it would end
    the run's transaction or leave the case's savepoint), SET/RESET of the role or
    the session authorization, RESET ALL, DISCARD, set_config() of the role or of a
    name that is not a constant, and DO blocks doing any of these or dynamic SQL.
    The runner also checks the state after every case; this names the statement
    before anything runs."""
    try:
        stmts = pgsql.parse_json(probe)
    except pgsql.ParseError:
        return None  # the server reports the syntax error as the case's outcome
    for stmt in stmts:
        reason = _refusal(stmt.get("stmt", {}))
        if reason is not None:
            return reason
    return None


def _refusal(node: Any) -> str | None:
    if isinstance(node, list):
        for item in node:
            reason = _refusal(item)
            if reason is not None:
                return reason
        return None
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        reason = _node_refusal(key, value)
        if reason is not None:
            return reason
        reason = _refusal(value)
        if reason is not None:
            return reason
    return None


def _node_refusal(key: str, value: Any) -> str | None:
    if key == "TransactionStmt":
        kind = str(value.get("kind", "")).removeprefix("TRANS_STMT_").replace("_", " ")
        return f"uses transaction control ({kind})"
    if key == "DiscardStmt":
        return "uses DISCARD"
    if key == "VariableSetStmt":
        name = str(value.get("name", "")).lower()
        if value.get("kind") == "VAR_RESET_ALL":
            return "uses RESET ALL, which resets the role"
        if name in _ROLE_SETTINGS:
            return f"changes {name.replace('_', ' ')}"
    if key == "FuncCall":
        fn = [str(p.get("String", {}).get("sval", "")).lower() for p in value.get("funcname", [])]
        if fn and fn[-1] == "set_config":
            args = value.get("args") or [{}]
            name = args[0].get("A_Const", {}).get("sval", {}).get("sval")
            if not isinstance(name, str):
                return "calls set_config() with a name that is not a constant"
            if name.strip().lower() in _ROLE_SETTINGS:
                return f"changes {name.strip().lower().replace('_', ' ')} with set_config()"
    if key == "DoStmt":
        return _do_refusal(value)
    return None


def _do_refusal(do: dict[str, Any]) -> str | None:
    from rlskit.quoting import quote_literal

    body, language = None, "plpgsql"
    for arg in do.get("args", []):
        d = arg.get("DefElem", {})
        if d.get("defname") == "as":
            body = d.get("arg", {}).get("String", {}).get("sval")
        elif d.get("defname") == "language":
            language = str(d.get("arg", {}).get("String", {}).get("sval", "")).lower()
    if language != "plpgsql" or not isinstance(body, str):
        return f"has a DO block in {language}, which rlskit cannot check"
    fn = pgsql.parse_plpgsql(f"DO {quote_literal(body)}")
    if fn is None:
        return None  # the server reports the error as the case's outcome
    return _plpgsql_refusal(fn)


def _plpgsql_refusal(node: Any) -> str | None:
    if isinstance(node, list):
        for item in node:
            reason = _plpgsql_refusal(item)
            if reason is not None:
                return reason
        return None
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        if key in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback"):
            return "has a DO block that ends the transaction"
        if key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors", "PLpgSQL_stmt_open"):
            return "has a DO block with dynamic SQL (EXECUTE), which rlskit cannot check"
        if key == "PLpgSQL_expr" and isinstance(value.get("query"), str):
            query = value["query"]
            text = query if value.get("parseMode", 0) == 0 else f"SELECT {query}"
            try:
                inner = pgsql.parse_json(text)
            except pgsql.ParseError:
                continue
            for stmt in inner:
                reason = _refusal(stmt.get("stmt", {}))
                if reason is not None:
                    return f"has a DO block that {reason}"
            continue
        reason = _plpgsql_refusal(value)
        if reason is not None:
            return reason
    return None


@dataclass
class Result:
    file: str
    case: str
    actor: str
    probe: str
    expected: str
    got: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.ok)


def _describe(e: Expectation) -> str:
    if isinstance(e, int):
        return f"{e} row(s)"
    if isinstance(e, str):
        return e
    if e.ids is not None:
        return f"ids {sorted(e.ids, key=str)}"
    if e.rows is not None:
        return f"{e.rows} row(s)"
    return f"error matching {e.error!r}"


def _check(
    e: Expectation, kind: str, count: int, ids: list[Any], message: str
) -> tuple[bool, str, str]:
    """(ok, what we got, detail)."""
    if kind == "error":
        got = f"error: {message}"
    elif kind in OUTCOMES:
        got = kind
    else:
        got = f"{count} row(s)"
    if isinstance(e, str):
        return kind == e, got, "" if kind == e else message
    if isinstance(e, int) or (isinstance(e, Expect) and e.rows is not None):
        want = e if isinstance(e, int) else e.rows
        return kind == "ok" and count == want, got, message
    assert isinstance(e, Expect)
    if e.error is not None:
        ok = kind in ("error", *OUTCOMES) and re.search(e.error, message) is not None
        return ok, got, "" if ok else message
    want_ids = {str(x) for x in e.ids or []}
    have = {str(x) for x in ids}
    if kind != "ok":
        return False, got, message
    detail = []
    if want_ids - have:
        detail.append(f"missing ids {sorted(want_ids - have)}")
    if have - want_ids:
        detail.append(f"unexpected ids {sorted(have - want_ids)}")
    return not detail, f"ids {sorted(have)}", "; ".join(detail)


def _run_probe(conn: Any, probe: str, role: str) -> tuple[str, int, list[Any], str, str | None]:
    """Run the probe's statements one by one; the outcome is the first error or the
    last statement's rows. Between statements the role is checked, so that a later
    statement cannot run (and fail, or pass) as a role an earlier one switched to.
    The last item is what the probe broke (None: nothing)."""
    import psycopg

    try:
        statements = [s.text for s in pgsql.split(probe)] or [probe]
    except pgsql.SplitError:
        statements = [probe]
    cur = None
    try:
        for n, statement in enumerate(statements):
            if n:
                who = conn.execute("SELECT current_user::text").fetchone()[0]
                if who != role:
                    return "error", 0, [], "", f"changed role from {role} to {who}"
            cur = conn.execute(statement)
        assert cur is not None
        if cur.description is not None:
            rows = cur.fetchall()
            return "ok", len(rows), [r[0] for r in rows], "", None
        return "ok", cur.rowcount, [], "", None
    except psycopg.errors.InsufficientPrivilege as exc:
        msg = exc.diag.message_primary or str(exc)
        return ("rls_violation" if "row-level security" in msg else "denied"), 0, [], msg, None
    except psycopg.Error as exc:
        return "error", 0, [], exc.diag.message_primary or str(exc), None


def _refusals(conn: Any, suite: Suite) -> list[str]:
    """Actors RLS would not apply to: superuser, BYPASSRLS, or owner of a table without FORCE."""
    out = []
    tables: set[tuple[str | None, str]] = set()
    for case in suite.cases:
        tables.update(_relations(case.probe))
    for name, actor in suite.actors.items():
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (actor.role,)
        ).fetchone()
        if row is None:
            out.append(f"actor {name}: role {actor.role} does not exist")
            continue
        if row[0] or row[1]:
            out.append(
                f"actor {name}: role {actor.role} is {'a superuser' if row[0] else 'BYPASSRLS'}"
                ", so RLS does not apply and its results would prove nothing"
            )
            continue
        for schema, rel in sorted(tables, key=lambda t: (t[0] or "", t[1])):
            # The owner check of RLS is has_privs_of_role(): the owner itself and every
            # role that inherits its privileges, through any chain of memberships,
            # which is what pg_has_role(..., 'USAGE') answers.
            own = conn.execute(
                "SELECT c.oid::regclass::text, c.relforcerowsecurity, "
                "pg_has_role(%s, c.relowner, 'USAGE'), pg_get_userbyid(c.relowner) "
                "FROM pg_class c WHERE c.oid = to_regclass(CASE WHEN %s::text IS NULL "
                "THEN quote_ident(%s) ELSE quote_ident(%s) || '.' || quote_ident(%s) END)",
                (actor.role, schema, rel, schema, rel),
            ).fetchone()
            if own is not None and own[2] and not own[1]:
                out.append(
                    f"actor {name}: role {actor.role} owns {own[0]} or inherits the "
                    f"privileges of its owner {own[3]}, and the table has no FORCE ROW "
                    "LEVEL SECURITY, so RLS does not apply to it"
                )
    return out


def _relations(probe: str) -> set[tuple[str | None, str]]:
    """(schema or None, name) of every relation the probe names, case preserved."""
    try:
        stmts = pgsql.parse_json(probe)
    except pgsql.ParseError:
        return set()
    found: set[tuple[str | None, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            rv = node.get("RangeVar")
            if isinstance(rv, dict) and "relname" in rv:
                found.add((rv.get("schemaname"), rv["relname"]))
            for value in node.values():
                walk(value)

    walk(stmts)
    return found


def _structure(conn: Any, display: str, suite: Suite) -> list[Result]:
    out = []
    for table, shape in suite.structure.items():
        row = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = to_regclass(%s)",
            (table,),
        ).fetchone()
        if row is None:
            out.append(
                Result(display, f"structure of {table}", "-", "", "a table", "missing", False)
            )
            continue
        for label, want, have in (("rls", shape.rls, row[0]), ("forced", shape.forced, row[1])):
            if want is not None:
                out.append(
                    Result(
                        display,
                        f"structure of {table}: {label}",
                        "-",
                        "",
                        str(want),
                        str(have),
                        want == have,
                    )
                )
        if shape.policies is not None:
            rows = conn.execute(
                "SELECT polname, CASE polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' "
                "WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, "
                "ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END "
                "FROM unnest(polroles) r ORDER BY 1) FROM pg_policy WHERE polrelid = to_regclass(%s)",
                (table,),
            ).fetchall()
            have_p = {r[0]: {"command": r[1], "roles": sorted(r[2])} for r in rows}
            want_p = {
                n: {
                    "command": str(d.get("command", "ALL")).upper(),
                    "roles": sorted(d.get("roles", ["PUBLIC"])),
                }
                for n, d in shape.policies.items()
            }
            out.append(
                Result(
                    display,
                    f"structure of {table}: policies",
                    "-",
                    "",
                    str(want_p),
                    str(have_p),
                    want_p == have_p,
                )
            )
    return out


class ProbeEscaped(RlskitError):
    """A probe got out of its case: ended the transaction, left the savepoint or
    changed role. The run stops: its results would prove nothing."""

    def __init__(self, display: str, case: str, actor: str, problem: str, kept: bool) -> None:
        self.display, self.case, self.actor, self.problem = display, case, actor, problem
        super().__init__(
            f"{display}: {case} [{actor}]: the probe {problem}.",
            "The run stopped. What the probe did before that may have been committed: "
            "check (or drop) the database."
            if kept
            else "The run stopped; its transaction was rolled back, nothing was kept.",
        )


_STATE = (
    "SELECT current_user::text, session_user::text, "
    "coalesce(current_setting('rlskit.test_run', true), ''), "
    "coalesce(current_setting('rlskit.test_case', true), '')"
)


def _state(conn: Any) -> tuple[str, str, str, str]:
    import psycopg

    with psycopg.Cursor(conn) as cur:
        row = cur.execute(_STATE).fetchone()
    assert row is not None
    return (str(row[0]), str(row[1]), str(row[2]), str(row[3]))


def enter_as(conn: Any, role: str | None, settings: dict[str, str], savepoint: str) -> None:
    """``SAVEPOINT savepoint`` and ``role`` with ``settings`` (names checked, values bound
    parameters), in one round trip; leave with ``ROLLBACK TO`` and ``RELEASE``."""
    import psycopg

    from rlskit.session import setup_statement

    query, params = setup_statement(role, settings)
    with conn.pipeline(), psycopg.Cursor(conn) as cur:
        cur.execute(f"SAVEPOINT {quote_ident(savepoint)}")
        cur.execute(query, params)


def _enter(conn: Any, actor: Actor, savepoint: str, case_marker: str) -> None:
    """``SAVEPOINT`` plus the actor's role and settings (bound parameters) and the
    case's marker, in one round trip."""
    import psycopg

    from rlskit.session import setup_statement

    settings = actor_settings(actor)
    query, params = setup_statement(actor.role, settings)
    with conn.pipeline(), psycopg.Cursor(conn) as cur:
        cur.execute(f"SAVEPOINT {savepoint}")
        cur.execute(
            query + (", " if params else " ") + "set_config('rlskit.test_case', %s, true)",
            (*params, case_marker),
        )


def _leave(
    conn: Any, actor: Actor, savepoint: str, case_marker: str, base: tuple[str, str, str, str]
) -> str | None:
    """Back to the state before the case, in one round trip: the state the probe left
    (unless it failed), ROLLBACK TO and RELEASE of the case's savepoint, the state
    after. Returns what the probe broke (None: nothing)."""
    import psycopg
    from psycopg import pq

    status = conn.info.transaction_status
    if status == pq.TransactionStatus.IDLE:
        return "ended the run's transaction (COMMIT or ROLLBACK)"
    with psycopg.Cursor(conn) as left, psycopg.Cursor(conn) as cur, psycopg.Cursor(conn) as after:
        try:
            with conn.pipeline():
                if status == pq.TransactionStatus.INTRANS:
                    left.execute(_STATE)
                cur.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                cur.execute(f"RELEASE SAVEPOINT {savepoint}")
                after.execute(_STATE)
        except psycopg.Error:
            return "left the case's savepoint"
        if status == pq.TransactionStatus.INTRANS:
            now = left.fetchone()
            assert now is not None
            if now[3] != case_marker or now[2] != base[2]:
                return "left the case's savepoint"
            if now[1] != base[1]:
                return f"changed the session authorization to {now[1]}"
            if now[0] != actor.role:
                return f"changed role from {actor.role} to {now[0]}"
        if tuple(after.fetchone() or ()) != base:
            return "changed the state that later cases run in"
    return None


def run_suite(conn: Any, suite: Suite, display: str, report: Report) -> None:
    """Run one file's cases on ``conn`` (a psycopg connection to a migrated database).

    Each case runs in a savepoint of one transaction that is rolled back. After
    every case the runner checks that the transaction, the savepoint, the role and
    the settings are the ones it set, and stops with :class:`ProbeEscaped` if not.
    """
    import psycopg

    with conn.transaction(force_rollback=True):
        if suite.fixtures.strip():
            try:
                conn.execute(suite.fixtures)
            except psycopg.Error as exc:
                raise SpecError(
                    f"{display}: the fixtures failed: {exc.diag.message_primary or exc}"
                    + (f" ({exc.diag.message_detail})" if exc.diag.message_detail else "")
                    + ".",
                    "Fix the fixtures (use explicit ids: sequences are not rolled back "
                    "between files); nothing was kept.",
                ) from None
        refused = _refusals(conn, suite)
        if refused:
            report.refused += [f"{display}: {r}" for r in refused]
            return
        report.results += _structure(conn, display, suite)
        conn.execute("SELECT set_config('rlskit.test_run', %s, true)", (secrets.token_hex(16),))
        base = _state(conn)
        for i, case in enumerate(suite.cases):
            label = case.name or f"case {i + 1}"
            for actor_name, expectation in case.expect.items():
                actor = suite.actors[actor_name]
                # a savepoint name and a marker the probe cannot know in advance
                savepoint = f"rlskit_case_{secrets.token_hex(8)}"
                marker = secrets.token_hex(16)
                _enter(conn, actor, savepoint, marker)
                kind, count, ids, message, broke = _run_probe(conn, case.probe, actor.role)
                problem = _leave(conn, actor, savepoint, marker, base) or broke
                if problem is not None:
                    kept = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                    raise ProbeEscaped(display, label, actor_name, problem, kept)
                ok, got, detail = _check(expectation, kind, count, ids, message)
                report.results.append(
                    Result(
                        display,
                        label,
                        actor_name,
                        case.probe,
                        _describe(expectation),
                        got,
                        ok,
                        detail,
                    )
                )
