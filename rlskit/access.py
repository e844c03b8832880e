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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rlskit import pgsql
from rlskit.errors import SpecError
from rlskit.policies.yamlload import load_yaml

OUTCOMES = ("rls_violation", "denied")


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: str
    settings: dict[str, str | int | bool] = Field(default_factory=dict)
    # JWT-style claims: request.jwt.claims and request.jwt.claim.* (PostgREST, Supabase)
    claims: dict[str, Any] = Field(default_factory=dict)


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
    for i, case in enumerate(suite.cases):
        for actor in case.expect:
            if actor not in suite.actors:
                raise SpecError(
                    f"{display}:{located.line(('cases', i, 'expect', actor))}: "
                    f"unknown actor {actor!r}",
                    f"Actors: {', '.join(suite.actors)}.",
                )
    return suite


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


def _run_probe(conn: Any, probe: str) -> tuple[str, int, list[Any], str]:
    import psycopg

    try:
        cur = conn.execute(probe)
        if cur.description is not None:
            rows = cur.fetchall()
            return "ok", len(rows), [r[0] for r in rows], ""
        return "ok", cur.rowcount, [], ""
    except psycopg.errors.InsufficientPrivilege as exc:
        msg = exc.diag.message_primary or str(exc)
        return ("rls_violation" if "row-level security" in msg else "denied"), 0, [], msg
    except psycopg.Error as exc:
        return "error", 0, [], exc.diag.message_primary or str(exc)


def _refusals(conn: Any, suite: Suite) -> list[str]:
    """Actors RLS would not apply to: superuser, BYPASSRLS, or owner of a table without FORCE."""
    out = []
    tables: set[str] = set()
    for case in suite.cases:
        tables.update(pgsql.relations_of(case.probe))
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
        for t in sorted(tables):
            own = conn.execute(
                "SELECT c.relforcerowsecurity, pg_has_role(%s, c.relowner, 'USAGE') "
                "FROM pg_class c WHERE c.oid = to_regclass(%s)",
                (actor.role, t),
            ).fetchone()
            if own is not None and own[1] and not own[0]:
                out.append(
                    f"actor {name}: role {actor.role} owns (or inherits the owner of) {t}, "
                    "which has no FORCE ROW LEVEL SECURITY, so RLS does not apply to it"
                )
    return out


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


LEAVE = "ROLLBACK TO SAVEPOINT rlskit_case; RELEASE SAVEPOINT rlskit_case"


def _enter(actor: Actor) -> Any:
    """``SAVEPOINT`` plus the actor's role and settings, in one round trip."""
    from rlskit.session import setup_statement

    return setup_statement(actor.role, actor_settings(actor), before="SAVEPOINT rlskit_case")


def run_suite(conn: Any, suite: Suite, display: str, report: Report) -> None:
    """Run one file's cases on ``conn`` (a psycopg connection to a migrated database)."""
    with conn.transaction(force_rollback=True):
        if suite.fixtures.strip():
            import psycopg

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
        enter = {name: _enter(actor) for name, actor in suite.actors.items()}
        for i, case in enumerate(suite.cases):
            label = case.name or f"case {i + 1}"
            for actor_name, expectation in case.expect.items():
                # One round trip in, the probe, one round trip out: the savepoint undoes
                # the role, the settings and whatever the probe changed.
                conn.execute(enter[actor_name])
                kind, count, ids, message = _run_probe(conn, case.probe)
                conn.execute(LEAVE)
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
