"""`rlskit permissions --count` must not run the UPDATE and DELETE it counts:
triggers would fire, sequences advance, and dblink writes survive the rollback
(issue 12, item 10). Also: reserved setting names (item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import Database, rlskit

SCHEMA = """
CREATE EXTENSION dblink;
CREATE ROLE counter NOLOGIN;
CREATE SCHEMA s;
GRANT USAGE ON SCHEMA s TO counter;
CREATE SEQUENCE s.side_effects;
CREATE TABLE s.outside (note text);
CREATE TABLE s.dblink_target (conninfo text);
CREATE TABLE s.t (id int PRIMARY KEY, owner text, secret boolean NOT NULL DEFAULT false);
INSERT INTO s.t SELECT i, 'o' || i % 2, i = 10 FROM generate_series(1, 10) AS i;
ALTER TABLE s.t ENABLE ROW LEVEL SECURITY;
GRANT SELECT, UPDATE, DELETE ON s.t TO counter;
CREATE POLICY see ON s.t FOR SELECT TO counter USING (NOT secret);
CREATE POLICY upd ON s.t FOR UPDATE TO counter USING (id <= 6);
CREATE POLICY del ON s.t FOR DELETE TO counter USING (id <= 3 OR id = 10);
CREATE POLICY del_only_o1 ON s.t AS RESTRICTIVE FOR DELETE TO counter USING (owner = 'o1');
-- the side effects a real UPDATE/DELETE would have, outside the transaction
CREATE FUNCTION s.side() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog AS $$
BEGIN
    PERFORM nextval('s.side_effects');
    PERFORM public.dblink_exec((SELECT conninfo FROM s.dblink_target),
        'INSERT INTO s.outside VALUES (''' || TG_OP || ''')');
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER side BEFORE UPDATE OR DELETE ON s.t FOR EACH ROW EXECUTE FUNCTION s.side();
"""


@pytest.fixture
def db(project: Path, database: Database) -> Database:
    with database.connect(autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO s.dblink_target VALUES (%s)", (database.url,))
        # the trigger really writes through dblink when it fires
        conn.execute("UPDATE s.t SET owner = owner WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM s.outside").fetchone() == (1,)
        conn.execute("DELETE FROM s.outside")
        conn.execute("SELECT setval('s.side_effects', 1, false)")
    return database


def _oracle(db: Database, command: str) -> int:
    """What the command really does as the role, with a WHERE that reads a column
    (as applications write them), triggers off, rolled back."""
    with db.connect() as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("SET LOCAL ROLE counter")
        sql = {
            "UPDATE": "UPDATE s.t SET owner = owner WHERE id IS NOT NULL",
            "DELETE": "DELETE FROM s.t WHERE id IS NOT NULL",
        }[command]
        n = conn.execute(sql).rowcount
        conn.rollback()
    return n


def test_count_fires_no_trigger_and_advances_no_sequence(project: Path, db: Database) -> None:
    res = rlskit(
        "permissions", "counter", "--schema", "s", "--count", "--format", "json",
        project=project, url=db.url,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    counts = {t["table"]: t["counts"] for t in json.loads(res.output)["tables"]}["s.t"]
    assert db.scalar("SELECT is_called FROM s.side_effects") is False
    assert db.scalar("SELECT count(*) FROM s.outside") == 0
    # exact: the rows the commands reach (SELECT policies apply as the WHERE reads rows)
    assert counts == {
        "SELECT": 9,
        "UPDATE": _oracle(db, "UPDATE"),
        "DELETE": _oracle(db, "DELETE"),
    }
    assert counts["UPDATE"] == 6 and counts["DELETE"] == 2  # ids 1-6; ids 1, 3 (o1, not 10)


@pytest.mark.parametrize("name", ["role", "ROLE", "session_authorization"])
def test_reserved_setting_names_are_refused(project: Path, db: Database, name: str) -> None:
    res = rlskit(
        "permissions", "counter", "--schema", "s", "--count", "--setting", f"{name}=postgres",
        project=project, url=db.url,
    )  # fmt: skip
    assert res.exit_code == 2
    assert "reserved" in res.output
