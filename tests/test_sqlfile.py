"""Pure tests: reading, splitting and checksumming .sql files (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlskit.errors import SqlSyntaxError
from rlskit.sqlfile import SqlFile


def stmts(text: str) -> list[str]:
    return [s.text for s in SqlFile.from_text(text, "f.sql").statements]


def test_split_keeps_bodies_strings_and_casts_intact() -> None:
    text = (
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
        "DO $x$ BEGIN PERFORM 1; END $x$;\n"
        "SELECT ':name', format('%I', 'a;b')::text, 1::int;\n"
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "SELECT 'last' -- no trailing semicolon"
    )
    assert stmts(text) == [
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
        "DO $x$ BEGIN PERFORM 1; END $x$",
        "SELECT ':name', format('%I', 'a;b')::text, 1::int",
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
        "SELECT 'last' -- no trailing semicolon",
    ]


def test_line_numbers_follow_the_file() -> None:
    f = SqlFile.from_text("-- header\n\nSELECT 1;\n\nSELECT\n  2;\n", "f.sql")
    assert [s.line for s in f.statements] == [3, 5]
    assert f.line_of(f.statements[1], 10) == 6  # position inside the statement


def test_script_always_ends_with_semicolon_even_after_a_comment() -> None:
    f = SqlFile.from_text("SELECT 1 -- trailing comment", "f.sql")
    assert f.script == "SELECT 1 -- trailing comment\n;\n"
    assert SqlFile.from_text("SELECT 1;\n", "f.sql").script == "SELECT 1;\n"


def test_bom_and_crlf_are_normalised() -> None:
    f = SqlFile.from_text("\ufeffSELECT 1;\r\nSELECT 2;\r\n", "f.sql")
    assert [s.text for s in f.statements] == ["SELECT 1", "SELECT 2"]
    assert "\r" not in f.text and not f.text.startswith("\ufeff")


@pytest.mark.parametrize(
    "edited",
    [
        "SELECT  'a b' ;\n\n\nCREATE ROLE x;   \n",
        "SELECT 'a b';\r\nCREATE ROLE x;\r\n",
        "\ufeffSELECT 'a b';\nCREATE\tROLE x;",
    ],
)
def test_checksum_ignores_whitespace_and_line_endings(edited: str) -> None:
    base = SqlFile.from_text("SELECT 'a b';\nCREATE ROLE x;\n", "f.sql").checksum
    assert SqlFile.from_text(edited, "f.sql").checksum == base


@pytest.mark.parametrize(
    "edited",
    [
        "SELECT 'a  b';\nCREATE ROLE x;\n",  # whitespace inside a string is data
        "SELECT 'a b';\nCREATE ROLE y;\n",
        "SELECT 'a b';\nCREATE ROLE \"x\";\n",
        "SELECT 'a b';\nCREATE ROLE x; -- a new remark\n",
    ],
)
def test_checksum_sees_real_edits(edited: str) -> None:
    base = SqlFile.from_text("SELECT 'a b';\nCREATE ROLE x;\n", "f.sql").checksum
    assert SqlFile.from_text(edited, "f.sql").checksum != base


def test_unterminated_string_is_a_clear_error() -> None:
    with pytest.raises(SqlSyntaxError) as info:
        SqlFile.from_text("SELECT 1;\nSELECT 'oops;\n", "sql/x.up.sql")
    assert "sql/x.up.sql:" in str(info.value)


def test_meta_commands_are_rejected() -> None:
    with pytest.raises(SqlSyntaxError, match="meta-commands"):
        SqlFile.from_text("SELECT 1;\n\\connect other\n", "f.sql")


def test_no_transaction_marker() -> None:
    assert not SqlFile.from_text(
        "-- rlskit: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);", "f.sql"
    ).transactional
    assert SqlFile.from_text("SELECT 1;", "f.sql").transactional


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.sql"
    p.write_bytes(b"SELECT 1;\nSELECT '\xff';\n")
    with pytest.raises(SqlSyntaxError, match=r"bad\.sql:2: the file is not valid UTF-8"):
        SqlFile.load(p, "bad.sql")
