"""The cheap answer to a deploy with nothing to do, without Alembic or SQLAlchemy.

``rlskit upgrade`` on a database already at its heads is the most common deploy.
When the project has the plain rlskit shape (the scaffold's env.py, revision
modules that only name their revision, parents and SQL file), the revision graph
is read with :mod:`ast`, the database's revisions and the recorded file hashes in
one query, and the files' bytes are hashed. Only when every one of these checks
holds is the answer "nothing to do"; any doubt (another shape, a missing table, a
hash that differs, a connection error) returns None and the full path decides.
"""

from __future__ import annotations

import ast
import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlskit.bookkeeping import content_hash
from rlskit.project import Project, Settings
from rlskit.quoting import quote_literal

SCAFFOLD_ENV = (Path(__file__).parent / "scaffold" / "env.py").read_text()
_NAMES = {"revision", "down_revision", "branch_labels", "depends_on"}
_BIND = {
    "upgrade, downgrade = (sql.upgrade, sql.downgrade)",
    "(upgrade, downgrade) = (sql.upgrade, sql.downgrade)",
}


@dataclass(frozen=True)
class Graph:
    """Revisions and their SQL stems, read without importing the modules."""

    parents: dict[str, tuple[str, ...]]
    stems: dict[str, str]
    docs: dict[str, str]  # the module docstrings, as Alembic reads them

    def linear(self) -> list[tuple[str, str]] | None:
        """(revision, SQL stem) base first, when the history is one line; else None."""
        roots = [r for r, ps in self.parents.items() if not ps]
        children: dict[str, str] = {}
        for rev, ps in self.parents.items():
            if len(ps) > 1:
                return None
            for p in ps:
                if p in children:
                    return None  # a branch point
                children[p] = rev
        if len(roots) != 1:
            return None
        order = [roots[0]]
        while order[-1] in children:
            order.append(children[order[-1]])
        if len(order) != len(self.parents):
            return None
        return [(rev, self.stems[rev]) for rev in order]

    @property
    def heads(self) -> frozenset[str]:
        """Revisions no other revision names as its parent."""
        named = {p for ps in self.parents.values() for p in ps}
        return frozenset(r for r in self.parents if r not in named)


def _module(path: Path) -> tuple[str, tuple[str, ...], str, str] | None:
    """(revision, parents, stem, docstring) of a module of the plain rlskit shape, else None."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError, OSError):
        return None
    values: dict[str, object] = {}
    stem: str | None = None
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == "rlskit.runtime":
            continue
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            return None
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and target.id in _NAMES:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                return None
        elif (
            isinstance(target, ast.Name)
            and target.id == "sql"
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "SqlRevision"
            and not value.keywords
            and len(value.args) == 2
            and isinstance(value.args[0], ast.Name)
            and value.args[0].id == "revision"
            and isinstance(value.args[1], ast.Constant)
            and isinstance(value.args[1].value, str)
            and stem is None
        ):
            stem = value.args[1].value
        elif ast.unparse(node) in _BIND:
            continue
        else:
            return None
    rev, down = values.get("revision"), values.get("down_revision")
    if not isinstance(rev, str) or stem is None or values.get("depends_on") is not None:
        return None
    if down is None:
        parents: tuple[str, ...] = ()
    elif isinstance(down, str):
        parents = (down,)
    elif isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        parents = tuple(down)
    else:
        return None
    return rev, parents, stem, ast.get_docstring(tree, clean=False) or ""


def plain_graph(project: Project) -> Graph | None:
    """The revision graph, when the project has the plain rlskit shape; else None."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(project.ini, encoding="utf-8")
    if any(
        parser.has_option("alembic", o)
        for o in ("version_locations", "recursive_version_locations", "sourceless")
    ):
        return None
    try:
        if (project.script_location / "env.py").read_text() != SCAFFOLD_ENV:
            return None
        files = sorted((project.script_location / "versions").iterdir())
    except OSError:
        return None
    parents: dict[str, tuple[str, ...]] = {}
    stems: dict[str, str] = {}
    docs: dict[str, str] = {}
    for f in files:
        if f.name in ("__pycache__", "__init__.py"):
            continue
        if f.suffix in (".pyc", ".pyo") or f.name.startswith(".#"):
            return None  # sourceless revisions, editor lock files: let Alembic decide
        if f.suffix != ".py":
            continue  # .gitkeep, notes: Alembic reads only modules
        found = _module(f)
        if found is None or found[0] in parents:
            return None
        rev, ps, stem, doc = found
        parents[rev] = ps
        stems[rev] = stem
        docs[rev] = doc
    if not parents or any(p not in parents for ps in parents.values() for p in ps):
        return None
    return Graph(parents, stems, docs)


