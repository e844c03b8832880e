"""``rlskit review``: who can see and change what, before and after a change.

For every actor of ``tests/rls/*.yaml`` (on its file's fixtures), every table and
every command, the *access matrix* records the privilege (whole table or which
columns), the rows the actor sees (SELECT), could update (``SELECT ... FOR NO KEY
UPDATE``, which applies the SELECT and UPDATE policies and fires no trigger) and
could delete (a SELECT filtered by the DELETE policies' USING), the policies that
apply, and the functions each role may EXECUTE. Everything runs in a transaction
that is rolled back.

Two matrices compare entry by entry; ``tests/rls/access.lock.json`` holds one,
sorted and indented, so an intended change is a reviewable diff and an unintended
one fails ``rlskit review --check``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlskit.access import Actor, Suite
from rlskit.catalog import fetch
from rlskit.errors import SpecError

LOCK_NAME = "access.lock.json"
LOCK_FORMAT = 1
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class TableRow:
    """One row of ``queries/access_matrix.sql``."""

    schema: str
    name: str
    kind: str
    rls_enabled: bool
    rls_forced: bool
    exempt: str | None
    privileges: tuple[str, ...]
    column_privileges: tuple[str, ...]
    policies: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def rls_applies(self) -> bool:
        return self.rls_enabled and self.exempt is None

    def columns(self, command: str) -> list[str] | None:
        """``["*"]`` for a table privilege, the columns for column privileges, else None."""
        if command in self.privileges:
            return ["*"]
        cols = [c.split(" ", 1)[1] for c in self.column_privileges if c.split(" ", 1)[0] == command]
        return cols or None

    def policies_for(self, command: str) -> list[dict[str, Any]]:
        """The policies that apply to ``command`` (its own and FOR ALL), parsed."""
        out = []
        for p in self.policies:
            data: dict[str, Any] = json.loads(p)
            if data["command"] in (command, "ALL"):
                out.append(data)
        return out


@dataclass(frozen=True)
class FunctionRow:
    schema: str
    name: str
    arguments: str
    security_definer: bool


def table_rows(conn: Any, role: str) -> list[TableRow]:
    """The access of ``role`` to every table of the database."""
    return fetch(conn, "access_matrix", TableRow, {"role": role})


def _combine(permissive: list[str], restrictive: list[str]) -> str:
    parts = ["(" + " OR ".join(f"({e})" for e in permissive) + ")" if permissive else "false"]
    return " AND ".join([*parts, *(f"({e})" for e in restrictive)])


def combined_using(policies: list[dict[str, Any]]) -> str:
    """The row filter PostgreSQL builds from the policies' USING: the permissive ones
    OR-ed (none: no row), AND-ed with every restrictive one. A policy without USING
    adds nothing. The expressions are the server's own text (``pg_get_expr``)."""
    return _combine(
        [p["using"] for p in policies if p["permissive"] and p["using"] is not None],
        [p["using"] for p in policies if not p["permissive"] and p["using"] is not None],
    )


def check_of(policy: dict[str, Any]) -> str | None:
    """A policy's WITH CHECK: its own, else its USING (as PostgreSQL does)."""
    found: str | None = policy["check"] if policy["check"] is not None else policy["using"]
    return found


def combined_check(policies: list[dict[str, Any]]) -> str:
    """The check a new row must pass: permissive WITH CHECKs OR-ed, restrictive AND-ed."""
    return _combine(
        [e for p in policies if p["permissive"] and (e := check_of(p)) is not None],
        [e for p in policies if not p["permissive"] and (e := check_of(p)) is not None],
    )


# -- computing the matrix ------------------------------------------------------------
def actor_key(display: str, actor: str) -> str:
    """``seed003_shop:store_owner_1``: the file's stem and the actor's name."""
    return f"{Path(display).stem}:{actor}"


def actor_settings(actor: Actor) -> dict[str, str]:
    """The settings an actor's transaction gets, as strings (claims included)."""
    from rlskit.access import actor_settings as settings_of

    return settings_of(actor)


