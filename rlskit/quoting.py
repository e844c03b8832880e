r"""The one place where identifiers and literals become SQL text.

Every generated statement goes through :func:`quote_ident` for names and
:func:`quote_literal` for values. Names are validated first: PostgreSQL
silently truncates names over 63 bytes and a NUL byte truncates them on the
wire (FINDINGS §5), so both are rejected instead.

SQL text is exact and terminal-safe at once: a name or constant holding a
character that is not printable (``\x1b``, ``\r``, U+202E ...) is written in
PostgreSQL's escaped forms, ``U&"ev\001B"`` and ``E'\u001B'``, which name the
real object and hold no raw control character. So SQL output is never passed
through :func:`rlskit.term.escape` (that would make it name another object).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rlskit.errors import IdentifierError
from rlskit.term import escape

MAX_IDENTIFIER_BYTES = 63


def check_identifier(name: str) -> str:
    """Return ``name`` unchanged if PostgreSQL can store it exactly, else raise."""
    if not isinstance(name, str):
        raise IdentifierError(repr(name), "it is not a string")
    if name == "":
        raise IdentifierError(name, "it is empty")
    if "\x00" in name:
        raise IdentifierError(name, "it contains a NUL character")
    if any("\ud800" <= c <= "\udfff" for c in name):
        raise IdentifierError(name, "it contains a lone surrogate (not valid UTF-8)")
    size = len(name.encode("utf-8"))
    if size > MAX_IDENTIFIER_BYTES:
        raise IdentifierError(
            name, f"it is {size} bytes long and PostgreSQL keeps only {MAX_IDENTIFIER_BYTES}"
        )
    return name


RESERVED_ROLE_NAMES = frozenset(
    {"none", "public", "current_user", "session_user", "current_role", "user"}
)


def check_role_name(name: str) -> str:
    """Like :func:`check_identifier`, and refuse names PostgreSQL reserves for roles."""
    check_identifier(name)
    if name.lower() in RESERVED_ROLE_NAMES:
        raise IdentifierError(name, "PostgreSQL reserves this name for roles")
    if name.startswith("pg_"):
        raise IdentifierError(name, "role names starting with pg_ are reserved")
    return name


def _printable(text: str) -> bool:
    """No character that could move a terminal's cursor, clear or reorder text."""
    return text.isprintable()


def _unicode_escape(c: str) -> str:
    """``\\001B`` or ``\\+0E0001``: a code point in a ``U&`` identifier."""
    code = ord(c)
    return f"\\{code:04X}" if code <= 0xFFFF else f"\\+{code:06X}"


def quote_ident(name: str) -> str:
    """Quote one identifier: ``quote_ident('django:1')`` -> ``"django:1"``; a name with
    characters that are not printable in PostgreSQL's Unicode-escape form:
    ``quote_ident('a\\x1bb')`` -> ``U&"a\\001Bb"``."""
    check_identifier(name)
    if _printable(name):
        return '"' + name.replace('"', '""') + '"'
    body = "".join(
        "\\\\" if c == "\\" else '""' if c == '"' else c if _printable(c) else _unicode_escape(c)
        for c in name
    )
    return 'U&"' + body + '"'


def quote_qualified(*parts: str) -> str:
    """Quote a dotted name: ``quote_qualified('public', 't')`` -> ``"public"."t"``."""
    return ".".join(quote_ident(p) for p in parts if p)


def quote_ident_list(names: Iterable[str]) -> str:
    """Quote and comma-join several identifiers."""
    return ", ".join(quote_ident(n) for n in names)


