"""permissions, issue 13 item 5: function EXECUTE (direct, through PUBLIC, through a
membership; SECURITY DEFINER flagged), role attributes of the role and of the roles it
can act as, failed counts shown in every format, a NOINHERIT owner's privileges never
shown as inherited. Oracles: has_function_privilege / has_table_privilege run as the
role (SET ROLE), not rlskit's catalog query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlskit.permissions import as_html, as_json, as_markdown, as_text, report

from .conftest import Database, rlskit


@pytest.fixture
def setup(database: Database) -> Database:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE p_group NOLOGIN BYPASSRLS")
        conn.execute("CREATE ROLE p_user LOGIN NOINHERIT CREATEROLE")
        conn.execute("CREATE ROLE p_inh LOGIN")
        conn.execute("GRANT p_group TO p_user, p_inh")
        conn.execute("CREATE SCHEMA s")
        conn.execute("GRANT USAGE ON SCHEMA s TO PUBLIC")
        conn.execute("CREATE FUNCTION s.f_public(a int) RETURNS int LANGUAGE sql AS 'SELECT a'")
        conn.execute(
            "CREATE FUNCTION s.f_definer() RETURNS int LANGUAGE sql SECURITY DEFINER "
            "SET search_path = pg_catalog AS 'SELECT 1'"
        )
        conn.execute("REVOKE EXECUTE ON FUNCTION s.f_definer() FROM PUBLIC")
        conn.execute("GRANT EXECUTE ON FUNCTION s.f_definer() TO p_user")
        conn.execute("CREATE FUNCTION s.f_group() RETURNS int LANGUAGE sql AS 'SELECT 2'")
        conn.execute("REVOKE EXECUTE ON FUNCTION s.f_group() FROM PUBLIC")
        conn.execute("GRANT EXECUTE ON FUNCTION s.f_group() TO p_group")
        conn.execute("CREATE FUNCTION s.f_none() RETURNS int LANGUAGE sql AS 'SELECT 3'")
        conn.execute("REVOKE EXECUTE ON FUNCTION s.f_none() FROM PUBLIC")
        conn.execute("CREATE TABLE s.t (id int)")
        conn.execute("GRANT SELECT ON s.t TO p_group")
        conn.execute("GRANT INSERT ON s.t TO PUBLIC")
        conn.execute("GRANT SELECT ON s.t TO p_user")  # direct
        conn.execute("CREATE TABLE s.m (id int)")
        if int(conn.execute("SHOW server_version_num").fetchone()[0]) >= 170000:
            conn.execute("GRANT MAINTAIN ON s.m TO p_group")
    return database


def _oracle(db: Database, role: str, fn: str) -> bool:
    with db.connect() as conn:
        conn.execute(f'SET ROLE "{role}"')
        return bool(
            conn.execute("SELECT has_function_privilege(%s, 'EXECUTE')", (fn,)).fetchone()[0]
        )


def test_function_execute_matches_oracle(setup: Database) -> None:
    for role in ("p_user", "p_inh"):
        with setup.connect() as conn:
            rep = report(conn, role, schemas=["s"])
        got = {f.signature: f for f in rep.functions}
        for fn in ("s.f_public(a integer)", "s.f_definer()", "s.f_group()", "s.f_none()"):
            oid_arg = fn.replace("a integer", "integer")
            assert (fn in got) == _oracle(setup, role, oid_arg), (role, fn, sorted(got))
        assert got["s.f_public(a integer)"].how == "PUBLIC"
        assert not got["s.f_public(a integer)"].security_definer
    with setup.connect() as conn:
        user = {f.signature: f for f in report(conn, "p_user", schemas=["s"]).functions}
        inh = {f.signature: f for f in report(conn, "p_inh", schemas=["s"]).functions}
    assert user["s.f_definer()"].how == "direct" and user["s.f_definer()"].security_definer
    assert "s.f_group()" not in user  # NOINHERIT: the group's grant is not usable as is
    assert inh["s.f_group()"].how == "inherited"
    text = as_text(report(setup.connect(), "p_user", schemas=["s"]))
    assert "s.f_definer()" in text and "SECURITY DEFINER" in text
    assert "EXECUTE" in as_markdown(report(setup.connect(), "p_user", schemas=["s"]))
    assert "s.f_definer()" in as_html(report(setup.connect(), "p_user", schemas=["s"]))
    assert json.loads(as_json(report(setup.connect(), "p_user", schemas=["s"])))["functions"]


def test_role_attributes_and_roles_it_acts_as(setup: Database) -> None:
    with setup.connect() as conn:
        rep = report(conn, "p_user", schemas=["s"])
    assert rep.attributes["createrole"] is True and rep.attributes["inherit"] is False
    assert rep.member_attributes["p_group"]["bypassrls"] is True
    assert rep.member_attributes["p_group"]["login"] is False
    text = as_text(rep)
    first = text.splitlines()[0]
    assert "NOINHERIT" in first and "LOGIN" in first and "CREATEROLE" in first
    assert "p_group (NOLOGIN" in text and "BYPASSRLS" in text
    for page in (as_markdown(rep), as_html(rep)):
        assert "NOINHERIT" in page and "BYPASSRLS" in page


def test_privilege_sources_public_direct_inherited(setup: Database) -> None:
    with setup.connect() as conn:
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])
        t = {x.table: x for x in report(conn, "p_inh", schemas=["s"]).tables}["s.t"]
        m = {x.table: x for x in report(conn, "p_inh", schemas=["s"]).tables}["s.m"]
        u = {x.table: x for x in report(conn, "p_user", schemas=["s"]).tables}["s.t"]
        conn.execute("SET ROLE p_inh")
        assert conn.execute("SELECT has_table_privilege('s.t', 'SELECT')").fetchone()[0]
        if version >= 170000:  # PostgreSQL 17's MAINTAIN, checked as the role
            assert conn.execute("SELECT has_table_privilege('s.m', 'MAINTAIN')").fetchone()[0]
            assert m.privileges == {"MAINTAIN": "inherited"}
    assert t.privileges == {"SELECT": "inherited", "INSERT": "PUBLIC"}
    assert u.privileges == {"SELECT": "direct", "INSERT": "PUBLIC"}
    assert "(inherited)" not in as_text(report(setup.connect(), "p_user", schemas=["s"]))


def test_noinherit_owner_text_output(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE lone_owner2 NOLOGIN NOINHERIT")
        conn.execute("CREATE TABLE public.mine2 (id int)")
        conn.execute("ALTER TABLE public.mine2 OWNER TO lone_owner2")
        conn.execute("GRANT SELECT ON public.mine2 TO lone_owner2")  # ACL now explicit
        conn.execute("CREATE TABLE public.mine3 (id int)")  # ACL stays NULL
        conn.execute("ALTER TABLE public.mine3 OWNER TO lone_owner2")
        rep = report(conn, "lone_owner2", schemas=["public"])
        conn.execute("SET ROLE lone_owner2")
        assert conn.execute("SELECT has_table_privilege('public.mine2', 'DELETE')").fetchone()[0]
    text = as_text(rep)
    assert "inherited" not in text, text
    lines = [x for x in text.splitlines() if "privileges:" in x]
    assert len(lines) == 2 and all("DELETE" in x and "SELECT" in x for x in lines), text


def test_failed_count_is_said_in_every_format(database: Database, project: Path) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE p_cnt NOLOGIN")
        conn.execute("CREATE SCHEMA c")
        conn.execute("GRANT USAGE ON SCHEMA c TO p_cnt")
        conn.execute("CREATE TABLE c.t (id int)")
        conn.execute("INSERT INTO c.t VALUES (0)")
        conn.execute("ALTER TABLE c.t ENABLE ROW LEVEL SECURITY")
        conn.execute("GRANT SELECT ON c.t TO p_cnt")
        conn.execute("CREATE POLICY boom ON c.t FOR SELECT USING (1 / id = 1)")
    for fmt in ("text", "markdown", "html", "json"):
        res = rlskit(
            "permissions",
            "p_cnt",
            "--schema",
            "c",
            "--count",
            "--format",
            fmt,
            project=project,
            url=database.url,
        )
        assert res.exit_code == 0, res.output
        assert "division by zero" in res.output, (fmt, res.output)
        assert "count failed" in res.output.lower() or fmt == "json", (fmt, res.output)
