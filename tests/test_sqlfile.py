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
        "SELECT 'a b';\nCREATE ROLE x; SELECT 1;\n",
        "-- rlskit: no-transaction\nSELECT 'a b';\nCREATE ROLE x;\n",  # changes how it runs
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


@pytest.mark.parametrize(
    "edited",
    [
        "-- a new remark\nSELECT 'a b';\nCREATE ROLE x; -- and another\n",
        "SELECT 'a b'; /* block */\n-- rlskit: ignore RLS004\nCREATE ROLE x;\n",
        "SELECT 'a b';\n-- rlskit: no-transaction (not leading: only a comment)\nCREATE ROLE x;\n",
    ],
)
def test_comments_are_not_edits(edited: str) -> None:
    base = SqlFile.from_text("SELECT 'a b';\nCREATE ROLE x;\n", "f.sql").checksum
    assert base.startswith("v2:")
    assert SqlFile.from_text(edited, "f.sql").checksum == base


def test_v1_checksums_stay_comparable() -> None:
    f = SqlFile.from_text("SELECT 'a b';\nCREATE ROLE x;\n", "f.sql")
    v1 = f.checksum_as("v1")
    assert v1 is not None and v1.startswith("v1:")
    assert SqlFile.from_text("SELECT 'a b';  \r\nCREATE ROLE x;", "f.sql").checksum_as("v1") == v1
    assert f.checksum_as("v9") is None


def test_no_transaction_marker_counts_only_in_the_leading_comments() -> None:
    lead = "/* header */\n-- rlskit: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"
    assert not SqlFile.from_text(lead, "f.sql").transactional
    for text in (
        "SELECT 1;\n-- rlskit: no-transaction\nSELECT 2;",
        "SELECT '\n-- rlskit: no-transaction\n';",
        "DO $$ BEGIN\n-- rlskit: no-transaction\nPERFORM 1; END $$;",
    ):
        assert SqlFile.from_text(text, "f.sql").transactional, text
    # Moving the marker out of the leading block is an edit.
    moved = "CREATE INDEX CONCURRENTLY i ON t (a);\n-- rlskit: no-transaction\n"
    assert SqlFile.from_text(moved, "f.sql").checksum != SqlFile.from_text(lead, "f.sql").checksum


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


# -- issue 11 case 1: transaction control in a file ---------------------------------
def test_leading_begin_and_trailing_commit_are_stripped_and_reported() -> None:
    f = SqlFile.from_text("begin;\nCREATE TABLE t (id int);\nSELECT 1;\ncommit;\n", "f.sql")
    assert [s.text for s in f.statements] == ["CREATE TABLE t (id int)", "SELECT 1"]
    assert [(s.text, s.line) for s in f.stripped] == [("begin", 1), ("commit", 4)]
    assert "begin;" not in f.script.lower() and "commit;" not in f.script.lower()
    assert "CREATE TABLE t (id int);" in f.script
    # START TRANSACTION / END are the same pair.
    g = SqlFile.from_text("START TRANSACTION;\nSELECT 1;\nEND;", "f.sql")
    assert [s.text for s in g.statements] == ["SELECT 1"] and len(g.stripped) == 2


@pytest.mark.parametrize(
    ("text", "line", "word"),
    [
        ("BEGIN;\nCREATE TABLE c1 (id int);\nCOMMIT;\nSELECT 1/0;\n", 1, "BEGIN"),
        ("CREATE TABLE c1 (id int);\nCOMMIT;\nSELECT 1;\n", 2, "COMMIT"),
        ("SELECT 1;\nEND;\n", 2, "END"),
        ("SELECT 1;\nROLLBACK;\n", 2, "ROLLBACK"),
        ("SELECT 1;\n  abort;\n", 2, "abort"),
        ("SELECT 1;\nSTART TRANSACTION;\nSELECT 2;\n", 2, "START"),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;\n", 1, "BEGIN"),
        ("BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\n", 1, "BEGIN"),
        ("SELECT 1;\nSAVEPOINT a;\nSELECT 2;\nRELEASE a;\n", 2, "SAVEPOINT"),
        ("SELECT 1;\n\nROLLBACK TO SAVEPOINT a;\n", 3, "ROLLBACK"),
        ("SELECT 1;\nPREPARE TRANSACTION 'x';\n", 2, "PREPARE"),
        ("SELECT 1;\nCOMMIT PREPARED 'x';\n", 2, "COMMIT"),
        ("SELECT 1;\nDO $$ BEGIN PERFORM 1; COMMIT; END $$;\n", 2, "DO"),
        ("SELECT 1;\nDO $$ BEGIN IF true THEN ROLLBACK; END IF; END $$;\n", 2, "DO"),
        ("-- rlskit: no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;\n", 2, "BEGIN"),
    ],
)
def test_other_transaction_control_is_refused_with_file_and_line(
    text: str, line: int, word: str
) -> None:
    from rlskit.errors import TransactionControlInFile

    with pytest.raises(TransactionControlInFile) as info:
        SqlFile.from_text(text, "sql/0009_x.up.sql")
    msg = str(info.value)
    assert f"sql/0009_x.up.sql:{line}:" in msg and word in msg
    assert "nothing was changed" in msg and "remove" in msg


def test_look_alikes_are_not_transaction_control() -> None:
    text = (
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"
        "PREPARE q AS SELECT 1;\n"
        "SELECT 'COMMIT;';\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n"
        "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\n"
    )
    f = SqlFile.from_text(text, "f.sql")
    assert len(f.statements) == 5 and f.stripped == ()


def test_script_scans_only_its_tail_and_equals_the_whole_file_rule() -> None:
    """``script`` looks for the final ``;`` after the last statement that runs only;
    the result equals the rule "the last token that is not a comment is ;" applied to
    the whole text, for every mix of statements, comments, quoting and a stripped
    BEGIN/COMMIT pair."""
    import itertools

    from rlskit import pgsql

    parts = ["SELECT 1", "SELECT ';'", "SELECT $$ ; $$", "-- c ;", "/* ; */", ";", "\n"]
    checked = 0
    for n in (1, 2, 3, 4):
        for combo in itertools.product(parts, repeat=n):
            for wrap in (False, True):
                text = "".join(combo)
                if wrap:
                    text = f"BEGIN;\n{text}\nCOMMIT"
                try:
                    f = SqlFile.from_text(text, "x.sql")
                except Exception:
                    continue
                body = f.text
                for st in sorted(f.stripped, key=lambda s: -s.offset):
                    note = f"/* rlskit: the file's own {st.text.split()[0].upper()} left out */"
                    body = body[: st.offset] + note + body[st.offset + len(st.text) :]
                body = body.rstrip()
                want = "" if not body else body + ("" if pgsql.ends_with_semicolon(body) else "\n;")
                assert f.script == (want + "\n" if want else ""), text
                checked += 1
    assert checked > 1000
