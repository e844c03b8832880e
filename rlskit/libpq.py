"""A few libpq calls through ctypes, without importing psycopg.

``import psycopg`` costs about 130 ms (it loads asyncio, importlib.metadata, every
adapter), more than the whole answer to a deploy with nothing to do. The no-op
check (:mod:`rlskit.noop`) and the express upgrade (:mod:`rlskit.express`) need a
connection and simple queries, so they call the libpq that psycopg's binary wheel
ships (the same library psycopg would use: the same URL and conninfo syntax,
``PG*`` variables, ``.pgpass``, service files, TLS) through :mod:`ctypes`. Anything
unexpected (no bundled libpq, a failed connection, an error) is returned or raised
as :class:`Failed` and the caller takes the full path through psycopg, which
reports it properly. Chosen over a library: no maintained binding is lighter than
psycopg; this file is the libpq calls those two need.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

_CONNECTION_OK = 0
_PGRES_EMPTY_QUERY = 0
_PGRES_COMMAND_OK = 1
_PGRES_TUPLES_OK = 2
_PG_DIAG_SQLSTATE = ord("C")
# PQtransactionStatus
IDLE, ACTIVE, INTRANS, INERROR, UNKNOWN = range(5)
_lib: ctypes.CDLL | None = None
# Notices (a migration's RAISE NOTICE, "already exists, skipping") are not printed:
# libpq's default processor writes them to stderr, psycopg's path does not show them.
_NoticeProcessor = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
_IGNORE_NOTICE = _NoticeProcessor(lambda arg, message: None)


def _find() -> Path | None:
    """The libpq of psycopg's binary wheel, when it is installed."""
    for entry in sys.path:
        libs = Path(entry or ".") / "psycopg_binary.libs"
        try:
            found = sorted(libs.glob("libpq-*.so*"))
        except OSError:
            continue
        if found:
            return found[-1]
    return None


def _load() -> ctypes.CDLL | None:
    global _lib
    if _lib is not None:
        return _lib
    path = _find()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for name, args, res in (
        ("PQconnectdbParams", [ctypes.POINTER(cp), ctypes.POINTER(cp), i], vp),
        ("PQstatus", [vp], i),
        ("PQfinish", [vp], None),
        ("PQexec", [vp, cp], vp),
        ("PQresultStatus", [vp], i),
        ("PQntuples", [vp], i),
        ("PQnfields", [vp], i),
        ("PQgetisnull", [vp, i, i], i),
        ("PQgetvalue", [vp, i, i], cp),
        ("PQclear", [vp], None),
        ("PQcmdTuples", [vp], cp),
        ("PQresultErrorField", [vp, i], cp),
        ("PQresultErrorMessage", [vp], cp),
        ("PQtransactionStatus", [vp], i),
        ("PQgetCancel", [vp], vp),
        ("PQcancel", [vp, cp, i], i),
        ("PQfreeCancel", [vp], None),
        ("PQsetNoticeProcessor", [vp, _NoticeProcessor, vp], vp),
    ):
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    _lib = lib
    return lib


def available() -> bool:
    """Whether a libpq could be loaded."""
    return _load() is not None


def query_row(params: Mapping[str, str], sql: str) -> list[str | None] | None:
    """The first row of ``sql`` (as text) on a new connection made from ``params``
    (libpq keywords; ``dbname`` may be a URL or conninfo, expanded by libpq); None
    when libpq is missing, the connection fails, or the query fails or returns no row."""
    conn = Connection.connect(params)
    if conn is None:
        return None
    with conn:
        try:
            rows, _ = conn.execute(sql)
        except Failed:
            return None
    return rows[0] if rows else None


def connect_aside(params: Mapping[str, str]) -> Callable[[], Connection | None]:
    """Start :meth:`Connection.connect` in another thread (libpq releases the GIL while
    it connects and authenticates): the caller reads and imports what it needs
    meanwhile, then calls the returned function for the connection."""
    found: list[Connection | None] = []
    worker = threading.Thread(target=lambda: found.append(Connection.connect(params)))
    worker.daemon = True
    worker.start()

    def result() -> Connection | None:
        worker.join()
        return found[0] if found else None

    return result


