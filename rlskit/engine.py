"""Upgrades of plain projects without Alembic or SQLAlchemy.

A project of the plain rlskit shape (the scaffold's env.py, revision modules that
only name their revision, parent and SQL file: :func:`rlskit.noop.plain_graph`)
with a linear history is upgraded to its head here, on one psycopg connection:
importing Alembic and SQLAlchemy costs more than applying most deploys. Every step
is the one the Alembic path takes, in the same order and with the same SQL and
messages: the migration lock, the bookkeeping, the check of applied files, every
pending file read and checked before anything runs, each revision through
:func:`rlskit.runtime.run_file`, the version row written as Alembic writes it,
retries after a lock timeout, and the revision read back after a failure. Any
other shape (branches, merges, another env.py, a database at an unknown or
several revisions, a target other than head) returns None before connecting and
the Alembic path runs. tests/test_engine.py compares both paths on the same
projects with pg_dump.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rlskit.bookkeeping import (
    KEEPALIVES,
    _book_name,
    _version_name,
    bookkeeping_prepare,
    legacy_bookkeeping_query,
    session_options,
    version_move,
)
from rlskit.errors import (
    NonTransactionalRevision,
    RevisionError,
    RlskitError,
    SqlFileMissing,
    SqlStatementError,
)
from rlskit.noop import pending_after as _pending
from rlskit.project import Project, Settings
from rlskit.runtime import (
    AppliedFile,
    Event,
    Report,
    bookkeeping_failed,
    bookkeeping_setup_failed,
    connect_error,
    connection_lost,
    hold_migration_lock,
    lock_retry,
    recheck,
    rollback_note,
    run_file,
    stripped_event,
)
from rlskit.sqlfile import SqlFile
from rlskit.urls import libpq_url, mask_url

if TYPE_CHECKING:
    from rlskit.noop import Graph


def linear_plan(project: Project, graph: Graph | None = None) -> list[tuple[str, str]] | None:
    """(revision, SQL stem) base first, when the project (its ``graph``, if read
    already) is plain and linear; else None."""
    from rlskit import noop

    graph = graph or noop.plain_graph(project)
    return None if graph is None else graph.linear()


def _connect(url: str) -> Any:
    """A psycopg connection with the session options of every migration connection."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    base = conninfo_to_dict(libpq_url(url))

    def params(orphan: bool) -> dict[str, Any]:
        found: dict[str, Any] = {**KEEPALIVES, **base}
        found["options"] = session_options(str(base.get("options") or ""), orphan)
        found.setdefault("connect_timeout", 10)
        return found

    try:
        return psycopg.connect(conninfo="", **params(True))
    except psycopg.OperationalError as exc:
        if "unrecognized configuration parameter" not in str(exc):
            raise connect_error(url, exc) from None
    try:  # a server older than PostgreSQL 14
        return psycopg.connect(conninfo="", **params(False))
    except psycopg.OperationalError as exc:
        raise connect_error(url, exc) from None


def _migration_lock(
    conn: Any, settings: Settings, report: Report
) -> contextlib.AbstractContextManager[None]:
    """The migration lock on the psycopg connection (:func:`runtime.hold_migration_lock`)."""
    import psycopg

    return hold_migration_lock(
        lambda sql, *params: conn.execute(sql, params).fetchone(),
        settings,
        report,
        conn.commit,
        conn.rollback,
        conn.rollback,
        lambda exc: isinstance(exc, psycopg.errors.LockNotAvailable),
    )


def _prepare(conn: Any, settings: Settings) -> None:
    import psycopg

    try:
        with conn.cursor() as cur:
            for stmt in bookkeeping_prepare(settings):
                cur.execute(stmt, prepare=False)
    except psycopg.Error as exc:
        raise bookkeeping_setup_failed(settings, str(exc)) from None


def _known_state(conn: Any, settings: Settings, stems: dict[str, str]) -> bool:
    """Whether the database is at base or at one revision of this project, with its
    bookkeeping where this rlskit keeps it (else Alembic decides and says)."""
    legacy = legacy_bookkeeping_query(settings)
    try:
        if legacy is not None and conn.execute(legacy).fetchone()[0]:
            return False  # an earlier rlskit's bookkeeping, moved by the full path
        if conn.execute("SELECT to_regclass(%s)", (_version_name(settings),)).fetchone()[0] is None:
            return True
        versions = _versions(conn, settings)
    finally:
        conn.rollback()
    return len(versions) <= 1 and all(v in stems for v in versions)


def _versions(conn: Any, settings: Settings) -> tuple[str, ...]:
    rows = conn.execute(f"SELECT version_num FROM {_version_name(settings)}").fetchall()
    return tuple(str(r[0]) for r in rows)


def _verify(conn: Any, project: Project, settings: Settings, stems: dict[str, str]) -> None:
    """Refuse an applied file that was edited; rewrite records of an older algorithm
    (:func:`runtime.recheck`, as :func:`runtime.verify_checksums` does)."""
    book = _book_name(settings)
    rows = conn.execute(
        "SELECT revision, path, checksum, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ'), "
        f"applied_by, content_hash FROM {book} ORDER BY applied_at, revision"
    ).fetchall()
    for row in rows:
        rec = AppliedFile(*row)
        stem = stems.get(rec.revision)
        if stem is not None:
            path = project.sql_dir / f"{stem}.up.sql"
            load = functools.partial(_load, project, rec.revision, stem)
            recheck(rec, path, load, conn.execute, settings)


