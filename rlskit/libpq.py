"""One read-only query through libpq itself, without importing psycopg.

``import psycopg`` costs about 130 ms (it loads asyncio, importlib.metadata, every
adapter), more than the whole answer to a deploy with nothing to do. The no-op
check (:mod:`rlskit.noop`) needs one connection and one query, so it calls the
libpq that psycopg's binary wheel ships (the same library psycopg would use: the
same URL and conninfo syntax, ``PG*`` variables, ``.pgpass``, service files, TLS)
through :mod:`ctypes`. Anything unexpected (no bundled libpq, a failed connection,
an error) returns None and the caller takes the full path through psycopg, which
reports it properly. Chosen over a library: no maintained binding is lighter than
psycopg; this file is the few libpq calls that one query needs.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Mapping
from pathlib import Path

_CONNECTION_OK = 0
_PGRES_TUPLES_OK = 2
_lib: ctypes.CDLL | None = None


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
    lib = _load()
    if lib is None:
        return None
    keys = list(params)
    kw = (ctypes.c_char_p * (len(keys) + 1))(*(k.encode() for k in keys), None)
    vals = (ctypes.c_char_p * (len(keys) + 1))(*(params[k].encode() for k in keys), None)
    conn = lib.PQconnectdbParams(kw, vals, 1)
    if not conn:
        return None
    try:
        if lib.PQstatus(conn) != _CONNECTION_OK:
            return None
        res = lib.PQexec(conn, sql.encode())
        if not res:
            return None
        try:
            if lib.PQresultStatus(res) != _PGRES_TUPLES_OK or lib.PQntuples(res) < 1:
                return None
            row: list[str | None] = []
            for col in range(lib.PQnfields(res)):
                if lib.PQgetisnull(res, 0, col):
                    row.append(None)
                else:
                    row.append((lib.PQgetvalue(res, 0, col) or b"").decode("utf-8"))
            return row
        finally:
            lib.PQclear(res)
    finally:
        lib.PQfinish(conn)
