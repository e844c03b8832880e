"""Express upgrades: one transaction through libpq, or nothing and the full path.

``rlskit upgrade`` of a plain linear project (:func:`rlskit.engine.linear_plan`)
runs here from the console script (:mod:`rlskit.entry`), before psycopg, click or
Alembic are imported: their imports cost a tenth of what the server needs for a
thousand policies. It is an attempt that commits everything or changes nothing:
the migration lock is only tried, the bookkeeping, the check of applied files,
every pending file and its record and the version row run in ONE transaction
through :class:`rlskit.libpq.Connection`, and the events are printed only after
COMMIT succeeded. Anything else (the lock is held, a file was edited, a statement
fails, a lock timeout, a file the parser refuses, per-revision mode, a URL with its
own ``options``) rolls back, and the full path runs the upgrade from the start: it
waits, retries, locates the failing statement and reports it as always
(tests/test_express.py compares the two ways on the same projects).

A file with no word that can start transaction control (``BEGIN``, ``COMMIT``,
``END``, ...), no psql meta-command and no ``rlskit:`` directive is sent while it is
split and fingerprinted in another thread (pglast releases the GIL); any other file
is parsed and checked first, as the full path does.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlskit import libpq, noop
from rlskit.bookkeeping import (
    SESSION_RESET,
    _version_name,
    advisory_key,
    bookkeeping_prepare,
    bookkeeping_record,
    legacy_bookkeeping_query,
    lock_timeout_sql,
    session_options,
    version_move,
)
from rlskit.errors import RlskitError
from rlskit.messages import error_line, event_line, summary_line
from rlskit.project import Project, Settings
from rlskit.sqlfile import SqlFile, normalise
from rlskit.urls import mask_url

# Words that can start a statement ending or nesting the transaction, COPY (its
# STDIN/STDOUT form is refused), a psql meta-command, a directive: a file with none
# of them needs no parse before it runs.
_NEEDS_PARSE = re.compile(
    r"\b(?:BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE|COPY)\b|^\s*\\|rlskit:",
    re.IGNORECASE | re.MULTILINE,
)

Answer = tuple[str, str, int]  # stdout, stderr, exit code


class _Handover(Exception):
    """Roll back and let the full path run the upgrade."""


@dataclass
class _Progress:
    """How far the attempt got: what a failure that is not run again must say."""

    said: list[tuple[str, bool] | None]  # the lines the full path has printed by now
    before: tuple[str, ...] | None = None  # the revision read under the lock
    committing: bool = False  # COMMIT was sent: only the database knows its outcome


@dataclass
class _Pending:
    revision: str
    path: Path
    display: str
    data: bytes
    parsed: SqlFile | None = None  # parsed before it runs (it needed the parser)
    failed: BaseException | None = None
    thread: threading.Thread | None = None

    def parse_aside(self) -> None:
        """Split and fingerprint in another thread while the server runs the file."""

        def work() -> None:
            try:
                self.parsed = SqlFile.from_bytes(self.data, self.path, self.display)
                self.parsed.checksum  # noqa: B018 (computed here, off the main thread)
            except BaseException as exc:  # handed to the main thread in :meth:`sqlfile`
                self.failed = exc

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def join(self) -> None:
        """Wait for the parse, if it runs aside."""
        if self.thread is not None:
            self.thread.join()

    def sqlfile(self) -> SqlFile:
        """The parsed file (waiting for its thread); :class:`_Handover` when the
        parser refused it (the full path reports that before running anything)."""
        self.join()
        if self.failed is not None or self.parsed is None:
            raise _Handover
        return self.parsed


def upgrade(
    project: Project, url: str, source: str, extra: dict[str, str] | None = None
) -> Answer | None:
    """What ``rlskit upgrade`` prints and exits with, when this module could do it all
    (including "nothing to do"); None when the full path must run (nothing changed)."""
    started = time.perf_counter()
    params = noop.connect_params(url, extra)
    if params is None or _sets_options(url) or not libpq.available():
        return None
    params["options"] = session_options("")
    connected = libpq.connect_aside(params)  # while the graph is read and modules load
    settings = project.settings
    graph = noop.plain_graph(project)
    plan = graph.linear() if graph is not None else None
    conn = connected()
    if graph is None:
        if conn is not None:
            conn.close()
        return None
    if conn is None:
        return None  # the full path connects again and says why
    with conn:
        try:
            state = _state(conn, graph, settings, wait=False)
        except libpq.Failed as exc:
            if exc.sqlstate != "42P01":
                return None
            state = graph, frozenset(), [], 0  # no bookkeeping yet: the locked part makes it
        if state is None:
            return None
        where = {"url": mask_url(url), "source": source}
        heads = noop.current_heads(project, state)
        if heads is not None and len(heads) == 1:
            nothing = f"Nothing to do: at {heads[0]} (was {heads[0]})."
            return _answer([event_line("connected", "", where), (nothing, False)], 0)
        if plan is None or settings.per_revision:
            return None
        progress = _Progress([event_line("connected", "", where)])
        try:
            return _locked(conn, project, settings, graph, plan, progress, started)
        except KeyboardInterrupt:  # before the first one's outcome was known
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            text = _UNKNOWN if progress.committing else _CLOSED
            return _after(progress, ("", text, 130))


def _sets_options(url: str) -> bool:
    """Whether ``url`` may set libpq's ``options`` (libpq percent-decodes a URL's
    query keys: ``?%6Fptions=`` is ``options``)."""
    from urllib.parse import unquote

    return "options" in unquote(url).lower()


def _state(
    conn: libpq.Connection,
    graph: noop.Graph,
    settings: Settings,
    wait: bool = True,
    first: list[str] | None = None,
) -> noop.State | None:
    """The database's state after the statements ``first``; without ``wait`` it does
    not wait for a lock on the bookkeeping (:data:`rlskit.noop.NO_WAIT`)."""
    before = "".join(f"{stmt};\n" for stmt in first or ())
    rows, _ = conn.execute(before + ("" if wait else noop.NO_WAIT) + noop.state_query(settings))
    return noop.read_state(graph, rows[0] if rows else None)


def _answer(lines: list[tuple[str, bool] | None], code: int) -> Answer:
    out = "".join(f"{x[0]}\n" for x in lines if x is not None and not x[1])
    err = "".join(f"{x[0]}\n" for x in lines if x is not None and x[1])
    return out, err, code


def _error(exc: RlskitError) -> Answer:
    """The full path's rendering of an error (click's red on a terminal)."""
    text = error_line(exc)
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        text = f"\x1b[31m{text}\x1b[0m"
    return "", f"{text}\n", exc.exit_code


def _locked(
    conn: libpq.Connection,
    project: Project,
    settings: Settings,
    graph: noop.Graph,
    plan: list[tuple[str, str]],
    progress: _Progress,
    started: float,
) -> Answer | None:
    """The upgrade under the migration lock, if it is free at once."""
    key = advisory_key(settings)
    try:
        if conn.execute(f"SELECT pg_try_advisory_lock({key})")[0][0][0] != "t":
            return None  # another upgrade runs: the full path waits and says so
    except libpq.Failed:
        return None
    try:
        conn.execute("BEGIN")
        return _transaction(conn, project, settings, graph, plan, progress, started)
    except _Handover:
        return None
    except libpq.Failed as exc:
        if conn.connected:
            return None
        from rlskit.runtime import connection_lost

        # not run again: say it, after what the full path would have printed by now
        lost = connection_lost(settings, exc, commit_sent=progress.committing)
        return _after(progress, _error(lost))
    except RlskitError as exc:
        return _after(progress, _error(exc))
    except KeyboardInterrupt:
        # The first Ctrl-C decides; more of them would only hide what it did.
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process ends after the answer
        return _after(progress, ("", _interrupted(conn, settings, progress), 130))
    finally:
        try:
            _rollback(conn)
            with contextlib.suppress(libpq.Failed):
                conn.execute(f"SELECT pg_advisory_unlock({key})")
        except KeyboardInterrupt:  # the outcome is decided: closing frees the lock
            conn.close()


def _after(progress: _Progress, answer: Answer) -> Answer:
    """``answer`` after the lines printed so far (the full path prints them as it goes)."""
    out, _, _ = _answer(progress.said, 0)
    return out + answer[0], answer[1], answer[2]


_UNKNOWN = (
    "Interrupted while COMMIT ran: whether it committed is unknown. Run "
    "`rlskit status` to see the database's revision, then upgrade again.\n"
)
_CLOSED = "Interrupted; the connection was closed: the server rolls its transaction back.\n"


def _interrupted(conn: libpq.Connection, settings: Settings, progress: _Progress) -> str:
    """What Ctrl-C did: read back from the database when COMMIT had been sent."""
    rolled_back = _rollback(conn)
    if progress.committing:
        now = _versions(conn, _version_name(settings)) if rolled_back else None
        if now is None:
            return _UNKNOWN
        if now != progress.before:
            was = ", ".join(progress.before or ()) or "base"
            return (
                "Interrupted after COMMIT had succeeded: the upgrade was committed; "
                f"the database is at {', '.join(now) or 'base'} (was {was}).\n"
            )
    elif not rolled_back:
        return _CLOSED
    return "Interrupted; the running transaction was rolled back.\n"


def _versions(conn: libpq.Connection, vt: str) -> tuple[str, ...] | None:
    """The database's revisions (none without a version table); None if unreadable."""
    try:
        return tuple(sorted(r[0] or "" for r in conn.execute(f"SELECT version_num FROM {vt}")[0]))
    except libpq.Failed as exc:
        return () if exc.sqlstate == "42P01" and conn.connected else None