# Put before :func:`state_query` in one libpq query (one implicit transaction): a
# lock on the bookkeeping, held by an upgrade that runs now, fails the check within a
# second instead of waiting silently; the full path then waits for the migration
# lock, saying who holds it, for ``migration_lock_wait``.
NO_WAIT = "SELECT set_config('lock_timeout', '1s', true); "


def state_query(settings: Settings) -> str:
    """One query: the versions, the records of applied files, stray privileges (JSON)."""
    from rlskit.bookkeeping import _book_name, _version_name

    schema = settings.version_table_schema
    vt, book = _version_name(settings), _book_name(settings)
    tables = f"to_regclass({quote_literal(vt)}), to_regclass({quote_literal(book)})"
    schema_acl = "0"
    if schema and schema != "public":
        schema_acl = (
            "(SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a "
            f"WHERE n.nspname = {quote_literal(schema)} AND a.grantee <> n.nspowner)"
        )
    # One statement, one snapshot, one JSON text: the versions, the records, stray
    # privileges (the full path would revoke them, so they mean "not a no-op").
    return (
        "SELECT json_build_array("
        f"(SELECT coalesce(json_agg(version_num::text), '[]') FROM {vt}), "
        "(SELECT coalesce(json_agg(json_build_array(revision, checksum, "
        "coalesce(content_hash, ''), to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ'))), "
        f"'[]') FROM {book}), "
        "(SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
        f"WHERE c.oid IN ({tables}) AND a.grantee <> c.relowner) + {schema_acl})::text"
    )


def pending_after(order: list[str], at: tuple[str, ...]) -> list[str]:
    """The revisions of ``order`` after the database's (all of them from base)."""
    return order[order.index(at[0]) + 1 :] if at else list(order)


def connect_params(url: str, extra: dict[str, str] | None = None) -> dict[str, str] | None:
    """libpq keywords for ``url``: our defaults first (the URL's own values override
    them), then the URL, then ``extra``; None when the URL cannot be read."""
    from rlskit.bookkeeping import KEEPALIVES
    from rlskit.urls import libpq_url

    try:
        target = libpq_url(url)
    except ValueError:
        return None
    params = {"connect_timeout": "10", **{k: str(v) for k, v in KEEPALIVES.items()}}
    params.update(dbname=target, client_encoding="UTF8", **(extra or {}))
    return params


State = tuple[Graph, frozenset[str], list[list[str]], int]


def read_state(graph: Graph, row: list[str | None] | None) -> State | None:
    """The database's versions, its records and stray privileges from :func:`state_query`'s row."""
    if not row or row[0] is None:
        return None
    import json

    versions, records, stray = json.loads(row[0])
    return graph, frozenset(versions), records, int(stray)


def _state(
    project: Project, url: str, settings: Settings, extra: dict[str, str] | None = None
) -> State | None:
    """The graph, the database's versions, its records and stray privileges."""
    graph = plain_graph(project)
    if graph is None:
        return None
    params = connect_params(url, extra)
    if params is None:
        return None
    from rlskit import libpq

    if libpq.available():
        row = libpq.query_row(params, NO_WAIT + state_query(settings))
    else:  # no bundled libpq (psycopg[c], a system libpq): the same through psycopg
        row = _query_psycopg(dict(params), state_query(settings))
    return read_state(graph, row)