def _string_escape(c: str) -> str:
    """``\\u001B`` or ``\\U000E0001``: a code point in an ``E'...'`` constant."""
    code = ord(c)
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def quote_literal(value: str) -> str:
    """Quote a string constant the way PostgreSQL's ``quote_literal`` does; characters
    that are not printable are written as escapes of an ``E'...'`` constant (which
    reads the same whatever ``standard_conforming_strings`` is)."""
    if "\x00" in value:
        raise IdentifierError(value, "a string constant cannot contain a NUL character")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise IdentifierError(value, "a lone surrogate is not valid UTF-8")
    body = value.replace("'", "''")
    if _printable(value):
        if "\\" in body:
            return "E'" + body.replace("\\", "\\\\") + "'"
        return "'" + body + "'"
    return (
        "E'"
        + "".join("\\\\" if c == "\\" else c if _printable(c) else _string_escape(c) for c in body)
        + "'"
    )


DOLLAR_TAG = "rlskit"


def dollar_quote(body: str) -> str:
    """Quote a function or DO body: ``$rlskit$`` unless the body holds that tag
    (a hostile name would end the body there), then ``$rlskit_1$``, ``$rlskit_2$``...
    The tags stand on their own lines, so the body's last characters cannot join them."""
    if "\x00" in body:
        raise IdentifierError(body, "a function body cannot contain a NUL character")
    tag, n = f"${DOLLAR_TAG}$", 0
    while tag in body:
        n += 1
        tag = f"${DOLLAR_TAG}_{n}$"
    return f"{tag}\n{body}\n{tag}"


def sql_comment(*lines: str) -> str:
    """``--`` comment lines, one per argument, each escaped with :func:`comment_text`
    (a line break in a value is written ``\\n``), so no value can end a comment."""
    return "\n".join(f"-- {comment_text(line)}".rstrip() for line in lines)


def comment_text(text: str) -> str:
    """Text safe inside a ``--`` comment: line breaks and control characters escaped,
    so a hostile name in a comment cannot end it and start SQL."""
    return escape(text)


def _escape_raw(body: str, escape_char: Callable[[str], str]) -> str:
    """Inside an escaping constant (``E'...'``, ``U&"..."``): raw characters that are
    not printable become escapes; an escaped pair (``\\x``) stays a pair."""
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append("\\" + nxt if _printable(nxt) else escape_char(nxt))
            i += 2
            continue
        out.append(c if _printable(c) else escape_char(c))
        i += 1
    return "".join(out)


def printable_sql(sql: str) -> str:
    """``sql`` (e.g. text the server wrote: ``pg_get_expr``) with every name and
    constant holding a character that is not printable rewritten in the escaped
    forms of :func:`quote_ident` and :func:`quote_literal`: the same statements,
    and no raw control character. Comments are escaped like text."""
    if all(_printable(c) or c in "\n\t" for c in sql):
        return sql
    from rlskit import pgsql

    try:
        tokens = pgsql.raw_tokens(sql)
    except Exception:  # not SQL the scanner reads: readable, if not exact
        return escape(sql, keep_newlines=True)
    out: list[str] = []
    pos = 0
    for kind, start, end in tokens:
        out.append("".join(c if c in "\n\t" or _printable(c) else " " for c in sql[pos:start]))
        text, pos = sql[start:end], end
        if all(_printable(c) for c in text):
            out.append(text)
        elif kind == "IDENT":
            quoted = text.startswith('"')
            name = text[1:-1].replace('""', '"') if quoted else text
            out.append(quote_ident(name if quoted else name.translate(_ASCII_LOWER)))
        elif kind == "SCONST" and text.startswith("$"):
            tag = text[: text.index("$", 1) + 1]
            out.append(quote_literal(text[len(tag) : -len(tag)]))
        elif kind == "SCONST" and text[:1] in "eE":
            out.append("E'" + _escape_raw(text[2:-1], _string_escape) + "'")
        elif kind == "SCONST" and text.startswith("'"):
            out.append(quote_literal(text[1:-1].replace("''", "'")))
        elif kind in ("UIDENT", "USCONST"):
            out.append(text[:3] + _escape_raw(text[3:-1], _unicode_escape) + text[-1])
        else:  # comments, and anything else: readable
            out.append(escape(text, keep_newlines=kind == "C_COMMENT"))
    out.append("".join(c if c in "\n\t" or _printable(c) else " " for c in sql[pos:]))
    return "".join(out)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
