"""RLS044 (issue 13, left over): a SECURITY DEFINER helper owned by a role that RLS
applies to, reading a table with no policy for that role, sees no rows.

Oracle: the helper called as the application role on a real server, with a row
that should make it answer true."""

from __future__ import annotations

import psycopg
from psycopg import sql

from rlskit.lint import catalog as lint_catalog
from rlskit.lint import lint_files, run_rules
from rlskit.lint.core import LintConfig

from .conftest import Database

TABLE = """
CREATE TABLE members (org_id int, user_id int);
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
ALTER TABLE members FORCE ROW LEVEL SECURITY;
CREATE POLICY member_read ON members TO app44 USING (user_id = 0);
GRANT SELECT ON members TO app44;
"""
HELPER = """
CREATE FUNCTION is_member(o int) RETURNS boolean LANGUAGE sql STABLE
  SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT EXISTS (SELECT 1 FROM members WHERE org_id = o) $$;
GRANT EXECUTE ON FUNCTION is_member(int) TO app44;
"""
OWN_POLICY = (
    "CREATE POLICY members_definer_select ON members FOR SELECT TO CURRENT_USER USING (true);\n"
)


def _static(text: str, migrate_as: str | None = "mig44") -> list[str]:
    cfg = LintConfig(migrate_as=migrate_as)
    return [f.message for f in lint_files([("m.sql", text)], cfg) if f.rule == "RLS044"]


def _built(db: Database, migration: str) -> tuple[bool, list[str]]:
    """Run ``migration`` as a managed-PostgreSQL-like role; what the helper answers to
    the app role for an org that has a member, and RLS044 on the live catalog."""
    with psycopg.connect(db.url, autocommit=True) as conn:
        for role, attrs in (("mig44", "NOSUPERUSER NOBYPASSRLS CREATEROLE"), ("app44", "")):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                continue
            conn.execute(sql.SQL("CREATE ROLE {} " + attrs).format(sql.Identifier(role)))
        conn.execute("GRANT CREATE, USAGE ON SCHEMA public TO mig44")
        conn.execute("SET ROLE mig44")
        conn.execute(migration)
        conn.execute("RESET ROLE")
        conn.execute("ALTER TABLE members NO FORCE ROW LEVEL SECURITY")
        conn.execute("SET ROLE mig44")
        conn.execute("INSERT INTO members VALUES (1, 7)")  # the owner, RLS not forced now
        conn.execute("RESET ROLE")
        conn.execute("ALTER TABLE members FORCE ROW LEVEL SECURITY")
        conn.execute("SET ROLE app44")
        row = conn.execute("SELECT is_member(1)").fetchone()
        conn.execute("RESET ROLE")
        model = lint_catalog.build(conn)
    found = [f.message for f in run_rules(model, LintConfig()) if f.rule == "RLS044"]
    return bool(row and row[0]), found


def test_the_helper_really_sees_nothing_and_lint_says_so(database: Database) -> None:
    answer, found = _built(database, TABLE + HELPER)
    assert answer is False  # the oracle: the member exists, the helper cannot see it
    assert len(found) == 1 and "mig44" in found[0] and "public.members" in found[0], found
    assert len(_static("CREATE ROLE app44;" + TABLE + HELPER)) == 1


def test_a_policy_for_the_owner_makes_it_see_and_lint_quiet(database: Database) -> None:
    answer, found = _built(database, TABLE + OWN_POLICY + HELPER)
    assert answer is True and found == []
    assert _static("CREATE ROLE app44;" + TABLE + OWN_POLICY + HELPER) == []


def test_not_flagged_where_rls_does_not_apply_to_the_owner() -> None:
    text = "CREATE ROLE app44;" + TABLE + HELPER
    assert _static(text, migrate_as=None) == []  # a superuser migrates: bypasses RLS
    assert _static("CREATE ROLE mig44 BYPASSRLS;" + text) == []
    no_force = text.replace("ALTER TABLE members FORCE ROW LEVEL SECURITY;", "")
    assert _static(no_force) == []  # the owner, RLS not forced
    other = "CREATE ROLE definer44;" + text + "ALTER FUNCTION is_member(int) OWNER TO definer44;"
    found = _static(other)  # owned by a plain role: RLS applies without FORCE too
    assert len(found) == 1 and "runs as definer44" in found[0], found
    assert _static(other.replace("ROLE definer44;", "ROLE definer44 BYPASSRLS;")) == []
    assert _static(no_force + "ALTER FUNCTION is_member(int) OWNER TO app44;") == []  # its policy
