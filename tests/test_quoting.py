"""Pure tests: identifier and literal quoting, with hostile input (no server)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlskit import pgsql
from rlskit.errors import IdentifierError
from rlskit.quoting import check_role_name, quote_ident, quote_literal, quote_qualified
from rlskit.urls import mask_url, sqlalchemy_url


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("django:1", '"django:1"'),
        ('x"; DROP TABLE t; --', '"x""; DROP TABLE t; --"'),
        ("Ünïcødé", '"Ünïcødé"'),
        ("select", '"select"'),
    ],
)
def test_quote_ident(name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted


@pytest.mark.parametrize("bad", ["", "bad\x00name", "x" * 64, "é" * 32])
def test_quote_ident_rejects_what_postgres_would_truncate(bad: str) -> None:
    with pytest.raises(IdentifierError):
        quote_ident(bad)


def test_63_bytes_is_fine() -> None:
    assert quote_ident("x" * 63) == '"' + "x" * 63 + '"'


def test_quote_qualified_and_literal() -> None:
    assert quote_qualified("app", "t") == '"app"."t"'
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal("a\\b") == "E'a\\\\b'"


names = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    min_size=1,
).filter(lambda s: len(s.encode()) <= 63)


@settings(max_examples=300)
@given(names)
def test_hostile_names_parse_back_to_exactly_the_name(name: str) -> None:
    tree = pgsql.parse(f"CREATE TABLE {quote_ident(name)} ()")
    assert tree[0].stmt.relation.relname == name


@settings(max_examples=200)
@given(names)
def test_hostile_role_names_parse_or_are_rejected_first(name: str) -> None:
    try:
        check_role_name(name)
    except IdentifierError:
        return
    tree = pgsql.parse(f"CREATE ROLE {quote_ident(name)}")
    assert tree[0].stmt.role == name


@pytest.mark.parametrize("reserved", ["none", "public", "PUBLIC", "current_user", "pg_x"])
def test_reserved_role_names(reserved: str) -> None:
    with pytest.raises(IdentifierError):
        check_role_name(reserved)


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))))
def test_literals_parse_back_to_exactly_the_value(value: str) -> None:
    tree = pgsql.parse(f"SELECT {quote_literal(value)}")
    const = tree[0].stmt.targetList[0].val
    assert const.val.sval == value


def test_mask_url() -> None:
    assert mask_url("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