def _enter(conn: Any, actor: Actor) -> None:
    from rlskit.access import enter_as

    enter_as(conn, actor.role, actor_settings(actor), "rlskit_case")


LEAVE = "ROLLBACK TO SAVEPOINT rlskit_case; RELEASE SAVEPOINT rlskit_case"


def _count(conn: Any, actor: Actor, query: Any) -> int | str:
    """Run ``query`` (one count) as the actor in a savepoint; the error text on failure."""
    import psycopg

    _enter(conn, actor)
    try:
        row = conn.execute(query).fetchone()
        return int(row[0])
    except psycopg.Error as exc:
        return f"error: {exc.diag.message_primary or exc}"
    finally:
        conn.execute(LEAVE)


def _counts(conn: Any, actor: Actor, t: TableRow) -> dict[str, int | str]:
    from psycopg import sql

    ident = sql.SQL("{} AS {}").format(sql.Identifier(t.schema, t.name), sql.Identifier(t.name))
    out: dict[str, int | str] = {}
    if t.columns("SELECT") is None:
        return out  # nothing can be read: no WHERE, so nothing to count honestly
    out["SELECT"] = _count(conn, actor, sql.SQL("SELECT count(*) FROM {}").format(ident))
    if t.columns("UPDATE") is not None:
        # FOR NO KEY UPDATE applies the SELECT and the UPDATE policies' USING, as an
        # UPDATE with a WHERE clause does, and fires no trigger.
        out["UPDATE"] = _count(
            conn,
            actor,
            sql.SQL("SELECT count(*) FROM (SELECT FROM {} FOR NO KEY UPDATE) AS s").format(ident),
        )
    if t.columns("DELETE") is not None:
        where = combined_using(t.policies_for("DELETE")) if t.rls_applies else "true"
        out["DELETE"] = _count(
            conn, actor, sql.SQL("SELECT count(*) FROM {} WHERE ").format(ident) + sql.SQL(where)
        )
    return out


def actor_matrix(conn: Any, actor: Actor, only: str | None = None) -> dict[str, Any]:
    """table -> what ``actor`` may do on it (only tables it holds some privilege on;
    ``only``: just that ``schema.table``)."""
    out: dict[str, Any] = {}
    for t in table_rows(conn, actor.role):
        if only is not None and t.qualified != only:
            continue
        cells: dict[str, Any] = {}
        for command in COMMANDS:
            cols = t.columns(command)
            if cols is None:
                continue
            cell: dict[str, Any] = {}
            if command != "DELETE":
                cell["columns"] = cols
            if t.rls_applies:
                cell["policies"] = [
                    p["name"] + ("" if p["permissive"] else " (restrictive)")
                    for p in t.policies_for(command)
                ]
            cells[command] = cell
        if not cells:
            continue
        for command, n in _counts(conn, actor, t).items():
            cells[command]["rows"] = n
        rls = "forced" if t.rls_forced else "on" if t.rls_enabled else "off"
        entry: dict[str, Any] = {"rls": f"not applied ({t.exempt})" if t.exempt else rls}
        entry.update(cells)
        out[t.qualified] = entry
    return out


def policy_table(conn: Any) -> dict[str, Any]:
    """Every policy as the server deparses it (whitespace and comments do not count).
    The role that ran the migrations (``conn``'s) shows as ``<migrator>``: a
    ``TO CURRENT_USER`` policy names whoever built the scratch database."""
    from rlskit.catalog import Policy
    from rlskit.drift import MIGRATOR

    me = str(conn.execute("SELECT current_user").fetchone()[0])
    out: dict[str, Any] = {}
    for p in fetch(conn, "policies", Policy):
        out.setdefault(f"{p.schema}.{p.table_name}", {})[p.name] = {
            "command": p.command,
            "permissive": p.permissive,
            "roles": [MIGRATOR if r == me else r for r in p.roles],
            "using": p.using_expr,
            "check": p.check_expr,
        }
    return out