def _rollback(conn: libpq.Connection) -> bool:
    """Roll back what is open; whether the connection is idle afterwards."""
    if conn.transaction_status in (libpq.INTRANS, libpq.INERROR):
        with contextlib.suppress(libpq.Failed):
            conn.execute("ROLLBACK")
    return conn.transaction_status == libpq.IDLE


def _transaction(
    conn: libpq.Connection,
    project: Project,
    settings: Settings,
    graph: noop.Graph,
    plan: list[tuple[str, str]],
    progress: _Progress,
    started: float,
) -> Answer:
    reset = "; ".join(SESSION_RESET)
    vt = _version_name(settings)
    legacy = legacy_bookkeeping_query(settings)
    if legacy is not None and conn.execute(legacy)[0][0][0] == "t":
        raise _Handover  # an earlier rlskit's bookkeeping: the full path moves it
    # the bookkeeping made sure of, then the state again, under the lock: one round trip
    state = _state(conn, graph, settings, first=bookkeeping_prepare(settings))
    if state is None:
        raise _Handover
    _, versions, records, _ = state
    stems = dict(plan)
    if len(versions) > 1 or not versions <= stems.keys():
        raise _Handover
    if not noop.applied_unchanged(project, graph, records):
        raise _Handover  # an edited file, an older record: the full path decides
    before = progress.before = tuple(sorted(versions))
    pending = noop.pending_after([rev for rev, _ in plan], before)
    if not pending:
        raise _Handover
    files = []
    for rev in pending:
        path = project.sql_dir / f"{stems[rev]}.up.sql"
        try:
            files.append(_Pending(rev, path, project.display(path), path.read_bytes()))
        except OSError:
            raise _Handover from None
    said = progress.said
    counts = []
    current = before[0] if before else None
    for item in files:
        t0 = time.perf_counter()
        try:
            text = normalise(item.data.decode("utf-8"))
        except UnicodeDecodeError:
            raise _Handover from None
        if _NEEDS_PARSE.search(text):
            sqlfile = item.sqlfile() if item.thread else _parse_now(item)
            if not sqlfile.transactional:
                raise _Handover
            text = sqlfile.script
            note = _stripped(sqlfile)
            if note is not None:
                said.append(event_line(note.kind, note.message, note.data))
        else:
            item.parse_aside()
        conn.execute(f"{reset}; {lock_timeout_sql(settings)}")
        conn.execute_interruptibly(text, rows=False)  # a trailing SELECT's rows: unread
        status = conn.transaction_status
        if status == libpq.IDLE:  # the file ended the transaction despite the check:
            item.join()  # what ran may be committed, so say it rather than run it again
            from rlskit.runtime import transaction_lost

            raise transaction_lost(item.parsed or item.display, item.revision, "IDLE")
        if status != libpq.INTRANS:
            raise _Handover
        sqlfile = item.sqlfile()
        record = "; ".join(
            bookkeeping_record(
                settings, item.revision, sqlfile.display, sqlfile.checksum, sqlfile.content_hash
            )
        )
        # the record, then the version row (its count is the last statement's): one round trip
        _, moved = conn.execute(
            f"{reset}; {record}; {version_move(settings, current, item.revision)}"
        )
        if moved != 1:
            raise _Handover
        current = item.revision
        ms = (time.perf_counter() - t0) * 1000
        n = len(sqlfile.statements)
        message = f"applied {item.revision} {sqlfile.display} ({n} statements, {ms:.0f} ms)"
        said.append(event_line("revision", message, {}))
        counts.append(n)
    after = _versions(conn, vt)
    if after is None:
        raise _Handover
    progress.committing = True
    _commit(conn, pending)
    at = f"at {', '.join(after) or 'base'} (was {', '.join(before) or 'base'})"
    said.append((summary_line(counts, at, time.perf_counter() - started, "upgrade"), False))
    return _answer(said, 0)