def _query_psycopg(params: dict[str, str], sql: str) -> list[str | None] | None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        given: dict[str, Any] = {**params, **conninfo_to_dict(params.pop("dbname"))}
        with psycopg.connect(conninfo="", autocommit=True, **given) as conn:
            found = conn.execute(sql, prepare=False).fetchone()
    except psycopg.Error:
        return None  # the full path reports it properly
    return None if found is None else list(found)


def unchanged(project: Project, graph: Graph, record: list[str]) -> bool | None:
    """True: the file's bytes are the recorded ones; None: only the full path can tell."""
    from rlskit import pgsql

    _, checksum, recorded, _ = record
    stem = graph.stems[record[0]]
    if not recorded or not checksum.startswith(pgsql.FINGERPRINT_VERSION + ":"):
        return None
    try:
        data = (project.sql_dir / f"{stem}.up.sql").read_bytes()
    except OSError:
        return None
    return True if content_hash(data) == recorded else None


# (alembic.ini, URL) pairs this process has just checked and sent to the full path
# (the console script checks before click loads; the full path need not ask again).
_declined: set[tuple[str, str]] = set()


def decline(project: Project, url: str) -> None:
    """Remember that the check for ``url`` sent this process to the full path."""
    _declined.add((str(project.ini), url))


def declined(project: Project, url: str) -> bool:
    """Whether the check for ``url`` was just made and declined (forgotten on reading)."""
    key = (str(project.ini), url)
    found = key in _declined
    _declined.discard(key)
    return found


def at_heads(
    project: Project, url: str, settings: Settings, extra: dict[str, str] | None = None
) -> tuple[str, ...] | None:
    """The heads, when the database at ``url`` is at them and no applied file changed
    (verified from the bytes' recorded hashes); None when the full path must decide.
    ``extra``: libpq parameters that override the URL's (``require_auth``)."""
    state = _state(project, url, settings, extra)
    return None if state is None else current_heads(project, state)


def current_heads(project: Project, state: State) -> tuple[str, ...] | None:
    """The heads when ``state`` is at them with every applied file unchanged, else None."""
    graph, versions, records, stray = state
    if stray or versions != graph.heads or not applied_unchanged(project, graph, records):
        return None
    return tuple(sorted(graph.heads))


def applied_unchanged(project: Project, graph: Graph, records: list[list[str]]) -> bool:
    """Whether every recorded file of a revision the project has is unchanged byte for byte."""
    return all(
        # a revision the project no longer has: the full path skips it too
        r[0] not in graph.stems or unchanged(project, graph, r)
        for r in records
    )


def status_rows(
    project: Project, url: str, settings: Settings, extra: dict[str, str] | None = None
) -> list[dict[str, Any]] | None:
    """What ``status`` reports, for a linear history whose applied files are unchanged
    byte for byte; None when the full path must decide."""
    state = _state(project, url, settings, extra)
    if state is None:
        return None
    graph, versions, records, _ = state
    plan = graph.linear()
    if plan is None or not versions <= graph.parents.keys() or len(versions) > 1:
        return None
    order = [rev for rev, _ in plan]
    applied = set(order[: order.index(next(iter(versions))) + 1]) if versions else set()
    book = {r[0]: r for r in records}
    rows = []
    for rev in order:
        rec = book.get(rev)
        if rec is not None and not unchanged(project, graph, rec):
            return None
        stem = graph.stems[rev]
        up, down = project.sql_dir / f"{stem}.up.sql", project.sql_dir / f"{stem}.down.sql"
        rows.append(
            {
                "revision": rev,
                "down_revision": graph.parents[rev],
                "message": graph.docs[rev].strip().split("\n\n")[0],
                "up": project.display(up),
                "down": project.display(down),
                "is_head": rev in graph.heads,
                "applied": rev in applied,
                "applied_at": rec[3] if rec else None,
                "edited": False,
                "down_missing": not down.is_file(),
            }
        )
    return rows