@dataclass
class Matrix:
    """The access matrix of one build, and the files it could not use."""

    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def compute(conn: Any, suites: list[tuple[Suite, str]]) -> Matrix:
    """The access matrix of ``conn``'s (migrated) database for ``suites``.

    Each file's fixtures are loaded in a transaction that is rolled back."""
    import psycopg

    actors: dict[str, Any] = {}
    access: dict[str, Any] = {}
    execute: dict[str, list[str]] = {}
    notes: list[str] = []
    for suite, display in suites:
        with conn.transaction(force_rollback=True):
            if suite.fixtures.strip():
                try:
                    with conn.transaction():
                        conn.execute(suite.fixtures)
                except psycopg.Error as exc:
                    notes.append(
                        f"{display}: the fixtures failed ({exc.diag.message_primary or exc}); "
                        "its actors are left out"
                    )
                    continue
            for name, actor in suite.actors.items():
                key = actor_key(display, name)
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (actor.role,)
                ).fetchone()
                actors[key] = {
                    "role": actor.role,
                    "settings": {k: str(v) for k, v in sorted(actor.settings.items())},
                    **({"claims": actor.claims} if actor.claims else {}),
                }
                if exists is None:
                    access[key] = {}
                    notes.append(f"{key}: role {actor.role} does not exist")
                    continue
                access[key] = actor_matrix(conn, actor)
                if actor.role not in execute:  # roles fixtures make exist only meanwhile
                    execute[actor.role] = [
                        f"{f.schema}.{f.name}({f.arguments})"
                        + (" SECURITY DEFINER" if f.security_definer else "")
                        for f in fetch(conn, "role_functions", FunctionRow, {"role": actor.role})
                    ]
    data = {
        "format": LOCK_FORMAT,
        "actors": actors,
        "access": access,
        "execute": execute,
        "policies": policy_table(conn),
    }
    return Matrix(_sorted(data), notes)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def dumps(data: dict[str, Any]) -> str:
    """The lock file's text: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_lock(path: Path, display: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{display}:{exc.lineno}: not valid JSON ({exc.msg}).",
            "Rewrite it with `rlskit review --update`.",
        ) from None
    if not isinstance(data, dict) or data.get("format") != LOCK_FORMAT:
        raise SpecError(
            f"{display}: not an access lock of format {LOCK_FORMAT}.",
            "Rewrite it with `rlskit review --update`.",
        )
    return data


# -- comparing two matrices -----------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One difference between two matrices, as a sentence."""

    subject: str  # actor key, role, or table
    text: str
    kind: str  # gains | loses | changes


def _rows(cell: dict[str, Any] | None) -> str:
    if cell is None or "rows" not in cell:
        return "-"
    n = cell["rows"]
    return (f"{n} row" if n == 1 else f"{n} rows") if isinstance(n, int) else str(n)


