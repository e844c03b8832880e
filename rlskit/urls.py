"""Database URL helpers: normalise the driver, never show a password, and hand a
password to libpq tools through the environment instead of their command line."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# ``password=`` in a URL query string, up to the next ``&`` or ``#``
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")
# ``password = value`` in a key=value conninfo string, value bare or single-quoted
_CONNINFO_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)")


def mask_url(url: str) -> str:
    """``url`` with every password replaced by ``***``: the userinfo password (all
    of what lies between the user's ``:`` and the last ``@`` before the host, so an
    unencoded ``@`` in a password hides its tail too), a ``password=`` query
    parameter, and ``password=`` in a key=value conninfo string."""
    m = _SCHEME.match(url)
    if m is None:
        return _CONNINFO_PASSWORD.sub(lambda p: f"{p.group(1)}***", url)
    rest = url[m.end() :]
    query = min((i for i in (rest.find("?"), rest.find("#")) if i != -1), default=len(rest))
    at = rest.rfind("@", 0, query)  # the last '@' before the query: the host follows it
    if at != -1:
        user, colon, _ = rest[:at].partition(":")
        if colon:
            rest = f"{user}:***{rest[at:]}"
    return m.group(0) + _QUERY_PASSWORD.sub(lambda p: f"{p.group(1)}***", rest)


def libpq_env(url: str) -> tuple[str, dict[str, str]]:
    """``(conninfo, env)`` for a libpq tool (pg_dump, psql): the URL or conninfo
    without its password, and ``{"PGPASSWORD": ...}`` for the child's environment
    only (a command line is readable by every local user in ``/proc``). A URL keeps
    its form; an unencoded ``@`` in its password is read as part of the password."""
    url = libpq_url(url)
    m = _SCHEME.match(url)
    if m is None:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(url)
        password = params.pop("password", None)
        conninfo = make_conninfo("", **params)
    else:
        parts = urlsplit(url)
        userinfo, at, hostport = parts.netloc.rpartition("@")
        user, colon, pw = userinfo.partition(":")
        query = parse_qsl(parts.query, keep_blank_values=True)
        from_query = [v for k, v in query if k == "password"]
        password = unquote(pw) if colon else (from_query[-1] if from_query else None)
        netloc = (quote(unquote(user), safe="") + "@" if at and user else "") + hostport
        conninfo = urlunsplit(
            (
                parts.scheme,
                netloc,
                parts.path,
                urlencode([(k, v) for k, v in query if k != "password"]),
                parts.fragment,
            )
        )
    return conninfo, ({"PGPASSWORD": str(password)} if password else {})


def _normalise(url: str) -> str:
    """Percent-encode the user and password of a URL and any ``@`` in its query, so
    that libpq and SQLAlchemy find the host after the last ``@`` (an unencoded ``@``
    in a password made libpq take the password's tail for the host, and print it)."""
    m = _SCHEME.match(url)
    if m is None:
        return url
    rest = url[m.end() :]
    query = min((i for i in (rest.find("?"), rest.find("#")) if i != -1), default=len(rest))
    at = rest.rfind("@", 0, query)
    if at != -1:
        user, colon, pw = rest[:at].partition(":")
        userinfo = quote(unquote(user), safe="") + (
            ":" + quote(unquote(pw), safe="") if colon else ""
        )
        rest = userinfo + rest[at:]
        query += len(userinfo) - at
    return m.group(0) + rest[:query] + rest[query:].replace("@", "%40")


def sqlalchemy_url(url: str) -> str:
    """Turn ``postgres://`` / ``postgresql://`` into the psycopg 3 dialect URL."""
    url = _normalise(url)
    scheme = urlsplit(url).scheme
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg" + url[len(scheme) :]
    return url


def libpq_url(url: str) -> str:
    """Turn a SQLAlchemy URL into one that libpq (psql, psycopg) reads the same way.

    rlskit reads a URL's query as SQLAlchemy does, form-encoded (``+`` is a space:
    ``?options=-c+search_path%3Dt1``); libpq only percent-decodes, so such a query
    is written again with ``%20``."""
    url = _normalise(url)
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgresql+"):
        url = "postgresql" + url[len(scheme) :]
    if _SCHEME.match(url) and "?" in url:
        head, _, tail = url.partition("?")
        query, hash_, fragment = tail.partition("#")
        if "+" in query:
            pairs = parse_qsl(query, keep_blank_values=True)
            url = f"{head}?{urlencode(pairs, quote_via=quote)}{hash_}{fragment}"
    return url