def _load(project: Project, revision: str, stem: str) -> SqlFile:
    path = project.sql_dir / f"{stem}.up.sql"
    display = project.display(path)
    if not path.is_file():
        raise SqlFileMissing(revision, display)
    return SqlFile.load(path, display)


def _record_version(conn: Any, settings: Settings, old: str | None, new: str) -> None:
    """Move the version row as Alembic does (INSERT from base, else UPDATE one row)."""
    cur = conn.execute(version_move(settings, old, new))
    if cur.rowcount != 1:
        raise RevisionError(
            f"Online migration expected to match one row when updating '{old}' to '{new}' "
            f"in {_version_name(settings)}; {cur.rowcount} found. Another process changed "
            "the version table.",
            "Check it with `rlskit status`, then run upgrade again.",
        )


def upgrade(project: Project, settings: Settings, url: str, source: str, report: Report) -> bool:
    """Upgrade the database at ``url`` to the head; False (nothing done, nothing
    connected) when the project is not plain and linear."""
    plan = linear_plan(project)
    if plan is None:
        return False
    stems = dict(plan)
    order = [rev for rev, _ in plan]
    conn = _connect(url)
    try:
        if not _known_state(conn, settings, stems):
            return False
        report(
            Event(
                "connected",
                f"database {mask_url(url)} ({source})",
                {"url": mask_url(url), "source": source},
            )
        )
        return _run(conn, project, settings, order, stems, report, url)
    finally:
        conn.close()


def _run(
    conn: Any,
    project: Project,
    settings: Settings,
    order: list[str],
    stems: dict[str, str],
    report: Report,
    url: str,
) -> bool:
    import psycopg

    with _migration_lock(conn, settings, report):
        _prepare(conn, settings)
        before = initial = _versions(conn, settings)
        if len(before) > 1 or (before and before[0] not in stems):
            raise RevisionError(
                f"The database moved to revision(s) {', '.join(before)} while this upgrade "
                "started; nothing was changed.",
                "Check it with `rlskit status`, then run upgrade again.",
            )
        _verify(conn, project, settings, stems)
        pending = _pending(order, before)
        files = {rev: _load(project, rev, stems[rev]) for rev in pending}
        for rev, sqlfile in files.items():
            if not sqlfile.transactional and not settings.per_revision:
                raise NonTransactionalRevision(rev, sqlfile.display)
        conn.commit()
        attempt = 0
        commits: list[bool] = []  # a COMMIT of the upgrade's work was sent
        while True:
            attempt += 1
            try:
                _apply_all(conn, settings, before, pending, files, report, commits)
                break
            except SqlStatementError as exc:
                now = _read_back(conn, settings)
                if exc.sqlstate == "55P03" and exc.failure.in_transaction and now is not None:
                    lock_retry(exc, attempt, settings, report)  # or LockTimeout
                    before = now
                    pending = _pending(order, now)
                    continue
                raise rollback_note(exc, settings, now, initial) from exc.__cause__
            except RlskitError:
                with contextlib.suppress(Exception):
                    conn.rollback()
                raise
            except psycopg.Error as exc:
                if conn.closed or conn.broken:  # say where the database is, read anew
                    now = _read_anew(url, settings)
                    sent = None if commits else False
                    raise connection_lost(settings, exc, now, initial, sent) from None
                # the connection works: rlskit's own statement failed (say, its version
                # table was dropped by the revision); say so and where the database is
                now = _read_back(conn, settings)
                raise bookkeeping_failed(settings, exc, now, initial) from None
        after = _versions(conn, settings)
        conn.commit()
        report(
            Event(
                "done",
                f"at {', '.join(after) or 'base'} (was {', '.join(initial) or 'base'})",
                {"before": list(initial), "after": list(after)},
            )
        )
    return True


def _read_anew(url: str, settings: Settings) -> tuple[str, ...] | None:
    """The revision read on a new connection after the old one was lost; None if
    the database cannot be reached."""
    try:
        conn = _connect(url)
    except RlskitError:
        return None
    try:
        return _read_back(conn, settings)
    finally:
        conn.close()


def _read_back(conn: Any, settings: Settings) -> tuple[str, ...] | None:
    """The revision after rolling back the failed transaction; None: connection gone."""
    try:
        conn.rollback()
        now = _versions(conn, settings)
        conn.rollback()
    except Exception:
        return None
    return now


def _apply_all(
    conn: Any,
    settings: Settings,
    before: tuple[str, ...],
    pending: list[str],
    files: dict[str, SqlFile],
    report: Report,
    commits: list[bool],
) -> None:
    @contextlib.contextmanager
    def autocommit_block() -> Iterator[None]:
        commits.append(True)
        conn.commit()  # what ran before is committed, as Alembic's autocommit_block does
        conn.autocommit = True
        try:
            yield
        finally:
            conn.autocommit = False

    current = before[0] if before else None
    for rev in pending:
        sqlfile = files[rev]
        note = stripped_event(sqlfile)
        if note is not None:
            report(note)
        run_file(conn, sqlfile, rev, "up", settings, report, autocommit_block)
        _record_version(conn, settings, current, rev)
        if settings.per_revision:
            commits.append(True)
            conn.commit()
        current = rev
    commits.append(True)
    conn.commit()
