"""The one place where identifiers and literals become SQL text.

Every generated statement goes through :func:`quote_ident` for names and
:func:`quote_literal` for values. Names are validated first: PostgreSQL
silently truncates names over 63 bytes and a NUL byte truncates them on the
wire (FINDINGS §5), so both are rejected instead.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def quote_ident(name: str) -> str:
    """Quote one identifier: ``quote_ident('django:1')`` -> ``"django:1"``."""
    check_identifier(name)
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(*parts: str) -> str:
    """Quote a dotted name: ``quote_qualified('public', 't')`` -> ``"public"."t"``."""
    return ".".join(quote_ident(p) for p in parts if p)


def quote_ident_list(names: Iterable[str]) -> str:
    """Quote and comma-join several identifiers."""
    return ", ".join(quote_ident(n) for n in names)


def quote_literal(value: str) -> str:
    """Quote a string constant the way PostgreSQL's ``quote_literal`` does."""
    if "\x00" in value:
        raise IdentifierError(value, "a string constant cannot contain a NUL character")
    body = value.replace("'", "''")
    if "\\" in body:
        return "E'" + body.replace("\\", "\\\\") + "'"
    return "'" + body + "'"


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