def _cell_changes(key: str, table: str, command: str, a: Any, b: Any) -> list[Change]:
    if a == b:
        return []
    if a is None:
        cols = b.get("columns", ["*"])
        what = "" if cols == ["*"] else f" ({', '.join(cols)})"
        rows = f" (0 → {_rows(b)})" if "rows" in b else ""
        return [Change(key, f"gains {command}{what} on {table}{rows}", "gains")]
    if b is None:
        rows = f" ({_rows(a)} → 0)" if "rows" in a else ""
        return [Change(key, f"loses {command} on {table}{rows}", "loses")]
    parts = []
    if a.get("rows") != b.get("rows"):
        parts.append(f"{_rows(a)} → {_rows(b)}")
    if a.get("columns") != b.get("columns"):
        ca, cb = a.get("columns") or [], b.get("columns") or []
        if cb == ["*"]:
            text = "all columns"
        elif ca == ["*"]:
            text = f"only columns {', '.join(cb)}"
        else:
            gained, lost = [c for c in cb if c not in ca], [c for c in ca if c not in cb]
            text = "columns " + ", ".join([*(f"+{c}" for c in gained), *(f"-{c}" for c in lost)])
        parts.append(text)
    if a.get("policies") != b.get("policies"):
        pa, pb = a.get("policies") or [], b.get("policies") or []
        parts.append(
            "policies "
            + ", ".join(
                [*(f"+{p}" for p in pb if p not in pa), *(f"-{p}" for p in pa if p not in pb)]
            )
        )
    return [Change(key, f"{command} on {table}: {'; '.join(parts)}", "changes")]


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """What changed from ``old`` to ``new``, actor by actor, then functions and policies."""
    out: list[Change] = []
    oa, na = old.get("access", {}), new.get("access", {})
    for key in sorted(set(oa) | set(na)):
        if key not in oa:
            out.append(Change(key, "new actor", "gains"))
        if key not in na:
            out.append(Change(key, "actor removed", "loses"))
        ta, tb = oa.get(key, {}), na.get(key, {})
        for table in sorted(set(ta) | set(tb)):
            ea, eb = ta.get(table, {}), tb.get(table, {})
            if ea.get("rls") != eb.get("rls") and ea and eb:
                out.append(
                    Change(key, f"RLS on {table}: {ea.get('rls')} → {eb.get('rls')}", "changes")
                )
            for command in COMMANDS:
                out += _cell_changes(key, table, command, ea.get(command), eb.get(command))
    fa, fb = old.get("execute", {}), new.get("execute", {})
    for role in sorted(set(fa) | set(fb)):
        xa, xb = set(fa.get(role, [])), set(fb.get(role, []))
        out += [Change(role, f"gains EXECUTE on {f}", "gains") for f in sorted(xb - xa)]
        out += [Change(role, f"loses EXECUTE on {f}", "loses") for f in sorted(xa - xb)]
    pa, pb = old.get("policies", {}), new.get("policies", {})
    for table in sorted(set(pa) | set(pb)):
        qa, qb = pa.get(table, {}), pb.get(table, {})
        for name in sorted(set(qa) | set(qb)):
            if name not in qa:
                out.append(Change(table, f"policy {name} added: {_policy(qb[name])}", "gains"))
            elif name not in qb:
                out.append(Change(table, f"policy {name} dropped: {_policy(qa[name])}", "loses"))
            elif qa[name] != qb[name]:
                out.append(
                    Change(
                        table,
                        f"policy {name} changed: {_policy(qa[name])} → {_policy(qb[name])}",
                        "changes",
                    )
                )
    return out


def _policy(p: dict[str, Any]) -> str:
    parts = [
        p["command"],
        "TO " + ", ".join(p["roles"]),
        *(["RESTRICTIVE"] if not p["permissive"] else []),
        *([f"USING {p['using']}"] if p["using"] is not None else []),
        *([f"WITH CHECK {p['check']}"] if p["check"] is not None else []),
    ]
    return " ".join(" ".join(parts).split())


# -- output ------------------------------------------------------------------------
def as_text(changes: list[Change], title: str) -> str:
    if not changes:
        return f"{title}: no access changes."
    lines = [f"{title}: {len(changes)} change(s)"]
    lines += [f"  {c.subject}: {c.text}" for c in changes]
    return "\n".join(lines)


def as_markdown(changes: list[Change], title: str) -> str:
    if not changes:
        return f"### {title}\n\nNo access changes.\n"
    icon = {"gains": "➕", "loses": "➖", "changes": "✏️"}
    out = [f"### {title}", "", "| | who / what | change |", "|---|---|---|"]
    for c in changes:
        text = c.text.replace("|", "\\|")
        out.append(f"| {icon[c.kind]} | `{c.subject}` | {text} |")
    return "\n".join(out) + "\n"


def as_json(changes: list[Change], title: str) -> str:
    return json.dumps(
        {"title": title, "changes": [c.__dict__ for c in changes]}, indent=2, ensure_ascii=False
    )


# -- building the project at two points ----------------------------------------------
@dataclass
class ReviewResult:
    """What ``rlskit review`` found, and where the time went."""

    title: str
    changes: list[Change]
    matrix: dict[str, Any]
    notes: list[str]
    lock_path: Path
    lock_differs: bool | None  # None: no lock file to compare with
    seconds: dict[str, float] = field(default_factory=dict)


def load_suites(project: Any, paths: list[Path] | None = None) -> list[tuple[Suite, str]]:
    from rlskit.access import load_suite
    from rlskit.commands import access_files

    return [
        (load_suite(f, project.display(f)), project.display(f))
        for f in access_files(project, paths)
        if f.name != LOCK_NAME
    ]