def _stripped(sqlfile: SqlFile) -> Any:
    """The note on a left-out BEGIN/COMMIT pair (:func:`rlskit.runtime.stripped_event`)."""
    if not sqlfile.stripped:
        return None
    from rlskit.runtime import stripped_event  # its imports only for such a file

    return stripped_event(sqlfile)


def _parse_now(item: _Pending) -> SqlFile:
    try:
        item.parsed = SqlFile.from_bytes(item.data, item.path, item.display)
    except RlskitError:
        raise _Handover from None  # the full path names the file and line
    return item.parsed


def _commit(conn: libpq.Connection, pending: list[str]) -> None:
    """COMMIT; a refused commit was rolled back by the server (the full path runs
    again and reports it); a connection lost during COMMIT leaves the outcome unknown."""
    try:
        conn.execute_interruptibly("COMMIT")  # Ctrl-C cancels deferred triggers' work
    except libpq.Failed as exc:
        if conn.connected:
            raise _Handover from None
        raise RlskitError(
            "The connection to the database was lost while COMMIT of revision(s) "
            f"{', '.join(pending)} was sent: whether the server committed it is unknown "
            f"({' '.join(str(exc).split())[:200]}).",
            "Run `rlskit status` to see the database's revision, then upgrade again; it "
            "continues where the database is.",
        ) from None