class Failed(Exception):
    """A libpq call that did not succeed; ``sqlstate`` when the server said why."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class Connection:
    """One libpq connection: simple-protocol queries, text results."""

    def __init__(self, lib: ctypes.CDLL, conn: int) -> None:
        self._lib = lib
        self._conn: int | None = conn

    @classmethod
    def connect(cls, params: Mapping[str, str]) -> Connection | None:
        """A connection made from libpq keywords (``dbname`` may be a URL, expanded by
        libpq); None when there is no libpq or the connection fails."""
        lib = _load()
        if lib is None:
            return None
        keys = list(params)
        kw = (ctypes.c_char_p * (len(keys) + 1))(*(k.encode() for k in keys), None)
        vals = (ctypes.c_char_p * (len(keys) + 1))(*(params[k].encode() for k in keys), None)
        conn = lib.PQconnectdbParams(kw, vals, 1)
        if not conn:
            return None
        if lib.PQstatus(conn) != _CONNECTION_OK:
            lib.PQfinish(conn)
            return None
        lib.PQsetNoticeProcessor(conn, _IGNORE_NOTICE, None)
        return cls(lib, conn)

    def close(self) -> None:
        """End the connection (the server rolls back what was left open)."""
        if self._conn is not None:
            self._lib.PQfinish(self._conn)
            self._conn = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """Whether the connection is still good."""
        return self._conn is not None and self._lib.PQstatus(self._conn) == _CONNECTION_OK

    @property
    def transaction_status(self) -> int:
        """:data:`IDLE`, :data:`INTRANS`, :data:`INERROR`, ... (:data:`UNKNOWN`: gone)."""
        if self._conn is None:
            return UNKNOWN
        return int(self._lib.PQtransactionStatus(self._conn))

    def execute(self, sql: str, rows: bool = True) -> tuple[list[list[str | None]], int]:
        """Run ``sql`` (one or more statements, simple protocol): the rows of its last
        result (none read without ``rows``) and the rows it affected or returned;
        :class:`Failed` on any error."""
        if self._conn is None:
            raise Failed("the connection is closed")
        if "\x00" in sql:  # libpq would send the text up to it only
            raise Failed("the query holds a NUL character")
        lib = self._lib
        res = lib.PQexec(self._conn, sql.encode())
        if not res:
            raise Failed("no result (out of memory or the connection was lost)")
        try:
            status = lib.PQresultStatus(res)
            if status == _PGRES_TUPLES_OK and not rows:
                return [], int(lib.PQntuples(res))
            if status == _PGRES_TUPLES_OK:
                nf = lib.PQnfields(res)
                try:
                    found = [
                        [
                            None
                            if lib.PQgetisnull(res, r, c)
                            else (lib.PQgetvalue(res, r, c) or b"").decode("utf-8")
                            for c in range(nf)
                        ]
                        for r in range(lib.PQntuples(res))
                    ]
                except UnicodeDecodeError:  # the query set another client_encoding
                    raise Failed("the server sent a value that is not UTF-8") from None
                return found, len(found)
            if status in (_PGRES_COMMAND_OK, _PGRES_EMPTY_QUERY):
                return [], int(lib.PQcmdTuples(res) or b"0")
            state = lib.PQresultErrorField(res, _PG_DIAG_SQLSTATE)
            message = (lib.PQresultErrorMessage(res) or b"").decode("utf-8", "replace")
            raise Failed(message.strip(), state.decode() if state else None)
        finally:
            lib.PQclear(res)

    def execute_interruptibly(
        self, sql: str, rows: bool = True
    ) -> tuple[list[list[str | None]], int]:
        """:meth:`execute` in a worker thread, so that Ctrl-C cancels the statement on
        the server (as psycopg does) instead of waiting; KeyboardInterrupt is raised
        only once the worker has let go of the connection (libpq's PGconn is not for
        two threads). In the main thread only, where Python handles signals."""
        if self._conn is None:
            raise Failed("the connection is closed")
        if threading.current_thread() is not threading.main_thread() or signal.getsignal(
            signal.SIGINT
        ) in (signal.SIG_IGN, signal.SIG_DFL, None):
            return self.execute(sql, rows)
        outcome: list[tuple[list[list[str | None]], int] | BaseException] = []
        done, asked = threading.Event(), threading.Event()

        def work() -> None:
            try:
                outcome.append(self.execute(sql, rows))
            except BaseException as exc:  # handed to the caller's thread
                outcome.append(exc)
            finally:
                done.set()

        # Ctrl-C only sets a flag meanwhile: a KeyboardInterrupt raised anywhere in
        # here (in Thread.start, or in a join that then marks the thread stopped while
        # it runs: CPython 3.11, bpo-45274) left the worker on the connection.
        previous = signal.signal(signal.SIGINT, lambda signum, frame: asked.set())
        lib = self._lib
        cancel = lib.PQgetCancel(self._conn)
        interrupted = False
        try:
            threading.Thread(target=work, daemon=True).start()
            while not done.wait(0.05):
                if asked.is_set():  # each Ctrl-C asks the server again
                    asked.clear()
                    interrupted = True
                    if cancel:
                        lib.PQcancel(cancel, ctypes.create_string_buffer(256), 256)
        finally:
            signal.signal(signal.SIGINT, previous)
            if cancel:
                lib.PQfreeCancel(cancel)
        if interrupted or asked.is_set():
            raise KeyboardInterrupt
        found = outcome[0]
        if isinstance(found, BaseException):
            raise found
        return found