def build_matrices(
    project: Any,
    suites: list[tuple[Suite, str]],
    server_url: str,
    targets: list[str],
    settings: Any = None,
) -> list[Matrix]:
    """Migrate one scratch database of ``project`` to each target in turn and compute
    the matrix at each (``targets`` in upgrade order)."""
    import psycopg

    from rlskit.commands import migrate_scratch
    from rlskit.scratch import scratch_database

    out = []
    with scratch_database(None, server_url) as url:
        for target in targets:
            if target != "base":
                migrate_scratch(project, url, target, settings)
            with psycopg.connect(url) as conn:
                out.append(compute(conn, suites))
    return out


def export_git_tree(project: Any, ref: str, dest: Path) -> Any:
    """Write the tree of ``ref`` into ``dest`` (``git archive``) and return the project
    found there at the same place relative to the repository."""
    import io
    import subprocess
    import tarfile

    from rlskit.project import Project

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", "-C", str(project.root), *args], capture_output=True, check=False
        )

    top = git("rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise SpecError(
            f"{project.root} is not in a git repository, so --git {ref} has nothing to compare.",
            "Use --from/--to revisions, or compare with the lock file (no option).",
        )
    archive = git("archive", "--format=tar", ref, "--")
    if archive.returncode != 0:
        raise SpecError(
            f"git cannot export {ref!r}: {archive.stderr.decode(errors='replace').strip()}.",
            "Pass a branch, tag or commit that exists (`git fetch` first for origin/...).",
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    rel = project.root.resolve().relative_to(Path(top.stdout.decode().strip()).resolve())
    return Project.find(dest / rel)


def review(
    project: Any,
    *,
    url: str | None = None,
    git_ref: str | None = None,
    revisions: tuple[str, str] | None = None,
    settings: Any = None,
) -> ReviewResult:
    """Compute the access matrix of the working tree (or ``revisions[1]``) and compare
    it with ``git_ref``'s, ``revisions[0]``'s, or the lock file's."""
    import tempfile
    import time

    from rlskit.scratch import scratch_server_url

    suites = load_suites(project)
    lock_path = project.root / "tests" / "rls" / LOCK_NAME
    seconds: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    base: dict[str, Any] | None = None
    with scratch_server_url(project, url) as server:
        if revisions is not None:
            old, new = build_matrices(project, suites, server, list(revisions), settings)
            seconds["builds"] = time.perf_counter() - t0
            title = f"Access changes from {revisions[0]} to {revisions[1]}"
            base, head = old.data, new
            notes += [f"at {revisions[0]}: {n}" for n in old.notes]
        else:
            if git_ref is not None:
                with tempfile.TemporaryDirectory(prefix="rlskit-review-") as tmp:
                    base_project = export_git_tree(project, git_ref, Path(tmp))
                    (old,) = build_matrices(base_project, suites, server, ["heads"], settings)
                base = old.data
                notes += [f"at {git_ref}: {n}" for n in old.notes]
                seconds["base build"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            (head,) = build_matrices(project, suites, server, ["heads"], settings)
            seconds["build"] = time.perf_counter() - t1
            title = (
                f"Access changes from {git_ref} to the working tree"
                if git_ref is not None
                else f"Access changes from {project.display(lock_path)} to the working tree"
            )
    if head.notes:
        raise SpecError(
            f"The access matrix would be incomplete: {head.notes[0]}"
            + (f" (and {len(head.notes) - 1} more)" if len(head.notes) > 1 else "")
            + ".",
            "Fix the access-matrix files (`rlskit test` runs the same fixtures); "
            "nothing was compared or written.",
        )
    locked = load_lock(lock_path, project.display(lock_path)) if lock_path.is_file() else None
    if base is None:
        base = locked if locked is not None else {}
        if locked is None:
            title += f" ({project.display(lock_path)} does not exist yet)"
    return ReviewResult(
        title,
        compare(base, head.data),
        head.data,
        notes,
        lock_path,
        None if locked is None else locked != head.data,
        seconds,
    )
